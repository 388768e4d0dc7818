//! Where the time of merging documents from elsewhere goes, step by step: the store adds up
//! each step of every merge ([`Store::merge_steps`]) so that a sync can say what its pulled
//! pages cost, and a benchmark can compare each step with Automerge's own work.
//!
//! A clock read costs a few tens of nanoseconds; a merge of one document costs tens of
//! microseconds at least, so the counting is always on.

use std::ops::{Add, Sub};
use std::time::Instant;

use serde::Serialize;

use super::Store;
use super::exchange::MergeWork;

/// Time spent in each step of merging documents, in microseconds, and how many documents.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct MergeSteps {
    /// Documents merged (refused ones included).
    pub documents: u64,
    /// Reading what the device holds of each document: its row, its acknowledged heads, its
    /// loaded copy (from the cache or the database).
    pub read_us: u64,
    /// Automerge's work and the integrity checks: parsing the sent bytes (their checksums),
    /// applying them, checking that no dependency is missing.
    pub load_us: u64,
    /// Reading the merged document into its typed model, which checks it against the schema.
    pub validate_us: u64,
    /// Storing the document's bytes or new changes and its acknowledged heads.
    pub write_us: u64,
    /// The projections: its rows for lists and reports, the search indexes, follow-ups.
    pub project_us: u64,
    /// Committing the transactions that held these merges (one per pulled page).
    pub commit_us: u64,
    /// The merges' own elapsed time, start to end. The steps above are work, wherever it ran:
    /// a large pulled page has its documents loaded, merged and validated on several threads
    /// while the merging thread writes earlier ones, so the steps may add up to more than this.
    pub elapsed_us: u64,
}

impl MergeSteps {
    /// All steps together: the work, which is more than [`MergeSteps::elapsed_us`] where it
    /// ran on several threads at once.
    pub fn total_us(&self) -> u64 {
        self.read_us
            + self.load_us
            + self.validate_us
            + self.write_us
            + self.project_us
            + self.commit_us
    }
}

impl Add for MergeSteps {
    type Output = MergeSteps;

    fn add(self, o: MergeSteps) -> MergeSteps {
        MergeSteps {
            documents: self.documents + o.documents,
            read_us: self.read_us + o.read_us,
            load_us: self.load_us + o.load_us,
            validate_us: self.validate_us + o.validate_us,
            write_us: self.write_us + o.write_us,
            project_us: self.project_us + o.project_us,
            commit_us: self.commit_us + o.commit_us,
            elapsed_us: self.elapsed_us + o.elapsed_us,
        }
    }
}

impl Sub for MergeSteps {
    type Output = MergeSteps;

    /// The steps between two readings of the store's totals (`later - earlier`).
    fn sub(self, o: MergeSteps) -> MergeSteps {
        MergeSteps {
            documents: self.documents.saturating_sub(o.documents),
            read_us: self.read_us.saturating_sub(o.read_us),
            load_us: self.load_us.saturating_sub(o.load_us),
            validate_us: self.validate_us.saturating_sub(o.validate_us),
            write_us: self.write_us.saturating_sub(o.write_us),
            project_us: self.project_us.saturating_sub(o.project_us),
            commit_us: self.commit_us.saturating_sub(o.commit_us),
            elapsed_us: self.elapsed_us.saturating_sub(o.elapsed_us),
        }
    }
}

/// One step of a merge, for [`Store::count_step`].
#[derive(Debug, Clone, Copy)]
pub(crate) enum Step {
    Read,
    Write,
    Project,
    Commit,
}

/// Microseconds since `since`, rounded down.
pub(crate) fn micros(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_micros()).unwrap_or(u64::MAX)
}

impl Store {
    /// The time every step of merging documents from elsewhere (pulled pages,
    /// [`Store::merge_changes`]) took since the store was opened. Two readings subtracted give
    /// what happened between them.
    pub fn merge_steps(&self) -> MergeSteps {
        self.merge_steps.get()
    }

    /// Adds the time since `since` to `step` and returns the present, for the next step.
    pub(crate) fn count_step(&self, step: Step, since: Instant) -> Instant {
        let spent = micros(since);
        let mut s = self.merge_steps.get();
        match step {
            Step::Read => s.read_us += spent,
            Step::Write => s.write_us += spent,
            Step::Project => s.project_us += spent,
            Step::Commit => s.commit_us += spent,
        }
        self.merge_steps.set(s);
        Instant::now()
    }

    /// Adds the work a merge did away from the database (see [`MergeWork`]).
    pub(super) fn count_work(&self, work: MergeWork) {
        let mut s = self.merge_steps.get();
        s.read_us += work.read_us;
        s.load_us += work.load_us;
        s.validate_us += work.validate_us;
        s.write_us += work.write_us;
        self.merge_steps.set(s);
    }

    /// Adds the elapsed time of merges since `since` (a page, or one document).
    pub(crate) fn count_elapsed(&self, since: Instant) {
        let mut s = self.merge_steps.get();
        s.elapsed_us += micros(since);
        self.merge_steps.set(s);
    }

    /// Counts one more document merged.
    pub(crate) fn count_document(&self) {
        let mut s = self.merge_steps.get();
        s.documents += 1;
        self.merge_steps.set(s);
    }
}
