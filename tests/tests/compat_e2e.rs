//! Upgrades without stranding phones (docs/PROTOCOL.md, "Compatibility and releases"): this
//! server serves the previous release's devices, migrates the previous release's database on
//! start with nothing lost, and tells a client too old to serve, in one typed answer, to update
//! the app.
//!
//! The previous release is the one RELEASES.md lists before this build. Its `fieldsync` is
//! built from its commit by [`fieldsync_tests::compat`] (into `target/compat/<version>`, kept
//! between runs); its server's database is the fixture `tests/fixtures/compat/v<version>/`,
//! made by that release's own server (the fixture's README says how). Everything runs as real
//! processes on 127.0.0.1.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use common::cli::{json, logged_in, pw, run};
use fieldsync_tests::cli::{Home, Run, login_args};
use fieldsync_tests::compat;
use fieldsync_tests::server::ServerProcess;
use serde_json::Value;

/// The previous release's `fieldsync`, built from its commit (or `FIELDSYNC_PREVIOUS_CLI`).
fn previous_cli() -> PathBuf {
    let release = compat::previous_release().unwrap();
    compat::build(&release, &["fieldsync-cli"])
        .unwrap_or_else(|e| panic!("{e}"))
        .cli
}

/// A device running the previous release's `fieldsync`.
struct OldDevice {
    home: Home,
    cli: PathBuf,
}

impl OldDevice {
    fn logged_in(cli: &Path, url: &str, user: &str) -> OldDevice {
        let device = OldDevice {
            home: Home::new().unwrap(),
            cli: cli.to_path_buf(),
        };
        device
            .home
            .run_binary(
                cli,
                &login_args(url, user, "old laptop"),
                &[("FIELDSYNC_PASSWORD", &pw(user))],
            )
            .unwrap()
            .ok();
        device
    }

    fn run(&self, args: &[&str]) -> Run {
        self.home.run_binary(&self.cli, args, &[]).unwrap()
    }
}

/// The ids of a `list --json` answer: an array, or an object holding one (customers come
/// in pages).
fn ids(list: &Value) -> BTreeSet<String> {
    let items = list
        .as_array()
        .or_else(|| list["customers"].as_array())
        .unwrap_or_else(|| panic!("not a list: {list}"));
    items
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_string())
        .collect()
}

/// The fields of a customer both releases show, which must be equal on converged devices.
const CUSTOMER_FIELDS: &[&str] = &[
    "name",
    "tier",
    "city",
    "industry",
    "notes",
    "owner",
    "territory",
    "created_by",
];

