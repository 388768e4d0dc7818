//! What a pushed document becomes, from its bytes and its stored copy alone: the changes
//! parsed, the stored copy loaded, the changes applied to it, and both versions validated.
//!
//! This is most of a push's work (Automerge's load, merge and hydration) and needs nothing
//! the round shares: no claim beyond the document's own, no scope, no writes. So a large
//! round (a rep back from a trip, an admin's import) computes it for the documents it read
//! ahead on several threads ([`premerge`]) before it checks them one at a time in order
//! (`Core::push`), which is where claims, scopes and rights are decided. A document computed
//! ahead is used only under the claim it was read under; anything else is computed again in
//! its turn, so the outcome is the one the round would reach on one thread.

use std::sync::atomic::{AtomicUsize, Ordering};

use automerge::{AutoCommit, Change, ChangeHash, ExpandedChange};
use fieldsync_core::authorship;
use fieldsync_core::chunks::{apply_untrusted, split_changes};
use fieldsync_core::cost::{self, ChangeCost};
use fieldsync_core::model::{Document, validate_document};
use fieldsync_core::protocol::{PushDocument, hex_heads};

use super::{Core, PushError, news_of, refusal};
use crate::access::{Principal, not_yours, scope_of};
use crate::error::AppError;
use crate::storage::ReadAhead;

/// A round computes its documents ahead on several threads only when at least this many were
/// read ahead together: below it, starting threads costs more than it saves.
const PARALLEL_FROM: usize = 8;

/// At most this many threads work on one round's documents, the round's own among them.
const MOST_THREADS: usize = 4;

/// A pushed document merged with its stored copy and validated.
pub(super) enum Merged {
    /// The changes were all there already: the document's heads.
    Unchanged(Vec<String>),
    /// The document changed.
    Changed(Box<Changed>),
}

/// A document that the pushed changes changed, with both its versions.
pub(super) struct Changed {
    /// The stored document (`None`: the push creates it).
    pub before: Option<AutoCommit>,
    /// Its heads before the push.
    pub before_heads: Vec<ChangeHash>,
    /// The document with the pushed changes applied.
    pub after: AutoCommit,
    /// The changes it gained, in causal order.
    pub new_changes: Vec<Change>,
    /// Their operations, decoded.
    pub decoded: Vec<ExpandedChange>,
    /// The stored document, validated.
    pub before_view: Option<Document>,
    /// The document after the push, validated.
    pub after_view: Document,
}

