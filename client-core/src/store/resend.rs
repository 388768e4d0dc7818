//! What a device keeps to notice that its server was restored from a backup, and the store
//! side of starting over with it (docs/PROTOCOL.md, "After a restore").
//!
//! A restored server has forgotten everything it took after the backup, while devices still
//! count it as acknowledged. Each sync answer names the server's history; when it names
//! another than the one the device synced with, [`Store::resend_after_restore`] makes the
//! device push everything again.
//!
//! Guarantees:
//! - Nothing in the store is deleted or changed by starting over: documents, their bytes and
//!   the quarantine stay as they are; only what the device believes the server holds is
//!   forgotten (acknowledged heads, the cursor beyond the fork, uploaded attachments).
//! - The new history, the cursor and the cleared acknowledgements are written in one
//!   transaction: a crash leaves the device either in the old history or fully started over.
//! - A document's acknowledged heads from before the restore are kept until the restored
//!   server takes the document, so a refusal meanwhile puts aside only what was never
//!   acknowledged ([`Store::end_resend`]).

use automerge::ChangeHash;
use rusqlite::OptionalExtension;
use serde::Serialize;

use super::{Store, documents, meta_get, meta_set};
use crate::error::Result;
use crate::ids::parse_id;

/// The meta key of the history id of the server this device syncs with.
const HISTORY_KEY: &str = "sync.history";
/// The meta key of the sync cursor (as `sync_state` keeps it).
const CURSOR_KEY: &str = "sync.cursor";

/// What starting over with a restored server marked to be sent again.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Resend {
    /// Documents whose changes are all pushed again.
    pub documents: usize,
    /// Attachments uploaded before that are uploaded again (the server takes at once what it
    /// still has).
    pub attachments: usize,
}

impl Store {
    /// The history id of the server this device last synced with; `None` before its first
    /// sync with a server that names one.
    pub fn sync_history(&self) -> Result<Option<String>> {
        meta_get(&self.conn, HISTORY_KEY)
    }

    /// Records the history id of the server this device syncs with (its first answer's).
    pub fn set_sync_history(&self, history: &str) -> Result<()> {
        self.write(|tx| meta_set(tx, HISTORY_KEY, history))
    }

    /// Starts over with a server restored from a backup, whose history is `history`, in one
    /// transaction: the cursor becomes `cursor`; every document's acknowledged heads are
    /// cleared (kept aside until the restored server takes it), so all its changes are pushed
    /// again; and every attachment this device uploaded whose bytes are still here is pending
    /// again. Nothing else changes.
    pub fn resend_after_restore(&self, history: &str, cursor: u64) -> Result<Resend> {
        self.write(|tx| {
            meta_set(tx, HISTORY_KEY, history)?;
            meta_set(tx, CURSOR_KEY, &cursor.to_string())?;
            // A document still waiting from an earlier restore keeps its older heads.
            tx.execute(
                "INSERT OR IGNORE INTO resend(doc_id, acked_heads)
                 SELECT id, acked_heads FROM documents",
                [],
            )?;
            let documents = tx.execute("UPDATE documents SET acked_heads = NULL", [])?;
            let attachments = tx.execute(
                "UPDATE attachments SET state = 'pending', refused = NULL, last_error = NULL
                 WHERE state = 'uploaded' AND present = 1",
                [],
            )?;
            Ok(Resend {
                documents,
                attachments,
            })
        })
    }

