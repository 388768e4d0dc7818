//! Scenarios 1, 2, 3, 5 and 6 for fieldsync, with the in-process floor and the inputs the
//! samod peer gets for the same documents.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use fieldsync_core::Store;
use fieldsync_core::model::DocKind;
use fieldsync_core::model::customer::{CustomerEdit, Tier};
use fieldsync_core::model::visit::VisitEdit;
use fieldsync_core::store::CustomerQuery;
use fieldsync_core::sync::SyncReport;
use fieldsync_tests::workload::{manager_name, rep_name, territory_of_rep};

use crate::floor::{self, Delivery};
use crate::org::{Device, Org};
use crate::stats::{Series, Table, ms, peak_rss_above_start, percentile, proc_kib};
use crate::steps::{StepSeries, server_sync_ms};
use crate::{Result, Scale};

/// The rep whose week the scenarios follow, and the manager of their territory.
pub const REP: usize = 0;

/// A store's documents as `(id, saved bytes)`.
pub fn saved_documents(store: &Store) -> Result<Vec<(String, Vec<u8>)>> {
    store
        .document_ids()?
        .into_iter()
        .map(|(id, _)| {
            let bytes = store.document_bytes(&id)?;
            Ok((id, bytes))
        })
        .collect()
}

fn ids_of(store: &Store, kind: DocKind) -> Result<Vec<String>> {
    Ok(store
        .document_ids()?
        .into_iter()
        .filter(|(_, k)| *k == kind)
        .map(|(id, _)| id)
        .collect())
}

fn check_in(report: &SyncReport) -> Result<()> {
    if report.rejected > 0 {
        return Err(format!("the server refused {} documents", report.rejected).into());
    }
    Ok(())
}

/// What scenario 1 leaves for the next ones.
pub struct NewDevices {
    /// The rep's device, holding their scope.
    pub rep: Device,
    /// The manager's device, holding the territory.
    pub manager: Device,
}

/// Scenario 1: a new device pulls its whole scope, for the rep and for their manager.
pub fn new_device(org: &Org, scale: &Scale, table: &mut Table) -> Result<NewDevices> {
    let mut kept = Vec::new();
    for (who, user) in [
        ("rep", rep_name(REP)),
        ("manager", manager_name(territory_of_rep(REP))),
    ] {
        let [mut time, mut bytes, mut rounds, mut mem, mut in_turn]: [Series; 5] =
            Default::default();
        let mut steps = StepSeries::default();
        let mut docs = 0;
        let mut last = None;
        let urls = [org.server.url()];
        for run in 0..scale.runs {
            let device = org.device(&format!("new-{who}-{run}"), &user)?;
            let server_before = server_sync_ms(&urls)?;
            let (report, grew) = peak_rss_above_start(|| device.sync());
            let report = report?;
            check_in(&report)?;
            steps.push(&report, server_sync_ms(&urls)? - server_before);
            time.push(report.millis as f64);
            bytes.push((report.bytes_sent + report.bytes_received) as f64 / 1024.0);
            rounds.push(f64::from(report.round_trips));
            mem.push(grew.unwrap_or(0.0));
            docs = report.pulled;
            last = Some(device);
            // The same sync asking for each page only after merging the one before, in the
            // same run: what sending the next page's request ahead saves.
            let device = org.device(&format!("new-{who}-{run}-in-turn"), &user)?;
            let report = device.sync_page_after_page()?;
            check_in(&report)?;
            in_turn.push(report.millis as f64);
        }
        let name = format!("1 new device: {who}, {docs} docs");
        let target = if who == "rep" {
            "≤ 2× floor"
        } else {
            "< 5 s at 25,000"
        };
        let time_ms = time.median();
        table.add(&name, "fieldsync", "time", "ms", time, Some(target));
        table.add(
            &name,
            "fieldsync",
            "time, each page asked after the last merged",
            "ms",
            in_turn,
            None,
        );
        table.add(&name, "fieldsync", "bytes", "KiB", bytes, None);
        table.add(&name, "fieldsync", "round trips", "", rounds, None);
        table.add(
            &name,
            "fieldsync",
            "client peak RSS growth",
            "MiB",
            mem,
            None,
        );

        let device = last.ok_or("no runs")?;
        let saved: Vec<Vec<u8>> = saved_documents(&device.store)?
            .into_iter()
            .map(|(_, b)| b)
            .collect();
        let mut floor_time = Series::default();
        for _ in 0..scale.runs {
            floor_time.push(ms(floor::load_all(&saved)?));
        }
        let floor_ms = floor_time.median();
        table.add(&name, "floor", "load all", "ms", floor_time, None);
        steps.add_to(table, &name);
        if who == "rep" {
            table.judge(
                &format!("1 new device, rep ({docs} documents): ≤ 2× the floor"),
                format!(
                    "{time_ms:.0} ms, {:.1}× the floor's {floor_ms:.0} ms",
                    time_ms / floor_ms.max(f64::MIN_POSITIVE)
                ),
                time_ms <= 2.0 * floor_ms,
            );
        } else {
            table.judge(
                &format!("1 new device, manager ({docs} documents): < 5 s"),
                format!("{:.2} s", time_ms / 1000.0),
                time_ms < 5_000.0,
            );
        }
        kept.push(device);
    }
    let manager = kept.pop().ok_or("no manager device")?;
    let rep = kept.pop().ok_or("no rep device")?;
    Ok(NewDevices { rep, manager })
}

