//! Plain records the app sees: mirrors of client-core's types, with conversions from the
//! facade's answers and into its inputs and patches, field by field and nothing more.
//!
//! Closed sets (tier, status, visit type, outcome, expense category) travel as their stored
//! strings (`"A"`, `"prospect"`, `"cold_visit"`, …) and the facade reads them as typed (`"a"`
//! works too); counts and money are `i64` (a `u64` would be `ULong` in Kotlin). Money is in
//! minor units (fen for CNY), except where a field says it is text in yuan as a person types
//! it (`"128.50"`). In an update record, a field left `None` is not touched and `""` clears an
//! optional text.

use std::collections::HashMap;
use std::path::PathBuf;

use fieldsync_core::client::input;
use fieldsync_core::client::{
    ContactPatch, CustomerInput, CustomerPatch, ExpenseClaimInput, ExpenseItemInput, TripPlanInput,
    VisitInput,
};
use fieldsync_core::conflicts::{Conflict, ConflictValue};
use fieldsync_core::model::customer::{Contact, Customer as CoreCustomer};
use fieldsync_core::model::fields::{Geo, Money};
use fieldsync_core::model::visit::{PersonMet, Visit as CoreVisit};
use fieldsync_core::model::workflow::StepTaken;
use fieldsync_core::report::{CustomerVisited, ReportVisit, WeeklyReport};
use fieldsync_core::store;
use fieldsync_core::sync::{self, http::User};

use crate::FieldsyncError;
use crate::attachments::{
    AttachmentRefRecord, AttachmentTallyRecord, RefusedAttachmentRecord, refs,
};
use crate::visits::{CommentRecord, CompetitorRecord, SampleRecord, SpinRecord};

/// A `u64` count as `i64`, saturating.
pub(crate) fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// An amount in minor units with its ISO 4217 currency.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct MoneyRecord {
    /// Minor units (fen, cents).
    pub amount: i64,
    /// Three upper-case letters, e.g. "CNY".
    pub currency: String,
}

impl From<Money> for MoneyRecord {
    fn from(m: Money) -> Self {
        MoneyRecord {
            amount: m.amount,
            currency: m.currency,
        }
    }
}

impl From<MoneyRecord> for Money {
    fn from(m: MoneyRecord) -> Self {
        Money::new(m.amount, m.currency)
    }
}

/// A GPS position in WGS-84 degrees.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct GeoRecord {
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
}

impl From<Geo> for GeoRecord {
    fn from(g: Geo) -> Self {
        GeoRecord {
            lat: g.lat,
            lon: g.lon,
        }
    }
}

impl From<GeoRecord> for Geo {
    fn from(g: GeoRecord) -> Self {
        Geo {
            lat: g.lat,
            lon: g.lon,
        }
    }
}

/// One step an order or a complaint took in its workflow.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct StepRecord {
    /// Entry id.
    pub id: String,
    /// The status entered.
    pub status: String,
    /// Who took the step.
    pub by: String,
    /// When (RFC 3339, UTC).
    pub at: String,
    /// Why, or what was done.
    pub note: Option<String>,
}

impl From<StepTaken> for StepRecord {
    fn from(s: StepTaken) -> Self {
        StepRecord {
            id: s.id,
            status: s.status,
            by: s.by,
            at: s.at,
            note: s.note,
        }
    }
}

/// The logged-in user, as the server describes them.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct UserRecord {
    /// User name.
    pub username: String,
    /// `rep`, `manager` or `admin`.
    pub role: String,
    /// Territories the user works in.
    pub territories: Vec<String>,
    /// The user's manager.
    pub manager: Option<String>,
}

impl From<User> for UserRecord {
    fn from(u: User) -> Self {
        UserRecord {
            username: u.username,
            role: u.role,
            territories: u.territories,
            manager: u.manager,
        }
    }
}

/// What the device knows about its sync, for a status screen.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct SyncStatusRecord {
    /// The server of the last login.
    pub server_url: Option<String>,
    /// The logged-in user; `None` when logged out.
    pub user: Option<UserRecord>,
    /// The sync cursor.
    pub cursor: i64,
    /// When the last sync completed (UTC, RFC 3339).
    pub last_sync_at: Option<String>,
    /// Documents with changes the server has not acknowledged.
    pub unsent: i64,
    /// Entries in the quarantine.
    pub quarantined: i64,
    /// Attachments made here that wait for their upload (the next sync sends them).
    pub attachments_pending: i64,
    /// Their bytes.
    pub attachment_bytes_pending: i64,
    /// Attachments the server refused, with its reasons: not sent again until
    /// `retry_attachment`.
    pub attachments_refused: Vec<RefusedAttachmentRecord>,
}

