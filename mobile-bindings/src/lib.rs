//! fieldsync for Android and iOS apps.
//!
//! A thin uniffi layer over client-core's application facade, [`fieldsync_core::Client`]: one
//! object, [`FieldsyncClient`], whose methods are `#[uniffi::export]` wrappers of facade calls;
//! mirror records with conversions to the facade's inputs and from its answers ([`records`]);
//! and one error enum ([`FieldsyncError`]). Every default (the acting user, the approver, an
//! expense's currency, a new customer's territory, a visit's type), every reading of typed
//! text ("" clears, "128.50" is an amount) and every rule is the facade's, shared with the
//! command line; nothing here decides behaviour. Kotlin, Swift and Python bindings are
//! generated from the built library (see `README.md`).
//!
//! Every method but `sync` blocks until done: call it off the app's main thread; `sync` is
//! awaitable. A sync runs on the facade's own connection to the store, so the app's other
//! calls (lists, searches, edits) go on while it runs. Live mode ([`live`]) syncs on its own,
//! on a thread of the facade's, and tells the app's listener what changed. The methods are
//! grouped by what they work on: [`customers`], [`visits`], [`approvals`] (trip plans and
//! expense claims), [`orders`], [`complaints`], [`targets`], [`kpi`], [`attachments`] (photos,
//! receipts, evidence), [`live`], [`quarantine`] (changes the server refused); session, sync,
//! conflicts and the weekly report are here. No
//! method panics across the boundary: a panic becomes [`FieldsyncError::Storage`] ("internal
//! error: …"), and the client stays usable afterwards.

pub mod approvals;
pub mod attachments;
pub mod complaints;
pub mod customers;
mod error;
pub mod kpi;
pub mod live;
pub mod orders;
pub mod quarantine;
pub mod records;
pub mod targets;
pub mod visits;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use fieldsync_core::Client;
use fieldsync_core::client::Resolution;
use fieldsync_core::sync::Progress;

pub use error::FieldsyncError;
use error::guard;
use records::*;

uniffi::setup_scaffolding!();

/// Told after each sync round, and as each attachment travels, for a progress bar.
///
/// Runs on a thread of the library's own, never on the sync's: it may call the client, and
/// such a call does not wait for the sync. Reports arrive in order; every one has arrived when
/// the awaited sync (or `fetch_attachment`) answers. What it throws is caught and ignored.
#[uniffi::export(callback_interface)]
pub trait SyncProgress: Send + Sync {
    /// `rounds` done so far, documents `pulled` so far, documents with changes still
    /// `to_push` (a long push goes in several rounds), and whether the server has `more`.
    fn on_progress(&self, rounds: u32, pulled: i64, to_push: i64, more: bool);
    /// An attachment's upload or download went on: once a sync's rounds are done, the
    /// attachments attached here are uploaded, and the user's receipts and visits' thumbnails
    /// fetched ahead; `fetch_attachment` downloads one.
    fn on_attachment(&self, progress: attachments::AttachmentProgressRecord);
}

/// Hands reports to the app's [`SyncProgress`] on a thread of the library's own
/// (`fieldsync-progress`), in order, so that a slow callback never holds up the work, and the
/// callback's own calls on the client go on beside it. With no callback, reports go nowhere.
struct Teller<T> {
    tell: std::sync::mpsc::Sender<T>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl<T: Send + 'static> Teller<T> {
    /// Starts telling `progress`, one report at a time, through `each`. A report the callback
    /// throws on (or a method it lacks) is dropped; the next is told.
    fn start(progress: Option<Box<dyn SyncProgress>>, each: fn(&dyn SyncProgress, T)) -> Res<Self> {
        let (tell, told) = std::sync::mpsc::channel::<T>();
        let thread = progress
            .map(|progress| {
                std::thread::Builder::new()
                    .name("fieldsync-progress".into())
                    .spawn(move || {
                        for report in told {
                            let progress = &*progress;
                            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                                each(progress, report)
                            }));
                        }
                    })
            })
            .transpose()
            .map_err(|e| FieldsyncError::Storage {
                reason: format!("cannot start the progress thread: {e}; try again"),
            })?;
        Ok(Teller { tell, thread })
    }

    /// Queues a report.
    fn tell(&self, report: T) {
        // Nobody listens when the app gave no callback; nothing is lost then.
        let _ = self.tell.send(report);
    }

    /// Returns once every report queued has reached the app.
    fn finish(self) {
        drop(self.tell);
        if let Some(thread) = self.thread {
            let _ = thread.join();
        }
    }
}

/// How the user settles a conflict (`resolve_conflict`).
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum ConflictChoice {
    /// Keep value number `index` as `conflicts` lists it (1 is the first).
    Keep {
        /// 1 for the first value listed.
        index: u32,
    },
    /// Set this value: text for a field whose values are text, otherwise JSON (a number,
    /// `true`, a map).
    Value {
        /// The value.
        value: String,
    },
}

