//! The sync engine against a small in-test server: no sockets, deterministic.
//!
//! `Server` keeps what the real one keeps in outline: a log of `(seq, doc_id, change bytes)`
//! and each document as Automerge, so it refuses what Automerge refuses (two different changes
//! with one actor and sequence number). It accepts every push except the documents a test
//! marks as refused, answers with the logged changes after the cursor a page at a time, and
//! can add revocations or damaged data to its next answer. The real server's end-to-end tests
//! live in the workspace's `tests/` crate.
#![allow(clippy::unwrap_used)]

mod common;

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use automerge::AutoCommit;
use common::{Device, device, new_customer};
use fieldsync_core::Store;
use fieldsync_core::model::customer::{CustomerEdit, Tier};
use fieldsync_core::model::visit::NewVisit;
use fieldsync_core::protocol::{
    self, Accepted, PROTOCOL_VERSION, PulledDocument, Rejected, SyncRequest, SyncResponse,
};
use fieldsync_core::store::CustomerQuery;
use fieldsync_core::sync::engine::{
    PushBudget, apply_response, build_request, build_request_limited,
};
use fieldsync_core::sync::{self, MAX_ROUNDS, Progress, SyncError, SyncReport, Transport};
use serde_bytes::ByteBuf;

#[derive(Default)]
struct Server {
    log: Vec<(u64, String, Vec<u8>)>,
    docs: HashMap<String, AutoCommit>,
    /// Documents to refuse, with the rule and reason.
    refuse: HashMap<String, (String, String)>,
    /// At most this many log entries per answer (0: no limit).
    page: usize,
    /// Added to the next answer.
    revoke: Vec<String>,
    /// Added to the next answer.
    inject: Vec<PulledDocument>,
}

impl Server {
    fn handle(&mut self, req: SyncRequest) -> SyncResponse {
        assert_eq!(req.protocol, PROTOCOL_VERSION);
        let mut accepted = Vec::new();
        let mut rejected = Vec::new();
        for push in req.push {
            if let Some((rule, reason)) = self.refuse.get(&push.id) {
                rejected.push(Rejected {
                    id: push.id,
                    rule: rule.clone(),
                    reason: reason.clone(),
                });
                continue;
            }
            let mut doc = self.docs.get(&push.id).cloned().unwrap_or_default();
            let before = doc.get_heads();
            let data: Vec<u8> = push.changes.iter().flat_map(|c| c.to_vec()).collect();
            if let Err(e) = doc.load_incremental(&data) {
                rejected.push(Rejected {
                    id: push.id,
                    rule: "corrupt".into(),
                    reason: e.to_string(),
                });
                continue;
            }
            if !doc.get_missing_deps(&[]).is_empty() {
                rejected.push(Rejected {
                    id: push.id,
                    rule: "missing_dependencies".into(),
                    reason: "push the earlier changes too".into(),
                });
                continue;
            }
            for mut change in doc.get_changes(&before) {
                let seq = self.log.len() as u64 + 1;
                self.log
                    .push((seq, push.id.clone(), change.bytes().into_owned()));
            }
            accepted.push(Accepted {
                id: push.id.clone(),
                heads: doc.get_heads().iter().map(|h| h.to_string()).collect(),
            });
            self.docs.insert(push.id, doc);
        }
        let after: Vec<_> = self.log.iter().filter(|e| e.0 > req.cursor).collect();
        let take = if self.page == 0 {
            after.len()
        } else {
            self.page.min(after.len())
        };
        let mut documents: Vec<PulledDocument> = Vec::new();
        for (_, id, bytes) in &after[..take] {
            match documents.iter_mut().find(|d| &d.id == id) {
                Some(d) => d.data.extend_from_slice(bytes),
                None => documents.push(PulledDocument {
                    id: id.clone(),
                    snapshot: false,
                    data: ByteBuf::from(bytes.clone()),
                }),
            }
        }
        documents.append(&mut self.inject);
        SyncResponse {
            protocol: PROTOCOL_VERSION,
            accepted,
            rejected,
            documents,
            revoked: std::mem::take(&mut self.revoke),
            cursor: after[..take].last().map_or(req.cursor, |e| e.0),
            more: take < after.len(),
            settings: None,
            history: None,
            forked_from: None,
        }
    }

    fn last_seq(&self) -> u64 {
        self.log.len() as u64
    }
}

/// A device's connection to the shared server; it can lose the next answer after the server
/// has handled the request, as a dropped connection does.
struct Link {
    server: Rc<RefCell<Server>>,
    lose_next_answer: bool,
}

