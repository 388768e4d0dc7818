//! The access-control policy of docs/SCHEMA.md and docs/PROTOCOL.md as one table,
//! tried case by case against the real server process, so a reader sees the whole policy at a
//! glance and a change to the server's rules that lets something through (or refuses something
//! legitimate) fails with the name of the case.
//!
//! Rows are (document kind, operation); columns are who tries it, seen from rep li's documents:
//! li herself (owner or author), wang (a rep of the same territory), chen (a rep of another
//! territory, and the assignee of li's complaints, whose customer he does not otherwise see),
//! zhang (li's manager, east), zhao (the manager of another territory) and admin.
//! Each cell is the expected answer: accepted, rejected with its rule, an HTTP status (for the
//! handover endpoint), or seen / not seen (for reads).
//!
//! Operations go through the actor's real client store when the actor holds the document and
//! the client library can express the edit; otherwise (a document outside the actor's scope, or
//! a field no edit of the library writes) the changes are built with Automerge and pushed with a
//! raw HTTP request under the actor's token, so it is always the server that decides. Every
//! answer the server gives during the run is checked to hold no document outside the caller's
//! scope, computed from the ownership this test created; at the end every user's devices (the
//! long-lived one and a fresh one) must hold exactly the documents their scope allows, and the
//! read API (`/v1/customers`, `/v1/visits`) must list exactly those of its kinds. Both
//! tables run on each backend of the server ([`on_every_backend!`]).
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Instant;

use automerge::transaction::Transactable;
use automerge::{ActorId, AutoCommit, ROOT};
use common::{Backend, Device, Org, customer, get_json, login, org_on, post, post_bytes, visit};
use fieldsync_core::Store;
use fieldsync_core::ids::new_id;
use fieldsync_core::model::DocumentModel;
use fieldsync_core::model::complaint::{
    Complaint, ComplaintCategory, ComplaintChannel, ComplaintEdit, ComplaintStatus, NewComplaint,
    Priority,
};
use fieldsync_core::model::customer::{Customer, CustomerEdit};
use fieldsync_core::model::expense_claim::{
    ExpenseCategory, ExpenseClaim, ExpenseClaimEdit, NewExpenseClaim,
};
use fieldsync_core::model::fields::{Money, now_string};
use fieldsync_core::model::order::{NewOrder, Order, OrderEdit, OrderStatus};
use fieldsync_core::model::target::{NewTarget, Target, TargetEdit};
use fieldsync_core::model::trip_plan::{NewTripPlan, TripPlan, TripPlanEdit};
use fieldsync_core::model::visit::{Visit, VisitEdit};
use fieldsync_core::protocol::{PushDocument, SyncRequest, SyncResponse, decode, encode};
use fieldsync_core::sync::http::HttpClient;
use fieldsync_core::sync::{SyncError, Transport, run};
use serde_bytes::ByteBuf;

// ---------------------------------------------------------------------------------------------
// The organisation, and who sees what (computed here, independently of the server).
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Rep,
    Manager,
    Admin,
}

/// The users of `common::org_on`: name, role, territories, manager.
const PEOPLE: [(&str, Role, &[&str], Option<&str>); 6] = [
    ("admin", Role::Admin, &[], None),
    ("zhang", Role::Manager, &["east"], None),
    ("zhao", Role::Manager, &["north"], None),
    ("li", Role::Rep, &["east"], Some("zhang")),
    ("wang", Role::Rep, &["east"], Some("zhang")),
    ("chen", Role::Rep, &["north"], Some("zhao")),
];

fn person(name: &str) -> (Role, &'static [&'static str]) {
    let p = PEOPLE.iter().find(|p| p.0 == name).unwrap();
    (p.1, p.2)
}

/// A manager's team: the reps they manage and themselves.
fn team(manager: &str) -> Vec<&'static str> {
    PEOPLE
        .iter()
        .filter(|p| p.0 == manager || p.3 == Some(manager))
        .map(|p| p.0)
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Customer,
    Visit,
    TripPlan,
    ExpenseClaim,
    Order,
    Complaint,
    Target,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Customer => "customer",
            Kind::Visit => "visit",
            Kind::TripPlan => "trip_plan",
            Kind::ExpenseClaim => "expense_claim",
            Kind::Order => "order",
            Kind::Complaint => "complaint",
            Kind::Target => "target",
        })
    }
}

/// A document's scope fields, as this test set them.
#[derive(Debug, Clone)]
struct Meta {
    kind: Kind,
    /// Customer: territory and owner. Plan, claim: owner and approver. Visit, order: its
    /// customer, and its author or the rep who took it (in `owner`). Complaint: its customer,
    /// who recorded it (in `owner`) and its assignee (in `approver`). Target: its rep (in
    /// `owner`).
    territory: String,
    owner: String,
    approver: String,
    customer: String,
}

/// Every document the server accepted, with the scope fields it should have.
#[derive(Default)]
struct Model {
    docs: BTreeMap<String, Meta>,
}

impl Model {
    /// Whether `user` may see document `id` (docs/PROTOCOL.md, "Scope").
    fn sees(&self, user: &str, id: &str) -> bool {
        let Some(doc) = self.docs.get(id) else {
            return false;
        };
        let (role, territories) = person(user);
        match (role, doc.kind) {
            (Role::Admin, _) => true,
            // A complaint is also its assignee's, whoever the customer is.
            (_, Kind::Complaint) if doc.approver == user => true,
            // A visit, an order or a complaint is its customer's, and stays its author's (and
            // the author's manager's).
            (Role::Rep, Kind::Visit | Kind::Order | Kind::Complaint) => {
                self.sees(user, &doc.customer) || doc.owner == user
            }
            (Role::Manager, Kind::Visit | Kind::Order | Kind::Complaint) => {
                self.sees(user, &doc.customer) || team(user).contains(&doc.owner.as_str())
            }
            // Plans, claims and targets are their owner's.
            (Role::Rep, _) => doc.owner == user,
            (Role::Manager, Kind::Customer) => {
                territories.contains(&doc.territory.as_str())
                    || team(user).contains(&doc.owner.as_str())
            }
            (Role::Manager, _) => team(user).contains(&doc.owner.as_str()) || doc.approver == user,
        }
    }

    fn scope(&self, user: &str) -> BTreeSet<String> {
        self.docs
            .keys()
            .filter(|id| self.sees(user, id))
            .cloned()
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// The policy table.
// ---------------------------------------------------------------------------------------------

/// Who tries, as the matrix's columns, with how they relate to li's documents.
const ACTORS: [(&str, &str); 6] = [
    ("li", "rep, the owner/author"),
    ("wang", "rep, same territory"),
    ("chen", "rep, other territory"),
    ("zhang", "manager of li and east"),
    ("zhao", "manager of north"),
    ("admin", "admin"),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    /// Create a document shaped like li's (a customer of li's in east; a visit at li's customer
    /// authored by the actor; a plan or claim of li's that zhang approves).
    Create,
    /// Pull: does the actor receive li's document?
    Read,
    /// Edit ordinary fields (name and notes; summary and outcome; title; items). Plans and
    /// claims are drafts here.
    Edit,
    /// Plan, claim: edit ordinary fields of a submitted one (its content is frozen).
    EditSubmitted,
    /// Customer: reassign the owner to wang.
    Reassign,
    /// Customer: move it to territory north.
    Territory,
    /// `POST /v1/handover` from li to wang.
    Handover,
    /// Visit: add a manager's comment.
    Comment,
    /// Visit: set the author to wang (no library edit: raw Automerge).
    Author,
    /// Visit: point it at another customer the actor sees (no library edit: raw Automerge).
    Move,
    /// Plan, claim: submit the draft.
    Submit,
    /// Plan, claim: approve it, as the actor.
    Approve,
    /// Plan, claim: reject it, as the actor.
    Reject,
    /// Plan, claim: write decided_by and decision_note without a status (raw Automerge).
    Decision,
    /// Plan, claim: change the approver to zhao.
    Approver,
    /// Plan, claim: change the owner to wang (no library edit: raw Automerge).
    Owner,
    /// Claim: record the payment of the approved claim.
    Pay,
    /// Order: confirm the submitted order, as the actor.
    Confirm,
    /// Complaint: move it from received to investigating, as the actor.
    Investigate,
    /// Complaint: assign it to wang.
    Assign,
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Op::Create => "create",
            Op::Read => "read (pull)",
            Op::Edit => "edit ordinary fields",
            Op::EditSubmitted => "edit a submitted one",
            Op::Reassign => "reassign owner → wang",
            Op::Territory => "move to territory north",
            Op::Handover => "hand over li → wang",
            Op::Comment => "add a manager comment",
            Op::Author => "set author → wang",
            Op::Move => "point at another customer",
            Op::Submit => "submit",
            Op::Approve => "approve",
            Op::Reject => "reject",
            Op::Decision => "write decided_by/decision_note",
            Op::Approver => "change approver → zhao",
            Op::Owner => "change owner → wang",
            Op::Pay => "mark paid",
            Op::Confirm => "confirm",
            Op::Investigate => "move to investigating",
            Op::Assign => "assign → wang",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Accepted,
    Refused(String),
    Status(u16),
    Seen(bool),
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Accepted => f.write_str("accepted"),
            Outcome::Refused(rule) => write!(f, "rejected ({rule})"),
            Outcome::Status(s) => write!(f, "HTTP {s}"),
            Outcome::Seen(true) => f.write_str("seen"),
            Outcome::Seen(false) => f.write_str("not seen"),
        }
    }
}

