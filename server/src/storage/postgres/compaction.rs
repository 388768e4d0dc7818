//! Log compaction on PostgreSQL, by the same steps as on SQLite (see
//! `storage::sqlite::compaction`): record the floor, fold each document's changes up to the
//! horizon into a fresh snapshot, then delete the change rows its snapshot holds, in bounded
//! transactions so pushes never wait long. Several nodes may compact at once: each document's
//! row is locked while it is re-snapshotted, and a floor only ever rises.

use super::{PgStorage, Tx, head};
use crate::storage::{Compaction, StorageError, StorageResult, assemble};

/// Documents re-snapshotted per transaction.
const DOCUMENTS_PER_TRANSACTION: i64 = 100;
/// Change rows deleted per transaction.
const ROWS_PER_TRANSACTION: i64 = 5_000;

/// The log's floor: every change row at or below it may be gone (0: none was ever removed).
pub(super) fn log_floor(tx: &mut Tx<'_>) -> StorageResult<u64> {
    match tx.query_opt("SELECT value FROM server_meta WHERE key = 'log_floor'", &[])? {
        None => Ok(0),
        Some(row) => {
            let text: String = row.try_get(0)?;
            text.parse()
                .map_err(|_| StorageError::Corrupt(format!("log_floor is not a number: {text}")))
        }
    }
}

impl PgStorage {
    /// Compacts the log up to `horizon`.
    pub(crate) fn compact_up_to(&self, horizon: u64) -> StorageResult<Compaction> {
        let horizon = horizon.min(self.read(head)?) as i64;
        let mut done = Compaction {
            floor: 0,
            documents_resnapshotted: 0,
            changes_removed: 0,
        };
        done.floor = self.write(|tx| {
            let floor = log_floor(tx)?.max(horizon as u64);
            tx.execute(
                "INSERT INTO server_meta(key, value) VALUES ('log_floor', $1)
                 ON CONFLICT (key) DO UPDATE SET value = greatest(server_meta.value::bigint, excluded.value::bigint)::text",
                &[&floor.to_string()],
            )?;
            Ok(floor)
        })?;
        loop {
            let n = self.write(|tx| resnapshot_some(tx, horizon))?;
            done.documents_resnapshotted += n;
            if (n as i64) < DOCUMENTS_PER_TRANSACTION {
                break;
            }
        }
        loop {
            let n = self.write(|tx| {
                tx.execute(
                    "DELETE FROM log WHERE seq IN (
                        SELECT l.seq FROM log l JOIN docs d ON d.id = l.doc_id
                        WHERE l.event = 'change' AND l.seq <= $1 AND l.seq <= d.snapshot_seq
                        LIMIT $2)",
                    &[&horizon, &ROWS_PER_TRANSACTION],
                )
            })?;
            done.changes_removed += n;
            if (n as i64) < ROWS_PER_TRANSACTION {
                break;
            }
        }
        Ok(done)
    }
}

/// Takes a fresh snapshot of up to [`DOCUMENTS_PER_TRANSACTION`] documents whose snapshot
/// misses changes at or below `horizon`; returns how many.
fn resnapshot_some(tx: &mut Tx<'_>, horizon: i64) -> StorageResult<usize> {
    let ids: Vec<String> = tx
        .query(
            "SELECT DISTINCT l.doc_id FROM log l JOIN docs d ON d.id = l.doc_id
             WHERE l.event = 'change' AND l.seq <= $1 AND l.seq > d.snapshot_seq
             LIMIT $2",
            &[&horizon, &DOCUMENTS_PER_TRANSACTION],
        )?
        .into_iter()
        .map(|r| r.get(0))
        .collect();
    for id in &ids {
        // Locked until the transaction ends: a push of this document, or another node's
        // compaction, waits rather than writing a snapshot beside this one.
        let row = tx.query_one(
            "SELECT snapshot, snapshot_seq FROM docs WHERE id = $1 FOR UPDATE",
            &[id],
        )?;
        let (snapshot, snapshot_seq): (Option<Vec<u8>>, i64) = (row.try_get(0)?, row.try_get(1)?);
        let mut last = snapshot_seq;
        let mut changes = Vec::new();
        for row in tx.query(
            "SELECT seq, bytes FROM log WHERE doc_id = $1 AND event = 'change' AND seq > $2
             ORDER BY seq",
            &[id, &snapshot_seq],
        )? {
            last = row.try_get(0)?;
            changes.extend_from_slice(row.try_get::<_, &[u8]>(1)?);
        }
        let mut doc = assemble(id, snapshot.as_deref(), &changes)?;
        tx.execute(
            "UPDATE docs SET snapshot = $2, snapshot_seq = $3 WHERE id = $1",
            &[id, &doc.save(), &last],
        )?;
    }
    Ok(ids.len())
}
