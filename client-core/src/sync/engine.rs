//! One sync round as plain functions over the store and the wire types, with no network:
//! [`build_request`] decides what to send, [`apply_response`] applies the server's answer.
//!
//! Guarantees:
//! - A document is acknowledged at the heads it had when its changes were pushed, never at the
//!   server's heads (which may hold changes the device has not pulled yet) nor at heads it
//!   reached later: an edit made while a round is in flight stays unsent.
//! - A rejected document's unacknowledged changes go to the quarantine and the document is
//!   reset ([`Store::quarantine_document`]); the device's other documents flow on.
//! - Pulled data that cannot be merged does not stop the round; it is reported, and the cursor
//!   is then left where it was so the data is fetched again.
//! - The cursor is stored last, after everything before it was applied.
//! - An answer from another history than the one the device synced with (the server was
//!   restored from a backup) is not applied: it judged a push built on what the server has
//!   forgotten. The device starts over instead ([`history_decision`], docs/PROTOCOL.md, "After
//!   a restore"): everything is pushed again, and the pull resumes at the fork.

use std::collections::{BTreeMap, HashSet};
use std::time::Instant;

use automerge::{Change, ChangeHash};
use serde::Serialize;
use serde_bytes::ByteBuf;

use super::{SyncError, SyncTimings};
use crate::Store;
use crate::cost::{self, ChangeCost};
use crate::error::{Error, Result};
use crate::model::DocKind;
use crate::protocol::{
    HistoryFork, PROTOCOL_VERSION, PushDocument, Rejected, SyncRequest, SyncResponse,
};
use crate::store::micros;

/// How many bytes of changes one request pushes at most (the server takes bodies up to
/// 16 MiB). The rest goes in the next rounds.
pub const MAX_PUSH_BYTES: usize = 8 << 20;

/// What a request pushed, remembered until its answer arrives.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PendingPush {
    cursor: u64,
    heads: BTreeMap<String, Vec<ChangeHash>>,
}

impl PendingPush {
    /// The cursor the request sent.
    pub fn cursor(&self) -> u64 {
        self.cursor
    }

    /// How many documents the request pushed.
    pub fn len(&self) -> usize {
        self.heads.len()
    }

    /// Whether the request pushed nothing.
    pub fn is_empty(&self) -> bool {
        self.heads.is_empty()
    }

    /// The heads document `id` had when its changes were pushed, if it was pushed.
    pub fn pushed_heads(&self, id: &str) -> Option<&[ChangeHash]> {
        self.heads.get(id).map(Vec::as_slice)
    }
}

/// A pulled document that could not be merged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PullFailure {
    /// The document.
    pub id: String,
    /// Why, for the user.
    pub error: String,
}

/// What one round did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RoundOutcome {
    /// Documents pushed.
    pub pushed: usize,
    /// Pushed documents the server accepted.
    pub accepted: usize,
    /// Pushed documents the server rejected, with its rule and reason; their changes are in
    /// the quarantine.
    pub rejected: Vec<Rejected>,
    /// Pulled documents merged.
    pub pulled: usize,
    /// Pulled documents that could not be merged.
    pub failed: Vec<PullFailure>,
    /// Revoked documents deleted from the store.
    pub revoked: usize,
    /// The pulled documents that brought something new, with their kinds (a duplicate of
    /// what the device had is not in it).
    pub changed: Vec<(String, DocKind)>,
    /// The revoked documents deleted from the store.
    pub removed: Vec<String>,
    /// Re-sent documents the restored server could not take yet (it refused changes written by
    /// another user, which only their device may push: they are taken once it has re-sent
    /// them); they stay as they are and are pushed again at the next sync.
    pub deferred: Vec<Rejected>,
    /// Whether this answer came from a server restored from a backup: the device started over
    /// (everything is pushed again) and runs another round.
    pub restarted: bool,
    /// Whether the server has more waiting.
    pub more: bool,
    /// The cursor the store holds after the round.
    pub cursor: u64,
    /// Request body bytes (filled in by [`super::round`]).
    pub bytes_sent: u64,
    /// Answer body bytes (filled in by [`super::round`]).
    pub bytes_received: u64,
    /// Where the round's time went (the request's and the exchange's filled in by
    /// [`super::round`]).
    pub timings: SyncTimings,
}

