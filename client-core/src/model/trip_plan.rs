//! The trip plan (出差计划): where a rep will go, whom they will see, for what, at what cost,
//! and the manager's decision on it.

use automerge::{AutoCommit, ROOT};
use autosurgeon::{Hydrate, Reconcile};
use serde::Serialize;

use super::edit::{list_push, list_remove, set_field, set_whole};
use super::fields::{Money, limit_text, parse_date, require_text, string_enum, validate_username};
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
    /// Where the plan stands.
    TripStatus, "trip_plan.status" {
        /// Being written by its owner.
        Draft = "draft",
        /// Waiting for the approver.
        Submitted = "submitted",
        /// Approved by the approver.
        Approved = "approved",
        /// Sent back by the approver.
        Rejected = "rejected",
    }
}

/// A customer to visit on the trip.
#[derive(Debug, Clone, PartialEq, Serialize, Hydrate, Reconcile)]
pub struct PlannedVisit {
    /// Entry id.
    #[key]
    pub id: String,
    /// Customer id.
    pub customer: String,
    /// Planned day, YYYY-MM-DD.
    pub day: String,
    /// Purpose of the visit.
    pub purpose: String,
    /// What the rep expects to achieve.
    pub expected_result: Option<String>,
}

/// The trip plan as stored in its document.
#[derive(Debug, Clone, PartialEq, Serialize, Hydrate, Reconcile)]
pub struct TripPlan {
    /// Always "trip_plan".
    pub kind: String,
    /// Schema version.
    pub schema: i64,
    /// Document id.
    pub id: String,
    /// The rep travelling (scope field).
    pub owner: String,
    /// The manager who decides (scope field).
    pub approver: String,
    /// Short title.
    pub title: String,
    /// First day, YYYY-MM-DD.
    pub start_date: String,
    /// Last day, YYYY-MM-DD.
    pub end_date: String,
    /// Cities on the route.
    pub cities: Vec<String>,
    /// Customers to visit.
    pub planned_visits: Vec<PlannedVisit>,
    /// Budget.
    pub budget: Money,
    /// Draft, submitted, approved or rejected.
    pub status: TripStatus,
    /// When it was submitted.
    pub submitted_at: Option<String>,
    /// When the approver decided.
    pub decided_at: Option<String>,
    /// Who decided.
    pub decided_by: Option<String>,
    /// The approver's note.
    pub decision_note: Option<String>,
    /// The digest of the content the last decision covered.
    #[autosurgeon(missing = "Default::default")]
    pub decision_covers: Option<String>,
    /// Every step the plan took: who submitted, approved or rejected it, when and why.
    #[autosurgeon(missing = "Default::default")]
    pub history: Vec<StatusChange>,
    /// When the plan was created.
    pub created_at: String,
}

/// What it takes to start a trip plan.
#[derive(Debug, Clone, Default)]
pub struct NewTripPlan {
    /// The rep (required).
    pub owner: String,
    /// The approving manager (required).
    pub approver: String,
    /// Title (required).
    pub title: String,
    /// First day, YYYY-MM-DD.
    pub start_date: String,
    /// Last day, YYYY-MM-DD.
    pub end_date: String,
    /// Cities.
    pub cities: Vec<String>,
    /// Budget.
    pub budget: Money,
}

impl Default for Money {
    fn default() -> Self {
        Money::cny(0)
    }
}

impl NewTripPlan {
    /// Builds the document content; fails if a field breaks the schema.
    pub fn build(self, id: String, now: String) -> Result<TripPlan, ValidationError> {
        let plan = TripPlan {
            kind: DocKind::TripPlan.as_str().to_string(),
            schema: SCHEMA_VERSION,
            id,
            owner: self.owner,
            approver: self.approver,
            title: self.title,
            start_date: self.start_date,
            end_date: self.end_date,
            cities: self.cities,
            planned_visits: Vec::new(),
            budget: self.budget,
            status: TripStatus::Draft,
            submitted_at: None,
            decided_at: None,
            decided_by: None,
            decision_note: None,
            decision_covers: None,
            history: Vec::new(),
            created_at: now,
        };
        plan.validate()?;
        Ok(plan)
    }
}

/// One change to a trip plan.
#[derive(Debug, Clone, PartialEq)]
pub enum TripPlanEdit {
    /// Title.
    Title(String),
    /// Date range, YYYY-MM-DD.
    Dates {
        /// First day.
        start: String,
        /// Last day.
        end: String,
    },
    /// Add a city to the route.
    AddCity(String),
    /// Plan a customer visit.
    AddPlannedVisit {
        /// Customer id.
        customer: String,
        /// Day, YYYY-MM-DD.
        day: String,
        /// Purpose.
        purpose: String,
        /// Expected result.
        expected_result: Option<String>,
    },
    /// Drop a planned visit.
    RemovePlannedVisit(String),
    /// Budget.
    Budget(Money),
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
}

