//! Trip plans and expense claims: drafts, submission and the approver's decision.

use fieldsync_core::client::input::{self, DEFAULT_CURRENCY};
use fieldsync_core::client::{ExpenseClaimInput, ExpenseItemInput, TripPlanInput};
use fieldsync_core::model::expense_claim::ExpenseClaim;
use fieldsync_core::model::fields::Money;
use fieldsync_core::model::lifecycle::{Approvable, StatusChange};
use fieldsync_core::store::PlanQuery;
use serde::Serialize;

use super::{Ctx, money, show_money, step};
use crate::args::{ExpenseCmd, PlanFilter, TripCmd};
use crate::error::CliResult;
use crate::i18n::{self, t};
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
            output::line(t!("status-submitted"))
        }
        TripCmd::Approve(d) => {
            c.approve_trip_plan(&d.id, d.note)?;
            output::line(t!("status-approved"))
        }
        TripCmd::Reject(d) => {
            c.reject_trip_plan(&d.id, d.note)?;
            output::line(t!("status-rejected"))
        }
        TripCmd::List(f) => {
            let rows = c.list_trip_plans(&query(&f))?;
            if f.json.json {
                return output::json(&rows);
            }
            let mut t = Table::new(&i18n::all(&[
                "cli-trip-header-id",
                "cli-trip-header-title",
                "cli-trip-header-owner",
                "cli-trip-header-approver",
                "cli-trip-header-status",
                "cli-trip-header-from",
                "cli-trip-header-to",
                "cli-trip-header-budget",
            ]));
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
            t.print(&t!("cli-trip-empty"))
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
                ("cli-trip-field-id", plan.id.clone()),
                ("cli-trip-field-title", plan.title.clone()),
                ("cli-trip-field-owner", plan.owner.clone()),
                ("cli-trip-field-approver", plan.approver.clone()),
                ("cli-trip-field-status", plan.status.to_string()),
                (
                    "cli-trip-field-dates",
                    t!(
                        "cli-date-range",
                        from = &plan.start_date,
                        to = &plan.end_date
                    ),
                ),
                ("cli-trip-field-cities", i18n::join(&plan.cities)),
                ("cli-trip-field-planned-visits", visits),
                ("cli-trip-field-budget", show_money(&plan.budget)),
                ("cli-trip-field-history", history(plan.history())),
            ]))
        }
    }
}

/// Every step a plan or claim took, a line each: when, what, who, and the note.
fn history(steps: &[StatusChange]) -> String {
    steps
        .iter()
        .map(|h| step(&h.at, &h.status.to_string(), &h.by, h.note.as_deref()))
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
                Some(r) if with_receipt => {
                    output::line(format!("{}\n{}", t!("cli-expense-item-added"), r.id))
                }
                _ => output::line(t!("cli-expense-item-added")),
            }
        }
        ExpenseCmd::Submit { id } => {
            c.submit_expense_claim(&id)?;
            output::line(t!("status-submitted"))
        }
        ExpenseCmd::ItemRemove { id, item } => {
            c.remove_expense_item(&id, &item)?;
            output::line(t!("cli-expense-item-removed"))
        }
        ExpenseCmd::ItemAmount { id, item, amount } => {
            c.set_expense_item_amount(&id, &item, input::amount("amount", &amount)?)?;
            output::line(t!("cli-expense-amount-corrected"))
        }
        ExpenseCmd::Pay { id } => {
            c.pay_expense_claim(&id)?;
            output::line(t!("status-paid"))
        }
        ExpenseCmd::Show { id: raw, json } => {
            let claim = c.expense_claim(&raw)?;
            if json.json {
                return output::json(&ClaimView {
                    total: claim.total()?,
                    claim: &claim,
                });
            }
            let no_receipt = t!("cli-expense-no-receipt");
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
                        i.invoice_photo
                            .clone()
                            .unwrap_or_else(|| no_receipt.clone())
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            output::line(fields(&[
                ("cli-expense-field-id", claim.id.clone()),
                ("cli-expense-field-title", claim.title.clone()),
                ("cli-expense-field-owner", claim.owner.clone()),
                ("cli-expense-field-approver", claim.approver.clone()),
                ("cli-expense-field-status", claim.status.to_string()),
                ("cli-expense-field-trip", opt(&claim.trip)),
                ("cli-expense-field-items", items),
                ("cli-expense-field-total", show_money(&claim.total()?)),
                ("cli-expense-field-history", history(claim.history())),
            ]))
        }
        ExpenseCmd::Approve(d) => {
            c.approve_expense_claim(&d.id, d.note)?;
            output::line(t!("status-approved"))
        }
        ExpenseCmd::Reject(d) => {
            c.reject_expense_claim(&d.id, d.note)?;
            output::line(t!("status-rejected"))
        }
        ExpenseCmd::List(f) => {
            let rows = c.list_expense_claims(&query(&f))?;
            if f.json.json {
                return output::json(&rows);
            }
            let mut t = Table::new(&i18n::all(&[
                "cli-expense-header-id",
                "cli-expense-header-title",
                "cli-expense-header-owner",
                "cli-expense-header-approver",
                "cli-expense-header-status",
                "cli-expense-header-trip",
                "cli-expense-header-items",
                "cli-expense-header-total",
            ]));
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
            t.print(&t!("cli-expense-empty"))
        }
    }
}