/// The documents of one run of scenario 2, for the samod peer: the common start, and each
/// side's documents after its own changes (only those it changed or created).
pub struct TripDocuments {
    /// The rep's scope before anyone changed anything.
    pub common: Vec<(String, Vec<u8>)>,
    /// What the rep's device changed or created.
    pub client: Vec<(String, Vec<u8>)>,
    /// What the team changed on the server's side.
    pub server: Vec<(String, Vec<u8>)>,
}

/// The rep's week on the road: 200 visits and 50 customer edits on their device.
fn rep_offline_week(
    org: &Org,
    rep: &Device,
    run: usize,
    scale: &Scale,
) -> Result<BTreeSet<String>> {
    let customers = ids_of(&rep.store, DocKind::Customer)?;
    if customers.is_empty() {
        return Err("the rep has no customers".into());
    }
    let mut touched = BTreeSet::new();
    for i in 0..scale.trip_visits {
        let generated = org.workload.visit(1_000_000 + run * 10_000 + i);
        let mut visit = generated.with_customer_id(&customers[i % customers.len()]);
        visit.author = rep.user.clone();
        touched.insert(rep.store.create_visit(visit)?);
    }
    for i in 0..scale.trip_edits {
        let id = &customers[(run * 7 + i) % customers.len()];
        rep.store.update_customer(
            id,
            &[
                CustomerEdit::AppendNotes(format!("第{run}周拜访记录 {i}: 客户要求下月报价")),
                CustomerEdit::Phone(Some(format!("0571-8{run:03}{i:04}"))),
            ],
        )?;
        touched.insert(id.clone());
    }
    Ok(touched)
}

/// The team's week: `scale.team_changes` changes to the rep's customers and visits, made on
/// the manager's device (one change per call), then synced to the server.
fn team_week(
    manager: &Device,
    (customers, visits): &(Vec<String>, Vec<String>),
    run: usize,
    scale: &Scale,
) -> Result<BTreeSet<String>> {
    let mut touched = BTreeSet::new();
    let tiers = [Tier::A, Tier::B, Tier::C];
    for i in 0..scale.team_changes {
        if i % 2 == 0 && !visits.is_empty() {
            let id = &visits[(i / 2 + run * 31) % visits.len()];
            manager.store.update_visit(
                id,
                &[VisitEdit::AddComment {
                    author: manager.user.clone(),
                    text: format!("跟进一下价格 ({run}/{i})"),
                }],
            )?;
            touched.insert(id.clone());
        } else {
            let id = &customers[(i / 2 + run * 13) % customers.len()];
            manager
                .store
                .update_customer(id, &[CustomerEdit::Tier(tiers[(i + run) % 3])])?;
            touched.insert(id.clone());
        }
    }
    check_in(&manager.sync()?)?;
    Ok(touched)
}

/// The floor's deliveries: each side's changes the other side lacks, onto what it holds.
fn deliveries(from: &Store, to: &Store, ids: &BTreeSet<String>) -> Result<Vec<Delivery>> {
    ids.iter()
        .map(|id| {
            let (base, heads) = match to.document_bytes(id) {
                Ok(bytes) => (bytes, to.heads(id)?),
                // New to the receiver: every change goes, onto nothing.
                Err(fieldsync_core::Error::NotFound(_)) => (Vec::new(), Vec::new()),
                Err(e) => return Err(e.into()),
            };
            Ok(Delivery {
                base,
                changes: from.changes_since(id, &heads)?,
            })
        })
        .collect()
}

