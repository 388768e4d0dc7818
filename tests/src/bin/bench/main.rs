//! The sync benchmark: fieldsync against the real server on 127.0.0.1, side by side with samod
//! (automerge-repo in Rust) and with the in-process floor (plain `automerge`), on the
//! deterministic sales organisation of `fieldsync_tests::workload`.
//!
//! ```text
//! cargo run --release -p tests --bin bench -- [--scale small|full] [--scenario N]... [--json FILE]
//!     [--backend sqlite|postgres] [--nodes N] [--compare-backends] [--monday-runs N]
//! ```
//!
//! The organisation's server (scenarios 1–6 and 11) runs on SQLite by default;
//! `--backend postgres` runs it on a private PostgreSQL cluster the bench starts and stops
//! itself, `--nodes N` with N server processes on that database (scenario 4's devices spread
//! over them round-robin). `--compare-backends` does both in one run: scenarios 1–4, 6 and 11
//! on SQLite, then on PostgreSQL with one node, scenario 4 also with 2, 3, … `--nodes` (3 by
//! default) nodes. A full-scale run does the same with every scenario where PostgreSQL is
//! installed, unless `--backend` or `--nodes` says otherwise: the published figures come from
//! one run.
//!
//! Prints a table (min / median / max over the runs), then every target with the figure it is
//! judged on and whether it was met, and writes the same as JSON, each row with the backend and
//! node count it was measured on. It never fails on a slow figure: targets are judged and
//! printed, not asserted.

mod attachments;
mod floor;
mod hostile;
mod live;
mod long_texts;
mod monday;
mod org;
mod peers;
mod read_api;
mod scenarios;
mod stats;
mod steps;

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::{Parser, ValueEnum};
use fieldsync_tests::workload::WorkloadConfig;
use serde_json::json;

use monday::MondayDevices;
use org::deploy::{Backend, NODES_NEED_POSTGRES, Setup};
use stats::Table;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// The scenarios `--compare-backends` runs unless `--scenario` names others: those whose
/// figures come from the server.
const COMPARED: [u8; 6] = [1, 2, 3, 4, 6, 11];

/// How big the organisation and the runs are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ScaleName {
    /// 2,500 customers, 10,000 visits, 100 Monday devices: a minute, for CI.
    Small,
    /// 50,000 customers, 200,000 visits, 1,000 Monday devices: the figures of BENCHMARKS.md.
    Full,
}

/// The sizes one scale stands for.
#[derive(Debug, Clone)]
pub struct Scale {
    /// Customer files in the organisation.
    pub customers: usize,
    /// Visit records.
    pub visits: usize,
    /// Timed runs of each scenario.
    pub runs: usize,
    /// Visits a rep records on the trip (scenario 2).
    pub trip_visits: usize,
    /// Customer edits on the trip.
    pub trip_edits: usize,
    /// Changes the team makes meanwhile.
    pub team_changes: usize,
    /// Simulated devices of scenario 4.
    pub devices: usize,
    /// Rounds in flight at once in scenario 4.
    pub concurrency: usize,
    /// Seconds scenario 4's timed phase lasts at least: after a first wave (every device
    /// syncs once), as many waves back to back as fill it; 0 for the first wave alone.
    pub monday_secs: f64,
    /// Samples of each local operation (scenario 5).
    pub local_samples: usize,
    /// Document counts the samod peer is run at.
    pub samod_sizes: Vec<usize>,
    /// Customer files with long notes (scenario 7).
    pub long_customers: usize,
    /// Photos of 2 MB a rep brings back from a trip, with a fifth as many receipts (scenario
    /// 10).
    pub trip_photos: usize,
}

impl Scale {
    fn of(name: ScaleName) -> Scale {
        match name {
            ScaleName::Small => Scale {
                customers: 2_500,
                visits: 10_000,
                runs: 3,
                trip_visits: 200,
                trip_edits: 50,
                team_changes: 500,
                devices: 100,
                concurrency: 16,
                monday_secs: 0.0,
                local_samples: 100,
                samod_sizes: vec![100, 250],
                long_customers: 20,
                trip_photos: 20,
            },
            ScaleName::Full => Scale {
                customers: 50_000,
                visits: 200_000,
                runs: 3,
                trip_visits: 200,
                trip_edits: 50,
                team_changes: 2_000,
                devices: 1_000,
                concurrency: 32,
                monday_secs: 30.0,
                local_samples: 200,
                samod_sizes: vec![1_000, 5_000],
                long_customers: 300,
                trip_photos: 100,
            },
        }
    }
}

