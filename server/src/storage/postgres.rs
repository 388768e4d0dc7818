//! The PostgreSQL backend: for organisations that outgrow one machine, and for several server
//! nodes sharing one database.
//!
//! It keeps the tables of the SQLite backend, with two differences that come from PostgreSQL
//! running many transactions at once:
//! - **Log numbers in commit order.** A sequence hands out numbers at insert and transactions
//!   commit in any order, so a pull could see number 105 committed while 104 is still in flight
//!   and move its cursor past 104 for ever. Here the highest number given is a row
//!   (`log_head`) that every write locks until it commits: appends are numbered one transaction
//!   after another, and a pull's snapshot holds every number up to the head it reads.
//! - **Pulls read one snapshot** (`REPEATABLE READ`), so the head, the documents and their
//!   changes agree.
//!
//! Statements are few: each is a round trip. Reads and writes of many documents pass their
//! keys as arrays (`unnest`), and a lookup of many keys is a lateral subquery per key, kept
//! whole by `OFFSET 0`, so it is one index lookup per key whatever the table's statistics say
//! (after a bulk load they still say the table is tiny, and the planner would scan it).
//!
//! The storage trait is blocking (the server calls it through `spawn_blocking`), so this
//! backend uses the blocking `postgres` client (the tokio-postgres maintainers' wrapper) with
//! an r2d2 pool, and every connection keeps its prepared statements.

use std::collections::HashMap;
use std::time::Duration;

use postgres::error::SqlState;
use postgres::types::ToSql;
use postgres::{IsolationLevel, NoTls, Row, Statement};

mod administration;
mod attachments;
mod commits;
mod compaction;
mod import;
mod locks;
mod read_model;

pub use import::Imported;

use locks::NodeLocks;

use super::{
    Accounts, CHANGE_NEWS, ChangeCost, Compaction, DocCommit, DocHistory, DocScope, Documents, Log,
    NodeLink, PullPage, ReadAhead, RefreshStep, RefreshUse, Role, Session, StorageError,
    StorageResult, StoredDoc, TokenRow, User, WHOLE_START, gather_users, refresh_step,
};
use crate::access::Principal;
use crate::nodes::News;
use crate::pull::{DocNews, PullRead, ScopeNews};

const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/postgres/001_init.sql"),
    include_str!("../../migrations/postgres/002_attachments.sql"),
    include_str!("../../migrations/postgres/003_read_model.sql"),
    include_str!("../../migrations/postgres/004_administration.sql"),
    include_str!("../../migrations/postgres/005_user_directory.sql"),
    include_str!("../../migrations/postgres/006_first_saves.sql"),
    include_str!("../../migrations/postgres/007_change_sessions.sql"),
];

/// How long a connection attempt may take.
const CONNECT_WITHIN: Duration = Duration::from_secs(5);
/// A connection whose sent data goes unacknowledged this long is given up as broken (a
/// database cut off without a word), instead of the system's two hours.
const UNACKNOWLEDGED_FOR: Duration = Duration::from_secs(20);
/// What every session of the server sets: a transaction left open by a node that froze is
/// ended (so the log's head row it held is free again for every other node), and no statement
/// waits longer than this for a lock or runs longer than this. No JIT compilation: a pull's
/// scope query over a manager's many documents is estimated costly enough for PostgreSQL to
/// compile it, every time, which took 100 ms of a 270 ms page (`auto_explain`), more than
/// compiling ever saves on queries that each read a few thousand rows through indexes.
const SESSION_OPTIONS: &str = "-c idle_in_transaction_session_timeout=30s -c lock_timeout=30s \
     -c statement_timeout=120s -c jit=off";

/// Connections the pool opens at most.
const MAX_CONNECTIONS: u32 = 16;
/// How long a request waits for a connection before the server answers 503.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// PostgreSQL's errors as every backend's: a server that cannot be reached, is shutting down,
/// or has no disk left is [`StorageError::Unavailable`]; a unique violation a
/// [`StorageError::Conflict`]; the rest [`StorageError::Backend`].
impl From<postgres::Error> for StorageError {
    fn from(e: postgres::Error) -> Self {
        let unavailable = |why| StorageError::Unavailable {
            why,
            detail: said(&e),
        };
        if e.is_closed() {
            return unavailable("its connection to the database server was lost");
        }
        match e.code() {
            None if connection_lost(&e) => unavailable("it cannot reach its database server"),
            None => StorageError::Backend(e.to_string()),
            Some(code) if code.code().starts_with("08") => {
                unavailable("it cannot reach its database server")
            }
            Some(code)
                if [
                    SqlState::ADMIN_SHUTDOWN,
                    SqlState::CRASH_SHUTDOWN,
                    SqlState::CANNOT_CONNECT_NOW,
                    SqlState::TOO_MANY_CONNECTIONS,
                ]
                .contains(code) =>
            {
                unavailable("its database server is restarting or busy")
            }
            Some(&SqlState::DISK_FULL) => unavailable("its database server's disk is full"),
            Some(code)
                if [
                    SqlState::T_R_DEADLOCK_DETECTED,
                    SqlState::T_R_SERIALIZATION_FAILURE,
                    SqlState::LOCK_NOT_AVAILABLE,
                    SqlState::QUERY_CANCELED,
                    SqlState::IDLE_IN_TRANSACTION_SESSION_TIMEOUT,
                ]
                .contains(code) =>
            {
                unavailable("its database server is too busy")
            }
            Some(&SqlState::READ_ONLY_SQL_TRANSACTION) => {
                unavailable("its database server is read-only (a standby)")
            }
            Some(&SqlState::UNIQUE_VIOLATION) => StorageError::Conflict(said(&e)),
            Some(_) => StorageError::Backend(said(&e)),
        }
    }
}

