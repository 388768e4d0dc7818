//! How much work the server takes on: at once, and from one user over time.
//!
//! Each push is measured from its bytes before anything of it is built
//! (`fieldsync_core::cost`), which bounds one request. Two more bounds sit around it:
//! - [`ApplyBudget`]: the operations being applied at once, over all requests. Applying costs
//!   memory in proportion to the operations (about 500 bytes each while Automerge builds
//!   them), so requests past the budget wait for earlier ones to finish instead of adding up.
//! - [`UserRates`]: per user, token buckets for sync rounds and pushed operations. A user
//!   past either gets `429` with `Retry-After`. The buckets hold a first sync and a busy
//!   Monday of twenty devices a rep many times over; they stop a device, or a script with a
//!   rep's token, that pushes without end. Admins are not limited: bulk imports are theirs.

use std::collections::HashMap;
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::error::AppError;

/// Operations applied at once over all requests: two of the largest pushes.
pub const APPLY_OPS_AT_ONCE: u64 = 2 * fieldsync_core::cost::MAX_PUSH_OPS;

/// A counting budget of operations being applied; [`ApplyBudget::take`] waits until enough is
/// free.
#[derive(Debug)]
pub struct ApplyBudget {
    capacity: u64,
    used: Mutex<u64>,
    freed: Condvar,
}

/// Operations taken from an [`ApplyBudget`], given back when dropped.
#[must_use]
pub struct Taken<'a> {
    budget: &'a ApplyBudget,
    ops: u64,
}

impl ApplyBudget {
    /// A budget of `capacity` operations at once.
    pub fn new(capacity: u64) -> ApplyBudget {
        ApplyBudget {
            capacity: capacity.max(1),
            used: Mutex::new(0),
            freed: Condvar::new(),
        }
    }

    /// Takes `ops` operations (at most the whole budget), waiting while others hold too many.
    /// Blocks the calling thread: call it from blocking work.
    pub fn take(&self, ops: u64) -> Taken<'_> {
        let ops = ops.min(self.capacity);
        let mut used = self.used.lock().unwrap_or_else(|e| e.into_inner());
        while *used + ops > self.capacity {
            used = self.freed.wait(used).unwrap_or_else(|e| e.into_inner());
        }
        *used += ops;
        Taken { budget: self, ops }
    }

    /// Operations taken now.
    pub fn in_use(&self) -> u64 {
        *self.used.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for Taken<'_> {
    fn drop(&mut self) {
        let mut used = self.budget.used.lock().unwrap_or_else(|e| e.into_inner());
        *used = used.saturating_sub(self.ops);
        self.budget.freed.notify_all();
    }
}

/// One limit: how much at once, and how much a second after that.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// In a burst.
    pub burst: f64,
    /// A second, sustained.
    pub per_sec: f64,
}

impl Rate {
    /// `n` a minute, all of which may also come at once.
    pub fn per_minute(n: u64) -> Rate {
        Rate {
            burst: n as f64,
            per_sec: n as f64 / 60.0,
        }
    }
}

/// How fast one user may sync.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimits {
    /// Sync rounds.
    pub rounds: Rate,
    /// Pushed operations.
    pub ops: Rate,
    /// Pushed bytes, as sent.
    pub bytes: Rate,
}

/// Sync rounds a user may make a minute by default: a busy Monday is a few rounds a device,
/// a first sync of a large territory 15.
pub const DEFAULT_ROUNDS_PER_MINUTE: u64 = 1200;

/// Operations a user may push a minute by default: twenty full pushes (a week offline is a
/// few hundred thousand operations).
pub const DEFAULT_OPS_PER_MINUTE: u64 = 20 * fieldsync_core::cost::MAX_PUSH_OPS;

/// Bytes a user may push a minute by default: 256 MiB (a week offline is a few megabytes).
pub const DEFAULT_BYTES_PER_MINUTE: u64 = 256 << 20;

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            rounds: Rate::per_minute(DEFAULT_ROUNDS_PER_MINUTE),
            ops: Rate::per_minute(DEFAULT_OPS_PER_MINUTE),
            bytes: Rate::per_minute(DEFAULT_BYTES_PER_MINUTE),
        }
    }
}

/// One token bucket.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn full(rate: Rate, now: Instant) -> Bucket {
        Bucket {
            tokens: rate.burst,
            at: now,
        }
    }

    /// Refills up to the burst at the rate, then takes `n` if there are that many; otherwise
    /// says how long until there will be.
    fn take(&mut self, n: f64, rate: Rate, now: Instant) -> Result<(), Duration> {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate.per_sec).min(rate.burst);
        self.at = now;
        if self.tokens >= n {
            self.tokens -= n;
            Ok(())
        } else {
            let wait = (n.min(rate.burst) - self.tokens) / rate.per_sec.max(f64::MIN_POSITIVE);
            Err(Duration::from_secs_f64(wait.min(86_400.0)))
        }
    }

    /// Whether it has been idle long enough to be full again.
    fn refilled(&self, rate: Rate, now: Instant) -> bool {
        now.saturating_duration_since(self.at).as_secs_f64() * rate.per_sec >= rate.burst
    }
}

