//! Live mode: while online, the device follows the server's event stream and syncs when told,
//! and pushes its own writes soon after they are made, so two online devices see each other's
//! edits within about a second without anyone pressing "sync".
//!
//! One controller thread per live client decides when to sync; a reader thread blocks on the
//! event stream and hands each event to it. Bursts are coalesced (many events, or many writes,
//! make one round), errors back off exponentially with jitter, a stream the server ends (its
//! access token expired, the server restarts) is opened again, refreshing the token, and every
//! (re)connection starts with a catch-up round. The listener hears, off the store's locks,
//! what each round changed and every error; nothing panics across it.
//!
//! Stopping is prompt: the reader wakes at each heartbeat of the stream (one a second by
//! default) to see whether it should stop, and [`Client::stop_live`] waits for both threads.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::client::{Client, Result, lock, user_of};
use crate::sync::events::{EventStream, ServerEvent};
use crate::sync::http::HttpClient;
use crate::sync::{SyncError, SyncReport};

/// Told what live mode does. Called on the live controller's thread, never with a store lock
/// held: it may call the client. A panic in it is caught and ignored.
pub trait LiveListener: Send + Sync {
    /// A sync round moved something (pushed, pulled or removed documents).
    fn on_change(&self, change: &LiveChange);
    /// Something failed; live mode goes on (it retries, backing off) until stopped.
    fn on_error(&self, error: &SyncError);
}

/// What one live sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LiveChange {
    /// Documents pushed.
    pub pushed: u64,
    /// Documents pulled and merged.
    pub pulled: u64,
    /// Pushed documents the server refused (see the quarantine).
    pub rejected: u64,
    /// The documents that changed here, by kind (`customer`, `visit`, …): their ids.
    pub changed: BTreeMap<String, Vec<String>>,
    /// Documents deleted here because they left the user's scope.
    pub removed: Vec<String>,
    /// How long the sync took, in milliseconds.
    pub millis: u64,
}

impl LiveChange {
    /// Whether the round moved nothing.
    pub fn is_empty(&self) -> bool {
        self.pushed == 0 && self.pulled == 0 && self.rejected == 0 && self.removed.is_empty()
    }

    /// The report of a sync and the documents it changed.
    pub(crate) fn of(
        report: &SyncReport,
        changed: Vec<(String, String)>,
        removed: Vec<String>,
    ) -> Self {
        let mut by_kind: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (id, kind) in changed {
            let ids = by_kind.entry(kind).or_default();
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        LiveChange {
            pushed: report.pushed,
            pulled: report.pulled,
            rejected: report.rejected,
            changed: by_kind,
            removed,
            millis: report.millis,
        }
    }
}

/// How live mode paces itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveOptions {
    /// The heartbeat asked of the server's event stream: how soon a stop is noticed, and a
    /// dead connection suspected.
    pub heartbeat: Duration,
    /// How long after a local write its push waits for more writes (one round for a burst).
    pub push_delay: Duration,
    /// How long after a server event the round waits for more events.
    pub coalesce: Duration,
    /// The first wait after an error; each further error doubles it, up to `max_retry`.
    pub min_retry: Duration,
    /// The longest wait between retries.
    pub max_retry: Duration,
}

impl Default for LiveOptions {
    fn default() -> Self {
        LiveOptions {
            heartbeat: Duration::from_secs(1),
            push_delay: Duration::from_millis(10),
            coalesce: Duration::from_millis(2),
            min_retry: Duration::from_millis(500),
            max_retry: Duration::from_secs(30),
        }
    }
}

/// What reaches the controller.
enum Signal {
    /// The server said something changed.
    Changed,
    /// This device wrote something.
    Wrote,
    /// The event stream ended; with an error if it broke.
    Ended(Option<SyncError>),
    /// Stop.
    Stop,
}

/// A running live mode, kept by its client.
pub(crate) struct LiveRunner {
    signals: Sender<Signal>,
    stop: Arc<AtomicBool>,
    controller: JoinHandle<()>,
}

impl LiveRunner {
    /// Tells the controller the device wrote something.
    pub(crate) fn wrote(&self) {
        let _ = self.signals.send(Signal::Wrote);
    }

