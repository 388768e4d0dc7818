//! The complaint (投诉) and its loop 受理 → 调查 → 处理 → 回访: received, investigating, handled,
//! followed up (with the visit that followed it up), closed.
//!
//! Whoever sees the customer records a complaint; its assignee and the managers move it; it
//! is closed only once followed up by a visit. Its first-response deadline comes from its
//! priority ([`ResponseHours`], which the server configures and sends to every device).

use automerge::{AutoCommit, ROOT};
use autosurgeon::{Hydrate, Reconcile};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::attachment::{self, AttachmentRef};
use super::edit::{append_text, list_remove, replace_text, set_field};
use super::fields::{
    Paragraphs, check_stored_time, limit_text, parse_time, string_enum, validate_username,
};
use super::workflow::{self, Actor, Staged, Step, StepTaken, Workflow, validate_workflow};
use super::{DocKind, DocumentModel, SCHEMA_VERSION, validate_root};
use crate::error::{Error, Result, ValidationError};
use crate::ids::is_id;
use crate::rights::{Creation, DocScope, Lookup, Refusal, Role, Writer};

string_enum! {
    /// How the complaint came in.
    ComplaintChannel, "complaint.channel" {
        /// Said during a visit.
        Visit = "visit",
        /// By phone.
        Phone = "phone",
        /// By e-mail.
        Email = "email",
        /// By WeChat.
        Wechat = "wechat",
        /// Any other way.
        Other = "other",
    }
}

string_enum! {
    /// What the complaint is about.
    ComplaintCategory, "complaint.category" {
        /// Late, lost or damaged deliveries.
        Logistics = "logistics",
        /// The product's quality.
        Quality = "quality",
        /// Service after the sale.
        AfterSales = "after_sales",
        /// Anything else.
        Other = "other",
    }
}

string_enum! {
    /// How fast it must be answered.
    Priority, "complaint.priority" {
        /// Within hours.
        Urgent = "urgent",
        /// Within a day.
        High = "high",
        /// Within days.
        Normal = "normal",
    }
}

string_enum! {
    /// Where the complaint stands in its loop.
    ComplaintStatus, "complaint.status" {
        /// 受理: recorded, not yet looked into.
        Received = "received",
        /// 调查: being looked into (the first response).
        Investigating = "investigating",
        /// 处理: dealt with.
        Handled = "handled",
        /// 回访: followed up with a visit.
        FollowedUp = "followed_up",
        /// Done.
        Closed = "closed",
    }
}

/// The first-response deadline of each priority, in hours: how long a complaint may stay
/// received before someone looks into it, and how long it may take to be handled for the KPIs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseHours {
    /// Urgent complaints.
    pub urgent: u32,
    /// High priority.
    pub high: u32,
    /// Normal priority.
    pub normal: u32,
}

impl Default for ResponseHours {
    fn default() -> Self {
        ResponseHours {
            urgent: 4,
            high: 24,
            normal: 72,
        }
    }
}

impl ResponseHours {
    /// The hours for `priority`.
    pub fn hours(&self, priority: Priority) -> u32 {
        match priority {
            Priority::Urgent => self.urgent,
            Priority::High => self.high,
            Priority::Normal => self.normal,
        }
    }

    /// The first-response deadline of a complaint received at `received_at` (RFC 3339) with
    /// `priority`.
    pub fn deadline(&self, received_at: &str, priority: Priority) -> Option<DateTime<Utc>> {
        let received = parse_time("received_at", received_at).ok()?;
        Some(received + Duration::hours(i64::from(self.hours(priority))))
    }