/// The buckets of every user who synced lately: rounds, operations, bytes.
#[derive(Debug, Default)]
pub struct UserRates {
    limits: RateLimits,
    buckets: Mutex<HashMap<String, [Bucket; 3]>>,
}

impl UserRates {
    /// Buckets of `limits` for every user.
    pub fn new(limits: RateLimits) -> UserRates {
        UserRates {
            limits,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one sync round of `user` pushing `ops` operations in `bytes` bytes, or refuses
    /// it with `429` and when to retry. A refused round takes nothing.
    pub fn round(&self, user: &str, ops: u64, bytes: u64) -> Result<(), AppError> {
        let l = self.limits;
        let rates = [l.rounds, l.ops, l.bytes];
        let wanted = [1.0, ops as f64, bytes as f64];
        let what = [
            "too many sync rounds from this account",
            "too much pushed from this account (operations)",
            "too much pushed from this account (bytes)",
        ];
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() > 100_000 {
            // Forget the users whose buckets are full again: they would start full anyway.
            buckets.retain(|_, b| !(0..3).all(|i| b[i].refilled(rates[i], now)));
        }
        let entry = buckets
            .entry(user.to_string())
            .or_insert_with(|| rates.map(|r| Bucket::full(r, now)));
        let mut next = *entry;
        for i in 0..3 {
            if let Err(wait) = next[i].take(wanted[i], rates[i], now) {
                return Err(AppError::Throttled {
                    secs: (wait.as_secs_f64().ceil() as u64).max(1),
                    what: what[i].to_string(),
                });
            }
        }
        *entry = next;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::Arc;

    use super::*;

    #[test]
    fn a_bucket_refuses_past_its_burst_and_refills_at_its_rate() {
        let start = Instant::now();
        let rate = Rate {
            burst: 3.0,
            per_sec: 2.0,
        };
        let mut b = Bucket::full(rate, start);
        for _ in 0..3 {
            b.take(1.0, rate, start).unwrap();
        }
        let wait = b.take(1.0, rate, start).unwrap_err();
        assert_eq!(wait, Duration::from_millis(500));
        b.take(1.0, rate, start + Duration::from_millis(500))
            .unwrap();
        // Never above the burst, however long it rested.
        let later = start + Duration::from_secs(3600);
        for _ in 0..3 {
            b.take(1.0, rate, later).unwrap();
        }
        assert!(b.take(1.0, rate, later).is_err());
    }

    #[test]
    fn users_have_buckets_of_their_own_and_a_refused_round_takes_nothing() {
        let slow = |burst| Rate {
            burst,
            per_sec: 0.001,
        };
        let rates = UserRates::new(RateLimits {
            rounds: slow(2.0),
            ops: slow(100.0),
            bytes: slow(1000.0),
        });
        rates.round("li", 10, 10).unwrap();
        let e = rates.round("li", 1000, 10).unwrap_err();
        assert!(
            matches!(&e, AppError::Throttled { what, .. } if what.contains("operations")),
            "{e}"
        );
        let e = rates.round("li", 10, 5000).unwrap_err();
        assert!(
            matches!(&e, AppError::Throttled { what, .. } if what.contains("bytes")),
            "{e}"
        );
        // The refused rounds took nothing: one more small round still goes.
        rates.round("li", 10, 10).unwrap();
        let e = rates.round("li", 0, 0).unwrap_err();
        assert!(
            matches!(&e, AppError::Throttled { what, secs } if what.contains("rounds") && *secs > 60),
            "{e}"
        );
        rates.round("wang", 10, 10).unwrap();
    }

    #[test]
    fn the_apply_budget_makes_a_request_wait_until_others_give_back() {
        let budget = Arc::new(ApplyBudget::new(10));
        let first = budget.take(8);
        let (tx, rx) = std::sync::mpsc::channel();
        let waiting = {
            let budget = budget.clone();
            std::thread::spawn(move || {
                let _second = budget.take(5);
                tx.send(budget.in_use()).unwrap();
            })
        };
        // The second cannot start while the first holds 8 of 10.
        assert!(rx.recv_timeout(Duration::from_millis(200)).is_err());
        drop(first);
        assert_eq!(rx.recv().unwrap(), 5);
        waiting.join().unwrap();
        assert_eq!(budget.in_use(), 0);
        // More than the whole budget is taken as the whole budget, never waiting forever.
        let _all = budget.take(1_000);
        assert_eq!(budget.in_use(), 10);
    }
}
