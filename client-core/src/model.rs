//! The document kinds of fieldsync, each one Automerge document, and the rules they obey.
//!
//! Every kind has a typed view (hydrated with autosurgeon), a constructor, edit operations that
//! touch only the fields they change, and `validate`. The server runs the same validation on
//! every pushed document, so a rule is written here once and both sides enforce it.

pub mod attachment;
pub mod complaint;
pub mod customer;
mod diagnose;
pub(crate) mod edit;
pub mod expense_claim;
pub mod fields;
pub mod lifecycle;
mod one_pass;
pub mod order;
pub mod target;
pub mod trip_plan;
pub mod visit;
pub mod workflow;

use automerge::{AutoCommit, ROOT, Value};
use autosurgeon::{Hydrate, Reconcile};
use serde::Serialize;

use crate::error::{Error, Result, ValidationError};
use crate::ids::is_id;

pub use complaint::Complaint;
pub use customer::Customer;
pub use expense_claim::ExpenseClaim;
pub use order::Order;
pub use target::Target;
pub use trip_plan::TripPlan;
pub use visit::Visit;

/// The schema version this build writes and the newest it reads.
///
/// Version 2 keeps shared texts (notes, a visit's summary and SPIN notes) as lists of
/// paragraphs instead of Automerge text; documents of version 1 are still read and edited.
pub const SCHEMA_VERSION: i64 = 2;

fields::string_enum! {
    /// The kind of a document, stored in its root `kind` field.
    DocKind, "kind" {
        /// A customer file.
        Customer = "customer",
        /// A visit record.
        Visit = "visit",
        /// A trip plan.
        TripPlan = "trip_plan",
        /// An expense claim.
        ExpenseClaim = "expense_claim",
        /// An order.
        Order = "order",
        /// A complaint.
        Complaint = "complaint",
        /// A rep's target for a month.
        Target = "target",
    }
}

/// What every document kind provides to the store and the server.
pub trait DocumentModel: Hydrate + Reconcile + Serialize + Clone + Into<Document> {
    /// The kind tag in the document root.
    const KIND: DocKind;
    /// One edit operation of this kind.
    type Edit;
    /// Where documents of this kind come in a push, lowest first: a document is pushed after
    /// those its scope or links point at (a visit after its customer), so the server knows
    /// them when it checks it.
    const PUSH_RANK: u8;
    /// Root fields only managers and admins set on existing documents: the scope fields that
    /// decide who sees the document.
    const PROTECTED_FIELDS: &'static [&'static str];
    /// Root fields that never change once a document exists, for anyone: what it is, and who
    /// made it when.
    const NEVER_CHANGED: &'static [&'static str];

    /// Root fields its approval lifecycle or status workflow writes (none for a kind without
    /// one): never resent from the quarantine, where the step they record was refused.
    const STATUS_FIELDS: &'static [&'static str];

    /// Whether the rules on writing it ask about users other than the writer (an approver's
    /// role, an assignee's existence); the server then gives them its whole directory.
    const ASKS_ABOUT_PEOPLE: bool;

    /// The scope fields of the document: whose it is, and where.
    fn scope(&self) -> crate::rights::DocScope;

    /// The kind's own rules on who writes what, after the rules every kind shares (scope,
    /// protected and never-changed fields, who created it, signatures): who creates it, a
    /// lifecycle's or workflow's steps, entries signed by their writers. The device runs them
    /// before it writes (with itself as the only user it knows), the server on every push.
    fn check_writer(
        w: &crate::rights::Writer<'_>,
        before: Option<&Self>,
        after: &Self,
    ) -> Result<(), crate::rights::Refusal>;

    /// Who created the document and when, as the kind records it; a new document names its
    /// writer there, at a plausible time.
    fn creation(&self) -> crate::rights::Creation<'_>;

    /// The document id.
    fn id(&self) -> &str;

    /// The attachments it references (none for a kind without any): the server lets whoever
    /// sees the document fetch them, and a device keeps their bytes while it holds it.
    fn attachments(&self) -> Vec<&attachment::AttachmentRef>;

    /// Checks every rule of the schema; the error names the field and the rule.
    fn validate(&self) -> Result<(), ValidationError>;

    /// Applies one edit to the document, touching only the fields it changes.
    ///
    /// The caller validates the whole document afterwards and discards the edit if it fails.
    fn apply_edit(doc: &mut AutoCommit, edit: &Self::Edit) -> Result<()>;

    /// Reads the typed view from a document and validates it.
    fn read(doc: &AutoCommit) -> Result<Self> {
        let found = kind_of(doc)?;
        if found != Self::KIND {
            return Err(Error::WrongKind {
                id: id_of(doc).unwrap_or_default(),
                expected: Self::KIND.as_str(),
                found: found.as_str().to_string(),
            });
        }
        Self::read_of_kind(doc)
    }

    /// [`DocumentModel::read`] of a document whose kind was read already (and is this one):
    /// hydrates the typed view and validates it.
    fn read_of_kind(doc: &AutoCommit) -> Result<Self> {
        read_walked(&one_pass::OnePass::new(doc), doc)
    }
}

