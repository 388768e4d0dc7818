//! Hostile requests against the real server process, as tables: malformed bodies, hostile
//! documents and forged or stale credentials. Each gets the right status and error code with a
//! message that says what to do, the server stays up, and the stored data (every row of its
//! documents and its log, read from the database file, or with SQL from PostgreSQL) is
//! byte-identical afterwards. Every test runs on each backend ([`on_every_backend!`]).
#![allow(clippy::unwrap_used)]

mod common;

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ROOT, ReadDoc};
use base64::Engine;
use common::{Backend, Device, Org, customer, login, org_on, post, post_bytes};
use fieldsync_core::Store;
use fieldsync_core::ids::new_id;
use fieldsync_core::model::complaint::{
    Complaint, ComplaintCategory, ComplaintChannel, ComplaintEdit, ComplaintStatus, NewComplaint,
    Priority,
};
use fieldsync_core::model::customer::CustomerEdit;
use fieldsync_core::model::expense_claim::{ExpenseCategory, ExpenseClaimEdit, NewExpenseClaim};
use fieldsync_core::model::fields::{Money, now_string};
use fieldsync_core::model::order::{NewOrder, Order, OrderEdit, OrderStatus};
use fieldsync_core::model::target::{NewTarget, Target};
use fieldsync_core::protocol::{PushDocument, Rejected, SyncRequest, SyncResponse, decode, encode};
use fieldsync_tests::hand_made;
use serde_bytes::ByteBuf;

on_every_backend!(
    malformed_bodies_get_400_413_or_415_and_change_nothing,
    hostile_documents_are_rejected_with_their_rule_and_nothing_of_them_is_stored,
    a_round_carrying_more_than_one_push_may_is_refused_whole,
    a_document_whose_history_would_pass_its_limit_is_refused_and_stays_as_it_was,
    names_and_times_in_the_data_are_the_writers_and_references_name_the_right_kind,
    forged_expired_foreign_stale_and_replayed_credentials_are_refused,
    pushes_that_bypass_the_workflow_or_the_target_rules_are_refused_with_their_rule_and_nothing_is_stored,
    a_rep_does_not_record_a_complaint_at_a_customer_she_cannot_see_by_naming_herself_assignee,
);

