//! The write rules of orders, complaints and targets as plain functions, judged on Automerge
//! changes made with the kinds' own edits or by hand (as a hostile device would): who moves an
//! order or a complaint through its workflow, what a status freezes, who sets a target, and
//! that every step is signed by whoever takes it.
//!
//! The server's view is asked with the whole organisation as the directory; where the device
//! knows less (its own user only), the test says so.
#![allow(clippy::unwrap_used)]

mod common;

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjId, ObjType, ROOT, ReadDoc, Value};
use common::org::org;
use fieldsync_core::Error;
use fieldsync_core::ids::new_id;
use fieldsync_core::model::complaint::{
    ComplaintCategory, ComplaintChannel, ComplaintEdit, ComplaintStatus, NewComplaint, Priority,
};
use fieldsync_core::model::fields::now_string;
use fieldsync_core::model::order::{NewOrder, OrderEdit, OrderStatus};
use fieldsync_core::model::target::{NewTarget, TargetEdit};
use fieldsync_core::model::{Complaint, DocKind, DocumentModel, Order, Target, validate_document};
use fieldsync_core::rights::{
    Directory, DocScope, Principal, Refusal, WriteContext, check_rights, check_write,
};

/// `name` as the server sees them: role, territories and team from the whole organisation.
fn principal(name: &str) -> Principal {
    let users = org();
    let user = users.iter().find(|u| u.name == name).unwrap();
    Principal::of(user, &users)
}

/// li's customer in the east, as the server indexes it.
fn li_customer() -> DocScope {
    DocScope {
        territory: Some("east".into()),
        owner: Some("li".into()),
        ..DocScope::of(DocKind::Customer, &new_id())
    }
}

/// The document `bytes` hold, changed by `edit` on another device, judged as `writer`'s push
/// by the server (`people` is the directory the rules ask). `None` judges `edit` applied to an
/// empty document as a new one.
fn judge_as(
    writer: &Principal,
    people: &dyn Directory,
    bytes: Option<&[u8]>,
    edit: impl FnOnce(&mut AutoCommit),
) -> Result<(), Refusal> {
    let (mut doc, before) = match bytes {
        Some(b) => {
            let doc = AutoCommit::load(b).unwrap();
            let before = validate_document(&doc).unwrap();
            (doc, Some(before))
        }
        None => (AutoCommit::new(), None),
    };
    let heads = doc.get_heads();
    edit(&mut doc);
    doc.commit();
    let after = validate_document(&doc).unwrap();
    let changes: Vec<_> = doc.get_changes(&heads).iter().map(|c| c.decode()).collect();
    check_rights(writer, before.as_ref(), &after, &changes, people)
}

/// [`judge_as`] with the server's directory: every user of the organisation.
fn judge(
    writer: &str,
    bytes: Option<&[u8]>,
    edit: impl FnOnce(&mut AutoCommit),
) -> Result<(), Refusal> {
    judge_as(&principal(writer), &org(), bytes, edit)
}

/// The server's whole check, scope included, of `writer` changing the document of li's
/// customer `customer` that `bytes` hold with `edit`.
fn judge_write(
    writer: &str,
    customer: &DocScope,
    bytes: &[u8],
    edit: impl FnOnce(&mut AutoCommit),
) -> Result<(), Refusal> {
    let mut doc = AutoCommit::load(bytes).unwrap();
    let before = validate_document(&doc).unwrap();
    let heads = doc.get_heads();
    edit(&mut doc);
    doc.commit();
    let after = validate_document(&doc).unwrap();
    let changes: Vec<_> = doc.get_changes(&heads).iter().map(|c| c.decode()).collect();
    let ctx = WriteContext {
        customer: Some(customer.clone()),
        customer_before: Some(customer.clone()),
        now: None,
    };
    check_write(
        &principal(writer),
        Some(&before),
        &after,
        &changes,
        &ctx,
        &org(),
    )
}

/// A new document holding `view`, saved.
fn saved<M: DocumentModel>(view: &M) -> Vec<u8> {
    let mut doc = AutoCommit::new();
    autosurgeon::reconcile(&mut doc, view).unwrap();
    doc.commit();
    doc.save()
}

/// `bytes` changed by `edits` of kind `M`, saved.
fn edited<M: DocumentModel>(bytes: &[u8], edits: &[M::Edit]) -> Vec<u8> {
    let mut doc = AutoCommit::load(bytes).unwrap();
    for edit in edits {
        M::apply_edit(&mut doc, edit).unwrap();
    }
    doc.commit();
    doc.save()
}

