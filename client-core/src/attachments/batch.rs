//! What a sync does about attachments once its rounds are done, and fetching one on demand.
//!
//! It exists so that the order of things is decided once, over the store, the folder and any
//! [`AttachmentTransport`]: first the attachments no document references any more are deleted
//! ([`super::upkeep::collect_garbage`]), then the pending ones whose documents the server
//! accepted are uploaded, then, best effort, the user's own expense receipts and the thumbnails
//! of visits' photos are fetched within the cache budget. Nothing of it fails the sync: the
//! documents are already acknowledged, and an attachment that could not go stays pending and is
//! tried at the next sync.

use std::path::PathBuf;

use serde::Serialize;

use super::transfer::{self, Uploaded};
use super::{
    AttachmentProgress, AttachmentTransport, Direction, cache, folder::BlobFolder, upkeep,
};
use crate::Store;
use crate::error::{AttachmentError, Error};
use crate::store::{AttachmentRow, NewAttachmentRow};
use crate::sync::SyncError;

/// How many thumbnails one sync fetches ahead at most.
pub const MAX_PREFETCH_THUMBNAILS: usize = 100;

/// What the attachments' part of a sync did (summed into [`crate::sync::SyncReport`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct AttachmentTally {
    /// Attachments uploaded.
    pub uploaded: u32,
    /// Attachments the server refused (kept here; see `Client::attachments`).
    pub refused: u32,
    /// Attachments still pending after the sync (not accepted yet, or the upload failed).
    pub pending: u32,
    /// Body bytes handed to the network for uploads.
    pub bytes_sent: u64,
    /// Attachments and thumbnails fetched ahead.
    pub fetched: u32,
    /// Body bytes received for them.
    pub bytes_received: u64,
}

/// The attachments' part of a sync, as `user`, after the rounds: garbage collected, pending
/// uploaded, receipts and thumbnails fetched ahead, then the budget enforced. Stops at the
/// first failure of the network (recorded on the attachment, for `Client::attachments`) or a
/// cancel; the error of that failure is returned beside the tally, never instead of it.
pub(crate) fn after_sync(
    store: &Store,
    folder: &BlobFolder,
    transport: &mut dyn AttachmentTransport,
    user: &str,
    cancelled: &dyn Fn() -> bool,
    progress: &mut dyn FnMut(AttachmentProgress),
) -> (AttachmentTally, Option<SyncError>) {
    let mut tally = AttachmentTally::default();
    let failed = upkeep::collect_garbage(store, folder)
        .map_err(SyncError::from)
        .and_then(|_| {
            upload_pending(
                store, folder, transport, user, cancelled, progress, &mut tally,
            )
        })
        .and_then(|()| {
            prefetch(
                store, folder, transport, user, cancelled, progress, &mut tally,
            )
        })
        .err();
    if let Ok((pending, _)) = store.pending_attachments() {
        tally.pending = u32::try_from(pending).unwrap_or(u32::MAX);
    }
    (tally, failed)
}

/// The progress of transfer `number` of `of`.
fn teller<'a>(
    progress: &'a mut dyn FnMut(AttachmentProgress),
    meta: &'a NewAttachmentRow,
    direction: Direction,
    number: usize,
    of: usize,
) -> impl FnMut(u64) + 'a {
    move |done| {
        progress(AttachmentProgress {
            id: meta.id.clone(),
            name: meta.name.clone(),
            direction,
            done,
            size: meta.size,
            number: u32::try_from(number).unwrap_or(u32::MAX),
            of: u32::try_from(of).unwrap_or(u32::MAX),
        })
    }
}

fn meta_of(row: &AttachmentRow) -> NewAttachmentRow {
    NewAttachmentRow {
        id: row.id.clone(),
        media_type: row.media_type.clone(),
        size: row.size,
        name: row.name.clone(),
    }
}

