//! fieldsync for Android and iOS apps.
//!
//! A thin uniffi layer over client-core: one object, [`FieldsyncClient`], whose methods are
//! `#[uniffi::export]` wrappers of client-core calls, mirror records with `From` conversions
//! ([`records`]), and one error enum ([`FieldsyncError`]). Kotlin, Swift and Python bindings
//! are generated from the built library (see `README.md`).
//!
//! Every method blocks until done: call it off the app's main thread. No method panics across
//! the boundary: a panic becomes [`FieldsyncError::Storage`] ("internal error: …"), and the
//! store stays usable afterwards.

mod error;
pub mod records;

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use fieldsync_core::model::customer::{CustomerEdit, NewContact, NewCustomer};
use fieldsync_core::model::expense_claim::{ExpenseClaimEdit, NewExpenseClaim};
use fieldsync_core::model::fields::parse_date;
use fieldsync_core::model::trip_plan::{NewTripPlan, TripPlanEdit};
use fieldsync_core::model::visit::NewVisit;
use fieldsync_core::report::{IsoWeek, weekly_report};
use fieldsync_core::store::{CustomerQuery, VisitQuery};
use fieldsync_core::sync::http::{HttpClient, User};
use fieldsync_core::sync::{self, SyncError, Transport};
use fieldsync_core::{Store, ValidationError};

pub use error::FieldsyncError;
use error::guard;
use records::*;

uniffi::setup_scaffolding!();

/// Told after each sync round, for a progress bar.
#[uniffi::export(callback_interface)]
pub trait SyncProgress: Send + Sync {
    /// `rounds` done so far, documents `pulled` so far, and whether the server has `more`.
    /// Runs on the syncing thread; do not call the client from here (except `cancel_sync`).
    fn on_progress(&self, rounds: u32, pulled: i64, more: bool);
}

/// One device's fieldsync: its store, its session with the server, and sync.
#[derive(uniffi::Object)]
pub struct FieldsyncClient {
    store: Mutex<Store>,
    device_name: String,
    cancelled: AtomicBool,
}

type Res<T> = Result<T, FieldsyncError>;

/// A value of a closed set (tier, status, visit type, …), checked by client-core.
fn parse<T: FromStr<Err = ValidationError>>(s: &str) -> Res<T> {
    Ok(s.trim().parse::<T>()?)
}

fn parse_opt<T: FromStr<Err = ValidationError>>(s: Option<&str>) -> Res<Option<T>> {
    s.map(parse).transpose()
}

/// "" clears an optional text field.
fn optional_text(s: String) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

fn not_logged_in() -> FieldsyncError {
    FieldsyncError::Auth {
        reason: "not logged in: log in first".into(),
    }
}

/// The edits a [`CustomerUpdate`] asks for, in field order.
fn customer_edits(u: CustomerUpdate) -> Res<Vec<CustomerEdit>> {
    use CustomerEdit as E;
    let mut edits = Vec::new();
    if let Some(v) = u.name {
        edits.push(E::Name(v));
    }
    if let Some(v) = u.customer_type {
        edits.push(E::Type(parse(&v)?));
    }
    if let Some(v) = u.industry {
        edits.push(E::Industry(optional_text(v)));
    }
    if let Some(v) = u.territory {
        edits.push(E::Territory(v));
    }
    if let Some(v) = u.owner {
        edits.push(E::Owner(v));
    }
    if let Some(v) = u.province {
        edits.push(E::Province(optional_text(v)));
    }
    if let Some(v) = u.city {
        edits.push(E::City(optional_text(v)));
    }
    if let Some(v) = u.address {
        edits.push(E::Address(optional_text(v)));
    }
    if let Some(v) = u.phone {
        edits.push(E::Phone(optional_text(v)));
    }
    if let Some(v) = u.tier {
        edits.push(E::Tier(parse(&v)?));
    }
    if let Some(v) = u.status {
        edits.push(E::Status(parse(&v)?));
    }
    if let Some(v) = u.key_account {
        edits.push(E::KeyAccount(v));
    }
    if let Some(v) = u.current_supplier {
        edits.push(E::CurrentSupplier(optional_text(v)));
    }
    if let Some(v) = u.notes_append {
        edits.push(E::AppendNotes(v));
    }
    Ok(edits)
}

