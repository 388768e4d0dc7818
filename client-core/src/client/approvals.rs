//! Trip plans and expense claims: a rep drafts and submits them, the approver decides, an admin
//! records the payment. The facade fills in the approver (the user's manager), the owner (the
//! user), the decider (the user) and the currency of an expense (its claim's); the lifecycle
//! rules themselves are the model's and the server's.

use std::path::PathBuf;

use crate::ValidationError;
use crate::client::customers::on_known;
use crate::client::input::{closed, date, optional_text};
use crate::client::{Client, Result, invalid, user_of};
use crate::model::expense_claim::{ExpenseClaim, ExpenseClaimEdit, NewExpenseClaim};
use crate::model::fields::Money;
use crate::model::trip_plan::{NewTripPlan, TripPlan, TripPlanEdit};
use crate::store::{ExpenseClaimRow, PlanQuery, TripPlanRow};
use crate::sync::http::User;

/// A new trip plan; it starts as a draft of the user's.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TripPlanInput {
    /// Title.
    pub title: String,
    /// First day, YYYY-MM-DD.
    pub start_date: String,
    /// Last day, YYYY-MM-DD.
    pub end_date: String,
    /// Cities on the route.
    pub cities: Vec<String>,
    /// Budget.
    pub budget: Money,
    /// Who decides; the user's manager when `None`.
    pub approver: Option<String>,
}

/// A new expense claim; it starts as a draft of the user's.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExpenseClaimInput {
    /// Title.
    pub title: String,
    /// The trip plan it is for.
    pub trip: Option<String>,
    /// Who decides; the user's manager when `None`.
    pub approver: Option<String>,
    /// Currency of every item; CNY when `None`.
    pub currency: Option<String>,
}

/// An expense added to a claim, in the claim's currency.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExpenseItemInput {
    /// Day, YYYY-MM-DD.
    pub date: String,
    /// `transport`, `lodging`, `meals`, `entertainment`, `samples` or `other`.
    pub category: String,
    /// Amount in minor units (fen) of the claim's currency.
    pub amount: i64,
    /// What it was.
    pub description: Option<String>,
    /// A note on the invoice (its number, where the paper is).
    pub invoice_photo: Option<String>,
    /// The receipt photo to attach with it (a JPEG, PNG, HEIC, WebP or PDF file), in the
    /// same step ([`Client::attach_receipt`] attaches one later).
    pub receipt: Option<PathBuf>,
}

/// The approver of a new plan or claim: the one named, or the user's manager.
fn approver_for(user: &User, given: Option<String>) -> Result<String> {
    given
        .and_then(|a| optional_text(&a))
        .or_else(|| user.manager.clone())
        .ok_or_else(|| {
            invalid(ValidationError::new(
                "approver",
                "you have no manager on record: name the approver",
            ))
        })
}

impl Client {
    /// Starts a trip plan (a draft of the user's) and returns its id.
    pub fn create_trip_plan(&self, plan: TripPlanInput) -> Result<String> {
        self.write(|store| {
            let user = user_of(store)?;
            date("start_date", &plan.start_date).map_err(invalid)?;
            date("end_date", &plan.end_date).map_err(invalid)?;
            Ok(store.create_trip_plan(NewTripPlan {
                approver: approver_for(&user, plan.approver)?,
                owner: user.username,
                title: plan.title,
                start_date: plan.start_date.trim().to_string(),
                end_date: plan.end_date.trim().to_string(),
                cities: plan.cities,
                budget: plan.budget,
            })?)
        })
    }

    /// Plans a visit to `customer` on `day` (YYYY-MM-DD) of trip `id`.
    pub fn add_planned_visit(
        &self,
        id: &str,
        customer: &str,
        day: &str,
        purpose: &str,
        expected_result: Option<String>,
    ) -> Result<TripPlan> {
        date("day", day).map_err(invalid)?;
        let edit = TripPlanEdit::AddPlannedVisit {
            customer: crate::ids::parse_id(customer)?,
            day: day.trim().to_string(),
            purpose: purpose.to_string(),
            expected_result: expected_result.and_then(|r| optional_text(&r)),
        };
        self.edit_plan(id, |_| edit)
    }

    /// Sends a trip plan to its approver.
    pub fn submit_trip_plan(&self, id: &str) -> Result<TripPlan> {
        self.edit_plan(id, |_| TripPlanEdit::Submit)
    }

    /// Approves a trip plan as the logged-in user.
    pub fn approve_trip_plan(&self, id: &str, note: Option<String>) -> Result<TripPlan> {
        self.edit_plan(id, |u| TripPlanEdit::Approve {
            by: u.username.clone(),
            note,
        })
    }

    /// Sends a trip plan back to its owner as the logged-in user.
    pub fn reject_trip_plan(&self, id: &str, note: Option<String>) -> Result<TripPlan> {
        self.edit_plan(id, |u| TripPlanEdit::Reject {
            by: u.username.clone(),
            note,
        })
    }

    /// Reads a trip plan.
    pub fn trip_plan(&self, id: &str) -> Result<TripPlan> {
        self.read(|store| on_known(id, "trip plan", |id| store.trip_plan(id)))
    }

    /// The trip plans matching `query`.
    pub fn list_trip_plans(&self, query: &PlanQuery) -> Result<Vec<TripPlanRow>> {
        self.read(|store| store.list_trip_plans(query))
    }

