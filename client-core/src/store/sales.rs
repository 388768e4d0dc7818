//! The lists of orders, complaints and targets, and the due lists beside the follow-ups:
//! complaints past their first-response deadline, orders waiting too long for confirmation.
//! SQL over the projection tables, as every other list.

use chrono::{DateTime, Duration, Utc};
use rusqlite::types::Value as SqlValue;
use rusqlite::{Row, params_from_iter};
use serde::Serialize;

use super::Store;
use super::queries::Filter;
use crate::error::Result;
use crate::model::complaint::{ComplaintStatus, Priority, ResponseHours};
use crate::model::fields::format_time;
use crate::model::order::OrderStatus;

/// Filters for [`Store::list_orders`]; every field set narrows the list.
#[derive(Debug, Clone, Default)]
pub struct OrderQuery {
    /// Only this rep's.
    pub owner: Option<String>,
    /// Only this customer's.
    pub customer: Option<String>,
    /// Only in this status.
    pub status: Option<String>,
}

/// An order in a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrderRow {
    /// Document id.
    pub id: String,
    /// Customer id.
    pub customer: String,
    /// The customer's name, if the customer is on this device.
    pub customer_name: Option<String>,
    /// The rep who took it.
    pub owner: String,
    /// Order number.
    pub number: String,
    /// Day, YYYY-MM-DD.
    pub date: String,
    /// Status.
    pub status: String,
    /// Total, minor units.
    pub total_amount: i64,
    /// Gross profit of the lines with a known cost, minor units.
    pub gross_profit: i64,
    /// Currency.
    pub currency: String,
    /// Number of lines.
    pub line_count: i64,
    /// When it was submitted.
    pub submitted_at: Option<String>,
    /// When it was confirmed.
    pub confirmed_at: Option<String>,
}

/// Filters for [`Store::list_complaints`].
#[derive(Debug, Clone, Default)]
pub struct ComplaintQuery {
    /// Only this customer's.
    pub customer: Option<String>,
    /// Only those assigned to this user.
    pub assignee: Option<String>,
    /// Only in this status.
    pub status: Option<String>,
    /// Only those not closed.
    pub open: bool,
    /// Only those still waiting for their first response past its deadline.
    pub overdue: bool,
}

/// A complaint in a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ComplaintRow {
    /// Document id.
    pub id: String,
    /// Customer id.
    pub customer: String,
    /// The customer's name, if the customer is on this device.
    pub customer_name: Option<String>,
    /// Who recorded it.
    pub recorded_by: String,
    /// Who deals with it.
    pub assignee: Option<String>,
    /// Category.
    pub category: String,
    /// Priority.
    pub priority: String,
    /// Status.
    pub status: String,
    /// When the customer complained.
    pub received_at: String,
    /// The first-response deadline, under the server's settings.
    pub respond_by: Option<String>,
    /// Whether it is still waiting for its first response past that deadline.
    pub overdue: bool,
    /// When it was handled.
    pub handled_at: Option<String>,
    /// The first line of the summary.
    pub summary: String,
}

/// A rep's target for a month, as it counts (the one set last, should there be two).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TargetRow {
    /// Document id.
    pub id: String,
    /// The rep.
    pub rep: String,
    /// YYYY-MM.
    pub month: String,
    /// Sales, minor units.
    pub sales: i64,
    /// Currency.
    pub currency: String,
    /// Visits.
    pub visits: i64,
    /// New customers.
    pub new_customers: i64,
    /// Who set it.
    pub set_by: String,
    /// When.
    pub set_at: String,
}

/// Orders submitted but not confirmed for longer than this many days are due.
pub const ORDER_CONFIRMATION_DAYS: i64 = 3;

fn order_row(r: &Row<'_>) -> rusqlite::Result<OrderRow> {
    Ok(OrderRow {
        id: r.get(0)?,
        customer: r.get(1)?,
        customer_name: r.get(2)?,
        owner: r.get(3)?,
        number: r.get(4)?,
        date: r.get(5)?,
        status: r.get(6)?,
        total_amount: r.get(7)?,
        gross_profit: r.get(8)?,
        currency: r.get(9)?,
        line_count: r.get(10)?,
        submitted_at: r.get(11)?,
        confirmed_at: r.get(12)?,
    })
}

