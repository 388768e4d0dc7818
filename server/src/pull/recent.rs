//! The bytes of documents recently sent whole, kept in memory for the next device that asks.
//!
//! A rep's new visit, pushed from one device, is pulled whole by each of the rep's other
//! devices and by the manager's, usually within seconds. Each of those pulls read the same
//! bytes from storage again (a row lookup and a copy out of SQLite's pages, or a statement
//! and a round trip to PostgreSQL). Here the bytes read for one pull serve the next.
//!
//! An entry is a document's bytes as a whole document at its last logged change: the key is
//! the document's id and the sequence number of that change, read in the same snapshot as
//! the bytes. Log sequence numbers are never given twice in a database's history, and a
//! document only changes by logging a change, so a document whose last change is the one
//! cached is the document cached: a pull asking for it at that sequence gets what storage
//! would give (perhaps as other bytes, a snapshot instead of its changes, after a compaction;
//! the same document). The cache decides nothing about what a pull sends: the caller's scope,
//! the cursor and the page's limits choose the documents first, as without it.
//!
//! Only pulls after a first sync use it (see [`crate::pull::page`]): a new device's pages hold
//! thousands of documents, most of them old, that would push the recent ones out.

use std::sync::Mutex;

use prometheus_client::metrics::counter::Counter;

/// What the cache holds at most, in bytes of documents. A new visit is about a kilobyte
/// (a busy Monday pushes two or three megabytes a second): seconds of the team's new
/// documents, long enough for the other devices of a rep to pull them.
pub const RECENT_BYTES: usize = 8 << 20;

/// A document larger than this is not kept: one would push out hundreds of new visits.
const LARGEST_KEPT: usize = 64 << 10;

/// Documents recently read whole for a pull, by id, each at its last logged change; at most
/// a number of bytes, the least recently used dropped first.
pub struct RecentDocuments {
    held: Mutex<Held>,
    most: usize,
    served: Counter,
}

struct Held {
    docs: lru::LruCache<String, Entry>,
    bytes: usize,
}

struct Entry {
    last_seq: u64,
    data: Vec<u8>,
}

impl RecentDocuments {
    /// A cache of at most `bytes` (0 keeps nothing), counting the documents pulls send from
    /// it in `served` ([`RecentDocuments::served`]).
    pub fn new(bytes: usize, served: Counter) -> Self {
        RecentDocuments {
            held: Mutex::new(Held {
                docs: lru::LruCache::unbounded(),
                bytes: 0,
            }),
            most: bytes,
            served,
        }
    }

    /// For each of `wanted` (a document's id and the sequence of its last logged change, or
    /// `None` for one not to look for), its bytes if the cache holds it at that change.
    pub fn get<'a>(
        &self,
        wanted: impl IntoIterator<Item = Option<(&'a str, u64)>>,
    ) -> Vec<Option<Vec<u8>>> {
        let mut held = (self.most > 0).then(|| self.lock());
        wanted
            .into_iter()
            .map(|key| {
                let (id, last_seq) = key?;
                held.as_mut()?
                    .docs
                    .get(id)
                    .filter(|e| e.last_seq == last_seq)
                    .map(|e| e.data.clone())
            })
            .collect()
    }

    /// Counts `n` documents a pull sent from the cache.
    pub fn served(&self, n: usize) {
        self.served.inc_by(n as u64);
    }

    /// Keeps documents read whole at their last logged change: `(id, last_seq, bytes)`. An
    /// entry already held at a later change stays.
    pub fn put<'a>(&self, read: impl IntoIterator<Item = (&'a str, u64, &'a [u8])>) {
        if self.most == 0 {
            return;
        }
        let mut held = self.lock();
        for (id, last_seq, data) in read {
            if data.len() > LARGEST_KEPT.min(self.most) {
                continue;
            }
            if let Some(e) = held.docs.peek(id)
                && e.last_seq >= last_seq
            {
                continue;
            }
            let entry = Entry {
                last_seq,
                data: data.to_vec(),
            };
            held.bytes += entry.data.len();
            if let Some(old) = held.docs.put(id.to_string(), entry) {
                held.bytes -= old.data.len();
            }
            while held.bytes > self.most {
                match held.docs.pop_lru() {
                    Some((_, old)) => held.bytes -= old.data.len(),
                    None => break,
                }
            }
        }
    }

    /// The bytes held.
    pub fn bytes(&self) -> usize {
        self.lock().bytes
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Held> {
        // The entries are whole after any panic (each is replaced in one step), so a lock a
        // panicking thread held is still good to use.
        self.held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(n: usize, fill: u8) -> Vec<u8> {
        vec![fill; n]
    }

    #[test]
    fn a_document_is_served_only_at_the_change_it_was_read_at() {
        let served = Counter::default();
        let recent = RecentDocuments::new(1 << 20, served.clone());
        recent.put([("a", 5, &b"a at 5"[..]), ("b", 7, &b"b at 7"[..])]);
        let found = recent.get([("a", 5), ("b", 8), ("c", 1)].map(Some));
        assert_eq!(found, vec![Some(b"a at 5".to_vec()), None, None]);
        recent.served(1);
        assert_eq!(served.get(), 1);
        // A later change replaces it; an earlier read does not bring the old bytes back.
        recent.put([("a", 9, &b"a at 9"[..])]);
        recent.put([("a", 5, &b"a at 5"[..])]);
        assert_eq!(recent.get([("a", 5)].map(Some)), vec![None]);
        assert_eq!(
            recent.get([("a", 9)].map(Some)),
            vec![Some(b"a at 9".to_vec())]
        );
        assert_eq!(recent.bytes(), b"a at 9".len() + b"b at 7".len());
    }

    #[test]
    fn the_least_recently_used_go_first_once_past_the_bound() {
        let recent = RecentDocuments::new(3_000, Counter::default());
        let (a, b, c) = (bytes(1_000, 1), bytes(1_000, 2), bytes(1_000, 3));
        recent.put([("a", 1, &a[..]), ("b", 1, &b[..]), ("c", 1, &c[..])]);
        // "a" is used, so "b" is now the least recently used.
        assert!(recent.get([("a", 1)].map(Some))[0].is_some());
        let d = bytes(1_000, 4);
        recent.put([("d", 1, &d[..])]);
        assert_eq!(recent.bytes(), 3_000);
        let found = recent.get([("a", 1), ("b", 1), ("c", 1), ("d", 1)].map(Some));
        let held: Vec<bool> = found.iter().map(Option::is_some).collect();
        assert_eq!(held, vec![true, false, true, true]);
    }

    #[test]
    fn large_documents_and_a_cache_of_nothing_keep_nothing() {
        let recent = RecentDocuments::new(1 << 20, Counter::default());
        let large = bytes(LARGEST_KEPT + 1, 0);
        recent.put([("large", 1, &large[..])]);
        assert_eq!(recent.get([("large", 1)].map(Some)), vec![None]);
        assert_eq!(recent.bytes(), 0);

        let none = RecentDocuments::new(0, Counter::default());
        none.put([("a", 1, &b"a"[..])]);
        assert_eq!(none.get([("a", 1)].map(Some)), vec![None]);
        assert_eq!(none.bytes(), 0);
    }
}