impl From<ConflictChoice> for Resolution {
    fn from(c: ConflictChoice) -> Self {
        match c {
            ConflictChoice::Keep { index } => {
                Resolution::Keep(usize::try_from(index).unwrap_or(usize::MAX))
            }
            ConflictChoice::Value { value } => Resolution::Value(value),
        }
    }
}

/// One device's fieldsync: its store, its session with the server, sync and live mode; the
/// facade's [`Client`] behind the FFI. Share it between the app's threads: no call waits for a
/// sync.
#[derive(uniffi::Object)]
pub struct FieldsyncClient {
    /// Shared with live mode's thread, which holds it only while it syncs.
    client: Arc<Client>,
}

type Res<T> = Result<T, FieldsyncError>;

impl FieldsyncClient {
    /// Runs `f` on the facade, turning a panic into [`FieldsyncError::Storage`].
    fn call<T>(&self, f: impl FnOnce(&Client) -> Res<T>) -> Res<T> {
        guard(|| f(&self.client))
    }

    /// The blocking body of [`FieldsyncClient::sync`]. The app's progress callback runs on a
    /// thread of its own ([`Teller`]): a round's progress goes to `on_progress`, an
    /// attachment's to `on_attachment`. `abandoned` is set once the app gave up the await: the
    /// facade then stops this sync alone before its next round
    /// ([`Client::sync_cancellable`]).
    fn sync_now(
        &self,
        progress: Option<Box<dyn SyncProgress>>,
        abandoned: &Arc<AtomicBool>,
    ) -> Res<SyncReport> {
        let teller = Teller::start(progress, |progress, p: Progress| match p.attachment {
            Some(attachment) => progress.on_attachment(attachment.into()),
            None => progress.on_progress(
                p.rounds,
                records::count(p.pulled),
                records::count(p.to_push),
                p.more,
            ),
        })?;
        let result = self.call(|client| {
            let report = client.sync_cancellable(abandoned, |p| teller.tell(p))?;
            Ok(report.into())
        });
        // Every progress report reaches the app before the sync answers.
        teller.finish();
        result
    }
}

/// Marks its sync abandoned when dropped armed: an app that abandons the awaited sync (a
/// cancelled coroutine or task) stops it before its next round.
struct AbandonOnDrop {
    abandoned: Arc<AtomicBool>,
    armed: bool,
}

impl Drop for AbandonOnDrop {
    fn drop(&mut self) {
        if self.armed {
            self.abandoned.store(true, Ordering::SeqCst);
        }
    }
}

#[uniffi::export]
impl FieldsyncClient {
    /// Opens (or creates) the device's store in `<data_dir>/device.db`, creating the
    /// directory if needed. `device_name` is shown to the user's admin in the server's device
    /// list, and conflicts name it.
    #[uniffi::constructor]
    pub fn open(data_dir: String, device_name: String) -> Res<Arc<Self>> {
        guard(|| {
            Ok(Arc::new(FieldsyncClient {
                client: Arc::new(Client::open_in(&data_dir, &device_name)?),
            }))
        })
    }

    /// Logs in to the server at `server_url`; the session is kept in the store, and every
    /// change made here from now on names the user and this device.
    pub fn login(&self, server_url: String, username: String, password: String) -> Res<UserRecord> {
        self.call(|c| Ok(c.login(&server_url, &username, &password)?.into()))
    }

    /// Ends the session; it is forgotten here even if the server cannot be told (then the
    /// error says so). Nothing happens when nobody is logged in.
    pub fn logout(&self) -> Res<()> {
        self.call(|c| Ok(c.logout().map(drop)?))
    }

    /// The device's session and sync state.
    pub fn status(&self) -> Res<SyncStatusRecord> {
        self.call(|c| Ok(c.status()?.into()))
    }

