//! The monthly and quarterly KPIs a manager reviews (and a rep checks): sales against target
//! and their growth, visits and new customers against target, follow-up compliance,
//! complaints handled in time, and the trip cost per yuan of gross profit (出差投入产出比).
//!
//! Computed on the device from the projection tables, so phones, the command line and the web
//! console show the same figures from the same data. docs/KPI.md defines each figure.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, Local, NaiveDate, TimeZone, Utc};
use rusqlite::params_from_iter;
use rusqlite::types::Value as SqlValue;
use serde::Serialize;

use crate::Store;
use crate::error::{Result, ValidationError};
use crate::model::complaint::ResponseHours;
use crate::model::customer::Tier;
use crate::model::fields::{format_time, parse_date, parse_time};
use crate::store::respond_by;

/// A month (`2026-11`) or a quarter (`2026-Q4`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    /// As typed back: `2026-11` or `2026-Q4`.
    pub label: String,
    /// Its first day.
    pub first: NaiveDate,
    /// Its last day.
    pub last: NaiveDate,
    /// Months in it (1 or 3).
    months: u32,
}

impl Period {
    /// The month `day` falls in.
    pub fn month_of(day: NaiveDate) -> Period {
        Period::months(day.year(), day.month(), 1)
    }

    fn months(year: i32, month: u32, count: u32) -> Period {
        let first = NaiveDate::from_ymd_opt(year, month, 1).unwrap_or(NaiveDate::MIN);
        let after = add_months(first, count);
        let label = if count == 3 {
            format!("{year:04}-Q{}", (month - 1) / 3 + 1)
        } else {
            format!("{year:04}-{month:02}")
        };
        Period {
            label,
            first,
            last: after.pred_opt().unwrap_or(after),
            months: count,
        }
    }

    /// Parses `YYYY-MM` or `YYYY-Qn`.
    pub fn parse(s: &str) -> Result<Period, ValidationError> {
        let s = s.trim();
        let bad = || {
            ValidationError::new(
                "period",
                format!("'{s}' is not a month (2026-11) or a quarter (2026-Q4)"),
            )
        };
        let (year, rest) = s.split_once('-').ok_or_else(bad)?;
        let year: i32 = year
            .parse()
            .ok()
            .filter(|y| (1970..=9999).contains(y))
            .ok_or_else(bad)?;
        if let Some(q) = rest.strip_prefix(['Q', 'q']) {
            let q: u32 = q
                .parse()
                .ok()
                .filter(|q| (1..=4).contains(q))
                .ok_or_else(bad)?;
            return Ok(Period::months(year, (q - 1) * 3 + 1, 3));
        }
        if rest.len() != 2 {
            return Err(bad());
        }
        let month: u32 = rest
            .parse()
            .ok()
            .filter(|m| (1..=12).contains(m))
            .ok_or_else(bad)?;
        Ok(Period::months(year, month, 1))
    }

    /// The period just before, of the same length.
    pub fn previous(&self) -> Period {
        let first = sub_months(self.first, self.months);
        Period::months(first.year(), first.month(), self.months)
    }

    /// The same period a year before.
    pub fn year_before(&self) -> Period {
        Period::months(self.first.year() - 1, self.first.month(), self.months)
    }

    /// Its months, YYYY-MM.
    pub fn month_labels(&self) -> Vec<String> {
        (0..self.months)
            .map(|i| add_months(self.first, i).format("%Y-%m").to_string())
            .collect()
    }

    /// The UTC instants of its start (local midnight of the first day) and end (local
    /// midnight after the last), as stored times compare.
    fn instants(&self) -> (String, String) {
        let at = |d: NaiveDate| {
            let midnight = d.and_hms_opt(0, 0, 0).unwrap_or_default();
            Local
                .from_local_datetime(&midnight)
                .earliest()
                .map_or_else(|| midnight.and_utc(), |t| t.with_timezone(&Utc))
        };
        (
            format_time(at(self.first)),
            format_time(at(self.last + Duration::days(1))),
        )
    }
}