impl From<sync::SyncStatus> for SyncStatusRecord {
    fn from(s: sync::SyncStatus) -> Self {
        SyncStatusRecord {
            server_url: s.server_url,
            user: s.user.map(Into::into),
            cursor: count(s.cursor),
            last_sync_at: s.last_sync_at,
            unsent: count(s.unsent as u64),
            quarantined: count(s.quarantined as u64),
            attachments_pending: count(s.attachments_pending as u64),
            attachment_bytes_pending: count(s.attachment_bytes_pending),
            attachments_refused: s.attachments_refused.into_iter().map(Into::into).collect(),
        }
    }
}

/// What a sync did.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct SyncReport {
    /// Documents pushed.
    pub pushed: i64,
    /// Documents pulled and merged.
    pub pulled: i64,
    /// Pushed documents the server refused (see `quarantine()`).
    pub rejected: i64,
    /// Bytes sent.
    pub bytes_sent: i64,
    /// Bytes received.
    pub bytes_received: i64,
    /// Rounds run.
    pub round_trips: u32,
    /// How long it took, in milliseconds.
    pub millis: i64,
    /// What was done about attachments once the rounds were done (uploads, fetches ahead).
    pub attachments: AttachmentTallyRecord,
}

impl From<sync::SyncReport> for SyncReport {
    fn from(r: sync::SyncReport) -> Self {
        SyncReport {
            pushed: count(r.pushed),
            pulled: count(r.pulled),
            rejected: count(r.rejected),
            bytes_sent: count(r.bytes_sent),
            bytes_received: count(r.bytes_received),
            round_trips: r.round_trips,
            millis: count(r.millis),
            attachments: r.attachments.into(),
        }
    }
}

/// What it takes to create a customer file. The owner defaults to the logged-in user, the
/// territory to their only one; an optional text left `""` is left out.
#[derive(Debug, Clone, uniffi::Record)]
pub struct NewCustomerRecord {
    /// Company name (required).
    pub name: String,
    /// Territory; the logged-in user's only territory when `None` (a user with several names
    /// one).
    #[uniffi(default = None)]
    pub territory: Option<String>,
    /// `end_customer` (default), `distributor` or `direct_store`.
    #[uniffi(default = None)]
    pub customer_type: Option<String>,
    /// Owning rep; the logged-in user when `None`.
    #[uniffi(default = None)]
    pub owner: Option<String>,
    /// Industry.
    #[uniffi(default = None)]
    pub industry: Option<String>,
    /// Province.
    #[uniffi(default = None)]
    pub province: Option<String>,
    /// City.
    #[uniffi(default = None)]
    pub city: Option<String>,
    /// Street address.
    #[uniffi(default = None)]
    pub address: Option<String>,
    /// Main phone.
    #[uniffi(default = None)]
    pub phone: Option<String>,
    /// Location.
    #[uniffi(default = None)]
    pub geo: Option<GeoRecord>,
    /// `A`, `B`, `C` (default) or `D`.
    #[uniffi(default = None)]
    pub tier: Option<String>,
    /// `prospect` (default), `active`, `dormant` or `lost`.
    #[uniffi(default = None)]
    pub status: Option<String>,
    /// Key account flag.
    #[uniffi(default = false)]
    pub key_account: bool,
    /// First notes.
    #[uniffi(default = "")]
    pub notes: String,
}

impl From<NewCustomerRecord> for CustomerInput {
    fn from(c: NewCustomerRecord) -> Self {
        CustomerInput {
            name: c.name,
            territory: c.territory,
            owner: c.owner,
            customer_type: c.customer_type,
            industry: c.industry,
            province: c.province,
            city: c.city,
            address: c.address,
            phone: c.phone,
            geo: c.geo.map(Into::into),
            tier: c.tier,
            status: c.status,
            key_account: c.key_account,
            notes: c.notes,
        }
    }
}