const ORDER_COLUMNS: &str =
    "o.id, o.customer_id, c.name, o.owner, o.number, o.order_date, o.status,
     o.total_amount, o.gross_profit, o.currency, o.line_count, o.submitted_at, o.confirmed_at";

impl Store {
    /// Orders matching `q`, newest first.
    pub fn list_orders(&self, q: &OrderQuery) -> Result<Vec<OrderRow>> {
        let status = q
            .status
            .as_deref()
            .map(str::parse::<OrderStatus>)
            .transpose()?
            .map(|s| s.as_str().to_string());
        let mut f = Filter::default();
        f.eq("o.owner", q.owner.clone());
        f.eq("o.customer_id", q.customer.clone());
        f.eq("o.status", status);
        let sql = format!(
            "SELECT {ORDER_COLUMNS} FROM orders o LEFT JOIN customers c ON c.id = o.customer_id
             {} ORDER BY o.order_date DESC, o.created_at DESC, o.id",
            f.sql()
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params_from_iter(f.params.iter()), order_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Orders submitted more than [`ORDER_CONFIRMATION_DAYS`] days before `now` and still not
    /// confirmed (nor cancelled), longest waiting first.
    pub fn orders_awaiting_confirmation(&self, now: DateTime<Utc>) -> Result<Vec<OrderRow>> {
        let before = format_time(now - Duration::days(ORDER_CONFIRMATION_DAYS));
        let sql = format!(
            "SELECT {ORDER_COLUMNS} FROM orders o LEFT JOIN customers c ON c.id = o.customer_id
             WHERE o.status = 'submitted' AND o.submitted_at < ?1 ORDER BY o.submitted_at, o.id"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map([before], order_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Complaints matching `q`, newest first, with their deadlines under `hours` judged at
    /// `now`.
    pub fn list_complaints(
        &self,
        q: &ComplaintQuery,
        hours: &ResponseHours,
        now: DateTime<Utc>,
    ) -> Result<Vec<ComplaintRow>> {
        let status = q
            .status
            .as_deref()
            .map(str::parse::<ComplaintStatus>)
            .transpose()?
            .map(|s| s.as_str().to_string());
        let mut f = Filter::default();
        f.eq("k.customer_id", q.customer.clone());
        f.eq("k.assignee", q.assignee.clone());
        f.eq("k.status", status);
        if q.open {
            f.raw("k.status <> 'closed'".to_string(), []);
        }
        if q.overdue {
            f.raw("k.status = 'received'".to_string(), []);
        }
        let sql = format!(
            "SELECT k.id, k.customer_id, c.name, k.recorded_by, k.assignee, k.category, k.priority,
                    k.status, k.received_at, k.handled_at, k.summary
             FROM complaints k LEFT JOIN customers c ON c.id = k.customer_id
             {} ORDER BY k.received_at DESC, k.id",
            f.sql()
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params_from_iter(f.params.iter()), |r| {
            Ok(ComplaintRow {
                id: r.get(0)?,
                customer: r.get(1)?,
                customer_name: r.get(2)?,
                recorded_by: r.get(3)?,
                assignee: r.get(4)?,
                category: r.get(5)?,
                priority: r.get(6)?,
                status: r.get(7)?,
                received_at: r.get(8)?,
                respond_by: None,
                overdue: false,
                handled_at: r.get(9)?,
                summary: r.get(10)?,
            })
        })?;
        let mut out = Vec::new();
        for row in rows {
            let mut row = row?;
            let deadline = respond_by(&row.received_at, &row.priority, hours);
            row.overdue = row.status == ComplaintStatus::Received.as_str()
                && deadline.is_some_and(|d| d < now);
            row.respond_by = deadline.map(format_time);
            if !q.overdue || row.overdue {
                out.push(row);
            }
        }
        Ok(out)
    }

    /// The targets that count, one per rep and month (the one set last), for `rep` and
    /// `months` (YYYY-MM) when given.
    pub fn list_targets(&self, rep: Option<&str>, months: &[String]) -> Result<Vec<TargetRow>> {
        let mut f = Filter::default();
        f.eq("t.owner", rep.map(str::to_string));
        if !months.is_empty() {
            let first = f.next_param();
            let marks: Vec<String> = (0..months.len())
                .map(|i| format!("?{}", first + i))
                .collect();
            f.raw(
                format!("t.month IN ({})", marks.join(", ")),
                months.iter().cloned().map(SqlValue::Text),
            );
        }
        // The newest per rep and month: no later one exists for the same pair.
        f.raw(
            "NOT EXISTS (SELECT 1 FROM targets n WHERE n.owner = t.owner AND n.month = t.month
                          AND (n.set_at > t.set_at OR (n.set_at = t.set_at AND n.id > t.id)))"
                .to_string(),
            [],
        );
        let sql = format!(
            "SELECT t.id, t.owner, t.month, t.sales_amount, t.currency, t.visits, t.new_customers,
                    t.set_by, t.set_at
             FROM targets t {} ORDER BY t.month DESC, t.owner",
            f.sql()
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params_from_iter(f.params.iter()), |r| {
            Ok(TargetRow {
                id: r.get(0)?,
                rep: r.get(1)?,
                month: r.get(2)?,
                sales: r.get(3)?,
                currency: r.get(4)?,
                visits: r.get(5)?,
                new_customers: r.get(6)?,
                set_by: r.get(7)?,
                set_at: r.get(8)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

/// The first-response deadline of a complaint row: received at `received_at`, of `priority`
/// as stored.
pub(crate) fn respond_by(
    received_at: &str,
    priority: &str,
    hours: &ResponseHours,
) -> Option<DateTime<Utc>> {
    hours.deadline(received_at, priority.parse::<Priority>().ok()?)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::ids::new_id;
    use crate::model::complaint::{ComplaintCategory, ComplaintChannel, NewComplaint};
    use crate::model::customer::NewCustomer;
    use crate::model::fields::parse_time;
    use crate::model::order::{NewOrder, OrderEdit};
    use crate::model::target::{NewTarget, Target, TargetEdit};
    use crate::model::workflow::StepTaken;

    fn store(dir: &tempfile::TempDir) -> Store {
        Store::open(dir.path().join("s.db")).unwrap()
    }

    fn customer(s: &Store) -> String {
        s.create_customer(NewCustomer {
            name: "华东精密".into(),
            territory: "east".into(),
            owner: "li".into(),
            created_by: "li".into(),
            ..Default::default()
        })
        .unwrap()
    }

    fn at(s: &str) -> DateTime<Utc> {
        parse_time("t", s).unwrap()
    }

    #[test]
    fn a_complaint_still_received_past_its_deadline_is_overdue_and_one_looked_into_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(&dir);
        let c = customer(&s);
        let complaint = |priority, received_at: &str| NewComplaint {
            customer: c.clone(),
            recorded_by: "li".into(),
            received_at: received_at.into(),
            channel: ComplaintChannel::Phone,
            category: ComplaintCategory::Quality,
            priority,
            summary: "异响".into(),
            assignee: None,
        };
        let late = s
            .create(
                complaint(Priority::Urgent, "2026-11-10T08:00:00Z")
                    .build(new_id(), "2026-11-10T08:00:00Z".into())
                    .unwrap(),
            )
            .unwrap();
        // Normal: 72 hours, not yet due at the time judged.
        s.create(
            complaint(Priority::Normal, "2026-11-10T08:00:00Z")
                .build(new_id(), "2026-11-10T08:00:00Z".into())
                .unwrap(),
        )
        .unwrap();
        // Urgent too, but looked into.
        let mut answered = complaint(Priority::Urgent, "2026-11-10T08:00:00Z")
            .build(new_id(), "2026-11-10T08:00:00Z".into())
            .unwrap();
        answered.status = ComplaintStatus::Investigating;
        answered.history.push(StepTaken {
            id: new_id(),
            status: "investigating".into(),
            by: "li".into(),
            at: "2026-11-10T09:00:00Z".into(),
            note: None,
        });
        s.create(answered).unwrap();

        let hours = ResponseHours::default();
        let now = at("2026-11-10T13:00:00Z");
        let overdue = s
            .list_complaints(
                &ComplaintQuery {
                    overdue: true,
                    ..Default::default()
                },
                &hours,
                now,
            )
            .unwrap();
        assert_eq!(overdue.len(), 1);
        assert_eq!(overdue[0].id, late);
        assert_eq!(
            overdue[0].respond_by.as_deref(),
            Some("2026-11-10T12:00:00Z")
        );
        let all = s
            .list_complaints(&ComplaintQuery::default(), &hours, now)
            .unwrap();
        assert_eq!(all.len(), 3);
        assert_eq!(all.iter().filter(|r| r.overdue).count(), 1);
        assert_eq!(all[0].customer_name.as_deref(), Some("华东精密"));
    }

    #[test]
    fn an_order_waiting_more_than_three_days_for_confirmation_is_due() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(&dir);
        let c = customer(&s);
        let order = |submitted: &str| {
            let mut o = NewOrder {
                customer: c.clone(),
                owner: "li".into(),
                date: "2026-11-02".into(),
                ..Default::default()
            }
            .build(new_id(), "2026-11-02T08:00:00Z".into())
            .unwrap();
            o.lines.push(crate::model::order::OrderLine {
                id: new_id(),
                product: "B-6204".into(),
                name: "轴承".into(),
                quantity: 2,
                unit: "box".into(),
                unit_price: 1000,
                unit_cost: Some(600),
            });
            o.status = OrderStatus::Submitted;
            o.history.push(StepTaken {
                id: new_id(),
                status: "submitted".into(),
                by: "li".into(),
                at: submitted.into(),
                note: None,
            });
            s.create(o).unwrap()
        };
        let waiting = order("2026-11-02T09:00:00Z");
        order("2026-11-04T09:00:00Z");
        let due = s
            .orders_awaiting_confirmation(at("2026-11-06T08:00:00Z"))
            .unwrap();
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].id, waiting);
        assert_eq!((due[0].total_amount, due[0].gross_profit), (2000, 800));
        // A draft's lines are edited through the model; the list follows.
        let draft = s
            .create(
                NewOrder {
                    customer: c.clone(),
                    owner: "li".into(),
                    date: "2026-11-03".into(),
                    ..Default::default()
                }
                .build(new_id(), "2026-11-03T08:00:00Z".into())
                .unwrap(),
            )
            .unwrap();
        s.edit::<crate::model::Order>(
            &draft,
            &[OrderEdit::AddLine {
                product: "X".into(),
                name: "x".into(),
                quantity: 3,
                unit: "piece".into(),
                unit_price: 500,
                unit_cost: None,
            }],
        )
        .unwrap();
        let rows = s
            .list_orders(&OrderQuery {
                status: Some("Draft".into()),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!((rows[0].total_amount, rows[0].gross_profit), (1500, 0));
    }

    #[test]
    fn the_target_set_last_is_the_one_that_counts() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(&dir);
        let new = |sales, now: &str| {
            NewTarget {
                owner: "li".into(),
                month: "2026-11".into(),
                sales,
                visits: 10,
                new_customers: 2,
                set_by: "zhang".into(),
            }
            .build(new_id(), now.into())
            .unwrap()
        };
        s.create(new(100, "2026-11-01T08:00:00Z")).unwrap();
        let later = s.create(new(200, "2026-11-02T08:00:00Z")).unwrap();
        let rows = s.list_targets(Some("li"), &["2026-11".into()]).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!((rows[0].id.as_str(), rows[0].sales), (later.as_str(), 200));
        let changed = s
            .edit::<Target>(
                &later,
                &[TargetEdit::Visits(12), TargetEdit::SetBy("zhao".into())],
            )
            .unwrap();
        assert_eq!((changed.visits, changed.sales), (12, 200));
        assert!(s.list_targets(Some("wang"), &[]).unwrap().is_empty());
    }

    #[test]
    fn a_store_from_before_the_new_columns_fills_them_when_it_opens() {
        let dir = tempfile::tempdir().unwrap();
        {
            let s = store(&dir);
            customer(&s);
        }
        // Take the store back to schema 3, as an older release left it.
        let conn = rusqlite::Connection::open(dir.path().join("s.db")).unwrap();
        conn.execute_batch(
            "DROP INDEX documents_unsent; DROP TABLE resend; DROP TABLE attachment_refs; DROP TABLE attachments;
             DROP TABLE orders; DROP TABLE complaints; DROP TABLE targets;
             DROP INDEX customers_created;
             ALTER TABLE customers DROP COLUMN created_at;
             ALTER TABLE customers DROP COLUMN created_by;
             ALTER TABLE expense_claims DROP COLUMN decided_at;
             PRAGMA user_version = 3;",
        )
        .unwrap();
        drop(conn);
        let s = store(&dir);
        let (by, at): (String, String) = s
            .connection()
            .query_row("SELECT created_by, created_at FROM customers", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!(by, "li");
        assert!(parse_time("created_at", &at).is_ok(), "{at}");
    }
}
