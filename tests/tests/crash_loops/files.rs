//! What a crashed process left behind, read without changing it (store files opened read-only,
//! the server's counters, the session a device saved), and the one change a test makes on
//! purpose: an expired access token in a device's session, so its next sync starts with a
//! refresh.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use fieldsync_core::Store;
use fieldsync_tests::server::{metric, metrics_page};
use rusqlite::{Connection, OpenFlags};
use serde_json::Value;

/// Opens an SQLite file read-only: nothing is checkpointed or repaired by looking.
pub fn open_read_only(path: &Path) -> Connection {
    Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()))
}

/// `PRAGMA integrity_check` of the file, read-only.
pub fn integrity(path: &Path) -> String {
    fieldsync_tests::server::integrity_check(path).unwrap()
}

/// What a device's file says about its documents and its sync, read-only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceState {
    /// Every document id with its heads: changes with any committed write.
    pub fingerprint: String,
    /// Documents with changes the server has not acknowledged.
    pub unsent: i64,
    /// The sync cursor.
    pub cursor: String,
    /// The saved session's refresh token (it changes when a refresh's answer is saved; the
    /// successor proposed before asking is not counted).
    pub session: Option<String>,
}

pub fn device_state(db: &Path) -> DeviceState {
    let conn = open_read_only(db);
    let meta = |key: &str| -> Option<String> {
        conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .ok()
    };
    DeviceState {
        fingerprint: conn
            .query_row(
                "SELECT coalesce(group_concat(id || ':' || heads, ';'), '') \
                 FROM (SELECT id, heads FROM documents ORDER BY id)",
                [],
                |r| r.get(0),
            )
            .unwrap(),
        unsent: conn
            .query_row(
                "SELECT count(*) FROM documents WHERE acked_heads IS NULL OR acked_heads <> heads",
                [],
                |r| r.get(0),
            )
            .unwrap(),
        cursor: meta("sync.cursor").unwrap_or_else(|| "0".into()),
        session: meta("sync.session").and_then(|json| {
            let saved: serde_json::Value = serde_json::from_str(&json).ok()?;
            saved["refresh_token"].as_str().map(str::to_string)
        }),
    }
}

/// The ids of the documents of `kind` in the file, read-only.
pub fn ids_of_kind(db: &Path, kind: &str) -> BTreeSet<String> {
    let conn = open_read_only(db);
    let mut stmt = conn
        .prepare("SELECT id FROM documents WHERE kind = ?1")
        .unwrap();
    stmt.query_map([kind], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

/// Every document of a store, as JSON, by id.
pub fn documents(store: &Store) -> BTreeMap<String, Value> {
    store
        .document_ids()
        .unwrap()
        .into_iter()
        .map(|(id, _)| {
            let doc = serde_json::to_value(store.document(&id).unwrap()).unwrap();
            (id, doc)
        })
        .collect()
}

/// The server's count of sync rounds it has handled.
pub fn server_rounds(url: &str) -> u64 {
    let page = metrics_page(url).unwrap();
    metric(&page, "fieldsync_sync_rounds_total").unwrap_or_else(|| panic!("no rounds in\n{page}"))
        as u64
}

/// Replaces the access token saved in the device's store with one the server signed but that
/// expired a minute ago, so the next sync starts with a refresh.
pub fn expire_access_token(db: &Path, data_dir: &Path) {
    use base64::Engine;
    let key = hex::decode(
        std::fs::read_to_string(data_dir.join("jwt.key"))
            .unwrap()
            .trim(),
    )
    .unwrap();
    let conn = Connection::open(db).unwrap();
    let saved: String = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'sync.session'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let mut session: Value = serde_json::from_str(&saved).unwrap();
    let token = session["access_token"].as_str().unwrap().to_string();
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let payload = token.split('.').nth(1).unwrap();
    let mut claims: Value = serde_json::from_slice(&b64.decode(payload).unwrap()).unwrap();
    let now = chrono::Utc::now().timestamp();
    claims["iat"] = (now - 3_600).into();
    claims["exp"] = (now - 60).into();
    session["access_token"] = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(&key),
    )
    .unwrap()
    .into();
    conn.execute(
        "UPDATE meta SET value = ?1 WHERE key = 'sync.session'",
        [session.to_string()],
    )
    .unwrap();
}

/// How many refresh tokens the server has retired, read-only.
pub fn retired_refresh_tokens(server_db: &Path) -> i64 {
    open_read_only(server_db)
        .query_row(
            "SELECT count(*) FROM refresh_tokens WHERE used <> 0",
            [],
            |r| r.get(0),
        )
        .unwrap()
}
