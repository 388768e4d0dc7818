//! A device that was away for a long time: thousands of changes of its own waiting to be
//! pushed, and a server whose log was compacted past the device's cursor meanwhile. It must
//! still sync completely: push everything, get every change it missed (the compacted ones as
//! whole documents), and give back what left its scope while it was away.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::process::Command;

use common::{Device, customer, org, visit};
use fieldsync_core::model::customer::{CustomerEdit, Tier};
use fieldsync_core::sync::status;
use fieldsync_tests::server::server_binary;

/// Change rows in the server's log.
fn logged_changes(data_dir: &std::path::Path) -> i64 {
    let conn = rusqlite::Connection::open(data_dir.join("fieldsync.db")).unwrap();
    conn.query_row("SELECT count(*) FROM log WHERE event = 'change'", [], |r| {
        r.get(0)
    })
    .unwrap()
}

/// Runs `fieldsync-server compact --older-than-days 0` on the live server's data directory.
fn compact_everything(data_dir: &std::path::Path) -> String {
    let out = Command::new(server_binary().unwrap())
        .arg("--data-dir")
        .arg(data_dir)
        .args(["compact", "--older-than-days", "0"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "compact failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

type Docs = BTreeMap<String, serde_json::Value>;

fn without(mut docs: Docs, id: &str) -> Docs {
    docs.remove(id);
    docs
}

/// Asserts two devices hold the same documents, naming the ones that differ (not dumping all).
fn assert_same(left: &Docs, right: &Docs, what: &str) {
    let differ: Vec<&String> = left
        .keys()
        .chain(right.keys())
        .filter(|id| left.get(*id) != right.get(*id))
        .collect();
    assert!(
        differ.is_empty(),
        "{what}: {} of {} documents differ, e.g. {:?}",
        differ.len(),
        left.len().max(right.len()),
        differ.first()
    );
}

#[test]
fn a_device_offline_past_a_compacted_log_syncs_completely() {
    let o = org();
    let url = o.server.url();
    let phone = Device::new(&url, "li", "li-phone");
    let laptop = Device::new(&url, "li", "li-laptop");
    let zhang = Device::new(&url, "zhang", "zhang-laptop");

    // Li's customers reach every device; then the laptop goes on a long trip.
    let ids: Vec<String> = (0..20)
        .map(|i| {
            phone
                .store
                .create_customer(customer(&format!("客户{i:02}"), "east", "li"))
                .unwrap()
        })
        .collect();
    phone.sync();
    laptop.sync();
    zhang.sync();
    let laptop_cursor = status(&laptop.store).unwrap().cursor;
    assert!(laptop_cursor > 0);

    // Meanwhile, at home: the phone edits every customer again and again and records visits;
    // the manager gives one customer to wang, so it leaves li's scope.
    for round in 0..10 {
        for id in &ids {
            phone
                .store
                .update_customer(id, &[CustomerEdit::AppendNotes(format!("手机第{round}轮"))])
                .unwrap();
        }
        phone.sync();
    }
    for id in &ids[..5] {
        phone
            .store
            .create_visit(visit(id, "li", "家里拜访"))
            .unwrap();
    }
    phone.sync();
    zhang.sync();
    let given_away = ids[19].clone();
    zhang
        .store
        .update_customer(&given_away, &[CustomerEdit::Owner("wang".into())])
        .unwrap();
    zhang.sync();

    // On the road, offline: thousands of the laptop's own changes, and new visits.
    let mut local_changes = 0;
    for round in 0..100 {
        for id in &ids[..18] {
            let edit = if round % 2 == 0 {
                CustomerEdit::AppendNotes(format!("笔记本第{round}轮"))
            } else {
                CustomerEdit::Tier(if round % 4 == 1 { Tier::A } else { Tier::B })
            };
            laptop.store.update_customer(id, &[edit]).unwrap();
            local_changes += 1;
        }
    }
    let trip_visits: Vec<String> = ids[..18]
        .iter()
        .map(|id| {
            laptop
                .store
                .create_visit(visit(id, "li", "路上拜访"))
                .unwrap()
        })
        .collect();
    assert!(local_changes >= 1_800);

    // The server compacts its log while it runs: every change the laptop missed leaves it.
    let before = logged_changes(o.data.path());
    let said = compact_everything(o.data.path());
    let after = logged_changes(o.data.path());
    assert!(said.contains("changes removed"), "{said}");
    assert_eq!(
        after, 0,
        "compacting everything leaves no change rows ({before} before)"
    );

    // Back online: one sync brings everything across both ways.
    let report = laptop.sync();
    assert!(report.pushed >= 36, "{report:?}");
    assert!(
        laptop.store.unsent_documents().unwrap().is_empty(),
        "every local change was acknowledged"
    );
    assert!(
        laptop.store.document(&given_away).is_err(),
        "the customer given to wang left the laptop"
    );
    phone.sync();
    zhang.sync();
    let on_laptop = laptop.documents();
    assert_same(
        &on_laptop,
        &without(phone.documents(), &given_away),
        "laptop and phone converge",
    );
    for id in &trip_visits {
        assert!(on_laptop.contains_key(id), "trip visit {id} kept");
        assert!(
            zhang.documents().contains_key(id),
            "trip visit {id} reached the manager"
        );
    }
    let notes = on_laptop[&ids[0]]["notes"].as_str().unwrap().to_string();
    assert!(
        notes.contains("手机第9轮"),
        "the phone's last edit arrived: {notes}"
    );
    assert!(
        notes.contains("笔记本第98轮"),
        "the laptop's last edit stayed: {notes}"
    );

    // A new device after the compaction gets every document, whole.
    let fresh = Device::new(&url, "li", "li-new-phone");
    fresh.sync();
    assert_same(
        &fresh.documents(),
        &on_laptop,
        "a new device gets li's whole scope",
    );

    // New work after the compaction flows change by change again.
    phone
        .store
        .update_customer(&ids[0], &[CustomerEdit::AppendNotes("压缩之后".into())])
        .unwrap();
    phone.sync();
    laptop.sync();
    assert!(
        laptop.documents()[&ids[0]]["notes"]
            .as_str()
            .unwrap()
            .contains("压缩之后")
    );
    assert!(logged_changes(o.data.path()) > 0);
}