/// What PostgreSQL said (its code, message and detail), not only the kind of error.
fn said(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!(
            "{} ({}){}",
            db.message(),
            db.code().code(),
            db.detail().map(|d| format!(": {d}")).unwrap_or_default()
        ),
        None => e.to_string(),
    }
}

impl From<r2d2::Error> for StorageError {
    fn from(e: r2d2::Error) -> Self {
        StorageError::Unavailable {
            why: "it cannot reach its database server",
            detail: e.to_string(),
        }
    }
}

/// One pooled connection and the statements prepared on it.
pub struct PgConnection {
    client: postgres::Client,
    statements: HashMap<String, Statement>,
}

/// Opens connections for the pool.
#[derive(Debug)]
struct Connector {
    config: postgres::Config,
}

impl r2d2::ManageConnection for Connector {
    type Connection = PgConnection;
    type Error = postgres::Error;

    fn connect(&self) -> Result<PgConnection, postgres::Error> {
        Ok(PgConnection {
            client: self.config.connect(NoTls)?,
            statements: HashMap::new(),
        })
    }

    fn is_valid(&self, conn: &mut PgConnection) -> Result<(), postgres::Error> {
        conn.client.simple_query("").map(|_| ())
    }

    fn has_broken(&self, conn: &mut PgConnection) -> bool {
        conn.client.is_closed()
    }
}

/// Where a unit of work's statements go: a transaction, or the connection itself for work
/// that is one statement (its own snapshot, without the round trips of `BEGIN` and `COMMIT`).
enum Link<'c> {
    Tx(postgres::Transaction<'c>),
    Alone(&'c mut postgres::Client),
}

/// A unit of work on a pooled connection (a transaction, or one statement alone), preparing
/// each statement once per connection.
struct Tx<'c> {
    link: Link<'c>,
    statements: &'c mut HashMap<String, Statement>,
}

