//! The floor: the same Automerge work as a sync, in-process with plain `automerge`, no network,
//! no storage, no protocol. What fieldsync takes beyond it is the price of protocol, SQLite
//! and HTTP.

use std::time::{Duration, Instant};

use automerge::{AutoCommit, Change};

use crate::Result;

/// Time to load every saved document (a new device's work, scenario 1).
pub fn load_all(docs: &[Vec<u8>]) -> Result<Duration> {
    let started = Instant::now();
    for bytes in docs {
        let doc = AutoCommit::load(bytes)?;
        std::hint::black_box(&doc);
    }
    Ok(started.elapsed())
}

/// One document's side of scenario 2: what the receiver held (empty for a document new to
/// it) and the changes it is sent.
pub struct Delivery {
    /// The receiver's saved document, or empty.
    pub base: Vec<u8>,
    /// The changes, as saved change bytes.
    pub changes: Vec<Vec<u8>>,
}

/// Time to parse and apply every delivery's changes to its already-loaded document (the
/// loading is not timed: the strictest floor).
pub fn apply_all(deliveries: &[Delivery]) -> Result<Duration> {
    let mut docs = deliveries
        .iter()
        .map(|d| {
            if d.base.is_empty() {
                Ok(AutoCommit::new())
            } else {
                AutoCommit::load(&d.base)
            }
        })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let started = Instant::now();
    for (doc, d) in docs.iter_mut().zip(deliveries) {
        let changes = d
            .changes
            .iter()
            .map(|c| Change::from_bytes(c.clone()))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        doc.apply_changes(changes)?;
    }
    let took = started.elapsed();
    std::hint::black_box(&docs);
    Ok(took)
}
