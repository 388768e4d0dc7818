//! The approval lifecycle as the server enforces it, case by case as it was found broken: what
//! was approved stays approved and unchanged, nobody decides or pays their own, a decision
//! binds to the content it saw, and fields documented as never changed never change.
#![allow(clippy::unwrap_used)]

use automerge::transaction::Transactable;
use automerge::{ActorId, AutoCommit, ROOT};
use fieldsync_core::Store;
use fieldsync_core::model::expense_claim::{ClaimStatus, ExpenseClaimEdit, NewExpenseClaim};
use fieldsync_core::model::fields::Money;
use fieldsync_core::model::lifecycle::{Approvable, Stage};
use fieldsync_core::model::trip_plan::TripPlanEdit;

mod support;
use support::*;

/// Every change of `doc`, as a push.
fn all_changes(doc: &mut AutoCommit) -> Vec<Vec<u8>> {
    doc.get_changes(&[])
        .into_iter()
        .map(|mut c| c.bytes().into_owned())
        .collect()
}

/// Document `id` of `store` with `edit` applied as a new change by a new actor, bypassing the
/// model's edits (as a hostile client would).
fn raw(store: &Store, id: &str, edit: impl FnOnce(&mut AutoCommit)) -> Vec<Vec<u8>> {
    let mut doc = AutoCommit::load(&store.document_bytes(id).unwrap())
        .unwrap()
        .with_actor(ActorId::random());
    edit(&mut doc);
    doc.commit();
    all_changes(&mut doc)
}

/// A claim of li's for zhang to approve.
fn li_claim(title: &str) -> NewExpenseClaim {
    NewExpenseClaim {
        owner: "li".into(),
        approver: "zhang".into(),
        title: title.into(),
        ..Default::default()
    }
}

fn approve(by: &str) -> ExpenseClaimEdit {
    ExpenseClaimEdit::Approve {
        by: by.into(),
        note: Some("同意".into()),
    }
}

/// li's claim of one 30-yuan taxi, submitted and approved by zhang; returns the claim id and
/// zhang's store holding the approved claim.
fn approved_claim(w: &World, dir: &tempfile::TempDir) -> (String, Store, Store) {
    let li = device(dir, "li");
    let claim = li.create_expense_claim(li_claim("宁波差旅")).unwrap();
    li.update_expense_claim(&claim, &[taxi(), ExpenseClaimEdit::Submit])
        .unwrap();
    w.accepted("li", &li, &claim);
    let zhang = device(dir, "zhang");
    zhang
        .merge_from(&li.document_bytes(&claim).unwrap())
        .unwrap();
    zhang
        .update_expense_claim(&claim, &[approve("zhang")])
        .unwrap();
    w.accepted("zhang", &zhang, &claim);
    li.merge_from(&zhang.document_bytes(&claim).unwrap())
        .unwrap();
    (claim, li, zhang)
}

#[test]
fn an_approved_claim_cannot_change_and_the_managers_view_stays_as_approved() {
    let w = world();
    let dir = tempfile::tempdir().unwrap();
    let (claim, li, _) = approved_claim(&w, &dir);
    let approved = li.expense_claim(&claim).unwrap();

    // A 5,000-yuan item on the approved claim.
    li.update_expense_claim(
        &claim,
        &[ExpenseClaimEdit::AddItem {
            date: "2026-11-25".into(),
            category: fieldsync_core::model::expense_claim::ExpenseCategory::Entertainment,
            amount: Money::cny(500_000),
            description: None,
            invoice_photo: None,
            receipt: None,
        }],
    )
    .unwrap();
    let reason = w.rejected("li", &li, &claim, "approval");
    assert!(reason.contains("frozen"), "{reason}");

    // Switching its currency, as a raw change.
    let changes = raw(&li, &claim, |d| d.put(ROOT, "currency", "USD").unwrap());
    let r = w.push_raw("li", &claim, changes);
    assert_eq!(r.rejected.len(), 1);

    // The manager syncs and sees exactly what he approved.
    let zhang = device(&dir, "zhang-fresh");
    let pulled = w.core.sync(&w.who("zhang"), request(0, vec![])).unwrap();
    for d in &pulled.documents {
        zhang.merge_pulled(&d.id, &d.data).unwrap();
    }
    let seen = zhang.expense_claim(&claim).unwrap();
    assert_eq!(seen.total().unwrap(), approved.total().unwrap());
    assert_eq!(seen.items, approved.items);
    assert_eq!(seen.status, ClaimStatus::Approved);
}

