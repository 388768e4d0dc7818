//! What the JSON API answers, as plain functions over the core: each reads the read model
//! through the caller's scope (the rule a pull applies), so every role sees in the API exactly
//! what it would pull. No HTTP here; `crate::read::http` maps requests onto these.

use std::collections::HashMap;

use chrono::NaiveDate;
use fieldsync_core::conflicts::{Conflict, find_conflicts};
use fieldsync_core::model::customer::{FollowupBasis, Tier, next_followup};
use fieldsync_core::model::{DocKind, Document, validate_document};
use fieldsync_core::report::{IsoWeek, WeekVisit, WeeklyReport, week_report};
use fieldsync_core::store::{FollowUp, FollowUpReason};
use serde::Serialize;
use serde_json::Value;

use crate::access::Principal;
use crate::error::AppError;
use crate::service::Core;
use crate::storage::{Role, ViewOrder, ViewQuery, ViewRow};

/// Rows a page of a list holds.
pub const PER_PAGE: usize = 50;

/// One page of a list.
#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    /// The rows of this page.
    pub items: Vec<T>,
    /// Which page, from 1.
    pub page: usize,
    /// Rows a page holds.
    pub per_page: usize,
    /// Rows on every page together.
    pub total: u64,
}

/// A customer in a list.
#[derive(Debug, Clone, Serialize)]
pub struct CustomerItem {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Territory.
    pub territory: Option<String>,
    /// Owning rep.
    pub owner: Option<String>,
    /// Tier.
    pub tier: Option<String>,
    /// Status.
    pub status: Option<String>,
    /// City.
    pub city: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Key account.
    pub key_account: bool,
    /// Local day of the newest visit.
    pub last_visit_date: Option<String>,
    /// When it is next due for a follow-up.
    pub next_followup: Option<String>,
}

/// Filters of the customer list.
#[derive(Debug, Clone, Default)]
pub struct CustomerFilter {
    /// Text its name, contacts, place or notes hold (Chinese or not).
    pub search: Option<String>,
    /// Territory.
    pub territory: Option<String>,
    /// Owning rep.
    pub owner: Option<String>,
    /// Tier.
    pub tier: Option<String>,
    /// Page, from 1.
    pub page: usize,
}

fn text(v: &Value, field: &str) -> Option<String> {
    v.get(field).and_then(Value::as_str).map(str::to_string)
}

fn parsed(row: &ViewRow) -> Value {
    serde_json::from_str(&row.view.view).unwrap_or(Value::Null)
}

fn paged(page: usize) -> (usize, usize) {
    let page = page.max(1);
    (page, (page - 1) * PER_PAGE)
}

/// A customer's newest visit's day, and the follow-up it makes due (none for tier D without a
/// date).
type LastAndNext = (String, Option<(String, FollowupBasis)>);

/// The follow-up of each customer row from its newest visit (the rule of the device's list).
fn followups(
    core: &Core,
    customers: &[&ViewRow],
) -> Result<HashMap<String, LastAndNext>, AppError> {
    let ids: Vec<String> = customers.iter().map(|c| c.scope.id.clone()).collect();
    let tiers: HashMap<&str, Option<Tier>> = customers
        .iter()
        .map(|c| {
            let tier = c.view.tier.as_deref().and_then(|t| t.parse().ok());
            (c.scope.id.as_str(), tier)
        })
        .collect();
    let mut out = HashMap::new();
    for last in core.storage.last_visits(&ids)? {
        let due = match tiers.get(last.customer.as_str()).copied().flatten() {
            Some(tier) => next_followup(tier, &last.day, last.followup.as_deref()),
            None => last.followup.clone().map(|d| (d, FollowupBasis::Explicit)),
        };
        out.insert(last.customer.clone(), (last.day, due));
    }
    Ok(out)
}

