//! The read model in PostgreSQL: `doc_views` rows written in the commit's transaction, and the
//! queries of the JSON API over them, scoped by the same SQL terms as a pull (as in SQLite).

use postgres::types::ToSql;

use super::{PgStorage, Tx, refs, scope_condition, scope_row};
use crate::access::Principal;
use crate::storage::{
    DocView, LastVisit, ReadModel, StorageResult, ViewCondition, ViewQuery, ViewRow,
};

/// Writes (or rewrites) the read model rows of documents, in one statement; of a document
/// given twice, the last row counts.
pub(super) fn write_views(tx: &mut Tx<'_>, views: &[&DocView]) -> StorageResult<()> {
    if views.is_empty() {
        return Ok(());
    }
    let mut seen = std::collections::HashSet::new();
    let mut views: Vec<&DocView> = views
        .iter()
        .rev()
        .filter(|v| seen.insert(v.id.as_str()))
        .copied()
        .collect();
    views.reverse();
    let column = |f: fn(&DocView) -> Option<&str>| views.iter().map(|v| f(v)).collect::<Vec<_>>();
    let ids = column(|v| Some(&v.id));
    let titles = column(|v| Some(&v.title));
    let days = column(|v| v.day.as_deref());
    let ats = column(|v| v.at.as_deref());
    let statuses = column(|v| v.status.as_deref());
    let tiers = column(|v| v.tier.as_deref());
    let followups = column(|v| v.followup.as_deref());
    let amounts: Vec<Option<i64>> = views.iter().map(|v| v.amount).collect();
    let currencies = column(|v| v.currency.as_deref());
    let searches = column(|v| Some(&v.search));
    let typed = column(|v| Some(&v.view));
    tx.execute(
        "INSERT INTO doc_views(id, title, day, at, status, tier, followup, amount, currency, search, view)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                              $7::text[], $8::int8[], $9::text[], $10::text[], $11::text[])
         ON CONFLICT (id) DO UPDATE SET title = excluded.title, day = excluded.day, at = excluded.at,
            status = excluded.status, tier = excluded.tier, followup = excluded.followup,
            amount = excluded.amount, currency = excluded.currency, search = excluded.search,
            view = excluded.view",
        &[
            &ids, &titles, &days, &ats, &statuses, &tiers, &followups, &amounts, &currencies,
            &searches, &typed,
        ],
    )?;
    Ok(())
}

const COLUMNS: &str = "d.id, d.kind, d.territory, d.owner, d.customer, d.author, d.approver,
    v.id, v.title, v.day, v.at, v.status, v.tier, v.followup, v.amount, v.currency, v.search, v.view";

fn view_row(r: &postgres::Row) -> StorageResult<ViewRow> {
    let at = |i: usize| i + 7;
    Ok(ViewRow {
        scope: scope_row(r)?,
        view: DocView {
            id: r.try_get(at(0))?,
            title: r.try_get(at(1))?,
            day: r.try_get(at(2))?,
            at: r.try_get(at(3))?,
            status: r.try_get(at(4))?,
            tier: r.try_get(at(5))?,
            followup: r.try_get(at(6))?,
            amount: r.try_get(at(7))?,
            currency: r.try_get(at(8))?,
            search: r.try_get(at(9))?,
            view: r.try_get(at(10))?,
        },
    })
}

impl ReadModel for PgStorage {
    fn views(&self, who: &Principal, q: &ViewQuery) -> StorageResult<(Vec<ViewRow>, u64)> {
        let mut params: Vec<Box<dyn ToSql + Sync>> = Vec::new();
        let mut cond = Vec::new();
        for c in q.conditions() {
            let n = params.len() + 1;
            let (sql, value): (String, Box<dyn ToSql + Sync>) = match c {
                ViewCondition::Eq(col, v) => (format!("{col} = ${n}"), Box::new(v)),
                ViewCondition::In(col, v) => (format!("{col} = ANY(${n})"), Box::new(v)),
                ViewCondition::AtLeast(col, v) => (format!("{col} >= ${n}"), Box::new(v)),
                ViewCondition::AtMost(col, v) => (format!("{col} <= ${n}"), Box::new(v)),
                ViewCondition::Like(col, v) => {
                    (format!("{col} LIKE ${n} ESCAPE '\\'"), Box::new(v))
                }
            };
            cond.push(sql);
            params.push(value);
        }
        let (scope, scope_params) = scope_condition(who, params.len() + 1, "");
        cond.push(format!("({scope})"));
        params.extend(scope_params);
        let from = format!(
            "FROM docs d JOIN doc_views v ON v.id = d.id WHERE {}",
            cond.join(" AND ")
        );
        let limit = q.limit.map_or("ALL".to_string(), |l| l.to_string());
        // Without a page the rows are the whole answer: counting them again is a second scan.
        let whole = q.limit.is_none() && q.offset == 0;
        self.read(|tx| {
            let total: i64 = if whole {
                0
            } else {
                tx.query(&format!("SELECT count(*) {from}"), &refs(&params))?
                    .first()
                    .map_or(Ok(0), |r| r.try_get(0))?
            };
            // Titles sort as the SQLite backend sorts them: by code point.
            let order = q.order_by().replace("v.title", "v.title COLLATE \"C\"");
            let rows = tx.query(
                &format!(
                    "SELECT {COLUMNS} {from} ORDER BY {order} LIMIT {limit} OFFSET {}",
                    q.offset
                ),
                &refs(&params),
            )?;
            let rows = rows
                .iter()
                .map(view_row)
                .collect::<StorageResult<Vec<_>>>()?;
            let total = if whole {
                rows.len() as u64
            } else {
                total as u64
            };
            Ok((rows, total))
        })
    }

    fn last_visits(&self, customers: &[String]) -> StorageResult<Vec<LastVisit>> {
        if customers.is_empty() {
            return Ok(Vec::new());
        }
        self.read_one(|tx| {
            tx.query(
                "SELECT DISTINCT ON (d.customer) d.customer, v.day, v.followup
                 FROM docs d JOIN doc_views v ON v.id = d.id
                 WHERE d.kind = 'visit' AND d.customer = ANY($1)
                 ORDER BY d.customer, v.at DESC, d.id DESC",
                &[&customers],
            )?
            .iter()
            .map(|r| {
                Ok(LastVisit {
                    customer: r.try_get(0)?,
                    day: r.try_get::<_, Option<String>>(1)?.unwrap_or_default(),
                    followup: r.try_get(2)?,
                })
            })
            .collect()
        })
    }

    fn missing_views(&self, limit: usize) -> StorageResult<Vec<String>> {
        self.read_one(|tx| {
            tx.query(
                "SELECT d.id FROM docs d WHERE NOT EXISTS (SELECT 1 FROM doc_views v WHERE v.id = d.id)
                 ORDER BY d.id LIMIT $1",
                &[&(limit as i64)],
            )?
            .iter()
            .map(|r| Ok(r.try_get(0)?))
            .collect()
        })
    }

    fn put_views(&self, views: &[DocView]) -> StorageResult<()> {
        self.write(|tx| write_views(tx, &views.iter().collect::<Vec<_>>()))
    }
}
