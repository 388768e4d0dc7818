//! The application facade: every operation a fieldsync app offers its user, once, for the CLI,
//! the mobile bindings and any other client to share.
//!
//! A [`Client`] is one device: its store, its session with the server and its sync. It knows
//! the acting user and fills in what an app would otherwise decide on its own (the approver of a
//! plan is the user's manager, an expense is in its claim's currency, a new customer is in the
//! user's only territory), reads what people type ([`input`]) and turns partial updates
//! ([`CustomerPatch`], [`VisitPatch`], [`ContactPatch`]) into edits: a field left out is
//! untouched, and [`input::CLEAR`] clears an optional one.
//!
//! Reads never wait for the network: the app's calls use one connection to the store, and a
//! sync uses a connection of its own, holding the database's write lock only for the short
//! transaction of each page it merges (SQLite's WAL lets readers go on meanwhile). The
//! documents each connection keeps loaded are checked against the file before use, so a write
//! through one is never missed by the other.
//!
//! `Client` is `Send + Sync`: share it between the app's threads (the bindings keep it in an
//! `Arc`). Every call takes `&self`.

pub mod approvals;
pub mod attachments;
pub mod complaints;
pub mod customers;
pub mod input;
pub mod live;
pub mod orders;
pub mod targets;
pub mod visits;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use chrono::NaiveDate;
use serde::Serialize;

use crate::attachments::AttachmentLimits;
use crate::attachments::folder::BlobFolder;
use crate::conflicts::Conflict;
use crate::report::{IsoWeek, WeeklyReport, weekly_report};
use crate::store::{
    FollowUp, QuarantineDetail, QuarantineEntry, QuarantineExport, RetryReport, Store, StoreOptions,
};
use crate::sync::http::{HttpClient, User};
use crate::sync::{self, Progress, SyncError, SyncReport, SyncStatus, Transport};

pub use approvals::{ExpenseClaimInput, ExpenseItemInput, TripPlanInput};
pub use complaints::ComplaintInput;
pub use customers::{ContactInput, ContactPatch, CustomerInput, CustomerPatch};
pub use live::{LiveChange, LiveListener, LiveOptions};
pub use orders::{OrderInput, OrderLineInput};
pub use targets::TargetInput;
pub use visits::{CompetitorInput, SampleInput, VisitInput, VisitPatch};

/// What a facade call can fail with: the sync's errors, which carry the store's
/// ([`SyncError::Store`]) and say "log in first" when no one is logged in
/// ([`SyncError::Auth`]).
pub type Result<T> = std::result::Result<T, SyncError>;

/// The message of calls that need a session when there is none.
pub const NOT_LOGGED_IN: &str = "not logged in: log in first";

/// How many documents the sync's own connection keeps loaded: it merges each once per page.
const SYNC_DOC_CACHE: usize = 16;

/// A field of a document that holds concurrent values, with the document it is in.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DocConflict {
    /// Document id.
    pub id: String,
    /// Document kind (`customer`, `visit`, …).
    pub kind: String,
    /// The field and its values.
    #[serde(flatten)]
    pub conflict: Conflict,
}

/// How a conflict is settled ([`Client::resolve_conflict`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Resolution {
    /// Keep value number `n` as listed (1 is the first).
    Keep(usize),
    /// Set this value: text for a field whose values are text, otherwise JSON (a number,
    /// `true`, a map); text that is not JSON is taken as text.
    Value(String),
}

/// One device's fieldsync: its store, its session with the server, and sync. See the module
/// documentation.
pub struct Client {
    app: Mutex<Store>,
    sync: Mutex<Option<Store>>,
    path: PathBuf,
    device_name: String,
    /// The number of the last sync asked for: each call takes the next one on entry.
    syncs_asked: AtomicU64,
    /// Syncs numbered up to this one are cancelled.
    cancelled_upto: AtomicU64,
    live: Mutex<Option<live::LiveRunner>>,
    /// The bytes of attachments, beside the store.
    blobs: BlobFolder,
    /// What the device attaches, when set on it (else the server's limits).
    limits: Mutex<Option<AttachmentLimits>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("path", &self.path)
            .field("device_name", &self.device_name)
            .finish()
    }
}

