//! The expense claim (报销): what a trip cost, item by item, and its way through approval to
//! payment.

use automerge::{AutoCommit, ROOT};
use autosurgeon::{Hydrate, Reconcile};
use serde::Serialize;

use super::attachment::AttachmentRef;
use super::edit::{list_find, list_push, list_remove, set_field, set_whole};
use super::fields::{
    Money, limit_text, parse_date, require_text, string_enum, validate_currency, validate_username,
};
use super::fields::{check_entry_id, check_stored_time};
use super::lifecycle::{
    self, Approvable, Lifecycle, Party, Stage, StatusChange, Transition, approvable_fields,
    approval_steps, content_digest, validate_lifecycle,
};
use super::{DocKind, DocumentModel, SCHEMA_VERSION, validate_root};
use crate::error::{Result, ValidationError};
use crate::ids::{is_id, new_id};
use crate::rights::DocScope;

string_enum! {
    /// Where the claim stands.
    ClaimStatus, "expense_claim.status" {
        /// Being written by its owner.
        Draft = "draft",
        /// Waiting for the approver.
        Submitted = "submitted",
        /// Approved, waiting for payment.
        Approved = "approved",
        /// Sent back by the approver.
        Rejected = "rejected",
        /// Paid out.
        Paid = "paid",
    }
}

string_enum! {
    /// What an expense was for.
    ExpenseCategory, "expense_claim.items.category" {
        /// Trains, flights, taxis, fuel, tolls.
        Transport = "transport",
        /// Hotels.
        Lodging = "lodging",
        /// Meals and travel allowance.
        Meals = "meals",
        /// Hosting customers.
        Entertainment = "entertainment",
        /// Samples and gifts.
        Samples = "samples",
        /// Anything else.
        Other = "other",
    }
}

/// One expense.
#[derive(Debug, Clone, PartialEq, Serialize, Hydrate, Reconcile)]
pub struct ExpenseItem {
    /// Entry id.
    #[key]
    pub id: String,
    /// Day of the expense, YYYY-MM-DD.
    pub date: String,
    /// Category.
    pub category: ExpenseCategory,
    /// Amount, in the claim's currency.
    pub amount: Money,
    /// What it was.
    pub description: Option<String>,
    /// A note on the invoice (its number, where the paper is); the photo is `receipt`.
    pub invoice_photo: Option<String>,
    /// The receipt (发票) photo.
    #[autosurgeon(missing = "Default::default")]
    pub receipt: Option<AttachmentRef>,
}

/// The expense claim as stored in its document. The total is computed from the items, never
/// stored, so items added on two devices always add up.
#[derive(Debug, Clone, PartialEq, Serialize, Hydrate, Reconcile)]
pub struct ExpenseClaim {
    /// Always "expense_claim".
    pub kind: String,
    /// Schema version.
    pub schema: i64,
    /// Document id.
    pub id: String,
    /// The rep claiming (scope field).
    pub owner: String,
    /// The manager who decides (scope field).
    pub approver: String,
    /// The trip plan this claim is for.
    pub trip: Option<String>,
    /// Short title.
    pub title: String,
    /// Currency of every item.
    pub currency: String,
    /// The expenses.
    pub items: Vec<ExpenseItem>,
    /// Draft, submitted, approved, rejected or paid.
    pub status: ClaimStatus,
    /// When it was submitted.
    pub submitted_at: Option<String>,
    /// When the approver decided.
    pub decided_at: Option<String>,
    /// Who decided.
    pub decided_by: Option<String>,
    /// The approver's note.
    pub decision_note: Option<String>,
    /// When it was paid.
    pub paid_at: Option<String>,
    /// Who recorded the payment.
    pub paid_by: Option<String>,
    /// The digest of the content the last decision covered.
    #[autosurgeon(missing = "Default::default")]
    pub decision_covers: Option<String>,
    /// Every step the claim took: who submitted, decided and paid it, when and why.
    #[autosurgeon(missing = "Default::default")]
    pub history: Vec<StatusChange>,
    /// When the claim was created.
    pub created_at: String,
}

impl ExpenseClaim {
    /// The sum of the items, or an error if it does not fit in 64 bits.
    pub fn total(&self) -> Result<Money, ValidationError> {
        let mut sum: i64 = 0;
        for item in &self.items {
            sum = sum.checked_add(item.amount.amount).ok_or_else(|| {
                ValidationError::new("expense_claim.items", "the total is too large")
            })?;
        }
        Ok(Money::new(sum, self.currency.clone()))
    }
}