/// Changes to a customer file, in one change: every field set is changed, the others are
/// left alone; an optional text set to `""` is cleared.
#[derive(Debug, Clone, Default, uniffi::Record)]
pub struct CustomerUpdate {
    /// Company name.
    #[uniffi(default = None)]
    pub name: Option<String>,
    /// Business type: `end_customer`, `distributor` or `direct_store`.
    #[uniffi(default = None)]
    pub customer_type: Option<String>,
    /// Industry; `""` clears it.
    #[uniffi(default = None)]
    pub industry: Option<String>,
    /// Territory (manager or admin).
    #[uniffi(default = None)]
    pub territory: Option<String>,
    /// Owning rep (manager or admin).
    #[uniffi(default = None)]
    pub owner: Option<String>,
    /// Province; `""` clears it.
    #[uniffi(default = None)]
    pub province: Option<String>,
    /// City; `""` clears it.
    #[uniffi(default = None)]
    pub city: Option<String>,
    /// Street address; `""` clears it.
    #[uniffi(default = None)]
    pub address: Option<String>,
    /// Main phone; `""` clears it.
    #[uniffi(default = None)]
    pub phone: Option<String>,
    /// Tier: `A` to `D`.
    #[uniffi(default = None)]
    pub tier: Option<String>,
    /// Sales status: `prospect`, `active`, `dormant` or `lost`.
    #[uniffi(default = None)]
    pub status: Option<String>,
    /// Key account flag.
    #[uniffi(default = None)]
    pub key_account: Option<bool>,
    /// Current supplier; `""` clears it.
    #[uniffi(default = None)]
    pub current_supplier: Option<String>,
    /// Monthly demand, a quantity and its unit as typed (`"20 吨"`); `""` clears it.
    #[uniffi(default = None)]
    pub monthly_demand: Option<String>,
    /// The price they pay now, text in yuan as typed (`"128.50"`); `""` clears it.
    #[uniffi(default = None)]
    pub current_price: Option<String>,
    /// A paragraph to append to the notes, on a line of its own.
    #[uniffi(default = None)]
    pub notes_append: Option<String>,
    /// A paragraph to append to the competitor notes, on a line of its own.
    #[uniffi(default = None)]
    pub competitor_notes_append: Option<String>,
}

impl From<CustomerUpdate> for CustomerPatch {
    fn from(u: CustomerUpdate) -> Self {
        CustomerPatch {
            name: u.name,
            customer_type: u.customer_type,
            industry: u.industry,
            territory: u.territory,
            owner: u.owner,
            province: u.province,
            city: u.city,
            address: u.address,
            phone: u.phone,
            tier: u.tier,
            status: u.status,
            key_account: u.key_account,
            current_supplier: u.current_supplier,
            monthly_demand: u.monthly_demand,
            current_price: u.current_price,
            notes_append: u.notes_append,
            competitor_notes_append: u.competitor_notes_append,
        }
    }
}

/// Changes to a contact, in one change: every field set is changed, the others are left
/// alone; an optional text set to `""` is cleared.
#[derive(Debug, Clone, Default, uniffi::Record)]
pub struct ContactUpdate {
    /// Full name.
    #[uniffi(default = None)]
    pub name: Option<String>,
    /// Job title; `""` clears it.
    #[uniffi(default = None)]
    pub title: Option<String>,
    /// Phone; `""` clears it.
    #[uniffi(default = None)]
    pub phone: Option<String>,
    /// E-mail; `""` clears it.
    #[uniffi(default = None)]
    pub email: Option<String>,
    /// Decides purchases.
    #[uniffi(default = None)]
    pub decision_maker: Option<bool>,
}

impl From<ContactUpdate> for ContactPatch {
    fn from(u: ContactUpdate) -> Self {
        ContactPatch {
            name: u.name,
            title: u.title,
            phone: u.phone,
            email: u.email,
            decision_maker: u.decision_maker,
        }
    }
}

/// A person at a customer.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ContactRecord {
    /// Entry id.
    pub id: String,
    /// Full name.
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

impl From<Contact> for ContactRecord {
    fn from(c: Contact) -> Self {
        ContactRecord {
            id: c.id,
            name: c.name,
            title: c.title,
            phone: c.phone,
            email: c.email,
            decision_maker: c.decision_maker,
        }
    }
}

/// A customer file.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Customer {
    /// Document id.
    pub id: String,
    /// Company name.
    pub name: String,
    /// Business type.
    pub customer_type: String,
    /// Industry.
    pub industry: Option<String>,
    /// Territory.
    pub territory: String,
    /// Owning rep.
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
    pub geo: Option<GeoRecord>,
    /// People at the customer.
    pub contacts: Vec<ContactRecord>,
    /// Tier.
    pub tier: String,
    /// Key account flag.
    pub key_account: bool,
    /// Monthly demand.
    pub monthly_demand: Option<i64>,
    /// Unit of the monthly demand.
    pub demand_unit: Option<String>,
    /// Current supplier.
    pub current_supplier: Option<String>,
    /// Price paid today.
    pub current_price: Option<MoneyRecord>,
    /// What is known about competitors.
    pub competitor_notes: String,
    /// Sales status.
    pub status: String,
    /// Notes.
    pub notes: String,
    /// Photos of the customer (the shop front, the warehouse): `attach_to_customer`.
    pub photos: Vec<AttachmentRefRecord>,
    /// Business cards of the customer's people, photographed: `attach_to_customer`.
    pub business_cards: Vec<AttachmentRefRecord>,
    /// When the file was created (UTC, RFC 3339).
    pub created_at: String,
    /// Who created it.
    pub created_by: String,
}

