//! What sync reads from and writes to the store: heads, changes since given heads, merging
//! bytes from elsewhere, and the heads the server has acknowledged.
//!
//! Merging validates the result with the same rules as local edits and writes it with its
//! projections in one transaction; bytes that are damaged, of an unknown kind or that would make
//! the document invalid change nothing.

use std::time::Instant;

use automerge::{ActorId, AutoCommit, ChangeHash};
use rusqlite::Transaction;
use serde::Serialize;

use super::documents::{Growth, Sizes};
use super::projections::{self, Followups, Rows};
use super::{Step, Store, documents, micros};
use crate::chunks::{is_one_document, merge_checked};
use crate::error::{Error, Result};
use crate::ids::parse_id;
use crate::model::{DocKind, Document, id_of, kind_of, validate_document};

/// What a merge did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MergeOutcome {
    /// The document merged into.
    pub id: String,
    /// Its kind.
    pub kind: DocKind,
    /// Whether the store did not have the document before.
    pub created: bool,
    /// Whether the bytes brought anything new (false for duplicates).
    pub changed: bool,
}

fn corrupt(e: impl std::fmt::Display) -> Error {
    Error::Corrupt(e.to_string())
}

/// The documents with changes the server has not acknowledged; its condition is the one of
/// the partial index `documents_unsent` (migration 7), so it reads only them.
pub(crate) const UNSENT_DOCUMENTS: &str =
    "SELECT id FROM documents WHERE acked_heads IS NULL OR acked_heads <> heads ORDER BY id";

/// What the store holds of a document before a merge, read in the merge's transaction; the
/// loading and merging itself ([`merge_into`]) needs no database and may run on any thread.
pub(super) enum Base {
    /// The store does not have the document.
    New,
    /// Its loaded copy, current (from the cache), and what it weighs as stored.
    Loaded(Box<AutoCommit>, Sizes),
    /// Its stored bytes, to load.
    Stored(documents::StoredBytes),
}

/// What a merged document is written as.
pub(super) enum Write {
    /// A document the store did not have: a save of it.
    Insert(Vec<u8>),
    /// One it had: what it gained.
    Append(Growth),
}

/// A document merged but not yet written: what [`Store::store_merged`] checks and writes.
pub(super) struct Merged {
    /// The merged document, if it is to stay loaded (see [`Keep`]); otherwise it was dropped
    /// where it was merged, freeing it on that thread.
    doc: Option<Box<AutoCommit>>,
    /// Its heads after the merge.
    after: Vec<ChangeHash>,
    /// Its typed view, which passed the schema.
    document: Document,
    /// Its heads before the merge (none for a new document).
    before: Vec<ChangeHash>,
    /// Its kind before the merge; `None` for a document the store did not have.
    before_kind: Option<DocKind>,
    /// What to store, made where the document was merged.
    write: Write,
}

/// The time a merge spent outside the database, in microseconds: loading the stored copy,
/// Automerge's work, the schema, encoding what a new document is stored as.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct MergeWork {
    pub(super) read_us: u64,
    pub(super) load_us: u64,
    pub(super) validate_us: u64,
    pub(super) write_us: u64,
}

/// Which merged documents come back loaded, to be cached once written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Keep {
    /// Every one.
    All,
    /// Only one the store had before (a pulled document new to the store is not: a first
    /// sync of thousands would only churn the cache).
    Existing,
    /// None: more documents come after it in the same page than the cache holds, so it would
    /// only be put in the cache to be dropped from it again.
    None,
}

/// Loads `base` (with `actor`), merges `bytes` into it and reads the result against the
/// schema: the part of a merge that touches no database. `id` names the document in errors.
/// The document comes back loaded as `keep` says.
pub(super) fn merge_into(
    base: Base,
    actor: &ActorId,
    id: &str,
    bytes: &[u8],
    keep: Keep,
) -> (Result<Merged>, MergeWork) {
    let mut work = MergeWork::default();
    let merged = merge_timed(base, actor, id, bytes, keep, &mut work);
    (merged, work)
}

