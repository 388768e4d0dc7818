//! Merging what a sync pulled: a page of documents in one transaction, one disk sync a page.
//!
//! Most of a merge needs no database: loading the stored copy, Automerge's work with its
//! integrity checks, reading the result against the schema ([`merge_into`]). For a large page
//! that part runs on worker threads while the store's own thread reads the documents' stored
//! copies ahead and writes the merged ones, in the page's order, with their projections. A new
//! device's first sync is such pages back to back, and on two cores the reading and schema
//! checks of one document overlap the writing of the one before.
//!
//! What runs where changes no result: each document is read before its merge and written after
//! it, in order, in the same transaction as before; a document appears in a page once (a page
//! naming one twice is merged on one thread). Memory is bounded: at most
//! [`AHEAD_PER_THREAD`] documents a thread are merged and not yet written. The customers'
//! follow-ups the page changes are computed once each, after its last document is written
//! (a first sync brings a customer's visits by the dozen).

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Mutex;
use std::sync::mpsc;
use std::time::Instant;

use automerge::{ActorId, AutoCommit};
use rusqlite::Transaction;

use super::exchange::{Base, Keep, MergeOutcome, MergeWork, Merged, merge_into};
use super::projections::Followups;
use super::sync_state::acked_and_heads;
use super::{Step, Store};
use crate::error::{Error, Result};
use crate::ids::parse_id;

/// Pages of fewer documents are merged on the store's thread alone: starting threads would
/// cost more than they save.
const PARALLEL_FROM: usize = 16;
/// Documents a worker thread may have merged ahead of the writing.
const AHEAD_PER_THREAD: usize = 16;

/// A document written: the outcome, and the document if it stays loaded.
type Stored = (MergeOutcome, Option<Box<AutoCommit>>);

/// A merge's result as the workers hand it back.
type MergeResult = (Result<Merged>, MergeWork);

/// A document of the page, once read.
enum Slot {
    /// Refused before its merge (a malformed id): nothing of it is written.
    Refused(Error),
    /// Read: its canonical id, whether everything it held came from the server, and (when
    /// merged on the store's thread) what the store had.
    Read {
        id: String,
        clean: bool,
        base: Option<Base>,
    },
}

impl Store {
    /// Merges data the server sent for document `id` (a whole document or changes), like
    /// [`Store::merge_changes`], and in the same transaction: if the document had no unsent
    /// changes before (or is new), records its new heads as acknowledged, since everything in
    /// it now came from the server. A document with unsent changes keeps its acknowledged heads,
    /// so those changes are still pushed (with the pulled ones again, which is harmless).
    pub fn merge_pulled(&self, id: &str, bytes: &[u8]) -> Result<MergeOutcome> {
        self.merge_pulled_page([(id, bytes)])?
            .pop()
            .unwrap_or_else(|| Err(Error::NotFound(id.to_string())))
    }