/// Puts `view` into the empty document a new one is judged on.
fn create<M: DocumentModel>(view: M) -> impl FnOnce(&mut AutoCommit) {
    move |doc| autosurgeon::reconcile(doc, &view).unwrap()
}

/// Applies `edit` of kind `M`; the edit itself must succeed (the rules are what is judged).
fn apply<M: DocumentModel>(edit: M::Edit) -> impl FnOnce(&mut AutoCommit) {
    move |doc| M::apply_edit(doc, &edit).unwrap()
}

fn assert_refused(r: Result<(), Refusal>, rule: &str, says: &str) {
    let r = r.unwrap_err();
    assert_eq!(r.rule, rule, "{}", r.reason);
    assert!(
        r.reason.contains(says),
        "expected {says:?} in: {}",
        r.reason
    );
}

// ---- orders -------------------------------------------------------------------------------

fn new_order(customer: &DocScope, owner: &str) -> Order {
    NewOrder {
        customer: customer.id.clone(),
        owner: owner.into(),
        date: "2026-11-20".into(),
        ..Default::default()
    }
    .build(new_id(), now_string())
    .unwrap()
}

fn line(product: &str, quantity: i64) -> OrderEdit {
    OrderEdit::AddLine {
        product: product.into(),
        name: "深沟球轴承".into(),
        quantity,
        unit: "box".into(),
        unit_price: 1_500,
        unit_cost: Some(900),
    }
}

fn order_step(to: OrderStatus, by: &str) -> OrderEdit {
    OrderEdit::Step {
        to,
        by: by.into(),
        note: None,
    }
}

/// An order `owner` took at `customer` with two lines, as a draft.
fn draft_order(customer: &DocScope, owner: &str) -> Vec<u8> {
    edited::<Order>(
        &saved(&new_order(customer, owner)),
        &[line("6204", 10), line("6206", 4)],
    )
}

/// The same, submitted by its owner.
fn submitted_order(customer: &DocScope, owner: &str) -> Vec<u8> {
    edited::<Order>(
        &draft_order(customer, owner),
        &[order_step(OrderStatus::Submitted, owner)],
    )
}

/// The id of the first line of the order `bytes` hold.
fn first_line(bytes: &[u8]) -> String {
    let doc = AutoCommit::load(bytes).unwrap();
    Order::read(&doc).unwrap().lines[0].id.clone()
}

#[test]
fn a_rep_cannot_confirm_their_own_order() {
    let customer = li_customer();
    let draft = draft_order(&customer, "li");
    // Her own draft she submits.
    judge(
        "li",
        Some(&draft),
        apply::<Order>(order_step(OrderStatus::Submitted, "li")),
    )
    .unwrap();
    let submitted = submitted_order(&customer, "li");
    assert_refused(
        judge(
            "li",
            Some(&submitted),
            apply::<Order>(order_step(OrderStatus::Confirmed, "li")),
        ),
        "workflow",
        "you cannot make your own order confirmed",
    );
    // Nor does she cancel it once submitted: that is a manager's call too.
    assert_refused(
        judge(
            "li",
            Some(&submitted),
            apply::<Order>(order_step(OrderStatus::Cancelled, "li")),
        ),
        "workflow",
        "your own order cancelled",
    );
    // An order born confirmed (one push: created, submitted and confirmed by her) is refused
    // the same way.
    let born_confirmed = edited::<Order>(&submitted, &[order_step(OrderStatus::Confirmed, "li")]);
    let view = Order::read(&AutoCommit::load(&born_confirmed).unwrap()).unwrap();
    assert_eq!(view.status, OrderStatus::Confirmed);
    assert_refused(judge("li", None, create(view)), "workflow", "confirmed");
}