#[derive(Parser, Debug)]
#[command(about = "fieldsync's sync benchmark, side by side with samod and the automerge floor")]
struct Args {
    /// small (CI) or full (the published figures).
    #[arg(long, value_enum, default_value = "small")]
    scale: ScaleName,
    /// Run only these scenarios (1–11; repeatable). 1 is run for 2–6 and 11, which start
    /// from it.
    #[arg(long = "scenario")]
    scenarios: Vec<u8>,
    /// Where to write the JSON figures.
    #[arg(long, default_value = "target/bench/bench.json")]
    json: PathBuf,
    /// Skip the samod peer.
    #[arg(long)]
    no_samod: bool,
    /// An extra option for `fieldsync-server serve` (repeatable), e.g.
    /// `--server-arg=--cache-documents=100`.
    #[arg(long = "server-arg", allow_hyphen_values = true)]
    server_args: Vec<String>,
    /// Work in this directory and keep it (the server's database, the devices' stores), for
    /// looking into afterwards; a temporary directory, removed at the end, when not given.
    #[arg(long)]
    keep_dir: Option<PathBuf>,
    /// Simulated devices of scenario 4, instead of the scale's number.
    #[arg(long)]
    devices: Option<usize>,
    /// Customer files of scenario 7 (long notes), instead of the scale's number.
    #[arg(long)]
    long_customers: Option<usize>,
    /// Characters in each of their notes.
    #[arg(long, default_value_t = 40_000)]
    long_chars: usize,
    /// Seed of the organisation.
    #[arg(long, default_value_t = 2026)]
    seed: u64,
    /// Where the organisation's server keeps its data (scenarios 1–6 and 11): the SQLite file of its
    /// data directory, or a private PostgreSQL cluster the bench starts (and stops) itself.
    /// Scenarios 7–10 always start SQLite servers of their own.
    /// Default: SQLite; at full scale, both backends where PostgreSQL is installed.
    #[arg(long, value_enum)]
    backend: Option<Backend>,
    /// Server processes on the PostgreSQL database; scenario 4's devices are spread over them
    /// round-robin (scenarios 1–3 sync with the first). With --compare-backends, the largest
    /// count scenario 4 is run with (default 3).
    #[arg(long)]
    nodes: Option<usize>,
    /// One run on both backends: scenarios 1–4, 6 and 11 (or those --scenario names) on SQLite,
    /// then on PostgreSQL with one server node, scenario 4 also with 2, 3, … --nodes nodes.
    /// samod is left out (it does not use fieldsync's server).
    #[arg(long, conflicts_with = "backend")]
    compare_backends: bool,
    /// Runs of scenario 4 on each setup (default 1; the scale's runs with --compare-backends).
    #[arg(long)]
    monday_runs: Option<usize>,
    /// Seconds scenario 4's timed phase lasts at least, instead of the scale's (30 at full
    /// scale, 0 at small: one wave, every device syncing once).
    #[arg(long)]
    monday_secs: Option<f64>,
}

impl Args {
    /// The setups the organisation's scenarios run on, each with the node counts scenario 4 is
    /// run with; an error for a combination that cannot run.
    fn passes(&self) -> Result<Vec<(Backend, Vec<usize>)>> {
        if self.nodes == Some(0) {
            return Err("--nodes must be at least 1".into());
        }
        if self.comparing() {
            let most = self.nodes.unwrap_or(3);
            return Ok(vec![
                (Backend::Sqlite, vec![1]),
                (Backend::Postgres, (1..=most).collect()),
            ]);
        }
        let nodes = self.nodes.unwrap_or(1);
        if nodes > 1 && self.backend() == Backend::Sqlite {
            return Err(NODES_NEED_POSTGRES.into());
        }
        if self.backend() == Backend::Postgres && self.scenarios.iter().any(|s| *s >= 7) {
            return Err(
                "scenarios 7–10 start SQLite servers of their own: run them without \
                        --backend postgres"
                    .into(),
            );
        }
        Ok(vec![(self.backend(), vec![nodes])])
    }