    /// Parses `urgent=4,high=24,normal=72` (any of the three; the others keep their
    /// defaults).
    pub fn parse(s: &str) -> std::result::Result<ResponseHours, String> {
        let mut out = ResponseHours::default();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, hours) = part
                .split_once('=')
                .ok_or_else(|| format!("'{part}' is not priority=hours, e.g. urgent=4"))?;
            let hours: u32 = hours
                .trim()
                .parse()
                .ok()
                .filter(|h| (1..=24 * 90).contains(h))
                .ok_or_else(|| format!("'{hours}' is not a number of hours from 1 to 2160"))?;
            match name.trim().parse::<Priority>() {
                Ok(Priority::Urgent) => out.urgent = hours,
                Ok(Priority::High) => out.high = hours,
                Ok(Priority::Normal) => out.normal = hours,
                Err(_) => {
                    return Err(format!(
                        "'{name}' is not a priority (urgent, high or normal)"
                    ));
                }
            }
        }
        Ok(out)
    }
}

/// The complaint as stored in its document.
#[derive(Debug, Clone, PartialEq, Serialize, Hydrate, Reconcile)]
pub struct Complaint {
    /// Always "complaint".
    pub kind: String,
    /// Schema version.
    pub schema: i64,
    /// Document id.
    pub id: String,
    /// The customer (scope field).
    pub customer: String,
    /// Who recorded it.
    pub recorded_by: String,
    /// When the customer complained, RFC 3339.
    pub received_at: String,
    /// How it came in.
    pub channel: ComplaintChannel,
    /// What it is about.
    pub category: ComplaintCategory,
    /// How fast it must be answered.
    pub priority: Priority,
    /// What the customer said, as shared text.
    pub summary: Paragraphs,
    /// Who deals with it (scope field: the assignee sees it).
    pub assignee: Option<String>,
    /// The visit that followed it up (回访).
    pub followup_visit: Option<String>,
    /// Received, investigating, handled, followed up or closed.
    pub status: ComplaintStatus,
    /// Every step, with who took it, when and a note.
    pub history: Vec<StepTaken>,
    /// Evidence: photos of the damaged goods, the customer's letter.
    #[autosurgeon(missing = "Default::default")]
    pub evidence: Vec<AttachmentRef>,
    /// When the complaint was recorded.
    pub created_at: String,
}

impl Complaint {
    /// The first-response deadline under `hours`.
    pub fn deadline(&self, hours: &ResponseHours) -> Option<DateTime<Utc>> {
        hours.deadline(&self.received_at, self.priority)
    }

    /// When it was first looked into, from its history.
    pub fn responded_at(&self) -> Option<&str> {
        workflow::entered_at(&self.history, ComplaintStatus::Investigating.as_str())
    }

    /// When it was handled, from its history.
    pub fn handled_at(&self) -> Option<&str> {
        workflow::entered_at(&self.history, ComplaintStatus::Handled.as_str())
    }

    /// When it was closed, from its history.
    pub fn closed_at(&self) -> Option<&str> {
        workflow::entered_at(&self.history, ComplaintStatus::Closed.as_str())
    }
}

/// What it takes to record a complaint.
#[derive(Debug, Clone)]
pub struct NewComplaint {
    /// The customer (required).
    pub customer: String,
    /// Who records it (required).
    pub recorded_by: String,
    /// When the customer complained (required).
    pub received_at: String,
    /// How it came in.
    pub channel: ComplaintChannel,
    /// What it is about.
    pub category: ComplaintCategory,
    /// How fast it must be answered.
    pub priority: Priority,
    /// What the customer said (required).
    pub summary: String,
    /// Who deals with it.
    pub assignee: Option<String>,
}

impl NewComplaint {
    /// Builds the document content; fails if a field breaks the schema.
    pub fn build(self, id: String, now: String) -> Result<Complaint, ValidationError> {
        let complaint = Complaint {
            kind: DocKind::Complaint.as_str().to_string(),
            schema: SCHEMA_VERSION,
            id,
            customer: self.customer,
            recorded_by: self.recorded_by,
            received_at: self.received_at,
            channel: self.channel,
            category: self.category,
            priority: self.priority,
            summary: Paragraphs::from(self.summary),
            assignee: self.assignee,
            followup_visit: None,
            status: ComplaintStatus::Received,
            history: Vec::new(),
            evidence: Vec::new(),
            created_at: now,
        };
        complaint.validate()?;
        if complaint.summary.as_str().trim().is_empty() {
            return Err(ValidationError::new(
                "complaint.summary",
                "must not be empty: say what the customer complained about",
            ));
        }
        Ok(complaint)
    }
}