/// Every row of the server's documents and log, as stored. The SQLite file is read directly;
/// PostgreSQL is asked with SQL for the same tables, each row as PostgreSQL writes it as text
/// (bytes in hex), and the log's head row with them (the next sequence number lives there, not
/// in the log as with SQLite's AUTOINCREMENT).
fn stored(o: &Org) -> Vec<String> {
    if let Some(url) = o.database_url() {
        let mut db = ::postgres::Client::connect(&url, ::postgres::NoTls).unwrap();
        let mut rows = Vec::new();
        for table in ["docs r ORDER BY id", "log r ORDER BY seq", "log_head r"] {
            for r in db
                .query(&format!("SELECT r::text FROM {table}"), &[])
                .unwrap()
            {
                rows.push(r.get(0));
            }
        }
        return rows;
    }
    let db = rusqlite::Connection::open_with_flags(
        o.data.path().join("fieldsync.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let mut rows = Vec::new();
    for table in ["docs ORDER BY id", "log ORDER BY seq"] {
        let mut stmt = db.prepare(&format!("SELECT * FROM {table}")).unwrap();
        let n = stmt.column_count();
        let mut q = stmt.query([]).unwrap();
        while let Some(r) = q.next().unwrap() {
            let values: Vec<String> = (0..n)
                .map(|i| format!("{:?}", r.get_ref(i).unwrap()))
                .collect();
            rows.push(values.join("|"));
        }
    }
    rows
}

/// A CBOR text string (shorter than 24 bytes).
fn text(s: &str) -> Vec<u8> {
    assert!(s.len() < 24);
    let mut out = vec![0x60 + s.len() as u8];
    out.extend_from_slice(s.as_bytes());
    out
}

/// A sync request map whose `push` field is `push` (raw CBOR), protocol 1, cursor 0.
fn request_with_push(push: &[u8]) -> Vec<u8> {
    let mut out = vec![0xa3];
    out.extend(text("protocol"));
    out.push(0x01);
    out.extend(text("cursor"));
    out.push(0x00);
    out.extend(text("push"));
    out.extend_from_slice(push);
    out
}

fn request(push: Vec<PushDocument>) -> Vec<u8> {
    encode(&SyncRequest {
        protocol: 1,
        cursor: 0,
        push,
    })
}

fn push_of(id: &str, changes: Vec<Vec<u8>>) -> PushDocument {
    PushDocument {
        id: id.to_string(),
        changes: changes.into_iter().map(ByteBuf::from).collect(),
    }
}

/// The notes of a customer document: a list of paragraphs.
fn notes_of(doc: &AutoCommit) -> automerge::ObjId {
    hand_made::notes_of(doc).unwrap()
}

/// A document as li's synced device holds it (what a hand-made change builds on).
fn li_bytes(o: &Org, id: &str) -> Vec<u8> {
    let li = Device::new(&o.server.url(), "li", "laptop");
    li.sync();
    li.store.document_bytes(id).unwrap()
}

/// A server whose stored data holds one synced customer of li's, that data as stored, and an
/// access token of li's.
struct Scene {
    o: Org,
    base: String,
    before: Vec<String>,
    token: String,
    /// li's customer, on the server.
    existing: String,
}

/// The scene on `backend`; `None` when the test skips.
fn scene(backend: Backend) -> Option<Scene> {
    let o = org_on(backend, &[])?;
    let base = o.server.url();
    let li = Device::new(&base, "li", "phone");
    let existing = li
        .store
        .create_customer(customer("李的客户", "east", "li"))
        .unwrap();
    li.sync();
    let before = stored(&o);
    assert!(
        !before.is_empty(),
        "the stored data holds nothing to compare"
    );
    let token = login(&base, "li")["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    Some(Scene {
        o,
        base,
        before,
        token,
        existing,
    })
}

fn assert_clear(what: &str, answer: &serde_json::Value, code: &str) {
    assert_eq!(answer["error"], code, "{what}: {answer}");
    let message = answer["message"].as_str().unwrap_or_default();
    assert!(
        message.len() > 15,
        "{what}: the message says too little: {answer}"
    );
}

fn malformed_bodies_get_400_413_or_415_and_change_nothing(backend: Backend) {
    let Some(Scene {
        o,
        base,
        before,
        token,
        ..
    }) = scene(backend)
    else {
        return;
    };
    let sync = format!("{base}/v1/sync");
    let good = request(vec![]);

    let mut wrong_types = vec![0xa3];
    wrong_types.extend(text("protocol"));
    wrong_types.extend(text("1"));
    wrong_types.extend(text("cursor"));
    wrong_types.push(0x00);
    wrong_types.extend(text("push"));
    wrong_types.push(0x80);
    let mut deep = vec![0x81; 100_000];
    deep.push(0x80);
    let future = encode(&SyncRequest {
        protocol: 99,
        cursor: 0,
        push: vec![],
    });
    let cases: Vec<(&str, &str, Vec<u8>, u16, &str)> = vec![
        (
            "not CBOR",
            "application/cbor",
            b"{not cbor".to_vec(),
            400,
            "bad_request",
        ),
        (
            "truncated CBOR",
            "application/cbor",
            good[..good.len() - 1].to_vec(),
            400,
            "bad_request",
        ),
        (
            "empty body",
            "application/cbor",
            Vec::new(),
            400,
            "bad_request",
        ),
        (
            "a field of the wrong type",
            "application/cbor",
            wrong_types,
            400,
            "bad_request",
        ),
        (
            "an array that claims 4 billion documents",
            "application/cbor",
            request_with_push(&[0x9a, 0xff, 0xff, 0xff, 0xff]),
            400,
            "bad_request",
        ),
        (
            "100,000 nested arrays",
            "application/cbor",
            request_with_push(&deep),
            400,
            "bad_request",
        ),
        (
            "a document that is not a map",
            "application/cbor",
            request_with_push(&[0x81, 0x01]),
            400,
            "bad_request",
        ),
        (
            "a protocol newer than the server's",
            "application/cbor",
            future,
            400,
            "server_too_old",
        ),
        (
            "JSON instead of CBOR",
            "application/json",
            b"{}".to_vec(),
            415,
            "unsupported_media_type",
        ),
        (
            "a 17 MiB body",
            "application/cbor",
            vec![0u8; 17 << 20],
            413,
            "too_large",
        ),
    ];
    let n = cases.len();
    for (what, content_type, body, status, code) in cases {
        let (s, answer) = post(&sync, Some(&token), content_type, &body);
        if s == 0 && status == 413 {
            // Refused before the upload ended (the JSON 413 itself is checked in-process).
            continue;
        }
        assert_eq!(s, status, "{what}: {answer}");
        assert_clear(what, &answer, code);
    }
    // Logins with bodies that are not the login form.
    let login_url = format!("{base}/v1/auth/login");
    for (what, body) in [
        ("a login that is not JSON", "username=li".to_string()),
        (
            "a login with a number for a name",
            r#"{"username": 1, "password": "x", "device_name": "d"}"#.to_string(),
        ),
        (
            "a login with an unknown field",
            r#"{"username": "li", "password": "x", "device_name": "d", "role": "admin"}"#
                .to_string(),
        ),
    ] {
        let (s, answer) = post(&login_url, None, "application/json", body.as_bytes());
        assert_eq!(s, 400, "{what}: {answer}");
        assert_clear(what, &answer, "bad_request");
    }
    // Names no account can have, and device names with control characters, as every backend
    // takes them: a wrong login, or a refused form (PostgreSQL's text holds no NUL byte).
    let long_name = "名".repeat(6000);
    for (what, name, device, status, code) in [
        (
            "a name with a NUL byte",
            "li\\u0000",
            "phone",
            401,
            "unauthenticated",
        ),
        (
            "a name of 6000 characters",
            long_name.as_str(),
            "phone",
            401,
            "unauthenticated",
        ),
        (
            "a device name with a NUL byte",
            "li",
            "phone\\u0000",
            422,
            "invalid",
        ),
    ] {
        let body = format!(
            r#"{{"username": "{name}", "password": "pw-li-secret", "device_name": "{device}"}}"#
        );
        let (s, answer) = post(&login_url, None, "application/json", body.as_bytes());
        assert_eq!(s, status, "{what}: {answer}");
        assert_clear(what, &answer, code);
    }
    // Still serving, and nothing changed.
    let (s, _) = post_bytes(&sync, Some(&token), "application/cbor", &good);
    assert_eq!(
        s, 200,
        "the server stopped answering after {n} malformed bodies"
    );
    assert_eq!(
        stored(&o),
        before,
        "a refused request changed the stored data"
    );
}

fn hostile_documents_are_rejected_with_their_rule_and_nothing_of_them_is_stored(backend: Backend) {
    let Some(Scene {
        o,
        base,
        before,
        token,
        existing,
    }) = scene(backend)
    else {
        return;
    };

    let dir = tempfile::tempdir().unwrap();
    let scratch = Store::open(dir.path().join("scratch.db")).unwrap();
    // A document of a kind the schema does not have, under a well-formed id.
    let id = scratch
        .create_customer(customer("外星客户", "east", "li"))
        .unwrap();
    let mut spaceship = AutoCommit::new();
    spaceship.put(ROOT, "kind", "spaceship").unwrap();
    spaceship.put(ROOT, "id", id.as_str()).unwrap();
    let unknown_kind = push_of(&id, hand_made::changes_since(&mut spaceship, &[]));
    // A whole saved document where a push carries changes.
    let whole = push_of(&id, vec![spaceship.save()]);
    // A million paragraphs into li's customer's notes in one change (a few KB on the wire),
    // and paragraphs inserted and deleted again in one change: the visible notes stay as they
    // were while the history grows.
    let mut doc = AutoCommit::load(&li_bytes(&o, &existing)).unwrap();
    let heads = doc.get_heads();
    let notes = notes_of(&doc);
    hand_made::insert_paragraphs(&mut doc, &notes, 1_000_000, "客").unwrap();
    let text_bomb = push_of(&existing, hand_made::changes_since(&mut doc, &heads));
    let mut doc = AutoCommit::load(&li_bytes(&o, &existing)).unwrap();
    let heads = doc.get_heads();
    let notes = notes_of(&doc);
    for _ in 0..3 {
        hand_made::churn(&mut doc, &notes, 100_000).unwrap();
    }
    let hidden_history = push_of(&existing, hand_made::changes_since(&mut doc, &heads));
    // A later change of a document without the change it builds on.
    let gap = scratch
        .create_customer(customer("缺失依赖", "east", "li"))
        .unwrap();
    scratch
        .update_customer(&gap, &[CustomerEdit::AppendNotes("第二次".into())])
        .unwrap();
    let mut changes = scratch.changes_since(&gap, &[]).unwrap();
    let missing_deps = push_of(&gap, vec![changes.pop().unwrap()]);
    // A customer whose name was blanked behind the client library's back.
    let blank = scratch
        .create_customer(customer("将被清空", "east", "li"))
        .unwrap();
    let mut doc = AutoCommit::load(&scratch.document_bytes(&blank).unwrap()).unwrap();
    let heads = doc.get_heads();
    doc.put(ROOT, "name", "").unwrap();
    doc.commit();
    let mut broken: Vec<Vec<u8>> = scratch.changes_since(&blank, &[]).unwrap();
    broken.extend(
        doc.get_changes(&heads)
            .into_iter()
            .map(|mut c| c.bytes().into_owned()),
    );
    let schema = push_of(&blank, broken);
    // Bytes that are not Automerge at all, and an id that is not an id.
    let garbage = push_of(&id, vec![b"not automerge".to_vec()]);
    // A well-formed change with a valid checksum on which Automerge's merge panics (found by
    // the change_validator fuzz target).
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/automerge/change-automerge-panics-on.bin"
    );
    let panics = push_of(&id, vec![std::fs::read(fixture).unwrap()]);
    let bad_id = push_of(
        "../../etc/passwd",
        scratch.changes_since(&blank, &[]).unwrap(),
    );

    // Another customer's whole history pushed under the id of li's customer on the server.
    let impostor = scratch
        .create_customer(customer("冒名顶替", "east", "li"))
        .unwrap();
    let grafted = push_of(&existing, scratch.changes_since(&impostor, &[]).unwrap());

    // A claim of li's born paid, decided and paid by herself, written behind the library's
    // back (the library takes no such step).
    let claim = scratch
        .create_expense_claim(NewExpenseClaim {
            owner: "li".into(),
            approver: "zhang".into(),
            title: "直接报销".into(),
            ..Default::default()
        })
        .unwrap();
    scratch
        .update_expense_claim(
            &claim,
            &[ExpenseClaimEdit::AddItem {
                date: "2026-11-24".into(),
                category: ExpenseCategory::Transport,
                amount: Money::cny(500_000),
                description: None,
                invoice_photo: None,
                receipt: None,
            }],
        )
        .unwrap();
    let mut doc = AutoCommit::load(&scratch.document_bytes(&claim).unwrap()).unwrap();
    let heads = doc.get_heads();
    for (k, v) in [
        ("status", "paid"),
        ("submitted_at", "2026-11-26T01:00:00Z"),
        ("decided_by", "li"),
        ("decided_at", "2026-11-26T01:00:00Z"),
        ("paid_by", "li"),
        ("paid_at", "2026-11-26T01:00:00Z"),
    ] {
        doc.put(ROOT, k, v).unwrap();
    }
    doc.commit();
    let mut self_paid: Vec<Vec<u8>> = scratch.changes_since(&claim, &[]).unwrap();
    self_paid.extend(
        doc.get_changes(&heads)
            .into_iter()
            .map(|mut c| c.bytes().into_owned()),
    );
    let born_paid = push_of(&claim, self_paid);

    let sync = format!("{base}/v1/sync");
    for (what, push, rule) in [
        ("a claim born paid by its owner", born_paid, "approval"),
        ("a document of an unknown kind", unknown_kind, "schema"),
        ("a whole document instead of changes", whole, "corrupt"),
        ("a million paragraphs in one change", text_bomb, "too_large"),
        (
            "paragraphs inserted and deleted again in one change",
            hidden_history,
            "too_large",
        ),
        (
            "a change whose dependency is missing",
            missing_deps,
            "missing_dependencies",
        ),
        ("a customer with a blank name", schema, "schema"),
        ("bytes that are not Automerge", garbage, "corrupt"),
        ("a change Automerge panics on", panics, "corrupt"),
        ("an id that is not a document id", bad_id, "schema"),
        (
            "another document's history under an existing id",
            grafted,
            "kind",
        ),
    ] {
        let (s, bytes) = post_bytes(
            &sync,
            Some(&token),
            "application/cbor",
            &request(vec![push]),
        );
        assert_eq!(s, 200, "{what}: {}", String::from_utf8_lossy(&bytes));
        let answer: SyncResponse = decode(&bytes).unwrap();
        assert!(answer.accepted.is_empty(), "{what} was accepted");
        assert_eq!(answer.rejected.len(), 1, "{what}");
        assert_eq!(
            answer.rejected[0].rule, rule,
            "{what}: {}",
            answer.rejected[0].reason
        );
        assert!(
            answer.rejected[0].reason.len() > 15,
            "{what}: {}",
            answer.rejected[0].reason
        );
    }
    assert_eq!(
        stored(&o),
        before,
        "a rejected document changed the stored data"
    );
}

