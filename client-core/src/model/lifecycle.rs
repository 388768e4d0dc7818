//! The approval lifecycle that trip plans and expense claims share: the stages a document goes
//! through, the transitions between them and who may make each, which stages freeze the
//! content, and the record a decision keeps of what it covered.
//!
//! Each kind declares its own [`Lifecycle`] (in its model module); the rules here only read
//! that declaration, so the device (before it writes) and the server (on every push) apply the
//! same machine. What a decision binds to is the content digest ([`content_digest`]): an
//! approval names the digest of the content the approver saw, and is refused where the
//! document's content is no longer that.

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjType, ROOT, ReadDoc};
use autosurgeon::{Hydrate, Reconcile};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::edit::{list_push, set_field};
use super::fields::{
    check_entry_id, check_stored_time, limit_text, now_string, string_enum, validate_username,
};
use crate::error::{Result, ValidationError};
use crate::ids::new_id;

string_enum! {
    /// A stage of the approval lifecycle (the `status` field of plans and claims).
    Stage, "status" {
        /// Being written by its owner.
        Draft = "draft",
        /// Waiting for the approver; the content is frozen.
        Submitted = "submitted",
        /// Approved; the content stays frozen.
        Approved = "approved",
        /// Sent back; the owner may edit and submit again.
        Rejected = "rejected",
        /// Paid out (expense claims).
        Paid = "paid",
    }
}

/// Who may make a transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    /// The document's owner.
    Owner,
    /// The approver named in the document, or an admin; never the owner.
    Approver,
    /// An admin who is not the owner.
    Admin,
}

/// One allowed step of the lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    /// The stage before.
    pub from: Stage,
    /// The stage after.
    pub to: Stage,
    /// Who may take it.
    pub by: Party,
}

/// A kind's lifecycle, declared once in its model module.
#[derive(Debug, Clone, Copy)]
pub struct Lifecycle {
    /// The stages this kind has; the first is where a new document starts.
    pub stages: &'static [Stage],
    /// Every allowed step; anything else (going back from approved or paid, above all) is
    /// refused.
    pub transitions: &'static [Transition],
    /// The stages in which the content cannot change.
    pub frozen: &'static [Stage],
    /// The root fields the lifecycle itself writes (status, who decided and when, …); every
    /// other field but the approver is content.
    pub fields: &'static [&'static str],
}

impl Lifecycle {
    /// Whether `stage` freezes the content.
    pub fn freezes(&self, stage: Stage) -> bool {
        self.frozen.contains(&stage)
    }

    /// The stages `parties` can reach from `from` (itself included) with steps each of them
    /// may take; `None` is a document that does not exist yet, which starts as a draft and may
    /// be submitted by its owner at once.
    pub fn reachable(&self, from: Option<Stage>, parties: &[Party]) -> Vec<Stage> {
        let mut found = match from {
            Some(s) => vec![s],
            None => vec![self.stages[0]],
        };
        let mut i = 0;
        while i < found.len() {
            let at = found[i];
            for t in self.transitions {
                if t.from == at && parties.contains(&t.by) && !found.contains(&t.to) {
                    found.push(t.to);
                }
            }
            i += 1;
        }
        found
    }

    /// Who may move a document from `from` to `to` in one step, if anyone.
    pub fn step(&self, from: Stage, to: Stage) -> Option<Party> {
        self.transitions
            .iter()
            .find(|t| t.from == from && t.to == to)
            .map(|t| t.by)
    }
}

/// The steps trip plans and expense claims share: the owner submits, the approver decides, a
/// rejection reopens the document for its owner.
macro_rules! approval_steps {
    ($($extra:expr),* $(,)?) => {
        &[
            Transition { from: Stage::Draft, to: Stage::Submitted, by: Party::Owner },
            Transition { from: Stage::Submitted, to: Stage::Approved, by: Party::Approver },
            Transition { from: Stage::Submitted, to: Stage::Rejected, by: Party::Approver },
            Transition { from: Stage::Rejected, to: Stage::Draft, by: Party::Owner },
            Transition { from: Stage::Rejected, to: Stage::Submitted, by: Party::Owner },
            $($extra),*
        ]
    };
}
pub(crate) use approval_steps;

