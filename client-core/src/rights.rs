//! Who may see and change what. The server decides, on every push; the device asks the same
//! rule functions before it writes, so a forbidden operation fails at once with the server's
//! message instead of being quarantined at the next sync.
//!
//! Scope (what a user receives), read from each document's scope fields alone:
//! - admin: every document;
//! - manager: customers in their territories or owned by their team (their reps and
//!   themselves), the documents of those customers (visits, orders, complaints), and the
//!   documents owned by the team (trip plans, expense claims, targets);
//! - rep: the customers they own, the documents of those customers, the documents they own;
//! - everyone: the documents naming them to act (an approver, a complaint's assignee), and
//!   those of a customer they wrote (a visit, an order) after the customer changed hands.
//!
//! Writes are checked on the document before and after the changes, and on the operations the
//! changes contain, so a forbidden value that loses a concurrent conflict (and so never shows
//! in the merged document) is still caught. The approval lifecycle of plans and claims follows
//! each kind's declaration ([`crate::model::lifecycle`]).
//!
//! The device knows less than the server: its own user, not the whole team or everyone's
//! role. Rules that need what it does not know ([`Directory::complete`]) are left to the
//! server; the device never refuses what the server would accept.

pub(crate) mod lifecycle;
pub(crate) mod workflow;

use automerge::legacy::{Key, ObjectId, OpType};
use automerge::{ExpandedChange, ScalarValue};
use serde::{Deserialize, Serialize};

use crate::model::{DocKind, Document};

/// The three roles: rep, manager, admin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A sales rep.
    Rep,
    /// A regional manager.
    Manager,
    /// An administrator.
    Admin,
}

impl Role {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Rep => "rep",
            Role::Manager => "manager",
            Role::Admin => "admin",
        }
    }

    /// Parses a stored or typed name.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "rep" => Some(Role::Rep),
            "manager" => Some(Role::Manager),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// The scope fields of a document, as the server indexes them. Made with [`DocScope::of`]
/// and the kind's own fields set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocScope {
    /// Document id.
    pub id: String,
    /// Kind.
    pub kind: DocKind,
    /// Customers: territory.
    pub territory: Option<String>,
    /// Customers, trip plans, expense claims: the owning user.
    pub owner: Option<String>,
    /// Visits: the customer id.
    pub customer: Option<String>,
    /// Visits: the rep who wrote it.
    pub author: Option<String>,
    /// Trip plans, expense claims: the approver.
    pub approver: Option<String>,
}

impl DocScope {
    /// The scope of document `id` of `kind`, with no scope field set yet (each kind's
    /// [`crate::model::DocumentModel::scope`] sets its own).
    pub fn of(kind: DocKind, id: &str) -> DocScope {
        DocScope {
            id: id.to_string(),
            kind,
            territory: None,
            owner: None,
            customer: None,
            author: None,
            approver: None,
        }
    }

    /// The owner and territory that decide who sees this document: a document that belongs
    /// to a customer (its `customer` is set) takes `customer`'s, the customer's scope as
    /// stored; any other document its own. Storage keeps them as the neutral columns it
    /// filters on, so no rule of any kind is written in SQL.
    pub fn governing(&self, customer: Option<&DocScope>) -> (Option<String>, Option<String>) {
        match (&self.customer, customer) {
            (Some(_), Some(c)) => (c.owner.clone(), c.territory.clone()),
            // A customer that is not stored yet sees no one.
            (Some(_), None) => (None, None),
            (None, _) => (self.owner.clone(), self.territory.clone()),
        }
    }
}

/// A user account as the rules see it.
pub trait Member {
    /// User name.
    fn username(&self) -> &str;
    /// Role.
    fn role(&self) -> Role;
    /// Territories.
    fn territories(&self) -> &[String];
    /// The user's manager, if any.
    fn manager(&self) -> Option<&str>;
}

/// What the rules need to know of a user other than the writer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// Role.
    pub role: Role,
    /// The person's manager, if any.
    pub manager: Option<String>,
}

