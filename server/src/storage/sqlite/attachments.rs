//! The attachment index in SQLite: references written with each accepted change, uploads,
//! thumbnails and the attachments to delete ([`AttachmentIndex`]).

use rusqlite::{Connection, OptionalExtension, params};

use super::SqliteStorage;
use crate::storage::{AttachmentIndex, AttachmentUse, StorageResult, StoredAttachment, Thumbnail};

/// Replaces the attachment references of document `doc_id` with `uses`, and marks the
/// attachments that lost their last reference as released at `now` (unix seconds), those that
/// gained one as referenced.
pub(super) fn write_uses(
    tx: &Connection,
    doc_id: &str,
    uses: &[AttachmentUse],
    now: i64,
) -> StorageResult<()> {
    let mut touched: Vec<String> = tx
        .prepare_cached("SELECT id FROM attachment_refs WHERE doc_id = ?1")?
        .query_map([doc_id], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    tx.prepare_cached("DELETE FROM attachment_refs WHERE doc_id = ?1")?
        .execute([doc_id])?;
    for u in uses {
        tx.prepare_cached(
            "INSERT INTO attachment_refs(doc_id, id, added_by, size, media_type)
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
        )?
        .execute(params![
            doc_id,
            u.id,
            u.added_by,
            u.size as i64,
            u.media_type
        ])?;
        touched.push(u.id.clone());
    }
    for id in touched {
        tx.prepare_cached(
            "UPDATE attachments SET released_at = CASE
                 WHEN EXISTS(SELECT 1 FROM attachment_refs r WHERE r.id = attachments.id) THEN NULL
                 ELSE coalesce(released_at, ?2) END
             WHERE id = ?1",
        )?
        .execute(params![id, now])?;
    }
    Ok(())
}

impl AttachmentIndex for SqliteStorage {
    fn attachment_uses(&self, id: &str) -> StorageResult<Vec<AttachmentUse>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT doc_id, added_by, size, media_type FROM attachment_refs WHERE id = ?1 ORDER BY doc_id",
            )?;
            let rows = stmt.query_map([id], |r| {
                Ok(AttachmentUse {
                    id: id.to_string(),
                    doc_id: r.get(0)?,
                    added_by: r.get(1)?,
                    size: r.get::<_, i64>(2)?.max(0) as u64,
                    media_type: r.get(3)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    fn attachment_holder(&self, id: &str, username: &str) -> StorageResult<bool> {
        self.read(|conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT EXISTS(SELECT 1 FROM attachment_holders WHERE id = ?1 AND username = ?2)",
                )?
                .query_row([id, username], |r| r.get(0))?)
        })
    }

    fn stored_attachment(&self, id: &str) -> StorageResult<Option<StoredAttachment>> {
        self.read(|conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT size, media_type, thumbnail FROM attachments WHERE id = ?1",
                )?
                .query_row([id], |r| {
                    Ok(StoredAttachment {
                        size: r.get::<_, i64>(0)?.max(0) as u64,
                        media_type: r.get(1)?,
                        thumbnail: Thumbnail::from_code(r.get(2)?),
                    })
                })
                .optional()?)
        })
    }

    fn attachment_uploaded(
        &self,
        id: &str,
        size: u64,
        media_type: &str,
        username: &str,
        now: i64,
    ) -> StorageResult<()> {
        self.write(|conn| {
            let tx = conn.transaction()?;
            tx.prepare_cached(
                "INSERT INTO attachments(id, size, media_type, stored_at, released_at)
                 VALUES (?1, ?2, ?3, ?4,
                         CASE WHEN EXISTS(SELECT 1 FROM attachment_refs WHERE id = ?1) THEN NULL ELSE ?4 END)
                 ON CONFLICT(id) DO NOTHING",
            )?
            .execute(params![id, size as i64, media_type, now])?;
            tx.prepare_cached(
                "INSERT INTO attachment_holders(id, username) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
            )?
            .execute([id, username])?;
            tx.commit()?;
            Ok(())
        })
    }

    fn set_thumbnail(&self, id: &str, thumbnail: Thumbnail) -> StorageResult<()> {
        self.write(|conn| {
            conn.prepare_cached("UPDATE attachments SET thumbnail = ?2 WHERE id = ?1")?
                .execute(params![id, thumbnail.code()])?;
            Ok(())
        })
    }

    fn released_attachments(&self, before: i64, limit: usize) -> StorageResult<Vec<String>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT id FROM attachments
                 WHERE released_at IS NOT NULL AND released_at < ?1
                   AND NOT EXISTS(SELECT 1 FROM attachment_refs r WHERE r.id = attachments.id)
                 ORDER BY released_at LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![before, limit as i64], |r| r.get(0))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    fn forget_attachment(&self, id: &str) -> StorageResult<bool> {
        self.write(|conn| {
            let tx = conn.transaction()?;
            let gone = tx
                .prepare_cached(
                    "DELETE FROM attachments WHERE id = ?1
                     AND NOT EXISTS(SELECT 1 FROM attachment_refs WHERE id = ?1)",
                )?
                .execute([id])?
                > 0;
            if gone {
                tx.prepare_cached("DELETE FROM attachment_holders WHERE id = ?1")?
                    .execute([id])?;
            }
            tx.commit()?;
            Ok(gone)
        })
    }
}
