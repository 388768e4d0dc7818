//! Customer files, their contacts, and due follow-ups.

use fieldsync_core::client::{ContactInput, ContactPatch, CustomerInput, CustomerPatch};
use fieldsync_core::model::customer::{Customer, CustomerStatus, Tier};
use fieldsync_core::store::{CustomerQuery, VisitQuery};

use super::{Ctx, show_money, value};
use crate::args::{ContactCmd, ContactEditArgs, CustomerAdd, CustomerCmd};
use crate::error::CliResult;
use crate::i18n::{self, t};
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
            output::line(t!("cli-customer-field-set", field = field))
        }
        CustomerCmd::Note { id: cid, text } => {
            ctx.client.note_customer(&cid, &text)?;
            output::line(t!("cli-customer-note-added"))
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
    let mut t = Table::new(&i18n::all(&[
        "cli-customer-header-id",
        "cli-customer-header-name",
        "cli-customer-header-tier",
        "cli-customer-header-status",
        "cli-customer-header-territory",
        "cli-customer-header-owner",
        "cli-customer-header-city",
        "cli-customer-header-last-visit",
        "cli-customer-header-next-followup",
    ]));
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
        t!("cli-customer-page-past-end", page = page, total = total)
    } else {
        t!("cli-customer-empty")
    };
    t.print(&empty)?;
    output::note_cut(first, shown, total, &t!("cli-cut-how-page"));
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
        ("cli-customer-field-id", c.id.clone()),
        ("cli-customer-field-name", c.name.clone()),
        ("cli-customer-field-type", c.customer_type.to_string()),
        ("cli-customer-field-tier", c.tier.to_string()),
        (
            "cli-customer-field-key-account",
            if c.key_account {
                t!("cli-yes")
            } else {
                t!("cli-no")
            },
        ),
        ("cli-customer-field-status", c.status.to_string()),
        ("cli-customer-field-territory", c.territory.clone()),
        ("cli-customer-field-owner", c.owner.clone()),
        ("cli-customer-field-industry", opt(&c.industry)),
        ("cli-customer-field-province", opt(&c.province)),
        ("cli-customer-field-city", opt(&c.city)),
        ("cli-customer-field-address", opt(&c.address)),
        ("cli-customer-field-phone", opt(&c.phone)),
        ("cli-customer-field-monthly-demand", opt(&demand)),
        (
            "cli-customer-field-current-supplier",
            opt(&c.current_supplier),
        ),
        (
            "cli-customer-field-current-price",
            c.current_price.as_ref().map_or("-".into(), show_money),
        ),
        (
            "cli-customer-field-competitor-notes",
            c.competitor_notes.as_str().to_string(),
        ),
        ("cli-customer-field-notes", c.notes.as_str().to_string()),
        (
            "cli-customer-field-created",
            t!("cli-created-by", at = &c.created_at, by = &c.created_by),
        ),
    ]))?;
    let none = format!("  {}", t!("cli-none-paren"));
    output::line(format!("\n{}", t!("cli-customer-contacts")))?;
    let mut t = Table::new(&i18n::all(&[
        "cli-contact-header-name",
        "cli-contact-header-title",
        "cli-contact-header-phone",
        "cli-contact-header-email",
        "cli-contact-header-decides",
    ]));
    for p in &c.contacts {
        t.row(vec![
            p.name.clone(),
            opt(&p.title),
            opt(&p.phone),
            opt(&p.email),
            if p.decision_maker {
                t!("cli-yes")
            } else {
                String::new()
            },
        ]);
    }
    t.print(&none)?;
    output::line(format!("\n{}", t!("cli-customer-recent-visits")))?;
    super::visit::table(visits).print(&none)?;
    output::note_cut(
        0,
        shown,
        visit_count,
        &t!("cli-customer-all-visits", id = &cid),
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
            output::line(t!("cli-contact-added"))
        }
        ContactCmd::List { customer, json } => {
            let c = ctx.client.customer(&customer)?;
            let cid = c.id.clone();
            if json.json {
                return output::json(&c.contacts);
            }
            let mut t = Table::new(&i18n::all(&[
                "cli-contact-header-id",
                "cli-contact-header-name",
                "cli-contact-header-title",
                "cli-contact-header-phone",
                "cli-contact-header-email",
                "cli-contact-header-decides",
            ]));
            for p in &c.contacts {
                t.row(vec![
                    p.id.clone(),
                    p.name.clone(),
                    opt(&p.title),
                    opt(&p.phone),
                    opt(&p.email),
                    if p.decision_maker {
                        t!("cli-yes")
                    } else {
                        String::new()
                    },
                ]);
            }
            t.print(&t!("cli-contact-empty", customer = &c.name, id = &cid))
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
    output::line(t!("cli-contact-changed"))
}

pub fn followups(ctx: &Ctx, day: Option<&str>, owner: Option<String>, json: bool) -> CliResult {
    let due = ctx.client.followups(day, owner.as_deref())?;
    if json {
        return output::json(&due);
    }
    followups_table(due).print(&match day {
        None => t!("cli-followups-none-today"),
        Some(day) => t!("cli-followups-none-on", day = day),
    })
}

/// Due follow-ups as a table.
pub fn followups_table(due: Vec<fieldsync_core::store::FollowUp>) -> Table {
    let mut t = Table::new(&i18n::all(&[
        "cli-followup-header-customer",
        "cli-followup-header-name",
        "cli-followup-header-tier",
        "cli-followup-header-owner",
        "cli-followup-header-last-visit",
        "cli-followup-header-due",
        "cli-followup-header-overdue",
        "cli-followup-header-reason",
    ]));
    for f in due {
        let reason = match f.reason {
            fieldsync_core::store::FollowUpReason::NeverVisited => {
                "cli-followup-reason-never-visited"
            }
            fieldsync_core::store::FollowUpReason::ExplicitDate => {
                "cli-followup-reason-explicit-date"
            }
            fieldsync_core::store::FollowUpReason::Cadence => "cli-followup-reason-cadence",
        };
        t.row(vec![
            f.customer,
            f.name,
            f.tier,
            f.owner,
            opt(&f.last_visit_date),
            opt(&f.due_date),
            t!("cli-followup-days", days = f.days_overdue),
            t!(reason),
        ]);
    }
    t
}
