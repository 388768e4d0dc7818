//! Live mode for apps: while it runs, the device follows the server's event stream, syncs
//! when another device changed something, and pushes its own writes right after they are made,
//! so two online devices see each other's edits within about a second without the user
//! pressing "sync".
//!
//! Everything live mode does (when to sync, coalescing, backing off after errors, reconnecting,
//! stopping within a heartbeat) is the facade's ([`fieldsync_core::Client::start_live`]); this
//! module only hands the app's [`LiveListener`] what each round changed and every error, as
//! records, and keeps a listener that throws from reaching into the library.

use std::collections::BTreeMap;
use std::sync::Arc;

use fieldsync_core::client::{LiveChange, LiveListener as CoreListener, LiveOptions};
use fieldsync_core::sync::SyncError;

use crate::records::count;
use crate::{FieldsyncClient, FieldsyncError, Res, guard};

/// Told what live mode does. Called on live mode's own thread (`fieldsync-live`), one call at
/// a time and in order, never while the library holds the store: it may call the client
/// (`get_customer`, `list_customers`, even `stop_live`). Keep it short, or hand the work to the
/// app's own thread: the next round waits for it. What it throws is ignored.
#[uniffi::export(callback_interface)]
pub trait LiveListener: Send + Sync {
    /// A sync round moved something: documents pushed, pulled, refused or removed here.
    fn on_change(&self, change: LiveChangeRecord);
    /// Something failed (the network, the session, the server); live mode goes on, retrying
    /// with growing waits, until `stop_live`. An `Auth` error means: log in again.
    fn on_error(&self, error: LiveErrorRecord);
}

/// The documents of one kind a live round changed here.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ChangedDocsRecord {
    /// The kind: `customer`, `visit`, `trip_plan`, `expense_claim`, `order`, `complaint` or
    /// `target`.
    pub kind: String,
    /// Their ids, each once.
    pub ids: Vec<String>,
}

/// What one live round did.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct LiveChangeRecord {
    /// Documents pushed.
    pub pushed: i64,
    /// Documents pulled and merged.
    pub pulled: i64,
    /// Pushed documents the server refused (see `quarantine`).
    pub rejected: i64,
    /// The documents that changed here, by kind: refresh the screens showing them.
    pub changed: Vec<ChangedDocsRecord>,
    /// Documents deleted here because they left the user's scope (a customer handed to
    /// another rep): close the screens showing them.
    pub removed: Vec<String>,
    /// How long the round took, in milliseconds.
    pub millis: i64,
}

impl From<&LiveChange> for LiveChangeRecord {
    fn from(c: &LiveChange) -> Self {
        LiveChangeRecord {
            pushed: count(c.pushed),
            pulled: count(c.pulled),
            rejected: count(c.rejected),
            changed: changed_docs(&c.changed),
            removed: c.removed.clone(),
            millis: count(c.millis),
        }
    }
}

fn changed_docs(by_kind: &BTreeMap<String, Vec<String>>) -> Vec<ChangedDocsRecord> {
    by_kind
        .iter()
        .map(|(kind, ids)| ChangedDocsRecord {
            kind: kind.clone(),
            ids: ids.clone(),
        })
        .collect()
}

/// What failed in live mode: the `FieldsyncError` a call would have raised, as a record.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct LiveErrorRecord {
    /// The `FieldsyncError` case: `Network`, `Auth`, `Rejected`, `Invalid`, `Storage`,
    /// `NotFound` or `Cancelled` (a `cancel_sync` stopped live mode's round; it goes on).
    pub kind: String,
    /// What happened and what to do, to show as it is.
    pub reason: String,
}

impl From<&SyncError> for LiveErrorRecord {
    fn from(e: &SyncError) -> Self {
        let error = FieldsyncError::of(e);
        LiveErrorRecord {
            kind: error.kind().to_string(),
            reason: error.reason().to_string(),
        }
    }
}

/// The app's listener as the facade's: converts what live mode tells it and calls the app.
struct Forward(Box<dyn LiveListener>);

