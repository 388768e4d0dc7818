//! Where the server keeps its data, behind one trait so another backend (PostgreSQL) can be
//! added without touching the protocol code.
//!
//! Every method is blocking and atomic: it runs in one database transaction, and a crash at any
//! point leaves either all of it or none of it. The async handlers call it through
//! `spawn_blocking`.

pub mod postgres;
pub mod sqlite;

pub use fieldsync_core::cost::ChangeCost;
use serde::Serialize;

use crate::access::Principal;
use crate::pull::PullRead;

/// A storage failure, the same for every backend; the detail goes to the log. The client gets
/// a generic 500, or a 503 with `Retry-After` when the storage cannot take requests for now
/// ([`StorageError::unavailable`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// The database cannot take requests for now (a full disk, a read-only data directory, a
    /// database server that is down): retrying later works once that is fixed.
    #[error("storage unavailable ({why}): {detail}; requests work again once that is fixed")]
    Unavailable {
        /// Why, in words the client may see ("its disk is full").
        why: &'static str,
        /// What the backend said.
        detail: String,
    },
    /// The write conflicts with what is stored (a user name that is taken).
    #[error("{0}")]
    Conflict(String),
    /// Stored data could not be read back.
    #[error("stored data is damaged: {0}")]
    Corrupt(String),
    /// Any other failure of the backend, or a database this build cannot use (one written by a
    /// newer server).
    #[error("database error: {0}")]
    Backend(String),
}

impl StorageError {
    /// Why the storage cannot take requests for now, if the failure is of that kind (a full
    /// disk, a read-only data directory) rather than a fault of the request or the data.
    pub fn unavailable(&self) -> Option<&'static str> {
        match self {
            StorageError::Unavailable { why, .. } => Some(why),
            StorageError::Conflict(_) | StorageError::Corrupt(_) | StorageError::Backend(_) => None,
        }
    }
}

/// Result of storage calls.
pub type StorageResult<T> = Result<T, StorageError>;

pub use fieldsync_core::model::DocKind;
pub use fieldsync_core::rights::{DocScope, Role};

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

impl StoredDoc {
    /// The document itself: its snapshot with the later changes applied.
    pub fn assemble(&self, id: &str) -> Result<automerge::AutoCommit, StorageError> {
        assemble(id, self.snapshot.as_deref(), &self.changes.concat())
    }
}

/// What a whole document sent to a device starts from, as two columns of `docs d LEFT JOIN
/// doc_saves s ON s.doc_id = d.id` (both backends): its snapshot, else the save of its first
/// change (migration 10; 6 on PostgreSQL), else nothing; and the sequence after which its
/// logged changes follow that start.
pub(crate) const WHOLE_START: &str = "coalesce(d.snapshot, s.bytes),
    CASE WHEN d.snapshot IS NULL AND s.doc_id IS NOT NULL THEN s.seq ELSE d.snapshot_seq END";

/// How a document's row takes a commit's latest change (both backends' upserts into `docs`,
/// where `excluded.change_seq` and `excluded.change_session` are the commit's latest logged
/// change and its session, '' for none): the latest change by another session becomes the
/// stored latest one if that was logged by another session than this commit's, and stays as
/// it was if not. Every SET expression reads the row as it was (standard SQL), so the order
/// of the assignments does not matter. The columns are described in migration 11 (7 on
/// PostgreSQL).
pub(crate) const CHANGE_SESSIONS: &str = "other_change_seq = CASE
        WHEN docs.change_session = excluded.change_session THEN docs.other_change_seq
        ELSE docs.change_seq END,
    change_seq = excluded.change_seq, change_session = excluded.change_session";

/// The columns of a pull's scope query after each document's id and sequences (both
/// backends), for cursor `{c}` and the caller's session `{s}` (placeholders a backend
/// replaces with its own): the first change logged after the cursor, and whether a change after
/// it came from another session than the caller's. Both come from the document's row
/// ([`CHANGE_SESSIONS`]): the log is probed only for a document the cursor falls inside of (its
/// first change at or before it, a later one after it), and never on a first sync (cursor 0).
pub(crate) const CHANGE_NEWS: &str = "CASE WHEN {c} = 0 OR d.change_seq <= {c} THEN NULL
        WHEN d.first_seq > {c} THEN d.first_seq
        ELSE (SELECT min(l.seq) FROM log l WHERE l.doc_id = d.id AND l.seq > {c} AND l.event = 'change')
    END,
    (d.other_change_seq > {c} OR (d.change_seq > {c} AND d.change_session <> {s}))";