impl<'c> Tx<'c> {
    fn begin(
        conn: &'c mut PgConnection,
        isolation: IsolationLevel,
        read_only: bool,
    ) -> Result<Tx<'c>, postgres::Error> {
        let PgConnection { client, statements } = conn;
        let tx = client
            .build_transaction()
            .isolation_level(isolation)
            .read_only(read_only)
            .start()?;
        Ok(Tx {
            link: Link::Tx(tx),
            statements,
        })
    }

    fn alone(conn: &'c mut PgConnection) -> Tx<'c> {
        let PgConnection { client, statements } = conn;
        Tx {
            link: Link::Alone(client),
            statements,
        }
    }

    fn statement(&mut self, sql: &str) -> StorageResult<Statement> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = match &mut self.link {
            Link::Tx(tx) => tx.prepare(sql)?,
            Link::Alone(client) => client.prepare(sql)?,
        };
        self.statements.insert(sql.to_string(), s.clone());
        Ok(s)
    }

    fn query(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> StorageResult<Vec<Row>> {
        let s = self.statement(sql)?;
        Ok(match &mut self.link {
            Link::Tx(tx) => tx.query(&s, params)?,
            Link::Alone(client) => client.query(&s, params)?,
        })
    }

    fn query_opt(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> StorageResult<Option<Row>> {
        let mut rows = self.query(sql, params)?;
        if rows.len() > 1 {
            return Err(StorageError::Backend(format!(
                "{} rows where at most one was expected: {sql}",
                rows.len()
            )));
        }
        Ok(rows.pop())
    }

    fn query_one(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> StorageResult<Row> {
        self.query_opt(sql, params)?
            .ok_or_else(|| StorageError::Backend(format!("no row where one was expected: {sql}")))
    }

    fn execute(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> StorageResult<u64> {
        let s = self.statement(sql)?;
        Ok(match &mut self.link {
            Link::Tx(tx) => tx.execute(&s, params)?,
            Link::Alone(client) => client.execute(&s, params)?,
        })
    }

    /// Runs `sql` (several statements, no parameters) as it is.
    fn batch_execute(&mut self, sql: &str) -> StorageResult<()> {
        match &mut self.link {
            Link::Tx(tx) => tx.batch_execute(sql)?,
            Link::Alone(client) => client.batch_execute(sql)?,
        }
        Ok(())
    }

    fn commit(self) -> StorageResult<()> {
        match self.link {
            Link::Tx(tx) => Ok(tx.commit()?),
            Link::Alone(_) => Ok(()),
        }
    }
}

/// Whether `e` says the connection itself is gone (a database restarted since it was opened),
/// so that work which sent nothing yet may be tried again on a fresh one.
fn connection_lost(e: &postgres::Error) -> bool {
    e.is_closed() || std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>())
}

/// PostgreSQL storage: a pool of connections to one database, shared by any number of server
/// nodes.
pub struct PgStorage {
    pool: r2d2::Pool<Connector>,
    config: postgres::Config,
    locks: NodeLocks,
    /// This node's name among those sharing the database.
    node: String,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl PgStorage {
    /// Connects to the database at `url` (`postgres://user:password@host:port/db`) and brings
    /// its schema up to date; an empty database gets every table.
    pub fn open(url: &str) -> StorageResult<PgStorage> {
        let mut config: postgres::Config = url.parse().map_err(|e| {
            StorageError::Backend(format!(
                "the database URL is not one PostgreSQL reads ({e}): write postgres://USER:PASSWORD@HOST:PORT/DATABASE"
            ))
        })?;
        let options = match config.get_options() {
            Some(given) => format!("{given} {SESSION_OPTIONS}"),
            None => SESSION_OPTIONS.to_string(),
        };
        config
            .options(&options)
            .connect_timeout(CONNECT_WITHIN)
            .keepalives_idle(Duration::from_secs(10))
            .tcp_user_timeout(UNACKNOWLEDGED_FOR);
        let pool = r2d2::Pool::builder()
            .max_size(MAX_CONNECTIONS)
            .min_idle(Some(1))
            .connection_timeout(CONNECT_TIMEOUT)
            .test_on_check_out(false)
            .build(Connector {
                config: config.clone(),
            })?;
        let storage = PgStorage {
            pool,
            locks: NodeLocks::new(config.clone()),
            config,
            node: automerge::ActorId::random().to_hex_string(),
        };
        storage.migrate()?;
        Ok(storage)
    }

    /// Applies the migrations this database lacks, one node at a time.
    fn migrate(&self) -> StorageResult<()> {
        self.write(|tx| {
            // Nodes starting together wait for each other here.
            tx.execute("SELECT pg_advisory_xact_lock(7079626)", &[])?;
            tx.execute(
                "CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)",
                &[],
            )?;
            let version: i32 = match tx.query_opt("SELECT version FROM schema_version", &[])? {
                Some(row) => row.get(0),
                None => {
                    tx.execute("INSERT INTO schema_version(version) VALUES (0)", &[])?;
                    0
                }
            };
            let supported = MIGRATIONS.len() as i32;
            if version > supported {
                return Err(StorageError::Backend(format!(
                    "the database was written by a newer fieldsync-server (schema {version}): update the server"
                )));
            }
            for migration in &MIGRATIONS[version as usize..] {
                tx.batch_execute(migration)?;
            }
            tx.execute("UPDATE schema_version SET version = $1", &[&supported])?;
            Ok(())
        })
    }

    fn conn(&self) -> StorageResult<r2d2::PooledConnection<Connector>> {
        Ok(self.pool.get()?)
    }

    /// Runs `f` in a transaction of `isolation` and commits it. Pooled connections are not
    /// tested when taken (a round trip each time): one the database dropped while it was idle
    /// fails at `BEGIN`, before any work, and the next connection is tried.
    fn transaction<T>(
        &self,
        isolation: IsolationLevel,
        read_only: bool,
        f: impl FnOnce(&mut Tx<'_>) -> StorageResult<T>,
    ) -> StorageResult<T> {
        let mut tries = 0;
        loop {
            let mut conn = self.conn()?;
            match Tx::begin(&mut conn, isolation, read_only) {
                Ok(mut tx) => {
                    let out = f(&mut tx)?;
                    tx.commit()?;
                    return Ok(out);
                }
                Err(e) if connection_lost(&e) && tries < MAX_CONNECTIONS => tries += 1,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Runs `f` in a read-committed transaction and commits it.
    fn write<T>(&self, f: impl FnOnce(&mut Tx<'_>) -> StorageResult<T>) -> StorageResult<T> {
        self.transaction(IsolationLevel::ReadCommitted, false, f)
    }

    /// Runs `f` in a read-only transaction over one snapshot.
    fn read<T>(&self, f: impl FnOnce(&mut Tx<'_>) -> StorageResult<T>) -> StorageResult<T> {
        self.transaction(IsolationLevel::RepeatableRead, true, f)
    }

    /// Runs `f`, which reads with one statement, on a connection outside any transaction: a
    /// statement is its own snapshot, and this saves `BEGIN` and `COMMIT`, two of the three
    /// round trips such a read costs in a transaction. A connection the database dropped while
    /// it was idle is replaced and `f` asked again (it only reads).
    fn read_one<T>(&self, f: impl Fn(&mut Tx<'_>) -> StorageResult<T>) -> StorageResult<T> {
        let mut tries = 0;
        loop {
            let mut conn = self.conn()?;
            let out = f(&mut Tx::alone(&mut conn));
            if out.is_err() && conn.client.is_closed() && tries < MAX_CONNECTIONS {
                tries += 1;
                continue;
            }
            return out;
        }
    }

    /// Writes `commits` as [`Log::commit_batch`] does, calling `before_commit` inside the
    /// transaction just before it commits (tests hold a write in flight with it).
    #[doc(hidden)]
    pub fn commit_batch_then(
        &self,
        commits: &[DocCommit],
        before_commit: impl FnOnce(),
    ) -> StorageResult<Vec<u64>> {
        self.write(|tx| {
            let mut next = take_log_head(tx)?;
            let received = now_ms();
            let seqs = commits::write_commits(tx, commits, received, &mut next)?;
            let mut news = Vec::with_capacity(commits.len());
            for (c, &seq) in commits.iter().zip(&seqs) {
                if seq > 0 {
                    let said = serde_json::to_string(&News {
                        node: self.node.clone(),
                        seq,
                        doc: c.scope.id.clone(),
                        session: c.session.clone(),
                    })
                    .map_err(|e| StorageError::Backend(e.to_string()))?;
                    news.push(said);
                }
            }
            tx.execute("UPDATE log_head SET seq = $1", &[&next])?;
            // Every node hears of the writes once, and only if, they are committed.
            tx.execute(
                "SELECT pg_notify($1, n) FROM unnest($2::text[]) AS n",
                &[&locks::CHANNEL, &news],
            )?;
            before_commit();
            Ok(seqs)
        })
    }
}

/// Takes the log's head row for the transaction's appends, and answers the highest sequence
/// given: every append waits here for the one before it to commit (see the module docs). In
/// the same statement, checks that the database is still at the schema this server migrated
/// it to: a node of an older release left running after a newer one migrated the database
/// would write rows without what the newer schema keeps on them (such as each document's
/// latest change and its session, which pulls read), so it stops writing instead, with an
/// error that says why, until it is replaced.
fn take_log_head(tx: &mut Tx<'_>) -> StorageResult<i64> {
    let row = tx.query_one(
        "SELECT h.seq, (SELECT version FROM schema_version) FROM log_head h FOR UPDATE OF h",
        &[],
    )?;
    let version: Option<i32> = row.try_get(1)?;
    let ours = MIGRATIONS.len() as i32;
    if version != Some(ours) {
        return Err(StorageError::Unavailable {
            why: "the database was upgraded by a newer fieldsync-server",
            detail: format!(
                "schema {} where this server writes schema {ours}: replace this node with the new release",
                version.map_or("unknown".to_string(), |v| v.to_string())
            ),
        });
    }
    Ok(row.try_get(0)?)
}

const SCOPE_COLUMNS: &str = "id, kind, territory, owner, customer, author, approver";

fn scope_row(r: &Row) -> StorageResult<DocScope> {
    let kind: String = r.try_get(1)?;
    Ok(DocScope {
        id: r.try_get(0)?,
        // Only validated documents are stored: a kind this version does not read is a damaged
        // row.
        kind: kind
            .parse()
            .map_err(|e| StorageError::Corrupt(format!("document kind: {e}")))?,
        territory: r.try_get(2)?,
        owner: r.try_get(3)?,
        customer: r.try_get(4)?,
        author: r.try_get(5)?,
        approver: r.try_get(6)?,
    })
}

/// The user directory's version ([`Accounts::directory_version`]).
const DIRECTORY_VERSION: &str = "SELECT version FROM directory_version WHERE id = 1";

fn read_directory_version(tx: &mut Tx<'_>) -> StorageResult<i64> {
    let row = tx.query_one(DIRECTORY_VERSION, &[])?;
    Ok(row.get(0))
}

fn load_users(tx: &mut Tx<'_>, only: Option<&str>) -> StorageResult<Vec<User>> {
    let territories = tx
        .query(
            "SELECT username, territory FROM user_territories
             WHERE $1::text IS NULL OR username = $1 ORDER BY territory COLLATE \"C\"",
            &[&only],
        )?
        .into_iter()
        .map(|r| (r.get(0), r.get(1)));
    let users = tx
        .query(
            "SELECT username, password_hash, role, manager, disabled FROM users
             WHERE $1::text IS NULL OR username = $1 ORDER BY username COLLATE \"C\"",
            &[&only],
        )?
        .into_iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
        .collect();
    gather_users(users, territories.collect::<Vec<_>>())
}

/// The condition (over `docs d`) that puts a document in what `p` sees, with its parameters
/// from `$first` on: [`Principal::sees`] over the scope columns, each term one index lookup.
/// `and` is added to each term (so an index on (scope column, `last_seq`) serves it).
fn scope_condition(p: &Principal, first: usize, and: &str) -> (String, Vec<Box<dyn ToSql + Sync>>) {
    let (terms, params): (Vec<String>, Vec<Box<dyn ToSql + Sync>>) = match p.role {
        Role::Admin => (vec!["true".into()], vec![]),
        Role::Rep => (
            vec![
                format!("d.scope_owner = ${first}"),
                format!("d.author = ${first}"),
                format!("d.approver = ${first}"),
            ],
            vec![Box::new(p.username.clone())],
        ),
        Role::Manager => (
            vec![
                format!("d.scope_territory = ANY(${})", first + 1),
                format!("d.scope_owner = ANY(${})", first + 2),
                format!("d.approver = ${first}"),
                format!("d.author = ANY(${})", first + 2),
            ],
            vec![
                Box::new(p.username.clone()),
                Box::new(p.territories.clone()),
                Box::new(p.team.clone()),
            ],
        ),
    };
    let condition = terms
        .iter()
        .map(|t| format!("({t}{and})"))
        .collect::<Vec<_>>()
        .join(" OR ");
    (condition, params)
}

fn refs(params: &[Box<dyn ToSql + Sync>]) -> Vec<&(dyn ToSql + Sync)> {
    params.iter().map(|p| &**p as &(dyn ToSql + Sync)).collect()
}

impl Accounts for PgStorage {
    fn add_user(&self, user: &User) -> StorageResult<()> {
        self.write(|tx| {
            let inserted = tx.execute(
                "INSERT INTO users(username, password_hash, role, manager, disabled, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (username) DO NOTHING",
                &[
                    &user.username,
                    &user.password_hash,
                    &user.role.as_str(),
                    &user.manager,
                    &user.disabled,
                    &chrono::Utc::now().to_rfc3339(),
                ],
            )?;
            if inserted == 0 {
                return Err(StorageError::Conflict(format!(
                    "user '{}' already exists",
                    user.username
                )));
            }
            for t in &user.territories {
                tx.execute(
                    "INSERT INTO user_territories(username, territory) VALUES ($1, $2)
                     ON CONFLICT DO NOTHING",
                    &[&user.username, t],
                )?;
            }
            Ok(())
        })
    }

    fn user(&self, username: &str) -> StorageResult<Option<User>> {
        self.read(|tx| Ok(load_users(tx, Some(username))?.pop()))
    }

    fn users(&self) -> StorageResult<Vec<User>> {
        self.read(|tx| load_users(tx, None))
    }

    fn users_versioned(&self) -> StorageResult<(i64, Vec<User>)> {
        // One repeatable-read snapshot: the version and the users are of the same moment.
        self.read(|tx| {
            let version = read_directory_version(tx)?;
            Ok((version, load_users(tx, None)?))
        })
    }

    fn directory_version(&self) -> StorageResult<i64> {
        // Asked every request: one statement alone, prepared once per connection.
        self.read_one(read_directory_version)
    }

    fn set_disabled(&self, username: &str, disabled: bool) -> StorageResult<bool> {
        self.write(|tx| {
            let n = tx.execute(
                "UPDATE users SET disabled = $2 WHERE username = $1",
                &[&username, &disabled],
            )?;
            if disabled {
                tx.execute(
                    "UPDATE sessions SET revoked = true WHERE username = $1",
                    &[&username],
                )?;
            }
            Ok(n > 0)
        })
    }

    fn set_password_hash(&self, username: &str, password_hash: &str) -> StorageResult<bool> {
        self.write(|tx| {
            Ok(tx.execute(
                "UPDATE users SET password_hash = $2 WHERE username = $1",
                &[&username, &password_hash],
            )? > 0)
        })
    }

    fn create_session(&self, s: &Session) -> StorageResult<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO sessions(id, username, device_name, created_at) VALUES ($1, $2, $3, $4)",
                &[&s.id, &s.username, &s.device_name, &s.created_at],
            )?;
            Ok(())
        })
    }

    fn active_session_user(&self, session_id: &str) -> StorageResult<Option<String>> {
        self.read_one(|tx| {
            Ok(tx
                .query_opt(
                    "SELECT username FROM sessions WHERE id = $1 AND NOT revoked",
                    &[&session_id],
                )?
                .map(|r| r.get(0)))
        })
    }

    fn store_refresh(&self, hash: &str, session_id: &str, expires_at: i64) -> StorageResult<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO refresh_tokens(hash, session_id, expires_at) VALUES ($1, $2, $3)",
                &[&hash, &session_id, &expires_at],
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
        self.write(|tx| {
            // The token's row stays locked until the end: two nodes presented the same token
            // at once take turns, and the second sees it used.
            let row = tx
                .query_opt(
                    "SELECT t.session_id, s.username, s.device_name, s.created_at, t.expires_at, t.used, s.revoked
                     FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id
                     WHERE t.hash = $1 FOR UPDATE OF t",
                    &[&hash],
                )?
                .map(|r| TokenRow {
                    session: Session {
                        id: r.get(0),
                        username: r.get(1),
                        device_name: r.get(2),
                        created_at: r.get(3),
                    },
                    expires_at: r.get(4),
                    used: r.get(5),
                    revoked: r.get(6),
                });
            let tx = std::cell::RefCell::new(tx);
            let step = refresh_step(
                row,
                now,
                || {
                    Ok(tx
                        .borrow_mut()
                        .query_opt(
                            "SELECT session_id FROM refresh_tokens
                             WHERE hash = $1 AND NOT used AND expires_at > $2",
                            &[&next_hash, &now],
                        )?
                        .map(|r| r.get(0)))
                },
                || {
                    Ok(tx
                        .borrow_mut()
                        .query_opt("SELECT 1 FROM refresh_tokens WHERE hash = $1", &[&next_hash])?
                        .is_some())
                },
            )?;
            let tx = tx.into_inner();
            Ok(match step {
                RefreshStep::Answer(answer) => answer,
                RefreshStep::Rotate(session) => {
                    tx.execute(
                        "UPDATE refresh_tokens SET used = true WHERE hash = $1",
                        &[&hash],
                    )?;
                    tx.execute(
                        "INSERT INTO refresh_tokens(hash, session_id, expires_at) VALUES ($1, $2, $3)",
                        &[&next_hash, &session.id, &next_expires_at],
                    )?;
                    RefreshUse::Valid(session)
                }
            })
        })
    }

    fn revoke_session(&self, session_id: &str) -> StorageResult<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE sessions SET revoked = true WHERE id = $1",
                &[&session_id],
            )?;
            tx.execute(
                "UPDATE refresh_tokens SET used = true WHERE session_id = $1",
                &[&session_id],
            )?;
            Ok(())
        })
    }

    fn meta(&self, key: &str) -> StorageResult<Option<String>> {
        self.read_one(|tx| {
            Ok(tx
                .query_opt("SELECT value FROM server_meta WHERE key = $1", &[&key])?
                .map(|r| r.get(0)))
        })
    }

    fn meta_replace(&self, entries: &[(&str, Option<&str>)]) -> StorageResult<()> {
        self.write(|tx| {
            for (key, value) in entries {
                match value {
                    Some(value) => tx.execute(
                        "INSERT INTO server_meta(key, value) VALUES ($1, $2)
                         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                        &[key, value],
                    )?,
                    None => tx.execute("DELETE FROM server_meta WHERE key = $1", &[key])?,
                };
            }
            Ok(())
        })
    }

    fn meta_init(&self, key: &str, value: &str) -> StorageResult<String> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO server_meta(key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
                &[&key, &value],
            )?;
            Ok(tx
                .query_one("SELECT value FROM server_meta WHERE key = $1", &[&key])?
                .get(0))
        })
    }
}

