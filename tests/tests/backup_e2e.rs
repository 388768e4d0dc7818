//! End to end: a backup taken while devices sync, the server's data directory lost, the backup
//! restored, and every device syncing again (docs/PROTOCOL.md, "After a restore";
//! docs/OPERATIONS.md, "Backups"). The real `fieldsync-server` and `fieldsync` binaries, real
//! SQLite files, on 127.0.0.1.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};

use common::cli::{ids, json, logged_in, run};
use common::live::{LiveDevice, has, named};
use common::{get_json, login};
use fieldsync_tests::cli::Home;
use fieldsync_tests::postgres::program as pg_program;
use fieldsync_tests::server::server_binary;

/// Adds a customer on `home` (offline); its id.
fn add_customer(home: &Home, name: &str) -> String {
    run(home, &["customer", "add", "--name", name])
        .ok()
        .to_string()
}

/// The ids of the customers `home` holds.
fn customers(home: &Home) -> BTreeSet<String> {
    let listed = json(run(
        home,
        &["customer", "list", "--json", "--limit", "1000"],
    ));
    ids(&listed["customers"]).into_iter().collect()
}

/// Syncs `home`, which must succeed.
fn sync(home: &Home) {
    run(home, &["sync"]).ok();
}

/// Runs `fieldsync-server --data-dir <data> <args>`; its stdout, or a panic with its stderr.
fn server_command(data: &Path, args: &[&str]) -> String {
    let out = Command::new(server_binary().unwrap())
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "fieldsync-server {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Whether `home`'s quarantine is empty: nothing was refused.
fn nothing_quarantined(home: &Home) -> bool {
    json(run(home, &["quarantine", "list", "--json"]))
        .as_array()
        .is_some_and(Vec::is_empty)
}

#[test]
fn devices_re_send_what_a_restored_server_lost_and_converge() {
    let mut org = common::org();
    let url = org.server.url();
    let li = logged_in(&url, "li");
    let wang = logged_in(&url, "wang");
    // The manager's laptop follows everything; the manager's phone stays offline from the
    // backup on, and so never sees what was pushed after it.
    let laptop = logged_in(&url, "zhang");
    let phone = logged_in(&url, "zhang");

    // Acknowledged before the backup.
    let mut before = BTreeSet::new();
    for i in 0..3 {
        before.insert(add_customer(&li, &format!("李的老客户 {i}")));
        before.insert(add_customer(&wang, &format!("王的老客户 {i}")));
    }
    sync(&li);
    sync(&wang);
    sync(&laptop);
    sync(&phone);
    assert_eq!(customers(&phone), before);

    // The backup, taken while both reps keep adding customers and syncing.
    let backups = tempfile::tempdir().unwrap();
    let archive = backups.path().join("fieldsync.tar.gz");
    let busy = AtomicBool::new(true);
    let mut during = BTreeSet::new();
    std::thread::scope(|s| {
        let load = [(&li, "李"), (&wang, "王")].map(|(home, who)| {
            let busy = &busy;
            s.spawn(move || {
                let mut added = Vec::new();
                // At least two rounds each, whatever the backup's pace.
                while busy.load(Ordering::Relaxed) || added.len() < 2 {
                    added.push(add_customer(
                        home,
                        &format!("{who}的新客户 {}", added.len()),
                    ));
                    sync(home);
                }
                added
            })
        });
        let said = server_command(
            org.data.path(),
            &["backup", "--to", archive.to_str().unwrap()],
        );
        assert!(said.contains("backed up"), "{said}");
        busy.store(false, Ordering::Relaxed);
        for thread in load {
            during.extend(thread.join().unwrap());
        }
    });

    // After the backup: more work, acknowledged by the server that is about to be lost.
    let mut after = BTreeSet::new();
    for i in 0..2 {
        after.insert(add_customer(&li, &format!("李的备份后客户 {i}")));
        after.insert(add_customer(&wang, &format!("王的备份后客户 {i}")));
    }
    sync(&li);
    sync(&wang);
    // The laptop now holds the reps' work, written by them: only their devices may push it.
    sync(&laptop);
    let everything: BTreeSet<String> = before
        .iter()
        .chain(&during)
        .chain(&after)
        .cloned()
        .collect();
    assert_eq!(customers(&laptop), everything);

    // The disk fails: the server is stopped and its data directory is gone.
    org.server.terminate().unwrap();
    std::fs::remove_dir_all(org.data.path()).unwrap();
    let said = server_command(
        org.data.path(),
        &["restore", "--from", archive.to_str().unwrap()],
    );
    assert!(said.contains("new history"), "{said}");
    org.server.restart().unwrap();

    // The restored server has what was acknowledged before the backup, not what came after.
    let admin = logged_in(&url, "admin");
    sync(&admin);
    let restored = customers(&admin);
    assert!(
        before.is_subset(&restored),
        "the backup lost work acknowledged before it"
    );
    assert!(
        after.is_disjoint(&restored),
        "the restored server should not have what came after the backup"
    );

    // Every device syncs again: the laptop first, whose copies of the reps' work wait for the
    // reps' own devices; then the reps, who re-send; then everyone once more.
    sync(&laptop);
    sync(&li);
    sync(&wang);
    sync(&laptop);
    sync(&phone);
    sync(&admin);

    // Everything is on the server again, and every device holds what it should.
    assert_eq!(
        customers(&admin),
        everything,
        "the server got everything back"
    );
    assert_eq!(customers(&laptop), everything);
    assert_eq!(
        customers(&phone),
        everything,
        "the phone that never saw the work after the backup got it from the re-sends"
    );
    let (li_own, wang_own) = (customers(&li), customers(&wang));
    assert_eq!(li_own.len() + wang_own.len(), everything.len());
    assert!(li_own.is_disjoint(&wang_own));
    for home in [&li, &wang, &laptop, &phone] {
        assert!(nothing_quarantined(home), "a re-send was refused");
        let status = json(run(home, &["status", "--json"]));
        assert_eq!(status["unsent"], 0, "a device still has work to send");
    }
}

#[test]
fn a_serving_server_takes_scheduled_backups_that_restore_and_its_health_names_the_last() {
    let backups = tempfile::tempdir().unwrap();
    let dir = backups.path().to_str().unwrap();
    let org = common::org_with(&[
        "--backup-every",
        "1s",
        "--backup-keep",
        "100",
        "--backup-dir",
        dir,
    ]);
    let url = org.server.url();
    let li = logged_in(&url, "li");
    let id = add_customer(&li, "华东精密机械有限公司");
    sync(&li);
    let token = login(&url, "admin")["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    // Wait for a backup taken after the push: its log head is past 0.
    let mut last = serde_json::Value::Null;
    for _ in 0..600 {
        let (status, health) = get_json(&format!("{url}/v1/admin/health"), &token);
        assert_eq!(status, 200, "{health}");
        last = health["last_backup"].clone();
        let detail: serde_json::Value =
            serde_json::from_str(last["detail"].as_str().unwrap_or("{}")).unwrap();
        if detail["log_head"].as_u64().unwrap_or(0) > 0 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(
        last["action"], "server.backup",
        "no backup was recorded: {last}"
    );
    assert_eq!(last["actor"], "server");
    let archive = last["target"].as_str().unwrap().to_string();
    assert!(archive.starts_with(dir), "{archive}");

    // The backup restores, with what was pushed before it.
    let restored = tempfile::tempdir().unwrap();
    let target = restored.path().join("data");
    let said = server_command(&target, &["restore", "--from", &archive]);
    assert!(said.contains("new history"), "{said}");
    let conn = rusqlite::Connection::open(target.join("fieldsync.db")).unwrap();
    let stored: i64 = conn
        .query_row("SELECT count(*) FROM docs WHERE id = ?1", [&id], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(stored, 1, "the customer pushed before the backup is in it");
}

/// Runs a PostgreSQL client program, which must succeed.
fn pg(program: &Path, args: &[&str]) {
    let out = Command::new(program).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{} {args:?}: {}",
        program.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_postgres_database_restored_with_pg_restore_and_marked_gets_the_later_work_re_sent() {
    let Some(mut org) = common::org_on(common::Backend::Postgres, &[]) else {
        return;
    };
    let (Some(pg_dump), Some(pg_restore), Some(createdb), Some(vacuumdb)) = (
        pg_program("pg_dump"),
        pg_program("pg_restore"),
        pg_program("createdb"),
        pg_program("vacuumdb"),
    ) else {
        return;
    };
    let live = org.database_url().unwrap();
    let url = org.server.url();
    let li = logged_in(&url, "li");
    let before = add_customer(&li, "华东精密机械有限公司");
    sync(&li);

    // The server's own backup command says how, and fails, but backs up the key on request.
    let out = Command::new(server_binary().unwrap())
        .args(["--database-url", &live, "--data-dir"])
        .arg(org.data.path())
        .args(["backup", "--to", "/nonexistent/never-written.tar.gz"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("pg_dump") && said.contains("restore --mark-only"),
        "{said}"
    );
    let saved = tempfile::tempdir().unwrap();
    let key_archive = saved.path().join("key.tar.gz");
    let out = Command::new(server_binary().unwrap())
        .args(["--database-url", &live, "--data-dir"])
        .arg(org.data.path())
        .args([
            "backup",
            "--key-only",
            "--to",
            key_archive.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key_dir = saved.path().join("key");
    server_command(
        &key_dir,
        &["restore", "--from", key_archive.to_str().unwrap()],
    );
    assert_eq!(
        std::fs::read(key_dir.join("jwt.key")).unwrap(),
        std::fs::read(org.data.path().join("jwt.key")).unwrap()
    );

    let dump = saved.path().join("fieldsync.dump");
    pg(
        &pg_dump,
        &["--format=custom", "--file", dump.to_str().unwrap(), &live],
    );
    let after = add_customer(&li, "宁波恒达贸易有限公司");
    sync(&li);

    // Restored into a new database, marked as a new history, served.
    org.server.terminate().unwrap();
    let restored = org.postgres.as_ref().unwrap().url("restored");
    let port = live.rsplit(':').next().unwrap().split('/').next().unwrap();
    pg(
        &createdb,
        &["-h", "127.0.0.1", "-p", port, "-U", "postgres", "restored"],
    );
    pg(
        &pg_restore,
        &["--no-owner", "--dbname", &restored, dump.to_str().unwrap()],
    );
    pg(&vacuumdb, &["--analyze-only", "--dbname", &restored]);
    let out = Command::new(server_binary().unwrap())
        .args(["--database-url", &restored, "restore", "--mark-only"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    org.server.restart_on(Some(&restored)).unwrap();

    let admin = logged_in(&url, "admin");
    sync(&admin);
    assert_eq!(customers(&admin), BTreeSet::from([before.clone()]));
    sync(&li);
    sync(&admin);
    assert_eq!(customers(&admin), BTreeSet::from([before, after]));
    assert!(nothing_quarantined(&li));
}

#[test]
fn a_photo_uploaded_after_the_backup_is_uploaded_again_to_the_restored_server() {
    let mut org = common::org();
    let url = org.server.url();
    let li = logged_in(&url, "li");
    let customer = add_customer(&li, "昆山模具厂");
    let visit = run(
        &li,
        &[
            "visit",
            "add",
            "--customer",
            &customer,
            "--summary",
            "拍了车间的照片。",
        ],
    )
    .ok()
    .to_string();
    sync(&li);
    let backups = tempfile::tempdir().unwrap();
    let archive = backups.path().join("fieldsync.tar.gz");
    server_command(
        org.data.path(),
        &["backup", "--to", archive.to_str().unwrap()],
    );

    // After the backup: a photo, uploaded to the server that is then lost with its disk.
    let mut bytes = b"\xFF\xD8\xFF\xE0\x00\x10JFIF\x00\x01\x01".to_vec();
    bytes.extend((0..50_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    let photo = backups.path().join("workshop.jpg");
    std::fs::write(&photo, &bytes).unwrap();
    let id = run(&li, &["visit", "attach", &visit, photo.to_str().unwrap()])
        .ok()
        .to_string();
    sync(&li);
    let listed = json(run(&li, &["attachment", "list", "--json"]));
    assert_eq!(listed[0]["state"], "uploaded", "{listed}");

    org.server.terminate().unwrap();
    std::fs::remove_dir_all(org.data.path()).unwrap();
    server_command(
        org.data.path(),
        &["restore", "--from", archive.to_str().unwrap()],
    );
    org.server.restart().unwrap();

    // The device re-sends the visit and uploads the photo again.
    sync(&li);
    let status = json(run(&li, &["status", "--json"]));
    assert_eq!(status["attachments_pending"], 0, "{status}");
    assert_eq!(status["unsent"], 0, "{status}");
    let manager = logged_in(&url, "zhang");
    sync(&manager);
    let out = backups.path().join("from-server.jpg");
    run(
        &manager,
        &["attachment", "get", &id, "--out", out.to_str().unwrap()],
    )
    .ok();
    assert_eq!(
        std::fs::read(&out).unwrap(),
        bytes,
        "the photo is on the server again"
    );
}

#[test]
fn devices_in_live_mode_re_send_to_a_restored_server_and_keep_following_it() {
    let wait = std::time::Duration::from_secs(60);
    let mut org = common::org();
    let url = org.server.url();
    let phone = LiveDevice::new(&url, "li", "li-phone");
    let tablet = LiveDevice::new(&url, "zhang", "zhang-tablet");
    let before = phone.client.create_customer(named("备份前")).unwrap();
    tablet.until(wait, has(&before));
    let backups = tempfile::tempdir().unwrap();
    let archive = backups.path().join("fieldsync.tar.gz");
    server_command(
        org.data.path(),
        &["backup", "--to", archive.to_str().unwrap()],
    );
    let after = phone.client.create_customer(named("备份后")).unwrap();
    tablet.until(wait, has(&after));

    org.server.terminate().unwrap();
    std::fs::remove_dir_all(org.data.path()).unwrap();
    server_command(
        org.data.path(),
        &["restore", "--from", archive.to_str().unwrap()],
    );
    org.server.restart().unwrap();

    // A write after the restore: the live rounds notice the new history and re-send.
    let later = phone.client.create_customer(named("恢复后")).unwrap();
    tablet.until(wait, has(&later));
    let admin = logged_in(&url, "admin");
    let mut on_server = BTreeSet::new();
    for _ in 0..600 {
        sync(&admin);
        on_server = customers(&admin);
        if on_server.len() == 3 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(
        on_server,
        BTreeSet::from([before, after, later]),
        "the restored server got back what the live devices had pushed after the backup"
    );
    phone.until(wait, |c| c.status().is_ok_and(|s| s.unsent == 0));
    for d in [&phone, &tablet] {
        assert!(
            d.client.quarantine().unwrap().is_empty(),
            "nothing was refused"
        );
    }
    phone.client.stop_live();
    tablet.client.stop_live();
}
