//! What every storage backend must do, as one suite run against each backend: accounts and
//! refresh-token rotation, documents and their scope, the log's sequence, pulls in scope and in
//! pages, and compaction. A backend is added by one more `conformance!` line with a function
//! that opens a fresh, empty store of it.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ROOT};
use fieldsync_core::model::DocKind;
use fieldsync_server::access::Principal;
use fieldsync_server::pull::RecentDocuments;
use fieldsync_server::storage::postgres::PgStorage;
use fieldsync_server::storage::sqlite::SqliteStorage;
use fieldsync_server::storage::{
    DocCommit, DocHistory, DocScope, DocView, PullLimits, RefreshUse, Role, ScopeEvent, Session,
    Storage, StorageError, User, ViewOrder, ViewQuery,
};
use prometheus_client::metrics::counter::Counter;

mod support;

use support::commits::{commit, customer_commit, new_doc};
use support::postgres::PgCluster;

/// A fresh store of one backend, and what keeps it alive (its directory, its server).
type Opened = (Arc<dyn Storage>, Box<dyn std::any::Any>);

fn sqlite() -> Option<Opened> {
    let dir = tempfile::tempdir().unwrap();
    let storage = SqliteStorage::open(dir.path()).unwrap();
    Some((Arc::new(storage), Box::new(dir)))
}

/// A fresh database in a private cluster of its own (`None`: PostgreSQL is not installed).
fn postgres() -> Option<Opened> {
    let cluster = PgCluster::start("storage_conformance::postgres")?;
    let storage = PgStorage::open(&cluster.url("postgres")).unwrap();
    Some((Arc::new(storage), Box::new(cluster)))
}

fn user(name: &str, role: Role, territories: &[&str], manager: Option<&str>) -> User {
    User {
        username: name.into(),
        role,
        territories: territories.iter().map(|t| t.to_string()).collect(),
        manager: manager.map(str::to_string),
        disabled: false,
        password_hash: format!("hash-of-{name}"),
    }
}

fn principal(s: &dyn Storage, name: &str) -> Principal {
    let users = s.users().unwrap();
    let me = users.iter().find(|u| u.username == name).unwrap();
    Principal::of(me, &users)
}

/// zhang manages east with li; chen works north alone.
fn people(s: &dyn Storage) {
    for u in [
        user("zhang", Role::Manager, &["east"], None),
        user("li", Role::Rep, &["east"], Some("zhang")),
        user("chen", Role::Rep, &["north"], None),
    ] {
        s.add_user(&u).unwrap();
    }
}

fn pulled(
    s: &dyn Storage,
    who: &str,
    cursor: u64,
    max_documents: usize,
) -> (Vec<String>, u64, bool) {
    let p = principal(s, who);
    let page = s
        .pull(
            &p,
            None,
            cursor,
            PullLimits {
                max_documents,
                max_bytes: 1 << 20,
            },
        )
        .unwrap();
    let ids = page.documents.into_iter().map(|(id, _, _)| id).collect();
    (ids, page.cursor, page.more)
}

fn users_are_kept_and_a_taken_name_is_a_conflict(open: fn() -> Option<Opened>) {
    let Some((s, _keep)) = open() else { return };
    people(&*s);
    let li = s.user("li").unwrap().unwrap();
    assert_eq!(li.manager.as_deref(), Some("zhang"));
    assert_eq!(li.territories, vec!["east".to_string()]);
    let names: Vec<String> = s.users().unwrap().into_iter().map(|u| u.username).collect();
    assert_eq!(names, vec!["chen", "li", "zhang"], "by name");
    let again = s.add_user(&user("li", Role::Rep, &[], None)).unwrap_err();
    assert!(matches!(again, StorageError::Conflict(_)), "{again:?}");
    assert!(again.unavailable().is_none());
    assert!(s.user("nobody").unwrap().is_none());

    assert!(s.set_disabled("li", true).unwrap());
    assert!(s.user("li").unwrap().unwrap().disabled);
    assert!(!s.set_disabled("nobody", true).unwrap());
    assert!(s.set_password_hash("li", "new-hash").unwrap());
    assert_eq!(s.user("li").unwrap().unwrap().password_hash, "new-hash");
    assert!(!s.set_password_hash("nobody", "x").unwrap());
}