#[test]
fn a_manager_confirms_a_reps_order_but_not_their_own() {
    let customer = li_customer();
    let submitted = submitted_order(&customer, "li");
    judge(
        "zhang",
        Some(&submitted),
        apply::<Order>(order_step(OrderStatus::Confirmed, "zhang")),
    )
    .unwrap();
    // And takes it on: shipped, then paid.
    let confirmed = edited::<Order>(&submitted, &[order_step(OrderStatus::Confirmed, "zhang")]);
    judge(
        "zhang",
        Some(&confirmed),
        apply::<Order>(order_step(OrderStatus::Shipped, "zhang")),
    )
    .unwrap();
    let shipped = edited::<Order>(&confirmed, &[order_step(OrderStatus::Shipped, "zhang")]);
    judge(
        "zhang",
        Some(&shipped),
        apply::<Order>(order_step(OrderStatus::Paid, "zhang")),
    )
    .unwrap();

    // An order zhang took himself is confirmed by another manager or an admin, not by him.
    let his = submitted_order(&customer, "zhang");
    assert_refused(
        judge(
            "zhang",
            Some(&his),
            apply::<Order>(order_step(OrderStatus::Confirmed, "zhang")),
        ),
        "workflow",
        "you cannot make your own order confirmed",
    );
    judge(
        "admin",
        Some(&his),
        apply::<Order>(order_step(OrderStatus::Confirmed, "admin")),
    )
    .unwrap();
    // A manager outside the customer's territory and team may not confirm li's order: scope.
    assert_refused(
        judge_write(
            "zhao",
            &customer,
            &submitted,
            apply::<Order>(order_step(OrderStatus::Confirmed, "zhao")),
        ),
        "scope",
        "not in your part of the business",
    );
    judge_write(
        "zhang",
        &customer,
        &submitted,
        apply::<Order>(order_step(OrderStatus::Confirmed, "zhang")),
    )
    .unwrap();
}

#[test]
fn a_rep_cannot_change_the_lines_of_a_submitted_order() {
    let customer = li_customer();
    let draft = draft_order(&customer, "li");
    let draft_line = first_line(&draft);
    // A draft's lines are hers to change.
    judge("li", Some(&draft), apply::<Order>(line("6205", 2))).unwrap();
    judge(
        "li",
        Some(&draft),
        apply::<Order>(OrderEdit::LineQuantity {
            id: draft_line,
            quantity: 12,
        }),
    )
    .unwrap();

    let submitted = submitted_order(&customer, "li");
    let id = first_line(&submitted);
    for (what, edit) in [
        ("adds a line", line("6205", 2)),
        (
            "changes a quantity",
            OrderEdit::LineQuantity {
                id: id.clone(),
                quantity: 12,
            },
        ),
        ("removes a line", OrderEdit::RemoveLine(id.clone())),
        ("changes the note", OrderEdit::Note(Some("加急".into()))),
    ] {
        let r = judge("li", Some(&submitted), apply::<Order>(edit.clone()));
        let r = r.unwrap_err();
        assert_eq!(r.rule, "workflow", "li {what}: {}", r.reason);
        assert!(
            r.reason
                .contains("is submitted: its content no longer changes"),
            "li {what}: {}",
            r.reason
        );
        // Frozen for her manager too: he confirms or cancels it, he does not rewrite it.
        let r = judge("zhang", Some(&submitted), apply::<Order>(edit)).unwrap_err();
        assert_eq!(r.rule, "workflow", "zhang {what}: {}", r.reason);
    }
}

#[test]
fn a_rep_takes_orders_as_themselves_and_changes_only_their_own() {
    let customer = li_customer();
    assert_refused(
        judge("li", None, create(new_order(&customer, "wang"))),
        "field_rights",
        "a rep takes orders as themselves",
    );
    judge("li", None, create(new_order(&customer, "li"))).unwrap();
    // wang, who took over the customer, does not edit li's draft.
    let draft = draft_order(&customer, "li");
    assert_refused(
        judge("wang", Some(&draft), apply::<Order>(line("6205", 1))),
        "field_rights",
        "this order is li's",
    );
}

// ---- complaints ---------------------------------------------------------------------------

/// A complaint li recorded about `customer`, assigned to `assignee` (herself, or nobody, as a
/// rep may), received.
fn new_complaint(customer: &DocScope, assignee: Option<&str>) -> Complaint {
    NewComplaint {
        customer: customer.id.clone(),
        recorded_by: "li".into(),
        received_at: now_string(),
        channel: ComplaintChannel::Phone,
        category: ComplaintCategory::Quality,
        priority: Priority::Urgent,
        summary: "到货轴承异响，要求换货。".into(),
        assignee: assignee.map(str::to_string),
    }
    .build(new_id(), now_string())
    .unwrap()
}

/// A complaint li recorded about `customer`, which her manager then assigned to `assignee`.
fn complaint(customer: &DocScope, assignee: &str) -> Vec<u8> {
    edited::<Complaint>(
        &saved(&new_complaint(customer, None)),
        &[ComplaintEdit::Assign(Some(assignee.into()))],
    )
}

