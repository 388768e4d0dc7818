//! What holds on PostgreSQL beyond the conformance suite: transactions commit in any order
//! there, and several server nodes share one database.
//! - A pull never moves its cursor past a change still being written: the write that took a
//!   lower number commits first, and a pull in between reads below it.
//! - A claim one node holds, no other node gets; a node that goes away releases its claims.
//! - A write is heard of on the other nodes once it is committed, and only then.
//! - A refresh token presented to two nodes at once rotates once.
//! - Failed logins count on every node.
//! - A write built on a document's heads (or its customer's) that another node moved on from
//!   is refused.
//! - Two nodes compacting while a third writes fail nothing and lose nothing.
//! - A node left running after a newer release migrated the database writes nothing.
#![allow(clippy::unwrap_used)]

mod support;

use std::net::IpAddr;
use std::sync::mpsc;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use fieldsync_core::model::DocKind;
use fieldsync_server::access::Principal;
use fieldsync_server::accounts::{FREE_FAILURES, LoginLimiter};
use fieldsync_server::error::AppError;
use fieldsync_server::nodes::News;
use fieldsync_server::storage::postgres::PgStorage;
use fieldsync_server::storage::{
    Accounts, DocScope, Documents, Heard, Log, PullLimits, RefreshUse, Role, Session, User,
};
use support::commits::{commit, customer_commit, new_doc};
use support::postgres::PgCluster;

/// Two nodes' storage on one fresh database, and the cluster.
fn two_nodes(test: &str) -> Option<(PgStorage, PgStorage, PgCluster)> {
    let cluster = PgCluster::start(test)?;
    let a = PgStorage::open(&cluster.url("postgres")).unwrap();
    let b = PgStorage::open(&cluster.url("postgres")).unwrap();
    Some((a, b, cluster))
}

fn admin() -> Principal {
    Principal {
        username: "admin".into(),
        role: Role::Admin,
        territories: Vec::new(),
        manager: None,
        team: Vec::new(),
    }
}

fn pull(s: &PgStorage, cursor: u64) -> (Vec<String>, u64) {
    let page = s
        .pull(
            &admin(),
            None,
            cursor,
            PullLimits {
                max_documents: 100,
                max_bytes: 1 << 20,
            },
        )
        .unwrap();
    let mut ids: Vec<String> = page.documents.into_iter().map(|(id, _, _)| id).collect();
    ids.sort();
    (ids, page.cursor)
}

#[test]
fn a_pull_between_two_concurrent_writes_never_moves_past_the_one_still_in_flight() {
    let Some((node_a, node_b, _cluster)) = two_nodes("a_pull_between_two_concurrent_writes") else {
        return;
    };
    let mut first = new_doc("first");
    let mut second = new_doc("second");
    let first = customer_commit(&mut first, &[], "c-first", "li", "east");
    let second = customer_commit(&mut second, &[], "c-second", "li", "east");

    let (in_flight_tx, in_flight) = mpsc::channel();
    let (release_tx, release) = mpsc::channel::<()>();
    let (second_done_tx, second_done) = mpsc::channel();
    std::thread::scope(|s| {
        // Node A takes the next number and holds its transaction open.
        let (node_a, first) = (&node_a, &first);
        let writer_a = s.spawn(move || {
            node_a
                .commit_batch_then(std::slice::from_ref(first), || {
                    in_flight_tx.send(()).unwrap();
                    release.recv().unwrap();
                })
                .unwrap()
        });
        in_flight.recv_timeout(Duration::from_secs(10)).unwrap();
        // Node B writes meanwhile.
        let writer_b = s.spawn(|| {
            let seqs = node_b.commit_batch(std::slice::from_ref(&second)).unwrap();
            second_done_tx.send(()).unwrap();
            seqs
        });
        assert!(
            second_done
                .recv_timeout(Duration::from_millis(500))
                .is_err(),
            "the second write committed while the first, numbered before it, was in flight"
        );
        // A device pulls now: it gets nothing, and its cursor stays below the first write.
        let (now, cursor) = pull(&node_b, 0);
        assert!(now.is_empty(), "{now:?}");
        assert_eq!(cursor, 0);

        release_tx.send(()).unwrap();
        let seq_a = writer_a.join().unwrap()[0];
        let seq_b = writer_b.join().unwrap()[0];
        assert!(
            seq_a < seq_b,
            "numbers follow the commits: {seq_a} < {seq_b}"
        );

        // From the cursor it was given, the device receives both.
        let (later, head) = pull(&node_b, cursor);
        assert_eq!(later, ["c-first", "c-second"]);
        assert_eq!(head, seq_b);
    });
}