/// A transport that stops the sync before its next round once the app cancelled it.
struct Cancellable<'a, T: Transport> {
    inner: T,
    cancelled: &'a AtomicBool,
}

impl<T: Transport> Transport for Cancellable<'_, T> {
    fn sync_round(&mut self, body: Vec<u8>) -> Result<Vec<u8>, SyncError> {
        if self.cancelled.load(Ordering::SeqCst) {
            return Err(SyncError::Cancelled);
        }
        self.inner.sync_round(body)
    }
}

impl FieldsyncClient {
    /// Runs `f` on the store, catching panics and recovering a mutex a panic poisoned.
    fn with_store<T>(&self, f: impl FnOnce(&Store) -> Res<T>) -> Res<T> {
        guard(|| {
            let store = self.store.lock().unwrap_or_else(PoisonError::into_inner);
            f(&store)
        })
    }

    fn user(store: &Store) -> Res<User> {
        sync::status(store)?.user.ok_or_else(not_logged_in)
    }

    fn approver(user: &User, given: Option<String>) -> Res<String> {
        given
            .or_else(|| user.manager.clone())
            .ok_or_else(|| FieldsyncError::Invalid {
                reason: "you have no manager on record: name the approver".into(),
            })
    }

    fn edit_trip(&self, id: &str, edit: impl FnOnce(&User) -> TripPlanEdit) -> Res<()> {
        self.with_store(|store| {
            let user = Self::user(store)?;
            store.update_trip_plan(id, &[edit(&user)])?;
            Ok(())
        })
    }

    fn edit_claim(&self, id: &str, edit: impl FnOnce(&User) -> ExpenseClaimEdit) -> Res<()> {
        self.with_store(|store| {
            let user = Self::user(store)?;
            store.update_expense_claim(id, &[edit(&user)])?;
            Ok(())
        })
    }
}

#[uniffi::export]
impl FieldsyncClient {
    /// Opens (or creates) the device's store in `<data_dir>/device.db`. `device_name` is shown
    /// to the user's admin in the server's device list.
    #[uniffi::constructor]
    pub fn open(data_dir: String, device_name: String) -> Res<Arc<Self>> {
        guard(|| {
            let dir = PathBuf::from(&data_dir);
            std::fs::create_dir_all(&dir).map_err(|e| FieldsyncError::Storage {
                reason: format!("cannot create {data_dir}: {e}"),
            })?;
            let store = Store::open(dir.join("device.db"))?;
            Ok(Arc::new(FieldsyncClient {
                store: Mutex::new(store),
                device_name,
                cancelled: AtomicBool::new(false),
            }))
        })
    }

    /// Logs in to the server at `server_url`; the session is kept in the store.
    pub fn login(&self, server_url: String, username: String, password: String) -> Res<UserRecord> {
        self.with_store(|store| {
            let mut client = HttpClient::new(&server_url)?.with_store(store)?;
            let session = client.login(&username, &password, &self.device_name)?;
            store.set_author(&session.user.username)?;
            Ok(session.user.into())
        })
    }

    /// Ends the session; it is forgotten here even if the server cannot be told (then the
    /// error says so).
    pub fn logout(&self) -> Res<()> {
        self.with_store(|store| {
            if sync::status(store)?.user.is_none() {
                return Ok(());
            }
            Ok(HttpClient::from_store(store)?.logout()?)
        })
    }

    /// The device's session and sync state.
    pub fn status(&self) -> Res<SyncStatusRecord> {
        self.with_store(|store| Ok(sync::status(store)?.into()))
    }

    /// Creates a customer file (offline) and returns its id.
    pub fn create_customer(&self, customer: NewCustomerRecord) -> Res<String> {
        self.with_store(|store| {
            let user = Self::user(store)?;
            let id = store.create_customer(NewCustomer {
                name: customer.name,
                customer_type: parse_opt(customer.customer_type.as_deref())?,
                industry: customer.industry,
                territory: customer.territory,
                owner: customer.owner.unwrap_or_else(|| user.username.clone()),
                province: customer.province,
                city: customer.city,
                address: customer.address,
                phone: customer.phone,
                geo: customer.geo.map(Into::into),
                tier: parse_opt(customer.tier.as_deref())?,
                status: parse_opt(customer.status.as_deref())?,
                key_account: customer.key_account,
                notes: customer.notes,
                contacts: Vec::new(),
                created_by: user.username,
            })?;
            Ok(id)
        })
    }