/// A change of li's customer that inserts `n` paragraphs into its notes and deletes them
/// again: within the limit of one change, and invisible in the notes.
fn churn(doc: &mut AutoCommit, n: usize) -> Vec<Vec<u8>> {
    let heads = doc.get_heads();
    let notes = notes_of(doc);
    hand_made::churn(doc, &notes, n).unwrap();
    hand_made::changes_since(doc, &heads)
}

fn a_round_carrying_more_than_one_push_may_is_refused_whole(backend: Backend) {
    let Some(Scene {
        o,
        base,
        before,
        token,
        existing,
    }) = scene(backend)
    else {
        return;
    };
    let mut doc = AutoCommit::load(&li_bytes(&o, &existing)).unwrap();
    // Two changes of 200,000 operations each: each may go alone, not both in one round.
    let first = churn(&mut doc, 100_000);
    let second = churn(&mut doc, 100_000);
    let push = vec![push_of(&existing, [first, second].concat())];
    let (status, bytes) = post_bytes(
        &format!("{base}/v1/sync"),
        Some(&token),
        "application/cbor",
        &request(push),
    );
    assert_eq!(status, 413, "{}", String::from_utf8_lossy(&bytes));
    let answer: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_clear("a round over the budget", &answer, "too_large");
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .contains("push fewer documents per round"),
        "{answer}"
    );
    assert_eq!(
        stored(&o),
        before,
        "a refused round changed the stored data"
    );
}

