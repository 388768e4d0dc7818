//! Reading, resending and exporting what the server refused, so that nothing typed is lost.
//!
//! A quarantine entry holds raw Automerge changes (see [`Store::quarantine_document`]). This
//! module turns them back into what a person typed and lets them act on it:
//!
//! - [`Store::show_quarantined`] applies the changes to a fork of the document as it is now
//!   (or, for a document the server never accepted, on their own) and lists every difference
//!   field by field: a value old → new, a list entry added or removed (matched by its `id`), the
//!   text added to a shared text field.
//! - [`Store::retry_quarantined`] writes what is still allowed onto the current document as
//!   fresh changes of this device, field by field, each checked with the kind's validation; a
//!   document the server never accepted is recreated from them as a draft. Lifecycle fields
//!   (status, submission, decisions, payment) are never resent: an approval or a payment is not
//!   something to repeat blindly. All writes of one retry commit in one transaction with their
//!   projections; the entry is removed, or keeps only what was skipped.
//! - [`Store::export_quarantined`] gives the whole entry, its field diff and its raw changes
//!   (base64), as one serializable value to write to a file.

mod tree;

use std::collections::BTreeMap;

use automerge::{ActorId, AutoCommit, ChangeHash};
use base64::Engine;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use tree::Node;
pub use tree::{ChangeKind, FieldChange};

use super::sync_state::QuarantineEntry;
use super::{Store, acting_user_in, check_write_of, documents, projections};
use crate::chunks::load_untrusted;
use crate::error::{Error, Result};
use crate::model::{DocKind, Document, kind_of, validate_document};
use crate::rights::{Principal, protected_fields};

/// Root fields that say which document this is; a retry never rewrites them.
const IDENTITY: &[&str] = &["kind", "schema", "id"];

/// Why a lifecycle field is never resent.
const LIFECYCLE_WHY: &str = "a status, decision or payment is never resent: submit the plan or claim again, and its approver decides again";

/// A quarantine entry read field by field.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuarantineDetail {
    /// The entry: document, kind, the server's rule and reason, when.
    #[serde(flatten)]
    pub entry: QuarantineEntry,
    /// Whether the store has the document now (false for one the server never accepted, which
    /// was removed when its changes went to quarantine).
    pub in_store: bool,
    /// What the refused changes do to the document as it is now.
    pub changes: Vec<FieldChange>,
    /// False when the version of the document the changes build on is no longer on the device
    /// (it left the device's scope): then `changes` are read from the operations alone, the
    /// values set at the document's root and the text typed, without what they replaced, and
    /// the entry cannot be retried.
    pub complete: bool,
}

/// What a retry did with one root field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RetriedField {
    /// The root field (`name`, `items`, `status`).
    pub field: String,
    /// Whether the field was written again.
    pub retried: bool,
    /// For a skipped field: why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
}

/// What [`Store::retry_quarantined`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RetryReport {
    /// The quarantine entry.
    pub entry: i64,
    /// The document written.
    pub doc_id: String,
    /// Its kind.
    pub kind: DocKind,
    /// Whether the document was created again (the server never accepted it).
    pub recreated: bool,
    /// Each root field the refused changes touched, retried or skipped.
    pub fields: Vec<RetriedField>,
    /// Whether the entry stays in quarantine, holding only the skipped fields.
    pub kept: bool,
}

impl RetryReport {
    /// The fields written again.
    pub fn retried(&self) -> impl Iterator<Item = &RetriedField> {
        self.fields.iter().filter(|f| f.retried)
    }

    /// The fields left out, with why.
    pub fn skipped(&self) -> impl Iterator<Item = &RetriedField> {
        self.fields.iter().filter(|f| !f.retried)
    }
}