    fn edit_plan(&self, id: &str, edit: impl FnOnce(&User) -> TripPlanEdit) -> Result<TripPlan> {
        self.write(|store| {
            let user = user_of(store)?;
            let edit = edit(&user);
            Ok(on_known(id, "trip plan", |id| {
                store.update_trip_plan(id, &[edit])
            })?)
        })
    }

    /// Starts an expense claim (a draft of the user's) and returns its id.
    pub fn create_expense_claim(&self, claim: ExpenseClaimInput) -> Result<String> {
        self.write(|store| {
            let user = user_of(store)?;
            Ok(store.create_expense_claim(NewExpenseClaim {
                approver: approver_for(&user, claim.approver)?,
                owner: user.username,
                trip: claim
                    .trip
                    .and_then(|t| optional_text(&t))
                    .map(|t| crate::ids::parse_id(&t))
                    .transpose()?,
                title: claim.title,
                currency: claim.currency.and_then(|c| optional_text(&c)),
            })?)
        })
    }

    /// Adds an expense to claim `id`, in the claim's currency, with its receipt attached if
    /// `item.receipt` names a file (checked as [`Client::attach_receipt`] checks it; if it is
    /// refused, nothing is added).
    pub fn add_expense_item(&self, id: &str, item: ExpenseItemInput) -> Result<ExpenseClaim> {
        date("date", &item.date).map_err(invalid)?;
        let category = closed(&item.category).map_err(invalid)?;
        let file = item.receipt.as_deref().map(|p| self.stage(p)).transpose()?;
        let (claim, _) = self.write_attaching::<ExpenseClaim>(
            id,
            "expense claim",
            file,
            |store, _, receipt| {
                let claim = on_known(id, "expense claim", |id| store.expense_claim(id))?;
                Ok(vec![ExpenseClaimEdit::AddItem {
                    date: item.date.trim().to_string(),
                    category,
                    amount: Money::new(item.amount, claim.currency.clone()),
                    description: item.description.and_then(|d| optional_text(&d)),
                    invoice_photo: item.invoice_photo.and_then(|p| optional_text(&p)),
                    receipt: receipt.cloned(),
                }])
            },
        )?;
        Ok(claim)
    }

    /// Corrects the amount of expense `item` of claim `id` (minor units, the claim's
    /// currency).
    pub fn set_expense_item_amount(
        &self,
        id: &str,
        item: &str,
        amount: i64,
    ) -> Result<ExpenseClaim> {
        self.edit_claim(id, |_, claim| ExpenseClaimEdit::ItemAmount {
            id: item.to_string(),
            amount: Money::new(amount, claim.currency.clone()),
        })
    }

    /// Removes expense `item` from claim `id`.
    pub fn remove_expense_item(&self, id: &str, item: &str) -> Result<ExpenseClaim> {
        self.edit_claim(id, |_, _| ExpenseClaimEdit::RemoveItem(item.to_string()))
    }

    /// Sends an expense claim to its approver.
    pub fn submit_expense_claim(&self, id: &str) -> Result<ExpenseClaim> {
        self.edit_claim(id, |_, _| ExpenseClaimEdit::Submit)
    }

    /// Approves an expense claim as the logged-in user.
    pub fn approve_expense_claim(&self, id: &str, note: Option<String>) -> Result<ExpenseClaim> {
        self.edit_claim(id, |u, _| ExpenseClaimEdit::Approve {
            by: u.username.clone(),
            note,
        })
    }

    /// Sends an expense claim back to its owner as the logged-in user.
    pub fn reject_expense_claim(&self, id: &str, note: Option<String>) -> Result<ExpenseClaim> {
        self.edit_claim(id, |u, _| ExpenseClaimEdit::Reject {
            by: u.username.clone(),
            note,
        })
    }

    /// Records, as the logged-in admin, that an approved claim was paid.
    pub fn pay_expense_claim(&self, id: &str) -> Result<ExpenseClaim> {
        self.edit_claim(id, |u, _| ExpenseClaimEdit::MarkPaid {
            by: u.username.clone(),
        })
    }

    /// Reads an expense claim.
    pub fn expense_claim(&self, id: &str) -> Result<ExpenseClaim> {
        self.read(|store| on_known(id, "expense claim", |id| store.expense_claim(id)))
    }

    /// The expense claims matching `query`.
    pub fn list_expense_claims(&self, query: &PlanQuery) -> Result<Vec<ExpenseClaimRow>> {
        self.read(|store| store.list_expense_claims(query))
    }

    fn edit_claim(
        &self,
        id: &str,
        edit: impl FnOnce(&User, &ExpenseClaim) -> ExpenseClaimEdit,
    ) -> Result<ExpenseClaim> {
        self.write(|store| {
            let user = user_of(store)?;
            let claim = on_known(id, "expense claim", |id| store.expense_claim(id))?;
            Ok(store.update_expense_claim(&claim.id, &[edit(&user, &claim)])?)
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn user(manager: Option<&str>) -> User {
        User {
            username: "li".into(),
            role: "rep".into(),
            territories: vec!["east".into()],
            manager: manager.map(str::to_string),
        }
    }

    #[test]
    fn the_approver_is_the_one_named_or_the_users_manager() {
        assert_eq!(approver_for(&user(Some("wang")), None).unwrap(), "wang");
        assert_eq!(
            approver_for(&user(Some("wang")), Some("zhao".into())).unwrap(),
            "zhao"
        );
        let none = approver_for(&user(None), None).unwrap_err();
        assert!(none.to_string().contains("no manager on record"), "{none}");
    }
}
