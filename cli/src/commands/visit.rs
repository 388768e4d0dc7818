//! Visit records: record, list, show, comment.

use chrono::NaiveDate;
use fieldsync_core::client::input::{self, DEFAULT_CURRENCY, name_and_rest};
use fieldsync_core::client::{CompetitorInput, VisitInput, VisitPatch};
use fieldsync_core::model::fields::Geo;
use fieldsync_core::model::visit::Visit;
use fieldsync_core::store::{VisitQuery, VisitRow};

use super::{Ctx, show_money};
use crate::args::{VisitAdd, VisitCmd, VisitEditArgs};
use crate::error::CliResult;
use crate::i18n::{self, t};
use crate::output::{self, Table, fields, opt, short};

pub fn run(ctx: &Ctx, cmd: VisitCmd) -> CliResult {
    match cmd {
        VisitCmd::Add(a) => add(ctx, a),
        VisitCmd::List {
            customer,
            author,
            from,
            to,
            json,
        } => {
            let day = |field: &str, d: Option<String>| -> CliResult<Option<NaiveDate>> {
                Ok(d.map(|d| input::date(field, &d)).transpose()?)
            };
            let rows = ctx.client.list_visits(&VisitQuery {
                customer,
                author,
                from: day("from", from)?,
                to: day("to", to)?,
                ..Default::default()
            })?;
            if json.json {
                return output::json(&rows);
            }
            table(rows).print(&t!("cli-visit-empty"))
        }
        VisitCmd::Show { id: vid, json } => show(ctx, &vid, json.json),
        VisitCmd::Edit(a) => edit(ctx, a),
        VisitCmd::Comment { id: vid, text } => {
            ctx.client.comment_visit(&vid, &text)?;
            output::line(t!("cli-visit-comment-added"))
        }
        VisitCmd::Attach { id, file, check_in } => {
            let attached = ctx.client.attach_to_visit(&id, &file, check_in)?;
            output::line(attached.id)
        }
    }
}

/// Competitors as typed, `NAME:WHAT WAS LEARNT`.
fn competitors(typed: &[String]) -> Vec<CompetitorInput> {
    typed
        .iter()
        .map(|c| {
            let (competitor, notes) = name_and_rest(c);
            CompetitorInput {
                competitor,
                product: None,
                price: None,
                notes,
            }
        })
        .collect()
}

fn add(ctx: &Ctx, a: VisitAdd) -> CliResult {
    let vid = ctx.client.record_visit(VisitInput {
        customer: a.customer,
        checkin_at: a.at,
        geo: a.lat.zip(a.lon).map(|(lat, lon)| Geo { lat, lon }),
        visit_type: a.visit_type,
        people_met: a.met.iter().map(|m| name_and_rest(m)).collect(),
        summary: a.summary,
        outcome: a.outcome,
        next_step: a.next_step,
        next_followup: a.next_followup,
        competitors: competitors(&a.competitor),
        ..VisitInput::default()
    })?;
    output::line(vid)
}

/// `visit edit`: one edit per option given, applied together in one change; an option left out
/// leaves its field as it is.
fn edit(ctx: &Ctx, a: VisitEditArgs) -> CliResult {
    let amount = |field: &str, typed: Option<String>| -> CliResult<_> {
        Ok(typed
            .map(|t| input::optional_money(field, &t, DEFAULT_CURRENCY))
            .transpose()?)
    };
    let patch = VisitPatch {
        summary: a.summary,
        summary_append: a.append_summary,
        visit_type: a.visit_type,
        add_people: a.met.iter().map(|m| name_and_rest(m)).collect(),
        remove_people: a.unmet,
        outcome: a.outcome,
        next_step: a.next_step,
        next_followup: a.next_followup,
        add_competitors: competitors(&a.competitor),
        quote_amount: amount("quote", a.quote)?,
        order_amount: amount("order", a.order)?,
        ..VisitPatch::default()
    };
    ctx.client.update_visit(&a.id, patch)?;
    output::line(t!("cli-visit-changed"))
}

/// Visits as a table.
pub fn table(rows: Vec<VisitRow>) -> Table {
    let mut t = Table::new(&i18n::all(&[
        "cli-visit-header-id",
        "cli-visit-header-date",
        "cli-visit-header-customer",
        "cli-visit-header-author",
        "cli-visit-header-type",
        "cli-visit-header-outcome",
        "cli-visit-header-next",
        "cli-visit-header-summary",
    ]));
    for r in rows {
        t.row(vec![
            r.id,
            r.local_date,
            r.customer_name.unwrap_or(r.customer),
            r.author,
            r.visit_type,
            opt(&r.outcome),
            opt(&r.next_followup),
            short(&r.summary, 40),
        ]);
    }
    t
}

fn show(ctx: &Ctx, s: &str, json: bool) -> CliResult {
    let v: Visit = ctx.client.visit(s)?;
    if json {
        return output::json(&v);
    }
    let customer = ctx
        .client
        .customer(&v.customer)
        .map(|c| t!("cli-name-and-id", name = c.name, id = &v.customer))
        .unwrap_or_else(|_| v.customer.clone());
    let people = i18n::join(
        &v.people_met
            .iter()
            .map(|p| match &p.title {
                Some(title) => t!("cli-person-with-title", name = &p.name, title = title),
                None => p.name.clone(),
            })
            .collect::<Vec<_>>(),
    );
    let intel = v
        .competitor_intel
        .iter()
        .map(|c| {
            let mut s = c.competitor.clone();
            if let Some(p) = &c.product {
                s.push_str(&format!(" {p}"));
            }
            if let Some(m) = &c.price {
                s.push_str(&format!(" @ {}", show_money(m)));
            }
            if let Some(n) = &c.notes {
                s.push_str(&format!(": {n}"));
            }
            s
        })
        .collect::<Vec<_>>()
        .join("\n");
    let comments = v
        .manager_comments
        .iter()
        .map(|c| format!("{} {}: {}", c.at, c.author, c.text))
        .collect::<Vec<_>>()
        .join("\n");
    let local = v.local_date().map(|d| d.to_string()).unwrap_or_default();
    output::line(fields(&[
        ("cli-visit-field-id", v.id.clone()),
        ("cli-visit-field-customer", customer),
        ("cli-visit-field-author", v.author.clone()),
        (
            "cli-visit-field-check-in",
            t!("cli-visit-check-in", at = &v.checkin_at, day = local),
        ),
        (
            "cli-visit-field-position",
            v.checkin_geo
                .as_ref()
                .map_or("-".into(), |g| format!("{}, {}", g.lat, g.lon)),
        ),
        ("cli-visit-field-type", v.visit_type.to_string()),
        (
            "cli-visit-field-people-met",
            if people.is_empty() {
                "-".into()
            } else {
                people
            },
        ),
        ("cli-visit-field-summary", v.summary.as_str().to_string()),
        (
            "cli-visit-field-outcome",
            v.outcome.map_or("-".into(), |o| o.to_string()),
        ),
        (
            "cli-visit-field-competitors",
            if intel.is_empty() { "-".into() } else { intel },
        ),
        (
            "cli-visit-field-quote",
            v.quote_amount.as_ref().map_or("-".into(), show_money),
        ),
        (
            "cli-visit-field-order",
            v.order_amount.as_ref().map_or("-".into(), show_money),
        ),
        ("cli-visit-field-next-step", opt(&v.next_step)),
        ("cli-visit-field-next-followup", opt(&v.next_followup)),
        (
            "cli-visit-field-comments",
            if comments.is_empty() {
                "-".into()
            } else {
                comments
            },
        ),
    ]))
}
