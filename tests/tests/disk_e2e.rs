//! A full disk and a read-only data directory, on a real small filesystem (a tmpfs the test
//! fills to the last byte or remounts read-only), under the real server and a real store:
//! every write refused meanwhile gets a clear error and leaves nothing half-written, nothing
//! acknowledged is lost, the database stays intact, and everything works again once the space
//! or the write permission is back.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Device, add_org_users, customer};
use fieldsync_core::Error as StoreError;
use fieldsync_core::model::customer::CustomerEdit;
use fieldsync_core::store::CustomerQuery;
use fieldsync_core::sync::{SyncError, status};
use fieldsync_tests::disk::SmallDisk;
use fieldsync_tests::server::{ServerProcess, integrity_check, server_binary};

fn integrity(db: &std::path::Path) -> String {
    integrity_check(db).unwrap()
}

/// A customer whose notes make it a few KiB, so a batch of them outgrows any free WAL space.
fn bulky_customer(i: usize, owner: &str) -> fieldsync_core::model::customer::NewCustomer {
    let mut c = customer(&format!("满盘客户{i:03}"), "east", owner);
    c.notes = format!("第{i}号客户的档案。").repeat(150);
    c
}

/// Asserts `e` is the server's "cannot save now" answer, naming `why`.
fn assert_unavailable(e: &SyncError, why: &str) {
    match e {
        SyncError::Server {
            status: 503,
            code,
            message,
        } => {
            assert_eq!(code, "unavailable");
            assert!(message.contains(why), "{message}");
            assert!(message.contains("try again later"), "{message}");
        }
        other => panic!("expected 503 unavailable ({why}), got: {other}"),
    }
}

fn customers_on(device: &Device) -> usize {
    device
        .store
        .list_customers(&CustomerQuery {
            limit: Some(10_000),
            ..Default::default()
        })
        .unwrap()
        .len()
}

#[test]
fn the_server_on_a_full_or_read_only_disk_refuses_writes_clearly_and_recovers() {
    let Some(mut disk) = SmallDisk::for_test(24) else {
        return;
    };
    let data = disk.path().join("server");
    add_org_users(&data);
    let mut server = ServerProcess::start(&data).unwrap();
    let url = server.url();
    let li = Device::new(&url, "li", "li-phone");
    let zhang = Device::new(&url, "zhang", "zhang-laptop");
    let first = li
        .store
        .create_customer(customer("先到的客户", "east", "li"))
        .unwrap();
    li.sync();
    zhang.sync();

    // The disk fills up: the next push is refused as a whole, with what to do.
    let ballast = disk.fill().unwrap();
    assert!(ballast > 0);
    for i in 0..200 {
        li.store.create_customer(bulky_customer(i, "li")).unwrap();
    }
    let e = li.try_sync().unwrap_err();
    assert_unavailable(&e, "disk is full");
    assert_eq!(
        li.store.unsent_documents().unwrap().len(),
        200,
        "nothing was acknowledged"
    );
    assert!(
        li.store.list_quarantine().unwrap().is_empty(),
        "nothing refused for good"
    );
    // Reading still works: the manager's sync with nothing to push goes through.
    zhang.sync();

    // Space is back: the same device's next sync delivers everything.
    disk.free().unwrap();
    li.sync();
    assert!(li.store.unsent_documents().unwrap().is_empty());
    zhang.sync();
    assert_eq!(
        customers_on(&zhang),
        201,
        "every customer reached the manager"
    );

    // The data directory turns read-only (a volume remounted read-only while the server was
    // down): the server refuses to start and says why; once writable, it starts with all data.
    li.store
        .update_customer(&first, &[CustomerEdit::AppendNotes("只读期间".into())])
        .unwrap();
    server.kill();
    disk.set_read_only(true).unwrap();
    let said = refused_start(&data);
    assert!(said.contains("read-only"), "{said}");
    assert!(li.try_sync().is_err(), "no server meanwhile");
    disk.set_read_only(false).unwrap();
    server.restart().unwrap();
    li.sync();
    zhang.sync();
    let notes = zhang
        .store
        .customer(&first)
        .unwrap()
        .notes
        .as_str()
        .to_string();
    assert!(notes.contains("只读期间"), "{notes}");
    assert_eq!(customers_on(&zhang), 201);

    drop(server);
    assert_eq!(integrity(&data.join("fieldsync.db")), "ok");
}

