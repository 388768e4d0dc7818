//! What changes cost to apply, read from their bytes before Automerge builds anything.
//!
//! Automerge applies a change operation by operation: a text of a million characters is a
//! million operations, which take seconds and hundreds of megabytes to apply, and they can
//! travel in a few kilobytes (a change is compressed, and a run of equal operations is one
//! entry of a run-length encoded column). Whoever applies changes from elsewhere (the server
//! above all) measures them first with [`measure_changes`], which reads only the chunk headers
//! and the change's action column, refusing a compressed change that inflates past
//! [`MAX_CHANGE_BYTES`] before inflating the rest. The limits here are shared: the device
//! splits its pushes by them and the server refuses what passes them.

use std::io::Read;

use crate::error::{Error, Result};

/// Operations one change may hold: replacing a whole 100,000-character note (its deletion and
/// the new text) with room to spare.
pub const MAX_CHANGE_OPS: u64 = 250_000;

/// Bytes of one change once inflated.
pub const MAX_CHANGE_BYTES: u64 = 4 << 20;

/// Operations one sync round may push, over all its documents. A document with more unsent
/// operations is pushed over several rounds, a causally complete part of its changes at a
/// time.
pub const MAX_PUSH_OPS: u64 = 300_000;

/// Bytes one sync round may push, over all its changes once inflated.
pub const MAX_PUSH_BYTES: u64 = 32 << 20;

/// Operations a document's whole history may hold (every character ever typed into its texts
/// counts, deleted or not): ten times its largest possible content.
pub const MAX_DOCUMENT_OPS: u64 = 1_000_000;

/// Bytes of a document's whole history, its changes inflated: a 100,000-character note
/// rewritten a hundred times.
pub const MAX_DOCUMENT_BYTES: u64 = 32 << 20;

/// What applying changes costs: their operations and their bytes once inflated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChangeCost {
    /// Operations.
    pub ops: u64,
    /// Bytes, inflated.
    pub bytes: u64,
}

impl ChangeCost {
    /// The cost of both.
    pub fn plus(self, other: ChangeCost) -> ChangeCost {
        ChangeCost {
            ops: self.ops.saturating_add(other.ops),
            bytes: self.bytes.saturating_add(other.bytes),
        }
    }

    /// The cost of all of `costs`.
    pub fn sum(costs: impl IntoIterator<Item = ChangeCost>) -> ChangeCost {
        costs
            .into_iter()
            .fold(ChangeCost::default(), ChangeCost::plus)
    }

    /// Whether a round carrying this much stays within [`MAX_PUSH_OPS`] and
    /// [`MAX_PUSH_BYTES`].
    pub fn fits_a_push(self) -> bool {
        self.ops <= MAX_PUSH_OPS && self.bytes <= MAX_PUSH_BYTES
    }

    /// Whether a document whose history costs this much stays within [`MAX_DOCUMENT_OPS`]
    /// and [`MAX_DOCUMENT_BYTES`].
    pub fn fits_a_document(self) -> bool {
        self.ops <= MAX_DOCUMENT_OPS && self.bytes <= MAX_DOCUMENT_BYTES
    }
}

/// The first bytes of every Automerge chunk.
const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];

/// The action column of a change's operations (column 4, unsigned integers): it holds one
/// entry per operation, and Automerge stops reading a change's operations where it ends.
const ACTION_COLUMN: u64 = (4 << 4) | 2;

fn too_large(what: impl std::fmt::Display) -> Error {
    Error::TooLarge(what.to_string())
}

fn corrupt(what: &str) -> Error {
    Error::Corrupt(what.to_string())
}