/// The accessors of [`Approvable`] that read fields plans and claims share by name.
macro_rules! approvable_fields {
    () => {
        fn owner(&self) -> &str {
            &self.owner
        }

        fn approver(&self) -> &str {
            &self.approver
        }

        fn history(&self) -> &[StatusChange] {
            &self.history
        }

        fn covers(&self) -> Option<&str> {
            self.decision_covers.as_deref()
        }

        fn decided_by(&self) -> Option<&str> {
            self.decided_by.as_deref()
        }
    };
}
pub(crate) use approvable_fields;

/// The declarations plans and claims share in their [`super::DocumentModel`] impls: their
/// scope (owner and approver), their rules (the approval lifecycle), and that they record no
/// creator.
macro_rules! plan_or_claim_declarations {
    () => {
        const ASKS_ABOUT_PEOPLE: bool = true;
        const STATUS_FIELDS: &'static [&'static str] =
            <Self as super::lifecycle::Approvable>::LIFECYCLE.fields;

        fn check_writer(
            w: &crate::rights::Writer<'_>,
            before: Option<&Self>,
            after: &Self,
        ) -> Result<(), crate::rights::Refusal> {
            crate::rights::lifecycle::check_plan_or_claim(w, before, after)
        }

        fn creation(&self) -> crate::rights::Creation<'_> {
            crate::rights::Creation {
                by_field: None,
                by: None,
                at: &self.created_at,
            }
        }

        fn scope(&self) -> DocScope {
            DocScope {
                owner: Some(self.owner.clone()),
                approver: Some(self.approver.clone()),
                ..DocScope::of(Self::KIND, &self.id)
            }
        }
    };
}
pub(crate) use plan_or_claim_declarations;

/// One step a plan or claim took, kept in its `history` so everyone sees who did what, when
/// and why (a rejection's note survives the resubmission that follows it).
#[derive(Debug, Clone, PartialEq, Serialize, Hydrate, Reconcile)]
pub struct StatusChange {
    /// Entry id.
    #[key]
    pub id: String,
    /// The stage entered.
    pub status: Stage,
    /// Who took the step.
    pub by: String,
    /// When, RFC 3339 UTC.
    pub at: String,
    /// The decision note, if any.
    pub note: Option<String>,
    /// For a decision: the digest of the content it covered ([`content_digest`]).
    pub covers: Option<String>,
}

impl StatusChange {
    /// Checks the entry's fields.
    pub fn validate(&self, stages: &[Stage]) -> Result<(), ValidationError> {
        check_entry_id("entry", &self.id)?;
        if !stages.contains(&self.status) {
            return Err(ValidationError::new(
                "status",
                format!("'{}' is not a stage of this kind", self.status),
            ));
        }
        validate_username("by", &self.by)?;
        check_stored_time("at", &self.at)?;
        if let Some(note) = &self.note {
            limit_text("note", note, 2000)?;
        }
        if let Some(c) = &self.covers {
            check_digest("covers", c)?;
        }
        Ok(())
    }
}

/// Checks that `s` looks like a content digest (64 lower-case hex digits).
pub fn check_digest(field: &str, s: &str) -> Result<(), ValidationError> {
    if s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        Ok(())
    } else {
        Err(ValidationError::new(
            field,
            "is not a content digest (64 lower-case hex digits)",
        ))
    }
}

/// The digest of a plan's or claim's content: its typed view as JSON without the lifecycle
/// fields and the approver, so it changes exactly when what an approver approves changes.
/// `extra` adds derived values the approver saw (a claim's total).
pub fn content_digest<T: Serialize>(
    view: &T,
    lifecycle: &Lifecycle,
    extra: &[(&str, serde_json::Value)],
) -> String {
    let mut value = serde_json::to_value(view).unwrap_or(serde_json::Value::Null);
    if let serde_json::Value::Object(map) = &mut value {
        for field in lifecycle.fields.iter().chain(&["approver"]) {
            map.remove(*field);
        }
        for (k, v) in extra {
            map.insert((*k).to_string(), v.clone());
        }
    }
    // A view serializes its fields in one fixed order (declaration order, or sorted keys), so
    // equal content gives equal bytes on every device that runs this version.
    let bytes = serde_json::to_vec(&value).unwrap_or_default();
    hex::encode(Sha256::digest(&bytes))
}

