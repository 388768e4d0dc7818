//! The embedded backend: one SQLite file in the data directory.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::config::DbConfig;
use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params, params_from_iter};

mod administration;
mod attachments;
mod compaction;
mod read_model;

use super::{
    Accounts, CHANGE_NEWS, CHANGE_SESSIONS, ChangeCost, Compaction, DocCommit, DocHistory, DocKind,
    DocScope, Documents, Log, PullPage, RefreshStep, RefreshUse, Role, Session, StorageError,
    StorageResult, StoredDoc, TokenRow, User, WHOLE_START, gather_users, refresh_step,
};
use crate::access::Principal;
use crate::pull::{DocNews, PullRead, ScopeNews};

const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/001_init.sql"),
    include_str!("../../migrations/002_pull_indexes.sql"),
    include_str!("../../migrations/003_scope_columns.sql"),
    include_str!("../../migrations/004_visit_authors.sql"),
    include_str!("../../migrations/005_history_size.sql"),
    include_str!("../../migrations/006_attachments.sql"),
    include_str!("../../migrations/007_read_model.sql"),
    include_str!("../../migrations/008_administration.sql"),
    include_str!("../../migrations/009_user_directory.sql"),
    include_str!("../../migrations/010_first_saves.sql"),
    include_str!("../../migrations/011_change_sessions.sql"),
];

/// Read connections kept open for reuse; more are opened while this many are busy.
const IDLE_READERS: usize = 16;

/// SQLite's errors as every backend's: the ones an operator fixes (a full disk, a read-only
/// data directory) are [`StorageError::Unavailable`], the rest [`StorageError::Backend`].
impl From<rusqlite::Error> for StorageError {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code().and_then(unavailable_because) {
            Some(why) => StorageError::Unavailable {
                why,
                detail: e.to_string(),
            },
            None => StorageError::Backend(e.to_string()),
        }
    }
}

fn unavailable_because(code: rusqlite::ErrorCode) -> Option<&'static str> {
    match code {
        rusqlite::ErrorCode::DiskFull => Some("its disk is full"),
        rusqlite::ErrorCode::ReadOnly => Some("its data directory is read-only"),
        rusqlite::ErrorCode::CannotOpen => Some("it cannot open its database file"),
        rusqlite::ErrorCode::SystemIoFailure => Some("its disk failed to read or write"),
        _ => None,
    }
}

/// SQLite storage in WAL mode: one write connection behind a mutex (SQLite has one writer at a
/// time anyway), and a pool of read connections, so pulls and document loads run beside each
/// other and beside a write that waits for its fsync.
pub struct SqliteStorage {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl SqliteStorage {
    /// Opens (creating and migrating) `fieldsync.db` in `data_dir`.
    pub fn open(data_dir: &Path) -> StorageResult<SqliteStorage> {
        SqliteStorage::open_file(&data_dir.join("fieldsync.db"))
    }

