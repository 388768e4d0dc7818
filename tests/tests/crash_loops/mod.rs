//! Helpers of the crash loops (`crash_loops_e2e.rs`).

pub mod files;
pub mod writes;
