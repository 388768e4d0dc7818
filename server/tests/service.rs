//! The sync service in-process, over real SQLite files and real client stores: scope, field
//! rights (including a forbidden value hidden by a concurrent conflict), approvals, handover
//! with revocations, and paging.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::sync::Arc;

use automerge::transaction::Transactable;
use automerge::{ActorId, AutoCommit, ROOT, ReadDoc};
use fieldsync_core::Store;
use fieldsync_core::model::customer::CustomerEdit;
use fieldsync_core::model::expense_claim::{ExpenseClaimEdit, NewExpenseClaim};
use fieldsync_core::model::trip_plan::TripPlanEdit;
use fieldsync_core::model::visit::VisitEdit;
use fieldsync_core::protocol::SyncRequest;
use fieldsync_server::service::Core;
use fieldsync_server::storage::sqlite::SqliteStorage;
use fieldsync_server::storage::{Accounts, PullLimits, Role};

mod support;
use support::*;

#[test]
fn each_user_receives_exactly_their_part_of_the_business() {
    let w = world();
    let dir = tempfile::tempdir().unwrap();
    let (li, wang, chen, admin) = (
        device(&dir, "li"),
        device(&dir, "wang"),
        device(&dir, "chen"),
        device(&dir, "admin"),
    );
    let c_li = li
        .create_customer(customer("李的客户", "east", "li"))
        .unwrap();
    let v_li = li.create_visit(visit(&c_li, "li")).unwrap();
    let c_wang = wang
        .create_customer(customer("王的客户", "east", "wang"))
        .unwrap();
    let c_chen = chen
        .create_customer(customer("陈的客户", "north", "chen"))
        .unwrap();
    let v_chen = chen.create_visit(visit(&c_chen, "chen")).unwrap();
    let p_li = li.create_trip_plan(li_plan("出差")).unwrap();
    // An admin's customer in east, owned by nobody's team member.
    let c_admin = admin
        .create_customer(customer("总部客户", "east", "admin"))
        .unwrap();
    for (who, store, id) in [
        ("li", &li, &c_li),
        ("li", &li, &v_li),
        ("wang", &wang, &c_wang),
        ("chen", &chen, &c_chen),
        ("chen", &chen, &v_chen),
        ("li", &li, &p_li),
        ("admin", &admin, &c_admin),
    ] {
        w.accepted(who, store, id);
    }
    let set = |ids: &[&String]| ids.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(w.visible("li"), set(&[&c_li, &v_li, &p_li]));
    assert_eq!(w.visible("wang"), set(&[&c_wang]));
    assert_eq!(w.visible("chen"), set(&[&c_chen, &v_chen]));
    assert_eq!(
        w.visible("zhang"),
        set(&[&c_li, &v_li, &c_wang, &p_li, &c_admin]),
        "team and territory"
    );
    assert_eq!(w.visible("zhao"), set(&[&c_chen, &v_chen]));
    assert_eq!(w.visible("admin").len(), 7);
}

#[test]
fn forbidden_writes_are_rejected_whole_and_change_nothing() {
    let w = world();
    let dir = tempfile::tempdir().unwrap();
    let li = device(&dir, "li");
    // Another territory, and a customer owned by someone else.
    let other_territory = li
        .create_customer(customer("越界客户", "north", "li"))
        .unwrap();
    assert!(
        w.rejected("li", &li, &other_territory, "scope")
            .contains("territory 'north'")
    );
    let for_wang = li
        .create_customer(customer("替人建档", "east", "wang"))
        .unwrap();
    w.rejected("li", &li, &for_wang, "scope");

    let mine = li
        .create_customer(customer("我的客户", "east", "li"))
        .unwrap();
    w.accepted("li", &li, &mine);
    let before = w.visible("zhang");

    // A rep cannot move their customer to another territory or owner.
    let moved = device(&dir, "li-moved");
    moved
        .merge_from(&li.document_bytes(&mine).unwrap())
        .unwrap();
    moved
        .update_customer(&mine, &[CustomerEdit::Territory("east2".into())])
        .unwrap();
    w.rejected("li", &moved, &mine, "field_rights");
    moved
        .update_customer(&mine, &[CustomerEdit::Owner("wang".into())])
        .unwrap();
    w.rejected("li", &moved, &mine, "scope");
    let wang = device(&dir, "wang");
    wang.merge_from(&li.document_bytes(&mine).unwrap()).unwrap();
    // Another rep's visit on a customer they do not see.
    let v = wang.create_visit(visit(&mine, "wang")).unwrap();
    w.rejected("wang", &wang, &v, "scope");
    // A visit on a customer the server does not have.
    let orphan_store = device(&dir, "li2");
    let orphan = orphan_store
        .create_visit(visit(&fieldsync_core::ids::new_id(), "li"))
        .unwrap();
    w.rejected("li", &orphan_store, &orphan, "scope");

    assert_eq!(
        w.visible("zhang"),
        before,
        "nothing of the refused pushes was stored"
    );
    let r = w.core.sync(&w.who("zhang"), request(0, vec![])).unwrap();
    let doc = r.documents.iter().find(|d| d.id == mine).unwrap();
    let check = device(&dir, "check");
    check.merge_changes(&mine, &doc.data).unwrap();
    assert_eq!(check.customer(&mine).unwrap().territory, "east");
}