    /// The backend of a run on one backend.
    fn backend(&self) -> Backend {
        self.backend.unwrap_or(Backend::Sqlite)
    }

    /// Whether the run measures both backends: asked with `--compare-backends`, and a full
    /// run's default where PostgreSQL is installed (`--backend sqlite` keeps it to SQLite).
    fn comparing(&self) -> bool {
        self.compare_backends
            || (self.scale == ScaleName::Full
                && self.backend.is_none()
                && self.nodes.is_none()
                && fieldsync_tests::postgres::installed())
    }

    /// Whether the table names the setup of each row (anything but the default SQLite run).
    fn show_setup(&self) -> bool {
        self.comparing() || self.backend() != Backend::Sqlite || self.nodes.unwrap_or(1) > 1
    }
}

fn main() {
    if let Err(e) = run(Args::parse()) {
        eprintln!("bench: {e}");
        std::process::exit(1);
    }
}

fn run(args: Args) -> Result<()> {
    let mut scale = Scale::of(args.scale);
    if let Some(devices) = args.devices {
        scale.devices = devices.max(1);
    }
    if let Some(secs) = args.monday_secs {
        scale.monday_secs = secs.max(0.0);
    }
    if let Some(customers) = args.long_customers {
        scale.long_customers = customers.max(1);
    }
    let passes = args.passes()?;
    if args.scale == ScaleName::Full
        && args.backend.is_none()
        && args.nodes.is_none()
        && !args.comparing()
    {
        println!(
            "(PostgreSQL is not installed: this full run measures SQLite only; \
             apt-get install postgresql to measure both)"
        );
    }
    let wanted = |n: u8| {
        if args.scenarios.is_empty() {
            // Comparing backends is about the server: what does not use it stays out.
            !args.compare_backends || COMPARED.contains(&n)
        } else {
            args.scenarios.contains(&n)
        }
    };
    // On PostgreSQL alone, scenarios 7–10 (SQLite servers of their own) run only when asked.
    let wanted_after = |n: u8| wanted(n) && (args.backend() == Backend::Sqlite || args.comparing());
    let samod = !args.no_samod && !args.compare_backends && (1..=3).any(wanted);
    let binaries = peers::Binaries::locate(samod)?;

    let temp = tempfile::Builder::new()
        .prefix("fieldsync-bench-")
        .tempdir()?;
    let dir = match &args.keep_dir {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            d.clone()
        }
        None => temp.path().to_path_buf(),
    };
    let mut table = Table::default();
    if (1..=6).chain([11]).any(wanted) {
        let monday_runs = args
            .monday_runs
            .unwrap_or(if args.comparing() { scale.runs } else { 1 });
        for (backend, node_counts) in &passes {
            let pass = Pass {
                backend: *backend,
                node_counts,
                monday_runs,
                // samod and scenario 5 (the devices' own storage) do not depend on the
                // server's backend: measured once, on the first pass.
                first: *backend == passes[0].0,
            };
            let pass_dir = if passes.len() > 1 {
                dir.join(backend.name())
            } else {
                dir.clone()
            };
            organisation(
                &args, &scale, &pass_dir, &pass, &binaries, &wanted, &mut table,
            )?;
            println!();
        }
    }
    if (7..=10).any(|n| wanted(n) && !wanted_after(n)) {
        println!("(scenarios 7–10 run on SQLite only; leave out --backend postgres to run them)");
    }
    // Scenarios 7–10 always run on SQLite servers of their own (and use the system column for
    // other things): the JSON says so, the printed rows need not.
    table.measure_on(
        Setup {
            backend: Backend::Sqlite,
            nodes: 1,
        },
        false,
    );
    let wanted = wanted_after;
    if wanted(7) {
        Table::header();
        long_texts::long_notes(&dir, &scale, args.long_chars, &mut table)?;
    }
    if wanted(8) {
        Table::header();
        hostile::hostile_push(&dir, &scale, &mut table)?;
    }
    if wanted(9) {
        Table::header();
        live::live_latency(&dir, &scale, &mut table)?;
    }
    if wanted(10) {
        Table::header();
        attachments::trip_photos(&dir, &scale, &mut table)?;
    }

    table.print_verdicts();
    if let Some(parent) = args.json.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let out = json!({
        "scale": format!("{:?}", args.scale).to_lowercase(),
        "customers": scale.customers,
        "visits": scale.visits,
        "seed": args.seed,
        "backends": passes.iter().map(|(b, nodes)| json!({
            "backend": b.name(),
            "nodes": nodes,
        })).collect::<Vec<_>>(),
        "machine": machine(),
        "rows": table.json(),
        "targets": table.verdicts_json(),
    });
    std::fs::write(&args.json, serde_json::to_vec_pretty(&out)?)?;
    println!("\nfigures written to {}", args.json.display());
    Ok(())
}

