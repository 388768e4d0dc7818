//! Crash loops: start a real process, SIGKILL it after a random delay drawn from a seeded
//! stream, and tell whether it died by the kill or had already exited; the size and seed of a
//! loop from the environment; and a tally of where the kills landed, printed for the docs.
//!
//! A loop is reproducible from its seed as far as the delays go (the moments a process reaches
//! are up to the machine): `FIELDSYNC_CRASH_SEED` replays a run's delays, and
//! `FIELDSYNC_CRASH_LOOPS` makes a loop longer than its CI-sized default.

use std::collections::BTreeMap;
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::cli::Run;
use crate::server::HarnessResult;

/// The environment variable that sets how many kills a loop does.
pub const LOOPS_ENV: &str = "FIELDSYNC_CRASH_LOOPS";
/// The environment variable that sets the seed of the delays.
pub const SEED_ENV: &str = "FIELDSYNC_CRASH_SEED";

/// How many kills a loop does: `FIELDSYNC_CRASH_LOOPS`, or `default`.
pub fn loops(default: usize) -> usize {
    std::env::var(LOOPS_ENV)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(default)
}

/// The random stream of a loop, seeded from `FIELDSYNC_CRASH_SEED` or `default`; prints the
/// seed so a failing run can be replayed.
pub fn rng(name: &str, default: u64) -> ChaCha8Rng {
    let seed = std::env::var(SEED_ENV)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default);
    println!("{name}: seed {seed} ({SEED_ENV}={seed} replays the delays)");
    ChaCha8Rng::seed_from_u64(seed)
}

/// How a process run under [`run_killed_after`] ended.
#[derive(Debug, Clone)]
pub enum Ending {
    /// It exited on its own before the kill (or the kill found it already finished).
    Exited(Run),
    /// SIGKILL ended it.
    Killed,
}

/// Starts `cmd` with its output captured, waits `delay`, and kills it with SIGKILL if it is
/// still running. A process that exited first (even in the instant before the kill) is
/// reported with its exit code and output.
pub fn run_killed_after(cmd: &mut Command, delay: Duration) -> HarnessResult<Ending> {
    use std::os::unix::process::ExitStatusExt;

    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {cmd:?}: {e}"))?;
    // Drain the pipes while it runs, so a chatty process never blocks on a full pipe.
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut text);
            }
            String::from_utf8_lossy(&text).into_owned()
        })
    };
    let out = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let err = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let deadline = Instant::now() + delay;
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        let now = Instant::now();
        if now >= deadline {
            // SIGKILL; if it exited in between, the kill reaches a zombie and `wait` reports
            // the real exit.
            let _ = child.kill();
            break child.wait().map_err(|e| e.to_string())?;
        }
        std::thread::sleep((deadline - now).min(Duration::from_millis(1)));
    };
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    if status.signal() == Some(9) {
        return Ok(Ending::Killed);
    }
    Ok(Ending::Exited(Run {
        code: status.code(),
        stdout,
        stderr,
    }))
}

/// Where the kills of a loop landed: a count per phase.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    counts: BTreeMap<String, usize>,
}

impl Tally {
    /// An empty tally.
    pub fn new() -> Tally {
        Tally::default()
    }

    /// Counts one event in `phase`.
    pub fn add(&mut self, phase: impl Into<String>) {
        *self.counts.entry(phase.into()).or_default() += 1;
    }

    /// How many events were counted in `phase`.
    pub fn get(&self, phase: &str) -> usize {
        self.counts.get(phase).copied().unwrap_or(0)
    }

    /// How many events were counted in all phases whose name starts with `prefix`.
    pub fn with_prefix(&self, prefix: &str) -> usize {
        self.counts
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(_, v)| v)
            .sum()
    }

    /// Prints the tally under `title`, one phase a line, with the time the loop took.
    pub fn print(&self, title: &str, took: Duration) {
        println!("{title} ({:.1} s):", took.as_secs_f64());
        for (phase, n) in &self.counts {
            println!("  {n:>5}  {phase}");
        }
    }
}

/// How long a whole run of the process takes, measured on runs that are left to finish: the
/// kill delays are drawn as fractions of it, so they keep spreading over a whole run when the
/// machine gets faster or slower during a loop.
#[derive(Debug, Default, Clone)]
pub struct Pace {
    samples: Vec<Duration>,
}

impl Pace {
    /// No runs measured yet.
    pub fn new() -> Pace {
        Pace::default()
    }

    /// Records how long a run that was left to finish took.
    pub fn record(&mut self, took: Duration) {
        self.samples.push(took);
        if self.samples.len() > 15 {
            self.samples.remove(0);
        }
    }

    /// The median of the last 15 runs measured (zero before any).
    pub fn typical(&self) -> Duration {
        let mut v = self.samples.clone();
        v.sort();
        v.get(v.len() / 2).copied().unwrap_or_default()
    }

    /// The delay before the kill of run `n`: every eighth run is left to finish (and measured,
    /// through [`Pace::record`]), the others are killed after a random fraction, up to 1.5, of
    /// a typical run.
    pub fn delay(&self, n: usize, rng: &mut impl rand::Rng) -> (Duration, bool) {
        if n.is_multiple_of(8) {
            (Duration::from_secs(120), true)
        } else {
            (self.typical().mul_f64(rng.random_range(0.0..1.5)), false)
        }
    }

    /// Runs `cmd` as run `n` of a loop: killed after [`Pace::delay`], or, when that run is left
    /// to finish, measured for the next delays. A run left to finish that is still running
    /// after its 2 minutes is an error.
    pub fn run(
        &mut self,
        n: usize,
        rng: &mut impl rand::Rng,
        cmd: &mut Command,
    ) -> HarnessResult<Ending> {
        let (delay, measured) = self.delay(n, rng);
        let started = Instant::now();
        let ending = run_killed_after(cmd, delay)?;
        match ending {
            Ending::Exited(_) if measured => self.record(started.elapsed()),
            Ending::Killed if measured => {
                return Err("a run left to finish was still running after 2 minutes".into());
            }
            _ => {}
        }
        Ok(ending)
    }
}
