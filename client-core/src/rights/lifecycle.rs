//! The approval rules of plans and claims, read from each kind's [`Lifecycle`] declaration:
//! which stages the writer may reach, what a stage freezes, who may approve whose documents,
//! and that a decision covers the content as it is.
//!
//! Every refusal here has rule `approval` and says what to do.

use automerge::ScalarValue;

use super::{Directory, Lookup, Principal, Role, RootOp, refuse};
use crate::model::lifecycle::{Approvable, Party, Stage};

type Refused = Result<(), super::Refusal>;

/// The parties `who` is to a document with this owner and approver.
fn parties(who: &Principal, owner: &str, approver: &str) -> Vec<Party> {
    if who.username == owner {
        // Whatever their role, nobody decides or pays their own plan or claim.
        return vec![Party::Owner];
    }
    let mut out = Vec::new();
    if who.username == approver || who.role == Role::Admin {
        out.push(Party::Approver);
    }
    if who.role == Role::Admin {
        out.push(Party::Admin);
    }
    out
}

/// Checks the approval lifecycle `who` takes a plan or claim through, from `before` (None for
/// a new one) to `after`; the kind's own rules call it.
pub(crate) fn check_approvable<A: Approvable>(
    who: &Principal,
    before: Option<&A>,
    after: &A,
    ops: &[RootOp],
    people: &dyn Directory,
) -> Refused {
    let lc = A::LIFECYCLE;
    let kind = A::KIND.noun();
    let owner = before.map_or(after.owner(), |b| b.owner());
    let approver = before.map_or(after.approver(), |b| b.approver());
    let from = before.map(Approvable::stage);
    let to = after.stage();
    // An admin may bring in documents decided elsewhere (an import of the company's history).
    let importing = before.is_none() && who.role == Role::Admin;

    let names_people = ops
        .iter()
        .any(|(f, _)| matches!(f.as_str(), "owner" | "approver"));
    let decides = matches!(to, Stage::Approved | Stage::Rejected) && from != Some(to);
    if names_people {
        check_approver(who, after.owner(), after.approver(), kind, people)?;
    } else if decides {
        check_decider(after.owner(), after.approver(), kind, people)?;
    }

    let mut stages = vec![to];
    for (_, value) in ops.iter().filter(|(f, _)| f == "status") {
        match value {
            Some(ScalarValue::Str(s)) => match s.parse::<Stage>() {
                Ok(stage) => stages.push(stage),
                Err(_) => return refuse("approval", format!("'{s}' is not a {kind} status")),
            },
            other => {
                return refuse(
                    "approval",
                    format!("the status of a {kind} is text, not {}", super::show(other)),
                );
            }
        }
    }
    if !importing {
        let reachable = lc.reachable(from, &parties(who, owner, approver));
        if let Some(bad) = stages.iter().find(|s| !reachable.contains(s)) {
            return refuse(
                "approval",
                refusal_for(who, from, *bad, owner, approver, kind),
            );
        }
        // A decision binds to what the approver saw: it must be the status the document ends
        // with (not one side of a conflict with a concurrent step), and an approval must cover
        // the content as it now is.
        let stale = stages[1..]
            .iter()
            .any(|s| matches!(s, Stage::Approved | Stage::Rejected) && *s != to)
            || (to == Stage::Approved
                && from != Some(Stage::Approved)
                && after.covers() != Some(after.content_digest().as_str()));
        if stale {
            return refuse(
                "approval",
                format!(
                    "the {kind} changed while you reviewed it: sync and review it again before you decide"
                ),
            );
        }
        for entry in after.history() {
            let known = before.is_some_and(|b| b.history().iter().any(|e| e.id == entry.id));
            if known {
                continue;
            }
            if !reachable.contains(&entry.status) {
                return refuse(
                    "approval",
                    refusal_for(who, from, entry.status, owner, approver, kind),
                );
            }
            if who.role != Role::Admin && entry.by != who.username {
                return refuse(
                    "field_rights",
                    format!(
                        "a history entry names who took the step: it must be you ({}), not '{}'",
                        who.username, entry.by
                    ),
                );
            }
        }
    }
    if let Some(b) = before {
        // The history is a record: entries are added, never changed or removed.
        for entry in b.history() {
            if !after.history().iter().any(|e| e == entry) {
                return refuse(
                    "approval",
                    format!("the history of a {kind} is kept as it is: its entries never change"),
                );
            }
        }
        if lc.freezes(b.stage()) && b.content_digest() != after.content_digest() {
            return refuse(
                "approval",
                format!(
                    "this {kind} is {}: its content is frozen{}",
                    b.stage(),
                    match b.stage() {
                        Stage::Submitted =>
                            "; ask the approver to reject it, then edit and submit it again",
                        _ => ": start a new one for anything else",
                    }
                ),
            );
        }
        let lifecycle_ops = ops.iter().any(|(f, _)| lc.fields.contains(&f.as_str()));
        if from == Some(to) && lifecycle_ops && !unchanged_lifecycle(b, after) {
            return refuse(
                "approval",
                format!("the decision fields of a {kind} change only with its status"),
            );
        }
    }
    if matches!(to, Stage::Approved | Stage::Rejected | Stage::Paid)
        && after.decided_by() == Some(after.owner())
    {
        return refuse(
            "approval",
            format!(
                "{} cannot decide their own {kind}: their manager or an admin decides it",
                after.owner()
            ),
        );
    }
    if after.paid_by() == Some(after.owner()) {
        return refuse(
            "approval",
            format!(
                "{} cannot record the payment of their own {kind}: an admin records it",
                after.owner()
            ),
        );
    }
    Ok(())
}

