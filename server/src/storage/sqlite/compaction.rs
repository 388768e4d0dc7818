//! Log compaction: the change rows of the log that every document's snapshot already holds are
//! dropped, so the database grows with the documents, not with every keystroke ever synced.
//!
//! Compacting up to a horizon `h` first records `h` as the log's floor (`server_meta`
//! `log_floor`), then folds every document's changes up to `h` into a fresh snapshot, then
//! deletes the change rows at or below both `h` and the document's snapshot. A pull whose cursor
//! is below the floor can no longer be answered change by change, so it gets each document that
//! changed after its cursor whole (see `pull`); the floor is written before anything is deleted,
//! so a crash in the middle leaves a log that is merely not yet compacted. Scope events (a
//! document entering or leaving a user's scope) are kept: they are small, and a device that was
//! away for months still learns what it must give back.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::SqliteStorage;
use crate::storage::{Compaction, StorageError, StorageResult, assemble};

/// Documents re-snapshotted per write transaction: pushes wait for the writer meanwhile.
const DOCUMENTS_PER_TRANSACTION: usize = 100;
/// Change rows deleted per write transaction.
const ROWS_PER_TRANSACTION: usize = 5_000;

/// The log's floor: every change row at or below it may be gone (0: none was ever removed).
pub(super) fn log_floor(conn: &Connection) -> StorageResult<i64> {
    let floor: Option<String> = conn
        .prepare_cached("SELECT value FROM server_meta WHERE key = 'log_floor'")?
        .query_row([], |r| r.get(0))
        .optional()?;
    match floor {
        None => Ok(0),
        Some(text) => text
            .parse()
            .map_err(|_| StorageError::Corrupt(format!("log_floor is not a number: {text}"))),
    }
}

/// The highest sequence number ever given, whether or not its row is still in the log.
pub(super) fn head(conn: &Connection) -> StorageResult<i64> {
    let issued: Option<i64> = conn
        .prepare_cached("SELECT seq FROM sqlite_sequence WHERE name = 'log'")?
        .query_row([], |r| r.get(0))
        .optional()?;
    Ok(issued.unwrap_or(0))
}

impl SqliteStorage {
    /// The highest sequence number logged before `unix_ms` (server clock), 0 if none.
    pub(crate) fn seq_received_before_ms(&self, unix_ms: i64) -> StorageResult<u64> {
        self.read(|conn| {
            let seq: i64 = conn.query_row(
                "SELECT coalesce(max(seq), 0) FROM log WHERE received_at < ?1",
                [unix_ms],
                |r| r.get(0),
            )?;
            Ok(seq as u64)
        })
    }

    /// Compacts the log up to `horizon` (see the module docs).
    pub(crate) fn compact_up_to(&self, horizon: u64) -> StorageResult<Compaction> {
        let horizon = (horizon as i64).min(self.write(|conn| head(conn))?);
        let mut done = Compaction {
            floor: 0,
            documents_resnapshotted: 0,
            changes_removed: 0,
        };
        done.floor = self.write(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let floor = log_floor(&tx)?.max(horizon);
            tx.execute(
                "INSERT INTO server_meta(key, value) VALUES ('log_floor', ?1)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [floor.to_string()],
            )?;
            tx.commit()?;
            Ok(floor as u64)
        })?;
        loop {
            let n = self.write(|conn| resnapshot_some(conn, horizon))?;
            done.documents_resnapshotted += n;
            if n < DOCUMENTS_PER_TRANSACTION {
                break;
            }
        }
        loop {
            let n = self.write(|conn| {
                Ok(conn.execute(
                    "DELETE FROM log WHERE seq IN (
                        SELECT l.seq FROM log l JOIN docs d ON d.id = l.doc_id
                        WHERE l.event = 'change' AND l.seq <= ?1 AND l.seq <= d.snapshot_seq
                        LIMIT ?2)",
                    params![horizon, ROWS_PER_TRANSACTION as i64],
                )?)
            })?;
            done.changes_removed += n as u64;
            if n < ROWS_PER_TRANSACTION {
                break;
            }
        }
        Ok(done)
    }
}

/// Takes a fresh snapshot of up to [`DOCUMENTS_PER_TRANSACTION`] documents whose snapshot
/// misses changes at or below `horizon`; returns how many.
fn resnapshot_some(conn: &mut Connection, horizon: i64) -> StorageResult<usize> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let ids: Vec<String> = {
        let mut stmt = tx.prepare_cached(
            "SELECT DISTINCT l.doc_id FROM log l JOIN docs d ON d.id = l.doc_id
             WHERE l.event = 'change' AND l.seq <= ?1 AND l.seq > d.snapshot_seq
             LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![horizon, DOCUMENTS_PER_TRANSACTION as i64], |r| {
            r.get(0)
        })?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    for id in &ids {
        let (snapshot, snapshot_seq): (Option<Vec<u8>>, i64) = tx
            .prepare_cached("SELECT snapshot, snapshot_seq FROM docs WHERE id = ?1")?
            .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))?;
        let mut last = snapshot_seq;
        let mut changes = Vec::new();
        {
            let mut stmt = tx.prepare_cached(
                "SELECT seq, bytes FROM log WHERE doc_id = ?1 AND event = 'change' AND seq > ?2
                 ORDER BY seq",
            )?;
            let mut rows = stmt.query(params![id, snapshot_seq])?;
            while let Some(row) = rows.next()? {
                last = row.get(0)?;
                changes
                    .extend_from_slice(row.get_ref(1)?.as_blob().map_err(rusqlite::Error::from)?);
            }
        }
        let mut doc = assemble(id, snapshot.as_deref(), &changes)?;
        tx.prepare_cached("UPDATE docs SET snapshot = ?2, snapshot_seq = ?3 WHERE id = ?1")?
            .execute(params![id, doc.save(), last])?;
    }
    tx.commit()?;
    Ok(ids.len())
}