    /// Changes the fields `update` sets, in one change.
    pub fn update_customer(&self, id: String, update: CustomerUpdate) -> Res<Customer> {
        self.with_store(|store| {
            let edits = customer_edits(update)?;
            Ok(store.update_customer(&id, &edits)?.into())
        })
    }

    /// Reads a customer file.
    pub fn get_customer(&self, id: String) -> Res<Customer> {
        self.with_store(|store| Ok(store.customer(&id)?.into()))
    }

    /// Lists customers matching `filter`.
    pub fn list_customers(&self, filter: CustomerFilter) -> Res<Vec<CustomerRow>> {
        self.with_store(|store| {
            let q = CustomerQuery {
                territory: filter.territory,
                owner: filter.owner,
                tier: parse_opt(filter.tier.as_deref())?,
                status: parse_opt(filter.status.as_deref())?,
                key_account: filter.key_account,
                search: filter.search,
                limit: filter.limit,
                offset: filter.offset,
            };
            Ok(store
                .list_customers(&q)?
                .into_iter()
                .map(Into::into)
                .collect())
        })
    }

    /// Adds a contact to a customer.
    pub fn add_contact(
        &self,
        customer_id: String,
        name: String,
        title: Option<String>,
        phone: Option<String>,
    ) -> Res<Customer> {
        self.with_store(|store| {
            let edit = CustomerEdit::AddContact(NewContact {
                name,
                title,
                phone,
                ..Default::default()
            });
            Ok(store.update_customer(&customer_id, &[edit])?.into())
        })
    }

    /// Records a visit (offline) by the logged-in user and returns its id.
    pub fn record_visit(&self, visit: NewVisitRecord) -> Res<String> {
        self.with_store(|store| {
            let user = Self::user(store)?;
            if let Some(d) = &visit.next_followup {
                parse_date("next_followup", d)?;
            }
            let id = store.create_visit(NewVisit {
                customer: visit.customer,
                author: user.username,
                checkin_at: visit.checkin_at,
                utc_offset_minutes: visit.utc_offset_minutes,
                checkin_geo: visit.checkin_geo.map(Into::into),
                visit_type: parse_opt(visit.visit_type.as_deref())?,
                people_met: visit
                    .people_met
                    .into_iter()
                    .map(|p| (p.name, p.title))
                    .collect(),
                summary: visit.summary,
                outcome: parse_opt(visit.outcome.as_deref())?,
                next_step: visit.next_step,
                next_followup: visit.next_followup,
                quote_amount: visit.quote_amount.map(Into::into),
                order_amount: visit.order_amount.map(Into::into),
            })?;
            Ok(id)
        })
    }

    /// Reads a visit record.
    pub fn get_visit(&self, id: String) -> Res<Visit> {
        self.with_store(|store| Ok(store.visit(&id)?.into()))
    }

    /// Lists visits matching `filter`, newest first.
    pub fn list_visits(&self, filter: VisitFilter) -> Res<Vec<VisitRow>> {
        self.with_store(|store| {
            let q = VisitQuery {
                customer: filter.customer,
                author: filter.author,
                from: filter.from.map(|d| parse_date("from", &d)).transpose()?,
                to: filter.to.map(|d| parse_date("to", &d)).transpose()?,
                limit: filter.limit,
                offset: filter.offset,
            };
            Ok(store.list_visits(&q)?.into_iter().map(Into::into).collect())
        })
    }

    /// Customers due (or overdue) for a follow-up on local day `date` (YYYY-MM-DD).
    pub fn due_followups(&self, date: String) -> Res<Vec<FollowUpRecord>> {
        self.with_store(|store| {
            let day = parse_date("date", &date)?;
            Ok(store
                .due_followups(day, None)?
                .into_iter()
                .map(Into::into)
                .collect())
        })
    }