#[test]
fn the_previous_release_and_a_current_device_converge_through_this_server() {
    let old_cli = previous_cli();
    let org = common::org();
    let url = org.server.url();
    let laptop = OldDevice::logged_in(&old_cli, &url, "li");
    let phone = logged_in(&url, "li");

    // The old laptop records a customer offline, then both devices sync.
    let shared = laptop
        .run(&[
            "customer",
            "add",
            "--name",
            "华东精密机械有限公司",
            "--tier",
            "A",
        ])
        .ok()
        .to_string();
    laptop.run(&["sync"]).ok();
    run(&phone, &["sync"]).ok();
    assert_eq!(
        json(run(&phone, &["customer", "show", &shared, "--json"]))["name"],
        "华东精密机械有限公司"
    );

    // Offline on both: edits of different fields of the shared customer, a note each, one
    // field set to different values on each, and new customers and visits.
    laptop.run(&["customer", "set", &shared, "tier", "B"]).ok();
    laptop
        .run(&["customer", "note", &shared, "旧版笔记本上写的。"])
        .ok();
    laptop
        .run(&["customer", "set", &shared, "industry", "机械"])
        .ok();
    let old_customer = laptop
        .run(&["customer", "add", "--name", "无锡轴承厂"])
        .ok()
        .to_string();
    let old_visit = laptop
        .run(&[
            "visit",
            "add",
            "--customer",
            &shared,
            "--summary",
            "旧版记录的拜访：客户要求样品。",
            "--met",
            "王芳:采购经理",
            "--outcome",
            "progress",
            "--at",
            "2026-12-01T10:00:00+08:00",
        ])
        .ok()
        .to_string();
    run(&phone, &["customer", "set", &shared, "city", "苏州"]).ok();
    run(&phone, &["customer", "note", &shared, "新版手机上写的。"]).ok();
    run(&phone, &["customer", "set", &shared, "industry", "轴承"]).ok();
    let new_customer = run(&phone, &["customer", "add", "--name", "苏州新材料科技"])
        .ok()
        .to_string();
    let new_visit = run(
        &phone,
        &[
            "visit",
            "add",
            "--customer",
            &shared,
            "--summary",
            "新版记录的回访。",
        ],
    )
    .ok()
    .to_string();

    // Sync in turns, the old laptop first, until both have everything.
    let mut rejected = 0;
    for _ in 0..2 {
        let report = json(laptop.run(&["sync", "--json"]));
        rejected += report["rejected"].as_u64().unwrap();
        let report = json(run(&phone, &["sync", "--json"]));
        rejected += report["rejected"].as_u64().unwrap();
    }
    assert_eq!(rejected, 0, "nothing either device typed is refused");

    // Both hold the same customers and visits: everything either typed.
    let customers_old = ids(&json(laptop.run(&["customer", "list", "--json"])));
    let customers_new = ids(&json(run(&phone, &["customer", "list", "--json"])));
    assert_eq!(customers_old, customers_new);
    let expected: BTreeSet<String> = [&shared, &old_customer, &new_customer]
        .into_iter()
        .cloned()
        .collect();
    assert_eq!(customers_new, expected);
    let visits_old = ids(&json(laptop.run(&["visit", "list", "--json"])));
    let visits_new = ids(&json(run(&phone, &["visit", "list", "--json"])));
    assert_eq!(visits_old, visits_new);
    assert!(
        visits_new.contains(&old_visit) && visits_new.contains(&new_visit),
        "{visits_new:?}"
    );

    // Every customer reads the same on both, field by field.
    for id in &expected {
        let on_old = json(laptop.run(&["customer", "show", id, "--json"]));
        let on_new = json(run(&phone, &["customer", "show", id, "--json"]));
        for field in CUSTOMER_FIELDS {
            assert_eq!(on_old[field], on_new[field], "{field} of {id}");
        }
    }
    // The merge rules: different fields both kept, both notes kept, one value of the field
    // both set, the same on both, with the other kept as a conflict to resolve.
    let merged = json(run(&phone, &["customer", "show", &shared, "--json"]));
    assert_eq!(merged["tier"], "B");
    assert_eq!(merged["city"], "苏州");
    let notes = merged["notes"].as_str().unwrap();
    assert!(
        notes.contains("旧版笔记本上写的。") && notes.contains("新版手机上写的。"),
        "{notes}"
    );
    let industry = merged["industry"].as_str().unwrap();
    assert!(industry == "机械" || industry == "轴承", "{industry}");
    let conflicts = run(&phone, &["conflicts", "--json"]).ok().to_string();
    assert!(
        conflicts.contains("机械") && conflicts.contains("轴承"),
        "{conflicts}"
    );
    let shown = json(laptop.run(&["visit", "show", &old_visit, "--json"]));
    assert_eq!(shown["people_met"][0]["title"], "采购经理");
    assert_eq!(
        json(run(&phone, &["visit", "show", &old_visit, "--json"]))["summary"],
        "旧版记录的拜访：客户要求样品。"
    );
    for status in [
        json(laptop.run(&["status", "--json"])),
        json(run(&phone, &["status", "--json"])),
    ] {
        assert_eq!(status["unsent"], 0, "{status}");
        assert_eq!(status["quarantined"], 0, "{status}");
    }

    // The manager's current device sees all of it, as the old laptop typed it.
    let manager = logged_in(&url, "zhang");
    run(&manager, &["sync"]).ok();
    assert_eq!(
        ids(&json(run(&manager, &["customer", "list", "--json"]))),
        expected
    );
    assert_eq!(
        json(run(&manager, &["visit", "show", &old_visit, "--json"]))["summary"],
        "旧版记录的拜访：客户要求样品。"
    );
}

/// What the server's database holds: users, documents, the log, sessions and refresh tokens.
#[derive(Debug, PartialEq, Eq)]
struct Census {
    users: Vec<String>,
    documents: Vec<String>,
    log: Vec<(i64, String, String)>,
    sessions: Vec<(String, String, i64)>,
    refresh_tokens: Vec<(String, i64)>,
}

