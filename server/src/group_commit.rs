//! Writing accepted pushes: many sync rounds share one storage transaction, and a push's CPU
//! work runs beside other pushes, serialised only per document.
//!
//! With one transaction (one WAL fsync) per pushed document under a global lock, a server
//! could accept no more documents a second than its disk can fsync. Here:
//! - [`Claims`] lets one push at a time work on a document (and on a visit's customer, whose
//!   scope the visit's rights depend on). Pushes of different documents merge, validate and
//!   save in parallel on every core. When several server nodes share one database, a claim is
//!   also taken across nodes ([`crate::storage::NodeLink`]): one push at a time works on a
//!   document, whichever node it reached.
//! - [`GroupCommit`] collects the commits of every push waiting to be written. The first to
//!   arrive while no write is in progress writes everything collected so far in one
//!   transaction; the others wait for its outcome. A push answers only once its transaction is
//!   durable, and its claims are released only then, so no push ever builds on a write that
//!   could still fail.

use std::collections::HashSet;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;

use crate::error::AppError;
use crate::storage::{DocCommit, Storage};

fn poisoned(what: &str) -> AppError {
    AppError::Internal(format!("{what} lock poisoned"))
}

/// Documents some push is working on.
#[derive(Default)]
pub struct Claims {
    held: Mutex<HashSet<String>>,
    freed: Condvar,
    /// The storage whose other nodes must not work on a claimed document either.
    nodes: Option<Arc<dyn Storage>>,
}

/// A document claimed until this is dropped.
#[must_use = "the claim ends when this is dropped"]
pub struct Claim<'a> {
    claims: &'a Claims,
    key: String,
    /// Whether other nodes were told of it too.
    across_nodes: bool,
}

/// How long a push waits for a document another node works on before the round gets 503 (a
/// node that froze holding its claim; PostgreSQL ends its session soon after).
const LONGEST_CLAIM_WAIT: Duration = Duration::from_secs(60);

/// The longest pause between two tries of a claim another node holds.
const MOST_BETWEEN_TRIES: Duration = Duration::from_millis(20);

impl Claims {
    /// Claims that also hold across the server nodes sharing `storage`, if it is shared.
    pub fn across_nodes_of(storage: &Arc<dyn Storage>) -> Claims {
        Claims {
            nodes: storage.nodes().is_some().then(|| storage.clone()),
            ..Claims::default()
        }
    }

    /// Waits until no one else works on `key`, then claims it.
    pub fn claim(&self, key: &str) -> Result<Claim<'_>, AppError> {
        let mut held = self.held.lock().map_err(|_| poisoned("claims"))?;
        while held.contains(key) {
            held = self.freed.wait(held).map_err(|_| poisoned("claims"))?;
        }
        held.insert(key.to_string());
        drop(held);
        let mut claim = Claim {
            claims: self,
            key: key.to_string(),
            across_nodes: false,
        };
        if let Some(link) = self.nodes.as_deref().and_then(|s| s.nodes()) {
            let started = std::time::Instant::now();
            let mut pause = Duration::from_millis(1);
            while !link.try_claim(key)? {
                if started.elapsed() > LONGEST_CLAIM_WAIT {
                    return Err(AppError::Unavailable(
                        "another server node has been working on this document for a minute",
                    ));
                }
                std::thread::sleep(pause);
                pause = (pause * 2).min(MOST_BETWEEN_TRIES);
            }
            claim.across_nodes = true;
        }
        Ok(claim)
    }

    /// Claims `key` if no one else works on it.
    pub fn try_claim(&self, key: &str) -> Result<Option<Claim<'_>>, AppError> {
        let mut held = self.held.lock().map_err(|_| poisoned("claims"))?;
        if !held.insert(key.to_string()) {
            return Ok(None);
        }
        drop(held);
        let mut claim = Claim {
            claims: self,
            key: key.to_string(),
            across_nodes: false,
        };
        if let Some(link) = self.nodes.as_deref().and_then(|s| s.nodes()) {
            if !link.try_claim(key)? {
                return Ok(None);
            }
            claim.across_nodes = true;
        }
        Ok(Some(claim))
    }

    /// Claims those of `keys` no one else works on, together (across nodes in one call): the
    /// claims taken.
    pub fn try_claim_all(&self, keys: &[&str]) -> Result<Vec<Claim<'_>>, AppError> {
        let mut held = self.held.lock().map_err(|_| poisoned("claims"))?;
        let mut claims: Vec<Claim<'_>> = keys
            .iter()
            .filter(|k| held.insert(k.to_string()))
            .map(|k| Claim {
                claims: self,
                key: k.to_string(),
                across_nodes: false,
            })
            .collect();
        drop(held);
        if let Some(link) = self.nodes.as_deref().and_then(|s| s.nodes()) {
            let keys: Vec<&str> = claims.iter().map(|c| c.key.as_str()).collect();
            let taken = link.try_claim_all(&keys)?;
            for (claim, taken) in claims.iter_mut().zip(taken) {
                claim.across_nodes = taken;
            }
            // Those another node holds are let go here (this node's hold only).
            claims.retain(|c| c.across_nodes);
        }
        Ok(claims)
    }

    /// Ends `claims` together: across nodes in one call, rather than one call each.
    pub fn end(&self, mut claims: Vec<Claim<'_>>) {
        let across: Vec<&str> = claims
            .iter()
            .filter(|c| c.across_nodes)
            .map(|c| c.key.as_str())
            .collect();
        if let Some(link) = self.nodes.as_deref().and_then(|s| s.nodes())
            && !across.is_empty()
        {
            link.release(&across);
        }
        for c in &mut claims {
            c.across_nodes = false;
        }
    }

    /// How many documents are claimed now.
    pub fn len(&self) -> usize {
        self.held.lock().map_or(0, |h| h.len())
    }

    /// Whether no document is claimed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Claim<'_> {
    /// The claimed key.
    pub fn key(&self) -> &str {
        &self.key
    }
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        if self.across_nodes
            && let Some(link) = self.claims.nodes.as_deref().and_then(|s| s.nodes())
        {
            link.release(&[&self.key]);
        }
        // A poisoned set is still a set: the key must go, or its document is stuck forever.
        let mut held = self
            .claims
            .held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        held.remove(&self.key);
        drop(held);
        self.claims.freed.notify_all();
    }
}