    /// Starts a trip plan (a draft) and returns its id.
    pub fn create_trip_plan(&self, plan: NewTripPlanRecord) -> Res<String> {
        self.with_store(|store| {
            let user = Self::user(store)?;
            Ok(store.create_trip_plan(NewTripPlan {
                approver: Self::approver(&user, plan.approver)?,
                owner: user.username,
                title: plan.title,
                start_date: plan.start_date,
                end_date: plan.end_date,
                cities: plan.cities,
                budget: plan.budget.into(),
            })?)
        })
    }

    /// Sends a trip plan to its approver.
    pub fn submit_trip_plan(&self, id: String) -> Res<()> {
        self.edit_trip(&id, |_| TripPlanEdit::Submit)
    }

    /// Approves a trip plan (the logged-in user is the approver).
    pub fn approve_trip_plan(&self, id: String, note: Option<String>) -> Res<()> {
        self.edit_trip(&id, |u| TripPlanEdit::Approve {
            by: u.username.clone(),
            note,
        })
    }

    /// Sends a trip plan back (the logged-in user is the approver).
    pub fn reject_trip_plan(&self, id: String, note: Option<String>) -> Res<()> {
        self.edit_trip(&id, |u| TripPlanEdit::Reject {
            by: u.username.clone(),
            note,
        })
    }

    /// Lists trip plans.
    pub fn list_trip_plans(&self, filter: PlanFilter) -> Res<Vec<TripPlanRow>> {
        self.with_store(|store| {
            Ok(store
                .list_trip_plans(&filter.into())?
                .into_iter()
                .map(Into::into)
                .collect())
        })
    }

    /// Starts an expense claim (a draft) and returns its id.
    pub fn create_expense_claim(&self, claim: NewExpenseClaimRecord) -> Res<String> {
        self.with_store(|store| {
            let user = Self::user(store)?;
            Ok(store.create_expense_claim(NewExpenseClaim {
                approver: Self::approver(&user, claim.approver)?,
                owner: user.username,
                trip: claim.trip,
                title: claim.title,
                currency: claim.currency,
            })?)
        })
    }

    /// Adds an expense to a claim, in the claim's currency.
    pub fn add_expense_item(&self, claim_id: String, item: ExpenseItemRecord) -> Res<()> {
        self.with_store(|store| {
            let claim = store.expense_claim(&claim_id)?;
            parse_date("date", &item.date)?;
            let edit = ExpenseClaimEdit::AddItem {
                date: item.date,
                category: parse(&item.category)?,
                amount: fieldsync_core::model::fields::Money::new(item.amount, claim.currency),
                description: item.description,
                invoice_photo: item.invoice_photo,
            };
            store.update_expense_claim(&claim_id, &[edit])?;
            Ok(())
        })
    }

    /// Sends an expense claim to its approver.
    pub fn submit_expense_claim(&self, id: String) -> Res<()> {
        self.edit_claim(&id, |_| ExpenseClaimEdit::Submit)
    }

    /// Approves an expense claim (the logged-in user is the approver).
    pub fn approve_expense_claim(&self, id: String, note: Option<String>) -> Res<()> {
        self.edit_claim(&id, |u| ExpenseClaimEdit::Approve {
            by: u.username.clone(),
            note,
        })
    }

    /// Sends an expense claim back (the logged-in user is the approver).
    pub fn reject_expense_claim(&self, id: String, note: Option<String>) -> Res<()> {
        self.edit_claim(&id, |u| ExpenseClaimEdit::Reject {
            by: u.username.clone(),
            note,
        })
    }

    /// Lists expense claims.
    pub fn list_expense_claims(&self, filter: PlanFilter) -> Res<Vec<ExpenseClaimRow>> {
        self.with_store(|store| {
            Ok(store
                .list_expense_claims(&filter.into())?
                .into_iter()
                .map(Into::into)
                .collect())
        })
    }

