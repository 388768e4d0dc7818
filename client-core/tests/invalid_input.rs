//! Bad input gets a typed error with a clear message and leaves the store exactly as it was.
#![allow(clippy::unwrap_used)]

mod common;

use common::{device, new_customer};
use fieldsync_core::Error;
use fieldsync_core::Store;
use fieldsync_core::model::customer::{CustomerEdit, NewCustomer, Tier};
use fieldsync_core::model::expense_claim::{ExpenseCategory, ExpenseClaimEdit, NewExpenseClaim};
use fieldsync_core::model::fields::Money;
use fieldsync_core::model::trip_plan::NewTripPlan;
use fieldsync_core::model::visit::NewVisit;
use fieldsync_core::store::{CustomerQuery, PlanQuery};

/// Everything a user could observe in the store.
fn fingerprint(store: &Store) -> String {
    let mut out = String::new();
    for (id, kind) in store.document_ids().unwrap() {
        let doc = serde_json::to_string(&store.document(&id).unwrap()).unwrap();
        out.push_str(&format!(
            "{id} {kind} {:?} {doc}\n",
            store.heads(&id).unwrap()
        ));
    }
    let q = CustomerQuery {
        limit: Some(1000),
        ..Default::default()
    };
    out.push_str(&format!("{:?}\n", store.list_customers(&q).unwrap()));
    out.push_str(&format!(
        "{:?}\n",
        store.list_expense_claims(&PlanQuery::default()).unwrap()
    ));
    out
}

fn assert_invalid(result: Result<impl std::fmt::Debug, Error>, field: &str, words: &str) {
    match result {
        Err(Error::Invalid(e)) => {
            assert_eq!(e.field, field, "wrong field in: {e}");
            assert!(
                e.problem.contains(words),
                "message '{e}' does not say '{words}'"
            );
        }
        other => panic!("expected an invalid-{field} error, got {other:?}"),
    }
}

#[test]
fn invalid_input_is_refused_with_a_typed_error_and_changes_nothing() {
    let d = device("phone");
    let id = d
        .store
        .create_customer(new_customer("华东精密机械有限公司"))
        .unwrap();
    let claim = d
        .store
        .create_expense_claim(NewExpenseClaim {
            owner: "li.wei".into(),
            approver: "zhang.min".into(),
            title: "11月出差".into(),
            ..Default::default()
        })
        .unwrap();
    let before = fingerprint(&d.store);

    // Empty customer name, on create and on edit.
    assert_invalid(
        d.store.create_customer(new_customer("   ")),
        "customer.name",
        "must not be empty",
    );
    assert_invalid(
        d.store
            .update_customer(&id, &[CustomerEdit::Name(String::new())]),
        "customer.name",
        "empty",
    );
    // An edit list that fails part-way writes none of it.
    assert_invalid(
        d.store.update_customer(
            &id,
            &[CustomerEdit::Tier(Tier::A), CustomerEdit::Name(" ".into())],
        ),
        "customer.name",
        "empty",
    );
    // Unknown tier.
    let tier = "Z".parse::<Tier>().unwrap_err();
    assert_eq!(tier.field, "customer.tier");
    assert!(
        tier.problem.contains("unknown value 'Z'") && tier.problem.contains("A, B, C, D"),
        "{tier}"
    );
    // Negative amount.
    assert_invalid(
        d.store.update_expense_claim(
            &claim,
            &[ExpenseClaimEdit::AddItem {
                date: "2026-11-20".into(),
                category: ExpenseCategory::Transport,
                amount: Money::cny(-500),
                description: None,
                invoice_photo: None,
                receipt: None,
            }],
        ),
        "expense_claim.items[0].amount",
        "negative",
    );
    // Bad dates and times.
    assert_invalid(
        d.store.create_visit(NewVisit {
            customer: id.clone(),
            author: "li.wei".into(),
            checkin_at: "yesterday".into(),
            ..Default::default()
        }),
        "visit.checkin_at",
        "RFC 3339",
    );
    assert_invalid(
        d.store.create_trip_plan(NewTripPlan {
            owner: "li.wei".into(),
            approver: "zhang.min".into(),
            title: "苏州".into(),
            start_date: "2026-11-30".into(),
            end_date: "2026-11-02".into(),
            ..Default::default()
        }),
        "trip_plan.end_date",
        "before the start date",
    );
    // Malformed ids.
    assert!(matches!(
        d.store.customer("not-an-id"),
        Err(Error::MalformedId(_))
    ));
    assert!(matches!(
        d.store.create_visit(NewVisit {
            customer: "123".into(),
            ..Default::default()
        }),
        Err(Error::MalformedId(_))
    ));
    let missing = fieldsync_core::ids::new_id();
    assert!(matches!(
        d.store.customer(&missing),
        Err(Error::NotFound(_))
    ));
    // Wrong kind.
    assert!(matches!(d.store.visit(&id), Err(Error::WrongKind { .. })));
    // Corrupt bytes, empty bytes, truncated bytes.
    assert!(matches!(
        d.store.merge_from(b"definitely not automerge"),
        Err(Error::Corrupt(_))
    ));
    assert!(matches!(
        d.store.merge_changes(&id, b"\x85\x6f\x4a\x83garbage"),
        Err(Error::Corrupt(_))
    ));
    let whole = d.store.document_bytes(&id).unwrap();
    assert!(matches!(
        d.store.merge_from(&whole[..whole.len() / 2]),
        Err(Error::Corrupt(_))
    ));
    // A change from another device, truncated or followed by garbage, is refused whole.
    let other = device("laptop");
    other.store.merge_from(&whole).unwrap();
    other
        .store
        .update_customer(&id, &[CustomerEdit::Tier(Tier::A)])
        .unwrap();
    let change = other
        .store
        .changes_since(&id, &d.store.heads(&id).unwrap())
        .unwrap()
        .remove(0);
    assert!(matches!(
        d.store.merge_changes(&id, &change[..change.len() - 3]),
        Err(Error::Corrupt(_))
    ));
    let mut tailed = change.clone();
    tailed.extend_from_slice(b"trailing junk");
    assert!(matches!(
        d.store.merge_changes(&id, &tailed),
        Err(Error::Corrupt(_))
    ));
    let mut flipped = change.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 0xff;
    assert!(
        matches!(d.store.merge_changes(&id, &flipped), Err(Error::Corrupt(_))),
        "checksum"
    );
    // A change whose dependencies this device lacks is refused, not half-applied.
    other
        .store
        .update_customer(&id, &[CustomerEdit::Tier(Tier::B)])
        .unwrap();
    let latest = other.store.changes_since(&id, &[]).unwrap().pop().unwrap();
    assert!(matches!(
        d.store.merge_changes(&id, &latest),
        Err(Error::MissingDependencies { .. })
    ));

    assert_eq!(
        fingerprint(&d.store),
        before,
        "a refused input changed the store"
    );
}