/// A quarantine entry as one value to keep outside the device: enough to read what was typed
/// and to merge the raw changes back with [`Store::merge_changes`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuarantineExport {
    /// The quarantine entry's number on the device that exported it.
    pub entry: i64,
    /// The document the changes belong to.
    pub doc_id: String,
    /// Its kind.
    pub kind: DocKind,
    /// The rule the server named.
    pub rule: String,
    /// The server's reason.
    pub reason: String,
    /// When the changes went to quarantine (UTC, RFC 3339).
    pub quarantined_at: String,
    /// What the changes do, field by field (empty if they could not be read, see `diff_error`).
    pub changes: Vec<FieldChange>,
    /// Whether `changes` is the whole field diff (see [`QuarantineDetail::complete`]).
    pub complete: bool,
    /// Why the field diff could not be computed, if it could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff_error: Option<String>,
    /// The raw Automerge changes, concatenated, in standard base64.
    pub raw_changes_base64: String,
}

/// A document before and after the refused changes.
struct Views {
    /// The document as the store has it now, if it has it.
    current: Option<AutoCommit>,
    /// The tree of `current` (an empty map without it).
    before: Node,
    /// The tree with the refused changes applied.
    after: Node,
}

impl Store {
    /// Reads quarantine entry `entry` field by field: what its changes do to the document as it
    /// is now. Fails with [`Error::NoQuarantineEntry`] for an unknown entry and with
    /// [`Error::QuarantineBaseMissing`] if the changes build on a version of the document this
    /// device no longer has (export it instead).
    pub fn show_quarantined(&self, entry: i64) -> Result<QuarantineDetail> {
        let (entry, bytes) = entry_row(&self.conn, entry)?;
        let actor = self.actor.borrow().clone();
        let taken = self
            .cache
            .borrow_mut()
            .take(&self.conn, &entry.doc_id, &actor)?;
        let had = taken.is_some();
        let views = match views(&entry, &bytes, taken.map(|d| *d)) {
            Ok(views) => views,
            Err(Error::QuarantineBaseMissing { .. }) => {
                return Ok(QuarantineDetail {
                    entry,
                    in_store: had,
                    changes: tree::from_operations(&bytes)?,
                    complete: false,
                });
            }
            Err(e) => return Err(e),
        };
        let mut changes = tree::diff(&views.before, &views.after);
        let in_store = views.current.is_some();
        if !in_store {
            // A new document: which one it is, the entry already says.
            changes.retain(|c| !IDENTITY.contains(&c.field.as_str()));
        }
        if let Some(doc) = views.current {
            self.cache.borrow_mut().put(&entry.doc_id, doc);
        }
        Ok(QuarantineDetail {
            entry,
            in_store,
            changes,
            complete: true,
        })
    }

    /// Quarantine entry `entry` with its field diff and raw changes, to write to a file. The
    /// raw changes are always there; the diff is left empty, with the reason, if it cannot be
    /// computed.
    pub fn export_quarantined(&self, entry: i64) -> Result<QuarantineExport> {
        let (row, bytes) = entry_row(&self.conn, entry)?;
        let (changes, complete, diff_error) = match self.show_quarantined(entry) {
            Ok(detail) => (detail.changes, detail.complete, None),
            Err(e @ Error::Storage(_)) => return Err(e),
            Err(e) => (Vec::new(), false, Some(e.to_string())),
        };
        Ok(QuarantineExport {
            entry: row.id,
            doc_id: row.doc_id,
            kind: row.kind,
            rule: row.rule,
            reason: row.reason,
            quarantined_at: row.quarantined_at,
            changes,
            complete,
            diff_error,
            raw_changes_base64: base64::engine::general_purpose::STANDARD.encode(&bytes),
        })
    }