/// A transport that stops its sync before the next round once it is cancelled: by
/// [`Client::cancel_sync`] (sync number `number`; `None` for live mode's rounds, which only
/// their own flag stops), or by its own `flag`.
struct Cancellable<'a, T> {
    inner: T,
    number: Option<u64>,
    cancelled_upto: &'a AtomicU64,
    flag: Option<&'a AtomicBool>,
}

impl<T: Transport + ?Sized> Transport for Cancellable<'_, Box<T>> {
    fn sync_round(&mut self, body: Vec<u8>) -> std::result::Result<Vec<u8>, SyncError> {
        if is_cancelled(self.number, self.cancelled_upto, self.flag) {
            return Err(SyncError::Cancelled);
        }
        self.inner.sync_round(body)
    }

    fn send_ahead(&mut self, body: Vec<u8>) {
        // A cancelled sync asks for nothing more.
        if !is_cancelled(self.number, self.cancelled_upto, self.flag) {
            self.inner.send_ahead(body);
        }
    }
}

/// Whether sync number `number` (`None`: a round of live mode) is cancelled, by the app up to
/// `cancelled_upto` or by its own `flag`.
fn is_cancelled(
    number: Option<u64>,
    cancelled_upto: &AtomicU64,
    flag: Option<&AtomicBool>,
) -> bool {
    let by_app = number.is_some_and(|n| cancelled_upto.load(Ordering::SeqCst) >= n);
    let by_flag = flag.is_some_and(|f| f.load(Ordering::SeqCst));
    by_app || by_flag
}