fn census(db: &Path) -> Census {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let strings = |sql: &str| -> Vec<String> {
        let mut stmt = conn.prepare(sql).unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let users = strings("SELECT username FROM users ORDER BY username");
    let documents = strings("SELECT id FROM docs ORDER BY id");
    let mut stmt = conn
        .prepare("SELECT seq, doc_id, event FROM log ORDER BY seq")
        .unwrap();
    let log = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut stmt = conn
        .prepare("SELECT id, username, revoked FROM sessions ORDER BY id")
        .unwrap();
    let sessions = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut stmt = conn
        .prepare("SELECT hash, used FROM refresh_tokens ORDER BY hash")
        .unwrap();
    let refresh_tokens = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    Census {
        users,
        documents,
        log,
        sessions,
        refresh_tokens,
    }
}

/// Copies the files of `from` into `to`.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

/// Points the saved session of a device home at `url` (the fixture's server ran on another
/// port): the same server, reached at its new address.
fn repoint(home: &Path, url: &str) {
    let conn = rusqlite::Connection::open(home.join("device.db")).unwrap();
    let saved: String = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'sync.session'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let mut session: Value = serde_json::from_str(&saved).unwrap();
    session["server_url"] = Value::from(url);
    conn.execute(
        "UPDATE meta SET value = ?1 WHERE key = 'sync.session'",
        [session.to_string()],
    )
    .unwrap();
}

#[test]
fn the_previous_release_database_migrates_on_start_with_nothing_lost() {
    let release = compat::previous_release().unwrap();
    let fixture = compat::fixture_dir(&release);
    let facts: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture.join("facts.json")).unwrap_or_else(|e| {
            panic!(
                "no fixture of release {} in {} ({e}): make it with `cargo run -p tests --bin compat_fixture` (tests/fixtures/compat/README.md)",
                release.version,
                fixture.display()
            )
        }),
    )
    .unwrap();
    assert_eq!(facts["release"]["version"], release.version.as_str());
    let data = tempfile::tempdir().unwrap();
    copy_dir(&fixture.join("server"), data.path());
    let db = data.path().join("fieldsync.db");
    let before = census(&db);
    assert!(!before.log.is_empty() && !before.sessions.is_empty());

    // This server starts on the previous release's data directory and migrates it.
    let server = ServerProcess::start(data.path()).unwrap();
    let url = server.url();
    let after = census(&db);
    assert_eq!(after, before, "the migration kept every row it found");
    assert_eq!(fieldsync_tests::server::integrity_check(&db).unwrap(), "ok");

    // The previous release's laptop, its app now updated (this `fieldsync` on its store), syncs
    // on its old session: its refresh token is still one, its cursor still counts, and its
    // offline work goes up.
    let laptop_dir = tempfile::tempdir().unwrap();
    copy_dir(&fixture.join("device"), laptop_dir.path());
    repoint(laptop_dir.path(), &url);
    let laptop = Home::at(laptop_dir);
    let report = json(run(&laptop, &["sync", "--json"]));
    assert_eq!(report["rejected"], 0, "{report}");
    assert!(report["pushed"].as_u64().unwrap() >= 1, "{report}");
    let status = json(run(&laptop, &["status", "--json"]));
    assert_eq!(status["unsent"], 0, "{status}");
    assert_eq!(status["user"]["username"], "li");
    let after_sync = census(&db);
    assert_eq!(
        after_sync.sessions, before.sessions,
        "the laptop synced on its own session, not a new one"
    );

    // Every user logs in with the password they had; a new device of the manager pulls every
    // document the old server held, and the laptop's offline work.
    for user in facts["users"].as_array().unwrap() {
        let user = user.as_str().unwrap();
        Home::new()
            .unwrap()
            .login(&url, user, &pw(user))
            .unwrap()
            .ok();
    }
    let manager = logged_in(&url, "zhang");
    run(&manager, &["sync"]).ok();
    let customers = ids(&json(run(&manager, &["customer", "list", "--json"])));
    for (_, id) in facts["customers"].as_object().unwrap() {
        assert!(customers.contains(id.as_str().unwrap()), "{id} is lost");
    }
    let bearings = facts["customers"]["bearings"].as_str().unwrap();
    assert_eq!(
        json(run(&manager, &["customer", "show", bearings, "--json"]))["tier"],
        "C",
        "the edit the laptop made offline before the upgrade"
    );
    let visits = ids(&json(run(&manager, &["visit", "list", "--json"])));
    for (_, id) in facts["visits"].as_object().unwrap() {
        assert!(visits.contains(id.as_str().unwrap()), "{id} is lost");
    }
    let synced_visit = facts["visits"]["synced"].as_str().unwrap();
    let shown = json(run(&manager, &["visit", "show", synced_visit, "--json"]));
    assert_eq!(shown["manager_comments"][0]["text"], facts["comment"]);

    // The log goes on from where the old server left it: the manager's new comment reaches
    // the laptop at its old cursor.
    run(
        &manager,
        &["visit", "comment", synced_visit, "样品已寄出。"],
    )
    .ok();
    run(&manager, &["sync"]).ok();
    run(&laptop, &["sync"]).ok();
    let shown = json(run(&laptop, &["visit", "show", synced_visit, "--json"]));
    let comments: Vec<&str> = shown["manager_comments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["text"].as_str().unwrap())
        .collect();
    assert!(comments.contains(&"样品已寄出。"), "{comments:?}");
    let log = census(&db).log;
    assert_eq!(log[..before.log.len()], before.log[..]);
    assert!(log.len() > before.log.len());
}