#[test]
fn a_forbidden_value_that_loses_a_concurrent_conflict_is_still_rejected() {
    let w = world();
    let dir = tempfile::tempdir().unwrap();
    let li = device(&dir, "li");
    let id = li
        .create_customer(customer("冲突客户", "east", "li"))
        .unwrap();
    w.accepted("li", &li, &id);
    let base = li.document_bytes(&id).unwrap();

    // The manager moves the customer to territory east2 (allowed); actor ff.. wins ties.
    let mut manager = AutoCommit::load(&base)
        .unwrap()
        .with_actor(ActorId::from(vec![0xff; 16]));
    manager.put(ROOT, "territory", "east2").unwrap();
    manager.commit();
    // Concurrently, li's tampered client moves it to north; actor 01.. loses the tie.
    let mut rogue = AutoCommit::load(&base)
        .unwrap()
        .with_actor(ActorId::from(vec![0x01; 16]));
    rogue.put(ROOT, "territory", "north").unwrap();
    rogue.commit();
    let heads = li.heads(&id).unwrap();
    let changes_of = |doc: &mut AutoCommit| -> Vec<Vec<u8>> {
        doc.get_changes(&heads)
            .into_iter()
            .map(|mut c| c.bytes().into_owned())
            .collect()
    };
    let (manager_changes, rogue_changes) = (changes_of(&mut manager), changes_of(&mut rogue));
    let mut merged = manager.clone();
    merged.merge(&mut rogue).unwrap();
    assert_eq!(
        merged
            .get(ROOT, "territory")
            .unwrap()
            .unwrap()
            .0
            .into_string()
            .ok(),
        Some("east2".to_string()),
        "the rogue value is hidden by the conflict"
    );

    let r = w.push_raw("zhang", &id, manager_changes);
    assert!(r.rejected.is_empty(), "{:?}", r.rejected);
    // li's push changes nothing visible (east2 still wins), but holds a forbidden operation.
    let r = w.push_raw("li", &id, rogue_changes);
    assert_eq!(r.rejected.len(), 1, "accepted: {:?}", r.accepted);
    assert_eq!(r.rejected[0].rule, "field_rights");
    assert!(
        r.rejected[0].reason.contains("customer.territory"),
        "{}",
        r.rejected[0].reason
    );
}

#[test]
fn only_the_approver_decides_and_reps_only_submit() {
    let w = world();
    let dir = tempfile::tempdir().unwrap();
    let li = device(&dir, "li");
    let plan = li.create_trip_plan(li_plan("宁波出差")).unwrap();
    li.update_trip_plan(&plan, &[TripPlanEdit::Submit]).unwrap();
    w.accepted("li", &li, &plan);

    let self_approved = device(&dir, "li-rogue");
    self_approved
        .merge_from(&li.document_bytes(&plan).unwrap())
        .unwrap();
    self_approved
        .update_trip_plan(
            &plan,
            &[TripPlanEdit::Approve {
                by: "li".into(),
                note: None,
            }],
        )
        .unwrap();
    w.rejected("li", &self_approved, &plan, "approval");

    // A manager who is not the approver cannot see it, let alone decide.
    let zhao = device(&dir, "zhao");
    zhao.merge_from(&li.document_bytes(&plan).unwrap()).unwrap();
    zhao.update_trip_plan(
        &plan,
        &[TripPlanEdit::Approve {
            by: "zhao".into(),
            note: None,
        }],
    )
    .unwrap();
    w.rejected("zhao", &zhao, &plan, "scope");

    let zhang = device(&dir, "zhang");
    zhang
        .merge_from(&li.document_bytes(&plan).unwrap())
        .unwrap();
    zhang
        .update_trip_plan(
            &plan,
            &[TripPlanEdit::Approve {
                by: "zhang".into(),
                note: Some("同意".into()),
            }],
        )
        .unwrap();
    w.accepted("zhang", &zhang, &plan);
}

#[test]
fn handover_moves_every_customer_and_revokes_them_from_the_old_rep() {
    let w = world();
    let dir = tempfile::tempdir().unwrap();
    let li = device(&dir, "li");
    let c1 = li
        .create_customer(customer("客户一", "east", "li"))
        .unwrap();
    let c2 = li
        .create_customer(customer("客户二", "east", "li"))
        .unwrap();
    let v1 = li.create_visit(visit(&c1, "li")).unwrap();
    for id in [&c1, &c2, &v1] {
        w.accepted("li", &li, id);
    }
    let li_cursor = w
        .core
        .sync(&w.who("li"), request(0, vec![]))
        .unwrap()
        .cursor;
    let wang_cursor = w
        .core
        .sync(&w.who("wang"), request(0, vec![]))
        .unwrap()
        .cursor;

    // Only the manager of both (or an admin) may hand over.
    assert!(w.core.handover(&w.who("li"), "li", "wang").is_err());
    assert!(w.core.handover(&w.who("zhao"), "li", "wang").is_err());
    assert_eq!(w.core.handover(&w.who("zhang"), "li", "wang").unwrap(), 2);

    let li_next = w
        .core
        .sync(&w.who("li"), request(li_cursor, vec![]))
        .unwrap();
    let revoked: BTreeSet<_> = li_next.revoked.iter().cloned().collect();
    assert_eq!(
        revoked,
        [c1.clone(), c2.clone()].into_iter().collect(),
        "li keeps the visit she made: her week counts it"
    );
    assert!(li_next.documents.is_empty());
    assert!(w.visible("li").contains(&v1));
    assert!(!w.visible("li").contains(&c1));
    let wang_next = w
        .core
        .sync(&w.who("wang"), request(wang_cursor, vec![]))
        .unwrap();
    let got: BTreeSet<_> = wang_next.documents.iter().map(|d| d.id.clone()).collect();
    assert_eq!(
        got,
        [c1.clone(), c2.clone(), v1.clone()].into_iter().collect()
    );
    assert!(
        wang_next.documents.iter().all(|d| d.snapshot),
        "documents entering a scope come whole"
    );

    // li's offline note, built on what she had before the handover, is her last work: taken
    // within the grace period (server/tests/handover.rs has the rest of that rule).
    li.update_customer(&c1, &[CustomerEdit::AppendNotes("离职前补记".into())])
        .unwrap();
    w.accepted("li", &li, &c1);
    assert!(!w.visible("li").contains(&c1));
    assert!(w.visible("wang").contains(&c1));
}

