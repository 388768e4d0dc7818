//! Document bytes in SQLite: a compacted snapshot per document plus the incremental saves made
//! since, compacted again when the increments outgrow the snapshot.
//!
//! Every function takes the connection or transaction it runs on; the callers in
//! [`super::Store`] decide the transaction boundaries.

use automerge::transaction::CommitOptions;
use automerge::{ActorId, AutoCommit, ChangeHash};
use rusqlite::{Connection, OptionalExtension, params};

use super::meta_get;
use crate::error::{Error, Result};
use crate::model::DocKind;
use crate::model::fields::now_string;

/// Encodes heads as comma-separated hex, the form the `heads` columns hold.
pub(crate) fn encode_heads(heads: &[ChangeHash]) -> String {
    crate::protocol::hex_heads(heads).join(",")
}

/// Decodes the `heads` column form.
pub(crate) fn decode_heads(s: &str) -> Result<Vec<ChangeHash>> {
    s.split(',')
        .filter(|h| !h.is_empty())
        .map(|h| {
            h.parse()
                .map_err(|_| Error::Corrupt(format!("stored change hash '{h}'")))
        })
        .collect()
}

/// Loads document `id` with this device's actor, or `None` if the store does not have it.
pub(crate) fn load(conn: &Connection, id: &str, actor: &ActorId) -> Result<Option<AutoCommit>> {
    read_stored(conn, id)?
        .map(|stored| stored.load(id, actor))
        .transpose()
}

/// A document's bytes as stored: its snapshot and the increments after it, read on the
/// database's thread and loaded anywhere ([`StoredBytes::load`]).
pub(crate) struct StoredBytes {
    snapshot: Vec<u8>,
    increments: Vec<u8>,
    /// Its kind, as its row records it.
    pub(crate) kind: DocKind,
}

impl StoredBytes {
    /// What the document weighs as stored.
    pub(crate) fn sizes(&self) -> Sizes {
        Sizes {
            snapshot: self.snapshot.len() as i64,
            increments: self.increments.len() as i64,
        }
    }

    /// The document, loaded with `actor`; `id` names it in errors.
    pub(crate) fn load(self, id: &str, actor: &ActorId) -> Result<AutoCommit> {
        let mut doc = AutoCommit::load(&self.snapshot)
            .map_err(|e| Error::Corrupt(format!("stored document {id}: {e}")))?;
        if !self.increments.is_empty() {
            crate::chunks::load_increments(&mut doc, &self.increments)
                .map_err(|e| Error::Corrupt(format!("stored change of {id}: {e}")))?;
        }
        Ok(doc.with_actor(actor.clone()))
    }
}

/// The stored bytes of document `id`, or `None` if the store does not have it.
pub(crate) fn read_stored(conn: &Connection, id: &str) -> Result<Option<StoredBytes>> {
    let row: Option<(Vec<u8>, i64, String)> = conn
        .prepare_cached("SELECT snapshot, increments_size, kind FROM documents WHERE id = ?1")?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    let Some((snapshot, increments_size, kind)) = row else {
        return Ok(None);
    };
    let kind = DocKind::named(kind)?;
    // All increments in one call: each call costs time in proportion to the whole document.
    // A document has increments exactly when their size is above 0 (every write of them sets
    // it, and an increment is never empty): one stored whole, as most are, needs no query.
    let mut increments = Vec::new();
    if increments_size > 0 {
        let mut stmt = conn.prepare_cached(
            "SELECT bytes FROM document_increments WHERE doc_id = ?1 ORDER BY seq",
        )?;
        let mut rows = stmt.query([id])?;
        while let Some(row) = rows.next()? {
            let bytes = row.get_ref(0)?.as_blob().map_err(rusqlite::Error::from)?;
            increments.extend_from_slice(bytes);
        }
    }
    Ok(Some(StoredBytes {
        snapshot,
        increments,
        kind,
    }))
}

