//! Crash loops: real `fieldsync` and `fieldsync-server` processes killed with SIGKILL at random
//! (seeded) moments, many times over, to show that "nothing acknowledged is ever lost: a crash
//! at any point leaves both sides consistent" holds for the processes users run,
//! not only for the library in-process.
//!
//! - The CLI killed while it writes locally: every write it reported (printed its result and
//!   exited 0) is there afterwards, the store file passes `PRAGMA integrity_check` after every
//!   kill, and lists and search agree with the documents.
//! - The CLI killed while it syncs, with local work unsent and one-second access tokens (plus
//!   the server's leeway): after every kill the file is sound and the device is still logged in; at the end a normal
//!   sync completes, every reported write is on the server, and the device, the server and a
//!   second device of the same rep hold identical documents.
//! - The CLI killed while a sync refreshes its tokens (the access token expired beforehand):
//!   after every kill the device syncs again without a new login.
//! - The server killed during syncs, at random moments and while a new device's first sync is
//!   pulling its pages, on each backend: the server's database is sound after every kill, every
//!   acknowledged (document, heads) is on the server, every interrupted first sync completes
//!   with every document, and everyone converges.
//!
//! Each test prints how many kills landed in which phase. The loops are CI-sized;
//! `FIELDSYNC_CRASH_LOOPS=200` runs 200 kills each, `FIELDSYNC_CRASH_SEED` replays delays.
#![allow(clippy::unwrap_used)]

mod common;
mod crash_loops;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use automerge::{AutoCommit, ChangeHash};
use common::{Backend, Device, customer, org, org_on, org_with, visit};
use crash_loops::files::{
    device_state, documents, expire_access_token, integrity, retired_refresh_tokens, server_rounds,
};
use crash_loops::writes::{
    Acknowledged, Write, check_acknowledged_present, check_lists_match_documents, cli_json,
    write_through_cli,
};
use fieldsync_core::Store;
use fieldsync_core::model::customer::{CustomerEdit, NewCustomer};
use fieldsync_core::sync::http::HttpClient;
use fieldsync_core::sync::{SyncError, Transport};
use fieldsync_tests::cli::Home;
use fieldsync_tests::crash::{self, Ending, Pace, Tally};
use rand::Rng;

// ---- 1. the CLI killed while it writes ------------------------------------------------------

