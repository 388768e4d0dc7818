//! Where a sync's time goes, round by round: preparing the request, the exchange with the
//! server (its work and the network's, which the device cannot tell apart), decoding the
//! answer, recording what was accepted or refused, merging the pulled documents step by step,
//! and the rest of applying the answer. The steps add up to nearly the whole sync; what is left
//! is the loop around them.

use std::ops::Add;

use serde::Serialize;

use crate::store::MergeSteps;

/// Microseconds a round (or, summed, a sync) spent in each of its steps.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SyncTimings {
    /// Gathering the unsent changes and encoding the request.
    pub prepare_us: u64,
    /// From sending the request to having the whole answer: the server and the network.
    pub exchange_us: u64,
    /// Decoding the answer.
    pub decode_us: u64,
    /// Recording the server's history (after a restore, starting over), then the pushes the
    /// server accepted (acknowledged heads) and refused (quarantine).
    pub acknowledge_us: u64,
    /// Merging the pulled documents, step by step.
    pub merge: MergeSteps,
    /// The rest: revoked documents, settings, the cursor, counting what is left to push.
    pub finish_us: u64,
}

impl SyncTimings {
    /// All steps together, merging counted by its elapsed time (its steps may have run on
    /// several threads at once).
    pub fn total_us(&self) -> u64 {
        self.prepare_us
            + self.exchange_us
            + self.decode_us
            + self.acknowledge_us
            + self.merge.elapsed_us
            + self.finish_us
    }
}

impl Add for SyncTimings {
    type Output = SyncTimings;

    fn add(self, o: SyncTimings) -> SyncTimings {
        SyncTimings {
            prepare_us: self.prepare_us + o.prepare_us,
            exchange_us: self.exchange_us + o.exchange_us,
            decode_us: self.decode_us + o.decode_us,
            acknowledge_us: self.acknowledge_us + o.acknowledge_us,
            merge: self.merge + o.merge,
            finish_us: self.finish_us + o.finish_us,
        }
    }
}
