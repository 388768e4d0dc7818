//! The queries apps run: SQL over projection tables, never a scan of the documents.

use chrono::NaiveDate;
use rusqlite::types::Value as SqlValue;
use rusqlite::{Row, params_from_iter};
use serde::Serialize;

use super::Store;
use crate::error::Result;
use crate::model::customer::{CustomerStatus, Tier};
use crate::model::expense_claim::ClaimStatus;
use crate::model::trip_plan::TripStatus;
use crate::model::visit::VisitType;

/// Filters for [`Store::list_customers`]; every field set narrows the list.
#[derive(Debug, Clone, Default)]
pub struct CustomerQuery {
    /// Only this territory.
    pub territory: Option<String>,
    /// Only customers of this rep.
    pub owner: Option<String>,
    /// Only this tier.
    pub tier: Option<Tier>,
    /// Only this status.
    pub status: Option<CustomerStatus>,
    /// Only key accounts (or only others).
    pub key_account: Option<bool>,
    /// Words that must each appear in the name, contacts, city/address or notes.
    pub search: Option<String>,
    /// Page size; 50 when not set.
    pub limit: Option<u32>,
    /// Rows to skip, for the next page.
    pub offset: Option<u32>,
}

/// A customer in a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CustomerRow {
    /// Document id.
    pub id: String,
    /// Company name.
    pub name: String,
    /// Business type.
    #[serde(rename = "type")]
    pub customer_type: String,
    /// Territory.
    pub territory: String,
    /// Owning rep.
    pub owner: String,
    /// Tier.
    pub tier: String,
    /// Status.
    pub status: String,
    /// Key account flag.
    pub key_account: bool,
    /// City.
    pub city: Option<String>,
    /// Number of contacts.
    pub contact_count: i64,
    /// Local day of the newest visit.
    pub last_visit_date: Option<String>,
    /// Local day the next follow-up is due.
    pub next_followup: Option<String>,
}

/// A visit in a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VisitRow {
    /// Document id.
    pub id: String,
    /// Customer id.
    pub customer: String,
    /// Customer name, if the customer is on this device.
    pub customer_name: Option<String>,
    /// The rep.
    pub author: String,
    /// Check-in, UTC.
    pub checkin_at: String,
    /// Local day of the check-in.
    pub local_date: String,
    /// Visit type.
    pub visit_type: String,
    /// Outcome.
    pub outcome: Option<String>,
    /// Explicit next follow-up date.
    pub next_followup: Option<String>,
    /// First line of the summary.
    pub summary: String,
}

/// Filters for [`Store::list_visits`]; every field set narrows the list.
#[derive(Debug, Clone, Default)]
pub struct VisitQuery {
    /// Only visits of this customer.
    pub customer: Option<String>,
    /// Only this rep's visits.
    pub author: Option<String>,
    /// Only visits on or after this local day.
    pub from: Option<NaiveDate>,
    /// Only visits on or before this local day.
    pub to: Option<NaiveDate>,
    /// Page size; all when not set.
    pub limit: Option<u32>,
    /// Rows to skip, for the next page.
    pub offset: Option<u32>,
}

/// Why a customer is due for a follow-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FollowUpReason {
    /// Nobody has visited the customer yet.
    NeverVisited,
    /// The last visit set this date.
    ExplicitDate,
    /// The tier's cadence since the last visit has run out.
    Cadence,
}

/// A customer due (or overdue) for a follow-up on a given day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FollowUp {
    /// Customer id.
    pub customer: String,
    /// Customer name.
    pub name: String,
    /// Tier.
    pub tier: String,
    /// Owning rep.
    pub owner: String,
    /// Local day of the last visit.
    pub last_visit_date: Option<String>,
    /// Day the follow-up was due; `None` for never-visited customers.
    pub due_date: Option<String>,
    /// Why it is due.
    pub reason: FollowUpReason,
    /// Days past the due date; 0 when due that very day.
    pub days_overdue: i64,
}

/// Filters for trip plans and expense claims.
#[derive(Debug, Clone, Default)]
pub struct PlanQuery {
    /// Only this rep's.
    pub owner: Option<String>,
    /// Only those this manager decides.
    pub approver: Option<String>,
    /// Only in this status (`draft`, `submitted`, …).
    pub status: Option<String>,
}