impl Forward {
    /// Calls the app; a panic (an exception the app's listener threw, which uniffi turns into
    /// one) ends here, and live mode goes on.
    fn tell(&self, f: impl FnOnce(&dyn LiveListener)) {
        let listener = &*self.0;
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(listener)));
    }
}

impl CoreListener for Forward {
    fn on_change(&self, change: &LiveChange) {
        let record = LiveChangeRecord::from(change);
        self.tell(|l| l.on_change(record));
    }

    fn on_error(&self, error: &SyncError) {
        let record = LiveErrorRecord::from(error);
        self.tell(|l| l.on_error(record));
    }
}

#[uniffi::export]
impl FieldsyncClient {
    /// Starts live mode, telling `listener` what each round changed and every error (see
    /// `LiveListener`); a live mode already running is stopped first. It starts with a sync,
    /// then syncs whenever the server says another device changed something, and pushes this
    /// device's writes right after they are made (a burst in one round). Needs a session
    /// (`Auth` otherwise); works offline too, retrying until the network is back. Runs until
    /// `stop_live` or the client is dropped: stop it before `logout`.
    pub fn start_live(&self, listener: Box<dyn LiveListener>) -> Res<()> {
        guard(|| {
            Ok(self
                .client
                .start_live(LiveOptions::default(), Arc::new(Forward(listener)))?)
        })
    }

    /// Stops live mode, if it runs, and returns once its threads have ended: within about a
    /// second, or when a round in flight has answered. A round in flight stops before its next
    /// exchange with the server; what it applied stays applied.
    pub fn stop_live(&self) {
        let _ = guard(|| {
            self.client.stop_live();
            Ok(())
        });
    }

    /// Whether live mode runs.
    pub fn is_live(&self) -> bool {
        guard(|| Ok(self.client.is_live())).unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::Mutex;

    use super::*;

    #[derive(Default)]
    struct Heard(Mutex<Vec<String>>);

    impl LiveListener for Arc<Heard> {
        fn on_change(&self, change: LiveChangeRecord) {
            if change.pulled == 99 {
                panic!("the app's listener threw");
            }
            self.0.lock().unwrap().push(format!("{change:?}"));
        }

        fn on_error(&self, error: LiveErrorRecord) {
            self.0
                .lock()
                .unwrap()
                .push(format!("{}: {}", error.kind, error.reason));
        }
    }

    #[test]
    fn the_listener_hears_records_and_what_it_throws_stays_in_it() {
        let heard = Arc::new(Heard::default());
        let forward = Forward(Box::new(Arc::clone(&heard)));
        let mut change = LiveChange {
            pulled: 2,
            millis: 15,
            removed: vec!["gone".into()],
            ..LiveChange::default()
        };
        change
            .changed
            .insert("customer".into(), vec!["a".into(), "b".into()]);
        let record = LiveChangeRecord::from(&change);
        assert_eq!(
            record.changed,
            [ChangedDocsRecord {
                kind: "customer".into(),
                ids: vec!["a".into(), "b".into()],
            }]
        );
        assert_eq!((record.pulled, record.millis), (2, 15));
        forward.on_change(&change);
        forward.on_change(&LiveChange {
            pulled: 99,
            ..LiveChange::default()
        });
        forward.on_error(&SyncError::Network("the server is unreachable".into()));
        forward.on_error(&SyncError::Auth("log in again".into()));
        let heard = heard.0.lock().unwrap();
        assert_eq!(heard.len(), 3, "{heard:?}");
        assert!(heard[1].starts_with("Network: "), "{heard:?}");
        assert!(heard[2].starts_with("Auth: "), "{heard:?}");
    }

    #[test]
    fn live_mode_needs_a_login_and_stopping_it_when_off_does_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let client =
            FieldsyncClient::open(dir.path().display().to_string(), "test".into()).unwrap();
        let heard = Arc::new(Heard::default());
        assert!(matches!(
            client.start_live(Box::new(heard)),
            Err(FieldsyncError::Auth { .. })
        ));
        assert!(!client.is_live());
        client.stop_live();
        assert!(!client.is_live());
    }
}
