//! Scenario 4, busy Monday morning: many devices, each up to date but for one to three new
//! visits, sync at once. The devices are simulated in this process, apart from the server's:
//! each has its own session (its own login), HTTP connection and cursor, and its rounds are the
//! real protocol over loopback; a pool of worker threads keeps `concurrency` of them in flight.
//! A wave is every device syncing once; a run is a first wave, then as many waves back to back
//! as fill the scale's timed phase (30 s at full scale), so that the rate is not one burst's.
//! With several server nodes on one PostgreSQL database, the devices are spread over them
//! round-robin.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use fieldsync_core::Store;
use fieldsync_core::protocol::{self, PROTOCOL_VERSION, PushDocument, SyncRequest, SyncResponse};
use fieldsync_core::store::{Durability, StoreOptions};
use fieldsync_core::sync::Transport;
use fieldsync_core::sync::http::{HttpClient, Session};
use fieldsync_tests::server::{metric, metrics_page};
use fieldsync_tests::workload::rep_name;
use serde_bytes::ByteBuf;

use crate::org::{Org, PASSWORD};
use crate::stats::{
    Series, Table, cpu_secs, machine_busy_secs, ms, percentile, process_tree_cpu_secs,
};
use crate::{Result, Scale};

const REPS: usize = 50;

/// One simulated device's rounds of one run: the node it syncs with, its first request.
struct SimDevice {
    node: usize,
    first: SyncRequest,
}

/// What the workers measured.
#[derive(Default)]
struct Tally {
    latencies: Vec<Duration>,
    rounds: u64,
    pushed: u64,
    pulled: u64,
    errors: Vec<String>,
}

/// The simulated devices, each logged in once (its own session, good on every node of the
/// database) and kept for every run, with the cursor its last round left it at.
pub struct MondayDevices {
    /// Each device's session and cursor (0 before its first round).
    devices: Vec<(Session, u64)>,
}

impl MondayDevices {
    /// Logs the scale's devices in, a few at a time, spread over the running nodes (device
    /// `d` is a device of rep `d % 50`).
    pub fn log_in(org: &Org, scale: &Scale) -> Result<MondayDevices> {
        let urls = org.server.urls();
        let logins = Mutex::new(Vec::new());
        let next = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..scale.concurrency.min(8) {
                s.spawn(|| {
                    loop {
                        let d = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if d >= scale.devices {
                            break;
                        }
                        let rep = rep_name(d % REPS);
                        let outcome = HttpClient::new(&urls[d % urls.len()])
                            .and_then(|mut c| c.login(&rep, PASSWORD, &format!("monday {d}")))
                            .map_err(|e| e.to_string());
                        if let Ok(mut l) = logins.lock() {
                            l.push((d, outcome));
                        }
                    }
                });
            }
        });
        let mut logins = logins.into_inner().map_err(|_| "a login thread panicked")?;
        logins.sort_by_key(|(d, _)| *d);
        let devices = logins
            .into_iter()
            .map(|(_, session)| session.map(|s| (s, 0)))
            .collect::<std::result::Result<_, _>>()?;
        Ok(MondayDevices { devices })
    }
}

/// One run's requests: each device up to date but for 1–3 new visits of its rep's customers,
/// device `d` on node `d % nodes`.
fn prepare(org: &Org, devices: &MondayDevices, nodes: usize) -> Result<Vec<SimDevice>> {
    // The devices are up to date: they start from the newest position of the server's log.
    org.admin.sync()?;
    let cursor = org.admin.store.sync_cursor()?;
    let batch = org.next_monday_batch();
    // Only a source of changes: it need not survive a power loss.
    let scratch = Store::open_with(
        org.dir.join(format!("monday-scratch-{batch}.db")),
        StoreOptions {
            durability: Durability::Normal,
            ..StoreOptions::default()
        },
    )?;
    let count = devices.devices.len();
    let mut prepared = Vec::with_capacity(count);
    for d in 0..count {
        let rep = d % REPS;
        let customers = org.workload.customers_of_rep(rep);
        let mut push = Vec::new();
        for k in 0..(1 + d % 3) {
            let index = customers
                .get((d / REPS + k) % customers.len().max(1))
                .ok_or("a rep without customers")?;
            let mut visit = org
                .workload
                .visit(3_000_000 + (batch * count + d) * 3 + k)
                .with_customer_id(&org.ids.customers[*index]);
            visit.author = rep_name(rep);
            let id = scratch.create_visit(visit)?;
            push.push(PushDocument {
                changes: scratch
                    .changes_since(&id, &[])?
                    .into_iter()
                    .map(ByteBuf::from)
                    .collect(),
                id,
            });
        }
        prepared.push(SimDevice {
            node: d % nodes.max(1),
            first: SyncRequest {
                protocol: PROTOCOL_VERSION,
                cursor,
                push,
            },
        });
    }
    Ok(prepared)
}