#[test]
fn a_claim_held_by_one_node_waits_for_it_and_goes_with_the_node() {
    let Some((node_a, node_b, _cluster)) = two_nodes("a_claim_held_by_one_node") else {
        return;
    };
    let (a, b) = (node_a.nodes().unwrap(), node_b.nodes().unwrap());
    assert!(a.try_claim("c-1").unwrap());
    assert!(!b.try_claim("c-1").unwrap(), "another node holds it");
    assert!(b.try_claim("c-2").unwrap(), "other documents are free");
    assert!(a.try_claim("c-3").unwrap());
    a.release(&["c-1", "c-3"]);
    assert!(b.try_claim("c-1").unwrap(), "released");
    assert!(b.try_claim("c-3").unwrap(), "released with the other");
    assert!(!a.try_claim("c-2").unwrap());
    // Several at once: each is claimed, or not, as alone.
    assert_eq!(a.try_claim_all(&["c-4", "c-2"]).unwrap(), [true, false]);
    assert!(!b.try_claim("c-4").unwrap(), "claimed with the others");

    // Node B goes away without releasing anything: its claims go with its connection.
    drop(node_b);
    let started = Instant::now();
    while !a.try_claim("c-2").unwrap() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "a node's claims outlived it"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_write_on_one_node_is_heard_on_the_others_once_committed_and_only_then() {
    let Some((node_a, node_b, _cluster)) = two_nodes("a_write_on_one_node_is_heard") else {
        return;
    };
    let (heard_tx, heard) = mpsc::channel();
    node_b
        .nodes()
        .unwrap()
        .listen(Box::new(move |h| match h {
            Heard::News(message) => heard_tx.send(message).is_ok(),
            Heard::Quiet | Heard::Reconnected => true,
        }))
        .unwrap();
    let mut first = new_doc("first");
    let mut second = new_doc("second");
    let first = customer_commit(&mut first, &[], "c-first", "li", "east");
    let second = customer_commit(&mut second, &[], "c-second", "li", "east");

    // A write that fails before it commits is never heard of.
    let failed = std::thread::scope(|s| {
        s.spawn(|| {
            node_a.commit_batch_then(std::slice::from_ref(&first), || {
                panic!("the node dies before its write commits")
            })
        })
        .join()
    });
    assert!(failed.is_err());
    assert!(
        heard.recv_timeout(Duration::from_millis(500)).is_err(),
        "news of a write that never committed"
    );

    let said = Instant::now();
    let seqs = node_a.commit_batch(&[first, second]).unwrap();
    let news: Vec<News> = (0..2)
        .map(|_| {
            serde_json::from_str(&heard.recv_timeout(Duration::from_secs(5)).unwrap()).unwrap()
        })
        .collect();
    println!("heard across nodes after {:?}", said.elapsed());
    let a_name = node_a.nodes().unwrap().node().to_string();
    assert_ne!(a_name, node_b.nodes().unwrap().node());
    assert_eq!(
        news,
        [
            News {
                node: a_name.clone(),
                seq: seqs[0],
                doc: "c-first".into(),
                session: None
            },
            News {
                node: a_name,
                seq: seqs[1],
                doc: "c-second".into(),
                session: None
            },
        ]
    );
}

#[test]
fn a_refresh_token_presented_to_two_nodes_at_once_rotates_once() {
    let Some((node_a, node_b, _cluster)) = two_nodes("a_refresh_token_presented_to_two_nodes")
    else {
        return;
    };
    node_a
        .add_user(&User {
            username: "li".into(),
            role: Role::Rep,
            territories: vec!["east".into()],
            manager: None,
            disabled: false,
            password_hash: "x".into(),
        })
        .unwrap();
    node_a
        .create_session(&Session {
            id: "s1".into(),
            username: "li".into(),
            device_name: "phone".into(),
            created_at: 0,
        })
        .unwrap();
    node_a.store_refresh("t0", "s1", i64::MAX).unwrap();
    let nodes = [Arc::new(node_a), Arc::new(node_b)];
    let start = Arc::new(Barrier::new(8));
    let answers: Vec<RefreshUse> = std::thread::scope(|s| {
        let runs: Vec<_> = (0..8)
            .map(|i| {
                let (node, start) = (nodes[i % 2].clone(), start.clone());
                s.spawn(move || {
                    start.wait();
                    node.use_refresh("t0", &format!("t1-{i}"), i64::MAX, 1)
                        .unwrap()
                })
            })
            .collect();
        runs.into_iter().map(|r| r.join().unwrap()).collect()
    });
    let valid = answers
        .iter()
        .filter(|a| matches!(a, RefreshUse::Valid(_)))
        .count();
    assert_eq!(valid, 1, "{answers:?}");
    assert!(
        answers
            .iter()
            .all(|a| matches!(a, RefreshUse::Valid(_) | RefreshUse::Replayed(_))),
        "the others are replays: {answers:?}"
    );
}

#[test]
fn failed_logins_on_one_node_slow_the_same_guesser_on_another() {
    let Some((node_a, node_b, _cluster)) = two_nodes("failed_logins_on_one_node") else {
        return;
    };
    let a = LoginLimiter::shared(Arc::new(node_a));
    let b = LoginLimiter::shared(Arc::new(node_b));
    let guesser = Some(IpAddr::from([10, 0, 0, 66]));
    let office = Some(IpAddr::from([10, 0, 0, 1]));
    for _ in 0..FREE_FAILURES {
        a.attempt("admin", guesser).unwrap();
    }
    assert!(
        matches!(b.attempt("admin", guesser), Err(AppError::RateLimited(_))),
        "the guesser moved to another node and was not held"
    );
    b.attempt("admin", office).unwrap();
    b.succeeded("admin", office).unwrap();
    a.attempt("admin", office).unwrap();
}

#[test]
fn a_write_built_on_heads_another_node_moved_on_from_is_refused_and_changes_nothing() {
    let Some((node_a, node_b, _cluster)) = two_nodes("a_write_built_on_stale_heads") else {
        return;
    };
    let mut doc = new_doc("华东精密");
    let mut created = customer_commit(&mut doc, &[], "c-1", "li", "east");
    created.base_heads = Some(String::new());
    node_a.commit_batch(&[created.clone()]).unwrap();
    let base = created.heads.clone();

    // Two nodes edit the document from the same stored state; the second write is refused.
    let edit = |doc: &mut automerge::AutoCommit, value: &str| {
        let since = doc.get_heads();
        automerge::transaction::Transactable::put(doc, automerge::ROOT, "phone", value).unwrap();
        doc.commit();
        let mut commit = customer_commit(doc, &since, "c-1", "li", "east");
        commit.base_heads = Some(base.clone());
        commit
    };
    let mut on_a = doc.clone();
    let mut on_b = doc.clone();
    let first = edit(&mut on_a, "021-1111");
    let second = edit(&mut on_b, "021-2222");
    node_a.commit_batch(&[first]).unwrap();
    let head = node_b.head_seq().unwrap();
    let refused = node_b.commit_batch(&[second]).unwrap_err();
    assert!(refused.unavailable().is_some(), "{refused}");
    assert_eq!(node_b.head_seq().unwrap(), head, "nothing was written");
    let mut stored = node_b
        .load_doc("c-1")
        .unwrap()
        .unwrap()
        .assemble("c-1")
        .unwrap();
    assert_eq!(stored.get_heads(), on_a.get_heads());

    // A visit checked against the customer's scope before another node changed the customer
    // (handed it over, say) is refused too: its scope columns would be the old owner's.
    let mut visit = new_doc("拜访");
    let mut visit_commit = commit(
        &mut visit,
        &[],
        DocScope {
            customer: Some("c-1".into()),
            author: Some("li".into()),
            ..DocScope::of(DocKind::Visit, "v-1")
        },
    );
    visit_commit.base_heads = Some(String::new());
    visit_commit.base_customer = Some(("c-1".into(), base.clone()));
    let refused = node_b.commit_batch(&[visit_commit.clone()]).unwrap_err();
    assert!(refused.unavailable().is_some(), "{refused}");
    assert!(node_b.load_doc("v-1").unwrap().is_none());
    let now: Vec<String> = on_a.get_heads().iter().map(ToString::to_string).collect();
    visit_commit.base_customer = Some(("c-1".into(), now.join(",")));
    node_b.commit_batch(&[visit_commit]).unwrap();
    assert!(node_b.load_doc("v-1").unwrap().is_some());
}

#[test]
fn two_nodes_compacting_while_a_third_writes_fail_nothing_and_lose_nothing() {
    let Some((node_a, node_b, cluster)) = two_nodes("two_nodes_compacting_while") else {
        return;
    };
    let writer = PgStorage::open(&cluster.url("postgres")).unwrap();
    let mut docs: Vec<(String, automerge::AutoCommit)> = (0..60)
        .map(|n| (format!("c-{n}"), new_doc(&format!("客户{n}"))))
        .collect();
    let first: Vec<_> = docs
        .iter_mut()
        .map(|(id, doc)| customer_commit(doc, &[], id, "li", "east"))
        .collect();
    writer.commit_batch(&first).unwrap();
    let edit = |docs: &mut Vec<(String, automerge::AutoCommit)>, round: usize| {
        docs.iter_mut()
            .map(|(id, doc)| {
                let since = doc.get_heads();
                automerge::transaction::Transactable::put(
                    doc,
                    automerge::ROOT,
                    "phone",
                    format!("021-{round}"),
                )
                .unwrap();
                doc.commit();
                customer_commit(doc, &since, id, "li", "east")
            })
            .collect::<Vec<_>>()
    };
    for round in 0..5 {
        writer.commit_batch(&edit(&mut docs, round)).unwrap();
    }
    let horizon = writer.head_seq().unwrap();
    let compactions = std::thread::scope(|s| {
        let a = s.spawn(|| node_a.compact_log(horizon));
        let b = s.spawn(|| node_b.compact_log(horizon));
        for round in 5..15 {
            writer.commit_batch(&edit(&mut docs, round)).unwrap();
        }
        [a.join().unwrap().unwrap(), b.join().unwrap().unwrap()]
    });
    // One node compacts; the other, finding it at work, skips its turn (and says so by having
    // done nothing), or comes after it and finds nothing left to do.
    let worked: Vec<_> = compactions
        .iter()
        .filter(|c| c.changes_removed > 0)
        .collect();
    assert_eq!(worked.len(), 1, "{compactions:?}");
    assert_eq!(worked[0].floor, horizon, "{compactions:?}");
    assert!(
        compactions.iter().all(
            |c| c.floor <= horizon && (c.changes_removed > 0 || c.documents_resnapshotted == 0)
        ),
        "{compactions:?}"
    );
    // A device whose cursor is below the floor gets every document whole, as it is now.
    let page = writer
        .pull(
            &admin(),
            None,
            1,
            PullLimits {
                max_documents: 100,
                max_bytes: 64 << 20,
            },
        )
        .unwrap();
    assert_eq!(page.documents.len(), docs.len());
    for (id, whole, data) in page.documents {
        assert!(whole, "{id}");
        let mut got = automerge::AutoCommit::load(&data).unwrap();
        let (_, doc) = docs.iter_mut().find(|(d, _)| *d == id).unwrap();
        assert_eq!(got.get_heads(), doc.get_heads(), "{id}");
    }
}

#[test]
fn a_node_left_running_after_a_newer_release_migrated_the_database_writes_nothing() {
    let Some((a, _b, cluster)) = two_nodes("a_node_left_running_after_a_newer_release") else {
        return;
    };
    let mut first = new_doc("c1");
    a.commit_batch(&[customer_commit(&mut first, &[], "c1", "li", "east")])
        .unwrap();
    let head = a.head_seq().unwrap();
    // A newer release's node migrates the database one schema further.
    let mut newer = postgres::Client::connect(&cluster.url("postgres"), postgres::NoTls).unwrap();
    newer
        .batch_execute("UPDATE schema_version SET version = version + 1")
        .unwrap();

    let mut second = new_doc("c2");
    let refused = a
        .commit_batch(&[customer_commit(&mut second, &[], "c2", "li", "east")])
        .unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("upgraded by a newer fieldsync-server"),
        "{refused}"
    );
    assert_eq!(a.head_seq().unwrap(), head, "nothing was logged");
    assert_eq!(pull(&a, 0).0, ["c1"], "nothing was stored");

    // Back at its schema (the newer release rolled back), the node writes again.
    newer
        .batch_execute("UPDATE schema_version SET version = version - 1")
        .unwrap();
    a.commit_batch(&[customer_commit(&mut second, &[], "c2", "li", "east")])
        .unwrap();
    assert_eq!(pull(&a, 0).0, ["c1", "c2"]);
}