impl Documents for PgStorage {
    fn load_doc(&self, id: &str) -> StorageResult<Option<StoredDoc>> {
        // No copy to compare with: the stored document, read as a read-ahead reads it (one
        // statement: the row and the changes after its snapshot, in log order).
        Ok(self
            .read_ahead(&[id], &[None])?
            .pop()
            .and_then(|r| r.stored))
    }

    fn doc_scope(&self, id: &str) -> StorageResult<Option<DocScope>> {
        self.read_one(|tx| {
            tx.query_opt(
                &format!("SELECT {SCOPE_COLUMNS} FROM docs WHERE id = $1"),
                &[&id],
            )?
            .map(|r| scope_row(&r))
            .transpose()
        })
    }

    fn doc_scope_and_heads(&self, id: &str) -> StorageResult<Option<(DocScope, String)>> {
        self.read_one(|tx| {
            tx.query_opt(
                &format!("SELECT {SCOPE_COLUMNS}, heads FROM docs WHERE id = $1"),
                &[&id],
            )?
            .map(|r| Ok((scope_row(&r)?, r.try_get(7)?)))
            .transpose()
        })
    }

    fn doc_scopes_and_heads(&self, ids: &[&str]) -> StorageResult<Vec<Option<(DocScope, String)>>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = self.read_one(|tx| {
            tx.query(
                &format!("SELECT {SCOPE_COLUMNS}, heads FROM docs WHERE id = ANY($1)"),
                &[&ids],
            )
        })?;
        let mut found: HashMap<String, (DocScope, String)> = HashMap::with_capacity(rows.len());
        for r in rows {
            let scope = scope_row(&r)?;
            found.insert(scope.id.clone(), (scope, r.try_get(7)?));
        }
        Ok(ids.iter().map(|id| found.get(*id).cloned()).collect())
    }

    fn dependents_of(&self, customer: &str) -> StorageResult<Vec<DocScope>> {
        self.read_one(|tx| {
            tx.query(
                &format!("SELECT {SCOPE_COLUMNS} FROM docs WHERE customer = $1"),
                &[&customer],
            )?
            .iter()
            .map(scope_row)
            .collect()
        })
    }

    fn owned_by(&self, kind: &str, owner: &str) -> StorageResult<Vec<String>> {
        self.read_one(|tx| {
            Ok(tx
                .query(
                    "SELECT id FROM docs WHERE kind = $1 AND owner = $2 ORDER BY id COLLATE \"C\"",
                    &[&kind, &owner],
                )?
                .into_iter()
                .map(|r| r.get(0))
                .collect())
        })
    }

    fn in_territory(&self, kind: &str, territory: &str) -> StorageResult<Vec<String>> {
        self.read_one(|tx| {
            Ok(tx
                .query(
                    "SELECT id FROM docs WHERE kind = $1 AND territory = $2 ORDER BY id COLLATE \"C\"",
                    &[&kind, &territory],
                )?
                .into_iter()
                .map(|r| r.get(0))
                .collect())
        })
    }

    fn doc_history(&self, id: &str) -> StorageResult<DocHistory> {
        self.read_one(|tx| {
            let found = tx.query_opt(
                "SELECT (SELECT count(*) FROM log l
                         WHERE l.doc_id = d.id AND l.event = 'change' AND l.seq > d.snapshot_seq),
                        d.history_ops, d.history_bytes, d.heads
                 FROM docs d WHERE d.id = $1",
                &[&id],
            )?;
            Ok(found.map_or(DocHistory::default(), |r| DocHistory {
                changes_since_snapshot: r.get::<_, i64>(0) as usize,
                cost: ChangeCost {
                    ops: r.get::<_, i64>(1) as u64,
                    bytes: r.get::<_, i64>(2) as u64,
                },
                heads: Some(r.get(3)),
            }))
        })
    }

    fn read_ahead(&self, ids: &[&str], copies: &[Option<String>]) -> StorageResult<Vec<ReadAhead>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        // One statement for all: each document's history, and the document itself where the
        // caller's copy is not at its stored heads.
        let rows = self.read_one(|tx| {
            tx.query(
                "SELECT d.id, d.kind, d.territory, d.owner, d.customer, d.author, d.approver,
                        u.copy IS DISTINCT FROM d.heads AS sent, d.heads, d.history_ops, d.history_bytes,
                        CASE WHEN u.copy IS DISTINCT FROM d.heads THEN d.snapshot END,
                        CASE WHEN u.copy IS DISTINCT FROM d.heads THEN
                            ARRAY(SELECT l.bytes FROM log l
                                  WHERE l.doc_id = d.id AND l.event = 'change' AND l.seq > d.snapshot_seq
                                  ORDER BY l.seq)
                        END,
                        CASE WHEN u.copy IS NOT DISTINCT FROM d.heads THEN
                            (SELECT count(*) FROM log l
                             WHERE l.doc_id = d.id AND l.event = 'change' AND l.seq > d.snapshot_seq)
                        END,
                        u.n
                 FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS u(id, copy, n)
                 CROSS JOIN LATERAL (SELECT * FROM docs WHERE docs.id = u.id OFFSET 0) AS d",
                &[&ids, &copies],
            )
        })?;
        let mut read = vec![ReadAhead::default(); ids.len()];
        for r in rows {
            let n: i64 = r.try_get(14)?;
            let heads: String = r.try_get(8)?;
            let stored = if r.try_get(7)? {
                Some(StoredDoc {
                    scope: scope_row(&r)?,
                    snapshot: r.try_get(11)?,
                    heads: heads.clone(),
                    changes: r.try_get(12)?,
                })
            } else {
                None
            };
            let changes_since_snapshot = match &stored {
                Some(s) => s.changes.len(),
                None => r.try_get::<_, i64>(13)? as usize,
            };
            let slot = usize::try_from(n - 1)
                .ok()
                .and_then(|i| read.get_mut(i))
                .ok_or_else(|| StorageError::Backend(format!("read ahead: no document {n}")))?;
            *slot = ReadAhead {
                history: DocHistory {
                    changes_since_snapshot,
                    cost: ChangeCost {
                        ops: r.try_get::<_, i64>(9)? as u64,
                        bytes: r.try_get::<_, i64>(10)? as u64,
                    },
                    heads: Some(heads),
                },
                stored,
            };
        }
        Ok(read)
    }

    fn doc_heads(&self, id: &str) -> StorageResult<Option<String>> {
        self.read_one(|tx| {
            Ok(tx
                .query_opt("SELECT heads FROM docs WHERE id = $1", &[&id])?
                .map(|r| r.get(0)))
        })
    }
}