/// A document from its stored parts: a snapshot (if one was taken) and the concatenated
/// changes logged after it.
pub(crate) fn assemble(
    id: &str,
    snapshot: Option<&[u8]>,
    changes: &[u8],
) -> Result<automerge::AutoCommit, StorageError> {
    let mut doc = match snapshot {
        Some(s) => automerge::AutoCommit::load(s)
            .map_err(|e| StorageError::Corrupt(format!("stored document {id}: {e}")))?,
        None => automerge::AutoCommit::new(),
    };
    if !changes.is_empty() {
        fieldsync_core::chunks::load_increments(&mut doc, changes)
            .map_err(|e| StorageError::Corrupt(format!("stored changes of {id}: {e}")))?;
    }
    Ok(doc)
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
    /// For a new document pushed as one change: an uncompressed save of it as that change
    /// leaves it, which a device new to the document is sent instead of the change (it loads
    /// in half the time). Stored apart from the document's row, with the change's sequence.
    pub first_save: Option<Vec<u8>>,
    /// Scope events the change causes.
    pub scope_events: Vec<ScopeEvent>,
    /// What the new changes cost, added to the document's history.
    pub cost: ChangeCost,
    /// The owner and territory that decide who sees the document
    /// ([`DocScope::governing`]): the columns pulls filter on.
    pub governed_by: (Option<String>, Option<String>),
    /// The stored heads the change was checked against (hex, comma-separated; empty for a new
    /// document). A backend several server nodes share refuses the commit if the stored heads
    /// are others by then ([`StorageError::Unavailable`]: the round is retried): claims keep
    /// that from happening, and this keeps a lost claim from letting two nodes write a
    /// document at once. `None`: not checked.
    pub base_heads: Option<String>,
    /// The customer whose scope the document takes (a visit's) and that customer's stored heads
    /// when the change was checked against its scope; checked as [`DocCommit::base_heads`] is.
    pub base_customer: Option<(String, String)>,
    /// The attachments the document references after the change, when they changed (`None`:
    /// as before).
    pub attachments: Option<Vec<AttachmentUse>>,
    /// The document's row of the read model after the change ([`ReadModel`]).
    pub view: Option<DocView>,
}

/// A document's row in the read model: the columns the JSON API filters and sorts on, and its
/// typed view as JSON. Built from client-core's typed view (`crate::read::rows`).
#[derive(Debug, Clone, PartialEq)]
pub struct DocView {
    /// Document id.
    pub id: String,
    /// What lists call it: a customer's name, a plan's or claim's title, an order's number,
    /// the first line of a visit's or complaint's summary, a target's month.
    pub title: String,
    /// Its local day, `YYYY-MM-DD` (a target's month, `YYYY-MM`).
    pub day: Option<String>,
    /// When it happened, UTC RFC 3339 (a visit's check-in, otherwise its creation).
    pub at: Option<String>,
    /// Its status (a visit's outcome), as stored.
    pub status: Option<String>,
    /// A customer's tier.
    pub tier: Option<String>,
    /// A visit's explicit next follow-up.
    pub followup: Option<String>,
    /// A plan's budget, a claim's or an order's total, in minor units.
    pub amount: Option<i64>,
    /// The currency of `amount`.
    pub currency: Option<String>,
    /// Lower-cased text that search finds it by.
    pub search: String,
    /// The typed view, JSON.
    pub view: String,
}

/// What the read model is asked: documents of one kind that the caller sees, filtered.
#[derive(Debug, Clone)]
pub struct ViewQuery {
    /// Of this kind.
    pub kind: DocKind,
    /// Only these ids (empty: any).
    pub ids: Vec<String>,
    /// Owned by this user (the `owner` scope field).
    pub owner: Option<String>,
    /// In this territory (customers).
    pub territory: Option<String>,
    /// Of one of these customers (empty: any).
    pub customers: Vec<String>,
    /// Written by this user (visits).
    pub author: Option<String>,
    /// Waiting on this approver.
    pub approver: Option<String>,
    /// Of this tier (customers).
    pub tier: Option<String>,
    /// In one of these statuses (empty: any).
    pub statuses: Vec<String>,
    /// On or after this day.
    pub day_from: Option<String>,
    /// On or before this day.
    pub day_to: Option<String>,
    /// Whose search text holds this (lower-cased by the backend's caller).
    pub search: Option<String>,
    /// In this order.
    pub order: ViewOrder,
    /// At most this many rows.
    pub limit: Option<usize>,
    /// After skipping this many.
    pub offset: usize,
}

