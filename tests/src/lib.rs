//! Shared code of fieldsync's cross-crate tests and benchmark programs.
//!
//! - [`cli`]: the real `fieldsync` command-line binary, one temporary `--home` per device.
//! - [`compat`]: the previous release, built from its commit (RELEASES.md), and the fixture of
//!   its server's database, for the compatibility tests.
//! - [`crash`]: crash loops: a process SIGKILLed after a seeded random delay, and a tally of
//!   where the kills landed.
//! - [`cut_proxy`]: a TCP proxy that cuts connections at random bytes of what the client
//!   sends, as a train's tunnel cuts an upload, and counts the bytes sent.
//! - [`disk`]: a small real filesystem (tmpfs) to fill up or remount read-only.
//! - [`fault_proxy`]: a TCP proxy in front of the real server that drops, delays, duplicates,
//!   cuts and resets connections by a seeded plan, and counts what it injected.
//! - [`hand_made`]: hand-made Automerge changes, as a hostile device writes them.
//! - [`peer_samod`]: the samod side of the sync benchmark (samod's server binary `samod_server`,
//!   a samod client in-process), same scenarios and documents as fieldsync's.
//! - [`postgres`]: a private PostgreSQL cluster per test (Debian's `postgresql`), for the
//!   server's PostgreSQL backend.
//! - [`s3`]: a private S3-compatible endpoint per test (moto from PyPI), for the server's
//!   attachment store in object storage.
//! - [`server`]: the real `fieldsync-server` binary on 127.0.0.1: start, add users, SIGKILL,
//!   restart; on the data directory's SQLite file or on a PostgreSQL database.
//! - [`workload`]: a deterministic sales organisation (customers, contacts, a year of visits,
//!   trip plans, expense claims) generated from a seed, at any size, for tests and benchmarks.
//!
//! The benchmark programs live in `src/bin/` (`bench`, `bench_store`); they print figures and
//! assert nothing about speed. So does the soak run (`soak`, through [`fault_proxy`]), which
//! checks only that nothing was lost and everything converged.

pub mod cli;
pub mod compat;
pub mod crash;
pub mod cut_proxy;
pub mod disk;
pub mod fault_proxy;
pub mod hand_made;
pub mod peer_samod;
#[path = "../../server/tests/support/postgres.rs"]
pub mod postgres;
#[path = "../../server/tests/support/s3.rs"]
pub mod s3;
pub mod server;
pub mod workload;

/// Says that a test skipped itself, and why, where the person running the tests sees it: on
/// the process's stderr itself, which the test harness does not capture (`eprintln!` output
/// shows only with `--nocapture`), so the line stands in the run's output beside the summary.
pub fn say_skipped(test: &str, why: &str) {
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr().lock(),
        "SKIPPED {test}: {why}; set FIELDSYNC_REQUIRE_TOOLS=1 to make this a failure"
    );
}