/// Whether the lifecycle fields hold what they held (a rewrite of the same value is harmless).
fn unchanged_lifecycle<A: Approvable>(before: &A, after: &A) -> bool {
    let strip = |d: &A| {
        let mut v = serde_json::to_value(d).unwrap_or(serde_json::Value::Null);
        if let serde_json::Value::Object(map) = &mut v {
            map.retain(|k, _| A::LIFECYCLE.fields.contains(&k.as_str()));
        }
        v
    };
    strip(before) == strip(after)
}

/// The message for a step `who` may not take.
fn refusal_for(
    who: &Principal,
    from: Option<Stage>,
    to: Stage,
    owner: &str,
    approver: &str,
    kind: &str,
) -> String {
    let me = who.username.as_str();
    match (from, to) {
        (_, Stage::Approved | Stage::Rejected) if me == owner => format!(
            "you cannot approve or reject your own {kind}: {approver} decides it once you submit it"
        ),
        (_, Stage::Paid) if me == owner => {
            format!("you cannot mark your own {kind} paid: an admin records the payment")
        }
        (_, Stage::Paid) if who.role != Role::Admin => {
            format!("only an admin records the payment of an {kind}")
        }
        (Some(Stage::Approved | Stage::Paid), _) => format!(
            "this {kind} is already {}: it cannot go back to {to}",
            from.map_or("new", Stage::as_str)
        ),
        (_, Stage::Approved | Stage::Rejected) if me != approver => {
            format!("only the approver ({approver}) or an admin decides this {kind}")
        }
        (Some(f), _) => format!("a {kind} that is {f} cannot become {to} by you"),
        (None, _) => {
            format!("a new {kind} starts as a draft (or submitted by its owner), not {to}")
        }
    }
}

/// Who may be named approver of whose plans and claims: never the owner; the owner's own
/// manager or an admin, so a manager's own plans go to an admin (or to their manager), never to
/// a peer. An admin may also name any manager (standing in for one who is away).
fn check_approver(
    who: &Principal,
    owner: &str,
    approver: &str,
    kind: &str,
    people: &dyn Directory,
) -> Refused {
    check_decider(owner, approver, kind, people)?;
    let owners_manager = match people.lookup(owner) {
        Lookup::Found(p) => p.manager,
        Lookup::NoSuchUser | Lookup::Unknown => None,
    };
    if owners_manager.as_deref() == Some(approver) || who.role == Role::Admin {
        return Ok(());
    }
    match people.lookup(approver) {
        Lookup::Found(p) if p.role == Role::Admin => Ok(()),
        Lookup::Unknown | Lookup::NoSuchUser => Ok(()),
        Lookup::Found(_) => refuse(
            "approval",
            format!(
                "{approver} cannot approve {owner}'s {kind}: it is approved by {} or an admin",
                owners_manager.unwrap_or_else(|| "their manager".to_string())
            ),
        ),
    }
}

/// Whoever decides is not the owner and is a manager or an admin who exists.
fn check_decider(owner: &str, approver: &str, kind: &str, people: &dyn Directory) -> Refused {
    if owner == approver {
        return refuse(
            "approval",
            format!(
                "{owner} cannot approve their own {kind}: name their manager or an admin as approver"
            ),
        );
    }
    match people.lookup(approver) {
        Lookup::Found(p) if p.role == Role::Rep => refuse(
            "approval",
            format!("{approver} is a rep: plans and claims are approved by a manager or an admin"),
        ),
        Lookup::NoSuchUser => refuse(
            "approval",
            format!("there is no user '{approver}' to approve this {kind}"),
        ),
        Lookup::Found(_) | Lookup::Unknown => Ok(()),
    }
}

/// Whether the changes only decide the plan or claim: approved or rejected, with who, when,
/// the note and what it covers, and nothing else (also among the operations, so nothing hides
/// in a conflict).
pub(crate) fn only_decided<A: Approvable>(b: &A, a: &A, ops: &[RootOp]) -> bool {
    let decides = |v: &Option<ScalarValue>| matches!(v, Some(ScalarValue::Str(s)) if matches!(s.as_str(), "approved" | "rejected"));
    let ops_ok = ops.iter().all(|(field, value)| {
        A::LIFECYCLE.fields.contains(&field.as_str())
            && !matches!(field.as_str(), "paid_at" | "paid_by" | "submitted_at")
            && (field != "status" || decides(value))
    });
    ops_ok && b.content_digest() == a.content_digest() && b.approver() == a.approver()
}

/// The rules every plan and claim obeys beyond the shared ones: a rep creates their own, a
/// manager outside the owner's team only decides as the approver (the server, which knows the
/// team, asks), and the approval lifecycle.
pub(crate) fn check_plan_or_claim<A: Approvable>(
    w: &super::Writer<'_>,
    before: Option<&A>,
    after: &A,
) -> Refused {
    let who = w.who;
    let kind = A::KIND.noun();
    if w.is_rep() && before.is_none() && after.owner() != w.me() {
        return refuse(
            "field_rights",
            "a rep creates trip plans and claims they own",
        );
    }
    if who.role == Role::Manager
        && w.people.complete()
        && !who.team.iter().any(|t| t == after.owner())
        && let Some(b) = before
        && b.approver() == w.me()
        && !only_decided(b, after, w.ops)
    {
        return refuse(
            "field_rights",
            format!(
                "{} is not in your team: as the approver you only approve or reject this {kind}",
                after.owner()
            ),
        );
    }
    check_approvable(who, before, after, w.ops, w.people)
}