impl ViewQuery {
    /// Every document of `kind` the caller sees, in `order`.
    pub fn of(kind: DocKind, order: ViewOrder) -> ViewQuery {
        ViewQuery {
            kind,
            ids: Vec::new(),
            owner: None,
            territory: None,
            customers: Vec::new(),
            author: None,
            approver: None,
            tier: None,
            statuses: Vec::new(),
            day_from: None,
            day_to: None,
            search: None,
            order,
            limit: None,
            offset: 0,
        }
    }
}

/// The order of a read model answer; ties are broken by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewOrder {
    /// By title (customers by name).
    Title,
    /// Oldest first, by time.
    Oldest,
    /// Newest first, by day, then time.
    Newest,
}

/// One condition of a [`ViewQuery`] over `docs d` joined with `doc_views v`, for a backend
/// to write in its SQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ViewCondition {
    /// `column = value`.
    Eq(&'static str, String),
    /// `column` is one of the values.
    In(&'static str, Vec<String>),
    /// `column >= value`.
    AtLeast(&'static str, String),
    /// `column <= value`.
    AtMost(&'static str, String),
    /// `column LIKE pattern ESCAPE '\'`.
    Like(&'static str, String),
}

impl ViewQuery {
    /// The query's conditions besides the caller's scope, in one order for every backend.
    pub(crate) fn conditions(&self) -> Vec<ViewCondition> {
        use ViewCondition::*;
        let mut out = vec![Eq("d.kind", self.kind.as_str().to_string())];
        let eqs = [
            ("d.owner", &self.owner),
            ("d.territory", &self.territory),
            ("d.author", &self.author),
            ("d.approver", &self.approver),
            ("v.tier", &self.tier),
        ];
        out.extend(
            eqs.into_iter()
                .filter_map(|(c, v)| v.clone().map(|v| Eq(c, v))),
        );
        let lists = [
            ("d.id", &self.ids),
            ("d.customer", &self.customers),
            ("v.status", &self.statuses),
        ];
        out.extend(
            lists
                .into_iter()
                .filter(|(_, v)| !v.is_empty())
                .map(|(c, v)| In(c, v.clone())),
        );
        out.extend(self.day_from.clone().map(|d| AtLeast("v.day", d)));
        out.extend(self.day_to.clone().map(|d| AtMost("v.day", d)));
        out.extend(
            self.search
                .as_deref()
                .map(|s| Like("v.search", like_pattern(s))),
        );
        out
    }

    /// The `ORDER BY` of the query.
    pub(crate) fn order_by(&self) -> &'static str {
        match self.order {
            ViewOrder::Title => "v.title, d.id",
            ViewOrder::Oldest => "v.at, d.id",
            ViewOrder::Newest => "v.day DESC, v.at DESC, d.id",
        }
    }
}

/// A `LIKE` pattern (escaped with `\\`) matching text that holds `text`, lower-cased as search
/// text is stored.
pub(crate) fn like_pattern(text: &str) -> String {
    let mut out = String::from("%");
    for c in text.trim().to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// A row the read model answers with.
#[derive(Debug, Clone, PartialEq)]
pub struct ViewRow {
    /// The document's scope fields.
    pub scope: DocScope,
    /// Its columns and typed view.
    pub view: DocView,
}

/// A customer's newest visit: what its next follow-up is computed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastVisit {
    /// The customer.
    pub customer: String,
    /// The visit's local day.
    pub day: String,
    /// The explicit next follow-up it set.
    pub followup: Option<String>,
}

/// A document's reference to an attachment, as the server indexes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentUse {
    /// The attachment id (its SHA-256, hex).
    pub id: String,
    /// The document that references it.
    pub doc_id: String,
    /// Who signed the reference.
    pub added_by: String,
    /// The size the reference gives.
    pub size: u64,
    /// The media type the reference gives.
    pub media_type: String,
}

/// An attachment whose bytes are in the blob store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAttachment {
    /// Size in bytes.
    pub size: u64,
    /// Media type, as checked at upload.
    pub media_type: String,
    /// The thumbnail's state.
    pub thumbnail: Thumbnail,
}

/// Whether an attachment has a thumbnail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Thumbnail {
    /// Not made yet.
    Pending,
    /// Made: it is in the blob store.
    Made,
    /// None can be made (not an image the server reads).
    None,
}

