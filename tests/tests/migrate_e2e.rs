//! Moving an organisation from SQLite to PostgreSQL with `fieldsync-server migrate`: devices
//! that synced with the server on its data directory sync on with the same server on
//! PostgreSQL without logging in again, their next sync is an ordinary incremental one (their
//! cursors are still valid), work done offline across the move arrives, and a new device gets
//! everything.
#![allow(clippy::unwrap_used)]

mod common;

use std::process::Command;

use common::{Device, customer, org, visit};
use fieldsync_core::model::customer::CustomerEdit;
use fieldsync_tests::postgres::PgCluster;
use fieldsync_tests::server::server_binary;

#[test]
fn devices_sync_on_after_the_organisation_moves_from_sqlite_to_postgresql() {
    let Some(cluster) = PgCluster::start("devices_sync_on_after_the_organisation_moves") else {
        return;
    };
    let mut o = org();
    let url = o.server.url();
    let li = Device::new(&url, "li", "li-phone");
    let zhang = Device::new(&url, "zhang", "zhang-laptop");
    let chen = Device::new(&url, "chen", "chen-phone");
    let mut customers = Vec::new();
    for n in 0..20 {
        let c = li
            .store
            .create_customer(customer(&format!("客户{n}"), "east", "li"))
            .unwrap();
        li.store
            .create_visit(visit(&c, "li", &format!("第{n}次拜访")))
            .unwrap();
        customers.push(c);
    }
    let north = chen
        .store
        .create_customer(customer("北方客户", "north", "chen"))
        .unwrap();
    for d in [&li, &zhang, &chen] {
        d.sync();
    }
    assert_eq!(zhang.documents().len(), 40, "zhang sees east");

    // Offline across the move: li edits a customer.
    li.store
        .update_customer(
            &customers[0],
            &[CustomerEdit::Address(Some(
                "上海市浦东新区张江路 1 号".into(),
            ))],
        )
        .unwrap();

    // The operator stops the server, moves the data, and starts it on PostgreSQL.
    o.server.kill();
    let database = cluster.url("postgres");
    let out = Command::new(server_binary().unwrap())
        .args(["migrate", "--from-data-dir"])
        .arg(o.data.path())
        .args(["--to-database-url", &database])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains("docs"), "{said}");
    // The moved tables come with the planner's statistics (autovacuum would never gather them
    // for 41 documents: fewer than its 50 rows).
    let analysed: i64 = postgres::Client::connect(&database, postgres::NoTls)
        .unwrap()
        .query_one(
            "SELECT count(*) FROM pg_stats WHERE schemaname = 'public' AND tablename = 'docs'",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(analysed > 0, "no statistics of docs after the move");
    o.server.restart_on(Some(&database)).unwrap();

    // Nobody logs in again; the next syncs carry only what changed.
    let li_after = li.sync();
    assert_eq!(li_after.pushed, 1, "li's offline edit");
    let zhang_after = zhang.sync();
    assert_eq!(
        zhang_after.pulled, 1,
        "an incremental sync: only li's edit, not the whole territory again"
    );
    let chen_after = chen.sync();
    assert_eq!(chen_after.pulled, 0, "nothing new in north");
    let edited = zhang.store.customer(&customers[0]).unwrap();
    assert_eq!(edited.address.as_deref(), Some("上海市浦东新区张江路 1 号"));

    // Work after the move reaches everyone who sees it; a new device gets everything.
    zhang
        .store
        .create_visit(visit(&customers[1], "zhang", "经理陪访"))
        .unwrap();
    zhang.sync();
    assert_eq!(li.sync().pulled, 1);
    let laptop = Device::new(&url, "li", "li-laptop");
    laptop.sync();
    assert_eq!(laptop.documents(), li.documents());
    assert!(!chen.documents().contains_key(&customers[0]));
    assert!(chen.documents().contains_key(&north));

    // A second migration into the same database is refused: it already holds the organisation.
    o.server.kill();
    let again = Command::new(server_binary().unwrap())
        .args(["migrate", "--from-data-dir"])
        .arg(o.data.path())
        .args(["--to-database-url", &database])
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("already holds an organisation"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
}