/// What it takes to start an expense claim.
#[derive(Debug, Clone, Default)]
pub struct NewExpenseClaim {
    /// The rep (required).
    pub owner: String,
    /// The approving manager (required).
    pub approver: String,
    /// Trip plan id.
    pub trip: Option<String>,
    /// Title (required).
    pub title: String,
    /// Currency; defaults to CNY.
    pub currency: Option<String>,
}

impl NewExpenseClaim {
    /// Builds the document content; fails if a field breaks the schema.
    pub fn build(self, id: String, now: String) -> Result<ExpenseClaim, ValidationError> {
        let claim = ExpenseClaim {
            kind: DocKind::ExpenseClaim.as_str().to_string(),
            schema: SCHEMA_VERSION,
            id,
            owner: self.owner,
            approver: self.approver,
            trip: self.trip,
            title: self.title,
            currency: self.currency.unwrap_or_else(|| "CNY".to_string()),
            items: Vec::new(),
            status: ClaimStatus::Draft,
            submitted_at: None,
            decided_at: None,
            decided_by: None,
            decision_note: None,
            paid_at: None,
            paid_by: None,
            decision_covers: None,
            history: Vec::new(),
            created_at: now,
        };
        claim.validate()?;
        Ok(claim)
    }
}

/// One change to an expense claim.
#[derive(Debug, Clone, PartialEq)]
pub enum ExpenseClaimEdit {
    /// Title.
    Title(String),
    /// Link to a trip plan.
    Trip(Option<String>),
    /// Add an expense.
    AddItem {
        /// Day, YYYY-MM-DD.
        date: String,
        /// Category.
        category: ExpenseCategory,
        /// Amount.
        amount: Money,
        /// What it was.
        description: Option<String>,
        /// A note on the invoice.
        invoice_photo: Option<String>,
        /// The receipt photo.
        receipt: Option<AttachmentRef>,
    },
    /// Attach, replace or remove an expense's receipt photo.
    ItemReceipt {
        /// Item id.
        id: String,
        /// The receipt.
        receipt: Option<AttachmentRef>,
    },
    /// Correct an expense's amount.
    ItemAmount {
        /// Item id.
        id: String,
        /// New amount.
        amount: Money,
    },
    /// Remove an expense.
    RemoveItem(String),
    /// Change the approver (manager/admin).
    Approver(String),
    /// Send to the approver.
    Submit,
    /// The approver approves.
    Approve {
        /// The approver's user name.
        by: String,
        /// Note.
        note: Option<String>,
    },
    /// The approver sends it back.
    Reject {
        /// The approver's user name.
        by: String,
        /// Why.
        note: Option<String>,
    },
    /// Record the payment (manager/admin).
    MarkPaid {
        /// Who paid.
        by: String,
    },
}

