//! Administration in PostgreSQL: user changes with the scope events they cause (numbered in
//! commit order like every log append), territories, the audit log and the health figures.

use super::{PgStorage, Tx, now_ms, refs, scope_condition, take_log_head};
use crate::access::Principal;
use crate::storage::{Administration, AuditEntry, ScopeEvent, StorageResult, StoredFigures, User};

/// Logs scope events inside the caller's transaction, numbering them from `next` (the locked
/// log head); returns the last seq written (0 if none).
pub(super) fn log_scope_events(
    tx: &mut Tx<'_>,
    events: &[ScopeEvent],
    received: i64,
    next: &mut i64,
) -> StorageResult<i64> {
    let mut last = 0;
    for e in events {
        let seq = *next + 1;
        tx.execute(
            "INSERT INTO log(seq, doc_id, event, username, received_at) VALUES ($1, $2, $3, $4, $5)",
            &[&seq, &e.doc_id, &if e.entered { "enter" } else { "leave" }, &e.username, &received],
        )?;
        *next = seq;
        last = seq;
    }
    Ok(last)
}

impl Administration for PgStorage {
    fn update_user(&self, user: &User, scope_events: &[ScopeEvent]) -> StorageResult<bool> {
        self.write(|tx| {
            let n = tx.execute(
                "UPDATE users SET role = $2, manager = $3 WHERE username = $1",
                &[&user.username, &user.role.as_str(), &user.manager],
            )?;
            if n == 0 {
                return Ok(false);
            }
            tx.execute(
                "DELETE FROM user_territories WHERE username = $1",
                &[&user.username],
            )?;
            for t in &user.territories {
                tx.execute(
                    "INSERT INTO user_territories(username, territory) VALUES ($1, $2)
                     ON CONFLICT DO NOTHING",
                    &[&user.username, t],
                )?;
            }
            if !scope_events.is_empty() {
                // Appends wait for each other here, as every log append does.
                let mut next = take_log_head(tx)?;
                log_scope_events(tx, scope_events, now_ms(), &mut next)?;
                tx.execute("UPDATE log_head SET seq = $1", &[&next])?;
            }
            Ok(true)
        })
    }

    fn docs_seen(&self, who: &Principal) -> StorageResult<Vec<String>> {
        let (cond, params) = scope_condition(who, 1, "");
        self.read_one(|tx| {
            tx.query(
                &format!("SELECT d.id FROM docs d WHERE {cond} ORDER BY d.id"),
                &refs(&params),
            )?
            .iter()
            .map(|r| Ok(r.try_get(0)?))
            .collect()
        })
    }

    fn add_territory(&self, name: &str) -> StorageResult<bool> {
        self.write(|tx| {
            Ok(tx.execute(
                "INSERT INTO territories(name, created_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &[&name, &(now_ms() / 1000)],
            )? > 0)
        })
    }

    fn territories(&self) -> StorageResult<Vec<String>> {
        self.read_one(|tx| {
            tx.query(
                "SELECT name FROM (
                     SELECT name FROM territories
                     UNION SELECT territory FROM user_territories
                     UNION SELECT territory FROM docs WHERE kind = 'customer' AND territory IS NOT NULL
                 ) t ORDER BY name COLLATE \"C\"",
                &[],
            )?
            .iter()
            .map(|r| Ok(r.try_get(0)?))
            .collect()
        })
    }

    fn rename_territory(&self, from: &str, to: &str) -> StorageResult<()> {
        self.write(|tx| {
            tx.execute("DELETE FROM territories WHERE name = $1", &[&from])?;
            tx.execute(
                "INSERT INTO territories(name, created_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &[&to, &(now_ms() / 1000)],
            )?;
            tx.execute(
                "DELETE FROM user_territories WHERE territory = $1
                   AND username IN (SELECT username FROM user_territories WHERE territory = $2)",
                &[&from, &to],
            )?;
            tx.execute(
                "UPDATE user_territories SET territory = $2 WHERE territory = $1",
                &[&from, &to],
            )?;
            Ok(())
        })
    }

    fn record_audit(&self, e: &AuditEntry) -> StorageResult<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO audit_log(at, actor, action, target, detail, source)
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &[&e.at, &e.actor, &e.action, &e.target, &e.detail, &e.source],
            )?;
            Ok(())
        })
    }

    fn audit_log(&self, limit: usize) -> StorageResult<Vec<AuditEntry>> {
        self.read_one(|tx| {
            tx.query(
                "SELECT seq, at, actor, action, target, detail, source FROM audit_log
                 ORDER BY seq DESC LIMIT $1",
                &[&(limit as i64)],
            )?
            .iter()
            .map(|r| {
                Ok(AuditEntry {
                    seq: r.try_get(0)?,
                    at: r.try_get(1)?,
                    actor: r.try_get(2)?,
                    action: r.try_get(3)?,
                    target: r.try_get(4)?,
                    detail: r.try_get(5)?,
                    source: r.try_get(6)?,
                })
            })
            .collect()
        })
    }

    fn last_audit(&self, action: &str) -> StorageResult<Option<AuditEntry>> {
        self.read_one(|tx| {
            tx.query_opt(
                "SELECT seq, at, actor, action, target, detail, source FROM audit_log
                 WHERE action = $1 ORDER BY seq DESC LIMIT 1",
                &[&action],
            )?
            .map(|r| {
                Ok(AuditEntry {
                    seq: r.try_get(0)?,
                    at: r.try_get(1)?,
                    actor: r.try_get(2)?,
                    action: r.try_get(3)?,
                    target: r.try_get(4)?,
                    detail: r.try_get(5)?,
                    source: r.try_get(6)?,
                })
            })
            .transpose()
        })
    }

    fn figures(&self) -> StorageResult<StoredFigures> {
        self.read(|tx| {
            let mut count = |sql: &str| -> StorageResult<u64> {
                Ok(tx.query_one(sql, &[])?.try_get::<_, i64>(0)?.max(0) as u64)
            };
            Ok(StoredFigures {
                documents: count("SELECT count(*) FROM docs")?,
                log_entries: count("SELECT count(*) FROM log")?,
                log_bytes: count("SELECT coalesce(sum(length(bytes)), 0)::bigint FROM log")?,
                users: count("SELECT count(*) FROM users")?,
                disabled_users: count("SELECT count(*) FROM users WHERE disabled")?,
            })
        })
    }
}