/// One page of the customers `who` sees, by name.
pub fn customers(
    core: &Core,
    who: &Principal,
    f: &CustomerFilter,
) -> Result<Page<CustomerItem>, AppError> {
    let (page, offset) = paged(f.page);
    let mut q = ViewQuery::of(DocKind::Customer, ViewOrder::Title);
    q.search = f.search.clone().filter(|s| !s.trim().is_empty());
    q.territory = f.territory.clone();
    q.owner = f.owner.clone();
    q.tier = f.tier.clone();
    q.limit = Some(PER_PAGE);
    q.offset = offset;
    let (rows, total) = core.storage.views(who, &q)?;
    let due = followups(core, &rows.iter().collect::<Vec<_>>())?;
    let items = rows
        .iter()
        .map(|row| {
            let v = parsed(row);
            let last = due.get(&row.scope.id);
            CustomerItem {
                id: row.scope.id.clone(),
                name: row.view.title.clone(),
                territory: row.scope.territory.clone(),
                owner: row.scope.owner.clone(),
                tier: row.view.tier.clone(),
                status: row.view.status.clone(),
                city: text(&v, "city"),
                phone: text(&v, "phone"),
                key_account: v.get("key_account").and_then(Value::as_bool) == Some(true),
                last_visit_date: last.map(|(day, _)| day.clone()),
                next_followup: last.and_then(|(_, due)| due.as_ref().map(|(d, _)| d.clone())),
            }
        })
        .collect();
    Ok(Page {
        items,
        page,
        per_page: PER_PAGE,
        total,
    })
}

/// A customer's file: the customer, its visits (newest first) and the fields holding
/// concurrent values.
#[derive(Debug, Clone, Serialize)]
pub struct CustomerFile {
    /// The customer, as its typed view.
    pub customer: Value,
    /// When it is next due for a follow-up.
    pub next_followup: Option<String>,
    /// Its visits the caller sees, newest first.
    pub visits: Vec<Value>,
    /// Fields of the customer holding concurrent values, with who wrote each.
    pub conflicts: Vec<Conflict>,
}

fn not_seen(what: &str, id: &str) -> AppError {
    AppError::NotFound(format!("no {what} {id} that you can see"))
}

/// The file of customer `id`, if `who` sees it.
pub fn customer(core: &Core, who: &Principal, id: &str) -> Result<CustomerFile, AppError> {
    let mut q = ViewQuery::of(DocKind::Customer, ViewOrder::Title);
    q.ids = vec![id.to_string()];
    let (rows, _) = core.storage.views(who, &q)?;
    let row = rows.first().ok_or_else(|| not_seen("customer", id))?;
    let due = followups(core, &[row])?;
    let mut q = ViewQuery::of(DocKind::Visit, ViewOrder::Newest);
    q.customers = vec![id.to_string()];
    let (visits, _) = core.storage.views(who, &q)?;
    let conflicts = match core.load(id)? {
        Some(mut doc) => find_conflicts(&mut doc).map_err(|e| AppError::Internal(e.to_string()))?,
        None => Vec::new(),
    };
    Ok(CustomerFile {
        customer: parsed(row),
        next_followup: due
            .get(id)
            .and_then(|(_, due)| due.as_ref().map(|(d, _)| d.clone())),
        visits: visits.iter().map(parsed).collect(),
        conflicts,
    })
}

/// Filters of the visit list.
#[derive(Debug, Clone, Default)]
pub struct VisitFilter {
    /// Written by this rep.
    pub rep: Option<String>,
    /// On or after this local day.
    pub from: Option<NaiveDate>,
    /// On or before this local day.
    pub to: Option<NaiveDate>,
    /// Of this customer.
    pub customer: Option<String>,
    /// Page, from 1.
    pub page: usize,
}

/// Whether `who` may ask about `rep`'s work: themselves, their team (a manager), anyone (an
/// admin). Asking about anyone else is [`AppError::Forbidden`].
pub fn check_rep(who: &Principal, rep: &str) -> Result<(), AppError> {
    if who.role == Role::Admin || who.team.iter().any(|t| t == rep) {
        Ok(())
    } else {
        Err(AppError::Forbidden(format!(
            "{rep} is not in your team: you see your own work{}",
            if who.role == Role::Manager {
                " and your reps'"
            } else {
                ""
            }
        )))
    }
}

/// Names of the customers with these ids that `who` sees.
fn customer_names(
    core: &Core,
    who: &Principal,
    ids: Vec<String>,
) -> Result<HashMap<String, String>, AppError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut q = ViewQuery::of(DocKind::Customer, ViewOrder::Title);
    q.ids = ids;
    let (rows, _) = core.storage.views(who, &q)?;
    Ok(rows
        .into_iter()
        .map(|r| (r.scope.id, r.view.title))
        .collect())
}