fn a_refresh_token_is_used_once_and_a_replay_or_a_revoked_session_is_told_apart(
    open: fn() -> Option<Opened>,
) {
    let Some((s, _keep)) = open() else { return };
    people(&*s);
    let session = Session {
        id: "s1".into(),
        username: "li".into(),
        device_name: "laptop".into(),
        created_at: 1_000,
    };
    s.create_session(&session).unwrap();
    assert_eq!(s.active_session_user("s1").unwrap().as_deref(), Some("li"));
    s.store_refresh("t1", "s1", 10_000).unwrap();

    assert_eq!(
        s.use_refresh("t1", "t2", 20_000, 2_000).unwrap(),
        RefreshUse::Valid(session.clone())
    );
    // The same request again (its answer was lost): still valid, nothing changes.
    assert_eq!(
        s.use_refresh("t1", "t2", 20_000, 2_001).unwrap(),
        RefreshUse::Valid(session.clone())
    );
    // The retired token with another successor: a replay.
    assert_eq!(
        s.use_refresh("t1", "t3", 20_000, 2_002).unwrap(),
        RefreshUse::Replayed("s1".into())
    );
    assert_eq!(
        s.use_refresh("unknown", "t4", 20_000, 2_003).unwrap(),
        RefreshUse::Invalid
    );
    // A logout retires the session's tokens: presenting one is a replay.
    s.revoke_session("s1").unwrap();
    assert!(s.active_session_user("s1").unwrap().is_none());
    assert_eq!(
        s.use_refresh("t2", "t5", 30_000, 3_000).unwrap(),
        RefreshUse::Replayed("s1".into())
    );
    // A disabled user's sessions are revoked: their unused tokens say so.
    let phone = Session {
        id: "s2".into(),
        username: "li".into(),
        device_name: "phone".into(),
        created_at: 1_000,
    };
    s.create_session(&phone).unwrap();
    s.store_refresh("u1", "s2", 10_000).unwrap();
    s.set_disabled("li", true).unwrap();
    assert!(s.active_session_user("s2").unwrap().is_none());
    assert_eq!(
        s.use_refresh("u1", "u2", 20_000, 3_001).unwrap(),
        RefreshUse::Revoked("li".into())
    );
    // An expired token is no token.
    s.create_session(&Session {
        id: "s3".into(),
        ..phone
    })
    .unwrap();
    s.store_refresh("old", "s3", 500).unwrap();
    assert_eq!(
        s.use_refresh("old", "new", 20_000, 600).unwrap(),
        RefreshUse::Invalid
    );
}

fn a_persistent_value_keeps_the_first_one_set(open: fn() -> Option<Opened>) {
    let Some((s, _keep)) = open() else { return };
    assert!(s.meta("actor").unwrap().is_none());
    assert_eq!(s.meta_init("actor", "a1").unwrap(), "a1");
    assert_eq!(s.meta_init("actor", "a2").unwrap(), "a1");
    assert_eq!(s.meta("actor").unwrap().as_deref(), Some("a1"));
}

fn committed_documents_come_back_with_their_scope_and_numbers_only_grow(
    open: fn() -> Option<Opened>,
) {
    let Some((s, _keep)) = open() else { return };
    people(&*s);
    assert_eq!(s.head_seq().unwrap(), 0);
    let mut c = new_doc("华东精密");
    let seqs = s
        .commit_batch(&[customer_commit(&mut c, &[], "c1", "li", "east")])
        .unwrap();
    assert_eq!(seqs.len(), 1);
    assert_eq!(s.head_seq().unwrap(), seqs[0]);
    let stored = s.load_doc("c1").unwrap().unwrap();
    assert_eq!(stored.assemble("c1").unwrap().get_heads(), c.get_heads());
    let scope = s.doc_scope("c1").unwrap().unwrap();
    assert_eq!(
        (scope.kind, scope.owner.as_deref()),
        (DocKind::Customer, Some("li"))
    );
    assert_eq!(
        s.owned_by("customer", "li").unwrap(),
        vec!["c1".to_string()]
    );
    assert!(s.owned_by("customer", "chen").unwrap().is_empty());
    assert_eq!(s.doc_history("c1").unwrap().changes_since_snapshot, 1);

    // A visit belongs to its customer.
    let mut v = new_doc("visit");
    let visit_scope = DocScope {
        customer: Some("c1".into()),
        author: Some("li".into()),
        ..DocScope::of(DocKind::Visit, "v1")
    };
    let mut visit = commit(&mut v, &[], visit_scope);
    visit.governed_by = (Some("li".into()), Some("east".into()));
    let before = c.get_heads();
    c.put(ROOT, "city", "苏州").unwrap();
    c.commit();
    let more = s
        .commit_batch(&[visit, customer_commit(&mut c, &before, "c1", "li", "east")])
        .unwrap();
    assert!(
        more[0] > seqs[0] && more[1] > more[0],
        "{seqs:?} then {more:?}"
    );
    let dependents: Vec<String> = s
        .dependents_of("c1")
        .unwrap()
        .into_iter()
        .map(|d| d.id)
        .collect();
    assert_eq!(dependents, vec!["v1".to_string()]);
    let stored = s.load_doc("c1").unwrap().unwrap();
    assert_eq!(stored.assemble("c1").unwrap().get_heads(), c.get_heads());
    assert!(s.load_doc("nothing").unwrap().is_none());
}