fn merge_timed(
    base: Base,
    actor: &ActorId,
    id: &str,
    bytes: &[u8],
    keep: Keep,
    work: &mut MergeWork,
) -> Result<Merged> {
    let started = Instant::now();
    // What the store had, and what it weighs as stored (none for a new document).
    // Its kind before the merge: a stored document's as its row records it (written with it
    // from its typed view), which spares a read of the loaded document.
    let (mut doc, sizes, before_kind) = match base {
        Base::New => (
            Box::new(AutoCommit::new().with_actor(actor.clone())),
            None,
            None,
        ),
        Base::Loaded(doc, sizes) => {
            let kind = kind_of(&doc)?;
            (doc, Some(sizes), Some(kind))
        }
        Base::Stored(stored) => {
            let (sizes, kind) = (stored.sizes(), stored.kind);
            (Box::new(stored.load(id, actor)?), Some(sizes), Some(kind))
        }
    };
    let created = sizes.is_none();
    let before = doc.get_heads();
    work.read_us = micros(started);
    let started = Instant::now();
    merge_checked(&mut doc, bytes)?;
    let missing = doc.get_missing_deps(&[]);
    if !missing.is_empty() {
        return Err(Error::MissingDependencies {
            id: id.to_string(),
            missing: missing.len(),
        });
    }
    let after = doc.get_heads();
    if after.is_empty() {
        return Err(corrupt("the data holds no changes"));
    }
    work.load_us = micros(started);
    let started = Instant::now();
    let document = validate_document(&doc)?;
    work.validate_us = micros(started);
    let started = Instant::now();
    // A new document is stored as a save: as sent if it came as one, else (its changes, which
    // load at half the speed) saved here, uncompressed: compressing costs seven times as much
    // as encoding, for a quarter of the space. A document the store had gets what it gained.
    let write = match sizes {
        None if is_one_document(bytes) => Write::Insert(bytes.to_vec()),
        None => Write::Insert(doc.save_nocompress()),
        Some(_) if after == before => Write::Append(Growth::None),
        Some(sizes) => Write::Append(Growth::merged(&mut doc, &before, sizes)),
    };
    work.write_us = micros(started);
    Ok(Merged {
        doc: match keep {
            Keep::All => Some(doc),
            Keep::Existing => (!created).then_some(doc),
            Keep::None => None,
        },
        after,
        document,
        before,
        before_kind,
        write,
    })
}

impl Store {
    /// Merges a whole document (the output of [`Store::document_bytes`] or Automerge `save`)
    /// into the store: creates it if new, otherwise adds whatever it has that the store lacks.
    pub fn merge_from(&self, bytes: &[u8]) -> Result<MergeOutcome> {
        let incoming = AutoCommit::load(bytes).map_err(corrupt)?;
        kind_of(&incoming)?;
        let id = id_of(&incoming).ok_or_else(|| corrupt("the document has no id"))?;
        self.merge_changes(&id, bytes)
    }

    /// Merges changes of document `id` (raw changes, an incremental save or a whole document),
    /// as received from sync. Duplicates are harmless.
    pub fn merge_changes(&self, id: &str, bytes: &[u8]) -> Result<MergeOutcome> {
        let id = parse_id(id)?;
        let started = Instant::now();
        let merged = self.write(|tx| self.merge_in(tx, &id, bytes));
        self.count_elapsed(started);
        let (outcome, doc) = merged?;
        if let Some(doc) = doc {
            self.cache.borrow_mut().put(&id, doc);
        }
        Ok(outcome)
    }

    /// The merge itself, inside the caller's transaction `tx`: `id` is canonical; `bytes` are
    /// checked whole ([`merge_checked`]) before anything is written, so damaged data fails
    /// here having written nothing. Returns the outcome and the merged document, which the
    /// caller caches once the transaction has committed.
    pub(super) fn merge_in(
        &self,
        tx: &Transaction<'_>,
        id: &str,
        bytes: &[u8],
    ) -> Result<(MergeOutcome, Option<Box<AutoCommit>>)> {
        let started = Instant::now();
        let actor = self.actor_in(tx)?;
        let base = self.base_of(tx, id, &actor)?;
        self.count_step(Step::Read, started);
        let merged = merge_into(base, &actor, id, bytes, Keep::All);
        self.store_merged(tx, id, merged, &mut Followups::Now)
    }

    /// What the store holds of document `id` before a merge (see [`Base`]).
    pub(super) fn base_of(&self, tx: &Transaction<'_>, id: &str, actor: &ActorId) -> Result<Base> {
        if let Some(doc) = self.cache.borrow_mut().take_current(tx, id, actor)? {
            return Ok(Base::Loaded(doc, documents::sizes(tx, id)?));
        }
        Ok(match documents::read_stored(tx, id)? {
            Some(stored) => Base::Stored(stored),
            None => Base::New,
        })
    }

