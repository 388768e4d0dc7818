//! The attachment index in PostgreSQL: references written with each accepted change, uploads,
//! thumbnails and the attachments to delete ([`AttachmentIndex`]), as in SQLite.

use super::{PgStorage, Tx};
use crate::storage::{AttachmentIndex, AttachmentUse, StorageResult, StoredAttachment, Thumbnail};

/// Replaces the attachment references of document `doc_id` with `uses`, and marks the
/// attachments that lost their last reference as released at `now` (unix seconds), those that
/// gained one as referenced.
pub(super) fn write_uses(
    tx: &mut Tx<'_>,
    doc_id: &str,
    uses: &[AttachmentUse],
    now: i64,
) -> StorageResult<()> {
    let mut touched: Vec<String> = tx
        .query(
            "SELECT id FROM attachment_refs WHERE doc_id = $1",
            &[&doc_id],
        )?
        .into_iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?;
    tx.execute("DELETE FROM attachment_refs WHERE doc_id = $1", &[&doc_id])?;
    for u in uses {
        tx.execute(
            "INSERT INTO attachment_refs(doc_id, id, added_by, size, media_type)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            &[&doc_id, &u.id, &u.added_by, &(u.size as i64), &u.media_type],
        )?;
        touched.push(u.id.clone());
    }
    for id in touched {
        tx.execute(
            "UPDATE attachments SET released_at = CASE
                 WHEN EXISTS(SELECT 1 FROM attachment_refs r WHERE r.id = attachments.id) THEN NULL
                 ELSE coalesce(released_at, $2) END
             WHERE id = $1",
            &[&id, &now],
        )?;
    }
    Ok(())
}

impl AttachmentIndex for PgStorage {
    fn attachment_uses(&self, id: &str) -> StorageResult<Vec<AttachmentUse>> {
        self.read_one(|tx| {
            tx.query(
                "SELECT doc_id, added_by, size, media_type FROM attachment_refs WHERE id = $1 ORDER BY doc_id",
                &[&id],
            )?
            .into_iter()
            .map(|r| {
                Ok(AttachmentUse {
                    id: id.to_string(),
                    doc_id: r.try_get(0)?,
                    added_by: r.try_get(1)?,
                    size: r.try_get::<_, i64>(2)?.max(0) as u64,
                    media_type: r.try_get(3)?,
                })
            })
            .collect()
        })
    }

    fn attachment_holder(&self, id: &str, username: &str) -> StorageResult<bool> {
        self.read_one(|tx| {
            Ok(tx
                .query_one(
                    "SELECT EXISTS(SELECT 1 FROM attachment_holders WHERE id = $1 AND username = $2)",
                    &[&id, &username],
                )?
                .try_get(0)?)
        })
    }

    fn stored_attachment(&self, id: &str) -> StorageResult<Option<StoredAttachment>> {
        self.read_one(|tx| {
            tx.query_opt(
                "SELECT size, media_type, thumbnail FROM attachments WHERE id = $1",
                &[&id],
            )?
            .map(|r| {
                Ok(StoredAttachment {
                    size: r.try_get::<_, i64>(0)?.max(0) as u64,
                    media_type: r.try_get(1)?,
                    thumbnail: Thumbnail::from_code(r.try_get(2)?),
                })
            })
            .transpose()
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
        self.write(|tx| {
            tx.execute(
                "INSERT INTO attachments(id, size, media_type, stored_at, released_at)
                 VALUES ($1, $2, $3, $4,
                         CASE WHEN EXISTS(SELECT 1 FROM attachment_refs WHERE id = $1) THEN NULL ELSE $4 END)
                 ON CONFLICT (id) DO NOTHING",
                &[&id, &(size as i64), &media_type, &now],
            )?;
            tx.execute(
                "INSERT INTO attachment_holders(id, username) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &[&id, &username],
            )?;
            Ok(())
        })
    }

    fn set_thumbnail(&self, id: &str, thumbnail: Thumbnail) -> StorageResult<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE attachments SET thumbnail = $2 WHERE id = $1",
                &[&id, &thumbnail.code()],
            )?;
            Ok(())
        })
    }

    fn released_attachments(&self, before: i64, limit: usize) -> StorageResult<Vec<String>> {
        self.read_one(|tx| {
            tx.query(
                "SELECT id FROM attachments
                 WHERE released_at IS NOT NULL AND released_at < $1
                   AND NOT EXISTS(SELECT 1 FROM attachment_refs r WHERE r.id = attachments.id)
                 ORDER BY released_at LIMIT $2",
                &[&before, &(limit as i64)],
            )?
            .into_iter()
            .map(|r| Ok(r.try_get(0)?))
            .collect()
        })
    }

    fn forget_attachment(&self, id: &str) -> StorageResult<bool> {
        self.write(|tx| {
            let gone = tx.execute(
                "DELETE FROM attachments WHERE id = $1
                 AND NOT EXISTS(SELECT 1 FROM attachment_refs WHERE id = $1)",
                &[&id],
            )? > 0;
            if gone {
                tx.execute("DELETE FROM attachment_holders WHERE id = $1", &[&id])?;
            }
            Ok(gone)
        })
    }
}