    /// Merges a page of pulled documents as [`Store::merge_pulled`] does each, in one
    /// transaction: one commit (one disk sync) for the page instead of one per document.
    ///
    /// A document that is refused (corrupt, of the wrong kind, breaking the schema) is refused
    /// before anything of it is written, so it is left as it was and its error is returned in
    /// its slot, in the order given, while the others are merged. No savepoint per document:
    /// each would make the full-text indexes flush a tiny segment. A failure of the database
    /// itself, or any failure once a document's writes began, aborts the whole page: nothing
    /// of it is written.
    ///
    /// A large page is merged on several threads (see the module documentation and
    /// [`super::StoreOptions::merge_threads`]); the result is the same.
    pub fn merge_pulled_page<'a>(
        &self,
        docs: impl IntoIterator<Item = (&'a str, &'a [u8])>,
    ) -> Result<Vec<Result<MergeOutcome>>> {
        let docs: Vec<(&str, &[u8])> = docs.into_iter().collect();
        let threads = if docs.len() >= PARALLEL_FROM && names_each_once(&docs) {
            self.merge_threads
        } else {
            0
        };
        let started = Instant::now();
        let mut committing = Instant::now();
        let results = self.write(|tx| {
            let results = self.merge_page_in(tx, &docs, threads)?;
            committing = Instant::now();
            Ok(results)
        });
        self.count_step(Step::Commit, committing);
        self.count_elapsed(started);
        // Only documents the store had come back loaded, and of those only the ones the cache
        // would keep (see `Page::keep`).
        let mut merged = Vec::new();
        let results = results?
            .into_iter()
            .map(|result| {
                result.map(|(outcome, doc)| {
                    if let Some(doc) = doc {
                        merged.push((outcome.id.clone(), doc));
                    }
                    outcome
                })
            })
            .collect();
        // Only what was committed goes into the cache.
        let mut cache = self.cache.borrow_mut();
        for (id, doc) in merged {
            cache.put(&id, doc);
        }
        Ok(results)
    }

    /// The page's merges inside `tx`, the Automerge part on `threads` worker threads (none:
    /// all on this one).
    fn merge_page_in(
        &self,
        tx: &Transaction<'_>,
        docs: &[(&str, &[u8])],
        threads: usize,
    ) -> Result<Vec<Result<Stored>>> {
        let actor = self.actor_in(tx)?;
        if threads == 0 {
            let mut page = Page::new(self, tx, docs, &actor);
            return page.merge_all(0, |_, job| {
                Ok(job.map(|(base, id, bytes, keep)| merge_into(base, &actor, &id, bytes, keep)))
            });
        }
        let (jobs, waiting) = mpsc::channel::<(usize, Job<'_>)>();
        let waiting = Mutex::new(waiting);
        let (done, finished) = mpsc::channel::<(usize, MergeResult)>();
        std::thread::scope(|scope| {
            // Dropped when the page is done (or abandoned): the workers then stop.
            let jobs = jobs;
            for _ in 0..threads {
                let (waiting, done, actor) = (&waiting, done.clone(), &actor);
                scope.spawn(move || work(waiting, &done, actor));
            }
            drop(done);
            let mut ready: HashMap<usize, MergeResult> = HashMap::new();
            let mut page = Page::new(self, tx, docs, &actor);
            page.merge_all(threads * AHEAD_PER_THREAD, |index, job| match job {
                Some(job) => {
                    // The workers are gone only if the page is being abandoned.
                    jobs.send((index, job)).map_err(|_| stopped())?;
                    Ok(None)
                }
                None => loop {
                    if let Some(result) = ready.remove(&index) {
                        return Ok(Some(result));
                    }
                    let (i, result) = finished.recv().map_err(|_| stopped())?;
                    ready.insert(i, result);
                },
            })
        })
    }
}

/// What a document's merge needs: what the store had, its canonical id, the sent bytes, and
/// whether it comes back loaded.
type Job<'a> = (Base, String, &'a [u8], Keep);

