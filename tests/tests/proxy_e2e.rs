//! Devices syncing through a network that fails: every device of a sales team syncs through
//! `fieldsync_tests::fault_proxy`, which drops, delays, duplicates, cuts and resets its
//! connections by a seeded plan, while the devices write at random. With the faults off,
//! every device then syncs until quiet, and nothing written may be missing or apart; on each
//! backend of the server ([`on_every_backend!`]).
//!
//! `FIELDSYNC_PROXY_SEED=<n>` reruns the test with another plan (the seed is printed).
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::{Backend, Device, customer, org_on, visit};
use fieldsync_core::model::DocKind;
use fieldsync_core::model::customer::CustomerEdit;
use fieldsync_core::model::expense_claim::{ExpenseCategory, ExpenseClaimEdit, NewExpenseClaim};
use fieldsync_core::model::fields::Money;
use fieldsync_core::model::trip_plan::NewTripPlan;
use fieldsync_core::model::visit::VisitEdit;
use fieldsync_core::sync::SyncError;
use fieldsync_tests::fault_proxy::{Fault, FaultConfig, FaultProxy};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The plan's seed when `FIELDSYNC_PROXY_SEED` is not set.
const DEFAULT_SEED: u64 = 20_261_124;
/// Writes (each maybe followed by a sync) per device.
const STEPS: usize = 60;
/// The faulty phase stops after this long even if the steps are not done.
const TIME_LIMIT: Duration = Duration::from_secs(25);

/// The devices: user, device name.
const DEVICES: [(&str, &str); 8] = [
    ("li", "li-phone"),
    ("li", "li-laptop"),
    ("wang", "wang-phone"),
    ("wang", "wang-laptop"),
    ("chen", "chen-phone"),
    ("chen", "chen-laptop"),
    ("zhang", "zhang-laptop"),
    ("zhao", "zhao-phone"),
];

fn seed() -> u64 {
    match std::env::var("FIELDSYNC_PROXY_SEED") {
        Ok(s) => s
            .parse()
            .unwrap_or_else(|_| panic!("FIELDSYNC_PROXY_SEED={s} is not a number")),
        Err(_) => DEFAULT_SEED,
    }
}

/// One write: which device made it, in which document, and a text only it wrote.
#[derive(Debug, Clone)]
struct Write {
    device: usize,
    doc: String,
    marker: String,
}

/// What one device did in the faulty phase.
#[derive(Default)]
struct DeviceRun {
    writes: Vec<Write>,
    syncs_ok: u32,
    /// Failed syncs by kind of error, with the first message of each.
    errors: BTreeMap<&'static str, (u32, String)>,
}

fn error_kind(e: &SyncError) -> &'static str {
    match e {
        SyncError::Network(_) => "network",
        SyncError::Auth(_) => "auth",
        SyncError::Server { .. } => "server",
        SyncError::Protocol(_) => "protocol",
        SyncError::Store(_) => "store",
        SyncError::Incomplete { .. } => "incomplete",
        SyncError::TooManyRounds(_) => "too many rounds",
        _ => "other",
    }
}

/// The territory and the reps a user may write customers for.
fn writes_customers_for(user: &str) -> (&'static str, &'static [&'static str]) {
    match user {
        "li" => ("east", &["li"]),
        "wang" => ("east", &["wang"]),
        "chen" => ("north", &["chen"]),
        "zhang" => ("east", &["li", "wang"]),
        _ => ("north", &["chen"]),
    }
}

fn manager_of(rep: &str) -> &'static str {
    if rep == "chen" { "zhao" } else { "zhang" }
}