/// The cost of each change in `bytes` (a sequence of change chunks, as a push carries), in
/// order. Refuses whole documents (a push carries changes), a change past
/// [`MAX_CHANGE_BYTES`] or [`MAX_CHANGE_OPS`], and damaged headers. The cost is linear in the
/// compressed size and bounded by [`MAX_CHANGE_BYTES`] per change; checksums and operations are
/// left for Automerge to check once the sizes are known to be safe.
pub fn measure_changes(bytes: &[u8]) -> Result<Vec<ChangeCost>> {
    let mut costs = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let mut r = Reader(rest);
        if r.take(4)? != MAGIC {
            return Err(corrupt("the data is not a sequence of Automerge changes"));
        }
        r.take(4)?; // checksum
        let kind = r.take(1)?[0];
        let len = usize::try_from(r.uleb()?).map_err(|_| corrupt("a chunk is too long"))?;
        let body = r.take(len)?;
        let cost = match kind {
            1 => {
                if body.len() as u64 > MAX_CHANGE_BYTES {
                    return Err(change_too_large(body.len() as u64));
                }
                ChangeCost {
                    ops: ops_in_change(body)?,
                    bytes: body.len() as u64,
                }
            }
            2 => {
                let inflated = inflate(body)?;
                ChangeCost {
                    ops: ops_in_change(&inflated)?,
                    bytes: inflated.len() as u64,
                }
            }
            0 => {
                return Err(corrupt(
                    "a push carries changes, not whole documents: send the document's changes",
                ));
            }
            other => return Err(corrupt(&format!("unknown chunk type {other}"))),
        };
        if cost.ops > MAX_CHANGE_OPS {
            return Err(too_large(format!(
                "one change holds {} operations, more than the {MAX_CHANGE_OPS} a change may hold: make the edit in smaller steps",
                cost.ops
            )));
        }
        costs.push(cost);
        rest = r.0;
    }
    Ok(costs)
}

/// Whether the edit pending in `doc` stays within what the server takes: at most
/// [`MAX_CHANGE_OPS`] operations in the change it will make, and at most [`MAX_DOCUMENT_OPS`]
/// in the document with it. A device checks before it commits, so that what it accepts from
/// its user is never refused later for its size.
pub fn check_edit(doc: &automerge::AutoCommit) -> Result<()> {
    use automerge::ReadDoc;
    use automerge::transaction::Transactable;
    let pending = doc.pending_ops() as u64;
    if pending == 0 {
        return Ok(());
    }
    if pending > MAX_CHANGE_OPS {
        return Err(too_large(format!(
            "this edit is {pending} operations (each character typed or deleted is one), more than the {MAX_CHANGE_OPS} one edit may make: make it in smaller steps"
        )));
    }
    let total = doc.stats().num_ops;
    if total > MAX_DOCUMENT_OPS {
        return Err(too_large(format!(
            "this document's history would hold {total} operations, more than the {MAX_DOCUMENT_OPS} a document may: keep long texts shorter, or start a new document"
        )));
    }
    Ok(())
}

fn change_too_large(bytes: u64) -> Error {
    too_large(format!(
        "one change is {bytes} bytes or more, more than the {MAX_CHANGE_BYTES} a change may be: make the edit in smaller steps"
    ))
}

/// Inflates a compressed change's body, refusing it as soon as it passes
/// [`MAX_CHANGE_BYTES`].
fn inflate(body: &[u8]) -> Result<Vec<u8>> {
    // The body is read where it lies (no buffer of the reader's own), into room for what a
    // visit's change inflates to; a larger change grows it as it inflates.
    let mut out = Vec::with_capacity(body.len().saturating_mul(4).min(16 * 1024));
    flate2::bufread::DeflateDecoder::new(body)
        .take(MAX_CHANGE_BYTES + 1)
        .read_to_end(&mut out)
        .map_err(|_| corrupt("a compressed change does not inflate"))?;
    if out.len() as u64 > MAX_CHANGE_BYTES {
        return Err(change_too_large(out.len() as u64));
    }
    Ok(out)
}

/// How many operations a change body (after its chunk header) holds: the entries of its
/// action column.
fn ops_in_change(body: &[u8]) -> Result<u64> {
    let damaged = || corrupt("a change's header is damaged");
    let mut r = Reader(body);
    let deps = r.uleb()?;
    for _ in 0..deps {
        r.take(32)?;
    }
    r.bytes()?; // actor
    r.uleb()?; // seq
    r.uleb()?; // start op
    r.sleb()?; // time
    r.bytes()?; // message
    let others = r.uleb()?;
    for _ in 0..others {
        r.bytes()?;
    }
    let columns = r.uleb()?;
    let mut offset: u64 = 0;
    let mut action = None;
    for _ in 0..columns {
        let spec = r.uleb()?;
        let len = r.uleb()?;
        if spec == ACTION_COLUMN {
            action = Some((offset, len));
        }
        offset = offset.checked_add(len).ok_or_else(damaged)?;
    }
    let Some((start, len)) = action else {
        return Ok(0);
    };
    let data = r.0;
    let end = start.checked_add(len).ok_or_else(damaged)?;
    if end > data.len() as u64 {
        return Err(damaged());
    }
    count_rle(&data[start as usize..end as usize])
}

