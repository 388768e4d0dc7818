//! `fieldsync report week`: the weekly trip report, from visit records alone.

use fieldsync_core::report::WeeklyReport;

use super::{Ctx, show_money};
use crate::args::ReportCmd;
use crate::error::CliResult;
use crate::output;

pub fn run(ctx: &Ctx, cmd: ReportCmd) -> CliResult {
    match cmd {
        ReportCmd::Week { rep, week, json } => {
            let report = ctx.client.weekly_report(rep.as_deref(), week.as_deref())?;
            if json.json {
                return output::json(&report);
            }
            output::line(render(&report))
        }
    }
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