/// One random write of device `n`; `None` when the device knows no document to edit yet.
fn random_write(n: usize, d: &Device, step: usize, rng: &mut ChaCha8Rng) -> Option<Write> {
    let marker = format!("[w{n}.{step}]");
    let is_rep = !matches!(d.user.as_str(), "zhang" | "zhao");
    let known = d.store.document_ids().unwrap();
    let of_kind = |kind: DocKind| -> Vec<String> {
        known
            .iter()
            .filter(|(_, k)| *k == kind)
            .map(|(id, _)| id.clone())
            .collect()
    };
    let customers = of_kind(DocKind::Customer);
    let pick = |ids: &[String], rng: &mut ChaCha8Rng| ids[rng.random_range(0..ids.len())].clone();
    let doc = match rng.random_range(0..10u8) {
        0 => {
            let (territory, owners) = writes_customers_for(&d.user);
            let owner = owners[rng.random_range(0..owners.len())];
            let mut c = customer(&format!("客户{marker}"), territory, owner);
            c.created_by = d.user.clone();
            d.store.create_customer(c).unwrap()
        }
        1..=3 if is_rep && !customers.is_empty() => {
            let c = pick(&customers, rng);
            d.store
                .create_visit(visit(&c, &d.user, &format!("拜访{marker}")))
                .unwrap()
        }
        1..=3 => {
            let visits = of_kind(DocKind::Visit);
            if visits.is_empty() {
                return None;
            }
            let v = pick(&visits, rng);
            d.store
                .update_visit(
                    &v,
                    &[VisitEdit::AddComment {
                        author: d.user.clone(),
                        text: format!("意见{marker}"),
                    }],
                )
                .unwrap();
            v
        }
        4..=7 => {
            // The same customers are edited by the rep's two devices and the manager.
            if customers.is_empty() {
                return None;
            }
            let c = pick(&customers, rng);
            d.store
                .update_customer(&c, &[CustomerEdit::AppendNotes(format!("备注{marker}"))])
                .unwrap();
            c
        }
        8 if is_rep => d
            .store
            .create_trip_plan(NewTripPlan {
                owner: d.user.clone(),
                approver: manager_of(&d.user).into(),
                title: format!("出差{marker}"),
                start_date: "2026-12-01".into(),
                end_date: "2026-12-03".into(),
                cities: vec!["苏州".into()],
                budget: Money::cny(300_000),
            })
            .unwrap(),
        9 if is_rep => {
            let claims = of_kind(DocKind::ExpenseClaim);
            if claims.is_empty() || rng.random_bool(0.3) {
                d.store
                    .create_expense_claim(NewExpenseClaim {
                        owner: d.user.clone(),
                        approver: manager_of(&d.user).into(),
                        trip: None,
                        title: format!("报销{marker}"),
                        currency: None,
                    })
                    .unwrap()
            } else {
                let claim = pick(&claims, rng);
                d.store
                    .update_expense_claim(
                        &claim,
                        &[ExpenseClaimEdit::AddItem {
                            date: "2026-12-01".into(),
                            category: ExpenseCategory::Meals,
                            amount: Money::cny(rng.random_range(1_000..20_000)),
                            description: Some(format!("餐费{marker}")),
                            invoice_photo: None,
                            receipt: None,
                        }],
                    )
                    .unwrap();
                claim
            }
        }
        _ => return None,
    };
    Some(Write {
        device: n,
        doc,
        marker,
    })
}

/// Syncs every device until a whole pass pushes and pulls nothing.
fn sync_until_quiet(devices: &[Device]) {
    for _ in 0..10 {
        let mut moved = 0;
        for d in devices {
            let report = d.sync();
            moved += report.pushed + report.pulled;
        }
        if moved == 0 {
            return;
        }
    }
    panic!("the devices did not become quiet after 10 passes");
}

on_every_backend!(devices_syncing_through_faults_lose_nothing_and_converge);

