//! The soak run: the busy-Monday workload (the sync benchmark's scenario 4) for a given number
//! of minutes against the release server, with every device syncing through the
//! fault-injecting proxy (`fieldsync_tests::fault_proxy`). It shows what a long run does that a
//! test's few seconds cannot: memory that grows, latency that drifts, a rare error.
//!
//! ```text
//! cargo build --release -p fieldsync-server -p tests --bin fieldsync-server --bin soak
//! target/release/soak [--minutes 10] [--devices 100] [--syncs-per-sec 40] [--fault-rate 0.05]
//! ```
//! (`scripts/soak.sh` does both.) Every minute it prints the syncs and rounds run, the failed
//! syncs by kind (broken by an injected fault, or anything else), p50/p99 of the rounds and
//! the server's RSS. At the end, with the faults off, every device syncs until quiet, and it
//! checks that no sync failed but by an injected fault, that every device holds exactly what
//! the server holds for its rep, that every visit written is there, and that the server's
//! database is sound; it exits with 1 if not. RSS growth and p99 drift are printed, not judged.

#[allow(dead_code)]
#[path = "bench/org.rs"]
mod org;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use clap::Parser;
use fieldsync_core::model::customer::CustomerEdit;
use fieldsync_core::store::{Durability, StoreOptions};
use fieldsync_core::sync::http::HttpClient;
use fieldsync_core::sync::{self, SyncError, Transport};
use fieldsync_tests::fault_proxy::{FaultConfig, FaultCounts, FaultProxy};
use fieldsync_tests::workload::{REPS, Workload, WorkloadConfig, rep_name};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use org::{Device, Org};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

#[derive(Parser, Debug)]
#[command(about = "fieldsync's soak run: busy Monday through a fault-injecting proxy")]
struct Args {
    /// How long the faulty phase lasts.
    #[arg(long, default_value_t = 10)]
    minutes: u64,
    /// Devices, spread over the 50 reps (two or more per rep, so a rep's devices edit the same
    /// customers).
    #[arg(long, default_value_t = 100)]
    devices: usize,
    /// Devices syncing at once.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Syncs started per second, over all devices (each after 1–3 new visits).
    #[arg(long, default_value_t = 40.0)]
    syncs_per_sec: f64,
    /// Share of connections that meet a fault.
    #[arg(long, default_value_t = 0.05)]
    fault_rate: f64,
    /// Seed of the organisation, the devices' writes and the fault plan.
    #[arg(long, default_value_t = 2026)]
    seed: u64,
    /// Customers in the organisation.
    #[arg(long, default_value_t = 2_500)]
    customers: usize,
    /// Visits in the organisation at the start.
    #[arg(long, default_value_t = 10_000)]
    visits: usize,
}

fn main() {
    match run(Args::parse()) {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(e) => {
            eprintln!("soak: {e}");
            std::process::exit(2);
        }
    }
}

/// Failed syncs, by kind: `injected` for a broken connection, else the error's kind.
#[derive(Default, Clone)]
struct Errors {
    by_kind: BTreeMap<&'static str, u64>,
    first_other: Option<String>,
}

impl Errors {
    fn add(&mut self, e: &SyncError) {
        let kind = match e {
            SyncError::Network(_) => "injected",
            SyncError::Auth(_) => "auth",
            SyncError::Server { .. } => "server",
            SyncError::Protocol(_) => "protocol",
            SyncError::Store(_) => "store",
            SyncError::Incomplete { .. } => "incomplete",
            _ => "other",
        };
        if kind != "injected" && self.first_other.is_none() {
            self.first_other = Some(e.to_string());
        }
        *self.by_kind.entry(kind).or_default() += 1;
    }

    fn injected(&self) -> u64 {
        self.by_kind.get("injected").copied().unwrap_or(0)
    }

    fn other(&self) -> u64 {
        self.by_kind.values().sum::<u64>() - self.injected()
    }

    fn merge(&mut self, other: &Errors) {
        for (k, n) in &other.by_kind {
            *self.by_kind.entry(k).or_default() += n;
        }
        if self.first_other.is_none() {
            self.first_other.clone_from(&other.first_other);
        }
    }
}

/// What one minute measured.
#[derive(Default)]
struct Minute {
    syncs: u64,
    rounds: u64,
    latencies: Vec<Duration>,
    errors: Errors,
}

/// A transport that times each round it carries.
struct Timed<'c, 's> {
    client: &'c mut HttpClient<'s>,
    latencies: Vec<Duration>,
}