impl From<CoreCustomer> for Customer {
    fn from(c: CoreCustomer) -> Self {
        Customer {
            id: c.id,
            name: c.name,
            customer_type: c.customer_type.to_string(),
            industry: c.industry,
            territory: c.territory,
            owner: c.owner,
            province: c.province,
            city: c.city,
            address: c.address,
            phone: c.phone,
            geo: c.geo.map(Into::into),
            contacts: c.contacts.into_iter().map(Into::into).collect(),
            tier: c.tier.to_string(),
            key_account: c.key_account,
            monthly_demand: c.monthly_demand,
            demand_unit: c.demand_unit,
            current_supplier: c.current_supplier,
            current_price: c.current_price.map(Into::into),
            competitor_notes: c.competitor_notes.as_str().to_string(),
            status: c.status.to_string(),
            notes: c.notes.as_str().to_string(),
            photos: refs(c.photos),
            business_cards: refs(c.business_cards),
            created_at: c.created_at,
            created_by: c.created_by,
        }
    }
}

/// Filters for `list_customers`; every field set narrows the list.
#[derive(Debug, Clone, Default, uniffi::Record)]
pub struct CustomerFilter {
    /// Only this territory.
    #[uniffi(default = None)]
    pub territory: Option<String>,
    /// Only this rep's customers.
    #[uniffi(default = None)]
    pub owner: Option<String>,
    /// Only this tier.
    #[uniffi(default = None)]
    pub tier: Option<String>,
    /// Only this status.
    #[uniffi(default = None)]
    pub status: Option<String>,
    /// Only key accounts (or only others).
    #[uniffi(default = None)]
    pub key_account: Option<bool>,
    /// Words that must each appear in the name, contacts, city/address or notes.
    #[uniffi(default = None)]
    pub search: Option<String>,
    /// Page size; 50 when not set.
    #[uniffi(default = None)]
    pub limit: Option<u32>,
    /// Rows to skip, for the next page.
    #[uniffi(default = None)]
    pub offset: Option<u32>,
}

impl TryFrom<CustomerFilter> for store::CustomerQuery {
    type Error = FieldsyncError;

    fn try_from(f: CustomerFilter) -> Result<Self, FieldsyncError> {
        Ok(store::CustomerQuery {
            territory: f.territory,
            owner: f.owner,
            tier: f.tier.as_deref().map(input::closed).transpose()?,
            status: f.status.as_deref().map(input::closed).transpose()?,
            key_account: f.key_account,
            search: f.search,
            limit: f.limit,
            offset: f.offset,
        })
    }
}

/// A customer in a list.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CustomerRow {
    /// Document id.
    pub id: String,
    /// Company name.
    pub name: String,
    /// Business type.
    pub customer_type: String,
    /// Territory.
    pub territory: String,
    /// Owning rep.
    pub owner: String,
    /// Tier.
    pub tier: String,
    /// Status.
    pub status: String,
    /// Key account flag.
    pub key_account: bool,
    /// City.
    pub city: Option<String>,
    /// Number of contacts.
    pub contact_count: i64,
    /// Local day of the newest visit.
    pub last_visit_date: Option<String>,
    /// Local day the next follow-up is due.
    pub next_followup: Option<String>,
}

impl From<store::CustomerRow> for CustomerRow {
    fn from(r: store::CustomerRow) -> Self {
        CustomerRow {
            id: r.id,
            name: r.name,
            customer_type: r.customer_type,
            territory: r.territory,
            owner: r.owner,
            tier: r.tier,
            status: r.status,
            key_account: r.key_account,
            city: r.city,
            contact_count: r.contact_count,
            last_visit_date: r.last_visit_date,
            next_followup: r.next_followup,
        }
    }
}

/// A person met on a visit.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct PersonMetRecord {
    /// Name.
    pub name: String,
    /// Job title.
    #[uniffi(default = None)]
    pub title: Option<String>,
}

impl From<PersonMet> for PersonMetRecord {
    fn from(p: PersonMet) -> Self {
        PersonMetRecord {
            name: p.name,
            title: p.title,
        }
    }
}

