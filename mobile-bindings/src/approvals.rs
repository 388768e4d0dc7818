//! Trip plans and expense claims: a rep drafts and submits them, their manager approves or
//! sends them back, and a claim is finally marked paid.
//!
//! The defaults (the owner and decider are the logged-in user, the approver their manager, an
//! expense is in its claim's currency) are the facade's; the approval rules (only the approver
//! decides, only a submitted document can be decided, only an approved claim can be paid) are
//! client-core's and the server's. This module maps arguments and records.

use fieldsync_core::model::expense_claim::ExpenseClaim;
use fieldsync_core::model::trip_plan::{PlannedVisit, TripPlan};

use crate::attachments::AttachmentRefRecord;
use crate::records::{
    ExpenseClaimRow, ExpenseItemRecord, MoneyRecord, NewExpenseClaimRecord, NewTripPlanRecord,
    PlanFilter, TripPlanRow,
};
use crate::{FieldsyncClient, FieldsyncError, Res};

/// A customer visit planned on a trip.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct PlannedVisitRecord {
    /// Customer id.
    pub customer: String,
    /// Day, YYYY-MM-DD.
    pub day: String,
    /// Why the rep goes.
    pub purpose: String,
    /// What the rep hopes to come back with.
    #[uniffi(default = None)]
    pub expected_result: Option<String>,
}

impl From<PlannedVisit> for PlannedVisitRecord {
    fn from(p: PlannedVisit) -> Self {
        PlannedVisitRecord {
            customer: p.customer,
            day: p.day,
            purpose: p.purpose,
            expected_result: p.expected_result,
        }
    }
}

/// The decision on a plan or claim, once made.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct DecisionRecord {
    /// Who decided.
    pub by: String,
    /// When (RFC 3339, UTC).
    pub at: String,
    /// The approver's note.
    pub note: Option<String>,
}

fn decision(
    by: Option<String>,
    at: Option<String>,
    note: Option<String>,
) -> Option<DecisionRecord> {
    Some(DecisionRecord {
        by: by?,
        at: at?,
        note,
    })
}

/// A trip plan, whole.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct TripPlanRecord {
    /// Document id.
    pub id: String,
    /// The rep travelling.
    pub owner: String,
    /// The manager who decides.
    pub approver: String,
    /// Title.
    pub title: String,
    /// First day.
    pub start_date: String,
    /// Last day.
    pub end_date: String,
    /// Cities on the route.
    pub cities: Vec<String>,
    /// Customers to visit.
    pub planned_visits: Vec<PlannedVisitRecord>,
    /// Budget.
    pub budget: MoneyRecord,
    /// `draft`, `submitted`, `approved` or `rejected`.
    pub status: String,
    /// When it was submitted.
    pub submitted_at: Option<String>,
    /// The approver's decision.
    pub decision: Option<DecisionRecord>,
    /// When it was created.
    pub created_at: String,
}

impl From<TripPlan> for TripPlanRecord {
    fn from(p: TripPlan) -> Self {
        TripPlanRecord {
            id: p.id,
            owner: p.owner,
            approver: p.approver,
            title: p.title,
            start_date: p.start_date,
            end_date: p.end_date,
            cities: p.cities,
            planned_visits: p.planned_visits.into_iter().map(Into::into).collect(),
            budget: p.budget.into(),
            status: p.status.to_string(),
            submitted_at: p.submitted_at,
            decision: decision(p.decided_by, p.decided_at, p.decision_note),
            created_at: p.created_at,
        }
    }
}

/// One expense of a claim.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ExpenseLineRecord {
    /// Entry id (for corrections).
    pub id: String,
    /// Day, YYYY-MM-DD.
    pub date: String,
    /// Category.
    pub category: String,
    /// Amount.
    pub amount: MoneyRecord,
    /// What it was.
    pub description: Option<String>,
    /// A note on the invoice (its number, where the paper is).
    pub invoice_photo: Option<String>,
    /// The receipt photo: `attach_receipt`, or `ExpenseItemRecord.receipt`.
    pub receipt: Option<AttachmentRefRecord>,
}

/// An expense claim, whole.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ExpenseClaimRecord {
    /// Document id.
    pub id: String,
    /// The rep claiming.
    pub owner: String,
    /// The manager who decides.
    pub approver: String,
    /// The trip plan it is for.
    pub trip: Option<String>,
    /// Title.
    pub title: String,
    /// The expenses.
    pub items: Vec<ExpenseLineRecord>,
    /// Sum of the items.
    pub total: MoneyRecord,
    /// `draft`, `submitted`, `approved`, `rejected` or `paid`.
    pub status: String,
    /// When it was submitted.
    pub submitted_at: Option<String>,
    /// The approver's decision.
    pub decision: Option<DecisionRecord>,
    /// When it was paid.
    pub paid_at: Option<String>,
    /// Who recorded the payment.
    pub paid_by: Option<String>,
    /// When it was created.
    pub created_at: String,
}

impl TryFrom<ExpenseClaim> for ExpenseClaimRecord {
    type Error = FieldsyncError;

