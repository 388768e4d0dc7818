//! Moving an organisation from a data directory's SQLite file to PostgreSQL
//! (`fieldsync-server migrate`): every table row for row, the log with its sequence numbers, so
//! every device's cursor, session and refresh token stays valid and its next sync is an
//! ordinary incremental one.
//!
//! The whole copy is one PostgreSQL transaction: an interrupted migration leaves the target
//! empty, and it is simply run again. The SQLite file is read in one read transaction; the
//! server must be stopped meanwhile, or what it accepts after the read would not be copied.

use std::path::Path;

use postgres::types::ToSql;
use rusqlite::types::Value;

use super::{PgStorage, Tx};
use crate::storage::sqlite::SqliteStorage;
use crate::storage::{StorageError, StorageResult};

/// How a column's SQLite values are written to PostgreSQL.
#[derive(Debug, Clone, Copy)]
enum Column {
    Text,
    Int,
    /// 0 or 1 in SQLite, boolean in PostgreSQL.
    Bool,
    Bytes,
}

/// The tables moved, in an order that satisfies their references, with their columns.
const TABLES: &[(&str, &[(&str, Column)])] = &[
    (
        "server_meta",
        &[("key", Column::Text), ("value", Column::Text)],
    ),
    (
        "users",
        &[
            ("username", Column::Text),
            ("password_hash", Column::Text),
            ("role", Column::Text),
            ("manager", Column::Text),
            ("disabled", Column::Bool),
            ("created_at", Column::Text),
        ],
    ),
    (
        "user_territories",
        &[("username", Column::Text), ("territory", Column::Text)],
    ),
    (
        "sessions",
        &[
            ("id", Column::Text),
            ("username", Column::Text),
            ("device_name", Column::Text),
            ("created_at", Column::Int),
            ("revoked", Column::Bool),
        ],
    ),
    (
        "refresh_tokens",
        &[
            ("hash", Column::Text),
            ("session_id", Column::Text),
            ("expires_at", Column::Int),
            ("used", Column::Bool),
        ],
    ),
    (
        "docs",
        &[
            ("id", Column::Text),
            ("kind", Column::Text),
            ("territory", Column::Text),
            ("owner", Column::Text),
            ("customer", Column::Text),
            ("author", Column::Text),
            ("approver", Column::Text),
            ("first_seq", Column::Int),
            ("last_seq", Column::Int),
            ("heads", Column::Text),
            ("snapshot", Column::Bytes),
            ("snapshot_seq", Column::Int),
            ("scope_owner", Column::Text),
            ("scope_territory", Column::Text),
            ("history_ops", Column::Int),
            ("history_bytes", Column::Int),
            ("change_seq", Column::Int),
            ("change_session", Column::Text),
            ("other_change_seq", Column::Int),
        ],
    ),
    (
        "doc_saves",
        &[
            ("doc_id", Column::Text),
            ("seq", Column::Int),
            ("bytes", Column::Bytes),
        ],
    ),
    (
        "log",
        &[
            ("seq", Column::Int),
            ("doc_id", Column::Text),
            ("event", Column::Text),
            ("username", Column::Text),
            ("hash", Column::Text),
            ("bytes", Column::Bytes),
            ("device_time", Column::Int),
            ("received_at", Column::Int),
            ("writer", Column::Text),
            ("session", Column::Text),
        ],
    ),
    (
        "attachments",
        &[
            ("id", Column::Text),
            ("size", Column::Int),
            ("media_type", Column::Text),
            ("stored_at", Column::Int),
            ("thumbnail", Column::Int),
            ("released_at", Column::Int),
        ],
    ),
    (
        "attachment_holders",
        &[("id", Column::Text), ("username", Column::Text)],
    ),
    (
        "attachment_refs",
        &[
            ("doc_id", Column::Text),
            ("id", Column::Text),
            ("added_by", Column::Text),
            ("size", Column::Int),
            ("media_type", Column::Text),
        ],
    ),
];

/// What a migration moved: rows per table, and the log's head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    /// (table, rows).
    pub rows: Vec<(&'static str, u64)>,
    /// The highest log sequence number given, carried over.
    pub head: u64,
}

