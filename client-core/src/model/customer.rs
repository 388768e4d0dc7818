//! The customer file (客户档案): who the customer is, whom to talk to there, how much they buy,
//! from whom, and what the team knows about them.

use automerge::{AutoCommit, ROOT};
use autosurgeon::{Hydrate, Reconcile};
use serde::Serialize;

use super::attachment::{self, AttachmentRef};
use super::edit::{
    append_text, list_find, list_push, list_remove, set_field, set_pair, set_whole, splice_text,
};
use super::fields::{
    Geo, Money, Paragraphs, limit_text, require_text, string_enum, validate_username,
};
use super::fields::{check_entry_id, check_stored_time};
use super::{DocKind, DocumentModel, SCHEMA_VERSION, validate_root};
use crate::error::{Result, ValidationError};
use crate::ids::new_id;
use crate::rights::DocScope;

string_enum! {
    /// What kind of business the customer is.
    CustomerType, "customer.type" {
        /// Uses the product itself.
        EndCustomer = "end_customer",
        /// Resells to others.
        Distributor = "distributor",
        /// A shop run directly by the customer.
        DirectStore = "direct_store",
    }
}

string_enum! {
    /// Priority by demand volume × speed to order: A is big and fast, D small and slow.
    Tier, "customer.tier" {
        /// Large demand, orders soon: visit weekly.
        A = "A",
        /// Visit every two weeks.
        B = "B",
        /// Visit monthly.
        C = "C",
        /// No regular follow-up.
        D = "D",
    }
}

impl Tier {
    /// Days between follow-ups for this tier, `None` for tier D.
    pub fn cadence_days(self) -> Option<i64> {
        match self {
            Tier::A => Some(7),
            Tier::B => Some(14),
            Tier::C => Some(30),
            Tier::D => None,
        }
    }
}

/// Why a customer is due for a follow-up on the day [`next_followup`] gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FollowupBasis {
    /// The last visit set this date.
    Explicit,
    /// The tier's cadence since the last visit.
    Cadence,
}

impl FollowupBasis {
    /// The stored spelling: `explicit` or `cadence`.
    pub fn as_str(self) -> &'static str {
        match self {
            FollowupBasis::Explicit => "explicit",
            FollowupBasis::Cadence => "cadence",
        }
    }
}

/// The day a customer of `tier` is next due for a follow-up, after its newest visit on local
/// day `last_visit_day` (`YYYY-MM-DD`) that set `explicit` as its next follow-up, if it did: the
/// explicit date, or else the visit's day plus the tier's cadence (none for tier D, or for a
/// day that does not parse). Every list of follow-ups (the device's, the server's console)
/// asks this one rule.
pub fn next_followup(
    tier: Tier,
    last_visit_day: &str,
    explicit: Option<&str>,
) -> Option<(String, FollowupBasis)> {
    if let Some(date) = explicit {
        return Some((date.to_string(), FollowupBasis::Explicit));
    }
    let days = tier.cadence_days()?;
    let day = crate::model::fields::parse_date("local_date", last_visit_day).ok()?;
    Some((
        (day + chrono::Duration::days(days)).to_string(),
        FollowupBasis::Cadence,
    ))
}

string_enum! {
    /// Where the customer stands in the sales cycle.
    CustomerStatus, "customer.status" {
        /// Not yet buying.
        Prospect = "prospect",
        /// Buying.
        Active = "active",
        /// Stopped ordering for now.
        Dormant = "dormant",
        /// Gone to a competitor or closed.
        Lost = "lost",
    }
}

/// A person at the customer.
#[derive(Debug, Clone, PartialEq, Serialize, Hydrate, Reconcile)]
pub struct Contact {
    /// Entry id, so edits on two devices address the same person.
    #[key]
    pub id: String,
    /// Full name.
    pub name: String,
    /// Job title (采购经理, 总经理, …).
    pub title: Option<String>,
    /// Phone number, as written.
    pub phone: Option<String>,
    /// E-mail address.
    pub email: Option<String>,
    /// Whether this person decides purchases.
    pub decision_maker: bool,
}