/// What one request may push: its changes' bytes on the wire, and their cost to apply (the
/// server refuses a round past [`cost::MAX_PUSH_OPS`] or [`cost::MAX_PUSH_BYTES`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PushBudget {
    /// Bytes of changes, as sent.
    pub wire_bytes: usize,
    /// Operations and inflated bytes of the changes.
    pub cost: ChangeCost,
}

impl Default for PushBudget {
    fn default() -> Self {
        PushBudget {
            wire_bytes: MAX_PUSH_BYTES,
            cost: ChangeCost {
                ops: cost::MAX_PUSH_OPS,
                bytes: cost::MAX_PUSH_BYTES,
            },
        }
    }
}

/// The next request: the store's cursor and the unsent changes of every document that has
/// some, customers first, within the default [`PushBudget`].
pub fn build_request(store: &Store) -> Result<(SyncRequest, PendingPush)> {
    build_request_limited(store, PushBudget::default())
}

/// [`build_request`] within another budget. Documents past the budget wait for the next
/// round. A document whose unsent changes do not fit goes in parts: a causally complete first
/// part of its changes now (acknowledged at that part's heads), the rest in the next rounds.
/// The first change of a request is always taken, however large.
pub fn build_request_limited(
    store: &Store,
    budget: PushBudget,
) -> Result<(SyncRequest, PendingPush)> {
    let cursor = store.sync_cursor()?;
    let mut unsent = Vec::new();
    for id in store.unsent_documents()? {
        // In each kind's push order: a visit after its customer, a claim after its plan.
        unsent.push((store.kind_of(&id)?.push_rank(), id));
    }
    unsent.sort();
    let mut pending = PendingPush {
        cursor,
        heads: BTreeMap::new(),
    };
    let mut push = Vec::new();
    let mut wire = 0usize;
    let mut spent = ChangeCost::default();
    'documents: for (_, id) in unsent {
        let (heads, changes) = store.unsent_change_list(&id)?;
        if changes.is_empty() {
            // Everything it has is known to the server already.
            store.set_acked_heads(&id, &heads)?;
            continue;
        }
        let total = changes.len();
        let mut taken = Vec::new();
        for mut change in changes {
            let bytes = change.bytes().into_owned();
            let cost = ChangeCost {
                ops: change.len() as u64,
                bytes: change.raw_bytes().len() as u64,
            };
            let after = spent.plus(cost);
            let fits = wire + bytes.len() <= budget.wire_bytes
                && after.ops <= budget.cost.ops
                && after.bytes <= budget.cost.bytes;
            let first = push.is_empty() && taken.is_empty();
            if !fits && !first {
                if taken.is_empty() {
                    // Stop rather than skip: the order (customers before their visits) matters.
                    break 'documents;
                }
                break;
            }
            wire += bytes.len();
            spent = after;
            taken.push((change, bytes));
        }
        let complete = taken.len() == total;
        let pushed_heads = if complete {
            heads
        } else {
            heads_of(taken.iter().map(|(c, _)| c))
        };
        pending.heads.insert(id.clone(), pushed_heads);
        push.push(PushDocument {
            id,
            changes: taken.into_iter().map(|(_, b)| ByteBuf::from(b)).collect(),
        });
        if !complete {
            break;
        }
    }
    let request = SyncRequest {
        protocol: PROTOCOL_VERSION,
        cursor,
        push,
    };
    Ok((request, pending))
}

/// The heads of a causally complete set of changes: those no other change of the set depends
/// on.
fn heads_of<'a>(changes: impl Iterator<Item = &'a Change> + Clone) -> Vec<ChangeHash> {
    let depended: HashSet<ChangeHash> = changes
        .clone()
        .flat_map(|c| c.deps().iter().copied())
        .collect();
    let mut heads: Vec<ChangeHash> = changes
        .map(Change::hash)
        .filter(|h| !depended.contains(h))
        .collect();
    heads.sort();
    heads
}