fn a_document_whose_history_would_pass_its_limit_is_refused_and_stays_as_it_was(backend: Backend) {
    let Some(Scene {
        o,
        base,
        token,
        existing,
        ..
    }) = scene(backend)
    else {
        return;
    };
    let mut doc = AutoCommit::load(&li_bytes(&o, &existing)).unwrap();
    let sync = format!("{base}/v1/sync");
    let mut accepted = 0;
    let refused = loop {
        assert!(accepted < 10, "the history never filled up");
        let push = push_of(&existing, churn(&mut doc, 120_000));
        let before = stored(&o);
        let (status, bytes) = post_bytes(
            &sync,
            Some(&token),
            "application/cbor",
            &request(vec![push]),
        );
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
        let answer: SyncResponse = decode(&bytes).unwrap();
        if let Some(r) = answer.rejected.first() {
            assert_eq!(
                stored(&o),
                before,
                "the refused push changed the stored data"
            );
            break r.clone();
        }
        accepted += 1;
    };
    // 240,000 operations a push: four fit in a million, the fifth does not.
    assert_eq!(accepted, 4);
    assert_eq!(refused.rule, "too_large", "{}", refused.reason);
    assert!(refused.reason.contains("history"), "{}", refused.reason);
    // The notes as everyone reads them are what they were.
    let li = Device::new(&base, "li", "tablet");
    li.sync();
    assert_eq!(
        li.store.customer(&existing).unwrap().notes.as_str(),
        customer("李的客户", "east", "li").notes
    );
}

/// Pushes `changes` of document `id` with `token`; the one answer: `Ok(())` when accepted,
/// else the rejection.
fn push_one(base: &str, token: &str, id: &str, changes: Vec<Vec<u8>>) -> Result<(), Rejected> {
    let (status, bytes) = post_bytes(
        &format!("{base}/v1/sync"),
        Some(token),
        "application/cbor",
        &request(vec![push_of(id, changes)]),
    );
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
    let answer: SyncResponse = decode(&bytes).unwrap();
    match answer.rejected.into_iter().next() {
        Some(r) => Err(r),
        None => Ok(()),
    }
}

fn token_of(base: &str, user: &str) -> String {
    login(base, user)["access_token"]
        .as_str()
        .unwrap()
        .to_string()
}