/// Syncs one device to the end, recording each round, from the newer of its own cursor and
/// the prepared one; returns its session as it is after (refreshed, if its access token had
/// expired) and its cursor.
fn sync_device(
    url: &str,
    (session, cursor): (Session, u64),
    mut device: SimDevice,
    tally: &mut Tally,
) -> (Session, u64) {
    let mut client = match HttpClient::new(url) {
        Ok(c) => c.with_session(session.clone()),
        Err(e) => {
            tally.errors.push(e.to_string());
            return (session, cursor);
        }
    };
    device.first.cursor = device.first.cursor.max(cursor);
    let cursor = rounds(&mut client, device.first, tally).unwrap_or(cursor);
    (client.session().cloned().unwrap_or(session), cursor)
}

/// The rounds of one device's sync; the cursor of its last answer.
fn rounds(client: &mut HttpClient<'_>, mut request: SyncRequest, tally: &mut Tally) -> Option<u64> {
    for _ in 0..100 {
        let pushed = request.push.len() as u64;
        let started = Instant::now();
        let answer = client.sync_round(protocol::encode(&request));
        tally.latencies.push(started.elapsed());
        tally.rounds += 1;
        let response = match answer
            .map_err(|e| e.to_string())
            .and_then(|b| protocol::decode::<SyncResponse>(&b).map_err(|e| e.0))
        {
            Ok(r) => r,
            Err(e) => {
                tally.errors.push(e);
                return None;
            }
        };
        if !response.rejected.is_empty() {
            tally
                .errors
                .push(format!("rejected: {}", response.rejected[0].reason));
        }
        tally.pushed += pushed;
        tally.pulled += response.documents.len() as u64;
        if !response.more {
            return Some(response.cursor);
        }
        request = SyncRequest {
            protocol: PROTOCOL_VERSION,
            cursor: response.cursor,
            push: Vec::new(),
        };
    }
    None
}

/// What one run measured.
#[derive(Default)]
struct RunFigures {
    /// Seconds the timed phase lasted.
    phase_secs: f64,
    rate: f64,
    p50: f64,
    p99: f64,
    pushed: f64,
    pulled_per_round: f64,
    /// Of those, sent from the documents the server recently read, kept in memory.
    pulled_from_memory_per_round: f64,
    documents_per_transaction: f64,
    stale_cache: f64,
    /// CPU milliseconds per round: the server processes, PostgreSQL, this process (the devices).
    cpu_servers: f64,
    cpu_database: Option<f64>,
    cpu_devices: f64,
    /// CPU seconds of all three per second of the phase (2.0 is both cores of the machine).
    cores_busy: f64,
    /// The same for every process of the machine (others' work included).
    machine_busy: f64,
}

/// One run on the nodes running now: a first wave (every device syncs once), which warms the
/// server up and tells how long a wave lasts, then as many waves back to back as make a phase
/// of at least `min_secs` (none if the first wave lasted that long). The figures are the
/// phase's, or the first wave's when it was the whole run.
fn run_once(
    org: &Org,
    devices: &mut MondayDevices,
    scale: &Scale,
    min_secs: f64,
) -> Result<RunFigures> {
    let nodes = org.server.urls().len();
    let first = run_waves(org, devices, scale, vec![prepare(org, devices, nodes)?])?;
    if first.phase_secs >= min_secs {
        return Ok(first);
    }
    // The first wave is the slowest (a cold server): a quarter more waves than it suggests.
    let waves = (1.25 * min_secs / first.phase_secs.max(0.01)).ceil() as usize;
    let prepared = (0..waves)
        .map(|_| prepare(org, devices, nodes))
        .collect::<Result<Vec<_>>>()?;
    run_waves(org, devices, scale, prepared)
}

