//! The status workflows of orders and complaints: a document moves through named statuses,
//! each step taken by a party the kind declares (its owner, its assignee, a manager), and
//! every step is kept in the document's `history` with who took it, when and why.
//!
//! A kind declares its [`Workflow`] in its model module; the rules in
//! `crate::rights::workflow` read only that declaration, so the device (before it writes) and
//! the server (on every push) apply the same machine. Plans and claims have the approval
//! lifecycle of [`super::lifecycle`] instead, which also binds a decision to the content it
//! covered.

use automerge::{AutoCommit, ROOT};
use autosurgeon::{Hydrate, Reconcile};
use serde::Serialize;

use super::DocumentModel;
use super::edit::{list_push, set_field};
use super::fields::{
    a_or_an, check_entry_id, check_stored_time, limit_text, now_string, validate_username,
};
use crate::error::{Error, Result, ValidationError};
use crate::ids::new_id;

/// Who may take a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// The document's owner: the rep who took the order, who recorded the complaint.
    Owner,
    /// The user the document is assigned to.
    Assignee,
    /// A manager or an admin who may write the document (its scope decides which).
    Manager,
}

impl Actor {
    fn describe(self) -> &'static str {
        match self {
            Actor::Owner => "its owner",
            Actor::Assignee => "its assignee",
            Actor::Manager => "a manager or an admin",
        }
    }
}

/// One allowed step.
#[derive(Debug, Clone, Copy)]
pub struct Step {
    /// The status before.
    pub from: &'static str,
    /// The status after.
    pub to: &'static str,
    /// Who may take it.
    pub by: &'static [Actor],
}

/// A kind's workflow, declared once in its model module.
#[derive(Debug, Clone, Copy)]
pub struct Workflow {
    /// Every status, the first being where a new document starts.
    pub statuses: &'static [&'static str],
    /// Every allowed step; anything else is refused.
    pub steps: &'static [Step],
    /// The statuses in which the content (everything but the workflow's own fields) is
    /// frozen.
    pub frozen: &'static [&'static str],
    /// The root fields the workflow writes.
    pub fields: &'static [&'static str],
    /// Whether a manager may move a document they own themselves (a complaint they recorded:
    /// yes; an order they took: no, another manager or an admin confirms it).
    pub managers_move_their_own: bool,
}

impl Workflow {
    /// Where a new document starts.
    pub fn initial(&self) -> &'static str {
        self.statuses[0]
    }

    /// The statuses `parties` can reach from `from` (itself included); `None` is a new
    /// document, which starts at [`Workflow::initial`].
    pub fn reachable(&self, from: Option<&str>, parties: &[Actor]) -> Vec<&'static str> {
        let start = from
            .and_then(|f| self.statuses.iter().find(|s| **s == f))
            .copied()
            .unwrap_or(self.initial());
        let mut found = vec![start];
        let mut i = 0;
        while i < found.len() {
            let at = found[i];
            for step in self.steps {
                if step.from == at
                    && step.by.iter().any(|b| parties.contains(b))
                    && !found.contains(&step.to)
                {
                    found.push(step.to);
                }
            }
            i += 1;
        }
        found
    }

    /// The step from `from` to `to`, if the workflow has one.
    pub fn step(&self, from: &str, to: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.from == from && s.to == to)
    }

    /// Whether `status` freezes the content.
    pub fn freezes(&self, status: &str) -> bool {
        self.frozen.contains(&status)
    }

    /// Who may take the step from `from` to `to`, in words ("a manager or an admin").
    pub fn who_may(&self, from: &str, to: &str) -> Option<String> {
        self.step(from, to).map(|s| {
            s.by.iter()
                .map(|a| a.describe())
                .collect::<Vec<_>>()
                .join(" or ")
        })
    }
}

/// One step a document took.
#[derive(Debug, Clone, PartialEq, Serialize, Hydrate, Reconcile)]
pub struct StepTaken {
    /// Entry id.
    #[key]
    pub id: String,
    /// The status entered.
    pub status: String,
    /// Who took the step.
    pub by: String,
    /// When, RFC 3339 UTC.
    pub at: String,
    /// Why, or what was done.
    pub note: Option<String>,
}

