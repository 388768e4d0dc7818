//! The workflow rules of orders and complaints, read from each kind's [`Workflow`]
//! declaration: which statuses the writer may reach, that each step is signed by whoever took
//! it, that the history is kept as written, and what a status freezes.
//!
//! Every refusal here has rule `workflow` (or `field_rights` for a forged signature) and says
//! what to do.

use automerge::ScalarValue;

use super::{Principal, Refusal, Role, RootOp, refuse};
use crate::model::fields::a_or_an;
use crate::model::workflow::{self, Actor, Staged};

/// The parties `who` is to `doc`.
fn parties<S: Staged>(who: &Principal, doc: &S) -> Vec<Actor> {
    let mut out = Vec::new();
    let me = who.username.as_str();
    let own = doc.owner() == me;
    if own {
        out.push(Actor::Owner);
    }
    if doc.assignee() == Some(me) {
        out.push(Actor::Assignee);
    }
    if who.role != Role::Rep && (S::WORKFLOW.managers_move_their_own || !own) {
        out.push(Actor::Manager);
    }
    out
}

/// Checks the steps `who` takes from `before` (None for a new document) to `after`.
pub fn check<S: Staged>(
    who: &Principal,
    before: Option<&S>,
    after: &S,
    ops: &[RootOp],
) -> Result<(), Refusal> {
    let wf = S::WORKFLOW;
    let noun = S::KIND.noun();
    // The parties are judged on the document as it was: an assignment made in the same push
    // does not let its assignee move it.
    let parties = parties(who, before.unwrap_or(after));
    let from = before.map(Staged::status);
    // An admin may bring in documents that went their way elsewhere (an import of history).
    let importing = before.is_none() && who.role == Role::Admin;

    let mut statuses = vec![after.status().to_string()];
    for (_, value) in ops.iter().filter(|(f, _)| f == "status") {
        match value {
            Some(ScalarValue::Str(s)) => statuses.push(s.to_string()),
            other => {
                return refuse(
                    "workflow",
                    format!(
                        "the status of {} is text, not {}",
                        a_or_an(noun),
                        super::show(other)
                    ),
                );
            }
        }
    }
    if !importing {
        let reachable = wf.reachable(from, &parties);
        let unreachable = statuses
            .iter()
            .map(String::as_str)
            .chain(
                after
                    .history()
                    .iter()
                    .filter(|e| !before.is_some_and(|b| b.history().contains(e)))
                    .map(|e| e.status.as_str()),
            )
            .find(|s| !reachable.contains(s));
        if let Some(to) = unreachable {
            return refuse("workflow", refusal_for::<S>(who, before, after, to));
        }
    }
    if who.role != Role::Admin {
        let me = who.username.as_str();
        let forged = after
            .history()
            .iter()
            .filter(|e| !before.is_some_and(|b| b.history().contains(e)))
            .find(|e| e.by != me);
        if let Some(entry) = forged {
            return refuse(
                "field_rights",
                format!(
                    "a step names who took it: it must be you ({me}), not '{}'",
                    entry.by
                ),
            );
        }
    }
    if let Some(b) = before {
        if b.history().iter().any(|e| !after.history().contains(e)) {
            return refuse(
                "workflow",
                format!(
                    "the history of {} is kept as it is: its steps never change",
                    a_or_an(noun)
                ),
            );
        }
        if wf.freezes(b.status()) && workflow::content(b) != workflow::content(after) {
            return refuse(
                "workflow",
                format!(
                    "this {noun} is {}: its content no longer changes{}",
                    b.status(),
                    if b.status() == "cancelled" || b.status() == "closed" {
                        ""
                    } else {
                        " (a manager may cancel it; then start a new one)"
                    }
                ),
            );
        }
        let workflow_ops = ops.iter().any(|(f, _)| wf.fields.contains(&f.as_str()));
        if b.status() == after.status()
            && workflow_ops
            && workflow::workflow_fields(b) != workflow::workflow_fields(after)
            && after.history().len() == b.history().len()
        {
            return refuse(
                "workflow",
                format!(
                    "the status fields of {} change only with a step",
                    a_or_an(noun)
                ),
            );
        }
    }
    Ok(())
}

/// The message for a step `who` may not take.
fn refusal_for<S: Staged>(who: &Principal, before: Option<&S>, after: &S, to: &str) -> String {
    let wf = S::WORKFLOW;
    let noun = S::KIND.noun();
    let from = before.map_or(wf.initial(), Staged::status);
    let me = who.username.as_str();
    let Some(step) = wf.step(from, to) else {
        return match before {
            None => format!("a new {noun} starts as {}, not {to}", wf.initial()),
            Some(_) => format!("{} that is {from} cannot become {to}", a_or_an(noun)),
        };
    };
    let doc = before.unwrap_or(after);
    if step.by == [Actor::Manager] && doc.owner() == me {
        return format!(
            "you cannot make your own {noun} {to}: a manager or an admin (not the one who took it) does"
        );
    }
    if step.by.contains(&Actor::Assignee) && doc.assignee() != Some(me) {
        return format!(
            "only the {noun}'s assignee ({}) or a manager moves it to {to}",
            doc.assignee().unwrap_or("nobody yet")
        );
    }
    format!(
        "{} becomes {to} only by {}",
        a_or_an(&format!("{from} {noun}")),
        wf.who_may(from, to).unwrap_or_default()
    )
}
