#![allow(clippy::unwrap_used)]
use serde_json::json;

use super::*;
use crate::model::customer::{CustomerEdit, NewCustomer};
use crate::model::expense_claim::{ExpenseCategory, ExpenseClaimEdit, NewExpenseClaim};
use crate::model::fields::Money;
use crate::model::trip_plan::{NewTripPlan, TripPlanEdit};

fn store(dir: &tempfile::TempDir, name: &str) -> Store {
    let s = Store::open(dir.path().join(name)).unwrap();
    s.set_author("li").unwrap();
    s
}

fn customer(s: &Store) -> String {
    s.create_customer(NewCustomer {
        name: "华东精密机械有限公司".into(),
        territory: "east".into(),
        owner: "li".into(),
        notes: "首次接触于展会。".into(),
        created_by: "li".into(),
        ..Default::default()
    })
    .unwrap()
}

fn claim(s: &Store) -> String {
    s.create_expense_claim(NewExpenseClaim {
        owner: "li".into(),
        approver: "zhang".into(),
        title: "11月差旅".into(),
        ..Default::default()
    })
    .unwrap()
}

fn trip(s: &Store) -> String {
    s.create_trip_plan(NewTripPlan {
        owner: "li".into(),
        approver: "zhang".into(),
        title: "华东出差".into(),
        start_date: "2026-11-24".into(),
        end_date: "2026-11-27".into(),
        cities: vec!["苏州".into()],
        budget: Money::cny(300_000),
    })
    .unwrap()
}

/// Marks everything the document has as acknowledged, as an accepted push would.
fn ack(s: &Store, id: &str) {
    s.set_acked_heads(id, &s.heads(id).unwrap()).unwrap();
}

/// Refuses the document's unsent changes as the sync round does.
fn refuse(s: &Store, id: &str, rule: &str, reason: &str) -> i64 {
    s.quarantine_document(id, rule, reason).unwrap().unwrap()
}

fn only<'a>(changes: &'a [FieldChange], path: &str) -> &'a FieldChange {
    let found: Vec<&FieldChange> = changes.iter().filter(|c| c.path == path).collect();
    assert_eq!(found.len(), 1, "{path} in {changes:#?}");
    found[0]
}

fn field<'a>(report: &'a RetryReport, name: &str) -> &'a RetriedField {
    report
        .fields
        .iter()
        .find(|f| f.field == name)
        .unwrap_or_else(|| panic!("{name} in {report:#?}"))
}

#[test]
fn a_refused_customer_rename_shows_the_name_old_to_new() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir, "d.db");
    let id = customer(&s);
    ack(&s, &id);
    s.update_customer(&id, &[CustomerEdit::Name("西北重工集团".into())])
        .unwrap();
    let entry = refuse(&s, &id, "field_rights", "reps cannot rename this customer");

    let detail = s.show_quarantined(entry).unwrap();
    assert!(detail.in_store);
    assert_eq!(detail.entry.rule, "field_rights");
    assert_eq!(detail.entry.reason, "reps cannot rename this customer");
    assert_eq!(detail.changes.len(), 1, "{:#?}", detail.changes);
    let name = only(&detail.changes, "name");
    assert_eq!(name.change, ChangeKind::Set);
    assert_eq!(name.old, Some(json!("华东精密机械有限公司")));
    assert_eq!(name.new, Some(json!("西北重工集团")));
}

