//! Checks on Automerge data received from elsewhere, before any of it is used.
//!
//! Automerge's incremental load keeps the chunks of a byte string that parse and skips the rest.
//! Whoever merges data from the network (the store, the server) must take all of it or refuse
//! it, so the data is checked whole first, chunk by chunk.

use automerge::{AutoCommit, Automerge, Change, LoadOptions, OnPartialLoad, VerificationMode};

use crate::error::{Error, Result};

fn corrupt(e: impl std::fmt::Display) -> Error {
    Error::Corrupt(e.to_string())
}

/// The first bytes of every Automerge chunk.
const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];

/// Checks that `bytes` is a sequence of whole, well-formed Automerge chunks (documents or
/// changes), each with a valid checksum.
///
/// Automerge's incremental load keeps the chunks that parse and skips the rest; a merge must
/// either take all of the data or refuse it, so the data is checked whole first.
pub fn check_whole(bytes: &[u8]) -> Result<()> {
    for (kind, chunk) in chunks(bytes)? {
        match kind {
            0 => {
                let options = LoadOptions::new()
                    .on_partial_load(OnPartialLoad::Error)
                    .verification_mode(VerificationMode::Check);
                Automerge::load_with_options(chunk, options).map_err(corrupt)?;
            }
            _ => {
                Change::from_bytes(chunk.to_vec()).map_err(corrupt)?;
            }
        }
    }
    Ok(())
}

/// The changes held in `bytes` (changes, or whole documents, each giving all of its changes),
/// in order, each checked as [`check_whole`] does.
pub fn split_changes(bytes: &[u8]) -> Result<Vec<Change>> {
    let mut out = Vec::new();
    for (kind, chunk) in chunks(bytes)? {
        match kind {
            0 => {
                let options = LoadOptions::new()
                    .on_partial_load(OnPartialLoad::Error)
                    .verification_mode(VerificationMode::Check);
                let doc = Automerge::load_with_options(chunk, options).map_err(corrupt)?;
                out.extend(doc.get_changes(&[]));
            }
            _ => out.push(change_of(chunk)?),
        }
    }
    Ok(out)
}

/// The change of one change chunk, whose header checksum must be the first bytes of the
/// change's hash. Automerge parses a compressed change without that check, and deflate has no
/// integrity check of its own: a byte damaged inside the compressed body can inflate into
/// another well-formed change.
fn change_of(chunk: &[u8]) -> Result<Change> {
    let change = Change::from_bytes(chunk.to_vec()).map_err(corrupt)?;
    if chunk.get(4..8) != Some(&change.hash().0[..4]) {
        return Err(corrupt(
            "a change does not match its checksum: it was damaged on the way",
        ));
    }
    Ok(change)
}

/// Whether `bytes` are one whole document chunk (what `save` makes) and nothing else.
pub fn is_one_document(bytes: &[u8]) -> bool {
    matches!(chunks(bytes).as_deref(), Ok([(0, _)]))
}

/// The changes held in `bytes` if it holds changes only, each checked as [`check_whole`]
/// does; `None` if it holds a whole document.
pub fn changes_only(bytes: &[u8]) -> Result<Option<Vec<Change>>> {
    let chunks = chunks(bytes)?;
    if chunks.iter().any(|(kind, _)| *kind == 0) {
        return Ok(None);
    }
    chunks
        .into_iter()
        .map(|(_, chunk)| change_of(chunk))
        .collect::<Result<Vec<_>>>()
        .map(Some)
}

/// Splits `bytes` into whole chunks: (chunk type, the chunk's bytes). Type 0 is a document,
/// 1 and 2 a change; any other type, a damaged header or a truncated chunk is refused.
fn chunks(bytes: &[u8]) -> Result<Vec<(u8, &[u8])>> {
    if bytes.is_empty() {
        return Err(corrupt("the data is empty"));
    }
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        // magic (4) | checksum (4) | chunk type (1) | length (LEB128) | body
        if rest.len() < 10 || rest[..4] != MAGIC {
            return Err(corrupt("the data is not an Automerge document or change"));
        }
        let (len, len_bytes) =
            read_uleb(&rest[9..]).ok_or_else(|| corrupt("a chunk header is damaged"))?;
        let end = usize::try_from(len)
            .ok()
            .and_then(|l| l.checked_add(9 + len_bytes))
            .filter(|&end| end <= rest.len())
            .ok_or_else(|| corrupt("the data is truncated"))?;
        match rest[8] {
            kind @ (0..=2) => out.push((kind, &rest[..end])),
            other => return Err(corrupt(format!("unknown chunk type {other}"))),
        }
        rest = &rest[end..];
    }
    Ok(out)
}