#[test]
fn an_approved_plan_cannot_be_rewritten() {
    let w = world();
    let dir = tempfile::tempdir().unwrap();
    let li = device(&dir, "li");
    let plan = li.create_trip_plan(li_plan("宁波出差")).unwrap();
    li.update_trip_plan(&plan, &[TripPlanEdit::Submit]).unwrap();
    w.accepted("li", &li, &plan);
    let zhang = device(&dir, "zhang");
    zhang
        .merge_from(&li.document_bytes(&plan).unwrap())
        .unwrap();
    zhang
        .update_trip_plan(
            &plan,
            &[TripPlanEdit::Approve {
                by: "zhang".into(),
                note: None,
            }],
        )
        .unwrap();
    w.accepted("zhang", &zhang, &plan);
    li.merge_from(&zhang.document_bytes(&plan).unwrap())
        .unwrap();

    li.update_trip_plan(
        &plan,
        &[
            TripPlanEdit::Dates {
                start: "2026-11-24".into(),
                end: "2026-11-30".into(),
            },
            TripPlanEdit::Budget(Money::cny(99_999_900)),
        ],
    )
    .unwrap();
    assert!(w.rejected("li", &li, &plan, "approval").contains("frozen"));
}

#[test]
fn nobody_decides_or_pays_their_own_claim_and_none_is_born_paid() {
    let w = world();
    let dir = tempfile::tempdir().unwrap();
    // zhang (a manager with no manager of his own) claims; he cannot approve or pay it.
    let zhang = device(&dir, "zhang");
    let claim = zhang
        .create_expense_claim(NewExpenseClaim {
            owner: "zhang".into(),
            approver: "admin".into(),
            title: "区域会议".into(),
            ..Default::default()
        })
        .unwrap();
    zhang
        .update_expense_claim(&claim, &[taxi(), ExpenseClaimEdit::Submit])
        .unwrap();
    w.accepted("zhang", &zhang, &claim);
    let paid = raw(&zhang, &claim, |d| {
        for (k, v) in [
            ("status", "paid"),
            ("decided_by", "zhang"),
            ("decided_at", "2026-11-26T01:00:00Z"),
            ("paid_by", "zhang"),
            ("paid_at", "2026-11-26T01:00:00Z"),
        ] {
            d.put(ROOT, k, v).unwrap();
        }
    });
    let r = w.push_raw("zhang", &claim, paid);
    assert_eq!(r.rejected.len(), 1, "{:?}", r.accepted);
    assert_eq!(r.rejected[0].rule, "approval");

    // A claim born paid.
    let born = device(&dir, "zhang-born");
    let id = born
        .create_expense_claim(NewExpenseClaim {
            owner: "zhang".into(),
            approver: "admin".into(),
            title: "直接报销".into(),
            ..Default::default()
        })
        .unwrap();
    born.update_expense_claim(&id, &[taxi()]).unwrap();
    let changes = raw(&born, &id, |d| {
        for (k, v) in [
            ("status", "paid"),
            ("submitted_at", "2026-11-26T01:00:00Z"),
            ("decided_by", "zhao"),
            ("decided_at", "2026-11-26T01:00:00Z"),
            ("paid_by", "zhao"),
            ("paid_at", "2026-11-26T01:00:00Z"),
        ] {
            d.put(ROOT, k, v).unwrap();
        }
    });
    let r = w.push_raw("zhang", &id, changes);
    assert_eq!(r.rejected.len(), 1, "{:?}", r.accepted);
    assert_eq!(r.rejected[0].rule, "approval");

    // The admin approves it; only an admin records the payment, never the approver.
    let admin = device(&dir, "admin");
    admin
        .merge_from(&zhang.document_bytes(&claim).unwrap())
        .unwrap();
    admin
        .update_expense_claim(&claim, &[approve("admin")])
        .unwrap();
    w.accepted("admin", &admin, &claim);
    admin
        .update_expense_claim(&claim, &[ExpenseClaimEdit::MarkPaid { by: "admin".into() }])
        .unwrap();
    w.accepted("admin", &admin, &claim);
    let done = admin.expense_claim(&claim).unwrap();
    let steps: Vec<Stage> = done.history().iter().map(|h| h.status).collect();
    assert_eq!(steps, [Stage::Submitted, Stage::Approved, Stage::Paid]);
}