impl Thumbnail {
    /// The stored number.
    pub fn code(self) -> i64 {
        match self {
            Thumbnail::Pending => 0,
            Thumbnail::Made => 1,
            Thumbnail::None => -1,
        }
    }

    /// From the stored number.
    pub fn from_code(code: i64) -> Thumbnail {
        match code {
            1 => Thumbnail::Made,
            0 => Thumbnail::Pending,
            _ => Thumbnail::None,
        }
    }
}

/// How much history a stored document has, and where it stands.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DocHistory {
    /// Changes logged after its last snapshot.
    pub changes_since_snapshot: usize,
    /// Operations and inflated bytes of every change it accepted.
    pub cost: ChangeCost,
    /// Its stored heads (as [`Documents::doc_heads`] gives them), `None` if it is not stored:
    /// read with the rest, so a push learns both in one read.
    pub heads: Option<String>,
}

/// What a push must know of a document before it checks changes to it, read for several
/// documents at once ([`Documents::read_ahead`]).
#[derive(Debug, Clone, Default)]
pub struct ReadAhead {
    /// Its history and stored heads.
    pub history: DocHistory,
    /// The stored document, unless it is not stored or the caller's copy is at its stored
    /// heads.
    pub stored: Option<StoredDoc>,
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

/// What a compaction of the log did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Compaction {
    /// The log's floor now: a pull whose cursor is below it gets changed documents whole.
    pub floor: u64,
    /// Documents whose snapshot was taken anew to hold their compacted changes.
    pub documents_resnapshotted: usize,
    /// Change rows removed from the log.
    pub changes_removed: u64,
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
    /// A valid token, now retired with its successor stored; or the repeat of the request that
    /// retired it (same token, same successor, the successor not used yet). The session it
    /// belongs to.
    Valid(Session),
    /// The successor proposed for a valid token is already a stored token: nothing changed.
    NextTaken,
    /// The token was already used: a replay. Its session id, to revoke.
    Replayed(String),
    /// The token's session was revoked (logged out, or its user disabled). The session's user,
    /// so the answer can say which of the two.
    Revoked(String),
    /// Unknown or expired.
    Invalid,
}

/// Users as a backend reads them, `(username, password hash, role, manager, disabled)`, with
/// their territories `(username, territory)`, as [`User`]s in the order given.
pub(crate) fn gather_users(
    users: Vec<(String, String, String, Option<String>, bool)>,
    territories: impl IntoIterator<Item = (String, String)>,
) -> StorageResult<Vec<User>> {
    let mut theirs: std::collections::HashMap<String, Vec<String>> = Default::default();
    for (username, territory) in territories {
        theirs.entry(username).or_default().push(territory);
    }
    users
        .into_iter()
        .map(|(username, password_hash, role, manager, disabled)| {
            let role = Role::parse(&role)
                .ok_or_else(|| StorageError::Corrupt(format!("role '{role}'")))?;
            Ok(User {
                territories: theirs.remove(&username).unwrap_or_default(),
                username,
                role,
                manager,
                disabled,
                password_hash,
            })
        })
        .collect()
}

/// A stored refresh token and its session, as [`Accounts::use_refresh`] reads it.
#[derive(Debug, Clone)]
pub(crate) struct TokenRow {
    /// The session it belongs to.
    pub session: Session,
    /// Unix seconds.
    pub expires_at: i64,
    /// Whether it was presented already.
    pub used: bool,
    /// Whether its session was revoked.
    pub revoked: bool,
}

/// What presenting a refresh token does, decided once for every backend.
#[derive(Debug)]
pub(crate) enum RefreshStep {
    /// Nothing to write: answer this.
    Answer(RefreshUse),
    /// Retire the token, store its successor, and answer [`RefreshUse::Valid`] with the session.
    Rotate(Session),
}

