//! Who may see and change what: the server's decisions, never the client's.
//!
//! Scope (what a user receives):
//! - admin: every document;
//! - manager: customers in their territories or owned by their team (their reps and
//!   themselves), the visits of those customers, and trip plans and expense claims owned by the
//!   team or waiting for them as approver;
//! - rep: the customers they own, the visits of those customers, their own trip plans and
//!   expense claims.
//!
//! Writes are checked on the document before and after the pushed changes, and on the
//! operations the changes contain, so a forbidden value that loses a concurrent conflict (and
//! so never shows in the merged document) is still caught.

use automerge::legacy::{Key, ObjectId, OpType};
use automerge::{ExpandedChange, ScalarValue};
use fieldsync_core::model::Document;

use crate::storage::{DocScope, Role, User};

/// The caller of a request, as its verified token and the user table say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// User name.
    pub username: String,
    /// Role.
    pub role: Role,
    /// The user's territories.
    pub territories: Vec<String>,
    /// The user's manager.
    pub manager: Option<String>,
    /// Managers: the reps they manage and themselves. Others: themselves.
    pub team: Vec<String>,
}

impl Principal {
    /// Builds the principal of `user`, with the team from the whole user list.
    pub fn of(user: &User, all: &[User]) -> Principal {
        let mut team = vec![user.username.clone()];
        if user.role == Role::Manager {
            team.extend(
                all.iter()
                    .filter(|u| u.manager.as_deref() == Some(user.username.as_str()))
                    .map(|u| u.username.clone()),
            );
        }
        Principal {
            username: user.username.clone(),
            role: user.role,
            territories: user.territories.clone(),
            manager: user.manager.clone(),
            team,
        }
    }

    fn in_team(&self, name: Option<&str>) -> bool {
        name.is_some_and(|n| self.team.iter().any(|t| t == n))
    }

    /// Whether this user sees a customer with these scope fields.
    pub fn sees_customer(&self, customer: &DocScope) -> bool {
        match self.role {
            Role::Admin => true,
            Role::Manager => {
                customer
                    .territory
                    .as_ref()
                    .is_some_and(|t| self.territories.contains(t))
                    || self.in_team(customer.owner.as_deref())
            }
            Role::Rep => customer.owner.as_deref() == Some(self.username.as_str()),
        }
    }

    /// Whether this user sees a document; a visit needs its customer's scope fields.
    pub fn sees(&self, doc: &DocScope, customer: Option<&DocScope>) -> bool {
        match doc.kind.as_str() {
            "customer" => self.sees_customer(doc),
            "visit" => self.role == Role::Admin || customer.is_some_and(|c| self.sees_customer(c)),
            _ => match self.role {
                Role::Admin => true,
                Role::Manager => {
                    self.in_team(doc.owner.as_deref())
                        || doc.approver.as_deref() == Some(self.username.as_str())
                }
                Role::Rep => doc.owner.as_deref() == Some(self.username.as_str()),
            },
        }
    }
}

/// The scope fields of a validated document.
pub fn scope_of(doc: &Document) -> DocScope {
    let mut s = DocScope {
        id: doc.id().to_string(),
        kind: doc.kind().as_str().to_string(),
        ..Default::default()
    };
    match doc {
        Document::Customer(c) => {
            s.territory = Some(c.territory.clone());
            s.owner = Some(c.owner.clone());
        }
        Document::Visit(v) => {
            s.customer = Some(v.customer.clone());
            s.author = Some(v.author.clone());
        }
        Document::TripPlan(p) => {
            s.owner = Some(p.owner.clone());
            s.approver = Some(p.approver.clone());
        }
        Document::ExpenseClaim(e) => {
            s.owner = Some(e.owner.clone());
            s.approver = Some(e.approver.clone());
        }
    }
    s
}

/// Why a write was refused: the rule and a message for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// `scope`, `field_rights` or `approval`.
    pub rule: &'static str,
    /// What was wrong.
    pub reason: String,
}

