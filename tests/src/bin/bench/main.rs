//! The sync benchmark: fieldsync against the real server on 127.0.0.1, side by side with samod
//! (automerge-repo in Rust) and with the in-process floor (plain `automerge`), on the
//! deterministic sales organisation of `fieldsync_tests::workload`.
//!
//! ```text
//! cargo run --release -p tests --bin bench -- [--scale small|full] [--scenario N]... [--json FILE]
//! ```
//!
//! Prints a table (min / median / max over the runs) and writes the same figures as JSON. It
//! never fails on a slow figure: targets are printed beside the figures, not asserted.

mod floor;
mod hostile;
mod live;
mod long_texts;
mod monday;
mod org;
mod peers;
mod scenarios;
mod stats;

use std::path::PathBuf;
use std::time::Instant;

use clap::{Parser, ValueEnum};
use fieldsync_tests::workload::WorkloadConfig;
use serde_json::json;

use stats::Table;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

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
    /// Samples of each local operation (scenario 5).
    pub local_samples: usize,
    /// Document counts the samod peer is run at.
    pub samod_sizes: Vec<usize>,
    /// Customer files with long notes (scenario 7).
    pub long_customers: usize,
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
                local_samples: 100,
                samod_sizes: vec![100, 250],
                long_customers: 20,
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
                local_samples: 200,
                samod_sizes: vec![1_000, 5_000],
                long_customers: 300,
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
    /// Run only these scenarios (1–9; repeatable). 1 is run for 2–6, which start from it.
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
    if let Some(customers) = args.long_customers {
        scale.long_customers = customers.max(1);
    }
    let wanted = |n: u8| args.scenarios.is_empty() || args.scenarios.contains(&n);
    let binaries = peers::Binaries::locate(!args.no_samod && (1..=3).any(wanted))?;

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
    if (1..=6).any(wanted) {
        organisation(&args, &scale, &dir, &binaries, &wanted, &mut table)?;
        println!();
    }
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

    if let Some(parent) = args.json.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let out = json!({
        "scale": format!("{:?}", args.scale).to_lowercase(),
        "customers": scale.customers,
        "visits": scale.visits,
        "seed": args.seed,
        "machine": machine(),
        "rows": table.json(),
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

/// Scenarios 1–6, on the organisation stored on a server.
fn organisation(
    args: &Args,
    scale: &Scale,
    dir: &std::path::Path,
    binaries: &peers::Binaries,
    wanted: &dyn Fn(u8) -> bool,
    table: &mut Table,
) -> Result<()> {
    println!(
        "fieldsync sync benchmark, {:?} scale: {} customers, {} visits, {} runs each",
        args.scale, scale.customers, scale.visits, scale.runs
    );
    let loading = Instant::now();
    let org = org::Org::build(
        dir,
        WorkloadConfig {
            seed: args.seed,
            ..WorkloadConfig::sized(scale.customers, scale.visits)
        },
        &args.server_args,
    )?;
    println!(
        "organisation stored in {:.1} s (push to the server {:.1} s)\n",
        loading.elapsed().as_secs_f64(),
        org.push_secs
    );
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
    if let Some(samod) = &binaries.samod {
        peers::samod(samod, &devices, trip.as_ref(), scale, wanted, table)?;
    }
    if wanted(4) {
        monday::busy_monday(&org, scale, table)?;
        if wanted(6) {
            scenarios::server_memory(&org, "after busy Monday", table);
        }
    }
    if wanted(5) {
        scenarios::local_writes(&org, &devices, scale, table)?;
    }

    Ok(())
}
