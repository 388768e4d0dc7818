//! What sync keeps in the store beside the documents, and the store primitives that apply a
//! server's verdicts: the cursor and the time of the last completed sync, merging pulled data,
//! the quarantine of refused changes, and deleting documents that left the device's scope.
//!
//! Guarantees:
//! - [`Store::quarantine_document`] saves the changes the server has not acknowledged and
//!   resets the document to its acknowledged heads in one transaction: a crash leaves either
//!   the document as it was or the changes in quarantine and the document reset, never neither.
//! - Whenever changes go to quarantine the device takes a new Automerge actor id. The refused
//!   changes used sequence numbers of the old actor, possibly ones the server already holds from
//!   an earlier round whose answer was lost; Automerge refuses two different changes with the
//!   same actor and sequence number, so new edits must never reuse them.
//! - Deleting a document deletes every projection row of it, the full-text rows included, and
//!   recomputes the follow-up of a deleted visit's customer.
//! - Nothing a user typed is deleted silently: a revoked document's unacknowledged changes go
//!   to quarantine before the document is deleted.

use automerge::{ActorId, AutoCommit, Change, ChangeHash};
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::Serialize;

use super::{Store, documents, meta_get, meta_set, projections};
use crate::error::{Error, Result, ValidationError};
use crate::ids::parse_id;
use crate::model::fields::now_string;
use crate::model::{DocKind, validate_document};

/// The meta key of the sync cursor.
const SETTINGS_KEY: &str = "server_settings";
const CURSOR_KEY: &str = "sync.cursor";
/// The meta key of the time of the last completed sync.
const LAST_SYNC_KEY: &str = "sync.last_sync_at";
/// How far apart two recorded times of the last sync are at least ([`Store::set_last_sync_at`]).
const LAST_SYNC_PRECISION_SECS: i64 = 60;
/// The meta key the store manages itself; [`Store::set_meta`] refuses it.
const ACTOR_KEY: &str = "actor_id";

/// The rule recorded for changes kept because their document left the device's scope before
/// the server acknowledged them.
pub const REVOKED_RULE: &str = "revoked";

/// One entry of the quarantine: changes of one document that the server refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QuarantineEntry {
    /// The entry's number, for [`Store::discard_quarantined`] and
    /// [`Store::quarantined_changes`].
    pub id: i64,
    /// The document the changes belong to (it may no longer be in the store).
    pub doc_id: String,
    /// Its kind.
    pub kind: DocKind,
    /// The rule the server named (`schema`, `scope`, `field_rights`, `approval`, `corrupt`,
    /// `missing_dependencies`, `kind`), or [`REVOKED_RULE`].
    pub rule: String,
    /// What was wrong, for the user.
    pub reason: String,
    /// When the changes were put aside, UTC, RFC 3339.
    pub quarantined_at: String,
    /// The size of the kept changes in bytes.
    pub size: u64,
}

