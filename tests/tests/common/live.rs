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

/// A TCP relay to the server on 127.0.0.1 whose connections can be made to go silent without
/// closing, as a phone's do when it changes networks: [`Freezer::freeze`] stops every
/// connection open now from carrying anything, in either direction; later ones work.
pub struct Freezer {
    pub url: String,
    opened: Arc<std::sync::atomic::AtomicU64>,
    frozen_before: Arc<std::sync::atomic::AtomicU64>,
}

impl Freezer {
    /// A relay in front of the server at `server_url` (`http://127.0.0.1:PORT`).
    pub fn start(server_url: &str) -> Freezer {
        use std::io::{Read, Write};
        use std::net::{TcpListener, TcpStream};
        use std::sync::atomic::{AtomicU64, Ordering};
        let upstream = server_url.trim_start_matches("http://").to_string();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let frozen_before = Arc::new(AtomicU64::new(0));
        let opened = Arc::new(AtomicU64::new(0));
        let frozen = Arc::clone(&frozen_before);
        let counted = Arc::clone(&opened);
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                let Ok(server) = TcpStream::connect(&upstream) else {
                    continue;
                };
                let n = counted.fetch_add(1, Ordering::SeqCst) + 1;
                for (mut from, mut to) in [
                    (client.try_clone().unwrap(), server.try_clone().unwrap()),
                    (server, client),
                ] {
                    let frozen = Arc::clone(&frozen);
                    std::thread::spawn(move || {
                        let mut buf = [0u8; 8192];
                        loop {
                            let Ok(read) = from.read(&mut buf) else {
                                return;
                            };
                            if read == 0 {
                                let _ = to.shutdown(std::net::Shutdown::Write);
                                return;
                            }
                            // A frozen connection swallows what it reads, and never closes.
                            if frozen.load(Ordering::SeqCst) >= n {
                                continue;
                            }
                            if to.write_all(&buf[..read]).is_err() {
                                return;
                            }
                        }
                    });
                }
            }
        });
        Freezer {
            url,
            opened,
            frozen_before,
        }
    }

    /// Makes every connection opened so far go silent.
    pub fn freeze(&self) {
        use std::sync::atomic::Ordering;
        self.frozen_before
            .store(self.opened.load(Ordering::SeqCst), Ordering::SeqCst);
    }
}