impl Log for PgStorage {
    fn commit_batch(&self, commits: &[DocCommit]) -> StorageResult<Vec<u64>> {
        self.commit_batch_then(commits, || {})
    }

    fn head_seq(&self) -> StorageResult<u64> {
        self.read_one(head)
    }

    fn seq_received_before(&self, unix_ms: i64) -> StorageResult<u64> {
        self.read_one(|tx| {
            Ok(tx
                .query_one(
                    "SELECT coalesce(max(seq), 0) FROM log WHERE received_at < $1",
                    &[&unix_ms],
                )?
                .get::<_, i64>(0) as u64)
        })
    }

    fn compact_log(&self, horizon: u64) -> StorageResult<Compaction> {
        self.compact_up_to(horizon)
    }

    fn nodes(&self) -> Option<&dyn NodeLink> {
        Some(self)
    }

    fn read_pull(
        &self,
        read: &mut dyn FnMut(&dyn PullRead) -> StorageResult<PullPage>,
    ) -> StorageResult<PullPage> {
        self.read(|tx| {
            // Every statement of a pull is planned for its parameters: see PLANNED_EACH_TIME.
            tx.batch_execute(PLANNED_EACH_TIME)?;
            read(&PgPull {
                tx: std::cell::RefCell::new(tx),
            })
        })
    }
}