/// One change to a complaint.
#[derive(Debug, Clone, PartialEq)]
pub enum ComplaintEdit {
    /// Add a paragraph to the summary.
    AppendSummary(String),
    /// Rewrite the summary.
    ReplaceSummary(String),
    /// Category.
    Category(ComplaintCategory),
    /// Priority.
    Priority(Priority),
    /// Channel.
    Channel(ComplaintChannel),
    /// Assign it (managers and admins), or take the assignment away.
    Assign(Option<String>),
    /// Move to another status, as `by`; the follow-up step names its visit.
    Step {
        /// The status to go to.
        to: ComplaintStatus,
        /// Who takes the step.
        by: String,
        /// What was done.
        note: Option<String>,
        /// The follow-up visit (回访), for the step to followed_up.
        visit: Option<String>,
    },
    /// Attach evidence; one that is there already changes nothing.
    AddEvidence(AttachmentRef),
    /// Remove evidence.
    RemoveEvidence(String),
}

impl DocumentModel for Complaint {
    const KIND: DocKind = DocKind::Complaint;
    type Edit = ComplaintEdit;
    // After visits: it may link its follow-up visit.
    const PUSH_RANK: u8 = 3;
    const PROTECTED_FIELDS: &'static [&'static str] = &["assignee"];
    const NEVER_CHANGED: &'static [&'static str] = &[
        "id",
        "kind",
        "created_at",
        "customer",
        "recorded_by",
        "received_at",
    ];

    const ASKS_ABOUT_PEOPLE: bool = true;
    const STATUS_FIELDS: &'static [&'static str] = <Self as Staged>::WORKFLOW.fields;

    fn check_writer(w: &Writer<'_>, before: Option<&Self>, after: &Self) -> Result<(), Refusal> {
        let who = w.who;
        let assigned = before.map_or(after.assignee.is_some(), |b| b.assignee != after.assignee);
        // A rep recording a complaint may take it on themselves; assigning it to someone else
        // is a manager's decision.
        if who.role == Role::Rep
            && before.is_none()
            && let Some(a) = &after.assignee
            && a != &who.username
        {
            return Err(Refusal {
                rule: "field_rights".into(),
                reason: format!(
                    "a rep assigns a complaint only to themselves ({}), not to '{a}': a manager assigns it to others",
                    who.username
                ),
            });
        }
        if assigned
            && let Some(a) = &after.assignee
            && w.people.lookup(a) == Lookup::NoSuchUser
        {
            return Err(Refusal {
                rule: "field_rights".into(),
                reason: format!("there is no user '{a}' to assign this complaint to"),
            });
        }
        crate::rights::workflow::check(who, before, after, w.ops)
    }

    fn creation(&self) -> Creation<'_> {
        Creation {
            by_field: Some("recorded_by"),
            by: Some(&self.recorded_by),
            at: &self.created_at,
        }
    }

    fn scope(&self) -> DocScope {
        DocScope {
            customer: Some(self.customer.clone()),
            author: Some(self.recorded_by.clone()),
            approver: self.assignee.clone(),
            ..DocScope::of(Self::KIND, &self.id)
        }
    }

    fn id(&self) -> &str {
        &self.id
    }

    fn attachments(&self) -> Vec<&super::attachment::AttachmentRef> {
        self.evidence.iter().collect()
    }

    fn validate(&self) -> Result<(), ValidationError> {
        validate_root(Self::KIND, &self.kind, self.schema, &self.id)?;
        let at = |e: ValidationError| e.within("complaint");
        if !is_id(&self.customer) {
            return Err(at(ValidationError::new(
                "customer",
                format!("'{}' is not a customer id", self.customer),
            )));
        }
        validate_username("recorded_by", &self.recorded_by).map_err(at)?;
        check_stored_time("received_at", &self.received_at).map_err(at)?;
        limit_text("summary", self.summary.as_str(), 20_000).map_err(at)?;
        attachment::validate_list("evidence", &self.evidence).map_err(at)?;
        if let Some(a) = &self.assignee {
            validate_username("assignee", a).map_err(at)?;
        }
        if let Some(v) = &self.followup_visit
            && !is_id(v)
        {
            return Err(at(ValidationError::new(
                "followup_visit",
                format!("'{v}' is not a visit id"),
            )));
        }
        validate_workflow(self).map_err(at)?;
        if matches!(
            self.status,
            ComplaintStatus::FollowedUp | ComplaintStatus::Closed
        ) {
            self.check_step(ComplaintStatus::FollowedUp.as_str())
                .map_err(at)?;
        }
        check_stored_time("created_at", &self.created_at).map_err(at)?;
        Ok(())
    }

    fn apply_edit(doc: &mut AutoCommit, edit: &ComplaintEdit) -> Result<()> {
        use ComplaintEdit as E;
        let r = &ROOT;
        match edit {
            E::AppendSummary(t) => append_text(doc, r, "summary", "complaint.summary", t),
            E::ReplaceSummary(t) => replace_text(doc, r, "summary", "complaint.summary", t),
            E::Category(c) => set_field(doc, r, "category", c),
            E::Priority(p) => set_field(doc, r, "priority", p),
            E::Channel(c) => set_field(doc, r, "channel", c),
            E::Assign(a) => set_field(doc, r, "assignee", a),
            E::Step {
                to,
                by,
                note,
                visit,
            } => {
                if let Some(v) = visit {
                    if !is_id(v) {
                        return Err(Error::Invalid(ValidationError::new(
                            "complaint.followup_visit",
                            format!("'{v}' is not a visit id"),
                        )));
                    }
                    set_field(doc, r, "followup_visit", &Some(v.clone()))?;
                }
                workflow::step(doc, &Complaint::read(doc)?, to.as_str(), by, note)
            }
            E::AddEvidence(a) => attachment::add_to_list(doc, "evidence", "complaint.evidence", a),
            E::RemoveEvidence(id) => list_remove(doc, r, "evidence", "complaint.evidence", id),
        }
    }
}