impl Store {
    /// Records a value this device keeps about itself (see [`Store::meta`]). The key
    /// `actor_id` is managed by the store and refused.
    pub fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        refuse_managed(key)?;
        self.write(|tx| meta_set(tx, key, value))
    }

    /// Removes a value set with [`Store::set_meta`]; removing an absent key does nothing. The
    /// key `actor_id` is managed by the store and refused.
    pub fn remove_meta(&self, key: &str) -> Result<()> {
        refuse_managed(key)?;
        self.write(|tx| {
            tx.prepare_cached("DELETE FROM meta WHERE key = ?1")?
                .execute([key])?;
            Ok(())
        })
    }

    /// The sync cursor: the highest server log sequence number this device has received and
    /// merged (0 before the first sync).
    pub fn sync_cursor(&self) -> Result<u64> {
        match meta_get(&self.conn, CURSOR_KEY)? {
            None => Ok(0),
            Some(v) => v
                .parse()
                .map_err(|_| Error::Corrupt(format!("sync cursor in store: '{v}'"))),
        }
    }

    /// Stores the sync cursor; store it only once everything before it has been merged.
    pub fn set_sync_cursor(&self, cursor: u64) -> Result<()> {
        // A round that moved nothing commits nothing (a commit waits for the disk).
        if self.sync_cursor()? == cursor {
            return Ok(());
        }
        self.write(|tx| meta_set(tx, CURSOR_KEY, &cursor.to_string()))
    }

    /// Keeps the settings the server sent ([`crate::protocol::Settings`]), and gives the
    /// acting user the team the server named, so the device's rules know it too (a manager
    /// sets the targets of their own reps).
    pub fn set_settings(&self, settings: &crate::protocol::Settings) -> Result<()> {
        let json = serde_json::to_string(settings)
            .map_err(|e| crate::Error::Corrupt(format!("settings: {e}")))?;
        let acting = self.acting_user()?;
        // The same settings as last time (most rounds) commit nothing.
        if meta_get(&self.conn, SETTINGS_KEY)?.as_deref() != Some(json.as_str()) {
            self.write(|tx| meta_set(tx, SETTINGS_KEY, &json))?;
        }
        match acting {
            Some(mut who) if !settings.team.is_empty() && who.team != settings.team => {
                who.team = settings.team.clone();
                if !who.team.contains(&who.username) {
                    who.team.push(who.username.clone());
                }
                self.set_acting_user(Some(&who))
            }
            Some(_) | None => Ok(()),
        }
    }

    /// The settings the server sent last; the defaults before the first sync (or from a server
    /// that sends none).
    pub fn settings(&self) -> Result<crate::protocol::Settings> {
        let stored = meta_get(&self.conn, SETTINGS_KEY)?;
        Ok(stored
            .and_then(|json| serde_json::from_str(&json).ok())
            .unwrap_or(crate::protocol::Settings {
                complaint_hours: Default::default(),
                team: Vec::new(),
                attachments: None,
            }))
    }

    /// When the last sync completed (UTC, RFC 3339), if one ever did.
    pub fn last_sync_at(&self) -> Result<Option<String>> {
        meta_get(&self.conn, LAST_SYNC_KEY)
    }

    /// Records when a sync completed (UTC, RFC 3339), to the minute: a time less than 60
    /// seconds after the one recorded is not written, so that the syncs of
    /// a device in live mode, most of which change nothing, do not each wait for the disk.
    pub fn set_last_sync_at(&self, at: &str) -> Result<()> {
        let recorded = meta_get(&self.conn, LAST_SYNC_KEY)?;
        let seconds_since = |recorded: &str| {
            let parse = |t: &str| chrono::DateTime::parse_from_rfc3339(t).ok();
            Some((parse(at)? - parse(recorded)?).num_seconds())
        };
        if let Some(since) = recorded.as_deref().and_then(seconds_since)
            && (0..LAST_SYNC_PRECISION_SECS).contains(&since)
        {
            return Ok(());
        }
        self.write(|tx| meta_set(tx, LAST_SYNC_KEY, at))
    }

    /// The unsent work of document `id`, read from one loaded copy: its current heads and
    /// every change not in its acknowledged heads (every change if nothing was acknowledged).
    /// Once the server accepts these changes, the returned heads are the ones to acknowledge.
    pub fn unsent_changes(&self, id: &str) -> Result<(Vec<ChangeHash>, Vec<Vec<u8>>)> {
        let acked = self.acked_heads(id)?;
        self.with_doc(id, |doc| {
            let heads = doc.get_heads();
            let changes = doc
                .get_changes(&acked)
                .into_iter()
                .map(|mut c| c.bytes().into_owned())
                .collect();
            Ok((heads, changes))
        })
    }

    /// The changes of document `id` the server has not acknowledged, in causal order, as
    /// Automerge changes (their costs and dependencies readable), with the document's heads.
    pub fn unsent_change_list(&self, id: &str) -> Result<(Vec<ChangeHash>, Vec<Change>)> {
        let acked = self.acked_heads(id)?;
        // Never pushed and kept as its changes: they are read as stored, not loaded and encoded.
        if acked.is_empty()
            && let Some(stored) = documents::stored_changes(&self.conn, &parse_id(id)?)?
        {
            return Ok(stored);
        }
        self.with_doc(id, |doc| Ok((doc.get_heads(), doc.get_changes(&acked))))
    }

    /// Puts the changes of document `id` that the server has not acknowledged into the
    /// quarantine with the server's `rule` and `reason`, and resets the document to its
    /// acknowledged heads (re-projecting it); a document the server never acknowledged at all
    /// is deleted with its projection rows. One transaction. Afterwards the device uses a new
    /// actor id (see the module documentation).
    ///
    /// Returns the quarantine entry's number, or `None` if the document had no unacknowledged
    /// changes (then nothing changes).
    pub fn quarantine_document(&self, id: &str, rule: &str, reason: &str) -> Result<Option<i64>> {
        let id = parse_id(id)?;
        let done = self.write(|tx| {
            let (acked, _) =
                acked_and_heads(tx, &id)?.ok_or_else(|| Error::NotFound(id.clone()))?;
            let acked = documents::decode_heads(acked.as_deref().unwrap_or(""))?;
            let mut doc = self.take_doc(tx, &id)?;
            let changes = changes_since(&mut doc, &acked);
            if changes.is_empty() {
                return Ok(None);
            }
            let kind = documents::kind(tx, &id)?.ok_or_else(|| Error::NotFound(id.clone()))?;
            let entry = keep(tx, &id, kind, &changes, rule, reason)?;
            if acked.is_empty() {
                delete_document(tx, &id)?;
            } else {
                reset_to(tx, &id, &mut doc, &acked)?;
            }
            Ok(Some((entry, replace_actor(tx)?)))
        })?;
        Ok(done.map(|(entry, actor)| {
            self.adopt_actor(actor);
            entry
        }))
    }

    /// Deletes document `id` with its projection rows and any cached copy, because it left the
    /// device's scope. Changes of it the server has not acknowledged go to the quarantine first
    /// (rule [`REVOKED_RULE`]), so nothing typed is lost. Returns whether the store had it.
    pub fn revoke_document(&self, id: &str) -> Result<bool> {
        let id = parse_id(id)?;
        let done = self.write(|tx| {
            let Some((acked, heads)) = acked_and_heads(tx, &id)? else {
                return Ok(None);
            };
            let mut new_actor = None;
            if acked.as_deref() != Some(heads.as_str()) {
                let acked = documents::decode_heads(acked.as_deref().unwrap_or(""))?;
                let mut doc = self.take_doc(tx, &id)?;
                let changes = changes_since(&mut doc, &acked);
                if !changes.is_empty() {
                    let kind =
                        documents::kind(tx, &id)?.ok_or_else(|| Error::NotFound(id.clone()))?;
                    keep(
                        tx,
                        &id,
                        kind,
                        &changes,
                        REVOKED_RULE,
                        "the document left your scope (for example, its customer was handed over) \
                         before these changes reached the server",
                    )?;
                    new_actor = Some(replace_actor(tx)?);
                }
            }
            delete_document(tx, &id)?;
            Ok(Some(new_actor))
        })?;
        self.cache.borrow_mut().forget(&id);
        Ok(match done {
            None => false,
            Some(new_actor) => {
                if let Some(actor) = new_actor {
                    self.adopt_actor(actor);
                }
                true
            }
        })
    }

    /// Every quarantine entry, oldest first.
    pub fn list_quarantine(&self) -> Result<Vec<QuarantineEntry>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, doc_id, kind, rule, reason, quarantined_at, length(changes)
             FROM quarantine ORDER BY id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, i64>(6)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, doc_id, kind, rule, reason, quarantined_at, size) = row?;
            out.push(QuarantineEntry {
                id,
                doc_id,
                kind: DocKind::named(kind)?,
                rule,
                reason,
                quarantined_at,
                size: size.max(0) as u64,
            });
        }
        Ok(out)
    }

    /// The changes kept in quarantine entry `entry` (concatenated Automerge changes, which
    /// [`Store::merge_changes`] accepts), or `None` if there is no such entry.
    pub fn quarantined_changes(&self, entry: i64) -> Result<Option<Vec<u8>>> {
        Ok(self
            .conn
            .prepare_cached("SELECT changes FROM quarantine WHERE id = ?1")?
            .query_row([entry], |r| r.get(0))
            .optional()?)
    }

    /// Deletes quarantine entry `entry` for good; returns whether it existed.
    pub fn discard_quarantined(&self, entry: i64) -> Result<bool> {
        self.write(|tx| {
            let n = tx
                .prepare_cached("DELETE FROM quarantine WHERE id = ?1")?
                .execute([entry])?;
            Ok(n > 0)
        })
    }

    /// Takes document `id` for a write in `tx`, with the device's current actor.
    fn take_doc(&self, tx: &Transaction<'_>, id: &str) -> Result<Box<AutoCommit>> {
        let actor = self.actor_in(tx)?;
        self.cache
            .borrow_mut()
            .take(tx, id, &actor)?
            .ok_or_else(|| Error::NotFound(id.to_string()))
    }

    /// Uses `actor` from now on, once the transaction that recorded it has committed. Cached
    /// documents carry the old actor, so the cache is emptied.
    fn adopt_actor(&self, actor: ActorId) {
        *self.actor.borrow_mut() = actor;
        self.cache.borrow_mut().clear();
    }
}

