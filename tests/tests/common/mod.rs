//! A sales organisation on a real server process, and devices that sync with it over HTTP.
#![allow(dead_code, clippy::unwrap_used)]

use fieldsync_core::Store;
use fieldsync_core::model::customer::NewCustomer;
use fieldsync_core::model::visit::NewVisit;
use fieldsync_core::sync::http::HttpClient;
use fieldsync_core::sync::{SyncReport, sync};
use fieldsync_tests::postgres::PgCluster;
use fieldsync_tests::server::{ServerProcess, TestUser, add_user_on};
use tempfile::TempDir;

pub mod cli;
pub mod live;
pub mod nodes;

/// The server with: admin; managers zhang (east) and zhao (north); reps li and wang (east,
/// managed by zhang) and chen (north, managed by zhao). Password: "pw-" + name.
pub struct Org {
    pub server: ServerProcess,
    pub data: TempDir,
    /// The PostgreSQL cluster the server keeps its data in, if not the data directory.
    pub postgres: Option<PgCluster>,
}

/// Where a test's server keeps its data: the suites that must hold on every backend run once
/// on each ([`on_every_backend!`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The data directory's SQLite file.
    Sqlite,
    /// A private PostgreSQL cluster.
    Postgres,
}

pub fn org() -> Org {
    org_with(&[])
}

/// The same organisation, with extra `serve` options.
pub fn org_with(serve_args: &[&str]) -> Org {
    org_on(Backend::Sqlite, serve_args).unwrap()
}

/// The organisation on `backend`; `None` when the test skips (PostgreSQL is not installed, and
/// CI does not require it).
pub fn org_on(backend: Backend, serve_args: &[&str]) -> Option<Org> {
    let data = tempfile::tempdir().unwrap();
    let postgres = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => Some(PgCluster::start(&format!(
            "{} on PostgreSQL",
            std::thread::current().name().unwrap_or("a test")
        ))?),
    };
    let url = postgres.as_ref().map(|pg| pg.url("postgres"));
    add_org_users_on(data.path(), url.as_deref());
    let server = ServerProcess::start_on(data.path(), url.as_deref(), serve_args).unwrap();
    Some(Org {
        server,
        data,
        postgres,
    })
}

impl Org {
    /// The PostgreSQL database the server uses, if it uses one.
    pub fn database_url(&self) -> Option<String> {
        self.postgres.as_ref().map(|pg| pg.url("postgres"))
    }
}

/// Runs each named test once per backend: `on_every_backend!(a, b)` makes modules `sqlite`
/// and `postgres`, each with tests `a` and `b` calling `a(Backend::…)`.
#[macro_export]
macro_rules! on_every_backend {
    ($($test:ident),+ $(,)?) => {
        mod sqlite {
            $(#[test]
            fn $test() {
                super::$test($crate::common::Backend::Sqlite)
            })+
        }
        mod postgres {
            $(#[test]
            fn $test() {
                super::$test($crate::common::Backend::Postgres)
            })+
        }
    };
}

/// Adds the organisation's users to the server data directory `data_dir`.
pub fn add_org_users(data_dir: &std::path::Path) {
    add_org_users_on(data_dir, None)
}

/// Adds the organisation's users to the PostgreSQL database `database_url`, or without one
/// to the SQLite file of `data_dir`.
pub fn add_org_users_on(data_dir: &std::path::Path, database_url: Option<&str>) {
    for (name, role, territories, manager) in [
        ("admin", "admin", &[][..], None),
        ("zhang", "manager", &["east"][..], None),
        ("zhao", "manager", &["north"][..], None),
        ("li", "rep", &["east"][..], Some("zhang")),
        ("wang", "rep", &["east"][..], Some("zhang")),
        ("chen", "rep", &["north"][..], Some("zhao")),
    ] {
        let password = format!("pw-{name}-secret");
        add_user_on(
            data_dir,
            database_url,
            &TestUser {
                username: name,
                role,
                territories,
                manager,
                password: &password,
            },
        )
        .unwrap();
    }
}

