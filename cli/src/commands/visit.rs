//! Visit records: record, list, show, comment.

use chrono::{DateTime, Local, NaiveDate};
use fieldsync_core::model::fields::{Geo, Money, format_time};
use fieldsync_core::model::visit::{NewVisit, Outcome, Visit, VisitEdit, VisitType};
use fieldsync_core::store::{VisitQuery, VisitRow};

use super::customer::existing;
use super::{Ctx, date, id, money, opt_value, optional_text, show_money, value};
use crate::args::{VisitAdd, VisitCmd, VisitEditArgs};
use crate::error::{CliError, CliResult};
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
            let from = from.map(|d| date("from", &d)).transpose()?;
            let to = to.map(|d| date("to", &d)).transpose()?;
            let rows = list(ctx, customer.as_deref(), author.as_deref(), from, to)?;
            if json.json {
                return output::json(&rows);
            }
            table(rows).print("no visits match")
        }
        VisitCmd::Show { id: vid, json } => show(ctx, &vid, json.json),
        VisitCmd::Edit(a) => edit(ctx, a),
        VisitCmd::Comment { id: vid, text } => {
            let user = ctx.user()?;
            let vid = existing_visit(ctx, &vid)?;
            ctx.store.update_visit(
                &vid,
                &[VisitEdit::AddComment {
                    author: user.username,
                    text,
                }],
            )?;
            output::line("comment added")
        }
    }
}

fn existing_visit(ctx: &Ctx, s: &str) -> CliResult<String> {
    let vid = id(s)?;
    match ctx.store.visit(&vid) {
        Ok(_) => Ok(vid),
        Err(fieldsync_core::Error::NotFound(_)) => Err(CliError::new(format!(
            "unknown visit {vid}: list visits with `fieldsync visit list`, or sync to fetch it"
        ))),
        Err(e) => Err(e.into()),
    }
}

/// `NAME:TITLE` (a full-width colon works too); the title may be left out.
fn name_and_rest(s: &str) -> (String, Option<String>) {
    match s.split_once([':', '：']) {
        Some((name, rest)) => (name.trim().to_string(), super::optional_text(rest)),
        None => (s.trim().to_string(), None),
    }
}

/// The check-in time in UTC and the offset of the local day it belongs to.
fn checkin(at: Option<&str>) -> CliResult<(String, i64)> {
    match at {
        None => {
            let now = Local::now();
            let offset = i64::from(now.offset().local_minus_utc() / 60);
            Ok((format_time(now.to_utc()), offset))
        }
        Some(s) => {
            let t = DateTime::parse_from_rfc3339(s).map_err(|_| {
                CliError::new(format!(
                    "invalid --at: '{s}' is not an RFC 3339 time: write it like 2026-11-23T09:30:00+08:00"
                ))
            })?;
            let mut offset = i64::from(t.offset().local_minus_utc() / 60);
            if offset == 0 && (s.ends_with('Z') || s.ends_with('z')) {
                // A UTC time: the local day is this computer's.
                offset = i64::from(Local::now().offset().local_minus_utc() / 60);
            }
            Ok((format_time(t.to_utc()), offset))
        }
    }
}

fn add(ctx: &Ctx, a: VisitAdd) -> CliResult {
    let user = ctx.user()?;
    let customer = existing(ctx, &a.customer)?;
    if let Some(d) = &a.next_followup {
        date("next_followup", d)?;
    }
    let (checkin_at, utc_offset_minutes) = checkin(a.at.as_deref())?;
    let new = NewVisit {
        customer: customer.clone(),
        author: user.username,
        checkin_at,
        utc_offset_minutes,
        checkin_geo: a.lat.zip(a.lon).map(|(lat, lon)| Geo { lat, lon }),
        visit_type: Some(
            ctx.store
                .visit_type_for(&customer, opt_value::<VisitType>(a.visit_type.as_deref())?)?,
        ),
        people_met: a.met.iter().map(|m| name_and_rest(m)).collect(),
        summary: a.summary,
        outcome: opt_value::<Outcome>(a.outcome.as_deref())?,
        next_step: a.next_step,
        next_followup: a.next_followup,
        ..Default::default()
    };
    let edits: Vec<VisitEdit> = a
        .competitor
        .iter()
        .map(|c| {
            let (competitor, notes) = name_and_rest(c);
            VisitEdit::AddCompetitorIntel {
                competitor,
                product: None,
                price: None,
                notes,
            }
        })
        .collect();
    let vid = ctx.store.create_visit(new)?;
    if !edits.is_empty() {
        ctx.store.update_visit(&vid, &edits)?;
    }
    output::line(vid)
}