/// What a [`Directory`] knows of a user name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// The user exists.
    Found(Person),
    /// There is no such user.
    NoSuchUser,
    /// This directory does not know (a device knows only its own user).
    Unknown,
}

/// The users the rules may ask about.
pub trait Directory {
    /// What is known of `username`.
    fn lookup(&self, username: &str) -> Lookup;
    /// Whether this directory knows every user and every team (the server's does); rules that
    /// need that knowledge run only then.
    fn complete(&self) -> bool;
}

/// Every user, as the server knows them.
impl<M: Member> Directory for Vec<M> {
    fn lookup(&self, username: &str) -> Lookup {
        match self.iter().find(|u| u.username() == username) {
            Some(u) => Lookup::Found(Person {
                role: u.role(),
                manager: u.manager().map(str::to_string),
            }),
            None => Lookup::NoSuchUser,
        }
    }

    fn complete(&self) -> bool {
        true
    }
}

/// What a device knows: only the user acting on it.
impl Directory for Principal {
    fn lookup(&self, username: &str) -> Lookup {
        if username == self.username {
            Lookup::Found(Person {
                role: self.role,
                manager: self.manager.clone(),
            })
        } else {
            Lookup::Unknown
        }
    }

    fn complete(&self) -> bool {
        false
    }
}

/// The user acting: on the server the caller of a request, as its verified token and the user
/// table say; on a device the logged-in user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    pub fn of<M: Member>(user: &M, all: &[M]) -> Principal {
        let mut team = vec![user.username().to_string()];
        if user.role() == Role::Manager {
            team.extend(
                all.iter()
                    .filter(|u| u.manager() == Some(user.username()))
                    .map(|u| u.username().to_string()),
            );
        }
        Principal {
            username: user.username().to_string(),
            role: user.role(),
            territories: user.territories().to_vec(),
            manager: user.manager().map(str::to_string),
            team,
        }
    }

    fn in_team(&self, name: Option<&str>) -> bool {
        name.is_some_and(|n| self.team.iter().any(|t| t == n))
    }

    /// Whether this user sees a customer with these scope fields.
    pub fn sees_customer(&self, customer: &DocScope) -> bool {
        self.may_write(customer, None)
    }

    /// Whether this user receives a document; one that belongs to a customer (a visit, an
    /// order, a complaint) needs its customer's scope fields.
    ///
    /// Such a document is also seen by its author (and the author's manager) after its
    /// customer changed hands: a rep's week and KPIs count the visits they made and the orders
    /// they took. Writing is another matter ([`Principal::may_write`]).
    pub fn sees(&self, doc: &DocScope, customer: Option<&DocScope>) -> bool {
        let author = doc
            .customer
            .is_some()
            .then_some(doc.author.as_deref())
            .flatten();
        self.may_write(doc, customer)
            || (author.is_some() && self.role != Role::Rep && self.in_team(author))
            || author == Some(self.username.as_str())
    }

    /// Whether a document is in the part of the business this user works on (and so may
    /// change, as far as the field rules allow). The rule reads only the scope fields: a
    /// document that belongs to a customer is its customer's ([`DocScope::governing`]); any
    /// other is its owner's (and in its territory, if it has one); the person named on it to
    /// act (an approver, an assignee) works on it too.
    pub fn may_write(&self, doc: &DocScope, customer: Option<&DocScope>) -> bool {
        let me = self.username.as_str();
        let (owner, territory) = doc.governing(customer);
        let named = doc.approver.as_deref() == Some(me);
        match self.role {
            Role::Admin => true,
            Role::Manager => {
                territory
                    .as_ref()
                    .is_some_and(|t| self.territories.contains(t))
                    || self.in_team(owner.as_deref())
                    || named
            }
            Role::Rep => owner.as_deref() == Some(me) || named,
        }
    }
}

/// The scope fields of a validated document.
pub fn scope_of(doc: &Document) -> DocScope {
    doc.scope()
}

/// Why a write was refused: the rule and a message for the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    /// `scope`, `field_rights` or `approval`.
    pub rule: String,
    /// What was wrong.
    pub reason: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.reason, self.rule)
    }
}