    /// Writes what quarantine entry `entry` holds onto the current document again, as fresh
    /// changes of this device (which sync then pushes), and says field by field what was
    /// retried and what was skipped and why.
    ///
    /// Each root field the changes touched is written as its value after the changes (text by
    /// splice, list entries by `id`, so what others added since stays), then the whole document
    /// is validated; a field that makes it invalid is left out. Lifecycle fields of plans and
    /// claims (`status`, `submitted_at`, decision and payment fields, any history), fields the
    /// server's reason names (`customer.owner`) and, after a `scope` refusal, the fields that
    /// decide who sees the document are never written. A document the server never
    /// accepted is created again from the fields, with its lifecycle reset to a draft.
    ///
    /// Everything is written in one transaction with the projections. The entry is then removed,
    /// or, if fields were skipped, kept with only those fields.
    pub fn retry_quarantined(&self, entry: i64) -> Result<RetryReport> {
        let (report, doc) = self.write(|tx| {
            let (entry, bytes) = entry_row(tx, entry)?;
            let actor = self.actor_in(tx)?;
            let taken = self.cache.borrow_mut().take(tx, &entry.doc_id, &actor)?;
            let views = views(&entry, &bytes, taken.map(|d| *d))?;
            let after = views.after.fields();
            let (mut doc, recreated, fields) = match views.current {
                None => {
                    let (doc, fields) = recreate(tx, &entry, actor, &after)?;
                    (doc, true, fields)
                }
                Some(mut doc) => {
                    let acting = match acting_user_in(tx)? {
                        Some(who) => Some((who, validate_document(&doc)?)),
                        None => None,
                    };
                    let before = views.before.fields();
                    let fields = update(tx, &entry, &mut doc, acting.as_ref(), &before, &after)?;
                    (doc, false, fields)
                }
            };
            let skipped: Vec<String> = fields
                .iter()
                .filter(|f| !f.retried)
                .map(|f| f.field.clone())
                .collect();
            let any_retried = fields.iter().any(|f| f.retried);
            let kept = if skipped.is_empty() {
                discard(tx, entry.id)?;
                false
            } else if any_retried || recreated {
                // The entry now holds only what is left: the skipped fields, as one change on
                // top of the document as just written, so showing or retrying it again never
                // repeats what was retried.
                match remaining_changes(&mut doc, &after, &skipped)? {
                    Some(rest) => {
                        replace_changes(tx, entry.id, &rest)?;
                        true
                    }
                    None => {
                        discard(tx, entry.id)?;
                        false
                    }
                }
            } else {
                true
            };
            let report = RetryReport {
                entry: entry.id,
                doc_id: entry.doc_id.clone(),
                kind: entry.kind,
                recreated,
                fields,
                kept,
            };
            Ok((report, doc))
        })?;
        self.cache.borrow_mut().put(&report.doc_id, doc);
        Ok(report)
    }
}

/// Reads quarantine entry `entry` and its changes.
fn entry_row(conn: &Connection, entry: i64) -> Result<(QuarantineEntry, Vec<u8>)> {
    let row = conn
        .prepare_cached(
            "SELECT id, doc_id, kind, rule, reason, quarantined_at, changes
             FROM quarantine WHERE id = ?1",
        )?
        .query_row([entry], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, Vec<u8>>(6)?,
            ))
        })
        .optional()?;
    let (id, doc_id, kind, rule, reason, quarantined_at, changes) =
        row.ok_or(Error::NoQuarantineEntry(entry))?;
    let entry = QuarantineEntry {
        id,
        doc_id,
        kind: DocKind::named(kind)?,
        rule,
        reason,
        quarantined_at,
        size: changes.len() as u64,
    };
    Ok((entry, changes))
}

/// The document before and after the changes of `entry`. Changes that carry their document's
/// whole history (it was never accepted) are read on their own; others on a fork of `current`.
fn views(entry: &QuarantineEntry, bytes: &[u8], current: Option<AutoCommit>) -> Result<Views> {
    let base_missing = || Error::QuarantineBaseMissing {
        entry: entry.id,
        doc_id: entry.doc_id.clone(),
    };
    let mut alone = AutoCommit::new();
    load_untrusted(&mut alone, bytes)?;
    let mut current = current;
    if let Some(doc) = &current {
        let found = kind_of(doc)?;
        if found != entry.kind {
            return Err(Error::WrongKind {
                id: entry.doc_id.clone(),
                expected: entry.kind.as_str(),
                found: found.to_string(),
            });
        }
    }
    let after_doc = if alone.get_missing_deps(&[]).is_empty() {
        alone
    } else {
        let doc = current.as_mut().ok_or_else(base_missing)?;
        let mut fork = doc.fork();
        load_untrusted(&mut fork, bytes)?;
        if !fork.get_missing_deps(&[]).is_empty() {
            return Err(base_missing());
        }
        fork
    };
    let before = match &current {
        Some(doc) => tree::read(doc)?,
        None => Node::Map(BTreeMap::new()),
    };
    let after = tree::read(&after_doc)?;
    Ok(Views {
        current,
        before,
        after,
    })
}