fn a_pull_gives_what_is_in_scope_after_the_cursor_in_pages(open: fn() -> Option<Opened>) {
    let Some((s, _keep)) = open() else { return };
    people(&*s);
    for (id, owner, territory) in [
        ("c1", "li", "east"),
        ("c2", "li", "east"),
        ("c3", "chen", "north"),
    ] {
        let mut d = new_doc(id);
        s.commit_batch(&[customer_commit(&mut d, &[], id, owner, territory)])
            .unwrap();
    }
    let head = s.head_seq().unwrap();
    let (li, cursor, more) = pulled(&*s, "li", 0, 100);
    assert_eq!(
        (li, cursor, more),
        (vec!["c1".into(), "c2".into()], head, false)
    );
    let (zhang, _, _) = pulled(&*s, "zhang", 0, 100);
    assert_eq!(zhang, vec!["c1".to_string(), "c2".to_string()]);
    let (chen, _, _) = pulled(&*s, "chen", 0, 100);
    assert_eq!(chen, vec!["c3".to_string()]);
    // Nothing new after the head.
    assert!(pulled(&*s, "li", head, 100).0.is_empty());
    // One document a page: the first page's cursor stays below the second document.
    let (first, cursor, more) = pulled(&*s, "li", 0, 1);
    assert_eq!((first, more), (vec!["c1".to_string()], true));
    let (second, end, more) = pulled(&*s, "li", cursor, 1);
    assert_eq!((second, end, more), (vec!["c2".to_string()], head, false));
}

/// More documents than a backend reads at once (64), with snapshots on some: every page's
/// bytes are each document whole (or its changes after the cursor), pages stop just past their
/// byte budget, and following the cursors gives every document exactly once.
fn pages_read_many_documents_at_once_and_stop_at_their_byte_budget(open: fn() -> Option<Opened>) {
    let Some((s, _keep)) = open() else { return };
    people(&*s);
    let mut docs = Vec::new();
    for i in 0..150 {
        let id = format!("c{i:03}");
        let mut d = new_doc(&id);
        d.put(ROOT, "note", "x".repeat(i * 7)).unwrap();
        d.commit();
        let mut c = customer_commit(&mut d, &[], &id, "li", "east");
        if i % 3 == 0 {
            c.snapshot = Some(d.save());
        }
        s.commit_batch(&[c]).unwrap();
        docs.push((id, d));
    }
    let li = principal(&*s, "li");
    let pull = |cursor: u64, max_bytes: usize| {
        s.pull(
            &li,
            None,
            cursor,
            PullLimits {
                max_documents: 1_000,
                max_bytes,
            },
        )
        .unwrap()
    };
    let heads_of = |bytes: &[u8]| AutoCommit::load(bytes).unwrap().get_heads();
    let all = pull(0, 1 << 30);
    assert!(!all.more);
    assert_eq!(all.documents.len(), 150);
    for ((id, whole, bytes), (want, d)) in all.documents.iter().zip(&mut docs) {
        assert_eq!((id, *whole), (&*want, true));
        assert_eq!(heads_of(bytes), d.get_heads(), "{id} whole");
    }
    // A budget of about 70 documents' bytes: each page ends with the document that reached it.
    let budget: usize = all.documents[..70].iter().map(|d| d.2.len()).sum::<usize>() - 1;
    let (mut cursor, mut seen) = (0, Vec::new());
    loop {
        let page = pull(cursor, budget);
        let sizes: Vec<usize> = page.documents.iter().map(|d| d.2.len()).collect();
        let before_last: usize = sizes[..sizes.len() - 1].iter().sum();
        assert!(before_last < budget, "a page went on past its budget");
        if page.more {
            assert!(
                before_last + sizes[sizes.len() - 1] >= budget,
                "a page stopped early"
            );
        }
        seen.extend(page.documents.into_iter().map(|d| d.0));
        cursor = page.cursor;
        if !page.more {
            break;
        }
    }
    let mut want: Vec<String> = docs.iter().map(|d| d.0.clone()).collect();
    assert_eq!(seen, want, "every document once, in order");
    // Changes after a cursor: only what is new, for documents with and without snapshots.
    let cursor = s.head_seq().unwrap();
    for (id, d) in docs.iter_mut().step_by(2) {
        let before = d.get_heads();
        d.put(ROOT, "note", "changed").unwrap();
        d.commit();
        s.commit_batch(&[customer_commit(d, &before, id, "li", "east")])
            .unwrap();
    }
    let page = pull(cursor, 1 << 30);
    want = docs.iter().step_by(2).map(|d| d.0.clone()).collect();
    assert_eq!(
        page.documents
            .iter()
            .map(|d| d.0.clone())
            .collect::<Vec<_>>(),
        want
    );
    for ((id, whole, bytes), (_, d)) in page.documents.iter().zip(docs.iter_mut().step_by(2)) {
        assert!(!whole, "{id} went whole");
        let change = d.get_last_local_change().unwrap().raw_bytes().to_vec();
        assert_eq!(*bytes, change, "{id}: its one new change");
    }
}

