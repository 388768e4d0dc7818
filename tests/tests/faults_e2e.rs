//! Faults against the real server process: SIGKILL in the middle of a stream of syncs from
//! several devices loses nothing acknowledged, on each backend of the server
//! ([`on_every_backend!`]). (Hostile requests: `hostile_e2e.rs`.)
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use automerge::{AutoCommit, ChangeHash};
use common::{Backend, Device, customer, org_on, visit};
use fieldsync_core::model::customer::CustomerEdit;

/// A document id and the heads a device had when a sync of it succeeded.
type Acked = (String, Vec<ChangeHash>);

on_every_backend!(killing_the_server_during_syncs_loses_nothing_acknowledged);

fn killing_the_server_during_syncs_loses_nothing_acknowledged(backend: Backend) {
    let Some(mut o) = org_on(backend, &[]) else {
        return;
    };
    let url = o.server.url();
    let setups = [
        ("li", "li-phone"),
        ("li", "li-laptop"),
        ("wang", "wang-phone"),
    ];
    let devices: Vec<Device> = setups
        .iter()
        .map(|(u, d)| Device::new(&url, u, d))
        .collect();
    // Each rep's customer, known to all of their devices.
    let li_c = devices[0]
        .store
        .create_customer(customer("李的客户", "east", "li"))
        .unwrap();
    let wang_c = devices[2]
        .store
        .create_customer(customer("王的客户", "east", "wang"))
        .unwrap();
    for d in &devices {
        d.sync();
    }
    for d in &devices {
        d.sync();
    }

    let stop = Arc::new(AtomicBool::new(false));
    // (document, heads) that a device had when a sync of it succeeded: acknowledged.
    let acked: Arc<Mutex<Vec<Acked>>> = Arc::default();
    let mut workers = Vec::new();
    for (n, d) in devices.into_iter().enumerate() {
        let (stop, acked) = (stop.clone(), acked.clone());
        let customer_id = if d.user == "li" {
            li_c.clone()
        } else {
            wang_c.clone()
        };
        workers.push(std::thread::spawn(move || {
            let mut ok = 0;
            for i in 0..400 {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                if i % 3 == 0 {
                    d.store
                        .create_visit(visit(&customer_id, &d.user, &format!("设备{n}第{i}次")))
                        .unwrap();
                } else {
                    d.store
                        .update_customer(
                            &customer_id,
                            &[CustomerEdit::AppendNotes(format!("设备{n}-{i}"))],
                        )
                        .unwrap();
                }
                match d.try_sync() {
                    Ok(_) => {
                        ok += 1;
                        let mut a = acked.lock().unwrap();
                        for (id, _) in d.store.document_ids().unwrap() {
                            a.push((id.clone(), d.store.heads(&id).unwrap()));
                        }
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(30)),
                }
            }
            (d, ok)
        }));
    }
    for _ in 0..4 {
        std::thread::sleep(Duration::from_millis(400));
        o.server.kill();
        std::thread::sleep(Duration::from_millis(150));
        o.server.restart().unwrap();
    }
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    let mut devices = Vec::new();
    for w in workers {
        let (d, ok) = w.join().unwrap();
        assert!(ok > 0, "{} never synced", d.user);
        devices.push(d);
    }

    // The server's database survived the kills (on PostgreSQL, which the kills do not touch,
    // amcheck and the log's head instead of `PRAGMA integrity_check`: Org::check_database).
    assert_eq!(o.check_database(), "ok");

    // Everyone syncs until quiet, then everything converges and every acknowledged change is on
    // the server.
    for _ in 0..3 {
        for d in &devices {
            d.sync();
        }
    }
    let admin = Device::new(&url, "admin", "audit");
    admin.sync();
    let server_docs = admin.documents();
    let acked = acked.lock().unwrap();
    assert!(
        acked.len() > 10,
        "too few acknowledged syncs to test anything: {}",
        acked.len()
    );
    for (id, heads) in acked.iter() {
        let mut doc = AutoCommit::load(&admin.store.document_bytes(id).unwrap()).unwrap();
        for h in heads {
            assert!(
                doc.get_change_by_hash(h).is_some(),
                "acknowledged change {h} of {id} is lost"
            );
        }
    }
    for d in &devices {
        for (id, doc) in d.documents() {
            assert_eq!(
                Some(&doc),
                server_docs.get(&id),
                "{}'s {id} differs from the server's",
                d.user
            );
        }
        assert!(d.store.unsent_documents().unwrap().is_empty());
        assert!(d.store.list_quarantine().unwrap().is_empty());
    }
    assert_eq!(
        devices[0].documents(),
        devices[1].documents(),
        "li's phone and laptop differ"
    );
}