    fn try_from(c: ExpenseClaim) -> Res<Self> {
        let total = c.total()?.into();
        Ok(ExpenseClaimRecord {
            items: c
                .items
                .into_iter()
                .map(|i| ExpenseLineRecord {
                    id: i.id,
                    date: i.date,
                    category: i.category.to_string(),
                    amount: i.amount.into(),
                    description: i.description,
                    invoice_photo: i.invoice_photo,
                    receipt: i.receipt.map(Into::into),
                })
                .collect(),
            total,
            id: c.id,
            owner: c.owner,
            approver: c.approver,
            trip: c.trip,
            title: c.title,
            status: c.status.to_string(),
            submitted_at: c.submitted_at,
            decision: decision(c.decided_by, c.decided_at, c.decision_note),
            paid_at: c.paid_at,
            paid_by: c.paid_by,
            created_at: c.created_at,
        })
    }
}

#[uniffi::export]
impl FieldsyncClient {
    /// Starts a trip plan (a draft of the logged-in user's; the approver is their manager
    /// unless the record names one) and returns its id.
    pub fn create_trip_plan(&self, plan: NewTripPlanRecord) -> Res<String> {
        self.call(|c| Ok(c.create_trip_plan(plan.into())?))
    }

    /// Plans a customer visit on a trip.
    pub fn add_planned_visit(&self, id: String, visit: PlannedVisitRecord) -> Res<TripPlanRecord> {
        self.call(|c| {
            Ok(c.add_planned_visit(
                &id,
                &visit.customer,
                &visit.day,
                &visit.purpose,
                visit.expected_result,
            )?
            .into())
        })
    }

    /// Reads a trip plan.
    pub fn get_trip_plan(&self, id: String) -> Res<TripPlanRecord> {
        self.call(|c| Ok(c.trip_plan(&id)?.into()))
    }

    /// Sends a trip plan to its approver.
    pub fn submit_trip_plan(&self, id: String) -> Res<TripPlanRecord> {
        self.call(|c| Ok(c.submit_trip_plan(&id)?.into()))
    }

    /// Approves a trip plan (the logged-in user is the approver).
    pub fn approve_trip_plan(&self, id: String, note: Option<String>) -> Res<TripPlanRecord> {
        self.call(|c| Ok(c.approve_trip_plan(&id, note)?.into()))
    }

    /// Sends a trip plan back (the logged-in user is the approver).
    pub fn reject_trip_plan(&self, id: String, note: Option<String>) -> Res<TripPlanRecord> {
        self.call(|c| Ok(c.reject_trip_plan(&id, note)?.into()))
    }

    /// Lists trip plans.
    pub fn list_trip_plans(&self, filter: PlanFilter) -> Res<Vec<TripPlanRow>> {
        self.call(|c| {
            Ok(c.list_trip_plans(&filter.into())?
                .into_iter()
                .map(Into::into)
                .collect())
        })
    }

    /// Starts an expense claim (a draft of the logged-in user's; the approver is their manager
    /// unless the record names one) and returns its id.
    pub fn create_expense_claim(&self, claim: NewExpenseClaimRecord) -> Res<String> {
        self.call(|c| Ok(c.create_expense_claim(claim.into())?))
    }

    /// Adds an expense to a claim, in the claim's currency, with its receipt attached if
    /// `item.receipt` names a file (a refused file, `Invalid`, adds nothing).
    pub fn add_expense_item(
        &self,
        claim_id: String,
        item: ExpenseItemRecord,
    ) -> Res<ExpenseClaimRecord> {
        self.call(|c| c.add_expense_item(&claim_id, item.into())?.try_into())
    }

    /// Corrects the amount of expense `item_id` (an `ExpenseLineRecord.id`) of claim
    /// `claim_id`, in minor units of the claim's currency.
    pub fn set_expense_item_amount(
        &self,
        claim_id: String,
        item_id: String,
        amount: i64,
    ) -> Res<ExpenseClaimRecord> {
        self.call(|c| {
            c.set_expense_item_amount(&claim_id, &item_id, amount)?
                .try_into()
        })
    }

    /// Removes expense `item_id` from claim `claim_id`.
    pub fn remove_expense_item(
        &self,
        claim_id: String,
        item_id: String,
    ) -> Res<ExpenseClaimRecord> {
        self.call(|c| c.remove_expense_item(&claim_id, &item_id)?.try_into())
    }

    /// Reads an expense claim.
    pub fn get_expense_claim(&self, id: String) -> Res<ExpenseClaimRecord> {
        self.call(|c| c.expense_claim(&id)?.try_into())
    }

    /// Sends an expense claim to its approver.
    pub fn submit_expense_claim(&self, id: String) -> Res<ExpenseClaimRecord> {
        self.call(|c| c.submit_expense_claim(&id)?.try_into())
    }

    /// Approves an expense claim (the logged-in user is the approver).
    pub fn approve_expense_claim(
        &self,
        id: String,
        note: Option<String>,
    ) -> Res<ExpenseClaimRecord> {
        self.call(|c| c.approve_expense_claim(&id, note)?.try_into())
    }

    /// Sends an expense claim back (the logged-in user is the approver).
    pub fn reject_expense_claim(
        &self,
        id: String,
        note: Option<String>,
    ) -> Res<ExpenseClaimRecord> {
        self.call(|c| c.reject_expense_claim(&id, note)?.try_into())
    }

    /// Records that an approved claim was paid (an admin).
    pub fn pay_expense_claim(&self, id: String) -> Res<ExpenseClaimRecord> {
        self.call(|c| c.pay_expense_claim(&id)?.try_into())
    }

    /// Lists expense claims.
    pub fn list_expense_claims(&self, filter: PlanFilter) -> Res<Vec<ExpenseClaimRow>> {
        self.call(|c| {
            Ok(c.list_expense_claims(&filter.into())?
                .into_iter()
                .map(Into::into)
                .collect())
        })
    }
}