/// A new document committed with its first save is sent whole as that save and the changes
/// logged after it; once it has a snapshot of its own, as that snapshot. Changes after a cursor
/// are sent as before.
fn a_new_document_is_sent_whole_as_its_first_save_and_the_changes_after_it(
    open: fn() -> Option<Opened>,
) {
    let Some((s, _keep)) = open() else { return };
    people(&*s);
    let li = principal(&*s, "li");
    let pull = |cursor: u64| {
        let limits = PullLimits {
            max_documents: 100,
            max_bytes: 1 << 20,
        };
        let page = s.pull(&li, None, cursor, limits).unwrap();
        page.documents
            .into_iter()
            .map(|(id, whole, bytes)| (id, (whole, bytes)))
            .collect::<std::collections::HashMap<_, _>>()
    };
    let mut saved = new_doc("c1");
    let save = saved.save_nocompress();
    let mut first = customer_commit(&mut saved, &[], "c1", "li", "east");
    first.first_save = Some(save.clone());
    let mut plain = new_doc("c2");
    let change = plain.get_last_local_change().unwrap().raw_bytes().to_vec();
    s.commit_batch(&[first, customer_commit(&mut plain, &[], "c2", "li", "east")])
        .unwrap();
    let after_first = s.head_seq().unwrap();
    let docs = pull(0);
    assert_eq!(docs["c1"], (true, save.clone()), "sent as its save");
    assert_eq!(docs["c2"], (true, change), "no save: sent as its change");

    let before = saved.get_heads();
    saved.put(ROOT, "note", "called back").unwrap();
    saved.commit();
    let later = saved.get_last_local_change().unwrap().raw_bytes().to_vec();
    s.commit_batch(&[customer_commit(&mut saved, &before, "c1", "li", "east")])
        .unwrap();
    let docs = pull(0);
    assert_eq!(docs["c1"], (true, [save.clone(), later.clone()].concat()));
    assert_eq!(
        AutoCommit::load(&docs["c1"].1).unwrap().get_heads(),
        saved.get_heads()
    );
    assert_eq!(pull(after_first)["c1"], (false, later), "only what is new");

    // A snapshot of its own replaces the save.
    let before = saved.get_heads();
    saved.put(ROOT, "note", "ordered").unwrap();
    saved.commit();
    let mut snapshotted = customer_commit(&mut saved, &before, "c1", "li", "east");
    let snapshot = saved.save();
    snapshotted.snapshot = Some(snapshot.clone());
    s.commit_batch(&[snapshotted]).unwrap();
    assert_eq!(pull(0)["c1"], (true, snapshot));
    let head = s.head_seq().unwrap();
    s.compact_log(head).unwrap();
    let docs = pull(0);
    assert_eq!(
        AutoCommit::load(&docs["c1"].1).unwrap().get_heads(),
        saved.get_heads()
    );
    assert_eq!(
        AutoCommit::load(&docs["c2"].1).unwrap().get_heads(),
        plain.get_heads()
    );
}

/// Customer `id` (in `doc`) handed from li to chen, in north: li's scope loses it, chen's gains
/// it.
fn handed_from_li_to_chen(doc: &mut AutoCommit, id: &str) -> DocCommit {
    let before = doc.get_heads();
    doc.put(ROOT, "owner", "chen").unwrap();
    doc.commit();
    let mut moved = customer_commit(doc, &before, id, "chen", "north");
    moved.scope_events = [("li", false), ("chen", true)]
        .into_iter()
        .map(|(username, entered)| ScopeEvent {
            username: username.into(),
            doc_id: id.into(),
            entered,
        })
        .collect();
    moved
}

fn a_document_leaving_a_scope_is_revoked_there(open: fn() -> Option<Opened>) {
    let Some((s, _keep)) = open() else { return };
    people(&*s);
    let mut d = new_doc("c1");
    s.commit_batch(&[customer_commit(&mut d, &[], "c1", "li", "east")])
        .unwrap();
    let cursor = s.head_seq().unwrap();
    // Handed to chen, in north: li loses it, chen gains it.
    let moved = handed_from_li_to_chen(&mut d, "c1");
    s.commit_batch(&[moved]).unwrap();
    let li = principal(&*s, "li");
    let limits = PullLimits {
        max_documents: 100,
        max_bytes: 1 << 20,
    };
    let page = s.pull(&li, None, cursor, limits).unwrap();
    assert!(page.documents.is_empty());
    assert_eq!(page.revoked, vec!["c1".to_string()]);
    let chen = principal(&*s, "chen");
    let page = s.pull(&chen, None, cursor, limits).unwrap();
    let whole: Vec<(String, bool)> = page
        .documents
        .iter()
        .map(|(id, whole, _)| (id.clone(), *whole))
        .collect();
    assert_eq!(
        whole,
        vec![("c1".to_string(), true)],
        "sent whole to its new holder"
    );
}

