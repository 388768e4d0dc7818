//! Log compaction on PostgreSQL, by the same steps as on SQLite (see
//! `storage::sqlite::compaction`): record the floor, fold each document's changes up to the
//! horizon into a fresh snapshot, then delete the change rows its snapshot holds.
//!
//! Writes must never wait for it: a write holds the log's head row while it commits, so a
//! write waiting for compaction would stall every node. So compaction holds no row while it
//! works: it reads a document's snapshot and changes without locks, builds the new snapshot,
//! and stores it in a statement of its own only if the document's snapshot is still the one it
//! read (a push may have stored a newer one meanwhile; that one is kept). One node compacts at a
//! time (a claim on "compaction"); the others skip their turn.

use super::{PgStorage, Tx, head};
use crate::storage::NodeLink;
use crate::storage::{Compaction, StorageError, StorageResult, assemble};

/// Documents looked for at a time.
const DOCUMENTS_PER_ROUND: i64 = 100;
/// The claim one compacting node holds.
const COMPACTION: &str = "compaction of the log";
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
        if !self.try_claim(COMPACTION)? {
            tracing::info!("another node is compacting the log: this one skips its turn");
            done.floor = self.read(log_floor)?;
            return Ok(done);
        }
        let outcome = self.compact_claimed(horizon, done);
        self.release(&[COMPACTION]);
        outcome
    }

    fn compact_claimed(&self, horizon: i64, mut done: Compaction) -> StorageResult<Compaction> {
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
            let ids: Vec<String> = self.read(|tx| {
                Ok(tx
                    .query(
                        "SELECT DISTINCT l.doc_id FROM log l JOIN docs d ON d.id = l.doc_id
                         WHERE l.event = 'change' AND l.seq <= $1 AND l.seq > d.snapshot_seq
                         LIMIT $2",
                        &[&horizon, &DOCUMENTS_PER_ROUND],
                    )?
                    .into_iter()
                    .map(|r| r.get(0))
                    .collect())
            })?;
            for id in &ids {
                if self.resnapshot(id)? {
                    done.documents_resnapshotted += 1;
                }
            }
            if (ids.len() as i64) < DOCUMENTS_PER_ROUND {
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

impl PgStorage {
    /// Folds document `id`'s logged changes into a fresh snapshot, unless its snapshot changed
    /// meanwhile; whether it did.
    fn resnapshot(&self, id: &str) -> StorageResult<bool> {
        let (snapshot_seq, last, mut doc) = self.read(|tx| {
            let row = tx.query_one(
                "SELECT snapshot, snapshot_seq FROM docs WHERE id = $1",
                &[&id],
            )?;
            let (snapshot, snapshot_seq): (Option<Vec<u8>>, i64) =
                (row.try_get(0)?, row.try_get(1)?);
            let mut last = snapshot_seq;
            let mut changes = Vec::new();
            for row in tx.query(
                "SELECT seq, bytes FROM log WHERE doc_id = $1 AND event = 'change' AND seq > $2
                 ORDER BY seq",
                &[&id, &snapshot_seq],
            )? {
                last = row.try_get(0)?;
                changes.extend_from_slice(row.try_get::<_, &[u8]>(1)?);
            }
            Ok((
                snapshot_seq,
                last,
                assemble(id, snapshot.as_deref(), &changes)?,
            ))
        })?;
        let stored = self.write(|tx| {
            tx.execute(
                "UPDATE docs SET snapshot = $2, snapshot_seq = $3 WHERE id = $1 AND snapshot_seq = $4",
                &[&id, &doc.save(), &last, &snapshot_seq],
            )
        })?;
        Ok(stored > 0)
    }
}