/// Who may cancel a sync.
#[derive(Clone, Copy)]
enum CancelledBy<'a> {
    /// [`Client::cancel_sync`], and this flag if given.
    App(Option<&'a AtomicBool>),
    /// Only this flag (live mode's rounds).
    Flag(&'a AtomicBool),
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic in another call left the store as its last committed transaction: go on.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Client {
    /// Opens (or creates) the device's store at `path`. `device_name` is given to the server
    /// at login: the user's admin sees it in the device list, and conflicts name it.
    ///
    /// The attachments' blob folder is `<path>.blobs` beside it, created if needed; what a
    /// crash left there (temporary files, files the store does not know of) is cleaned up.
    pub fn open(path: impl AsRef<Path>, device_name: &str) -> Result<Client> {
        let path = path.as_ref().to_path_buf();
        let store = Store::open(&path)?;
        let blobs = BlobFolder::open(BlobFolder::beside(&path))?;
        // Best effort: a file that cannot be looked at now is looked at again at the next open.
        let _ = crate::attachments::upkeep::reconcile(&store, &blobs);
        Ok(Client {
            app: Mutex::new(store),
            sync: Mutex::new(None),
            path,
            device_name: device_name.to_string(),
            syncs_asked: AtomicU64::new(0),
            cancelled_upto: AtomicU64::new(0),
            live: Mutex::new(None),
            blobs,
            limits: Mutex::new(None),
        })
    }

    /// Opens (or creates) the device's store as `device.db` in directory `dir`, creating the
    /// directory if needed.
    pub fn open_in(dir: impl AsRef<Path>, device_name: &str) -> Result<Client> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(|e| {
            SyncError::Store(crate::Error::System {
                what: format!(
                    "cannot create the data directory {}; choose another directory",
                    dir.display()
                ),
                reason: e.to_string(),
            })
        })?;
        Client::open(dir.join("device.db"), device_name)
    }

    /// The file of the store.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The name this device gives at login.
    pub fn device_name(&self) -> &str {
        &self.device_name
    }

    /// Runs `f` on the app's connection to the store: for the reads the store offers
    /// (lists, searches, reports) that need no default or rule of their own here.
    pub fn read<T>(&self, f: impl FnOnce(&Store) -> crate::Result<T>) -> Result<T> {
        Ok(f(&lock(&self.app))?)
    }

    /// Runs `f` on the app's connection, with the facade's errors.
    fn with_store<T>(&self, f: impl FnOnce(&Store) -> Result<T>) -> Result<T> {
        f(&lock(&self.app))
    }

    /// The logged-in user, or [`SyncError::Auth`] with [`NOT_LOGGED_IN`].
    pub fn user(&self) -> Result<User> {
        self.with_store(user_of)
    }

    // ---- session ------------------------------------------------------------------------

    /// Logs in to the server at `server_url` as `username`; the session is kept in the store,
    /// and every change made here from now on names the user and this device.
    pub fn login(&self, server_url: &str, username: &str, password: &str) -> Result<User> {
        // On the sync's connection: the app's reads go on while the server answers.
        self.on_sync_connection(|store| {
            let mut http = HttpClient::new(server_url)?.with_store(store)?;
            let session = http.login(username, password, &self.device_name)?;
            store.set_author(&session.user.username)?;
            Ok(session.user)
        })
    }

    /// Ends the session, and live mode if it runs: the session is forgotten here even if the
    /// server cannot be told (then the error says so). Returns who was logged out, `None` if
    /// nobody was.
    pub fn logout(&self) -> Result<Option<String>> {
        // Live mode would only report that nobody is logged in from now on.
        self.stop_live();
        self.on_sync_connection(|store| {
            let Some(user) = sync::status(store)?.user else {
                return Ok(None);
            };
            HttpClient::from_store(store)?.logout()?;
            Ok(Some(user.username))
        })
    }

    /// The device's session and sync state.
    pub fn status(&self) -> Result<SyncStatus> {
        self.with_store(sync::status)
    }

    /// The server address of the session, if one is kept.
    pub fn server_url(&self) -> Result<Option<String>> {
        Ok(self.status()?.server_url)
    }

    // ---- sync -----------------------------------------------------------------------------

    /// Syncs with the server: pushes local changes and pulls others' until both sides are up
    /// to date, telling `progress` after each round. Runs on the sync's own connection: the
    /// app's reads and writes go on meanwhile (a write waits only while a page is merged). One
    /// sync at a time: a second call waits for the first. [`Client::cancel_sync`] stops it
    /// before its next round with [`SyncError::Cancelled`]; the rounds done stay applied.
    ///
    /// Once the rounds are done, the attachments follow (docs/PROTOCOL.md, "Attachments"):
    /// those no document here references any more are deleted, the pending ones whose
    /// documents the server accepted are uploaded (resuming after a cut, `progress` told of
    /// each one's bytes through [`Progress::attachment`]), and the user's own expense receipts
    /// and the thumbnails of visits' photos are fetched ahead within the cache budget. That
    /// part never fails the sync: what could not go is tried at the next one, and its error
    /// is kept with the attachment ([`Client::attachments`]); [`SyncReport::attachments`]
    /// says what was done. A cancel stops it too, and the sync then answers with its report.
    pub fn sync(&self, progress: impl FnMut(Progress)) -> Result<SyncReport> {
        self.sync_through(|http| Box::new(http), progress)
    }

    /// Syncs as [`Client::sync`] does, through the transport `wrap` makes of the session's
    /// HTTP client: one that counts, delays or logs each round (a test's slow network). The
    /// attachments go over the session's HTTP client itself.
    pub fn sync_through(
        &self,
        wrap: impl for<'s> FnOnce(HttpClient<'s>) -> Box<dyn Transport + 's>,
        progress: impl FnMut(Progress),
    ) -> Result<SyncReport> {
        self.sync_gathering(wrap, CancelledBy::App(None), progress)
            .map(|(report, _)| report)
    }

    /// Syncs as [`Client::sync`] does, and also stops before its next round once `cancel`
    /// is set: a cancel of this sync alone (an abandoned await), where
    /// [`Client::cancel_sync`] cancels every sync asked for until then.
    pub fn sync_cancellable(
        &self,
        cancel: &AtomicBool,
        progress: impl FnMut(Progress),
    ) -> Result<SyncReport> {
        self.sync_gathering(
            |http| Box::new(http),
            CancelledBy::App(Some(cancel)),
            progress,
        )
        .map(|(report, _)| report)
    }

    /// Syncs as [`Client::sync`] does and says what changed here; only `stop` cancels it.
    pub(crate) fn sync_changes(&self, stop: &AtomicBool) -> Result<LiveChange> {
        self.sync_gathering(|http| Box::new(http), CancelledBy::Flag(stop), |_| {})
            .map(|(_, change)| change)
    }

    fn sync_gathering(
        &self,
        wrap: impl for<'s> FnOnce(HttpClient<'s>) -> Box<dyn Transport + 's>,
        cancelled_by: CancelledBy<'_>,
        mut progress: impl FnMut(Progress),
    ) -> Result<(SyncReport, LiveChange)> {
        // Numbered on entry: a cancel while it waits for another sync to end still counts.
        let (number, flag) = match cancelled_by {
            CancelledBy::App(flag) => (
                Some(self.syncs_asked.fetch_add(1, Ordering::SeqCst) + 1),
                flag,
            ),
            CancelledBy::Flag(flag) => (None, Some(flag)),
        };
        self.on_sync_connection(|store| {
            let started = std::time::Instant::now();
            let user = user_of(store)?;
            let mut transport = Cancellable {
                inner: wrap(HttpClient::from_store(store)?),
                number,
                cancelled_upto: &self.cancelled_upto,
                flag,
            };
            let (mut changed, mut removed) = (Vec::new(), Vec::new());
            let mut last = None;
            let mut report = sync::run_rounds(store, &mut transport, |round, p| {
                changed.extend(
                    round
                        .changed
                        .iter()
                        .map(|(id, kind)| (id.clone(), kind.as_str().to_string())),
                );
                removed.extend(round.removed.iter().cloned());
                last = Some(p.clone());
                progress(p);
            })?;
            drop(transport);
            let cancelled = || is_cancelled(number, &self.cancelled_upto, flag);
            if !cancelled()
                && let Ok(mut http) = HttpClient::from_store(store)
            {
                // Every sync runs a round, which told its progress.
                let base = last.unwrap_or(Progress {
                    rounds: report.round_trips,
                    pushed: report.pushed,
                    pulled: report.pulled,
                    to_push: 0,
                    more: false,
                    attachment: None,
                });
                let (tally, _kept_with_the_attachment) = crate::attachments::batch::after_sync(
                    store,
                    &self.blobs,
                    &mut http,
                    &user.username,
                    &cancelled,
                    &mut |a| {
                        progress(Progress {
                            attachment: Some(a),
                            ..base.clone()
                        })
                    },
                );
                report.attachments = tally;
                report.millis = started.elapsed().as_millis() as u64;
            }
            let change = LiveChange::of(&report, changed, removed);
            Ok((report, change))
        })
    }

    /// Tells live mode, if it runs, that the app wrote something: it pushes soon.
    fn wrote(&self) {
        if let Some(runner) = lock(&self.live).as_ref() {
            runner.wrote();
        }
    }

    /// Runs `f`, a write on the app's connection, and tells live mode once it succeeded.
    fn write<T>(&self, f: impl FnOnce(&Store) -> Result<T>) -> Result<T> {
        let out = self.with_store(f);
        if out.is_ok() {
            self.wrote();
        }
        out
    }

    /// Runs `f` on the sync's own connection to the store, opened on first use; one at a
    /// time.
    fn on_sync_connection<T>(&self, f: impl FnOnce(&Store) -> Result<T>) -> Result<T> {
        let mut slot = lock(&self.sync);
        let store = match slot.take() {
            Some(store) => store,
            None => Store::open_with(
                &self.path,
                StoreOptions {
                    doc_cache: SYNC_DOC_CACHE,
                    ..StoreOptions::default()
                },
            )?,
        };
        let out = f(&store);
        *slot = Some(store);
        out
    }

    /// Cancels every sync asked for until now: a running one stops before its next round, and
    /// one still waiting for it never starts a round. Syncs asked for later run. Safe from any
    /// thread.
    pub fn cancel_sync(&self) {
        let asked = self.syncs_asked.load(Ordering::SeqCst);
        self.cancelled_upto.fetch_max(asked, Ordering::SeqCst);
    }

    /// Hands every customer of rep `from` to rep `to` on the server, with their visits (a
    /// manager of both, or an admin; needs the network). Returns how many customers moved; the
    /// next sync brings the change here.
    pub fn handover(&self, from: &str, to: &str) -> Result<usize> {
        self.on_sync_connection(|store| {
            user_of(store)?;
            HttpClient::from_store(store)?.handover(from, to)
        })
    }

    // ---- conflicts, quarantine, reports ---------------------------------------------------

    /// The fields holding concurrent values, of document `id` or of every document.
    pub fn conflicts(&self, id: Option<&str>) -> Result<Vec<DocConflict>> {
        self.with_store(|store| {
            let ids = match id {
                Some(id) => {
                    let id = crate::ids::parse_id(id)?;
                    let kind = store.kind_of(&id)?;
                    vec![(id, kind)]
                }
                None => store.document_ids()?,
            };
            let mut all = Vec::new();
            for (id, kind) in ids {
                for conflict in store.conflicts(&id)? {
                    all.push(DocConflict {
                        id: id.clone(),
                        kind: kind.as_str().to_string(),
                        conflict,
                    });
                }
            }
            Ok(all)
        })
    }

    /// Settles the conflict of `field` in document `id` with `resolution`, in one change;
    /// returns the value the field now holds.
    pub fn resolve_conflict(
        &self,
        id: &str,
        field: &str,
        resolution: Resolution,
    ) -> Result<serde_json::Value> {
        self.with_store(|store| {
            let id = crate::ids::parse_id(id)?;
            let conflicts = store.conflicts(&id)?;
            let conflict = conflicts.iter().find(|c| c.path == field);
            let invalid = |problem: String| {
                SyncError::Store(crate::ValidationError::new(field, problem).into())
            };
            let chosen = match resolution {
                Resolution::Keep(n) => {
                    let Some(conflict) = conflict else {
                        return Err(invalid(format!(
                            "it holds one value in {id}: there is nothing to choose"
                        )));
                    };
                    let Some(v) = n.checked_sub(1).and_then(|i| conflict.values.get(i)) else {
                        return Err(invalid(format!(
                            "it has {} values: keep one of 1 to {}",
                            conflict.values.len(),
                            conflict.values.len()
                        )));
                    };
                    v.value.clone()
                }
                Resolution::Value(text) => match conflict.and_then(|c| c.values.first()) {
                    Some(v) if v.value.is_string() => serde_json::Value::String(text),
                    _ => serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
                },
            };
            store.resolve_conflict(&id, field, &chosen)?;
            self.wrote();
            Ok(chosen)
        })
    }

    /// The changes the server refused, kept aside on this device.
    pub fn quarantine(&self) -> Result<Vec<QuarantineEntry>> {
        self.read(|store| store.list_quarantine())
    }

    /// Quarantine entry `entry` in full: each refused change as field, old → new, and the
    /// text added.
    pub fn quarantined(&self, entry: i64) -> Result<QuarantineDetail> {
        self.read(|store| store.show_quarantined(entry))
    }

    /// Applies again, as fresh edits on the current document and each checked again, what
    /// quarantine entry `entry` holds that is still allowed.
    pub fn retry_quarantined(&self, entry: i64) -> Result<RetryReport> {
        let report = self.read(|store| store.retry_quarantined(entry))?;
        self.wrote();
        Ok(report)
    }

    /// Quarantine entry `entry` as a file can keep it (its detail and its changes).
    pub fn export_quarantined(&self, entry: i64) -> Result<QuarantineExport> {
        self.read(|store| store.export_quarantined(entry))
    }

    /// Deletes quarantine entry `entry` for good. Returns whether it existed.
    pub fn discard_quarantined(&self, entry: i64) -> Result<bool> {
        self.read(|store| store.discard_quarantined(entry))
    }

    /// The weekly report of `rep` (the logged-in user when `None`) for ISO week `week`
    /// (`2026-W48`; this week when `None`).
    pub fn weekly_report(&self, rep: Option<&str>, week: Option<&str>) -> Result<WeeklyReport> {
        self.with_store(|store| {
            let rep = match rep {
                Some(r) => r.to_string(),
                None => user_of(store)?.username,
            };
            let week = match week {
                Some(w) => input::closed::<IsoWeek>(w).map_err(crate::Error::from)?,
                None => IsoWeek::containing(chrono::Local::now().date_naive()),
            };
            Ok(weekly_report(store, &rep, week)?)
        })
    }

    /// The KPIs of a rep (the user by default) or of the user's team, for a month or a
    /// quarter (the current month by default); a team's carry each rep's figures too.
    pub fn kpi(&self, query: &crate::report::kpi::KpiQuery) -> Result<crate::report::kpi::Kpi> {
        use crate::report::kpi::{Period, team_kpi};
        let today = chrono::Local::now().date_naive();
        let period = match query.period.as_deref().and_then(input::optional_text) {
            Some(p) => Period::parse(&p).map_err(invalid)?,
            None => Period::month_of(today),
        };
        let me = self.user().ok().map(|u| u.username);
        self.read(|store| {
            let settings = store.settings()?;
            let hours = settings.complaint_hours;
            let now = chrono::Utc::now();
            let reps: Vec<String> = match (&query.rep, query.team) {
                (Some(rep), _) => vec![rep.trim().to_string()],
                (None, true) if !settings.team.is_empty() => settings.team.clone(),
                (None, _) => me.into_iter().collect(),
            };
            if reps.is_empty() {
                return Err(crate::Error::Invalid(crate::ValidationError::new(
                    "rep",
                    "name the rep, or log in to see your own figures",
                )));
            }
            let each = query.team && query.rep.is_none();
            team_kpi(store, &reps, each, &period, &hours, today, now)
        })
    }

    /// The follow-ups due on `day` (today when `None`), of `owner` or of everyone here.
    pub fn followups(&self, day: Option<&str>, owner: Option<&str>) -> Result<Vec<FollowUp>> {
        let day: NaiveDate = match day {
            Some(d) => input::date("date", d).map_err(crate::Error::from)?,
            None => chrono::Local::now().date_naive(),
        };
        self.read(|store| store.due_followups(day, owner))
    }
}

