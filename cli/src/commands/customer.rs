//! Customer files, their contacts, and due follow-ups.

use fieldsync_core::model::customer::{
    ContactEdit, Customer, CustomerEdit, CustomerStatus, CustomerType, NewContact, NewCustomer,
    Tier,
};
use fieldsync_core::store::{CustomerQuery, VisitQuery};

use super::{Ctx, id, opt_value, optional_text, show_money, value};
use crate::args::{ContactCmd, ContactEditArgs, CustomerAdd, CustomerCmd};
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
            page,
            json,
        } => {
            let q = CustomerQuery {
                territory,
                owner,
                tier: opt_value::<Tier>(tier.as_deref())?,
                status: opt_value::<CustomerStatus>(status.as_deref())?,
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

/// One page of customers; `--json` gives `{"total", "page", "limit", "customers"}`, a table
/// says on stderr when it shows only part of the list.
fn list(ctx: &Ctx, q: &CustomerQuery, page: u32, json: bool) -> CliResult {
    let rows = ctx.store.list_customers(q)?;
    let total = ctx.store.count_customers(q)?;
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
    let cid = existing(ctx, s)?;
    let c: Customer = ctx.store.customer(&cid)?;
    let visits = ctx.store.visits_of_customer(&cid, RECENT_VISITS)?;
    let visit_count = ctx.store.count_visits(&VisitQuery {
        customer: Some(cid.clone()),
        ..Default::default()
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
        ContactCmd::List { customer, json } => {
            let cid = existing(ctx, &customer)?;
            let c = ctx.store.customer(&cid)?;
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
    let cid = existing(ctx, &a.customer)?;
    let contact = id(&a.contact)?;
    let c = ctx.store.customer(&cid)?;
    if !c.contacts.iter().any(|p| p.id == contact) {
        return Err(CliError::new(format!(
            "no contact {contact} at {}: list them with `fieldsync contact list {cid}`",
            c.name
        )));
    }
    let mut edits = Vec::new();
    if let Some(v) = a.name {
        edits.push(ContactEdit::Name(v.trim().to_string()));
    }
    if let Some(v) = a.title {
        edits.push(ContactEdit::Title(optional_text(&v)));
    }
    if let Some(v) = a.phone {
        edits.push(ContactEdit::Phone(optional_text(&v)));
    }
    if let Some(v) = a.email {
        edits.push(ContactEdit::Email(optional_text(&v)));
    }
    if let Some(v) = a.decision_maker {
        edits.push(ContactEdit::DecisionMaker(flag("decision_maker", &v)?));
    }
    if edits.is_empty() {
        return Err(CliError::new(
            "nothing to change: pass --name, --title, --phone, --email or --decision-maker",
        ));
    }
    let edits: Vec<CustomerEdit> = edits
        .into_iter()
        .map(|edit| CustomerEdit::UpdateContact {
            id: contact.clone(),
            edit,
        })
        .collect();
    ctx.store.update_customer(&cid, &edits)?;
    output::line("contact changed")
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
