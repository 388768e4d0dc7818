//! A document merged with changes from elsewhere keeps no record of the merge. Automerge keeps
//! a patch for each operation it merges, asked for or not; the server keeps merged documents
//! in its cache and a device keeps the ones it works on, so whatever a merge leaves behind is
//! held as long as the document is.
//!
//! This test binary counts the bytes its allocations hold (its global allocator is
//! `stats_alloc`'s), so it holds one test: another running beside it would be counted too.
#![allow(clippy::unwrap_used)]

use std::alloc::System;

use automerge::transaction::Transactable;
use automerge::{ActorId, AutoCommit, ROOT, ReadDoc};
use fieldsync_core::chunks::{apply_untrusted, load_untrusted, split_changes};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static ALLOCATOR: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// The bytes `make` leaves held, with what it made.
fn weigh<T>(make: impl FnOnce() -> T) -> (T, isize) {
    let region = Region::new(ALLOCATOR);
    let made = make();
    let change = region.change();
    let held = change.bytes_allocated as isize - change.bytes_deallocated as isize
        + change.bytes_reallocated;
    (made, held)
}

/// A customer file with some history, and 300 edits of it made on another device.
fn stored_and_edits() -> (Vec<u8>, Vec<u8>) {
    let mut doc = AutoCommit::new().with_actor(ActorId::from(b"device-a".to_vec()));
    doc.put(ROOT, "name", "杭州西湖茶叶有限公司").unwrap();
    doc.put(ROOT, "city", "杭州").unwrap();
    doc.commit();
    let stored = doc.save();
    let mut other = AutoCommit::load(&stored)
        .unwrap()
        .with_actor(ActorId::from(b"device-b".to_vec()));
    for i in 0..300 {
        other.put(ROOT, "phone", format!("0571-8{i:06}")).unwrap();
        other.put(ROOT, format!("note {i}"), "下月报价").unwrap();
        other.commit();
    }
    let edits: Vec<u8> = other
        .get_changes(&doc.get_heads())
        .iter()
        .flat_map(|c| c.raw_bytes().to_vec())
        .collect();
    (stored, edits)
}

/// The bytes `doc` frees when asked to drop the patches Automerge keeps for a diff: what a
/// merge left it holding beyond the document itself.
fn patches_held(doc: &mut AutoCommit) -> isize {
    let (_, held) = weigh(|| doc.reset_diff_cursor());
    -held
}

#[test]
fn a_merged_document_keeps_no_record_of_the_merge() {
    let (stored, edits) = stored_and_edits();
    let changes = split_changes(&edits).unwrap();

    // Applied as parsed changes (the server's push), and merged as bytes (a device's pull).
    let (mut applied, applied_bytes) = weigh(|| {
        let mut doc = AutoCommit::load(&stored).unwrap();
        apply_untrusted(&mut doc, &changes).unwrap();
        doc
    });
    let (mut merged, _) = weigh(|| {
        let mut doc = AutoCommit::load(&stored).unwrap();
        load_untrusted(&mut doc, &edits).unwrap();
        doc
    });
    assert_eq!(applied.get_heads(), merged.get_heads());
    assert!(merged.get(ROOT, "note 299").unwrap().is_some());

    // Automerge itself keeps a patch for each of the 600 operations merged, tens of KB.
    let (mut kept, _) = weigh(|| {
        let mut doc = AutoCommit::load(&stored).unwrap();
        doc.apply_changes(changes.iter().cloned()).unwrap();
        doc
    });
    let by_automerge = patches_held(&mut kept);
    assert!(
        by_automerge > 600 * 32,
        "Automerge kept {by_automerge} bytes of patches: is the check still needed?"
    );
    for (how, doc) in [("applied", &mut applied), ("merged", &mut merged)] {
        let held = patches_held(doc);
        assert!(
            held < 1024,
            "the document {how} ({applied_bytes} bytes) held {held} bytes of patches"
        );
    }
}