/// One SQLite value as the PostgreSQL column `column` takes it.
fn convert(
    table: &str,
    name: &str,
    column: Column,
    value: Value,
) -> StorageResult<Box<dyn ToSql + Sync>> {
    let damaged = || {
        StorageError::Corrupt(format!(
            "{table}.{name} holds a value of another type than the schema's"
        ))
    };
    Ok(match (column, value) {
        (Column::Text, Value::Null) => Box::new(None::<String>),
        (Column::Text, Value::Text(t)) => Box::new(Some(t)),
        (Column::Int, Value::Null) => Box::new(None::<i64>),
        (Column::Int, Value::Integer(i)) => Box::new(Some(i)),
        (Column::Bool, Value::Integer(i)) => Box::new(i != 0),
        (Column::Bytes, Value::Null) => Box::new(None::<Vec<u8>>),
        (Column::Bytes, Value::Blob(b)) => Box::new(Some(b)),
        _ => return Err(damaged()),
    })
}

impl PgStorage {
    /// Copies the organisation of the SQLite data directory `data_dir` into this database,
    /// which must hold none yet. The data directory is brought to the current schema first
    /// and left otherwise as it was.
    pub fn import_sqlite(&self, data_dir: &Path) -> StorageResult<Imported> {
        let path = data_dir.join("fieldsync.db");
        if !path.exists() {
            return Err(StorageError::Backend(format!(
                "{} holds no fieldsync database: name the data directory the server used (--data-dir)",
                data_dir.display()
            )));
        }
        drop(SqliteStorage::open_file(&path)?);
        let mut source = rusqlite::Connection::open_with_flags(
            &path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )?;
        let read = source.transaction()?;
        self.write(|tx| {
            let taken: bool = tx
                .query_one(
                    "SELECT EXISTS(SELECT 1 FROM users) OR EXISTS(SELECT 1 FROM docs)
                        OR (SELECT seq FROM log_head) > 0",
                    &[],
                )?
                .try_get(0)?;
            if taken {
                return Err(StorageError::Conflict(
                    "the database already holds an organisation: migrate into an empty database"
                        .into(),
                ));
            }
            // The server's own values of an empty database (its actor id) give way to the
            // organisation's.
            tx.execute("DELETE FROM server_meta", &[])?;
            let mut rows = Vec::with_capacity(TABLES.len());
            for (table, columns) in TABLES {
                rows.push((*table, copy_table(&read, tx, table, columns)?));
            }
            let head: i64 = read.query_row(
                "SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'log'), 0)",
                [],
                |r| r.get(0),
            )?;
            tx.execute("UPDATE log_head SET seq = $1", &[&head])?;
            // The planner's statistics of the tables just filled, committed with them: without
            // them the first pulls are planned blind until autovacuum analyses each table, which
            // it never does for a table of fewer than 50 rows.
            tx.batch_execute("ANALYZE")?;
            Ok(Imported {
                rows,
                head: head as u64,
            })
        })
    }
}

/// Copies every row of `table` from SQLite into the same table in PostgreSQL.
fn copy_table(
    from: &rusqlite::Connection,
    to: &mut Tx<'_>,
    table: &str,
    columns: &[(&str, Column)],
) -> StorageResult<u64> {
    let names: Vec<&str> = columns.iter().map(|(n, _)| *n).collect();
    let placeholders: Vec<String> = (1..=columns.len()).map(|i| format!("${i}")).collect();
    let insert = format!(
        "INSERT INTO {table}({}) VALUES ({})",
        names.join(", "),
        placeholders.join(", ")
    );
    let mut select = from.prepare(&format!("SELECT {} FROM {table}", names.join(", ")))?;
    let mut source = select.query([])?;
    let mut copied = 0;
    while let Some(row) = source.next()? {
        let values = columns
            .iter()
            .enumerate()
            .map(|(i, (name, column))| convert(table, name, *column, row.get(i)?))
            .collect::<StorageResult<Vec<_>>>()?;
        let params: Vec<&(dyn ToSql + Sync)> = values.iter().map(|v| &**v).collect();
        to.execute(&insert, &params)?;
        copied += 1;
    }
    Ok(copied)
}