fn refuse_managed(key: &str) -> Result<()> {
    if key == ACTOR_KEY {
        return Err(Error::Invalid(ValidationError::new(
            "meta.actor_id",
            "is the device's Automerge actor, managed by the store: it cannot be set or removed",
        )));
    }
    Ok(())
}

/// The stored acknowledged heads (`None` if nothing was acknowledged) and current heads of
/// `id`, both in column form, or `None` if the store does not have the document.
pub(super) fn acked_and_heads(
    conn: &Connection,
    id: &str,
) -> Result<Option<(Option<String>, String)>> {
    Ok(conn
        .prepare_cached("SELECT acked_heads, heads FROM documents WHERE id = ?1")?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}

/// The changes of `doc` not in `heads`, concatenated.
fn changes_since(doc: &mut AutoCommit, heads: &[ChangeHash]) -> Vec<u8> {
    doc.get_changes(heads)
        .into_iter()
        .flat_map(|mut c| c.bytes().into_owned())
        .collect()
}

/// Writes a quarantine entry and returns its number.
fn keep(
    conn: &Connection,
    doc_id: &str,
    kind: DocKind,
    changes: &[u8],
    rule: &str,
    reason: &str,
) -> Result<i64> {
    conn.prepare_cached(
        "INSERT INTO quarantine(doc_id, kind, changes, rule, reason, quarantined_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        doc_id,
        kind.as_str(),
        changes,
        rule,
        reason,
        now_string()
    ])?;
    Ok(conn.last_insert_rowid())
}