/// What a plan or claim offers the lifecycle rules.
pub trait Approvable: super::DocumentModel {
    /// The kind's lifecycle.
    const LIFECYCLE: Lifecycle;
    /// The current stage.
    fn stage(&self) -> Stage;
    /// The owner.
    fn owner(&self) -> &str;
    /// The approver.
    fn approver(&self) -> &str;
    /// The steps taken so far.
    fn history(&self) -> &[StatusChange];
    /// The digest the last decision covered.
    fn covers(&self) -> Option<&str>;
    /// Who recorded the last decision.
    fn decided_by(&self) -> Option<&str>;
    /// Who recorded the payment, for kinds that are paid.
    fn paid_by(&self) -> Option<&str> {
        None
    }
    /// The digest of the current content ([`content_digest`]).
    fn content_digest(&self) -> String;
    /// Whether the content is complete enough to be submitted.
    fn check_submittable(&self) -> Result<(), ValidationError>;
}

/// Checks the lifecycle fields every approvable document carries: a submitted document says
/// when, a decided one who decided and when, a decision's digest and the history are
/// well-formed, and a submitted (or later) document is complete.
pub fn validate_lifecycle<A: Approvable>(
    doc: &A,
    submitted_at: &Option<String>,
    decided_at: &Option<String>,
    decision_note: &Option<String>,
) -> Result<(), ValidationError> {
    let stage = doc.stage();
    if !A::LIFECYCLE.stages.contains(&stage) {
        return Err(ValidationError::new(
            "status",
            format!("'{stage}' is not a stage of a {}", A::KIND),
        ));
    }
    if let Some(note) = decision_note {
        limit_text("decision_note", note, 2000)?;
    }
    if stage != Stage::Draft {
        match submitted_at {
            Some(t) => check_stored_time("submitted_at", t)?,
            None => {
                return Err(ValidationError::new(
                    "submitted_at",
                    format!("is missing on a {stage} document"),
                ));
            }
        }
    }
    if matches!(stage, Stage::Approved | Stage::Rejected | Stage::Paid) {
        match (decided_at, doc.decided_by()) {
            (Some(t), Some(by)) => {
                check_stored_time("decided_at", t)?;
                validate_username("decided_by", by)?;
            }
            _ => {
                return Err(ValidationError::new(
                    "decided_by",
                    format!("a {stage} document must say who decided and when"),
                ));
            }
        }
    }
    if let Some(c) = doc.covers() {
        check_digest("decision_covers", c)?;
    }
    for (i, entry) in doc.history().iter().enumerate() {
        entry
            .validate(A::LIFECYCLE.stages)
            .map_err(|e| e.within(&format!("history[{i}]")))?;
    }
    if A::LIFECYCLE.freezes(stage) {
        doc.check_submittable()?;
    }
    Ok(())
}

/// Appends a step to the document's `history`, creating the list in a document written before
/// histories were kept.
fn push_history(doc: &mut AutoCommit, entry: &StatusChange) -> Result<()> {
    if doc.get(ROOT, "history")?.is_none() {
        doc.put_object(ROOT, "history", ObjType::List)?;
    }
    list_push(doc, &ROOT, "history", "history", entry)
}

fn step_entry(
    stage: Stage,
    by: &str,
    note: &Option<String>,
    covers: Option<String>,
) -> StatusChange {
    StatusChange {
        id: new_id(),
        status: stage,
        by: by.to_string(),
        at: now_string(),
        note: note.clone(),
        covers,
    }
}

/// Refuses a step the document's current stage does not allow, before anything is written.
fn require<A: Approvable>(current: &A, step: &str, allowed: &[Stage]) -> Result<()> {
    let now = current.stage();
    if allowed.contains(&now) {
        return Ok(());
    }
    let names: Vec<&str> = allowed.iter().map(|s| s.as_str()).collect();
    Err(ValidationError::new(
        format!("{}.status", A::KIND),
        format!(
            "this {} is {now}: it cannot be {step}, only one that is {}",
            A::KIND.noun(),
            names.join(" or ")
        ),
    )
    .into())
}

/// The owner sends the document to its approver.
pub(crate) fn submit<A: Approvable>(doc: &mut AutoCommit, current: &A) -> Result<()> {
    require(current, "submitted", &[Stage::Draft, Stage::Rejected])?;
    let owner = current.owner();
    set_field(doc, &ROOT, "status", &Stage::Submitted)?;
    set_field(doc, &ROOT, "submitted_at", &Some(now_string()))?;
    push_history(doc, &step_entry(Stage::Submitted, owner, &None, None))
}