/// Merges `bytes` into `doc` all or nothing, checking every chunk as [`check_whole`] does while
/// parsing it once: a document chunk first into an empty `doc` is loaded from the chunk
/// (strictly: a damaged part refuses the whole); the rest is split into its changes, each
/// checked against its checksum, and applied. Errors and panics of Automerge are reported as
/// [`Error::Corrupt`] (see [`load_untrusted`]); after an error `doc` may be half-merged: the
/// caller throws it away.
pub fn merge_checked(doc: &mut AutoCommit, bytes: &[u8]) -> Result<()> {
    let mut chunks = chunks(bytes)?.into_iter().peekable();
    // A snapshot and the changes after it, as a server sends a document whole: the snapshot
    // loads as one, instead of being taken apart into its changes and applied again.
    if let Some(&(0, chunk)) = chunks.peek()
        && doc.get_heads().is_empty()
    {
        chunks.next();
        let loaded = untrusted(|| AutoCommit::load_with_options(chunk, strict()))?;
        let actor = doc.get_actor().clone();
        *doc = loaded.with_actor(actor);
    }
    let mut changes = Vec::new();
    for (kind, chunk) in chunks {
        match kind {
            0 => {
                let whole = Automerge::load_with_options(chunk, strict()).map_err(corrupt)?;
                changes.extend(whole.get_changes(&[]));
            }
            _ => changes.push(change_of(chunk)?),
        }
    }
    if changes.is_empty() {
        return Ok(());
    }
    apply_untrusted(doc, &changes)
}

/// How a document chunk from elsewhere is loaded: any damaged part refuses the whole.
fn strict() -> LoadOptions<'static> {
    LoadOptions::new()
        .on_partial_load(OnPartialLoad::Error)
        .verification_mode(VerificationMode::Check)
}

/// Merges `bytes`, which passed [`check_whole`], into `doc`, refusing as corrupt what
/// Automerge cannot apply.
///
/// Automerge 0.12 panics, instead of returning an error, on some changes that parse and carry a
/// valid checksum but whose actors it does not expect (found by the `change_validator` fuzz
/// target). Such a panic is caught here and reported as [`Error::Corrupt`]. After any error
/// `doc` may be half-merged: the caller throws it away.
pub fn load_untrusted(doc: &mut AutoCommit, bytes: &[u8]) -> Result<usize> {
    untrusted(|| load_increments(doc, bytes))
}

/// Applies `changes`, parsed by [`split_changes`], to `doc`, as [`load_untrusted`] merges
/// bytes: without parsing them again.
pub fn apply_untrusted(doc: &mut AutoCommit, changes: &[Change]) -> Result<()> {
    untrusted(|| {
        let applied = doc.apply_changes(changes.iter().cloned());
        forget_patches(doc);
        applied
    })
}

/// Merges `bytes` (changes, or a saved document) into `doc` as Automerge's `load_incremental`
/// does, keeping none of the patches Automerge records meanwhile. For bytes this program
/// stored itself; bytes from elsewhere go through [`load_untrusted`].
pub fn load_increments(
    doc: &mut AutoCommit,
    bytes: &[u8],
) -> std::result::Result<usize, automerge::AutomergeError> {
    let merged = doc.load_incremental(bytes);
    forget_patches(doc);
    merged
}

/// Drops the patches Automerge recorded while merging changes into `doc`. Automerge 0.12
/// records one for every operation a merge applies, whether or not the document asked for
/// patches, and keeps them with the document until it is dropped or asked for a diff. Nothing
/// here reads them, and a document kept in memory (the server's cache) kept them as long:
/// 84 KB for 300 edits (`tests/merge_memory.rs`), 30% of the server's live memory after a busy
/// Monday (BENCHMARKS.md, "Fourteenth round").
fn forget_patches(doc: &mut AutoCommit) {
    doc.reset_diff_cursor();
}

/// Runs one Automerge merge of data from elsewhere, its errors and panics reported as
/// [`Error::Corrupt`].
fn untrusted<T>(
    merge: impl FnOnce() -> std::result::Result<T, automerge::AutomergeError>,
) -> Result<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(merge)) {
        Ok(result) => result.map_err(corrupt),
        Err(_) => Err(corrupt(
            "the changes are inconsistent: Automerge could not apply them",
        )),
    }
}