#[test]
fn a_refused_added_expense_item_shows_the_item() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir, "d.db");
    let id = claim(&s);
    ack(&s, &id);
    let claim = s
        .update_expense_claim(
            &id,
            &[ExpenseClaimEdit::AddItem {
                date: "2026-11-24".into(),
                category: ExpenseCategory::Lodging,
                amount: Money::cny(500_000),
                description: Some("酒店".into()),
                invoice_photo: None,
                receipt: None,
            }],
        )
        .unwrap();
    let item = &claim.items[0];
    let entry = refuse(
        &s,
        &id,
        "approval",
        "the claim is approved: it cannot change",
    );

    let changes = s.show_quarantined(entry).unwrap().changes;
    let added = only(&changes, &format!("items[{}]", item.id));
    assert_eq!(added.field, "items");
    assert_eq!(added.change, ChangeKind::Added);
    assert_eq!(added.old, None);
    let new = added.new.as_ref().unwrap();
    assert_eq!(
        new["amount"],
        json!({ "amount": 500_000, "currency": "CNY" })
    );
    assert_eq!(new["category"], "lodging");
    assert_eq!(new["description"], "酒店");
    assert_eq!(changes.len(), 1, "{changes:#?}");
}

#[test]
fn notes_added_offline_show_as_the_added_text() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir, "d.db");
    let id = customer(&s);
    ack(&s, &id);
    s.update_customer(
        &id,
        &[CustomerEdit::AppendNotes("客户要求下周送样。".into())],
    )
    .unwrap();
    let entry = refuse(&s, &id, "revoked", "the customer was handed over");

    let changes = s.show_quarantined(entry).unwrap().changes;
    let notes = only(&changes, "notes");
    assert_eq!(notes.change, ChangeKind::Text);
    assert_eq!(notes.text_added.as_deref(), Some("\n客户要求下周送样。"));
    assert_eq!(notes.text_removed, None);
    assert_eq!((notes.old.as_ref(), notes.new.as_ref()), (None, None));
}

#[test]
fn a_refused_rename_retried_lands_as_a_fresh_change_with_a_new_actor_and_syncs() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir, "d.db");
    let id = customer(&s);
    ack(&s, &id);
    // What the server holds.
    let server = store(&dir, "server.db");
    server.merge_from(&s.document_bytes(&id).unwrap()).unwrap();
    s.update_customer(&id, &[CustomerEdit::Name("西北重工集团".into())])
        .unwrap();
    let (_, refused) = s.unsent_changes(&id).unwrap();
    let refused_actor = automerge::Change::from_bytes(refused[0].clone())
        .unwrap()
        .actor_id()
        .clone();
    let entry = refuse(&s, &id, "schema", "the name was too long then");

    let report = s.retry_quarantined(entry).unwrap();
    assert!(!report.recreated);
    assert!(!report.kept);
    assert_eq!(report.fields, vec![retried("name")]);
    assert_eq!(s.customer(&id).unwrap().name, "西北重工集团");
    assert!(s.list_quarantine().unwrap().is_empty());
    assert!(matches!(
        s.show_quarantined(entry),
        Err(Error::NoQuarantineEntry(n)) if n == entry
    ));
    // One fresh change of this device's new actor waits to be pushed, and it applies on what
    // the server has.
    let (_, unsent) = s.unsent_changes(&id).unwrap();
    assert_eq!(unsent.len(), 1);
    let change = automerge::Change::from_bytes(unsent[0].clone()).unwrap();
    assert_ne!(change.actor_id(), &refused_actor);
    assert_eq!(change.actor_id().to_hex_string(), s.actor_id());
    server.merge_changes(&id, &unsent.concat()).unwrap();
    assert_eq!(server.customer(&id).unwrap().name, "西北重工集团");
    // The projections were written with it.
    let found = s
        .list_customers(&crate::store::CustomerQuery {
            search: Some("西北重工".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(found.len(), 1);
}

#[test]
fn retrying_appended_notes_keeps_what_was_typed_since() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir, "d.db");
    let id = customer(&s);
    ack(&s, &id);
    s.update_customer(&id, &[CustomerEdit::AppendNotes("离线写的。".into())])
        .unwrap();
    let entry = refuse(&s, &id, "revoked", "handed over");
    s.update_customer(&id, &[CustomerEdit::AppendNotes("之后写的。".into())])
        .unwrap();

    let report = s.retry_quarantined(entry).unwrap();
    assert_eq!(report.fields, vec![retried("notes")]);
    let notes = s.customer(&id).unwrap().notes.as_str().to_string();
    assert!(notes.contains("离线写的。"), "{notes}");
    assert!(notes.contains("之后写的。"), "{notes}");
    assert!(notes.starts_with("首次接触于展会。"), "{notes}");
}