fn compaction_keeps_every_document_whole_for_an_old_cursor(open: fn() -> Option<Opened>) {
    let Some((s, _keep)) = open() else { return };
    people(&*s);
    let mut d = new_doc("c1");
    let mut heads = Vec::new();
    for i in 0..4_i64 {
        d.put(ROOT, "n", i).unwrap();
        d.commit();
        s.commit_batch(&[customer_commit(&mut d, &heads, "c1", "li", "east")])
            .unwrap();
        heads = d.get_heads();
    }
    let head = s.head_seq().unwrap();
    let done = s.compact_log(head).unwrap();
    assert_eq!(done.floor, head);
    assert!(done.changes_removed > 0);
    assert_eq!(s.head_seq().unwrap(), head, "the head stays");
    let li = principal(&*s, "li");
    let page = s
        .pull(
            &li,
            None,
            1,
            PullLimits {
                max_documents: 10,
                max_bytes: 1 << 20,
            },
        )
        .unwrap();
    let (id, whole, bytes) = &page.documents[0];
    assert_eq!((id.as_str(), *whole), ("c1", true));
    assert_eq!(AutoCommit::load(bytes).unwrap().get_heads(), d.get_heads());
}

/// Every change to users or their territories raises the directory's version, and a read of
/// the users comes with the version they are of; what changes nothing else (a session, a
/// document) leaves it.
fn the_directory_version_rises_with_every_change_to_users_and_only_then(
    open: fn() -> Option<Opened>,
) {
    let Some((s, _keep)) = open() else { return };
    let start = s.directory_version().unwrap();
    people(&*s);
    let after_people = s.directory_version().unwrap();
    assert!(
        after_people > start,
        "adding users left the version at {start}"
    );
    let (read_at, users) = s.users_versioned().unwrap();
    assert_eq!(read_at, after_people);
    assert_eq!(users.len(), s.users().unwrap().len());

    type Step = Box<dyn Fn(&dyn Storage)>;
    let mut steps: Vec<(&str, Step)> = vec![
        (
            "disable",
            Box::new(|s| assert!(s.set_disabled("li", true).unwrap())),
        ),
        (
            "enable",
            Box::new(|s| assert!(s.set_disabled("li", false).unwrap())),
        ),
        (
            "new password",
            Box::new(|s| assert!(s.set_password_hash("li", "another-hash").unwrap())),
        ),
        (
            "new territories and manager",
            Box::new(|s| {
                let moved = user("li", Role::Rep, &["north"], Some("chen"));
                assert!(s.update_user(&moved, &[]).unwrap());
            }),
        ),
        (
            "territory renamed",
            Box::new(|s| s.rename_territory("north", "north-west").unwrap()),
        ),
    ];
    let mut last = after_people;
    for (what, step) in steps.drain(..) {
        step(&*s);
        let now = s.directory_version().unwrap();
        assert!(now > last, "{what} left the directory's version at {last}");
        last = now;
    }
    // Sessions, refresh tokens and documents are not the directory.
    s.create_session(&Session {
        id: "s1".into(),
        username: "li".into(),
        device_name: "phone".into(),
        created_at: 1,
    })
    .unwrap();
    let mut d = new_doc("c1");
    s.commit_batch(&[customer_commit(&mut d, &[], "c1", "zhang", "east")])
        .unwrap();
    assert_eq!(s.directory_version().unwrap(), last);
    let li = s
        .users()
        .unwrap()
        .into_iter()
        .find(|u| u.username == "li")
        .unwrap();
    assert_eq!(li.territories, vec!["north-west".to_string()]);
}

/// The read-model row of a document titled `title`.
fn view(id: &str, title: &str) -> DocView {
    DocView {
        id: id.into(),
        title: title.into(),
        day: None,
        at: None,
        status: None,
        tier: Some("A".into()),
        followup: None,
        amount: Some(1200),
        currency: None,
        search: title.to_lowercase(),
        view: "{}".into(),
    }
}