#[test]
fn an_approver_never_pays_and_a_paid_claim_never_goes_back() {
    let w = world();
    let dir = tempfile::tempdir().unwrap();
    let (claim, li, zhang) = approved_claim(&w, &dir);
    zhang
        .update_expense_claim(&claim, &[ExpenseClaimEdit::MarkPaid { by: "zhang".into() }])
        .unwrap();
    assert!(
        w.rejected("zhang", &zhang, &claim, "approval")
            .contains("only an admin")
    );

    let admin = device(&dir, "admin");
    admin
        .merge_from(&li.document_bytes(&claim).unwrap())
        .unwrap();
    admin
        .update_expense_claim(&claim, &[ExpenseClaimEdit::MarkPaid { by: "admin".into() }])
        .unwrap();
    w.accepted("admin", &admin, &claim);
    li.merge_from(&admin.document_bytes(&claim).unwrap())
        .unwrap();

    // Back to submitted (the door to paying twice): the library refuses the step itself...
    let err = li
        .update_expense_claim(&claim, &[ExpenseClaimEdit::Submit])
        .unwrap_err();
    assert!(err.to_string().contains("is paid"), "{err}");
    // ... and the server refuses it written raw.
    let changes = raw(&li, &claim, |d| d.put(ROOT, "status", "submitted").unwrap());
    let r = w.push_raw("li", &claim, changes);
    assert_eq!(r.rejected.len(), 1, "{:?}", r.accepted);
    assert!(
        r.rejected[0].reason.contains("already paid"),
        "{}",
        r.rejected[0].reason
    );
}

#[test]
fn a_manager_names_no_peer_as_approver_of_his_own_claim() {
    let w = world();
    let dir = tempfile::tempdir().unwrap();
    let zhang = device(&dir, "zhang");
    let claim = zhang
        .create_expense_claim(NewExpenseClaim {
            owner: "zhang".into(),
            approver: "zhao".into(),
            title: "区域会议".into(),
            ..Default::default()
        })
        .unwrap();
    let reason = w.rejected("zhang", &zhang, &claim, "approval");
    assert!(reason.contains("zhao cannot approve"), "{reason}");

    // A rep names only their manager (or an admin), never another manager.
    let li = device(&dir, "li");
    let other = li
        .create_expense_claim(NewExpenseClaim {
            owner: "li".into(),
            approver: "zhao".into(),
            title: "差旅".into(),
            ..Default::default()
        })
        .unwrap();
    w.rejected("li", &li, &other, "approval");
}