fn complaint_step(to: ComplaintStatus, by: &str, visit: Option<String>) -> ComplaintEdit {
    ComplaintEdit::Step {
        to,
        by: by.into(),
        note: Some("已处理".into()),
        visit,
    }
}

#[test]
fn only_its_assignee_or_a_manager_moves_a_complaint() {
    let customer = li_customer();
    // li recorded it; zhang assigned it to chen, who does not see li's customer.
    let received = complaint(&customer, "chen");
    // li records complaints, and may take one on herself; assigning one to another is a
    // manager's.
    judge("li", None, create(new_complaint(&customer, None))).unwrap();
    judge("li", None, create(new_complaint(&customer, Some("li")))).unwrap();
    assert_refused(
        judge("li", None, create(new_complaint(&customer, Some("chen")))),
        "field_rights",
        "a manager assigns it to others",
    );
    let investigate =
        |by: &str| apply::<Complaint>(complaint_step(ComplaintStatus::Investigating, by, None));
    for rep in ["li", "wang"] {
        assert_refused(
            judge(rep, Some(&received), investigate(rep)),
            "workflow",
            "only the complaint's assignee (chen) or a manager moves it to investigating",
        );
    }
    judge("chen", Some(&received), investigate("chen")).unwrap();
    judge("zhang", Some(&received), investigate("zhang")).unwrap();
    judge("admin", Some(&received), investigate("admin")).unwrap();

    // With scope: the assignee writes it without seeing its customer; a rep who is neither
    // its customer's nor named on it, and a manager of another territory, do not.
    judge_write("chen", &customer, &received, investigate("chen")).unwrap();
    for (who, by) in [("wang", "wang"), ("zhao", "zhao")] {
        assert_refused(
            judge_write(who, &customer, &received, investigate(by)),
            "scope",
            "not in your part of the business",
        );
    }
    // The assignee does not hand it on: assigning is a manager's.
    assert_refused(
        judge(
            "chen",
            Some(&received),
            apply::<Complaint>(ComplaintEdit::Assign(Some("wang".into()))),
        ),
        "field_rights",
        "a rep cannot set complaint.assignee",
    );
    judge(
        "zhang",
        Some(&received),
        apply::<Complaint>(ComplaintEdit::Assign(Some("wang".into()))),
    )
    .unwrap();
    assert_refused(
        judge(
            "zhang",
            Some(&received),
            apply::<Complaint>(ComplaintEdit::Assign(Some("nobody".into()))),
        ),
        "field_rights",
        "there is no user 'nobody'",
    );
}

/// The history list of the document.
fn history(doc: &AutoCommit) -> ObjId {
    match doc.get(ROOT, "history").unwrap() {
        Some((Value::Object(ObjType::List), id)) => id,
        other => panic!("{other:?}"),
    }
}

/// Appends a history entry by hand.
fn push_entry(doc: &mut AutoCommit, status: &str, by: &str) {
    let list = history(doc);
    let at = doc.length(&list);
    let entry = doc.insert_object(&list, at, ObjType::Map).unwrap();
    for (k, v) in [
        ("id", new_id()),
        ("status", status.to_string()),
        ("by", by.to_string()),
        ("at", now_string()),
    ] {
        doc.put(&entry, k, v).unwrap();
    }
    doc.put(&entry, "note", automerge::ScalarValue::Null)
        .unwrap();
}

