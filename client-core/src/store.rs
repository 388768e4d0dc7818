//! The device's local store: one SQLite file holding every document the device has, the
//! projection tables that answer queries, and the state sync needs.
//!
//! Guarantees:
//! - A document's bytes and its projection rows are written in one transaction, so they never
//!   disagree, and a crash at any point leaves the last committed state.
//! - An edit is validated before it is committed; a refused edit writes nothing.
//! - Queries read projections only; no query loads every document.
//! - The device's Automerge actor id is created with the file and never shared with another
//!   device; it is replaced by a new one (never reused) when changes go to the sync quarantine.

mod attachments;
mod documents;
mod exchange;
mod merge_steps;
mod migrations;
mod projections;
mod pulled;
mod quarantine;
mod queries;
mod resend;
mod sales;
mod search;
mod sync_state;
#[cfg(test)]
pub(crate) mod test_support;

use std::cell::{Cell, RefCell};
use std::path::{Path, PathBuf};
use std::time::Duration;

use automerge::{ActorId, AutoCommit, ChangeHash};
use rusqlite::config::DbConfig;
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior};

use crate::conflicts::{Conflict, find_conflicts};
use crate::error::{Error, Result};
use crate::ids::{new_id, parse_id};
use crate::model::customer::{Customer, CustomerEdit, NewCustomer};
use crate::model::expense_claim::{ExpenseClaim, ExpenseClaimEdit, NewExpenseClaim};
use crate::model::fields::now_string;
use crate::model::trip_plan::{NewTripPlan, TripPlan, TripPlanEdit};
use crate::model::visit::{NewVisit, Visit, VisitEdit};
use crate::model::{DocKind, Document, DocumentModel, kind_of, validate_document};
use crate::rights::{Principal, check_rights};
use documents::DocCache;

pub(crate) use attachments::{AttachmentRow, NewAttachmentRow, record_pending};
pub use exchange::MergeOutcome;
pub use merge_steps::MergeSteps;
pub(crate) use merge_steps::{Step, micros};
pub use quarantine::{
    ChangeKind, FieldChange, QuarantineDetail, QuarantineExport, RetriedField, RetryReport,
};
pub use queries::{
    CustomerQuery, CustomerRow, ExpenseClaimRow, FollowUp, FollowUpReason, PlanQuery, TripPlanRow,
    VisitQuery, VisitRow,
};
pub use resend::Resend;
pub(crate) use sales::respond_by;
pub use sales::{
    ComplaintQuery, ComplaintRow, ORDER_CONFIRMATION_DAYS, OrderQuery, OrderRow, TargetRow,
};
pub use sync_state::{QuarantineEntry, REVOKED_RULE};

/// How hard a commit waits for the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// Every commit reaches the disk before it returns (`synchronous = FULL`): a committed write
    /// survives a power loss.
    #[default]
    Full,
    /// Commits survive a crash of the app; a power loss may undo the last few, never corrupt
    /// the file (`synchronous = NORMAL`).
    Normal,
}

/// Pages the write-ahead log may hold before a commit copies them into the database file
/// (SQLite's default is 1,000). A pulled page of 2,000 documents writes a few thousand pages
/// of documents, rows and search index: with SQLite's default every such commit ran a
/// checkpoint (a second copy of its pages and a second disk sync); with this one, a sync's
/// pages are checkpointed every other page or so. A checkpoint changes nothing of durability
/// (a commit syncs its log either way); the log file grows to about 12 MiB before one.
const WAL_AUTOCHECKPOINT_PAGES: i64 = 3_000;

/// Options for [`Store::open_with`].
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Commit durability; [`Durability::Full`] by default.
    pub durability: Durability,
    /// How many recently used documents to keep loaded in memory (64 by default, 0 for none).
    pub doc_cache: usize,
    /// Threads that load, merge and validate the documents of a large pulled page while the
    /// store writes them (one a core, at most 4, by default; 0 does everything on the
    /// calling thread).
    pub merge_threads: usize,
    /// How much of the file's pages the connection keeps in memory, in KiB (16 MiB by default;
    /// SQLite's own default is 2 MiB). A pulled page of 2,000 documents changes several
    /// megabytes of documents, rows and search index in one transaction: in a smaller cache,
    /// changed pages are written out to the log before the commit to make room (and written
    /// again at the commit if changed since), and the index pages every document touches are
    /// read back again and again.
    pub page_cache_kib: u32,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            durability: Durability::Full,
            doc_cache: 64,
            merge_threads: std::thread::available_parallelism()
                .map_or(1, std::num::NonZeroUsize::get)
                .min(4),
            page_cache_kib: 16 * 1024,
        }
    }
}