/// The rules of [`Accounts::use_refresh`] over what a backend reads inside its transaction:
/// the presented token's row, the session of the proposed successor if it is stored, unused
/// and unexpired (`live_next`), and whether the successor is stored at all (`next_taken`).
pub(crate) fn refresh_step(
    row: Option<TokenRow>,
    now: i64,
    live_next: impl FnOnce() -> StorageResult<Option<String>>,
    next_taken: impl FnOnce() -> StorageResult<bool>,
) -> StorageResult<RefreshStep> {
    let Some(row) = row else {
        return Ok(RefreshStep::Answer(RefreshUse::Invalid));
    };
    Ok(RefreshStep::Answer(if row.used {
        // The request that retired this token named its successor; only its sender knows it,
        // so naming it again is that request repeated, not a replay.
        if !row.revoked && live_next()?.as_deref() == Some(row.session.id.as_str()) {
            RefreshUse::Valid(row.session)
        } else {
            RefreshUse::Replayed(row.session.id)
        }
    } else if row.revoked {
        RefreshUse::Revoked(row.session.username)
    } else if row.expires_at <= now {
        RefreshUse::Invalid
    } else if next_taken()? {
        RefreshUse::NextTaken
    } else {
        return Ok(RefreshStep::Rotate(row.session));
    }))
}

/// Users, device sessions and refresh tokens, and the server's own persistent values.
pub trait Accounts: Send + Sync {
    /// Adds a user.
    fn add_user(&self, user: &User) -> StorageResult<()>;
    /// One user.
    fn user(&self, username: &str) -> StorageResult<Option<User>>;
    /// All users, by name.
    fn users(&self) -> StorageResult<Vec<User>>;
    /// All users, by name, with the directory's version at the time they were read: the
    /// version rises with every change to users or their territories, from any process or
    /// node, so a copy kept in memory is current while [`Accounts::directory_version`] is the
    /// same.
    fn users_versioned(&self) -> StorageResult<(i64, Vec<User>)>;
    /// The user directory's version (see [`Accounts::users_versioned`]): one row read.
    fn directory_version(&self) -> StorageResult<i64>;
    /// Disables or enables a user; false if there is no such user.
    fn set_disabled(&self, username: &str, disabled: bool) -> StorageResult<bool>;
    /// Replaces a user's password hash; false if there is no such user. The user's device
    /// sessions stay open: a reset is for a forgotten password, not a stolen device (disable
    /// the user for that).
    fn set_password_hash(&self, username: &str, password_hash: &str) -> StorageResult<bool>;
    /// Records a new device session.
    fn create_session(&self, session: &Session) -> StorageResult<()>;
    /// Whose a session is, if it exists and is not revoked.
    fn active_session_user(&self, session_id: &str) -> StorageResult<Option<String>>;
    /// Stores a refresh token (by its hash).
    fn store_refresh(&self, hash: &str, session_id: &str, expires_at: i64) -> StorageResult<()>;
    /// Presents refresh token `hash` with the successor `next_hash` (expiring at
    /// `next_expires_at`), in one transaction: a valid token is retired and its successor
    /// stored. A retired token presented with the successor that replaced it, while that
    /// successor is unused and the session open, is the same request again (its answer was
    /// lost, or the network sent it twice): valid, and nothing changes. Any other retired token
    /// is a replay.
    fn use_refresh(
        &self,
        hash: &str,
        next_hash: &str,
        next_expires_at: i64,
        now: i64,
    ) -> StorageResult<RefreshUse>;
    /// Revokes a session and all its refresh tokens.
    fn revoke_session(&self, session_id: &str) -> StorageResult<()>;
    /// A persistent value of the server's own (its Automerge actor id).
    fn meta(&self, key: &str) -> StorageResult<Option<String>>;
    /// Sets a persistent value, unless one is there; returns the value kept.
    fn meta_init(&self, key: &str, value: &str) -> StorageResult<String>;
    /// Sets persistent values, replacing any there, and removes the keys given `None`, in one
    /// transaction.
    fn meta_replace(&self, entries: &[(&str, Option<&str>)]) -> StorageResult<()>;
}