/// One page of the visits `who` sees, newest first; each is its typed view with its
/// customer's name (`customer_name`, where the caller sees the customer).
pub fn visits(core: &Core, who: &Principal, f: &VisitFilter) -> Result<Page<Value>, AppError> {
    if let Some(rep) = &f.rep {
        check_rep(who, rep)?;
    }
    let (page, offset) = paged(f.page);
    let mut q = ViewQuery::of(DocKind::Visit, ViewOrder::Newest);
    q.author = f.rep.clone();
    q.day_from = f.from.map(|d| d.to_string());
    q.day_to = f.to.map(|d| d.to_string());
    q.customers = f.customer.iter().cloned().collect();
    q.limit = Some(PER_PAGE);
    q.offset = offset;
    let (rows, total) = core.storage.views(who, &q)?;
    let mut customers: Vec<String> = rows
        .iter()
        .filter_map(|r| r.scope.customer.clone())
        .collect();
    customers.sort();
    customers.dedup();
    let names = customer_names(core, who, customers)?;
    let items = rows
        .iter()
        .map(|row| {
            let mut v = parsed(row);
            let name = row.scope.customer.as_ref().and_then(|c| names.get(c));
            if let Value::Object(map) = &mut v {
                map.insert("customer_name".into(), name.cloned().into());
                map.insert("local_date".into(), row.view.day.clone().into());
            }
            v
        })
        .collect();
    Ok(Page {
        items,
        page,
        per_page: PER_PAGE,
        total,
    })
}

/// The follow-ups due on a day.
#[derive(Debug, Clone, Serialize)]
pub struct FollowUps {
    /// The day asked about.
    pub date: String,
    /// Customers due or overdue then: never visited first, then by due date.
    pub items: Vec<FollowUp>,
}

/// The customers `who` sees that are due or overdue for a follow-up on `day` (lost customers
/// left out), as the device lists them.
pub fn due_followups(core: &Core, who: &Principal, day: NaiveDate) -> Result<FollowUps, AppError> {
    let q = ViewQuery::of(DocKind::Customer, ViewOrder::Title);
    let (rows, _) = core.storage.views(who, &q)?;
    let active: Vec<&ViewRow> = rows
        .iter()
        .filter(|r| r.view.status.as_deref() != Some("lost"))
        .collect();
    let due = followups(core, &active)?;
    let mut items: Vec<FollowUp> = active
        .iter()
        .filter_map(|row| {
            let (last, next) = match due.get(&row.scope.id) {
                None => (None, None),
                Some((day, next)) => (Some(day.clone()), next.clone()),
            };
            let reason = match (&last, &next) {
                (None, _) => FollowUpReason::NeverVisited,
                (Some(_), Some((_, FollowupBasis::Explicit))) => FollowUpReason::ExplicitDate,
                (Some(_), Some((_, FollowupBasis::Cadence))) => FollowUpReason::Cadence,
                // Visited, and nothing due (tier D without a date): not on the list.
                (Some(_), None) => return None,
            };
            let due_date = next.map(|(d, _)| d);
            let overdue = match &due_date {
                Some(d) => {
                    let d = NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()?;
                    if d > day {
                        return None;
                    }
                    (day - d).num_days()
                }
                None => 0,
            };
            Some(FollowUp {
                customer: row.scope.id.clone(),
                name: row.view.title.clone(),
                tier: row.view.tier.clone().unwrap_or_default(),
                owner: row.scope.owner.clone().unwrap_or_default(),
                last_visit_date: last,
                due_date,
                reason,
                days_overdue: overdue,
            })
        })
        .collect();
    items.sort_by(|a, b| {
        (
            a.last_visit_date.is_some(),
            &a.due_date,
            &a.name,
            &a.customer,
        )
            .cmp(&(
                b.last_visit_date.is_some(),
                &b.due_date,
                &b.name,
                &b.customer,
            ))
    });
    Ok(FollowUps {
        date: day.to_string(),
        items,
    })
}

/// `rep`'s weekly report for `week`, from the visits of theirs `who` sees.
pub fn weekly_report(
    core: &Core,
    who: &Principal,
    rep: &str,
    week: IsoWeek,
) -> Result<WeeklyReport, AppError> {
    check_rep(who, rep)?;
    let (from, to) = week.bounds().ok_or_else(|| {
        AppError::Invalid(format!("{week} is not a week of its year: give YYYY-Www"))
    })?;
    let mut q = ViewQuery::of(DocKind::Visit, ViewOrder::Oldest);
    q.author = Some(rep.to_string());
    q.day_from = Some(from.to_string());
    q.day_to = Some(to.to_string());
    let (rows, _) = core.storage.views(who, &q)?;
    let mut customers: Vec<String> = rows
        .iter()
        .filter_map(|r| r.scope.customer.clone())
        .collect();
    customers.sort();
    customers.dedup();
    let names = customer_names(core, who, customers)?;
    let mut visits = Vec::with_capacity(rows.len());
    for row in &rows {
        let Some(doc) = core.load(&row.scope.id)? else {
            continue;
        };
        let Document::Visit(visit) =
            validate_document(&doc).map_err(|e| AppError::Internal(e.to_string()))?
        else {
            continue;
        };
        visits.push(WeekVisit {
            customer_name: names.get(&visit.customer).cloned(),
            local_date: row.view.day.clone().unwrap_or_default(),
            visit,
        });
    }
    week_report(rep, week, visits).map_err(|e| AppError::Invalid(e.to_string()))
}