#[test]
fn a_complaint_is_followed_up_and_closed_only_with_its_follow_up_visit() {
    let customer = li_customer();
    let handled = edited::<Complaint>(
        &complaint(&customer, "chen"),
        &[
            complaint_step(ComplaintStatus::Investigating, "chen", None),
            complaint_step(ComplaintStatus::Handled, "chen", None),
        ],
    );
    // The model refuses the step without the visit, naming the field.
    let mut doc = AutoCommit::load(&handled).unwrap();
    match Complaint::apply_edit(
        &mut doc,
        &complaint_step(ComplaintStatus::FollowedUp, "chen", None),
    ) {
        Err(Error::Invalid(e)) => {
            assert_eq!(e.field, "complaint.followup_visit", "{e:?}");
            assert!(e.problem.contains("name that visit"), "{e:?}");
        }
        other => panic!("followed up without a visit: {other:?}"),
    }
    // A document that says it was followed up, or closed, without a visit (written by hand,
    // behind the model's back) breaks the schema: the server refuses it as invalid.
    for steps in [&["followed_up"][..], &["followed_up", "closed"]] {
        let mut doc = AutoCommit::load(&handled).unwrap();
        for status in steps {
            doc.put(ROOT, "status", *status).unwrap();
            push_entry(&mut doc, status, "chen");
        }
        doc.commit();
        match validate_document(&doc) {
            Err(Error::Invalid(e)) => assert_eq!(e.field, "complaint.followup_visit", "{e:?}"),
            other => panic!("{steps:?} without a visit: {other:?}"),
        }
    }
    // With the visit it is followed up and then closed, by its assignee.
    let visit = new_id();
    judge(
        "chen",
        Some(&handled),
        apply::<Complaint>(complaint_step(
            ComplaintStatus::FollowedUp,
            "chen",
            Some(visit.clone()),
        )),
    )
    .unwrap();
    let followed_up = edited::<Complaint>(
        &handled,
        &[complaint_step(
            ComplaintStatus::FollowedUp,
            "chen",
            Some(visit),
        )],
    );
    judge(
        "chen",
        Some(&followed_up),
        apply::<Complaint>(complaint_step(ComplaintStatus::Closed, "chen", None)),
    )
    .unwrap();
    // Closed, its content no longer changes.
    let closed = edited::<Complaint>(
        &followed_up,
        &[complaint_step(ComplaintStatus::Closed, "chen", None)],
    );
    assert_refused(
        judge(
            "zhang",
            Some(&closed),
            apply::<Complaint>(ComplaintEdit::AppendSummary("补充。".into())),
        ),
        "workflow",
        "is closed: its content no longer changes",
    );
}

// ---- targets ------------------------------------------------------------------------------

fn new_target(owner: &str, set_by: &str) -> Target {
    NewTarget {
        owner: owner.into(),
        month: "2026-12".into(),
        sales: 80_000_000,
        visits: 40,
        new_customers: 3,
        set_by: set_by.into(),
    }
    .build(new_id(), now_string())
    .unwrap()
}

#[test]
fn a_rep_sets_no_target_their_own_included() {
    for owner in ["li", "wang"] {
        assert_refused(
            judge("li", None, create(new_target(owner, "li"))),
            "field_rights",
            "a rep does not set targets",
        );
    }
    // Nor changes the one her manager set, whether she signs the change or not.
    let set = saved(&new_target("li", "zhang"));
    assert_refused(
        judge(
            "li",
            Some(&set),
            apply::<Target>(TargetEdit::Sales(1_000_000)),
        ),
        "field_rights",
        "a rep does not set targets",
    );
    assert_refused(
        judge("li", Some(&set), |doc| {
            Target::apply_edit(doc, &TargetEdit::Visits(5)).unwrap();
            Target::apply_edit(doc, &TargetEdit::SetBy("li".into())).unwrap();
        }),
        "field_rights",
        "a rep does not set targets",
    );
}

#[test]
fn a_manager_sets_the_targets_of_his_team_but_never_his_own() {
    judge("zhang", None, create(new_target("li", "zhang"))).unwrap();
    let set = saved(&new_target("li", "zhang"));
    judge("zhang", Some(&set), |doc| {
        Target::apply_edit(doc, &TargetEdit::Sales(90_000_000)).unwrap();
        Target::apply_edit(doc, &TargetEdit::SetBy("zhang".into())).unwrap();
    })
    .unwrap();
    assert_refused(
        judge("zhang", None, create(new_target("zhang", "zhang"))),
        "field_rights",
        "you cannot set your own target",
    );
    let his = saved(&new_target("zhang", "admin"));
    assert_refused(
        judge("zhang", Some(&his), |doc| {
            Target::apply_edit(doc, &TargetEdit::Sales(1)).unwrap();
            Target::apply_edit(doc, &TargetEdit::SetBy("zhang".into())).unwrap();
        }),
        "field_rights",
        "you cannot set your own target",
    );
    judge("admin", None, create(new_target("zhang", "admin"))).unwrap();
    // A target signed with another's name.
    assert_refused(
        judge("zhang", None, create(new_target("li", "admin"))),
        "field_rights",
        "it must be you (zhang), not 'admin'",
    );
    // chen is zhao's: the server refuses zhang setting his target, and so does zhang's device
    // once a sync told it his team. A device that does not know the team yet (before its first
    // sync) leaves it to the server.
    assert_refused(
        judge("zhang", None, create(new_target("chen", "zhang"))),
        "field_rights",
        "chen is not in your team",
    );
    let zhang = principal("zhang");
    assert_eq!(zhang.team.len(), 3, "{zhang:?}");
    assert_refused(
        judge_as(&zhang, &zhang, None, create(new_target("chen", "zhang"))),
        "field_rights",
        "chen is not in your team",
    );
    judge_as(&zhang, &zhang, None, create(new_target("li", "zhang"))).unwrap();
    let not_synced = Principal {
        team: vec!["zhang".into()],
        ..zhang
    };
    judge_as(
        &not_synced,
        &not_synced,
        None,
        create(new_target("chen", "zhang")),
    )
    .unwrap();
}