/// Rewrites document `id` as `doc` at `heads`: a fresh snapshot without increments, and its
/// projection rows from that state.
fn reset_to(conn: &Connection, id: &str, doc: &mut AutoCommit, heads: &[ChangeHash]) -> Result<()> {
    let mut reset = doc.fork_at(heads)?;
    let document = validate_document(&reset)?;
    conn.prepare_cached("DELETE FROM document_increments WHERE doc_id = ?1")?
        .execute([id])?;
    conn.prepare_cached(
        "UPDATE documents SET snapshot = ?2, increments_size = 0, heads = ?3, updated_at = ?4
         WHERE id = ?1",
    )?
    .execute(params![
        id,
        reset.save(),
        documents::encode_heads(&reset.get_heads()),
        now_string()
    ])?;
    projections::project(conn, &document)
}

/// Deletes document `id` and every projection row of it. The normal projection tables follow
/// the document row (`ON DELETE CASCADE`); the full-text tables, keyed by the customers rowid,
/// do not, so they go first. A deleted visit's customer gets its follow-up recomputed.
/// Returns whether the document existed.
fn delete_document(conn: &Connection, id: &str) -> Result<bool> {
    let visited = projections::unproject(conn, id)?;
    let n = conn
        .prepare_cached("DELETE FROM documents WHERE id = ?1")?
        .execute([id])?;
    if let Some(customer) = visited {
        projections::refresh_followup(conn, &customer)?;
    }
    Ok(n > 0)
}