fn devices_syncing_through_faults_lose_nothing_and_converge(backend: Backend) {
    let started = Instant::now();
    let seed = seed();
    let Some(o) = org_on(backend, &[]) else {
        return;
    };
    let proxy = FaultProxy::in_front_of(
        &o.server.url(),
        FaultConfig {
            seed,
            fault_rate: 0.35,
            max_delay: Duration::from_millis(200),
        },
    )
    .unwrap();
    // Log in and meet the team's first customers with a good network.
    proxy.set_faults(false);
    let devices: Vec<Device> = DEVICES
        .iter()
        .map(|(user, name)| Device::new(&proxy.url(), user, name))
        .collect();
    for rep in [0, 2, 4] {
        let d = &devices[rep];
        let (territory, _) = writes_customers_for(&d.user);
        for k in 0..2 {
            d.store
                .create_customer(customer(
                    &format!("{}的老客户{k}", d.user),
                    territory,
                    &d.user,
                ))
                .unwrap();
        }
    }
    sync_until_quiet(&devices);

    proxy.set_faults(true);
    let phase = Instant::now();
    let workers: Vec<_> = devices
        .into_iter()
        .enumerate()
        .map(|(n, d)| {
            std::thread::spawn(move || {
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                rng.set_stream(n as u64 + 1);
                let mut run = DeviceRun::default();
                for step in 0..STEPS {
                    if phase.elapsed() > TIME_LIMIT {
                        break;
                    }
                    run.writes.extend(random_write(n, &d, step, &mut rng));
                    if rng.random_bool(0.7) {
                        match d.try_sync() {
                            Ok(_) => run.syncs_ok += 1,
                            Err(e) => {
                                let entry = run
                                    .errors
                                    .entry(error_kind(&e))
                                    .or_insert_with(|| (0, e.to_string()));
                                entry.0 += 1;
                            }
                        }
                    }
                }
                (d, run)
            })
        })
        .collect();
    let mut devices = Vec::new();
    let mut writes = Vec::new();
    let mut errors: BTreeMap<&str, (u32, String)> = BTreeMap::new();
    let mut syncs_ok = 0;
    for w in workers {
        let (d, run) = w.join().unwrap();
        devices.push(d);
        writes.extend(run.writes);
        syncs_ok += run.syncs_ok;
        for (kind, (count, first)) in run.errors {
            errors.entry(kind).or_insert((0, first)).0 += count;
        }
    }
    let faulty_secs = phase.elapsed().as_secs_f64();
    let counts = proxy.counts();
    println!("seed {seed} (set FIELDSYNC_PROXY_SEED to rerun another plan)");
    println!(
        "faulty phase: {faulty_secs:.1} s, {} writes, {syncs_ok} syncs ok",
        writes.len()
    );
    println!("proxy: {counts}");
    for (kind, (count, first)) in &errors {
        println!("failed syncs, {kind}: {count} (first: {first})");
    }

    // Faults off: everyone syncs until nothing moves.
    proxy.set_faults(false);
    sync_until_quiet(&devices);

    // (c) The server's database is sound (on PostgreSQL: amcheck and the log's head instead of
    // `PRAGMA integrity_check`, Org::check_database).
    assert_eq!(o.check_database(), "ok");

    // (a) Every device holds exactly what the server holds for its user: a fresh device of the
    // same user, straight to the server, is the server's view.
    let mut server_views = BTreeMap::new();
    for d in &devices {
        let view = server_views.entry(d.user.clone()).or_insert_with(|| {
            let fresh = Device::new(&o.server.url(), &d.user, "audit");
            fresh.sync();
            fresh.documents()
        });
        let mine = d.documents();
        assert_eq!(
            mine.keys().collect::<Vec<_>>(),
            view.keys().collect::<Vec<_>>(),
            "{}'s device holds other documents than the server has for them",
            d.user
        );
        for (id, doc) in &mine {
            assert_eq!(
                Some(doc),
                view.get(id),
                "{}'s {id} differs from the server's",
                d.user
            );
        }
        assert!(d.store.unsent_documents().unwrap().is_empty());
    }

    // (b) Every write is on the server, or in its device's quarantine with a reason.
    let admin = Device::new(&o.server.url(), "admin", "audit");
    admin.sync();
    let everything = admin.documents();
    let mut quarantined = 0;
    for w in &writes {
        let present = everything
            .get(&w.doc)
            .is_some_and(|doc| doc.to_string().contains(&w.marker));
        if present {
            continue;
        }
        let entries = devices[w.device].store.list_quarantine().unwrap();
        let entry = entries.iter().find(|e| e.doc_id == w.doc);
        assert!(
            entry.is_some_and(|e| !e.reason.is_empty()),
            "write {} of device {} to {} is neither on the server nor quarantined",
            w.marker,
            DEVICES[w.device].1,
            w.doc
        );
        quarantined += 1;
    }
    println!(
        "{} writes checked: {} on the server, {quarantined} quarantined with a reason",
        writes.len(),
        writes.len() - quarantined
    );
    assert!(
        writes.len() >= 100,
        "too few writes to test anything: {}",
        writes.len()
    );

    // Every failed sync was a broken connection, never a wrong answer, and there were no
    // more of them than the faults that break a request.
    let failed: u32 = errors.values().map(|(n, _)| n).sum();
    assert_eq!(
        errors.keys().copied().collect::<Vec<_>>(),
        if failed == 0 { vec![] } else { vec!["network"] },
        "a sync failed with something other than a network error: {errors:?}"
    );
    assert!(u64::from(failed) <= counts.failed_requests());

    // (d) Every kind of fault was injected, so the test did not pass on a good network.
    assert_eq!(counts.missing_kinds(), Vec::<&str>::new(), "{counts}");
    assert_eq!(counts.not_injected_errors, 0, "{counts}");
    println!("whole test: {:.1} s", started.elapsed().as_secs_f64());
}