/// [`DocumentModel::read_of_kind`] through `walked`, a reader of `doc` made already.
fn read_walked<M: DocumentModel>(walked: &one_pass::OnePass<'_>, doc: &AutoCommit) -> Result<M> {
    let view: M = autosurgeon::hydrate(walked)
        .map_err(|e| diagnose::schema_error::<M>(doc, M::KIND.as_str(), &e))?;
    view.validate()?;
    Ok(view)
}

/// Checks the fields every document root carries.
pub(crate) fn validate_root(
    kind: DocKind,
    found_kind: &str,
    schema: i64,
    id: &str,
) -> Result<(), ValidationError> {
    let field = |f: &str| format!("{kind}.{f}");
    if found_kind != kind.as_str() {
        return Err(ValidationError::new(
            field("kind"),
            format!("is '{found_kind}', expected '{kind}'"),
        ));
    }
    if !(1..=SCHEMA_VERSION).contains(&schema) {
        return Err(ValidationError::new(
            field("schema"),
            format!(
                "version {schema} is not one this version reads (1 to {SCHEMA_VERSION}): update the app"
            ),
        ));
    }
    if !is_id(id) {
        return Err(ValidationError::new(
            field("id"),
            format!("'{id}' is not a lower-case UUID"),
        ));
    }
    Ok(())
}

fn root_str(doc: &impl autosurgeon::ReadDoc, key: &str) -> Option<String> {
    match doc.get(&ROOT, key) {
        Ok(Some((Value::Scalar(s), _))) => s.as_str().map(str::to_string),
        _ => None,
    }
}

/// The kind written in a document's root.
pub fn kind_of(doc: &AutoCommit) -> Result<DocKind> {
    kind_in(doc)
}

/// [`kind_of`] through any reader of the document.
fn kind_in(doc: &impl autosurgeon::ReadDoc) -> Result<DocKind> {
    match root_str(doc, "kind") {
        Some(k) => DocKind::named(k),
        None => Err(Error::UnknownKind("(none)".to_string())),
    }
}

/// The id written in a document's root.
pub fn id_of(doc: &AutoCommit) -> Option<String> {
    root_str(doc, "id")
}

/// A document of any kind, read and validated.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
#[allow(
    clippy::large_enum_variant,
    reason = "documents are read one at a time; boxing would add an allocation and clumsier matching"
)]
pub enum Document {
    /// A customer file.
    Customer(Customer),
    /// A visit record.
    Visit(Visit),
    /// A trip plan.
    TripPlan(TripPlan),
    /// An expense claim.
    ExpenseClaim(ExpenseClaim),
    /// An order.
    Order(Order),
    /// A complaint.
    Complaint(Complaint),
    /// A target.
    Target(Target),
}

macro_rules! document_from {
    ($($kind:ident),*) => {
        $(impl From<$kind> for Document {
            fn from(d: $kind) -> Self {
                Document::$kind(d)
            }
        })*
    };
}
document_from!(
    Customer,
    Visit,
    TripPlan,
    ExpenseClaim,
    Order,
    Complaint,
    Target
);

impl DocKind {
    /// The kind named `name` (as a document or a row records it), or [`Error::UnknownKind`].
    pub(crate) fn named(name: String) -> Result<DocKind> {
        name.parse().map_err(|_| Error::UnknownKind(name))
    }