/// One transaction's worth of commits, and its outcome once written.
#[derive(Default)]
struct Batch {
    /// The last log sequence number of each commit, or why the transaction failed.
    outcome: OnceLock<Result<Vec<u64>, AppError>>,
}

struct State {
    /// Commits waiting for the next transaction.
    pending: Vec<DocCommit>,
    /// The batch they will be written in.
    batch: Arc<Batch>,
    /// Whether a transaction is being written now.
    writing: bool,
}

/// Collects the commits of concurrent pushes and writes them in shared transactions.
pub struct GroupCommit {
    state: Mutex<State>,
    turn: Condvar,
    transactions: Counter,
    commits: Counter,
}

/// Ends a write even if the storage call panicked: waiters get an error instead of waiting
/// forever.
struct Writing<'a> {
    group: &'a GroupCommit,
    batch: Arc<Batch>,
}

impl Drop for Writing<'_> {
    fn drop(&mut self) {
        let _ = self.batch.outcome.set(Err(AppError::Internal(
            "the storage write was interrupted".into(),
        )));
        let mut state = self
            .group
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        state.writing = false;
        drop(state);
        self.group.turn.notify_all();
    }
}

impl GroupCommit {
    /// A group commit counting the transactions it writes and the commits they hold.
    pub fn new(transactions: Counter, commits: Counter) -> GroupCommit {
        GroupCommit {
            state: Mutex::new(State {
                pending: Vec::new(),
                batch: Arc::default(),
                writing: false,
            }),
            turn: Condvar::new(),
            transactions,
            commits,
        }
    }

    /// How many commits wait for the next transaction.
    pub fn waiting(&self) -> usize {
        self.state.lock().map_or(0, |s| s.pending.len())
    }

    /// Whether a transaction is being written now.
    pub fn is_writing(&self) -> bool {
        self.state.lock().is_ok_and(|s| s.writing)
    }

    /// Writes `commits` durably, in order, in a transaction shared with whatever else is
    /// waiting; returns the last log sequence number of each once the transaction is committed.
    pub fn write_all(
        &self,
        storage: &dyn Storage,
        commits: Vec<DocCommit>,
    ) -> Result<Vec<u64>, AppError> {
        let mut state = self.lock()?;
        let first = state.pending.len();
        let n = commits.len();
        state.pending.extend(commits);
        let batch = state.batch.clone();
        loop {
            if let Some(outcome) = batch.outcome.get() {
                return match outcome {
                    Ok(seqs) => seqs
                        .get(first..first + n)
                        .map(<[u64]>::to_vec)
                        .ok_or_else(|| {
                            AppError::Internal("the storage write lost a commit".into())
                        }),
                    Err(e) => Err(e.clone()),
                };
            }
            if !state.writing && Arc::ptr_eq(&state.batch, &batch) {
                let commits = std::mem::take(&mut state.pending);
                state.batch = Arc::default();
                state.writing = true;
                drop(state);
                let writing = Writing {
                    group: self,
                    batch: batch.clone(),
                };
                let outcome = storage.commit_batch(&commits).map_err(AppError::from);
                if outcome.is_ok() {
                    self.transactions.inc();
                    self.commits.inc_by(commits.len() as u64);
                }
                let _ = batch.outcome.set(outcome);
                drop(writing);
                state = self.lock()?;
                continue;
            }
            state = self
                .turn
                .wait(state)
                .map_err(|_| poisoned("group commit"))?;
        }
    }