    /// Syncs with the server: pushes local changes, pulls others', until both sides are up to
    /// date. `progress` is told after each round. Blocks until done; `cancel_sync` from another
    /// thread stops it before its next round with `FieldsyncError::Cancelled` (the rounds done
    /// stay applied; a round in flight finishes).
    pub fn sync(&self, progress: Option<Box<dyn SyncProgress>>) -> Res<SyncReport> {
        self.cancelled.store(false, Ordering::SeqCst);
        self.with_store(|store| {
            if sync::status(store)?.user.is_none() {
                return Err(not_logged_in());
            }
            let mut transport = Cancellable {
                inner: HttpClient::from_store(store)?,
                cancelled: &self.cancelled,
            };
            let report = sync::run(store, &mut transport, |p| {
                if let Some(progress) = &progress {
                    progress.on_progress(p.rounds, records::count(p.pulled), p.more);
                }
            })?;
            Ok(report.into())
        })
    }

    /// Asks a running `sync` to stop before its next round. Safe to call from any thread.
    pub fn cancel_sync(&self) {
        self.cancelled.store(true, Ordering::SeqCst);
    }

    /// The fields of document `id` that hold concurrent values.
    pub fn conflicts(&self, id: String) -> Res<Vec<ConflictRecord>> {
        self.with_store(|store| Ok(store.conflicts(&id)?.into_iter().map(Into::into).collect()))
    }

    /// Changes the server refused, kept aside on this device.
    pub fn quarantine(&self) -> Res<Vec<QuarantineRecord>> {
        self.with_store(|store| {
            Ok(store
                .list_quarantine()?
                .into_iter()
                .map(Into::into)
                .collect())
        })
    }

    /// The weekly report of `rep` for ISO week `week` (`2026-W48`).
    pub fn weekly_report(&self, rep: String, week: String) -> Res<WeeklyReportRecord> {
        self.with_store(|store| {
            let week: IsoWeek = parse(&week)?;
            Ok(weekly_report(store, &rep, week)?.into())
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn client() -> (tempfile::TempDir, Arc<FieldsyncClient>) {
        let dir = tempfile::tempdir().unwrap();
        let client =
            FieldsyncClient::open(dir.path().display().to_string(), "test".into()).unwrap();
        (dir, client)
    }

    #[test]
    fn an_update_becomes_one_edit_per_field_set_and_empty_text_clears() {
        let edits = customer_edits(CustomerUpdate {
            tier: Some("B".into()),
            city: Some(" ".into()),
            notes_append: Some("pays on time".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            edits,
            vec![
                CustomerEdit::City(None),
                CustomerEdit::Tier(fieldsync_core::model::customer::Tier::B),
                CustomerEdit::AppendNotes("pays on time".into()),
            ]
        );
        let bad = customer_edits(CustomerUpdate {
            tier: Some("Z".into()),
            ..Default::default()
        });
        assert!(matches!(bad, Err(FieldsyncError::Invalid { .. })));
    }

    #[test]
    fn a_cancelled_sync_stops_before_the_next_round() {
        struct Unreachable;
        impl Transport for Unreachable {
            fn sync_round(&mut self, _body: Vec<u8>) -> Result<Vec<u8>, SyncError> {
                panic!("a cancelled sync must not send")
            }
        }
        let cancelled = AtomicBool::new(true);
        let mut t = Cancellable {
            inner: Unreachable,
            cancelled: &cancelled,
        };
        assert!(matches!(t.sync_round(vec![]), Err(SyncError::Cancelled)));
    }

    #[test]
    fn writing_needs_a_login_and_the_store_survives_a_panic() {
        let (_dir, client) = client();
        let new = NewCustomerRecord {
            name: "某公司".into(),
            territory: "east".into(),
            customer_type: None,
            owner: None,
            industry: None,
            province: None,
            city: None,
            address: None,
            phone: None,
            geo: None,
            tier: None,
            status: None,
            key_account: false,
            notes: String::new(),
        };
        assert!(matches!(
            client.create_customer(new),
            Err(FieldsyncError::Auth { .. })
        ));
        let panicked: Res<()> = client.with_store(|_| panic!("boom"));
        assert!(matches!(panicked, Err(FieldsyncError::Storage { .. })));
        assert!(client.store.is_poisoned());
        assert_eq!(client.status().unwrap().unsent, 0);
        assert!(matches!(
            client.sync(None),
            Err(FieldsyncError::Auth { .. })
        ));
    }
}