#[test]
fn a_never_accepted_plan_is_recreated_as_a_draft_and_its_approval_is_kept_aside() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir, "d.db");
    let id = trip(&s);
    s.update_trip_plan(
        &id,
        &[
            TripPlanEdit::Submit,
            TripPlanEdit::Approve {
                by: "li".into(),
                note: Some("自己批".into()),
            },
        ],
    )
    .unwrap();
    let entry = refuse(&s, &id, "approval", "li cannot approve their own trip_plan");
    assert!(matches!(s.trip_plan(&id), Err(Error::NotFound(_))));
    let shown = s.show_quarantined(entry).unwrap();
    assert!(!shown.in_store);
    assert_eq!(only(&shown.changes, "title").new, Some(json!("华东出差")));
    assert!(
        shown
            .changes
            .iter()
            .all(|c| !IDENTITY.contains(&c.field.as_str()))
    );

    let report = s.retry_quarantined(entry).unwrap();
    assert!(report.recreated);
    for f in [
        "title",
        "start_date",
        "end_date",
        "cities",
        "budget",
        "owner",
        "approver",
    ] {
        assert!(field(&report, f).retried, "{f}: {report:#?}");
    }
    for f in [
        "status",
        "submitted_at",
        "decided_at",
        "decided_by",
        "decision_note",
    ] {
        let skipped = field(&report, f);
        assert!(!skipped.retried, "{f}");
        assert!(
            skipped.why.as_deref().unwrap().contains("never resent"),
            "{f}"
        );
    }
    let plan = s.trip_plan(&id).unwrap();
    assert_eq!(plan.status.as_str(), "draft");
    assert_eq!(plan.title, "华东出差");
    assert_eq!(plan.decided_by, None);
    assert_eq!(plan.submitted_at, None);
    assert_eq!(s.unsent_documents().unwrap(), vec![id.clone()]);
    // The entry keeps only the approval, shown against the recreated draft.
    assert!(report.kept);
    let left = s.show_quarantined(entry).unwrap();
    let status = only(&left.changes, "status");
    assert_eq!(
        (status.old.clone(), status.new.clone()),
        (Some(json!("draft")), Some(json!("approved")))
    );
    assert!(
        left.changes
            .iter()
            .all(|c| is_lifecycle(DocKind::TripPlan, &c.field)),
        "{:#?}",
        left.changes
    );
}

#[test]
fn a_lifecycle_field_is_skipped_and_kept_while_the_rest_is_retried() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir, "d.db");
    let id = claim(&s);
    s.update_expense_claim(
        &id,
        &[ExpenseClaimEdit::AddItem {
            date: "2026-11-24".into(),
            category: ExpenseCategory::Transport,
            amount: Money::cny(3000),
            description: None,
            invoice_photo: None,
            receipt: None,
        }],
    )
    .unwrap();
    ack(&s, &id);
    s.update_expense_claim(
        &id,
        &[
            ExpenseClaimEdit::Title("12月差旅".into()),
            ExpenseClaimEdit::Submit,
        ],
    )
    .unwrap();
    let entry = refuse(&s, &id, "approval", "submit the claim again");

    let report = s.retry_quarantined(entry).unwrap();
    assert_eq!(field(&report, "title"), &retried("title"));
    assert!(!field(&report, "status").retried);
    assert!(!field(&report, "submitted_at").retried);
    assert!(report.kept);
    let claim = s.expense_claim(&id).unwrap();
    assert_eq!(claim.title, "12月差旅");
    assert_eq!(claim.status.as_str(), "draft");
    // What is left is the lifecycle only; a second retry writes nothing more.
    let left = s.show_quarantined(entry).unwrap().changes;
    let fields: Vec<&str> = left.iter().map(|c| c.field.as_str()).collect();
    assert_eq!(fields, vec!["history", "status", "submitted_at"]);
    let heads = s.heads(&id).unwrap();
    let again = s.retry_quarantined(entry).unwrap();
    assert!(again.retried().next().is_none());
    assert!(again.kept);
    assert_eq!(s.heads(&id).unwrap(), heads);
}