/// Said at the start of a pull's transaction: its statements are planned for the values they
/// are given each time, never with the generic plan PostgreSQL switches a prepared statement
/// to after five executions when that plan's estimate is no worse. For the scope query the
/// generic plan cannot use the cursor: from a new device's cursor 0 it walks every document
/// changed after "some" sequence (all of them) and filters by scope, 250 ms a page for a rep
/// where the plan for cursor 0 reads the rep's 6,000 documents through the scope indexes in
/// 50–70 ms (`auto_explain` at full scale). Only this transaction is affected (`SET LOCAL`):
/// the many one-row statements elsewhere keep their cached generic plans.
const PLANNED_EACH_TIME: &str = "SET LOCAL plan_cache_mode = force_custom_plan";

/// The highest sequence number given, as of the transaction's snapshot.
fn head(tx: &mut Tx<'_>) -> StorageResult<u64> {
    Ok(tx
        .query_one("SELECT seq FROM log_head", &[])?
        .get::<_, i64>(0) as u64)
}

/// A pull's questions, answered inside one repeatable-read transaction.
struct PgPull<'t, 'c> {
    tx: std::cell::RefCell<&'t mut Tx<'c>>,
}

impl PullRead for PgPull<'_, '_> {
    fn head(&self) -> StorageResult<u64> {
        head(&mut self.tx.borrow_mut())
    }