#[test]
fn large_answers_come_in_pages_that_together_hold_everything() {
    let mut w = world();
    w.core.limits = PullLimits {
        max_documents: 7,
        max_bytes: 1 << 20,
    };
    let dir = tempfile::tempdir().unwrap();
    let li = device(&dir, "li");
    let mut all = BTreeSet::new();
    for i in 0..30 {
        let id = li
            .create_customer(customer(&format!("客户{i}"), "east", "li"))
            .unwrap();
        w.accepted("li", &li, &id);
        all.insert(id);
    }
    let mut cursor = 0;
    let mut got = BTreeSet::new();
    let mut rounds = 0;
    loop {
        let r = w
            .core
            .sync(
                &w.who("li"),
                SyncRequest {
                    protocol: 1,
                    cursor,
                    push: vec![],
                },
            )
            .unwrap();
        rounds += 1;
        assert!(r.documents.len() <= 7);
        // Every page, not only the first, sends documents new to the device whole.
        assert!(r.documents.iter().all(|d| d.snapshot), "round {rounds}");
        got.extend(r.documents.into_iter().map(|d| d.id));
        cursor = r.cursor;
        if !r.more {
            break;
        }
    }
    assert_eq!(got, all);
    assert!(rounds >= 5, "{rounds} rounds");
    // Then an edit after the last page arrives alone.
    let first = all.iter().next().unwrap().clone();
    li.update_customer(&first, &[CustomerEdit::AppendNotes("新情况".into())])
        .unwrap();
    w.accepted("li", &li, &first);
    let r = w
        .core
        .sync(
            &w.who("li"),
            SyncRequest {
                protocol: 1,
                cursor,
                push: vec![],
            },
        )
        .unwrap();
    assert_eq!(r.documents.len(), 1);
    assert!(!r.documents[0].snapshot);
}

#[test]
fn a_protocol_newer_than_the_server_is_refused_as_server_too_old() {
    let w = world();
    let err = w
        .core
        .sync(
            &w.who("li"),
            SyncRequest {
                protocol: 2,
                cursor: 0,
                push: vec![],
            },
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            fieldsync_server::error::AppError::Unserved(
                fieldsync_core::protocol::compat::Unserved::ServerTooOld { protocol: 2, .. }
            )
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("upgrade the server"), "{err}");
}

#[test]
fn the_document_cache_stays_within_its_bound_however_many_documents_are_stored() {
    let dir = tempfile::tempdir().unwrap();
    let storage = SqliteStorage::open(dir.path()).unwrap();
    storage
        .add_user(&user("li", Role::Rep, &["east"], None))
        .unwrap();
    let core = Core::new(Arc::new(storage), 16).unwrap();
    let who = core.principal("li").unwrap().unwrap();
    let devices = tempfile::tempdir().unwrap();
    let li = device(&devices, "li");
    let mut ids = Vec::new();
    for i in 0..100 {
        let id = li
            .create_customer(customer(&format!("客户{i}"), "east", "li"))
            .unwrap();
        let push = push_of(&li, &id);
        let r = core.sync(&who, request(0, vec![push])).unwrap();
        assert_eq!(r.accepted.len(), 1);
        assert!(core.cached_documents() <= 16);
        ids.push(id);
    }
    assert_eq!(core.cached_documents(), 16);
    // Evicted documents load again on demand: an edit of the first one is accepted.
    li.update_customer(&ids[0], &[CustomerEdit::AppendNotes("再次拜访".into())])
        .unwrap();
    let heads_before = li.heads(&ids[0]).unwrap();
    let push = push_of(&li, &ids[0]);
    let r = core.sync(&who, request(0, vec![push])).unwrap();
    let mut expected: Vec<String> = heads_before.iter().map(|h| h.to_string()).collect();
    expected.sort();
    assert_eq!(r.accepted[0].heads, expected);
}