/// Records a new random actor for the device and returns it; the caller adopts it once the
/// transaction commits.
fn replace_actor(conn: &Connection) -> Result<ActorId> {
    let actor = ActorId::random();
    meta_set(conn, ACTOR_KEY, &actor.to_hex_string())?;
    Ok(actor)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::model::customer::{CustomerEdit, NewCustomer};
    use crate::model::visit::{NewVisit, VisitType};
    use crate::store::CustomerQuery;

    fn store(dir: &tempfile::TempDir, name: &str) -> Store {
        let s = Store::open(dir.path().join(name)).unwrap();
        s.set_author("li.wei").unwrap();
        s
    }

    fn customer(store: &Store, name: &str) -> String {
        store
            .create_customer(NewCustomer {
                name: name.into(),
                territory: "east".into(),
                owner: "li.wei".into(),
                city: Some("苏州".into()),
                notes: "首次接触于展会。".into(),
                created_by: "li.wei".into(),
                ..Default::default()
            })
            .unwrap()
    }

    /// The hashes of `changes`, in order.
    fn hashes(changes: &[Change]) -> Vec<ChangeHash> {
        changes.iter().map(|c| c.hash()).collect()
    }

    #[test]
    fn a_document_never_pushed_gives_its_changes_as_stored_until_a_save_replaces_them() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(&dir, "a.db");
        let id = customer(&s, "常州精工");
        let kept: Vec<u8> = s
            .conn
            .query_row("SELECT snapshot FROM documents WHERE id = ?1", [&id], |r| {
                r.get(0)
            })
            .unwrap();
        assert_ne!(
            kept[8], 0,
            "a new document is kept as its change, not a save"
        );
        let expected = |s: &Store| s.with_doc(&id, |doc| Ok(doc.get_changes(&[]))).unwrap();
        let from_rows = documents::stored_changes(&s.conn, &id).unwrap().unwrap();
        assert_eq!(hashes(&from_rows.1), hashes(&expected(&s)));
        assert_eq!(from_rows.0, s.heads(&id).unwrap());

        // Edits are stored after it, and read back in the order they were made.
        for i in 0..3 {
            s.update_customer(&id, &[CustomerEdit::AppendNotes(format!("第{i}次回访"))])
                .unwrap();
            assert!(documents::stored_changes(&s.conn, &id).unwrap().is_some());
            let (heads, changes) = s.unsent_change_list(&id).unwrap();
            assert_eq!(hashes(&changes), hashes(&expected(&s)));
            assert_eq!(heads, s.heads(&id).unwrap());
        }
        // Once the increments outgrow the change they are compacted into a save: the changes
        // are then taken from the loaded document, the same ones.
        let long = "很长的备注。".repeat(2_000);
        s.update_customer(&id, &[CustomerEdit::AppendNotes(long)])
            .unwrap();
        assert!(documents::stored_changes(&s.conn, &id).unwrap().is_none());
        let (_, changes) = s.unsent_change_list(&id).unwrap();
        assert_eq!(hashes(&changes), hashes(&expected(&s)));
        assert_eq!(changes.len(), 5);
    }

    fn visit(store: &Store, customer: &str) -> String {
        store
            .create_visit(NewVisit {
                customer: customer.into(),
                author: "li.wei".into(),
                checkin_at: "2025-03-03T02:00:00Z".into(),
                utc_offset_minutes: 480,
                visit_type: Some(VisitType::FollowUp),
                people_met: vec![("赵强".into(), Some("采购".into()))],
                summary: "谈了下季度的订单。".into(),
                ..Default::default()
            })
            .unwrap()
    }

    fn count(store: &Store, sql: &str) -> i64 {
        store.conn.query_row(sql, [], |r| r.get(0)).unwrap()
    }

    fn search(store: &Store, words: &str) -> Vec<String> {
        store
            .list_customers(&CustomerQuery {
                search: Some(words.into()),
                ..Default::default()
            })
            .unwrap()
            .into_iter()
            .map(|r| r.id)
            .collect()
    }

    /// Marks everything the document has as acknowledged, as an accepted push would.
    fn ack(store: &Store, id: &str) {
        store
            .set_acked_heads(id, &store.heads(id).unwrap())
            .unwrap();
    }

    #[test]
    fn quarantining_an_acknowledged_document_keeps_its_unsent_changes_and_resets_it() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(&dir, "d.db");
        let id = customer(&s, "华东精密机械有限公司");
        ack(&s, &id);
        let acked = s.acked_heads(&id).unwrap();
        s.update_customer(&id, &[CustomerEdit::Name("西北重工集团".into())])
            .unwrap();
        let old_actor = s.actor_id();

        let entry = s
            .quarantine_document(&id, "field_rights", "reps cannot rename this customer")
            .unwrap()
            .unwrap();

        // The document is back at its acknowledged state, projections and search included.
        assert_eq!(s.heads(&id).unwrap(), acked);
        assert_eq!(s.customer(&id).unwrap().name, "华东精密机械有限公司");
        assert!(s.unsent_documents().unwrap().is_empty());
        assert_eq!(search(&s, "华东精密"), vec![id.clone()]);
        assert!(search(&s, "西北重工").is_empty());
        assert_eq!(
            count(&s, "SELECT count(*) FROM document_increments"),
            0,
            "the reset document is one fresh snapshot"
        );
        // The refused change is in quarantine, whole: merged back it renames the customer.
        let list = s.list_quarantine().unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].id, entry);
        assert_eq!(list[0].doc_id, id);
        assert_eq!(list[0].kind, DocKind::Customer);
        assert_eq!(list[0].rule, "field_rights");
        assert_eq!(list[0].reason, "reps cannot rename this customer");
        let kept = s.quarantined_changes(entry).unwrap().unwrap();
        assert_eq!(list[0].size, kept.len() as u64);
        let other = store(&dir, "other.db");
        other
            .merge_changes(&id, &s.document_bytes(&id).unwrap())
            .unwrap();
        other.merge_changes(&id, &kept).unwrap();
        assert_eq!(other.customer(&id).unwrap().name, "西北重工集团");
        // The device has a new actor, in memory and in the file.
        assert_ne!(s.actor_id(), old_actor);
        assert_eq!(s.meta("actor_id").unwrap(), Some(s.actor_id()));
    }

    #[test]
    fn after_a_quarantine_new_changes_use_the_new_actor_even_for_cached_documents() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(&dir, "d.db");
        let refused = customer(&s, "华东精密机械有限公司");
        let cached = customer(&s, "苏州新材料科技");
        ack(&s, &refused);
        ack(&s, &cached);
        s.customer(&cached).unwrap(); // now in the document cache, with the old actor
        s.update_customer(&refused, &[CustomerEdit::AppendNotes("x".into())])
            .unwrap();
        s.quarantine_document(&refused, "schema", "bad").unwrap();
        let new_actor = s.actor_id();

        for id in [&refused, &cached] {
            s.update_customer(id, &[CustomerEdit::AppendNotes("之后的备注".into())])
                .unwrap();
            let (_, changes) = s.unsent_changes(id).unwrap();
            assert_eq!(changes.len(), 1);
            let change = automerge::Change::from_bytes(changes[0].clone()).unwrap();
            assert_eq!(change.actor_id().to_hex_string(), new_actor, "{id}");
        }
        // A reopened store keeps the new actor.
        drop(s);
        assert_eq!(store(&dir, "d.db").actor_id(), new_actor);
    }

    #[test]
    fn another_connection_picks_up_the_new_actor_before_its_next_write() {
        let dir = tempfile::tempdir().unwrap();
        let sync = store(&dir, "d.db");
        let ui = store(&dir, "d.db");
        let id = customer(&sync, "华东精密机械有限公司");
        ack(&sync, &id);
        sync.update_customer(&id, &[CustomerEdit::AppendNotes("x".into())])
            .unwrap();
        sync.quarantine_document(&id, "schema", "bad").unwrap();
        assert_ne!(ui.actor_id(), sync.actor_id());

        ui.update_customer(&id, &[CustomerEdit::AppendNotes("界面里写的".into())])
            .unwrap();
        assert_eq!(ui.actor_id(), sync.actor_id());
        let (_, changes) = ui.unsent_changes(&id).unwrap();
        let change = automerge::Change::from_bytes(changes[0].clone()).unwrap();
        assert_eq!(change.actor_id().to_hex_string(), sync.actor_id());
    }

    #[test]
    fn quarantining_a_document_never_acknowledged_deletes_it_with_every_projection_row() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(&dir, "d.db");
        let keep_id = customer(&s, "苏州新材料科技");
        let id = customer(&s, "华东精密机械有限公司");
        let entry = s
            .quarantine_document(&id, "scope", "not your territory")
            .unwrap()
            .unwrap();

        assert!(matches!(s.customer(&id), Err(Error::NotFound(_))));
        assert!(search(&s, "华东").is_empty());
        assert_eq!(search(&s, "苏州新材料"), vec![keep_id]);
        assert_eq!(count(&s, "SELECT count(*) FROM customers"), 1);
        assert_eq!(count(&s, "SELECT count(*) FROM customers_fts"), 1);
        assert_eq!(count(&s, "SELECT count(*) FROM customers_grams"), 1);
        assert_eq!(s.unsent_documents().unwrap().len(), 1);
        // Its whole history is in quarantine and recreates it.
        let kept = s.quarantined_changes(entry).unwrap().unwrap();
        let other = store(&dir, "other.db");
        other.merge_changes(&id, &kept).unwrap();
        assert_eq!(other.customer(&id).unwrap().name, "华东精密机械有限公司");
    }

    #[test]
    fn deleting_a_visit_recomputes_its_customers_follow_up() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(&dir, "d.db");
        let c = customer(&s, "华东精密机械有限公司");
        ack(&s, &c);
        let v = visit(&s, &c);
        let last = || -> Option<String> {
            s.conn
                .query_row("SELECT last_visit_at FROM customers", [], |r| r.get(0))
                .unwrap()
        };
        assert!(last().is_some());
        s.quarantine_document(&v, "scope", "not yours").unwrap();
        assert_eq!(count(&s, "SELECT count(*) FROM visits"), 0);
        assert_eq!(last(), None);
    }

    #[test]
    fn quarantining_a_document_without_unsent_changes_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(&dir, "d.db");
        let id = customer(&s, "华东精密机械有限公司");
        ack(&s, &id);
        let actor = s.actor_id();
        assert_eq!(s.quarantine_document(&id, "schema", "x").unwrap(), None);
        assert!(s.list_quarantine().unwrap().is_empty());
        assert_eq!(s.actor_id(), actor);
        assert!(s.customer(&id).is_ok());
        let missing = crate::ids::new_id();
        assert!(matches!(
            s.quarantine_document(&missing, "schema", "x"),
            Err(Error::NotFound(_))
        ));
    }

    #[test]
    fn revoking_deletes_the_document_its_projections_and_cached_copy() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(&dir, "d.db");
        let id = customer(&s, "华东精密机械有限公司");
        let v = visit(&s, &id);
        ack(&s, &id);
        ack(&s, &v);
        s.customer(&id).unwrap(); // cached
        let actor = s.actor_id();

        assert!(s.revoke_document(&id).unwrap());
        assert!(s.revoke_document(&v).unwrap());
        assert!(matches!(s.customer(&id), Err(Error::NotFound(_))));
        assert!(matches!(s.document(&v), Err(Error::NotFound(_))));
        for table in [
            "documents",
            "document_increments",
            "customers",
            "customers_fts",
            "customers_grams",
            "visits",
            "visits_people_fts",
            "visits_people_grams",
        ] {
            assert_eq!(
                count(&s, &format!("SELECT count(*) FROM {table}")),
                0,
                "{table}"
            );
        }
        // Nothing was unsent, so nothing went to quarantine and the actor stays.
        assert!(s.list_quarantine().unwrap().is_empty());
        assert_eq!(s.actor_id(), actor);
        assert!(!s.revoke_document(&id).unwrap(), "already gone");
    }

    #[test]
    fn revoking_a_document_with_unsent_changes_keeps_them_in_quarantine() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(&dir, "d.db");
        let id = customer(&s, "华东精密机械有限公司");
        ack(&s, &id);
        s.update_customer(&id, &[CustomerEdit::AppendNotes("交接前写的".into())])
            .unwrap();
        let actor = s.actor_id();
        assert!(s.revoke_document(&id).unwrap());
        let list = s.list_quarantine().unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].rule, REVOKED_RULE);
        assert_eq!(list[0].doc_id, id);
        assert_ne!(s.actor_id(), actor);
        assert_eq!(count(&s, "SELECT count(*) FROM customers_fts"), 0);
    }

    #[test]
    fn quarantine_entries_are_listed_and_discarded() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(&dir, "d.db");
        let a = customer(&s, "华东精密机械有限公司");
        let b = customer(&s, "苏州新材料科技");
        let ea = s.quarantine_document(&a, "scope", "one").unwrap().unwrap();
        let eb = s.quarantine_document(&b, "schema", "two").unwrap().unwrap();
        let listed: Vec<(i64, String)> = s
            .list_quarantine()
            .unwrap()
            .into_iter()
            .map(|e| (e.id, e.doc_id))
            .collect();
        assert_eq!(listed, vec![(ea, a), (eb, b.clone())]);
        assert!(s.discard_quarantined(ea).unwrap());
        assert!(!s.discard_quarantined(ea).unwrap());
        assert_eq!(s.quarantined_changes(ea).unwrap(), None);
        let left = s.list_quarantine().unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].doc_id, b);
    }

    /// What to push is found through the index of unsent documents alone, not by reading
    /// every document: the query's plan names the index.
    #[test]
    fn the_unsent_documents_are_read_from_their_own_index() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(&dir, "d.db");
        let plan: Vec<String> = s
            .conn
            .prepare(&format!(
                "EXPLAIN QUERY PLAN {}",
                crate::store::exchange::UNSENT_DOCUMENTS
            ))
            .unwrap()
            .query_map([], |r| r.get(3))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert!(
            plan.iter().any(|step| step.contains("documents_unsent")),
            "{plan:?}"
        );
    }

    #[test]
    fn the_last_sync_time_is_kept_to_the_minute_and_a_clock_set_back_is_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(&dir, "d.db");
        let at = |t: &str| {
            s.set_last_sync_at(t).unwrap();
            s.last_sync_at().unwrap().unwrap()
        };
        assert_eq!(at("2025-03-03T02:00:00Z"), "2025-03-03T02:00:00Z");
        assert_eq!(at("2025-03-03T02:00:59Z"), "2025-03-03T02:00:00Z");
        assert_eq!(at("2025-03-03T02:01:00Z"), "2025-03-03T02:01:00Z");
        // A clock set back is recorded as it says.
        assert_eq!(at("2025-03-03T01:00:00Z"), "2025-03-03T01:00:00Z");
    }

    #[test]
    fn cursor_and_last_sync_time_persist() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(&dir, "d.db");
        assert_eq!(s.sync_cursor().unwrap(), 0);
        assert_eq!(s.last_sync_at().unwrap(), None);
        s.set_sync_cursor(u64::MAX - 1).unwrap();
        s.set_last_sync_at("2025-03-03T02:00:00Z").unwrap();
        drop(s);
        let s = store(&dir, "d.db");
        assert_eq!(s.sync_cursor().unwrap(), u64::MAX - 1);
        assert_eq!(
            s.last_sync_at().unwrap().as_deref(),
            Some("2025-03-03T02:00:00Z")
        );
    }

    #[test]
    fn meta_values_are_set_and_removed_but_the_actor_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(&dir, "d.db");
        s.set_meta("sync.server_url", "http://127.0.0.1:8080")
            .unwrap();
        assert_eq!(
            s.meta("sync.server_url").unwrap().as_deref(),
            Some("http://127.0.0.1:8080")
        );
        s.remove_meta("sync.server_url").unwrap();
        assert_eq!(s.meta("sync.server_url").unwrap(), None);
        let actor = s.actor_id();
        assert!(matches!(
            s.set_meta("actor_id", "00"),
            Err(Error::Invalid(_))
        ));
        assert!(matches!(s.remove_meta("actor_id"), Err(Error::Invalid(_))));
        assert_eq!(s.meta("actor_id").unwrap(), Some(actor));
    }

    #[test]
    fn merging_pulled_data_acknowledges_it_only_when_nothing_was_unsent() {
        let dir = tempfile::tempdir().unwrap();
        let server_side = store(&dir, "server.db");
        let clean = customer(&server_side, "华东精密机械有限公司");
        let dirty = customer(&server_side, "苏州新材料科技");
        let s = store(&dir, "d.db");
        // New documents from the server are acknowledged as pulled.
        for id in [&clean, &dirty] {
            let out = s
                .merge_pulled(id, &server_side.document_bytes(id).unwrap())
                .unwrap();
            assert!(out.created);
        }
        assert!(s.unsent_documents().unwrap().is_empty());
        // A local edit on one; the server moves on for both.
        s.update_customer(&dirty, &[CustomerEdit::AppendNotes("本地".into())])
            .unwrap();
        let acked_before = s.acked_heads(&dirty).unwrap();
        for id in [&clean, &dirty] {
            let before = server_side.heads(id).unwrap();
            server_side
                .update_customer(id, &[CustomerEdit::AppendNotes("服务器".into())])
                .unwrap();
            let news = server_side.changes_since(id, &before).unwrap().concat();
            s.merge_pulled(id, &news).unwrap();
        }
        assert_eq!(s.acked_heads(&clean).unwrap(), s.heads(&clean).unwrap());
        assert_eq!(s.acked_heads(&dirty).unwrap(), acked_before);
        assert_eq!(s.unsent_documents().unwrap(), vec![dirty.clone()]);
        // Bad data changes nothing.
        assert!(s.merge_pulled(&clean, b"not automerge").is_err());
        assert_eq!(s.acked_heads(&clean).unwrap(), s.heads(&clean).unwrap());
    }

    #[test]
    fn a_refused_document_of_a_page_is_left_as_it_was_and_the_rest_is_merged() {
        let dir = tempfile::tempdir().unwrap();
        let server_side = store(&dir, "server.db");
        let first = customer(&server_side, "华东精密机械有限公司");
        let broken = customer(&server_side, "苏州新材料科技");
        let last = customer(&server_side, "无锡华光电器");
        let s = store(&dir, "d.db");
        s.merge_pulled(&broken, &server_side.document_bytes(&broken).unwrap())
            .unwrap();
        let heads_before = s.heads(&broken).unwrap();
        let kept_before = s.customer(&broken).unwrap();

        let bytes: Vec<Vec<u8>> = [&first, &last]
            .iter()
            .map(|id| server_side.document_bytes(id).unwrap())
            .collect();
        // Another document's bytes under `broken`'s id: whole and valid, but not this document.
        let page = [
            (first.as_str(), bytes[0].as_slice()),
            (broken.as_str(), bytes[1].as_slice()),
            (last.as_str(), bytes[1].as_slice()),
        ];
        let results = s.merge_pulled_page(page).unwrap();
        assert!(results[0].as_ref().unwrap().created);
        assert!(results[1].is_err(), "{:?}", results[1]);
        assert!(results[2].as_ref().unwrap().created);
        assert_eq!(s.heads(&broken).unwrap(), heads_before);
        assert_eq!(s.customer(&broken).unwrap(), kept_before);
        assert_eq!(s.customer(&first).unwrap().name, "华东精密机械有限公司");
        assert_eq!(s.customer(&last).unwrap().name, "无锡华光电器");
        assert!(s.unsent_documents().unwrap().is_empty());
        assert_eq!(s.integrity_check(), Ok(()));
    }
}