/// Whether `field` of a `kind` document records where it stands in its approval (the kind's
/// declared lifecycle fields): never resent. Customers and visits have none (a customer's
/// `status` is its sales status).
fn is_lifecycle(kind: DocKind, field: &str) -> bool {
    kind.status_fields().contains(&field)
}

/// Whether the server's reason for `entry` names `field` (as `customer.owner`): the server
/// refused that field itself, so resending it would only be refused again.
fn named_by_server(entry: &QuarantineEntry, field: &str) -> bool {
    let name = format!("{}.{field}", entry.kind.as_str());
    let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.');
    entry.reason.match_indices(&name).any(|(at, _)| {
        !word(entry.reason[..at].chars().next_back())
            && !word(entry.reason[at + name.len()..].chars().next())
    })
}

fn retried(field: &str) -> RetriedField {
    RetriedField {
        field: field.to_string(),
        retried: true,
        why: None,
    }
}

fn skipped(field: &str, why: impl Into<String>) -> RetriedField {
    RetriedField {
        field: field.to_string(),
        retried: false,
        why: Some(why.into()),
    }
}

/// Writes each differing root field of `after` onto `doc`, one change per field, keeping a
/// field only if the document stays valid and (where a user is acting on this device) the
/// server's rules allow the user that change ([`check_write_of`]). A field refused because
/// another one was not yet written is tried again once the others are in. Commits the
/// document and its projections.
fn update(
    conn: &Connection,
    entry: &QuarantineEntry,
    doc: &mut AutoCommit,
    acting: Option<&(Principal, Document)>,
    before: &BTreeMap<String, Node>,
    after: &BTreeMap<String, Node>,
) -> Result<Vec<RetriedField>> {
    let heads = doc.get_heads();
    let mut fields: Vec<String> = before.keys().chain(after.keys()).cloned().collect();
    fields.sort();
    fields.dedup();
    let mut out = Vec::new();
    let mut pending = Vec::new();
    for field in fields {
        if before.get(&field) == after.get(&field) {
            continue;
        }
        if IDENTITY.contains(&field.as_str()) {
            out.push(skipped(
                &field,
                "it says which document this is: never rewritten",
            ));
        } else if is_lifecycle(entry.kind, &field) {
            out.push(skipped(&field, LIFECYCLE_WHY));
        } else if entry.rule == "scope" && protected_fields(entry.kind).contains(&field.as_str()) {
            out.push(skipped(
                &field,
                format!(
                    "it decides who sees the document, and the server refused the change: {}",
                    entry.reason
                ),
            ));
        } else if named_by_server(entry, &field) {
            out.push(skipped(
                &field,
                format!("the server refused this field: {}", entry.reason),
            ));
        } else {
            pending.push(field);
        }
    }
    loop {
        let mut refused = Vec::new();
        let mut progress = false;
        for field in std::mem::take(&mut pending) {
            let saved = doc.clone();
            tree::write_field(doc, &field, after.get(&field))?;
            match validate_document(doc) {
                Ok(view) => {
                    documents::commit(conn, doc)?;
                    let allowed = match acting {
                        Some((who, was)) => check_write_of(who, Some(was), &view, doc, &heads),
                        None => Ok(()),
                    };
                    match allowed {
                        Ok(()) => {
                            out.push(retried(&field));
                            progress = true;
                        }
                        Err(Error::Refused { reason, .. }) => {
                            *doc = saved;
                            out.push(skipped(&field, format!("you may not: {reason}")));
                        }
                        Err(e) => return Err(e),
                    }
                }
                Err(e @ Error::Invalid(_)) => {
                    doc.rollback();
                    refused.push((field, e));
                }
                Err(e) => return Err(e),
            }
        }
        if refused.is_empty() || !progress {
            for (field, e) in refused {
                out.push(skipped(
                    &field,
                    format!("the document would break a rule: {e}"),
                ));
            }
            break;
        }
        pending = refused.into_iter().map(|(field, _)| field).collect();
    }
    if doc.get_heads() != heads {
        let document = validate_document(doc)?;
        documents::append(conn, &entry.doc_id, doc, &heads)?;
        projections::project(conn, &document)?;
    }
    out.sort_by(|a, b| a.field.cmp(&b.field));
    Ok(out)
}