#[test]
fn a_document_compacted_on_the_server_reaches_a_new_device_whole() {
    let w = world();
    let dir = tempfile::tempdir().unwrap();
    let li = device(&dir, "li");
    let id = li
        .create_customer(customer("常拜访客户", "east", "li"))
        .unwrap();
    w.accepted("li", &li, &id);
    for i in 0..45 {
        let heads = li.heads(&id).unwrap();
        li.update_customer(&id, &[CustomerEdit::AppendNotes(format!("第{i}次"))])
            .unwrap();
        let r = w.push_raw("li", &id, li.changes_since(&id, &heads).unwrap());
        assert!(r.rejected.is_empty());
    }
    let fresh = device(&dir, "new-phone");
    let r = w.core.sync(&w.who("li"), request(0, vec![])).unwrap();
    assert_eq!(r.documents.len(), 1);
    fresh.merge_changes(&id, &r.documents[0].data).unwrap();
    assert_eq!(fresh.customer(&id).unwrap(), li.customer(&id).unwrap());
    assert_eq!(fresh.heads(&id).unwrap(), li.heads(&id).unwrap());
}

#[test]
fn a_new_document_pushed_as_one_change_is_logged_as_that_change_and_sent_as_a_save_of_it() {
    let w = world();
    let dir = tempfile::tempdir().unwrap();
    let li = device(&dir, "li");
    let one = li
        .create_customer(customer("一次写成的客户", "east", "li"))
        .unwrap();
    let pushed = li.changes_since(&one, &[]).unwrap();
    assert_eq!(pushed.len(), 1);
    w.accepted("li", &li, &one);
    // Written twice before its first push: kept as a snapshot, as before.
    let two = li
        .create_customer(customer("两次写成的客户", "east", "li"))
        .unwrap();
    li.update_customer(&two, &[CustomerEdit::AppendNotes("补记".into())])
        .unwrap();
    w.accepted("li", &li, &two);

    let stored = w.core.storage.load_doc(&one).unwrap().unwrap();
    assert_eq!(
        (stored.snapshot, stored.changes),
        (None, pushed.clone()),
        "the log holds the change as pushed"
    );
    let r = w.core.sync(&w.who("li"), request(0, vec![])).unwrap();
    let sent = |id: &str| {
        let d = r.documents.iter().find(|d| d.id == id).unwrap();
        assert!(d.snapshot, "{id} is new to the device: it goes whole");
        d.data.to_vec()
    };
    // Automerge's chunk type (byte 8): 0 a saved document, 1 or 2 a change.
    assert_eq!(sent(&one)[8], 0, "a device new to it loads its save");
    assert_ne!(sent(&one), pushed[0]);
    assert_eq!(
        sent(&two)[8],
        0,
        "a document pushed in parts goes as one save"
    );
    let fresh = device(&dir, "new-phone");
    for id in [&one, &two] {
        fresh.merge_changes(id, &sent(id)).unwrap();
        assert_eq!(fresh.customer(id).unwrap(), li.customer(id).unwrap());
        assert_eq!(fresh.heads(id).unwrap(), li.heads(id).unwrap());
    }
}

#[test]
fn a_device_is_not_sent_back_what_it_pushed_but_its_other_devices_are() {
    let w = world();
    let dir = tempfile::tempdir().unwrap();
    let phone = device(&dir, "phone");
    let c = phone
        .create_customer(customer("回声客户", "east", "li"))
        .unwrap();
    w.accepted("li", &phone, &c);
    let li = w.who("li");
    let start = |session: &str| {
        w.core
            .sync_session(&li, Some(session), request(0, vec![]))
            .unwrap()
            .cursor
    };
    let (phone_cursor, laptop_cursor) = (start("phone-session"), start("laptop-session"));

    phone
        .update_customer(&c, &[CustomerEdit::AppendNotes("手机上补记".into())])
        .unwrap();
    let heads = phone.heads(&c).unwrap();
    let push = push_of(&phone, &c);
    let r = w
        .core
        .sync_session(
            &li,
            Some("phone-session"),
            request(phone_cursor, vec![push]),
        )
        .unwrap();
    assert_eq!(r.accepted.len(), 1);
    assert!(r.documents.is_empty(), "the phone got its own change back");

    let r = w
        .core
        .sync_session(&li, Some("laptop-session"), request(laptop_cursor, vec![]))
        .unwrap();
    assert_eq!(r.documents.len(), 1);
    let laptop = device(&dir, "laptop");
    laptop
        .merge_from(&phone.document_bytes(&c).unwrap())
        .unwrap();
    assert_eq!(laptop.heads(&c).unwrap(), heads);
}

#[test]
fn a_rounds_documents_are_written_in_one_transaction_even_a_customer_with_its_visits() {
    let w = world();
    let dir = tempfile::tempdir().unwrap();
    let li = device(&dir, "li");
    let customers: Vec<String> = (0..5)
        .map(|n| {
            li.create_customer(customer(&format!("客户{n}"), "east", "li"))
                .unwrap()
        })
        .collect();
    let metrics = &w.core.metrics;
    let before = (
        metrics.write_transactions.get(),
        metrics.documents_written.get(),
    );
    let r = w
        .core
        .sync(
            &w.who("li"),
            request(0, customers.iter().map(|c| push_of(&li, c)).collect()),
        )
        .unwrap();
    assert_eq!(r.accepted.len(), 5, "{:?}", r.rejected);
    assert_eq!(metrics.write_transactions.get() - before.0, 1);
    assert_eq!(metrics.documents_written.get() - before.1, 5);

    // A new customer, its visit (whose rights depend on the customer's scope) and the same
    // customer pushed again after an edit, all in one round: the visit is checked against the
    // stored customer, and everything is accepted and stored.
    let c = li
        .create_customer(customer("新客户", "east", "li"))
        .unwrap();
    let first_push = push_of(&li, &c);
    let v = li.create_visit(visit(&c, "li")).unwrap();
    li.update_customer(&c, &[CustomerEdit::AppendNotes("回访".into())])
        .unwrap();
    let r = w
        .core
        .sync(
            &w.who("li"),
            request(0, vec![first_push, push_of(&li, &v), push_of(&li, &c)]),
        )
        .unwrap();
    assert!(r.rejected.is_empty(), "{:?}", r.rejected);
    assert_eq!(r.accepted.len(), 3);
    let mut heads: Vec<String> = li
        .heads(&c)
        .unwrap()
        .iter()
        .map(|h| h.to_string())
        .collect();
    heads.sort();
    assert_eq!(r.accepted[2].heads, heads);
    assert!(
        w.visible("zhang")
            .is_superset(&[c.clone(), v.clone()].into())
    );
    assert!(w.core.cached_documents() > 0);
}

