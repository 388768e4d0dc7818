//! What the store keeps about attachments: the `attachments` table (one row per attachment
//! whose bytes or thumbnail are in the blob folder, or that was attached here) and the
//! `attachment_refs` projection (which document on the device references which attachment),
//! written by [`super::projections`] with every document.
//!
//! The files are [`crate::attachments`]' business. Every change of a row that goes with a file
//! (a blob placed, evicted or deleted) takes the file step as a closure and runs it inside the
//! row's transaction: the rows and the folder change under the store's write lock, so the app's
//! connection and the sync's never race on one file (an eviction cannot delete the bytes an
//! attach on the other connection is about to record as pending).

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::{Store, meta_get, meta_set};
use crate::attachments::cache::{CacheEntry, DEFAULT_CACHE_BUDGET};
use crate::attachments::{AttachmentState, AttachmentUse, RefusedAttachment};
use crate::error::{Error, Result};
use crate::model::attachment::AttachmentRef;

/// The meta key of the cache budget, in bytes.
const BUDGET_KEY: &str = "attachments.cache_budget";

/// The media types the server makes thumbnails of.
const THUMBNAIL_TYPES: &str = "('image/jpeg', 'image/png', 'image/webp')";

/// One row of the `attachments` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AttachmentRow {
    /// The SHA-256 of the bytes.
    pub(crate) id: String,
    /// Media type.
    pub(crate) media_type: String,
    /// Size in bytes.
    pub(crate) size: u64,
    /// File name.
    pub(crate) name: String,
    /// Where its bytes stand.
    pub(crate) state: AttachmentState,
    /// Whether the bytes are in the folder.
    pub(crate) present: bool,
    /// The thumbnail's size, if it is in the folder.
    pub(crate) thumbnail_size: Option<u64>,
    /// Whether the server said it has no thumbnail.
    pub(crate) no_thumbnail: bool,
    /// LRU order: larger is more recent.
    pub(crate) last_used: i64,
    /// The document it was last attached to on this device.
    pub(crate) attached_to: Option<String>,
    /// The server's reason when it refused the upload.
    pub(crate) refused: Option<String>,
    /// Why its last transfer failed.
    pub(crate) last_error: Option<String>,
}

/// What a row records of an attachment it does not have yet: its reference's fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NewAttachmentRow {
    /// The attachment.
    pub(crate) id: String,
    /// Media type.
    pub(crate) media_type: String,
    /// Size in bytes.
    pub(crate) size: u64,
    /// File name.
    pub(crate) name: String,
}

impl From<&AttachmentRef> for NewAttachmentRow {
    fn from(a: &AttachmentRef) -> Self {
        NewAttachmentRow {
            id: a.id.clone(),
            media_type: a.media_type.clone(),
            size: a.size.max(0) as u64,
            name: a.name.clone(),
        }
    }
}

const ROW_COLUMNS: &str = "id, media_type, size, name, state, present, thumbnail_size, no_thumbnail, \
                           last_used, attached_to, refused, last_error";

fn read_row(r: &Row<'_>) -> rusqlite::Result<AttachmentRow> {
    let state: String = r.get(4)?;
    Ok(AttachmentRow {
        id: r.get(0)?,
        media_type: r.get(1)?,
        size: r.get::<_, i64>(2)?.max(0) as u64,
        name: r.get(3)?,
        // An unknown state is read as the safest one: never evicted, never deleted.
        state: AttachmentState::parse(&state).unwrap_or(AttachmentState::Pending),
        present: r.get(5)?,
        thumbnail_size: r.get::<_, Option<i64>>(6)?.map(|s| s.max(0) as u64),
        no_thumbnail: r.get(7)?,
        last_used: r.get(8)?,
        attached_to: r.get(9)?,
        refused: r.get(10)?,
        last_error: r.get(11)?,
    })
}