    fn lock(&self) -> Result<MutexGuard<'_, State>, AppError> {
        self.state.lock().map_err(|_| poisoned("group commit"))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::time::Duration;

    use super::*;
    use crate::storage::sqlite::SqliteStorage;
    use crate::storage::{DocScope, Documents, LoggedChange};

    fn commit_of(id: &str, n: usize) -> DocCommit {
        DocCommit {
            scope: DocScope {
                owner: Some("rep01".into()),
                territory: Some("north".into()),
                ..DocScope::of(fieldsync_core::model::DocKind::Customer, id)
            },
            heads: format!("{n:064x}"),
            changes: vec![LoggedChange {
                hash: format!("{n:064x}"),
                bytes: vec![n as u8; 8],
                device_time: 0,
            }],
            writer: "rep01".into(),
            session: None,
            snapshot: None,
            first_save: None,
            scope_events: Vec::new(),
            cost: Default::default(),
            base_heads: None,
            base_customer: None,
            attachments: None,
            view: None,
            governed_by: (Some("rep01".into()), Some("north".into())),
        }
    }

    #[test]
    fn a_claimed_document_waits_for_its_claim_to_end_and_others_do_not() {
        let claims = Claims::default();
        let first = claims.claim("doc-a").expect("claim");
        let (tx, rx) = mpsc::channel();
        std::thread::scope(|s| {
            s.spawn(|| {
                let _other = claims.claim("doc-b").expect("claim");
                tx.send("b").expect("send");
                let _same = claims.claim("doc-a").expect("claim");
                tx.send("a").expect("send");
            });
            assert_eq!(rx.recv_timeout(Duration::from_secs(5)), Ok("b"));
            assert!(
                rx.recv_timeout(Duration::from_millis(200)).is_err(),
                "a second claim of doc-a went through while the first was held"
            );
            drop(first);
            assert_eq!(rx.recv_timeout(Duration::from_secs(5)), Ok("a"));
        });
        assert!(claims.is_empty());
    }

    #[test]
    fn commits_waiting_behind_a_write_share_the_next_transaction() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("fieldsync.db");
        let storage = SqliteStorage::open_file(&path).expect("open");
        let (transactions, commits) = (Counter::default(), Counter::default());
        let group = GroupCommit::new(transactions.clone(), commits.clone());

        // Another connection holds SQLite's write lock, so the first write blocks in storage
        // while the other fifteen queue up behind it.
        let blocker = rusqlite::Connection::open(&path).expect("second connection");
        blocker.execute_batch("BEGIN IMMEDIATE").expect("lock");
        let seqs = std::thread::scope(|s| {
            let first = s.spawn(|| group.write_all(&storage, vec![commit_of("c-0", 0)]));
            while !group.is_writing() {
                std::thread::sleep(Duration::from_millis(5));
            }
            let rest: Vec<_> = (1..16)
                .map(|n| {
                    let (group, storage) = (&group, &storage);
                    s.spawn(move || group.write_all(storage, vec![commit_of(&format!("c-{n}"), n)]))
                })
                .collect();
            while group.waiting() < 15 {
                std::thread::sleep(Duration::from_millis(5));
            }
            blocker.execute_batch("COMMIT").expect("unlock");
            let mut seqs = first.join().expect("join").expect("write");
            for r in rest {
                seqs.extend(r.join().expect("join").expect("write"));
            }
            seqs
        });

        assert_eq!(transactions.get(), 2, "one write, then one for the fifteen");
        assert_eq!(commits.get(), 16);
        let mut distinct = seqs.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(
            distinct.len(),
            16,
            "each commit has its own log position: {seqs:?}"
        );
        for n in 0..16 {
            let doc = storage
                .load_doc(&format!("c-{n}"))
                .expect("load")
                .expect("stored");
            assert_eq!(doc.changes, vec![vec![n as u8; 8]]);
        }
    }
}