/// The stored state of documents: their bytes, scope fields and history size.
pub trait Documents: Send + Sync {
    /// A document's stored state, or `None`.
    fn load_doc(&self, id: &str) -> StorageResult<Option<StoredDoc>>;
    /// The scope fields of a document.
    fn doc_scope(&self, id: &str) -> StorageResult<Option<DocScope>>;
    /// The scope fields of a document and its stored heads, read together (what a visit's
    /// customer is checked by, and the heads it was checked at).
    fn doc_scope_and_heads(&self, id: &str) -> StorageResult<Option<(DocScope, String)>>;
    /// [`Documents::doc_scope_and_heads`] of each of `ids`, in their order. A backend where
    /// each read is a round trip answers in one; by default, one document after another.
    fn doc_scopes_and_heads(&self, ids: &[&str]) -> StorageResult<Vec<Option<(DocScope, String)>>> {
        ids.iter().map(|id| self.doc_scope_and_heads(id)).collect()
    }
    /// The documents that belong to customer `customer` (its visits, and any other kind that
    /// names a customer): they take its scope.
    fn dependents_of(&self, customer: &str) -> StorageResult<Vec<DocScope>>;
    /// Ids of the documents of `kind` a user owns.
    fn owned_by(&self, kind: &str, owner: &str) -> StorageResult<Vec<String>>;
    /// Ids of the documents of `kind` in `territory` (the territory scope field).
    fn in_territory(&self, kind: &str, territory: &str) -> StorageResult<Vec<String>>;
    /// How much history a document has: changes logged after its last snapshot, the cost of
    /// all its accepted changes, and its stored heads.
    fn doc_history(&self, id: &str) -> StorageResult<DocHistory>;
    /// A document's stored heads (hex, comma-separated), or `None`: what a node checks its
    /// cached copy against when other nodes write to the same database.
    fn doc_heads(&self, id: &str) -> StorageResult<Option<String>>;
    /// For each of `ids`, what a push must know of it: its history and, unless `copies` (one
    /// per id) holds its stored heads, the stored document. A backend where each read is a
    /// round trip answers in one; by default, one document after another.
    fn read_ahead(&self, ids: &[&str], copies: &[Option<String>]) -> StorageResult<Vec<ReadAhead>> {
        ids.iter()
            .zip(copies)
            .map(|(id, copy)| {
                let history = self.doc_history(id)?;
                let stored = match &history.heads {
                    Some(heads) if copy.as_ref() != Some(heads) => self.load_doc(id)?,
                    _ => None,
                };
                Ok(ReadAhead { history, stored })
            })
            .collect()
    }
}

/// The change log: accepted change sets written in order, the sequence that numbers them,
/// its compaction, and the pulls that read it.
pub trait Log: Send + Sync {
    /// Writes accepted change sets with their scope fields and events, in order, in one
    /// transaction; returns the last seq of each.
    fn commit_batch(&self, commits: &[DocCommit]) -> StorageResult<Vec<u64>>;
    /// The highest sequence number logged (its row may have been compacted away since).
    fn head_seq(&self) -> StorageResult<u64>;
    /// The highest sequence number logged before `unix_ms` by the server's clock.
    fn seq_received_before(&self, unix_ms: i64) -> StorageResult<u64>;
    /// Removes the change rows up to `horizon` that documents' snapshots already hold; a
    /// pull from a cursor below the horizon then gets whole documents.
    fn compact_log(&self, horizon: u64) -> StorageResult<Compaction>;
    /// Compacts the log up to the changes received more than `age` ago by the server's clock
    /// (see [`Log::compact_log`]). A device whose cursor is older gets the documents that
    /// changed since whole on its next sync, so nothing is lost to it.
    fn compact_older_than(&self, age: std::time::Duration) -> StorageResult<Compaction> {
        let age_ms = i64::try_from(age.as_millis()).unwrap_or(i64::MAX);
        let before = chrono::Utc::now().timestamp_millis().saturating_sub(age_ms);
        self.compact_log(self.seq_received_before(before)?)
    }
    /// What server nodes sharing this storage use to work together, or `None` when one
    /// process owns it (an embedded SQLite file).
    fn nodes(&self) -> Option<&dyn NodeLink> {
        None
    }
    /// Runs `read` over one consistent snapshot of the storage (a read transaction), for a
    /// pull: what to send is decided once for every backend, in [`crate::pull`].
    fn read_pull(
        &self,
        read: &mut dyn FnMut(&dyn PullRead) -> StorageResult<PullPage>,
    ) -> StorageResult<PullPage>;
    /// One page of what `principal` has not seen after `cursor` ([`crate::pull::page`]), every
    /// document read from storage. Documents whose only news after the cursor came from
    /// `session` itself are left out: that device has them.
    fn pull(
        &self,
        principal: &Principal,
        session: Option<&str>,
        cursor: u64,
        limits: PullLimits,
    ) -> StorageResult<PullPage> {
        self.pull_remembering(None, principal, session, cursor, limits)
    }
    /// [`Log::pull`], with documents sent whole after a first sync taken from `recent` when
    /// it holds them, and kept there once read ([`crate::pull::RecentDocuments`]).
    fn pull_remembering(
        &self,
        recent: Option<&crate::pull::RecentDocuments>,
        principal: &Principal,
        session: Option<&str>,
        cursor: u64,
        limits: PullLimits,
    ) -> StorageResult<PullPage> {
        self.read_pull(&mut |read| {
            crate::pull::page(read, recent, principal, session, cursor, limits)
        })
    }
}