/// What waits on the caller's decision.
#[derive(Debug, Clone, Serialize)]
pub struct Approvals {
    /// Submitted trip plans naming the caller as approver, oldest first.
    pub trip_plans: Vec<Value>,
    /// Submitted expense claims naming the caller as approver, oldest first; each with its
    /// `total` (minor units) and `total_currency`.
    pub expense_claims: Vec<Value>,
}

/// The trip plans and expense claims waiting on `who`'s decision.
pub fn approvals(core: &Core, who: &Principal) -> Result<Approvals, AppError> {
    let pending = |kind| -> Result<Vec<Value>, AppError> {
        let mut q = ViewQuery::of(kind, ViewOrder::Oldest);
        q.approver = Some(who.username.clone());
        q.statuses = vec!["submitted".into()];
        let (rows, _) = core.storage.views(who, &q)?;
        Ok(rows
            .iter()
            .map(|row| {
                let mut v = parsed(row);
                if let (Value::Object(map), DocKind::ExpenseClaim) = (&mut v, kind) {
                    map.insert("total".into(), row.view.amount.into());
                    map.insert("total_currency".into(), row.view.currency.clone().into());
                }
                v
            })
            .collect())
    };
    Ok(Approvals {
        trip_plans: pending(DocKind::TripPlan)?,
        expense_claims: pending(DocKind::ExpenseClaim)?,
    })
}

/// The KPIs of `rep` (the caller by default), or with `team` of the caller's team with each
/// rep's own figures, for `period` (`YYYY-MM` or `YYYY-Qn`; this month by default): computed
/// by client-core's own report over the documents the caller sees, put in a scratch store in
/// memory, so the console shows the figures a device shows.
pub fn kpi(
    core: &Core,
    who: &Principal,
    rep: Option<String>,
    team: bool,
    period: Option<String>,
) -> Result<fieldsync_core::report::kpi::Kpi, AppError> {
    use fieldsync_core::report::kpi::{Period, team_kpi};
    let today = chrono::Local::now().date_naive();
    let period = match period {
        Some(p) => Period::parse(&p).map_err(|e| AppError::BadRequest(e.to_string()))?,
        None => Period::month_of(today),
    };
    let reps: Vec<String> = match (rep, team) {
        (Some(rep), _) => {
            check_rep(who, &rep)?;
            vec![rep]
        }
        (None, true) => who.team.clone(),
        (None, false) => vec![who.username.clone()],
    };
    let scratch = fieldsync_core::Store::open_with(
        ":memory:",
        fieldsync_core::store::StoreOptions {
            durability: fieldsync_core::store::Durability::Normal,
            doc_cache: 0,
            ..Default::default()
        },
    )
    .map_err(|e| AppError::Internal(format!("a scratch store for the KPIs: {e}")))?;
    let internal = |e: fieldsync_core::Error| AppError::Internal(e.to_string());
    for kind in [
        DocKind::Customer,
        DocKind::Visit,
        DocKind::Order,
        DocKind::Complaint,
        DocKind::Target,
        DocKind::ExpenseClaim,
    ] {
        let (rows, _) = core
            .storage
            .views(who, &ViewQuery::of(kind, ViewOrder::Title))?;
        let mut docs = Vec::with_capacity(rows.len());
        for row in &rows {
            if let Some(mut doc) = core.load(&row.scope.id)? {
                docs.push((row.scope.id.clone(), doc.save()));
            }
        }
        for merged in scratch
            .merge_pulled_page(
                docs.iter()
                    .map(|(id, bytes)| (id.as_str(), bytes.as_slice())),
            )
            .map_err(internal)?
        {
            merged.map_err(internal)?;
        }
    }
    team_kpi(
        &scratch,
        &reps,
        team,
        &period,
        &core.complaint_hours,
        today,
        chrono::Utc::now(),
    )
    .map_err(internal)
}