/// A worker thread: merges the jobs it receives until the page is done. A panic in a merge
/// (a defect, not bad data: Automerge's own are caught nearer) refuses that document only.
fn work(
    waiting: &Mutex<mpsc::Receiver<(usize, Job<'_>)>>,
    done: &mpsc::Sender<(usize, MergeResult)>,
    actor: &ActorId,
) {
    loop {
        let next = match waiting.lock() {
            Ok(receiver) => receiver.recv(),
            Err(_) => return,
        };
        let Ok((index, (base, id, bytes, keep))) = next else {
            return;
        };
        let result = catch_unwind(AssertUnwindSafe(|| {
            merge_into(base, actor, &id, bytes, keep)
        }))
        .unwrap_or_else(|_| {
            let refused = Error::Corrupt(format!(
                "document {id} could not be merged: the merge stopped unexpectedly"
            ));
            (Err(refused), MergeWork::default())
        });
        if done.send((index, result)).is_err() {
            return;
        }
    }
}

fn stopped() -> Error {
    Error::Corrupt("merging the pulled page stopped: a merging thread ended early".into())
}

/// Whether no document is named twice in `docs`, however its id is spelled (then each can be
/// read before the one before it is written). A malformed id names no document: it is refused.
fn names_each_once(docs: &[(&str, &[u8])]) -> bool {
    let mut seen = std::collections::HashSet::with_capacity(docs.len());
    docs.iter()
        .filter_map(|(id, _)| parse_id(id).ok())
        .all(|id| seen.insert(id))
}

/// One page being merged: its documents, read ahead of their writes.
struct Page<'s, 't, 'c, 'd> {
    store: &'s Store,
    tx: &'t Transaction<'c>,
    docs: &'d [(&'d str, &'d [u8])],
    actor: &'d ActorId,
    slots: Vec<Option<Slot>>,
    /// The first document that comes back loaded (see [`Page::keep`]).
    keep_from: usize,
}

impl<'s, 't, 'c, 'd> Page<'s, 't, 'c, 'd> {
    fn new(
        store: &'s Store,
        tx: &'t Transaction<'c>,
        docs: &'d [(&'d str, &'d [u8])],
        actor: &'d ActorId,
    ) -> Self {
        Page {
            store,
            tx,
            docs,
            actor,
            slots: Vec::with_capacity(docs.len()),
            keep_from: docs.len().saturating_sub(store.cache.borrow().capacity()),
        }
    }

    /// Whether document `index` comes back loaded, to be cached once the page is committed.
    /// The cache keeps the documents put in it last, so only the page's last ones would stay:
    /// an earlier one is dropped where it was merged (on a worker thread, for a large page)
    /// rather than moved to the store's thread only to be dropped from the cache there.
    fn keep(&self, index: usize) -> Keep {
        if index >= self.keep_from {
            Keep::Existing
        } else {
            Keep::None
        }
    }

    /// Reads, merges and writes every document in order. `merge(index, job)` is handed each
    /// read document's job once (`Some`: it may start the merge elsewhere and answer `None`,
    /// or merge at once), and asked for the result when it is to be written (`None`).
    /// `ahead` is how many documents may be read before the one being written (0: each is
    /// merged when read).
    fn merge_all(
        &mut self,
        ahead: usize,
        mut merge: impl FnMut(usize, Option<Job<'d>>) -> Result<Option<MergeResult>>,
    ) -> Result<Vec<Result<Stored>>> {
        let mut results = Vec::with_capacity(self.docs.len());
        // Each customer's follow-up once, after the page's rows: a first sync brings a
        // customer's visits by the dozen.
        let mut followups = Followups::later();
        for next in 0..self.docs.len() {
            while self.slots.len() < self.docs.len() && self.slots.len() <= next + ahead {
                let index = self.slots.len();
                let mut slot = self.read(index)?;
                if ahead > 0
                    && let Slot::Read { id, base, .. } = &mut slot
                    && let Some(base) = base.take()
                {
                    let job = (base, id.clone(), self.docs[index].1, self.keep(index));
                    merge(index, Some(job))?;
                }
                self.slots.push(Some(slot));
            }
            let slot = self.slots[next]
                .take()
                .expect("each document is written once");
            let (id, clean, base) = match slot {
                Slot::Refused(e) => {
                    results.push(Err(e));
                    continue;
                }
                Slot::Read { id, clean, base } => (id, clean, base),
            };
            let merged = match base {
                Some(base) => {
                    let job = (base, id.clone(), self.docs[next].1, self.keep(next));
                    merge(next, Some(job))?
                }
                None => merge(next, None)?,
            };
            let merged = merged.expect("a merge is answered when asked for");
            let written_before = self.tx.total_changes();
            match self
                .store
                .store_pulled(self.tx, &id, merged, clean, &mut followups)
            {
                Ok(merged) => results.push(Ok(merged)),
                Err(e @ Error::Storage(_)) => return Err(e),
                Err(e) if self.tx.total_changes() != written_before => return Err(e),
                Err(e) => results.push(Err(e)),
            }
        }
        let started = Instant::now();
        followups.finish(self.tx)?;
        self.store.count_step(Step::Project, started);
        Ok(results)
    }

    /// Reads document `index`: its id, whether it is clean, what the store has of it.
    fn read(&self, index: usize) -> Result<Slot> {
        let started = Instant::now();
        let id = match parse_id(self.docs[index].0) {
            Ok(id) => id,
            Err(e) => return Ok(Slot::Refused(e)),
        };
        let (clean, base) = match acked_and_heads(self.tx, &id)? {
            // New to the store (most of a first sync): nothing more to read.
            None => (true, Base::New),
            Some((acked, heads)) => (
                acked.as_deref() == Some(heads.as_str()),
                self.store.base_of(self.tx, &id, self.actor)?,
            ),
        };
        self.store.count_step(Step::Read, started);
        Ok(Slot::Read {
            id,
            clean,
            base: Some(base),
        })
    }
}

impl Store {
    /// Writes a pulled document's merge (its follow-ups left to `followups`); a clean one has
    /// its new heads acknowledged.
    fn store_pulled(
        &self,
        tx: &Transaction<'_>,
        id: &str,
        merged: MergeResult,
        clean: bool,
        followups: &mut Followups,
    ) -> Result<Stored> {
        let (outcome, doc) = self.store_merged(tx, id, merged, followups)?;
        if clean {
            let started = Instant::now();
            tx.prepare_cached("UPDATE documents SET acked_heads = heads WHERE id = ?1")?
                .execute([id])?;
            self.count_step(Step::Write, started);
        }
        Ok((outcome, doc))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use automerge::AutoCommit;

    use crate::Store;
    use crate::model::customer::{CustomerEdit, NewCustomer, Tier};
    use crate::store::MergeOutcome;
    use crate::store::StoreOptions;
    use crate::store::documents::tests::sizes;
    use crate::store::test_support::customer_of_li;

    #[test]
    fn a_new_document_pulled_is_stored_as_a_save_of_it_or_as_the_save_it_came_as() {
        let dir = tempfile::tempdir().unwrap();
        let source = Store::open(dir.path().join("source.db")).unwrap();
        let id = source
            .create_customer(NewCustomer {
                name: "常州精工".into(),
                territory: "east".into(),
                owner: "li.wei".into(),
                notes: "首次接触于展会。".into(),
                created_by: "li.wei".into(),
                ..Default::default()
            })
            .unwrap();
        let change = source.changes_since(&id, &[]).unwrap().concat();
        // Sent as a change: chunk type 1 (or 2, compressed), after magic and checksum.
        assert_ne!(change[8], 0);

        let device = Store::open(dir.path().join("device.db")).unwrap();
        assert!(device.merge_pulled(&id, &change).unwrap().created);
        let stored: Vec<u8> = device
            .conn
            .query_row("SELECT snapshot FROM documents WHERE id = ?1", [&id], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(stored[8], 0, "a document chunk");
        let mut loaded = AutoCommit::load(&stored).unwrap();
        assert_eq!(loaded.get_heads(), source.heads(&id).unwrap());
        assert_eq!(device.customer(&id).unwrap(), source.customer(&id).unwrap());
        assert_eq!(device.acked_heads(&id).unwrap(), source.heads(&id).unwrap());

        // Sent as a save: kept as it came.
        let other = customer_of_li(&source, "无锡华光");
        let saved = source.document_bytes(&other).unwrap();
        device.merge_pulled(&other, &saved).unwrap();
        let stored: Vec<u8> = device
            .conn
            .query_row(
                "SELECT snapshot FROM documents WHERE id = ?1",
                [&other],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(stored, saved);
    }

    #[test]
    fn a_large_page_leaves_loaded_only_what_the_cache_keeps_and_stores_small_documents_whole() {
        let dir = tempfile::tempdir().unwrap();
        let source = Store::open(dir.path().join("source.db")).unwrap();
        let ids: Vec<String> = (0..40)
            .map(|n| customer_of_li(&source, &format!("常州精工{n}")))
            .collect();
        let options = StoreOptions {
            doc_cache: 8,
            merge_threads: 2,
            ..StoreOptions::default()
        };
        let device = Store::open_with(dir.path().join("device.db"), options).unwrap();
        // Every document of the source, pulled into the device as one page.
        let pull = |device: &Store, source: &Store| -> Vec<crate::Result<MergeOutcome>> {
            let page: Vec<(String, Vec<u8>)> = ids
                .iter()
                .map(|id| (id.clone(), source.document_bytes(id).unwrap()))
                .collect();
            device
                .merge_pulled_page(page.iter().map(|(id, b)| (id.as_str(), b.as_slice())))
                .unwrap()
        };
        let merged = pull(&device, &source);
        assert!(merged.iter().all(|m| m.as_ref().unwrap().created));
        // New documents stay unloaded.
        assert!(device.cache.borrow().ids().is_empty());

        for id in &ids {
            source
                .update_customer(id, &[CustomerEdit::AppendNotes("回访：价格已谈妥".into())])
                .unwrap();
        }
        let merged = pull(&device, &source);
        assert!(merged.iter().all(|m| m.as_ref().unwrap().changed));
        let mut cached = device.cache.borrow().ids();
        cached.sort();
        let mut last = ids[32..].to_vec();
        last.sort();
        assert_eq!(cached, last);
        // How many increments, and the snapshot's length.
        let stored = |id: &str| -> (i64, i64) {
            let (snapshot, _, increments) = sizes(&device, id);
            (increments, snapshot)
        };
        // Small documents are stored whole again, whether they stayed loaded or not.
        assert_eq!(stored(&ids[0]).0, 0);
        assert_eq!(stored(&ids[39]).0, 0);

        // A long note makes two of them large: stored whole once more (they were small), then
        // given an increment for the next change.
        let long = "价格、交期与付款方式均已确认，下月初下首批订单。".repeat(1_000);
        for id in [&ids[0], &ids[39]] {
            source
                .update_customer(id, &[CustomerEdit::AppendNotes(long.clone())])
                .unwrap();
        }
        pull(&device, &source);
        for id in [&ids[0], &ids[39]] {
            let (increments, snapshot) = stored(id);
            assert_eq!(increments, 0);
            assert!(snapshot >= super::super::documents::WHOLE_BELOW);
            source
                .update_customer(id, &[CustomerEdit::Tier(Tier::A)])
                .unwrap();
        }
        pull(&device, &source);
        assert_eq!(stored(&ids[0]).0, 1);
        assert_eq!(stored(&ids[39]).0, 1);

        // Loaded or not, every document is as the source has it.
        for id in &ids {
            assert_eq!(device.customer(id).unwrap(), source.customer(id).unwrap());
            assert_eq!(device.heads(id).unwrap(), source.heads(id).unwrap());
        }
    }
}
