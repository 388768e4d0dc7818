//! `fieldsync report week`: the weekly trip report, from visit records alone; `fieldsync
//! report kpi`: the KPIs of a rep or a team for a month or a quarter.

use fieldsync_core::report::WeeklyReport;
use fieldsync_core::report::kpi::{Kpi, KpiQuery};
use unicode_width::UnicodeWidthStr;

use super::{Ctx, show_amount, show_money};
use crate::args::{KpiArgs, ReportCmd};
use crate::error::{CliError, CliResult};
use crate::i18n::{self, t};
use crate::output::{self, Table, fields};

/// The currency KPI money is summed in.
const KPI_CURRENCY: &str = "CNY";

pub fn run(ctx: &Ctx, cmd: ReportCmd) -> CliResult {
    match cmd {
        ReportCmd::Week { rep, week, json } => {
            let report = ctx.client.weekly_report(rep.as_deref(), week.as_deref())?;
            if json.json {
                return output::json(&report);
            }
            output::line(render(&report))
        }
        ReportCmd::Kpi(a) => kpi(ctx, a),
    }
}

fn kpi(ctx: &Ctx, a: KpiArgs) -> CliResult {
    let is_quarter = |p: &str| p.contains(['Q', 'q']);
    if let Some(m) = a.month.as_deref().filter(|m| is_quarter(m)) {
        return Err(CliError::new(t!("cli-report-month-is-quarter", period = m)));
    }
    if let Some(q) = a.quarter.as_deref().filter(|q| !is_quarter(q)) {
        return Err(CliError::new(t!(
            "cli-report-quarter-not-quarter",
            period = q
        )));
    }
    let k = ctx.client.kpi(&KpiQuery {
        rep: a.rep,
        team: a.team,
        period: a.month.or(a.quarter),
    })?;
    if a.json.json {
        return output::json(&k);
    }
    let mut text = render_kpi(&k);
    if !k.by_rep.is_empty() {
        text.push_str("\n\n");
        text.push_str(&by_rep(&k.by_rep).render(""));
    }
    output::line(text)
}

/// A share as typed back: "57.05%", or "-" where its base is zero.
fn share(p: Option<f64>) -> String {
    p.map_or_else(|| "-".to_string(), |p| format!("{p:.2}%"))
}

/// A growth with its sign: "+12.50%", "-3.00%", "-" where there is nothing to compare with.
fn growth(p: Option<f64>) -> String {
    p.map_or_else(|| "-".to_string(), |p| format!("{p:+.2}%"))
}

fn yuan(fen: i64) -> String {
    show_amount(fen, KPI_CURRENCY)
}

/// The KPIs as a manager reads them, money in yuan.
fn render_kpi(k: &Kpi) -> String {
    let title = t!(
        "cli-kpi-title",
        reps = i18n::join(&k.reps),
        period = &k.period,
        from = i18n::day(&k.from),
        to = i18n::day(&k.to)
    );
    let sales = [
        t!(
            "cli-kpi-of-target",
            value = yuan(k.sales),
            target = yuan(k.sales_target),
            share = share(k.sales_achievement)
        ),
        t!(
            "cli-kpi-orders",
            confirmed = k.orders_confirmed,
            cancelled = k.orders_cancelled
        ),
        t!(
            "cli-kpi-sales-before",
            previous = yuan(k.sales_previous),
            growth = growth(k.sales_growth),
            year_before = yuan(k.sales_year_before),
            growth_year = growth(k.sales_growth_year)
        ),
    ];
    let complaints = [
        t!(
            "cli-kpi-complaints",
            received = k.complaints_received,
            handled = k.complaints_handled,
            in_time = k.complaints_handled_in_time,
            share = share(k.complaints_in_time_rate),
            median = k.complaint_median_hours.map_or_else(
                || "-".to_string(),
                |h| t!("cli-kpi-hours", hours = format!("{h:.2}"))
            )
        ),
        t!(
            "cli-kpi-complaints-now",
            open = k.complaints_open,
            overdue = k.complaints_overdue
        ),
    ];
    let body = fields(&[
        ("cli-kpi-field-sales", sales.join("\n")),
        ("cli-kpi-field-gross-profit", yuan(k.gross_profit)),
        (
            "cli-kpi-field-visits",
            t!(
                "cli-kpi-of-target",
                value = k.visits,
                target = k.visits_target,
                share = share(k.visits_achievement)
            ),
        ),
        (
            "cli-kpi-field-new-customers",
            t!(
                "cli-kpi-of-target",
                value = k.new_customers,
                target = k.new_customers_target,
                share = share(k.new_customers_achievement)
            ),
        ),
        (
            "cli-kpi-field-followups",
            t!(
                "cli-kpi-followups",
                on_time = k.followups_on_time,
                due = k.followups_due,
                share = share(k.followup_compliance),
                overdue = k.customers_overdue
            ),
        ),
        ("cli-kpi-field-complaints", complaints.join("\n")),
        (
            "cli-kpi-field-trip-expenses",
            t!(
                "cli-kpi-trip-expenses",
                expenses = yuan(k.trip_expenses),
                efficiency = k
                    .trip_efficiency
                    .map_or_else(|| "-".to_string(), |e| format!("{e:.4}"))
            ),
        ),
    ]);
    format!("{title}\n{body}")
}