/// Recently used documents, kept loaded: loading costs time in proportion to a document's
/// whole history, and a rep edits the same few documents again and again.
///
/// An entry is used only while its heads equal the heads stored in the file, so a write through
/// another connection to the same file is never missed.
///
/// Entries are boxed: a loaded document is a 4 KiB value, and it moves between the cache, the
/// merging threads and the store many times a sync.
pub(crate) struct DocCache {
    docs: Option<lru::LruCache<String, Box<AutoCommit>>>,
}

impl DocCache {
    /// A cache of at most `capacity` documents (0 disables it).
    pub(crate) fn new(capacity: usize) -> Self {
        DocCache {
            docs: std::num::NonZeroUsize::new(capacity).map(lru::LruCache::new),
        }
    }

    /// Takes document `id` out of the cache if it is current, else loads it from `conn`.
    pub(crate) fn take(
        &mut self,
        conn: &Connection,
        id: &str,
        actor: &ActorId,
    ) -> Result<Option<Box<AutoCommit>>> {
        match self.take_current(conn, id, actor)? {
            Some(doc) => Ok(Some(doc)),
            None => Ok(load(conn, id, actor)?.map(Box::new)),
        }
    }

    /// Takes document `id` out of the cache if it is there and current (with `actor`), without
    /// loading it otherwise.
    pub(crate) fn take_current(
        &mut self,
        conn: &Connection,
        id: &str,
        actor: &ActorId,
    ) -> Result<Option<Box<AutoCommit>>> {
        let Some(mut doc) = self.docs.as_mut().and_then(|d| d.pop(id)) else {
            return Ok(None);
        };
        let stored: Option<String> = conn
            .prepare_cached("SELECT heads FROM documents WHERE id = ?1")?
            .query_row([id], |r| r.get(0))
            .optional()?;
        if stored.as_deref() != Some(encode_heads(&doc.get_heads()).as_str()) {
            return Ok(None);
        }
        if doc.get_actor() != actor {
            doc.set_actor(actor.clone());
        }
        Ok(Some(doc))
    }

    /// Drops every cached document (after the device's actor changed).
    pub(crate) fn clear(&mut self) {
        if let Some(docs) = self.docs.as_mut() {
            docs.clear();
        }
    }

    /// Drops the cached copy of `id`, if any (after the document was deleted or rewritten).
    pub(crate) fn forget(&mut self, id: &str) {
        if let Some(docs) = self.docs.as_mut() {
            docs.pop(id);
        }
    }

    /// Keeps `doc`, which must match what is committed to the file.
    pub(crate) fn put(&mut self, id: &str, doc: impl Into<Box<AutoCommit>>) {
        if let Some(docs) = self.docs.as_mut() {
            docs.put(id.to_string(), doc.into());
        }
    }

    /// The ids of the documents cached, most recently used first.
    #[cfg(test)]
    pub(crate) fn ids(&self) -> Vec<String> {
        self.docs
            .iter()
            .flat_map(|d| d.iter().map(|(id, _)| id.clone()))
            .collect()
    }

    /// How many documents the cache holds at most.
    pub(crate) fn capacity(&self) -> usize {
        self.docs.as_ref().map_or(0, |d| d.cap().get())
    }
}

/// Commits the pending operations of `doc` as one change stamped with the time, the device's
/// author name and the device's name. Returns `None` if there was nothing to commit.
///
/// An edit the server would refuse for its size ([`crate::cost`]) fails here, before anything
/// is written: one change of more operations than a change may hold, or a document whose
/// history would pass its limit.
pub(crate) fn commit(conn: &Connection, doc: &mut AutoCommit) -> Result<Option<ChangeHash>> {
    crate::cost::check_edit(doc)?;
    let mut options = CommitOptions::default().with_time(chrono::Utc::now().timestamp());
    if let Some(author) = meta_get(conn, "author")? {
        let device = meta_get(conn, "device")?;
        options = options.with_message(crate::authorship::message(&author, device.as_deref()));
    }
    Ok(doc.commit_with(options))
}

