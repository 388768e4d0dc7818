//! Customer files, their contacts, and due follow-ups.

use fieldsync_core::client::{ContactInput, ContactPatch, CustomerInput, CustomerPatch};
use fieldsync_core::model::customer::{Customer, CustomerStatus, Tier};
use fieldsync_core::store::{CustomerQuery, VisitQuery};

use super::{Ctx, show_money, value};
use crate::args::{ContactCmd, ContactEditArgs, CustomerAdd, CustomerCmd};
use crate::error::CliResult;
use crate::output::{self, Table, fields, opt};

pub fn run(ctx: &Ctx, cmd: CustomerCmd) -> CliResult {
    match cmd {
        CustomerCmd::Add(a) => add(ctx, a),
        CustomerCmd::List {
            territory,
            tier,
            owner,
            status,
            search,
            limit,
            page,
            json,
        } => {
            let q = CustomerQuery {
                territory,
                owner,
                tier: tier.as_deref().map(value::<Tier>).transpose()?,
                status: status.as_deref().map(value::<CustomerStatus>).transpose()?,
                search,
                limit: Some(limit),
                offset: Some(limit.saturating_mul(page.saturating_sub(1))),
                ..Default::default()
            };
            list(ctx, &q, page, json.json)
        }
        CustomerCmd::Show { id: cid, json } => show(ctx, &cid, json.json),
        CustomerCmd::Set {
            id: cid,
            field,
            value,
        } => {
            ctx.client
                .update_customer(&cid, CustomerPatch::set(&field, &value)?)?;
            output::line(format!("{field} set"))
        }
        CustomerCmd::Note { id: cid, text } => {
            ctx.client.note_customer(&cid, &text)?;
            output::line("note added")
        }
    }
}

fn add(ctx: &Ctx, a: CustomerAdd) -> CliResult {
    let cid = ctx.client.create_customer(CustomerInput {
        name: a.name,
        territory: a.territory,
        owner: a.owner,
        customer_type: a.customer_type,
        industry: a.industry,
        province: a.province,
        city: a.city,
        address: a.address,
        phone: a.phone,
        tier: a.tier,
        key_account: a.key_account,
        notes: a.notes,
        ..CustomerInput::default()
    })?;
    output::line(cid)
}

/// One page of customers; `--json` gives `{"total", "page", "limit", "customers"}`, a table
/// says on stderr when it shows only part of the list.
fn list(ctx: &Ctx, q: &CustomerQuery, page: u32, json: bool) -> CliResult {
    let (rows, total) = ctx.client.list_customers(q)?;
    if json {
        return output::json(&serde_json::json!({
            "total": total,
            "page": page,
            "limit": q.limit,
            "customers": rows,
        }));
    }
    let first = u64::from(q.offset.unwrap_or(0));
    let shown = rows.len() as u64;
    let mut t = Table::new(&[
        "ID",
        "NAME",
        "TIER",
        "STATUS",
        "TERRITORY",
        "OWNER",
        "CITY",
        "LAST VISIT",
        "NEXT FOLLOW-UP",
    ]);
    for r in rows {
        t.row(vec![
            r.id,
            r.name,
            format!("{}{}", r.tier, if r.key_account { "*" } else { "" }),
            r.status,
            r.territory,
            r.owner,
            opt(&r.city),
            opt(&r.last_visit_date),
            opt(&r.next_followup),
        ]);
    }
    let empty = if total > 0 && shown == 0 {
        format!("page {page} is past the end: {total} customers match")
    } else {
        "no customers match".to_string()
    };
    t.print(&empty)?;
    output::note_cut(first, shown, total, "use --limit or --page");
    Ok(())
}

