//! The weekly trip report (周报) a rep's manager reads: which customers the rep visited in one
//! ISO week, whom they met, what was discussed and achieved, what was learnt about competitors
//! and what comes next, plus counts by visit type and outcome.
//!
//! It is built from visit records alone (the week's visits come from the `visits` projection,
//! each one is then read whole), so every client — laptop or phone — writes the same report
//! from the same data, and nobody has to type it by hand.

pub mod kpi;

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, Weekday};
use serde::Serialize;

use crate::Store;
use crate::error::{Error, Result, ValidationError};
use crate::model::fields::Money;
use crate::model::visit::CompetitorIntel;

/// An ISO 8601 week, such as 2026-W48 (Monday to Sunday).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct IsoWeek {
    /// The ISO week-numbering year.
    pub year: i32,
    /// The week, 1 to 52 or 53.
    pub week: u32,
}

impl IsoWeek {
    /// The week `day` falls in.
    pub fn containing(day: NaiveDate) -> IsoWeek {
        let w = day.iso_week();
        IsoWeek {
            year: w.year(),
            week: w.week(),
        }
    }

    /// The week's Monday and Sunday, or `None` if the year has no such week.
    pub fn bounds(self) -> Option<(NaiveDate, NaiveDate)> {
        let monday = NaiveDate::from_isoywd_opt(self.year, self.week, Weekday::Mon)?;
        let sunday = NaiveDate::from_isoywd_opt(self.year, self.week, Weekday::Sun)?;
        Some((monday, sunday))
    }
}

impl std::fmt::Display for IsoWeek {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-W{:02}", self.year, self.week)
    }
}

impl std::str::FromStr for IsoWeek {
    type Err = ValidationError;

    /// Parses `YYYY-Www` (`2026-W48`; `2026-w48` and `2026W48` are accepted too).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            ValidationError::new(
                "week",
                format!("'{s}' is not an ISO week: write it as YYYY-Www, e.g. 2026-W48"),
            )
        };
        let upper = s.trim().to_ascii_uppercase();
        let (year, week) = upper.split_once('W').ok_or_else(bad)?;
        let year = year.strip_suffix('-').unwrap_or(year);
        if year.len() != 4 || week.is_empty() || week.len() > 2 {
            return Err(bad());
        }
        let parsed = IsoWeek {
            year: year.parse().map_err(|_| bad())?,
            week: week.parse().map_err(|_| bad())?,
        };
        match parsed.bounds() {
            Some(_) => Ok(parsed),
            None => Err(ValidationError::new(
                "week",
                format!(
                    "{} has no week {}: ISO years have 52 or 53 weeks",
                    parsed.year, parsed.week
                ),
            )),
        }
    }
}

/// A person met on a visit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PersonSeen {
    /// Name.
    pub name: String,
    /// Job title, if recorded.
    pub title: Option<String>,
}

/// One visit, as the report tells it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportVisit {
    /// Visit id.
    pub id: String,
    /// Local day of the check-in, YYYY-MM-DD.
    pub local_date: String,
    /// Check-in time, UTC.
    pub checkin_at: String,
    /// Visit type.
    pub visit_type: String,
    /// People met, with their titles.
    pub people_met: Vec<PersonSeen>,
    /// What was discussed (the whole summary).
    pub summary: String,
    /// What came of it.
    pub outcome: Option<String>,
    /// What was learnt about competitors.
    pub competitor_intel: Vec<CompetitorIntel>,
    /// Amount quoted.
    pub quote_amount: Option<Money>,
    /// Amount ordered.
    pub order_amount: Option<Money>,
    /// The agreed next step.
    pub next_step: Option<String>,
    /// Explicit next follow-up date.
    pub next_followup: Option<String>,
}

/// A customer visited in the week, with its visits in time order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CustomerVisited {
    /// Customer id.
    pub customer: String,
    /// Customer name, if the customer is on this device.
    pub name: Option<String>,
    /// The week's visits to this customer, oldest first.
    pub visits: Vec<ReportVisit>,
}

/// The weekly trip report of one rep.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeeklyReport {
    /// The rep.
    pub rep: String,
    /// The week, `YYYY-Www`.
    pub week: String,
    /// Its Monday.
    pub from: String,
    /// Its Sunday.
    pub to: String,
    /// Number of visits.
    pub visit_count: usize,
    /// Customers visited, in the order of their first visit in the week.
    pub customers: Vec<CustomerVisited>,
    /// Visits per visit type.
    pub by_type: BTreeMap<String, usize>,
    /// Visits per outcome (`none` for visits without one).
    pub by_outcome: BTreeMap<String, usize>,
}