/// Stores a document the store did not have.
///
/// A document of one change (one just created) is kept as that change, compressed: as compact
/// as a save, and its first push sends it as it is ([`stored_changes`]) instead of loading the
/// document and encoding the change again. Loading it costs more than loading a save (its
/// operations are applied one by one: about 1.5× for a customer file), paid each time the
/// document is loaded from the file again (an edit or a merge it is not cached for).
pub(crate) fn insert(
    conn: &Connection,
    id: &str,
    kind: DocKind,
    doc: &mut AutoCommit,
) -> Result<()> {
    let mut changes = doc.get_changes(&[]);
    let bytes = match changes.as_mut_slice() {
        [only] => only.bytes().into_owned(),
        _ => doc.save(),
    };
    insert_saved(conn, id, kind, &bytes, &doc.get_heads())
}

/// The changes of document `id` as stored, with its heads, if its snapshot and increments are
/// all changes (a document created here and not compacted since); `None` if the store holds
/// a save of it, or does not have it. In causal order: the snapshot's changes, then the
/// increments' in the order they were stored.
pub(crate) fn stored_changes(
    conn: &Connection,
    id: &str,
) -> Result<Option<(Vec<ChangeHash>, Vec<automerge::Change>)>> {
    // One read transaction: a write through another connection (the app's, while the sync's
    // builds a push) may compact the document between two plain reads.
    let tx = conn.unchecked_transaction()?;
    let read = stored_changes_in(&tx, id)?;
    tx.commit()?;
    let Some((heads, changes)) = read else {
        return Ok(None);
    };
    // The changes must be the whole document: their heads are its heads.
    let hashes: std::collections::HashSet<ChangeHash> = changes.iter().map(|c| c.hash()).collect();
    let depended: std::collections::HashSet<ChangeHash> = changes
        .iter()
        .flat_map(|c| c.deps().iter().copied())
        .collect();
    let mut tips: Vec<ChangeHash> = hashes.difference(&depended).copied().collect();
    tips.sort();
    let mut sorted = heads.clone();
    sorted.sort();
    Ok((tips == sorted).then_some((heads, changes)))
}

fn stored_changes_in(
    conn: &Connection,
    id: &str,
) -> Result<Option<(Vec<ChangeHash>, Vec<automerge::Change>)>> {
    let row: Option<(Vec<u8>, String)> = conn
        .prepare_cached("SELECT snapshot, heads FROM documents WHERE id = ?1")?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((mut bytes, heads)) = row else {
        return Ok(None);
    };
    let mut stmt = conn
        .prepare_cached("SELECT bytes FROM document_increments WHERE doc_id = ?1 ORDER BY seq")?;
    let mut rows = stmt.query([id])?;
    while let Some(row) = rows.next()? {
        bytes.extend_from_slice(row.get_ref(0)?.as_blob().map_err(rusqlite::Error::from)?);
    }
    let changes = crate::chunks::changes_only(&bytes)
        .map_err(|e| Error::Corrupt(format!("stored document {id}: {e}")))?;
    match changes {
        Some(changes) => Ok(Some((decode_heads(&heads)?, changes))),
        None => Ok(None),
    }
}

/// Stores a document the store did not have from bytes that load as it (a save, or its
/// changes), with its heads.
pub(crate) fn insert_saved(
    conn: &Connection,
    id: &str,
    kind: DocKind,
    saved: &[u8],
    heads: &[ChangeHash],
) -> Result<()> {
    let now = now_string();
    let inserted = conn
        .prepare_cached(
            "INSERT INTO documents(id, kind, snapshot, heads, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?5) ON CONFLICT(id) DO NOTHING",
        )?
        .execute(params![id, kind.as_str(), saved, encode_heads(heads), now])?;
    if inserted == 0 {
        return Err(Error::Corrupt(format!("document {id} already exists")));
    }
    Ok(())
}

/// Stores what `doc` gained since `before`, compacting when the increments outgrow the snapshot.
pub(crate) fn append(
    conn: &Connection,
    id: &str,
    doc: &mut AutoCommit,
    before: &[ChangeHash],
) -> Result<()> {
    let grown = Growth::of(doc, before, sizes(conn, id)?);
    grown.write(conn, id, &doc.get_heads())
}