#[cfg(test)]
mod tests {
    use automerge::transaction::Transactable;
    use automerge::{AutoCommit, ROOT};

    use super::*;
    use crate::storage::{DocCommit, DocScope, Documents, Log, LoggedChange};

    /// A commit of `doc`'s changes since `since` (all of them for none).
    fn commit_of(doc: &mut AutoCommit, since: &[automerge::ChangeHash]) -> DocCommit {
        let changes = doc
            .get_changes(since)
            .into_iter()
            .map(|c| LoggedChange::of(&mut c.clone()))
            .collect();
        DocCommit {
            scope: DocScope::of(fieldsync_core::model::DocKind::Customer, "d"),
            heads: String::new(),
            changes,
            writer: "admin".into(),
            session: None,
            snapshot: None,
            first_save: None,
            scope_events: Vec::new(),
            cost: Default::default(),
            base_heads: None,
            base_customer: None,
            attachments: None,
            view: None,
            governed_by: (None, None),
        }
    }

    #[test]
    fn compaction_keeps_every_change_in_the_snapshot_and_never_reuses_a_sequence_number() {
        let dir = tempfile::tempdir().expect("tempdir");
        let storage = SqliteStorage::open(dir.path()).expect("open");
        let mut doc = AutoCommit::new();
        let mut heads = Vec::new();
        for i in 0..5_i64 {
            doc.put(ROOT, "n", i).expect("put");
            doc.commit();
            storage
                .commit_batch(&[commit_of(&mut doc, &heads)])
                .expect("write");
            heads = doc.get_heads();
        }
        let head = storage.head_seq().expect("head");
        let done = storage.compact_log(head).expect("compact");
        assert_eq!(done.floor, head);
        assert_eq!(done.changes_removed, 5);
        assert_eq!(done.documents_resnapshotted, 1);
        assert_eq!(storage.head_seq().expect("head"), head, "the head stays");

        let stored = storage.load_doc("d").expect("load").expect("stored");
        assert!(stored.changes.is_empty(), "nothing left in the log");
        let mut loaded = AutoCommit::load(&stored.snapshot.expect("snapshot")).expect("snapshot");
        assert_eq!(
            loaded.get_heads(),
            doc.get_heads(),
            "the snapshot holds it all"
        );

        doc.put(ROOT, "n", 99_i64).expect("put");
        doc.commit();
        let seqs = storage
            .commit_batch(&[commit_of(&mut doc, &heads)])
            .expect("write after compaction");
        assert!(
            seqs[0] > head,
            "a new change gets a new number: {seqs:?} > {head}"
        );
        let again = storage.compact_log(head).expect("compact again");
        assert_eq!(again.changes_removed, 0, "nothing above the horizon goes");
    }
    #[test]
    fn a_first_save_is_dropped_once_compaction_gives_the_document_a_snapshot() {
        let dir = tempfile::tempdir().expect("tempdir");
        let storage = SqliteStorage::open(dir.path()).expect("open");
        let saves = || -> i64 {
            storage
                .read(
                    |conn| Ok(conn.query_row("SELECT count(*) FROM doc_saves", [], |r| r.get(0))?),
                )
                .expect("count")
        };
        let mut doc = AutoCommit::new();
        doc.put(ROOT, "n", 0_i64).expect("put");
        doc.commit();
        let mut first = commit_of(&mut doc, &[]);
        first.first_save = Some(doc.save_nocompress());
        storage.commit_batch(&[first]).expect("write");
        assert_eq!(saves(), 1);
        let heads = doc.get_heads();
        doc.put(ROOT, "n", 1_i64).expect("put");
        doc.commit();
        storage
            .commit_batch(&[commit_of(&mut doc, &heads)])
            .expect("write");
        assert_eq!(saves(), 1, "a later change keeps the save");

        let head = storage.head_seq().expect("head");
        let done = storage.compact_log(head).expect("compact");
        assert_eq!(done.documents_resnapshotted, 1);
        assert_eq!(
            saves(),
            0,
            "the snapshot holds it all: the save is of no more use"
        );
        let stored = storage.load_doc("d").expect("load").expect("stored");
        let mut loaded = AutoCommit::load(&stored.snapshot.expect("snapshot")).expect("load");
        assert_eq!(loaded.get_heads(), doc.get_heads());
    }
}