#[test]
fn a_submitted_claim_is_frozen_and_an_empty_one_cannot_be_submitted() {
    let w = world();
    let dir = tempfile::tempdir().unwrap();
    let li = device(&dir, "li");
    let claim = li.create_expense_claim(li_claim("差旅")).unwrap();
    // The device refuses to submit an empty claim...
    let err = li
        .update_expense_claim(&claim, &[ExpenseClaimEdit::Submit])
        .unwrap_err();
    assert!(err.to_string().contains("at least one item"), "{err}");
    // ... and so does the server, when a raw change tries.
    let changes = raw(&li, &claim, |d| {
        d.put(ROOT, "status", "submitted").unwrap();
        d.put(ROOT, "submitted_at", "2026-11-26T01:00:00Z").unwrap();
    });
    let r = w.push_raw("li", &claim, changes);
    assert_eq!(r.rejected.len(), 1);
    assert_eq!(r.rejected[0].rule, "schema");

    li.update_expense_claim(&claim, &[taxi(), ExpenseClaimEdit::Submit])
        .unwrap();
    w.accepted("li", &li, &claim);
    li.update_expense_claim(&claim, &[taxi()]).unwrap();
    assert!(
        w.rejected("li", &li, &claim, "approval")
            .contains("reject it, then edit")
    );
}

#[test]
fn a_rejected_claim_reopens_for_its_owner_and_the_rejection_stays_in_its_history() {
    let w = world();
    let dir = tempfile::tempdir().unwrap();
    let li = device(&dir, "li");
    let claim = li.create_expense_claim(li_claim("差旅")).unwrap();
    li.update_expense_claim(&claim, &[taxi(), ExpenseClaimEdit::Submit])
        .unwrap();
    w.accepted("li", &li, &claim);
    let zhang = device(&dir, "zhang");
    zhang
        .merge_from(&li.document_bytes(&claim).unwrap())
        .unwrap();
    zhang
        .update_expense_claim(
            &claim,
            &[ExpenseClaimEdit::Reject {
                by: "zhang".into(),
                note: Some("缺发票".into()),
            }],
        )
        .unwrap();
    w.accepted("zhang", &zhang, &claim);
    li.merge_from(&zhang.document_bytes(&claim).unwrap())
        .unwrap();
    li.update_expense_claim(&claim, &[taxi(), ExpenseClaimEdit::Submit])
        .unwrap();
    w.accepted("li", &li, &claim);
    let c = li.expense_claim(&claim).unwrap();
    assert_eq!(c.items.len(), 2);
    let rejection = c
        .history()
        .iter()
        .find(|h| h.status == Stage::Rejected)
        .unwrap();
    assert_eq!(rejection.by, "zhang");
    assert_eq!(rejection.note.as_deref(), Some("缺发票"));

    // The history is a record: li cannot rewrite the rejection's note.
    let rewritten = raw(&li, &claim, |d| {
        use automerge::ReadDoc;
        let (_, history) = d.get(ROOT, "history").unwrap().unwrap();
        let (_, entry) = d.get(&history, 1).unwrap().unwrap();
        d.put(&entry, "note", "ok").unwrap();
    });
    let r = w.push_raw("li", &claim, rewritten);
    assert_eq!(r.rejected.len(), 1, "{:?}", r.accepted);
    assert_eq!(r.rejected[0].rule, "approval");
}

#[test]
fn an_approval_of_content_that_changed_since_is_refused() {
    // zhang reviews li's claim on two devices. On the laptop he rejects it; li adds the
    // missing receipt and submits again; the phone, still holding the first version, approves
    // that. The approval covers content that is no longer the claim's.
    let w = world();
    let dir = tempfile::tempdir().unwrap();
    let li = device(&dir, "li");
    let claim = li.create_expense_claim(li_claim("差旅")).unwrap();
    li.update_expense_claim(&claim, &[taxi(), ExpenseClaimEdit::Submit])
        .unwrap();
    w.accepted("li", &li, &claim);
    let (laptop, phone) = (device(&dir, "zhang-laptop"), device(&dir, "zhang-phone"));
    for d in [&laptop, &phone] {
        d.merge_from(&li.document_bytes(&claim).unwrap()).unwrap();
    }
    laptop
        .update_expense_claim(
            &claim,
            &[ExpenseClaimEdit::Reject {
                by: "zhang".into(),
                note: None,
            }],
        )
        .unwrap();
    w.accepted("zhang", &laptop, &claim);
    li.merge_from(&laptop.document_bytes(&claim).unwrap())
        .unwrap();
    li.update_expense_claim(&claim, &[taxi(), ExpenseClaimEdit::Submit])
        .unwrap();
    w.accepted("li", &li, &claim);

    phone
        .update_expense_claim(&claim, &[approve("zhang")])
        .unwrap();
    let reason = w.rejected("zhang", &phone, &claim, "approval");
    assert!(reason.contains("changed while you reviewed"), "{reason}");

    // Synced, the phone sees the new content and its approval binds to it.
    let phone2 = device(&dir, "zhang-phone2");
    phone2
        .merge_from(&li.document_bytes(&claim).unwrap())
        .unwrap();
    phone2
        .update_expense_claim(&claim, &[approve("zhang")])
        .unwrap();
    w.accepted("zhang", &phone2, &claim);
}