impl Transport for Link {
    fn sync_round(&mut self, body: Vec<u8>) -> Result<Vec<u8>, SyncError> {
        let req: SyncRequest = protocol::decode(&body).unwrap();
        let resp = self.server.borrow_mut().handle(req);
        if std::mem::take(&mut self.lose_next_answer) {
            return Err(SyncError::Network("the connection dropped".into()));
        }
        Ok(protocol::encode(&resp))
    }
}

fn server() -> Rc<RefCell<Server>> {
    Rc::new(RefCell::new(Server::default()))
}

fn link(server: &Rc<RefCell<Server>>) -> Link {
    Link {
        server: server.clone(),
        lose_next_answer: false,
    }
}

fn sync_with(server: &Rc<RefCell<Server>>, store: &Store) -> Result<SyncReport, SyncError> {
    sync::run(store, &mut link(server), |_| {})
}

fn names(store: &Store) -> Vec<String> {
    store
        .list_customers(&CustomerQuery::default())
        .unwrap()
        .into_iter()
        .map(|r| r.name)
        .collect()
}

fn new_visit(customer: &str, summary: &str) -> NewVisit {
    NewVisit {
        customer: customer.into(),
        author: "li.wei".into(),
        checkin_at: "2025-03-03T02:00:00Z".into(),
        utc_offset_minutes: 480,
        summary: summary.into(),
        ..Default::default()
    }
}

fn notes(d: &Device, id: &str) -> String {
    d.store.customer(id).unwrap().notes.as_str().to_string()
}

#[test]
fn two_devices_converge_through_the_server() {
    let server = server();
    let laptop = device("laptop");
    let phone = device("phone");
    let c = laptop
        .store
        .create_customer(new_customer("华东精密机械有限公司"))
        .unwrap();
    let v = laptop
        .store
        .create_visit(new_visit(&c, "谈了下季度的订单。"))
        .unwrap();

    let first = sync_with(&server, &laptop.store).unwrap();
    assert_eq!((first.pushed, first.rejected), (2, 0));
    let pulled = sync_with(&server, &phone.store).unwrap();
    assert_eq!(pulled.pulled, 2);
    assert_eq!(names(&phone.store), vec!["华东精密机械有限公司"]);
    assert_eq!(phone.store.visits_of_customer(&c, 10).unwrap()[0].id, v);

    // Offline, each edits another field of the customer.
    laptop
        .store
        .update_customer(&c, &[CustomerEdit::Tier(Tier::A)])
        .unwrap();
    phone
        .store
        .update_customer(
            &c,
            &[CustomerEdit::AppendNotes("客户计划下季度扩产。".into())],
        )
        .unwrap();
    for store in [&laptop.store, &phone.store, &laptop.store] {
        sync_with(&server, store).unwrap();
    }

    for d in [&laptop, &phone] {
        let customer = d.store.customer(&c).unwrap();
        assert_eq!(customer.tier, Tier::A);
        assert!(notes(d, &c).contains("客户计划下季度扩产。"));
        assert!(d.store.unsent_documents().unwrap().is_empty());
        assert_eq!(d.store.sync_cursor().unwrap(), server.borrow().last_seq());
        assert!(d.store.last_sync_at().unwrap().is_some());
    }
    assert_eq!(
        laptop.store.heads(&c).unwrap(),
        phone.store.heads(&c).unwrap()
    );
    // Nothing left to do: one round, nothing pushed or pulled.
    let idle = sync_with(&server, &phone.store).unwrap();
    assert_eq!((idle.round_trips, idle.pushed, idle.pulled), (1, 0, 0));
}

