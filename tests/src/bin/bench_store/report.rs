//! Timing and printing: each operation is run many times and printed as one line of min / p50 /
//! p99 / max, with its target and whether the p50 meets it. Nothing here ever fails on a slow
//! figure.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::Result;

/// A p50 limit an operation should stay under.
#[derive(Clone, Copy)]
pub(crate) struct Target(Option<Duration>);

pub(crate) const NO_TARGET: Target = Target(None);

pub(crate) fn under_ms(ms: u64) -> Target {
    Target(Some(Duration::from_millis(ms)))
}

/// The timings of one operation.
struct Figures {
    name: String,
    samples: Vec<Duration>,
    target: Target,
}

impl Figures {
    fn percentile(&self, p: f64) -> Duration {
        let n = self.samples.len();
        let rank = ((p * n as f64).ceil() as usize).clamp(1, n);
        self.samples[rank - 1]
    }

    fn meets(&self) -> Option<bool> {
        self.target.0.map(|t| self.percentile(0.5) < t)
    }
}

/// Collects every figure and prints each line as it is measured.
#[derive(Default)]
pub(crate) struct Report {
    figures: Vec<Figures>,
}

const NAME_WIDTH: usize = 46;

impl Report {
    pub(crate) fn header(title: &str) {
        println!("\n{title}");
        println!(
            "  {} {:>5} {:>7} {:>10} {:>10} {:>10} {:>10}   target (p50)",
            pad("operation", NAME_WIDTH),
            "n",
            "rows",
            "min",
            "p50",
            "p99",
            "max"
        );
    }

    /// Times `op` `n` times (after a few untimed warm-up calls); `op(i)` returns the number of
    /// rows it produced.
    pub(crate) fn measure(
        &mut self,
        name: impl Into<String>,
        n: usize,
        target: Target,
        mut op: impl FnMut(usize) -> Result<usize>,
    ) -> Result<()> {
        let warmup = (n / 20).clamp(1, 10);
        for i in 0..warmup {
            op(n + i)?;
        }
        let mut samples = Vec::with_capacity(n);
        let mut rows = 0;
        for i in 0..n {
            let start = Instant::now();
            rows += op(i)?;
            samples.push(start.elapsed());
        }
        samples.sort();
        let f = Figures {
            name: name.into(),
            samples,
            target,
        };
        let verdict = match (f.target.0, f.meets()) {
            (Some(t), Some(true)) => format!("< {}  meets", fmt_target(t)),
            (Some(t), _) => format!("< {}  MISSES", fmt_target(t)),
            (None, _) => "-".to_string(),
        };
        println!(
            "  {} {:>5} {:>7} {:>10} {:>10} {:>10} {:>10}   {verdict}",
            pad(&f.name, NAME_WIDTH),
            n,
            fmt_rows(rows as f64 / n as f64),
            fmt_duration(f.percentile(0.0)),
            fmt_duration(f.percentile(0.5)),
            fmt_duration(f.percentile(0.99)),
            fmt_duration(f.percentile(1.0)),
        );
        self.figures.push(f);
        Ok(())
    }

    pub(crate) fn summary(&self) {
        let with_target: Vec<&Figures> = self
            .figures
            .iter()
            .filter(|f| f.target.0.is_some())
            .collect();
        let missed: Vec<&&Figures> = with_target
            .iter()
            .filter(|f| f.meets() == Some(false))
            .collect();
        println!(
            "\nTargets: {} of {} p50 figures meet their target.",
            with_target.len() - missed.len(),
            with_target.len()
        );
        for f in missed {
            println!(
                "  misses: {} (p50 {}, target < {})",
                f.name,
                fmt_duration(f.percentile(0.5)),
                f.target.0.map(fmt_target).unwrap_or_default()
            );
        }
    }
}

/// Display width of `s` in a terminal: CJK characters take two columns.
fn display_width(s: &str) -> usize {
    s.chars()
        .map(|c| if (c as u32) >= 0x1100 { 2 } else { 1 })
        .sum()
}

fn pad(s: &str, width: usize) -> String {
    let mut out = s.to_string();
    for _ in display_width(s)..width {
        out.push(' ');
    }
    out
}

pub(crate) fn fmt_duration(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us < 1000.0 {
        format!("{us:.1} µs")
    } else {
        format!("{:.2} ms", us / 1000.0)
    }
}

fn fmt_target(d: Duration) -> String {
    format!("{} ms", d.as_millis())
}

fn fmt_rows(avg: f64) -> String {
    if avg.fract() == 0.0 {
        format!("{avg:.0}")
    } else {
        format!("{avg:.1}")
    }
}

pub(crate) fn fmt_count(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub(crate) fn fmt_bytes(n: u64) -> String {
    let mb = n as f64 / (1024.0 * 1024.0);
    format!("{mb:.1} MiB")
}

/// Size of the store file and its WAL, if any.
pub(crate) fn store_size(path: &Path) -> u64 {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    [path.to_path_buf(), PathBuf::from(wal)]
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum()
}

pub(crate) fn per_second(n: usize, d: Duration) -> String {
    format!("{:.0}/s", n as f64 / d.as_secs_f64().max(1e-9))
}
