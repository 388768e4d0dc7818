//! The KPIs a manager reviews and a rep checks, for a month or a quarter: sales against target
//! and their growth, visits and new customers against target, follow-up compliance,
//! complaints handled in time, and the trip cost per yuan of gross profit.
//!
//! Every figure is computed by client-core from what is on this device (docs/KPI.md defines
//! each); this module carries them across, field by field.

use fieldsync_core::report::kpi::{Kpi, KpiQuery};

use crate::{FieldsyncClient, Res};

/// The KPIs of one rep or a team for one period. Money is in minor units (fen) of CNY; a
/// share is a percentage rounded to two decimals, `None` where its base is zero.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct KpiRecord {
    /// `2026-11` or `2026-Q4`.
    pub period: String,
    /// Its first day, YYYY-MM-DD.
    pub from: String,
    /// Its last day, YYYY-MM-DD.
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
    /// Follow-ups of the reps' customers due in the period, once their day has passed or they
    /// were done.
    pub followups_due: i64,
    /// Those done by their day.
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
    /// For a team: each rep's own figures (empty otherwise).
    pub by_rep: Vec<KpiRecord>,
}

impl From<Kpi> for KpiRecord {
    fn from(k: Kpi) -> Self {
        KpiRecord {
            period: k.period,
            from: k.from,
            to: k.to,
            reps: k.reps,
            sales: k.sales,
            sales_target: k.sales_target,
            sales_achievement: k.sales_achievement,
            sales_previous: k.sales_previous,
            sales_growth: k.sales_growth,
            sales_year_before: k.sales_year_before,
            sales_growth_year: k.sales_growth_year,
            orders_confirmed: k.orders_confirmed,
            orders_cancelled: k.orders_cancelled,
            visits: k.visits,
            visits_target: k.visits_target,
            visits_achievement: k.visits_achievement,
            new_customers: k.new_customers,
            new_customers_target: k.new_customers_target,
            new_customers_achievement: k.new_customers_achievement,
            followups_due: k.followups_due,
            followups_on_time: k.followups_on_time,
            followup_compliance: k.followup_compliance,
            customers_overdue: k.customers_overdue,
            complaints_received: k.complaints_received,
            complaints_handled: k.complaints_handled,
            complaints_handled_in_time: k.complaints_handled_in_time,
            complaints_in_time_rate: k.complaints_in_time_rate,
            complaint_median_hours: k.complaint_median_hours,
            complaints_open: k.complaints_open,
            complaints_overdue: k.complaints_overdue,
            trip_expenses: k.trip_expenses,
            gross_profit: k.gross_profit,
            trip_efficiency: k.trip_efficiency,
            by_rep: k.by_rep.into_iter().map(Into::into).collect(),
        }
    }
}

#[uniffi::export]
impl FieldsyncClient {
    /// The KPIs of `rep` (the logged-in user when `None`), or with `team` and no `rep`, of the
    /// user's team as the server last said it (each rep's own figures in `by_rep`), for
    /// `period`: a month `2026-11` or a quarter `2026-Q4` (this month when `None`).
    #[uniffi::method(default(rep = None, team = false, period = None))]
    pub fn kpi(&self, rep: Option<String>, team: bool, period: Option<String>) -> Res<KpiRecord> {
        let query = KpiQuery { rep, team, period };
        self.call(|c| Ok(c.kpi(&query)?.into()))
    }
}