fn documents(store: &Store, ids: &BTreeSet<String>) -> Result<Vec<(String, Vec<u8>)>> {
    ids.iter()
        .map(|id| Ok((id.clone(), store.document_bytes(id)?)))
        .collect()
}

/// Tells a profiler started with events disabled to `enable` or `disable` them, through the
/// control FIFO named by `FIELDSYNC_BENCH_PERF_CTL` (`perf record --delay=-1 --control
/// fifo:FILE`), so that a profile holds scenario 2's syncs and nothing else. Without the
/// variable, does nothing.
fn profiler(command: &str) -> Result<()> {
    if let Some(fifo) = std::env::var_os("FIELDSYNC_BENCH_PERF_CTL") {
        std::fs::write(fifo, format!("{command}\n"))?;
    }
    Ok(())
}

/// Scenario 2: back from the trip. Returns the last run's documents for the samod peer.
pub fn back_from_trip(
    org: &Org,
    devices: &NewDevices,
    scale: &Scale,
    table: &mut Table,
) -> Result<TripDocuments> {
    let (rep, manager) = (&devices.rep, &devices.manager);
    let [mut time, mut up, mut down, mut rounds, mut floor_time]: [Series; 5] = Default::default();
    let mut steps = StepSeries::default();
    let urls = [org.server.url()];
    let mut last = None;
    for run in 0..scale.runs {
        check_in(&manager.sync()?)?;
        let common = saved_documents(&rep.store)?;
        // The team works on what the server already has of the rep's scope.
        let scope = (
            ids_of(&rep.store, DocKind::Customer)?,
            ids_of(&rep.store, DocKind::Visit)?,
        );
        let by_rep = rep_offline_week(org, rep, run, scale)?;
        let by_team = team_week(manager, &scope, run, scale)?;

        let mut deliveries_all = deliveries(&manager.store, &rep.store, &by_team)?;
        deliveries_all.extend(deliveries(&rep.store, &manager.store, &by_rep)?);
        let trip = TripDocuments {
            common,
            client: documents(&rep.store, &by_rep)?,
            server: documents(&manager.store, &by_team)?,
        };

        let server_before = server_sync_ms(&urls)?;
        profiler("enable")?;
        let report = rep.sync()?;
        profiler("disable")?;
        check_in(&report)?;
        steps.push(&report, server_sync_ms(&urls)? - server_before);
        time.push(report.millis as f64);
        up.push(report.bytes_sent as f64 / 1024.0);
        down.push(report.bytes_received as f64 / 1024.0);
        rounds.push(f64::from(report.round_trips));
        floor_time.push(ms(floor::apply_all(&deliveries_all)?));
        last = Some(trip);
    }
    let name = format!(
        "2 back from trip: {}+{} local, {} team",
        scale.trip_visits, scale.trip_edits, scale.team_changes
    );
    let (time_ms, floor_ms) = (time.median(), floor_time.median());
    table.judge(
        "2 back from the trip: < 300 ms and ≤ 3× the floor",
        format!(
            "{time_ms:.0} ms, {:.1}× the floor's {floor_ms:.0} ms",
            time_ms / floor_ms.max(f64::MIN_POSITIVE)
        ),
        time_ms < 300.0 && time_ms <= 3.0 * floor_ms,
    );
    table.add(
        &name,
        "fieldsync",
        "time",
        "ms",
        time,
        Some("< 300 ms, ≤ 3× floor"),
    );
    table.add(&name, "fieldsync", "bytes up", "KiB", up, None);
    table.add(&name, "fieldsync", "bytes down", "KiB", down, None);
    table.add(&name, "fieldsync", "round trips", "", rounds, None);
    table.add(&name, "floor", "apply changes", "ms", floor_time, None);
    steps.add_to(table, &name);
    check_in(&manager.sync()?)?;
    last.ok_or_else(|| "no runs".into())
}

