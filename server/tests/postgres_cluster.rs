//! The private PostgreSQL cluster the PostgreSQL tests start for themselves: it starts from
//! nothing, takes connections on 127.0.0.1, holds a database of its own, and is gone (its
//! process ended) once dropped.
#![allow(clippy::unwrap_used)]

mod support;

use support::postgres::PgCluster;

#[test]
fn a_private_cluster_starts_takes_a_database_and_stops_by_itself() {
    let Some(cluster) = PgCluster::start("a_private_cluster_starts_takes_a_database_and_stops")
    else {
        return;
    };
    let mut admin = postgres::Client::connect(&cluster.url("postgres"), postgres::NoTls).unwrap();
    admin.batch_execute("CREATE DATABASE fieldsync").unwrap();
    let mut db = postgres::Client::connect(&cluster.url("fieldsync"), postgres::NoTls).unwrap();
    db.batch_execute("CREATE TABLE t (n bigint); INSERT INTO t VALUES (41), (1)")
        .unwrap();
    let sum: i64 = db
        .query_one("SELECT sum(n)::bigint FROM t", &[])
        .unwrap()
        .get(0);
    assert_eq!(sum, 42);
    let version: String = db.query_one("SHOW server_version", &[]).unwrap().get(0);
    assert!(
        version.starts_with("15") || version.starts_with("16") || version.starts_with("17"),
        "{version}"
    );

    let pid = cluster.pid();
    drop((admin, db));
    drop(cluster);
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "the cluster's server {pid} is still running"
    );
}
