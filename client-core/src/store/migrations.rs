//! Numbered schema migrations, each applied in one transaction that bumps `user_version`.
//!
//! A shipped migration is never edited; a change to the schema is a new file.

use rusqlite::{Connection, TransactionBehavior};

use crate::error::{Error, Result};

/// The migrations in order; migration `i` brings the schema to version `i + 1`.
pub(crate) const MIGRATIONS: &[&str] = &[include_str!("../../migrations/001_init.sql")];

/// Brings the schema of `conn` up to date.
pub(crate) fn migrate(conn: &mut Connection) -> Result<()> {
    let supported = MIGRATIONS.len() as i64;
    loop {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version > supported {
            return Err(Error::StoreTooNew {
                found: version,
                supported,
            });
        }
        if version == supported {
            return Ok(());
        }
        tx.execute_batch(MIGRATIONS[version as usize])?;
        tx.pragma_update(None, "user_version", version + 1)?;
        tx.commit()?;
    }
}