fn refuse<T>(rule: &'static str, reason: impl Into<String>) -> Result<T, Refusal> {
    Err(Refusal {
        rule,
        reason: reason.into(),
    })
}

/// What the write check needs to know besides the document itself.
#[derive(Debug, Clone, Default)]
pub struct WriteContext {
    /// For a visit: its customer's scope fields as stored (the customer must exist).
    pub customer: Option<DocScope>,
    /// For a visit already on the server: the scope fields of the customer it had before the
    /// push, which may differ from [`WriteContext::customer`] when the push points the visit at
    /// another customer. The writer must see the visit as it was, not only as it would be.
    pub customer_before: Option<DocScope>,
}

/// Root fields only managers and admins set on existing documents, per kind.
fn protected_fields(kind: &str) -> &'static [&'static str] {
    match kind {
        "customer" => &["owner", "territory"],
        "visit" => &["author", "customer"],
        "trip_plan" => &[
            "owner",
            "approver",
            "decided_by",
            "decided_at",
            "decision_note",
        ],
        _ => &[
            "owner",
            "approver",
            "decided_by",
            "decided_at",
            "decision_note",
            "paid_at",
            "paid_by",
        ],
    }
}

/// Root-level puts and deletes of the changes: (field, value put, or None for a delete).
fn root_ops(changes: &[ExpandedChange]) -> Vec<(String, Option<ScalarValue>)> {
    let mut out = Vec::new();
    for change in changes {
        for op in &change.operations {
            if op.obj != ObjectId::Root {
                continue;
            }
            let Key::Map(key) = &op.key else { continue };
            match &op.action {
                OpType::Put(v) => out.push((key.to_string(), Some(v.clone()))),
                OpType::Delete => out.push((key.to_string(), None)),
                OpType::Make(_) => out.push((key.to_string(), Some(ScalarValue::Null))),
                _ => {}
            }
        }
    }
    out
}

/// Checks that `who` may turn `before` (None for a new document) into `after` with `changes`.
pub fn check_write(
    who: &Principal,
    before: Option<&Document>,
    after: &Document,
    changes: &[ExpandedChange],
    ctx: &WriteContext,
) -> Result<(), Refusal> {
    let after_scope = scope_of(after);
    if let Some(b) = before
        && !who.sees(&scope_of(b), ctx.customer_before.as_ref())
    {
        return refuse(
            "scope",
            format!(
                "{} {} is not in your part of the business",
                after.kind(),
                after.id()
            ),
        );
    }
    if after.kind().as_str() == "visit" && ctx.customer.is_none() {
        return refuse(
            "scope",
            "the visit's customer is not on the server: sync the customer first",
        );
    }
    if !who.sees(&after_scope, ctx.customer.as_ref()) {
        return refuse(
            "scope",
            format!(
                "{} {} would be outside your part of the business after this change",
                after.kind(),
                after.id()
            ),
        );
    }
    let ops = root_ops(changes);
    match who.role {
        Role::Rep => check_rep(who, before, after, &ops)?,
        Role::Manager => check_manager(who, before, after, &ops)?,
        Role::Admin => {}
    }
    check_signatures(who, after, &ops)
}

/// A decision or a payment is signed by whoever makes it (`decided_by`, `paid_by` name the
/// writer; an admin may record someone else's), and nobody, admins included, approves their own
/// plan or claim (its approver is never its owner).
fn check_signatures(
    who: &Principal,
    after: &Document,
    ops: &[(String, Option<ScalarValue>)],
) -> Result<(), Refusal> {
    // An admin may record decisions and payments made elsewhere (an import of the company's
    // history); everyone else signs their own.
    let forged = ops.iter().find(|(field, value)| {
        matches!(field.as_str(), "decided_by" | "paid_by")
            && matches!(value, Some(ScalarValue::Str(by)) if by.as_str() != who.username)
    });
    if who.role != Role::Admin
        && let Some((field, value)) = forged
    {
        return refuse(
            "field_rights",
            format!(
                "{field} names who made the decision or payment: it must be you ({}), not {}",
                who.username,
                show(value)
            ),
        );
    }
    let scope = scope_of(after);
    let names_approver_or_owner = ops
        .iter()
        .any(|(field, _)| matches!(field.as_str(), "approver" | "owner"));
    if names_approver_or_owner && scope.approver.is_some() && scope.approver == scope.owner {
        return refuse(
            "approval",
            format!(
                "{} cannot approve their own {}: name their manager or an admin as approver",
                scope.owner.unwrap_or_default(),
                after.kind()
            ),
        );
    }
    Ok(())
}