/// Stored documents smaller than this (snapshot and increments, in bytes) are stored whole
/// again when a merge from elsewhere changes them ([`Growth::merged`]); larger ones (long
/// notes) get an increment, as a local edit does.
pub(crate) const WHOLE_BELOW: i64 = 64 * 1024;

/// What a stored document weighs, in bytes: its snapshot and the increments after it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sizes {
    snapshot: i64,
    increments: i64,
}

/// The sizes of stored document `id`.
pub(crate) fn sizes(conn: &Connection, id: &str) -> Result<Sizes> {
    Ok(conn
        .prepare_cached("SELECT length(snapshot), increments_size FROM documents WHERE id = ?1")?
        .query_row([id], |r| {
            Ok(Sizes {
                snapshot: r.get(0)?,
                increments: r.get(1)?,
            })
        })?)
}

/// What a stored document's new changes are stored as. Made from the document alone (on
/// whichever thread holds it, without the database), written by [`Growth::write`].
pub(crate) enum Growth {
    /// Nothing new.
    None,
    /// One more increment, the increments then weighing `total` bytes.
    Increment { bytes: Vec<u8>, total: i64 },
    /// The increments would outgrow the snapshot: a new snapshot replaces them all.
    Snapshot(Vec<u8>),
}

impl Growth {
    /// What `doc` gained since `before`, for a stored document of `sizes`.
    pub(crate) fn of(doc: &mut AutoCommit, before: &[ChangeHash], sizes: Sizes) -> Growth {
        let bytes = doc.save_after(before);
        if bytes.is_empty() {
            return Growth::None;
        }
        let total = sizes.increments + bytes.len() as i64;
        if total > sizes.snapshot {
            Growth::Snapshot(doc.save())
        } else {
            Growth::Increment { bytes, total }
        }
    }

    /// What `doc` gained since `before` in a merge from elsewhere, for a stored document of
    /// `sizes`. A document under [`WHOLE_BELOW`] is stored whole again, as a save without
    /// compression: a save and one increment load in about twice the time of that save alone
    /// (70 µs against 35 µs for a generated customer file or visit), and every increment adds
    /// as much again, while encoding the save costs about 3 µs. A device merges the team's
    /// changes into the same documents sync after sync, and loads them again for each.
    pub(crate) fn merged(doc: &mut AutoCommit, before: &[ChangeHash], sizes: Sizes) -> Growth {
        if sizes.snapshot + sizes.increments < WHOLE_BELOW {
            Growth::Snapshot(doc.save_nocompress())
        } else {
            Growth::of(doc, before, sizes)
        }
    }

    /// Writes the growth of document `id`, whose heads are now `heads`.
    pub(crate) fn write(self, conn: &Connection, id: &str, heads: &[ChangeHash]) -> Result<()> {
        let heads = encode_heads(heads);
        match self {
            Growth::None => {}
            Growth::Snapshot(snapshot) => {
                conn.prepare_cached("DELETE FROM document_increments WHERE doc_id = ?1")?
                    .execute([id])?;
                conn.prepare_cached(
                    "UPDATE documents SET snapshot = ?2, increments_size = 0, heads = ?3, updated_at = ?4 WHERE id = ?1",
                )?
                .execute(params![id, snapshot, heads, now_string()])?;
            }
            Growth::Increment { bytes, total } => {
                conn.prepare_cached(
                    "INSERT INTO document_increments(doc_id, bytes) VALUES (?1, ?2)",
                )?
                .execute(params![id, bytes])?;
                conn.prepare_cached(
                    "UPDATE documents SET increments_size = ?2, heads = ?3, updated_at = ?4 WHERE id = ?1",
                )?
                .execute(params![id, total, heads, now_string()])?;
            }
        }
        Ok(())
    }
}