/// `visit edit`: one edit per option given, applied together in one change; an option left out
/// leaves its field as it is.
fn edit(ctx: &Ctx, a: VisitEditArgs) -> CliResult {
    let vid = existing_visit(ctx, &a.id)?;
    let current = ctx.store.visit(&vid)?;
    let mut edits = Vec::new();
    if let Some(t) = a.summary {
        edits.push(VisitEdit::ReplaceSummary(t));
    }
    if let Some(t) = a.append_summary {
        edits.push(VisitEdit::AppendSummary(t));
    }
    if let Some(t) = a.visit_type.as_deref() {
        edits.push(VisitEdit::Type(value(t)?));
    }
    for m in &a.met {
        let (name, title) = name_and_rest(m);
        edits.push(VisitEdit::AddPerson {
            name,
            title,
            decision_maker: false,
        });
    }
    for who in &a.unmet {
        let who = who.trim();
        let person = current
            .people_met
            .iter()
            .find(|p| p.id == who || p.name == who)
            .ok_or_else(|| {
                CliError::new(format!(
                    "'{who}' is not among the people met on this visit: see `fieldsync visit show {vid}`"
                ))
            })?;
        edits.push(VisitEdit::RemovePerson(person.id.clone()));
    }
    if let Some(o) = a.outcome.as_deref() {
        edits.push(VisitEdit::Outcome(opt_value::<Outcome>(
            optional_text(o).as_deref(),
        )?));
    }
    if let Some(s) = a.next_step.as_deref() {
        edits.push(VisitEdit::NextStep(optional_text(s)));
    }
    if let Some(d) = a.next_followup.as_deref() {
        let day = optional_text(d);
        if let Some(d) = &day {
            date("next_followup", d)?;
        }
        edits.push(VisitEdit::NextFollowup(day));
    }
    for c in &a.competitor {
        let (competitor, notes) = name_and_rest(c);
        edits.push(VisitEdit::AddCompetitorIntel {
            competitor,
            product: None,
            price: None,
            notes,
        });
    }
    if let Some(q) = a.quote.as_deref() {
        edits.push(VisitEdit::QuoteAmount(amount("quote", q)?));
    }
    if let Some(o) = a.order.as_deref() {
        edits.push(VisitEdit::OrderAmount(amount("order", o)?));
    }
    if edits.is_empty() {
        return Err(CliError::new(
            "nothing to change: pass at least one option, see `fieldsync visit edit --help`",
        ));
    }
    ctx.store.update_visit(&vid, &edits)?;
    output::line("visit changed")
}

/// An amount in yuan, or none for "" and "-".
fn amount(field: &str, s: &str) -> CliResult<Option<Money>> {
    optional_text(s)
        .map(|t| money(field, &t, "CNY"))
        .transpose()
}

/// Visits matching the filters, newest first, from the projections only.
fn list(
    ctx: &Ctx,
    customer: Option<&str>,
    author: Option<&str>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> CliResult<Vec<VisitRow>> {
    let customer = customer.map(|c| existing(ctx, c)).transpose()?;
    Ok(ctx.store.list_visits(&VisitQuery {
        customer,
        author: author.map(str::to_string),
        from,
        to,
        ..Default::default()
    })?)
}

/// Visits as a table.
pub fn table(rows: Vec<VisitRow>) -> Table {
    let mut t = Table::new(&[
        "ID", "DATE", "CUSTOMER", "AUTHOR", "TYPE", "OUTCOME", "NEXT", "SUMMARY",
    ]);
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
    let vid = existing_visit(ctx, s)?;
    let v: Visit = ctx.store.visit(&vid)?;
    if json {
        return output::json(&v);
    }
    let customer = ctx
        .store
        .customer(&v.customer)
        .map(|c| format!("{} ({})", c.name, v.customer))
        .unwrap_or_else(|_| v.customer.clone());
    let people = v
        .people_met
        .iter()
        .map(|p| match &p.title {
            Some(t) => format!("{} ({t})", p.name),
            None => p.name.clone(),
        })
        .collect::<Vec<_>>()
        .join(", ");
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
        ("id", v.id.clone()),
        ("customer", customer),
        ("author", v.author.clone()),
        ("check-in", format!("{} (local day {local})", v.checkin_at)),
        (
            "position",
            v.checkin_geo
                .as_ref()
                .map_or("-".into(), |g| format!("{}, {}", g.lat, g.lon)),
        ),
        ("type", v.visit_type.to_string()),
        (
            "people met",
            if people.is_empty() {
                "-".into()
            } else {
                people
            },
        ),
        ("summary", v.summary.as_str().to_string()),
        ("outcome", v.outcome.map_or("-".into(), |o| o.to_string())),
        (
            "competitors",
            if intel.is_empty() { "-".into() } else { intel },
        ),
        (
            "quote",
            v.quote_amount.as_ref().map_or("-".into(), show_money),
        ),
        (
            "order",
            v.order_amount.as_ref().map_or("-".into(), show_money),
        ),
        ("next step", opt(&v.next_step)),
        ("next follow-up", opt(&v.next_followup)),
        (
            "comments",
            if comments.is_empty() {
                "-".into()
            } else {
                comments
            },
        ),
    ]))
}