// ---- signatures ---------------------------------------------------------------------------

#[test]
fn history_entries_signed_by_someone_else_are_refused() {
    let customer = li_customer();
    let submitted = submitted_order(&customer, "li");
    assert_refused(
        judge(
            "zhang",
            Some(&submitted),
            apply::<Order>(order_step(OrderStatus::Confirmed, "admin")),
        ),
        "field_rights",
        "a step names who took it: it must be you (zhang), not 'admin'",
    );
    assert_refused(
        judge(
            "li",
            Some(&draft_order(&customer, "li")),
            apply::<Order>(order_step(OrderStatus::Submitted, "wang")),
        ),
        "field_rights",
        "it must be you (li), not 'wang'",
    );
    let received = complaint(&customer, "chen");
    assert_refused(
        judge(
            "chen",
            Some(&received),
            apply::<Complaint>(complaint_step(
                ComplaintStatus::Investigating,
                "zhang",
                None,
            )),
        ),
        "field_rights",
        "it must be you (chen), not 'zhang'",
    );
    // An admin may record another's step, as an import of history does.
    judge(
        "admin",
        Some(&submitted),
        apply::<Order>(order_step(OrderStatus::Confirmed, "zhang")),
    )
    .unwrap();

    // A step taken is kept as written: re-signed or removed, it is refused.
    let resign = |doc: &mut AutoCommit| {
        let list = history(doc);
        let entry = doc.get(&list, 0).unwrap().unwrap().1;
        doc.put(&entry, "by", "zhang").unwrap();
    };
    assert_refused(
        judge("zhang", Some(&submitted), resign),
        "workflow",
        "its steps never change",
    );
    let remove = |doc: &mut AutoCommit| {
        let list = history(doc);
        doc.delete(&list, 0).unwrap();
        doc.put(ROOT, "status", "draft").unwrap();
    };
    assert_refused(
        judge("li", Some(&submitted), remove),
        "workflow",
        "cannot become draft",
    );
    // A step written by hand with another's name, beside the status it claims.
    assert_refused(
        judge("zhang", Some(&submitted), |doc| {
            doc.put(ROOT, "status", "confirmed").unwrap();
            push_entry(doc, "confirmed", "zhao");
        }),
        "field_rights",
        "not 'zhao'",
    );
}

/// Whoever records a complaint sees its customer: naming oneself its assignee gives no way in
/// to a customer one cannot see (nor tells whether that customer exists).
#[test]
fn naming_oneself_assignee_does_not_open_a_customer_one_cannot_see() {
    let customer = li_customer();
    let ctx = WriteContext {
        customer: Some(customer.clone()),
        customer_before: None,
        now: None,
    };
    for who in ["chen", "wang", "zhao"] {
        let mut doc = AutoCommit::new();
        let view = NewComplaint {
            customer: customer.id.clone(),
            recorded_by: who.into(),
            received_at: now_string(),
            channel: ComplaintChannel::Visit,
            category: ComplaintCategory::Other,
            priority: Priority::Normal,
            summary: "顺路听说的投诉。".into(),
            assignee: Some(who.into()),
        }
        .build(new_id(), now_string())
        .unwrap();
        autosurgeon::reconcile(&mut doc, &view).unwrap();
        doc.commit();
        let after = validate_document(&doc).unwrap();
        let changes: Vec<_> = doc.get_changes(&[]).iter().map(|c| c.decode()).collect();
        let r = check_write(&principal(who), None, &after, &changes, &ctx, &org())
            .expect_err(&format!("{who} recorded a complaint at li's customer"));
        assert_eq!(r.rule, "scope", "{who}: {}", r.reason);
        assert!(
            r.reason.contains("not one of the customers you can see"),
            "{who}: {}",
            r.reason
        );
    }
}