    /// Opens (creating and migrating) the database file at `path`.
    pub fn open_file(path: &Path) -> StorageResult<SqliteStorage> {
        let mut conn = connect(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        let supported = MIGRATIONS.len() as i64;
        loop {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
            if version > supported {
                return Err(StorageError::Backend(format!(
                    "the data directory was written by a newer fieldsync-server (schema {version}): update the server"
                )));
            }
            if version == supported {
                break;
            }
            tx.execute_batch(MIGRATIONS[version as usize])?;
            tx.pragma_update(None, "user_version", version + 1)?;
            tx.commit()?;
        }
        Ok(SqliteStorage {
            path: path.to_path_buf(),
            writer: Mutex::new(conn),
            readers: Mutex::new(Vec::new()),
        })
    }

    /// Runs `f` on the write connection.
    fn write<T>(&self, f: impl FnOnce(&mut Connection) -> StorageResult<T>) -> StorageResult<T> {
        let mut conn = self
            .writer
            .lock()
            .map_err(|_| StorageError::Corrupt("storage lock poisoned".into()))?;
        f(&mut conn)
    }

    /// Runs `f` on a read connection of the pool (opening one if all are busy).
    fn read<T>(&self, f: impl FnOnce(&mut Connection) -> StorageResult<T>) -> StorageResult<T> {
        let pooled = self
            .readers
            .lock()
            .map_err(|_| StorageError::Corrupt("storage lock poisoned".into()))?
            .pop();
        let mut conn = match pooled {
            Some(conn) => conn,
            None => {
                let conn = connect(&self.path)?;
                conn.pragma_update(None, "query_only", "ON")?;
                conn
            }
        };
        let out = f(&mut conn);
        if let Ok(mut readers) = self.readers.lock()
            && readers.len() < IDLE_READERS
        {
            readers.push(conn);
        }
        out
    }
}

/// A connection to the database file with the settings every connection shares.
fn connect(path: &Path) -> StorageResult<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // A statement keeps the plan it was prepared with, whatever values are bound to it:
    // otherwise SQLite compiles again, at every use from the statement cache, a statement whose
    // plan it judged to depend on a bound value.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

fn scope_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<DocScope> {
    let kind: String = r.get(1)?;
    Ok(DocScope {
        id: r.get(0)?,
        // Only validated documents are stored: a kind this version does not read is a damaged
        // row.
        kind: kind.parse().map_err(|e: fieldsync_core::ValidationError| {
            rusqlite::Error::FromSqlConversionFailure(1, rusqlite::types::Type::Text, Box::new(e))
        })?,
        territory: r.get(2)?,
        owner: r.get(3)?,
        customer: r.get(4)?,
        author: r.get(5)?,
        approver: r.get(6)?,
    })
}

const SCOPE_COLUMNS: &str = "id, kind, territory, owner, customer, author, approver";

fn read_directory_version(conn: &Connection) -> StorageResult<i64> {
    Ok(conn
        .prepare_cached("SELECT version FROM directory_version WHERE id = 1")?
        .query_row([], |r| r.get(0))?)
}

fn load_users(conn: &Connection, only: Option<&str>) -> StorageResult<Vec<User>> {
    let territories: Vec<(String, String)> = conn
        .prepare_cached(
            "SELECT username, territory FROM user_territories
             WHERE ?1 IS NULL OR username = ?1 ORDER BY territory",
        )?
        .query_map([only], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let users = conn
        .prepare_cached(
            "SELECT username, password_hash, role, manager, disabled FROM users
             WHERE ?1 IS NULL OR username = ?1 ORDER BY username",
        )?
        .query_map([only], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    gather_users(users, territories)
}

/// The SQL terms (over `docs d`), any of which puts a document in what `p` sees, and their
/// parameters. They read the scope columns each document carries (for a document that belongs to
/// a customer, its customer's owner and territory, and its author, who keeps seeing it; the
/// person named to act on it, an approver or an assignee), so each term is one index lookup.
/// They are [`Principal::sees`] in SQL.
fn scope_terms(p: &Principal) -> (Vec<&'static str>, Vec<SqlValue>) {
    let json = |v: &[String]| SqlValue::Text(serde_json::Value::from(v.to_vec()).to_string());
    match p.role {
        Role::Admin => (vec!["1"], vec![]),
        Role::Rep => (
            vec!["d.scope_owner = ?1", "d.author = ?1", "d.approver = ?1"],
            vec![SqlValue::Text(p.username.clone())],
        ),
        Role::Manager => (
            vec![
                "d.scope_territory IN (SELECT value FROM json_each(?2))",
                "d.scope_owner IN (SELECT value FROM json_each(?3))",
                "d.approver = ?1",
                "d.author IN (SELECT value FROM json_each(?3))",
            ],
            vec![
                SqlValue::Text(p.username.clone()),
                json(&p.territories),
                json(&p.team),
            ],
        ),
    }
}

/// The terms of [`scope_terms`] as one condition, each with `and` added to it (so an index on
/// (scope column, `last_seq`) serves `and = "d.last_seq > ?"`).
fn scope_condition(terms: &[&str], and: &str) -> String {
    terms
        .iter()
        .map(|t| format!("({t}{and})"))
        .collect::<Vec<_>>()
        .join(" OR ")
}

impl Accounts for SqliteStorage {
    fn add_user(&self, user: &User) -> StorageResult<()> {
        self.write(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let exists: bool = tx.query_row("SELECT EXISTS(SELECT 1 FROM users WHERE username = ?1)", [&user.username], |r| r.get(0))?;
            if exists {
                return Err(StorageError::Conflict(format!(
                    "user '{}' already exists",
                    user.username
                )));
            }
            tx.execute(
                "INSERT INTO users(username, password_hash, role, manager, disabled, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![user.username, user.password_hash, user.role.as_str(), user.manager, user.disabled, chrono::Utc::now().to_rfc3339()],
            )?;
            for t in &user.territories {
                tx.execute("INSERT OR IGNORE INTO user_territories(username, territory) VALUES (?1, ?2)", params![user.username, t])?;
            }
            tx.commit()?;
            Ok(())
        })
    }

    fn user(&self, username: &str) -> StorageResult<Option<User>> {
        self.read(|conn| Ok(load_users(conn, Some(username))?.pop()))
    }

    fn users(&self) -> StorageResult<Vec<User>> {
        self.read(|conn| load_users(conn, None))
    }

    fn users_versioned(&self) -> StorageResult<(i64, Vec<User>)> {
        self.read(|conn| {
            // One read transaction: the version and the users are of the same moment.
            let tx = conn.unchecked_transaction()?;
            let version = read_directory_version(&tx)?;
            let users = load_users(&tx, None)?;
            tx.finish()?;
            Ok((version, users))
        })
    }

    fn directory_version(&self) -> StorageResult<i64> {
        self.read(|conn| read_directory_version(conn))
    }

    fn set_disabled(&self, username: &str, disabled: bool) -> StorageResult<bool> {
        self.write(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let n = tx.execute(
                "UPDATE users SET disabled = ?2 WHERE username = ?1",
                params![username, disabled],
            )?;
            if disabled {
                tx.execute(
                    "UPDATE sessions SET revoked = 1 WHERE username = ?1",
                    [username],
                )?;
            }
            tx.commit()?;
            Ok(n > 0)
        })
    }

    fn set_password_hash(&self, username: &str, password_hash: &str) -> StorageResult<bool> {
        self.write(|conn| {
            let n = conn.execute(
                "UPDATE users SET password_hash = ?2 WHERE username = ?1",
                params![username, password_hash],
            )?;
            Ok(n > 0)
        })
    }

    fn create_session(&self, s: &Session) -> StorageResult<()> {
        self.write(|conn| {
            conn.execute(
                "INSERT INTO sessions(id, username, device_name, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![s.id, s.username, s.device_name, s.created_at],
            )?;
            Ok(())
        })
    }

    fn active_session_user(&self, session_id: &str) -> StorageResult<Option<String>> {
        self.read(|conn| {
            Ok(conn
                .prepare_cached("SELECT username FROM sessions WHERE id = ?1 AND revoked = 0")?
                .query_row([session_id], |r| r.get(0))
                .optional()?)
        })
    }

    fn store_refresh(&self, hash: &str, session_id: &str, expires_at: i64) -> StorageResult<()> {
        self.write(|conn| {
            conn.execute(
                "INSERT INTO refresh_tokens(hash, session_id, expires_at) VALUES (?1, ?2, ?3)",
                params![hash, session_id, expires_at],
            )?;
            Ok(())
        })
    }

    fn use_refresh(
        &self,
        hash: &str,
        next_hash: &str,
        next_expires_at: i64,
        now: i64,
    ) -> StorageResult<RefreshUse> {
        self.write(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let row = tx
                .query_row(
                    "SELECT t.session_id, s.username, s.device_name, s.created_at, t.expires_at, t.used, s.revoked
                     FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id WHERE t.hash = ?1",
                    [hash],
                    |r| Ok(TokenRow {
                        session: Session { id: r.get(0)?, username: r.get(1)?, device_name: r.get(2)?, created_at: r.get(3)? },
                        expires_at: r.get(4)?,
                        used: r.get(5)?,
                        revoked: r.get(6)?,
                    }),
                )
                .optional()?;
            let step = refresh_step(
                row,
                now,
                || {
                    Ok(tx
                        .query_row(
                            "SELECT session_id FROM refresh_tokens WHERE hash = ?1 AND used = 0 AND expires_at > ?2",
                            params![next_hash, now],
                            |r| r.get(0),
                        )
                        .optional()?)
                },
                || {
                    Ok(tx.query_row(
                        "SELECT EXISTS(SELECT 1 FROM refresh_tokens WHERE hash = ?1)",
                        [next_hash],
                        |r| r.get(0),
                    )?)
                },
            )?;
            let out = match step {
                RefreshStep::Answer(answer) => answer,
                RefreshStep::Rotate(session) => {
                    tx.execute("UPDATE refresh_tokens SET used = 1 WHERE hash = ?1", [hash])?;
                    tx.execute(
                        "INSERT INTO refresh_tokens(hash, session_id, expires_at) VALUES (?1, ?2, ?3)",
                        params![next_hash, session.id, next_expires_at],
                    )?;
                    RefreshUse::Valid(session)
                }
            };
            tx.commit()?;
            Ok(out)
        })
    }

