//! `fieldsync sync --watch`: the manager's laptop stays live, prints a line when a rep's
//! customer arrives, and stops cleanly on Ctrl-C.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::cli::{logged_in, run};
use common::org;

#[test]
fn a_watching_laptop_prints_what_arrives_and_stops_on_ctrl_c() {
    let o = org();
    let url = o.server.url();
    let manager = logged_in(&url, "zhang");
    let rep = logged_in(&url, "li");

    let mut watch = manager
        .command(&["sync", "--watch"])
        .unwrap()
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (lines, printed) = mpsc::channel();
    let stdout = watch.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            if lines.send(line).is_err() {
                return;
            }
        }
    });

    // Give it a moment to connect, then the rep adds a customer and syncs.
    std::thread::sleep(Duration::from_millis(500));
    let id = run(&rep, &["customer", "add", "--name", "观察中的客户"])
        .ok()
        .to_string();
    run(&rep, &["sync"]).ok();

    let started = Instant::now();
    let line = loop {
        let line = printed
            .recv_timeout(Duration::from_secs(15).saturating_sub(started.elapsed()))
            .expect("the watching laptop printed nothing about the new customer");
        if line.contains("1 customer changed") {
            break line;
        }
    };
    assert!(line.contains("pulled 1"), "{line}");
    // It is in the laptop's store.
    let shown = run(&manager, &["customer", "show", &id]);
    assert!(shown.ok().contains("观察中的客户"));

    // Ctrl-C: the process we started, by its pid.
    let interrupted = std::process::Command::new("kill")
        .args(["-INT", &watch.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    let started = Instant::now();
    let status = loop {
        if let Some(status) = watch.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "still running 10 s after Ctrl-C"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut watch.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(status.success(), "{status:?}: {stderr}");
    assert!(stderr.contains("stopped"), "{stderr}");
    reader.join().unwrap();
}