/// Uploads the pending attachments `user` can upload now ([`Store::uploadable_attachments`]).
pub(crate) fn upload_pending(
    store: &Store,
    folder: &BlobFolder,
    transport: &mut dyn AttachmentTransport,
    user: &str,
    cancelled: &dyn Fn() -> bool,
    progress: &mut dyn FnMut(AttachmentProgress),
    tally: &mut AttachmentTally,
) -> Result<(), SyncError> {
    let rows = store.uploadable_attachments(user)?;
    // Uploads the server holds are recorded a batch at a time: one commit for many photos. One
    // not yet recorded when the device stops is asked for again, and the server answers that
    // it holds it before any byte is sent again.
    let mut uploaded: Vec<String> = Vec::new();
    let outcome = (|| {
        let of = rows.len();
        for (i, row) in rows.iter().enumerate() {
            let meta = meta_of(row);
            let mut tell = teller(progress, &meta, Direction::Upload, i + 1, of);
            let outcome = transfer::upload(
                transport,
                folder,
                row,
                cancelled,
                &mut tell,
                &mut tally.bytes_sent,
            );
            match outcome {
                Ok(Uploaded::Done) => {
                    uploaded.push(row.id.clone());
                    tally.uploaded += 1;
                    if uploaded.len() >= RECORD_UPLOADED_EVERY {
                        store.set_attachments_uploaded(&uploaded)?;
                        uploaded.clear();
                    }
                }
                Ok(Uploaded::Refused(reason)) => {
                    store.set_attachment_refused(&row.id, &reason)?;
                    tally.refused += 1;
                }
                Ok(Uploaded::NotYet) => {}
                // Its own copy is gone: the others may still go.
                Err(SyncError::Store(e @ Error::Attachment(AttachmentError::Lost { .. }))) => {
                    store.set_attachment_error(&row.id, Some(&e.to_string()))?;
                }
                Err(SyncError::Cancelled) => return Err(SyncError::Cancelled),
                Err(e) => {
                    store.set_attachment_error(&row.id, Some(&e.to_string()))?;
                    return Err(e);
                }
            }
        }
        Ok(())
    })();
    store.set_attachments_uploaded(&uploaded)?;
    outcome
}

/// The uploads made since the last record are recorded once this many are waiting.
const RECORD_UPLOADED_EVERY: usize = 32;