impl DocumentModel for TripPlan {
    const KIND: DocKind = DocKind::TripPlan;
    type Edit = TripPlanEdit;
    // Before the claims that link it.
    const PUSH_RANK: u8 = 1;
    const PROTECTED_FIELDS: &'static [&'static str] = &["owner", "approver"];
    const NEVER_CHANGED: &'static [&'static str] = &["id", "kind", "created_at"];

    lifecycle::plan_or_claim_declarations!();

    fn id(&self) -> &str {
        &self.id
    }

    fn attachments(&self) -> Vec<&super::attachment::AttachmentRef> {
        Vec::new()
    }

    fn validate(&self) -> Result<(), ValidationError> {
        validate_root(Self::KIND, &self.kind, self.schema, &self.id)?;
        let at = |e: ValidationError| e.within("trip_plan");
        validate_username("owner", &self.owner).map_err(at)?;
        validate_username("approver", &self.approver).map_err(at)?;
        require_text("title", &self.title, 200).map_err(at)?;
        let start = parse_date("start_date", &self.start_date).map_err(at)?;
        let end = parse_date("end_date", &self.end_date).map_err(at)?;
        if end < start {
            return Err(at(ValidationError::new(
                "end_date",
                format!("{end} is before the start date {start}"),
            )));
        }
        for (i, c) in self.cities.iter().enumerate() {
            require_text(&format!("cities[{i}]"), c, 100).map_err(at)?;
        }
        for (i, v) in self.planned_visits.iter().enumerate() {
            let within = |e: ValidationError| at(e.within(&format!("planned_visits[{i}]")));
            check_entry_id("entry", &v.id).map_err(within)?;
            if !is_id(&v.customer) {
                return Err(within(ValidationError::new(
                    "customer",
                    format!("'{}' is not a customer id", v.customer),
                )));
            }
            let day = parse_date("day", &v.day).map_err(within)?;
            if day < start || day > end {
                return Err(within(ValidationError::new(
                    "day",
                    format!("{day} is outside the trip, {start} to {end}"),
                )));
            }
            require_text("purpose", &v.purpose, 1000).map_err(within)?;
            if let Some(r) = &v.expected_result {
                limit_text("expected_result", r, 1000).map_err(within)?;
            }
        }
        self.budget.validate("budget").map_err(at)?;
        validate_lifecycle(
            self,
            &self.submitted_at,
            &self.decided_at,
            &self.decision_note,
        )
        .map_err(at)?;
        check_stored_time("created_at", &self.created_at).map_err(at)?;
        Ok(())
    }

    fn apply_edit(doc: &mut AutoCommit, edit: &TripPlanEdit) -> Result<()> {
        use TripPlanEdit as E;
        let r = &ROOT;
        match edit {
            E::Title(t) => set_field(doc, r, "title", t),
            E::Dates { start, end } => {
                set_field(doc, r, "start_date", start)?;
                set_field(doc, r, "end_date", end)
            }
            E::AddCity(c) => list_push(doc, r, "cities", "trip_plan.cities", c),
            E::AddPlannedVisit {
                customer,
                day,
                purpose,
                expected_result,
            } => {
                let v = PlannedVisit {
                    id: new_id(),
                    customer: customer.clone(),
                    day: day.clone(),
                    purpose: purpose.clone(),
                    expected_result: expected_result.clone(),
                };
                list_push(doc, r, "planned_visits", "trip_plan.planned_visits", &v)
            }
            E::RemovePlannedVisit(id) => {
                list_remove(doc, r, "planned_visits", "trip_plan.planned_visits", id)
            }
            E::Budget(m) => set_whole(doc, r, "budget", Some(m)),
            E::Approver(a) => set_field(doc, r, "approver", a),
            E::Submit => lifecycle::submit(doc, &TripPlan::read(doc)?),
            E::Approve { by, note } | E::Reject { by, note } => {
                let stage = match edit {
                    E::Approve { .. } => Stage::Approved,
                    _ => Stage::Rejected,
                };
                lifecycle::decide(doc, &TripPlan::read(doc)?, stage, by, note)
            }
        }
    }
}

impl Approvable for TripPlan {
    const LIFECYCLE: Lifecycle = Lifecycle {
        stages: &[
            Stage::Draft,
            Stage::Submitted,
            Stage::Approved,
            Stage::Rejected,
        ],
        transitions: approval_steps!(),
        frozen: &[Stage::Submitted, Stage::Approved],
        fields: &[
            "status",
            "submitted_at",
            "decided_at",
            "decided_by",
            "decision_note",
            "decision_covers",
            "history",
        ],
    };

    fn stage(&self) -> Stage {
        match self.status {
            TripStatus::Draft => Stage::Draft,
            TripStatus::Submitted => Stage::Submitted,
            TripStatus::Approved => Stage::Approved,
            TripStatus::Rejected => Stage::Rejected,
        }
    }

    approvable_fields!();

    fn content_digest(&self) -> String {
        content_digest(self, &Self::LIFECYCLE, &[])
    }

    fn check_submittable(&self) -> Result<(), ValidationError> {
        if self.cities.is_empty() && self.planned_visits.is_empty() {
            return Err(ValidationError::new(
                "planned_visits",
                "a plan needs at least one city or planned visit before it is submitted",
            ));
        }
        Ok(())
    }
}