/// What it takes to record a visit. The author is the logged-in user.
#[derive(Debug, Clone, uniffi::Record)]
pub struct NewVisitRecord {
    /// Customer id.
    pub customer: String,
    /// Check-in time, RFC 3339 (`2026-11-23T09:30:00+08:00`); now when `None`.
    #[uniffi(default = None)]
    pub checkin_at: Option<String>,
    /// Offset of the rep's local time from UTC at the check-in, in minutes (480 for China);
    /// when `None`, the offset `checkin_at` is written with (this device's for a time in UTC,
    /// or for now).
    #[uniffi(default = None)]
    pub utc_offset_minutes: Option<i64>,
    /// What was discussed.
    pub summary: String,
    /// `cold_visit`, `follow_up`, `sample`, `quote`, `complaint`, `after_sales`; when `None`,
    /// `cold_visit` for a first visit to the customer and `follow_up` after that.
    #[uniffi(default = None)]
    pub visit_type: Option<String>,
    /// People met.
    #[uniffi(default = [])]
    pub people_met: Vec<PersonMetRecord>,
    /// `order`, `progress`, `no_change` or `setback`; `""` for none.
    #[uniffi(default = None)]
    pub outcome: Option<String>,
    /// The agreed next step.
    #[uniffi(default = None)]
    pub next_step: Option<String>,
    /// Next follow-up day, YYYY-MM-DD (not before the visit).
    #[uniffi(default = None)]
    pub next_followup: Option<String>,
    /// Check-in position.
    #[uniffi(default = None)]
    pub checkin_geo: Option<GeoRecord>,
    /// Amount quoted.
    #[uniffi(default = None)]
    pub quote_amount: Option<MoneyRecord>,
    /// Amount ordered.
    #[uniffi(default = None)]
    pub order_amount: Option<MoneyRecord>,
    /// What was learnt about competitors.
    #[uniffi(default = [])]
    pub competitors: Vec<CompetitorRecord>,
    /// Samples left with the customer.
    #[uniffi(default = [])]
    pub samples: Vec<SampleRecord>,
}

impl From<NewVisitRecord> for VisitInput {
    fn from(v: NewVisitRecord) -> Self {
        VisitInput {
            customer: v.customer,
            checkin_at: v.checkin_at,
            utc_offset_minutes: v.utc_offset_minutes,
            geo: v.checkin_geo.map(Into::into),
            visit_type: v.visit_type,
            people_met: v
                .people_met
                .into_iter()
                .map(|p| (p.name, p.title))
                .collect(),
            summary: v.summary,
            outcome: v.outcome,
            next_step: v.next_step,
            next_followup: v.next_followup,
            quote_amount: v.quote_amount.map(Into::into),
            order_amount: v.order_amount.map(Into::into),
            competitors: v.competitors.into_iter().map(Into::into).collect(),
            samples: v.samples.into_iter().map(Into::into).collect(),
        }
    }
}

/// A visit record.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Visit {
    /// Document id.
    pub id: String,
    /// Customer id.
    pub customer: String,
    /// The rep.
    pub author: String,
    /// Check-in, UTC.
    pub checkin_at: String,
    /// Local offset at the check-in, minutes.
    pub utc_offset_minutes: i64,
    /// Check-in position.
    pub checkin_geo: Option<GeoRecord>,
    /// Visit type.
    pub visit_type: String,
    /// People met.
    pub people_met: Vec<PersonMetRecord>,
    /// What was discussed.
    pub summary: String,
    /// SPIN notes.
    pub spin: SpinRecord,
    /// Outcome.
    pub outcome: Option<String>,
    /// What was learnt about competitors.
    pub competitors: Vec<CompetitorRecord>,
    /// Samples left.
    pub samples: Vec<SampleRecord>,
    /// Amount quoted.
    pub quote_amount: Option<MoneyRecord>,
    /// Amount ordered.
    pub order_amount: Option<MoneyRecord>,
    /// The agreed next step.
    pub next_step: Option<String>,
    /// Next follow-up day.
    pub next_followup: Option<String>,
    /// Managers' comments.
    pub comments: Vec<CommentRecord>,
    /// Photos taken at the visit: `attach_to_visit`.
    pub photos: Vec<AttachmentRefRecord>,
    /// The id of the photo that proves the check-in, one of `photos`.
    pub checkin_photo: Option<String>,
    /// When it was recorded.
    pub created_at: String,
}

impl From<CoreVisit> for Visit {
    fn from(v: CoreVisit) -> Self {
        Visit {
            id: v.id,
            customer: v.customer,
            author: v.author,
            checkin_at: v.checkin_at,
            utc_offset_minutes: v.utc_offset_minutes,
            checkin_geo: v.checkin_geo.map(Into::into),
            visit_type: v.visit_type.to_string(),
            people_met: v.people_met.into_iter().map(Into::into).collect(),
            summary: v.summary.as_str().to_string(),
            spin: v.spin.into(),
            outcome: v.outcome.map(|o| o.to_string()),
            competitors: v.competitor_intel.into_iter().map(Into::into).collect(),
            samples: v.samples.into_iter().map(Into::into).collect(),
            quote_amount: v.quote_amount.map(Into::into),
            order_amount: v.order_amount.map(Into::into),
            next_step: v.next_step,
            next_followup: v.next_followup,
            comments: v.manager_comments.into_iter().map(Into::into).collect(),
            photos: refs(v.photos),
            checkin_photo: v.checkin_photo,
            created_at: v.created_at,
        }
    }
}