/// li's device, with a customer of hers stored on the server.
fn li_with_her_customer(w: &World, dir: &tempfile::TempDir) -> (Store, String) {
    let li = device(dir, "li");
    let c = li
        .create_customer(customer("华东精密", "east", "li"))
        .unwrap();
    w.accepted("li", &li, &c);
    (li, c)
}

#[test]
fn visits_of_one_customer_share_its_scope_in_a_round_and_the_customer_itself_does_not() {
    let w = world();
    let dir = tempfile::tempdir().unwrap();
    let (li, c) = li_with_her_customer(&w, &dir);
    let transactions = || w.core.metrics.write_transactions.get();
    let round = |ids: &[&String]| {
        let r = w
            .core
            .sync(
                &w.who("li"),
                request(0, ids.iter().map(|id| push_of(&li, id)).collect()),
            )
            .unwrap();
        assert!(r.rejected.is_empty(), "{:?}", r.rejected);
        assert_eq!(r.accepted.len(), ids.len());
    };

    // Three visits read the customer's scope: one transaction for the round.
    let visits: Vec<String> = (0..3)
        .map(|_| li.create_visit(visit(&c, "li")).unwrap())
        .collect();
    let before = transactions();
    round(&visits.iter().collect::<Vec<_>>());
    assert_eq!(transactions() - before, 1);

    // The customer's own change among its visits may change their scope: the visits before it
    // are written first, and those after it are checked against it stored.
    let (v4, v5) = (
        li.create_visit(visit(&c, "li")).unwrap(),
        li.create_visit(visit(&c, "li")).unwrap(),
    );
    li.update_customer(&c, &[CustomerEdit::AppendNotes("换了采购".into())])
        .unwrap();
    let before = transactions();
    round(&[&v4, &c, &v5]);
    assert_eq!(transactions() - before, 3);
    let zhang = w.visible("zhang");
    for id in visits.iter().chain([&v4, &v5, &c]) {
        assert!(zhang.contains(id), "{id} is not stored in scope");
    }
}

#[test]
fn a_device_at_the_head_gets_nothing_until_someone_writes() {
    let w = world();
    let dir = tempfile::tempdir().unwrap();
    let (li, c) = li_with_her_customer(&w, &dir);
    let zhang = w.who("zhang");
    let caught_up = w.core.sync(&zhang, request(0, vec![])).unwrap();
    assert!(caught_up.documents.iter().any(|d| d.id == c));
    let head = caught_up.cursor;
    let idle = w.core.sync(&zhang, request(head, vec![])).unwrap();
    assert!(idle.documents.is_empty() && idle.revoked.is_empty() && !idle.more);
    assert_eq!(idle.cursor, head);
    li.update_customer(&c, &[CustomerEdit::AppendNotes("回访".into())])
        .unwrap();
    w.accepted("li", &li, &c);
    let news = w.core.sync(&zhang, request(head, vec![])).unwrap();
    assert_eq!(news.documents.len(), 1);
    assert!(news.cursor > head);
}

#[test]
fn rounds_pushing_the_same_documents_in_opposite_orders_never_wait_for_each_other() {
    use fieldsync_core::model::visit::VisitEdit;
    let w = world();
    let dir = tempfile::tempdir().unwrap();
    let (phone, laptop) = (device(&dir, "phone"), device(&dir, "laptop"));
    let mut ids = Vec::new();
    for n in 0..2 {
        let c = phone
            .create_customer(customer(&format!("客户{n}"), "east", "li"))
            .unwrap();
        let v = phone.create_visit(visit(&c, "li")).unwrap();
        ids.push(v);
        for id in [&c, ids.last().unwrap()] {
            w.accepted("li", &phone, id);
            laptop
                .merge_changes(id, &phone.changes_since(id, &[]).unwrap().concat())
                .unwrap();
        }
    }
    let li = w.who("li");
    let rounds = 20;
    let w = Arc::new(w);
    let ids = Arc::new(ids);
    let (done, finished) = std::sync::mpsc::channel();
    for (store, order) in [(phone, [0, 1]), (laptop, [1, 0])] {
        let (w, li, ids, done) = (w.clone(), li.clone(), ids.clone(), done.clone());
        std::thread::spawn(move || {
            for round in 0..rounds {
                let push = order
                    .iter()
                    .map(|&k| {
                        store
                            .update_visit(&ids[k], &[VisitEdit::AppendSummary(format!(" {round}"))])
                            .unwrap();
                        push_of(&store, &ids[k])
                    })
                    .collect();
                let r = w.core.sync(&li, request(0, push)).unwrap();
                assert!(r.rejected.is_empty(), "{:?}", r.rejected);
            }
            done.send(()).unwrap();
        });
    }
    for _ in 0..2 {
        finished
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("a device's rounds did not finish: two rounds wait for each other's claims");
    }
    // Both devices' every edit is on the server.
    let zhang = w.core.sync(&w.who("zhang"), request(0, vec![])).unwrap();
    let server = device(&dir, "server-copy");
    for d in &zhang.documents {
        server.merge_changes(&d.id, &d.data).unwrap();
    }
    for id in ids.iter() {
        let summary = server.visit(id).unwrap().summary.as_str().to_string();
        assert_eq!(summary.matches(' ').count(), 2 * rounds, "{summary}");
    }
}