/// Builds `rep`'s report for `week` from the visit records in `store`.
pub fn weekly_report(store: &Store, rep: &str, week: IsoWeek) -> Result<WeeklyReport> {
    let (from, to) = week_bounds(week)?;
    let rows = store.visits_by_author(rep, from, to)?;
    let mut visits = Vec::with_capacity(rows.len());
    for row in rows {
        visits.push(WeekVisit {
            visit: store.visit(&row.id)?,
            local_date: row.local_date,
            customer_name: row.customer_name,
        });
    }
    week_report(rep, week, visits)
}

/// One visit of a week, with what the report shows beside it.
#[derive(Debug, Clone)]
pub struct WeekVisit {
    /// The visit record.
    pub visit: crate::model::visit::Visit,
    /// Its local day, `YYYY-MM-DD`.
    pub local_date: String,
    /// Its customer's name, where the reader knows the customer.
    pub customer_name: Option<String>,
}

fn week_bounds(week: IsoWeek) -> Result<(NaiveDate, NaiveDate)> {
    week.bounds().ok_or_else(|| {
        Error::Invalid(ValidationError::new(
            "week",
            format!("{week} is not a week of its year"),
        ))
    })
}

/// Builds `rep`'s report for `week` from the week's visits of that rep, in check-in order:
/// the one way a weekly report is told, whether a device reads it from its store or the
/// server from its query tables.
pub fn week_report(
    rep: &str,
    week: IsoWeek,
    visits: impl IntoIterator<Item = WeekVisit>,
) -> Result<WeeklyReport> {
    let (from, to) = week_bounds(week)?;
    let mut customers: Vec<CustomerVisited> = Vec::new();
    let mut by_type = BTreeMap::new();
    let mut by_outcome = BTreeMap::new();
    let mut visit_count = 0;
    for WeekVisit {
        visit,
        local_date,
        customer_name,
    } in visits
    {
        visit_count += 1;
        let entry = ReportVisit {
            id: visit.id.clone(),
            local_date,
            checkin_at: visit.checkin_at.clone(),
            visit_type: visit.visit_type.as_str().to_string(),
            people_met: visit
                .people_met
                .iter()
                .map(|p| PersonSeen {
                    name: p.name.clone(),
                    title: p.title.clone(),
                })
                .collect(),
            summary: visit.summary.as_str().to_string(),
            outcome: visit.outcome.map(|o| o.as_str().to_string()),
            competitor_intel: visit.competitor_intel.clone(),
            quote_amount: visit.quote_amount.clone(),
            order_amount: visit.order_amount.clone(),
            next_step: visit.next_step.clone(),
            next_followup: visit.next_followup.clone(),
        };
        *by_type.entry(entry.visit_type.clone()).or_insert(0) += 1;
        let outcome = entry.outcome.clone().unwrap_or_else(|| "none".to_string());
        *by_outcome.entry(outcome).or_insert(0) += 1;
        match customers.iter_mut().find(|c| c.customer == visit.customer) {
            Some(c) => c.visits.push(entry),
            None => customers.push(CustomerVisited {
                customer: visit.customer.clone(),
                name: customer_name,
                visits: vec![entry],
            }),
        }
    }
    Ok(WeeklyReport {
        rep: rep.to_string(),
        week: week.to_string(),
        from: from.to_string(),
        to: to.to_string(),
        visit_count,
        customers,
        by_type,
        by_outcome,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::model::visit::{NewVisit, Outcome, VisitEdit, VisitType};
    use crate::store::test_support::customer_of_li as customer;

    fn visit(customer: &str, author: &str, at: &str, summary: &str) -> NewVisit {
        NewVisit {
            customer: customer.into(),
            author: author.into(),
            checkin_at: at.into(),
            utc_offset_minutes: 480,
            summary: summary.into(),
            ..Default::default()
        }
    }

    #[test]
    fn iso_weeks_parse_and_print() {
        let w: IsoWeek = "2026-W48".parse().unwrap();
        assert_eq!(
            w,
            IsoWeek {
                year: 2026,
                week: 48
            }
        );
        assert_eq!(w.to_string(), "2026-W48");
        assert_eq!("2026w5".parse::<IsoWeek>().unwrap().to_string(), "2026-W05");
        let (mon, sun) = w.bounds().unwrap();
        assert_eq!(
            (mon.to_string(), sun.to_string()),
            ("2026-11-23".into(), "2026-11-29".into())
        );
        assert_eq!(IsoWeek::containing(sun), w);
        for bad in ["", "2026-48", "2026-W54", "26-W01", "2026-W", "2025-W53"] {
            assert!(bad.parse::<IsoWeek>().is_err(), "{bad}");
        }
        assert!(
            "2026-W53".parse::<IsoWeek>().is_ok(),
            "2026 has 53 ISO weeks"
        );
    }

    #[test]
    fn the_report_tells_the_weeks_visits_of_one_rep_by_customer_with_counts() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("d.db")).unwrap();
        let a = customer(&store, "华东精密机械有限公司");
        let b = customer(&store, "苏州新材料科技");
        // Monday 2026-11-23, 09:00 Beijing time.
        let mut first = visit(&a, "li.wei", "2026-11-23T01:00:00Z", "介绍新款轴承。");
        first.visit_type = Some(VisitType::ColdVisit);
        first.people_met = vec![("王芳".into(), Some("采购经理".into()))];
        first.outcome = Some(Outcome::Progress);
        first.next_step = Some("下周送样品".into());
        let first = store.create_visit(first).unwrap();
        store
            .update_visit(
                &first,
                &[VisitEdit::AddCompetitorIntel {
                    competitor: "恒力轴承".into(),
                    product: Some("6205".into()),
                    price: Some(Money::cny(1250)),
                    notes: None,
                }],
            )
            .unwrap();
        let mut second = visit(&b, "li.wei", "2026-11-25T06:00:00Z", "谈年度框架合同。");
        second.visit_type = Some(VisitType::Quote);
        second.outcome = Some(Outcome::Order);
        store.create_visit(second).unwrap();
        // Sunday 23:30 local time is still in the week; Monday 00:30 local is not.
        store
            .create_visit(visit(&a, "li.wei", "2026-11-29T15:30:00Z", "电话回访。"))
            .unwrap();
        store
            .create_visit(visit(&a, "li.wei", "2026-11-29T16:30:00Z", "下周的。"))
            .unwrap();
        // Another rep's visit in the same week is not in the report.
        store
            .create_visit(visit(&b, "wang", "2026-11-24T02:00:00Z", "别人的拜访。"))
            .unwrap();

        let report = weekly_report(&store, "li.wei", "2026-W48".parse().unwrap()).unwrap();
        assert_eq!(report.week, "2026-W48");
        assert_eq!(
            (report.from.as_str(), report.to.as_str()),
            ("2026-11-23", "2026-11-29")
        );
        assert_eq!(report.visit_count, 3);
        let names: Vec<_> = report
            .customers
            .iter()
            .map(|c| c.name.clone().unwrap())
            .collect();
        assert_eq!(names, ["华东精密机械有限公司", "苏州新材料科技"]);
        let firsts = &report.customers[0].visits;
        assert_eq!(firsts.len(), 2);
        assert_eq!(firsts[0].id, first);
        assert_eq!(
            firsts[0].people_met,
            vec![PersonSeen {
                name: "王芳".into(),
                title: Some("采购经理".into())
            }]
        );
        assert_eq!(firsts[0].summary, "介绍新款轴承。");
        assert_eq!(firsts[0].next_step.as_deref(), Some("下周送样品"));
        assert_eq!(firsts[0].competitor_intel[0].competitor, "恒力轴承");
        assert_eq!(firsts[1].local_date, "2026-11-29");
        assert_eq!(
            report.customers[1].visits[0].outcome.as_deref(),
            Some("order")
        );
        let counts = |m: &BTreeMap<String, usize>| -> Vec<(String, usize)> {
            m.iter().map(|(k, v)| (k.clone(), *v)).collect()
        };
        assert_eq!(
            counts(&report.by_type),
            [
                ("cold_visit".into(), 1),
                ("follow_up".into(), 1),
                ("quote".into(), 1)
            ]
        );
        assert_eq!(
            counts(&report.by_outcome),
            [
                ("none".into(), 1),
                ("order".into(), 1),
                ("progress".into(), 1)
            ]
        );

        let empty = weekly_report(&store, "li.wei", "2026-W47".parse().unwrap()).unwrap();
        assert_eq!(empty.visit_count, 0);
        assert!(empty.customers.is_empty());
    }
}