/// Records an approver's decision: status, who, when, the note, and (for an approval) the
/// digest of the content decided on, in the flat fields and in the history.
pub(crate) fn decide<A: Approvable>(
    doc: &mut AutoCommit,
    current: &A,
    stage: Stage,
    by: &str,
    note: &Option<String>,
) -> Result<()> {
    require(current, "approved or rejected", &[Stage::Submitted])?;
    let covers = current.content_digest();
    let r = &ROOT;
    set_field(doc, r, "status", &stage)?;
    set_field(doc, r, "decided_by", &Some(by.to_string()))?;
    set_field(doc, r, "decided_at", &Some(now_string()))?;
    set_field(doc, r, "decision_note", note)?;
    set_field(doc, r, "decision_covers", &Some(covers.clone()))?;
    push_history(doc, &step_entry(stage, by, note, Some(covers)))
}

/// Records a payment: status, who and when.
pub(crate) fn pay<A: Approvable>(doc: &mut AutoCommit, current: &A, by: &str) -> Result<()> {
    require(current, "paid", &[Stage::Approved])?;
    set_field(doc, &ROOT, "status", &Stage::Paid)?;
    set_field(doc, &ROOT, "paid_by", &Some(by.to_string()))?;
    set_field(doc, &ROOT, "paid_at", &Some(now_string()))?;
    push_history(doc, &step_entry(Stage::Paid, by, &None, None))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLAIM: Lifecycle = Lifecycle {
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
            by: Party::Admin
        }),
        frozen: &[Stage::Submitted, Stage::Approved, Stage::Paid],
        fields: &["status"],
    };

    #[test]
    fn an_owner_submits_and_resubmits_but_never_decides() {
        let owner = CLAIM.reachable(Some(Stage::Draft), &[Party::Owner]);
        assert_eq!(owner, vec![Stage::Draft, Stage::Submitted]);
        let reopened = CLAIM.reachable(Some(Stage::Rejected), &[Party::Owner]);
        assert!(reopened.contains(&Stage::Draft) && reopened.contains(&Stage::Submitted));
        assert!(!reopened.contains(&Stage::Approved));
        assert_eq!(
            CLAIM.reachable(Some(Stage::Submitted), &[Party::Owner]),
            vec![Stage::Submitted]
        );
    }

    #[test]
    fn nothing_goes_back_from_approved_or_paid() {
        let everyone = [Party::Owner, Party::Approver, Party::Admin];
        assert_eq!(
            CLAIM.reachable(Some(Stage::Approved), &everyone),
            vec![Stage::Approved, Stage::Paid]
        );
        assert_eq!(
            CLAIM.reachable(Some(Stage::Paid), &everyone),
            vec![Stage::Paid]
        );
    }

    #[test]
    fn only_an_admin_pays_and_only_what_was_approved() {
        assert_eq!(CLAIM.step(Stage::Approved, Stage::Paid), Some(Party::Admin));
        assert_eq!(CLAIM.step(Stage::Submitted, Stage::Paid), None);
        assert!(
            !CLAIM
                .reachable(Some(Stage::Approved), &[Party::Approver])
                .contains(&Stage::Paid)
        );
        // A new document is a draft, or submitted by its owner: never born decided or paid.
        assert_eq!(
            CLAIM.reachable(None, &[Party::Owner]),
            vec![Stage::Draft, Stage::Submitted]
        );
        assert_eq!(
            CLAIM.reachable(None, &[Party::Approver, Party::Admin]),
            vec![Stage::Draft]
        );
    }

    #[test]
    fn the_digest_ignores_lifecycle_fields_and_the_approver_but_not_content() {
        let a = serde_json::json!({"title": "x", "status": "draft", "approver": "zhang"});
        let b = serde_json::json!({"title": "x", "status": "approved", "approver": "wang"});
        let c = serde_json::json!({"title": "y", "status": "draft", "approver": "zhang"});
        assert_eq!(
            content_digest(&a, &CLAIM, &[]),
            content_digest(&b, &CLAIM, &[])
        );
        assert_ne!(
            content_digest(&a, &CLAIM, &[]),
            content_digest(&c, &CLAIM, &[])
        );
        let total = [("total", serde_json::json!(300))];
        assert_ne!(
            content_digest(&a, &CLAIM, &[]),
            content_digest(&a, &CLAIM, &total)
        );
        assert!(check_digest("d", &content_digest(&a, &CLAIM, &[])).is_ok());
    }
}