/// li's visit at her customer, and a customer of chen's (north), all on the server; the raw
/// changes that point the visit at chen's customer instead.
fn a_visit_pointed_at_chens_customer(w: &World, dir: &tempfile::TempDir) -> (String, Vec<Vec<u8>>) {
    let li = device(dir, "li");
    let c = li
        .create_customer(customer("李的客户", "east", "li"))
        .unwrap();
    let v = li.create_visit(visit(&c, "li")).unwrap();
    w.accepted("li", &li, &c);
    w.accepted("li", &li, &v);
    let chen = device(dir, "chen");
    let own = chen
        .create_customer(customer("陈的客户", "north", "chen"))
        .unwrap();
    w.accepted("chen", &chen, &own);
    let mut doc = AutoCommit::load(&li.document_bytes(&v).unwrap())
        .unwrap()
        .with_actor(ActorId::random());
    doc.put(ROOT, "customer", own.as_str()).unwrap();
    doc.commit();
    let changes = doc
        .get_changes(&[])
        .into_iter()
        .map(|mut c| c.bytes().into_owned())
        .collect();
    (v, changes)
}

#[test]
fn pointing_a_visit_outside_ones_scope_at_ones_own_customer_is_refused_as_scope() {
    let w = world();
    let dir = tempfile::tempdir().unwrap();
    let (v, changes) = a_visit_pointed_at_chens_customer(&w, &dir);
    // Neither chen's manager nor chen may take li's visit by pointing it at chen's customer.
    for who in ["zhao", "chen"] {
        let r = w.push_raw(who, &v, changes.clone());
        assert_eq!(
            r.rejected.len(),
            1,
            "{who} took li's visit: {:?}",
            r.accepted
        );
        assert_eq!(r.rejected[0].rule, "scope", "{}", r.rejected[0].reason);
        assert!(!w.visible(who).contains(&v), "{who} receives li's visit");
    }
    assert!(w.visible("li").contains(&v), "li lost her visit");
}

/// Raw changes (all of them) of `store`'s document `id` with `field` put to `value`.
fn with_put(store: &Store, id: &str, field: &str, value: &str) -> Vec<Vec<u8>> {
    let mut doc = AutoCommit::load(&store.document_bytes(id).unwrap())
        .unwrap()
        .with_actor(ActorId::random());
    doc.put(ROOT, field, value).unwrap();
    doc.commit();
    doc.get_changes(&[])
        .into_iter()
        .map(|mut c| c.bytes().into_owned())
        .collect()
}

#[test]
fn a_plan_or_visit_that_changes_hands_leaves_the_old_holder_and_reaches_the_new_one_whole() {
    let w = world();
    let dir = tempfile::tempdir().unwrap();
    let li = device(&dir, "li");
    let plan = li.create_trip_plan(li_plan("出差")).unwrap();
    let c = li
        .create_customer(customer("李的客户", "east", "li"))
        .unwrap();
    let v = li.create_visit(visit(&c, "li")).unwrap();
    for id in [&plan, &c, &v] {
        w.accepted("li", &li, id);
    }
    let wang = device(&dir, "wang");
    let own = wang
        .create_customer(customer("王的客户", "east", "wang"))
        .unwrap();
    w.accepted("wang", &wang, &own);
    let cursor = |name: &str| {
        w.core
            .sync(&w.who(name), request(0, vec![]))
            .unwrap()
            .cursor
    };
    let (li_cursor, wang_cursor, zhao_cursor) = (cursor("li"), cursor("wang"), cursor("zhao"));

    // zhang gives li's plan to wang and moves li's visit to wang's customer, and admin sends
    // the plan's approval to zhao (raw Automerge: the library has no edit for these fields).
    let r = w.push_raw("zhang", &v, with_put(&li, &v, "customer", &own));
    assert!(r.rejected.is_empty(), "{:?}", r.rejected);
    let mut zhangs = AutoCommit::load(&li.document_bytes(&plan).unwrap())
        .unwrap()
        .with_actor(ActorId::random());
    zhangs.put(ROOT, "owner", "wang").unwrap();
    zhangs.commit();
    let all_changes = |doc: &mut AutoCommit| -> Vec<Vec<u8>> {
        doc.get_changes(&[])
            .into_iter()
            .map(|mut c| c.bytes().into_owned())
            .collect()
    };
    let r = w.push_raw("zhang", &plan, all_changes(&mut zhangs));
    assert!(r.rejected.is_empty(), "{:?}", r.rejected);
    let mut admins = zhangs.fork().with_actor(ActorId::random());
    admins.put(ROOT, "approver", "zhao").unwrap();
    admins.commit();
    let r = w.push_raw("admin", &plan, all_changes(&mut admins));
    assert!(r.rejected.is_empty(), "{:?}", r.rejected);

    let li_next = w
        .core
        .sync(&w.who("li"), request(li_cursor, vec![]))
        .unwrap();
    assert_eq!(
        li_next.revoked,
        vec![plan.clone()],
        "li loses the plan that left her scope, and keeps the visit she made"
    );
    for (name, from, ids) in [
        ("wang", wang_cursor, vec![&plan, &v]),
        ("zhao", zhao_cursor, vec![&plan]),
    ] {
        let next = w.core.sync(&w.who(name), request(from, vec![])).unwrap();
        for id in ids {
            assert!(
                next.documents.iter().any(|d| &d.id == id && d.snapshot),
                "{name} was not sent {id} whole: {:?}",
                next.documents
            );
        }
    }
}

