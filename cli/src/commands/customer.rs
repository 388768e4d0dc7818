//! Customer files, their contacts, and due follow-ups.

use fieldsync_core::model::customer::{
    Customer, CustomerEdit, CustomerStatus, CustomerType, NewContact, NewCustomer, Tier,
};
use fieldsync_core::store::CustomerQuery;

use super::{Ctx, id, opt_value, optional_text, show_money, value};
use crate::args::{ContactCmd, CustomerAdd, CustomerCmd};
use crate::error::{CliError, CliResult};
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
            json,
        } => {
            let q = CustomerQuery {
                territory,
                owner,
                tier: opt_value::<Tier>(tier.as_deref())?,
                status: opt_value::<CustomerStatus>(status.as_deref())?,
                search,
                limit: Some(limit),
                ..Default::default()
            };
            list(ctx, &q, json.json)
        }
        CustomerCmd::Show { id: cid, json } => show(ctx, &cid, json.json),
        CustomerCmd::Set {
            id: cid,
            field,
            value,
        } => {
            let cid = existing(ctx, &cid)?;
            let edit = edit_for(&field, &value)?;
            ctx.store.update_customer(&cid, &[edit])?;
            output::line(format!("{field} set"))
        }
        CustomerCmd::Note { id: cid, text } => {
            let cid = existing(ctx, &cid)?;
            ctx.store
                .update_customer(&cid, &[CustomerEdit::AppendNotes(text)])?;
            output::line("note added")
        }
    }
}

/// The id of a customer on this device, or an error saying it is unknown.
pub fn existing(ctx: &Ctx, s: &str) -> CliResult<String> {
    let cid = id(s)?;
    match ctx.store.customer(&cid) {
        Ok(_) => Ok(cid),
        Err(fieldsync_core::Error::NotFound(_)) => Err(CliError::new(format!(
            "unknown customer {cid}: list customers with `fieldsync customer list`, or sync to fetch it"
        ))),
        Err(e) => Err(e.into()),
    }
}

fn add(ctx: &Ctx, a: CustomerAdd) -> CliResult {
    let user = ctx.user()?;
    let territory = match a.territory {
        Some(t) => t,
        None => match user.territories.as_slice() {
            [only] => only.clone(),
            [] => return Err(CliError::new("pass --territory T: you have no territory")),
            many => {
                return Err(CliError::new(format!(
                    "pass --territory T: you work in {}",
                    many.join(", ")
                )));
            }
        },
    };
    let new = NewCustomer {
        name: a.name,
        customer_type: opt_value::<CustomerType>(a.customer_type.as_deref())?,
        industry: a.industry,
        territory,
        owner: a.owner.unwrap_or_else(|| user.username.clone()),
        province: a.province,
        city: a.city,
        address: a.address,
        phone: a.phone,
        tier: opt_value::<Tier>(a.tier.as_deref())?,
        key_account: a.key_account,
        notes: a.notes,
        created_by: user.username,
        ..Default::default()
    };
    let cid = ctx.store.create_customer(new)?;
    output::line(cid)
}

fn list(ctx: &Ctx, q: &CustomerQuery, json: bool) -> CliResult {
    let rows = ctx.store.list_customers(q)?;
    if json {
        return output::json(&rows);
    }
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
    t.print("no customers match")
}

fn show(ctx: &Ctx, s: &str, json: bool) -> CliResult {
    let cid = existing(ctx, s)?;
    let c: Customer = ctx.store.customer(&cid)?;
    let visits = ctx.store.visits_of_customer(&cid, 10)?;
    if json {
        let mut doc = serde_json::to_value(&c)?;
        if let Some(map) = doc.as_object_mut() {
            map.insert("recent_visits".into(), serde_json::to_value(&visits)?);
        }
        return output::json(&doc);
    }
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
    super::visit::table(visits).print("  (none)")
}

fn flag(field: &str, v: &str) -> CliResult<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "yes" | "true" | "1" | "y" => Ok(true),
        "no" | "false" | "0" | "n" => Ok(false),
        other => Err(CliError::new(format!(
            "invalid {field}: '{other}' is not yes or no"
        ))),
    }
}

/// Settable field names, for the error message.
const FIELDS: &str = "name, type, industry, territory, owner, province, city, address, phone, tier, status, key_account, current_supplier, monthly_demand, current_price";

/// The edit that sets `field` to `v`.
fn edit_for(field: &str, v: &str) -> CliResult<CustomerEdit> {
    use CustomerEdit as E;
    let text = || optional_text(v);
    Ok(match field {
        "name" => E::Name(v.to_string()),
        "type" => E::Type(value(v)?),
        "industry" => E::Industry(text()),
        "territory" => E::Territory(v.to_string()),
        "owner" => E::Owner(v.to_string()),
        "province" => E::Province(text()),
        "city" => E::City(text()),
        "address" => E::Address(text()),
        "phone" => E::Phone(text()),
        "tier" => E::Tier(value(v)?),
        "status" => E::Status(value(v)?),
        "key_account" => E::KeyAccount(flag(field, v)?),
        "current_supplier" => E::CurrentSupplier(text()),
        "monthly_demand" => match text() {
            None => E::MonthlyDemand(None, None),
            Some(t) => {
                let (amount, unit) = t.split_once(' ').unwrap_or((t.as_str(), ""));
                let amount: i64 = amount.parse().map_err(|_| {
                    CliError::new(format!(
                        "invalid monthly_demand: '{t}' is not a quantity: write it like \"20 吨\""
                    ))
                })?;
                E::MonthlyDemand(Some(amount), optional_text(unit))
            }
        },
        "current_price" => match text() {
            None => E::CurrentPrice(None),
            Some(t) => E::CurrentPrice(Some(super::money(field, &t, "CNY")?)),
        },
        other => {
            return Err(CliError::new(format!(
                "unknown customer field '{other}': use one of {FIELDS}"
            )));
        }
    })
}

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
            let cid = existing(ctx, &customer)?;
            ctx.store.update_customer(
                &cid,
                &[CustomerEdit::AddContact(NewContact {
                    name,
                    title,
                    phone,
                    email,
                    decision_maker,
                })],
            )?;
            output::line("contact added")
        }
    }
}

pub fn followups(ctx: &Ctx, day: Option<&str>, owner: Option<String>, json: bool) -> CliResult {
    let day = match day {
        Some(d) => super::date("date", d)?,
        None => super::today(),
    };
    let due = ctx.store.due_followups(day, owner.as_deref())?;
    if json {
        return output::json(&due);
    }
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
    t.print(&format!("no follow-ups due on {day}"))
}