/// Starts the server on `data` and expects it to exit with an error; returns what it said.
fn refused_start(data: &std::path::Path) -> String {
    let mut child = std::process::Command::new(server_binary().unwrap())
        .arg("--data-dir")
        .arg(data)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        if let Some(exit) = child.try_wait().unwrap() {
            assert!(
                !exit.success(),
                "the server must not start on a read-only directory"
            );
            let mut said = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut said).unwrap();
            return said;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the server kept running on a read-only data directory");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn a_device_on_a_full_or_read_only_disk_refuses_writes_clearly_and_recovers() {
    let o = common::org();
    let url = o.server.url();
    let Some(mut disk) = SmallDisk::for_test(8) else {
        return;
    };
    let device = Device::in_dir(&url, "li", "li-phone", disk.path());
    let other = Device::new(&url, "li", "li-laptop");
    let kept = device
        .store
        .create_customer(customer("满盘之前", "east", "li"))
        .unwrap();
    device.sync();

    // A local write on a full disk: a clear error, nothing half-written.
    disk.fill().unwrap();
    let mut refused = None;
    for i in 0..200 {
        match device.store.create_customer(bulky_customer(i, "li")) {
            Ok(_) => {}
            Err(e) => {
                refused = Some((i, e));
                break;
            }
        }
    }
    let (written, e) = refused.expect("a full disk refuses a write");
    assert!(matches!(e, StoreError::Storage(_)), "{e:?}");
    assert!(e.to_string().contains("storage is full"), "{e}");
    assert!(e.to_string().contains("nothing was saved"), "{e}");
    assert_eq!(
        customers_on(&device),
        1 + written,
        "the refused customer left no row"
    );

    // A sync that cannot store what it pulls fails, and keeps its cursor.
    for i in 0..50 {
        other
            .store
            .create_customer(bulky_customer(500 + i, "li"))
            .unwrap();
    }
    other.sync();
    let cursor = status(&device.store).unwrap().cursor;
    assert!(
        device.try_sync().is_err(),
        "a full disk cannot take the pulled customers"
    );
    assert_eq!(
        status(&device.store).unwrap().cursor,
        cursor,
        "the cursor stayed"
    );

    // Space is back: the write and the sync go through.
    disk.free().unwrap();
    device
        .store
        .create_customer(customer("满盘之后", "east", "li"))
        .unwrap();
    device.sync();
    other.sync();
    assert_eq!(customers_on(&device), customers_on(&other));
    assert_eq!(customers_on(&device), 1 + written + 50 + 1);

    // The data directory turns read-only while the app is closed: opening says what to do,
    // and once writable everything is there.
    let db = disk.path().join("device.db");
    let Device { store, .. } = device;
    drop(store);
    disk.set_read_only(true).unwrap();
    let e = fieldsync_core::Store::open(&db).unwrap_err();
    assert!(matches!(e, StoreError::Storage(_)), "{e:?}");
    assert!(e.to_string().contains("writable"), "{e}");
    disk.set_read_only(false).unwrap();
    let device = Device::in_dir(&url, "li", "li-phone-again", disk.path());
    assert_eq!(device.store.customer(&kept).unwrap().name, "满盘之前");
    device
        .store
        .update_customer(&kept, &[CustomerEdit::AppendNotes("可写了".into())])
        .unwrap();
    device.sync();
    assert_eq!(customers_on(&device), customers_on(&other));

    drop(device);
    assert_eq!(integrity(&db), "ok");
}