#[test]
fn a_rep_cannot_bring_a_managers_comment_in_a_new_visit() {
    let w = world();
    let dir = tempfile::tempdir().unwrap();
    let li = device(&dir, "li");
    let c = li
        .create_customer(customer("李的客户", "east", "li"))
        .unwrap();
    w.accepted("li", &li, &c);
    let v = li.create_visit(visit(&c, "li")).unwrap();
    li.update_visit(
        &v,
        &[VisitEdit::AddComment {
            author: "zhang".into(),
            text: "很好，批准报价。".into(),
        }],
    )
    .unwrap();
    let reason = w.rejected("li", &li, &v, "field_rights");
    assert!(reason.contains("comment"), "{reason}");
    assert!(
        !w.visible("zhang").contains(&v),
        "the forged comment reached zhang"
    );
}

#[test]
fn a_manager_edits_the_customers_of_his_territory_and_an_approver_outside_the_team_only_decides() {
    let w = world();
    let dir = tempfile::tempdir().unwrap();
    let admin = device(&dir, "admin");
    // A customer in zhang's territory, owned by chen of zhao's team.
    let c = admin
        .create_customer(customer("东区的陈客户", "east", "chen"))
        .unwrap();
    w.accepted("admin", &admin, &c);
    let zhang = device(&dir, "zhang");
    zhang
        .merge_from(&admin.document_bytes(&c).unwrap())
        .unwrap();
    zhang
        .update_customer(&c, &[CustomerEdit::AppendNotes("已回访。".into())])
        .unwrap();
    w.accepted("zhang", &zhang, &c);
    // ... but he cannot create one for a rep outside his team.
    let foreign = zhang
        .create_customer(customer("给陈的客户", "east", "chen"))
        .unwrap();
    w.rejected("zhang", &zhang, &foreign, "field_rights");

    // chen's claim, whose approver admin changed from zhao to zhang.
    let chen = device(&dir, "chen");
    let claim = chen
        .create_expense_claim(NewExpenseClaim {
            owner: "chen".into(),
            approver: "zhao".into(),
            title: "差旅".into(),
            ..Default::default()
        })
        .unwrap();
    chen.update_expense_claim(&claim, &[taxi(), ExpenseClaimEdit::Submit])
        .unwrap();
    w.accepted("chen", &chen, &claim);
    admin
        .merge_from(&chen.document_bytes(&claim).unwrap())
        .unwrap();
    admin
        .update_expense_claim(&claim, &[ExpenseClaimEdit::Approver("zhang".into())])
        .unwrap();
    w.accepted("admin", &admin, &claim);
    let base = admin.document_bytes(&claim).unwrap();

    // zhang may not retitle it: chen is not in his team.
    let retitled = device(&dir, "zhang-title");
    retitled.merge_from(&base).unwrap();
    retitled
        .update_expense_claim(&claim, &[ExpenseClaimEdit::Title("改".into())])
        .unwrap();
    let reason = w.rejected("zhang", &retitled, &claim, "field_rights");
    assert!(reason.contains("only approve or reject"), "{reason}");
    // He decides it, as its approver.
    let decided = device(&dir, "zhang-decide");
    decided.merge_from(&base).unwrap();
    decided
        .update_expense_claim(
            &claim,
            &[ExpenseClaimEdit::Approve {
                by: "zhang".into(),
                note: None,
            }],
        )
        .unwrap();
    w.accepted("zhang", &decided, &claim);
}