fn status_of(doc: &Document) -> Option<String> {
    match doc {
        Document::TripPlan(p) => Some(p.status.as_str().to_string()),
        Document::ExpenseClaim(e) => Some(e.status.as_str().to_string()),
        _ => None,
    }
}

fn check_rep(
    who: &Principal,
    before: Option<&Document>,
    after: &Document,
    ops: &[(String, Option<ScalarValue>)],
) -> Result<(), Refusal> {
    let me = who.username.as_str();
    let kind = after.kind().as_str();
    match (before, after) {
        (None, Document::Customer(c)) => {
            if c.owner != me {
                return refuse(
                    "field_rights",
                    "a rep creates customers they own: set owner to yourself",
                );
            }
            if !who.territories.contains(&c.territory) {
                return refuse(
                    "scope",
                    format!("territory '{}' is not one of yours", c.territory),
                );
            }
        }
        (None, Document::Visit(v)) if v.author != me => {
            return refuse(
                "field_rights",
                "a rep records visits as themselves: set author to yourself",
            );
        }
        (Some(_), Document::Visit(v)) if v.author != me => {
            return refuse("field_rights", "a rep edits only their own visits");
        }
        (None, Document::TripPlan(_) | Document::ExpenseClaim(_)) => {
            let scope = scope_of(after);
            if scope.owner.as_deref() != Some(me) {
                return refuse(
                    "field_rights",
                    "a rep creates trip plans and claims they own",
                );
            }
            if who.manager.is_some() && scope.approver != who.manager {
                return refuse(
                    "field_rights",
                    "the approver of your plans and claims is your manager",
                );
            }
        }
        _ => {}
    }
    // Comments are the managers': a rep neither changes them nor brings them in a new visit.
    if let Document::Visit(v) = after {
        let changed = match before {
            Some(Document::Visit(bv)) => bv.manager_comments != v.manager_comments,
            _ => !v.manager_comments.is_empty(),
        };
        if changed {
            return refuse("field_rights", "only managers comment on visits");
        }
    }
    // Operations on protected fields: allowed only at creation, and only with the value the
    // document ends up with (so no hidden concurrent value slips through).
    let final_value = |field: &str| -> Option<ScalarValue> {
        let scope = scope_of(after);
        let v = match field {
            "owner" => scope.owner,
            "territory" => scope.territory,
            "author" => scope.author,
            "customer" => scope.customer,
            "approver" => scope.approver,
            _ => None,
        };
        v.map(|s| ScalarValue::Str(s.into()))
    };
    for (field, value) in ops {
        if field == "status" && status_of(after).is_some() {
            let ok = matches!(value, Some(ScalarValue::Str(s)) if s.as_str() == "draft" || s.as_str() == "submitted");
            if !ok {
                return refuse(
                    "approval",
                    format!("a rep cannot set the status of a {kind} to {}", show(value)),
                );
            }
            continue;
        }
        if !protected_fields(kind).contains(&field.as_str()) {
            continue;
        }
        let allowed = before.is_none()
            && match value {
                Some(ScalarValue::Null) => !matches!(
                    field.as_str(),
                    "owner" | "territory" | "author" | "customer" | "approver"
                ),
                Some(v) => final_value(field).as_ref() == Some(v),
                None => false,
            };
        if !allowed {
            return refuse("field_rights", format!("a rep cannot set {kind}.{field}"));
        }
    }
    Ok(())
}