/// One device's store: an SQLite file of documents and projections.
pub struct Store {
    conn: Connection,
    /// The device's Automerge actor. Replaced after changes go to quarantine (see
    /// [`Store::quarantine_document`]); read it through [`Store::actor_in`] when writing.
    actor: RefCell<ActorId>,
    path: PathBuf,
    cache: RefCell<DocCache>,
    /// What merging documents from elsewhere has cost so far, step by step.
    merge_steps: Cell<MergeSteps>,
    /// See [`StoreOptions::merge_threads`].
    merge_threads: usize,
    /// See [`StoreOptions::durability`].
    durability: Durability,
    /// Whether [`Store::server_writes`] committed something not yet synced to the disk.
    server_writes_unsynced: Cell<bool>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .field("actor", &self.actor.borrow().to_hex_string())
            .finish()
    }
}

impl Store {
    /// Opens the store at `path`, creating and migrating it as needed.
    pub fn open(path: impl AsRef<Path>) -> Result<Store> {
        Store::open_with(path, StoreOptions::default())
    }

    /// Opens the store with explicit options.
    pub fn open_with(path: impl AsRef<Path>, options: StoreOptions) -> Result<Store> {
        let path = path.as_ref().to_path_buf();
        let mut conn = Connection::open(&path)?;
        conn.busy_timeout(Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        let sync = match options.durability {
            Durability::Full => "FULL",
            Durability::Normal => "NORMAL",
        };
        conn.pragma_update(None, "synchronous", sync)?;
        conn.pragma_update(None, "wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES)?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // A statement keeps the plan it was prepared with, whatever values are bound to it.
        // Otherwise SQLite plans again, on its next step, a statement whose plan it judged to
        // depend on a bound value (a lookup by the first column of a two-column index, ordered
        // by the second) each time that value is bound anew, and the statement cache unbinds
        // every statement it takes back: such a statement was compiled again at every use.
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
        conn.set_prepared_statement_cache_capacity(64);
        // Negative: a size in KiB rather than a count of pages.
        conn.pragma_update(None, "cache_size", -i64::from(options.page_cache_kib))?;
        let found = migrations::migrate(&mut conn)?;
        let actor = load_or_create_actor(&conn)?;
        let store = Store {
            conn,
            actor: RefCell::new(actor),
            path,
            cache: RefCell::new(DocCache::new(options.doc_cache)),
            merge_steps: Cell::new(MergeSteps::default()),
            merge_threads: options.merge_threads,
            durability: options.durability,
            server_writes_unsynced: Cell::new(false),
        };
        if (1..migrations::REPROJECT_BELOW).contains(&found) {
            store.reproject_all()?;
        }
        Ok(store)
    }

    /// Writes the projection rows of every document again (after a migration added columns
    /// that rows written before it lack), in one transaction.
    fn reproject_all(&self) -> Result<()> {
        self.write(|tx| {
            let actor = self.actor.borrow().clone();
            for (id, _) in documents::ids(tx)? {
                let Some(doc) = documents::load(tx, &id, &actor)? else {
                    continue;
                };
                // A document this version cannot read keeps its rows as they were.
                if let Ok(view) = validate_document(&doc) {
                    projections::project(tx, &view)?;
                }
            }
            Ok(())
        })
    }

    /// The connection, for the reports' own SQL over the projection tables.
    pub(crate) fn connection(&self) -> &Connection {
        &self.conn
    }

    /// The file this store lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// This device's Automerge actor id, in hex.
    pub fn actor_id(&self) -> String {
        self.actor.borrow().to_hex_string()
    }

    /// The device's actor as the file records it, read inside the writing transaction `conn`.
    ///
    /// Another connection to the same file may have replaced it (a quarantine does); then the
    /// new one is adopted here and the document cache, whose documents carry the old one, is
    /// emptied. Every write that creates changes takes its actor from here.
    fn actor_in(&self, conn: &Connection) -> Result<ActorId> {
        let stored = meta_get(conn, "actor_id")?;
        let current = self.actor.borrow().clone();
        match stored {
            Some(hex) if hex != current.to_hex_string() => {
                let actor = parse_actor(&hex)?;
                *self.actor.borrow_mut() = actor.clone();
                self.cache.borrow_mut().clear();
                Ok(actor)
            }
            _ => Ok(current),
        }
    }

    /// Names the person using this device; recorded with each change so conflicts can say who.
    pub fn set_author(&self, author: &str) -> Result<()> {
        self.write(|tx| meta_set(tx, "author", author))
    }

    /// Names this device (the name given at login); recorded with each change beside the
    /// author, so conflicts can say which device wrote each value.
    pub fn set_device_name(&self, device: &str) -> Result<()> {
        self.write(|tx| meta_set(tx, "device", device))
    }

    /// Names the user acting on this device (kept with the session at login, cleared at
    /// logout). While one is set, every write is checked first against the rules the server
    /// applies ([`crate::rights::check_rights`]): a forbidden edit fails at once with the
    /// server's message and writes nothing.
    pub fn set_acting_user(&self, who: Option<&Principal>) -> Result<()> {
        self.write(|tx| match who {
            Some(p) => {
                let json = serde_json::to_string(p)
                    .map_err(|e| Error::Corrupt(format!("acting user: {e}")))?;
                meta_set(tx, ACTING_USER_KEY, &json)
            }
            None => {
                tx.prepare_cached("DELETE FROM meta WHERE key = ?1")?
                    .execute([ACTING_USER_KEY])?;
                Ok(())
            }
        })
    }

    /// The user acting on this device, if one is set ([`Store::set_acting_user`]).
    pub fn acting_user(&self) -> Result<Option<Principal>> {
        acting_user_in(&self.conn)
    }

    /// Reads a value this device keeps about itself (`author`, and what sync stores).
    pub fn meta(&self, key: &str) -> Result<Option<String>> {
        meta_get(&self.conn, key)
    }

    /// Runs `f`, which writes what the server sent (a sync's round), with commits that do not
    /// wait for the disk; [`Store::sync_server_writes`] makes them durable, once for a sync.
    ///
    /// What a round writes came from the server, which keeps it: a power cut before they are
    /// synced undoes the last commits, never corrupts the file (the log is written in order),
    /// and leaves the store as a crash between those commits would have, which the sync
    /// already recovers from (the cursor goes back with what was pulled after it, so the next
    /// sync pulls it again). What the user types is committed outside `f`, waiting for the
    /// disk as always, and such a commit syncs the log with every commit before it. A store
    /// opened with [`Durability::Normal`] waits for the disk in neither case.
    pub(crate) fn server_writes<T>(&self, f: impl FnOnce() -> T) -> Result<T> {
        if self.durability == Durability::Normal {
            return Ok(f());
        }
        let changes_before = self.conn.total_changes();
        let relaxed = RelaxedCommits::start(&self.conn)?;
        let out = f();
        relaxed.end()?;
        if self.conn.total_changes() != changes_before {
            self.server_writes_unsynced.set(true);
        }
        Ok(out)
    }

    /// Makes what [`Store::server_writes`] committed durable: one small commit that waits for
    /// the disk syncs the log, and with it every commit before it. Nothing to do if nothing
    /// was written since the last time.
    pub(crate) fn sync_server_writes(&self) -> Result<()> {
        if self.server_writes_unsynced.get() {
            self.write(|tx| meta_set(tx, SERVER_WRITES_SYNCED_KEY, &now_string()))?;
            self.server_writes_unsynced.set(false);
        }
        Ok(())
    }

    /// Runs `f` in one IMMEDIATE transaction, committed only if it returns `Ok`.
    fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    // ---- creating documents -------------------------------------------------------------

    fn insert_new<M: DocumentModel>(&self, view: &M, document: Document) -> Result<String> {
        self.write(|tx| {
            let mut doc = AutoCommit::new().with_actor(self.actor_in(tx)?);
            autosurgeon::reconcile(&mut doc, view)?;
            documents::commit(tx, &mut doc)?;
            if let Some(who) = acting_user_in(tx)? {
                check_write_of(&who, None, &document, &mut doc, &[])?;
            }
            documents::insert(tx, view.id(), M::KIND, &mut doc)?;
            projections::project(tx, &document)?;
            Ok(view.id().to_string())
        })
    }

    /// Creates a customer file and returns its id.
    pub fn create_customer(&self, new: NewCustomer) -> Result<String> {
        let c = new.build(new_id(), now_string())?;
        self.insert_new(&c, Document::Customer(c.clone()))
    }

    /// Records a visit and returns its id.
    pub fn create_visit(&self, new: NewVisit) -> Result<String> {
        let mut new = new;
        new.customer = parse_id(&new.customer)?;
        let v = new.build(new_id(), now_string())?;
        self.insert_new(&v, Document::Visit(v.clone()))
    }

    /// Starts a trip plan (as a draft) and returns its id.
    pub fn create_trip_plan(&self, new: NewTripPlan) -> Result<String> {
        let p = new.build(new_id(), now_string())?;
        self.insert_new(&p, Document::TripPlan(p.clone()))
    }

    /// Creates a document of any kind from its built content and returns its id.
    pub fn create<M: DocumentModel>(&self, view: M) -> Result<String> {
        self.insert_new(&view, view.clone().into())
    }

    /// Starts an expense claim (as a draft) and returns its id.
    pub fn create_expense_claim(&self, new: NewExpenseClaim) -> Result<String> {
        let c = new.build(new_id(), now_string())?;
        self.insert_new(&c, Document::ExpenseClaim(c.clone()))
    }

    // ---- reading and editing ---------------------------------------------------------------

    /// Reads a document of kind `M`.
    pub fn get<M: DocumentModel>(&self, id: &str) -> Result<M> {
        self.with_doc(id, |doc| M::read(doc))
    }

    /// Runs `f` on document `id` (from the cache, or loaded), then keeps it cached.
    /// `f` must leave the document as committed.
    fn with_doc<T>(&self, id: &str, f: impl FnOnce(&mut AutoCommit) -> Result<T>) -> Result<T> {
        let id = parse_id(id)?;
        let actor = self.actor.borrow().clone();
        let mut cache = self.cache.borrow_mut();
        let mut doc = cache
            .take(&self.conn, &id, &actor)?
            .ok_or_else(|| Error::NotFound(id.clone()))?;
        let out = f(&mut doc);
        cache.put(&id, doc);
        out
    }

    /// Reads any document, whatever its kind.
    pub fn document(&self, id: &str) -> Result<Document> {
        self.with_doc(id, |doc| validate_document(doc))
    }

    /// Applies `edits` to document `id` in one change, validates the result and commits it with
    /// its projections. If an edit or the validation fails, nothing is written.
    pub fn edit<M: DocumentModel>(&self, id: &str, edits: &[M::Edit]) -> Result<M> {
        self.edit_and(id, edits, |_| Ok(()))
    }

    /// [`Store::edit`], and `also` in the same transaction once the edit is written (whether
    /// or not it changed anything): a write beside the document that must commit with it or
    /// not at all. An error of `also` writes nothing.
    pub(crate) fn edit_and<M: DocumentModel>(
        &self,
        id: &str,
        edits: &[M::Edit],
        also: impl FnOnce(&Transaction<'_>) -> Result<()>,
    ) -> Result<M> {
        self.modify_and(
            id,
            |id, doc| {
                let found = kind_of(doc)?;
                if found != M::KIND {
                    return Err(Error::WrongKind {
                        id: id.to_string(),
                        expected: M::KIND.as_str(),
                        found: found.to_string(),
                    });
                }
                for edit in edits {
                    M::apply_edit(doc, edit)?;
                }
                Ok(())
            },
            |doc| {
                let view = M::read(doc)?;
                Ok((view.clone(), view.into()))
            },
            also,
        )
    }

    /// Settles a conflict: writes `value` (JSON: a string, number, boolean, null, or a map of
    /// those) to the field at `path` as [`Store::conflicts`] names it (`tier`,
    /// `spin.problem`, `contacts[<entry id>].phone`), as one new change that every device then
    /// sees as the field's only value. The document is validated and the acting user's rights
    /// checked as for any edit; if either fails, nothing is written.
    pub fn resolve_conflict(
        &self,
        id: &str,
        path: &str,
        value: &serde_json::Value,
    ) -> Result<Document> {
        self.modify(
            id,
            |_, doc| crate::conflicts::write_path(doc, path, value),
            |doc| {
                let document = validate_document(doc)?;
                Ok((document.clone(), document))
            },
        )
    }

    /// The one way an existing document is changed: `change` edits it, `read` validates it and
    /// gives the caller's view and the document for projections; then, in one transaction, the
    /// acting user's rights are checked, the change committed with its projections. If any step
    /// fails, nothing is written and the cached copy is left as it was.
    fn modify<T>(
        &self,
        id: &str,
        change: impl FnOnce(&str, &mut AutoCommit) -> Result<()>,
        read: impl FnOnce(&AutoCommit) -> Result<(T, Document)>,
    ) -> Result<T> {
        self.modify_and(id, change, read, |_| Ok(()))
    }

    /// [`Store::modify`], running `also` last in its transaction.
    fn modify_and<T>(
        &self,
        id: &str,
        change: impl FnOnce(&str, &mut AutoCommit) -> Result<()>,
        read: impl FnOnce(&AutoCommit) -> Result<(T, Document)>,
        also: impl FnOnce(&Transaction<'_>) -> Result<()>,
    ) -> Result<T> {
        let id = parse_id(id)?;
        let (view, doc) = self.write(|tx| {
            let actor = self.actor_in(tx)?;
            let taken = self.cache.borrow_mut().take(tx, &id, &actor)?;
            let mut doc = taken.ok_or_else(|| Error::NotFound(id.clone()))?;
            let before = doc.get_heads();
            let acting = match acting_user_in(tx)? {
                Some(who) => Some((who, validate_document(&doc)?)),
                None => None,
            };
            change(&id, &mut doc)?;
            let (view, document) = read(&doc)?;
            if documents::commit(tx, &mut doc)?.is_some() {
                if let Some((who, before_view)) = &acting {
                    check_write_of(who, Some(before_view), &document, &mut doc, &before)?;
                }
                documents::append(tx, &id, &mut doc, &before)?;
                projections::project(tx, &document)?;
            }
            also(tx)?;
            Ok((view, doc))
        })?;
        // Cached only once committed: a refused or failed edit leaves nothing behind.
        self.cache.borrow_mut().put(&id, doc);
        Ok(view)
    }

    /// Reads a customer file.
    pub fn customer(&self, id: &str) -> Result<Customer> {
        self.get(id)
    }

    /// Edits a customer file.
    pub fn update_customer(&self, id: &str, edits: &[CustomerEdit]) -> Result<Customer> {
        self.edit(id, edits)
    }

    /// Reads a visit record.
    pub fn visit(&self, id: &str) -> Result<Visit> {
        self.get(id)
    }

    /// Edits a visit record.
    pub fn update_visit(&self, id: &str, edits: &[VisitEdit]) -> Result<Visit> {
        self.edit(id, edits)
    }

    /// Reads a trip plan.
    pub fn trip_plan(&self, id: &str) -> Result<TripPlan> {
        self.get(id)
    }

    /// Edits a trip plan.
    pub fn update_trip_plan(&self, id: &str, edits: &[TripPlanEdit]) -> Result<TripPlan> {
        self.edit(id, edits)
    }

    /// Reads an expense claim.
    pub fn expense_claim(&self, id: &str) -> Result<ExpenseClaim> {
        self.get(id)
    }

    /// Edits an expense claim.
    pub fn update_expense_claim(
        &self,
        id: &str,
        edits: &[ExpenseClaimEdit],
    ) -> Result<ExpenseClaim> {
        self.edit(id, edits)
    }

    /// Every field of document `id` that holds concurrent values, with each value and who wrote it.
    pub fn conflicts(&self, id: &str) -> Result<Vec<Conflict>> {
        self.with_doc(id, find_conflicts)
    }

    /// Ids and kinds of every document in the store (for export and checks; not for lists).
    pub fn document_ids(&self) -> Result<Vec<(String, DocKind)>> {
        documents::ids(&self.conn)
    }

    /// Checks the SQLite file's integrity (`PRAGMA integrity_check`); `Ok(())` if it is sound.
    pub fn integrity_check(&self) -> Result<(), String> {
        let result: rusqlite::Result<String> =
            self.conn
                .query_row("PRAGMA integrity_check", [], |r| r.get(0));
        match result {
            Ok(s) if s == "ok" => Ok(()),
            Ok(s) => Err(s),
            Err(e) => Err(e.to_string()),
        }
    }

    // ---- heads, as sync will need them ------------------------------------------------------

    /// The current heads of document `id`.
    pub fn heads(&self, id: &str) -> Result<Vec<ChangeHash>> {
        let id = parse_id(id)?;
        documents::heads(&self.conn, &id)?.ok_or(Error::NotFound(id))
    }
}

/// The meta key of the acting user.
const ACTING_USER_KEY: &str = "acting_user";

fn acting_user_in(conn: &Connection) -> Result<Option<Principal>> {
    match meta_get(conn, ACTING_USER_KEY)? {
        Some(json) => serde_json::from_str(&json)
            .map(Some)
            .map_err(|e| Error::Corrupt(format!("acting user in store: {e}"))),
        None => Ok(None),
    }
}

/// Asks the server's rules whether `who` may turn `before` into `after` with the changes `doc`
/// gained since `heads`; a refusal is [`Error::Refused`].
fn check_write_of(
    who: &Principal,
    before: Option<&Document>,
    after: &Document,
    doc: &mut AutoCommit,
    heads: &[ChangeHash],
) -> Result<()> {
    let changes: Vec<_> = doc.get_changes(heads).iter().map(|c| c.decode()).collect();
    check_rights(who, before, after, &changes, who).map_err(|r| Error::Refused {
        rule: r.rule,
        reason: r.reason,
    })
}

/// When the store last made what syncs wrote durable ([`Store::sync_server_writes`]).
const SERVER_WRITES_SYNCED_KEY: &str = "server_writes_synced_at";

/// Commits that do not wait for the disk, until ended (or dropped, after a panic).
struct RelaxedCommits<'c> {
    conn: &'c Connection,
    ended: bool,
}

impl<'c> RelaxedCommits<'c> {
    fn start(conn: &'c Connection) -> Result<Self> {
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        Ok(RelaxedCommits { conn, ended: false })
    }

    fn end(mut self) -> Result<()> {
        self.ended = true;
        self.conn.pragma_update(None, "synchronous", "FULL")?;
        Ok(())
    }
}

impl Drop for RelaxedCommits<'_> {
    fn drop(&mut self) {
        if !self.ended {
            let _ = self.conn.pragma_update(None, "synchronous", "FULL");
        }
    }
}

fn meta_get(conn: &Connection, key: &str) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()?)
}

