//! Where the server keeps its data, behind one trait so another backend (PostgreSQL) can be
//! added without touching the protocol code.
//!
//! Every method is blocking and atomic: it runs in one database transaction, and a crash at any
//! point leaves either all of it or none of it. The async handlers call it through
//! `spawn_blocking`.

pub mod sqlite;

use serde::Serialize;

use crate::access::Principal;

/// A storage failure; the detail goes to the log, the client gets a generic 500.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] rusqlite::Error),
    /// A user name is taken.
    #[error("user '{0}' already exists")]
    UserExists(String),
    /// The data directory holds a newer schema than this build knows.
    #[error(
        "the data directory was written by a newer fieldsync-server (schema {0}): update the server"
    )]
    TooNew(i64),
    /// Stored data could not be read back.
    #[error("stored data is damaged: {0}")]
    Corrupt(String),
}

/// Result of storage calls.
pub type StorageResult<T> = Result<T, StorageError>;

/// The three roles of DESIGN.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A sales rep.
    Rep,
    /// A regional manager.
    Manager,
    /// An administrator.
    Admin,
}

impl Role {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Rep => "rep",
            Role::Manager => "manager",
            Role::Admin => "admin",
        }
    }

    /// Parses a stored or typed name.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "rep" => Some(Role::Rep),
            "manager" => Some(Role::Manager),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// A user account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    /// Login name, also the name in documents' owner/author/approver fields.
    pub username: String,
    /// Role.
    pub role: Role,
    /// Territories (reps: where they may create customers; managers: what they oversee).
    pub territories: Vec<String>,
    /// The user's manager (reps).
    pub manager: Option<String>,
    /// Disabled users cannot log in, refresh, or sync.
    pub disabled: bool,
    /// Argon2 PHC string.
    #[serde(skip)]
    pub password_hash: String,
}

/// The scope fields of a document, as the server indexes them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DocScope {
    /// Document id.
    pub id: String,
    /// Kind (`customer`, `visit`, `trip_plan`, `expense_claim`).
    pub kind: String,
    /// Customers: territory.
    pub territory: Option<String>,
    /// Customers, trip plans, expense claims: the owning user.
    pub owner: Option<String>,
    /// Visits: the customer id.
    pub customer: Option<String>,
    /// Visits: the rep who wrote it.
    pub author: Option<String>,
    /// Trip plans, expense claims: the approver.
    pub approver: Option<String>,
}

/// A stored document: its latest compacted state and the changes logged after it.
#[derive(Debug, Clone)]
pub struct StoredDoc {
    /// Scope fields.
    pub scope: DocScope,
    /// Automerge save, if one was taken.
    pub snapshot: Option<Vec<u8>>,
    /// Changes logged after the snapshot, in log order.
    pub changes: Vec<Vec<u8>>,
    /// How many changes were logged after the snapshot.
    pub heads: String,
}

/// One change to log.
#[derive(Debug, Clone)]
pub struct LoggedChange {
    /// Automerge change hash, hex.
    pub hash: String,
    /// The change.
    pub bytes: Vec<u8>,
    /// The device's clock when it made the change (unix seconds).
    pub device_time: i64,
}

impl LoggedChange {
    /// The log entry of an Automerge change.
    pub fn of(change: &mut automerge::Change) -> LoggedChange {
        LoggedChange {
            hash: change.hash().to_string(),
            bytes: change.bytes().into_owned(),
            device_time: change.timestamp(),
        }
    }
}

/// A document entering or leaving a user's scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeEvent {
    /// Whose scope.
    pub username: String,
    /// Which document.
    pub doc_id: String,
    /// Entered (true) or left (false).
    pub entered: bool,
}

/// Everything one accepted push (or server-side edit) writes, in one transaction.
#[derive(Debug, Clone)]
pub struct DocCommit {
    /// The document's scope fields after the change.
    pub scope: DocScope,
    /// Its heads after the change, hex, comma-separated.
    pub heads: String,
    /// The new changes, in causal order.
    pub changes: Vec<LoggedChange>,
    /// Who pushed them.
    pub writer: String,
    /// The device session that pushed them (none for server-side edits).
    pub session: Option<String>,
    /// A fresh compacted state to keep instead of the old snapshot and log replay.
    pub snapshot: Option<Vec<u8>>,
    /// Scope events the change causes.
    pub scope_events: Vec<ScopeEvent>,
}

