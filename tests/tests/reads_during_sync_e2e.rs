//! Reads never wait for the network: a manager's new tablet pulls 5,000 customer files through a
//! deliberately slow connection to the real server, and meanwhile the app lists, searches and
//! opens customers from another thread. Every read finishes while the sync is still running.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{customer, org_with};
use fieldsync_core::Client;
use fieldsync_core::store::{CustomerQuery, Durability, Store, StoreOptions};
use fieldsync_core::sync::http::HttpClient;
use fieldsync_core::sync::{SyncError, Transport, sync};

const CUSTOMERS: usize = 5_000;
const READS: usize = 100;

/// The real HTTP client, each round held back first: a slow network.
struct Slow<T> {
    inner: T,
    delay: Duration,
}

impl<T: Transport> Transport for Slow<T> {
    fn sync_round(&mut self, body: Vec<u8>) -> Result<Vec<u8>, SyncError> {
        std::thread::sleep(self.delay);
        self.inner.sync_round(body)
    }
}

#[test]
fn lists_searches_and_reads_finish_while_a_first_sync_of_5000_documents_runs() {
    // Small pages: the first sync is many rounds, each slowed down.
    let o = org_with(&["--page-documents=250"]);
    let url = o.server.url();

    // A rep's laptop brings in 5,000 customer files.
    let seed_dir = tempfile::tempdir().unwrap();
    let seed = Store::open_with(
        seed_dir.path().join("device.db"),
        StoreOptions {
            durability: Durability::Normal,
            ..StoreOptions::default()
        },
    )
    .unwrap();
    seed.set_author("li").unwrap();
    let mut http = HttpClient::new(&url).unwrap().with_store(&seed).unwrap();
    http.login("li", "pw-li-secret", "li-laptop").unwrap();
    let mut first = None;
    for i in 0..CUSTOMERS {
        let id = seed
            .create_customer(customer(&format!("苏州客户{i:04}"), "east", "li"))
            .unwrap();
        first.get_or_insert(id);
    }
    sync(&seed, &mut http, |_| {}).unwrap();
    let known = first.unwrap();

    // The manager's new tablet, through the facade.
    let dir = tempfile::tempdir().unwrap();
    let tablet = Arc::new(Client::open_in(dir.path(), "zhang-tablet").unwrap());
    tablet.login(&url, "zhang", "pw-zhang-secret").unwrap();

    let done = Arc::new(AtomicBool::new(false));
    let syncing = {
        let tablet = Arc::clone(&tablet);
        let done = Arc::clone(&done);
        std::thread::spawn(move || {
            let started = Instant::now();
            let report = tablet
                .sync_through(
                    |http| {
                        Box::new(Slow {
                            inner: http,
                            delay: Duration::from_millis(150),
                        })
                    },
                    |_| {},
                )
                .unwrap();
            let took = started.elapsed();
            done.store(true, Ordering::SeqCst);
            (report, took)
        })
    };

    // Wait for the first page, then read as an app would: a list, a search, an open.
    while tablet.list_customers(&CustomerQuery::default()).unwrap().1 == 0 {
        std::thread::sleep(Duration::from_millis(5));
    }
    let mut slowest = Duration::ZERO;
    let mut total = Duration::ZERO;
    let mut during = 0;
    for i in 0..READS {
        let started = Instant::now();
        match i % 3 {
            0 => {
                let (rows, _) = tablet
                    .list_customers(&CustomerQuery {
                        limit: Some(50),
                        ..CustomerQuery::default()
                    })
                    .unwrap();
                assert!(!rows.is_empty());
            }
            1 => {
                let (rows, _) = tablet
                    .list_customers(&CustomerQuery {
                        search: Some("苏州客户00".into()),
                        limit: Some(20),
                        ..CustomerQuery::default()
                    })
                    .unwrap();
                assert!(!rows.is_empty());
            }
            _ => {
                let shown = tablet.list_customers(&CustomerQuery::default()).unwrap();
                let id = shown.0.first().map_or(known.clone(), |r| r.id.clone());
                tablet.customer(&id).unwrap();
            }
        }
        let took = started.elapsed();
        slowest = slowest.max(took);
        total += took;
        if !done.load(Ordering::SeqCst) {
            during += 1;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let reads_over = done.load(Ordering::SeqCst);
    let (report, sync_took) = syncing.join().unwrap();
    println!(
        "first sync: {} documents in {} rounds, {:.0} ms; {READS} reads meanwhile: mean {:.2} ms, slowest {:.2} ms",
        report.pulled,
        report.round_trips,
        sync_took.as_secs_f64() * 1e3,
        total.as_secs_f64() * 1e3 / READS as f64,
        slowest.as_secs_f64() * 1e3
    );
    assert_eq!(report.pulled, CUSTOMERS as u64);
    assert!(
        !reads_over && during == READS,
        "only {during} of {READS} reads finished before the sync did"
    );
    assert_eq!(
        tablet.list_customers(&CustomerQuery::default()).unwrap().1,
        CUSTOMERS as u64
    );
}