#[test]
fn killing_the_cli_during_local_writes_loses_no_acknowledged_write() {
    let mut o = org();
    let home = Home::new().unwrap();
    home.login(&o.server.url(), "li", "pw-li-secret")
        .unwrap()
        .ok();
    // On the road: every write below is local.
    o.server.kill();
    let db = home.path().join("device.db");
    let mut rng = crash::rng("local writes", 0x5eed_0001);
    let wanted = crash::loops(40);
    let mut acked = Acknowledged::default();
    let mut n = 0;

    // How long a write takes here, so the kills spread over a whole run.
    let mut pace = Pace::new();
    for _ in 0..3 {
        n += 1;
        let started = Instant::now();
        write_through_cli(&home, Write::random(&mut rng, &acked, n), &mut acked);
        pace.record(started.elapsed());
    }
    let typical = pace.typical();
    println!("a write through the CLI takes about {typical:?}");

    let started = Instant::now();
    let mut tally = Tally::new();
    let mut kills = 0;
    while kills < wanted {
        n += 1;
        assert!(
            n < 20 * wanted + 100,
            "too few runs were killed: {kills} of {n}"
        );
        let write = Write::random(&mut rng, &acked, n);
        let before = device_state(&db).fingerprint;
        match pace.run(n, &mut rng, &mut write.command(&home)).unwrap() {
            Ending::Exited(run) => {
                let out = run.ok().to_string();
                write.acknowledge(&mut acked, &out);
                tally.add("exited before the kill (acknowledged)");
            }
            Ending::Killed => {
                kills += 1;
                let committed = device_state(&db).fingerprint != before;
                tally.add(if committed {
                    "killed after its write committed, before exiting"
                } else {
                    "killed before its write committed"
                });
                let check = integrity(&db);
                assert_eq!(
                    check, "ok",
                    "kill {kills} ({write:?}): the store is damaged"
                );
                check_lists_match_documents(&home, &db, &acked, &format!("kill {kills}"));
            }
        }
    }
    tally.print(
        &format!("local writes: {kills} kills of the CLI in {n} runs"),
        started.elapsed(),
    );

    // Every acknowledged write is there, and search finds every acknowledged customer.
    let store = Store::open(&db).unwrap();
    assert_eq!(store.integrity_check(), Ok(()));
    check_acknowledged_present(&acked, "on the device", |id| {
        store
            .document(id)
            .ok()
            .map(|d| serde_json::to_value(d).unwrap())
    });
    drop(store);
    for (id, (_, token)) in &acked.customers {
        let hits = cli_json(&home, &["customer", "list", "--json", "--search", token]);
        let hits: Vec<&str> = hits["customers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap())
            .collect();
        assert_eq!(hits, [id.as_str()], "searching {token}");
    }
    for (cid, text) in acked.notes.iter().take(20) {
        let token = text.rsplit(' ').next().unwrap();
        let hits = cli_json(&home, &["customer", "list", "--json", "--search", token]);
        assert!(
            hits["customers"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["id"].as_str() == Some(cid.as_str())),
            "searching the note {token} does not find {cid}"
        );
    }
    check_lists_match_documents(&home, &db, &acked, "at the end");
    assert!(
        acked.customers.len() + acked.notes.len() + acked.visits.len() > 10,
        "too few acknowledged writes to test anything: {acked:?}"
    );
}

// ---- 2. the CLI killed while it syncs -------------------------------------------------------

#[test]
fn killing_the_cli_during_syncs_loses_nothing_and_converges() {
    // Access tokens last one second, so kills also land around token refreshes.
    let o = org_with(&["--access-ttl-secs", "1"]);
    let url = o.server.url();
    let home = Home::new().unwrap();
    home.login(&url, "li", "pw-li-secret").unwrap().ok();
    let db = home.path().join("device.db");
    let laptop = Device::new(&url, "li", "li-laptop");
    let mut rng = crash::rng("syncs of the CLI", 0x5eed_0002);
    let wanted = crash::loops(30);
    let mut acked = Acknowledged::default();
    let mut n = 0;
    let mut laptop_edits = 0;

    let mut pace = Pace::new();
    for _ in 0..3 {
        n += 1;
        write_through_cli(&home, Write::random(&mut rng, &acked, n), &mut acked);
        let started = Instant::now();
        home.run(&["sync", "--json"]).unwrap().ok();
        pace.record(started.elapsed());
    }
    let typical = pace.typical();
    println!("a sync through the CLI takes about {typical:?}");

    let started = Instant::now();
    let mut tally = Tally::new();
    let mut kills = 0;
    let mut runs = 0;
    while kills < wanted {
        runs += 1;
        assert!(
            runs < 20 * wanted + 100,
            "too few syncs were killed: {kills} of {runs}"
        );
        // Local work the server has not seen.
        for _ in 0..rng.random_range(1..=3) {
            n += 1;
            write_through_cli(&home, Write::random(&mut rng, &acked, n), &mut acked);
        }
        // News from the rep's other device, for the sync to pull.
        if rng.random_ratio(1, 2) {
            laptop.sync();
            let theirs: Vec<String> = laptop
                .store
                .document_ids()
                .unwrap()
                .into_iter()
                .filter(|(_, k)| k.as_str() == "customer")
                .map(|(id, _)| id)
                .collect();
            if let Some(c) = theirs.get(rng.random_range(0..theirs.len().max(1))) {
                laptop_edits += 1;
                laptop
                    .store
                    .update_customer(c, &[CustomerEdit::AppendNotes(format!("笔记本{n}"))])
                    .unwrap();
                laptop
                    .store
                    .create_visit(visit(c, "li", &format!("笔记本拜访{n}")))
                    .unwrap();
            }
            laptop.sync();
        }

        let before = device_state(&db);
        let rounds_before = server_rounds(&url);
        match pace
            .run(
                runs,
                &mut rng,
                &mut home.command(&["sync", "--json"]).unwrap(),
            )
            .unwrap()
        {
            Ending::Exited(run) => {
                run.ok();
                tally.add("finished before the kill");
            }
            Ending::Killed => {
                kills += 1;
                let after = device_state(&db);
                let rounds = server_rounds(&url) - rounds_before;
                tally.add(if rounds == 0 && after.session != before.session {
                    "killed after a token refresh, before the server handled a round"
                } else if rounds == 0 {
                    "killed before the server handled a round"
                } else if after.cursor == before.cursor && after.unsent == before.unsent {
                    "killed after the server handled a round, before the device recorded it"
                } else if after.cursor == before.cursor {
                    "killed after acknowledgements were recorded, before the cursor"
                } else {
                    "killed after the cursor was stored"
                });
                let check = integrity(&db);
                assert_eq!(check, "ok", "kill {kills}: the store is damaged");
            }
        }
        // The device still works and is still logged in.
        let status = cli_json(&home, &["status", "--json"]);
        assert_eq!(
            status["user"]["username"].as_str(),
            Some("li"),
            "after run {runs} the device lost its session: {status}"
        );
    }
    tally.print(
        &format!("syncs: {kills} kills of the CLI during {runs} syncs"),
        started.elapsed(),
    );

    // A normal sync completes; everyone converges; every acknowledged write is on the server.
    home.run(&["sync", "--json"]).unwrap().ok();
    laptop.sync();
    home.run(&["sync", "--json"]).unwrap().ok();
    let store = Store::open(&db).unwrap();
    assert_eq!(store.integrity_check(), Ok(()));
    assert!(store.unsent_documents().unwrap().is_empty());
    assert!(store.list_quarantine().unwrap().is_empty());
    let admin = Device::new(&url, "admin", "audit");
    admin.sync();
    let on_server = admin.documents();
    check_acknowledged_present(&acked, "on the server", |id| on_server.get(id).cloned());
    let on_device = documents(&store);
    assert_eq!(
        on_device,
        laptop.documents(),
        "the CLI device and the laptop differ"
    );
    assert_eq!(on_device, on_server, "the CLI device and the server differ");
    assert!(laptop_edits > 0, "the laptop never edited anything");
}

// ---- 2b. the CLI killed around a token refresh ---------------------------------------------

#[test]
fn killing_the_cli_during_token_refreshes_never_logs_the_device_out() {
    let o = org();
    let url = o.server.url();
    let server_db = o.data.path().join("fieldsync.db");
    let home = Home::new().unwrap();
    home.login(&url, "li", "pw-li-secret").unwrap().ok();
    let db = home.path().join("device.db");
    let mut rng = crash::rng("token refreshes", 0x5eed_0004);
    let wanted = crash::loops(30);
    let mut acked = Acknowledged::default();
    let mut n = 0;

    let mut pace = Pace::new();
    for _ in 0..3 {
        n += 1;
        write_through_cli(&home, Write::random(&mut rng, &acked, n), &mut acked);
        expire_access_token(&db, o.data.path());
        let started = Instant::now();
        home.run(&["sync", "--json"]).unwrap().ok();
        pace.record(started.elapsed());
    }
    let typical = pace.typical();
    println!("a sync that starts with a refresh takes about {typical:?}");

    let started = Instant::now();
    let mut tally = Tally::new();
    let mut kills = 0;
    let mut runs = 0;
    while kills < wanted {
        runs += 1;
        assert!(
            runs < 20 * wanted + 100,
            "too few syncs were killed: {kills} of {runs}"
        );
        n += 1;
        write_through_cli(&home, Write::random(&mut rng, &acked, n), &mut acked);
        expire_access_token(&db, o.data.path());
        let saved_before = device_state(&db).session;
        let retired_before = retired_refresh_tokens(&server_db);
        match pace
            .run(
                runs,
                &mut rng,
                &mut home.command(&["sync", "--json"]).unwrap(),
            )
            .unwrap()
        {
            Ending::Exited(run) => {
                run.ok();
                tally.add("finished before the kill");
            }
            Ending::Killed => {
                kills += 1;
                let rotated = retired_refresh_tokens(&server_db) > retired_before;
                let saved = device_state(&db).session != saved_before;
                tally.add(match (rotated, saved) {
                    (false, _) => "killed before the server rotated the refresh token",
                    (true, false) => {
                        "killed after the server rotated the refresh token, before the device saved the new one"
                    }
                    (true, true) => "killed after the device saved the new tokens",
                });
                let check = integrity(&db);
                assert_eq!(check, "ok", "kill {kills}: the store is damaged");
            }
        }
        // Still logged in, and the next sync goes through without a new login.
        let next = home.run(&["sync", "--json"]).unwrap();
        assert_eq!(
            next.code,
            Some(0),
            "after run {runs} the device cannot sync without logging in again: {}",
            next.stderr
        );
    }
    tally.print(
        &format!("token refreshes: {kills} kills of the CLI during {runs} syncs"),
        started.elapsed(),
    );
}

// ---- 3. the server killed during syncs and first syncs -----------------------------------

/// A transport that says when a round is in flight: `gauge` holds `1` (or, with `numbered`,
/// the number of the round) from the request until its answer. Rounds sent ahead go out
/// unwatched.
struct Watched<'a, T> {
    inner: T,
    gauge: &'a AtomicUsize,
    numbered: bool,
    answered: usize,
}

