//! The sync engine against a server restored from a backup (docs/PROTOCOL.md, "After a
//! restore"), without sockets: a small in-test server with a history id, which a "restore"
//! replaces with a copy of the server as it was, under a new history forked at its head.
//!
//! The server refuses new changes written by another user than the pushing one (`identity`),
//! as the real one does, so a device's copy of someone else's lost work waits for their
//! device.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;

use automerge::AutoCommit;
use common::{Device, device, new_customer};
use fieldsync_core::Store;
use fieldsync_core::authorship;
use fieldsync_core::model::customer::CustomerEdit;
use fieldsync_core::protocol::{
    self, Accepted, HistoryFork, PROTOCOL_VERSION, PulledDocument, Rejected, SyncRequest,
    SyncResponse,
};
use fieldsync_core::sync::engine::{apply_response, build_request};
use fieldsync_core::sync::{self, SyncError, SyncReport, Transport};
use serde_bytes::ByteBuf;

#[derive(Clone, Default)]
struct Server {
    history: String,
    forked_from: Option<HistoryFork>,
    log: Vec<(u64, String, Vec<u8>)>,
    docs: HashMap<String, AutoCommit>,
}

impl Server {
    fn new() -> Server {
        Server {
            history: "first".into(),
            ..Server::default()
        }
    }

    /// The server restored from `backup`: its data, a new history forked at its head.
    fn restored_from(backup: &Server, history: &str) -> Server {
        Server {
            history: history.into(),
            forked_from: Some(HistoryFork {
                history: backup.history.clone(),
                seq: backup.log.len() as u64,
            }),
            ..backup.clone()
        }
    }