#[test]
fn a_rejected_document_ends_in_quarantine_and_the_others_are_acknowledged() {
    let server = server();
    let d = device("laptop");
    let kept = d
        .store
        .create_customer(new_customer("苏州新材料科技"))
        .unwrap();
    let refused = d
        .store
        .create_customer(new_customer("华东精密机械有限公司"))
        .unwrap();
    server.borrow_mut().refuse.insert(
        refused.clone(),
        ("scope".into(), "east is not your territory".into()),
    );

    let report = sync_with(&server, &d.store).unwrap();
    assert_eq!((report.pushed, report.rejected), (2, 1));
    assert!(d.store.unsent_documents().unwrap().is_empty());
    assert_eq!(
        d.store.acked_heads(&kept).unwrap(),
        d.store.heads(&kept).unwrap()
    );
    // Never acknowledged, so it is gone from the store and whole in the quarantine.
    assert!(d.store.customer(&refused).is_err());
    assert_eq!(names(&d.store), vec!["苏州新材料科技"]);
    let q = d.store.list_quarantine().unwrap();
    assert_eq!(q.len(), 1);
    assert_eq!(
        (
            q[0].doc_id.as_str(),
            q[0].rule.as_str(),
            q[0].reason.as_str()
        ),
        (refused.as_str(), "scope", "east is not your territory")
    );
    assert!(!server.borrow().docs.contains_key(&refused));

    // An acknowledged document whose later edit is refused goes back to what was acknowledged.
    d.store
        .update_customer(&kept, &[CustomerEdit::Name("改掉的名字".into())])
        .unwrap();
    server.borrow_mut().refuse.insert(
        kept.clone(),
        ("field_rights".into(), "reps cannot rename".into()),
    );
    let report = sync_with(&server, &d.store).unwrap();
    assert_eq!(report.rejected, 1);
    assert_eq!(names(&d.store), vec!["苏州新材料科技"]);
    assert_eq!(d.store.list_quarantine().unwrap().len(), 2);
    assert!(d.store.unsent_documents().unwrap().is_empty());
}

#[test]
fn after_a_rejection_the_device_keeps_editing_and_its_later_changes_are_accepted() {
    let server = server();
    let d = device("laptop");
    let other = device("phone");
    let c = d
        .store
        .create_customer(new_customer("华东精密机械有限公司"))
        .unwrap();
    sync_with(&server, &d.store).unwrap();
    let old_actor = d.store.actor_id();

    // E1 reaches the server, but the answer is lost: the device does not know it was taken.
    d.store
        .update_customer(&c, &[CustomerEdit::AppendNotes("第一条".into())])
        .unwrap();
    let mut lossy = link(&server);
    lossy.lose_next_answer = true;
    assert!(matches!(
        sync::run(&d.store, &mut lossy, |_| {}),
        Err(SyncError::Network(_))
    ));
    // E2; now the server refuses the document (E1 and E2 are pushed again, together).
    d.store
        .update_customer(&c, &[CustomerEdit::AppendNotes("第二条".into())])
        .unwrap();
    server
        .borrow_mut()
        .refuse
        .insert(c.clone(), ("schema".into(), "bad notes".into()));
    let (request, pending) = build_request(&d.store).unwrap();
    let mut response = server.borrow_mut().handle(request);
    assert_eq!(response.rejected.len(), 1);
    // This answer's page ends before E1 (as when the log is paged): E1 comes back later.
    response.documents.clear();
    response.cursor = pending.cursor();
    response.more = true;
    apply_response(&d.store, &pending, response).unwrap();
    assert_eq!(d.store.list_quarantine().unwrap().len(), 1);
    assert_ne!(
        d.store.actor_id(),
        old_actor,
        "a quarantine brings a new actor"
    );
    assert!(!notes(&d, &c).contains("第一条") && !notes(&d, &c).contains("第二条"));

    // The user keeps editing before E1 is back. With the old actor this change would take
    // E1's sequence number, and the server (which has E1) would refuse it.
    server.borrow_mut().refuse.clear();
    d.store
        .update_customer(&c, &[CustomerEdit::AppendNotes("第三条".into())])
        .unwrap();
    let report = sync_with(&server, &d.store).unwrap();
    assert_eq!((report.pushed, report.rejected), (1, 0));
    assert!(d.store.unsent_documents().unwrap().is_empty());
    assert!(
        notes(&d, &c).contains("第一条"),
        "E1 came back from the server"
    );

    sync_with(&server, &other.store).unwrap();
    let seen = notes(&other, &c);
    assert!(seen.contains("第一条") && seen.contains("第三条") && !seen.contains("第二条"));
    assert_eq!(other.store.heads(&c).unwrap(), d.store.heads(&c).unwrap());
}