/// The entries of a run-length encoded column of unsigned integers: runs (a positive count and
/// one value), literals (a negative count and that many values) and nulls (zero and a count).
/// Stops counting, with the count so far, once it passes [`MAX_CHANGE_OPS`].
fn count_rle(column: &[u8]) -> Result<u64> {
    let mut r = Reader(column);
    let mut n: u64 = 0;
    while !r.0.is_empty() && n <= MAX_CHANGE_OPS {
        let count = r.sleb()?;
        if count > 0 {
            r.uleb()?;
            n = n.saturating_add(count as u64);
        } else if count < 0 {
            let literal = count.unsigned_abs();
            for _ in 0..literal.min(MAX_CHANGE_OPS + 1) {
                r.uleb()?;
            }
            n = n.saturating_add(literal);
        } else {
            n = n.saturating_add(r.uleb()?);
        }
    }
    Ok(n)
}

/// A cursor over bytes that refuses to read past their end.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if n > self.0.len() {
            return Err(corrupt("the data is truncated"));
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }

    fn uleb(&mut self) -> Result<u64> {
        let mut value: u64 = 0;
        for i in 0..10 {
            let b = self.take(1)?[0];
            value |= u64::from(b & 0x7f)
                .checked_shl(7 * i)
                .ok_or_else(|| corrupt("a number is too large"))?;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(corrupt("a number is too large"))
    }

    fn sleb(&mut self) -> Result<i64> {
        let mut value: i64 = 0;
        let mut shift = 0;
        loop {
            let b = self.take(1)?[0];
            if shift >= 64 {
                return Err(corrupt("a number is too large"));
            }
            value |= i64::from(b & 0x7f) << shift;
            shift += 7;
            if b & 0x80 == 0 {
                if shift < 64 && b & 0x40 != 0 {
                    value |= -1 << shift;
                }
                return Ok(value);
            }
        }
    }

    /// A length-prefixed byte string.
    fn bytes(&mut self) -> Result<&'a [u8]> {
        let len = usize::try_from(self.uleb()?).map_err(|_| corrupt("a length is too large"))?;
        self.take(len)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use automerge::transaction::Transactable;
    use automerge::{AutoCommit, ObjType, ROOT};

    use super::*;

    fn change_of(edit: impl FnOnce(&mut AutoCommit)) -> (Vec<u8>, usize) {
        let mut doc = AutoCommit::new();
        edit(&mut doc);
        doc.commit();
        let mut change = doc.get_last_local_change().expect("a change").clone();
        (change.bytes().into_owned(), change.len())
    }

    #[test]
    fn counts_the_operations_automerge_counts() {
        for n in [0usize, 1, 7, 1000, 40_000] {
            let (bytes, len) = change_of(|doc| {
                doc.put(ROOT, "name", "金华").unwrap();
                let notes = doc.put_object(ROOT, "notes", ObjType::Text).unwrap();
                let text: String = "客户要样品".chars().cycle().take(n).collect();
                doc.splice_text(&notes, 0, 0, &text).unwrap();
                if n > 10 {
                    doc.splice_text(&notes, 3, 5, "").unwrap();
                }
            });
            let costs = measure_changes(&bytes).unwrap();
            assert_eq!(costs.len(), 1);
            assert_eq!(costs[0].ops, len as u64, "{n}");
            assert!(costs[0].bytes as usize >= n * 3, "{n}: {costs:?}");
        }
    }

    #[test]
    fn counts_each_change_of_a_sequence() {
        let mut doc = AutoCommit::new();
        let mut all = Vec::new();
        let mut lens = Vec::new();
        for i in 0..3 {
            doc.put(ROOT, "n", i).unwrap();
            doc.commit();
            let mut c = doc.get_last_local_change().unwrap().clone();
            all.extend_from_slice(&c.bytes());
            lens.push(c.len() as u64);
        }
        let ops: Vec<u64> = measure_changes(&all)
            .unwrap()
            .iter()
            .map(|c| c.ops)
            .collect();
        assert_eq!(ops, lens);
    }

    #[test]
    fn a_change_of_inserts_and_deletes_past_the_limit_is_refused_unread() {
        let n = MAX_CHANGE_OPS as usize / 2 + 1;
        let (bytes, _) = change_of(|doc| {
            let notes = doc.put_object(ROOT, "notes", ObjType::Text).unwrap();
            doc.splice_text(&notes, 0, 0, &"a".repeat(n)).unwrap();
            doc.splice_text(&notes, 0, n as isize, "").unwrap();
        });
        // A few kilobytes carry it.
        assert!(bytes.len() < 64 << 10, "{}", bytes.len());
        let e = measure_changes(&bytes).unwrap_err();
        assert!(matches!(e, Error::TooLarge(_)), "{e}");
        assert!(e.to_string().contains("smaller steps"), "{e}");
    }

    #[test]
    fn a_compressed_change_that_inflates_past_the_limit_is_refused() {
        let (bytes, _) = change_of(|doc| {
            doc.put(ROOT, "big", "x".repeat(MAX_CHANGE_BYTES as usize + 10))
                .unwrap();
        });
        assert_eq!(bytes[8], 2, "automerge compresses a change this size");
        let e = measure_changes(&bytes).unwrap_err();
        assert!(matches!(e, Error::TooLarge(_)), "{e}");
    }

    #[test]
    fn whole_documents_and_damaged_bytes_are_refused() {
        let mut doc = AutoCommit::new();
        doc.put(ROOT, "n", 1).unwrap();
        let saved = doc.save();
        assert!(matches!(measure_changes(&saved), Err(Error::Corrupt(_))));
        let (bytes, _) = change_of(|doc| {
            doc.put(ROOT, "n", 1).unwrap();
        });
        for cut in [1, 5, 9, bytes.len() - 1] {
            assert!(
                matches!(measure_changes(&bytes[..cut]), Err(Error::Corrupt(_))),
                "{cut}"
            );
        }
        assert!(matches!(
            measure_changes(b"not automerge at all"),
            Err(Error::Corrupt(_))
        ));
    }

    #[test]
    fn an_edit_past_the_limit_of_a_change_is_refused_before_it_is_committed() {
        let mut doc = AutoCommit::new();
        let notes = doc.put_object(ROOT, "notes", ObjType::Text).unwrap();
        doc.splice_text(&notes, 0, 0, &"x".repeat(100_000)).unwrap();
        check_edit(&doc).unwrap();
        doc.commit();
        doc.splice_text(&notes, 0, 100_000, "").unwrap();
        doc.splice_text(&notes, 0, 0, &"y".repeat(160_000)).unwrap();
        let e = check_edit(&doc).unwrap_err();
        assert!(matches!(e, Error::TooLarge(_)), "{e}");
        assert!(e.to_string().contains("260000 operations"), "{e}");
    }

    #[test]
    fn a_forged_run_of_a_billion_operations_is_refused() {
        // A change whose action column is one run: 1,000,000,000 times action 0.
        let mut body = vec![0u8]; // no deps
        body.extend([1, 0xab]); // actor: one byte
        body.extend([1, 1, 0, 0, 0]); // seq 1, start op 1, time 0, no message, no other actors
        let mut column = Vec::new();
        let mut n: u64 = 1_000_000_000;
        loop {
            let b = (n & 0x7f) as u8;
            n >>= 7;
            // a positive signed LEB128 count: the last byte's sign bit must be clear
            if n == 0 && b & 0x40 == 0 {
                column.push(b);
                break;
            }
            column.push(b | 0x80);
        }
        column.push(0); // the value
        body.extend([1, ACTION_COLUMN as u8, column.len() as u8]);
        body.extend(&column);
        let mut chunk = MAGIC.to_vec();
        chunk.extend([0, 0, 0, 0, 1, body.len() as u8]);
        chunk.extend(&body);
        let e = measure_changes(&chunk).unwrap_err();
        assert!(matches!(e, Error::TooLarge(_)), "{e}");
        assert!(e.to_string().contains("1000000000 operations"), "{e}");
    }
}
