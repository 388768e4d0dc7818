//! A committed write survives the process dying at any moment: the store is dropped without
//! closing, or the writing process is killed (SIGKILL) in the middle of a write loop.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use common::new_customer;
use fieldsync_core::Store;
use fieldsync_core::model::customer::CustomerEdit;
use fieldsync_core::model::visit::NewVisit;

const CHILD_ENV: &str = "FIELDSYNC_CRASH_CHILD_DB";

fn new_visit(customer: &str, n: u64) -> NewVisit {
    NewVisit {
        customer: customer.to_string(),
        author: "li.wei".into(),
        checkin_at: "2026-11-20T02:30:00Z".into(),
        utc_offset_minutes: 480,
        summary: format!("第{n}次拜访"),
        ..Default::default()
    }
}

#[test]
fn dropping_the_store_without_closing_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("phone.db");
    let store = Store::open(&path).unwrap();
    let customer = store
        .create_customer(new_customer("华东精密机械有限公司"))
        .unwrap();
    let mut visits = Vec::new();
    for n in 0..20 {
        visits.push(store.create_visit(new_visit(&customer, n)).unwrap());
        store
            .update_customer(&customer, &[CustomerEdit::AppendNotes(format!("note-{n}"))])
            .unwrap();
    }
    // No destructor runs: the connection is never closed and the WAL is never checkpointed.
    std::mem::forget(store);

    let reopened = Store::open(&path).unwrap();
    assert_eq!(reopened.integrity_check(), Ok(()));
    for v in &visits {
        reopened.visit(v).unwrap();
    }
    let notes = reopened
        .customer(&customer)
        .unwrap()
        .notes
        .as_str()
        .to_string();
    for n in 0..20 {
        assert!(notes.contains(&format!("note-{n}")), "note-{n} lost");
    }
    assert_eq!(
        reopened.visits_of_customer(&customer, 100).unwrap().len(),
        20
    );
}

/// The child side: writes until killed, printing each write once it is committed.
/// Runs only when the parent test starts it.
#[test]
#[ignore = "started by killed_writer_loses_no_committed_write"]
fn crash_child_writer() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    let store = Store::open(&path).unwrap();
    let customer = match std::env::var("FIELDSYNC_CRASH_CUSTOMER") {
        Ok(id) => id,
        Err(_) => store
            .create_customer(new_customer("苏州恒达机械有限公司"))
            .unwrap(),
    };
    let mut out = std::io::stdout().lock();
    // The test harness has printed "test crash_child_writer ... " without a newline.
    writeln!(out).unwrap();
    writeln!(out, "customer {customer}").unwrap();
    out.flush().unwrap();
    for n in 0..100_000u64 {
        let visit = store.create_visit(new_visit(&customer, n)).unwrap();
        writeln!(out, "visit {visit}").unwrap();
        let marker = format!("{}-{n}", std::process::id());
        store
            .update_customer(&customer, &[CustomerEdit::AppendNotes(marker.clone())])
            .unwrap();
        writeln!(out, "note {marker}").unwrap();
        out.flush().unwrap();
    }
}

#[test]
fn killed_writer_loses_no_committed_write() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("laptop.db");
    let exe = std::env::current_exe().unwrap();
    let mut customer: Option<String> = None;
    let mut visits = Vec::new();
    let mut notes = Vec::new();

    // Kill after a different number of writes each round, so the kill lands at different
    // points of the write path.
    for (round, kill_after) in [3usize, 17, 40, 71, 5, 123, 29, 58].into_iter().enumerate() {
        let mut cmd = Command::new(&exe);
        cmd.args([
            "--exact",
            "crash_child_writer",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
        if let Some(c) = &customer {
            cmd.env("FIELDSYNC_CRASH_CUSTOMER", c);
        }
        let mut child = cmd.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut seen = 0;
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            if let Some(id) = line.strip_prefix("customer ") {
                customer = Some(id.to_string());
            } else if let Some(id) = line.strip_prefix("visit ") {
                visits.push(id.to_string());
                seen += 1;
            } else if let Some(m) = line.strip_prefix("note ") {
                notes.push(m.to_string());
                seen += 1;
            }
            if seen >= kill_after {
                break;
            }
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();

        let store = Store::open(&path).unwrap();
        assert_eq!(store.integrity_check(), Ok(()), "round {round}");
        let customer_id = customer.clone().expect("the child reported its customer");
        for v in &visits {
            store
                .visit(v)
                .unwrap_or_else(|e| panic!("round {round}: committed visit {v} lost: {e}"));
        }
        let text = store
            .customer(&customer_id)
            .unwrap()
            .notes
            .as_str()
            .to_string();
        for m in &notes {
            assert!(
                text.contains(m.as_str()),
                "round {round}: committed note {m} lost"
            );
        }
        // Projections agree with the documents after the crash.
        let listed = store
            .visits_of_customer(&customer_id, 100_000)
            .unwrap()
            .len();
        assert!(
            listed >= visits.len(),
            "round {round}: projection has {listed} of {} visits",
            visits.len()
        );
        assert_eq!(listed, store.document_ids().unwrap().len() - 1);
    }
    assert!(
        visits.len() >= 150,
        "the child wrote too little to test anything: {}",
        visits.len()
    );
}