#[test]
fn a_local_edit_made_during_a_round_stays_unsent() {
    let server = server();
    let d = device("laptop");
    let c = d
        .store
        .create_customer(new_customer("华东精密机械有限公司"))
        .unwrap();

    let (request, pending) = build_request(&d.store).unwrap();
    let pushed = pending.pushed_heads(&c).unwrap().to_vec();
    d.store
        .update_customer(&c, &[CustomerEdit::AppendNotes("同步途中写的".into())])
        .unwrap();
    let response = server.borrow_mut().handle(request);
    let outcome = apply_response(&d.store, &pending, response).unwrap();
    assert_eq!(outcome.accepted, 1);

    assert_eq!(d.store.acked_heads(&c).unwrap(), pushed);
    assert_ne!(d.store.heads(&c).unwrap(), pushed);
    assert_eq!(d.store.unsent_documents().unwrap(), vec![c.clone()]);
    let (_, unsent) = d.store.unsent_changes(&c).unwrap();
    assert_eq!(unsent.len(), 1, "only the edit made during the round");
    assert!(notes(&d, &c).contains("同步途中写的"));

    // The next sync delivers it.
    sync_with(&server, &d.store).unwrap();
    let other = device("phone");
    sync_with(&server, &other.store).unwrap();
    assert!(notes(&other, &c).contains("同步途中写的"));
}

#[test]
fn an_edit_through_another_connection_during_a_round_stays_unsent() {
    let server = server();
    let d = device("laptop");
    let ui = Store::open(d.store.path()).unwrap();
    let c = d
        .store
        .create_customer(new_customer("华东精密机械有限公司"))
        .unwrap();
    sync_with(&server, &d.store).unwrap();
    // The server has news for the document too, so the round also merges into it.
    let phone = device("phone");
    sync_with(&server, &phone.store).unwrap();
    phone
        .store
        .update_customer(&c, &[CustomerEdit::Tier(Tier::A)])
        .unwrap();
    sync_with(&server, &phone.store).unwrap();

    let (request, pending) = build_request(&d.store).unwrap();
    assert!(pending.is_empty());
    ui.update_customer(&c, &[CustomerEdit::AppendNotes("界面里写的".into())])
        .unwrap();
    let response = server.borrow_mut().handle(request);
    let outcome = apply_response(&d.store, &pending, response).unwrap();
    assert_eq!(outcome.pulled, 1);

    assert_eq!(d.store.customer(&c).unwrap().tier, Tier::A);
    assert!(notes(&d, &c).contains("界面里写的"));
    assert_eq!(d.store.unsent_documents().unwrap(), vec![c.clone()]);
    sync_with(&server, &d.store).unwrap();
    sync_with(&server, &phone.store).unwrap();
    assert!(notes(&phone, &c).contains("界面里写的"));
}