/// What a kind's own writer rules ([`crate::model::DocumentModel::check_writer`]) are asked
/// with: who writes, the root-level operations of their changes, the users the rules may ask
/// about, and the time the write is judged at.
pub struct Writer<'a> {
    /// The user writing.
    pub who: &'a Principal,
    /// The root-level puts and deletes of the changes.
    pub ops: &'a [RootOp],
    /// The users the rules may ask about (the device knows only its own).
    pub people: &'a dyn Directory,
    /// The time the write is judged at.
    pub now: chrono::DateTime<chrono::Utc>,
}

impl Writer<'_> {
    /// Whether the writer is a rep.
    pub fn is_rep(&self) -> bool {
        self.who.role == Role::Rep
    }

    /// The writer's user name.
    pub fn me(&self) -> &str {
        &self.who.username
    }
}

/// A refusal by rule `rule`.
pub(crate) fn refuse<T>(rule: &str, reason: impl Into<String>) -> Result<T, Refusal> {
    Err(Refusal {
        rule: rule.to_string(),
        reason: reason.into(),
    })
}

/// What the server's write check needs to know besides the document itself.
#[derive(Debug, Clone, Default)]
pub struct WriteContext {
    /// For a visit: its customer's scope fields as stored (the customer must exist).
    pub customer: Option<DocScope>,
    /// For a visit already on the server: the scope fields of the customer it had before the
    /// push, which may differ from [`WriteContext::customer`] when the push points the visit at
    /// another customer. The writer must see the visit as it was, not only as it would be.
    pub customer_before: Option<DocScope>,
    /// The time the write is judged at (times people write must be plausible then); the
    /// system clock's when not given.
    pub now: Option<chrono::DateTime<chrono::Utc>>,
}

/// Root fields only managers and admins set on existing documents, per kind
/// ([`crate::model::DocumentModel::PROTECTED_FIELDS`]).
pub fn protected_fields(kind: DocKind) -> &'static [&'static str] {
    kind.protected_fields()
}

/// A root-level put or delete of the changes: (field, value put, or None for a delete).
pub type RootOp = (String, Option<ScalarValue>);

