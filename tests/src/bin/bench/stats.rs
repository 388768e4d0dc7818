//! Figures: a measured quantity over several runs (min / median / max), percentiles of many
//! samples, the process memory readings, and the table and JSON they are printed as.

use std::time::Duration;

use serde_json::{Value, json};

/// One quantity measured once per run.
#[derive(Debug, Clone, Default)]
pub struct Series {
    values: Vec<f64>,
}

impl Series {
    /// Adds one run's value.
    pub fn push(&mut self, v: f64) {
        self.values.push(v);
    }

    fn sorted(&self) -> Vec<f64> {
        let mut v = self.values.clone();
        v.sort_by(f64::total_cmp);
        v
    }

    /// Smallest value (0 without runs).
    pub fn min(&self) -> f64 {
        self.sorted().first().copied().unwrap_or(0.0)
    }

    /// Median (the lower middle for an even count).
    pub fn median(&self) -> f64 {
        let v = self.sorted();
        if v.is_empty() {
            0.0
        } else {
            v[(v.len() - 1) / 2]
        }
    }

    /// Largest value.
    pub fn max(&self) -> f64 {
        self.sorted().last().copied().unwrap_or(0.0)
    }

    /// Number of runs.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    fn json(&self) -> Value {
        json!({ "min": self.min(), "median": self.median(), "max": self.max(), "runs": self.len() })
    }
}

/// The `p` quantile (0 < p ≤ 1) of `samples`, nearest rank.
pub fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    if samples.is_empty() {
        return Duration::ZERO;
    }
    samples.sort();
    let n = samples.len();
    let rank = ((p * n as f64).ceil() as usize).clamp(1, n);
    samples[rank - 1]
}

/// Milliseconds of `d` as a float.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A row of the printed table: what, which system, a unit, and its series.
pub struct Row {
    scenario: String,
    system: String,
    measure: String,
    unit: &'static str,
    series: Series,
    target: Option<String>,
}

/// Every row measured, printed as it comes and kept for the JSON.
#[derive(Default)]
pub struct Table {
    rows: Vec<Row>,
}

impl Table {
    /// Prints the column headings.
    pub fn header() {
        println!(
            "{:<34} {:<16} {:<26} {:>12} {:>12} {:>12}  target",
            "scenario", "system", "measure", "min", "median", "max"
        );
    }

    /// Records and prints one row.
    pub fn add(
        &mut self,
        scenario: &str,
        system: &str,
        measure: &str,
        unit: &'static str,
        series: Series,
        target: Option<&str>,
    ) {
        let show = |v: f64| format!("{} {unit}", human(v));
        println!(
            "{:<34} {:<16} {:<26} {:>12} {:>12} {:>12}  {}",
            scenario,
            system,
            measure,
            show(series.min()),
            show(series.median()),
            show(series.max()),
            target.unwrap_or("")
        );
        self.rows.push(Row {
            scenario: scenario.into(),
            system: system.into(),
            measure: measure.into(),
            unit,
            series,
            target: target.map(str::to_string),
        });
    }

    /// A single measured value.
    pub fn add_one(
        &mut self,
        scenario: &str,
        system: &str,
        measure: &str,
        unit: &'static str,
        value: f64,
        target: Option<&str>,
    ) {
        let mut s = Series::default();
        s.push(value);
        self.add(scenario, system, measure, unit, s, target);
    }

    /// The rows as JSON.
    pub fn json(&self) -> Value {
        Value::Array(
            self.rows
                .iter()
                .map(|r| {
                    json!({
                        "scenario": r.scenario,
                        "system": r.system,
                        "measure": r.measure,
                        "unit": r.unit,
                        "figures": r.series.json(),
                        "target": r.target,
                    })
                })
                .collect(),
        )
    }
}

/// A value with few significant digits.
fn human(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// A field of `/proc/<pid>/status` in KiB (`VmRSS`, `VmHWM`).
pub fn proc_kib(pid: &str, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|l| {
        let rest = l.strip_prefix(field)?.strip_prefix(':')?;
        rest.trim().trim_end_matches("kB").trim().parse().ok()
    })
}

/// Resets the peak RSS (`VmHWM`) of process `pid` (or `self`) to its current RSS; false where
/// Linux refuses.
pub fn reset_peak_rss(pid: &str) -> bool {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

/// Runs `f` and returns its result with how far this process's RSS peaked above where it
/// started, in MiB (None where the peak cannot be reset).
pub fn peak_rss_above_start<T>(f: impl FnOnce() -> T) -> (T, Option<f64>) {
    peak_rss_of("self", f)
}

/// [`peak_rss_above_start`] of process `pid` while `f` runs.
pub fn peak_rss_of<T>(pid: &str, f: impl FnOnce() -> T) -> (T, Option<f64>) {
    let reset = reset_peak_rss(pid);
    let start = proc_kib(pid, "VmRSS");
    let out = f();
    let peak = proc_kib(pid, "VmHWM");
    let grew = match (reset, start, peak) {
        (true, Some(s), Some(p)) => Some(p.saturating_sub(s) as f64 / 1024.0),
        _ => None,
    };
    (out, grew)
}

/// CPU seconds (user and system) process `pid` has used, from `/proc/<pid>/stat` (clock
/// ticks of 1/100 s).
pub fn cpu_secs(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces; the fields after it are plain.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}