/// One device: its own store file, logged in as a user.
pub struct Device {
    pub store: Store,
    pub user: String,
    _dir: Option<TempDir>,
}

impl Device {
    /// A new device of `user`, logged in to `url`.
    pub fn new(url: &str, user: &str, device_name: &str) -> Device {
        let dir = tempfile::tempdir().unwrap();
        let mut device = Device::in_dir(url, user, device_name, dir.path());
        device._dir = Some(dir);
        device
    }

    /// A new device of `user` whose store is `device.db` in `dir`, logged in to `url`.
    pub fn in_dir(url: &str, user: &str, device_name: &str, dir: &std::path::Path) -> Device {
        let store = Store::open(dir.join("device.db")).unwrap();
        store.set_author(user).unwrap();
        HttpClient::new(url)
            .unwrap()
            .with_store(&store)
            .unwrap()
            .login(user, &format!("pw-{user}-secret"), device_name)
            .unwrap();
        Device {
            store,
            user: user.to_string(),
            _dir: None,
        }
    }

    /// Syncs until nothing is left to push or pull.
    pub fn sync(&self) -> SyncReport {
        self.try_sync()
            .unwrap_or_else(|e| panic!("{}'s sync failed: {e}", self.user))
    }

    /// Syncs, returning the error.
    pub fn try_sync(&self) -> Result<SyncReport, fieldsync_core::sync::SyncError> {
        let mut client = HttpClient::from_store(&self.store)?;
        sync(&self.store, &mut client, |_| {})
    }

    /// Every document this device holds, as JSON, by id.
    pub fn documents(&self) -> std::collections::BTreeMap<String, serde_json::Value> {
        self.store
            .document_ids()
            .unwrap()
            .into_iter()
            .map(|(id, _)| {
                let doc = serde_json::to_value(self.store.document(&id).unwrap()).unwrap();
                (id, doc)
            })
            .collect()
    }
}

pub fn customer(name: &str, territory: &str, owner: &str) -> NewCustomer {
    NewCustomer {
        name: name.into(),
        territory: territory.into(),
        owner: owner.into(),
        created_by: owner.into(),
        notes: "初次建档。".into(),
        ..Default::default()
    }
}

pub fn visit(customer: &str, author: &str, summary: &str) -> NewVisit {
    NewVisit {
        customer: customer.into(),
        author: author.into(),
        checkin_at: "2026-11-20T02:30:00Z".into(),
        utc_offset_minutes: 480,
        summary: summary.into(),
        ..Default::default()
    }
}

/// POSTs `body` to `url` and returns the status and the JSON answer (`Null` if it is not
/// JSON). Status 0 stands for a connection the server closed before answering, which it may
/// do to a body over its limit.
pub fn post(
    url: &str,
    token: Option<&str>,
    content_type: &str,
    body: &[u8],
) -> (u16, serde_json::Value) {
    let (status, bytes) = post_bytes(url, token, content_type, body);
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
    )
}

/// [`post`], with the answer's raw bytes.
pub fn post_bytes(
    url: &str,
    token: Option<&str>,
    content_type: &str,
    body: &[u8],
) -> (u16, Vec<u8>) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut req = agent.post(url).header("content-type", content_type);
    if let Some(t) = token {
        req = req.header("authorization", &format!("Bearer {t}"));
    }
    let mut resp = match req.send(body) {
        Ok(resp) => resp,
        Err(e) if body.len() > fieldsync_tests::server::MAX_BODY => {
            return (0, e.to_string().into_bytes());
        }
        Err(e) => panic!("POST {url} failed: {e}"),
    };
    let status = resp.status().as_u16();
    let bytes = resp.body_mut().read_to_vec().unwrap_or_default();
    (status, bytes)
}