    /// Stops the controller and its reader, and waits for both.
    fn stop(self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.signals.send(Signal::Stop);
        // The controller itself may drop the last handle of its client: it ends on its own.
        if self.controller.thread().id() != std::thread::current().id() {
            let _ = self.controller.join();
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.stop_live();
    }
}

impl Client {
    /// Starts live mode with `listener` (see the module documentation); a live mode already
    /// running is stopped first. Needs a session; works offline too (it retries until the
    /// network is back).
    pub fn start_live(
        self: &Arc<Self>,
        options: LiveOptions,
        listener: Arc<dyn LiveListener>,
    ) -> Result<()> {
        self.with_store(user_of)?;
        self.stop_live();
        let (signals, inbox) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let controller = {
            let client = Arc::downgrade(self);
            let signals = signals.clone();
            let stop = Arc::clone(&stop);
            std::thread::Builder::new()
                .name("fieldsync-live".into())
                .spawn(move || {
                    Controller {
                        client,
                        inbox,
                        signals,
                        stop,
                        options,
                        listener,
                    }
                    .run()
                })
                .map_err(|e| {
                    SyncError::Store(crate::Error::System {
                        what: "cannot start live mode's thread; try again".into(),
                        reason: e.to_string(),
                    })
                })?
        };
        *lock(&self.live) = Some(LiveRunner {
            signals,
            stop,
            controller,
        });
        Ok(())
    }

    /// Stops live mode, if it runs, and returns once its threads have ended (within about a
    /// heartbeat, or when a round in flight has answered). Live mode's own sync stops before
    /// its next round; a sync the app started is left to run.
    pub fn stop_live(&self) {
        let runner = lock(&self.live).take();
        if let Some(runner) = runner {
            runner.stop();
        }
    }

