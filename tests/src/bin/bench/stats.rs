//! Figures: a measured quantity over several runs (min / median / max), percentiles of many
//! samples, the process memory readings, and the table and JSON they are printed as.

use std::time::Duration;

use serde_json::{Value, json};

use crate::org::deploy::{Backend, Setup};

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
    setup: Setup,
}

/// A target and whether the run met it.
pub struct Verdict {
    /// The scenario and what is aimed at, in words.
    target: String,
    /// The figure it is judged on (usually a median), in words.
    measured: String,
    met: bool,
    setup: Setup,
    /// Whether the printed line names the setup.
    show_setup: bool,
}

/// Every row measured, printed as it comes and kept for the JSON.
pub struct Table {
    rows: Vec<Row>,
    verdicts: Vec<Verdict>,
    /// What the rows added now are measured on.
    setup: Setup,
    /// Whether the printed rows name it (after their system).
    show_setup: bool,
}

impl Default for Table {
    fn default() -> Self {
        Table {
            rows: Vec::new(),
            verdicts: Vec::new(),
            setup: Setup {
                backend: Backend::Sqlite,
                nodes: 1,
            },
            show_setup: false,
        }
    }
}

impl Table {
    /// Labels the rows added from now on with `setup` (and prints it beside their system when
    /// `show`: runs on more than the default SQLite server).
    pub fn measure_on(&mut self, setup: Setup, show: bool) {
        self.setup = setup;
        self.show_setup = show;
    }

    /// Prints the column headings.
    pub fn header() {
        println!(
            "{:<42} {:<20} {:<34} {:>12} {:>12} {:>12}  target",
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
        let shown_system = if self.show_setup {
            format!("{system} {}", self.setup.label())
        } else {
            system.to_string()
        };
        println!(
            "{:<42} {:<20} {:<34} {:>12} {:>12} {:>12}  {}",
            scenario,
            shown_system,
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
            setup: self.setup,
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

    /// Records whether `target` is met by the figure described by `measured`.
    pub fn judge(&mut self, target: &str, measured: String, met: bool) {
        self.verdicts.push(Verdict {
            target: target.to_string(),
            measured,
            met,
            setup: self.setup,
            show_setup: self.show_setup,
        });
    }

    /// Prints every target judged in this run with its figure and whether it was met.
    pub fn print_verdicts(&self) {
        if self.verdicts.is_empty() {
            return;
        }
        println!("\nagainst the targets");
        for v in &self.verdicts {
            let on = if v.show_setup {
                format!(" [{}]", v.setup.label())
            } else {
                String::new()
            };
            println!(
                "  {:<6} {:<58} {}{on}",
                if v.met { "met" } else { "MISSED" },
                v.target,
                v.measured
            );
        }
        let missed = self.verdicts.iter().filter(|v| !v.met).count();
        println!("  {missed} of {} targets missed", self.verdicts.len());
    }

    /// The verdicts as JSON.
    pub fn verdicts_json(&self) -> Value {
        Value::Array(
            self.verdicts
                .iter()
                .map(|v| {
                    json!({
                        "target": v.target,
                        "measured": v.measured,
                        "met": v.met,
                        "backend": v.setup.backend.name(),
                        "nodes": v.setup.nodes,
                    })
                })
                .collect(),
        )
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
                        "backend": r.setup.backend.name(),
                        "nodes": r.setup.nodes,
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

/// The fields of `/proc/<pid>/stat` after the command name (the state is the first).
fn stat_fields(pid: &str) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    Some(
        stat.rsplit_once(')')?
            .1
            .split_whitespace()
            .map(str::to_string)
            .collect(),
    )
}

/// CPU seconds of process `pid`, of its children that ended and were waited for, and of its
/// running children (a PostgreSQL postmaster and its backends).
pub fn process_tree_cpu_secs(pid: u32) -> f64 {
    // utime, stime, cutime, cstime: fields 14 to 17, the 12th to 15th after the name.
    let ticks = |fields: &[String]| -> u64 {
        fields
            .get(11..15)
            .map_or(0, |f| f.iter().filter_map(|t| t.parse::<u64>().ok()).sum())
    };
    let parent = pid.to_string();
    let mut total = stat_fields(&parent).map_or(0, |f| ticks(&f));
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.filter_map(std::result::Result::ok) {
            let name = entry.file_name();
            let Some(child) = name
                .to_str()
                .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
            else {
                continue;
            };
            if let Some(f) = stat_fields(child).filter(|f| f.get(1) == Some(&parent)) {
                total += ticks(&f);
            }
        }
    }
    total as f64 / 100.0
}

/// CPU seconds every process of the machine has used so far (all cores, idle and I/O wait
/// left out), from `/proc/stat`.
pub fn machine_busy_secs() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let ticks: Vec<u64> = stat
        .lines()
        .next()?
        .strip_prefix("cpu ")?
        .split_whitespace()
        .filter_map(|t| t.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal …
    let busy: u64 = ticks.iter().take(8).sum::<u64>() - ticks.get(3)? - ticks.get(4)?;
    Some(busy as f64 / 100.0)
}