fn names_and_times_in_the_data_are_the_writers_and_references_name_the_right_kind(
    backend: Backend,
) {
    let Some(o) = org_on(backend, &[]) else {
        return;
    };
    let base = o.server.url();
    let li = Device::new(&base, "li", "phone");
    let zhang = Device::new(&base, "zhang", "laptop");
    let chen = Device::new(&base, "chen", "phone");
    let customer_id = li
        .store
        .create_customer(customer("金华客户", "east", "li"))
        .unwrap();
    let visit_id = li
        .store
        .create_visit(common::visit(&customer_id, "li", "拜访"))
        .unwrap();
    let plan = li
        .store
        .create_trip_plan(fieldsync_core::model::trip_plan::NewTripPlan {
            owner: "li".into(),
            approver: "zhang".into(),
            title: "华东出差".into(),
            start_date: "2026-12-07".into(),
            end_date: "2026-12-09".into(),
            ..Default::default()
        })
        .unwrap();
    li.sync();
    let norths = chen
        .store
        .create_customer(customer("北方客户", "north", "chen"))
        .unwrap();
    chen.sync();
    zhang.sync();
    let (li_token, zhang_token) = (token_of(&base, "li"), token_of(&base, "zhang"));
    let before = stored(&o);

    // A change whose message says wang wrote it, pushed by li.
    let mut doc = AutoCommit::load(&li.store.document_bytes(&customer_id).unwrap()).unwrap();
    let heads = doc.get_heads();
    doc.put(ROOT, "phone", "0579-1234").unwrap();
    doc.commit_with(
        automerge::transaction::CommitOptions::default().with_message("wang\n王的手机"),
    );
    let forged = doc
        .get_changes(&heads)
        .into_iter()
        .map(|mut c| c.bytes().into_owned())
        .collect();
    let r = push_one(&base, &li_token, &customer_id, forged).unwrap_err();
    assert_eq!(r.rule, "identity", "{}", r.reason);
    assert!(
        r.reason.contains("'wang'") && r.reason.contains("li"),
        "{}",
        r.reason
    );

    // A manager's comment signed by the admin; one signed by himself but dated 2020.
    let visit_bytes = zhang.store.document_bytes(&visit_id).unwrap();
    let comment = |id: &str, author: &str| {
        let mut doc = AutoCommit::load(&visit_bytes).unwrap();
        let heads = doc.get_heads();
        let comments = match doc.get(ROOT, "manager_comments").unwrap() {
            Some((automerge::Value::Object(_), id)) => id,
            other => panic!("{other:?}"),
        };
        let entry = doc
            .insert_object(&comments, 0, automerge::ObjType::Map)
            .unwrap();
        for (k, v) in [
            ("id", id),
            ("author", author),
            ("at", "2020-01-01T00:00:00Z"),
            ("text", "同意"),
        ] {
            doc.put(&entry, k, v).unwrap();
        }
        hand_made::changes_since(&mut doc, &heads)
    };
    for (author, says) in [("admin", "must be you (zhang)"), ("zhang", "2020-01-01")] {
        let changes = comment("01936a4e-0000-7000-8000-000000000001", author);
        let r = push_one(&base, &zhang_token, &visit_id, changes).unwrap_err();
        assert_eq!(r.rule, "field_rights", "{}", r.reason);
        assert!(r.reason.contains(says), "{author}: {}", r.reason);
    }

    // The rep replaces the comments list with a new, identical (empty) one.
    let mut doc = AutoCommit::load(&li.store.document_bytes(&visit_id).unwrap()).unwrap();
    let heads = doc.get_heads();
    doc.put_object(ROOT, "manager_comments", automerge::ObjType::List)
        .unwrap();
    let replaced = hand_made::changes_since(&mut doc, &heads);
    let r = push_one(&base, &li_token, &visit_id, replaced).unwrap_err();
    assert_eq!(r.rule, "field_rights", "{}", r.reason);
    assert!(r.reason.contains("never replace it whole"), "{}", r.reason);

    // A visit pointing at a trip plan, at a customer li cannot see, and at no document: one
    // answer for all three.
    let dir = tempfile::tempdir().unwrap();
    let scratch = Store::open(dir.path().join("scratch.db")).unwrap();
    let mut reasons = Vec::new();
    for target in [
        plan.as_str(),
        norths.as_str(),
        "01936a4e-ffff-7000-8000-00000000dead",
    ] {
        let v = scratch
            .create_visit(common::visit(target, "li", "拜访"))
            .unwrap();
        let r = push_one(
            &base,
            &li_token,
            &v,
            scratch.changes_since(&v, &[]).unwrap(),
        )
        .unwrap_err();
        assert_eq!(r.rule, "scope", "{target}: {}", r.reason);
        reasons.push(r.reason);
    }
    assert!(reasons.iter().all(|r| *r == reasons[0]), "{reasons:?}");

    // Another document's history under the id of a customer li cannot see: the same answer
    // as any push to it, not a word about its history.
    let graft = scratch
        .create_customer(customer("嫁接", "east", "li"))
        .unwrap();
    let r = push_one(
        &base,
        &li_token,
        &norths,
        scratch.changes_since(&graft, &[]).unwrap(),
    )
    .unwrap_err();
    assert_eq!(r.rule, "scope", "{}", r.reason);
    assert!(
        r.reason.contains("not in your part of the business"),
        "{}",
        r.reason
    );

    assert_eq!(stored(&o), before, "a refused push changed the stored data");
}