/// Scenario 3: nothing changed on either side.
pub fn nothing_changed(devices: &NewDevices, scale: &Scale, table: &mut Table) -> Result<()> {
    let rep = &devices.rep;
    check_in(&rep.sync()?)?;
    let docs = rep.store.document_ids()?.len();
    let [mut time, mut bytes, mut rounds]: [Series; 3] = Default::default();
    for _ in 0..scale.runs.max(5) {
        let started = Instant::now();
        let report = rep.sync()?;
        time.push(ms(started.elapsed()));
        bytes.push((report.bytes_sent + report.bytes_received) as f64);
        rounds.push(f64::from(report.round_trips));
        if report.pulled > 0 || report.pushed > 0 {
            return Err(format!("a sync with nothing new moved documents: {report:?}").into());
        }
    }
    let name = format!("3 nothing changed: {docs} docs");
    let (time_ms, bytes_b) = (time.median(), bytes.median());
    table.judge(
        &format!("3 nothing changed ({docs} documents): < 1 ms and < 1 KB"),
        format!("{time_ms:.2} ms, {bytes_b:.0} B"),
        time_ms < 1.0 && bytes_b < 1_000.0,
    );
    table.add(&name, "fieldsync", "time", "ms", time, Some("< 1 ms"));
    table.add(&name, "fieldsync", "bytes", "B", bytes, Some("< 1 KB"));
    table.add(&name, "fieldsync", "round trips", "", rounds, None);
    Ok(())
}

/// Scenario 5: local writes and reads on the manager's device, which holds the territory.
pub fn local_writes(
    org: &Org,
    devices: &NewDevices,
    scale: &Scale,
    table: &mut Table,
) -> Result<()> {
    let store = &devices.manager.store;
    let docs = store.document_ids()?.len();
    let customers = ids_of(store, DocKind::Customer)?;
    let name = format!("5 local: device with {docs} docs");
    let samples = scale.local_samples;

    let mut record = Vec::with_capacity(samples);
    for i in 0..samples {
        let generated = org.workload.visit(2_000_000 + i);
        let mut visit = generated.with_customer_id(&customers[i % customers.len()]);
        visit.author = devices.manager.user.clone();
        let started = Instant::now();
        store.create_visit(visit)?;
        record.push(started.elapsed());
    }
    let territory = store.customer(&customers[0])?.territory;
    let list = CustomerQuery {
        territory: Some(territory),
        limit: Some(50),
        ..CustomerQuery::default()
    };
    let mut listing = timed(samples, || Ok(store.list_customers(&list)?.len()))?;
    // Two characters of a real name: the shortest Chinese search.
    let name_of = store.customer(&customers[customers.len() / 2])?.name;
    let term: String = name_of.chars().skip(2).take(2).collect();
    let search = CustomerQuery {
        search: Some(term),
        limit: Some(50),
        ..CustomerQuery::default()
    };
    let mut searching = timed(samples, || Ok(store.list_customers(&search)?.len()))?;

    for (what, samples) in [
        ("record a visit", &mut record),
        ("list 50 of a territory", &mut listing),
        ("search 2 chars", &mut searching),
    ] {
        let mut s = Series::default();
        s.push(ms(percentile(samples, 0.5)));
        table.add(&name, "fieldsync", &format!("{what} p50"), "ms", s, None);
        let mut s = Series::default();
        s.push(ms(percentile(samples, 0.99)));
        table.add(&name, "fieldsync", &format!("{what} p99"), "ms", s, None);
    }
    Ok(())
}

fn timed(n: usize, mut f: impl FnMut() -> Result<usize>) -> Result<Vec<Duration>> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let started = Instant::now();
        std::hint::black_box(f()?);
        out.push(started.elapsed());
    }
    Ok(out)
}

/// Scenario 6: the server's memory (each node's, when several serve the database).
pub fn server_memory(org: &Org, when: &str, table: &mut Table) {
    let pids = org.server.pids();
    let name = format!("6 server memory {when}");
    for (node, pid) in pids.iter().enumerate() {
        let mib = |f| proc_kib(pid, f).map_or(0.0, |k| k as f64 / 1024.0);
        let of = if pids.len() > 1 {
            format!(", node {}", node + 1)
        } else {
            String::new()
        };
        let rss = mib("VmRSS");
        table.judge(
            &format!("6 server RSS {when}{of}: < 300 MB"),
            format!("{rss:.0} MiB"),
            rss * 1024.0 * 1024.0 < 300e6,
        );
        table.add_one(
            &name,
            "fieldsync",
            &format!("RSS{of}"),
            "MiB",
            rss,
            Some("< 300 MB"),
        );
        table.add_one(
            &name,
            "fieldsync",
            &format!("peak RSS{of}"),
            "MiB",
            mib("VmHWM"),
            None,
        );
    }
}
