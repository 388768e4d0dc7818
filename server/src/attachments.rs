//! Attachments on the server: visit photos, receipts, business cards and complaint evidence,
//! content-addressed blobs that documents reference (docs/PROTOCOL.md, "Attachments").
//!
//! Who may upload and fetch is decided here, from the attachment index the storage keeps with
//! every accepted change: a caller is answered for an attachment only if they see a document
//! that references it; an upload needs a reference the caller signed, a fetch one whose signer
//! uploaded the bytes. Everybody else gets the same 404 whether the bytes exist or not.
//!
//! The parts: [`blobs`] (the store, files or S3), [`upload`] (resumable uploads checked
//! against their hash and media type), [`thumbnail`] (small JPEGs of photos, made when
//! [`traffic`] says the uploads pause), [`sweep`]
//! (deleting what nothing references any more) and [`http`] (the endpoints).

pub mod blobs;
pub mod http;
pub mod sweep;
pub mod thumbnail;
pub mod traffic;
pub mod upload;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

pub use blobs::{BlobError, BlobLocation, Blobs, S3Keys};
use fieldsync_core::model::attachment::{DEFAULT_MEDIA_TYPES, is_attachment_id};

use crate::access::Principal;
use crate::error::AppError;
use crate::service::Core;
use crate::storage::{AttachmentUse, StoredAttachment};

/// How attachments are kept and limited.
#[derive(Debug, Clone)]
pub struct AttachmentConfig {
    /// Where the bytes are kept.
    pub location: BlobLocation,
    /// The largest attachment taken, in bytes.
    pub max_bytes: u64,
    /// The media types taken (checked against the bytes themselves).
    pub media_types: Vec<String>,
    /// How long an attachment no document references any more, or an upload nobody finishes,
    /// is kept before it is deleted.
    pub grace: Duration,
}

/// The default largest attachment: 25 MB.
pub const DEFAULT_MAX_BYTES: u64 = 25 * 1_000_000;

/// The default grace period: a week.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(7 * 24 * 3600);

impl AttachmentConfig {
    /// Files under `dir`, with the default limits.
    pub fn files(dir: impl Into<std::path::PathBuf>) -> AttachmentConfig {
        AttachmentConfig {
            location: BlobLocation::Files(dir.into()),
            max_bytes: DEFAULT_MAX_BYTES,
            media_types: DEFAULT_MEDIA_TYPES.iter().map(|t| t.to_string()).collect(),
            grace: DEFAULT_GRACE,
        }
    }

    /// Parses a comma-separated list of media types (`image/jpeg,application/pdf`).
    pub fn parse_media_types(list: &str) -> Result<Vec<String>, String> {
        let types: Vec<String> = list
            .split(',')
            .map(|t| t.trim().to_ascii_lowercase())
            .filter(|t| !t.is_empty())
            .collect();
        let known = |t: &String| DEFAULT_MEDIA_TYPES.contains(&t.as_str());
        match types.iter().find(|t| !known(t)) {
            Some(t) => Err(format!(
                "{t} is not a media type the server can recognise by its content: choose among {}",
                DEFAULT_MEDIA_TYPES.join(", ")
            )),
            None if types.is_empty() => Err("name at least one media type".into()),
            None => Ok(types),
        }
    }
}

/// The attachments of a server: its blob store and its limits.
pub struct Attachments {
    /// The bytes.
    pub blobs: Blobs,
    /// The limits.
    pub config: AttachmentConfig,
    /// One thumbnail is made at a time: they are CPU work that must not starve syncs.
    pub(crate) thumbnailing: tokio::sync::Semaphore,
    /// The uploads streaming in now: thumbnails made in the background wait for a pause.
    pub(crate) traffic: traffic::UploadTraffic,
    /// One request at a time works on one user's upload of one attachment: a device that
    /// asks how much the server holds right after a cut waits until the cut request's bytes
    /// are saved, instead of being told a count they are about to change.
    uploading: std::sync::Mutex<HashMap<UploadKey, Arc<tokio::sync::Mutex<()>>>>,
}

/// An upload: the attachment id and the uploader.
type UploadKey = (String, String);

impl Attachments {
    /// Opens the blob store `config` names.
    pub fn open(config: AttachmentConfig) -> Result<Arc<Attachments>, BlobError> {
        Ok(Arc::new(Attachments {
            blobs: Blobs::open(&config.location)?,
            config,
            thumbnailing: tokio::sync::Semaphore::new(1),
            traffic: traffic::UploadTraffic::default(),
            uploading: std::sync::Mutex::default(),
        }))
    }

    /// The lock of `username`'s upload of `id` ([`Attachments::uploading`]).
    pub(crate) fn upload_lock(&self, id: &str, username: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self
            .uploading
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Locks nobody holds or waits for are dropped now and then.
        if locks.len() > 1024 {
            locks.retain(|_, lock| Arc::strong_count(lock) > 1);
        }
        locks
            .entry((id.to_string(), username.to_string()))
            .or_default()
            .clone()
    }
}

/// The answer for an attachment nobody may ask about: the same whether it exists or not.
pub fn not_found() -> AppError {
    AppError::NotFound(
        "no such attachment, or not one you can see: check the id, and sync to see the documents that reference it".into(),
    )
}

/// Checks the form of an id in a path: anything else is no attachment.
pub fn check_id(id: &str) -> Result<(), AppError> {
    if is_attachment_id(id) {
        Ok(())
    } else {
        Err(not_found())
    }
}

/// The references to attachment `id` in documents `who` sees.
pub fn uses_seen_by(
    core: &Core,
    who: &Principal,
    id: &str,
) -> Result<Vec<AttachmentUse>, AppError> {
    let mut seen = Vec::new();
    for u in core.storage.attachment_uses(id)? {
        let Some(scope) = core.storage.doc_scope(&u.doc_id)? else {
            continue;
        };
        let customer = match &scope.customer {
            Some(c) => core.storage.doc_scope(c)?,
            None => None,
        };
        if who.sees(&scope, customer.as_ref()) {
            seen.push(u);
        }
    }
    Ok(seen)
}

/// What `who` may upload of attachment `id`: the reference they signed, in a document they
/// see. Anything else is [`not_found`].
pub fn upload_reference(core: &Core, who: &Principal, id: &str) -> Result<AttachmentUse, AppError> {
    uses_seen_by(core, who, id)?
        .into_iter()
        .find(|u| u.added_by == who.username)
        .ok_or_else(not_found)
}

/// The stored attachment `id`, if `who` may fetch it: a document they see references it, and
/// the reference's signer uploaded the bytes. [`AppError::NotUploaded`] when they see a
/// reference whose bytes have not arrived; [`not_found`] when they see none.
pub fn fetchable(core: &Core, who: &Principal, id: &str) -> Result<StoredAttachment, AppError> {
    let uses = uses_seen_by(core, who, id)?;
    if uses.is_empty() {
        return Err(not_found());
    }
    for u in &uses {
        if core.storage.attachment_holder(id, &u.added_by)? {
            return core
                .storage
                .stored_attachment(id)?
                .ok_or(AppError::NotUploaded);
        }
    }
    Err(AppError::NotUploaded)
}