fn a_batch_is_stored_as_its_commits_one_after_another(open: fn() -> Option<Opened>) {
    let Some((s, _keep)) = open() else { return };
    people(&*s);
    let mut c1 = new_doc("c1");
    let mut c3 = new_doc("c3");
    let c3_first = c3.clone();
    s.commit_batch(&[
        customer_commit(&mut c1, &[], "c1", "li", "east"),
        customer_commit(&mut c3, &[], "c3", "chen", "north"),
    ])
    .unwrap();
    let cursor = s.head_seq().unwrap();

    // A visit of c1, then c1 handed to chen (its visit follows it), a new customer written
    // twice, a change the log already holds, and a visit of the customer written just before.
    let mut v1 = new_doc("visit 1");
    let mut visit1 = commit(
        &mut v1,
        &[],
        DocScope {
            customer: Some("c1".into()),
            author: Some("li".into()),
            ..DocScope::of(DocKind::Visit, "v1")
        },
    );
    visit1.governed_by = (Some("li".into()), Some("east".into()));
    let mut moved = handed_from_li_to_chen(&mut c1, "c1");
    moved.view = Some(view("c1", "c1 moved"));
    let mut c2 = new_doc("c2");
    let mut c2_new = customer_commit(&mut c2, &[], "c2", "li", "east");
    c2_new.view = Some(view("c2", "c2"));
    let before = c2.get_heads();
    c2.put(ROOT, "city", "杭州").unwrap();
    c2.commit();
    let mut c2_again = customer_commit(&mut c2, &before, "c2", "li", "east");
    c2_again.view = Some(view("c2", "c2 again"));
    let mut resent = c3_first.clone();
    let resent = customer_commit(&mut resent, &[], "c3", "chen", "north");
    let mut v2 = new_doc("visit 2");
    let mut visit2 = commit(
        &mut v2,
        &[],
        DocScope {
            customer: Some("c2".into()),
            author: Some("li".into()),
            ..DocScope::of(DocKind::Visit, "v2")
        },
    );
    visit2.governed_by = (Some("li".into()), Some("east".into()));
    let seqs = s
        .commit_batch(&[visit1, moved, c2_new, c2_again, resent, visit2])
        .unwrap();

    assert_eq!(seqs[4], 0, "a change already logged is not logged again");
    let numbered: Vec<u64> = seqs.iter().copied().filter(|&n| n > 0).collect();
    assert!(
        numbered.windows(2).all(|w| w[0] < w[1]) && numbered[0] > cursor,
        "{seqs:?} after {cursor}"
    );
    assert_eq!(s.head_seq().unwrap(), seqs[5]);
    let sorted = |who: &str| {
        let (mut ids, _, _) = pulled(&*s, who, 0, 100);
        ids.sort();
        ids
    };
    assert_eq!(sorted("chen"), ["c1", "c3", "v1"], "the visit followed c1");
    // A visit stays with the rep who wrote it.
    assert_eq!(sorted("li"), ["c2", "v1", "v2"]);
    let li = principal(&*s, "li");
    let limits = PullLimits {
        max_documents: 100,
        max_bytes: 1 << 20,
    };
    let mut revoked = s.pull(&li, None, cursor, limits).unwrap().revoked;
    revoked.sort();
    assert_eq!(revoked, ["c1"]);
    let c2_heads: Vec<String> = c2.get_heads().iter().map(ToString::to_string).collect();
    let c2_history = s.doc_history("c2").unwrap();
    assert_eq!(c2_history.changes_since_snapshot, 2);
    assert_eq!(c2_history.heads, Some(c2_heads.join(",")));
    assert_eq!(s.doc_history("nothing").unwrap().heads, None);
    let (scope, heads) = s.doc_scope_and_heads("c2").unwrap().unwrap();
    assert_eq!(
        (scope.owner.as_deref(), heads),
        (Some("li"), c2_heads.join(","))
    );
    assert!(s.doc_scope_and_heads("nothing").unwrap().is_none());
    // Read together: each in the order asked, the same as read alone, none for what is not
    // stored, and an id asked twice answered twice.
    let together = s
        .doc_scopes_and_heads(&["v2", "nothing", "c2", "c1", "c2"])
        .unwrap();
    let alone: Vec<_> = ["v2", "nothing", "c2", "c1", "c2"]
        .iter()
        .map(|id| s.doc_scope_and_heads(id).unwrap())
        .collect();
    assert_eq!(together, alone);
    assert_eq!(
        together.iter().map(Option::is_some).collect::<Vec<_>>(),
        [true, false, true, true, true]
    );
    assert!(s.doc_scopes_and_heads(&[]).unwrap().is_empty());

    // Read ahead: the history of each, and the document itself where the copy is not current.
    let read = s
        .read_ahead(
            &["c2", "c1", "nothing"],
            &[Some(c2_heads.join(",")), Some("stale".into()), None],
        )
        .unwrap();
    assert_eq!(read.len(), 3);
    assert_eq!(read[0].history, c2_history);
    assert!(read[0].stored.is_none(), "the copy of c2 is current");
    assert_eq!(read[1].history, s.doc_history("c1").unwrap());
    let mut c1_read = read[1].stored.clone().unwrap().assemble("c1").unwrap();
    assert_eq!(c1_read.get_heads(), c1.get_heads());
    assert_eq!(read[2].history, DocHistory::default());
    assert!(read[2].stored.is_none());
    let mut stored = s.load_doc("c2").unwrap().unwrap().assemble("c2").unwrap();
    assert_eq!(stored.get_heads(), c2.get_heads());
    let mut stored = s.load_doc("c3").unwrap().unwrap().assemble("c3").unwrap();
    assert_eq!(stored.get_heads(), c3.get_heads());
    let (rows, _) = s
        .views(&li, &ViewQuery::of(DocKind::Customer, ViewOrder::Title))
        .unwrap();
    let titles: Vec<(&str, Option<i64>)> = rows
        .iter()
        .map(|r| (r.view.title.as_str(), r.view.amount))
        .collect();
    assert_eq!(
        titles,
        [("c2 again", Some(1200))],
        "the last row of c2 counts"
    );
}

