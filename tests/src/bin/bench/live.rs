//! Scenario 9: the live path. A rep's phone and the manager's tablet are both in live mode on
//! the real server over loopback; the rep writes, and the time until the manager's tablet
//! holds the write (its live listener told of it) is measured, write after write.

use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fieldsync_core::Client;
use fieldsync_core::client::{CustomerInput, CustomerPatch, LiveChange, LiveListener, LiveOptions};
use fieldsync_core::sync::SyncError;
use fieldsync_tests::server::{ServerProcess, TestUser, add_user};

use crate::org::PASSWORD;
use crate::stats::{Series, Table, ms, percentile};
use crate::{Result, Scale};

const SCENARIO: &str = "S9 live";
const REP: &str = "rep-live";
const MANAGER: &str = "manager-live";
const TERRITORY: &str = "live";
/// Writes measured per run.
const WRITES: usize = 200;
/// The longest a write may take to arrive before the run is called failed.
const PATIENCE: Duration = Duration::from_secs(10);

/// Passes each live change to the measuring thread, with the time it was told.
struct Arrivals(Mutex<Sender<(Instant, LiveChange)>>);

impl LiveListener for Arrivals {
    fn on_change(&self, change: &LiveChange) {
        if let Ok(tx) = self.0.lock() {
            let _ = tx.send((Instant::now(), change.clone()));
        }
    }

    fn on_error(&self, error: &SyncError) {
        eprintln!("S9: live error: {error}");
    }
}

fn users(data: &std::path::Path) -> Result<()> {
    for (username, role, manager) in [(MANAGER, "manager", None), (REP, "rep", Some(MANAGER))] {
        add_user(
            data,
            &TestUser {
                username,
                role,
                territories: &[TERRITORY],
                manager,
                password: PASSWORD,
            },
        )?;
    }
    Ok(())
}

fn live_client(dir: &std::path::Path, url: &str, user: &str) -> Result<Arc<Client>> {
    let client = Arc::new(Client::open_in(dir, &format!("{user} bench"))?);
    client.login(url, user, PASSWORD)?;
    Ok(client)
}

/// Runs scenario 9: write-to-live-device latency, p50 and p99 of [`WRITES`] writes a run.
pub fn live_latency(dir: &std::path::Path, scale: &Scale, table: &mut Table) -> Result<()> {
    let (mut p50, mut p99, mut max) = (Series::default(), Series::default(), Series::default());
    for run in 0..scale.runs {
        let base = dir.join(format!("live-{run}"));
        let data = base.join("server");
        users(&data)?;
        let server = ServerProcess::start(&data)?;
        let url = server.url();
        let rep = live_client(&base.join("rep"), &url, REP)?;
        let manager = live_client(&base.join("manager"), &url, MANAGER)?;
        let (tx, arrivals) = mpsc::channel();
        rep.start_live(
            LiveOptions::default(),
            Arc::new(Arrivals(Mutex::new(tx.clone()))),
        )?;
        manager.start_live(LiveOptions::default(), Arc::new(Arrivals(Mutex::new(tx))))?;
        // One customer, edited again and again: each write a new change to deliver.
        let id = rep.create_customer(CustomerInput {
            name: "实时延迟测试客户".into(),
            ..CustomerInput::default()
        })?;
        let arrived = |since: Instant| -> Result<Duration> {
            loop {
                let left = PATIENCE.saturating_sub(since.elapsed());
                let (at, change) = arrivals
                    .recv_timeout(left)
                    .map_err(|_| format!("a write did not reach the manager in {PATIENCE:?}"))?;
                let pulled = change
                    .changed
                    .get("customer")
                    .is_some_and(|ids| ids.contains(&id));
                if pulled && change.pulled > 0 {
                    return Ok(at.duration_since(since));
                }
            }
        };
        arrived(Instant::now())?;
        let mut samples = Vec::with_capacity(WRITES);
        for i in 0..WRITES {
            let started = Instant::now();
            rep.update_customer(
                &id,
                CustomerPatch {
                    phone: Some(format!("0512-{i:08}")),
                    ..CustomerPatch::default()
                },
            )?;
            samples.push(arrived(started)?);
        }
        let phone = manager.customer(&id)?.phone;
        if phone.as_deref() != Some(format!("0512-{:08}", WRITES - 1).as_str()) {
            return Err(format!("the manager holds phone {phone:?} after the last write").into());
        }
        rep.stop_live();
        manager.stop_live();
        p50.push(ms(percentile(&mut samples, 0.5)));
        p99.push(ms(percentile(&mut samples, 0.99)));
        max.push(ms(percentile(&mut samples, 1.0)));
        drop(server);
    }
    let measure = format!("write → live device, {WRITES} writes");
    let p99_ms = p99.median();
    table.judge(
        "9 live: a write reaches the live device, p99 < 50 ms",
        format!("{p99_ms:.1} ms"),
        p99_ms < 50.0,
    );
    table.add(
        SCENARIO,
        "fieldsync",
        &format!("{measure}: p50"),
        "ms",
        p50,
        None,
    );
    table.add(
        SCENARIO,
        "fieldsync",
        &format!("{measure}: p99"),
        "ms",
        p99,
        Some("< 50 ms"),
    );
    table.add(
        SCENARIO,
        "fieldsync",
        &format!("{measure}: max"),
        "ms",
        max,
        None,
    );
    Ok(())
}