#[test]
fn a_field_the_server_named_is_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir, "d.db");
    let id = customer(&s);
    ack(&s, &id);
    s.update_customer(
        &id,
        &[
            CustomerEdit::Name("西北重工集团".into()),
            CustomerEdit::Owner("wang".into()),
        ],
    )
    .unwrap();
    let entry = refuse(&s, &id, "field_rights", "a rep cannot set customer.owner");

    let report = s.retry_quarantined(entry).unwrap();
    assert_eq!(field(&report, "name"), &retried("name"));
    let owner = field(&report, "owner");
    assert!(!owner.retried);
    assert!(owner.why.as_deref().unwrap().contains("customer.owner"));
    let c = s.customer(&id).unwrap();
    assert_eq!((c.name.as_str(), c.owner.as_str()), ("西北重工集团", "li"));
    let left = s.show_quarantined(entry).unwrap().changes;
    assert_eq!(left.len(), 1, "{left:#?}");
    assert_eq!(only(&left, "owner").new, Some(json!("wang")));
}

#[test]
fn a_field_that_breaks_a_rule_now_is_skipped_and_nothing_else_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir, "d.db");
    let id = claim(&s);
    ack(&s, &id);
    s.update_expense_claim(
        &id,
        &[ExpenseClaimEdit::AddItem {
            date: "2026-11-24".into(),
            category: ExpenseCategory::Meals,
            amount: Money::cny(8_000),
            description: None,
            invoice_photo: None,
            receipt: None,
        }],
    )
    .unwrap();
    let entry = refuse(&s, &id, "schema", "x");
    // The claim's currency changes meanwhile: a CNY item no longer fits it.
    let mut doc = s.with_doc(&id, |d| Ok(d.fork())).unwrap();
    let heads = doc.get_heads();
    automerge::transaction::Transactable::put(&mut doc, automerge::ROOT, "currency", "USD")
        .unwrap();
    doc.commit();
    let change = doc
        .get_changes(&heads)
        .into_iter()
        .next()
        .unwrap()
        .bytes()
        .into_owned();
    s.merge_changes(&id, &change).unwrap();

    let report = s.retry_quarantined(entry).unwrap();
    let items = field(&report, "items");
    assert!(!items.retried, "{report:#?}");
    assert!(
        items.why.as_deref().unwrap().contains("would break a rule"),
        "{report:#?}"
    );
    assert!(report.kept);
    assert!(s.expense_claim(&id).unwrap().items.is_empty());
    assert_eq!(s.list_quarantine().unwrap().len(), 1);
}

#[test]
fn an_unknown_entry_is_named_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir, "d.db");
    for result in [
        s.show_quarantined(42).map(|_| ()),
        s.retry_quarantined(42).map(|_| ()),
        s.export_quarantined(42).map(|_| ()),
    ] {
        let e = result.unwrap_err();
        assert!(matches!(e, Error::NoQuarantineEntry(42)), "{e}");
        assert!(e.to_string().contains("no quarantine entry 42"), "{e}");
    }
}

#[test]
fn an_export_holds_the_diff_and_raw_changes_that_merge_back() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir, "d.db");
    let id = customer(&s);
    let entry = refuse(&s, &id, "scope", "territory 'east' is not one of yours");

    let export = s.export_quarantined(entry).unwrap();
    assert_eq!(export.doc_id, id);
    assert_eq!(export.kind, DocKind::Customer);
    assert_eq!(export.rule, "scope");
    assert_eq!(export.diff_error, None);
    assert_eq!(
        only(&export.changes, "name").new,
        Some(json!("华东精密机械有限公司"))
    );
    let value = serde_json::to_value(&export).unwrap();
    for key in [
        "doc_id",
        "kind",
        "rule",
        "reason",
        "quarantined_at",
        "changes",
        "raw_changes_base64",
    ] {
        assert!(value.get(key).is_some(), "{key}");
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(&export.raw_changes_base64)
        .unwrap();
    let other = store(&dir, "other.db");
    other.merge_changes(&id, &raw).unwrap();
    assert_eq!(other.customer(&id).unwrap().name, "华东精密机械有限公司");
}