/// A team's members, a row each.
fn by_rep(reps: &[Kpi]) -> Table {
    let mut t = Table::new(&i18n::all(&[
        "cli-kpi-header-rep",
        "cli-kpi-header-sales",
        "cli-kpi-header-target",
        "cli-kpi-header-achieved",
        "cli-kpi-header-profit",
        "cli-kpi-header-visits",
        "cli-kpi-header-new",
        "cli-kpi-header-followups",
        "cli-kpi-header-complaints-in-time",
        "cli-kpi-header-trip",
    ]));
    for k in reps {
        t.row(vec![
            i18n::join(&k.reps),
            yuan(k.sales),
            yuan(k.sales_target),
            share(k.sales_achievement),
            yuan(k.gross_profit),
            format!("{}/{}", k.visits, k.visits_target),
            format!("{}/{}", k.new_customers, k.new_customers_target),
            format!("{}/{}", k.followups_on_time, k.followups_due),
            format!("{}/{}", k.complaints_handled_in_time, k.complaints_received),
            yuan(k.trip_expenses),
        ]);
    }
    t
}

/// The report as text a manager reads.
fn render(r: &WeeklyReport) -> String {
    let mut out = vec![t!(
        "cli-report-week-title",
        rep = &r.rep,
        week = &r.week,
        from = i18n::day(&r.from),
        to = i18n::day(&r.to)
    )];
    let counts = |m: &std::collections::BTreeMap<String, usize>| {
        i18n::join(
            &m.iter()
                .map(|(k, v)| t!("cli-report-week-count", name = k, count = *v))
                .collect::<Vec<_>>(),
        )
    };
    out.push(t!(
        "cli-report-week-visits",
        visits = r.visit_count,
        customers = r.customers.len()
    ));
    if r.visit_count == 0 {
        out.push(t!("cli-report-week-no-visits"));
        return out.join("\n");
    }
    out.push(t!("cli-report-week-by-type", counts = counts(&r.by_type)));
    out.push(t!(
        "cli-report-week-by-outcome",
        counts = counts(&r.by_outcome)
    ));
    let discussed = t!("cli-report-week-discussed");
    let continued = " ".repeat(discussed.width());
    for (i, c) in r.customers.iter().enumerate() {
        out.push(String::new());
        out.push(t!(
            "cli-report-week-customer",
            number = i + 1,
            name = c
                .name
                .clone()
                .unwrap_or_else(|| t!("cli-report-week-customer-unknown")),
            id = &c.customer
        ));
        for v in &c.visits {
            out.push(format!(
                "   {} {}{}",
                v.local_date,
                v.visit_type,
                v.outcome.as_ref().map_or(String::new(), |o| t!(
                    "cli-report-week-outcome",
                    outcome = o.to_string()
                ))
            ));
            if !v.people_met.is_empty() {
                let people = i18n::join(
                    &v.people_met
                        .iter()
                        .map(|p| match &p.title {
                            Some(title) => {
                                t!("cli-person-with-title", name = &p.name, title = title)
                            }
                            None => p.name.clone(),
                        })
                        .collect::<Vec<_>>(),
                );
                out.push(format!("   {}", t!("cli-report-week-met", people = people)));
            }
            for (n, line) in v.summary.lines().enumerate() {
                let label = if n == 0 { &discussed } else { &continued };
                out.push(format!("   {label} {line}"));
            }
            for ci in &v.competitor_intel {
                let mut s = format!(
                    "   {}",
                    t!("cli-report-week-competitor", competitor = &ci.competitor)
                );
                if let Some(p) = &ci.product {
                    s.push_str(&format!(" {p}"));
                }
                if let Some(m) = &ci.price {
                    s.push_str(&format!(" @ {}", show_money(m)));
                }
                if let Some(n) = &ci.notes {
                    s.push_str(&format!(": {n}"));
                }
                out.push(s);
            }
            if let Some(m) = &v.quote_amount {
                out.push(format!(
                    "   {}",
                    t!("cli-report-week-quoted", amount = show_money(m))
                ));
            }
            if let Some(m) = &v.order_amount {
                out.push(format!(
                    "   {}",
                    t!("cli-report-week-ordered", amount = show_money(m))
                ));
            }
            if let Some(s) = &v.next_step {
                out.push(format!("   {}", t!("cli-report-week-next-step", step = s)));
            }
            if let Some(d) = &v.next_followup {
                out.push(format!(
                    "   {}",
                    t!("cli-report-week-next-followup", day = d)
                ));
            }
        }
    }
    out.join("\n")
}
