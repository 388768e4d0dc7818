//! Scenario 4, busy Monday morning: many devices, each up to date but for one to three new
//! visits, sync at once. The devices are simulated in this process: each has its own session
//! (its own login) and HTTP connection, and its rounds are the real protocol over loopback;
//! a pool of worker threads keeps `concurrency` of them in flight.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use fieldsync_core::Store;
use fieldsync_core::protocol::{self, PROTOCOL_VERSION, PushDocument, SyncRequest, SyncResponse};
use fieldsync_core::sync::Transport;
use fieldsync_core::sync::http::{HttpClient, Session};
use fieldsync_tests::workload::rep_name;
use serde_bytes::ByteBuf;

use crate::org::{Org, PASSWORD};
use crate::stats::{Table, ms, percentile};
use crate::{Result, Scale};

const REPS: usize = 50;

/// One simulated device: its session and its first request.
struct SimDevice {
    session: Session,
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

fn prepare(org: &Org, scale: &Scale) -> Result<Vec<SimDevice>> {
    // The devices are up to date: they start from the newest position of the server's log.
    org.admin.sync()?;
    let cursor = org.admin.store.sync_cursor()?;
    let scratch = Store::open(org.dir.join("monday-scratch.db"))?;
    let url = org.server.url();
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
                    let outcome = HttpClient::new(&url)
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

    let mut devices = Vec::with_capacity(scale.devices);
    for (d, session) in logins {
        let session = session?;
        let rep = d % REPS;
        let customers = org.workload.customers_of_rep(rep);
        let mut push = Vec::new();
        for k in 0..(1 + d % 3) {
            let index = customers
                .get((d / REPS + k) % customers.len().max(1))
                .ok_or("a rep without customers")?;
            let mut visit = org
                .workload
                .visit(3_000_000 + d * 3 + k)
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
        devices.push(SimDevice {
            session,
            first: SyncRequest {
                protocol: PROTOCOL_VERSION,
                cursor,
                push,
            },
        });
    }
    Ok(devices)
}

/// Syncs one device to the end, recording each round.
fn sync_device(url: &str, mut device: SimDevice, tally: &mut Tally) {
    let mut client = match HttpClient::new(url) {
        Ok(c) => c.with_session(device.session.clone()),
        Err(e) => {
            tally.errors.push(e.to_string());
            return;
        }
    };
    let mut request = SyncRequest {
        protocol: device.first.protocol,
        cursor: device.first.cursor,
        push: std::mem::take(&mut device.first.push),
    };
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
                return;
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
            return;
        }
        request = SyncRequest {
            protocol: PROTOCOL_VERSION,
            cursor: response.cursor,
            push: Vec::new(),
        };
    }
}

/// Runs scenario 4 and prints its rows.
pub fn busy_monday(org: &Org, scale: &Scale, table: &mut Table) -> Result<()> {
    let prepared = Instant::now();
    let devices = prepare(org, scale)?;
    println!(
        "   ({} devices logged in and prepared in {:.1} s)",
        devices.len(),
        prepared.elapsed().as_secs_f64()
    );
    let url = org.server.url();
    let queue = Mutex::new(devices);
    let tallies = Mutex::new(Vec::new());
    let written_before = write_counters(&url)?;
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..scale.concurrency {
            s.spawn(|| {
                let mut tally = Tally::default();
                loop {
                    let next = queue.lock().ok().and_then(|mut q| q.pop());
                    let Some(device) = next else { break };
                    sync_device(&url, device, &mut tally);
                }
                if let Ok(mut t) = tallies.lock() {
                    t.push(tally);
                }
            });
        }
    });
    let wall = started.elapsed();
    let written_after = write_counters(&url)?;
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
    let name = format!(
        "4 busy Monday: {} devices, {} in flight",
        scale.devices, scale.concurrency
    );
    let rate = all.rounds as f64 / wall.as_secs_f64();
    let p50 = ms(percentile(&mut all.latencies, 0.5));
    let p99 = ms(percentile(&mut all.latencies, 0.99));
    table.add_one(
        &name,
        "fieldsync",
        "sync rounds/s",
        "/s",
        rate,
        Some("≥ 2,000/s"),
    );
    table.add_one(&name, "fieldsync", "round p50", "ms", p50, None);
    table.add_one(&name, "fieldsync", "round p99", "ms", p99, Some("< 50 ms"));
    table.add_one(
        &name,
        "fieldsync",
        "documents pushed",
        "",
        all.pushed as f64,
        None,
    );
    // Every device of a rep pulls the visits its rep's other devices pushed before it.
    table.add_one(
        &name,
        "fieldsync",
        "documents pulled per round",
        "",
        all.pulled as f64 / all.rounds.max(1) as f64,
        None,
    );
    let transactions = (written_after.0 - written_before.0).max(1.0);
    table.add_one(
        &name,
        "fieldsync",
        "documents per storage transaction",
        "",
        (written_after.1 - written_before.1) / transactions,
        None,
    );
    Ok(())
}

/// The server's counts of write transactions and of the documents they wrote, from /metrics.
fn write_counters(url: &str) -> Result<(f64, f64)> {
    let text = ureq::get(&format!("{url}/metrics"))
        .call()?
        .body_mut()
        .read_to_string()?;
    let counter = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse::<f64>().ok())
            .ok_or_else(|| format!("/metrics has no {name}"))
    };
    Ok((
        counter("fieldsync_write_transactions_total")?,
        counter("fieldsync_documents_written_total")?,
    ))
}