#[test]
fn pulled_data_merges_and_is_not_pushed_back() {
    let server = server();
    let laptop = device("laptop");
    let phone = device("phone");
    let c = laptop
        .store
        .create_customer(new_customer("华东精密机械有限公司"))
        .unwrap();
    sync_with(&server, &laptop.store).unwrap();
    sync_with(&server, &phone.store).unwrap();

    let found = phone
        .store
        .list_customers(&CustomerQuery {
            search: Some("华东".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(found[0].id, c);
    assert_eq!(
        phone.store.acked_heads(&c).unwrap(),
        phone.store.heads(&c).unwrap()
    );
    let (request, pending) = build_request(&phone.store).unwrap();
    assert!(request.push.is_empty() && pending.is_empty());

    // Pulled news for a document with unsent local work: both survive, and the local work is
    // still pushed.
    laptop
        .store
        .update_customer(&c, &[CustomerEdit::Tier(Tier::A)])
        .unwrap();
    sync_with(&server, &laptop.store).unwrap();
    phone
        .store
        .update_customer(&c, &[CustomerEdit::AppendNotes("手机上写的".into())])
        .unwrap();
    let (request, pending) = build_request(&phone.store).unwrap();
    let response = server.borrow_mut().handle(request);
    apply_response(&phone.store, &pending, response).unwrap();
    assert_eq!(phone.store.customer(&c).unwrap().tier, Tier::A);
    sync_with(&server, &laptop.store).unwrap();
    assert!(notes(&laptop, &c).contains("手机上写的"));
}

#[test]
fn revoked_documents_disappear_with_their_projection_rows() {
    let server = server();
    let d = device("laptop");
    let c = d
        .store
        .create_customer(new_customer("华东精密机械有限公司"))
        .unwrap();
    let v = d.store.create_visit(new_visit(&c, "谈了订单。")).unwrap();
    let kept = d
        .store
        .create_customer(new_customer("苏州新材料科技"))
        .unwrap();
    sync_with(&server, &d.store).unwrap();

    server.borrow_mut().revoke = vec![c.clone(), v.clone()];
    let report = sync_with(&server, &d.store).unwrap();
    assert_eq!(report.round_trips, 1);

    assert_eq!(names(&d.store), vec!["苏州新材料科技"]);
    let search = d
        .store
        .list_customers(&CustomerQuery {
            search: Some("华东精密".into()),
            ..Default::default()
        })
        .unwrap();
    assert!(search.is_empty());
    assert!(d.store.visits_of_customer(&c, 10).unwrap().is_empty());
    assert!(d.store.customer(&c).is_err() && d.store.visit(&v).is_err());
    let ids: Vec<String> = d
        .store
        .document_ids()
        .unwrap()
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(ids, vec![kept]);
    assert!(d.store.list_quarantine().unwrap().is_empty());
}

#[test]
fn the_cursor_advances_only_when_everything_was_merged() {
    let server = server();
    let laptop = device("laptop");
    let phone = device("phone");
    for name in ["华东精密机械有限公司", "苏州新材料科技"] {
        laptop.store.create_customer(new_customer(name)).unwrap();
    }
    sync_with(&server, &laptop.store).unwrap();
    let damaged = fieldsync_core::ids::new_id();
    server.borrow_mut().inject.push(PulledDocument {
        id: damaged.clone(),
        snapshot: true,
        data: ByteBuf::from(b"not an automerge document".to_vec()),
    });

    let err = sync_with(&server, &phone.store).unwrap_err();
    let SyncError::Incomplete { failed, report } = &err else {
        panic!("expected an incomplete sync, got {err}");
    };
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].id, damaged);
    assert_eq!(report.pulled, 2, "the good documents were merged");
    assert!(err.to_string().contains("could not be merged"));
    assert_eq!(names(&phone.store).len(), 2);
    assert_eq!(phone.store.sync_cursor().unwrap(), 0, "the cursor stayed");
    assert_eq!(phone.store.last_sync_at().unwrap(), None);

    // Next time the server sends good data: the sync completes and the cursor moves.
    let report = sync_with(&server, &phone.store).unwrap();
    assert_eq!(report.pulled, 2, "fetched again, merged idempotently");
    assert_eq!(
        phone.store.sync_cursor().unwrap(),
        server.borrow().last_seq()
    );
}

/// A server answering two log entries a page, holding `n` customers the laptop pushed, and a
/// phone that has synced nothing yet.
fn paged_with_customers(n: usize) -> (Rc<RefCell<Server>>, Device, Device) {
    let server = server();
    server.borrow_mut().page = 2;
    let laptop = device("laptop");
    let phone = device("phone");
    for n in 0..n {
        laptop
            .store
            .create_customer(new_customer(&format!("客户{n}号有限公司")))
            .unwrap();
    }
    sync_with(&server, &laptop.store).unwrap();
    (server, laptop, phone)
}

#[test]
fn large_answers_come_in_pages_with_progress() {
    let (server, _laptop, phone) = paged_with_customers(5);

    let mut seen: Vec<Progress> = Vec::new();
    let report = sync::run(&phone.store, &mut link(&server), |p| seen.push(p)).unwrap();
    assert_eq!(report.round_trips, 3);
    assert_eq!(report.pulled, 5);
    assert_eq!(names(&phone.store).len(), 5);
    let mores: Vec<bool> = seen.iter().map(|p| p.more).collect();
    assert_eq!(mores, vec![true, true, false]);
    assert_eq!(seen.iter().map(|p| p.rounds).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(seen.last().unwrap().pulled, 5);
    assert!(report.bytes_sent > 0 && report.bytes_received > report.bytes_sent);
}

/// A link that answers a round sent ahead at once, as the real server does while the device
/// merges, and tells which rounds took such an answer.
struct AheadLink {
    link: Link,
    /// The body sent ahead and the server's answer to it.
    ahead: Option<(Vec<u8>, Vec<u8>)>,
    /// Requests the server handled.
    handled: u32,
    /// Rounds answered from what was sent ahead.
    taken: u32,
    /// Rounds sent ahead and then not asked for.
    dropped: u32,
}

impl AheadLink {
    fn new(server: &Rc<RefCell<Server>>) -> AheadLink {
        AheadLink {
            link: link(server),
            ahead: None,
            handled: 0,
            taken: 0,
            dropped: 0,
        }
    }
}

impl Transport for AheadLink {
    fn sync_round(&mut self, body: Vec<u8>) -> Result<Vec<u8>, SyncError> {
        match self.ahead.take() {
            Some((sent, answer)) if sent == body => {
                self.taken += 1;
                return Ok(answer);
            }
            Some(_) => self.dropped += 1,
            None => {}
        }
        self.handled += 1;
        self.link.sync_round(body)
    }

    fn send_ahead(&mut self, body: Vec<u8>) {
        let request: SyncRequest = protocol::decode(&body).unwrap();
        assert!(request.push.is_empty(), "only pulls are sent ahead");
        if self.ahead.take().is_some() {
            self.dropped += 1;
        }
        self.handled += 1;
        let answer = self.link.sync_round(body.clone()).unwrap();
        self.ahead = Some((body, answer));
    }
}

#[test]
fn a_long_pull_asks_for_each_next_page_while_it_merges_the_one_before() {
    let (server, laptop, phone) = paged_with_customers(7);

    let mut transport = AheadLink::new(&server);
    let report = sync::run(&phone.store, &mut transport, |_| {}).unwrap();
    assert_eq!(report.round_trips, 4);
    assert_eq!(report.pulled, 7);
    assert_eq!(
        (transport.taken, transport.dropped, transport.handled),
        (3, 0, 4),
        "every page after the first was asked for while the one before merged, and each once"
    );
    assert_eq!(names(&phone.store), names(&laptop.store));
    assert_eq!(
        phone.store.sync_cursor().unwrap(),
        server.borrow().last_seq()
    );
}

#[test]
fn a_page_asked_for_ahead_is_dropped_when_the_device_wrote_meanwhile() {
    let (server, laptop, phone) = paged_with_customers(5);

    // The rep adds a customer on the phone after the first page was merged.
    let mut transport = AheadLink::new(&server);
    let mut written = None;
    let report = sync::run_rounds(&phone.store, &mut transport, |_, p| {
        if p.rounds == 1 {
            written = Some(
                phone
                    .store
                    .create_customer(new_customer("途中新增的客户"))
                    .unwrap(),
            );
        }
    })
    .unwrap();
    assert!(written.is_some());
    assert!(
        transport.dropped >= 1,
        "the round after the write pushes it: the pull sent ahead is not that round"
    );
    assert_eq!(report.pushed, 1);
    assert_eq!(
        phone.store.unsent_documents().unwrap(),
        Vec::<String>::new()
    );
    sync_with(&server, &laptop.store).unwrap();
    assert_eq!(names(&phone.store).len(), 6);
    assert_eq!(names(&laptop.store), names(&phone.store));
}

#[test]
fn a_cancelled_sync_keeps_the_rounds_it_finished_and_the_next_sync_completes() {
    /// Cancels before the round after `rounds` rounds, as an app's cancel button does.
    struct CancelAfter {
        link: Link,
        rounds: u32,
    }
    impl Transport for CancelAfter {
        fn sync_round(&mut self, body: Vec<u8>) -> Result<Vec<u8>, SyncError> {
            if self.rounds == 0 {
                return Err(SyncError::Cancelled);
            }
            self.rounds -= 1;
            self.link.sync_round(body)
        }
    }
    let (server, _laptop, phone) = paged_with_customers(5);

    let mut cancelling = CancelAfter {
        link: link(&server),
        rounds: 1,
    };
    let err = sync::run(&phone.store, &mut cancelling, |_| {}).unwrap_err();
    assert!(matches!(err, SyncError::Cancelled));
    assert_eq!(names(&phone.store).len(), 2, "the first page stays applied");
    assert!(phone.store.last_sync_at().unwrap().is_none());

    sync_with(&server, &phone.store).unwrap();
    assert_eq!(names(&phone.store).len(), 5);
}

#[test]
fn pushes_go_customers_first_and_split_by_size() {
    let server = server();
    let d = device("laptop");
    let c1 = d
        .store
        .create_customer(new_customer("华东精密机械有限公司"))
        .unwrap();
    let v1 = d
        .store
        .create_visit(new_visit(&c1, "第一次拜访。"))
        .unwrap();
    let c2 = d
        .store
        .create_customer(new_customer("苏州新材料科技"))
        .unwrap();

    let (request, _) = build_request(&d.store).unwrap();
    let order: Vec<&str> = request.push.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(order, vec![c1.as_str(), c2.as_str(), v1.as_str()]);

    let (small, pending) = build_request_limited(
        &d.store,
        PushBudget {
            wire_bytes: 1,
            ..PushBudget::default()
        },
    )
    .unwrap();
    assert_eq!(
        small.push.len(),
        1,
        "the first document goes even if it is larger"
    );
    assert_eq!(pending.len(), 1);
    let response = server.borrow_mut().handle(small);
    apply_response(&d.store, &pending, response).unwrap();
    assert_eq!(d.store.unsent_documents().unwrap().len(), 2);
}

#[test]
fn a_document_whose_changes_pass_the_budget_goes_in_causally_complete_parts() {
    let server = server();
    let laptop = device("laptop");
    let phone = device("phone");
    let id = laptop
        .store
        .create_customer(new_customer("宁波港城物流"))
        .unwrap();
    for n in 0..6 {
        laptop
            .store
            .update_customer(
                &id,
                &[CustomerEdit::AppendNotes(format!(
                    "细节一\n细节二\n细节三\n第{n}次补充"
                ))],
            )
            .unwrap();
    }
    let total: u64 = laptop
        .store
        .unsent_change_list(&id)
        .unwrap()
        .1
        .iter()
        .map(|c| c.len() as u64)
        .sum();
    // Room for two appends (four paragraphs each) a round.
    let budget = PushBudget {
        cost: fieldsync_core::cost::ChangeCost {
            ops: 8,
            bytes: u64::MAX,
        },
        ..PushBudget::default()
    };
    let mut rounds = 0;
    let mut pushed_ops = Vec::new();
    loop {
        let (request, pending) = build_request_limited(&laptop.store, budget).unwrap();
        if pending.is_empty() {
            break;
        }
        rounds += 1;
        assert!(rounds < 20, "the push never ends");
        let ops: u64 = request.push[0]
            .changes
            .iter()
            .flat_map(|c| fieldsync_core::cost::measure_changes(c).unwrap())
            .map(|c| c.ops)
            .sum();
        pushed_ops.push(ops);
        let response = server.borrow_mut().handle(request);
        assert!(response.rejected.is_empty(), "{:?}", response.rejected);
        apply_response(&laptop.store, &pending, response).unwrap();
    }
    assert!(rounds >= 3, "{rounds} rounds: {pushed_ops:?}");
    assert_eq!(pushed_ops.iter().sum::<u64>(), total);
    assert!(laptop.store.unsent_documents().unwrap().is_empty());
    sync_with(&server, &phone.store).unwrap();
    assert_eq!(notes(&phone, &id), notes(&laptop, &id));
    assert!(notes(&phone, &id).ends_with("第5次补充"));
}

#[test]
fn a_server_that_always_has_more_is_given_up_on() {
    struct Endless;
    impl Transport for Endless {
        fn sync_round(&mut self, _body: Vec<u8>) -> Result<Vec<u8>, SyncError> {
            Ok(protocol::encode(&SyncResponse {
                protocol: PROTOCOL_VERSION,
                accepted: vec![],
                rejected: vec![],
                documents: vec![],
                revoked: vec![],
                cursor: 7,
                more: true,
                settings: None,
                history: None,
                forked_from: None,
            }))
        }
    }
    let d = device("laptop");
    let err = sync::run(&d.store, &mut Endless, |_| {}).unwrap_err();
    assert!(matches!(err, SyncError::TooManyRounds(n) if n == MAX_ROUNDS));
}

#[test]
fn an_answer_that_ignores_a_pushed_document_or_speaks_another_protocol_is_refused() {
    let server = server();
    let d = device("laptop");
    let c = d
        .store
        .create_customer(new_customer("华东精密机械有限公司"))
        .unwrap();
    let (request, pending) = build_request(&d.store).unwrap();
    let mut response = server.borrow_mut().handle(request);
    response.accepted.clear();
    let err = apply_response(&d.store, &pending, response.clone()).unwrap_err();
    assert!(matches!(&err, SyncError::Protocol(m) if m.contains(&c)));
    response.protocol = 2;
    assert!(matches!(
        apply_response(&d.store, &pending, response),
        Err(SyncError::Protocol(_))
    ));
    assert_eq!(d.store.unsent_documents().unwrap(), vec![c]);
    assert_eq!(d.store.sync_cursor().unwrap(), 0);
}

#[test]
fn the_sync_report_has_the_agreed_field_names() {
    let json = serde_json::to_value(SyncReport::default()).unwrap();
    let mut keys: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "attachments",
            "bytes_received",
            "bytes_sent",
            "millis",
            "pulled",
            "pushed",
            "rejected",
            "round_trips",
            "timings"
        ]
    );
    let attachments = &json["attachments"];
    let mut keys: Vec<&str> = attachments
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "bytes_received",
            "bytes_sent",
            "fetched",
            "pending",
            "refused",
            "uploaded"
        ]
    );
}