/// A cell of the table.
#[derive(Debug, Clone, Copy)]
enum Expect {
    Ok,
    Rule(&'static str),
    Http(u16),
    Sees(bool),
}

const OK: Expect = Expect::Ok;
const SCOPE: Expect = Expect::Rule("scope");
const FIELD: Expect = Expect::Rule("field_rights");
const APPROVAL: Expect = Expect::Rule("approval");
const WORKFLOW: Expect = Expect::Rule("workflow");
const SEEN: Expect = Expect::Sees(true);
const UNSEEN: Expect = Expect::Sees(false);

impl Expect {
    fn outcome(self) -> Outcome {
        match self {
            Expect::Ok => Outcome::Accepted,
            Expect::Rule(r) => Outcome::Refused(r.to_string()),
            Expect::Http(s) => Outcome::Status(s),
            Expect::Sees(b) => Outcome::Seen(b),
        }
    }
}

/// The policy: one row per (kind, operation), one column per actor of [`ACTORS`].
#[rustfmt::skip]
const MATRIX: &[(Kind, Op, [Expect; 6])] = &[
    //                                   li        wang   chen   zhang  zhao   admin
    (Kind::Customer,     Op::Create,    [OK,       SCOPE, SCOPE, OK,    SCOPE, OK]),
    (Kind::Customer,     Op::Read,      [SEEN,     UNSEEN, UNSEEN, SEEN, UNSEEN, SEEN]),
    (Kind::Customer,     Op::Edit,      [OK,       SCOPE, SCOPE, OK,    SCOPE, OK]),
    (Kind::Customer,     Op::Reassign,  [SCOPE,    SCOPE, SCOPE, OK,    SCOPE, OK]),
    (Kind::Customer,     Op::Territory, [FIELD,    SCOPE, SCOPE, OK,    SCOPE, OK]),
    (Kind::Customer,     Op::Handover,  [Expect::Http(403), Expect::Http(403), Expect::Http(403),
                                         Expect::Http(200), Expect::Http(403), Expect::Http(200)]),
    (Kind::Visit,        Op::Create,    [OK,       SCOPE, SCOPE, OK,    SCOPE, OK]),
    (Kind::Visit,        Op::Read,      [SEEN,     UNSEEN, UNSEEN, SEEN, UNSEEN, SEEN]),
    (Kind::Visit,        Op::Edit,      [OK,       SCOPE, SCOPE, OK,    SCOPE, OK]),
    (Kind::Visit,        Op::Comment,   [FIELD,    SCOPE, SCOPE, OK,    SCOPE, OK]),
    (Kind::Visit,        Op::Author,    [FIELD,    SCOPE, SCOPE, OK,    SCOPE, OK]),
    (Kind::Visit,        Op::Move,      [FIELD,    SCOPE, SCOPE, OK,    SCOPE, OK]),
    (Kind::TripPlan,     Op::Create,    [OK,       SCOPE, SCOPE, OK,    SCOPE, OK]),
    (Kind::TripPlan,     Op::Read,      [SEEN,     UNSEEN, UNSEEN, SEEN, UNSEEN, SEEN]),
    (Kind::TripPlan,     Op::Edit,      [OK,       SCOPE, SCOPE, OK,    SCOPE, OK]),
    (Kind::TripPlan,     Op::EditSubmitted, [APPROVAL, SCOPE, SCOPE, APPROVAL, SCOPE, APPROVAL]),
    (Kind::TripPlan,     Op::Submit,    [OK,       SCOPE, SCOPE, APPROVAL, SCOPE, APPROVAL]),
    (Kind::TripPlan,     Op::Approve,   [APPROVAL, SCOPE, SCOPE, OK,    SCOPE, OK]),
    (Kind::TripPlan,     Op::Reject,    [APPROVAL, SCOPE, SCOPE, OK,    SCOPE, OK]),
    (Kind::TripPlan,     Op::Decision,  [APPROVAL, SCOPE, SCOPE, APPROVAL, SCOPE, APPROVAL]),
    (Kind::TripPlan,     Op::Approver,  [FIELD,    SCOPE, SCOPE, APPROVAL, SCOPE, OK]),
    (Kind::TripPlan,     Op::Owner,     [SCOPE,    SCOPE, SCOPE, APPROVAL, SCOPE, APPROVAL]),
    (Kind::ExpenseClaim, Op::Create,    [OK,       SCOPE, SCOPE, OK,    SCOPE, OK]),
    (Kind::ExpenseClaim, Op::Read,      [SEEN,     UNSEEN, UNSEEN, SEEN, UNSEEN, SEEN]),
    (Kind::ExpenseClaim, Op::Edit,      [OK,       SCOPE, SCOPE, OK,    SCOPE, OK]),
    (Kind::ExpenseClaim, Op::EditSubmitted, [APPROVAL, SCOPE, SCOPE, APPROVAL, SCOPE, APPROVAL]),
    (Kind::ExpenseClaim, Op::Submit,    [OK,       SCOPE, SCOPE, APPROVAL, SCOPE, APPROVAL]),
    (Kind::ExpenseClaim, Op::Approve,   [APPROVAL, SCOPE, SCOPE, OK,    SCOPE, OK]),
    (Kind::ExpenseClaim, Op::Reject,    [APPROVAL, SCOPE, SCOPE, OK,    SCOPE, OK]),
    (Kind::ExpenseClaim, Op::Decision,  [APPROVAL, SCOPE, SCOPE, APPROVAL, SCOPE, APPROVAL]),
    (Kind::ExpenseClaim, Op::Pay,       [APPROVAL, SCOPE, SCOPE, APPROVAL, SCOPE, OK]),
    (Kind::ExpenseClaim, Op::Approver,  [FIELD,    SCOPE, SCOPE, APPROVAL, SCOPE, OK]),
    (Kind::ExpenseClaim, Op::Owner,     [SCOPE,    SCOPE, SCOPE, APPROVAL, SCOPE, APPROVAL]),
    // li's order at her customer, with a line: a draft, or submitted (EditSubmitted, Confirm).
    // The actor takes a new one as themselves.
    (Kind::Order,        Op::Create,    [OK,       SCOPE, SCOPE, OK,    SCOPE, OK]),
    (Kind::Order,        Op::Read,      [SEEN,     UNSEEN, UNSEEN, SEEN, UNSEEN, SEEN]),
    (Kind::Order,        Op::Edit,      [OK,       SCOPE, SCOPE, OK,    SCOPE, OK]),
    (Kind::Order,        Op::EditSubmitted, [WORKFLOW, SCOPE, SCOPE, WORKFLOW, SCOPE, WORKFLOW]),
    (Kind::Order,        Op::Submit,    [OK,       SCOPE, SCOPE, WORKFLOW, SCOPE, WORKFLOW]),
    (Kind::Order,        Op::Confirm,   [WORKFLOW, SCOPE, SCOPE, OK,    SCOPE, OK]),
    // li's complaint at her customer, assigned to chen. The actor records a new one,
    // unassigned.
    (Kind::Complaint,    Op::Create,    [OK,       SCOPE, SCOPE, OK,    SCOPE, OK]),
    (Kind::Complaint,    Op::Read,      [SEEN,     UNSEEN, SEEN, SEEN,  UNSEEN, SEEN]),
    (Kind::Complaint,    Op::Edit,      [OK,       SCOPE, OK,    OK,    SCOPE, OK]),
    (Kind::Complaint,    Op::Investigate, [WORKFLOW, SCOPE, OK,  OK,    SCOPE, OK]),
    // chen, handing it on, would leave his own scope: that is refused before his rights.
    (Kind::Complaint,    Op::Assign,    [FIELD,    SCOPE, SCOPE, OK,    SCOPE, OK]),
    // li's December target, set by zhang. The actor sets a new one for li.
    (Kind::Target,       Op::Create,    [FIELD,    SCOPE, SCOPE, OK,    SCOPE, OK]),
    (Kind::Target,       Op::Read,      [SEEN,     UNSEEN, UNSEEN, SEEN, UNSEEN, SEEN]),
    (Kind::Target,       Op::Edit,      [FIELD,    SCOPE, SCOPE, OK,    SCOPE, OK]),
];

/// Cases the matrix's columns do not reach: other shapes of document, other owners, and
/// forbidden values hidden inside a creation.
#[derive(Debug, Clone, Copy)]
enum Edge {
    /// li creates a customer in north, a territory that is not hers.
    CustomerInForeignTerritory,
    /// li creates a customer owned by wang.
    CustomerForAnotherRep,
    /// li creates a trip plan whose approver is zhao, not her manager.
    PlanWithForeignApprover,
    /// li creates an expense claim that is already approved (one push).
    ClaimBornApproved,
    /// li creates a visit that already carries a manager's comment (one push).
    VisitBornWithComment,
    /// li edits a visit that zhang recorded at her customer.
    VisitOfAnother,
    /// zhang, made approver of chen's claim by admin, approves it.
    ForeignApproverApproves,
    /// zhao, chen's manager but no longer the approver, approves that claim.
    FormerApproverApproves,
    /// zhang edits a customer in east (his territory) that admin gave to chen.
    TerritoryManagerEditsForeignOwned,
    /// zhao edits that same customer, owned by his rep chen.
    TeamManagerEditsOutsideTerritory,
    /// zhang hands li's customers to chen, who is not in his team.
    HandoverOutsideTeam,
    /// zhang approves li's claim but signs the decision with admin's name.
    DecisionSignedByAnother,
    /// zhang marks li's approved claim paid in admin's name.
    PaymentSignedByAnother,
    /// zhang files his own trip plan with himself as approver.
    OwnApprover,
    /// admin makes li the approver of her own claim.
    MadeOwnApprover,
    /// zhang names zhao, a peer manager, approver of his own claim.
    PeerApprover,
    /// li adds an item to her claim after zhang approved it.
    ApprovedClaimGetsItem,
    /// li sets her paid claim back to submitted.
    PaidClaimResubmitted,
    /// zhang comments on li's visit, signing the comment as admin.
    CommentSignedByAnother,
    /// li replaces the comments of her visit with a new, empty list.
    CommentsReplaced,
    /// li takes an order at her customer in wang's name.
    OrderForAnotherRep,
    /// zhang takes an order at li's customer, submits it and confirms it himself.
    OwnOrderConfirmed,
    /// admin confirms the order zhang took and submitted.
    ManagersOrderConfirmedByAdmin,
    /// zhang confirms li's order, signing the step as admin.
    ConfirmSignedByAnother,
    /// zhang sets his own target.
    OwnTarget,
    /// zhang sets the target of chen, who is zhao's.
    TargetOutsideTeam,
    /// li records a complaint at her customer and takes it on herself.
    ComplaintTakenOn,
    /// li records a complaint at her customer and assigns it to wang.
    ComplaintAssignedByRep,
    /// chen records a complaint at li's customer (which he does not see) and takes it on
    /// himself.
    ComplaintTakenOnOutsideScope,
}

#[rustfmt::skip]
const EDGES: &[(&str, Edge, Expect)] = &[
    ("li",    Edge::CustomerInForeignTerritory,       SCOPE),
    ("li",    Edge::CustomerForAnotherRep,            SCOPE),
    ("li",    Edge::PlanWithForeignApprover,          APPROVAL),
    ("li",    Edge::ClaimBornApproved,                APPROVAL),
    ("li",    Edge::VisitBornWithComment,             FIELD),
    ("li",    Edge::VisitOfAnother,                   FIELD),
    ("zhang", Edge::ForeignApproverApproves,          OK),
    ("zhao",  Edge::FormerApproverApproves,           APPROVAL),
    ("zhang", Edge::TerritoryManagerEditsForeignOwned, OK),
    ("zhao",  Edge::TeamManagerEditsOutsideTerritory, OK),
    ("zhang", Edge::HandoverOutsideTeam,              Expect::Http(403)),
    ("zhang", Edge::DecisionSignedByAnother,          FIELD),
    ("zhang", Edge::PaymentSignedByAnother,           APPROVAL),
    ("zhang", Edge::OwnApprover,                      APPROVAL),
    ("admin", Edge::MadeOwnApprover,                  APPROVAL),
    ("zhang", Edge::PeerApprover,                     APPROVAL),
    ("li",    Edge::ApprovedClaimGetsItem,            APPROVAL),
    ("li",    Edge::PaidClaimResubmitted,             APPROVAL),
    ("zhang", Edge::CommentSignedByAnother,           FIELD),
    ("li",    Edge::CommentsReplaced,                 FIELD),
    ("li",    Edge::OrderForAnotherRep,               FIELD),
    ("zhang", Edge::OwnOrderConfirmed,                WORKFLOW),
    ("admin", Edge::ManagersOrderConfirmedByAdmin,    OK),
    ("zhang", Edge::ConfirmSignedByAnother,           FIELD),
    ("zhang", Edge::OwnTarget,                        FIELD),
    ("zhang", Edge::TargetOutsideTeam,                SCOPE),
    ("li",    Edge::ComplaintTakenOn,                 OK),
    ("li",    Edge::ComplaintAssignedByRep,           FIELD),
    ("chen",  Edge::ComplaintTakenOnOutsideScope,     SCOPE),
];

impl fmt::Display for Edge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Edge::CustomerInForeignTerritory => "creates a customer in north (not her territory)",
            Edge::CustomerForAnotherRep => "creates a customer owned by wang",
            Edge::PlanWithForeignApprover => {
                "creates a trip plan approved by zhao (not her manager)"
            }
            Edge::ClaimBornApproved => "creates an expense claim that is already approved",
            Edge::VisitBornWithComment => "creates a visit that carries a manager's comment",
            Edge::VisitOfAnother => "edits a visit zhang recorded at her customer",
            Edge::ForeignApproverApproves => "approves chen's claim after admin made him approver",
            Edge::FormerApproverApproves => "approves chen's claim after admin gave it to zhang",
            Edge::TerritoryManagerEditsForeignOwned => "edits an east customer owned by chen",
            Edge::TeamManagerEditsOutsideTerritory => "edits chen's customer in east",
            Edge::HandoverOutsideTeam => "hands li's customers to chen (another team)",
            Edge::DecisionSignedByAnother => "approves li's claim signed as admin",
            Edge::PaymentSignedByAnother => "marks li's claim paid signed as admin",
            Edge::OwnApprover => "files his own trip plan with himself as approver",
            Edge::MadeOwnApprover => "makes li the approver of her own claim",
            Edge::PeerApprover => "files his own claim with zhao, a peer, as approver",
            Edge::ApprovedClaimGetsItem => "adds an item to her approved claim",
            Edge::PaidClaimResubmitted => "submits her paid claim again",
            Edge::CommentSignedByAnother => "comments on li's visit signed as admin",
            Edge::CommentsReplaced => "replaces her visit's comments with a new list",
            Edge::OrderForAnotherRep => "takes an order at her customer in wang's name",
            Edge::OwnOrderConfirmed => "confirms the order he took himself",
            Edge::ManagersOrderConfirmedByAdmin => "confirms the order zhang took",
            Edge::ConfirmSignedByAnother => "confirms li's order signed as admin",
            Edge::OwnTarget => "sets his own target",
            Edge::TargetOutsideTeam => "sets chen's target (zhao's rep)",
            Edge::ComplaintTakenOn => "records a complaint and takes it on herself",
            Edge::ComplaintAssignedByRep => "records a complaint assigned to wang",
            Edge::ComplaintTakenOnOutsideScope => {
                "records a complaint at li's customer and takes it on himself"
            }
        })
    }
}