/// A 52-byte change that parses and carries a valid checksum, but on which Automerge 0.12's
/// merge panics (an actor it does not expect); found by the `change_validator` fuzz target.
fn change_automerge_panics_on() -> Vec<u8> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/automerge/change-automerge-panics-on.bin"
    );
    std::fs::read(path).unwrap()
}

#[test]
fn a_well_formed_change_automerge_panics_on_is_refused_as_corrupt_and_changes_nothing() {
    let d = device("phone");
    let id = d
        .store
        .create_customer(new_customer("华东精密机械有限公司"))
        .unwrap();
    let before = fingerprint(&d.store);
    let change = change_automerge_panics_on();
    assert!(
        fieldsync_core::chunks::check_whole(&change).is_ok(),
        "the change is well-formed: only the merge can tell"
    );
    match d.store.merge_changes(&id, &change) {
        Err(Error::Corrupt(message)) => assert!(message.contains("inconsistent"), "{message}"),
        other => panic!("expected a corrupt-data error, got {other:?}"),
    }
    assert_eq!(
        fingerprint(&d.store),
        before,
        "the refused change changed the store"
    );
    // The store still works: the cached document was not left half-merged.
    d.store
        .update_customer(&id, &[CustomerEdit::Tier(Tier::A)])
        .unwrap();
    assert_eq!(d.store.customer(&id).unwrap().tier, Tier::A);
}

