//! Trip plans and expense claims: drafts, submission and the approver's decision.

use fieldsync_core::model::expense_claim::{ExpenseCategory, ExpenseClaimEdit, NewExpenseClaim};
use fieldsync_core::model::fields::Money;
use fieldsync_core::model::trip_plan::{NewTripPlan, TripPlanEdit};
use fieldsync_core::store::PlanQuery;
use fieldsync_core::sync::http::User;

use fieldsync_core::model::expense_claim::ExpenseClaim;
use fieldsync_core::model::lifecycle::{Approvable, StatusChange};
use serde::Serialize;

use super::{Ctx, date, id, money, show_money, value};
use crate::args::{ExpenseCmd, PlanFilter, TripCmd};
use crate::error::{CliError, CliResult};
use crate::output::{self, Table, fields, opt};

/// A claim as `expense show --json` prints it: the document with its computed total.
#[derive(Serialize)]
struct ClaimView<'a> {
    #[serde(flatten)]
    claim: &'a ExpenseClaim,
    total: Money,
}

fn approver(user: &User, given: Option<String>) -> CliResult<String> {
    given
        .or_else(|| user.manager.clone())
        .ok_or_else(|| CliError::new("you have no manager on record: pass --approver NAME"))
}

fn query(f: &PlanFilter) -> PlanQuery {
    PlanQuery {
        owner: f.owner.clone(),
        approver: f.approver.clone(),
        status: f.status.clone(),
    }
}

pub fn trip(ctx: &Ctx, cmd: TripCmd) -> CliResult {
    let edit = |raw: &str, edit: TripPlanEdit, done: &str| -> CliResult {
        let tid = id(raw)?;
        ctx.store.update_trip_plan(&tid, &[edit])?;
        output::line(done)
    };
    match cmd {
        TripCmd::Add {
            title,
            start,
            end,
            city,
            budget,
            approver: given,
        } => {
            let user = ctx.user()?;
            date("start", &start)?;
            date("end", &end)?;
            let tid = ctx.store.create_trip_plan(NewTripPlan {
                approver: approver(&user, given)?,
                owner: user.username,
                title,
                start_date: start,
                end_date: end,
                cities: city,
                budget: money("budget", &budget, "CNY")?,
            })?;
            output::line(tid)
        }
        TripCmd::Submit { id: tid } => edit(&tid, TripPlanEdit::Submit, "submitted"),
        TripCmd::Approve(d) => {
            let by = ctx.user()?.username;
            edit(
                &d.id,
                TripPlanEdit::Approve { by, note: d.note },
                "approved",
            )
        }
        TripCmd::Reject(d) => {
            let by = ctx.user()?.username;
            edit(&d.id, TripPlanEdit::Reject { by, note: d.note }, "rejected")
        }
        TripCmd::List(f) => {
            let rows = ctx.store.list_trip_plans(&query(&f))?;
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
            let plan = ctx.store.trip_plan(&id(&raw)?)?;
            if json.json {
                return output::json(&plan);
            }
            let visits = plan
                .planned_visits
                .iter()
                .map(|v| {
                    let name = ctx
                        .store
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
    let edit = |raw: &str, edit: ExpenseClaimEdit, done: &str| -> CliResult {
        let eid = id(raw)?;
        ctx.store.update_expense_claim(&eid, &[edit])?;
        output::line(done)
    };
    match cmd {
        ExpenseCmd::Add {
            title,
            trip,
            approver: given,
            currency,
        } => {
            let user = ctx.user()?;
            let eid = ctx.store.create_expense_claim(NewExpenseClaim {
                approver: approver(&user, given)?,
                owner: user.username,
                trip: trip.map(|t| id(&t)).transpose()?,
                title,
                currency,
            })?;
            output::line(eid)
        }
        ExpenseCmd::Item {
            id: eid,
            date: day,
            category,
            amount,
            description,
            invoice,
        } => {
            let canonical = id(&eid)?;
            let claim = ctx.store.expense_claim(&canonical)?;
            date("date", &day)?;
            let item = ExpenseClaimEdit::AddItem {
                date: day,
                category: value::<ExpenseCategory>(&category)?,
                amount: money("amount", &amount, &claim.currency)?,
                description,
                invoice_photo: invoice,
            };
            edit(&canonical, item, "item added")
        }
        ExpenseCmd::Submit { id: eid } => edit(&eid, ExpenseClaimEdit::Submit, "submitted"),
        ExpenseCmd::ItemRemove { id: eid, item } => {
            edit(&eid, ExpenseClaimEdit::RemoveItem(item), "item removed")
        }
        ExpenseCmd::ItemAmount {
            id: eid,
            item,
            amount,
        } => {
            let canonical = id(&eid)?;
            let claim = ctx.store.expense_claim(&canonical)?;
            let amount = money("amount", &amount, &claim.currency)?;
            edit(
                &canonical,
                ExpenseClaimEdit::ItemAmount { id: item, amount },
                "amount corrected",
            )
        }
        ExpenseCmd::Pay { id: eid } => {
            let by = ctx.user()?.username;
            edit(&eid, ExpenseClaimEdit::MarkPaid { by }, "paid")
        }
        ExpenseCmd::Show { id: raw, json } => {
            let claim = ctx.store.expense_claim(&id(&raw)?)?;
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
            let by = ctx.user()?.username;
            edit(
                &d.id,
                ExpenseClaimEdit::Approve { by, note: d.note },
                "approved",
            )
        }
        ExpenseCmd::Reject(d) => {
            let by = ctx.user()?.username;
            edit(
                &d.id,
                ExpenseClaimEdit::Reject { by, note: d.note },
                "rejected",
            )
        }
        ExpenseCmd::List(f) => {
            let rows = ctx.store.list_expense_claims(&query(&f))?;
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