    fn revoke_session(&self, session_id: &str) -> StorageResult<()> {
        self.write(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute(
                "UPDATE sessions SET revoked = 1 WHERE id = ?1",
                [session_id],
            )?;
            tx.execute(
                "UPDATE refresh_tokens SET used = 1 WHERE session_id = ?1",
                [session_id],
            )?;
            tx.commit()?;
            Ok(())
        })
    }

    fn meta(&self, key: &str) -> StorageResult<Option<String>> {
        self.read(|conn| {
            Ok(conn
                .query_row("SELECT value FROM server_meta WHERE key = ?1", [key], |r| {
                    r.get(0)
                })
                .optional()?)
        })
    }

    fn meta_replace(&self, entries: &[(&str, Option<&str>)]) -> StorageResult<()> {
        self.write(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            for (key, value) in entries {
                match value {
                    Some(value) => tx.execute(
                        "INSERT INTO server_meta(key, value) VALUES (?1, ?2)
                         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                        [key, value],
                    )?,
                    None => tx.execute("DELETE FROM server_meta WHERE key = ?1", [key])?,
                };
            }
            tx.commit()?;
            Ok(())
        })
    }

    fn meta_init(&self, key: &str, value: &str) -> StorageResult<String> {
        self.write(|conn| {
            conn.execute(
                "INSERT OR IGNORE INTO server_meta(key, value) VALUES (?1, ?2)",
                [key, value],
            )?;
            Ok(
                conn.query_row("SELECT value FROM server_meta WHERE key = ?1", [key], |r| {
                    r.get(0)
                })?,
            )
        })
    }
}