    /// The kind's name in a sentence ("trip plan", "expense claim").
    pub fn noun(self) -> &'static str {
        match self {
            DocKind::Customer => "customer",
            DocKind::Visit => "visit",
            DocKind::TripPlan => "trip plan",
            DocKind::ExpenseClaim => "expense claim",
            DocKind::Order => "order",
            DocKind::Complaint => "complaint",
            DocKind::Target => "target",
        }
    }

    /// The kind's [`DocumentModel::PUSH_RANK`].
    pub fn push_rank(self) -> u8 {
        match self {
            DocKind::Customer => Customer::PUSH_RANK,
            DocKind::Visit => Visit::PUSH_RANK,
            DocKind::TripPlan => TripPlan::PUSH_RANK,
            DocKind::ExpenseClaim => ExpenseClaim::PUSH_RANK,
            DocKind::Order => Order::PUSH_RANK,
            DocKind::Complaint => Complaint::PUSH_RANK,
            DocKind::Target => Target::PUSH_RANK,
        }
    }

    /// The kind's [`DocumentModel::PROTECTED_FIELDS`].
    pub fn protected_fields(self) -> &'static [&'static str] {
        match self {
            DocKind::Customer => Customer::PROTECTED_FIELDS,
            DocKind::Visit => Visit::PROTECTED_FIELDS,
            DocKind::TripPlan => TripPlan::PROTECTED_FIELDS,
            DocKind::ExpenseClaim => ExpenseClaim::PROTECTED_FIELDS,
            DocKind::Order => Order::PROTECTED_FIELDS,
            DocKind::Complaint => Complaint::PROTECTED_FIELDS,
            DocKind::Target => Target::PROTECTED_FIELDS,
        }
    }

    /// The kind's [`DocumentModel::ASKS_ABOUT_PEOPLE`].
    pub fn asks_about_people(self) -> bool {
        match self {
            DocKind::Customer => Customer::ASKS_ABOUT_PEOPLE,
            DocKind::Visit => Visit::ASKS_ABOUT_PEOPLE,
            DocKind::TripPlan => TripPlan::ASKS_ABOUT_PEOPLE,
            DocKind::ExpenseClaim => ExpenseClaim::ASKS_ABOUT_PEOPLE,
            DocKind::Order => Order::ASKS_ABOUT_PEOPLE,
            DocKind::Complaint => Complaint::ASKS_ABOUT_PEOPLE,
            DocKind::Target => Target::ASKS_ABOUT_PEOPLE,
        }
    }

    /// The kind's [`DocumentModel::STATUS_FIELDS`].
    pub fn status_fields(self) -> &'static [&'static str] {
        match self {
            DocKind::Customer => Customer::STATUS_FIELDS,
            DocKind::Visit => Visit::STATUS_FIELDS,
            DocKind::TripPlan => TripPlan::STATUS_FIELDS,
            DocKind::ExpenseClaim => ExpenseClaim::STATUS_FIELDS,
            DocKind::Order => Order::STATUS_FIELDS,
            DocKind::Complaint => Complaint::STATUS_FIELDS,
            DocKind::Target => Target::STATUS_FIELDS,
        }
    }

    /// The kind's [`DocumentModel::NEVER_CHANGED`].
    pub fn never_changed(self) -> &'static [&'static str] {
        match self {
            DocKind::Customer => Customer::NEVER_CHANGED,
            DocKind::Visit => Visit::NEVER_CHANGED,
            DocKind::TripPlan => TripPlan::NEVER_CHANGED,
            DocKind::ExpenseClaim => ExpenseClaim::NEVER_CHANGED,
            DocKind::Order => Order::NEVER_CHANGED,
            DocKind::Complaint => Complaint::NEVER_CHANGED,
            DocKind::Target => Target::NEVER_CHANGED,
        }
    }
}

impl Document {
    /// The document's kind.
    pub fn kind(&self) -> DocKind {
        match self {
            Document::Customer(_) => DocKind::Customer,
            Document::Visit(_) => DocKind::Visit,
            Document::TripPlan(_) => DocKind::TripPlan,
            Document::ExpenseClaim(_) => DocKind::ExpenseClaim,
            Document::Order(_) => DocKind::Order,
            Document::Complaint(_) => DocKind::Complaint,
            Document::Target(_) => DocKind::Target,
        }
    }