/// What the figures ran on.
fn machine() -> serde_json::Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|m| m.trim_start_matches([' ', '\t', ':']).to_string())
            })
        })
        .unwrap_or_default();
    json!({
        "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "cpu": cpu,
        "os": std::env::consts::OS,
    })
}

/// One pass of scenarios 1–6 and 11: a backend, and the node counts scenario 4 runs with.
struct Pass<'a> {
    backend: Backend,
    node_counts: &'a [usize],
    monday_runs: usize,
    /// The first pass runs what does not depend on the backend (samod, scenario 5).
    first: bool,
}

/// Scenarios 1–6 and 11, on the organisation stored on a server.
fn organisation(
    args: &Args,
    scale: &Scale,
    dir: &Path,
    pass: &Pass<'_>,
    binaries: &peers::Binaries,
    wanted: &dyn Fn(u8) -> bool,
    table: &mut Table,
) -> Result<()> {
    println!(
        "fieldsync sync benchmark, {:?} scale: {} customers, {} visits, {} runs each, on {}",
        args.scale,
        scale.customers,
        scale.visits,
        scale.runs,
        match pass.backend {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "a private PostgreSQL cluster",
        }
    );
    let loading = Instant::now();
    let mut org = org::Org::build_on(
        dir,
        WorkloadConfig {
            seed: args.seed,
            ..WorkloadConfig::sized(scale.customers, scale.visits)
        },
        pass.backend,
        &args.server_args,
    )?;
    let stored = loading.elapsed();
    let settling = Instant::now();
    org.server.settle()?;
    println!(
        "organisation stored in {:.1} s (push to the server {:.1} s), the database settled in {:.1} s\n",
        stored.as_secs_f64(),
        org.push_secs,
        settling.elapsed().as_secs_f64()
    );
    let show = args.show_setup();
    table.measure_on(org.server.setup(), show);
    Table::header();

    if wanted(6) {
        scenarios::server_memory(&org, "with the organisation", table);
    }
    let devices = scenarios::new_device(&org, scale, table)?;
    let mut trip = None;
    if wanted(2) {
        trip = Some(scenarios::back_from_trip(&org, &devices, scale, table)?);
    }
    if wanted(3) {
        scenarios::nothing_changed(&devices, scale, table)?;
    }
    if let Some(samod) = binaries.samod.as_ref().filter(|_| pass.first) {
        peers::samod(samod, &devices, trip.as_ref(), scale, wanted, table)?;
    }
    if wanted(4) {
        let first = pass.node_counts.first().copied().unwrap_or(1);
        org.server.scale_to(first)?;
        let logging_in = Instant::now();
        let mut monday = MondayDevices::log_in(&org, scale)?;
        println!(
            "   ({} Monday devices logged in in {:.1} s)",
            scale.devices,
            logging_in.elapsed().as_secs_f64()
        );
        for &nodes in pass.node_counts {
            org.server.scale_to(nodes)?;
            table.measure_on(org.server.setup(), show);
            monday::busy_monday(&org, &mut monday, scale, pass.monday_runs, table)?;
            if wanted(6) {
                scenarios::server_memory(&org, "after busy Monday", table);
            }
        }
        org.server.scale_to(1)?;
        table.measure_on(org.server.setup(), show);
    }
    if wanted(5) && pass.first {
        scenarios::local_writes(&org, &devices, scale, table)?;
    }
    if wanted(11) {
        read_api::read_api(&org, scale, table)?;
    }

    Ok(())
}
