//! The departing rep's last work: when a customer changes hands while its rep is offline, what
//! the rep typed before the handover still arrives.
//!
//! For a grace period after the change of owner (30 days by default), the previous owner's
//! pushes to that customer are judged as if they still owned it, provided every pushed change
//! builds only on what the server had before the handover (none descends from the change that
//! moved the customer): edits of fields a rep may write, and visits checked in before the
//! handover. They reach the new owner like any edit. Anything else, or anything later, is
//! refused as out of scope, as before.

use automerge::legacy::{Key, ObjectId, OpType};
use automerge::{AutoCommit, Change, ChangeHash, ROOT, ReadDoc};

/// The change that moved a customer away from a user, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LostCustomer {
    /// The change that set the new owner.
    pub change: ChangeHash,
    /// Its time, Unix seconds.
    pub at: i64,
}

fn owner_of(doc: &AutoCommit) -> Option<String> {
    match doc.get(ROOT, "owner") {
        Ok(Some((automerge::Value::Scalar(s), _))) => s.as_str().map(str::to_string),
        _ => None,
    }
}

fn sets_owner(change: &Change) -> bool {
    change.decode().operations.iter().any(|op| {
        op.obj == ObjectId::Root
            && matches!(&op.key, Key::Map(k) if k == "owner")
            && matches!(op.action, OpType::Put(_))
    })
}

/// The latest change of customer `doc` that set its owner, if the owner before it was `who`.
pub fn lost_by(doc: &mut AutoCommit, who: &str) -> Option<LostCustomer> {
    let changes = doc.get_changes(&[]);
    let last = changes.iter().rev().find(|c| sets_owner(c))?;
    let before = doc.fork_at(last.deps()).ok()?;
    (owner_of(&before).as_deref() == Some(who)).then(|| LostCustomer {
        change: last.hash(),
        at: last.timestamp(),
    })
}

/// Whether none of `changes` descends from `handover` in `doc` (which holds them all).
pub fn built_before(doc: &mut AutoCommit, changes: &[Change], handover: &ChangeHash) -> bool {
    changes.iter().all(|c| match doc.fork_at(c.deps()) {
        Ok(base) => base.get_change_by_hash(handover).is_none(),
        Err(_) => false,
    })
}

/// Whether `lost` is recent enough for the grace period `grace_secs` at time `now`.
pub fn within(lost: &LostCustomer, grace_secs: i64, now: i64) -> bool {
    grace_secs > 0 && now.saturating_sub(lost.at) <= grace_secs
}
