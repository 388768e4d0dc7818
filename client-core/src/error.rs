//! The errors of client-core: one enum for everything the store and the model can refuse.
//!
//! Messages are lowercase and say what to do, so an app can show them as they are.

use thiserror::Error;

/// A rule of the document schema that a value breaks.
///
/// `field` is the dotted path of the field (`customer.tier`, `visit.people_met[2].name`),
/// `problem` says what is wrong with it and what is accepted instead.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{field}: {problem}")]
pub struct ValidationError {
    /// The field that breaks the rule.
    pub field: String,
    /// What is wrong, and what would be accepted.
    pub problem: String,
}

impl ValidationError {
    /// A broken rule of `field`.
    pub fn new(field: impl Into<String>, problem: impl Into<String>) -> Self {
        ValidationError {
            field: field.into(),
            problem: problem.into(),
        }
    }

    /// The same problem, reported under a longer path (`contacts[1]` + `.phone`).
    pub fn within(self, prefix: &str) -> Self {
        ValidationError {
            field: format!("{prefix}.{}", self.field),
            problem: self.problem,
        }
    }
}

/// Everything client-core can fail with.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// A value or a document breaks the schema; nothing was written.
    #[error("invalid {0}")]
    Invalid(#[from] ValidationError),
    /// A string that should be a document id is not one.
    #[error(
        "'{0}' is not a document id: ids are UUIDs such as 01932c07-7a3e-7b8e-9f1e-3c2a1b0d4e5f"
    )]
    MalformedId(String),
    /// No document with this id is in the store.
    #[error("no document {0} in this store: check the id, or sync to fetch it")]
    NotFound(String),
    /// The user named a document of a kind this device does not have under that id.
    #[error("unknown {kind} {id}: it is not on this device; list them, or sync to fetch it")]
    Unknown {
        /// What the user named (`customer`, `visit`, `trip plan`, `expense claim`).
        kind: &'static str,
        /// The id given.
        id: String,
    },
    /// The document exists but is of another kind than the operation expects.
    #[error(
        "document {id} is {}, not {}",
        crate::model::fields::a_or_an(found),
        crate::model::fields::a_or_an(expected)
    )]
    WrongKind {
        /// The document id.
        id: String,
        /// The kind the operation works on.
        expected: &'static str,
        /// The kind the document has.
        found: String,
    },
    /// Imported bytes hold a document of a kind fieldsync does not know.
    #[error(
        "unknown document kind '{0}': expected customer, visit, trip_plan, expense_claim, order, complaint or target"
    )]
    UnknownKind(String),
    /// Imported bytes are not Automerge data, or are damaged.
    #[error(
        "corrupt document data: {0}; the bytes were not stored, ask the sender to send them again"
    )]
    Corrupt(String),
    /// Data is larger than fieldsync takes (a change, a push, a document's history); nothing of
    /// it was applied. The message says which limit and what to do.
    #[error("{0}")]
    TooLarge(String),
    /// The acting user may not make this change (the server would refuse it for the same
    /// reason); nothing was written.
    #[error("{reason}")]
    Refused {
        /// The rule, as the server names it (`approval`, `field_rights`, `scope`).
        rule: String,
        /// What was wrong and what to do.
        reason: String,
    },
    /// Imported bytes belong to another document than the one named.
    #[error("the bytes are for document {found}, not {expected}")]
    IdMismatch {
        /// The id the caller named.
        expected: String,
        /// The id written in the document.
        found: String,
    },
    /// Changes depend on earlier changes this device does not have; nothing was stored.
    #[error(
        "changes for document {id} depend on {missing} earlier changes this device does not have: sync the whole document"
    )]
    MissingDependencies {
        /// The document.
        id: String,
        /// How many changes are missing.
        missing: usize,
    },
    /// The store file was written by a newer version of fieldsync.
    #[error(
        "the store was written by a newer fieldsync (schema {found}, this version reads up to {supported}): update the app"
    )]
    StoreTooNew {
        /// The schema version in the file.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },
    /// The local database failed (disk full, permissions, corruption). Nothing of the failed
    /// operation was written: each one is a transaction.
    #[error("local database error: {0}{hint}", hint = storage_hint(.0))]
    Storage(#[from] rusqlite::Error),
    /// Automerge refused an operation.
    #[error("document error: {0}")]
    Document(#[from] automerge::AutomergeError),
    /// The device's data directory cannot be created, or a thread of the library cannot be
    /// started: the operating system refused.
    #[error("{what}: {reason}")]
    System {
        /// What could not be done, and what to do about it.
        what: String,
        /// What the operating system said.
        reason: String,
    },
    /// No quarantine entry has this number.
    #[error(
        "no quarantine entry {0} on this device: list the quarantine to see the entries' numbers"
    )]
    NoQuarantineEntry(i64),
    /// An attachment's file, bytes or transfer failed; the message says what to do.
    #[error(transparent)]
    Attachment(#[from] AttachmentError),
    /// The changes of a quarantine entry build on a version of their document that the device
    /// no longer has (it left the device's scope), so they cannot be read field by field.
    #[error(
        "the changes of quarantine entry {entry} build on a version of document {doc_id} this device no longer has: sync to fetch the document, or export the entry to keep what was typed"
    )]
    QuarantineBaseMissing {
        /// The quarantine entry.
        entry: i64,
        /// Its document.
        doc_id: String,
    },
}