/// Filters for `list_visits`; every field set narrows the list.
#[derive(Debug, Clone, Default, uniffi::Record)]
pub struct VisitFilter {
    /// Only this customer's visits.
    #[uniffi(default = None)]
    pub customer: Option<String>,
    /// Only this rep's visits.
    #[uniffi(default = None)]
    pub author: Option<String>,
    /// Only on or after this local day, YYYY-MM-DD.
    #[uniffi(default = None)]
    pub from: Option<String>,
    /// Only on or before this local day, YYYY-MM-DD.
    #[uniffi(default = None)]
    pub to: Option<String>,
    /// Page size; all when not set.
    #[uniffi(default = None)]
    pub limit: Option<u32>,
    /// Rows to skip.
    #[uniffi(default = None)]
    pub offset: Option<u32>,
}

impl TryFrom<VisitFilter> for store::VisitQuery {
    type Error = FieldsyncError;

    fn try_from(f: VisitFilter) -> Result<Self, FieldsyncError> {
        Ok(store::VisitQuery {
            customer: f.customer,
            author: f.author,
            from: f.from.map(|d| input::date("from", &d)).transpose()?,
            to: f.to.map(|d| input::date("to", &d)).transpose()?,
            limit: f.limit,
            offset: f.offset,
        })
    }
}

/// A visit in a list.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct VisitRow {
    /// Document id.
    pub id: String,
    /// Customer id.
    pub customer: String,
    /// Customer name, if the customer is on this device.
    pub customer_name: Option<String>,
    /// The rep.
    pub author: String,
    /// Check-in, UTC.
    pub checkin_at: String,
    /// Local day of the check-in.
    pub local_date: String,
    /// Visit type.
    pub visit_type: String,
    /// Outcome.
    pub outcome: Option<String>,
    /// Next follow-up date.
    pub next_followup: Option<String>,
    /// First line of the summary.
    pub summary: String,
}

impl From<store::VisitRow> for VisitRow {
    fn from(r: store::VisitRow) -> Self {
        VisitRow {
            id: r.id,
            customer: r.customer,
            customer_name: r.customer_name,
            author: r.author,
            checkin_at: r.checkin_at,
            local_date: r.local_date,
            visit_type: r.visit_type,
            outcome: r.outcome,
            next_followup: r.next_followup,
            summary: r.summary,
        }
    }
}

/// A customer due (or overdue) for a follow-up.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct FollowUpRecord {
    /// Customer id.
    pub customer: String,
    /// Customer name.
    pub name: String,
    /// Tier.
    pub tier: String,
    /// Owning rep.
    pub owner: String,
    /// Local day of the last visit.
    pub last_visit_date: Option<String>,
    /// Day it was due; `None` for never-visited customers.
    pub due_date: Option<String>,
    /// `never_visited`, `explicit_date` or `cadence`.
    pub reason: String,
    /// Days past the due date.
    pub days_overdue: i64,
}

impl From<store::FollowUp> for FollowUpRecord {
    fn from(f: store::FollowUp) -> Self {
        let reason = match f.reason {
            store::FollowUpReason::NeverVisited => "never_visited",
            store::FollowUpReason::ExplicitDate => "explicit_date",
            store::FollowUpReason::Cadence => "cadence",
        };
        FollowUpRecord {
            customer: f.customer,
            name: f.name,
            tier: f.tier,
            owner: f.owner,
            last_visit_date: f.last_visit_date,
            due_date: f.due_date,
            reason: reason.to_string(),
            days_overdue: f.days_overdue,
        }
    }
}

/// What it takes to start a trip plan. The owner is the logged-in user; the approver defaults
/// to their manager.
#[derive(Debug, Clone, uniffi::Record)]
pub struct NewTripPlanRecord {
    /// Title.
    pub title: String,
    /// First day, YYYY-MM-DD.
    pub start_date: String,
    /// Last day, YYYY-MM-DD.
    pub end_date: String,
    /// Budget.
    pub budget: MoneyRecord,
    /// Cities on the route.
    #[uniffi(default = [])]
    pub cities: Vec<String>,
    /// Approver; the user's manager when `None`.
    #[uniffi(default = None)]
    pub approver: Option<String>,
}