#[test]
fn changes_whose_base_left_the_device_show_the_text_typed_and_are_exported_raw() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir, "d.db");
    let id = customer(&s);
    ack(&s, &id);
    s.update_customer(
        &id,
        &[
            CustomerEdit::AppendNotes("交接前写的".into()),
            CustomerEdit::Name("西北重工集团".into()),
        ],
    )
    .unwrap();
    assert!(s.revoke_document(&id).unwrap());
    let entry = s.list_quarantine().unwrap()[0].id;

    let detail = s.show_quarantined(entry).unwrap();
    assert!(!detail.complete);
    assert!(!detail.in_store);
    assert_eq!(
        only(&detail.changes, "name").new,
        Some(json!("西北重工集团"))
    );
    let typed = only(&detail.changes, "(text)");
    assert_eq!(typed.text_added.as_deref(), Some("交接前写的"));
    assert!(matches!(
        s.retry_quarantined(entry),
        Err(Error::QuarantineBaseMissing { .. })
    ));
    let export = s.export_quarantined(entry).unwrap();
    assert!(!export.complete);
    assert_eq!(export.changes, detail.changes);
    assert_eq!(export.diff_error, None);
    assert!(!export.raw_changes_base64.is_empty());
}

#[test]
fn after_a_scope_refusal_the_fields_that_decide_who_sees_the_document_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir, "d.db");
    let id = customer(&s);
    ack(&s, &id);
    s.update_customer(
        &id,
        &[
            CustomerEdit::Name("西北重工集团".into()),
            CustomerEdit::Owner("wang".into()),
        ],
    )
    .unwrap();
    let entry = refuse(
        &s,
        &id,
        "scope",
        "customer would be outside your part of the business after this change",
    );

    let report = s.retry_quarantined(entry).unwrap();
    assert_eq!(field(&report, "name"), &retried("name"));
    let owner = field(&report, "owner");
    assert!(!owner.retried);
    assert!(
        owner.why.as_deref().unwrap().contains("who sees"),
        "{report:#?}"
    );
    assert_eq!(s.customer(&id).unwrap().owner, "li");
    assert!(report.kept);
}

#[test]
fn a_field_the_acting_user_may_not_write_is_skipped_even_if_the_server_named_another() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir, "d.db");
    let id = customer(&s);
    ack(&s, &id);
    // Written before anyone was logged in here (no device check), refused by the server for
    // a reason that names no field.
    s.update_customer(
        &id,
        &[
            CustomerEdit::Name("西北重工集团".into()),
            CustomerEdit::Territory("east2".into()),
        ],
    )
    .unwrap();
    let entry = refuse(&s, &id, "schema", "the server could not take this push");
    s.set_acting_user(Some(&crate::rights::Principal {
        username: "li".into(),
        role: crate::rights::Role::Rep,
        territories: vec!["east".into()],
        manager: Some("zhang".into()),
        team: vec!["li".into()],
    }))
    .unwrap();

    let report = s.retry_quarantined(entry).unwrap();
    assert_eq!(field(&report, "name"), &retried("name"));
    let territory = field(&report, "territory");
    assert!(!territory.retried);
    assert!(
        territory
            .why
            .as_deref()
            .unwrap()
            .contains("a rep cannot set customer.territory"),
        "{territory:?}"
    );
    let c = s.customer(&id).unwrap();
    assert_eq!(
        (c.name.as_str(), c.territory.as_str()),
        ("西北重工集团", "east")
    );
}