    /// Counts the steps `merged` took, then checks it against what the store had and writes
    /// it with its projections in `tx` (follow-ups as `followups` says); a refusal writes
    /// nothing. Returns the outcome and the merged document, if it was kept loaded.
    pub(super) fn store_merged(
        &self,
        tx: &Transaction<'_>,
        id: &str,
        merged: (Result<Merged>, MergeWork),
        followups: &mut Followups,
    ) -> Result<(MergeOutcome, Option<Box<AutoCommit>>)> {
        let (merged, work) = merged;
        self.count_document();
        self.count_work(work);
        let Merged {
            doc,
            after,
            document,
            before,
            before_kind,
            write,
        } = merged?;
        let started = Instant::now();
        if let Some(expected) = before_kind
            && expected != document.kind()
        {
            return Err(Error::WrongKind {
                id: id.to_string(),
                expected: expected.as_str(),
                found: document.kind().to_string(),
            });
        }
        if document.id() != id {
            return Err(Error::IdMismatch {
                expected: id.to_string(),
                found: document.id().to_string(),
            });
        }
        let changed = after != before;
        let created = matches!(write, Write::Insert(_));
        match write {
            Write::Insert(snapshot) => {
                documents::insert_saved(tx, id, document.kind(), &snapshot, &after)?;
            }
            Write::Append(growth) => growth.write(tx, id, &after)?,
        }
        let started = self.count_step(Step::Write, started);
        if changed {
            let rows = if created { Rows::None } else { Rows::Maybe };
            projections::project_with(tx, &document, rows, followups)?;
        }
        self.count_step(Step::Project, started);
        let outcome = MergeOutcome {
            id: id.to_string(),
            kind: document.kind(),
            created,
            changed,
        };
        Ok((outcome, doc))
    }

    /// The changes of document `id` that are not in `heads` (every change for empty `heads`),
    /// each as Automerge change bytes.
    pub fn changes_since(&self, id: &str, heads: &[ChangeHash]) -> Result<Vec<Vec<u8>>> {
        self.with_doc(id, |doc| {
            Ok(doc
                .get_changes(heads)
                .into_iter()
                .map(|mut c| c.bytes().into_owned())
                .collect())
        })
    }

    /// The whole document `id`, compacted, as Automerge `save` bytes.
    pub fn document_bytes(&self, id: &str) -> Result<Vec<u8>> {
        self.with_doc(id, |doc| Ok(doc.save()))
    }

    /// Records the heads the server has acknowledged for document `id`.
    pub fn set_acked_heads(&self, id: &str, heads: &[ChangeHash]) -> Result<()> {
        match self.set_acked_heads_of([(id, heads)])? {
            0 => Err(Error::NotFound(parse_id(id)?)),
            _ => Ok(()),
        }
    }

    /// Records acknowledged heads of many documents in one transaction (one sync answer's);
    /// returns how many of them are stored (a document deleted meanwhile is skipped).
    pub fn set_acked_heads_of<'a>(
        &self,
        acked: impl IntoIterator<Item = (&'a str, &'a [ChangeHash])>,
    ) -> Result<usize> {
        let acked = acked
            .into_iter()
            .map(|(id, heads)| Ok((parse_id(id)?, documents::encode_heads(heads))))
            .collect::<Result<Vec<_>>>()?;
        self.write(|tx| {
            let mut stmt =
                tx.prepare_cached("UPDATE documents SET acked_heads = ?2 WHERE id = ?1")?;
            // A document re-sent after a restore is done once the restored server takes it.
            let mut resent = tx.prepare_cached("DELETE FROM resend WHERE doc_id = ?1")?;
            let mut stored = 0;
            for (id, heads) in &acked {
                stored += stmt.execute(rusqlite::params![id, heads])?;
                resent.execute([id])?;
            }
            Ok(stored)
        })
    }

    /// The heads the server has acknowledged for `id` (empty if it has acknowledged nothing).
    pub fn acked_heads(&self, id: &str) -> Result<Vec<ChangeHash>> {
        let id = parse_id(id)?;
        let acked: Option<Option<String>> = rusqlite::OptionalExtension::optional(
            self.conn
                .prepare_cached("SELECT acked_heads FROM documents WHERE id = ?1")?
                .query_row([&id], |r| r.get(0)),
        )?;
        match acked {
            None => Err(Error::NotFound(id)),
            Some(None) => Ok(Vec::new()),
            Some(Some(h)) => documents::decode_heads(&h),
        }
    }

    /// Documents with changes the server has not acknowledged: the unsent work.
    pub fn unsent_documents(&self) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare_cached(UNSENT_DOCUMENTS)?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The kind of document `id`, without loading it.
    pub fn kind_of(&self, id: &str) -> Result<DocKind> {
        let id = parse_id(id)?;
        documents::kind(&self.conn, &id)?.ok_or(Error::NotFound(id))
    }
}