/// The customer file as stored in its document.
#[derive(Debug, Clone, PartialEq, Serialize, Hydrate, Reconcile)]
pub struct Customer {
    /// Always "customer".
    pub kind: String,
    /// Schema version of the document.
    pub schema: i64,
    /// Document id.
    pub id: String,
    /// Company name.
    pub name: String,
    /// End customer, distributor or direct store.
    #[autosurgeon(rename = "type")]
    #[serde(rename = "type")]
    pub customer_type: CustomerType,
    /// Industry, free text.
    pub industry: Option<String>,
    /// Sales territory (scope field; manager or admin only).
    pub territory: String,
    /// User name of the rep who owns the customer (scope field; manager or admin only).
    pub owner: String,
    /// Province.
    pub province: Option<String>,
    /// City.
    pub city: Option<String>,
    /// Street address.
    pub address: Option<String>,
    /// Main phone number of the company.
    pub phone: Option<String>,
    /// Location.
    pub geo: Option<Geo>,
    /// People at the customer.
    pub contacts: Vec<Contact>,
    /// A, B, C or D.
    pub tier: Tier,
    /// Key account flag (重点客户).
    pub key_account: bool,
    /// Monthly demand, in `demand_unit`.
    pub monthly_demand: Option<i64>,
    /// Unit of `monthly_demand` (吨, 件, …).
    pub demand_unit: Option<String>,
    /// Who supplies them today.
    pub current_supplier: Option<String>,
    /// The price they pay today, per `demand_unit`.
    pub current_price: Option<Money>,
    /// What is known about competitors at this customer (shared text).
    pub competitor_notes: Paragraphs,
    /// Prospect, active, dormant or lost.
    pub status: CustomerStatus,
    /// Free notes (paragraphs: concurrent edits of different paragraphs both survive).
    pub notes: Paragraphs,
    /// Photos of the customer (the shop front, the warehouse).
    #[autosurgeon(missing = "Default::default")]
    pub photos: Vec<AttachmentRef>,
    /// Business cards of the customer's people, photographed.
    #[autosurgeon(missing = "Default::default")]
    pub business_cards: Vec<AttachmentRef>,
    /// When the file was created (RFC 3339, UTC).
    pub created_at: String,
    /// Who created it.
    pub created_by: String,
}

impl Customer {
    /// The text customer search finds a customer by, besides its name: its contacts (name,
    /// title, phone, email; a line each), where it is (province, city, address) and its notes
    /// (its own and on competitors). The device's search index and the server's are built from
    /// this one list.
    pub fn searchable_text(&self) -> [String; 3] {
        let contacts = self
            .contacts
            .iter()
            .map(|p| {
                [
                    Some(&p.name),
                    p.title.as_ref(),
                    p.phone.as_ref(),
                    p.email.as_ref(),
                ]
                .into_iter()
                .flatten()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(" ")
            })
            .collect::<Vec<_>>()
            .join("\n");
        let place = [
            self.province.as_deref(),
            self.city.as_deref(),
            self.address.as_deref(),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
        let notes = format!(
            "{}\n{}",
            self.notes.as_str(),
            self.competitor_notes.as_str()
        );
        [contacts, place, notes]
    }
}

/// What it takes to create a customer file.
#[derive(Debug, Clone, Default)]
pub struct NewCustomer {
    /// Company name (required).
    pub name: String,
    /// Defaults to end customer.
    pub customer_type: Option<CustomerType>,
    /// Industry.
    pub industry: Option<String>,
    /// Territory (required).
    pub territory: String,
    /// Owning rep (required).
    pub owner: String,
    /// Province.
    pub province: Option<String>,
    /// City.
    pub city: Option<String>,
    /// Street address.
    pub address: Option<String>,
    /// Main phone.
    pub phone: Option<String>,
    /// Location.
    pub geo: Option<Geo>,
    /// Defaults to C.
    pub tier: Option<Tier>,
    /// Defaults to prospect.
    pub status: Option<CustomerStatus>,
    /// Key account flag.
    pub key_account: bool,
    /// First notes.
    pub notes: String,
    /// Initial contacts.
    pub contacts: Vec<NewContact>,
    /// Who creates the file.
    pub created_by: String,
}

/// A contact to add.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewContact {
    /// Full name (required).
    pub name: String,
    /// Job title.
    pub title: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// E-mail.
    pub email: Option<String>,
    /// Decides purchases.
    pub decision_maker: bool,
}