/// A trip plan in a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TripPlanRow {
    /// Document id.
    pub id: String,
    /// The rep.
    pub owner: String,
    /// The approver.
    pub approver: String,
    /// Title.
    pub title: String,
    /// Status.
    pub status: String,
    /// First day.
    pub start_date: String,
    /// Last day.
    pub end_date: String,
    /// Budget in minor units.
    pub budget_amount: i64,
    /// Budget currency.
    pub currency: String,
}

/// An expense claim in a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExpenseClaimRow {
    /// Document id.
    pub id: String,
    /// The rep.
    pub owner: String,
    /// The approver.
    pub approver: String,
    /// Title.
    pub title: String,
    /// Status.
    pub status: String,
    /// Trip plan id.
    pub trip: Option<String>,
    /// Sum of the items, minor units.
    pub total_amount: i64,
    /// Currency.
    pub currency: String,
    /// Number of items.
    pub item_count: i64,
}

/// Builds a WHERE clause from optional equality filters and extra conditions.
#[derive(Default)]
pub(super) struct Filter {
    conditions: Vec<String>,
    pub(super) params: Vec<SqlValue>,
}

impl Filter {
    pub(super) fn eq(&mut self, column: &str, value: Option<impl Into<SqlValue>>) {
        if let Some(v) = value {
            self.params.push(v.into());
            self.conditions
                .push(format!("{column} = ?{}", self.params.len()));
        }
    }

    pub(super) fn raw(&mut self, condition: String, values: impl IntoIterator<Item = SqlValue>) {
        self.params.extend(values);
        self.conditions.push(condition);
    }

    pub(super) fn next_param(&self) -> usize {
        self.params.len() + 1
    }

    pub(super) fn sql(&self) -> String {
        if self.conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", self.conditions.join(" AND "))
        }
    }
}

fn customer_row(r: &Row<'_>) -> rusqlite::Result<CustomerRow> {
    Ok(CustomerRow {
        id: r.get(0)?,
        name: r.get(1)?,
        customer_type: r.get(2)?,
        territory: r.get(3)?,
        owner: r.get(4)?,
        tier: r.get(5)?,
        status: r.get(6)?,
        key_account: r.get(7)?,
        city: r.get(8)?,
        contact_count: r.get(9)?,
        last_visit_date: r.get(10)?,
        next_followup: r.get(11)?,
    })
}

fn visit_row(r: &Row<'_>) -> rusqlite::Result<VisitRow> {
    Ok(VisitRow {
        id: r.get(0)?,
        customer: r.get(1)?,
        customer_name: r.get(2)?,
        author: r.get(3)?,
        checkin_at: r.get(4)?,
        local_date: r.get(5)?,
        visit_type: r.get(6)?,
        outcome: r.get(7)?,
        next_followup: r.get(8)?,
        summary: r.get(9)?,
    })
}

/// The WHERE clause of a customer list (everything of `q` but its page).
fn customer_filter(q: &CustomerQuery) -> Filter {
    let mut f = Filter::default();
    f.eq("territory", q.territory.clone());
    f.eq("owner", q.owner.clone());
    f.eq("tier", q.tier.map(|t| t.as_str().to_string()));
    f.eq("status", q.status.map(|s| s.as_str().to_string()));
    f.eq("key_account", q.key_account);
    for term in q.search.as_deref().unwrap_or("").split_whitespace() {
        let (condition, value) = super::search::term_condition(term, f.next_param());
        f.raw(condition, [value]);
    }
    f
}

/// The WHERE clause of a visit list over `visits v` (everything of `q` but its page).
fn visit_filter(q: &VisitQuery) -> Result<Filter> {
    let mut f = Filter::default();
    let customer = q
        .customer
        .as_deref()
        .map(crate::ids::parse_id)
        .transpose()?;
    f.eq("v.customer_id", customer);
    f.eq("v.author", q.author.clone());
    if let Some(from) = q.from {
        let n = f.next_param();
        f.raw(
            format!("v.local_date >= ?{n}"),
            [SqlValue::Text(from.to_string())],
        );
    }
    if let Some(to) = q.to {
        let n = f.next_param();
        f.raw(
            format!("v.local_date <= ?{n}"),
            [SqlValue::Text(to.to_string())],
        );
    }
    Ok(f)
}

