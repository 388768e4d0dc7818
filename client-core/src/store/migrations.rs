//! Numbered schema migrations, each applied in one transaction that bumps `user_version`.
//!
//! A shipped migration is never edited; a change to the schema is a new file.

use rusqlite::{Connection, TransactionBehavior};

use crate::error::{Error, Result};

/// The migrations in order; migration `i` brings the schema to version `i + 1`.
pub(crate) const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/001_init.sql"),
    include_str!("../../migrations/002_sync.sql"),
    include_str!("../../migrations/003_visit_people.sql"),
    include_str!("../../migrations/004_orders_complaints_targets.sql"),
    include_str!("../../migrations/005_attachments.sql"),
    include_str!("../../migrations/006_resend.sql"),
    include_str!("../../migrations/007_unsent_index.sql"),
];

/// The first version whose projections documents stored before it lack columns (filled by
/// projecting every document again once the migration is done).
pub(crate) const REPROJECT_BELOW: i64 = 5;

/// Brings the schema of `conn` up to date; returns the version it found.
pub(crate) fn migrate(conn: &mut Connection) -> Result<i64> {
    let supported = MIGRATIONS.len() as i64;
    let mut found = None;
    loop {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
        let found = *found.get_or_insert(version);
        if version > supported {
            return Err(Error::StoreTooNew {
                found: version,
                supported,
            });
        }
        if version == supported {
            return Ok(found);
        }
        tx.execute_batch(MIGRATIONS[version as usize])?;
        tx.pragma_update(None, "user_version", version + 1)?;
        tx.commit()?;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn schema(conn: &Connection) -> Vec<String> {
        let mut stmt = conn
            .prepare("SELECT type || ' ' || name || ' ' || coalesce(sql, '') FROM sqlite_schema ORDER BY type, name")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    #[test]
    fn migrating_step_by_step_equals_a_fresh_schema_and_is_idempotent() {
        let mut fresh = Connection::open_in_memory().unwrap();
        migrate(&mut fresh).unwrap();

        // An old file: every migration but the last applied, as an older release left it.
        let mut old = Connection::open_in_memory().unwrap();
        for (i, sql) in MIGRATIONS.iter().enumerate().take(MIGRATIONS.len() - 1) {
            old.execute_batch(sql).unwrap();
            old.pragma_update(None, "user_version", i as i64 + 1)
                .unwrap();
        }
        migrate(&mut old).unwrap();
        migrate(&mut old).unwrap();

        assert_eq!(schema(&old), schema(&fresh));
        let version: i64 = old
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, MIGRATIONS.len() as i64);
    }
}