/// The user logged in on `store`.
fn user_of(store: &Store) -> Result<User> {
    sync::status(store)?
        .user
        .ok_or_else(|| SyncError::Auth(NOT_LOGGED_IN.into()))
}

/// A typed input error as the facade returns it.
fn invalid(e: crate::ValidationError) -> SyncError {
    SyncError::Store(e.into())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn a_client_is_shared_between_threads() {
        assert_send_sync::<Client>();
    }

    #[test]
    fn a_cancel_stops_the_syncs_asked_before_it_and_not_later_ones() {
        struct Answers;
        impl Transport for Answers {
            fn sync_round(&mut self, _body: Vec<u8>) -> std::result::Result<Vec<u8>, SyncError> {
                Ok(Vec::new())
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let client = Client::open_in(dir.path(), "test").unwrap();
        let asked = |client: &Client| client.syncs_asked.fetch_add(1, Ordering::SeqCst) + 1;
        let (first, second) = (asked(&client), asked(&client));
        client.cancel_sync();
        let third = asked(&client);
        let round = |number| {
            Cancellable {
                inner: Box::new(Answers) as Box<dyn Transport>,
                number: Some(number),
                cancelled_upto: &client.cancelled_upto,
                flag: None,
            }
            .sync_round(Vec::new())
        };
        assert!(matches!(round(first), Err(SyncError::Cancelled)));
        assert!(matches!(round(second), Err(SyncError::Cancelled)));
        assert!(round(third).is_ok());

        // Live mode's rounds answer to their own flag only.
        let stop = AtomicBool::new(false);
        let live_round = || {
            Cancellable {
                inner: Box::new(Answers) as Box<dyn Transport>,
                number: None,
                cancelled_upto: &client.cancelled_upto,
                flag: Some(&stop),
            }
            .sync_round(Vec::new())
        };
        client.cancel_sync();
        assert!(live_round().is_ok());
        stop.store(true, Ordering::SeqCst);
        assert!(matches!(live_round(), Err(SyncError::Cancelled)));
    }

    #[test]
    fn calls_that_need_a_user_say_to_log_in() {
        let dir = tempfile::tempdir().unwrap();
        let client = Client::open_in(dir.path().join("phone"), "test phone").unwrap();
        assert!(matches!(client.user(), Err(SyncError::Auth(m)) if m == NOT_LOGGED_IN));
        assert!(matches!(client.sync(|_| {}), Err(SyncError::Auth(_))));
        assert_eq!(client.logout().unwrap(), None);
        assert!(client.path().ends_with("phone/device.db"));
    }
}