impl<T: Transport> Transport for Watched<'_, T> {
    fn sync_round(&mut self, body: Vec<u8>) -> Result<Vec<u8>, SyncError> {
        let mark = if self.numbered { self.answered + 1 } else { 1 };
        self.gauge.fetch_add(mark, Ordering::SeqCst);
        let answer = self.inner.sync_round(body);
        self.gauge.fetch_sub(mark, Ordering::SeqCst);
        if answer.is_ok() {
            self.answered += 1;
        }
        answer
    }

    // As devices do: the next page travels while one is merged, so kills also land on a
    // request sent ahead.
    fn send_ahead(&mut self, body: Vec<u8>) {
        self.inner.send_ahead(body);
    }
}

/// A document id and the heads a device had when a sync of it succeeded.
type AckedHeads = (String, Vec<ChangeHash>);

on_every_backend!(killing_the_server_during_syncs_and_first_syncs_loses_nothing);

fn killing_the_server_during_syncs_and_first_syncs_loses_nothing(backend: Backend) {
    const SEEDED: usize = 150;
    const PAGE: usize = 20;
    let test_started = Instant::now();
    let Some(mut o) = org_on(backend, &["--page-documents", &PAGE.to_string()]) else {
        return;
    };
    let url = o.server.url();
    let mut rng = crash::rng("server kills", 0x5eed_0003);
    let wanted = crash::loops(20);

    // Customers in the east, so a new manager's device pulls them in many pages.
    let seeder = Device::new(&url, "li", "li-office");
    let mut seeded = BTreeSet::new();
    for k in 0..SEEDED {
        let mut c: NewCustomer = customer(&format!("老客户{k}"), "east", "li");
        c.notes = format!("第{k}号客户的档案，{}", "历年往来记录。".repeat(20));
        seeded.insert(seeder.store.create_customer(c).unwrap());
    }
    seeder.sync();
    println!(
        "seeded {} customers ({} pull pages) in {:.1} s",
        seeded.len(),
        SEEDED.div_ceil(PAGE),
        test_started.elapsed().as_secs_f64()
    );
    drop(seeder);

    let stop = Arc::new(AtomicBool::new(false));
    let pushes_in_flight = Arc::new(AtomicUsize::new(0));
    let first_sync_round = Arc::new(AtomicUsize::new(0));
    let acked: Arc<Mutex<BTreeSet<AckedHeads>>> = Arc::default();

    // Two reps write and sync without pause.
    let mut pushers = Vec::new();
    for (user, device) in [("li", "li-phone"), ("wang", "wang-phone")] {
        let d = Device::new(&url, user, device);
        let own = d
            .store
            .create_customer(customer(&format!("{user}的客户"), "east", user))
            .unwrap();
        let (stop, gauge, acked) = (stop.clone(), pushes_in_flight.clone(), acked.clone());
        pushers.push(std::thread::spawn(move || {
            let mut ok = 0;
            for i in 0.. {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                if i % 3 == 0 {
                    d.store
                        .create_visit(visit(&own, &d.user, &format!("{device}第{i}次")))
                        .unwrap();
                } else {
                    d.store
                        .update_customer(
                            &own,
                            &[CustomerEdit::AppendNotes(format!("{device}-{i}"))],
                        )
                        .unwrap();
                }
                let mut transport = Watched {
                    inner: HttpClient::from_store(&d.store).unwrap(),
                    gauge: &gauge,
                    numbered: false,
                    answered: 0,
                };
                match fieldsync_core::sync::run(&d.store, &mut transport, |_| {}) {
                    Ok(_) => {
                        ok += 1;
                        let mut a = acked.lock().unwrap();
                        for (id, _) in d.store.document_ids().unwrap() {
                            a.insert((id.clone(), d.store.heads(&id).unwrap()));
                        }
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
            (d, ok)
        }));
    }

    // A new device of the manager, again and again: each first sync pulls every big customer
    // page by page, and resumes from its cursor when the server dies under it.
    let session = HttpClient::new(&url)
        .unwrap()
        .login("zhang", "pw-zhang-secret", "zhang-new")
        .unwrap();
    let newcomer = {
        let (stop, gauge, seeded) = (stop.clone(), first_sync_round.clone(), seeded.clone());
        let url = url.clone();
        std::thread::spawn(move || {
            // (failed attempts, rounds taken) of each first sync that completed.
            let mut completed = Vec::new();
            let mut last = None;
            while !stop.load(Ordering::SeqCst) {
                let dir = tempfile::tempdir().unwrap();
                let store = Store::open(dir.path().join("new.db")).unwrap();
                let mut transport = Watched {
                    inner: HttpClient::new(&url).unwrap().with_session(session.clone()),
                    gauge: &gauge,
                    numbered: true,
                    answered: 0,
                };
                let mut interrupted = 0;
                let done = loop {
                    match fieldsync_core::sync::run(&store, &mut transport, |_| {}) {
                        Ok(_) => break true,
                        Err(_) if stop.load(Ordering::SeqCst) => break false,
                        Err(_) => {
                            interrupted += 1;
                            std::thread::sleep(Duration::from_millis(20));
                        }
                    }
                };
                if done {
                    let ids: BTreeSet<String> = store
                        .document_ids()
                        .unwrap()
                        .into_iter()
                        .map(|(id, _)| id)
                        .collect();
                    let missing = seeded.difference(&ids).count();
                    assert_eq!(
                        missing, 0,
                        "a first sync that failed {interrupted} times completed without {missing} customers"
                    );
                    assert_eq!(store.integrity_check(), Ok(()));
                    completed.push((interrupted, transport.answered));
                }
                last = Some((store, dir, interrupted));
            }
            (completed, last)
        })
    };

    let started = Instant::now();
    let mut tally = Tally::new();
    for kill in 0..wanted {
        // A third of the kills at a random moment, a third while a first sync's page is in
        // flight, a third while a push is.
        let aim = match kill % 3 {
            0 => None,
            1 => Some(&first_sync_round),
            _ => Some(&pushes_in_flight),
        };
        match aim {
            None => std::thread::sleep(Duration::from_millis(rng.random_range(50..800))),
            Some(gauge) => {
                let waited = Instant::now();
                while gauge.load(Ordering::SeqCst) == 0
                    && waited.elapsed() < Duration::from_secs(10)
                {
                    std::thread::sleep(Duration::from_millis(1));
                }
                std::thread::sleep(Duration::from_millis(rng.random_range(0..20)));
                // A round may end during that pause: the kill waits for the next one to be in
                // flight (on a loaded machine a short round is easily missed otherwise).
                let again = Instant::now();
                while gauge.load(Ordering::SeqCst) == 0 && again.elapsed() < Duration::from_secs(2)
                {
                    std::thread::yield_now();
                }
            }
        }
        let page = first_sync_round.load(Ordering::SeqCst);
        let pushes = pushes_in_flight.load(Ordering::SeqCst);
        o.server.kill();
        let pages = SEEDED.div_ceil(PAGE);
        tally.add(match page {
            0 if pushes > 0 => "killed with pushes in flight".to_string(),
            0 => "killed between rounds".to_string(),
            1 => "killed during a first sync, its first page in flight".to_string(),
            p if p <= pages => format!("killed during a first sync, page 2 to {pages} in flight"),
            _ => format!(
                "killed during a first sync, page {} or later in flight",
                pages + 1
            ),
        });
        if page > 0 && pushes > 0 {
            tally.add("of the first-sync kills: with pushes in flight too");
        }
        // On PostgreSQL (which the kill does not touch): amcheck and the log's head instead of
        // `PRAGMA integrity_check` (Org::check_database).
        assert_eq!(
            o.check_database(),
            "ok",
            "kill {}: the server's database is damaged",
            kill + 1
        );
        std::thread::sleep(Duration::from_millis(rng.random_range(0..100)));
        o.server.restart().unwrap();
    }
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::SeqCst);
    tally.print(
        &format!("server: {wanted} kills of the server"),
        started.elapsed(),
    );
    let mut devices = Vec::new();
    for p in pushers {
        let (d, ok) = p.join().unwrap();
        assert!(ok > 0, "{} never synced", d.user);
        devices.push(d);
    }
    let (completed, last) = newcomer.join().unwrap();
    println!(
        "first syncs completed during the loop: {} ((failed attempts, rounds) each: {completed:?})",
        completed.len(),
    );
    // The pages: a first sync takes a round per page, more when kills make it start over.
    assert!(
        completed
            .iter()
            .any(|&(_, rounds)| rounds >= SEEDED.div_ceil(PAGE)),
        "no first sync completed over its pages during the loop: {completed:?}"
    );
    assert!(
        completed.iter().any(|&(kills, _)| kills > 0),
        "no completed first sync was interrupted by a kill: {completed:?}"
    );
    assert!(
        tally.with_prefix("killed during a first sync") > 0,
        "no kill landed during a first sync"
    );

    println!("loop done at {:.1} s", test_started.elapsed().as_secs_f64());
    // Everyone syncs until quiet; the last new device finishes its first sync.
    assert_eq!(o.check_database(), "ok");
    for _ in 0..2 {
        for d in &devices {
            d.sync();
        }
    }
    let admin = Device::new(&url, "admin", "audit");
    admin.sync();
    let on_server = admin.documents();
    println!(
        "admin synced at {:.1} s",
        test_started.elapsed().as_secs_f64()
    );
    let acked = acked.lock().unwrap();
    assert!(
        acked.len() > 10,
        "too few acknowledged syncs: {}",
        acked.len()
    );
    let mut loaded: BTreeMap<&str, AutoCommit> = BTreeMap::new();
    for (id, heads) in acked.iter() {
        let doc = loaded
            .entry(id)
            .or_insert_with(|| AutoCommit::load(&admin.store.document_bytes(id).unwrap()).unwrap());
        let lost = doc.get_missing_deps(heads);
        assert!(
            lost.is_empty(),
            "acknowledged changes {lost:?} of {id} are lost"
        );
    }
    for d in &devices {
        for (id, doc) in d.documents() {
            assert_eq!(Some(&doc), on_server.get(&id), "{}'s {id} differs", d.user);
        }
        assert!(d.store.unsent_documents().unwrap().is_empty());
        assert!(d.store.list_quarantine().unwrap().is_empty());
    }
    // The manager's new device, interrupted or not, ends with exactly what the server has in
    // the manager's scope (all of it here: every customer is in the east).
    println!(
        "acknowledged checked at {:.1} s",
        test_started.elapsed().as_secs_f64()
    );
    let (store, _dir, interrupted) = last.expect("the new device ran");
    let mut client = HttpClient::new(&url)
        .unwrap()
        .login("zhang", "pw-zhang-secret", "zhang-new-2")
        .map(|s| HttpClient::new(&url).unwrap().with_session(s))
        .unwrap();
    fieldsync_core::sync::run(&store, &mut client, |_| {}).unwrap();
    assert_eq!(store.integrity_check(), Ok(()));
    assert_eq!(
        documents(&store),
        on_server,
        "the new device (interrupted {interrupted} times) differs from the server"
    );
}