    /// Syncs with the server: pushes local changes, pulls others', until both sides are up to
    /// date. `progress` is told after each round (`on_progress`). Awaitable (a Kotlin `suspend` function, a
    /// Swift `async` one, a Python coroutine); the work runs on a thread of its own, so any
    /// executor can await it. The sync uses a connection to the store of its own: the app's
    /// other calls on this client go on meanwhile, and see each page as soon as it is merged
    /// (a write waits at most for the merge of one page). One sync at a time (live mode's
    /// rounds included): a second waits for the first. `cancel_sync`, or abandoning the await
    /// (which stops this sync alone), stops it before its next round with
    /// `FieldsyncError::Cancelled`; the rounds done stay applied and a round in flight
    /// finishes.
    ///
    /// Once the rounds are done, the attachments attached here go up (`progress.on_attachment`
    /// is told how far, `SyncReport.attachments` what was done); an attachment that could not
    /// go never fails the sync: it is tried again at the next one (see `attachments()`).
    pub async fn sync(self: Arc<Self>, progress: Option<Box<dyn SyncProgress>>) -> Res<SyncReport> {
        let abandoned = Arc::new(AtomicBool::new(false));
        let (tx, rx) = tokio::sync::oneshot::channel();
        let worker = Arc::clone(&self);
        let mut on_drop = AbandonOnDrop {
            abandoned: Arc::clone(&abandoned),
            armed: true,
        };
        let thread = std::thread::Builder::new()
            .name("fieldsync-sync".into())
            .spawn(move || {
                let result = worker.sync_now(progress, &abandoned);
                drop(worker);
                // The receiver is gone only if the app abandoned the sync; nobody is waiting.
                let _ = tx.send(result);
            })
            .map_err(|e| FieldsyncError::Storage {
                reason: format!("cannot start the sync thread: {e}; try again"),
            })?;
        let result = rx.await.unwrap_or_else(|_| {
            Err(FieldsyncError::Storage {
                reason: "internal error: the sync thread ended without an answer; please report it"
                    .into(),
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

    /// Cancels every sync asked for until now: a running one stops before its next round, one
    /// still waiting for it never starts; syncs asked for later run. Live mode's round in
    /// flight is cancelled too (its listener hears `Cancelled`; it goes on). Safe to call from
    /// any thread, the progress callback and the live listener included.
    pub fn cancel_sync(&self) {
        self.client.cancel_sync();
    }

    /// Hands every customer of rep `from` to rep `to` on the server, with their visits (a
    /// manager of both, or an admin; needs the network). Returns how many customers moved;
    /// the next sync brings the change to this device.
    pub fn handover(&self, from: String, to: String) -> Res<i64> {
        self.call(|c| Ok(records::count(c.handover(&from, &to)? as u64)))
    }

    /// The fields of document `id` that hold concurrent values.
    pub fn conflicts(&self, id: String) -> Res<Vec<ConflictRecord>> {
        self.call(|c| {
            Ok(c.conflicts(Some(&id))?
                .into_iter()
                .map(|d| d.conflict.into())
                .collect())
        })
    }

    /// Settles the conflict of `field` (a `path` of `conflicts`) in document `id` with
    /// `choice`, in one change. Returns the value the field now holds, as JSON text.
    pub fn resolve_conflict(
        &self,
        id: String,
        field: String,
        choice: ConflictChoice,
    ) -> Res<String> {
        self.call(|c| Ok(c.resolve_conflict(&id, &field, choice.into())?.to_string()))
    }

    /// The weekly report of `rep` (the logged-in user when `None`) for ISO week `week`
    /// (`2026-W48`; this week when `None`).
    #[uniffi::method(default(rep = None, week = None))]
    pub fn weekly_report(
        &self,
        rep: Option<String>,
        week: Option<String>,
    ) -> Res<WeeklyReportRecord> {
        self.call(|c| Ok(c.weekly_report(rep.as_deref(), week.as_deref())?.into()))
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

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn writing_needs_a_login_and_the_client_survives_a_panic() {
        let (_dir, client) = client();
        let new = NewCustomerRecord {
            name: "某公司".into(),
            territory: Some("east".into()),
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
        // A panic while the facade holds the store poisons its lock; the next call goes on.
        let panicked: Res<()> = client.call(|c| Ok(c.read(|_| panic!("boom"))?));
        assert!(
            matches!(panicked, Err(FieldsyncError::Storage { reason }) if reason.contains("boom"))
        );
        assert_eq!(client.status().unwrap().unsent, 0);
        assert!(matches!(
            block_on(Arc::clone(&client).sync(None)),
            Err(FieldsyncError::Auth { .. })
        ));
    }

    #[test]
    fn an_abandoned_await_marks_its_sync_cancelled_and_a_finished_one_does_not() {
        let (_dir, client) = client();
        let abandoned = Arc::new(AtomicBool::new(false));
        drop(AbandonOnDrop {
            abandoned: Arc::clone(&abandoned),
            armed: true,
        });
        assert!(abandoned.load(Ordering::SeqCst));

        let finished = Arc::new(AtomicBool::new(false));
        drop(AbandonOnDrop {
            abandoned: Arc::clone(&finished),
            armed: false,
        });
        assert!(!finished.load(Ordering::SeqCst));
        // Not logged in: the sync goes as far as the facade, which asks for a login.
        for _ in 0..2 {
            assert!(matches!(
                block_on(Arc::clone(&client).sync(None)),
                Err(FieldsyncError::Auth { .. })
            ));
        }
    }

    #[test]
    fn a_conflict_choice_maps_onto_the_facades_resolution() {
        assert_eq!(
            Resolution::from(ConflictChoice::Keep { index: 2 }),
            Resolution::Keep(2)
        );
        assert_eq!(
            Resolution::from(ConflictChoice::Value { value: "B".into() }),
            Resolution::Value("B".into())
        );
    }
}
