//! fieldsync for Android and iOS apps.
//!
//! A thin uniffi layer over client-core: one object, [`FieldsyncClient`], whose methods are
//! `#[uniffi::export]` wrappers of client-core calls, mirror records with `From` conversions
//! ([`records`]), and one error enum ([`FieldsyncError`]). Kotlin, Swift and Python bindings
//! are generated from the built library (see `README.md`).
//!
//! Every method but `sync` blocks until done: call it off the app's main thread; `sync` is
//! awaitable. The methods are grouped by what they work on: [`customers`], [`visits`],
//! [`approvals`] (trip plans and expense claims); session, sync, conflicts and reports are
//! here. No method panics across
//! the boundary: a panic becomes [`FieldsyncError::Storage`] ("internal error: …"), and the
//! store stays usable afterwards.

pub mod approvals;
pub mod customers;
mod error;
pub mod records;
pub mod visits;

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use fieldsync_core::report::{IsoWeek, weekly_report};
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
    /// Runs on a thread of the library's own, without the store held: it may call the client,
    /// and such a call waits until the sync ends (later reports wait behind it). Every report
    /// has arrived when the awaited sync answers.
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

    /// The blocking body of [`FieldsyncClient::sync`]. The app's progress callback runs on a
    /// thread of its own, never with the store held, so it may call this client (a status
    /// screen, a count of unsent work); such a call waits until the sync has let go of the
    /// store, at its end, and later reports wait behind it.
    fn sync_now(&self, progress: Option<Box<dyn SyncProgress>>) -> Res<SyncReport> {
        let (tell, told) = std::sync::mpsc::channel::<(u32, i64, bool)>();
        let teller = progress
            .map(|progress| {
                std::thread::Builder::new()
                    .name("fieldsync-progress".into())
                    .spawn(move || {
                        for (rounds, pulled, more) in told {
                            progress.on_progress(rounds, pulled, more);
                        }
                    })
            })
            .transpose()
            .map_err(|e| FieldsyncError::Storage {
                reason: format!("cannot start the progress thread: {e}"),
            })?;
        let result = self.with_store(|store| {
            if sync::status(store)?.user.is_none() {
                return Err(not_logged_in());
            }
            let mut transport = Cancellable {
                inner: HttpClient::from_store(store)?,
                cancelled: &self.cancelled,
            };
            let report = sync::run(store, &mut transport, |p| {
                // Nobody listens when the app gave no callback; nothing is lost then.
                let _ = tell.send((p.rounds, records::count(p.pulled), p.more));
            })?;
            Ok(report.into())
        });
        // The store is free again: the callback's own calls can go on, and every progress
        // report reaches the app before the sync answers.
        drop(tell);
        if let Some(teller) = teller {
            // A callback that panicked has already told the app nothing more; the sync's own
            // answer stands.
            let _ = teller.join();
        }
        result
    }
}

/// Cancels the sync of its client when dropped armed: an app that abandons the awaited sync
/// (a cancelled coroutine or task) stops it before its next round.
struct CancelOnDrop {
    client: Arc<FieldsyncClient>,
    armed: bool,
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if self.armed {
            self.client.cancel_sync();
        }
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

    /// Syncs with the server: pushes local changes, pulls others', until both sides are up to
    /// date. `progress` is told after each round. Awaitable (a Kotlin `suspend` function, a
    /// Swift `async` one, a Python coroutine); the work runs on a thread of its own, so any
    /// executor can await it. `cancel_sync`, or abandoning the await, stops it before its next
    /// round with `FieldsyncError::Cancelled`; the rounds done stay applied and a round in
    /// flight finishes. Other calls on this client wait while a sync round holds the store.
    pub async fn sync(self: Arc<Self>, progress: Option<Box<dyn SyncProgress>>) -> Res<SyncReport> {
        self.cancelled.store(false, Ordering::SeqCst);
        let (tx, rx) = tokio::sync::oneshot::channel();
        let worker = Arc::clone(&self);
        let thread = std::thread::Builder::new()
            .name("fieldsync-sync".into())
            .spawn(move || {
                let result = worker.sync_now(progress);
                drop(worker);
                // The receiver is gone only if the app abandoned the sync; nobody is waiting.
                let _ = tx.send(result);
            })
            .map_err(|e| FieldsyncError::Storage {
                reason: format!("cannot start the sync thread: {e}"),
            })?;
        let mut on_drop = CancelOnDrop {
            client: self,
            armed: true,
        };
        let result = rx.await.unwrap_or_else(|_| {
            Err(FieldsyncError::Storage {
                reason: "internal error: the sync thread ended without an answer".into(),
            })
        });
        on_drop.armed = false;
        // Sending woke this future through the app's runtime (a Python or JVM callback) on
        // the sync thread. Wait for that call to return, so that no thread of the library is
        // still inside the app's runtime once the app has its answer: a Python interpreter
        // that exits right after the sync would otherwise kill the thread mid-call.
        if thread.thread().id() != std::thread::current().id() {
            let _ = thread.join();
        }
        result
    }

    /// Hands every customer of rep `from` to rep `to` on the server, with their visits (a
    /// manager of both, or an admin; needs the network). Returns how many customers moved;
    /// the next sync brings the change to this device.
    pub fn handover(&self, from: String, to: String) -> Res<i64> {
        self.with_store(|store| {
            let moved = HttpClient::from_store(store)?.handover(&from, &to)?;
            Ok(records::count(moved as u64))
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

    /// Deletes quarantine entry `entry` and the changes it kept, for good, once the user has
    /// seen why the server refused them. Returns whether it existed.
    pub fn discard_quarantined(&self, entry: i64) -> Res<bool> {
        self.with_store(|store| Ok(store.discard_quarantined(entry)?))
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
    use std::future::Future;

    fn client() -> (tempfile::TempDir, Arc<FieldsyncClient>) {
        let dir = tempfile::tempdir().unwrap();
        let client =
            FieldsyncClient::open(dir.path().display().to_string(), "test".into()).unwrap();
        (dir, client)
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
            block_on(Arc::clone(&client).sync(None)),
            Err(FieldsyncError::Auth { .. })
        ));
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn an_abandoned_sync_is_cancelled_and_a_finished_one_is_not() {
        let (_dir, client) = client();
        // Holding the store keeps the sync thread from answering before the app gives up.
        let held = client.store.lock().unwrap();
        let mut sync = Box::pin(Arc::clone(&client).sync(None));
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        assert!(sync.as_mut().poll(&mut cx).is_pending());
        assert!(!client.cancelled.load(Ordering::SeqCst));
        drop(sync);
        assert!(client.cancelled.load(Ordering::SeqCst));
        drop(held);

        let _ = block_on(Arc::clone(&client).sync(None));
        assert!(!client.cancelled.load(Ordering::SeqCst));
    }
}
