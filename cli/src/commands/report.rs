//! `fieldsync report week`: the weekly trip report, from visit records alone; `fieldsync
//! report kpi`: the KPIs of a rep or a team for a month or a quarter.

use fieldsync_core::report::WeeklyReport;
use fieldsync_core::report::kpi::{Kpi, KpiQuery};

use super::{Ctx, show_amount, show_money};
use crate::args::{KpiArgs, ReportCmd};
use crate::error::{CliError, CliResult};
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
        return Err(CliError::new(format!(
            "'{m}' is a quarter: use --quarter {m}, or --month YYYY-MM"
        )));
    }
    if let Some(q) = a.quarter.as_deref().filter(|q| !is_quarter(q)) {
        return Err(CliError::new(format!(
            "'{q}' is not a quarter such as 2026-Q4: use --quarter YYYY-Qn, or --month {q}"
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
    let title = format!(
        "KPIs of {} — {} ({} to {})",
        k.reps.join(", "),
        k.period,
        k.from,
        k.to
    );
    let body = fields(&[
        (
            "sales",
            format!(
                "{} of target {} ({})\n{} orders counted, {} cancelled\nperiod before {} ({}); a year before {} ({})",
                yuan(k.sales),
                yuan(k.sales_target),
                share(k.sales_achievement),
                k.orders_confirmed,
                k.orders_cancelled,
                yuan(k.sales_previous),
                growth(k.sales_growth),
                yuan(k.sales_year_before),
                growth(k.sales_growth_year),
            ),
        ),
        ("gross profit", yuan(k.gross_profit)),
        (
            "visits",
            format!(
                "{} of target {} ({})",
                k.visits,
                k.visits_target,
                share(k.visits_achievement)
            ),
        ),
        (
            "new customers",
            format!(
                "{} of target {} ({})",
                k.new_customers,
                k.new_customers_target,
                share(k.new_customers_achievement)
            ),
        ),
        (
            "follow-ups",
            format!(
                "{} of {} due done on time ({}); {} customer(s) overdue now",
                k.followups_on_time,
                k.followups_due,
                share(k.followup_compliance),
                k.customers_overdue
            ),
        ),
        (
            "complaints",
            format!(
                "{} received, {} handled, {} in time ({}); median {} to handle\nnow: {} open, {} not handled and past their deadline",
                k.complaints_received,
                k.complaints_handled,
                k.complaints_handled_in_time,
                share(k.complaints_in_time_rate),
                k.complaint_median_hours
                    .map_or_else(|| "-".to_string(), |h| format!("{h:.2} h")),
                k.complaints_open,
                k.complaints_overdue,
            ),
        ),
        (
            "trip expenses",
            format!(
                "{} ({} per yuan of gross profit)",
                yuan(k.trip_expenses),
                k.trip_efficiency
                    .map_or_else(|| "-".to_string(), |e| format!("{e:.4}")),
            ),
        ),
    ]);
    format!("{title}\n{body}")
}

/// A team's members, a row each.
fn by_rep(reps: &[Kpi]) -> Table {
    let mut t = Table::new(&[
        "REP",
        "SALES",
        "TARGET",
        "ACHIEVED",
        "PROFIT",
        "VISITS",
        "NEW",
        "FOLLOW-UPS",
        "COMPLAINTS IN TIME",
        "TRIP",
    ]);
    for k in reps {
        t.row(vec![
            k.reps.join(", "),
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
    let mut out = vec![format!(
        "Weekly report of {} — {} ({} to {})",
        r.rep, r.week, r.from, r.to
    )];
    let counts = |m: &std::collections::BTreeMap<String, usize>| {
        m.iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    out.push(format!(
        "{} visit(s) to {} customer(s)",
        r.visit_count,
        r.customers.len()
    ));
    if r.visit_count == 0 {
        out.push("no visits recorded this week".into());
        return out.join("\n");
    }
    out.push(format!("by type: {}", counts(&r.by_type)));
    out.push(format!("by outcome: {}", counts(&r.by_outcome)));
    for (i, c) in r.customers.iter().enumerate() {
        out.push(String::new());
        out.push(format!(
            "{}. {} ({})",
            i + 1,
            c.name
                .clone()
                .unwrap_or_else(|| "customer not on this device".into()),
            c.customer
        ));
        for v in &c.visits {
            out.push(format!(
                "   {} {}{}",
                v.local_date,
                v.visit_type,
                v.outcome
                    .as_ref()
                    .map_or(String::new(), |o| format!(", outcome {o}"))
            ));
            if !v.people_met.is_empty() {
                let people = v
                    .people_met
                    .iter()
                    .map(|p| match &p.title {
                        Some(t) => format!("{} ({t})", p.name),
                        None => p.name.clone(),
                    })
                    .collect::<Vec<_>>()
                    .join(", ");
                out.push(format!("   met: {people}"));
            }
            for (n, line) in v.summary.lines().enumerate() {
                let label = if n == 0 { "discussed:" } else { "          " };
                out.push(format!("   {label} {line}"));
            }
            for ci in &v.competitor_intel {
                let mut s = format!("   competitor: {}", ci.competitor);
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
                out.push(format!("   quoted: {}", show_money(m)));
            }
            if let Some(m) = &v.order_amount {
                out.push(format!("   ordered: {}", show_money(m)));
            }
            if let Some(s) = &v.next_step {
                out.push(format!("   next step: {s}"));
            }
            if let Some(d) = &v.next_followup {
                out.push(format!("   next follow-up: {d}"));
            }
        }
    }
    out.join("\n")
}