/// The documents `who` on device session `session` is sent after `cursor`, sorted.
fn pulled_by(s: &dyn Storage, who: &str, session: Option<&str>, cursor: u64) -> Vec<String> {
    let limits = PullLimits {
        max_documents: 100,
        max_bytes: 1 << 20,
    };
    let page = s.pull(&principal(s, who), session, cursor, limits).unwrap();
    let mut ids: Vec<String> = page.documents.into_iter().map(|(id, _, _)| id).collect();
    ids.sort();
    ids
}

/// Commits the changes of `doc` after `since` from device session `session` (none: the
/// server's own edit) and answers the log's head after them.
fn commit_from(
    s: &dyn Storage,
    doc: &mut AutoCommit,
    id: &str,
    session: Option<&str>,
    value: &str,
) -> u64 {
    let since = doc.get_heads();
    doc.put(ROOT, "note", value).unwrap();
    doc.commit();
    let mut c = customer_commit(doc, &since, id, "li", "east");
    c.session = session.map(str::to_string);
    s.commit_batch(&[c]).unwrap();
    s.head_seq().unwrap()
}

/// A device is sent what another session changed after its cursor, and not what only it
/// changed since: whichever session wrote last, and however the sessions took turns.
fn a_device_is_sent_what_other_sessions_changed_after_its_cursor_and_not_its_own(
    open: fn() -> Option<Opened>,
) {
    let Some((s, _keep)) = open() else { return };
    people(&*s);
    let mut docs: Vec<AutoCommit> = ["c1", "c2", "c3"].iter().map(|id| new_doc(id)).collect();
    for ((doc, id), session) in
        docs.iter_mut()
            .zip(["c1", "c2", "c3"])
            .zip([Some("phone"), Some("laptop"), None])
    {
        let mut c = customer_commit(doc, &[], id, "li", "east");
        c.session = session.map(str::to_string);
        s.commit_batch(&[c]).unwrap();
    }
    // A first sync leaves out what only the device itself wrote.
    assert_eq!(pulled_by(&*s, "li", Some("phone"), 0), ["c2", "c3"]);
    assert_eq!(pulled_by(&*s, "li", Some("laptop"), 0), ["c1", "c3"]);
    assert_eq!(pulled_by(&*s, "li", None, 0), ["c1", "c2", "c3"]);
    let start = s.head_seq().unwrap();

    // c1: the laptop, then the phone again; c2: the phone twice; c3: the server.
    let (c1, rest) = docs.split_first_mut().unwrap();
    let (c2, rest) = rest.split_first_mut().unwrap();
    let c3 = &mut rest[0];
    let after_laptop = commit_from(&*s, c1, "c1", Some("laptop"), "laptop");
    commit_from(&*s, c1, "c1", Some("phone"), "phone");
    commit_from(&*s, c2, "c2", Some("phone"), "one");
    let after_phone = commit_from(&*s, c2, "c2", Some("phone"), "two");
    commit_from(&*s, c3, "c3", None, "server");

    assert_eq!(
        pulled_by(&*s, "li", Some("phone"), start),
        ["c1", "c3"],
        "the laptop's change to c1 counts though the phone wrote after it; c2 is the phone's alone"
    );
    assert_eq!(
        pulled_by(&*s, "li", Some("phone"), after_laptop),
        ["c3"],
        "after the laptop's change, c1 changed by the phone only"
    );
    assert_eq!(
        pulled_by(&*s, "li", Some("laptop"), start),
        ["c1", "c2", "c3"]
    );
    assert_eq!(pulled_by(&*s, "li", Some("laptop"), after_phone), ["c3"]);
    assert_eq!(pulled_by(&*s, "li", None, after_laptop), ["c1", "c2", "c3"]);
    let head = s.head_seq().unwrap();
    assert!(pulled_by(&*s, "li", Some("tablet"), head).is_empty());
}