fn add_months(d: NaiveDate, n: u32) -> NaiveDate {
    d.checked_add_months(chrono::Months::new(n)).unwrap_or(d)
}

fn sub_months(d: NaiveDate, n: u32) -> NaiveDate {
    d.checked_sub_months(chrono::Months::new(n)).unwrap_or(d)
}

/// The KPIs of one rep or a team for one period. Money is in minor units (fen); a share is a
/// percentage rounded to two decimals, `None` where its base is zero.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Kpi {
    /// `2026-11` or `2026-Q4`.
    pub period: String,
    /// Its first day.
    pub from: String,
    /// Its last day.
    pub to: String,
    /// The reps counted.
    pub reps: Vec<String>,
    /// Sales: the total of orders confirmed (also shipped or paid) dated in the period.
    pub sales: i64,
    /// The sum of the reps' sales targets for the period's months.
    pub sales_target: i64,
    /// Sales against target, %.
    pub sales_achievement: Option<f64>,
    /// Sales of the period before.
    pub sales_previous: i64,
    /// Growth against the period before, %.
    pub sales_growth: Option<f64>,
    /// Sales of the same period a year before.
    pub sales_year_before: i64,
    /// Growth against the same period a year before, %.
    pub sales_growth_year: Option<f64>,
    /// Orders that count as sales.
    pub orders_confirmed: i64,
    /// Orders dated in the period and cancelled.
    pub orders_cancelled: i64,
    /// Visits the reps made (by their local day).
    pub visits: i64,
    /// Their target.
    pub visits_target: i64,
    /// Visits against target, %.
    pub visits_achievement: Option<f64>,
    /// Customers the reps created.
    pub new_customers: i64,
    /// Their target.
    pub new_customers_target: i64,
    /// New customers against target, %.
    pub new_customers_achievement: Option<f64>,
    /// Follow-ups of the reps' customers due in the period (by the tier's cadence from each
    /// visit, or the next date the visit set), once their day has passed or they were done.
    pub followups_due: i64,
    /// Those done by their day (the customer's next visit came no later).
    pub followups_on_time: i64,
    /// On time against due, %.
    pub followup_compliance: Option<f64>,
    /// The reps' customers whose follow-up is overdue today.
    pub customers_overdue: i64,
    /// Complaints of the reps' customers received in the period.
    pub complaints_received: i64,
    /// Of those, handled.
    pub complaints_handled: i64,
    /// Of those, handled by their deadline.
    pub complaints_handled_in_time: i64,
    /// Handled in time against received, %.
    pub complaints_in_time_rate: Option<f64>,
    /// Median hours from received to handled, of those handled.
    pub complaint_median_hours: Option<f64>,
    /// Complaints of the reps' customers not closed, now.
    pub complaints_open: i64,
    /// Of those, not handled and past their deadline, now.
    pub complaints_overdue: i64,
    /// Approved (or paid) expense claims of the reps, decided in the period.
    pub trip_expenses: i64,
    /// Gross profit of the orders counted as sales.
    pub gross_profit: i64,
    /// Trip expenses per yuan of gross profit.
    pub trip_efficiency: Option<f64>,
    /// For a team: each rep's own figures.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub by_rep: Vec<Kpi>,
}

/// What to compute the KPIs for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KpiQuery {
    /// This rep (the user when `None` and not `team`).
    pub rep: Option<String>,
    /// The user's team as the server last said it (each rep also on their own).
    pub team: bool,
    /// `YYYY-MM` or `YYYY-Qn`; the current month when `None`.
    pub period: Option<String>,
}

fn percent(part: i64, whole: i64) -> Option<f64> {
    (whole != 0).then(|| round2(part as f64 * 100.0 / whole as f64))
}