/// One raw HTTP/1.1 request to `url` (`http://127.0.0.1:port`); the status and the body.
fn raw_post(url: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, Vec<u8>) {
    let addr = url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an HTTP answer");
    let head = String::from_utf8_lossy(&answer[..split]).to_string();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap();
    let mut rest = answer[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        rest = dechunk(&rest);
    }
    (status, rest)
}

/// The body of a chunked answer.
fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n").unwrap();
        let size =
            usize::from_str_radix(std::str::from_utf8(&data[..line_end]).unwrap(), 16).unwrap();
        if size == 0 {
            return out;
        }
        data = &data[line_end + 2..];
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

#[test]
fn a_client_of_an_older_protocol_is_told_to_update_the_app_and_its_version_is_counted() {
    let org = common::org();
    let url = org.server.url();
    let session = common::login(&url, "li");
    let token = format!("Bearer {}", session["access_token"].as_str().unwrap());
    // A sync round of protocol 0, shaped as that protocol pleased, from an app that says it is
    // 0.0.9 (its word is logged, not trusted).
    let body = fieldsync_core::protocol::encode(
        &serde_json::json!({"protocol": 0, "since": 0, "changes": []}),
    );
    let (status, answer) = raw_post(
        &url,
        "/v1/sync",
        &[
            ("Authorization", &token),
            ("Content-Type", "application/cbor"),
            ("User-Agent", "fieldsync/0.0.9"),
        ],
        &body,
    );
    assert_eq!(status, 426, "{}", String::from_utf8_lossy(&answer));
    let answer: Value = serde_json::from_slice(&answer).unwrap();
    assert_eq!(answer["error"], "client_too_old");
    assert_eq!(answer["min_app_version"], "0.1.0");
    assert_eq!(answer["min_protocol"], 1);
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .contains("update the app to version 0.1.0 or later"),
        "{answer}"
    );
    // The same answer is what this build's client turns into "update the app", and stops.
    let refused = fieldsync_core::protocol::compat::Unserved::from_answer(
        status,
        answer.to_string().as_bytes(),
    );
    assert!(matches!(
        refused,
        Some(fieldsync_core::protocol::compat::Unserved::ClientTooOld { .. })
    ));
    // The current protocol is served on the same session, from an app that says it is 0.1.0.
    let current = fieldsync_core::protocol::encode(&fieldsync_core::protocol::SyncRequest {
        protocol: fieldsync_core::protocol::PROTOCOL_VERSION,
        cursor: 0,
        push: Vec::new(),
    });
    let (status, _) = raw_post(
        &url,
        "/v1/sync",
        &[
            ("Authorization", &token),
            ("Content-Type", "application/cbor"),
            ("User-Agent", "fieldsync/0.1.0"),
        ],
        &current,
    );
    assert_eq!(status, 200);
    // The operator sees how many devices run each app version; the refused round is not one.
    let admin = common::login(&url, "admin");
    let (status, health) = common::get_json(
        &format!("{url}/v1/admin/health"),
        admin["access_token"].as_str().unwrap(),
    );
    assert_eq!(status, 200, "{health}");
    assert_eq!(
        health["app_versions_last_day"],
        serde_json::json!({"0.1.0": 1})
    );
}
