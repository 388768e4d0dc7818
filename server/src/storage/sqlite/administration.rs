//! Administration on SQLite: user changes with the scope events they cause, territories, the
//! audit log and the figures of the health page.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params, params_from_iter};

use super::{SqliteStorage, now_ms, scope_condition, scope_terms};
use crate::access::Principal;
use crate::storage::{Administration, AuditEntry, ScopeEvent, StorageResult, StoredFigures, User};

/// Logs scope events (a document entering or leaving a user's scope) at `received`; returns
/// the last seq written (0 if none).
pub(super) fn log_scope_events(
    tx: &Connection,
    events: &[ScopeEvent],
    received: i64,
) -> StorageResult<i64> {
    let mut last = 0;
    for e in events {
        tx.prepare_cached(
            "INSERT INTO log(doc_id, event, username, received_at) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![
            e.doc_id,
            if e.entered { "enter" } else { "leave" },
            e.username,
            received
        ])?;
        last = tx.last_insert_rowid();
    }
    Ok(last)
}

impl Administration for SqliteStorage {
    fn update_user(&self, user: &User, scope_events: &[ScopeEvent]) -> StorageResult<bool> {
        self.write(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let n = tx.execute(
                "UPDATE users SET role = ?2, manager = ?3 WHERE username = ?1",
                params![user.username, user.role.as_str(), user.manager],
            )?;
            if n == 0 {
                return Ok(false);
            }
            tx.execute(
                "DELETE FROM user_territories WHERE username = ?1",
                [&user.username],
            )?;
            for t in &user.territories {
                tx.execute(
                    "INSERT OR IGNORE INTO user_territories(username, territory) VALUES (?1, ?2)",
                    params![user.username, t],
                )?;
            }
            log_scope_events(&tx, scope_events, now_ms())?;
            tx.commit()?;
            Ok(true)
        })
    }

    fn docs_seen(&self, who: &Principal) -> StorageResult<Vec<String>> {
        let (terms, args) = scope_terms(who);
        let sql = format!(
            "SELECT d.id FROM docs d WHERE {} ORDER BY d.id",
            scope_condition(&terms, "")
        );
        self.read(|conn| {
            Ok(conn
                .prepare_cached(&sql)?
                .query_map(params_from_iter(args.iter()), |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<String>>>()?)
        })
    }

    fn add_territory(&self, name: &str) -> StorageResult<bool> {
        self.write(|conn| {
            Ok(conn.execute(
                "INSERT OR IGNORE INTO territories(name, created_at) VALUES (?1, ?2)",
                params![name, now_ms() / 1000],
            )? > 0)
        })
    }

    fn territories(&self) -> StorageResult<Vec<String>> {
        self.read(|conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT name FROM territories
                     UNION SELECT territory FROM user_territories
                     UNION SELECT territory FROM docs WHERE kind = 'customer' AND territory IS NOT NULL
                     ORDER BY 1",
                )?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<String>>>()?)
        })
    }

    fn rename_territory(&self, from: &str, to: &str) -> StorageResult<()> {
        self.write(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute("DELETE FROM territories WHERE name = ?1", [from])?;
            tx.execute(
                "INSERT OR IGNORE INTO territories(name, created_at) VALUES (?1, ?2)",
                params![to, now_ms() / 1000],
            )?;
            // A user who had both keeps one.
            tx.execute(
                "DELETE FROM user_territories WHERE territory = ?1
                   AND username IN (SELECT username FROM user_territories WHERE territory = ?2)",
                params![from, to],
            )?;
            tx.execute(
                "UPDATE user_territories SET territory = ?2 WHERE territory = ?1",
                params![from, to],
            )?;
            tx.commit()?;
            Ok(())
        })
    }

    fn record_audit(&self, e: &AuditEntry) -> StorageResult<()> {
        self.write(|conn| {
            conn.execute(
                "INSERT INTO audit_log(at, actor, action, target, detail, source)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![e.at, e.actor, e.action, e.target, e.detail, e.source],
            )?;
            Ok(())
        })
    }

    fn audit_log(&self, limit: usize) -> StorageResult<Vec<AuditEntry>> {
        self.read(|conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT seq, at, actor, action, target, detail, source FROM audit_log
                     ORDER BY seq DESC LIMIT ?1",
                )?
                .query_map([limit as i64], |r| {
                    Ok(AuditEntry {
                        seq: r.get(0)?,
                        at: r.get(1)?,
                        actor: r.get(2)?,
                        action: r.get(3)?,
                        target: r.get(4)?,
                        detail: r.get(5)?,
                        source: r.get(6)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    fn last_audit(&self, action: &str) -> StorageResult<Option<AuditEntry>> {
        self.read(|conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT seq, at, actor, action, target, detail, source FROM audit_log
                     WHERE action = ?1 ORDER BY seq DESC LIMIT 1",
                )?
                .query_row([action], |r| {
                    Ok(AuditEntry {
                        seq: r.get(0)?,
                        at: r.get(1)?,
                        actor: r.get(2)?,
                        action: r.get(3)?,
                        target: r.get(4)?,
                        detail: r.get(5)?,
                        source: r.get(6)?,
                    })
                })
                .optional()?)
        })
    }

    fn figures(&self) -> StorageResult<StoredFigures> {
        self.read(|conn| {
            let tx = conn.transaction()?;
            let count = |sql: &str| -> StorageResult<u64> {
                Ok(tx.query_row(sql, [], |r| r.get::<_, i64>(0))?.max(0) as u64)
            };
            Ok(StoredFigures {
                documents: count("SELECT count(*) FROM docs")?,
                log_entries: count("SELECT count(*) FROM log")?,
                log_bytes: count("SELECT coalesce(sum(length(bytes)), 0) FROM log")?,
                users: count("SELECT count(*) FROM users")?,
                disabled_users: count("SELECT count(*) FROM users WHERE disabled <> 0")?,
            })
        })
    }
}