/// Root-level puts and deletes of the changes.
fn root_ops(changes: &[ExpandedChange]) -> Vec<RootOp> {
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

/// What the writer of a document outside their part of the business is told.
pub fn not_yours(doc: &Document) -> String {
    format!(
        "{} {} is not in your part of the business",
        doc.kind(),
        doc.id()
    )
}

/// The server's check: `who` may turn `before` (None for a new document) into `after` with
/// `changes`, seen from the scope they are in and by the rights of `who` over every field.
pub fn check_write(
    who: &Principal,
    before: Option<&Document>,
    after: &Document,
    changes: &[ExpandedChange],
    ctx: &WriteContext,
    people: &dyn Directory,
) -> Result<(), Refusal> {
    let mut after_scope = scope_of(after);
    if let Some(b) = before
        && !who.may_write(&scope_of(b), ctx.customer_before.as_ref())
    {
        return refuse("scope", not_yours(after));
    }
    // Being named on a document (its approver, its assignee) lets one work on it, not create
    // it: a new document is in the writer's part of the business by its other scope fields.
    if before.is_none() {
        after_scope.approver = None;
    }
    // A customer that does not exist and one the writer cannot see get the same answer: which
    // customers exist outside one's part of the business is not for them to learn.
    if after_scope.customer.is_some()
        && !ctx
            .customer
            .as_ref()
            .is_some_and(|c| who.may_write(&after_scope, Some(c)))
    {
        return refuse(
            "scope",
            format!(
                "the {}'s customer is not one of the customers you can see: sync, and check the customer",
                after.kind().noun()
            ),
        );
    }
    if !who.may_write(&after_scope, ctx.customer.as_ref()) {
        return refuse(
            "scope",
            format!(
                "{} {} would be outside your part of the business after this change",
                after.kind(),
                after.id()
            ),
        );
    }
    let now = ctx.now.unwrap_or_else(chrono::Utc::now);
    check_rights_at(who, before, after, changes, people, now)
}

/// The rights of `who` over the fields the changes write, and the approval lifecycle: what a
/// device checks before it writes (with itself as the directory), and the server after scope.
pub fn check_rights(
    who: &Principal,
    before: Option<&Document>,
    after: &Document,
    changes: &[ExpandedChange],
    people: &dyn Directory,
) -> Result<(), Refusal> {
    check_rights_at(who, before, after, changes, people, chrono::Utc::now())
}

/// [`check_rights`] judged at time `now`.
pub fn check_rights_at(
    who: &Principal,
    before: Option<&Document>,
    after: &Document,
    changes: &[ExpandedChange],
    people: &dyn Directory,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), Refusal> {
    let ops = root_ops(changes);
    if before.is_some() {
        let kind = after.kind();
        if let Some((field, _)) = ops
            .iter()
            .find(|(f, _)| kind.never_changed().contains(&f.as_str()))
        {
            return refuse(
                "field_rights",
                format!("{kind}.{field} never changes once the {kind} exists"),
            );
        }
    }
    match who.role {
        Role::Rep => check_rep(before, after, &ops)?,
        Role::Manager => check_manager(who, before, after, &ops, people)?,
        Role::Admin => {}
    }
    let writer = Writer {
        who,
        ops: &ops,
        people,
        now,
    };
    after.check_writer(&writer, before)?;
    check_signatures(who, &ops)?;
    check_attachment_signatures(who, before, after)?;
    check_shared_collections(before, changes)?;
    if who.role != Role::Admin {
        check_authorship(who, before, after, now)?;
    }
    Ok(())
}

/// How far back a time a person writes (a comment, a new document's creation) may lie: weeks
/// offline, not years.
pub const PLAUSIBLE_PAST_DAYS: i64 = 90;

/// How far ahead: a device clock a day or two off.
pub const PLAUSIBLE_FUTURE_DAYS: i64 = 3;

/// A list or text others add to is never replaced by a new one in an existing document: what
/// another device added to the old one meanwhile (a manager's comment written offline, a
/// contact, a line of the notes) would vanish with it. (An operation that overwrites a value,
/// as opposed to creating the field, names the value it overwrites.)
fn check_shared_collections(
    before: Option<&Document>,
    changes: &[ExpandedChange],
) -> Result<(), Refusal> {
    let Some(before) = before else {
        return Ok(());
    };
    let replaced = changes.iter().flat_map(|c| &c.operations).find_map(|op| {
        let collection = matches!(
            op.action,
            OpType::Make(automerge::ObjType::List | automerge::ObjType::Text)
        );
        match &op.key {
            Key::Map(key) if op.obj == ObjectId::Root && collection && !op.pred.is_empty() => {
                Some(key.to_string())
            }
            _ => None,
        }
    });
    match replaced {
        Some(field) => refuse(
            "field_rights",
            format!(
                "{}.{field} is shared: add to it or change its entries, never replace it whole (what others added meanwhile would be lost)",
                before.kind()
            ),
        ),
        None => Ok(()),
    }
}

/// Names and times that say who did something and when are the writer's and now: a new
/// document is created by its writer (the field its kind declares, [`Creation`]) at a plausible
/// time. (Admins may record others', as an import of history does.) A kind's own signed entries
/// (a visit's comments) are its own rules'.
fn check_authorship(
    who: &Principal,
    before: Option<&Document>,
    after: &Document,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), Refusal> {
    if before.is_some() {
        return Ok(());
    }
    let me = who.username.as_str();
    let kind = after.kind();
    let made = after.creation();
    if let (Some(field), Some(by)) = (made.by_field, made.by)
        && by != me
    {
        return refuse(
            "field_rights",
            format!("{kind}.{field} names who creates it: it must be you ({me}), not '{by}'"),
        );
    }
    check_plausible(&format!("{kind}.created_at"), made.at, now)
}

/// Who created a document and when, as its kind records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Creation<'a> {
    /// The root field naming the creator (`created_by`, a visit's `author`, an order's
    /// `owner`), if the kind has one.
    pub by_field: Option<&'static str>,
    /// Its value.
    pub by: Option<&'a str>,
    /// `created_at`.
    pub at: &'a str,
}