/// Documents a pull reads whole after a first sync are kept in memory for the next device
/// (`RecentDocuments`): what they serve is what storage gives, whether the document changed
/// since (read again) or its changes were compacted into a snapshot (the same document).
fn documents_kept_in_memory_for_the_next_device_are_what_storage_gives(
    open: fn() -> Option<Opened>,
) {
    let Some((s, _keep)) = open() else { return };
    people(&*s);
    let li = principal(&*s, "li");
    let limits = PullLimits {
        max_documents: 100,
        max_bytes: 1 << 20,
    };
    let mut before_cursor = new_doc("c0");
    s.commit_batch(&[customer_commit(&mut before_cursor, &[], "c0", "li", "east")])
        .unwrap();
    let cursor = s.head_seq().unwrap();
    let mut docs: Vec<AutoCommit> = ["c1", "c2"].iter().map(|id| new_doc(id)).collect();
    for (doc, id) in docs.iter_mut().zip(["c1", "c2"]) {
        let mut c = customer_commit(doc, &[], id, "li", "east");
        c.session = Some("phone".into());
        s.commit_batch(&[c]).unwrap();
    }
    let served = Counter::default();
    let recent = RecentDocuments::new(1 << 20, served.clone());
    let pull = |session: &str| {
        s.pull_remembering(Some(&recent), &li, Some(session), cursor, limits)
            .unwrap()
    };
    let stored = |session: &str| s.pull(&li, Some(session), cursor, limits).unwrap();

    // The laptop reads both from storage; the tablet is given the same bytes from memory.
    let laptop = pull("laptop");
    assert_eq!(served.get(), 0);
    let tablet = pull("tablet");
    assert_eq!(served.get(), 2, "both new documents came from memory");
    assert_eq!(tablet.documents, laptop.documents);
    assert_eq!(tablet.documents, stored("tablet").documents);
    assert_eq!((tablet.cursor, tablet.more), (laptop.cursor, laptop.more));

    // c1 changes: its new state is read, not the one kept.
    let before = docs[0].get_heads();
    docs[0].put(ROOT, "note", "called back").unwrap();
    docs[0].commit();
    let mut c = customer_commit(&mut docs[0], &before, "c1", "li", "east");
    c.session = Some("phone".into());
    s.commit_batch(&[c]).unwrap();
    let after = pull("tablet");
    assert_eq!(served.get(), 3, "only c2 came from memory");
    assert_eq!(after.documents, stored("tablet").documents);

    // Compacted, the documents are stored as snapshots: what memory holds is the same document.
    s.compact_log(s.head_seq().unwrap()).unwrap();
    let compacted = pull("tablet");
    let from_storage = stored("tablet");
    assert_eq!(compacted.documents.len(), from_storage.documents.len());
    for ((id, whole, bytes), (sid, swhole, sbytes)) in
        compacted.documents.iter().zip(&from_storage.documents)
    {
        assert_eq!((id, whole), (sid, swhole));
        assert_eq!(
            AutoCommit::load(bytes).unwrap().get_heads(),
            AutoCommit::load(sbytes).unwrap().get_heads(),
            "{id}"
        );
    }
    let heads: Vec<_> = compacted
        .documents
        .iter()
        .map(|(id, _, bytes)| (id.as_str(), AutoCommit::load(bytes).unwrap().get_heads()))
        .collect();
    assert_eq!(
        heads,
        [("c2", docs[1].get_heads()), ("c1", docs[0].get_heads())],
        "below the floor, in the order of their last changes"
    );
}

macro_rules! conformance {
    ($backend:ident) => {
        mod $backend {
            #[test]
            fn documents_kept_in_memory_for_the_next_device_are_what_storage_gives() {
                super::documents_kept_in_memory_for_the_next_device_are_what_storage_gives(
                    super::$backend,
                );
            }
            #[test]
            fn users_are_kept_and_a_taken_name_is_a_conflict() {
                super::users_are_kept_and_a_taken_name_is_a_conflict(super::$backend);
            }
            #[test]
            fn a_refresh_token_is_used_once_and_a_replay_or_a_revoked_session_is_told_apart() {
                super::a_refresh_token_is_used_once_and_a_replay_or_a_revoked_session_is_told_apart(
                    super::$backend,
                );
            }
            #[test]
            fn a_persistent_value_keeps_the_first_one_set() {
                super::a_persistent_value_keeps_the_first_one_set(super::$backend);
            }
            #[test]
            fn committed_documents_come_back_with_their_scope_and_numbers_only_grow() {
                super::committed_documents_come_back_with_their_scope_and_numbers_only_grow(
                    super::$backend,
                );
            }
            #[test]
            fn a_pull_gives_what_is_in_scope_after_the_cursor_in_pages() {
                super::a_pull_gives_what_is_in_scope_after_the_cursor_in_pages(super::$backend);
            }
            #[test]
            fn pages_read_many_documents_at_once_and_stop_at_their_byte_budget() {
                super::pages_read_many_documents_at_once_and_stop_at_their_byte_budget(
                    super::$backend,
                );
            }
            #[test]
            fn a_document_leaving_a_scope_is_revoked_there() {
                super::a_document_leaving_a_scope_is_revoked_there(super::$backend);
            }
            #[test]
            fn the_directory_version_rises_with_every_change_to_users_and_only_then() {
                super::the_directory_version_rises_with_every_change_to_users_and_only_then(
                    super::$backend,
                );
            }
            #[test]
            fn a_batch_is_stored_as_its_commits_one_after_another() {
                super::a_batch_is_stored_as_its_commits_one_after_another(super::$backend);
            }
            #[test]
            fn a_new_document_is_sent_whole_as_its_first_save_and_the_changes_after_it() {
                super::a_new_document_is_sent_whole_as_its_first_save_and_the_changes_after_it(
                    super::$backend,
                );
            }
            #[test]
            fn a_device_is_sent_what_other_sessions_changed_after_its_cursor_and_not_its_own() {
                super::a_device_is_sent_what_other_sessions_changed_after_its_cursor_and_not_its_own(
                    super::$backend,
                );
            }
            #[test]
            fn compaction_keeps_every_document_whole_for_an_old_cursor() {
                super::compaction_keeps_every_document_whole_for_an_old_cursor(super::$backend);
            }
        }
    };
}

conformance!(sqlite);
conformance!(postgres);