/// Applies the server's answer to the request `pending` describes: acknowledges accepted
/// documents at their pushed heads, quarantines rejected ones, merges pulled data, deletes
/// revoked documents and stores the new cursor, unless pulled data failed to merge. Each step
/// commits on its own.
pub fn apply_response(
    store: &Store,
    pending: &PendingPush,
    response: SyncResponse,
) -> Result<RoundOutcome, SyncError> {
    if response.protocol != PROTOCOL_VERSION {
        return Err(SyncError::Protocol(format!(
            "the answer is for protocol {}, this app speaks {PROTOCOL_VERSION}",
            response.protocol
        )));
    }
    let started = Instant::now();
    match history_decision(
        store.sync_history()?.as_deref(),
        pending.cursor,
        response.history.as_deref(),
        response.forked_from.as_ref(),
    ) {
        HistoryDecision::Same => {}
        HistoryDecision::First(history) => store.set_sync_history(&history)?,
        HistoryDecision::Restored { history, cursor } => {
            store.resend_after_restore(&history, cursor)?;
            return Ok(RoundOutcome {
                pushed: pending.len(),
                restarted: true,
                more: true,
                cursor,
                ..RoundOutcome::default()
            });
        }
    }
    let answered: HashSet<&str> = response
        .accepted
        .iter()
        .map(|a| a.id.as_str())
        .chain(response.rejected.iter().map(|r| r.id.as_str()))
        .collect();
    if let Some(missing) = pending
        .heads
        .keys()
        .find(|id| !answered.contains(id.as_str()))
    {
        return Err(SyncError::Protocol(format!(
            "the server neither accepted nor rejected pushed document {missing}"
        )));
    }

    let mut outcome = RoundOutcome {
        pushed: pending.len(),
        more: response.more,
        cursor: pending.cursor,
        ..RoundOutcome::default()
    };
    // Only what this request pushed; the server's heads may include changes not pulled yet.
    // A document deleted meanwhile (revoked by an earlier answer) has nothing to acknowledge.
    let acked = response.accepted.iter().filter_map(|accepted| {
        let heads = pending.pushed_heads(&accepted.id)?;
        Some((accepted.id.as_str(), heads))
    });
    outcome.accepted += store.set_acked_heads_of(acked)?;
    for rejected in response.rejected {
        if pending.pushed_heads(&rejected.id).is_none() {
            continue;
        }
        if store.is_resending(&rejected.id)? {
            if waits_for_others(&rejected.rule) {
                outcome.deferred.push(rejected);
                continue;
            }
            // Refused for its own sake: what was acknowledged before the restore stays, only
            // what never was is put aside.
            store.end_resend(&rejected.id)?;
        }
        match store.quarantine_document(&rejected.id, &rejected.rule, &rejected.reason) {
            Ok(_) | Err(Error::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
        outcome.rejected.push(rejected);
    }
    outcome.timings.acknowledge_us = micros(started);
    let steps_before = store.merge_steps();
    // One transaction for the page; the local database itself failing is not about one
    // document, so it stops the sync.
    let merged = store.merge_pulled_page(
        response
            .documents
            .iter()
            .map(|d| (d.id.as_str(), d.data.as_slice())),
    )?;
    outcome.timings.merge = store.merge_steps() - steps_before;
    let started = Instant::now();
    for (pulled, result) in response.documents.into_iter().zip(merged) {
        match result {
            Ok(merged) => {
                outcome.pulled += 1;
                if merged.changed {
                    outcome.changed.push((merged.id, merged.kind));
                }
            }
            Err(e) => outcome.failed.push(PullFailure {
                id: pulled.id,
                error: e.to_string(),
            }),
        }
    }
    for id in &response.revoked {
        match store.end_resend(id) {
            Ok(_) | Err(Error::MalformedId(_)) => {}
            Err(e) => return Err(e.into()),
        }
        match store.revoke_document(id) {
            Ok(true) => {
                outcome.revoked += 1;
                outcome.removed.push(id.clone());
            }
            // Not here, or not even an id: there is nothing to delete.
            Ok(false) | Err(Error::MalformedId(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    if let Some(settings) = &response.settings {
        store.set_settings(settings)?;
    }
    if outcome.failed.is_empty() {
        store.set_sync_cursor(response.cursor)?;
        outcome.cursor = response.cursor;
    }
    outcome.timings.finish_us = micros(started);
    Ok(outcome)
}

/// What an answer's history means for the device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HistoryDecision {
    /// The same history (or a server that names none): apply the answer.
    Same,
    /// The first history this device hears of: remember it and apply the answer.
    First(String),
    /// Another history: the server was restored from a backup. Do not apply the answer; start
    /// over with this history from this cursor, pushing everything again.
    Restored {
        /// The server's history.
        history: String,
        /// The cursor to pull from: the device's own if it is not past the fork from the
        /// history it synced with, the fork if it is, 0 when the fork is from another history.
        cursor: u64,
    },
}

/// Decides what an answer naming history `answered` (forked from `fork`) means for a device
/// that synced with history `stored` up to `cursor` (docs/PROTOCOL.md, "After a restore").
pub fn history_decision(
    stored: Option<&str>,
    cursor: u64,
    answered: Option<&str>,
    fork: Option<&HistoryFork>,
) -> HistoryDecision {
    let Some(answered) = answered else {
        return HistoryDecision::Same;
    };
    match stored {
        None => HistoryDecision::First(answered.to_string()),
        Some(stored) if stored == answered => HistoryDecision::Same,
        Some(stored) => HistoryDecision::Restored {
            history: answered.to_string(),
            cursor: match fork {
                Some(fork) if fork.history == stored => cursor.min(fork.seq),
                _ => 0,
            },
        },
    }
}

/// Whether a refusal of a document re-sent to a restored server means that it waits for
/// another device: changes written by another user (only their device may push them, and it
/// re-sends them too), or building on changes the server does not have yet.
fn waits_for_others(rule: &str) -> bool {
    matches!(rule, "identity" | "missing_dependencies")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fork(history: &str, seq: u64) -> HistoryFork {
        HistoryFork {
            history: history.into(),
            seq,
        }
    }

    #[test]
    fn a_server_that_names_no_history_or_the_same_one_changes_nothing() {
        assert_eq!(history_decision(None, 7, None, None), HistoryDecision::Same);
        assert_eq!(
            history_decision(Some("a"), 7, None, None),
            HistoryDecision::Same
        );
        assert_eq!(
            history_decision(Some("a"), 7, Some("a"), Some(&fork("z", 3))),
            HistoryDecision::Same
        );
    }

    #[test]
    fn the_first_history_heard_of_is_remembered() {
        assert_eq!(
            history_decision(None, 7, Some("a"), None),
            HistoryDecision::First("a".into())
        );
    }

    #[test]
    fn a_device_past_the_fork_pulls_from_the_fork() {
        assert_eq!(
            history_decision(Some("a"), 90, Some("b"), Some(&fork("a", 40))),
            HistoryDecision::Restored {
                history: "b".into(),
                cursor: 40
            }
        );
    }

    #[test]
    fn a_device_behind_the_fork_keeps_its_cursor() {
        assert_eq!(
            history_decision(Some("a"), 25, Some("b"), Some(&fork("a", 40))),
            HistoryDecision::Restored {
                history: "b".into(),
                cursor: 25
            }
        );
    }

    #[test]
    fn a_fork_from_another_history_or_none_starts_from_zero() {
        assert_eq!(
            history_decision(Some("a"), 90, Some("c"), Some(&fork("b", 40))),
            HistoryDecision::Restored {
                history: "c".into(),
                cursor: 0
            }
        );
        assert_eq!(
            history_decision(Some("a"), 90, Some("c"), None),
            HistoryDecision::Restored {
                history: "c".into(),
                cursor: 0
            }
        );
    }

    #[test]
    fn only_refusals_that_wait_for_other_devices_defer_a_re_send() {
        assert!(waits_for_others("identity"));
        assert!(waits_for_others("missing_dependencies"));
        for rule in [
            "schema",
            "scope",
            "field_rights",
            "approval",
            "corrupt",
            "kind",
        ] {
            assert!(!waits_for_others(rule), "{rule}");
        }
    }
}