/// `GET url` with a bearer token: the status and the JSON answer (`Null` if it is not JSON).
pub fn get_json(url: &str, token: &str) -> (u16, serde_json::Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut resp = agent
        .get(url)
        .header("authorization", &format!("Bearer {token}"))
        .call()
        .unwrap_or_else(|e| panic!("GET {url} failed: {e}"));
    let status = resp.status().as_u16();
    let bytes = resp.body_mut().read_to_vec().unwrap_or_default();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
    )
}

/// Logs `user` in over HTTP and returns the whole JSON answer (access and refresh token).
pub fn login(base: &str, user: &str) -> serde_json::Value {
    let body = serde_json::json!({"username": user, "password": format!("pw-{user}-secret"), "device_name": "probe"});
    let (status, answer) = post(
        &format!("{base}/v1/auth/login"),
        None,
        "application/json",
        body.to_string().as_bytes(),
    );
    assert_eq!(status, 200, "{answer}");
    answer
}

impl Org {
    /// Whether the server's stored data is sound: `"ok"`, or what is wrong. On SQLite,
    /// `PRAGMA integrity_check` of the data directory's file. On PostgreSQL, whose own files
    /// a killed server cannot damage, the nearest equivalent: amcheck's checks of every table
    /// (`verify_heapam`) and B-tree index (`bt_index_check`, every row indexed) of the server's
    /// schema, and the server's own invariant that the log's head (`log_head`) is at or past
    /// every sequence number in the log and the documents.
    pub fn check_database(&self) -> String {
        match self.database_url() {
            None => {
                fieldsync_tests::server::integrity_check(&self.data.path().join("fieldsync.db"))
                    .unwrap_or_else(|e| e)
            }
            Some(url) => postgres_check(&url).unwrap_or_else(|e| postgres_error(&e)),
        }
    }
}

/// What PostgreSQL said, not only the kind of error.
fn postgres_error(e: &postgres::Error) -> String {
    e.as_db_error()
        .map_or_else(|| e.to_string(), ToString::to_string)
}

fn postgres_check(url: &str) -> Result<String, postgres::Error> {
    let mut db = postgres::Client::connect(url, postgres::NoTls)?;
    db.batch_execute("CREATE EXTENSION IF NOT EXISTS amcheck")?;
    let mut problems = Vec::new();
    for row in db.query(
        "SELECT c.relname::text, v.blkno, v.offnum, v.msg \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, \
              LATERAL verify_heapam(c.oid) v \
         WHERE n.nspname = 'public' AND c.relkind = 'r'",
        &[],
    )? {
        let (table, block, offset, msg): (String, i64, Option<i32>, String) =
            (row.get(0), row.get(1), row.get(2), row.get(3));
        problems.push(format!("{table}, block {block}, item {offset:?}: {msg}"));
    }
    let indexes: Vec<(u32, String)> = db
        .query(
            "SELECT c.oid, c.relname::text FROM pg_class c \
             JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_am a ON a.oid = c.relam \
             WHERE n.nspname = 'public' AND c.relkind = 'i' AND a.amname = 'btree'",
            &[],
        )?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    for (oid, name) in indexes {
        if let Err(e) = db.execute("SELECT bt_index_check($1::oid, true)", &[&oid]) {
            problems.push(format!("index {name}: {}", postgres_error(&e)));
        }
    }
    let row = db.query_one(
        "SELECT h.seq, (SELECT max(seq) FROM log), (SELECT max(last_seq) FROM docs) \
         FROM log_head h",
        &[],
    )?;
    let (head, logged, documents): (i64, Option<i64>, Option<i64>) =
        (row.get(0), row.get(1), row.get(2));
    for (what, seq) in [("the log", logged), ("a document", documents)] {
        if seq.is_some_and(|s| s > head) {
            problems.push(format!(
                "{what} holds sequence number {seq:?}, past the log's head {head}"
            ));
        }
    }
    Ok(if problems.is_empty() {
        "ok".to_string()
    } else {
        problems.join("\n")
    })
}
