//! Keeping the blob folder and the store's `attachments` table true to each other and to the
//! documents on the device.
//!
//! It exists for the two moments the folder can hold what nothing needs: documents that left
//! the device (revocations, a quarantined first version, a photo removed), after which
//! [`collect_garbage`] deletes the attachments no document on the device references, and a
//! crash or a hand in the folder, after which [`reconcile`] (at open) makes the table say what
//! the folder holds. Neither ever deletes bytes that exist nowhere else while something may
//! still want them: a pending attachment stays while a document or a quarantine entry of its
//! document references it.

use std::collections::{HashMap, HashSet};
use std::time::SystemTime;

use super::AttachmentState;
use super::folder::{BlobFolder, Entry, STALE_AFTER};
use crate::Store;
use crate::error::Result;

/// Deletes the attachments (bytes, thumbnail, row) that no document on the device references,
/// except pending ones whose document has changes in the quarantine (a retry may bring the
/// reference back, and they are the only copy). Returns how many were deleted.
pub(crate) fn collect_garbage(store: &Store, folder: &BlobFolder) -> Result<usize> {
    let mut deleted = 0;
    for row in store.unreferenced_attachments()? {
        if row.state == AttachmentState::Pending
            && let Some(doc) = &row.attached_to
            && store.quarantine_holds(doc)?
        {
            continue;
        }
        if store.forget_attachment(&row.id, || folder.remove(&row.id))? {
            deleted += 1;
        }
    }
    Ok(deleted)
}

/// Makes the table say what the folder holds, after a crash or files removed by hand: a row
/// whose bytes or thumbnail are gone says so (a pending one stays pending, and its upload
/// reports the loss); bytes under a hash with no row are adopted if a document references them
/// (only checked bytes are ever put under a hash) and otherwise removed once stale (a younger
/// one may be another process's write about to be recorded).
pub(crate) fn reconcile(store: &Store, folder: &BlobFolder) -> Result<()> {
    let mut blobs = HashSet::new();
    let mut thumbnails = HashSet::new();
    for entry in folder.entries()? {
        match entry {
            Entry::Blob(id) => {
                blobs.insert(id);
            }
            Entry::Thumbnail(id) => {
                thumbnails.insert(id);
            }
            Entry::Temporary(..) => {}
        }
    }
    let rows: HashMap<String, _> = store
        .attachment_rows()?
        .into_iter()
        .map(|r| (r.id.clone(), r))
        .collect();
    for row in rows.values() {
        let present = blobs.contains(&row.id);
        let thumbnail = if thumbnails.contains(&row.id) {
            std::fs::metadata(folder.thumbnail(&row.id))
                .ok()
                .map(|m| m.len())
        } else {
            None
        };
        if present != row.present || thumbnail != row.thumbnail_size {
            store.set_attachment_found(&row.id, present, thumbnail)?;
        }
    }
    let now = SystemTime::now();
    let stale = |path: &std::path::Path| {
        std::fs::metadata(path)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|at| now.duration_since(at).ok())
            .is_some_and(|age| age >= STALE_AFTER)
    };
    for id in blobs.iter().filter(|id| !rows.contains_key(*id)) {
        match store.attachment_reference(id)? {
            Some(meta) => store.record_fetched(&meta, || Ok(()))?,
            None if stale(&folder.blob(id)) => folder.remove_file(&folder.blob(id))?,
            None => {}
        }
    }
    for id in thumbnails.iter().filter(|id| !rows.contains_key(*id)) {
        let path = folder.thumbnail(id);
        if stale(&path) {
            folder.remove_file(&path)?;
        }
    }
    Ok(())
}