/// The server keeps the user directory in memory; a change made through another connection
/// (the `user` commands run as their own process beside a serving server) counts from the
/// next request: a disabled user has no principal, a moved rep is in the new manager's team.
#[test]
fn the_directory_in_memory_follows_changes_made_by_another_process() {
    use fieldsync_server::storage::Administration;
    let dir = tempfile::tempdir().unwrap();
    let storage = SqliteStorage::open(dir.path()).unwrap();
    for u in [
        user("zhang", Role::Manager, &["east"], None),
        user("zhao", Role::Manager, &["north"], None),
        user("li", Role::Rep, &["east"], Some("zhang")),
    ] {
        storage.add_user(&u).unwrap();
    }
    let core = Core::new(Arc::new(storage), 100).unwrap();
    let team = |manager: &str| core.principal(manager).unwrap().unwrap().team;
    assert!(team("zhang").contains(&"li".to_string()));
    let first = core.directory().unwrap();
    assert!(
        Arc::ptr_eq(&first, &core.directory().unwrap()),
        "an unchanged directory was read again"
    );

    let beside = SqliteStorage::open(dir.path()).unwrap();
    beside
        .update_user(&user("li", Role::Rep, &["north"], Some("zhao")), &[])
        .unwrap();
    assert!(!team("zhang").contains(&"li".to_string()));
    assert!(team("zhao").contains(&"li".to_string()));
    assert_eq!(
        core.principal("li").unwrap().unwrap().territories,
        vec!["north".to_string()]
    );

    beside.set_disabled("li", true).unwrap();
    assert!(core.principal("li").unwrap().is_none());
    beside
        .add_user(&user("wu", Role::Rep, &["north"], Some("zhao")))
        .unwrap();
    assert!(core.principal("wu").unwrap().is_some());
}

#[test]
fn a_large_round_merged_on_several_threads_gets_the_answers_it_gets_on_one() {
    let dir = tempfile::tempdir().unwrap();
    let li = device(&dir, "li");
    let stored: Vec<String> = (0..2)
        .map(|n| {
            li.create_customer(customer(&format!("老客户{n}"), "east", "li"))
                .unwrap()
        })
        .collect();
    let (c, target) = (&stored[0], &stored[1]);
    let first_pushes: Vec<_> = stored.iter().map(|id| push_of(&li, id)).collect();
    // The round: new visits, an edit of a stored customer, two customers outside li's scope,
    // a document without its first change, a visit pushed twice, and one customer's history
    // pushed as another's.
    let visits: Vec<String> = (0..8)
        .map(|_| li.create_visit(visit(c, "li")).unwrap())
        .collect();
    li.update_customer(c, &[CustomerEdit::AppendNotes("回访".into())])
        .unwrap();
    let for_wang = li
        .create_customer(customer("替人建档", "east", "wang"))
        .unwrap();
    let north = li
        .create_customer(customer("越界客户", "north", "li"))
        .unwrap();
    let partial = li
        .create_customer(customer("半份历史", "east", "li"))
        .unwrap();
    let first = li.changes_since(&partial, &[]).unwrap().len();
    li.update_customer(&partial, &[CustomerEdit::AppendNotes("补充".into())])
        .unwrap();
    let mut without_first = push_of(&li, &partial);
    without_first.changes.drain(..first);
    let elsewhere = device(&dir, "li-laptop");
    let other = elsewhere
        .create_customer(customer("别家", "east", "li"))
        .unwrap();
    let mut foreign = push_of(&elsewhere, &other);
    foreign.id = target.clone();
    let mut round: Vec<_> = visits.iter().map(|v| push_of(&li, v)).collect();
    round.extend([
        push_of(&li, c),
        push_of(&li, &for_wang),
        push_of(&li, &north),
        without_first,
        push_of(&li, &visits[0]),
        foreign,
    ]);

    let answers = |threads: usize| {
        let mut w = world();
        w.core.merge_threads = threads;
        let r = w
            .core
            .sync(&w.who("li"), request(0, first_pushes.clone()))
            .unwrap();
        assert!(r.rejected.is_empty(), "{:?}", r.rejected);
        let r = w
            .core
            .sync(&w.who("li"), request(0, round.clone()))
            .unwrap();
        let accepted: Vec<_> = r.accepted.into_iter().map(|a| (a.id, a.heads)).collect();
        let rejected: Vec<_> = r
            .rejected
            .into_iter()
            .map(|r| (r.id, r.rule, r.reason))
            .collect();
        (
            accepted,
            rejected,
            w.visible("zhang"),
            w.core.metrics.merged_ahead.get(),
            w.core.metrics.scopes_ahead.get(),
        )
    };
    let one = answers(1);
    let several = answers(4);
    assert_eq!(one.3, 0, "one thread merges each document in its turn");
    // Every document read ahead was merged ahead; the visit's second push was not read ahead
    // (its first push took the read) and is merged in its turn.
    assert_eq!(several.3, round.len() as u64 - 1);
    // One thread claims each scope in its turn. Several claim ahead the scopes of what they
    // merged ahead: c's (its first visit finds it claimed and c read; the other visits share
    // the round's claim, and the edit of c, which changes the scope, claims it anew), and the
    // two customers refused as out of scope, which claim their own scope before their checks.
    assert_eq!(one.4, 0);
    assert_eq!(several.4, 3);
    let rules: Vec<(&str, &str)> = one
        .1
        .iter()
        .map(|(id, rule, _)| (id.as_str(), rule.as_str()))
        .collect();
    assert_eq!(
        rules,
        [
            (for_wang.as_str(), "scope"),
            (north.as_str(), "scope"),
            (partial.as_str(), "missing_dependencies"),
            (target.as_str(), "kind"),
        ]
    );
    assert_eq!(one.0.len(), 10, "8 visits, the edit and the visit again");
    assert_eq!(one.0[8].0, *c);
    assert_eq!(
        one.0[9], one.0[0],
        "the second push of a visit changes nothing"
    );
    assert_eq!(several.0, one.0);
    assert_eq!(several.1, one.1);
    assert_eq!(several.2, one.2);
    assert!(one.2.is_superset(&visits.iter().cloned().collect()));
}