fn forged_expired_foreign_stale_and_replayed_credentials_are_refused(backend: Backend) {
    let Some(Scene {
        o,
        base,
        before,
        token,
        ..
    }) = scene(backend)
    else {
        return;
    };
    let sync = format!("{base}/v1/sync");
    let good = request(vec![]);

    // Tokens signed with the server's own key, with claims it must not accept.
    let key = hex::decode(
        std::fs::read_to_string(o.data.path().join("jwt.key"))
            .unwrap()
            .trim(),
    )
    .unwrap();
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let parts: Vec<&str> = token.split('.').collect();
    let claims: serde_json::Value = serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
    let signed = |edit: &dyn Fn(&mut serde_json::Value)| {
        let mut c = claims.clone();
        edit(&mut c);
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &c,
            &jsonwebtoken::EncodingKey::from_secret(&key),
        )
        .unwrap()
    };
    let now = chrono::Utc::now().timestamp();
    let expired = signed(&|c| {
        c["iat"] = (now - 3_600).into();
        c["exp"] = (now - 60).into();
    });
    let foreign = signed(&|c| c["aud"] = "another-service".into());
    let other_issuer = signed(&|c| c["iss"] = "someone-else".into());
    let unknown_session = signed(&|c| c["sid"] = "0".repeat(32).into());
    // Forgeries without the key.
    let mut escalated = claims.clone();
    escalated["sub"] = "admin".into();
    escalated["role"] = "admin".into();
    let edited = b64.encode(escalated.to_string());
    let none = format!(
        "{}.{}.",
        b64.encode(r#"{"alg":"none","typ":"JWT"}"#),
        edited
    );
    let tampered = format!("{}.{}.{}", parts[0], edited, parts[2]);
    let hs512 = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS512),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(&key),
    )
    .unwrap();

    // A user disabled while their device holds a valid token.
    let wang = login(&base, "wang")["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let mut disable = std::process::Command::new(fieldsync_tests::server::server_binary().unwrap());
    if let Some(url) = o.database_url() {
        disable.args(["--database-url", &url]);
    }
    let out = disable
        .arg("--data-dir")
        .arg(o.data.path())
        .args(["user", "disable", "--username", "wang"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    for (what, presented, code) in [
        ("no token", None, "unauthenticated"),
        (
            "garbage",
            Some("abc.def.ghi".to_string()),
            "unauthenticated",
        ),
        ("alg none", Some(none), "unauthenticated"),
        (
            "a payload edited to admin",
            Some(tampered),
            "unauthenticated",
        ),
        ("HS512 instead of HS256", Some(hs512), "unauthenticated"),
        ("expired an hour ago", Some(expired), "token_expired"),
        ("for another audience", Some(foreign), "unauthenticated"),
        ("from another issuer", Some(other_issuer), "unauthenticated"),
        (
            "for a session that does not exist",
            Some(unknown_session),
            "unauthenticated",
        ),
        ("of a user disabled since", Some(wang), "account_disabled"),
    ] {
        let (s, answer) = post(&sync, presented.as_deref(), "application/cbor", &good);
        assert_eq!(s, 401, "{what}: {answer}");
        assert_clear(what, &answer, code);
    }

    // A refresh token used twice: the second use is refused and ends the whole session, so the
    // token that the first use returned is dead too.
    let pair = login(&base, "li");
    let refresh = format!("{base}/v1/auth/refresh");
    let first = pair["refresh_token"].as_str().unwrap();
    let body = |t: &str| serde_json::json!({ "refresh_token": t }).to_string();
    let (s, rotated) = post(&refresh, None, "application/json", body(first).as_bytes());
    assert_eq!(s, 200, "{rotated}");
    let (s, answer) = post(&refresh, None, "application/json", body(first).as_bytes());
    assert_eq!(s, 401, "a replayed refresh token: {answer}");
    assert_clear("a replayed refresh token", &answer, "unauthenticated");
    let next = rotated["refresh_token"].as_str().unwrap();
    let (s, answer) = post(&refresh, None, "application/json", body(next).as_bytes());
    assert_eq!(s, 401, "the session survived a replay: {answer}");
    let access = rotated["access_token"].as_str().unwrap();
    let (s, _) = post(&sync, Some(access), "application/cbor", &good);
    assert_eq!(s, 401, "the replayed session's access token still syncs");
    let (s, answer) = post(
        &refresh,
        None,
        "application/json",
        body("made-up").as_bytes(),
    );
    assert_eq!(s, 401, "an unknown refresh token: {answer}");

    assert_eq!(
        stored(&o),
        before,
        "a refused request changed the stored data"
    );
}

// ---- orders, complaints and targets --------------------------------------------------------

/// The history list of a workflow document.
fn history_of(doc: &AutoCommit) -> automerge::ObjId {
    match doc.get(ROOT, "history").unwrap() {
        Some((automerge::Value::Object(automerge::ObjType::List), id)) => id,
        other => panic!("no history list: {other:?}"),
    }
}

/// Moves a workflow document to `status` by hand, as a hostile device writes it: the status,
/// and a history entry signed `by`.
fn step_by_hand(doc: &mut AutoCommit, status: &str, by: &str) {
    doc.put(ROOT, "status", status).unwrap();
    let history = history_of(doc);
    let at = doc.length(&history);
    let entry = doc
        .insert_object(&history, at, automerge::ObjType::Map)
        .unwrap();
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

/// The changes `edit` makes by hand to the document `bytes` hold, on a device of its own.
fn by_hand(bytes: &[u8], edit: impl FnOnce(&mut AutoCommit)) -> Vec<Vec<u8>> {
    let mut doc = AutoCommit::load(bytes)
        .unwrap()
        .with_actor(automerge::ActorId::random());
    let heads = doc.get_heads();
    edit(&mut doc);
    hand_made::changes_since(&mut doc, &heads)
}

fn new_order(customer: &str, owner: &str) -> fieldsync_core::model::Order {
    NewOrder {
        customer: customer.into(),
        owner: owner.into(),
        date: "2026-11-30".into(),
        ..Default::default()
    }
    .build(new_id(), now_string())
    .unwrap()
}

fn order_line() -> OrderEdit {
    OrderEdit::AddLine {
        product: "6204".into(),
        name: "深沟球轴承".into(),
        quantity: 10,
        unit: "box".into(),
        unit_price: 1_500,
        unit_cost: Some(900),
    }
}

fn submit(by: &str) -> OrderEdit {
    OrderEdit::Step {
        to: OrderStatus::Submitted,
        by: by.into(),
        note: None,
    }
}

fn new_complaint(customer: &str, recorded_by: &str, assignee: Option<&str>) -> Complaint {
    NewComplaint {
        customer: customer.into(),
        recorded_by: recorded_by.into(),
        received_at: now_string(),
        channel: ComplaintChannel::Phone,
        category: ComplaintCategory::Quality,
        priority: Priority::Urgent,
        summary: "轴承异响，要求换货。".into(),
        assignee: assignee.map(str::to_string),
    }
    .build(new_id(), now_string())
    .unwrap()
}

fn new_target(owner: &str, set_by: &str, sales: i64) -> Target {
    NewTarget {
        owner: owner.into(),
        month: "2026-12".into(),
        sales,
        visits: 30,
        new_customers: 2,
        set_by: set_by.into(),
    }
    .build(new_id(), now_string())
    .unwrap()
}

/// A push crafted to bypass the device: what it is, who pushes it, the document, its changes,
/// and the rule and words the refusal must name.
type HostilePush<'a> = (&'a str, &'a str, &'a str, Vec<Vec<u8>>, &'a str, &'a str);

fn pushes_that_bypass_the_workflow_or_the_target_rules_are_refused_with_their_rule_and_nothing_is_stored(
    backend: Backend,
) {
    let Some(o) = org_on(backend, &[]) else {
        return;
    };
    let base = o.server.url();
    let li = Device::new(&base, "li", "phone");
    let zhang = Device::new(&base, "zhang", "laptop");
    // li's customer, her submitted order, a complaint she recorded and zhang assigned to wang,
    // and the December target zhang set her.
    let customer_id = li
        .store
        .create_customer(customer("宁波海工", "east", "li"))
        .unwrap();
    let order = li.store.create(new_order(&customer_id, "li")).unwrap();
    li.store
        .edit::<Order>(&order, &[order_line(), submit("li")])
        .unwrap();
    let complaint = li
        .store
        .create(new_complaint(&customer_id, "li", None))
        .unwrap();
    assert_eq!(li.sync().rejected, 0);
    zhang.sync();
    zhang
        .store
        .edit::<Complaint>(&complaint, &[ComplaintEdit::Assign(Some("wang".into()))])
        .unwrap();
    let target = zhang
        .store
        .create(new_target("li", "zhang", 50_000_000))
        .unwrap();
    assert_eq!(zhang.sync().rejected, 0);
    li.sync();
    assert_eq!(
        li.store
            .get::<Complaint>(&complaint)
            .unwrap()
            .assignee
            .as_deref(),
        Some("wang")
    );
    let before = stored(&o);
    let (order_bytes, complaint_bytes, target_bytes) = (
        li.store.document_bytes(&order).unwrap(),
        li.store.document_bytes(&complaint).unwrap(),
        li.store.document_bytes(&target).unwrap(),
    );

    // New documents, made in a store that asks no rules.
    let dir = tempfile::tempdir().unwrap();
    let scratch = Store::open(dir.path().join("scratch.db")).unwrap();
    let whole = |id: &str| scratch.changes_since(id, &[]).unwrap();
    let li_target = scratch.create(new_target("li", "li", 1_000_000)).unwrap();
    let zhang_target = scratch
        .create(new_target("zhang", "zhang", 1_000_000))
        .unwrap();
    let chen_target = scratch
        .create(new_target("chen", "zhang", 1_000_000))
        .unwrap();
    let born_confirmed = scratch.create(new_order(&customer_id, "li")).unwrap();
    scratch
        .edit::<Order>(&born_confirmed, &[order_line(), submit("li")])
        .unwrap();
    let born_confirmed_changes = {
        let mut doc = AutoCommit::load(&scratch.document_bytes(&born_confirmed).unwrap()).unwrap();
        step_by_hand(&mut doc, "confirmed", "li");
        hand_made::changes_since(&mut doc, &[])
    };

    let first_line = |doc: &AutoCommit| {
        let lines = match doc.get(ROOT, "lines").unwrap() {
            Some((automerge::Value::Object(_), id)) => id,
            other => panic!("{other:?}"),
        };
        doc.get(&lines, 0).unwrap().unwrap().1
    };
    let cases: Vec<HostilePush<'_>> = vec![
        (
            "li confirms her own order",
            "li",
            &order,
            by_hand(&order_bytes, |d| step_by_hand(d, "confirmed", "li")),
            "workflow",
            "you cannot make your own order confirmed",
        ),
        (
            "li changes a quantity of her submitted order",
            "li",
            &order,
            by_hand(&order_bytes, |d| {
                let line = first_line(d);
                d.put(&line, "quantity", 100_i64).unwrap();
            }),
            "workflow",
            "its content no longer changes",
        ),
        (
            "li pushes an order born confirmed",
            "li",
            &born_confirmed,
            born_confirmed_changes,
            "workflow",
            "starts as draft, not confirmed",
        ),
        (
            "zhang confirms li's order signed as admin",
            "zhang",
            &order,
            by_hand(&order_bytes, |d| step_by_hand(d, "confirmed", "admin")),
            "field_rights",
            "it must be you (zhang), not 'admin'",
        ),
        (
            "zhang re-signs li's submission as his own",
            "zhang",
            &order,
            by_hand(&order_bytes, |d| {
                let history = history_of(d);
                let entry = d.get(&history, 0).unwrap().unwrap().1;
                d.put(&entry, "by", "zhang").unwrap();
            }),
            "workflow",
            "its steps never change",
        ),
        (
            "li moves the complaint assigned to wang",
            "li",
            &complaint,
            by_hand(&complaint_bytes, |d| step_by_hand(d, "investigating", "li")),
            "workflow",
            "only the complaint's assignee (wang) or a manager",
        ),
        (
            "chen moves a complaint of a customer he does not see",
            "chen",
            &complaint,
            by_hand(&complaint_bytes, |d| {
                step_by_hand(d, "investigating", "chen")
            }),
            "scope",
            "not in your part of the business",
        ),
        (
            "wang, the assignee, moves it signed as zhang",
            "wang",
            &complaint,
            by_hand(&complaint_bytes, |d| {
                step_by_hand(d, "investigating", "zhang")
            }),
            "field_rights",
            "it must be you (wang), not 'zhang'",
        ),
        (
            "wang closes it without the follow-up visit",
            "wang",
            &complaint,
            by_hand(&complaint_bytes, |d| {
                for status in ["investigating", "handled", "followed_up", "closed"] {
                    step_by_hand(d, status, "wang");
                }
            }),
            "schema",
            "followup_visit",
        ),
        (
            "li sets her own target",
            "li",
            &li_target,
            whole(&li_target),
            "field_rights",
            "a rep does not set targets",
        ),
        (
            "li lowers the target zhang set her",
            "li",
            &target,
            by_hand(&target_bytes, |d| d.put(ROOT, "sales", 1_i64).unwrap()),
            "field_rights",
            "a rep does not set targets",
        ),
        (
            "zhang sets his own target",
            "zhang",
            &zhang_target,
            whole(&zhang_target),
            "field_rights",
            "you cannot set your own target",
        ),
        (
            "zhang sets the target of chen, who is not in his team",
            "zhang",
            &chen_target,
            whole(&chen_target),
            "scope",
            "outside your part of the business",
        ),
    ];
    let tokens: std::collections::BTreeMap<&str, String> = ["li", "wang", "chen", "zhang"]
        .into_iter()
        .map(|u| (u, token_of(&base, u)))
        .collect();
    for (what, who, id, changes, rule, says) in cases {
        let r = push_one(&base, &tokens[who], id, changes)
            .err()
            .unwrap_or_else(|| panic!("{what}: accepted"));
        assert_eq!(r.rule, rule, "{what}: {}", r.reason);
        assert!(r.reason.contains(says), "{what}: {}", r.reason);
    }
    assert_eq!(stored(&o), before, "a refused push changed the stored data");

    // A later pull by li's manager, and by the admin, shows none of it.
    for user in ["zhang", "admin"] {
        let device = Device::new(&base, user, "new tablet");
        device.sync();
        let seen = device.store.get::<Order>(&order).unwrap();
        assert_eq!(seen.status, OrderStatus::Submitted, "{user}");
        assert_eq!(seen.lines.len(), 1, "{user}");
        assert_eq!(seen.lines[0].quantity, 10, "{user}");
        assert_eq!(seen.history.len(), 1, "{user}");
        assert_eq!(seen.history[0].by, "li", "{user}");
        let seen = device.store.get::<Complaint>(&complaint).unwrap();
        assert_eq!(seen.status, ComplaintStatus::Received, "{user}");
        assert!(seen.history.is_empty(), "{user}");
        let seen = device.store.get::<Target>(&target).unwrap();
        assert_eq!((seen.sales, seen.set_by.as_str()), (50_000_000, "zhang"));
        for id in [&li_target, &zhang_target, &chen_target, &born_confirmed] {
            assert!(device.store.document(id).is_err(), "{user} holds {id}");
        }
    }
}

fn a_rep_does_not_record_a_complaint_at_a_customer_she_cannot_see_by_naming_herself_assignee(
    backend: Backend,
) {
    let Some(Scene {
        o,
        base,
        before,
        existing,
        ..
    }) = scene(backend)
    else {
        return;
    };
    let chen = token_of(&base, "chen");
    let dir = tempfile::tempdir().unwrap();
    let scratch = Store::open(dir.path().join("scratch.db")).unwrap();
    // At li's customer, and at a customer that does not exist: one answer for both, so the
    // push tells chen nothing about which customers exist.
    let mut reasons = Vec::new();
    for customer_id in [existing.as_str(), "01936a4e-ffff-7000-8000-00000000dead"] {
        let id = scratch
            .create(new_complaint(customer_id, "chen", Some("chen")))
            .unwrap();
        let r = push_one(&base, &chen, &id, scratch.changes_since(&id, &[]).unwrap())
            .err()
            .unwrap_or_else(|| panic!("chen recorded a complaint at {customer_id}"));
        assert_eq!(r.rule, "scope", "{customer_id}: {}", r.reason);
        reasons.push(r.reason);
    }
    assert_eq!(reasons[0], reasons[1]);
    assert_eq!(stored(&o), before, "a refused push changed the stored data");
}