impl Staged for Complaint {
    const WORKFLOW: Workflow = Workflow {
        statuses: &[
            "received",
            "investigating",
            "handled",
            "followed_up",
            "closed",
        ],
        steps: &[
            Step {
                from: "received",
                to: "investigating",
                by: &[Actor::Assignee, Actor::Manager],
            },
            Step {
                from: "investigating",
                to: "handled",
                by: &[Actor::Assignee, Actor::Manager],
            },
            Step {
                from: "handled",
                to: "followed_up",
                by: &[Actor::Assignee, Actor::Manager],
            },
            Step {
                from: "followed_up",
                to: "closed",
                by: &[Actor::Assignee, Actor::Manager],
            },
        ],
        frozen: &["closed"],
        fields: &["status", "history", "followup_visit"],
        managers_move_their_own: true,
    };

    fn status(&self) -> &str {
        self.status.as_str()
    }

    fn owner(&self) -> &str {
        &self.recorded_by
    }

    fn assignee(&self) -> Option<&str> {
        self.assignee.as_deref()
    }

    fn history(&self) -> &[StepTaken] {
        &self.history
    }

    fn check_step(&self, to: &str) -> Result<(), ValidationError> {
        let needs_visit =
            to == ComplaintStatus::FollowedUp.as_str() || to == ComplaintStatus::Closed.as_str();
        if needs_visit && self.followup_visit.is_none() {
            return Err(ValidationError::new(
                "followup_visit",
                "a complaint is followed up (and then closed) with the visit that followed it up: name that visit",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::ids::new_id;
    use crate::model::fields::now_string;

    #[test]
    fn a_rep_takes_a_new_complaint_on_themselves_but_assigns_it_to_nobody_else() {
        let rep = crate::rights::Principal {
            username: "wang".into(),
            role: Role::Rep,
            territories: vec!["east".into()],
            manager: Some("zhang".into()),
            team: vec!["wang".into()],
        };
        let new = |assignee: Option<&str>| {
            NewComplaint {
                customer: new_id(),
                recorded_by: "wang".into(),
                received_at: now_string(),
                channel: ComplaintChannel::Visit,
                category: ComplaintCategory::Logistics,
                priority: Priority::Normal,
                summary: "到货延迟".into(),
                assignee: assignee.map(str::to_string),
            }
            .build(new_id(), now_string())
            .unwrap()
        };
        let w = Writer {
            who: &rep,
            ops: &[],
            people: &rep,
            now: chrono::Utc::now(),
        };
        for ok in [None, Some("wang")] {
            Complaint::check_writer(&w, None, &new(ok)).unwrap();
        }
        let refused = Complaint::check_writer(&w, None, &new(Some("li"))).unwrap_err();
        assert_eq!(refused.rule, "field_rights");
        assert!(refused.reason.contains("a manager assigns it"), "{refused}");
    }

    #[test]
    fn response_hours_parse_and_name_what_is_wrong() {
        let h = ResponseHours::parse("urgent=2, normal=48").unwrap();
        assert_eq!((h.urgent, h.high, h.normal), (2, 24, 48));
        assert!(ResponseHours::parse("soon=3").unwrap_err().contains("soon"));
        assert!(
            ResponseHours::parse("urgent=0")
                .unwrap_err()
                .contains("hours")
        );
    }

    #[test]
    fn the_loop_needs_its_follow_up_visit_before_it_is_followed_up() {
        let c = NewComplaint {
            customer: new_id(),
            recorded_by: "wang".into(),
            received_at: now_string(),
            channel: ComplaintChannel::Phone,
            category: ComplaintCategory::Quality,
            priority: Priority::High,
            summary: "轴承异响".into(),
            assignee: Some("wang".into()),
        }
        .build(new_id(), now_string())
        .unwrap();
        let mut doc = AutoCommit::new();
        autosurgeon::reconcile(&mut doc, &c).unwrap();
        let step = |to, visit: Option<String>| ComplaintEdit::Step {
            to,
            by: "wang".into(),
            note: Some("done".into()),
            visit,
        };
        Complaint::apply_edit(&mut doc, &step(ComplaintStatus::Investigating, None)).unwrap();
        Complaint::apply_edit(&mut doc, &step(ComplaintStatus::Handled, None)).unwrap();
        let err =
            Complaint::apply_edit(&mut doc, &step(ComplaintStatus::FollowedUp, None)).unwrap_err();
        assert!(err.to_string().contains("visit"), "{err}");
        Complaint::apply_edit(&mut doc, &step(ComplaintStatus::FollowedUp, Some(new_id())))
            .unwrap();
        Complaint::apply_edit(&mut doc, &step(ComplaintStatus::Closed, None)).unwrap();
        let done = Complaint::read(&doc).unwrap();
        assert_eq!(done.status, ComplaintStatus::Closed);
        assert_eq!(done.history.len(), 4);
        assert!(done.handled_at().is_some());
        let deadline = done.deadline(&ResponseHours::default()).unwrap();
        let received = parse_time("received_at", &done.received_at).unwrap();
        assert_eq!(deadline - received, Duration::hours(24));
    }
}