/// What a node listening to the others hears ([`NodeLink::listen`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Heard {
    /// A write another node (or this one) committed ([`crate::nodes::News`], as JSON).
    News(String),
    /// Nothing for a while.
    Quiet,
    /// The link to the database was lost and is back: writes committed meanwhile were not
    /// heard of.
    Reconnected,
}

/// What several server nodes on one database share besides its tables: claims on documents
/// (one push at a time works on a document, whichever node it reached), news of writes (a live
/// subscriber on one node hears of a push through another) and failed logins.
pub trait NodeLink: Send + Sync {
    /// This node's name among them (random, new at each start): the news it writes carry it.
    fn node(&self) -> &str;
    /// Claims `key` for this node if no other node holds it; false if one does.
    fn try_claim(&self, key: &str) -> StorageResult<bool>;
    /// Claims each of `keys` (distinct) for this node if no other node holds it: whether it
    /// was claimed, key by key.
    fn try_claim_all(&self, keys: &[&str]) -> StorageResult<Vec<bool>>;
    /// Ends this node's claims of `keys`, all at once.
    fn release(&self, keys: &[&str]);
    /// Calls `hear` with what it hears of the writes every node commits (each write's news is
    /// sent in the transaction that commits it), on a thread of its own, until `hear` returns
    /// false; reconnects by itself when the database goes away, and says so.
    fn listen(&self, hear: Box<dyn FnMut(Heard) -> bool + Send>) -> StorageResult<()>;
    /// Runs `step` over the failed-login records of `keys` (`None`: no record) in one
    /// transaction, other nodes' attempts on the same keys waiting meanwhile, and keeps what it
    /// leaves; records last touched before `forget_before` (unix ms) are dropped first.
    fn update_login_failures(
        &self,
        keys: &[String],
        forget_before: i64,
        step: &mut dyn FnMut(&mut [Option<crate::accounts::Failures>]),
    ) -> StorageResult<()>;
}

/// Which documents reference which attachment, who uploaded each, and which are stored: what
/// access to attachments is decided on (docs/PROTOCOL.md, "Attachments"). The references are
/// written with each accepted change ([`DocCommit::attachments`]).
pub trait AttachmentIndex: Send + Sync {
    /// Every reference to attachment `id`.
    fn attachment_uses(&self, id: &str) -> StorageResult<Vec<AttachmentUse>>;
    /// Whether `username` uploaded attachment `id` (the server checked its hash).
    fn attachment_holder(&self, id: &str, username: &str) -> StorageResult<bool>;
    /// The stored attachment `id`, if its bytes are in the blob store.
    fn stored_attachment(&self, id: &str) -> StorageResult<Option<StoredAttachment>>;
    /// Records that attachment `id` is in the blob store (at `now`, unix seconds), and that
    /// `username` uploaded it: in one transaction, whether or not it was stored before.
    fn attachment_uploaded(
        &self,
        id: &str,
        size: u64,
        media_type: &str,
        username: &str,
        now: i64,
    ) -> StorageResult<()>;
    /// Records the state of an attachment's thumbnail.
    fn set_thumbnail(&self, id: &str, thumbnail: Thumbnail) -> StorageResult<()>;
    /// Stored attachments no document references since before `before` (unix seconds), at
    /// most `limit`: the ones to delete.
    fn released_attachments(&self, before: i64, limit: usize) -> StorageResult<Vec<String>>;
    /// Forgets attachment `id` if no document references it (true then): its rows go, and the
    /// caller deletes its bytes.
    fn forget_attachment(&self, id: &str) -> StorageResult<bool>;
}

