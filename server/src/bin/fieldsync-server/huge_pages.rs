//! Transparent huge pages, off for the server process.
//!
//! mimalloc asks the kernel for huge pages (2 MiB) on its arenas. A page then counts whole in
//! the server's memory from its first byte used, and the kernel zeroes 2 MiB at each first
//! touch. For a server whose memory is many short-lived buffers (a sync round's documents, an
//! upload's pieces) that is memory held for nothing: measured on busy Monday (1,000 devices,
//! the bench's small organisation) the server held 209–216 MiB after the phase with huge pages
//! and 151 MiB without, its peak 291–296 against 202 MiB, at the same rounds a second; a
//! trip's photos grew it by 76 MiB with them and 40 MiB without (BENCHMARKS.md, tenth round).
//!
//! An operator who wants them back sets `MIMALLOC_ALLOW_THP=1`: the server then leaves the
//! choice to mimalloc and the system's settings.

/// Turns transparent huge pages off for this process, unless `MIMALLOC_ALLOW_THP` is set.
/// An error says why the kernel refused; the server runs either way.
#[cfg(target_os = "linux")]
pub fn keep_off() -> Result<(), String> {
    if std::env::var_os("MIMALLOC_ALLOW_THP").is_some() {
        return Ok(());
    }
    nix::sys::prctl::set_thp_disable(true)
        .map_err(|e| format!("cannot turn transparent huge pages off: {e}"))
}

/// Elsewhere there is nothing to turn off.
#[cfg(not(target_os = "linux"))]
pub fn keep_off() -> Result<(), String> {
    Ok(())
}