/// A sync that finds nothing to push or pull commits nothing to the device's database: each
/// commit waits for the disk, and a device in live mode syncs often with nothing new (the time
/// of the last sync is kept to the minute). The database's `data_version`, as another
/// connection sees it, moves only with a commit that wrote something.
#[test]
fn a_sync_with_nothing_new_commits_nothing() {
    let server = server();
    let d = device("li");
    let c = d.store.create_customer(new_customer("沉默客户")).unwrap();
    sync_with(&server, &d.store).unwrap();
    let path = d.dir.path().join("li.db");
    let watcher = rusqlite::Connection::open(&path).unwrap();
    let version = || -> i64 {
        watcher
            .pragma_query_value(None, "data_version", |r| r.get(0))
            .unwrap()
    };
    let before = version();
    for _ in 0..2 {
        // Times are kept to the second: the next sync is at another one.
        std::thread::sleep(std::time::Duration::from_millis(1_100));
        let report = sync_with(&server, &d.store).unwrap();
        assert_eq!((report.pushed, report.pulled), (0, 0));
    }
    assert_eq!(
        version(),
        before,
        "a sync with nothing new wrote to the database"
    );
    assert!(d.store.last_sync_at().unwrap().is_some());

    // An edit is pushed and acknowledged: that round commits.
    d.store
        .update_customer(&c, &[CustomerEdit::Tier(Tier::A)])
        .unwrap();
    let moved = version();
    assert_ne!(moved, before);
    sync_with(&server, &d.store).unwrap();
    assert!(d.store.unsent_documents().unwrap().is_empty());
    assert_ne!(version(), moved, "the acknowledgement was not committed");
}