impl DocumentModel for ExpenseClaim {
    const KIND: DocKind = DocKind::ExpenseClaim;
    type Edit = ExpenseClaimEdit;
    // Last: it may link a trip plan.
    const PUSH_RANK: u8 = 3;
    const PROTECTED_FIELDS: &'static [&'static str] = &["owner", "approver"];
    const NEVER_CHANGED: &'static [&'static str] = &["id", "kind", "created_at"];

    lifecycle::plan_or_claim_declarations!();

    fn id(&self) -> &str {
        &self.id
    }

    fn attachments(&self) -> Vec<&super::attachment::AttachmentRef> {
        self.items
            .iter()
            .filter_map(|i| i.receipt.as_ref())
            .collect()
    }

    fn validate(&self) -> Result<(), ValidationError> {
        validate_root(Self::KIND, &self.kind, self.schema, &self.id)?;
        let at = |e: ValidationError| e.within("expense_claim");
        validate_username("owner", &self.owner).map_err(at)?;
        validate_username("approver", &self.approver).map_err(at)?;
        require_text("title", &self.title, 200).map_err(at)?;
        validate_currency("currency", &self.currency).map_err(at)?;
        if let Some(t) = &self.trip
            && !is_id(t)
        {
            return Err(at(ValidationError::new(
                "trip",
                format!("'{t}' is not a trip plan id"),
            )));
        }
        for (i, item) in self.items.iter().enumerate() {
            let within = |e: ValidationError| at(e.within(&format!("items[{i}]")));
            check_entry_id("entry", &item.id).map_err(within)?;
            parse_date("date", &item.date).map_err(within)?;
            item.amount.validate("amount").map_err(within)?;
            if item.amount.currency != self.currency {
                return Err(within(ValidationError::new(
                    "amount",
                    format!(
                        "is in {}, but the claim is in {}",
                        item.amount.currency, self.currency
                    ),
                )));
            }
            if let Some(receipt) = &item.receipt {
                receipt.validate("receipt").map_err(within)?;
            }
            for (field, value, max) in [
                ("description", &item.description, 1000),
                ("invoice_photo", &item.invoice_photo, 500),
            ] {
                if let Some(v) = value {
                    limit_text(field, v, max).map_err(within)?;
                }
            }
        }
        self.total()?;
        validate_lifecycle(
            self,
            &self.submitted_at,
            &self.decided_at,
            &self.decision_note,
        )
        .map_err(at)?;
        check_stored_time("created_at", &self.created_at).map_err(at)?;
        if self.status == ClaimStatus::Paid {
            match (&self.paid_at, &self.paid_by) {
                (Some(t), Some(by)) => {
                    check_stored_time("paid_at", t).map_err(at)?;
                    validate_username("paid_by", by).map_err(at)?;
                }
                _ => {
                    return Err(at(ValidationError::new(
                        "paid_by",
                        "a paid claim must say who paid and when",
                    )));
                }
            }
        }
        Ok(())
    }

    fn apply_edit(doc: &mut AutoCommit, edit: &ExpenseClaimEdit) -> Result<()> {
        use ExpenseClaimEdit as E;
        let r = &ROOT;
        match edit {
            E::Title(t) => set_field(doc, r, "title", t),
            E::Trip(t) => set_field(doc, r, "trip", t),
            E::AddItem {
                date,
                category,
                amount,
                description,
                invoice_photo,
                receipt,
            } => {
                let item = ExpenseItem {
                    id: new_id(),
                    date: date.clone(),
                    category: *category,
                    amount: amount.clone(),
                    description: description.clone(),
                    invoice_photo: invoice_photo.clone(),
                    receipt: receipt.clone(),
                };
                list_push(doc, r, "items", "expense_claim.items", &item)
            }
            E::ItemReceipt { id, receipt } => {
                let (_, _, entry) = list_find(doc, r, "items", "expense_claim.items", id)?;
                set_whole(doc, &entry, "receipt", receipt.as_ref())
            }
            E::ItemAmount { id, amount } => {
                let (_, _, entry) = list_find(doc, r, "items", "expense_claim.items", id)?;
                set_whole(doc, &entry, "amount", Some(amount))
            }
            E::RemoveItem(id) => list_remove(doc, r, "items", "expense_claim.items", id),
            E::Approver(a) => set_field(doc, r, "approver", a),
            E::Submit => lifecycle::submit(doc, &ExpenseClaim::read(doc)?),
            E::Approve { by, note } | E::Reject { by, note } => {
                let stage = match edit {
                    E::Approve { .. } => Stage::Approved,
                    _ => Stage::Rejected,
                };
                lifecycle::decide(doc, &ExpenseClaim::read(doc)?, stage, by, note)
            }
            E::MarkPaid { by } => lifecycle::pay(doc, &ExpenseClaim::read(doc)?, by),
        }
    }
}

impl Approvable for ExpenseClaim {
    const LIFECYCLE: Lifecycle = Lifecycle {
        stages: &[
            Stage::Draft,
            Stage::Submitted,
            Stage::Approved,
            Stage::Rejected,
            Stage::Paid,
        ],
        transitions: approval_steps!(Transition {
            from: Stage::Approved,
            to: Stage::Paid,
            by: Party::Admin,
        }),
        frozen: &[Stage::Submitted, Stage::Approved, Stage::Paid],
        fields: &[
            "status",
            "submitted_at",
            "decided_at",
            "decided_by",
            "decision_note",
            "decision_covers",
            "paid_at",
            "paid_by",
            "history",
        ],
    };

    fn stage(&self) -> Stage {
        match self.status {
            ClaimStatus::Draft => Stage::Draft,
            ClaimStatus::Submitted => Stage::Submitted,
            ClaimStatus::Approved => Stage::Approved,
            ClaimStatus::Rejected => Stage::Rejected,
            ClaimStatus::Paid => Stage::Paid,
        }
    }

    approvable_fields!();

    fn paid_by(&self) -> Option<&str> {
        self.paid_by.as_deref()
    }

    fn content_digest(&self) -> String {
        let total = self
            .total()
            .map_or(serde_json::Value::Null, |m| m.amount.into());
        content_digest(self, &Self::LIFECYCLE, &[("total", total)])
    }

    fn check_submittable(&self) -> Result<(), ValidationError> {
        if self.items.is_empty() {
            return Err(ValidationError::new(
                "items",
                "a claim needs at least one item before it is submitted: add one with its receipt",
            ));
        }
        Ok(())
    }
}