/// The server's storage: accounts, documents, the log and the attachment index, one backend
/// behind all four.
/// One administrative change, as the audit log keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    /// Its number, increasing (0 before it is recorded).
    pub seq: i64,
    /// When (unix milliseconds).
    pub at: i64,
    /// Who made the change.
    pub actor: String,
    /// What: `user.create`, `user.update`, `territory.create`, `territory.rename`, ...
    pub action: String,
    /// On what: a user name, a territory.
    pub target: String,
    /// The fields changed, JSON (never a password).
    pub detail: String,
    /// The address the request came from.
    pub source: Option<String>,
}

/// Figures of the server's health at a glance.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StoredFigures {
    /// Stored documents.
    pub documents: u64,
    /// Entries in the log (changes and scope events).
    pub log_entries: u64,
    /// Bytes of the changes in the log.
    pub log_bytes: u64,
    /// Users, and of them disabled.
    pub users: u64,
    /// Disabled users.
    pub disabled_users: u64,
}

/// What administration over HTTP keeps besides accounts: territories, the audit log, and the
/// scope events a change of a user's territories or manager causes.
pub trait Administration: Send + Sync {
    /// Replaces the role, territories and manager of `user.username` with `user`'s, and logs
    /// `scope_events` (what enters and leaves whose scope by it), in one transaction. `false`
    /// if there is no such user.
    fn update_user(&self, user: &User, scope_events: &[ScopeEvent]) -> StorageResult<bool>;
    /// The ids of every document `who` sees ([`Principal::sees`]).
    fn docs_seen(&self, who: &Principal) -> StorageResult<Vec<String>>;
    /// Records a territory; `false` if it was recorded already.
    fn add_territory(&self, name: &str) -> StorageResult<bool>;
    /// Every territory: those recorded, and those users and customers name.
    fn territories(&self) -> StorageResult<Vec<String>>;
    /// Renames a territory in the record and in every user's territories (customers are
    /// documents: the caller edits them).
    fn rename_territory(&self, from: &str, to: &str) -> StorageResult<()>;
    /// Appends an entry to the audit log.
    fn record_audit(&self, entry: &AuditEntry) -> StorageResult<()>;
    /// The newest `limit` entries of the audit log, newest first.
    fn audit_log(&self, limit: usize) -> StorageResult<Vec<AuditEntry>>;
    /// The newest entry of the audit log whose action is `action`.
    fn last_audit(&self, action: &str) -> StorageResult<Option<AuditEntry>>;
    /// Counts of what is stored.
    fn figures(&self) -> StorageResult<StoredFigures>;
}

/// The read model: query tables of the stored documents, written with every commit
/// ([`DocCommit::view`]), that the JSON API and the console read.
pub trait ReadModel: Send + Sync {
    /// The documents matching `q` that `who` sees ([`Principal::sees`]), and how many match in
    /// all (before `limit` and `offset`).
    fn views(&self, who: &Principal, q: &ViewQuery) -> StorageResult<(Vec<ViewRow>, u64)>;
    /// The newest visit (by check-in) of each of `customers` that has one.
    fn last_visits(&self, customers: &[String]) -> StorageResult<Vec<LastVisit>>;
    /// Up to `limit` stored documents without a read model row (stored before the read model
    /// existed, or by an older server).
    fn missing_views(&self, limit: usize) -> StorageResult<Vec<String>>;
    /// Writes read model rows of documents stored earlier.
    fn put_views(&self, views: &[DocView]) -> StorageResult<()>;
}

pub trait Storage:
    Accounts + Documents + Log + AttachmentIndex + ReadModel + Administration + 'static
{
}

impl<T: Accounts + Documents + Log + AttachmentIndex + ReadModel + Administration + 'static> Storage
    for T
{
}