#[test]
fn a_sync_that_wrote_what_the_server_sent_ends_with_one_commit_that_waits_for_the_disk() {
    let server = server();
    let laptop = device("laptop");
    laptop
        .store
        .create_customer(new_customer("华东精密机械有限公司"))
        .unwrap();
    sync_with(&server, &laptop.store).unwrap();
    let phone = device("phone");
    let synced_at = || -> Option<String> {
        let watcher = rusqlite::Connection::open(phone.dir.path().join("phone.db")).unwrap();
        watcher
            .query_row(
                "SELECT value FROM meta WHERE key = 'server_writes_synced_at'",
                [],
                |r| r.get(0),
            )
            .ok()
    };
    assert_eq!(synced_at(), None);
    let report = sync_with(&server, &phone.store).unwrap();
    assert_eq!(report.pulled, 1);
    // The rounds' commits did not wait for the disk; this last one did, for all of them.
    assert!(
        synced_at().is_some(),
        "the pulled customer was not made durable"
    );
}

/// A link whose every exchange takes at least 30 ms, as a slow network's would.
struct SlowLink(Link);

impl Transport for SlowLink {
    fn sync_round(&mut self, body: Vec<u8>) -> Result<Vec<u8>, SyncError> {
        std::thread::sleep(std::time::Duration::from_millis(30));
        self.0.sync_round(body)
    }
}

