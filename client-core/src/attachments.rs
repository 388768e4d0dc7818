//! The device side of attachments (docs/PROTOCOL.md, "Attachments"): the bytes of photos,
//! receipts and evidence that documents reference ([`crate::model::attachment`]).
//!
//! It exists because the bytes do not travel with the documents: they live in a blob folder
//! beside the store (`folder`), described by the store's `attachments` table, and move over
//! endpoints of their own, after the documents that reference them. What is here:
//! - `stage_file`: checking a file to attach (size, media type read from its content) and
//!   copying it into the folder, before the reference is written;
//! - [`transfer`]: one attachment's resumable upload or download over an
//!   [`AttachmentTransport`] (the HTTP one is `sync::http`'s);
//! - `batch`: what a sync does about attachments once its rounds are done (upload what is
//!   pending, fetch ahead within the budget), and fetching one on demand;
//! - [`cache`]: the size budget, evicting least recently used bytes, never pending ones;
//! - `upkeep`: deleting what no document on the device references any more (after a scope
//!   loss), and matching the table to the folder at open.
//!
//! The application facade ([`crate::client::Client`]) is where these are used.

pub(crate) mod batch;
pub mod cache;
pub(crate) mod folder;
pub mod transfer;
pub(crate) mod upkeep;

#[cfg(test)]
pub(crate) mod tests;

use std::fs::File;
use std::path::Path;

use serde::Serialize;

use crate::error::{AttachmentError, Error, Result};
use crate::model::attachment::{
    AttachmentRef, DEFAULT_MEDIA_TYPES, check_file_name, sniff_media_type,
};
use crate::model::fields::format_time;
use folder::{BlobFolder, StageError, Staged};

pub use batch::{AttachmentTally, MAX_PREFETCH_THUMBNAILS};
pub use cache::DEFAULT_CACHE_BUDGET;
pub use transfer::{AttachmentTransport, Download, UploadAnswer, UploadStatus};

/// The largest file the device attaches unless told otherwise: 25 MB, the server's default
/// limit.
pub const DEFAULT_MAX_BYTES: u64 = 25_000_000;

/// Where an attachment's bytes stand on this device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AttachmentState {
    /// Attached here and not yet uploaded by this device: the bytes are here only (never
    /// evicted).
    Pending,
    /// Attached here and uploaded.
    Uploaded,
    /// Downloaded from the server.
    Fetched,
    /// The bytes are not on this device (never fetched, or evicted).
    Remote,
}

impl AttachmentState {
    /// The state as the store writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            AttachmentState::Pending => "pending",
            AttachmentState::Uploaded => "uploaded",
            AttachmentState::Fetched => "fetched",
            AttachmentState::Remote => "remote",
        }
    }

    /// The state written as [`AttachmentState::as_str`] does.
    pub fn parse(s: &str) -> Option<AttachmentState> {
        Some(match s {
            "pending" => AttachmentState::Pending,
            "uploaded" => AttachmentState::Uploaded,
            "fetched" => AttachmentState::Fetched,
            "remote" => AttachmentState::Remote,
            _ => return None,
        })
    }
}

/// A document on the device that references an attachment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AttachmentUse {
    /// The document.
    pub doc_id: String,
    /// Its kind (`visit`, `customer`, `complaint`, `expense_claim`).
    pub kind: String,
    /// Who attached it there (the reference's signature).
    pub added_by: String,
}

/// An attachment as the device knows it ([`crate::client::Client::attachments`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AttachmentInfo {
    /// The SHA-256 of its bytes.
    pub id: String,
    /// File name.
    pub name: String,
    /// Media type.
    pub media_type: String,
    /// Size in bytes.
    pub size: u64,
    /// Where its bytes stand.
    pub state: AttachmentState,
    /// Whether its bytes are on this device.
    pub local: bool,
    /// Whether its thumbnail is on this device.
    pub thumbnail: bool,
    /// The documents on the device that reference it (none for a pending attachment whose
    /// document is in the quarantine).
    pub documents: Vec<AttachmentUse>,
    /// The server's reason when it refused the upload: it is not sent again until retried
    /// ([`crate::client::Client::retry_attachment`]) or attached again.
    pub refused: Option<String>,
    /// Why its last transfer failed, if it did (it is tried again at the next sync).
    pub last_error: Option<String>,
}

/// An attachment the server refused to take, with its reason (`fieldsync status`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefusedAttachment {
    /// The attachment.
    pub id: String,
    /// Its file name.
    pub name: String,
    /// What the server said.
    pub reason: String,
}

/// Which way an attachment travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// From this device to the server.
    Upload,
    /// From the server to this device.
    Download,
}

/// How far an attachment's transfer is, for a progress bar: told through a sync's progress
/// ([`crate::sync::Progress::attachment`]) or a fetch's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AttachmentProgress {
    /// The attachment.
    pub id: String,
    /// Its file name.
    pub name: String,
    /// Which way it travels.
    pub direction: Direction,
    /// Bytes the receiving side holds so far (an upload resumed after a cut starts where
    /// the server's copy ends).
    pub done: u64,
    /// Its size.
    pub size: u64,
    /// Which transfer of this batch it is, from 1.
    pub number: u32,
    /// How many transfers the batch has.
    pub of: u32,
}