#[test]
fn a_content_change_arriving_after_a_concurrent_approval_is_refused() {
    // li's phone still holds the draft when her laptop submits; zhang approves what the
    // laptop sent, then the phone's offline item arrives.
    let w = world();
    let dir = tempfile::tempdir().unwrap();
    let laptop = device(&dir, "li-laptop");
    let claim = laptop.create_expense_claim(li_claim("差旅")).unwrap();
    laptop.update_expense_claim(&claim, &[taxi()]).unwrap();
    let phone = device(&dir, "li-phone");
    phone
        .merge_from(&laptop.document_bytes(&claim).unwrap())
        .unwrap();
    laptop
        .update_expense_claim(&claim, &[ExpenseClaimEdit::Submit])
        .unwrap();
    w.accepted("li", &laptop, &claim);
    let zhang = device(&dir, "zhang");
    zhang
        .merge_from(&laptop.document_bytes(&claim).unwrap())
        .unwrap();
    zhang
        .update_expense_claim(&claim, &[approve("zhang")])
        .unwrap();
    w.accepted("zhang", &zhang, &claim);

    phone.update_expense_claim(&claim, &[taxi()]).unwrap();
    assert!(
        w.rejected("li", &phone, &claim, "approval")
            .contains("frozen")
    );
    let on_server = w.core.sync(&w.who("zhang"), request(0, vec![])).unwrap();
    let fresh = device(&dir, "zhang-fresh");
    for d in &on_server.documents {
        fresh.merge_pulled(&d.id, &d.data).unwrap();
    }
    let c = fresh.expense_claim(&claim).unwrap();
    assert_eq!((c.items.len(), c.status), (1, ClaimStatus::Approved));
    assert_eq!(c.decision_covers, Some(c.content_digest()));
}

#[test]
fn fields_documented_as_never_changed_are_refused_when_changed() {
    let w = world();
    let dir = tempfile::tempdir().unwrap();
    let li = device(&dir, "li");
    let c = li
        .create_customer(customer("华东机电", "east", "li"))
        .unwrap();
    let v = li.create_visit(visit(&c, "li")).unwrap();
    let p = li.create_trip_plan(li_plan("出差")).unwrap();
    for id in [&c, &v, &p] {
        w.accepted("li", &li, id);
    }
    for (id, field, value, who) in [
        (&c, "created_by", "wang", "li"),
        (&c, "created_at", "2020-01-01T00:00:00Z", "zhang"),
        (&v, "created_at", "2020-01-01T00:00:00Z", "li"),
        (&p, "created_at", "2020-01-01T00:00:00Z", "admin"),
    ] {
        let changes = raw(&li, id, |d| d.put(ROOT, field, value).unwrap());
        let r = w.push_raw(who, id, changes);
        assert_eq!(r.rejected.len(), 1, "{who} changed {field}");
        assert_eq!(r.rejected[0].rule, "field_rights");
        assert!(r.rejected[0].reason.contains("never changes"));
    }
}