fn show(ctx: &Ctx, s: &str, json: bool) -> CliResult {
    let c: Customer = ctx.client.customer(s)?;
    let cid = c.id.clone();
    let (visits, visit_count) = ctx.client.read(|store| {
        let query = VisitQuery {
            customer: Some(cid.clone()),
            ..Default::default()
        };
        Ok((
            store.visits_of_customer(&cid, RECENT_VISITS)?,
            store.count_visits(&query)?,
        ))
    })?;
    if json {
        let mut doc = serde_json::to_value(&c)?;
        if let Some(map) = doc.as_object_mut() {
            map.insert("recent_visits".into(), serde_json::to_value(&visits)?);
            map.insert("visit_count".into(), visit_count.into());
        }
        return output::json(&doc);
    }
    let shown = visits.len() as u64;
    let demand = c
        .monthly_demand
        .map(|d| format!("{d} {}", c.demand_unit.clone().unwrap_or_default()));
    output::line(fields(&[
        ("id", c.id.clone()),
        ("name", c.name.clone()),
        ("type", c.customer_type.to_string()),
        ("tier", c.tier.to_string()),
        (
            "key account",
            if c.key_account { "yes" } else { "no" }.into(),
        ),
        ("status", c.status.to_string()),
        ("territory", c.territory.clone()),
        ("owner", c.owner.clone()),
        ("industry", opt(&c.industry)),
        ("province", opt(&c.province)),
        ("city", opt(&c.city)),
        ("address", opt(&c.address)),
        ("phone", opt(&c.phone)),
        ("monthly demand", opt(&demand)),
        ("current supplier", opt(&c.current_supplier)),
        (
            "current price",
            c.current_price.as_ref().map_or("-".into(), show_money),
        ),
        ("competitor notes", c.competitor_notes.as_str().to_string()),
        ("notes", c.notes.as_str().to_string()),
        ("created", format!("{} by {}", c.created_at, c.created_by)),
    ]))?;
    output::line("\ncontacts:")?;
    let mut t = Table::new(&["NAME", "TITLE", "PHONE", "EMAIL", "DECIDES"]);
    for p in &c.contacts {
        t.row(vec![
            p.name.clone(),
            opt(&p.title),
            opt(&p.phone),
            opt(&p.email),
            if p.decision_maker { "yes" } else { "" }.into(),
        ]);
    }
    t.print("  (none)")?;
    output::line("\nrecent visits:")?;
    super::visit::table(visits).print("  (none)")?;
    output::note_cut(
        0,
        shown,
        visit_count,
        &format!("see them all with `fieldsync visit list --customer {cid}`"),
    );
    Ok(())
}

/// How many visits `customer show` lists.
const RECENT_VISITS: u32 = 10;

pub fn contact(ctx: &Ctx, cmd: ContactCmd) -> CliResult {
    match cmd {
        ContactCmd::Add {
            customer,
            name,
            title,
            phone,
            email,
            decision_maker,
        } => {
            ctx.client.add_contact(
                &customer,
                ContactInput {
                    name,
                    title,
                    phone,
                    email,
                    decision_maker,
                },
            )?;
            output::line("contact added")
        }
        ContactCmd::List { customer, json } => {
            let c = ctx.client.customer(&customer)?;
            let cid = c.id.clone();
            if json.json {
                return output::json(&c.contacts);
            }
            let mut t = Table::new(&["ID", "NAME", "TITLE", "PHONE", "EMAIL", "DECIDES"]);
            for p in &c.contacts {
                t.row(vec![
                    p.id.clone(),
                    p.name.clone(),
                    opt(&p.title),
                    opt(&p.phone),
                    opt(&p.email),
                    if p.decision_maker { "yes" } else { "" }.into(),
                ]);
            }
            t.print(&format!(
                "no contacts at {}: add one with `fieldsync contact add {cid} --name NAME`",
                c.name
            ))
        }
        ContactCmd::Edit(a) => contact_edit(ctx, a),
    }
}

/// `contact edit`: one edit per option given, applied together; an option left out leaves its
/// field as it is.
fn contact_edit(ctx: &Ctx, a: ContactEditArgs) -> CliResult {
    let decision_maker = a
        .decision_maker
        .map(|v| fieldsync_core::client::input::flag("decision_maker", &v))
        .transpose()?;
    ctx.client.update_contact(
        &a.customer,
        &a.contact,
        ContactPatch {
            name: a.name,
            title: a.title,
            phone: a.phone,
            email: a.email,
            decision_maker,
        },
    )?;
    output::line("contact changed")
}

pub fn followups(ctx: &Ctx, day: Option<&str>, owner: Option<String>, json: bool) -> CliResult {
    let due = ctx.client.followups(day, owner.as_deref())?;
    let day = day.unwrap_or("today");
    if json {
        return output::json(&due);
    }
    followups_table(due).print(&format!("no follow-ups due on {day}"))
}

/// Due follow-ups as a table.
pub fn followups_table(due: Vec<fieldsync_core::store::FollowUp>) -> Table {
    let mut t = Table::new(&[
        "CUSTOMER",
        "NAME",
        "TIER",
        "OWNER",
        "LAST VISIT",
        "DUE",
        "OVERDUE",
        "REASON",
    ]);
    for f in due {
        let reason = match f.reason {
            fieldsync_core::store::FollowUpReason::NeverVisited => "never visited",
            fieldsync_core::store::FollowUpReason::ExplicitDate => "date set at last visit",
            fieldsync_core::store::FollowUpReason::Cadence => "tier cadence",
        };
        t.row(vec![
            f.customer,
            f.name,
            f.tier,
            f.owner,
            opt(&f.last_visit_date),
            opt(&f.due_date),
            format!("{} d", f.days_overdue),
            reason.to_string(),
        ]);
    }
    t
}
