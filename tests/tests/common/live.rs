//! Devices in live mode, for the live tests: each with a listener that passes on what it is
//! told.
#![allow(dead_code, clippy::unwrap_used)]

use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fieldsync_core::Client;
use fieldsync_core::client::{CustomerInput, LiveChange, LiveListener, LiveOptions};
use fieldsync_core::sync::SyncError;

/// Passes what live mode tells on to the test.
pub struct Relay {
    pub changes: Mutex<Sender<LiveChange>>,
    pub errors: Mutex<Vec<String>>,
}

impl LiveListener for Relay {
    fn on_change(&self, change: &LiveChange) {
        let _ = self.changes.lock().unwrap().send(change.clone());
    }

    fn on_error(&self, error: &SyncError) {
        self.errors.lock().unwrap().push(error.to_string());
    }
}

pub struct LiveDevice {
    pub client: Arc<Client>,
    pub relay: Arc<Relay>,
    pub changes: Receiver<LiveChange>,
    _dir: tempfile::TempDir,
}

impl LiveDevice {
    pub fn new(url: &str, user: &str, device: &str) -> LiveDevice {
        let dir = tempfile::tempdir().unwrap();
        let client = Arc::new(Client::open_in(dir.path(), device).unwrap());
        client
            .login(url, user, &format!("pw-{user}-secret"))
            .unwrap();
        let (tx, changes) = mpsc::channel();
        let relay = Arc::new(Relay {
            changes: Mutex::new(tx),
            errors: Mutex::new(Vec::new()),
        });
        client
            .start_live(LiveOptions::default(), relay.clone())
            .unwrap();
        LiveDevice {
            client,
            relay,
            changes,
            _dir: dir,
        }
    }

    /// Waits until `check` holds on this device, at most `limit`; how long it took.
    pub fn until(&self, limit: Duration, check: impl Fn(&Client) -> bool) -> Duration {
        let started = Instant::now();
        while !check(&self.client) {
            assert!(
                started.elapsed() < limit,
                "not there after {limit:?}; errors told: {:?}",
                self.relay.errors.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        started.elapsed()
    }
}

pub fn named(name: &str) -> CustomerInput {
    CustomerInput {
        name: name.into(),
        ..CustomerInput::default()
    }
}

pub fn has(id: &str) -> impl Fn(&Client) -> bool + '_ {
    move |c| c.customer(id).is_ok()
}

/// The threads of this process whose names start with `prefix`.
pub fn threads_named(prefix: &str) -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|name| name.starts_with(prefix))
        .count()
}