    /// The document's scope fields ([`DocumentModel::scope`]).
    pub fn scope(&self) -> crate::rights::DocScope {
        match self {
            Document::Customer(d) => d.scope(),
            Document::Visit(d) => d.scope(),
            Document::TripPlan(d) => d.scope(),
            Document::ExpenseClaim(d) => d.scope(),
            Document::Order(d) => d.scope(),
            Document::Complaint(d) => d.scope(),
            Document::Target(d) => d.scope(),
        }
    }

    /// Who created it and when ([`DocumentModel::creation`]).
    pub fn creation(&self) -> crate::rights::Creation<'_> {
        match self {
            Document::Customer(d) => d.creation(),
            Document::Visit(d) => d.creation(),
            Document::TripPlan(d) => d.creation(),
            Document::ExpenseClaim(d) => d.creation(),
            Document::Order(d) => d.creation(),
            Document::Complaint(d) => d.creation(),
            Document::Target(d) => d.creation(),
        }
    }

    /// The attachments it references ([`DocumentModel::attachments`]).
    pub fn attachments(&self) -> Vec<&attachment::AttachmentRef> {
        match self {
            Document::Customer(d) => d.attachments(),
            Document::Visit(d) => d.attachments(),
            Document::TripPlan(d) => d.attachments(),
            Document::ExpenseClaim(d) => d.attachments(),
            Document::Order(d) => d.attachments(),
            Document::Complaint(d) => d.attachments(),
            Document::Target(d) => d.attachments(),
        }
    }

    /// The document's id.
    pub fn id(&self) -> &str {
        match self {
            Document::Customer(d) => d.id(),
            Document::Visit(d) => d.id(),
            Document::TripPlan(d) => d.id(),
            Document::ExpenseClaim(d) => d.id(),
            Document::Order(d) => d.id(),
            Document::Complaint(d) => d.id(),
            Document::Target(d) => d.id(),
        }
    }
}

impl Document {
    /// The kind's own writer rules ([`DocumentModel::check_writer`]) for turning `before` into
    /// this document. A change of kind is refused before the rights are asked.
    pub(crate) fn check_writer(
        &self,
        w: &crate::rights::Writer<'_>,
        before: Option<&Document>,
    ) -> Result<(), crate::rights::Refusal> {
        macro_rules! same_kind {
            ($variant:ident, $after:expr) => {{
                let before = match before {
                    None => None,
                    Some(Document::$variant(b)) => Some(b),
                    Some(_) => return Ok(()),
                };
                $variant::check_writer(w, before, $after)
            }};
        }
        match self {
            Document::Customer(a) => same_kind!(Customer, a),
            Document::Visit(a) => same_kind!(Visit, a),
            Document::TripPlan(a) => same_kind!(TripPlan, a),
            Document::ExpenseClaim(a) => same_kind!(ExpenseClaim, a),
            Document::Order(a) => same_kind!(Order, a),
            Document::Complaint(a) => same_kind!(Complaint, a),
            Document::Target(a) => same_kind!(Target, a),
        }
    }
}

/// Reads any document: finds its kind, hydrates the typed view and validates it.
///
/// This is the check the server runs on every pushed document.
pub fn validate_document(doc: &AutoCommit) -> Result<Document> {
    // One walk of the document serves its kind and its typed view.
    let walked = one_pass::OnePass::new(doc);
    Ok(match kind_in(&walked)? {
        DocKind::Customer => Document::Customer(read_walked(&walked, doc)?),
        DocKind::Visit => Document::Visit(read_walked(&walked, doc)?),
        DocKind::TripPlan => Document::TripPlan(read_walked(&walked, doc)?),
        DocKind::ExpenseClaim => Document::ExpenseClaim(read_walked(&walked, doc)?),
        DocKind::Order => Document::Order(read_walked(&walked, doc)?),
        DocKind::Complaint => Document::Complaint(read_walked(&walked, doc)?),
        DocKind::Target => Document::Target(read_walked(&walked, doc)?),
    })
}
