//! Trip plans and expense claims: drafts, submission and the approver's decision.

use fieldsync_core::client::input::{self, DEFAULT_CURRENCY};
use fieldsync_core::client::{ExpenseClaimInput, ExpenseItemInput, TripPlanInput};
use fieldsync_core::model::expense_claim::ExpenseClaim;
use fieldsync_core::model::fields::Money;
use fieldsync_core::model::lifecycle::{Approvable, StatusChange};
use fieldsync_core::store::PlanQuery;
use serde::Serialize;

use super::{Ctx, money, show_money};
use crate::args::{ExpenseCmd, PlanFilter, TripCmd};
use crate::error::CliResult;
use crate::output::{self, Table, fields, opt};

/// A claim as `expense show --json` prints it: the document with its computed total.
#[derive(Serialize)]
struct ClaimView<'a> {
    #[serde(flatten)]
    claim: &'a ExpenseClaim,
    total: Money,
}

fn query(f: &PlanFilter) -> PlanQuery {
    PlanQuery {
        owner: f.owner.clone(),
        approver: f.approver.clone(),
        status: f.status.clone(),
    }
}

pub fn trip(ctx: &Ctx, cmd: TripCmd) -> CliResult {
    let c = &ctx.client;
    match cmd {
        TripCmd::Add {
            title,
            start,
            end,
            city,
            budget,
            approver,
        } => {
            let tid = c.create_trip_plan(TripPlanInput {
                title,
                start_date: start,
                end_date: end,
                cities: city,
                budget: money("budget", &budget, DEFAULT_CURRENCY)?,
                approver,
            })?;
            output::line(tid)
        }
        TripCmd::Submit { id } => {
            c.submit_trip_plan(&id)?;
            output::line("submitted")
        }
        TripCmd::Approve(d) => {
            c.approve_trip_plan(&d.id, d.note)?;
            output::line("approved")
        }
        TripCmd::Reject(d) => {
            c.reject_trip_plan(&d.id, d.note)?;
            output::line("rejected")
        }
        TripCmd::List(f) => {
            let rows = c.list_trip_plans(&query(&f))?;
            if f.json.json {
                return output::json(&rows);
            }
            let mut t = Table::new(&[
                "ID", "TITLE", "OWNER", "APPROVER", "STATUS", "FROM", "TO", "BUDGET",
            ]);
            for r in rows {
                t.row(vec![
                    r.id,
                    r.title,
                    r.owner,
                    r.approver,
                    r.status,
                    r.start_date,
                    r.end_date,
                    show_money(&Money::new(r.budget_amount, r.currency)),
                ]);
            }
            t.print("no trip plans match")
        }
        TripCmd::Show { id: raw, json } => {
            let plan = c.trip_plan(&raw)?;
            if json.json {
                return output::json(&plan);
            }
            let visits = plan
                .planned_visits
                .iter()
                .map(|v| {
                    let name = c
                        .customer(&v.customer)
                        .map_or_else(|_| v.customer.clone(), |c| c.name);
                    format!("{} {name}: {}", v.day, v.purpose)
                })
                .collect::<Vec<_>>()
                .join("\n");
            output::line(fields(&[
                ("id", plan.id.clone()),
                ("title", plan.title.clone()),
                ("owner", plan.owner.clone()),
                ("approver", plan.approver.clone()),
                ("status", plan.status.to_string()),
                ("dates", format!("{} to {}", plan.start_date, plan.end_date)),
                ("cities", plan.cities.join(", ")),
                ("planned visits", visits),
                ("budget", show_money(&plan.budget)),
                ("history", history(plan.history())),
            ]))
        }
    }
}

/// Every step a plan or claim took, a line each: when, what, who, and the note.
fn history(steps: &[StatusChange]) -> String {
    steps
        .iter()
        .map(|h| {
            let note = h
                .note
                .as_deref()
                .map(|n| format!(": {n}"))
                .unwrap_or_default();
            format!("{} {} by {}{note}", h.at, h.status, h.by)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn expense(ctx: &Ctx, cmd: ExpenseCmd) -> CliResult {
    let c = &ctx.client;
    match cmd {
        ExpenseCmd::Add {
            title,
            trip,
            approver,
            currency,
        } => {
            let eid = c.create_expense_claim(ExpenseClaimInput {
                title,
                trip,
                approver,
                currency,
            })?;
            output::line(eid)
        }
        ExpenseCmd::Item {
            id,
            date,
            category,
            amount,
            description,
            invoice,
            receipt,
        } => {
            let with_receipt = receipt.is_some();
            let claim = c.add_expense_item(
                &id,
                ExpenseItemInput {
                    date,
                    category,
                    amount: input::amount("amount", &amount)?,
                    description,
                    invoice_photo: invoice,
                    receipt,
                },
            )?;
            // The new item is the last one; its receipt's id is the attachment's, as every
            // attach prints it.
            match claim.items.last().and_then(|i| i.receipt.as_ref()) {
                Some(r) if with_receipt => output::line(format!("item added\n{}", r.id)),
                _ => output::line("item added"),
            }
        }
        ExpenseCmd::Submit { id } => {
            c.submit_expense_claim(&id)?;
            output::line("submitted")
        }
        ExpenseCmd::ItemRemove { id, item } => {
            c.remove_expense_item(&id, &item)?;
            output::line("item removed")
        }
        ExpenseCmd::ItemAmount { id, item, amount } => {
            c.set_expense_item_amount(&id, &item, input::amount("amount", &amount)?)?;
            output::line("amount corrected")
        }
        ExpenseCmd::Pay { id } => {
            c.pay_expense_claim(&id)?;
            output::line("paid")
        }
        ExpenseCmd::Show { id: raw, json } => {
            let claim = c.expense_claim(&raw)?;
            if json.json {
                return output::json(&ClaimView {
                    total: claim.total()?,
                    claim: &claim,
                });
            }
            let items = claim
                .items
                .iter()
                .map(|i| {
                    let what = i.description.as_deref().unwrap_or_default();
                    format!(
                        "{} {} {} {} {what} [{}]",
                        i.id,
                        i.date,
                        i.category,
                        show_money(&i.amount),
                        i.invoice_photo.as_deref().unwrap_or("no receipt")
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            output::line(fields(&[
                ("id", claim.id.clone()),
                ("title", claim.title.clone()),
                ("owner", claim.owner.clone()),
                ("approver", claim.approver.clone()),
                ("status", claim.status.to_string()),
                ("trip", opt(&claim.trip)),
                ("items", items),
                ("total", show_money(&claim.total()?)),
                ("history", history(claim.history())),
            ]))
        }
        ExpenseCmd::Approve(d) => {
            c.approve_expense_claim(&d.id, d.note)?;
            output::line("approved")
        }
        ExpenseCmd::Reject(d) => {
            c.reject_expense_claim(&d.id, d.note)?;
            output::line("rejected")
        }
        ExpenseCmd::List(f) => {
            let rows = c.list_expense_claims(&query(&f))?;
            if f.json.json {
                return output::json(&rows);
            }
            let mut t = Table::new(&[
                "ID", "TITLE", "OWNER", "APPROVER", "STATUS", "TRIP", "ITEMS", "TOTAL",
            ]);
            for r in rows {
                t.row(vec![
                    r.id,
                    r.title,
                    r.owner,
                    r.approver,
                    r.status,
                    opt(&r.trip),
                    r.item_count.to_string(),
                    show_money(&Money::new(r.total_amount, r.currency)),
                ]);
            }
            t.print("no expense claims match")
        }
    }
}