/// What the device attaches: a file's size limit and the media types allowed (read from the
/// content). The server checks again with its own settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentLimits {
    /// The largest file, in bytes ([`DEFAULT_MAX_BYTES`]).
    pub max_bytes: u64,
    /// The media types allowed ([`DEFAULT_MEDIA_TYPES`]).
    pub media_types: Vec<String>,
}

impl Default for AttachmentLimits {
    fn default() -> Self {
        AttachmentLimits {
            max_bytes: DEFAULT_MAX_BYTES,
            media_types: DEFAULT_MEDIA_TYPES.iter().map(|s| s.to_string()).collect(),
        }
    }
}

impl AttachmentLimits {
    /// The allowed types, for people: "a JPEG, PNG, HEIC, WebP or PDF file".
    fn allowed(&self) -> String {
        let names: Vec<&str> = self
            .media_types
            .iter()
            .map(|t| match t.as_str() {
                "image/jpeg" => "JPEG",
                "image/png" => "PNG",
                "image/heic" => "HEIC",
                "image/webp" => "WebP",
                "application/pdf" => "PDF",
                other => other,
            })
            .collect();
        match names.split_last() {
            None => "any file attachments may hold".into(),
            Some((last, [])) => format!("a {last} file"),
            Some((last, rest)) => format!("a {} or {last} file", rest.join(", ")),
        }
    }
}

/// A file checked and copied into the blob folder, not yet under its hash nor referenced.
#[derive(Debug)]
pub(crate) struct FileToAttach {
    staged: Staged,
    media_type: &'static str,
    name: String,
    taken_at: String,
}

impl FileToAttach {
    /// The reference to write into a document, signed by `added_by`.
    pub(crate) fn reference(&self, added_by: &str) -> AttachmentRef {
        AttachmentRef {
            id: self.staged.id.clone(),
            media_type: self.media_type.to_string(),
            size: self.staged.size as i64,
            name: self.name.clone(),
            taken_at: self.taken_at.clone(),
            added_by: added_by.to_string(),
        }
    }

    /// Puts the bytes under their hash in `folder` (see [`BlobFolder::place`]); returns
    /// whether the file is new.
    pub(crate) fn place(self, folder: &BlobFolder) -> Result<bool> {
        folder.place(self.staged)
    }
}

/// Checks the file at `path` against `limits` and copies it into `folder` while hashing it:
/// it must be a readable, non-empty file of at most `limits.max_bytes` whose first bytes say
/// it is one of `limits.media_types`. Otherwise the error says what to do, and nothing is left
/// in the folder. `taken_at` is the file's modification time (when the photo was taken, for a
/// camera's file), or now if it has none or it is in the future.
pub(crate) fn stage_file(
    folder: &BlobFolder,
    path: &Path,
    limits: &AttachmentLimits,
) -> Result<FileToAttach> {
    let shown = path.display().to_string();
    let unreadable = |reason: String| {
        Error::Attachment(AttachmentError::Unreadable {
            path: shown.clone(),
            reason,
        })
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| unreadable("it names no file".into()))?;
    check_file_name("attachment.name", &name)?;
    let mut file = File::open(path).map_err(|e| unreadable(e.to_string()))?;
    let meta = file.metadata().map_err(|e| unreadable(e.to_string()))?;
    if !meta.is_file() {
        return Err(unreadable("it is a folder, not a file".into()));
    }
    let too_large = |size: u64| {
        Error::Attachment(AttachmentError::TooLarge {
            name: name.clone(),
            size,
            limit: limits.max_bytes,
        })
    };
    if meta.len() > limits.max_bytes {
        return Err(too_large(meta.len()));
    }
    let staged = match folder.stage(&mut file, limits.max_bytes) {
        Ok(staged) => staged,
        // It grew while it was copied.
        Err(StageError::TooLarge { seen }) => return Err(too_large(seen.max(meta.len()))),
        Err(StageError::Read(e)) => return Err(unreadable(e.to_string())),
        Err(StageError::Folder(e)) => return Err(e),
    };
    if staged.size == 0 {
        return Err(Error::Attachment(AttachmentError::Empty { name }));
    }
    let media_type = sniff_media_type(&staged.head)
        .filter(|t| limits.media_types.iter().any(|allowed| allowed == t))
        .ok_or_else(|| {
            Error::Attachment(AttachmentError::MediaType {
                name: name.clone(),
                allowed: limits.allowed(),
            })
        })?;
    let now = chrono::Utc::now();
    let taken = meta
        .modified()
        .ok()
        .map(chrono::DateTime::<chrono::Utc>::from)
        .filter(|t| *t <= now)
        .unwrap_or(now);
    Ok(FileToAttach {
        staged,
        media_type,
        name,
        taken_at: format_time(taken),
    })
}
