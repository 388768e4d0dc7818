//! The read model on SQLite: `doc_views` rows written in the commit's transaction, and the
//! queries of the JSON API over them, scoped by the same SQL terms as a pull.

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, TransactionBehavior, params, params_from_iter};

use super::{SqliteStorage, scope_condition, scope_row, scope_terms};
use crate::access::Principal;
use crate::storage::{
    DocView, LastVisit, ReadModel, StorageResult, ViewCondition, ViewQuery, ViewRow,
};

/// Writes (or rewrites) the read model row of a document.
pub(super) fn write_view(conn: &Connection, v: &DocView) -> StorageResult<()> {
    conn.prepare_cached(
        "INSERT INTO doc_views(id, title, day, at, status, tier, followup, amount, currency, search, view)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
         ON CONFLICT(id) DO UPDATE SET title = excluded.title, day = excluded.day, at = excluded.at,
            status = excluded.status, tier = excluded.tier, followup = excluded.followup,
            amount = excluded.amount, currency = excluded.currency, search = excluded.search,
            view = excluded.view",
    )?
    .execute(params![
        v.id, v.title, v.day, v.at, v.status, v.tier, v.followup, v.amount, v.currency, v.search,
        v.view
    ])?;
    Ok(())
}

const VIEW_COLUMNS: &str = "v.id, v.title, v.day, v.at, v.status, v.tier, v.followup, v.amount, v.currency, v.search, v.view";

fn view_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ViewRow> {
    let scope = scope_row(r)?;
    let at = |i: usize| i + 7;
    Ok(ViewRow {
        scope,
        view: DocView {
            id: r.get(at(0))?,
            title: r.get(at(1))?,
            day: r.get(at(2))?,
            at: r.get(at(3))?,
            status: r.get(at(4))?,
            tier: r.get(at(5))?,
            followup: r.get(at(6))?,
            amount: r.get(at(7))?,
            currency: r.get(at(8))?,
            search: r.get(at(9))?,
            view: r.get(at(10))?,
        },
    })
}

/// A list as one parameter, for `IN (SELECT value FROM json_each(?N))`.
fn json_list(items: &[String]) -> SqlValue {
    SqlValue::Text(serde_json::Value::from(items.to_vec()).to_string())
}

impl ReadModel for SqliteStorage {
    fn views(&self, who: &Principal, q: &ViewQuery) -> StorageResult<(Vec<ViewRow>, u64)> {
        let (terms, mut args) = scope_terms(who);
        let mut cond = vec![format!("({})", scope_condition(&terms, ""))];
        for c in q.conditions() {
            let n = args.len() + 1;
            let (sql, value) = match c {
                ViewCondition::Eq(col, v) => (format!("{col} = ?{n}"), SqlValue::Text(v)),
                ViewCondition::In(col, v) => (
                    format!("{col} IN (SELECT value FROM json_each(?{n}))"),
                    json_list(&v),
                ),
                ViewCondition::AtLeast(col, v) => (format!("{col} >= ?{n}"), SqlValue::Text(v)),
                ViewCondition::AtMost(col, v) => (format!("{col} <= ?{n}"), SqlValue::Text(v)),
                ViewCondition::Like(col, v) => {
                    (format!("{col} LIKE ?{n} ESCAPE '\\'"), SqlValue::Text(v))
                }
            };
            cond.push(sql);
            args.push(value);
        }
        let from = format!(
            "FROM docs d JOIN doc_views v ON v.id = d.id WHERE {}",
            cond.join(" AND ")
        );
        let limit = q.limit.map_or(-1, |l| l as i64);
        // Without a page the rows are the whole answer: counting them again is a second scan.
        let whole = q.limit.is_none() && q.offset == 0;
        self.read(|conn| {
            let tx = conn.transaction()?;
            let total: i64 = if whole {
                0
            } else {
                tx.prepare_cached(&format!("SELECT count(*) {from}"))?
                    .query_row(params_from_iter(args.iter()), |r| r.get(0))?
            };
            let sql = format!(
                "SELECT {SCOPE_COLUMNS_D}, {VIEW_COLUMNS} {from} ORDER BY {} LIMIT {limit} OFFSET {}",
                q.order_by(),
                q.offset
            );
            let rows = tx
                .prepare_cached(&sql)?
                .query_map(params_from_iter(args.iter()), view_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let total = if whole { rows.len() as u64 } else { total as u64 };
            Ok((rows, total))
        })
    }

    fn last_visits(&self, customers: &[String]) -> StorageResult<Vec<LastVisit>> {
        if customers.is_empty() {
            return Ok(Vec::new());
        }
        self.read(|conn| {
            let rows = conn
                .prepare_cached(
                    "SELECT customer, day, followup FROM (
                        SELECT d.customer, v.day, v.followup,
                               row_number() OVER (PARTITION BY d.customer ORDER BY v.at DESC, d.id DESC) AS n
                        FROM docs d JOIN doc_views v ON v.id = d.id
                        WHERE d.kind = 'visit' AND d.customer IN (SELECT value FROM json_each(?1)))
                     WHERE n = 1",
                )?
                .query_map([json_list(customers)], |r| {
                    Ok(LastVisit {
                        customer: r.get(0)?,
                        day: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                        followup: r.get(2)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }

    fn missing_views(&self, limit: usize) -> StorageResult<Vec<String>> {
        self.read(|conn| {
            let ids = conn
                .prepare_cached(
                    "SELECT d.id FROM docs d WHERE NOT EXISTS (SELECT 1 FROM doc_views v WHERE v.id = d.id)
                     ORDER BY d.id LIMIT ?1",
                )?
                .query_map([limit as i64], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<String>>>()?;
            Ok(ids)
        })
    }

    fn put_views(&self, views: &[DocView]) -> StorageResult<()> {
        self.write(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            for v in views {
                write_view(&tx, v)?;
            }
            tx.commit()?;
            Ok(())
        })
    }
}

/// The scope columns ([`scope_row`]'s) over `docs d`.
const SCOPE_COLUMNS_D: &str =
    "d.id, d.kind, d.territory, d.owner, d.customer, d.author, d.approver";