#[test]
fn imported_documents_of_unknown_kind_or_broken_schema_are_refused() {
    use automerge::transaction::Transactable;
    let d = device("laptop");
    d.store
        .create_customer(new_customer("宁波金立基贸易有限公司"))
        .unwrap();
    let before = fingerprint(&d.store);

    // A document of a kind fieldsync does not know.
    let mut doc = automerge::AutoCommit::new();
    doc.put(automerge::ROOT, "kind", "invoice").unwrap();
    doc.put(automerge::ROOT, "id", fieldsync_core::ids::new_id())
        .unwrap();
    let err = d.store.merge_from(&doc.save()).unwrap_err();
    assert!(
        matches!(&err, Error::UnknownKind(k) if k == "invoice"),
        "{err}"
    );
    assert!(err.to_string().contains(
        "expected customer, visit, trip_plan, expense_claim, order, complaint or target"
    ));

    // A customer whose tier is not A–D, written by some other client.
    let other = device("other");
    let id = other
        .store
        .create_customer(new_customer("坏数据有限公司"))
        .unwrap();
    let mut raw = automerge::AutoCommit::load(&other.store.document_bytes(&id).unwrap()).unwrap();
    raw.put(automerge::ROOT, "tier", "Z").unwrap();
    let err = d.store.merge_from(&raw.save()).unwrap_err();
    assert!(matches!(err, Error::Invalid(_)), "{err}");
    assert!(err.to_string().contains("'Z'"), "{err}");

    // A customer with a negative price.
    let mut raw = automerge::AutoCommit::load(&other.store.document_bytes(&id).unwrap()).unwrap();
    let price = raw
        .put_object(automerge::ROOT, "current_price", automerge::ObjType::Map)
        .unwrap();
    raw.put(&price, "amount", -1_i64).unwrap();
    raw.put(&price, "currency", "CNY").unwrap();
    let err = d.store.merge_from(&raw.save()).unwrap_err();
    assert!(
        err.to_string()
            .contains("customer.current_price: amount -1 is negative"),
        "{err}"
    );

    // A newer schema version.
    let mut raw = automerge::AutoCommit::load(&other.store.document_bytes(&id).unwrap()).unwrap();
    raw.put(
        automerge::ROOT,
        "schema",
        fieldsync_core::model::SCHEMA_VERSION + 1,
    )
    .unwrap();
    let err = d.store.merge_from(&raw.save()).unwrap_err();
    assert!(err.to_string().contains("update the app"), "{err}");

    assert_eq!(fingerprint(&d.store), before);
}

#[test]
fn a_newer_store_file_is_refused_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.db");
    drop(Store::open(&path).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    let err = Store::open(&path).unwrap_err();
    assert!(matches!(err, Error::StoreTooNew { found: 99, .. }), "{err}");
}

#[test]
fn a_customer_needs_name_territory_and_owner() {
    let d = device("phone");
    let base = NewCustomer {
        name: "x".into(),
        territory: "t".into(),
        owner: "o".into(),
        created_by: "o".into(),
        ..Default::default()
    };
    assert_invalid(
        d.store.create_customer(NewCustomer {
            territory: String::new(),
            ..base.clone()
        }),
        "customer.territory",
        "empty",
    );
    assert_invalid(
        d.store.create_customer(NewCustomer {
            owner: "two words".into(),
            ..base.clone()
        }),
        "customer.owner",
        "spaces",
    );
    d.store.create_customer(base).unwrap();
}

#[test]
fn dates_must_be_zero_padded_and_stored_times_utc() {
    let d = device("phone");
    let c = d
        .store
        .create_customer(new_customer("日期测试有限公司"))
        .unwrap();
    let v = |at: &str, next: Option<&str>| NewVisit {
        customer: c.clone(),
        author: "li.wei".into(),
        checkin_at: at.into(),
        utc_offset_minutes: 480,
        next_followup: next.map(str::to_string),
        ..Default::default()
    };
    assert_invalid(
        d.store
            .create_visit(v("2026-11-20T10:30:00Z", Some("2026-1-5"))),
        "visit.next_followup",
        "YYYY-MM-DD",
    );
    // A local time with an offset is accepted as input and stored in UTC.
    let id = d
        .store
        .create_visit(v("2026-11-20T10:30:00+08:00", None))
        .unwrap();
    assert_eq!(
        d.store.visit(&id).unwrap().checkin_at,
        "2026-11-20T02:30:00Z"
    );
    // But a document that stores a non-UTC time is refused.
    use automerge::transaction::Transactable;
    let mut raw = automerge::AutoCommit::load(&d.store.document_bytes(&id).unwrap()).unwrap();
    raw.put(automerge::ROOT, "checkin_at", "2026-11-20T10:30:00+08:00")
        .unwrap();
    let other = device("laptop");
    let err = other.store.merge_from(&raw.save()).unwrap_err();
    assert!(
        err.to_string().contains("visit.checkin_at") && err.to_string().contains("UTC"),
        "{err}"
    );
}
