//! A client in another language, written from docs/PROTOCOL.md and docs/SCHEMA.md alone:
//! `tests/third-party/client.mjs` (Node, Automerge JS 3, cborg) logs in to the real server,
//! pulls, records a visit and pushes it. The server accepts it, and a Rust device reads the
//! visit as its own kind; a latitude written as an integer is refused with an error that names
//! the field and the types.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{Device, customer, org};
use fieldsync_tests::say_skipped;

/// The client's directory, if Node and its packages are there (`.ci/run` installs them).
fn client_dir(test: &str) -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("third-party");
    let node = Command::new("node").arg("--version").output();
    let ready = node.is_ok_and(|o| o.status.success())
        && dir.join("node_modules/@automerge/automerge").is_dir()
        && dir.join("node_modules/cborg").is_dir();
    if ready {
        return Some(dir);
    }
    let why = "needs node and `npm ci` in tests/third-party";
    if std::env::var_os("FIELDSYNC_REQUIRE_TOOLS").is_some() {
        panic!("{test} {why}");
    }
    say_skipped(test, why);
    None
}

fn run_client(dir: &PathBuf, url: &str, flags: &[&str]) -> (bool, serde_json::Value, String) {
    let out = Command::new("node")
        .current_dir(dir)
        .arg("client.mjs")
        .args([url, "li", "pw-li-secret"])
        .args(flags)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let answer = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("not one JSON line ({e}): {stdout}\n{stderr}"));
    (out.status.success(), answer, stderr)
}

#[test]
fn a_node_client_written_from_the_docs_records_a_visit_the_server_accepts() {
    let Some(dir) = client_dir("third_party_e2e") else {
        return;
    };
    let o = org();
    let url = o.server.url();
    let li = Device::new(&url, "li", "li-phone");
    let c = li
        .store
        .create_customer(customer("华东精密机械有限公司", "east", "li"))
        .unwrap();
    li.sync();

    let (ok, answer, stderr) = run_client(&dir, &url, &[]);
    assert!(ok, "the visit was not accepted: {answer}\n{stderr}");
    assert_eq!(answer["customer"], c.as_str());
    let visit = answer["visit"].as_str().unwrap().to_string();

    // The manager's device reads it as a visit like any other.
    let zhang = Device::new(&url, "zhang", "zhang-laptop");
    zhang.sync();
    let v = zhang.store.visit(&visit).unwrap();
    assert_eq!(v.author, "li");
    assert_eq!(v.customer, c);
    assert_eq!(v.summary.as_str(), "介绍了新款轴承。\n客户要求寄样品。");
    assert_eq!(v.people_met[0].name, "王经理");
    assert_eq!(v.checkin_geo.unwrap().lat, 31.3);
    assert_eq!(v.order_amount.unwrap().amount, 120000);
    // Its author, as the change's message says.
    let conflicts_free = zhang.store.conflicts(&visit).unwrap();
    assert!(conflicts_free.is_empty());

    // A latitude written as an integer: refused, and the reason says where and why.
    let (ok, answer, _) = run_client(&dir, &url, &["--int-latitude"]);
    assert!(!ok);
    let rejected = &answer["rejected"][0];
    assert_eq!(rejected["rule"], "schema");
    let reason = rejected["reason"].as_str().unwrap();
    assert!(
        reason.contains("visit.checkin_geo.lat: expected a float, found an int"),
        "{reason}"
    );
}