impl Documents for SqliteStorage {
    fn load_doc(&self, id: &str) -> StorageResult<Option<StoredDoc>> {
        self.read(|conn| {
            let tx = conn.transaction()?;
            let row: Option<(DocScope, Option<Vec<u8>>, i64, String)> = tx
                .prepare_cached(&format!("SELECT {SCOPE_COLUMNS}, snapshot, snapshot_seq, heads FROM docs WHERE id = ?1"))?
                .query_row([id], |r| Ok((scope_row(r)?, r.get(7)?, r.get(8)?, r.get(9)?)))
                .optional()?;
            let Some((scope, snapshot, snapshot_seq, heads)) = row else { return Ok(None) };
            let mut changes = Vec::new();
            {
                let mut stmt = tx.prepare_cached(
                    "SELECT bytes FROM log WHERE doc_id = ?1 AND event = 'change' AND seq > ?2 ORDER BY seq",
                )?;
                let rows = stmt.query_map(params![id, snapshot_seq], |r| r.get::<_, Vec<u8>>(0))?;
                for row in rows {
                    changes.push(row?);
                }
            }
            tx.commit()?;
            Ok(Some(StoredDoc { scope, snapshot, changes, heads }))
        })
    }

    fn doc_scope(&self, id: &str) -> StorageResult<Option<DocScope>> {
        self.read(|conn| {
            Ok(conn
                .prepare_cached(&format!("SELECT {SCOPE_COLUMNS} FROM docs WHERE id = ?1"))?
                .query_row([id], scope_row)
                .optional()?)
        })
    }

    fn doc_scope_and_heads(&self, id: &str) -> StorageResult<Option<(DocScope, String)>> {
        self.read(|conn| {
            Ok(conn
                .prepare_cached(&format!(
                    "SELECT {SCOPE_COLUMNS}, heads FROM docs WHERE id = ?1"
                ))?
                .query_row([id], |r| Ok((scope_row(r)?, r.get(7)?)))
                .optional()?)
        })
    }

    fn dependents_of(&self, customer: &str) -> StorageResult<Vec<DocScope>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {SCOPE_COLUMNS} FROM docs WHERE customer = ?1"
            ))?;
            let rows = stmt.query_map([customer], scope_row)?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    fn owned_by(&self, kind: &str, owner: &str) -> StorageResult<Vec<String>> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached("SELECT id FROM docs WHERE kind = ?1 AND owner = ?2 ORDER BY id")?;
            let rows = stmt.query_map([kind, owner], |r| r.get(0))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    fn in_territory(&self, kind: &str, territory: &str) -> StorageResult<Vec<String>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT id FROM docs WHERE kind = ?1 AND territory = ?2 ORDER BY id",
            )?;
            let rows = stmt.query_map([kind, territory], |r| r.get(0))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    fn doc_history(&self, id: &str) -> StorageResult<DocHistory> {
        self.read(|conn| {
            let found = conn
                .prepare_cached(
                    "SELECT (SELECT count(*) FROM log l
                             WHERE l.doc_id = d.id AND l.event = 'change' AND l.seq > d.snapshot_seq),
                            d.history_ops, d.history_bytes, d.heads
                     FROM docs d WHERE d.id = ?1",
                )?
                .query_row([id], |r| {
                    Ok(DocHistory {
                        changes_since_snapshot: r.get::<_, i64>(0)? as usize,
                        cost: ChangeCost {
                            ops: r.get::<_, i64>(1)? as u64,
                            bytes: r.get::<_, i64>(2)? as u64,
                        },
                        heads: Some(r.get(3)?),
                    })
                })
                .optional()?;
            Ok(found.unwrap_or_default())
        })
    }

    fn doc_heads(&self, id: &str) -> StorageResult<Option<String>> {
        self.read(|conn| {
            Ok(conn
                .prepare_cached("SELECT heads FROM docs WHERE id = ?1")?
                .query_row([id], |r| r.get(0))
                .optional()?)
        })
    }
}