    /// Whether document `id` is being pushed again to a restored server that has not taken
    /// it yet.
    pub fn is_resending(&self, id: &str) -> Result<bool> {
        let id = parse_id(id)?;
        Ok(self
            .conn
            .prepare_cached("SELECT 1 FROM resend WHERE doc_id = ?1")?
            .query_row([&id], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// Ends the re-send of document `id` without the restored server taking it: its
    /// acknowledged heads from before the restore come back, so that a refusal puts aside
    /// (quarantines) only changes that were never acknowledged. Returns those heads, or `None`
    /// if the document was not being re-sent.
    pub fn end_resend(&self, id: &str) -> Result<Option<Vec<ChangeHash>>> {
        let id = parse_id(id)?;
        let heads = self.write(|tx| {
            let kept: Option<Option<String>> = tx
                .prepare_cached("SELECT acked_heads FROM resend WHERE doc_id = ?1")?
                .query_row([&id], |r| r.get(0))
                .optional()?;
            let Some(kept) = kept else { return Ok(None) };
            tx.prepare_cached("UPDATE documents SET acked_heads = ?2 WHERE id = ?1")?
                .execute(rusqlite::params![id, kept])?;
            tx.prepare_cached("DELETE FROM resend WHERE doc_id = ?1")?
                .execute([&id])?;
            Ok(Some(kept))
        })?;
        heads
            .map(|h| documents::decode_heads(h.as_deref().unwrap_or("")))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::model::customer::NewCustomer;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("device.db")).unwrap();
        store.set_author("li").unwrap();
        (dir, store)
    }

    fn customer(store: &Store, name: &str) -> String {
        store
            .create_customer(NewCustomer {
                name: name.into(),
                territory: "east".into(),
                owner: "li".into(),
                created_by: "li".into(),
                ..Default::default()
            })
            .unwrap()
    }

    fn attachment(store: &Store, id: &str, state: &str, present: bool) {
        store
            .conn
            .execute(
                "INSERT INTO attachments(id, media_type, size, name, state, present, last_used)
                 VALUES (?1, 'image/jpeg', 3, 'photo.jpg', ?2, ?3, 1)",
                rusqlite::params![id, state, present],
            )
            .unwrap();
    }

    #[test]
    fn starting_over_forgets_what_the_server_held_and_keeps_every_document() {
        let (_dir, store) = store();
        let acked = customer(&store, "华东精密");
        let heads = store.heads(&acked).unwrap();
        store.set_acked_heads(&acked, &heads).unwrap();
        let unsent = customer(&store, "宁波恒达");
        attachment(&store, &"a".repeat(64), "uploaded", true);
        attachment(&store, &"b".repeat(64), "uploaded", false);
        attachment(&store, &"c".repeat(64), "fetched", true);
        store.set_sync_cursor(90).unwrap();
        store.set_sync_history("old").unwrap();
        assert_eq!(store.unsent_documents().unwrap(), vec![unsent.clone()]);

        let resend = store.resend_after_restore("new", 40).unwrap();
        assert_eq!(
            resend,
            Resend {
                documents: 2,
                attachments: 1
            }
        );
        assert_eq!(store.sync_history().unwrap().as_deref(), Some("new"));
        assert_eq!(store.sync_cursor().unwrap(), 40);
        let mut all = vec![acked.clone(), unsent.clone()];
        all.sort();
        assert_eq!(
            store.unsent_documents().unwrap(),
            all,
            "everything is pushed again"
        );
        assert_eq!(store.unsent_change_list(&acked).unwrap().1.len(), 1);
        assert_eq!(
            store.customer(&acked).unwrap().name,
            "华东精密",
            "nothing is lost"
        );
        assert_eq!(store.customer(&unsent).unwrap().name, "宁波恒达");
        assert_eq!(
            store.pending_attachments().unwrap().0,
            1,
            "an uploaded attachment whose bytes are here is uploaded again"
        );
        assert!(store.is_resending(&acked).unwrap());

        // Taken by the restored server: the re-send is over.
        store.set_acked_heads(&acked, &heads).unwrap();
        assert!(!store.is_resending(&acked).unwrap());
        assert_eq!(store.end_resend(&acked).unwrap(), None);
        // Refused: the heads acknowledged before the restore come back.
        assert_eq!(store.end_resend(&unsent).unwrap(), Some(vec![]));
        assert!(!store.is_resending(&unsent).unwrap());
    }

    #[test]
    fn a_document_refused_during_a_re_send_goes_back_to_its_acknowledged_heads() {
        let (_dir, store) = store();
        let id = customer(&store, "华东精密");
        let heads = store.heads(&id).unwrap();
        store.set_acked_heads(&id, &heads).unwrap();
        store.resend_after_restore("new", 0).unwrap();
        assert!(store.acked_heads(&id).unwrap().is_empty());
        assert_eq!(store.end_resend(&id).unwrap(), Some(heads.clone()));
        assert_eq!(store.acked_heads(&id).unwrap(), heads);
        assert!(store.unsent_documents().unwrap().is_empty());
    }
}