#[test]
fn a_sync_reports_where_its_time_went_step_by_step() {
    let server = server();
    let a = device("wang");
    for i in 0..20 {
        a.store
            .create_customer(new_customer(&format!("计时客户{i}")))
            .unwrap();
    }
    sync_with(&server, &a.store).unwrap();

    let b = device("li");
    let report = sync::run(&b.store, &mut SlowLink(link(&server)), |_| {}).unwrap();
    let t = report.timings;
    assert_eq!(report.pulled, 20);
    assert_eq!(t.merge.documents, 20, "every pulled document is counted");
    assert!(
        t.exchange_us >= 30_000 * u64::from(report.round_trips),
        "the exchange holds the network's time: {t:?}"
    );
    for (step, us) in [
        ("load", t.merge.load_us),
        ("validate", t.merge.validate_us),
        ("project", t.merge.project_us),
        ("commit", t.merge.commit_us),
    ] {
        assert!(us > 0, "merging 20 documents took no time to {step}: {t:?}");
    }
    assert!(
        t.total_us() <= report.millis * 1_000 + 1_000,
        "the steps add up to more than the sync: {} µs against {} ms",
        t.total_us(),
        report.millis
    );
    // The store counts every merge since it was opened; this was its first.
    assert_eq!(b.store.merge_steps(), t.merge);

    // A sync that pulls nothing merges nothing.
    let again = sync_with(&server, &b.store).unwrap();
    assert_eq!(again.timings.merge.documents, 0);
    assert_eq!(b.store.merge_steps().documents, 20);
}