impl Log for SqliteStorage {
    fn commit_batch(&self, commits: &[DocCommit]) -> StorageResult<Vec<u64>> {
        self.write(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let received = now_ms();
            let seqs = commits
                .iter()
                .map(|c| write_commit(&tx, c, received))
                .collect::<StorageResult<Vec<u64>>>()?;
            tx.commit()?;
            Ok(seqs)
        })
    }

    fn head_seq(&self) -> StorageResult<u64> {
        self.read(|conn| Ok(compaction::head(conn)? as u64))
    }

    fn seq_received_before(&self, unix_ms: i64) -> StorageResult<u64> {
        self.seq_received_before_ms(unix_ms)
    }

    fn compact_log(&self, horizon: u64) -> StorageResult<Compaction> {
        self.compact_up_to(horizon)
    }

    fn read_pull(
        &self,
        read: &mut dyn FnMut(&dyn PullRead) -> StorageResult<PullPage>,
    ) -> StorageResult<PullPage> {
        self.read(|conn| {
            let tx = conn.transaction()?;
            read(&SqlitePull { conn: &tx })
        })
    }
}

/// A pull's questions, answered inside one read transaction (one consistent snapshot).
struct SqlitePull<'a> {
    conn: &'a Connection,
}

impl PullRead for SqlitePull<'_> {
    fn head(&self) -> StorageResult<u64> {
        Ok(compaction::head(self.conn)? as u64)
    }

    fn floor(&self) -> StorageResult<u64> {
        Ok(compaction::log_floor(self.conn)? as u64)
    }

    fn changed_in_scope(
        &self,
        p: &Principal,
        session: Option<&str>,
        cursor: u64,
    ) -> StorageResult<Vec<DocNews>> {
        let (terms, args) = scope_terms(p);
        let n = args.len();
        let sql = format!(
            "SELECT d.id, d.first_seq, d.last_seq, {news} FROM docs d WHERE ({cond})",
            news = CHANGE_NEWS
                .replace("{c}", &format!("?{}", n + 1))
                .replace("{s}", &format!("?{}", n + 2)),
            cond = scope_condition(&terms, &format!(" AND d.last_seq > ?{}", n + 1)),
        );
        let params: Vec<SqlValue> = args
            .into_iter()
            .chain([
                SqlValue::Integer(cursor as i64),
                SqlValue::Text(session.unwrap_or("(none)").to_string()),
            ])
            .collect();
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params_from_iter(params), |r| {
            Ok(DocNews {
                id: r.get(0)?,
                first_seq: r.get::<_, i64>(1)? as u64,
                last_seq: r.get::<_, i64>(2)? as u64,
                first_change_after: r.get::<_, Option<i64>>(3)?.map(|s| s as u64),
                news_from_others: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn scope_news(&self, p: &Principal, cursor: u64) -> StorageResult<Vec<ScopeNews>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT doc_id, seq, event = 'enter' FROM log
             WHERE username = ?1 AND seq > ?2 AND event IN ('enter', 'leave') ORDER BY seq",
        )?;
        let rows = stmt.query_map(params![p.username, cursor as i64], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)? as u64,
                r.get::<_, bool>(2)?,
            ))
        })?;
        ScopeNews::collapse(rows.map(|r| r.map_err(StorageError::from)))
    }

    fn in_scope(&self, p: &Principal, id: &str) -> StorageResult<bool> {
        let (terms, args) = scope_terms(p);
        let sql = format!(
            "SELECT EXISTS(SELECT 1 FROM docs d WHERE d.id = ?{} AND ({}))",
            args.len() + 1,
            scope_condition(&terms, "")
        );
        let params: Vec<SqlValue> = args
            .into_iter()
            .chain([SqlValue::Text(id.to_string())])
            .collect();
        Ok(self
            .conn
            .prepare_cached(&sql)?
            .query_row(params_from_iter(params), |r| r.get(0))?)
    }

    fn whole_document(&self, id: &str) -> StorageResult<Vec<u8>> {
        whole_document(self.conn, id)
    }

    fn changes_after(&self, id: &str, cursor: u64) -> StorageResult<Vec<u8>> {
        changes_after(self.conn, id, cursor as i64)
    }
}