/// Creates the document again from `after`, with lifecycle fields reset to a draft, validates
/// it and stores it with its projections.
fn recreate(
    conn: &Connection,
    entry: &QuarantineEntry,
    actor: ActorId,
    after: &BTreeMap<String, Node>,
) -> Result<(AutoCommit, Vec<RetriedField>)> {
    let mut out = Vec::new();
    let mut doc = AutoCommit::new().with_actor(actor);
    for (field, value) in after {
        let mut value = value.clone();
        if is_lifecycle(entry.kind, field) {
            let draft = draft_value(field, &value);
            if draft != value {
                out.push(skipped(field, LIFECYCLE_WHY));
                value = draft;
            }
        } else if !IDENTITY.contains(&field.as_str()) {
            out.push(retried(field));
        }
        tree::write_field(&mut doc, field, Some(&value))?;
    }
    let document = validate_document(&doc)?;
    if document.id() != entry.doc_id {
        return Err(Error::IdMismatch {
            expected: entry.doc_id.clone(),
            found: document.id().to_string(),
        });
    }
    documents::commit(conn, &mut doc)?;
    if let Some(who) = acting_user_in(conn)? {
        check_write_of(&who, None, &document, &mut doc, &[])?;
    }
    documents::insert(conn, &entry.doc_id, entry.kind, &mut doc)?;
    projections::project(conn, &document)?;
    Ok((doc, out))
}

/// A lifecycle field's value in a new draft: status `draft`, everything else empty.
fn draft_value(field: &str, value: &Node) -> Node {
    match value {
        _ if field == "status" => Node::Scalar("draft".into()),
        Node::List(_) => Node::List(Vec::new()),
        Node::Text(_) => Node::Text(String::new()),
        Node::Map(_) | Node::Scalar(_) => Node::Scalar(automerge::ScalarValue::Null),
    }
}

/// The changes that bring `fields` of `doc` to their values in `after`, made on a fork with an
/// actor of its own (they are never merged into the store, and must not take sequence numbers
/// of the device's actor), or `None` if `doc` already holds them.
fn remaining_changes(
    doc: &mut AutoCommit,
    after: &BTreeMap<String, Node>,
    fields: &[String],
) -> Result<Option<Vec<u8>>> {
    let heads: Vec<ChangeHash> = doc.get_heads();
    let mut fork = doc.fork().with_actor(ActorId::random());
    for field in fields {
        tree::write_field(&mut fork, field, after.get(field))?;
    }
    fork.commit();
    let bytes: Vec<u8> = fork
        .get_changes(&heads)
        .into_iter()
        .flat_map(|mut c| c.bytes().into_owned())
        .collect();
    Ok((!bytes.is_empty()).then_some(bytes))
}

fn discard(conn: &Connection, entry: i64) -> Result<()> {
    conn.prepare_cached("DELETE FROM quarantine WHERE id = ?1")?
        .execute([entry])?;
    Ok(())
}

fn replace_changes(conn: &Connection, entry: i64, changes: &[u8]) -> Result<()> {
    conn.prepare_cached("UPDATE quarantine SET changes = ?2 WHERE id = ?1")?
        .execute(params![entry, changes])?;
    Ok(())
}

#[cfg(test)]
mod tests;