    fn floor(&self) -> StorageResult<u64> {
        compaction::log_floor(&mut self.tx.borrow_mut())
    }

    fn changed_in_scope(
        &self,
        p: &Principal,
        session: Option<&str>,
        cursor: u64,
    ) -> StorageResult<Vec<DocNews>> {
        let (condition, mut params) = scope_condition(p, 1, " AND d.last_seq > $C");
        let c = params.len() + 1;
        let s = params.len() + 2;
        let condition = condition.replace("$C", &format!("${c}"));
        let sql = format!(
            "SELECT d.id, d.first_seq, d.last_seq, {news} FROM docs d WHERE ({condition})",
            news = CHANGE_NEWS
                .replace("{c}", &format!("${c}::bigint"))
                .replace("{s}", &format!("${s}::text")),
        );
        params.push(Box::new(cursor as i64));
        params.push(Box::new(session.unwrap_or("(none)").to_string()));
        let rows = self.tx.borrow_mut().query(&sql, &refs(&params))?;
        rows.into_iter()
            .map(|r| {
                Ok(DocNews {
                    id: r.try_get(0)?,
                    first_seq: r.try_get::<_, i64>(1)? as u64,
                    last_seq: r.try_get::<_, i64>(2)? as u64,
                    first_change_after: r.try_get::<_, Option<i64>>(3)?.map(|s| s as u64),
                    news_from_others: r.try_get(4)?,
                })
            })
            .collect()
    }