impl Core {
    /// Merges pushed document `doc` (id `id`, already checked, costing `cost`) from `who` with
    /// what `read` says is stored of it, and validates the outcome: every refusal that depends
    /// on the document alone (`corrupt`, `too_large`, `missing_dependencies`, `kind`,
    /// `identity`, `schema`), in that order.
    pub(super) fn merge_pushed(
        &self,
        who: &Principal,
        id: &str,
        doc: &PushDocument,
        cost: ChangeCost,
        read: &ReadAhead,
    ) -> Result<Merged, PushError> {
        let data: Vec<u8> = doc.changes.iter().flat_map(|c| c.iter().copied()).collect();
        let pushed = split_changes(&data).map_err(|e| refusal("corrupt", e.to_string()))?;
        let history = &read.history;
        let grown = history.cost.plus(cost);
        if !grown.fits_a_document() {
            return Err(refusal(
                "too_large",
                format!(
                    "this document's history would hold {} operations and {} bytes, more than a document may ({} operations, {} bytes): keep long texts shorter, or start a new document",
                    grown.ops,
                    grown.bytes,
                    cost::MAX_DOCUMENT_OPS,
                    cost::MAX_DOCUMENT_BYTES
                ),
            )
            .into());
        }
        // The history says whether the document is stored at all, and at which heads.
        let before = match (&history.heads, &read.stored) {
            (None, _) => None,
            (Some(_), Some(stored)) => Some(
                stored
                    .assemble(id)
                    .map_err(|e| PushError::Failed(e.into()))?,
            ),
            (Some(heads), None) => self
                .load_at(id, || Ok(Some(heads.clone())))
                .map_err(PushError::Failed)?,
        };
        let mut after = before.clone().unwrap_or_default();
        let before_heads = after.get_heads();
        apply_untrusted(&mut after, &pushed).map_err(|e| refusal("corrupt", e.to_string()))?;
        if !after.get_missing_deps(&[]).is_empty() {
            return Err(refusal(
                "missing_dependencies",
                "these changes build on changes the server does not have: push the document's earlier changes too",
            )
            .into());
        }
        if after.get_heads() == before_heads {
            return Ok(Merged::Unchanged(hex_heads(&before_heads)));
        }
        let new_changes = news_of(&mut after, &before_heads, pushed)?;
        // A change that builds on nothing starts a document: in an existing one it is the
        // history of another document, which would merge in field by field.
        if let Some(b) = &before
            && new_changes.iter().any(|c| c.deps().is_empty())
        {
            // Whether a document the writer cannot see exists is not for them to learn: such a
            // push gets the answer any push to it gets.
            let b = validate_document(b)
                .map_err(|e| PushError::Failed(AppError::Internal(e.to_string())))?;
            let customer_before = self.customer_of(&b)?;
            if !who.may_write(&scope_of(&b), customer_before.as_ref()) {
                return Err(refusal("scope", not_yours(&b)).into());
            }
            return Err(refusal(
                "kind",
                format!(
                    "these changes begin another document's history; they cannot become part of document {id}"
                ),
            )
            .into());
        }
        // The names devices show come from change messages: only the writer's own.
        if let Some(named) = new_changes.iter().find_map(|c| {
            let (author, _) = authorship::parse(c.message());
            author.filter(|a| *a != who.username).map(str::to_string)
        }) {
            return Err(refusal(
                "identity",
                format!(
                    "a change says it was written by '{named}', but this device is logged in as {}: log in as its author to push it",
                    who.username
                ),
            )
            .into());
        }
        let after_view = validate_document(&after).map_err(|e| refusal("schema", e.to_string()))?;
        let before_view = match &before {
            Some(b) => Some(
                validate_document(b)
                    .map_err(|e| PushError::Failed(AppError::Internal(e.to_string())))?,
            ),
            None => None,
        };
        if let Some(b) = &before_view
            && b.kind() != after_view.kind()
        {
            return Err(refusal(
                "kind",
                format!(
                    "document {id} is a {}, not a {}",
                    b.kind(),
                    after_view.kind()
                ),
            )
            .into());
        }
        if after_view.id() != id {
            return Err(refusal(
                "kind",
                format!("the changes are for document {}, not {id}", after_view.id()),
            )
            .into());
        }
        let decoded = new_changes.iter().map(Change::decode).collect();
        Ok(Merged::Changed(Box::new(Changed {
            before,
            before_heads,
            after,
            new_changes,
            decoded,
            before_view,
            after_view,
        })))
    }
}

/// One document of a round to compute ahead: what was pushed, its cost, and what was read of
/// it under its claim.
pub(super) struct Ahead<'r> {
    /// Its position in the round's slice of documents.
    pub index: usize,
    /// What was pushed (its id checked: the read ahead is by id).
    pub doc: &'r PushDocument,
    /// What its changes cost.
    pub cost: ChangeCost,
    /// What was read of it.
    pub read: &'r ReadAhead,
}

/// [`Core::merge_pushed`] for each of `work`, on up to `threads` threads (this one among
/// them) when there are at least [`PARALLEL_FROM`], else none: the outcomes, by the position
/// each gave. What a thread that panicked had computed (a defect: Automerge's own panics are
/// caught nearer) is left out, and computed again in its turn.
pub(super) fn premerge(
    core: &Core,
    who: &Principal,
    work: &[Ahead<'_>],
    threads: usize,
) -> Vec<(usize, Result<Merged, PushError>)> {
    let threads = threads.clamp(1, MOST_THREADS);
    if work.len() < PARALLEL_FROM || threads < 2 {
        return Vec::new();
    }
    let next = AtomicUsize::new(0);
    let merge_some = || {
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(a) = work.get(i) else {
                return done;
            };
            done.push((
                a.index,
                core.merge_pushed(who, &a.doc.id, a.doc, a.cost, a.read),
            ));
        }
    };
    std::thread::scope(|scope| {
        let helpers: Vec<_> = (1..threads).map(|_| scope.spawn(merge_some)).collect();
        let mut done = merge_some();
        for helper in helpers {
            if let Ok(theirs) = helper.join() {
                done.extend(theirs);
            }
        }
        done
    })
}