    fn handle(&mut self, user: &str, req: SyncRequest) -> SyncResponse {
        let mut accepted = Vec::new();
        let mut rejected = Vec::new();
        for push in req.push {
            let mut doc = self.docs.get(&push.id).cloned().unwrap_or_default();
            let before = doc.get_heads();
            let data: Vec<u8> = push.changes.iter().flat_map(|c| c.to_vec()).collect();
            doc.load_incremental(&data).unwrap();
            let refusal = if !doc.get_missing_deps(&[]).is_empty() {
                Some("missing_dependencies")
            } else if doc
                .get_changes(&before)
                .iter()
                .any(|c| authorship::parse(c.message()).0 != Some(user))
            {
                Some("identity")
            } else {
                None
            };
            if let Some(rule) = refusal {
                rejected.push(Rejected {
                    id: push.id,
                    rule: rule.into(),
                    reason: "refused".into(),
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
        let mut documents: Vec<PulledDocument> = Vec::new();
        for (_, id, bytes) in self.log.iter().filter(|e| e.0 > req.cursor) {
            match documents.iter_mut().find(|d| &d.id == id) {
                Some(d) => d.data.extend_from_slice(bytes),
                None => documents.push(PulledDocument {
                    id: id.clone(),
                    snapshot: false,
                    data: ByteBuf::from(bytes.clone()),
                }),
            }
        }
        SyncResponse {
            protocol: PROTOCOL_VERSION,
            accepted,
            rejected,
            documents,
            revoked: vec![],
            cursor: self.log.len() as u64,
            more: false,
            settings: None,
            history: Some(self.history.clone()),
            forked_from: self.forked_from.clone(),
        }
    }

    fn heads(&mut self, id: &str) -> Vec<automerge::ChangeHash> {
        self.docs
            .get_mut(id)
            .map(|d| d.get_heads())
            .unwrap_or_default()
    }
}

struct Link<'a> {
    server: &'a mut Server,
    user: &'a str,
}

impl Transport for Link<'_> {
    fn sync_round(&mut self, body: Vec<u8>) -> Result<Vec<u8>, SyncError> {
        let req: SyncRequest = protocol::decode(&body).unwrap();
        Ok(protocol::encode(&self.server.handle(self.user, req)))
    }
}

fn sync_as(server: &mut Server, user: &str, store: &Store) -> SyncReport {
    sync::run(store, &mut Link { server, user }, |_| {}).unwrap()
}

fn notes(d: &Device, id: &str) -> String {
    d.store.customer(id).unwrap().notes.as_str().to_string()
}

#[test]
fn a_device_ahead_of_a_restored_server_re_sends_its_work_and_loses_nothing() {
    let mut server = Server::new();
    let li = device("li");
    let kept = li.store.create_customer(new_customer("华东精密")).unwrap();
    sync_as(&mut server, "li", &li.store);
    let backup = server.clone();

    // After the backup, acknowledged by the server that is then lost.
    let lost = li.store.create_customer(new_customer("宁波恒达")).unwrap();
    li.store
        .update_customer(&kept, &[CustomerEdit::AppendNotes("备份后写的。".into())])
        .unwrap();
    sync_as(&mut server, "li", &li.store);
    assert!(li.store.unsent_documents().unwrap().is_empty());
    let before_restore = (notes(&li, &kept), notes(&li, &lost));

    let mut server = Server::restored_from(&backup, "second");
    assert!(!server.docs.contains_key(&lost));
    let report = sync_as(&mut server, "li", &li.store);
    assert_eq!(report.rejected, 0);
    assert_eq!(server.heads(&lost), li.store.heads(&lost).unwrap());
    assert_eq!(server.heads(&kept), li.store.heads(&kept).unwrap());
    assert_eq!((notes(&li, &kept), notes(&li, &lost)), before_restore);
    assert!(li.store.list_quarantine().unwrap().is_empty());
    assert!(li.store.unsent_documents().unwrap().is_empty());
    assert_eq!(li.store.sync_history().unwrap().as_deref(), Some("second"));
    assert_eq!(li.store.sync_cursor().unwrap(), server.log.len() as u64);

    // A device that never saw the lost work gets it from the re-send.
    let phone = device("li");
    sync_as(&mut server, "li", &phone.store);
    assert_eq!(notes(&phone, &lost), before_restore.1);
    assert_eq!(notes(&phone, &kept), before_restore.0);
}

#[test]
fn a_copy_of_someone_elses_lost_work_waits_for_their_device_and_is_not_quarantined() {
    let mut server = Server::new();
    let li = device("li");
    let boss = device("boss");
    sync_as(&mut server, "li", &li.store);
    let backup = server.clone();
    let lost = li.store.create_customer(new_customer("宁波恒达")).unwrap();
    sync_as(&mut server, "li", &li.store);
    sync_as(&mut server, "boss", &boss.store);
    assert!(boss.store.customer(&lost).is_ok());

    let mut server = Server::restored_from(&backup, "second");
    // The boss's device syncs first: the restored server refuses li's change from it.
    let report = sync_as(&mut server, "boss", &boss.store);
    assert_eq!(report.rejected, 0, "a deferred re-send is no rejection");
    assert!(boss.store.list_quarantine().unwrap().is_empty());
    assert!(
        boss.store.customer(&lost).is_ok(),
        "the copy stays on the device"
    );
    assert_eq!(boss.store.unsent_documents().unwrap(), vec![lost.clone()]);
    assert!(!server.docs.contains_key(&lost));

    // Li's device re-sends it; then the boss's copy is taken as what the server has.
    sync_as(&mut server, "li", &li.store);
    sync_as(&mut server, "boss", &boss.store);
    assert!(boss.store.unsent_documents().unwrap().is_empty());
    assert_eq!(server.heads(&lost), boss.store.heads(&lost).unwrap());
}

#[test]
fn an_answer_from_another_history_is_not_applied_and_the_device_starts_over() {
    let mut server = Server::new();
    let li = device("li");
    let id = li.store.create_customer(new_customer("华东精密")).unwrap();
    sync_as(&mut server, "li", &li.store);
    li.store
        .update_customer(&id, &[CustomerEdit::AppendNotes("离线写的。".into())])
        .unwrap();
    let (_, pending) = build_request(&li.store).unwrap();
    assert_eq!(pending.len(), 1);
    // An answer from a restored server that judged this push: its verdict is not applied.
    let answer = SyncResponse {
        protocol: PROTOCOL_VERSION,
        accepted: vec![],
        rejected: vec![Rejected {
            id: id.clone(),
            rule: "missing_dependencies".into(),
            reason: "these changes build on changes the server does not have".into(),
        }],
        documents: vec![],
        revoked: vec![],
        cursor: 0,
        more: false,
        settings: None,
        history: Some("second".into()),
        forked_from: Some(HistoryFork {
            history: "first".into(),
            seq: 1,
        }),
    };
    let outcome = apply_response(&li.store, &pending, answer).unwrap();
    assert!(outcome.restarted && outcome.more);
    assert!(outcome.rejected.is_empty());
    assert!(li.store.list_quarantine().unwrap().is_empty());
    assert!(notes(&li, &id).contains("离线写的。"), "nothing is lost");
    assert_eq!(
        li.store.sync_cursor().unwrap(),
        1,
        "the cursor goes back to the fork"
    );
    assert!(
        li.store.acked_heads(&id).unwrap().is_empty(),
        "every change of the document is pushed again"
    );
}