    fn scope_news(&self, p: &Principal, cursor: u64) -> StorageResult<Vec<ScopeNews>> {
        let rows = self.tx.borrow_mut().query(
            "SELECT doc_id, seq, event = 'enter' FROM log
             WHERE username = $1 AND seq > $2 AND event IN ('enter', 'leave') ORDER BY seq",
            &[&p.username, &(cursor as i64)],
        )?;
        ScopeNews::collapse(
            rows.into_iter()
                .map(|r| Ok((r.try_get(0)?, r.try_get::<_, i64>(1)? as u64, r.try_get(2)?))),
        )
    }

    fn in_scope(&self, p: &Principal, id: &str) -> StorageResult<bool> {
        let (condition, mut params) = scope_condition(p, 1, "");
        let sql = format!(
            "SELECT EXISTS(SELECT 1 FROM docs d WHERE d.id = ${} AND ({condition}))",
            params.len() + 1
        );
        params.push(Box::new(id.to_string()));
        Ok(self
            .tx
            .borrow_mut()
            .query_one(&sql, &refs(&params))?
            .try_get(0)?)
    }

    fn whole_document(&self, id: &str) -> StorageResult<Vec<u8>> {
        one_document(read_wanted(
            &mut self.tx.borrow_mut(),
            &[id],
            &[true],
            0,
            usize::MAX,
        )?)
    }

    fn changes_after(&self, id: &str, cursor: u64) -> StorageResult<Vec<u8>> {
        one_document(read_wanted(
            &mut self.tx.borrow_mut(),
            &[id],
            &[false],
            cursor as i64,
            usize::MAX,
        )?)
    }

    /// One round trip for the whole of `wanted` instead of one or two a document.
    fn documents(
        &self,
        wanted: &[(&str, bool)],
        cursor: u64,
        budget: usize,
    ) -> StorageResult<Vec<Vec<u8>>> {
        let ids: Vec<&str> = wanted.iter().map(|w| w.0).collect();
        let whole: Vec<bool> = wanted.iter().map(|w| w.1).collect();
        read_wanted(
            &mut self.tx.borrow_mut(),
            &ids,
            &whole,
            cursor as i64,
            budget,
        )
    }
}

/// The bytes of documents `ids` in their order, each whole if `whole` says so, else its changes
/// after `cursor`, as long as the bytes before each stay under `budget` (as
/// [`PullRead::documents`] says): one statement for them all ([`WANTED_DOCUMENTS`]).
fn read_wanted(
    tx: &mut Tx<'_>,
    ids: &[&str],
    whole: &[bool],
    cursor: i64,
    budget: usize,
) -> StorageResult<Vec<Vec<u8>>> {
    let budget = i64::try_from(budget).unwrap_or(i64::MAX);
    let rows = tx.query(&WANTED_DOCUMENTS, &[&ids, &whole, &cursor, &budget])?;
    rows.iter()
        .map(|row| {
            if !row.try_get::<_, bool>(1)? {
                return Err(StorageError::Corrupt(format!(
                    "document {} to send was not found",
                    ids.get(row.try_get::<_, i64>(0)? as usize - 1)
                        .unwrap_or(&"?")
                )));
            }
            let mut out: Vec<u8> = row.try_get::<_, Option<Vec<u8>>>(2)?.unwrap_or_default();
            for change in row.try_get::<_, Vec<&[u8]>>(3)? {
                out.extend_from_slice(change);
            }
            Ok(out)
        })
        .collect()
}

/// The one document [`read_wanted`] was asked for.
fn one_document(mut read: Vec<Vec<u8>>) -> StorageResult<Vec<u8>> {
    read.pop()
        .ok_or_else(|| StorageError::Corrupt("a document to send was not found".into()))
}

/// The statement [`read_wanted`] asks with: for each of the ids `$1` in their order (each
/// whole if `$2` says so, else its changes after the cursor `$3`), whether it was found, what
/// it starts from if whole ([`WHOLE_START`]) and the bytes of the changes logged after that or
/// the cursor; only for the first and those whose documents before them come to fewer bytes than
/// `$4`. The sizes are summed over the documents in order from their lengths alone, and only the
/// documents within the budget have their changes read.
static WANTED_DOCUMENTS: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "SELECT x.ord, x.found, CASE WHEN x.whole THEN x.start END,
            ARRAY(SELECT l.bytes FROM log l WHERE l.doc_id = x.id AND l.event = 'change'
                  AND l.seq > x.after ORDER BY l.seq)
         FROM (
            SELECT w.ord, w.id, w.whole, start.doc IS NOT NULL AS found, start.bytes AS start,
                start.after, (sum(size.len) OVER (ORDER BY w.ord) - size.len)::bigint AS before
            FROM unnest($1::text[], $2::bool[]) WITH ORDINALITY AS w(id, whole, ord)
            LEFT JOIN LATERAL (
                SELECT d.id, b.bytes, CASE WHEN w.whole THEN b.seq ELSE $3::bigint END
                FROM docs d LEFT JOIN doc_saves s ON s.doc_id = d.id
                CROSS JOIN LATERAL (SELECT {WHOLE_START}) AS b(bytes, seq)
                WHERE d.id = w.id OFFSET 0) AS start(doc, bytes, after) ON true
            CROSS JOIN LATERAL (
                SELECT CASE WHEN w.whole THEN coalesce(octet_length(start.bytes), 0) ELSE 0 END
                    + coalesce((SELECT sum(octet_length(l.bytes)) FROM log l
                                WHERE l.doc_id = w.id AND l.event = 'change' AND l.seq > start.after), 0)
            ) AS size(len)
         ) x
         WHERE x.ord = 1 OR x.before < $4
         ORDER BY x.ord"
    )
});