/// Fetches ahead, best effort and without evicting anything for it: the receipts of `user`'s
/// own expense claims, then thumbnails of visits' photos, each only if it fits the budget
/// beside what is held.
pub(crate) fn prefetch(
    store: &Store,
    folder: &BlobFolder,
    transport: &mut dyn AttachmentTransport,
    user: &str,
    cancelled: &dyn Fn() -> bool,
    progress: &mut dyn FnMut(AttachmentProgress),
    tally: &mut AttachmentTally,
) -> Result<(), SyncError> {
    let budget = store.attachment_cache_budget()?;
    let mut held = store.attachment_bytes_held()?;
    let receipts: Vec<NewAttachmentRow> = store
        .receipts_to_prefetch(user)?
        .into_iter()
        .filter(|r| r.size > 0)
        .collect();
    let of = receipts.len();
    for (i, meta) in receipts.iter().enumerate() {
        if held.saturating_add(meta.size) > budget {
            break;
        }
        let mut tell = teller(progress, meta, Direction::Download, i + 1, of);
        let fetched = transfer::download(
            transport,
            folder,
            &meta.id,
            Some(meta.size),
            cancelled,
            &mut tell,
            &mut tally.bytes_received,
        );
        match fetched {
            Ok(_) => {
                store.record_fetched(meta, || folder.place_part(&meta.id))?;
                held += meta.size;
                tally.fetched += 1;
            }
            Err(SyncError::Store(Error::Attachment(_))) => {}
            Err(e) => return Err(e),
        }
    }
    for meta in store.thumbnails_to_prefetch(MAX_PREFETCH_THUMBNAILS)? {
        if cancelled() {
            return Err(SyncError::Cancelled);
        }
        match transfer::thumbnail(transport, &meta.id) {
            Ok(bytes) => {
                let size = bytes.len() as u64;
                if held.saturating_add(size) > budget {
                    break;
                }
                store.record_thumbnail(&meta, size, || folder.put_thumbnail(&meta.id, &bytes))?;
                held += size;
                tally.fetched += 1;
                tally.bytes_received += size;
            }
            Err(SyncError::Store(Error::Attachment(AttachmentError::NoThumbnail(_)))) => {
                store.record_no_thumbnail(&meta)?;
            }
            Err(SyncError::Store(Error::Attachment(_))) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The local copy of attachment `id`, downloaded if it is not here (then the budget is
/// enforced, keeping this one). Marks it used. A document on the device must reference it.
pub(crate) fn fetch(
    store: &Store,
    folder: &BlobFolder,
    transport: &mut dyn AttachmentTransport,
    id: &str,
    progress: &mut dyn FnMut(AttachmentProgress),
) -> Result<PathBuf, SyncError> {
    if let Some(path) = local_copy(store, folder, id)? {
        return Ok(path);
    }
    let meta = match store.attachment_reference(id)? {
        Some(meta) => meta,
        None => match store.attachment_row(id)? {
            Some(row) => meta_of(&row),
            None => {
                return Err(SyncError::Store(Error::Attachment(
                    AttachmentError::Unknown(id.to_string()),
                )));
            }
        },
    };
    let mut tell = teller(progress, &meta, Direction::Download, 1, 1);
    let mut received = 0;
    transfer::download(
        transport,
        folder,
        id,
        Some(meta.size),
        &|| false,
        &mut tell,
        &mut received,
    )?;
    store.record_fetched(&meta, || folder.place_part(id))?;
    cache::enforce(store, folder, Some(id))?;
    Ok(folder.blob(id))
}

/// The path of the bytes of `id` if they are here (marking them used), else `None`.
pub(crate) fn local_copy(
    store: &Store,
    folder: &BlobFolder,
    id: &str,
) -> Result<Option<PathBuf>, SyncError> {
    match store.attachment_row(id)? {
        Some(row) if row.present && folder.has(id) => {
            store.touch_attachment(id)?;
            Ok(Some(folder.blob(id)))
        }
        _ => Ok(None),
    }
}

/// The local thumbnail of attachment `id`, fetched if it is not here (then the budget is
/// enforced, keeping this one). A document on the device must reference it.
pub(crate) fn fetch_thumbnail(
    store: &Store,
    folder: &BlobFolder,
    transport: &mut dyn AttachmentTransport,
    id: &str,
) -> Result<PathBuf, SyncError> {
    if let Some(path) = local_thumbnail(store, folder, id)? {
        return Ok(path);
    }
    let meta = store.attachment_reference(id)?.ok_or_else(|| {
        SyncError::Store(Error::Attachment(AttachmentError::Unknown(id.to_string())))
    })?;
    let bytes = match transfer::thumbnail(transport, id) {
        Ok(bytes) => bytes,
        Err(e @ SyncError::Store(Error::Attachment(AttachmentError::NoThumbnail(_)))) => {
            store.record_no_thumbnail(&meta)?;
            return Err(e);
        }
        Err(e) => return Err(e),
    };
    store.record_thumbnail(&meta, bytes.len() as u64, || {
        folder.put_thumbnail(id, &bytes)
    })?;
    cache::enforce(store, folder, Some(id))?;
    Ok(folder.thumbnail(id))
}

/// The path of the thumbnail of `id` if it is here (marking it used), else `None`.
pub(crate) fn local_thumbnail(
    store: &Store,
    folder: &BlobFolder,
    id: &str,
) -> Result<Option<PathBuf>, SyncError> {
    match store.attachment_row(id)? {
        Some(row) if row.thumbnail_size.is_some() && folder.thumbnail(id).is_file() => {
            store.touch_attachment(id)?;
            Ok(Some(folder.thumbnail(id)))
        }
        _ => Ok(None),
    }
}