fn meta_set(conn: &Connection, key: &str, value: &str) -> Result<()> {
    conn.prepare_cached("INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value")?
        .execute([key, value])?;
    Ok(())
}

/// The device's actor id: created with the file, in the same transaction as the schema, so two
/// stores (two devices) never share one.
fn load_or_create_actor(conn: &Connection) -> Result<ActorId> {
    let tx = Transaction::new_unchecked(conn, TransactionBehavior::Immediate)?;
    let hex = match meta_get(&tx, "actor_id")? {
        Some(hex) => hex,
        None => {
            let hex = ActorId::random().to_hex_string();
            meta_set(&tx, "actor_id", &hex)?;
            hex
        }
    };
    tx.commit()?;
    parse_actor(&hex)
}

fn parse_actor(hex: &str) -> Result<ActorId> {
    ActorId::try_from(hex).map_err(|e| Error::Corrupt(format!("actor id in store: {e}")))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_connection_keeps_as_many_pages_in_memory_as_the_options_say() {
        let dir = tempfile::tempdir().unwrap();
        let cache_kib = |store: &Store| -> i64 {
            store
                .conn
                .query_row("PRAGMA cache_size", [], |r| r.get(0))
                .unwrap()
        };
        let store = Store::open(dir.path().join("default.db")).unwrap();
        assert_eq!(cache_kib(&store), -16 * 1024);
        let options = StoreOptions {
            page_cache_kib: 512,
            ..StoreOptions::default()
        };
        let store = Store::open_with(dir.path().join("small.db"), options).unwrap();
        assert_eq!(cache_kib(&store), -512);
    }

    #[test]
    fn a_commit_checkpoints_the_log_only_once_it_holds_three_thousand_pages() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("device.db");
        let store = Store::open(&path).unwrap();
        let file_size = || std::fs::metadata(&path).unwrap().len();
        // About 2,100 pages of rows in one commit: more than SQLite's default of 1,000.
        let write = |store: &Store| {
            store
                .write(|tx| {
                    tx.execute_batch("CREATE TABLE IF NOT EXISTS filler (bytes BLOB)")?;
                    let mut insert = tx.prepare("INSERT INTO filler VALUES (zeroblob(65536))")?;
                    for _ in 0..128 {
                        insert.execute([])?;
                    }
                    Ok(())
                })
                .unwrap();
        };
        let before = file_size();
        write(&store);
        // In WAL mode the database file grows only when a checkpoint copies pages into it.
        assert_eq!(file_size(), before, "no checkpoint under 3,000 pages");
        write(&store);
        assert!(
            file_size() > before + 16 * 1024 * 1024,
            "the commit past 3,000 pages checkpointed: {before} → {} bytes",
            file_size()
        );
    }

    fn synchronous(store: &Store) -> i64 {
        store
            .conn
            .query_row("PRAGMA synchronous", [], |r| r.get(0))
            .unwrap()
    }

    fn synced_at(store: &Store) -> Option<String> {
        meta_get(&store.conn, SERVER_WRITES_SYNCED_KEY).unwrap()
    }

    fn write_a_row(store: &Store) {
        store.write(|tx| meta_set(tx, "written", "yes")).unwrap();
    }

    #[test]
    fn what_the_server_sent_is_committed_without_waiting_for_the_disk_then_synced_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("device.db")).unwrap();
        // SQLite's levels: 1 is NORMAL (the log is synced at checkpoints only), 2 is FULL.
        assert_eq!(
            synchronous(&store),
            2,
            "a store waits for the disk by default"
        );
        let inside = store.server_writes(|| synchronous(&store)).unwrap();
        assert_eq!(inside, 1, "the server's writes do not wait for the disk");
        assert_eq!(
            synchronous(&store),
            2,
            "and the user's wait again after them"
        );

        // Nothing written: nothing to sync.
        store.sync_server_writes().unwrap();
        assert_eq!(synced_at(&store), None);

        store.server_writes(|| write_a_row(&store)).unwrap();
        store.server_writes(|| write_a_row(&store)).unwrap();
        assert_eq!(synced_at(&store), None, "not synced round by round");
        store.sync_server_writes().unwrap();
        let synced = synced_at(&store);
        assert!(synced.is_some(), "one commit that waits for the disk");
        std::thread::sleep(std::time::Duration::from_millis(1100));
        store.sync_server_writes().unwrap();
        assert_eq!(synced_at(&store), synced, "and only once");
    }

    #[test]
    fn a_store_waits_for_the_disk_again_even_after_a_panic_in_the_servers_writes() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("device.db")).unwrap();
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            store.server_writes(|| panic!("a defect")).unwrap();
        }));
        assert!(panicked.is_err());
        assert_eq!(synchronous(&store), 2);
    }

    #[test]
    fn a_store_that_never_waits_for_the_disk_is_left_as_it_is() {
        let dir = tempfile::tempdir().unwrap();
        let options = StoreOptions {
            durability: Durability::Normal,
            ..StoreOptions::default()
        };
        let store = Store::open_with(dir.path().join("device.db"), options).unwrap();
        assert_eq!(synchronous(&store), 1);
        store.server_writes(|| write_a_row(&store)).unwrap();
        store.sync_server_writes().unwrap();
        assert_eq!(synchronous(&store), 1);
        assert_eq!(
            synced_at(&store),
            None,
            "no sync needed: none was waited for"
        );
    }
}