/// Runs `waves` back to back, timed as one phase: the queue holds every device's sync of the
/// first wave, then of the next, and `scale.concurrency` workers take from it.
fn run_waves(
    org: &Org,
    devices: &mut MondayDevices,
    scale: &Scale,
    waves: Vec<Vec<SimDevice>>,
) -> Result<RunFigures> {
    let urls = org.server.urls();
    let states: Vec<Mutex<(Session, u64)>> = std::mem::take(&mut devices.devices)
        .into_iter()
        .map(Mutex::new)
        .collect();
    let mut queue: Vec<(usize, SimDevice)> = waves
        .into_iter()
        .flat_map(|wave| wave.into_iter().enumerate())
        .collect();
    // Taken from the end: the first wave last in the vector.
    queue.reverse();
    let queue = Mutex::new(queue);
    let tallies = Mutex::new(Vec::new());
    let counters_before = write_counters(&urls)?;
    let (servers_before, database_before) = cpu_of(org);
    let devices_before = cpu_secs("self").unwrap_or(0.0);
    let machine_before = machine_busy_secs().unwrap_or(0.0);
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..scale.concurrency {
            s.spawn(|| {
                let mut tally = Tally::default();
                loop {
                    let next = queue.lock().ok().and_then(|mut q| q.pop());
                    let Some((d, device)) = next else {
                        break;
                    };
                    let url = &urls[device.node];
                    // A device's next wave waits for its last one (a device syncs one at a time).
                    let Ok(mut state) = states[d].lock() else {
                        tally
                            .errors
                            .push(format!("device {d}'s state was poisoned"));
                        break;
                    };
                    *state = sync_device(url, state.clone(), device, &mut tally);
                }
                if let Ok(mut t) = tallies.lock() {
                    t.push(tally);
                }
            });
        }
    });
    let wall = started.elapsed().as_secs_f64();
    let devices_cpu = cpu_secs("self").unwrap_or(0.0) - devices_before;
    let machine_cpu = machine_busy_secs().unwrap_or(0.0) - machine_before;
    let (servers_after, database_after) = cpu_of(org);
    let counters_after = write_counters(&urls)?;
    for state in states {
        let state = state.into_inner().map_err(|_| "a worker panicked")?;
        devices.devices.push(state);
    }

    let mut all = Tally::default();
    for t in tallies.into_inner().map_err(|_| "a worker panicked")? {
        all.latencies.extend(t.latencies);
        all.rounds += t.rounds;
        all.pushed += t.pushed;
        all.pulled += t.pulled;
        all.errors.extend(t.errors);
    }
    if let Some(e) = all.errors.first() {
        return Err(format!(
            "{} of the Monday rounds failed, first: {e}",
            all.errors.len()
        )
        .into());
    }
    let rounds = all.rounds.max(1) as f64;
    let per_round = |secs: f64| secs * 1000.0 / rounds;
    let servers_cpu = servers_after - servers_before;
    let database_cpu = database_after
        .zip(database_before)
        .map(|(after, before)| after - before);
    Ok(RunFigures {
        phase_secs: wall,
        rate: all.rounds as f64 / wall,
        p50: ms(percentile(&mut all.latencies, 0.5)),
        p99: ms(percentile(&mut all.latencies, 0.99)),
        pushed: all.pushed as f64,
        pulled_per_round: all.pulled as f64 / rounds,
        pulled_from_memory_per_round: (counters_after.pulled_from_memory
            - counters_before.pulled_from_memory)
            / rounds,
        documents_per_transaction: (counters_after.documents - counters_before.documents)
            / (counters_after.transactions - counters_before.transactions).max(1.0),
        stale_cache: counters_after.stale_cache - counters_before.stale_cache,
        cpu_servers: per_round(servers_cpu),
        cpu_database: database_cpu.map(per_round),
        cpu_devices: per_round(devices_cpu),
        cores_busy: (servers_cpu + database_cpu.unwrap_or(0.0) + devices_cpu) / wall,
        machine_busy: machine_cpu / wall,
    })
}