/// Reads an unsigned LEB128 number: its value and how many bytes it took.
fn read_uleb(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut value: u64 = 0;
    for (i, b) in bytes.iter().take(10).enumerate() {
        value |= u64::from(b & 0x7f).checked_shl(7 * i as u32)?;
        if b & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use automerge::transaction::Transactable;
    use automerge::{AutoCommit, ROOT};

    use super::*;

    #[test]
    fn a_compressed_change_damaged_anywhere_is_refused_as_corrupt() {
        let mut doc = AutoCommit::new();
        doc.put(
            ROOT,
            "notes",
            "轴承样品已寄出，客户下周回复价格。".repeat(20),
        )
        .unwrap();
        doc.commit();
        let mut change = doc.get_changes(&[]).pop().unwrap().clone();
        let good = change.bytes().into_owned();
        assert_eq!(good[8], 2, "the change is stored compressed");
        assert_eq!(split_changes(&good).unwrap().len(), 1);
        for at in 4..good.len() {
            let mut bad = good.clone();
            bad[at] ^= 0x55;
            assert!(
                split_changes(&bad).is_err() && changes_only(&bad).is_err(),
                "byte {at} of {} flipped was taken",
                good.len()
            );
        }
    }

    /// A document of two changes: its save, and its second change alone.
    fn two_changes() -> (AutoCommit, Vec<u8>, Vec<u8>) {
        let mut doc = AutoCommit::new();
        doc.put(ROOT, "name", "苏州精密机械").unwrap();
        doc.commit();
        let first = doc.get_heads();
        doc.put(ROOT, "phone", "0512-6666").unwrap();
        doc.commit();
        let second = doc.save_after(&first);
        let saved = doc.save();
        (doc, saved, second)
    }

    #[test]
    fn merging_checked_takes_a_whole_document_or_its_changes_as_loading_would() {
        let (mut original, saved, second) = two_changes();
        // A whole document into an empty one: loaded, with the receiver's actor kept.
        let mut fresh = AutoCommit::new();
        let actor = fresh.get_actor().clone();
        merge_checked(&mut fresh, &saved).unwrap();
        assert_eq!(fresh.get_heads(), original.get_heads());
        assert_eq!(fresh.get_actor(), &actor);
        // Changes onto a document that has the first: the same heads.
        let mut behind = AutoCommit::load(&saved).unwrap();
        let first_only = behind.get_changes(&[])[0].clone();
        let mut partial = AutoCommit::new();
        let first_hash = first_only.hash();
        partial.apply_changes([first_only]).unwrap();
        merge_checked(&mut partial, &second).unwrap();
        assert_eq!(partial.get_heads(), original.get_heads());
        // A document and a change after it, in one piece.
        let mut both = saved.clone();
        both.extend_from_slice(&second);
        let mut fresh = AutoCommit::new();
        merge_checked(&mut fresh, &both).unwrap();
        assert_eq!(fresh.get_heads(), behind.get_heads());
        // A snapshot of the first change and the second after it, as a server sends a
        // document whole: the same document, with the receiver's actor kept.
        let mut snapshot = original.fork_at(&[first_hash]).unwrap().save();
        snapshot.extend_from_slice(&second);
        let mut fresh = AutoCommit::new();
        let actor = fresh.get_actor().clone();
        merge_checked(&mut fresh, &snapshot).unwrap();
        assert_eq!(fresh.get_heads(), original.get_heads());
        assert_eq!(fresh.get_actor(), &actor);
        assert_eq!(
            automerge::ReadDoc::get(&fresh, ROOT, "phone")
                .unwrap()
                .map(|(v, _)| v.to_string()),
            Some("\"0512-6666\"".to_string())
        );
    }

    #[test]
    fn merging_checked_refuses_damage_anywhere_and_a_truncated_piece() {
        let (_, saved, second) = two_changes();
        let mut both = saved.clone();
        both.extend_from_slice(&second);
        for at in 4..both.len() {
            let mut bad = both.clone();
            bad[at] ^= 0x55;
            let mut doc = AutoCommit::new();
            assert!(
                merge_checked(&mut doc, &bad).is_err(),
                "byte {at} of {} flipped was taken",
                bad.len()
            );
        }
        let mut doc = AutoCommit::new();
        assert!(merge_checked(&mut doc, &both[..both.len() - 1]).is_err());
        assert!(merge_checked(&mut doc, &[]).is_err());
    }
}