impl From<NewTripPlanRecord> for TripPlanInput {
    fn from(p: NewTripPlanRecord) -> Self {
        TripPlanInput {
            title: p.title,
            start_date: p.start_date,
            end_date: p.end_date,
            cities: p.cities,
            budget: p.budget.into(),
            approver: p.approver,
        }
    }
}

/// What it takes to start an expense claim. The owner is the logged-in user; the approver
/// defaults to their manager.
#[derive(Debug, Clone, uniffi::Record)]
pub struct NewExpenseClaimRecord {
    /// Title.
    pub title: String,
    /// Trip plan id.
    #[uniffi(default = None)]
    pub trip: Option<String>,
    /// Currency; CNY when `None`.
    #[uniffi(default = None)]
    pub currency: Option<String>,
    /// Approver; the user's manager when `None`.
    #[uniffi(default = None)]
    pub approver: Option<String>,
}

impl From<NewExpenseClaimRecord> for ExpenseClaimInput {
    fn from(c: NewExpenseClaimRecord) -> Self {
        ExpenseClaimInput {
            title: c.title,
            trip: c.trip,
            approver: c.approver,
            currency: c.currency,
        }
    }
}

/// One expense to add to a claim, in the claim's currency.
#[derive(Debug, Clone, uniffi::Record)]
pub struct ExpenseItemRecord {
    /// Day, YYYY-MM-DD.
    pub date: String,
    /// Category (`transport`, `lodging`, `meals`, `entertainment`, `samples`, `other`).
    pub category: String,
    /// Amount in minor units of the claim's currency.
    pub amount: i64,
    /// What it was.
    #[uniffi(default = None)]
    pub description: Option<String>,
    /// A note on the invoice (its number, where the paper is).
    #[uniffi(default = None)]
    pub invoice_photo: Option<String>,
    /// The path of the receipt photo to attach with it (a JPEG, PNG, HEIC, WebP or PDF file,
    /// checked as `attach_receipt` checks it: if it is refused, nothing is added).
    #[uniffi(default = None)]
    pub receipt: Option<String>,
}

impl From<ExpenseItemRecord> for ExpenseItemInput {
    fn from(i: ExpenseItemRecord) -> Self {
        ExpenseItemInput {
            date: i.date,
            category: i.category,
            amount: i.amount,
            description: i.description,
            invoice_photo: i.invoice_photo,
            receipt: i.receipt.map(PathBuf::from),
        }
    }
}

/// Filters for trip plans and expense claims.
#[derive(Debug, Clone, Default, uniffi::Record)]
pub struct PlanFilter {
    /// Only this rep's.
    #[uniffi(default = None)]
    pub owner: Option<String>,
    /// Only those this manager decides.
    #[uniffi(default = None)]
    pub approver: Option<String>,
    /// Only in this status (`draft`, `submitted`, …).
    #[uniffi(default = None)]
    pub status: Option<String>,
}

impl From<PlanFilter> for store::PlanQuery {
    fn from(f: PlanFilter) -> Self {
        store::PlanQuery {
            owner: f.owner,
            approver: f.approver,
            status: f.status,
        }
    }
}

/// A trip plan in a list.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct TripPlanRow {
    /// Document id.
    pub id: String,
    /// The rep.
    pub owner: String,
    /// The approver.
    pub approver: String,
    /// Title.
    pub title: String,
    /// Status.
    pub status: String,
    /// First day.
    pub start_date: String,
    /// Last day.
    pub end_date: String,
    /// Budget.
    pub budget: MoneyRecord,
}

impl From<store::TripPlanRow> for TripPlanRow {
    fn from(r: store::TripPlanRow) -> Self {
        TripPlanRow {
            id: r.id,
            owner: r.owner,
            approver: r.approver,
            title: r.title,
            status: r.status,
            start_date: r.start_date,
            end_date: r.end_date,
            budget: MoneyRecord {
                amount: r.budget_amount,
                currency: r.currency,
            },
        }
    }
}

/// An expense claim in a list.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ExpenseClaimRow {
    /// Document id.
    pub id: String,
    /// The rep.
    pub owner: String,
    /// The approver.
    pub approver: String,
    /// Title.
    pub title: String,
    /// Status.
    pub status: String,
    /// Trip plan id.
    pub trip: Option<String>,
    /// Sum of the items.
    pub total: MoneyRecord,
    /// Number of items.
    pub item_count: i64,
}