/// The stored heads of `id`, without loading the document.
pub(crate) fn heads(conn: &Connection, id: &str) -> Result<Option<Vec<ChangeHash>>> {
    let heads: Option<String> = conn
        .prepare_cached("SELECT heads FROM documents WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?;
    heads.map(|h| decode_heads(&h)).transpose()
}

/// The kind of `id`, without loading the document.
pub(crate) fn kind(conn: &Connection, id: &str) -> Result<Option<DocKind>> {
    let kind: Option<String> = conn
        .prepare_cached("SELECT kind FROM documents WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?;
    kind.map(DocKind::named).transpose()
}

/// Every document id with its kind.
pub(crate) fn ids(conn: &Connection) -> Result<Vec<(String, DocKind)>> {
    let mut stmt = conn.prepare_cached("SELECT id, kind FROM documents ORDER BY id")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (id, kind) = row?;
        out.push((id, DocKind::named(kind)?));
    }
    Ok(out)
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used)]
    use crate::Store;
    use crate::model::customer::{CustomerEdit, NewCustomer};

    /// Document `id` as stored: its snapshot's length, the increments' stored size and how
    /// many increments it has.
    pub(crate) fn sizes(store: &Store, id: &str) -> (i64, i64, i64) {
        store
            .conn
            .query_row(
                "SELECT length(snapshot), increments_size, (SELECT count(*) FROM document_increments WHERE doc_id = ?1)
                 FROM documents WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap()
    }

    #[test]
    fn increments_are_compacted_into_the_snapshot_when_they_outgrow_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("d.db")).unwrap();
        let id = store
            .create_customer(NewCustomer {
                name: "华东精密机械有限公司".into(),
                territory: "east".into(),
                owner: "li".into(),
                created_by: "li".into(),
                ..Default::default()
            })
            .unwrap();
        let (snapshot, _, _) = sizes(&store, &id);
        let mut saw_increments = false;
        let mut saw_compaction = false;
        for n in 0..200 {
            store
                .update_customer(&id, &[CustomerEdit::AppendNotes(format!("第{n}条备注"))])
                .unwrap();
            let (snap, inc, rows) = sizes(&store, &id);
            assert!(
                inc <= snap,
                "increments ({inc} bytes) outgrew the snapshot ({snap} bytes)"
            );
            saw_increments |= rows > 0;
            saw_compaction |= rows == 0 && snap > snapshot;
        }
        assert!(saw_increments && saw_compaction);
        // After all that, the document reads back whole.
        let notes = store.customer(&id).unwrap().notes.as_str().to_string();
        assert!(notes.contains("第0条备注") && notes.contains("第199条备注"));
    }

    #[test]
    fn reading_stored_documents_one_after_another_compiles_their_statements_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("d.db")).unwrap();
        let ids: Vec<String> = (0..5)
            .map(|n| {
                let id = store
                    .create_customer(NewCustomer {
                        name: format!("华东精密{n}"),
                        territory: "east".into(),
                        owner: "li".into(),
                        created_by: "li".into(),
                        ..Default::default()
                    })
                    .unwrap();
                store
                    .update_customer(&id, &[CustomerEdit::AppendNotes("回访".into())])
                    .unwrap();
                id
            })
            .collect();
        let statements = [
            "SELECT snapshot, increments_size FROM documents WHERE id = ?1",
            "SELECT bytes FROM document_increments WHERE doc_id = ?1 ORDER BY seq",
        ];
        let compiled_again = |store: &Store| -> Vec<i32> {
            statements
                .iter()
                .map(|sql| {
                    let stmt = store.conn.prepare_cached(sql).unwrap();
                    stmt.get_status(rusqlite::StatementStatus::RePrepare)
                })
                .collect()
        };
        super::read_stored(&store.conn, &ids[0]).unwrap().unwrap();
        let before = compiled_again(&store);
        for id in &ids {
            let stored = super::read_stored(&store.conn, id).unwrap().unwrap();
            assert!(!stored.increments.is_empty());
        }
        assert_eq!(compiled_again(&store), before);
    }
}