/// A time a person writes (`field`, the value `at`) is plausible at `now`: within
/// [`PLAUSIBLE_PAST_DAYS`] before and [`PLAUSIBLE_FUTURE_DAYS`] after.
pub(crate) fn check_plausible(
    field: &str,
    at: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), Refusal> {
    let t = match crate::model::fields::parse_time(field, at) {
        Ok(t) => t,
        Err(e) => return refuse("schema", e.to_string()),
    };
    let days = (t - now).num_days();
    if !(-PLAUSIBLE_PAST_DAYS..=PLAUSIBLE_FUTURE_DAYS).contains(&days) {
        return refuse(
            "field_rights",
            format!(
                "{field} is {at}, not a time this could have been written: check the device's clock"
            ),
        );
    }
    Ok(())
}

/// A decision or a payment is signed by whoever makes it (`decided_by`, `paid_by` name the
/// writer; an admin may record someone else's, as an import of the company's history does).
fn check_signatures(who: &Principal, ops: &[RootOp]) -> Result<(), Refusal> {
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
    Ok(())
}

/// A reference to an attachment is signed by whoever attaches it (`added_by`): its bytes open
/// to the document's readers only once that user uploaded them, so a reference may name only
/// its writer, even an admin's. References already there are compared whole: one cannot take
/// over another's by changing its signer.
fn check_attachment_signatures(
    who: &Principal,
    before: Option<&Document>,
    after: &Document,
) -> Result<(), Refusal> {
    let old = before.map(Document::attachments).unwrap_or_default();
    let forged = after
        .attachments()
        .into_iter()
        .find(|a| a.added_by != who.username && !old.contains(a));
    match forged {
        Some(a) => refuse(
            "field_rights",
            format!(
                "attachment {} names {} as who attached it: a new attachment must name you ({})",
                a.id, a.added_by, who.username
            ),
        ),
        None => Ok(()),
    }
}

fn check_rep(before: Option<&Document>, after: &Document, ops: &[RootOp]) -> Result<(), Refusal> {
    let kind = after.kind();
    // Operations on protected fields: allowed only at creation, and only with the value the
    // document ends up with (so no hidden concurrent value slips through).
    let fields = serde_json::to_value(after).unwrap_or(serde_json::Value::Null);
    let final_value = |field: &str| -> Option<ScalarValue> {
        fields.get(field).and_then(|v| match v {
            serde_json::Value::String(s) => Some(ScalarValue::Str(s.as_str().into())),
            serde_json::Value::Null => Some(ScalarValue::Null),
            _ => None,
        })
    };
    for (field, value) in ops {
        if !protected_fields(kind).contains(&field.as_str()) {
            continue;
        }
        let allowed =
            before.is_none() && matches!(value, Some(v) if final_value(field).as_ref() == Some(v));
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
    ops: &[RootOp],
    people: &dyn Directory,
) -> Result<(), Refusal> {
    // Team membership is the server's knowledge; a device leaves these rules to it.
    if !people.complete() {
        return Ok(());
    }
    let kind = after.kind();
    // A customer the manager sees (their territory or their team, checked above) is theirs to
    // edit; its owner, set at creation or by a reassignment, must be in the team (below). A
    // document owned by someone outside the team is the manager's only where it names them
    // (an approver), for what its kind lets them do there.
    let scope = scope_of(after);
    // A document of its own (not a customer, not a customer's) belongs to its owner.
    let owned = kind != DocKind::Customer && scope.customer.is_none();
    if owned && !who.in_team(scope.owner.as_deref()) {
        let approver = before.map(scope_of).and_then(|s| s.approver);
        if approver.as_deref() != Some(who.username.as_str()) {
            return refuse(
                "field_rights",
                format!("{} is not in your team", scope.owner.unwrap_or_default()),
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
    }
    Ok(())
}

/// A value of an operation, for a message.
pub(crate) fn show(value: &Option<ScalarValue>) -> String {
    match value {
        Some(ScalarValue::Str(s)) => format!("'{s}'"),
        Some(v) => v.to_string(),
        None => "nothing (a delete)".to_string(),
    }
}