impl From<store::ExpenseClaimRow> for ExpenseClaimRow {
    fn from(r: store::ExpenseClaimRow) -> Self {
        ExpenseClaimRow {
            id: r.id,
            owner: r.owner,
            approver: r.approver,
            title: r.title,
            status: r.status,
            trip: r.trip,
            total: MoneyRecord {
                amount: r.total_amount,
                currency: r.currency,
            },
            item_count: r.item_count,
        }
    }
}

/// One of the concurrent values of a field.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ConflictValueRecord {
    /// The value, as JSON text.
    pub value_json: String,
    /// The device (Automerge actor, hex) that wrote it.
    pub actor: String,
    /// Who was using that device.
    pub author: Option<String>,
    /// When (device clock, RFC 3339).
    pub time: Option<String>,
    /// Whether this is the value the document shows.
    pub winner: bool,
}

impl From<ConflictValue> for ConflictValueRecord {
    fn from(v: ConflictValue) -> Self {
        ConflictValueRecord {
            value_json: v.value.to_string(),
            actor: v.actor,
            author: v.author,
            time: v.time,
            winner: v.winner,
        }
    }
}

/// A field holding concurrent values, for the app to ask the user.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ConflictRecord {
    /// Path of the field (`tier`, `contacts[<entry id>].phone`).
    pub path: String,
    /// Every concurrent value; exactly one is the winner.
    pub values: Vec<ConflictValueRecord>,
}

impl From<Conflict> for ConflictRecord {
    fn from(c: Conflict) -> Self {
        ConflictRecord {
            path: c.path,
            values: c.values.into_iter().map(Into::into).collect(),
        }
    }
}

/// One visit, as the weekly report tells it.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ReportVisitRecord {
    /// Visit id.
    pub id: String,
    /// Local day.
    pub local_date: String,
    /// Check-in, UTC.
    pub checkin_at: String,
    /// Visit type.
    pub visit_type: String,
    /// People met.
    pub people_met: Vec<PersonMetRecord>,
    /// The whole summary.
    pub summary: String,
    /// Outcome.
    pub outcome: Option<String>,
    /// Amount quoted.
    pub quote_amount: Option<MoneyRecord>,
    /// Amount ordered.
    pub order_amount: Option<MoneyRecord>,
    /// The agreed next step.
    pub next_step: Option<String>,
    /// Next follow-up day.
    pub next_followup: Option<String>,
}

impl From<ReportVisit> for ReportVisitRecord {
    fn from(v: ReportVisit) -> Self {
        ReportVisitRecord {
            id: v.id,
            local_date: v.local_date,
            checkin_at: v.checkin_at,
            visit_type: v.visit_type,
            people_met: v
                .people_met
                .into_iter()
                .map(|p| PersonMetRecord {
                    name: p.name,
                    title: p.title,
                })
                .collect(),
            summary: v.summary,
            outcome: v.outcome,
            quote_amount: v.quote_amount.map(Into::into),
            order_amount: v.order_amount.map(Into::into),
            next_step: v.next_step,
            next_followup: v.next_followup,
        }
    }
}

/// A customer visited in the week.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CustomerVisitedRecord {
    /// Customer id.
    pub customer: String,
    /// Name, if the customer is on this device.
    pub name: Option<String>,
    /// Its visits in time order.
    pub visits: Vec<ReportVisitRecord>,
}

impl From<CustomerVisited> for CustomerVisitedRecord {
    fn from(c: CustomerVisited) -> Self {
        CustomerVisitedRecord {
            customer: c.customer,
            name: c.name,
            visits: c.visits.into_iter().map(Into::into).collect(),
        }
    }
}

/// A rep's weekly trip report, from visit records alone.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct WeeklyReportRecord {
    /// The rep.
    pub rep: String,
    /// ISO week, `2026-W48`.
    pub week: String,
    /// First day.
    pub from: String,
    /// Last day.
    pub to: String,
    /// Number of visits.
    pub visit_count: i64,
    /// Customers visited.
    pub customers: Vec<CustomerVisitedRecord>,
    /// Visits per type.
    pub by_type: HashMap<String, i64>,
    /// Visits per outcome.
    pub by_outcome: HashMap<String, i64>,
}

impl From<WeeklyReport> for WeeklyReportRecord {
    fn from(r: WeeklyReport) -> Self {
        let counts = |m: std::collections::BTreeMap<String, usize>| {
            m.into_iter()
                .map(|(k, v)| (k, count(v as u64)))
                .collect::<HashMap<_, _>>()
        };
        WeeklyReportRecord {
            rep: r.rep,
            week: r.week,
            from: r.from,
            to: r.to,
            visit_count: count(r.visit_count as u64),
            customers: r.customers.into_iter().map(Into::into).collect(),
            by_type: counts(r.by_type),
            by_outcome: counts(r.by_outcome),
        }
    }
}