impl Transport for Timed<'_, '_> {
    fn sync_round(&mut self, body: Vec<u8>) -> std::result::Result<Vec<u8>, SyncError> {
        let started = Instant::now();
        let answer = self.client.sync_round(body)?;
        self.latencies.push(started.elapsed());
        Ok(answer)
    }
}

/// One device of the soak, and the visits it wrote.
struct SoakDevice {
    device: Device,
    rep: usize,
    visits: Vec<String>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

/// The server's resident memory in MiB, from /proc.
fn rss_mib(pid: Option<u32>) -> f64 {
    let Some(pid) = pid else { return 0.0 };
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("VmRSS:")?
                    .trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<f64>()
                    .ok()
            })
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// One busy-Monday step of a device: 1–3 new visits on its rep's customers, sometimes a note
/// on one of them (the rep's other devices edit the same customers), then a sync.
fn monday_step(
    workload: &Workload,
    customer_ids: &[String],
    d: &mut SoakDevice,
    rng: &mut ChaCha8Rng,
    next_visit: &AtomicUsize,
    minute: &Mutex<Minute>,
) -> Result<()> {
    let customers = workload.customers_of_rep(d.rep);
    if customers.is_empty() {
        return Err("a rep without customers".into());
    }
    for _ in 0..rng.random_range(1..=3) {
        let index = customers[rng.random_range(0..customers.len())];
        let mut visit = workload
            .visit(next_visit.fetch_add(1, Ordering::Relaxed))
            .with_customer_id(&customer_ids[index]);
        visit.author = rep_name(d.rep);
        d.visits.push(d.device.store.create_visit(visit)?);
    }
    if rng.random_bool(0.25) {
        let index = customers[rng.random_range(0..customers.len())];
        d.device.store.update_customer(
            &customer_ids[index],
            &[CustomerEdit::AppendNotes(format!(
                "周一跟进{}。",
                rng.random::<u32>()
            ))],
        )?;
    }
    let mut client = HttpClient::from_store(&d.device.store)?;
    let mut timed = Timed {
        client: &mut client,
        latencies: Vec::new(),
    };
    let outcome = sync::run(&d.device.store, &mut timed, |_| {});
    let mut m = lock(minute);
    m.syncs += 1;
    m.rounds += timed.latencies.len() as u64;
    m.latencies.extend(timed.latencies);
    if let Err(e) = outcome {
        m.errors.add(&e);
    }
    Ok(())
}

/// Syncs every device until a whole pass moves nothing.
fn sync_until_quiet(devices: &[Mutex<SoakDevice>], concurrency: usize) -> Result<()> {
    for _ in 0..10 {
        let moved = AtomicU64::new(0);
        let failed = Mutex::new(None);
        let next = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..concurrency {
                s.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(d) = devices.get(i) else { break };
                        match lock(d).device.sync() {
                            Ok(r) => {
                                moved.fetch_add(r.pushed + r.pulled, Ordering::Relaxed);
                            }
                            Err(e) => *lock(&failed) = Some(e.to_string()),
                        }
                    }
                });
            }
        });
        if let Some(e) = lock(&failed).take() {
            return Err(format!("a sync with the faults off failed: {e}").into());
        }
        if moved.load(Ordering::Relaxed) == 0 {
            return Ok(());
        }
    }
    Err("the devices did not become quiet after 10 passes".into())
}

/// Checks that every device holds what the server holds for its rep (same documents, same
/// heads), that every visit it wrote is there, and that nothing is waiting or quarantined.
/// Returns the problems found.
fn check_convergence(org: &Org, dir: &Path, devices: &[Mutex<SoakDevice>]) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    let mut by_rep: BTreeMap<usize, Vec<&Mutex<SoakDevice>>> = BTreeMap::new();
    for d in devices {
        by_rep.entry(lock(d).rep).or_default().push(d);
    }
    for (rep, devices) in by_rep {
        // The server's view of the rep: a fresh device straight to the server.
        let server = Device::new(
            &dir.join(format!("audit-{rep}")),
            &org.server.url(),
            &rep_name(rep),
        )?;
        server.sync()?;
        let ids: BTreeSet<String> = server
            .store
            .document_ids()?
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        for d in devices {
            let d = lock(d);
            let store = &d.device.store;
            let mine: BTreeSet<String> = store
                .document_ids()?
                .into_iter()
                .map(|(id, _)| id)
                .collect();
            if mine != ids {
                problems.push(format!(
                    "a device of {} holds {} documents, the server {} for the rep",
                    d.device.user,
                    mine.len(),
                    ids.len()
                ));
                continue;
            }
            for id in &ids {
                if store.heads(id)? != server.store.heads(id)? {
                    problems.push(format!(
                        "{id} differs between a device of {} and the server",
                        d.device.user
                    ));
                }
            }
            if let Some(v) = d.visits.iter().find(|v| !ids.contains(*v)) {
                problems.push(format!(
                    "visit {v} of {} is not on the server",
                    d.device.user
                ));
            }
            if !store.unsent_documents()?.is_empty() || !store.list_quarantine()?.is_empty() {
                problems.push(format!(
                    "a device of {} has unsent or quarantined work",
                    d.device.user
                ));
            }
        }
    }
    Ok(problems)
}