impl NewContact {
    fn into_contact(self) -> Contact {
        Contact {
            id: new_id(),
            name: self.name,
            title: self.title,
            phone: self.phone,
            email: self.email,
            decision_maker: self.decision_maker,
        }
    }
}

/// One change to a contact.
#[derive(Debug, Clone, PartialEq)]
pub enum ContactEdit {
    /// Rename.
    Name(String),
    /// Change the title.
    Title(Option<String>),
    /// Change the phone.
    Phone(Option<String>),
    /// Change the e-mail.
    Email(Option<String>),
    /// Mark or unmark as decision maker.
    DecisionMaker(bool),
}

/// One change to a customer file; each touches only its own field.
#[derive(Debug, Clone, PartialEq)]
pub enum CustomerEdit {
    /// Rename the company.
    Name(String),
    /// Change the business type.
    Type(CustomerType),
    /// Change the industry.
    Industry(Option<String>),
    /// Move to another territory (manager/admin).
    Territory(String),
    /// Hand to another rep (manager/admin).
    Owner(String),
    /// Province.
    Province(Option<String>),
    /// City.
    City(Option<String>),
    /// Street address.
    Address(Option<String>),
    /// Main phone.
    Phone(Option<String>),
    /// Location.
    Geo(Option<Geo>),
    /// Tier.
    Tier(Tier),
    /// Key account flag.
    KeyAccount(bool),
    /// Monthly demand and its unit.
    MonthlyDemand(Option<i64>, Option<String>),
    /// Current supplier.
    CurrentSupplier(Option<String>),
    /// Price paid to the current supplier.
    CurrentPrice(Option<Money>),
    /// Sales status.
    Status(CustomerStatus),
    /// Append a paragraph to the notes.
    AppendNotes(String),
    /// Replace `delete` characters at `pos` of the notes with `insert`.
    SpliceNotes {
        /// Position in characters.
        pos: usize,
        /// Characters to delete.
        delete: usize,
        /// Text to insert.
        insert: String,
    },
    /// Append a paragraph to the competitor notes.
    AppendCompetitorNotes(String),
    /// Add a contact.
    AddContact(NewContact),
    /// Change a contact.
    UpdateContact {
        /// Contact entry id.
        id: String,
        /// What to change.
        edit: ContactEdit,
    },
    /// Remove a contact.
    RemoveContact(String),
    /// Attach a photo of the customer; one that is there already changes nothing.
    AddPhoto(AttachmentRef),
    /// Attach a photographed business card; one that is there already changes nothing.
    AddBusinessCard(AttachmentRef),
    /// Remove a photo or business card.
    RemoveAttachment(String),
}

impl NewCustomer {
    /// Builds the document content; fails if a required field is missing.
    pub fn build(self, id: String, now: String) -> Result<Customer, ValidationError> {
        let customer = Customer {
            kind: DocKind::Customer.as_str().to_string(),
            schema: SCHEMA_VERSION,
            id,
            name: self.name,
            customer_type: self.customer_type.unwrap_or(CustomerType::EndCustomer),
            industry: self.industry,
            territory: self.territory,
            owner: self.owner,
            province: self.province,
            city: self.city,
            address: self.address,
            phone: self.phone,
            geo: self.geo,
            contacts: self
                .contacts
                .into_iter()
                .map(NewContact::into_contact)
                .collect(),
            tier: self.tier.unwrap_or(Tier::C),
            key_account: self.key_account,
            monthly_demand: None,
            demand_unit: None,
            current_supplier: None,
            current_price: None,
            competitor_notes: Paragraphs::default(),
            status: self.status.unwrap_or(CustomerStatus::Prospect),
            notes: Paragraphs::from(self.notes),
            photos: Vec::new(),
            business_cards: Vec::new(),
            created_at: now,
            created_by: self.created_by,
        };
        customer.validate()?;
        Ok(customer)
    }
}