/// The next value of `last_used`: now in milliseconds, and after every value used so far.
fn next_use(conn: &Connection) -> Result<i64> {
    let now = chrono::Utc::now().timestamp_millis();
    Ok(conn
        .prepare_cached("SELECT max(?1, coalesce(max(last_used), 0) + 1) FROM attachments")?
        .query_row([now], |r| r.get(0))?)
}

/// Records `attachment`, attached here to `doc_id` with its bytes in the folder, as pending
/// (inside the transaction that writes the reference into the document). Attaching bytes the
/// device had fetched or uploaded makes them pending again: the server lets others see them
/// through this reference only once this user uploaded them, and asks for nothing it has.
pub(crate) fn record_pending(
    conn: &Connection,
    attachment: &AttachmentRef,
    doc_id: &str,
) -> Result<()> {
    let used = next_use(conn)?;
    conn.prepare_cached(
        "INSERT INTO attachments(id, media_type, size, name, state, present, last_used, attached_to)
         VALUES (?1, ?2, ?3, ?4, 'pending', 1, ?5, ?6)
         ON CONFLICT(id) DO UPDATE SET
            media_type = excluded.media_type, size = excluded.size, name = excluded.name,
            state = 'pending', present = 1, last_used = excluded.last_used,
            attached_to = excluded.attached_to, refused = NULL, last_error = NULL",
    )?
    .execute(params![
        attachment.id,
        attachment.media_type,
        attachment.size,
        attachment.name,
        used,
        doc_id
    ])?;
    Ok(())
}

/// Inserts a row for an attachment not on the device yet, unless it has one.
fn ensure_row(conn: &Connection, meta: &NewAttachmentRow) -> Result<()> {
    let used = next_use(conn)?;
    conn.prepare_cached(
        "INSERT INTO attachments(id, media_type, size, name, state, present, last_used)
         VALUES (?1, ?2, ?3, ?4, 'remote', 0, ?5)
         ON CONFLICT(id) DO NOTHING",
    )?
    .execute(params![
        meta.id,
        meta.media_type,
        meta.size as i64,
        meta.name,
        used
    ])?;
    Ok(())
}

impl Store {
    /// The row of attachment `id`, if the device has one.
    pub(crate) fn attachment_row(&self, id: &str) -> Result<Option<AttachmentRow>> {
        Ok(self
            .conn
            .prepare_cached(&format!(
                "SELECT {ROW_COLUMNS} FROM attachments WHERE id = ?1"
            ))?
            .query_row([id], read_row)
            .optional()?)
    }

    /// Every attachment row, least recently used first.
    pub(crate) fn attachment_rows(&self) -> Result<Vec<AttachmentRow>> {
        self.rows_where("1 ORDER BY last_used", [])
    }

