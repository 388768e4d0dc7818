//! Deleting what nothing needs any more: attachments no document has referenced for the grace
//! period, and the parts and staging copies of uploads nobody finished.
//!
//! An attachment's rows go first, in a transaction that checks no reference came back; its
//! bytes after. With several server nodes, one sweeps at a time.

use std::sync::Arc;

use super::Attachments;
use super::blobs::Blobs;
use crate::service::Core;

/// What a sweep deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    /// Attachments deleted.
    pub attachments: usize,
    /// Upload parts and staging copies deleted.
    pub leftovers: usize,
}

/// The most of each the sweep deletes in one go (the next sweep goes on).
const BATCH: usize = 1000;

/// Deletes attachments released before the grace period, and upload leftovers older than it.
pub async fn sweep(core: Arc<Core>, attachments: Arc<Attachments>) -> Result<Swept, String> {
    let claim = "sweep of the attachments";
    let claimed = {
        let core = core.clone();
        tokio::task::spawn_blocking(move || match core.storage.nodes() {
            Some(nodes) => nodes.try_claim(claim).map_err(|e| e.to_string()),
            None => Ok(true),
        })
        .await
        .map_err(|e| e.to_string())??
    };
    if !claimed {
        return Ok(Swept::default());
    }
    let swept = sweep_claimed(&core, &attachments).await;
    let release = core.clone();
    let _ = tokio::task::spawn_blocking(move || {
        if let Some(nodes) = release.storage.nodes() {
            nodes.release(&[claim]);
        }
    })
    .await;
    swept
}

async fn sweep_claimed(core: &Arc<Core>, attachments: &Attachments) -> Result<Swept, String> {
    let grace =
        chrono::Duration::from_std(attachments.config.grace).unwrap_or(chrono::Duration::MAX);
    let cutoff = chrono::Utc::now() - grace;
    let mut swept = Swept::default();
    let released = {
        let core = core.clone();
        tokio::task::spawn_blocking(move || {
            core.storage.released_attachments(cutoff.timestamp(), BATCH)
        })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?
    };
    for id in released {
        let forgotten = {
            let (core, id) = (core.clone(), id.clone());
            tokio::task::spawn_blocking(move || core.storage.forget_attachment(&id))
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())?
        };
        if forgotten {
            let blobs = &attachments.blobs;
            blobs
                .delete(&Blobs::blob(&id))
                .await
                .map_err(|e| e.to_string())?;
            blobs
                .delete(&Blobs::thumbnail(&id))
                .await
                .map_err(|e| e.to_string())?;
            swept.attachments += 1;
        }
    }
    if let super::BlobLocation::Files(dir) = attachments.blobs.location() {
        let (dir, before) = (dir.clone(), std::time::SystemTime::from(cutoff));
        swept.leftovers += tokio::task::spawn_blocking(move || {
            super::blobs::half_written_files(&dir, before)
                .into_iter()
                .filter(|f| std::fs::remove_file(f).is_ok())
                .count()
        })
        .await
        .map_err(|e| e.to_string())?;
    }
    for prefix in ["uploads", "staging"] {
        let old = attachments
            .blobs
            .older_than(prefix, cutoff, BATCH)
            .await
            .map_err(|e| e.to_string())?;
        for path in old {
            attachments
                .blobs
                .delete(&path)
                .await
                .map_err(|e| e.to_string())?;
            swept.leftovers += 1;
        }
    }
    Ok(swept)
}
