//! The size budget of the blob folder: after a fetch, attachments are evicted least recently
//! used first until the bytes on the device fit the budget.
//!
//! It exists apart so the one rule that deletes bytes is written and tested once, as a plain
//! function over the rows (`choose_evictions`): attachments not yet uploaded (`pending`)
//! are never evicted, not even when they alone exceed the budget (they are the only copy
//! anywhere), and the attachment just fetched is kept whatever its size.

use super::folder::BlobFolder;
use crate::Store;
use crate::error::Result;

/// The budget when none was set: 500 MB.
pub const DEFAULT_CACHE_BUDGET: u64 = 500_000_000;

/// What the budget needs to know of one attachment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CacheEntry {
    /// The attachment.
    pub(crate) id: String,
    /// Not yet uploaded: never evicted.
    pub(crate) pending: bool,
    /// Bytes it takes in the folder (its bytes if present, its thumbnail if present).
    pub(crate) bytes: u64,
    /// When it was last used (strictly increasing; larger is more recent).
    pub(crate) last_used: i64,
}

/// The attachments to evict so that the bytes held fit `budget`: not pending, not `keep`,
/// least recently used first, as few as it takes. If pending ones and `keep` alone exceed the
/// budget, every other one is evicted and they stay.
pub(crate) fn choose_evictions(
    entries: &[CacheEntry],
    budget: u64,
    keep: Option<&str>,
) -> Vec<String> {
    let mut total: u64 = entries.iter().map(|e| e.bytes).sum();
    if total <= budget {
        return Vec::new();
    }
    let mut candidates: Vec<&CacheEntry> = entries
        .iter()
        .filter(|e| !e.pending && e.bytes > 0 && Some(e.id.as_str()) != keep)
        .collect();
    candidates.sort_by_key(|e| e.last_used);
    let mut evicted = Vec::new();
    for entry in candidates {
        if total <= budget {
            break;
        }
        total -= entry.bytes;
        evicted.push(entry.id.clone());
    }
    evicted
}

/// Evicts what [`choose_evictions`] says from `store` and `folder`, keeping `keep`; returns
/// the ids evicted. Each eviction removes the files inside the transaction that records it, and
/// only if the attachment is still not pending then (it may have been attached again meanwhile).
pub(crate) fn enforce(
    store: &Store,
    folder: &BlobFolder,
    keep: Option<&str>,
) -> Result<Vec<String>> {
    let budget = store.attachment_cache_budget()?;
    let chosen = choose_evictions(&store.attachment_cache_entries()?, budget, keep);
    let mut evicted = Vec::new();
    for id in chosen {
        if store.evict_attachment(&id, || folder.remove(&id))? {
            evicted.push(id);
        }
    }
    Ok(evicted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, pending: bool, bytes: u64, last_used: i64) -> CacheEntry {
        CacheEntry {
            id: id.into(),
            pending,
            bytes,
            last_used,
        }
    }

    #[test]
    fn the_least_recently_used_go_first_and_only_as_many_as_it_takes() {
        let entries = [
            entry("recent", false, 40, 30),
            entry("oldest", false, 40, 10),
            entry("older", false, 40, 20),
        ];
        assert_eq!(choose_evictions(&entries, 120, None), Vec::<String>::new());
        assert_eq!(choose_evictions(&entries, 100, None), ["oldest"]);
        assert_eq!(choose_evictions(&entries, 40, None), ["oldest", "older"]);
        assert_eq!(
            choose_evictions(&entries, 0, None),
            ["oldest", "older", "recent"]
        );
    }

    #[test]
    fn pending_attachments_are_never_evicted_even_past_the_budget() {
        let entries = [
            entry("mine, not uploaded", true, 300, 1),
            entry("fetched", false, 50, 2),
            entry("just fetched", false, 50, 3),
        ];
        // Pending alone exceed the budget: every other one goes except the one kept, and the
        // pending one stays.
        assert_eq!(
            choose_evictions(&entries, 100, Some("just fetched")),
            ["fetched"]
        );
        assert_eq!(
            choose_evictions(&entries, 100, None),
            ["fetched", "just fetched"]
        );
    }
}