/// The statement [`write_commit`] writes a document's row with.
static UPSERT_DOC: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "INSERT INTO docs(id, kind, territory, owner, customer, author, approver, first_seq, last_seq, heads,
                          scope_owner, scope_territory, history_ops, history_bytes, change_seq, change_session)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?13, ?14, ?11, ?12, ?15, ?16)
         ON CONFLICT(id) DO UPDATE SET territory = excluded.territory, owner = excluded.owner,
            customer = excluded.customer, author = excluded.author, approver = excluded.approver,
            last_seq = excluded.last_seq, heads = excluded.heads,
            scope_owner = excluded.scope_owner, scope_territory = excluded.scope_territory,
            history_ops = history_ops + excluded.history_ops,
            history_bytes = history_bytes + excluded.history_bytes, {CHANGE_SESSIONS}"
    )
});

/// Writes one accepted change set inside the caller's transaction; returns its last seq.
fn write_commit(tx: &Connection, c: &DocCommit, received: i64) -> StorageResult<u64> {
    let mut first: Option<i64> = None;
    let mut last: i64 = 0;
    let mut last_change: i64 = 0;
    for change in &c.changes {
        let inserted = tx
            .prepare_cached(
                "INSERT INTO log(doc_id, event, hash, bytes, device_time, received_at, writer, session)
                 VALUES (?1, 'change', ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING",
            )?
            .execute(params![c.scope.id, change.hash, change.bytes, change.device_time, received, c.writer, c.session])?;
        if inserted > 0 {
            last = tx.last_insert_rowid();
            last_change = last;
            first.get_or_insert(last);
        }
    }
    if !c.scope_events.is_empty() {
        last = administration::log_scope_events(tx, &c.scope_events, received)?;
    }
    let s = &c.scope;
    if let Some(first) = first {
        // The scope columns come computed (`DocCommit::governed_by`); a document's own are
        // also those of the documents that belong to it.
        tx.prepare_cached(&UPSERT_DOC)?.execute(params![
            s.id,
            s.kind.as_str(),
            s.territory,
            s.owner,
            s.customer,
            s.author,
            s.approver,
            first,
            last,
            c.heads,
            c.cost.ops as i64,
            c.cost.bytes as i64,
            c.governed_by.0,
            c.governed_by.1,
            last_change,
            c.session.as_deref().unwrap_or_default()
        ])?;
        // Documents that belong to a customer (its visits) take its scope.
        if s.kind == DocKind::Customer {
            tx.prepare_cached(
                "UPDATE docs SET scope_owner = ?2, scope_territory = ?3
                 WHERE customer = ?1 AND (scope_owner IS NOT ?2 OR scope_territory IS NOT ?3)",
            )?
            .execute(params![s.id, c.governed_by.0, c.governed_by.1])?;
        }
    }
    // The save holds what this commit logged (a new document's one change); a change already
    // logged would mean the document was not new, and its save is not kept.
    if let (Some(save), Some(seq)) = (&c.first_save, first) {
        tx.prepare_cached(
            "INSERT INTO doc_saves(doc_id, seq, bytes) VALUES (?1, ?2, ?3) ON CONFLICT(doc_id) DO NOTHING",
        )?
        .execute(params![s.id, seq, save])?;
    }
    if let Some(uses) = &c.attachments {
        attachments::write_uses(tx, &s.id, uses, received / 1000)?;
    }
    if let Some(view) = &c.view {
        read_model::write_view(tx, view)?;
    }
    if let Some(snapshot) = &c.snapshot {
        let upto: i64 = tx
            .prepare_cached(
                "SELECT coalesce(max(seq), 0) FROM log WHERE doc_id = ?1 AND event = 'change'",
            )?
            .query_row([&s.id], |r| r.get(0))?;
        tx.prepare_cached("UPDATE docs SET snapshot = ?2, snapshot_seq = ?3 WHERE id = ?1")?
            .execute(params![s.id, snapshot, upto])?;
    }
    Ok(last.max(0) as u64)
}

fn changes_after(conn: &Connection, id: &str, cursor: i64) -> StorageResult<Vec<u8>> {
    let mut out = Vec::new();
    let mut stmt = conn.prepare_cached(
        "SELECT bytes FROM log WHERE doc_id = ?1 AND event = 'change' AND seq > ?2 ORDER BY seq",
    )?;
    let mut rows = stmt.query(params![id, cursor])?;
    while let Some(row) = rows.next()? {
        out.extend_from_slice(row.get_ref(0)?.as_blob().map_err(rusqlite::Error::from)?);
    }
    Ok(out)
}

/// The whole document as bytes a client can merge: the snapshot followed by later changes.
fn whole_document(conn: &Connection, id: &str) -> StorageResult<Vec<u8>> {
    let (snapshot, snapshot_seq, last_seq): (Option<Vec<u8>>, i64, i64) = conn
        .prepare_cached(&format!(
            "SELECT {WHOLE_START}, d.last_seq FROM docs d LEFT JOIN doc_saves s ON s.doc_id = d.id
             WHERE d.id = ?1"
        ))?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    let mut out = snapshot.unwrap_or_default();
    // Nothing was logged for the document after its snapshot (or save): no changes to add. A
    // document with neither is its changes alone.
    if last_seq > snapshot_seq {
        out.extend(changes_after(conn, id, snapshot_seq)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::PullLimits;

    fn principal(username: &str, role: Role, territories: &[&str], team: &[&str]) -> Principal {
        Principal {
            username: username.into(),
            role,
            territories: territories.iter().map(|t| t.to_string()).collect(),
            manager: None,
            team: team.iter().map(|t| t.to_string()).collect(),
        }
    }

    fn pulled(storage: &SqliteStorage, p: &Principal, cursor: u64) -> Vec<String> {
        let limits = PullLimits {
            max_documents: 100,
            max_bytes: 1 << 20,
        };
        let mut ids: Vec<String> = storage
            .pull(p, None, cursor, limits)
            .expect("pull")
            .documents
            .into_iter()
            .map(|(id, _, _)| id)
            .collect();
        ids.sort();
        ids
    }

    /// A database file at `path` as a server of schema `version` left it.
    fn at_schema(path: &Path, version: usize) -> Connection {
        let conn = Connection::open(path).expect("open");
        for (done, migration) in MIGRATIONS[..version].iter().enumerate() {
            conn.execute_batch(migration).expect("migrate");
            conn.pragma_update(None, "user_version", done as i64 + 1)
                .expect("version");
        }
        conn
    }

    #[test]
    fn a_schema_2_database_gets_scope_columns_from_its_documents_and_their_customers() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("fieldsync.db");
        {
            let conn = at_schema(&path, 2);
            let docs = [
                ("c-li", "customer", Some("east"), Some("li"), None, None),
                ("v-li", "visit", None, None, Some("c-li"), None),
                ("p-li", "trip_plan", None, Some("li"), None, Some("zhang")),
                (
                    "c-chen",
                    "customer",
                    Some("north"),
                    Some("chen"),
                    None,
                    None,
                ),
                ("v-chen", "visit", None, None, Some("c-chen"), None),
            ];
            for (seq, (id, kind, territory, owner, customer, approver)) in docs.iter().enumerate() {
                let seq = seq as i64 + 1;
                conn.execute(
                    "INSERT INTO log(doc_id, event, hash, bytes, received_at) VALUES (?1, 'change', ?1, x'00', 0)",
                    [id],
                )
                .expect("log");
                conn.execute(
                    "INSERT INTO docs(id, kind, territory, owner, customer, approver, first_seq, last_seq, heads)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?1)",
                    params![id, kind, territory, owner, customer, approver, seq],
                )
                .expect("doc");
            }
        }
        let storage = SqliteStorage::open_file(&path).expect("migrate to the current schema");

        let li = principal("li", Role::Rep, &["east"], &["li"]);
        assert_eq!(pulled(&storage, &li, 0), ["c-li", "p-li", "v-li"]);
        let zhang = principal("zhang", Role::Manager, &["east"], &["zhang"]);
        assert_eq!(
            pulled(&storage, &zhang, 0),
            ["c-li", "p-li", "v-li"],
            "territory east, and the plan zhang approves"
        );
        let zhao = principal("zhao", Role::Manager, &["south"], &["zhao", "chen"]);
        assert_eq!(pulled(&storage, &zhao, 0), ["c-chen", "v-chen"], "team");
        assert_eq!(pulled(&storage, &zhao, 4), ["v-chen"], "after a cursor");
    }

    #[test]
    fn a_schema_10_database_learns_each_documents_latest_change_and_its_session_from_the_log() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("fieldsync.db");
        {
            let conn = at_schema(&path, 10);
            // c1: the laptop, then the phone; c2: the phone alone, then a scope event of another user's.
            for (id, session) in [("c1", "laptop"), ("c1", "phone"), ("c2", "phone")] {
                conn.execute(
                    "INSERT INTO log(doc_id, event, hash, bytes, received_at, session)
                     VALUES (?1, 'change', ?2, x'00', 0, ?3)",
                    params![id, format!("{id}-{session}"), session],
                )
                .expect("log");
            }
            conn.execute(
                "INSERT INTO log(doc_id, event, username, received_at) VALUES ('c2', 'leave', 'chen', 0)",
                [],
            )
            .expect("scope event");
            for (id, first, last) in [("c1", 1, 2), ("c2", 3, 4)] {
                conn.execute(
                    "INSERT INTO docs(id, kind, territory, owner, first_seq, last_seq, heads,
                                      scope_owner, scope_territory)
                     VALUES (?1, 'customer', 'east', 'li', ?2, ?3, ?1, 'li', 'east')",
                    params![id, first, last],
                )
                .expect("doc");
            }
        }
        let storage = SqliteStorage::open_file(&path).expect("migrate to the current schema");
        let columns: Vec<(String, i64, String, i64)> = Connection::open(&path)
            .expect("open")
            .prepare(
                "SELECT id, change_seq, change_session, other_change_seq FROM docs ORDER BY id",
            )
            .expect("columns")
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .expect("rows")
            .collect::<rusqlite::Result<_>>()
            .expect("rows");
        assert_eq!(
            columns,
            [
                ("c1".to_string(), 2, "phone".to_string(), 1),
                ("c2".to_string(), 3, "phone".to_string(), 0)
            ]
        );
        let li = principal("li", Role::Rep, &["east"], &["li"]);
        let sent = |session: &str, cursor: u64| -> Vec<String> {
            let limits = PullLimits {
                max_documents: 100,
                max_bytes: 1 << 20,
            };
            let page = storage
                .pull(&li, Some(session), cursor, limits)
                .expect("pull");
            page.documents.into_iter().map(|(id, _, _)| id).collect()
        };
        assert_eq!(sent("phone", 0), ["c1"], "c2 is the phone's alone");
        assert_eq!(
            sent("phone", 1),
            Vec::<String>::new(),
            "after the laptop's change"
        );
        assert_eq!(sent("laptop", 1), ["c1", "c2"], "the phone's changes");
    }

    #[test]
    fn a_customer_changing_hands_takes_its_visits_scope_with_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let storage = SqliteStorage::open(dir.path()).expect("open");
        let scope = |id: &str, kind: &str, owner: Option<&str>, customer: Option<&str>| DocScope {
            territory: owner.map(|_| "east".to_string()),
            owner: owner.map(str::to_string),
            customer: customer.map(str::to_string),
            ..DocScope::of(kind.parse().expect("a kind"), id)
        };
        // The customer's owner and territory decide who sees it and its visit.
        let commit = |scope: DocScope, n: u8, owner: &str| DocCommit {
            governed_by: (Some(owner.to_string()), Some("east".to_string())),
            heads: format!("{n}"),
            changes: vec![super::super::LoggedChange {
                hash: format!("{n:064x}"),
                bytes: vec![n],
                device_time: 0,
            }],
            scope,
            writer: "admin".into(),
            session: None,
            snapshot: None,
            first_save: None,
            scope_events: Vec::new(),
            cost: Default::default(),
            base_heads: None,
            base_customer: None,
            attachments: None,
            view: None,
        };
        storage
            .commit_batch(&[
                commit(scope("c", "customer", Some("li"), None), 1, "li"),
                commit(scope("v", "visit", None, Some("c")), 2, "li"),
            ])
            .expect("write");
        let (li, wang) = (
            principal("li", Role::Rep, &["east"], &["li"]),
            principal("wang", Role::Rep, &["east"], &["wang"]),
        );
        assert_eq!(pulled(&storage, &li, 0), ["c", "v"]);
        assert!(pulled(&storage, &wang, 0).is_empty());

        storage
            .commit_batch(&[commit(
                scope("c", "customer", Some("wang"), None),
                3,
                "wang",
            )])
            .expect("write");
        assert!(pulled(&storage, &li, 0).is_empty());
        assert_eq!(pulled(&storage, &wang, 0), ["c", "v"]);
    }
}