/// What the workflow rules read of a document.
pub trait Staged: DocumentModel {
    /// The kind's workflow.
    const WORKFLOW: Workflow;
    /// The current status, as stored.
    fn status(&self) -> &str;
    /// Whose document it is ([`Actor::Owner`]).
    fn owner(&self) -> &str;
    /// The user it is assigned to ([`Actor::Assignee`]), if any.
    fn assignee(&self) -> Option<&str>;
    /// The steps taken.
    fn history(&self) -> &[StepTaken];
    /// Whether the document may take the step to `to` as it is (an order needs lines to be
    /// submitted, a complaint its follow-up visit to be followed up); the error says what is
    /// missing.
    fn check_step(&self, to: &str) -> Result<(), ValidationError>;
}

/// The document's content: every root field but the workflow's own, to compare what a step
/// leaves unchanged.
pub fn content<S: Staged>(doc: &S) -> serde_json::Value {
    let mut v = serde_json::to_value(doc).unwrap_or(serde_json::Value::Null);
    if let serde_json::Value::Object(map) = &mut v {
        map.retain(|k, _| !S::WORKFLOW.fields.contains(&k.as_str()));
    }
    v
}

/// The workflow's own fields of the document.
pub fn workflow_fields<S: Staged>(doc: &S) -> serde_json::Value {
    let mut v = serde_json::to_value(doc).unwrap_or(serde_json::Value::Null);
    if let serde_json::Value::Object(map) = &mut v {
        map.retain(|k, _| S::WORKFLOW.fields.contains(&k.as_str()));
    }
    v
}

/// Checks the status and the history entries: a known status, every status past the first
/// reached by a step recorded in the history, each entry well-formed.
pub fn validate_workflow<S: Staged>(doc: &S) -> Result<(), ValidationError> {
    let wf = S::WORKFLOW;
    if !wf.statuses.contains(&doc.status()) {
        return Err(ValidationError::new(
            "status",
            format!(
                "'{}' is not a status (expected one of {})",
                doc.status(),
                wf.statuses.join(", ")
            ),
        ));
    }
    for (i, entry) in doc.history().iter().enumerate() {
        let within = |e: ValidationError| e.within(&format!("history[{i}]"));
        check_entry_id("id", &entry.id).map_err(within)?;
        if !wf.statuses.contains(&entry.status.as_str()) {
            return Err(within(ValidationError::new(
                "status",
                format!("'{}' is not a status", entry.status),
            )));
        }
        validate_username("by", &entry.by).map_err(within)?;
        check_stored_time("at", &entry.at).map_err(within)?;
        if let Some(note) = &entry.note {
            limit_text("note", note, 2000).map_err(within)?;
        }
    }
    if doc.status() != wf.initial() && !doc.history().iter().any(|e| e.status == doc.status()) {
        return Err(ValidationError::new(
            "history",
            format!(
                "the document is {} but its history has no step to it",
                doc.status()
            ),
        ));
    }
    Ok(())
}

/// The first time the document entered `status`, from its history.
pub fn entered_at<'a>(history: &'a [StepTaken], status: &str) -> Option<&'a str> {
    history
        .iter()
        .filter(|e| e.status == status)
        .map(|e| e.at.as_str())
        .min()
}

/// Moves `current` (read from `doc`) to `to` as `by`, with a note: the status and a history
/// entry. Refuses a step the workflow does not have, or one the document is not ready for;
/// who may take it is the rights' question.
pub fn step<S: Staged>(
    doc: &mut AutoCommit,
    current: &S,
    to: &str,
    by: &str,
    note: &Option<String>,
) -> Result<()> {
    let wf = S::WORKFLOW;
    let noun = S::KIND.noun();
    let from = current.status();
    if wf.step(from, to).is_none() {
        let next: Vec<&str> = wf
            .steps
            .iter()
            .filter(|s| s.from == from)
            .map(|s| s.to)
            .collect();
        let hint = if next.is_empty() {
            format!(
                "{} does not move any more",
                a_or_an(&format!("{from} {noun}"))
            )
        } else {
            format!("from {from} it goes to {}", next.join(" or "))
        };
        return Err(Error::Invalid(ValidationError::new(
            format!("{}.status", S::KIND),
            format!("{} cannot go from {from} to {to}: {hint}", a_or_an(noun)),
        )));
    }
    current
        .check_step(to)
        .map_err(|e| Error::Invalid(e.within(S::KIND.as_str())))?;
    let entry = StepTaken {
        id: new_id(),
        status: to.to_string(),
        by: by.to_string(),
        at: now_string(),
        note: note.clone(),
    };
    set_field(doc, &ROOT, "status", &to.to_string())?;
    list_push(
        doc,
        &ROOT,
        "history",
        &format!("{}.history", S::KIND),
        &entry,
    )
}