/// Waits until an access token issued now with a lifetime of 1 s is refused as expired (the
/// server allows 5 s of clock skew).
fn wait_for_expiry() {
    std::thread::sleep(Duration::from_millis(7_000));
}

#[test]
fn a_lost_or_repeated_refresh_answer_keeps_the_session() {
    let o = common::org_with(&["--access-ttl-secs", "1"]);
    let proxy = FaultProxy::in_front_of(&o.server.url(), FaultConfig::default()).unwrap();
    proxy.set_faults(false);
    let phone = Device::new(&proxy.url(), "li", "li-phone");
    let c = phone
        .store
        .create_customer(customer("断线客户", "east", "li"))
        .unwrap();
    phone.sync();

    // The token expires; the round is refused, the refresh goes through on the server, but its
    // answer is cut off on the way back.
    wait_for_expiry();
    phone
        .store
        .update_customer(&c, &[CustomerEdit::AppendNotes("[lost answer]".into())])
        .unwrap();
    proxy.script([Fault::Pass, Fault::TruncateResponse { cut: 500 }]);
    let e = phone.try_sync().unwrap_err();
    assert!(matches!(e, SyncError::Network(_)), "{e}");

    // The next sync refreshes again, and this time the network repeats the refresh request.
    proxy.script([Fault::Pass, Fault::Duplicate { parallel: false }]);
    phone
        .try_sync()
        .unwrap_or_else(|e| panic!("a lost refresh answer ended the session: {e}"));

    // Once more with the answer reset mid-body, and then the two copies at once.
    wait_for_expiry();
    proxy.script([Fault::Pass, Fault::ResetResponse { cut: 10 }]);
    assert!(matches!(phone.try_sync(), Err(SyncError::Network(_))));
    proxy.script([Fault::Pass, Fault::Duplicate { parallel: true }]);
    phone
        .try_sync()
        .unwrap_or_else(|e| panic!("a repeated refresh request ended the session: {e}"));

    // The session lives on, and the edit made meanwhile is on the server.
    let laptop = Device::new(&o.server.url(), "li", "li-laptop");
    laptop.sync();
    assert!(laptop.documents()[&c].to_string().contains("[lost answer]"));
    let counts = proxy.counts();
    assert_eq!(
        (
            counts.truncated_responses,
            counts.duplicated,
            counts.reset_responses
        ),
        (1, 2, 1),
        "{counts}"
    );
}