/// Limits of one page of a pull.
#[derive(Debug, Clone, Copy)]
pub struct PullLimits {
    /// At most this many documents.
    pub max_documents: usize,
    /// Stop adding documents once the page holds this many bytes.
    pub max_bytes: usize,
}

/// What to send a device: documents as changes or snapshots, and revocations.
#[derive(Debug, Clone, Default)]
pub struct PullPage {
    /// (id, snapshot?, data).
    pub documents: Vec<(String, bool, Vec<u8>)>,
    /// Documents that left the scope.
    pub revoked: Vec<String>,
    /// The next cursor.
    pub cursor: u64,
    /// Whether more is waiting.
    pub more: bool,
}

/// A device session (one login of one device).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Session id (random).
    pub id: String,
    /// The user.
    pub username: String,
    /// What the device called itself.
    pub device_name: String,
    /// Unix seconds.
    pub created_at: i64,
}

/// What presenting a refresh token found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshUse {
    /// A valid token, now retired; the session it belongs to.
    Valid(Session),
    /// The token was already used: a replay. Its session id, to revoke.
    Replayed(String),
    /// Unknown, expired, or its session was revoked.
    Invalid,
    /// The successor the device proposed is a token that exists already; nothing changed.
    SuccessorTaken,
}

/// The server's storage.
pub trait Storage: Send + Sync + 'static {
    /// Adds a user.
    fn add_user(&self, user: &User) -> StorageResult<()>;
    /// One user.
    fn user(&self, username: &str) -> StorageResult<Option<User>>;
    /// All users, by name.
    fn users(&self) -> StorageResult<Vec<User>>;
    /// Disables or enables a user; false if there is no such user.
    fn set_disabled(&self, username: &str, disabled: bool) -> StorageResult<bool>;
    /// Records a new device session.
    fn create_session(&self, session: &Session) -> StorageResult<()>;
    /// Whether a session exists and is not revoked.
    fn session_active(&self, session_id: &str) -> StorageResult<bool>;
    /// Stores a refresh token (by its hash).
    fn store_refresh(&self, hash: &str, session_id: &str, expires_at: i64) -> StorageResult<()>;
    /// Presents a refresh token: if it is valid, retires it and stores its successor (by its
    /// hash, expiring at `next_expires_at`) in the same transaction, so a crash never leaves
    /// the session with neither; reports a replay otherwise.
    fn use_refresh(
        &self,
        hash: &str,
        now: i64,
        next_hash: &str,
        next_expires_at: i64,
    ) -> StorageResult<RefreshUse>;
    /// Revokes a session and all its refresh tokens.
    fn revoke_session(&self, session_id: &str) -> StorageResult<()>;
    /// A persistent value of the server's own (its Automerge actor id).
    fn meta(&self, key: &str) -> StorageResult<Option<String>>;
    /// Sets a persistent value, unless one is there; returns the value kept.
    fn meta_init(&self, key: &str, value: &str) -> StorageResult<String>;

    /// A document's stored state, or `None`.
    fn load_doc(&self, id: &str) -> StorageResult<Option<StoredDoc>>;
    /// The scope fields of a document.
    fn doc_scope(&self, id: &str) -> StorageResult<Option<DocScope>>;
    /// The visits of a customer.
    fn visits_of(&self, customer: &str) -> StorageResult<Vec<DocScope>>;
    /// Ids of the customers a user owns.
    fn customers_owned_by(&self, owner: &str) -> StorageResult<Vec<String>>;
    /// How many changes of a document were logged after its last snapshot.
    fn changes_since_snapshot(&self, id: &str) -> StorageResult<usize>;
    /// Writes accepted change sets with their scope fields and events, in order, in one
    /// transaction; returns the last seq of each.
    fn commit_batch(&self, commits: &[DocCommit]) -> StorageResult<Vec<u64>>;
    /// The highest sequence number logged.
    fn head_seq(&self) -> StorageResult<u64>;
    /// One page of what `principal` has not seen after `cursor`.
    /// Documents whose only news after the cursor came from `session` itself are left out:
    /// that device has them.
    fn pull(
        &self,
        principal: &Principal,
        session: Option<&str>,
        cursor: u64,
        limits: PullLimits,
    ) -> StorageResult<PullPage>;
}