/// Runs scenario 4 `runs` times on the nodes running now (device `d` syncs with node
/// `d % nodes`) and prints its rows.
pub fn busy_monday(
    org: &Org,
    devices: &mut MondayDevices,
    scale: &Scale,
    runs: usize,
    table: &mut Table,
) -> Result<()> {
    let mut figures = Vec::new();
    for _ in 0..runs.max(1) {
        figures.push(run_once(org, devices, scale, scale.monday_secs)?);
    }
    let series = |f: &dyn Fn(&RunFigures) -> f64| {
        let mut s = Series::default();
        for r in &figures {
            s.push(f(r));
        }
        s
    };
    let name = format!(
        "4 busy Monday: {} devices, {} in flight",
        devices.devices.len(),
        scale.concurrency
    );
    let system = "fieldsync";
    let (rate, p99) = (series(&|r| r.rate), series(&|r| r.p99));
    table.judge(
        &format!("{name}: ≥ 2,000 rounds/s"),
        format!(
            "{:.0} rounds/s (runs {:.0}–{:.0})",
            rate.median(),
            rate.min(),
            rate.max()
        ),
        rate.median() >= 2_000.0,
    );
    table.judge(
        &format!("{name}: round p99 < 50 ms"),
        format!(
            "{:.0} ms (runs {:.0}–{:.0})",
            p99.median(),
            p99.min(),
            p99.max()
        ),
        p99.median() < 50.0,
    );
    table.add(
        &name,
        system,
        "sync rounds/s",
        "/s",
        rate,
        Some("≥ 2,000/s"),
    );
    table.add(&name, system, "round p50", "ms", series(&|r| r.p50), None);
    table.add(&name, system, "round p99", "ms", p99, Some("< 50 ms"));
    table.add(
        &name,
        system,
        "timed phase",
        "s",
        series(&|r| r.phase_secs),
        None,
    );
    table.add(
        &name,
        system,
        "documents pushed",
        "",
        series(&|r| r.pushed),
        None,
    );
    // Every device of a rep pulls the visits its rep's other devices pushed before it.
    table.add(
        &name,
        system,
        "documents pulled per round",
        "",
        series(&|r| r.pulled_per_round),
        None,
    );
    table.add(
        &name,
        system,
        "… of which from the server's memory",
        "",
        series(&|r| r.pulled_from_memory_per_round),
        None,
    );
    table.add(
        &name,
        system,
        "documents per storage transaction",
        "",
        series(&|r| r.documents_per_transaction),
        None,
    );
    if org.server.urls().len() > 1 {
        // Documents a node had cached that another node wrote since.
        table.add(
            &name,
            system,
            "stale cache reloads",
            "",
            series(&|r| r.stale_cache),
            None,
        );
    }
    table.add(
        &name,
        system,
        "server CPU per round",
        "ms",
        series(&|r| r.cpu_servers),
        None,
    );
    if figures.iter().all(|r| r.cpu_database.is_some()) {
        table.add(
            &name,
            system,
            "PostgreSQL CPU per round",
            "ms",
            series(&|r| r.cpu_database.unwrap_or(0.0)),
            None,
        );
    }
    table.add(
        &name,
        system,
        "devices' CPU per round",
        "ms",
        series(&|r| r.cpu_devices),
        None,
    );
    // Of the machine's cores: the servers, PostgreSQL and the devices, then every process (the
    // difference is other work on a shared machine).
    table.add(
        &name,
        system,
        "cores busy: servers, db, devices",
        "",
        series(&|r| r.cores_busy),
        None,
    );
    table.add(
        &name,
        system,
        "cores busy: whole machine",
        "",
        series(&|r| r.machine_busy),
        None,
    );
    Ok(())
}

/// CPU seconds used so far by the server processes and, on PostgreSQL, by the cluster (the
/// postmaster, its running backends, and the ones that ended).
fn cpu_of(org: &Org) -> (f64, Option<f64>) {
    let servers = org.server.pids().iter().filter_map(|p| cpu_secs(p)).sum();
    let database = org.server.database_pid().map(process_tree_cpu_secs);
    (servers, database)
}

/// The servers' write counters from /metrics, summed over the nodes.
#[derive(Default)]
struct WriteCounters {
    /// Storage transactions that wrote accepted pushes.
    transactions: f64,
    /// Document commits they held.
    documents: f64,
    /// Cached documents found stale (another node had written them).
    stale_cache: f64,
    /// Documents pulls sent from the recent documents kept in memory.
    pulled_from_memory: f64,
}

/// The write counters of every node, summed.
fn write_counters(urls: &[String]) -> Result<WriteCounters> {
    let mut sum = WriteCounters::default();
    for url in urls {
        let text = metrics_page(url)?;
        let counter =
            |name: &str| metric(&text, name).ok_or_else(|| format!("/metrics has no {name}"));
        sum.transactions += counter("fieldsync_write_transactions_total")?;
        sum.documents += counter("fieldsync_documents_written_total")?;
        // Older servers did not count it.
        sum.stale_cache += counter("fieldsync_stale_cache_total").unwrap_or(0.0);
        sum.pulled_from_memory += counter("fieldsync_pulled_from_memory_total").unwrap_or(0.0);
    }
    Ok(sum)
}