    fn rows_where<P: rusqlite::Params>(
        &self,
        condition: &str,
        params: P,
    ) -> Result<Vec<AttachmentRow>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {ROW_COLUMNS} FROM attachments a WHERE {condition}"
        ))?;
        let rows = stmt.query_map(params, read_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The reference fields of attachment `id` as a document on the device holds them, if one
    /// does.
    pub(crate) fn attachment_reference(&self, id: &str) -> Result<Option<NewAttachmentRow>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT attachment_id, media_type, size, name FROM attachment_refs
                 WHERE attachment_id = ?1 ORDER BY doc_id LIMIT 1",
            )?
            .query_row([id], |r| {
                Ok(NewAttachmentRow {
                    id: r.get(0)?,
                    media_type: r.get(1)?,
                    size: r.get::<_, i64>(2)?.max(0) as u64,
                    name: r.get(3)?,
                })
            })
            .optional()?)
    }

    /// Every reference the documents on the device hold, by attachment: its fields and the
    /// documents that hold it.
    pub(crate) fn attachment_references(
        &self,
    ) -> Result<BTreeMap<String, (NewAttachmentRow, Vec<AttachmentUse>)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT attachment_id, media_type, size, name, doc_id, kind, added_by
             FROM attachment_refs ORDER BY attachment_id, doc_id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                NewAttachmentRow {
                    id: r.get(0)?,
                    media_type: r.get(1)?,
                    size: r.get::<_, i64>(2)?.max(0) as u64,
                    name: r.get(3)?,
                },
                AttachmentUse {
                    doc_id: r.get(4)?,
                    kind: r.get(5)?,
                    added_by: r.get(6)?,
                },
            ))
        })?;
        let mut out: BTreeMap<String, (NewAttachmentRow, Vec<AttachmentUse>)> = BTreeMap::new();
        for row in rows {
            let (meta, used) = row?;
            out.entry(meta.id.clone())
                .or_insert_with(|| (meta, Vec::new()))
                .1
                .push(used);
        }
        Ok(out)
    }

    /// The pending attachments this device can upload now as `user`: their bytes are here, the
    /// server has not refused them, and a document the server acknowledged whole references
    /// them with `user`'s signature. Oldest first.
    pub(crate) fn uploadable_attachments(&self, user: &str) -> Result<Vec<AttachmentRow>> {
        self.rows_where(
            "a.state = 'pending' AND a.refused IS NULL AND EXISTS (
                SELECT 1 FROM attachment_refs r JOIN documents d ON d.id = r.doc_id
                WHERE r.attachment_id = a.id AND r.added_by = ?1 AND d.acked_heads = d.heads)
             ORDER BY a.last_used",
            [user],
        )
    }

    /// Records that the server holds every byte of `ids` from this device's user, in one
    /// transaction.
    pub(crate) fn set_attachments_uploaded(&self, ids: &[String]) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        self.write(|tx| {
            let mut update = tx.prepare_cached(
                "UPDATE attachments SET state = 'uploaded', refused = NULL, last_error = NULL
                 WHERE id = ?1 AND state = 'pending'",
            )?;
            for id in ids {
                update.execute([id])?;
            }
            Ok(())
        })
    }

    /// Records that the server refused the upload of `id`, with its reason: it is not sent
    /// again until attached again or retried ([`Store::retry_attachment`]).
    pub(crate) fn set_attachment_refused(&self, id: &str, reason: &str) -> Result<()> {
        self.write(|tx| {
            tx.prepare_cached(
                "UPDATE attachments SET refused = ?2, last_error = NULL WHERE id = ?1",
            )?
            .execute(params![id, reason])?;
            Ok(())
        })
    }

    /// Records why the last transfer of `id` failed (`None`: it did not).
    pub(crate) fn set_attachment_error(&self, id: &str, error: Option<&str>) -> Result<()> {
        self.write(|tx| {
            tx.prepare_cached("UPDATE attachments SET last_error = ?2 WHERE id = ?1")?
                .execute(params![id, error])?;
            Ok(())
        })
    }

    /// Forgets the server's refusal of `id`, so the next sync sends it again. Returns whether
    /// it had been refused.
    pub(crate) fn retry_attachment(&self, id: &str) -> Result<bool> {
        self.write(|tx| {
            let n = tx
                .prepare_cached(
                    "UPDATE attachments SET refused = NULL, last_error = NULL
                     WHERE id = ?1 AND refused IS NOT NULL",
                )?
                .execute([id])?;
            Ok(n > 0)
        })
    }

    /// Marks attachment `id` as used now (least recently used is evicted first).
    pub(crate) fn touch_attachment(&self, id: &str) -> Result<()> {
        self.write(|tx| {
            let used = next_use(tx)?;
            tx.prepare_cached("UPDATE attachments SET last_used = ?2 WHERE id = ?1")?
                .execute(params![id, used])?;
            Ok(())
        })
    }

    /// Records fetched bytes of `meta.id`, running `place` (which puts them in the folder) in
    /// the same transaction. An attachment made here keeps its state.
    pub(crate) fn record_fetched(
        &self,
        meta: &NewAttachmentRow,
        place: impl FnOnce() -> Result<()>,
    ) -> Result<()> {
        self.write(|tx| {
            ensure_row(tx, meta)?;
            place()?;
            let used = next_use(tx)?;
            tx.prepare_cached(
                "UPDATE attachments SET present = 1, last_used = ?2, last_error = NULL,
                    state = CASE WHEN state IN ('pending', 'uploaded') THEN state ELSE 'fetched' END
                 WHERE id = ?1",
            )?
            .execute(params![meta.id, used])?;
            Ok(())
        })
    }

    /// Records the thumbnail of `meta.id` (`size` bytes), running `place` (which writes it to
    /// the folder) in the same transaction.
    pub(crate) fn record_thumbnail(
        &self,
        meta: &NewAttachmentRow,
        size: u64,
        place: impl FnOnce() -> Result<()>,
    ) -> Result<()> {
        self.write(|tx| {
            ensure_row(tx, meta)?;
            place()?;
            let used = next_use(tx)?;
            tx.prepare_cached(
                "UPDATE attachments SET thumbnail_size = ?2, no_thumbnail = 0, last_used = ?3
                 WHERE id = ?1",
            )?
            .execute(params![meta.id, size as i64, used])?;
            Ok(())
        })
    }

    /// Records that the server has no thumbnail of `meta.id`, so prefetching stops asking.
    pub(crate) fn record_no_thumbnail(&self, meta: &NewAttachmentRow) -> Result<()> {
        self.write(|tx| {
            ensure_row(tx, meta)?;
            tx.prepare_cached("UPDATE attachments SET no_thumbnail = 1 WHERE id = ?1")?
                .execute([&meta.id])?;
            Ok(())
        })
    }

    /// Sets what the folder holds of `id` as found there (after a crash, or files removed by
    /// hand): bytes present or not (an absent non-pending attachment becomes `remote`; a
    /// pending one stays pending, its loss reported when it is uploaded), and the thumbnail's
    /// size.
    pub(crate) fn set_attachment_found(
        &self,
        id: &str,
        present: bool,
        thumbnail_size: Option<u64>,
    ) -> Result<()> {
        self.write(|tx| {
            tx.prepare_cached(
                "UPDATE attachments SET present = ?2, thumbnail_size = ?3,
                    state = CASE
                        WHEN state = 'pending' THEN 'pending'
                        WHEN ?2 = 0 THEN 'remote'
                        WHEN state = 'remote' THEN 'fetched'
                        ELSE state END
                 WHERE id = ?1",
            )?
            .execute(params![id, present, thumbnail_size.map(|s| s as i64)])?;
            Ok(())
        })
    }

    /// Evicts attachment `id` unless it is pending: runs `remove` (which deletes its files) and
    /// records its bytes and thumbnail as gone, in one transaction. Returns whether it was
    /// evicted.
    pub(crate) fn evict_attachment(
        &self,
        id: &str,
        remove: impl FnOnce() -> Result<()>,
    ) -> Result<bool> {
        self.write(|tx| {
            let state: Option<String> = tx
                .prepare_cached("SELECT state FROM attachments WHERE id = ?1")?
                .query_row([id], |r| r.get(0))
                .optional()?;
            match state.as_deref().and_then(AttachmentState::parse) {
                Some(AttachmentState::Pending) | None => Ok(false),
                Some(_) => {
                    remove()?;
                    tx.prepare_cached(
                        "UPDATE attachments SET state = 'remote', present = 0, thumbnail_size = NULL
                         WHERE id = ?1",
                    )?
                    .execute([id])?;
                    Ok(true)
                }
            }
        })
    }

    /// Deletes the row of attachment `id` and runs `remove` (which deletes its files), in one
    /// transaction, if no document on the device references it (checked again inside it).
    /// Returns whether it was deleted.
    pub(crate) fn forget_attachment(
        &self,
        id: &str,
        remove: impl FnOnce() -> Result<()>,
    ) -> Result<bool> {
        self.write(|tx| {
            let n = tx
                .prepare_cached(
                    "DELETE FROM attachments WHERE id = ?1
                     AND NOT EXISTS (SELECT 1 FROM attachment_refs WHERE attachment_id = ?1)",
                )?
                .execute([id])?;
            if n > 0 {
                remove()?;
            }
            Ok(n > 0)
        })
    }

    /// The rows of attachments no document on the device references.
    pub(crate) fn unreferenced_attachments(&self) -> Result<Vec<AttachmentRow>> {
        self.rows_where(
            "NOT EXISTS (SELECT 1 FROM attachment_refs r WHERE r.attachment_id = a.id)",
            [],
        )
    }

    /// Whether the quarantine holds changes of document `doc_id`.
    pub(crate) fn quarantine_holds(&self, doc_id: &str) -> Result<bool> {
        Ok(self
            .conn
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM quarantine WHERE doc_id = ?1)")?
            .query_row([doc_id], |r| r.get(0))?)
    }

    /// What the cache budget weighs: every attachment with bytes or a thumbnail here.
    pub(crate) fn attachment_cache_entries(&self) -> Result<Vec<CacheEntry>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, state = 'pending', (CASE WHEN present THEN size ELSE 0 END)
                    + coalesce(thumbnail_size, 0), last_used
             FROM attachments WHERE present OR thumbnail_size IS NOT NULL",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(CacheEntry {
                id: r.get(0)?,
                pending: r.get(1)?,
                bytes: r.get::<_, i64>(2)?.max(0) as u64,
                last_used: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The bytes of attachments and thumbnails in the folder.
    pub(crate) fn attachment_bytes_held(&self) -> Result<u64> {
        Ok(self
            .attachment_cache_entries()?
            .iter()
            .map(|e| e.bytes)
            .sum())
    }

    /// How many attachments wait for their upload here, and their bytes.
    pub(crate) fn pending_attachments(&self) -> Result<(usize, u64)> {
        let (n, bytes): (i64, i64) = self.conn.query_row(
            "SELECT count(*), coalesce(sum(size), 0) FROM attachments WHERE state = 'pending'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok((n.max(0) as usize, bytes.max(0) as u64))
    }

    /// The attachments whose upload the server refused, with its reasons.
    pub(crate) fn refused_attachments(&self) -> Result<Vec<RefusedAttachment>> {
        Ok(self
            .rows_where("a.refused IS NOT NULL ORDER BY a.last_used", [])?
            .into_iter()
            .map(|r| RefusedAttachment {
                id: r.id,
                name: r.name,
                reason: r.refused.unwrap_or_default(),
            })
            .collect())
    }

    /// The cache budget in bytes ([`DEFAULT_CACHE_BUDGET`] unless set).
    pub fn attachment_cache_budget(&self) -> Result<u64> {
        match meta_get(&self.conn, BUDGET_KEY)? {
            None => Ok(DEFAULT_CACHE_BUDGET),
            Some(v) => v
                .parse()
                .map_err(|_| Error::Corrupt(format!("attachment cache budget in store: '{v}'"))),
        }
    }

    /// Sets the cache budget in bytes.
    pub fn set_attachment_cache_budget(&self, bytes: u64) -> Result<()> {
        self.write(|tx| meta_set(tx, BUDGET_KEY, &bytes.to_string()))
    }

    /// The receipts of `owner`'s expense claims whose bytes are not here, smallest first: what
    /// a sync fetches ahead, within the budget.
    pub(crate) fn receipts_to_prefetch(&self, owner: &str) -> Result<Vec<NewAttachmentRow>> {
        self.references_where(
            "JOIN expense_claims e ON e.id = r.doc_id
             WHERE r.kind = 'expense_claim' AND e.owner = ?1 AND coalesce(a.present, 0) = 0
             GROUP BY r.attachment_id ORDER BY r.size",
            params![owner],
        )
    }

    /// Up to `limit` photos of visits on the device that have neither bytes nor thumbnail
    /// here, of a type the server makes thumbnails of, and that the server did not say it has
    /// no thumbnail of.
    pub(crate) fn thumbnails_to_prefetch(&self, limit: usize) -> Result<Vec<NewAttachmentRow>> {
        self.references_where(
            &format!(
                "WHERE r.kind = 'visit' AND r.media_type IN {THUMBNAIL_TYPES}
                 AND coalesce(a.present, 0) = 0 AND a.thumbnail_size IS NULL
                 AND coalesce(a.no_thumbnail, 0) = 0
                 GROUP BY r.attachment_id ORDER BY r.attachment_id LIMIT ?1"
            ),
            params![limit as i64],
        )
    }

    fn references_where<P: rusqlite::Params>(
        &self,
        rest: &str,
        params: P,
    ) -> Result<Vec<NewAttachmentRow>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT r.attachment_id, r.media_type, r.size, r.name
             FROM attachment_refs r LEFT JOIN attachments a ON a.id = r.attachment_id {rest}"
        ))?;
        let rows = stmt.query_map(params, |r| {
            Ok(NewAttachmentRow {
                id: r.get(0)?,
                media_type: r.get(1)?,
                size: r.get::<_, i64>(2)?.max(0) as u64,
                name: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::model::customer::{CustomerEdit, NewCustomer};
    use crate::model::fields::now_string;

    fn photo(n: u8) -> AttachmentRef {
        AttachmentRef {
            id: format!("{n:064x}"),
            media_type: "image/jpeg".into(),
            size: 1000 + i64::from(n),
            name: format!("{n}.jpg"),
            taken_at: now_string(),
            added_by: "li".into(),
        }
    }

    fn uses(s: &Store) -> Vec<(String, String)> {
        s.attachment_references()
            .unwrap()
            .into_values()
            .flat_map(|(meta, uses)| uses.into_iter().map(move |u| (meta.id.clone(), u.doc_id)))
            .collect()
    }

    #[test]
    fn the_references_follow_their_document_and_a_store_from_before_gets_them_at_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let s = Store::open(&path).unwrap();
        let c = s
            .create_customer(NewCustomer {
                name: "华东精密".into(),
                territory: "east".into(),
                owner: "li".into(),
                created_by: "li".into(),
                ..Default::default()
            })
            .unwrap();
        s.update_customer(
            &c,
            &[
                CustomerEdit::AddPhoto(photo(1)),
                CustomerEdit::AddBusinessCard(photo(2)),
            ],
        )
        .unwrap();
        assert_eq!(
            uses(&s),
            [(photo(1).id, c.clone()), (photo(2).id, c.clone())]
        );
        s.update_customer(&c, &[CustomerEdit::RemoveAttachment(photo(1).id)])
            .unwrap();
        assert_eq!(uses(&s), [(photo(2).id, c.clone())]);
        assert_eq!(
            s.attachment_reference(&photo(2).id).unwrap().unwrap().size,
            1002
        );
        drop(s);

        // Back to schema 4, as the release before attachments left it.
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "DROP INDEX documents_unsent; DROP TABLE resend; DROP TABLE attachment_refs; DROP TABLE attachments;
             PRAGMA user_version = 4;",
        )
        .unwrap();
        drop(conn);
        let s = Store::open(&path).unwrap();
        assert_eq!(uses(&s), [(photo(2).id, c.clone())]);

        // A document deleted takes its references with it.
        assert!(s.revoke_document(&c).unwrap());
        assert!(uses(&s).is_empty());
    }

    #[test]
    fn last_used_only_goes_up() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path().join("s.db")).unwrap();
        let meta = NewAttachmentRow::from(&photo(3));
        s.record_fetched(&meta, || Ok(())).unwrap();
        let mut last = s.attachment_row(&meta.id).unwrap().unwrap().last_used;
        for _ in 0..5 {
            s.touch_attachment(&meta.id).unwrap();
            let now = s.attachment_row(&meta.id).unwrap().unwrap().last_used;
            assert!(now > last);
            last = now;
        }
    }
}