fn growth(now: i64, before: i64) -> Option<f64> {
    (before != 0).then(|| round2((now - before) as f64 * 100.0 / before as f64))
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// `?n, ?n+1, …` for `values`, appended to `params`.
fn in_list(params: &mut Vec<SqlValue>, values: &[String]) -> String {
    let first = params.len() + 1;
    params.extend(values.iter().cloned().map(SqlValue::Text));
    (0..values.len())
        .map(|i| format!("?{}", first + i))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One row of integers from `sql` over `reps` and `extra` (placeholders: the reps first).
fn counts<const N: usize>(
    store: &Store,
    sql: &str,
    reps: &[String],
    extra: &[&str],
) -> Result<[i64; N]> {
    let mut params = Vec::new();
    let list = in_list(&mut params, reps);
    let mut sql = sql.replace("{reps}", &list);
    for (i, value) in extra.iter().enumerate() {
        params.push(SqlValue::Text(value.to_string()));
        sql = sql.replace(&format!("{{{i}}}"), &format!("?{}", params.len()));
    }
    let conn = store.connection();
    let mut stmt = conn.prepare_cached(&sql)?;
    Ok(stmt.query_row(params_from_iter(params.iter()), |r| {
        let mut out = [0i64; N];
        for (i, slot) in out.iter_mut().enumerate() {
            *slot = r.get::<_, Option<i64>>(i)?.unwrap_or(0);
        }
        Ok(out)
    })?)
}

fn sales_of(store: &Store, reps: &[String], p: &Period) -> Result<[i64; 3]> {
    counts(
        store,
        "SELECT SUM(total_amount), SUM(gross_profit), COUNT(*) FROM orders
         WHERE owner IN ({reps}) AND status IN ('confirmed', 'shipped', 'paid')
           AND order_date >= {0} AND order_date <= {1}",
        reps,
        &[&p.first.to_string(), &p.last.to_string()],
    )
}

/// A customer's cadence in days (none for tier D), and each visit's day with the follow-up day
/// it set, in order.
type CustomerVisits = (Option<i64>, Vec<(NaiveDate, Option<NaiveDate>)>);

/// The follow-ups of the reps' customers due in `p` (once past `today` or done) and those done
/// on time.
fn followups(store: &Store, reps: &[String], p: &Period, today: NaiveDate) -> Result<(i64, i64)> {
    let mut params = Vec::new();
    let list = in_list(&mut params, reps);
    let sql = format!(
        "SELECT c.id, c.tier, v.local_date, v.next_followup FROM customers c
         JOIN visits v ON v.customer_id = c.id
         WHERE c.owner IN ({list}) ORDER BY c.id, v.local_date, v.checkin_at, v.id"
    );
    let conn = store.connection();
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params_from_iter(params.iter()), |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, Option<String>>(3)?,
        ))
    })?;
    let mut by_customer: BTreeMap<String, CustomerVisits> = BTreeMap::new();
    for row in rows {
        let (id, tier, day, next) = row?;
        let Ok(day) = parse_date("local_date", &day) else {
            continue;
        };
        let next = next.and_then(|n| parse_date("next_followup", &n).ok());
        let cadence = tier.parse::<Tier>().ok().and_then(Tier::cadence_days);
        by_customer
            .entry(id)
            .or_insert_with(|| (cadence, Vec::new()))
            .1
            .push((day, next));
    }
    let (mut due, mut on_time) = (0, 0);
    for (cadence, visits) in by_customer.values_mut() {
        // Visits of one day are one contact: the day's last one says when the next is due.
        visits.dedup_by(|later, earlier| {
            if later.0 == earlier.0 {
                earlier.1 = later.1;
                true
            } else {
                false
            }
        });
        for (i, (day, next)) in visits.iter().enumerate() {
            let Some(due_day) = next.or_else(|| cadence.map(|c| *day + Duration::days(c))) else {
                continue;
            };
            if due_day < p.first || due_day > p.last {
                continue;
            }
            let done = visits.get(i + 1).is_some_and(|(d, _)| *d <= due_day);
            if done || due_day < today {
                due += 1;
                on_time += i64::from(done);
            }
        }
    }
    Ok((due, on_time))
}