    /// Whether live mode runs.
    pub fn is_live(&self) -> bool {
        lock(&self.live).is_some()
    }
}

struct Controller {
    client: Weak<Client>,
    inbox: Receiver<Signal>,
    signals: Sender<Signal>,
    stop: Arc<AtomicBool>,
    options: LiveOptions,
    listener: Arc<dyn LiveListener>,
}

impl Controller {
    fn run(self) {
        let mut retry = self.options.min_retry;
        while !self.stopped() {
            let Some(client) = self.client.upgrade() else {
                return;
            };
            let opened = client.on_sync_connection(|store| {
                user_of(store)?;
                HttpClient::from_store(store)?.events(self.options.heartbeat)
            });
            drop(client);
            let reader = match opened {
                Ok(stream) => self.read(stream),
                Err(e) => {
                    self.tell_error(&e);
                    if !self.wait(jittered(retry)) {
                        return;
                    }
                    retry = (retry * 2).min(self.options.max_retry);
                    continue;
                }
            };
            let ended = self.follow(&mut retry);
            if let Some(reader) = reader {
                let _ = reader.join();
            }
            match ended {
                Ended::Stop => return,
                Ended::Broken => {
                    if !self.wait(jittered(retry)) {
                        return;
                    }
                    retry = (retry * 2).min(self.options.max_retry);
                }
                Ended::Closed => {}
            }
        }
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Starts the reader thread of `stream`.
    fn read(&self, mut stream: EventStream) -> Option<JoinHandle<()>> {
        let signals = self.signals.clone();
        let stop = Arc::clone(&self.stop);
        std::thread::Builder::new()
            .name("fieldsync-events".into())
            .spawn(move || {
                loop {
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    let signal = match stream.next_event() {
                        Ok(Some(ServerEvent::Changed)) => Signal::Changed,
                        Ok(Some(ServerEvent::Heartbeat)) => continue,
                        Ok(None) => Signal::Ended(None),
                        Err(e) => Signal::Ended(Some(e)),
                    };
                    let last = matches!(signal, Signal::Ended(_));
                    if signals.send(signal).is_err() || last {
                        return;
                    }
                }
            })
            .map_err(|e| {
                let _ = self
                    .signals
                    .send(Signal::Ended(Some(SyncError::Network(format!(
                        "cannot start the event reader: {e}"
                    )))));
            })
            .ok()
    }

    /// Syncs now, then whenever told, until the stream ends or live mode stops.
    fn follow(&self, retry: &mut Duration) -> Ended {
        let mut due = Some(Instant::now());
        loop {
            let wait = due.map_or(Duration::from_secs(3600), |d| {
                d.saturating_duration_since(Instant::now())
            });
            match self.inbox.recv_timeout(wait) {
                Ok(Signal::Changed) => due = Some(sooner(due, self.options.coalesce)),
                Ok(Signal::Wrote) => due = Some(sooner(due, self.options.push_delay)),
                Ok(Signal::Ended(None)) => return Ended::Closed,
                Ok(Signal::Ended(Some(e))) => {
                    self.tell_error(&e);
                    return Ended::Broken;
                }
                Ok(Signal::Stop) | Err(RecvTimeoutError::Disconnected) => return Ended::Stop,
                Err(RecvTimeoutError::Timeout) => {
                    due = None;
                    if self.stopped() {
                        return Ended::Stop;
                    }
                    let Some(client) = self.client.upgrade() else {
                        return Ended::Stop;
                    };
                    match client.sync_changes(&self.stop) {
                        Ok(change) => {
                            *retry = self.options.min_retry;
                            if !change.is_empty() {
                                self.tell(|l| l.on_change(&change));
                            }
                        }
                        Err(SyncError::Cancelled) if self.stopped() => return Ended::Stop,
                        Err(e) => {
                            self.tell_error(&e);
                            due = Some(Instant::now() + jittered(*retry));
                            *retry = (*retry * 2).min(self.options.max_retry);
                        }
                    }
                }
            }
        }
    }

    /// Waits `d`, or less if live mode stops (then `false`). Writes and events meanwhile are
    /// taken: the round after the wait covers them.
    fn wait(&self, d: Duration) -> bool {
        let until = Instant::now() + d;
        loop {
            if self.stopped() {
                return false;
            }
            match self
                .inbox
                .recv_timeout(until.saturating_duration_since(Instant::now()))
            {
                Ok(Signal::Stop) | Err(RecvTimeoutError::Disconnected) => return false,
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => return !self.stopped(),
            }
        }
    }

    fn tell_error(&self, e: &SyncError) {
        self.tell(|l| l.on_error(e));
    }

    fn tell(&self, f: impl FnOnce(&dyn LiveListener)) {
        let listener = Arc::clone(&self.listener);
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&*listener)));
    }
}

/// How a followed stream ended.
enum Ended {
    /// Live mode stops.
    Stop,
    /// The server ended it (a token expired, a restart): open it again now.
    Closed,
    /// It broke: open it again after a wait.
    Broken,
}

/// The earlier of `due` and `delay` from now.
fn sooner(due: Option<Instant>, delay: Duration) -> Instant {
    let at = Instant::now() + delay;
    due.map_or(at, |d| d.min(at))
}

/// `d` scaled by a random factor between 0.5 and 1.5, so devices that lost the server together
/// do not come back together.
fn jittered(d: Duration) -> Duration {
    let mut byte = [0u8; 1];
    let factor = match getrandom::fill(&mut byte) {
        Ok(()) => 0.5 + f64::from(byte[0]) / 255.0,
        Err(_) => 1.0,
    };
    d.mul_f64(factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_are_spread_around_their_delay() {
        for _ in 0..100 {
            let d = jittered(Duration::from_secs(2));
            assert!(
                d >= Duration::from_secs(1) && d <= Duration::from_secs(3),
                "{d:?}"
            );
        }
    }

    #[test]
    fn a_round_that_moved_nothing_is_empty_and_ids_are_grouped_by_kind() {
        let report = SyncReport {
            pulled: 3,
            ..SyncReport::default()
        };
        let change = LiveChange::of(
            &report,
            vec![
                ("a".into(), "customer".into()),
                ("b".into(), "visit".into()),
                ("a".into(), "customer".into()),
            ],
            vec![],
        );
        assert!(!change.is_empty());
        assert_eq!(change.changed["customer"], ["a"]);
        assert_eq!(change.changed["visit"], ["b"]);
        assert!(LiveChange::default().is_empty());
    }
}