/// What can go wrong with an attachment: the file to attach, the bytes on the device, or what
/// the server says about it (docs/PROTOCOL.md, "Attachments"). Whatever failed, nothing was
/// attached and no document changed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum AttachmentError {
    /// The file to attach cannot be read (missing, a folder, no permission).
    #[error("cannot read {path}: {reason}; check the path and that the app may read the file")]
    Unreadable {
        /// The path given.
        path: String,
        /// What the operating system said.
        reason: String,
    },
    /// The file is empty.
    #[error("{name} is empty: attach a file with something in it")]
    Empty {
        /// The file name.
        name: String,
    },
    /// The file is larger than an attachment may be.
    #[error(
        "{name} is {size} bytes, over the limit of {limit} bytes for an attachment: attach a smaller file (a photo at a lower resolution, a PDF of fewer pages)"
    )]
    TooLarge {
        /// The file name.
        name: String,
        /// Its size in bytes.
        size: u64,
        /// The limit in bytes.
        limit: u64,
    },
    /// The file's content is not of a media type attachments may have (an executable renamed
    /// `photo.jpg`, a text file): the type is read from the bytes, never from the name.
    #[error(
        "{name} is not {allowed} by its content, whatever its name says: attach a photo or a PDF"
    )]
    MediaType {
        /// The file name.
        name: String,
        /// The types allowed, for people (`a JPEG, PNG, HEIC, WebP or PDF file`).
        allowed: String,
    },
    /// No document on this device references the attachment.
    #[error(
        "no document on this device references attachment {0}: check the id, or sync to fetch the document that holds it"
    )]
    Unknown(String),
    /// The server answered `404 not_found`: the user sees no document that references it, or
    /// there is no such attachment.
    #[error(
        "attachment {0} is not yours to see, or there is no such attachment: check the id, or sync"
    )]
    NotFound(String),
    /// The server answered `404 not_uploaded`: the device that attached it has not uploaded
    /// the bytes yet.
    #[error(
        "attachment {0} is not uploaded yet (the device that attached it has not synced it): try later"
    )]
    NotUploaded(String),
    /// The server answered `404 no_thumbnail`.
    #[error(
        "the server has no thumbnail of attachment {0} (it is not a JPEG, PNG or WebP image, or the thumbnail is not made yet): open the attachment itself"
    )]
    NoThumbnail(String),
    /// The bytes downloaded do not hash to the attachment's id.
    #[error(
        "the bytes received for attachment {0} do not match it (damaged on the way) and were not kept: try again"
    )]
    Damaged(String),
    /// The device's own copy of an attachment it has not uploaded yet is missing or damaged.
    #[error(
        "this device's copy of attachment {id} ({name}) is missing or damaged and was never uploaded: attach the file again"
    )]
    Lost {
        /// The attachment.
        id: String,
        /// Its file name.
        name: String,
    },
}

impl From<autosurgeon::ReconcileError> for Error {
    fn from(e: autosurgeon::ReconcileError) -> Self {
        match e {
            autosurgeon::ReconcileError::Automerge(a) => Error::Document(a),
            other => Error::Corrupt(other.to_string()),
        }
    }
}

/// What to do about a database failure the user can fix.
fn storage_hint(e: &rusqlite::Error) -> &'static str {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DiskFull) => {
            "; the device's storage is full: free some space and try again (nothing was saved)"
        }
        Some(rusqlite::ErrorCode::ReadOnly) => {
            "; the app's data directory is read-only: make it writable and try again (nothing was saved)"
        }
        Some(rusqlite::ErrorCode::CannotOpen) => {
            "; the data directory cannot be opened: check that it exists and is writable"
        }
        _ => "",
    }
}

/// The result type of client-core.
pub type Result<T, E = Error> = std::result::Result<T, E>;