const VISIT_COLUMNS: &str =
    "v.id, v.customer_id, c.name, v.author, v.checkin_at, v.local_date, v.visit_type,
     v.outcome, v.next_followup, v.summary
     FROM visits v LEFT JOIN customers c ON c.id = v.customer_id";

impl Store {
    /// Customers matching `q`, ordered by name, one page at a time.
    ///
    /// Search words of three or more characters use the trigram full-text index; shorter ones
    /// (二字 names such as 华东) are matched as substrings of the same indexed text.
    pub fn list_customers(&self, q: &CustomerQuery) -> Result<Vec<CustomerRow>> {
        let f = customer_filter(q);
        let limit = q.limit.unwrap_or(50);
        let offset = q.offset.unwrap_or(0);
        let sql = format!(
            "SELECT id, name, customer_type, territory, owner, tier, status, key_account, city, contact_count,
                    last_visit_date, next_followup
             FROM customers {} ORDER BY name, id LIMIT {limit} OFFSET {offset}",
            f.sql()
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params_from_iter(f.params.iter()), customer_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// How many customers match `q`'s filters in all, whatever its page (`limit`, `offset`):
    /// with [`Store::list_customers`], what a list needs to say it shows only part.
    pub fn count_customers(&self, q: &CustomerQuery) -> Result<u64> {
        let f = customer_filter(q);
        let sql = format!("SELECT count(*) FROM customers {}", f.sql());
        let n: i64 = self
            .conn
            .prepare_cached(&sql)?
            .query_row(params_from_iter(f.params.iter()), |r| r.get(0))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// How many visits match `q`'s filters in all, whatever its page (`limit`, `offset`).
    pub fn count_visits(&self, q: &VisitQuery) -> Result<u64> {
        let f = visit_filter(q)?;
        let sql = format!("SELECT count(*) FROM visits v {}", f.sql());
        let n: i64 = self
            .conn
            .prepare_cached(&sql)?
            .query_row(params_from_iter(f.params.iter()), |r| r.get(0))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// The type of a new visit to `customer`: `given` if the rep chose one, else the first-visit
    /// type when this device holds no visit of that customer yet, else a follow-up (see
    /// [`VisitType::default_for`]).
    pub fn visit_type_for(&self, customer: &str, given: Option<VisitType>) -> Result<VisitType> {
        if let Some(t) = given {
            return Ok(t);
        }
        let earlier = self.count_visits(&VisitQuery {
            customer: Some(customer.to_string()),
            ..Default::default()
        })?;
        Ok(VisitType::default_for(earlier))
    }

    /// Visits of a customer, newest first.
    pub fn visits_of_customer(&self, customer: &str, limit: u32) -> Result<Vec<VisitRow>> {
        let customer = crate::ids::parse_id(customer)?;
        let sql = format!(
            "SELECT {VISIT_COLUMNS} WHERE v.customer_id = ?1 ORDER BY v.checkin_at DESC, v.id DESC LIMIT ?2"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(rusqlite::params![customer, limit], visit_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Visits matching `q`, newest first.
    pub fn list_visits(&self, q: &VisitQuery) -> Result<Vec<VisitRow>> {
        let f = visit_filter(q)?;
        let sql = format!(
            "SELECT {VISIT_COLUMNS} {} ORDER BY v.checkin_at DESC, v.id DESC LIMIT {} OFFSET {}",
            f.sql(),
            q.limit.map_or(-1, i64::from),
            q.offset.unwrap_or(0)
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params_from_iter(f.params.iter()), visit_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// A rep's visits whose local check-in day is in `from..=to`, oldest first (the weekly report).
    pub fn visits_by_author(
        &self,
        author: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<VisitRow>> {
        let sql = format!(
            "SELECT {VISIT_COLUMNS} WHERE v.author = ?1 AND v.local_date BETWEEN ?2 AND ?3 ORDER BY v.checkin_at, v.id"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(
            rusqlite::params![author, from.to_string(), to.to_string()],
            visit_row,
        )?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Customers due or overdue for a follow-up on `day` (a local date), optionally only one
    /// rep's: never-visited customers first, then by due date. Lost customers are left out.
    pub fn due_followups(&self, day: NaiveDate, owner: Option<&str>) -> Result<Vec<FollowUp>> {
        self.due_followups_page(day, owner, None, 0)
    }

    /// One page of [`Store::due_followups`]: at most `limit` rows after skipping `offset`.
    pub fn due_followups_page(
        &self,
        day: NaiveDate,
        owner: Option<&str>,
        limit: Option<u32>,
        offset: u32,
    ) -> Result<Vec<FollowUp>> {
        let mut f = Filter::default();
        f.raw("status <> 'lost'".to_string(), []);
        let n = f.next_param();
        f.raw(
            format!("(last_visit_at IS NULL OR next_followup <= ?{n})"),
            [SqlValue::Text(day.to_string())],
        );
        f.eq("owner", owner.map(str::to_string));
        let sql = format!(
            "SELECT id, name, tier, owner, last_visit_date, next_followup, followup_reason, last_visit_at IS NULL
             FROM customers {} ORDER BY last_visit_at IS NOT NULL, next_followup, name, id
             LIMIT {} OFFSET {offset}",
            f.sql(),
            limit.map_or(-1, i64::from)
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params_from_iter(f.params.iter()), |r| {
            let due: Option<String> = r.get(5)?;
            let reason: Option<String> = r.get(6)?;
            let never: bool = r.get(7)?;
            let days_overdue = due
                .as_deref()
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                .map_or(0, |d| (day - d).num_days().max(0));
            Ok(FollowUp {
                customer: r.get(0)?,
                name: r.get(1)?,
                tier: r.get(2)?,
                owner: r.get(3)?,
                last_visit_date: r.get(4)?,
                due_date: due,
                reason: match (never, reason.as_deref()) {
                    (true, _) => FollowUpReason::NeverVisited,
                    (false, Some("explicit")) => FollowUpReason::ExplicitDate,
                    _ => FollowUpReason::Cadence,
                },
                days_overdue,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Trip plans matching `q`, newest trips first.
    pub fn list_trip_plans(&self, q: &PlanQuery) -> Result<Vec<TripPlanRow>> {
        // Typed statuses are matched in their stored spelling ("Draft" lists drafts).
        let status = q
            .status
            .as_deref()
            .map(str::parse::<TripStatus>)
            .transpose()?
            .map(|s| s.as_str().to_string());
        let mut f = Filter::default();
        f.eq("owner", q.owner.clone());
        f.eq("approver", q.approver.clone());
        f.eq("status", status);
        let sql = format!(
            "SELECT id, owner, approver, title, status, start_date, end_date, budget_amount, currency
             FROM trip_plans {} ORDER BY start_date DESC, id",
            f.sql()
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params_from_iter(f.params.iter()), |r| {
            Ok(TripPlanRow {
                id: r.get(0)?,
                owner: r.get(1)?,
                approver: r.get(2)?,
                title: r.get(3)?,
                status: r.get(4)?,
                start_date: r.get(5)?,
                end_date: r.get(6)?,
                budget_amount: r.get(7)?,
                currency: r.get(8)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Expense claims matching `q`, newest first.
    pub fn list_expense_claims(&self, q: &PlanQuery) -> Result<Vec<ExpenseClaimRow>> {
        // Typed statuses are matched in their stored spelling ("Draft" lists drafts).
        let status = q
            .status
            .as_deref()
            .map(str::parse::<ClaimStatus>)
            .transpose()?
            .map(|s| s.as_str().to_string());
        let mut f = Filter::default();
        f.eq("owner", q.owner.clone());
        f.eq("approver", q.approver.clone());
        f.eq("status", status);
        let sql = format!(
            "SELECT id, owner, approver, title, status, trip_id, total_amount, currency, item_count
             FROM expense_claims {} ORDER BY created_at DESC, id",
            f.sql()
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params_from_iter(f.params.iter()), |r| {
            Ok(ExpenseClaimRow {
                id: r.get(0)?,
                owner: r.get(1)?,
                approver: r.get(2)?,
                title: r.get(3)?,
                status: r.get(4)?,
                trip: r.get(5)?,
                total_amount: r.get(6)?,
                currency: r.get(7)?,
                item_count: r.get(8)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