// ---------------------------------------------------------------------------------------------
// The running organisation.
// ---------------------------------------------------------------------------------------------

/// A transport that keeps every answer of the real HTTP client, so each can be checked.
struct Spy<'a> {
    inner: HttpClient<'a>,
    answers: Vec<SyncResponse>,
}

impl Transport for Spy<'_> {
    fn sync_round(&mut self, body: Vec<u8>) -> Result<Vec<u8>, SyncError> {
        let answer = self.inner.sync_round(body)?;
        if let Ok(decoded) = decode::<SyncResponse>(&answer) {
            self.answers.push(decoded);
        }
        Ok(answer)
    }
}

/// Creates a document in a device's store and returns its id.
type Creation = Box<dyn FnOnce(&Store) -> String>;

/// One change to a document: through the library's edits, or raw root puts it has no edit for.
enum Change {
    Customer(Vec<CustomerEdit>),
    Visit(Vec<VisitEdit>),
    Plan(Vec<TripPlanEdit>),
    Claim(Vec<ExpenseClaimEdit>),
    Order(Vec<OrderEdit>),
    Complaint(Vec<ComplaintEdit>),
    Target(Vec<TargetEdit>),
    Puts(Vec<(&'static str, String)>),
    /// A new, empty list put over a root field (raw).
    NewList(&'static str),
}

/// What an accepted operation does to the scope fields the model keeps.
enum Effect {
    None,
    Insert(String, Meta),
    Owner(String, String),
    Territory(String, String),
    Approver(String, String),
    Customer(String, String),
    Handover(String, String),
}

fn customer_meta(territory: &str, owner: &str) -> Meta {
    Meta {
        kind: Kind::Customer,
        territory: territory.into(),
        owner: owner.into(),
        approver: String::new(),
        customer: String::new(),
    }
}

/// A visit's scope: its customer, and its author (kept in `owner`).
fn visit_meta(customer: &str, author: &str) -> Meta {
    Meta {
        kind: Kind::Visit,
        territory: String::new(),
        owner: author.into(),
        approver: String::new(),
        customer: customer.into(),
    }
}

fn paper_meta(kind: Kind, owner: &str, approver: &str) -> Meta {
    Meta {
        kind,
        territory: String::new(),
        owner: owner.into(),
        approver: approver.into(),
        customer: String::new(),
    }
}

/// An order's scope: its customer, and the rep who took it (kept in `owner`).
fn order_meta(customer: &str, owner: &str) -> Meta {
    Meta {
        kind: Kind::Order,
        territory: String::new(),
        owner: owner.into(),
        approver: String::new(),
        customer: customer.into(),
    }
}

/// A complaint's scope: its customer, who recorded it (kept in `owner`) and its assignee (kept
/// in `approver`, empty when nobody is assigned).
fn complaint_meta(customer: &str, recorded_by: &str, assignee: &str) -> Meta {
    Meta {
        kind: Kind::Complaint,
        territory: String::new(),
        owner: recorded_by.into(),
        approver: assignee.into(),
        customer: customer.into(),
    }
}

fn target_meta(rep: &str) -> Meta {
    Meta {
        kind: Kind::Target,
        territory: String::new(),
        owner: rep.into(),
        approver: String::new(),
        customer: String::new(),
    }
}

fn order(customer: &str, owner: &str) -> Order {
    NewOrder {
        customer: customer.into(),
        owner: owner.into(),
        date: "2026-11-30".into(),
        ..Default::default()
    }
    .build(new_id(), now_string())
    .unwrap()
}

fn order_line(product: &str) -> OrderEdit {
    OrderEdit::AddLine {
        product: product.into(),
        name: "深沟球轴承".into(),
        quantity: 10,
        unit: "box".into(),
        unit_price: 1_500,
        unit_cost: Some(900),
    }
}

fn order_step(to: OrderStatus, by: &str) -> Change {
    Change::Order(vec![OrderEdit::Step {
        to,
        by: by.into(),
        note: None,
    }])
}

fn complaint(customer: &str, recorded_by: &str, assignee: Option<&str>) -> Complaint {
    NewComplaint {
        customer: customer.into(),
        recorded_by: recorded_by.into(),
        received_at: now_string(),
        channel: ComplaintChannel::Visit,
        category: ComplaintCategory::Quality,
        priority: Priority::High,
        summary: "到货轴承异响，要求换货。".into(),
        assignee: assignee.map(str::to_string),
    }
    .build(new_id(), now_string())
    .unwrap()
}

fn target(rep: &str, set_by: &str) -> Target {
    NewTarget {
        owner: rep.into(),
        month: "2026-12".into(),
        sales: 60_000_000,
        visits: 40,
        new_customers: 3,
        set_by: set_by.into(),
    }
    .build(new_id(), now_string())
    .unwrap()
}

fn plan(owner: &str, approver: &str) -> NewTripPlan {
    NewTripPlan {
        owner: owner.into(),
        approver: approver.into(),
        title: "华东客户回访".into(),
        start_date: "2026-12-01".into(),
        end_date: "2026-12-04".into(),
        cities: vec!["苏州".into()],
        budget: Money::cny(300_000),
    }
}

fn claim(owner: &str, approver: &str) -> NewExpenseClaim {
    NewExpenseClaim {
        owner: owner.into(),
        approver: approver.into(),
        trip: None,
        title: "十二月出差报销".into(),
        currency: None,
    }
}

fn item() -> ExpenseClaimEdit {
    ExpenseClaimEdit::AddItem {
        date: "2026-12-02".into(),
        category: ExpenseCategory::Transport,
        amount: Money::cny(35_000),
        description: Some("高铁".into()),
        invoice_photo: None,
        receipt: None,
    }
}

/// The approver's decision on a plan or claim, recorded as `by`.
fn decision(kind: Kind, by: &str, approve: bool) -> Change {
    let (by, note) = (by.to_string(), Some("按公司标准".to_string()));
    match (kind, approve) {
        (Kind::TripPlan, true) => Change::Plan(vec![TripPlanEdit::Approve { by, note }]),
        (Kind::TripPlan, false) => Change::Plan(vec![TripPlanEdit::Reject { by, note }]),
        (_, true) => Change::Claim(vec![ExpenseClaimEdit::Approve { by, note }]),
        (_, false) => Change::Claim(vec![ExpenseClaimEdit::Reject { by, note }]),
    }
}

/// Applies a library change to a device's store (raw puts never go through a store).
fn edit_store(store: &Store, id: &str, change: Change) {
    match change {
        Change::Customer(e) => drop(store.update_customer(id, &e).unwrap()),
        Change::Visit(e) => drop(store.update_visit(id, &e).unwrap()),
        Change::Plan(e) => drop(store.update_trip_plan(id, &e).unwrap()),
        Change::Claim(e) => drop(store.update_expense_claim(id, &e).unwrap()),
        Change::Order(e) => drop(store.edit::<Order>(id, &e).unwrap()),
        Change::Complaint(e) => drop(store.edit::<Complaint>(id, &e).unwrap()),
        Change::Target(e) => drop(store.edit::<Target>(id, &e).unwrap()),
        Change::Puts(_) | Change::NewList(_) => panic!("raw changes are pushed raw"),
    }
}

struct World {
    /// The server process and its data directory, alive as long as the world.
    _org: Org,
    base: String,
    devices: BTreeMap<&'static str, Device>,
    /// A second device of admin's, used to read what the server holds.
    oracle: Device,
    tokens: BTreeMap<&'static str, String>,
    model: Model,
    /// A customer of wang's and one of chen's, that visits can be pointed at.
    home: BTreeMap<&'static str, String>,
    /// Every problem found besides the cases' own answers (leaks, failed syncs, stored
    /// changes of a rejected document).
    problems: Vec<String>,
}

/// The organisation on `backend`, each user's device logged in; `None` when the test skips.
fn world(backend: Backend) -> Option<World> {
    let o = org_on(backend, &[])?;
    let base = o.server.url();
    let mut devices = BTreeMap::new();
    let mut tokens = BTreeMap::new();
    for (name, ..) in PEOPLE {
        let device = Device::new(&base, name, "laptop");
        // The matrix asks the server: the devices write what they are told, without the
        // early check a logged-in device makes (the device check has its own test).
        device.store.set_acting_user(None).unwrap();
        devices.insert(name, device);
        let token = login(&base, name)["access_token"]
            .as_str()
            .unwrap()
            .to_string();
        tokens.insert(name, token);
    }
    let oracle = Device::new(&base, "admin", "oracle");
    let mut w = World {
        _org: o,
        base,
        devices,
        oracle,
        tokens,
        model: Model::default(),
        home: BTreeMap::new(),
        problems: Vec::new(),
    };
    for (rep, territory) in [("wang", "east"), ("chen", "north")] {
        let id = w.create_customer(rep, territory, rep);
        w.home.insert(rep, id);
    }
    Some(w)
}

impl World {
    fn store(&self, user: &str) -> &Store {
        &self.devices.get(user).unwrap().store
    }

    /// Checks that no document of `answers` is outside `user`'s scope as the model says now.
    fn check_answers(&mut self, user: &str, answers: &[SyncResponse], during: &str) {
        for answer in answers {
            for doc in &answer.documents {
                if !self.model.sees(user, &doc.id) {
                    let kind = self.model.docs.get(&doc.id).map(|m| m.kind.to_string());
                    self.problems.push(format!(
                        "{during}: {user} was sent {} {} outside their scope",
                        kind.unwrap_or_else(|| "unknown document".into()),
                        doc.id
                    ));
                }
            }
        }
    }

    /// Syncs `user`'s device (or admin's oracle) and returns the server's answers, unchecked.
    fn sync_answers(&mut self, user: &str, oracle: bool, during: &str) -> Vec<SyncResponse> {
        let store = if oracle {
            &self.oracle.store
        } else {
            &self.devices.get(user).unwrap().store
        };
        let mut spy = Spy {
            inner: HttpClient::from_store(store).unwrap(),
            answers: Vec::new(),
        };
        if let Err(e) = run(store, &mut spy, |_| {}) {
            self.problems
                .push(format!("{during}: {user}'s sync failed: {e}"));
        }
        spy.answers
    }

    /// Syncs `user`'s device and checks its answers.
    fn sync(&mut self, user: &str, during: &str) {
        let answers = self.sync_answers(user, false, during);
        self.check_answers(user, &answers, during);
    }

    /// Syncs a device whose push of `id` must be accepted (the setup of a case).
    fn sync_setup(&mut self, user: &str, id: &str) {
        let answers = self.sync_answers(user, false, "setup");
        if let Some(r) = answers
            .iter()
            .flat_map(|a| &a.rejected)
            .find(|r| r.id == id)
        {
            panic!(
                "setup: {user}'s {id} was rejected ({}): {}",
                r.rule, r.reason
            );
        }
        self.check_answers(user, &answers, "setup");
    }

    /// The heads the server holds for `id` (None if it has no such document), as the oracle
    /// device reads them.
    fn server_heads(&mut self, id: &str, during: &str) -> Option<Vec<String>> {
        let answers = self.sync_answers("admin", true, during);
        self.check_answers("admin", &answers, during);
        self.oracle
            .store
            .heads(id)
            .ok()
            .map(|h| h.iter().map(|h| h.to_string()).collect())
    }

    fn holds(&self, user: &str, id: &str) -> bool {
        self.store(user).kind_of(id).is_ok()
    }

    fn create_customer(&mut self, by: &str, territory: &str, owner: &str) -> String {
        let mut c = customer("苏州精密机械", territory, owner);
        c.created_by = by.into();
        let id = self.store(by).create_customer(c).unwrap();
        self.model
            .docs
            .insert(id.clone(), customer_meta(territory, owner));
        self.sync_setup(by, &id);
        id
    }

    fn create_visit(&mut self, by: &str, customer_id: &str) -> String {
        let id = self
            .store(by)
            .create_visit(visit(customer_id, by, "看了产线，谈了交期。"))
            .unwrap();
        self.model
            .docs
            .insert(id.clone(), visit_meta(customer_id, by));
        self.sync_setup(by, &id);
        id
    }

    /// A trip plan or claim of `owner`'s, approved by `approver`, up to `stage` (0 draft,
    /// 1 submitted, 2 approved by the approver).
    fn create_paper(&mut self, kind: Kind, owner: &str, approver: &str, stage: u8) -> String {
        let store = self.store(owner);
        let id = match kind {
            Kind::TripPlan => store.create_trip_plan(plan(owner, approver)).unwrap(),
            _ => {
                let id = store.create_expense_claim(claim(owner, approver)).unwrap();
                edit_store(store, &id, Change::Claim(vec![item()]));
                id
            }
        };
        if stage >= 1 {
            let submit = match kind {
                Kind::TripPlan => Change::Plan(vec![TripPlanEdit::Submit]),
                _ => Change::Claim(vec![ExpenseClaimEdit::Submit]),
            };
            edit_store(store, &id, submit);
        }
        self.model
            .docs
            .insert(id.clone(), paper_meta(kind, owner, approver));
        self.sync_setup(owner, &id);
        if stage >= 2 {
            self.sync(approver, "setup");
            edit_store(self.store(approver), &id, decision(kind, approver, true));
            self.sync_setup(approver, &id);
        }
        id
    }

    /// An order `owner` took at `customer_id`, with a line, submitted if `submitted`.
    fn create_order(&mut self, owner: &str, customer_id: &str, submitted: bool) -> String {
        let store = self.store(owner);
        let id = store.create(order(customer_id, owner)).unwrap();
        edit_store(store, &id, Change::Order(vec![order_line("6204")]));
        if submitted {
            edit_store(store, &id, order_step(OrderStatus::Submitted, owner));
        }
        self.model
            .docs
            .insert(id.clone(), order_meta(customer_id, owner));
        self.sync_setup(owner, &id);
        id
    }

    /// A complaint `by` recorded at `customer_id`, which zhang then assigned to `assignee`
    /// (a rep assigns a complaint to nobody but herself).
    fn create_complaint(&mut self, by: &str, customer_id: &str, assignee: &str) -> String {
        let id = self
            .store(by)
            .create(complaint(customer_id, by, None))
            .unwrap();
        self.model
            .docs
            .insert(id.clone(), complaint_meta(customer_id, by, ""));
        self.sync_setup(by, &id);
        self.sync("zhang", "setup");
        let assign = ComplaintEdit::Assign(Some(assignee.into()));
        edit_store(self.store("zhang"), &id, Change::Complaint(vec![assign]));
        self.apply(Effect::Approver(id.clone(), assignee.into()));
        self.sync_setup("zhang", &id);
        id
    }

    /// The target of `rep`, set by `by`.
    fn create_target(&mut self, by: &str, rep: &str) -> String {
        let id = self.store(by).create(target(rep, by)).unwrap();
        self.model.docs.insert(id.clone(), target_meta(rep));
        self.sync_setup(by, &id);
        id
    }

    /// Creates a document in `actor`'s store with `create` and pushes it with a sync; returns
    /// what [`World::case`] wants, the new document's id last.
    fn push_new(
        &mut self,
        actor: &str,
        meta: Meta,
        create: impl FnOnce(&Store) -> String,
        during: &str,
    ) -> (Outcome, Vec<SyncResponse>, Effect, String) {
        let id = create(self.store(actor));
        let answers = self.sync_answers(actor, false, during);
        let outcome = self.answer_for(&id, &answers, during);
        (outcome, answers, Effect::Insert(id.clone(), meta), id)
    }

    /// Pushes `change` to document `id` as `actor`: through the actor's store when it holds
    /// the document and the library has the edit, else as raw Automerge changes built on what
    /// the server holds, under the actor's token. Returns the server's answer for the document
    /// and every answer of the round(s).
    fn push(
        &mut self,
        actor: &str,
        id: &str,
        change: Change,
        during: &str,
    ) -> (Outcome, Vec<SyncResponse>) {
        if !matches!(change, Change::Puts(_) | Change::NewList(_)) && self.holds(actor, id) {
            edit_store(self.store(actor), id, change);
            let answers = self.sync_answers(actor, false, during);
            return (self.answer_for(id, &answers, during), answers);
        }
        let answers = self.sync_answers("admin", true, during);
        self.check_answers("admin", &answers, during);
        let bytes = self.oracle.store.document_bytes(id).unwrap();
        let mut doc = AutoCommit::load(&bytes)
            .unwrap()
            .with_actor(ActorId::random());
        match change {
            Change::Customer(edits) => edits
                .iter()
                .for_each(|e| Customer::apply_edit(&mut doc, e).unwrap()),
            Change::Visit(edits) => edits
                .iter()
                .for_each(|e| Visit::apply_edit(&mut doc, e).unwrap()),
            Change::Plan(edits) => edits
                .iter()
                .for_each(|e| TripPlan::apply_edit(&mut doc, e).unwrap()),
            Change::Claim(edits) => edits
                .iter()
                .for_each(|e| ExpenseClaim::apply_edit(&mut doc, e).unwrap()),
            Change::Order(edits) => edits
                .iter()
                .for_each(|e| Order::apply_edit(&mut doc, e).unwrap()),
            Change::Complaint(edits) => edits
                .iter()
                .for_each(|e| Complaint::apply_edit(&mut doc, e).unwrap()),
            Change::Target(edits) => edits
                .iter()
                .for_each(|e| Target::apply_edit(&mut doc, e).unwrap()),
            Change::Puts(puts) => {
                for (field, value) in puts {
                    doc.put(ROOT, field, value).unwrap();
                }
            }
            Change::NewList(field) => {
                doc.put_object(ROOT, field, automerge::ObjType::List)
                    .unwrap();
            }
        }
        doc.commit();
        let changes = doc
            .get_changes(&[])
            .into_iter()
            .map(|mut c| ByteBuf::from(c.bytes().into_owned()))
            .collect();
        let answer = self.raw_round(
            actor,
            vec![PushDocument {
                id: id.to_string(),
                changes,
            }],
        );
        let answers = vec![answer];
        (self.answer_for(id, &answers, during), answers)
    }

    /// One raw sync round of `actor`'s from cursor 0, so it also pulls everything in scope.
    fn raw_round(&self, actor: &str, push: Vec<PushDocument>) -> SyncResponse {
        let body = encode(&SyncRequest {
            protocol: 1,
            cursor: 0,
            push,
        });
        let (status, bytes) = post_bytes(
            &format!("{}/v1/sync", self.base),
            Some(self.tokens.get(actor).unwrap()),
            "application/cbor",
            &body,
        );
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
        decode(&bytes).unwrap()
    }

    /// `POST /v1/handover` as `actor`; the status.
    fn handover(&self, actor: &str, from: &str, to: &str) -> u16 {
        let body = serde_json::json!({ "from": from, "to": to }).to_string();
        let (status, answer) = post(
            &format!("{}/v1/handover", self.base),
            Some(self.tokens.get(actor).unwrap()),
            "application/json",
            body.as_bytes(),
        );
        assert!(
            status == 200 || answer["message"].as_str().unwrap_or_default().len() > 15,
            "the handover's refusal says too little: {answer}"
        );
        status
    }

    /// The server's answer for document `id` among `answers`.
    fn answer_for(&mut self, id: &str, answers: &[SyncResponse], during: &str) -> Outcome {
        let rejected = answers
            .iter()
            .flat_map(|a| &a.rejected)
            .find(|r| r.id == id);
        let accepted = answers.iter().flat_map(|a| &a.accepted).any(|a| a.id == id);
        match (rejected, accepted) {
            (Some(r), false) => {
                if r.reason.len() < 15 {
                    self.problems.push(format!(
                        "{during}: the reason says too little: {}",
                        r.reason
                    ));
                }
                Outcome::Refused(r.rule.clone())
            }
            (None, true) => Outcome::Accepted,
            _ => {
                self.problems.push(format!(
                    "{during}: {id} was not answered once, as accepted or rejected"
                ));
                Outcome::Refused("(no answer)".into())
            }
        }
    }

    /// Takes in what an accepted operation changed.
    fn apply(&mut self, effect: Effect) {
        let docs = &mut self.model.docs;
        match effect {
            Effect::None => {}
            Effect::Insert(id, meta) => drop(docs.insert(id, meta)),
            Effect::Owner(id, to) => docs.get_mut(&id).unwrap().owner = to,
            Effect::Territory(id, to) => docs.get_mut(&id).unwrap().territory = to,
            Effect::Approver(id, to) => docs.get_mut(&id).unwrap().approver = to,
            Effect::Customer(id, to) => docs.get_mut(&id).unwrap().customer = to,
            Effect::Handover(from, to) => {
                for meta in docs.values_mut() {
                    // Visits keep their authors (held in `owner`): only customers move.
                    if meta.kind == Kind::Customer && meta.owner == from {
                        meta.owner.clone_from(&to);
                    }
                }
            }
        }
    }

    /// Runs one case, named `during`, about `subject` (li's document, if the case has one).
    /// `op` returns the answer, the server's answers to check for leaks, what the operation
    /// changes if it is allowed, and the document it touched. A refused operation must leave
    /// the touched document on the server as it was.
    fn case(
        &mut self,
        actor: &str,
        subject: Option<&str>,
        during: &str,
        op: impl FnOnce(&mut World) -> (Outcome, Vec<SyncResponse>, Effect, String),
    ) -> Outcome {
        let before = subject.and_then(|id| self.server_heads(id, during));
        self.sync(actor, during);
        let (outcome, answers, effect, touched) = op(self);
        let refused = match &outcome {
            Outcome::Accepted | Outcome::Seen(_) => false,
            Outcome::Status(s) => *s != 200,
            Outcome::Refused(_) => true,
        };
        if !refused {
            self.apply(effect);
        }
        self.check_answers(actor, &answers, during);
        if refused {
            let after = self.server_heads(&touched, during);
            let expected = if subject == Some(touched.as_str()) {
                before
            } else {
                None
            };
            if after != expected {
                self.problems.push(format!(
                    "{during}: refused, yet the server's {touched} went from {expected:?} to {after:?}"
                ));
            }
        }
        outcome
    }
}

/// li's documents for one case of the matrix: the document of `kind` the case is about, and
/// for a visit the customer it was recorded at.
fn fixture(w: &mut World, kind: Kind, op: Op) -> (String, String) {
    match kind {
        Kind::Customer => {
            let c = w.create_customer("li", "east", "li");
            (c.clone(), c)
        }
        Kind::Visit => {
            let c = w.create_customer("li", "east", "li");
            (w.create_visit("li", &c), c)
        }
        Kind::Order => {
            let c = w.create_customer("li", "east", "li");
            let submitted = matches!(op, Op::EditSubmitted | Op::Confirm);
            (w.create_order("li", &c, submitted), c)
        }
        Kind::Complaint => {
            let c = w.create_customer("li", "east", "li");
            (w.create_complaint("li", &c, "chen"), c)
        }
        Kind::Target => (w.create_target("zhang", "li"), String::new()),
        Kind::TripPlan | Kind::ExpenseClaim => {
            let stage = match op {
                Op::Submit | Op::Edit => 0,
                Op::Pay => 2,
                _ => 1,
            };
            (w.create_paper(kind, "li", "zhang", stage), String::new())
        }
    }
}

/// Runs the matrix's case (`actor`, `kind`, `op`) and returns the server's answer.
fn matrix_case(w: &mut World, actor: &'static str, kind: Kind, op: Op, during: &str) -> Outcome {
    // A new visit, order or complaint is about li's customer (made by the fixture); any other
    // new document stands alone.
    let of_customer = matches!(kind, Kind::Visit | Kind::Order | Kind::Complaint);
    if op == Op::Create && !of_customer {
        return w.case(actor, None, during, |w| {
            let (meta, create): (Meta, Creation) = match kind {
                Kind::Customer => (
                    customer_meta("east", "li"),
                    Box::new(move |s: &Store| {
                        let mut c = customer("无锡新客户", "east", "li");
                        c.created_by = actor.into();
                        s.create_customer(c).unwrap()
                    }),
                ),
                Kind::TripPlan => (
                    paper_meta(kind, "li", "zhang"),
                    Box::new(|s: &Store| s.create_trip_plan(plan("li", "zhang")).unwrap()),
                ),
                Kind::Target => (
                    target_meta("li"),
                    Box::new(move |s: &Store| s.create(target("li", actor)).unwrap()),
                ),
                _ => (
                    paper_meta(kind, "li", "zhang"),
                    Box::new(|s: &Store| s.create_expense_claim(claim("li", "zhang")).unwrap()),
                ),
            };
            w.push_new(actor, meta, create, during)
        });
    }
    let (doc, customer_id) = fixture(w, kind, op);
    // A new visit, order or complaint is about li's customer; every other operation about li's
    // document.
    let subject = if op == Op::Create { &customer_id } else { &doc }.clone();
    w.case(actor, Some(&subject), during, |w| {
        let touched = doc.clone();
        let (change, effect) = match (kind, op) {
            (Kind::Order, Op::Create) => {
                return w.push_new(
                    actor,
                    order_meta(&customer_id, actor),
                    |s| s.create(order(&customer_id, actor)).unwrap(),
                    during,
                );
            }
            (Kind::Complaint, Op::Create) => {
                return w.push_new(
                    actor,
                    complaint_meta(&customer_id, actor, ""),
                    |s| s.create(complaint(&customer_id, actor, None)).unwrap(),
                    during,
                );
            }
            (_, Op::Create) => {
                return w.push_new(
                    actor,
                    visit_meta(&customer_id, actor),
                    |s| {
                        s.create_visit(visit(&customer_id, actor, "第二次拜访。"))
                            .unwrap()
                    },
                    during,
                );
            }
            (_, Op::Read) => {
                let held = w.holds(actor, &doc);
                let answer = w.raw_round(actor, vec![]);
                let pulled = answer.documents.iter().any(|d| d.id == doc);
                if held != pulled {
                    w.problems.push(format!(
                        "{during}: the device holds it: {held}, a first pull has it: {pulled}"
                    ));
                }
                return (Outcome::Seen(held), vec![answer], Effect::None, touched);
            }
            (_, Op::Handover) => {
                let status = w.handover(actor, "li", "wang");
                let effect = Effect::Handover("li".into(), "wang".into());
                return (Outcome::Status(status), vec![], effect, touched);
            }
            (Kind::Customer, Op::Edit) => (
                Change::Customer(vec![
                    CustomerEdit::Name("苏州精密机械（新厂）".into()),
                    CustomerEdit::AppendNotes(format!("{actor} 补充：新厂区投产。")),
                ]),
                Effect::None,
            ),
            (Kind::Customer, Op::Reassign) => (
                Change::Customer(vec![CustomerEdit::Owner("wang".into())]),
                Effect::Owner(doc.clone(), "wang".into()),
            ),
            (Kind::Customer, Op::Territory) => (
                Change::Customer(vec![CustomerEdit::Territory("north".into())]),
                Effect::Territory(doc.clone(), "north".into()),
            ),
            (Kind::Visit, Op::Edit) => (
                Change::Visit(vec![
                    VisitEdit::AppendSummary("对方要求下周报价。".into()),
                    VisitEdit::NextStep(Some("周五前发报价单".into())),
                ]),
                Effect::None,
            ),
            (Kind::Visit, Op::Comment) => (
                Change::Visit(vec![VisitEdit::AddComment {
                    author: actor.into(),
                    text: "报价前先和我确认价格。".into(),
                }]),
                Effect::None,
            ),
            (Kind::Visit, Op::Author) => (
                Change::Puts(vec![("author", "wang".into())]),
                Effect::Owner(doc.clone(), "wang".into()),
            ),
            (Kind::Visit, Op::Move) => {
                // Another customer the actor sees.
                let target = match actor {
                    "li" => w.create_customer("li", "east", "li"),
                    "wang" | "zhang" => w.home["wang"].clone(),
                    _ => w.home["chen"].clone(),
                };
                (
                    Change::Puts(vec![("customer", target.clone())]),
                    Effect::Customer(doc.clone(), target),
                )
            }
            (Kind::TripPlan, Op::Edit | Op::EditSubmitted) => (
                Change::Plan(vec![
                    TripPlanEdit::Title("华东客户回访（调整）".into()),
                    TripPlanEdit::AddCity("无锡".into()),
                ]),
                Effect::None,
            ),
            (Kind::ExpenseClaim, Op::Edit | Op::EditSubmitted) => (
                Change::Claim(vec![
                    ExpenseClaimEdit::Title("十二月出差报销（补）".into()),
                    item(),
                ]),
                Effect::None,
            ),
            (Kind::Order, Op::Edit | Op::EditSubmitted) => (
                Change::Order(vec![
                    order_line("6205"),
                    OrderEdit::Note(Some(format!("{actor}：月底前交货。"))),
                ]),
                Effect::None,
            ),
            (Kind::Order, Op::Submit) => (order_step(OrderStatus::Submitted, actor), Effect::None),
            (Kind::Order, Op::Confirm) => (order_step(OrderStatus::Confirmed, actor), Effect::None),
            (Kind::Complaint, Op::Edit) => (
                Change::Complaint(vec![
                    ComplaintEdit::AppendSummary(format!("{actor}：客户要求本周内答复。")),
                    ComplaintEdit::Priority(Priority::Urgent),
                ]),
                Effect::None,
            ),
            (Kind::Complaint, Op::Investigate) => (
                Change::Complaint(vec![ComplaintEdit::Step {
                    to: ComplaintStatus::Investigating,
                    by: actor.into(),
                    note: Some("已联系仓库核查。".into()),
                    visit: None,
                }]),
                Effect::None,
            ),
            (Kind::Complaint, Op::Assign) => (
                Change::Complaint(vec![ComplaintEdit::Assign(Some("wang".into()))]),
                Effect::Approver(doc.clone(), "wang".into()),
            ),
            (Kind::Target, Op::Edit) => (
                Change::Target(vec![
                    TargetEdit::Sales(70_000_000),
                    TargetEdit::SetBy(actor.into()),
                ]),
                Effect::None,
            ),
            (Kind::TripPlan, Op::Submit) => {
                (Change::Plan(vec![TripPlanEdit::Submit]), Effect::None)
            }
            (_, Op::Submit) => (Change::Claim(vec![ExpenseClaimEdit::Submit]), Effect::None),
            (_, Op::Approve) => (decision(kind, actor, true), Effect::None),
            (_, Op::Reject) => (decision(kind, actor, false), Effect::None),
            (_, Op::Decision) => (
                Change::Puts(vec![
                    ("decided_by", actor.into()),
                    ("decision_note", "已核实".into()),
                ]),
                Effect::None,
            ),
            (Kind::TripPlan, Op::Approver) => (
                Change::Plan(vec![TripPlanEdit::Approver("zhao".into())]),
                Effect::Approver(doc.clone(), "zhao".into()),
            ),
            (_, Op::Approver) => (
                Change::Claim(vec![ExpenseClaimEdit::Approver("zhao".into())]),
                Effect::Approver(doc.clone(), "zhao".into()),
            ),
            (_, Op::Owner) => (
                Change::Puts(vec![("owner", "wang".into())]),
                Effect::Owner(doc.clone(), "wang".into()),
            ),
            (_, Op::Pay) => (
                Change::Claim(vec![ExpenseClaimEdit::MarkPaid { by: actor.into() }]),
                Effect::None,
            ),
            (kind, op) => panic!("the matrix has no case {kind} × {op}"),
        };
        let (outcome, answers) = w.push(actor, &doc, change, during);
        (outcome, answers, effect, touched)
    })
}

/// Runs an edge case and returns the server's answer.
fn edge_case(w: &mut World, actor: &'static str, edge: Edge, during: &str) -> Outcome {
    let created =
        |meta: Meta, create: Creation| move |w: &mut World| w.push_new(actor, meta, create, during);
    match edge {
        Edge::CustomerInForeignTerritory => w.case(
            actor,
            None,
            during,
            created(
                customer_meta("north", "li"),
                Box::new(|s| {
                    s.create_customer(customer("北方客户", "north", "li"))
                        .unwrap()
                }),
            ),
        ),
        Edge::CustomerForAnotherRep => w.case(
            actor,
            None,
            during,
            created(
                customer_meta("east", "wang"),
                Box::new(|s| {
                    let mut c = customer("王的客户", "east", "wang");
                    c.created_by = "li".into();
                    s.create_customer(c).unwrap()
                }),
            ),
        ),
        Edge::PlanWithForeignApprover => w.case(
            actor,
            None,
            during,
            created(
                paper_meta(Kind::TripPlan, "li", "zhao"),
                Box::new(|s| s.create_trip_plan(plan("li", "zhao")).unwrap()),
            ),
        ),
        Edge::ClaimBornApproved => w.case(
            actor,
            None,
            during,
            created(
                paper_meta(Kind::ExpenseClaim, "li", "zhang"),
                Box::new(|s| {
                    let id = s.create_expense_claim(claim("li", "zhang")).unwrap();
                    edit_store(
                        s,
                        &id,
                        Change::Claim(vec![item(), ExpenseClaimEdit::Submit]),
                    );
                    edit_store(s, &id, decision(Kind::ExpenseClaim, "zhang", true));
                    id
                }),
            ),
        ),
        Edge::VisitBornWithComment => {
            let c = w.create_customer("li", "east", "li");
            w.case(
                actor,
                Some(&c.clone()),
                during,
                created(
                    visit_meta(&c, "li"),
                    Box::new(move |s| {
                        let id = s.create_visit(visit(&c, "li", "自己写的拜访。")).unwrap();
                        edit_store(
                            s,
                            &id,
                            Change::Visit(vec![VisitEdit::AddComment {
                                author: "zhang".into(),
                                text: "做得好，继续跟进。".into(),
                            }]),
                        );
                        id
                    }),
                ),
            )
        }
        Edge::VisitOfAnother => {
            let c = w.create_customer("li", "east", "li");
            w.sync("zhang", "setup");
            let v = w.create_visit("zhang", &c);
            w.case(actor, Some(&v.clone()), during, move |w| {
                let change = Change::Visit(vec![VisitEdit::AppendSummary("李补充。".into())]);
                let (outcome, answers) = w.push(actor, &v, change, during);
                (outcome, answers, Effect::None, v)
            })
        }
        Edge::ForeignApproverApproves | Edge::FormerApproverApproves => {
            let id = w.create_paper(Kind::ExpenseClaim, "chen", "zhao", 1);
            w.sync("admin", "setup");
            edit_store(
                w.store("admin"),
                &id,
                Change::Claim(vec![ExpenseClaimEdit::Approver("zhang".into())]),
            );
            w.apply(Effect::Approver(id.clone(), "zhang".into()));
            w.sync_setup("admin", &id);
            w.case(actor, Some(&id.clone()), during, move |w| {
                let change = decision(Kind::ExpenseClaim, actor, true);
                let (outcome, answers) = w.push(actor, &id, change, during);
                (outcome, answers, Effect::None, id)
            })
        }
        Edge::TerritoryManagerEditsForeignOwned | Edge::TeamManagerEditsOutsideTerritory => {
            let c = w.create_customer("admin", "east", "chen");
            w.case(actor, Some(&c.clone()), during, move |w| {
                let change = Change::Customer(vec![CustomerEdit::AppendNotes(format!(
                    "{actor}：已电话回访。"
                ))]);
                let (outcome, answers) = w.push(actor, &c, change, during);
                (outcome, answers, Effect::None, c)
            })
        }
        Edge::DecisionSignedByAnother | Edge::PaymentSignedByAnother => {
            let pay = matches!(edge, Edge::PaymentSignedByAnother);
            let id = w.create_paper(Kind::ExpenseClaim, "li", "zhang", if pay { 2 } else { 1 });
            w.sync("zhang", "setup");
            w.case(actor, Some(&id.clone()), during, move |w| {
                let change = if pay {
                    Change::Claim(vec![ExpenseClaimEdit::MarkPaid { by: "admin".into() }])
                } else {
                    decision(Kind::ExpenseClaim, "admin", true)
                };
                let (outcome, answers) = w.push(actor, &id, change, during);
                (outcome, answers, Effect::None, id)
            })
        }
        Edge::PeerApprover => w.case(
            actor,
            None,
            during,
            created(
                paper_meta(Kind::ExpenseClaim, "zhang", "zhao"),
                Box::new(|s| s.create_expense_claim(claim("zhang", "zhao")).unwrap()),
            ),
        ),
        Edge::ApprovedClaimGetsItem | Edge::PaidClaimResubmitted => {
            let paid = matches!(edge, Edge::PaidClaimResubmitted);
            let id = w.create_paper(Kind::ExpenseClaim, "li", "zhang", 2);
            if paid {
                w.sync("admin", "setup");
                let pay = Change::Claim(vec![ExpenseClaimEdit::MarkPaid { by: "admin".into() }]);
                edit_store(w.store("admin"), &id, pay);
                w.sync_setup("admin", &id);
            }
            w.sync("li", "setup");
            w.case(actor, Some(&id.clone()), during, move |w| {
                let change = if paid {
                    // The library refuses this step itself; a hostile client writes it raw.
                    Change::Puts(vec![("status", "submitted".into())])
                } else {
                    Change::Claim(vec![item()])
                };
                let (outcome, answers) = w.push(actor, &id, change, during);
                (outcome, answers, Effect::None, id)
            })
        }
        Edge::OwnApprover => w.case(
            actor,
            None,
            during,
            created(
                paper_meta(Kind::TripPlan, "zhang", "zhang"),
                Box::new(|s| s.create_trip_plan(plan("zhang", "zhang")).unwrap()),
            ),
        ),
        Edge::MadeOwnApprover => {
            let id = w.create_paper(Kind::ExpenseClaim, "li", "zhang", 1);
            w.sync("admin", "setup");
            w.case(actor, Some(&id.clone()), during, move |w| {
                let change = Change::Claim(vec![ExpenseClaimEdit::Approver("li".into())]);
                let (outcome, answers) = w.push(actor, &id, change, during);
                (outcome, answers, Effect::None, id)
            })
        }
        Edge::CommentSignedByAnother | Edge::CommentsReplaced => {
            let c = w.create_customer("li", "east", "li");
            let v = w.create_visit("li", &c);
            w.sync("zhang", "setup");
            w.case(actor, Some(&v.clone()), during, move |w| {
                let change = match edge {
                    Edge::CommentSignedByAnother => Change::Visit(vec![VisitEdit::AddComment {
                        author: "admin".into(),
                        text: "同意。".into(),
                    }]),
                    _ => Change::NewList("manager_comments"),
                };
                let (outcome, answers) = w.push(actor, &v, change, during);
                (outcome, answers, Effect::None, v)
            })
        }
        Edge::OrderForAnotherRep => {
            let c = w.create_customer("li", "east", "li");
            w.case(
                actor,
                Some(&c.clone()),
                during,
                created(
                    order_meta(&c, "wang"),
                    Box::new(move |s| s.create(order(&c, "wang")).unwrap()),
                ),
            )
        }
        Edge::OwnOrderConfirmed | Edge::ManagersOrderConfirmedByAdmin => {
            let c = w.create_customer("li", "east", "li");
            w.sync("zhang", "setup");
            let id = w.create_order("zhang", &c, true);
            w.case(actor, Some(&id.clone()), during, move |w| {
                let change = order_step(OrderStatus::Confirmed, actor);
                let (outcome, answers) = w.push(actor, &id, change, during);
                (outcome, answers, Effect::None, id)
            })
        }
        Edge::ConfirmSignedByAnother => {
            let c = w.create_customer("li", "east", "li");
            let id = w.create_order("li", &c, true);
            w.case(actor, Some(&id.clone()), during, move |w| {
                let change = order_step(OrderStatus::Confirmed, "admin");
                let (outcome, answers) = w.push(actor, &id, change, during);
                (outcome, answers, Effect::None, id)
            })
        }
        Edge::OwnTarget => w.case(
            actor,
            None,
            during,
            created(
                target_meta("zhang"),
                Box::new(|s| s.create(target("zhang", "zhang")).unwrap()),
            ),
        ),
        Edge::TargetOutsideTeam => w.case(
            actor,
            None,
            during,
            created(
                target_meta("chen"),
                Box::new(|s| s.create(target("chen", "zhang")).unwrap()),
            ),
        ),
        Edge::ComplaintTakenOn
        | Edge::ComplaintAssignedByRep
        | Edge::ComplaintTakenOnOutsideScope => {
            let c = w.create_customer("li", "east", "li");
            let assignee = match edge {
                Edge::ComplaintAssignedByRep => "wang",
                _ => actor,
            };
            w.case(
                actor,
                Some(&c.clone()),
                during,
                created(
                    complaint_meta(&c, actor, assignee),
                    Box::new(move |s| s.create(complaint(&c, actor, Some(assignee))).unwrap()),
                ),
            )
        }
        Edge::HandoverOutsideTeam => {
            let c = w.create_customer("li", "east", "li");
            w.case(actor, Some(&c.clone()), during, move |w| {
                let status = w.handover(actor, "li", "chen");
                let effect = Effect::Handover("li".into(), "chen".into());
                (Outcome::Status(status), vec![], effect, c)
            })
        }
    }
}

/// After all cases: every user's long-lived device, and a fresh one, hold exactly the documents
/// their scope allows. Returns the differences.
fn holdings(w: &mut World) -> Vec<String> {
    let mut wrong = Vec::new();
    for (name, ..) in PEOPLE {
        w.sync(name, "the final sync");
        let expected = w.model.scope(name);
        let fresh = Device::new(&w.base, name, "new phone");
        let mut spy = Spy {
            inner: HttpClient::from_store(&fresh.store).unwrap(),
            answers: Vec::new(),
        };
        if let Err(e) = run(&fresh.store, &mut spy, |_| {}) {
            wrong.push(format!("{name}'s new phone could not sync: {e}"));
        }
        w.check_answers(name, &spy.answers, "a new phone's first sync");
        // The read API answers with the same scope: customers and visits, every page.
        let token = login(&w.base, name)["access_token"]
            .as_str()
            .unwrap()
            .to_string();
        for (kind, path) in [(Kind::Customer, "customers"), (Kind::Visit, "visits")] {
            let mut listed = BTreeSet::new();
            for page in 1.. {
                let (status, answer) =
                    get_json(&format!("{}/v1/{path}?page={page}", w.base), &token);
                assert_eq!(status, 200, "{name}'s GET /v1/{path}: {answer}");
                let items = answer["items"].as_array().unwrap();
                listed.extend(items.iter().map(|i| i["id"].as_str().unwrap().to_string()));
                if items.is_empty() || listed.len() as u64 >= answer["total"].as_u64().unwrap() {
                    break;
                }
            }
            let expected_kind: BTreeSet<String> = expected
                .iter()
                .filter(|id| w.model.docs.get(*id).is_some_and(|m| m.kind == kind))
                .cloned()
                .collect();
            if listed != expected_kind {
                wrong.push(format!(
                    "{name}'s GET /v1/{path} lists {} {kind}s, its scope {}: outside it: {:?}; missing: {:?}",
                    listed.len(),
                    expected_kind.len(),
                    listed.difference(&expected_kind).collect::<Vec<_>>(),
                    expected_kind.difference(&listed).collect::<Vec<_>>()
                ));
            }
        }
        for (device, store) in [("laptop", w.store(name)), ("new phone", &fresh.store)] {
            let held: BTreeSet<String> = store
                .document_ids()
                .unwrap()
                .into_iter()
                .map(|(id, _)| id)
                .collect();
            let extra: Vec<_> = held.difference(&expected).collect();
            let missing: Vec<_> = expected.difference(&held).collect();
            if !extra.is_empty() || !missing.is_empty() {
                let show = |ids: &[&String]| {
                    ids.iter()
                        .map(|id| {
                            format!(
                                "{} {id}",
                                w.model
                                    .docs
                                    .get(*id)
                                    .map_or("?".into(), |m| m.kind.to_string())
                            )
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                wrong.push(format!(
                    "{name}'s {device} holds {} documents, its scope {}: outside it: [{}]; missing: [{}]",
                    held.len(),
                    expected.len(),
                    show(&extra),
                    show(&missing)
                ));
            }
        }
    }
    wrong
}

/// Prints one case's line and returns its failure, if any.
fn judge(line: String, got: &Outcome, expected: Expect) -> Option<String> {
    let want = expected.outcome();
    let ok = *got == want;
    println!(
        "{} {line}: expected {want}, got {got}",
        if ok { "  ok  " } else { " FAIL " }
    );
    (!ok).then(|| format!("{line}: expected {want}, got {got}"))
}

fn report(w: &mut World, failures: Vec<String>, cases: usize, started: Instant) {
    let wrong = holdings(w);
    println!(
        "{cases} cases in {:.1} s; {} failed; {} other problems; {} devices holding the wrong set",
        started.elapsed().as_secs_f64(),
        failures.len(),
        w.problems.len(),
        wrong.len()
    );
    let mut all = failures;
    all.extend(w.problems.iter().cloned());
    all.extend(wrong);
    assert!(
        all.is_empty(),
        "the access policy was not kept:\n{}",
        all.join("\n")
    );
}

on_every_backend!(
    every_role_kind_and_operation_of_the_matrix_gets_the_policys_answer_and_nobody_holds_more,
    edge_cases_of_the_policy_get_their_answer_and_nobody_holds_more,
);

fn every_role_kind_and_operation_of_the_matrix_gets_the_policys_answer_and_nobody_holds_more(
    backend: Backend,
) {
    let started = Instant::now();
    let Some(mut w) = world(backend) else {
        return;
    };
    let mut failures = Vec::new();
    let mut cases = 0;
    for (kind, op, row) in MATRIX {
        for ((actor, relation), expected) in ACTORS.iter().zip(row) {
            let line = format!("{actor} ({relation}) | {kind} | {op}");
            let got = matrix_case(&mut w, actor, *kind, *op, &line);
            failures.extend(judge(line, &got, *expected));
            cases += 1;
        }
    }
    report(&mut w, failures, cases, started);
}

fn edge_cases_of_the_policy_get_their_answer_and_nobody_holds_more(backend: Backend) {
    let started = Instant::now();
    let Some(mut w) = world(backend) else {
        return;
    };
    let mut failures = Vec::new();
    for (actor, edge, expected) in EDGES {
        let line = format!("{actor} {edge}");
        let got = edge_case(&mut w, actor, *edge, &line);
        failures.extend(judge(line, &got, *expected));
    }
    report(&mut w, failures, EDGES.len(), started);
}