fn check_manager(
    who: &Principal,
    before: Option<&Document>,
    after: &Document,
    ops: &[(String, Option<ScalarValue>)],
) -> Result<(), Refusal> {
    let kind = after.kind().as_str();
    // A customer the manager sees (their territory or their team, checked above) is theirs to
    // edit; its owner, set at creation or by a reassignment, must be in the team (below). A plan
    // or claim of someone outside the team is the manager's only as its approver, to decide.
    let scope = scope_of(after);
    if matches!(kind, "trip_plan" | "expense_claim") && !who.in_team(scope.owner.as_deref()) {
        let approver = before.map(scope_of).and_then(|s| s.approver);
        if approver.as_deref() != Some(who.username.as_str()) {
            return refuse(
                "field_rights",
                format!("{} is not in your team", scope.owner.unwrap_or_default()),
            );
        }
        if let Some(b) = before
            && !only_decided(b, after, ops)
        {
            return refuse(
                "field_rights",
                format!(
                    "{} is not in your team: as the approver you only approve or reject this {kind}",
                    scope.owner.unwrap_or_default()
                ),
            );
        }
    }
    for (field, value) in ops {
        if field == "owner" {
            let ok = matches!(value, Some(ScalarValue::Str(s)) if who.team.iter().any(|t| t == s.as_str()));
            if !ok {
                return refuse(
                    "field_rights",
                    format!("the owner must be in your team, not {}", show(value)),
                );
            }
        }
        if field == "status" && status_of(after).is_some() {
            let decides = matches!(value, Some(ScalarValue::Str(s)) if matches!(s.as_str(), "approved" | "rejected"));
            if decides {
                let approver = before
                    .map(scope_of)
                    .and_then(|s| s.approver)
                    .or_else(|| scope_of(after).approver);
                if approver.as_deref() != Some(who.username.as_str()) {
                    return refuse(
                        "approval",
                        format!(
                            "only the approver ({}) decides this {kind}",
                            approver.unwrap_or_default()
                        ),
                    );
                }
            }
        }
    }
    Ok(())
}

/// Fields an approver writes when deciding.
const DECISION_FIELDS: [&str; 4] = ["status", "decided_at", "decided_by", "decision_note"];

/// Whether the changes only decide the plan or claim: approved or rejected, with who, when and
/// the note, and nothing else (also among the operations, so nothing hides in a conflict).
fn only_decided(
    before: &Document,
    after: &Document,
    ops: &[(String, Option<ScalarValue>)],
) -> bool {
    let decides = |v: &Option<ScalarValue>| matches!(v, Some(ScalarValue::Str(s)) if matches!(s.as_str(), "approved" | "rejected"));
    let ops_ok = ops.iter().all(|(field, value)| {
        DECISION_FIELDS.contains(&field.as_str()) && (field != "status" || decides(value))
    });
    // Everything but the decision fields as before (plans and claims share their names).
    macro_rules! same_but_decision {
        ($b:expr, $a:expr) => {{
            let mut a = $a.clone();
            a.status = $b.status;
            a.decided_at.clone_from(&$b.decided_at);
            a.decided_by.clone_from(&$b.decided_by);
            a.decision_note.clone_from(&$b.decision_note);
            a == *$b
        }};
    }
    let rest_same = match (before, after) {
        (Document::TripPlan(b), Document::TripPlan(a)) => same_but_decision!(b, a),
        (Document::ExpenseClaim(b), Document::ExpenseClaim(a)) => same_but_decision!(b, a),
        _ => false,
    };
    ops_ok && rest_same
}

fn show(value: &Option<ScalarValue>) -> String {
    match value {
        Some(ScalarValue::Str(s)) => format!("'{s}'"),
        Some(v) => v.to_string(),
        None => "nothing (a delete)".to_string(),
    }
}