fn run(args: Args) -> Result<bool> {
    let temp = tempfile::Builder::new()
        .prefix("fieldsync-soak-")
        .tempdir()?;
    let dir = temp.path();
    println!(
        "soak: {} minutes, {} devices ({} at once, {} syncs/s), faults on {:.0}% of connections, seed {}",
        args.minutes,
        args.devices,
        args.concurrency,
        args.syncs_per_sec,
        args.fault_rate * 100.0,
        args.seed
    );
    let loading = Instant::now();
    let org = Org::build(
        dir,
        WorkloadConfig {
            seed: args.seed,
            ..WorkloadConfig::sized(args.customers, args.visits)
        },
        &[],
    )?;
    let pid = org.server.pid();
    let proxy = FaultProxy::in_front_of(
        &org.server.url(),
        FaultConfig {
            seed: args.seed,
            fault_rate: args.fault_rate,
            max_delay: Duration::from_millis(100),
        },
    )?;
    proxy.set_faults(false);

    // The devices log in through the proxy and take their rep's scope, with a good network.
    let devices: Vec<Mutex<SoakDevice>> = (0..args.devices.max(1))
        .map(|n| {
            let rep = n % REPS;
            let device = Device::with_options(
                &dir.join(format!("device-{n}")),
                &proxy.url(),
                &rep_name(rep),
                StoreOptions {
                    durability: Durability::Normal,
                    ..StoreOptions::default()
                },
            )?;
            Ok(Mutex::new(SoakDevice {
                device,
                rep,
                visits: Vec::new(),
            }))
        })
        .collect::<Result<_>>()?;
    sync_until_quiet(&devices, args.concurrency)?;
    println!(
        "organisation ({} customers, {} visits) and {} devices ready in {:.0} s; server RSS {:.0} MiB\n",
        args.customers,
        args.visits,
        devices.len(),
        loading.elapsed().as_secs_f64(),
        rss_mib(pid)
    );

    println!(
        "{:>6} {:>7} {:>7} {:>9} {:>7} {:>9} {:>9} {:>9} {:>8}",
        "minute", "syncs", "rounds", "injected", "other", "faults", "p50 ms", "p99 ms", "RSS MiB"
    );
    proxy.set_faults(true);
    let minute = Mutex::new(Minute::default());
    let queue = Mutex::new((0..devices.len()).collect::<VecDeque<usize>>());
    let next_visit = AtomicUsize::new(5_000_000);
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.minutes * 60);
    let slot = AtomicU64::new(0);
    let failure = Mutex::new(None::<String>);
    let mut figures: Vec<(f64, f64, f64)> = Vec::new();
    let mut total = Errors::default();
    let mut total_rounds = 0;
    std::thread::scope(|s| {
        for w in 0..args.concurrency.max(1) {
            let (devices, queue, minute, next_visit, slot, failure) =
                (&devices, &queue, &minute, &next_visit, &slot, &failure);
            let (workload, customer_ids) = (&org.workload, &org.ids.customers);
            s.spawn(move || {
                let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
                rng.set_stream(w as u64 + 1);
                while Instant::now() < deadline {
                    // Pace the syncs: sync k starts k / rate seconds into the run.
                    let k = slot.fetch_add(1, Ordering::Relaxed);
                    let at = started + Duration::from_secs_f64(k as f64 / args.syncs_per_sec);
                    if at >= deadline {
                        break;
                    }
                    std::thread::sleep(at.saturating_duration_since(Instant::now()));
                    let Some(i) = lock(queue).pop_front() else {
                        continue;
                    };
                    let outcome = monday_step(
                        workload,
                        customer_ids,
                        &mut lock(&devices[i]),
                        &mut rng,
                        next_visit,
                        minute,
                    );
                    lock(queue).push_back(i);
                    if let Err(e) = outcome {
                        *lock(failure) = Some(e.to_string());
                        break;
                    }
                }
            });
        }
        // Every minute: what it measured.
        let mut faults_before = proxy.counts();
        for m in 1..=args.minutes {
            let at = started + Duration::from_secs(m * 60);
            while Instant::now() < at && lock(&failure).is_none() {
                std::thread::sleep(
                    Duration::from_millis(200).min(at.saturating_duration_since(Instant::now())),
                );
            }
            let mut done = std::mem::take(&mut *lock(&minute));
            let faults = proxy.counts();
            let injected = faults.since(&faults_before);
            faults_before = faults;
            done.latencies.sort();
            let (p50, p99) = (
                percentile(&done.latencies, 0.5),
                percentile(&done.latencies, 0.99),
            );
            let rss = rss_mib(pid);
            println!(
                "{m:>6} {:>7} {:>7} {:>9} {:>7} {:>9} {p50:>9.1} {p99:>9.1} {rss:>8.0}",
                done.syncs,
                done.rounds,
                done.errors.injected(),
                done.errors.other(),
                injected.injected(),
            );
            if let Some(e) = &done.errors.first_other {
                println!("       first error not injected: {e}");
            }
            figures.push((p50, p99, rss));
            total.merge(&done.errors);
            total_rounds += done.rounds;
            if lock(&failure).is_some() {
                break;
            }
        }
    });
    if let Some(e) = lock(&failure).take() {
        return Err(format!("a device step failed: {e}").into());
    }
    let faults: FaultCounts = proxy.counts();
    println!("\nproxy: {faults}");

    // Faults off: every device syncs until quiet, then everything is compared.
    proxy.set_faults(false);
    let quiet = Instant::now();
    sync_until_quiet(&devices, args.concurrency)?;
    let problems = check_convergence(&org, dir, &devices)?;
    let integrity =
        fieldsync_tests::server::integrity_check(&dir.join("server").join("fieldsync.db"))?;
    let visits: usize = devices.iter().map(|d| lock(d).visits.len()).sum();
    println!(
        "after the faults: quiet and compared in {:.0} s; {visits} visits written, {total_rounds} rounds",
        quiet.elapsed().as_secs_f64()
    );

    let (first, last) = (figures.first().copied(), figures.last().copied());
    if let (Some((_, p99_first, rss_first)), Some((_, p99_last, rss_last))) = (first, last) {
        let p99s: Vec<f64> = figures.iter().map(|f| f.1).collect();
        let (lo, hi) = p99s
            .iter()
            .fold((f64::MAX, 0.0f64), |(lo, hi), p| (lo.min(*p), hi.max(*p)));
        println!(
            "RSS first -> last minute: {rss_first:.0} -> {rss_last:.0} MiB ({:+.0} MiB, {:+.1}%)",
            rss_last - rss_first,
            (rss_last / rss_first.max(1.0) - 1.0) * 100.0
        );
        println!(
            "p99 first -> last minute: {p99_first:.1} -> {p99_last:.1} ms (lowest {lo:.1}, highest {hi:.1}; last/first {:.2})",
            p99_last / p99_first.max(0.001)
        );
    }

    let mut ok = true;
    let mut verdict = |pass: bool, what: String| {
        println!("{} {what}", if pass { "ok  " } else { "FAIL" });
        ok &= pass;
    };
    verdict(
        total.other() == 0,
        format!(
            "no sync failed but by an injected fault: {} injected, {} other{}",
            total.injected(),
            total.other(),
            total
                .first_other
                .as_deref()
                .map(|e| format!(" (first: {e})"))
                .unwrap_or_default()
        ),
    );
    verdict(
        total.injected() <= faults.failed_requests(),
        format!(
            "failed syncs ({}) are no more than the faults that break a request ({})",
            total.injected(),
            faults.failed_requests()
        ),
    );
    verdict(
        faults.missing_kinds().is_empty() && faults.not_injected_errors == 0,
        format!("every kind of fault injected, no proxy error of its own: {faults}"),
    );
    verdict(
        problems.is_empty(),
        format!(
            "every device holds what the server holds for its rep, with every visit it wrote{}",
            problems
                .first()
                .map(|p| format!(": {} problems, first: {p}", problems.len()))
                .unwrap_or_default()
        ),
    );
    verdict(
        integrity == "ok",
        format!("server database integrity_check: {integrity}"),
    );
    Ok(ok)
}