/// Received in `p`, handled, handled in time, median hours; open and overdue now.
struct ComplaintFigures {
    received: i64,
    handled: i64,
    in_time: i64,
    median_hours: Option<f64>,
    open: i64,
    overdue: i64,
}

fn complaints(
    store: &Store,
    reps: &[String],
    p: &Period,
    hours: &ResponseHours,
    now: DateTime<Utc>,
) -> Result<ComplaintFigures> {
    let (start, end) = p.instants();
    let mut params = Vec::new();
    let list = in_list(&mut params, reps);
    let sql = format!(
        "SELECT k.received_at, k.priority, k.handled_at, k.status FROM complaints k
         JOIN customers c ON c.id = k.customer_id WHERE c.owner IN ({list})"
    );
    let conn = store.connection();
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params_from_iter(params.iter()), |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, Option<String>>(2)?,
            r.get::<_, String>(3)?,
        ))
    })?;
    let mut f = ComplaintFigures {
        received: 0,
        handled: 0,
        in_time: 0,
        median_hours: None,
        open: 0,
        overdue: 0,
    };
    let mut durations = Vec::new();
    for row in rows {
        let (received_at, priority, handled_at, status) = row?;
        let deadline = respond_by(&received_at, &priority, hours);
        let handled = handled_at
            .as_deref()
            .and_then(|h| parse_time("handled_at", h).ok());
        if status != "closed" {
            f.open += 1;
            if handled.is_none() && deadline.is_some_and(|d| d < now) {
                f.overdue += 1;
            }
        }
        if received_at < start || received_at >= end {
            continue;
        }
        f.received += 1;
        if let Some(h) = handled {
            f.handled += 1;
            if deadline.is_some_and(|d| h <= d) {
                f.in_time += 1;
            }
            if let Ok(r) = parse_time("received_at", &received_at) {
                durations.push((h - r).num_seconds() as f64 / 3600.0);
            }
        }
    }
    durations.sort_by(f64::total_cmp);
    let n = durations.len();
    f.median_hours = (n > 0).then(|| {
        let mid = if n % 2 == 1 {
            durations[n / 2]
        } else {
            (durations[n / 2 - 1] + durations[n / 2]) / 2.0
        };
        round2(mid)
    });
    Ok(f)
}