fn validate_contact(c: &Contact) -> Result<(), ValidationError> {
    check_entry_id("contact", &c.id)?;
    require_text("name", &c.name, 100)?;
    for (field, value) in [
        ("title", &c.title),
        ("phone", &c.phone),
        ("email", &c.email),
    ] {
        if let Some(v) = value {
            limit_text(field, v, 100)?;
        }
    }
    Ok(())
}

impl DocumentModel for Customer {
    const KIND: DocKind = DocKind::Customer;
    type Edit = CustomerEdit;
    // Pushed first: its visits point at it.
    const PUSH_RANK: u8 = 0;
    const PROTECTED_FIELDS: &'static [&'static str] = &["owner", "territory"];
    const NEVER_CHANGED: &'static [&'static str] = &["id", "kind", "created_at", "created_by"];

    const ASKS_ABOUT_PEOPLE: bool = false;
    const STATUS_FIELDS: &'static [&'static str] = &[];

    fn check_writer(
        w: &crate::rights::Writer<'_>,
        before: Option<&Self>,
        after: &Self,
    ) -> Result<(), crate::rights::Refusal> {
        // A rep creates customers they own, in their own territories.
        if w.is_rep() && before.is_none() {
            if after.owner != w.me() {
                return crate::rights::refuse(
                    "field_rights",
                    "a rep creates customers they own: set owner to yourself",
                );
            }
            if !w.who.territories.contains(&after.territory) {
                return crate::rights::refuse(
                    "scope",
                    format!("territory '{}' is not one of yours", after.territory),
                );
            }
        }
        Ok(())
    }

    fn creation(&self) -> crate::rights::Creation<'_> {
        crate::rights::Creation {
            by_field: Some("created_by"),
            by: Some(&self.created_by),
            at: &self.created_at,
        }
    }

    fn scope(&self) -> DocScope {
        DocScope {
            territory: Some(self.territory.clone()),
            owner: Some(self.owner.clone()),
            ..DocScope::of(Self::KIND, &self.id)
        }
    }

    fn id(&self) -> &str {
        &self.id
    }

    fn attachments(&self) -> Vec<&super::attachment::AttachmentRef> {
        self.photos.iter().chain(&self.business_cards).collect()
    }

    fn validate(&self) -> Result<(), ValidationError> {
        validate_root(Self::KIND, &self.kind, self.schema, &self.id)?;
        let at = |e: ValidationError| e.within("customer");
        require_text("name", &self.name, 200).map_err(at)?;
        require_text("territory", &self.territory, 64).map_err(at)?;
        validate_username("owner", &self.owner).map_err(at)?;
        for (field, value) in [
            ("industry", &self.industry),
            ("province", &self.province),
            ("city", &self.city),
            ("phone", &self.phone),
            ("demand_unit", &self.demand_unit),
            ("current_supplier", &self.current_supplier),
        ] {
            if let Some(v) = value {
                limit_text(field, v, 200).map_err(at)?;
            }
        }
        if let Some(a) = &self.address {
            limit_text("address", a, 500).map_err(at)?;
        }
        if let Some(g) = &self.geo {
            g.validate("geo").map_err(at)?;
        }
        if let Some(d) = self.monthly_demand
            && d < 0
        {
            return Err(at(ValidationError::new(
                "monthly_demand",
                format!("{d} is negative"),
            )));
        }
        if let Some(p) = &self.current_price {
            p.validate("current_price").map_err(at)?;
        }
        for (i, c) in self.contacts.iter().enumerate() {
            validate_contact(c).map_err(|e| at(e.within(&format!("contacts[{i}]"))))?;
        }
        attachment::validate_list("photos", &self.photos).map_err(at)?;
        attachment::validate_list("business_cards", &self.business_cards).map_err(at)?;
        limit_text("notes", self.notes.as_str(), 100_000).map_err(at)?;
        limit_text("competitor_notes", self.competitor_notes.as_str(), 100_000).map_err(at)?;
        check_stored_time("created_at", &self.created_at).map_err(at)?;
        validate_username("created_by", &self.created_by).map_err(at)?;
        Ok(())
    }

    fn apply_edit(doc: &mut AutoCommit, edit: &CustomerEdit) -> Result<()> {
        use CustomerEdit as E;
        let r = &ROOT;
        match edit {
            E::Name(v) => set_field(doc, r, "name", v),
            E::Type(v) => set_field(doc, r, "type", v),
            E::Industry(v) => set_field(doc, r, "industry", v),
            E::Territory(v) => set_field(doc, r, "territory", v),
            E::Owner(v) => set_field(doc, r, "owner", v),
            E::Province(v) => set_field(doc, r, "province", v),
            E::City(v) => set_field(doc, r, "city", v),
            E::Address(v) => set_field(doc, r, "address", v),
            E::Phone(v) => set_field(doc, r, "phone", v),
            E::Geo(v) => set_whole(doc, r, "geo", v.as_ref()),
            E::Tier(v) => set_field(doc, r, "tier", v),
            E::KeyAccount(v) => set_field(doc, r, "key_account", v),
            E::MonthlyDemand(amount, unit) => {
                set_pair(doc, r, ("monthly_demand", amount), ("demand_unit", unit))
            }
            E::CurrentSupplier(v) => set_field(doc, r, "current_supplier", v),
            E::CurrentPrice(v) => set_whole(doc, r, "current_price", v.as_ref()),
            E::Status(v) => set_field(doc, r, "status", v),
            E::AppendNotes(t) => append_text(doc, r, "notes", "customer.notes", t),
            E::SpliceNotes {
                pos,
                delete,
                insert,
            } => splice_text(doc, r, "notes", "customer.notes", *pos, *delete, insert),
            E::AppendCompetitorNotes(t) => {
                append_text(doc, r, "competitor_notes", "customer.competitor_notes", t)
            }
            E::AddContact(c) => {
                let contact = c.clone().into_contact();
                validate_contact(&contact).map_err(|e| e.within("customer.contacts"))?;
                list_push(doc, r, "contacts", "customer.contacts", &contact)
            }
            E::UpdateContact { id, edit } => {
                let (_, _, entry) = list_find(doc, r, "contacts", "customer.contacts", id)?;
                match edit {
                    ContactEdit::Name(v) => set_field(doc, &entry, "name", v),
                    ContactEdit::Title(v) => set_field(doc, &entry, "title", v),
                    ContactEdit::Phone(v) => set_field(doc, &entry, "phone", v),
                    ContactEdit::Email(v) => set_field(doc, &entry, "email", v),
                    ContactEdit::DecisionMaker(v) => set_field(doc, &entry, "decision_maker", v),
                }
            }
            E::RemoveContact(id) => list_remove(doc, r, "contacts", "customer.contacts", id),
            E::AddPhoto(a) => attachment::add_to_list(doc, "photos", "customer.photos", a),
            E::AddBusinessCard(a) => {
                attachment::add_to_list(doc, "business_cards", "customer.business_cards", a)
            }
            E::RemoveAttachment(id) => {
                let customer = Customer::read(doc)?;
                if customer.photos.iter().any(|p| &p.id == id) {
                    list_remove(doc, r, "photos", "customer.photos", id)
                } else {
                    list_remove(doc, r, "business_cards", "customer.business_cards", id)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn tiers_are_accepted_as_typed_in_either_case_and_stored_upper_case() {
        assert_eq!("a".parse::<Tier>().unwrap(), Tier::A);
        assert_eq!(" D ".parse::<Tier>().unwrap(), Tier::D);
        assert_eq!("A".parse::<Tier>().unwrap().as_str(), "A");
        assert_eq!(
            "Prospect".parse::<CustomerStatus>().unwrap(),
            CustomerStatus::Prospect
        );
        let err = "e".parse::<Tier>().unwrap_err();
        assert!(err.problem.contains("one of A, B, C, D"), "{err}");
        // A document holds the canonical spelling only: "a" there is refused.
        assert!(Tier::from_stored("a").is_err());
    }
}