/// The KPIs of `reps` together for `p`, and with `each`, every rep's own figures in
/// `by_rep`: what a device shows for its user's team, and the server's read API for a manager.
pub fn team_kpi(
    store: &Store,
    reps: &[String],
    each: bool,
    p: &Period,
    hours: &ResponseHours,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Kpi> {
    let mut out = kpi(store, reps, p, hours, today, now)?;
    if each {
        for rep in reps {
            out.by_rep
                .push(kpi(store, std::slice::from_ref(rep), p, hours, today, now)?);
        }
    }
    Ok(out)
}

/// The KPIs of `reps` for `p`, judged on `today` (local) and at `now`.
pub fn kpi(
    store: &Store,
    reps: &[String],
    p: &Period,
    hours: &ResponseHours,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Kpi> {
    let (start, end) = p.instants();
    let [sales, gross_profit, orders_confirmed] = sales_of(store, reps, p)?;
    let [sales_previous, _, _] = sales_of(store, reps, &p.previous())?;
    let [sales_year_before, _, _] = sales_of(store, reps, &p.year_before())?;
    let [orders_cancelled] = counts(
        store,
        "SELECT COUNT(*) FROM orders WHERE owner IN ({reps}) AND status = 'cancelled'
           AND order_date >= {0} AND order_date <= {1}",
        reps,
        &[&p.first.to_string(), &p.last.to_string()],
    )?;
    let (mut sales_target, mut visits_target, mut new_customers_target) = (0, 0, 0);
    for t in store.list_targets(None, &p.month_labels())? {
        if reps.contains(&t.rep) {
            sales_target += t.sales;
            visits_target += t.visits;
            new_customers_target += t.new_customers;
        }
    }
    let [visits] = counts(
        store,
        "SELECT COUNT(*) FROM visits WHERE author IN ({reps})
           AND local_date >= {0} AND local_date <= {1}",
        reps,
        &[&p.first.to_string(), &p.last.to_string()],
    )?;
    let [new_customers] = counts(
        store,
        "SELECT COUNT(*) FROM customers WHERE created_by IN ({reps})
           AND created_at >= {0} AND created_at < {1}",
        reps,
        &[&start, &end],
    )?;
    let (followups_due, followups_on_time) = followups(store, reps, p, today)?;
    let [customers_overdue] = counts(
        store,
        "SELECT COUNT(*) FROM customers WHERE owner IN ({reps}) AND next_followup < {0}",
        reps,
        &[&today.to_string()],
    )?;
    let c = complaints(store, reps, p, hours, now)?;
    let [trip_expenses] = counts(
        store,
        "SELECT SUM(total_amount) FROM expense_claims WHERE owner IN ({reps})
           AND status IN ('approved', 'paid') AND decided_at >= {0} AND decided_at < {1}",
        reps,
        &[&start, &end],
    )?;
    Ok(Kpi {
        period: p.label.clone(),
        from: p.first.to_string(),
        to: p.last.to_string(),
        reps: reps.to_vec(),
        sales,
        sales_target,
        sales_achievement: percent(sales, sales_target),
        sales_previous,
        sales_growth: growth(sales, sales_previous),
        sales_year_before,
        sales_growth_year: growth(sales, sales_year_before),
        orders_confirmed,
        orders_cancelled,
        visits,
        visits_target,
        visits_achievement: percent(visits, visits_target),
        new_customers,
        new_customers_target,
        new_customers_achievement: percent(new_customers, new_customers_target),
        followups_due,
        followups_on_time,
        followup_compliance: percent(followups_on_time, followups_due),
        customers_overdue,
        complaints_received: c.received,
        complaints_handled: c.handled,
        complaints_handled_in_time: c.in_time,
        complaints_in_time_rate: percent(c.in_time, c.received),
        complaint_median_hours: c.median_hours,
        complaints_open: c.open,
        complaints_overdue: c.overdue,
        trip_expenses,
        gross_profit,
        trip_efficiency: (gross_profit > 0)
            .then(|| (trip_expenses as f64 / gross_profit as f64 * 10_000.0).round() / 10_000.0),
        by_rep: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn periods_parse_and_step_back() {
        let m = Period::parse("2026-11").unwrap();
        assert_eq!(
            (m.first.to_string(), m.last.to_string()),
            ("2026-11-01".into(), "2026-11-30".into())
        );
        assert_eq!(m.previous().label, "2026-10");
        assert_eq!(m.year_before().label, "2025-11");
        let q = Period::parse("2026-Q1").unwrap();
        assert_eq!(q.last.to_string(), "2026-03-31");
        assert_eq!(q.previous().label, "2025-Q4");
        assert_eq!(q.month_labels(), vec!["2026-01", "2026-02", "2026-03"]);
        for bad in ["2026-13", "2026-Q5", "2026", "26-11", "2026-1"] {
            assert!(Period::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn shares_are_percent_with_two_decimals_and_none_on_a_zero_base() {
        assert_eq!(percent(1, 3), Some(33.33));
        assert_eq!(percent(1, 0), None);
        assert_eq!(growth(150, 100), Some(50.0));
        assert_eq!(growth(5, 0), None);
    }
}
