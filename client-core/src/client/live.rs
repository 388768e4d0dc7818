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
//! The stream's heartbeat (one a second by default) does two things: the reader wakes at
//! each one to see whether it should stop, so [`Client::stop_live`] returns within about a
//! heartbeat; and a stream silent for three heartbeats is taken for a dead connection (a
//! phone that changed networks) and opened again. A reader stuck on such a connection is
//! left to end with it, never waited for. While the stream cannot be opened, the device's
//! writes are still pushed at the retry's pace.

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
    /// The stream's heartbeat: the connection is alive.
    Alive,
    /// This device wrote something.
    Wrote,
    /// The event stream ended; with an error if it broke.
    Ended(Option<SyncError>),
    /// Stop.
    Stop,
}

/// A running live mode, kept by its client. Dropped without [`LiveRunner::stop`] (replaced
/// by another), it still tells its threads to end.
pub(crate) struct LiveRunner {
    signals: Sender<Signal>,
    stop: Arc<AtomicBool>,
    controller: Option<JoinHandle<()>>,
}

impl LiveRunner {
    /// Tells the controller the device wrote something.
    pub(crate) fn wrote(&self) {
        let _ = self.signals.send(Signal::Wrote);
    }

    fn halt(&self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.signals.send(Signal::Stop);
    }

    /// Stops the controller and waits for it (it waits for its reader at most two heartbeats).
    fn stop(mut self) {
        self.halt();
        if let Some(controller) = self.controller.take() {
            // The controller itself may drop the last handle of its client, or its listener
            // may stop live mode: it ends on its own.
            if controller.thread().id() != std::thread::current().id() {
                let _ = controller.join();
            }
        }
    }

    /// Whether its controller still runs (it ends by itself when the session is gone).
    fn running(&self) -> bool {
        self.controller.as_ref().is_some_and(|c| !c.is_finished())
    }
}

impl Drop for LiveRunner {
    fn drop(&mut self) {
        self.halt();
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.stop_live();
    }
}

impl LiveOptions {
    /// The options within the bounds live mode works in: a heartbeat of 1 to 60 s, retries
    /// from 50 ms to an hour, delays up to 10 s.
    fn bounded(self) -> LiveOptions {
        let clamp = |d: Duration, lo: Duration, hi: Duration| d.clamp(lo, hi);
        let min_retry = clamp(
            self.min_retry,
            Duration::from_millis(50),
            Duration::from_secs(3600),
        );
        LiveOptions {
            heartbeat: clamp(
                self.heartbeat,
                Duration::from_secs(1),
                Duration::from_secs(60),
            ),
            push_delay: clamp(self.push_delay, Duration::ZERO, Duration::from_secs(10)),
            coalesce: clamp(self.coalesce, Duration::ZERO, Duration::from_secs(10)),
            max_retry: clamp(self.max_retry, min_retry, Duration::from_secs(3600)),
            min_retry,
        }
    }
}

impl Client {
    /// Starts live mode with `listener` (see the module documentation); a live mode already
    /// running is stopped. Needs a session; works offline too (it retries until the network
    /// is back). Live mode ends by itself when the session is gone (logged out elsewhere,
    /// the account disabled): the listener is told why, and [`Client::is_live`] turns false.
    ///
    /// The listener is held until live mode ends: a listener that holds the client keeps it
    /// alive until [`Client::stop_live`].
    pub fn start_live(
        self: &Arc<Self>,
        options: LiveOptions,
        listener: Arc<dyn LiveListener>,
    ) -> Result<()> {
        self.with_store(user_of)?;
        let (signals, inbox) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let controller = {
            let client = Arc::downgrade(self);
            let signals = signals.clone();
            let stop = Arc::clone(&stop);
            let options = options.bounded();
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
        let runner = LiveRunner {
            signals,
            stop,
            controller: Some(controller),
        };
        // One swap: two starts at once leave one live mode, never an orphan.
        let old = lock(&self.live).replace(runner);
        if let Some(old) = old {
            old.stop();
        }
        Ok(())
    }

    /// Stops live mode, if it runs, and returns once its controller has ended: within about
    /// a heartbeat or two, or when a round in flight has answered (a round waits for a sync
    /// the app started, which this does not cancel). Called from the listener, it returns at
    /// once and live mode ends right after.
    pub fn stop_live(&self) {
        let runner = lock(&self.live).take();
        if let Some(runner) = runner {
            runner.stop();
        }
    }

    /// Whether live mode runs.
    pub fn is_live(&self) -> bool {
        lock(&self.live).as_ref().is_some_and(LiveRunner::running)
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

/// The reader thread of a stream, and how it says it has ended.
struct Reader {
    thread: JoinHandle<()>,
    done: Receiver<()>,
}

/// How a followed stream ended.
enum Ended {
    /// Live mode stops.
    Stop,
    /// The session is gone: live mode ends.
    SessionGone,
    /// The server ended it (a token expired, a restart): open it again.
    Closed,
    /// It broke, or went silent: open it again after a wait.
    Broken,
}

/// What a wait ended with.
enum Waited {
    /// Live mode stops.
    Stop,
    /// The time passed; with whether the device wrote meanwhile.
    Elapsed { wrote: bool },
}

/// Whether `e` means nobody is logged in any more (live mode has nobody to sync as), or that
/// this app and the server cannot sync until one of them is updated: retrying cannot help.
fn session_gone(e: &SyncError) -> bool {
    matches!(
        e,
        SyncError::Auth(_)
            | SyncError::AccountDisabled(_)
            | SyncError::UpdateApp { .. }
            | SyncError::ServerTooOld
    )
}

impl Controller {
    fn run(self) {
        let mut retry = self.options.min_retry;
        let mut not_before = Instant::now();
        while !self.stopped() {
            let Some(client) = self.client.upgrade() else {
                return;
            };
            let opened = client.on_sync_connection(|store| {
                user_of(store)?;
                HttpClient::from_store(store)?.events(self.options.heartbeat)
            });
            drop(client);
            let stream = match opened {
                Ok(stream) => stream,
                Err(e) => {
                    self.tell_error(&e);
                    if session_gone(&e) {
                        return;
                    }
                    // Without the stream, the device's writes still go, at the retry's pace.
                    match self.wait(jittered(retry)) {
                        Waited::Stop => return,
                        Waited::Elapsed { wrote: true } => {
                            if let Err(Ended::Stop | Ended::SessionGone) =
                                self.round(&mut retry, &mut not_before)
                            {
                                return;
                            }
                        }
                        Waited::Elapsed { wrote: false } => {}
                    }
                    retry = (retry * 2).min(self.options.max_retry);
                    continue;
                }
            };
            let since = Instant::now();
            let reader = self.read(stream);
            let ended = self.follow(&mut retry, &mut not_before);
            self.finish(reader);
            match ended {
                Ended::Stop | Ended::SessionGone => return,
                // A stream that lasted: the server ended it (a token expired). Open it again.
                Ended::Closed if since.elapsed() >= self.options.heartbeat => {}
                Ended::Closed | Ended::Broken => {
                    if let Waited::Stop = self.wait(jittered(retry)) {
                        return;
                    }
                    retry = (retry * 2).min(self.options.max_retry);
                }
            }
        }
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Starts the reader thread of `stream`.
    fn read(&self, mut stream: EventStream) -> Option<Reader> {
        let signals = self.signals.clone();
        let stop = Arc::clone(&self.stop);
        let (finished, done) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("fieldsync-events".into())
            .spawn(move || {
                // Dropped when the thread ends: the controller hears it.
                let _finished = finished;
                loop {
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    let signal = match stream.next_event() {
                        Ok(Some(ServerEvent::Changed)) => Signal::Changed,
                        Ok(Some(ServerEvent::Heartbeat)) => Signal::Alive,
                        Ok(None) => Signal::Ended(None),
                        Err(e) => Signal::Ended(Some(e)),
                    };
                    let last = matches!(signal, Signal::Ended(_));
                    if signals.send(signal).is_err() || last {
                        return;
                    }
                }
            });
        match thread {
            Ok(thread) => Some(Reader { thread, done }),
            Err(e) => {
                let _ = self
                    .signals
                    .send(Signal::Ended(Some(SyncError::Network(format!(
                        "cannot start the event reader: {e}"
                    )))));
                None
            }
        }
    }

    /// Waits for a reader to end: it sees the stop at its next heartbeat. One stuck on a dead
    /// connection is left to end when the connection does, so a stop never hangs.
    fn finish(&self, reader: Option<Reader>) {
        let Some(reader) = reader else { return };
        match reader.done.recv_timeout(self.options.heartbeat * 2) {
            Ok(()) | Err(RecvTimeoutError::Disconnected) => {
                let _ = reader.thread.join();
            }
            Err(RecvTimeoutError::Timeout) => {}
        }
    }

    /// Syncs now, then whenever told, until the stream ends, goes silent for three
    /// heartbeats, or live mode stops.
    fn follow(&self, retry: &mut Duration, not_before: &mut Instant) -> Ended {
        let silence = self.options.heartbeat * 3 + Duration::from_secs(1);
        let mut last_alive = Instant::now();
        let mut due = Some(Instant::now().max(*not_before));
        loop {
            let deadline = last_alive + silence;
            let wake = due.map_or(deadline, |d| d.min(deadline));
            match self
                .inbox
                .recv_timeout(wake.saturating_duration_since(Instant::now()))
            {
                Ok(Signal::Changed) => {
                    last_alive = Instant::now();
                    due = Some(sooner(due, self.options.coalesce).max(*not_before));
                }
                Ok(Signal::Alive) => last_alive = Instant::now(),
                Ok(Signal::Wrote) => {
                    due = Some(sooner(due, self.options.push_delay).max(*not_before));
                }
                Ok(Signal::Ended(None)) => return Ended::Closed,
                Ok(Signal::Ended(Some(e))) => {
                    self.tell_error(&e);
                    return Ended::Broken;
                }
                Ok(Signal::Stop) | Err(RecvTimeoutError::Disconnected) => return Ended::Stop,
                Err(RecvTimeoutError::Timeout) => {
                    if self.stopped() {
                        return Ended::Stop;
                    }
                    if Instant::now() >= deadline {
                        self.tell_error(&SyncError::Network(
                            "the server's event stream went silent: connecting again".into(),
                        ));
                        return Ended::Broken;
                    }
                    if due.is_some_and(|d| Instant::now() >= d) {
                        due = None;
                        if let Err(ended) = self.round(retry, not_before) {
                            match ended {
                                Ended::Stop | Ended::SessionGone => return ended,
                                // Retried at the back-off's pace, writes or not.
                                Ended::Closed | Ended::Broken => due = Some(*not_before),
                            }
                        }
                    }
                }
            }
        }
    }

    /// One live sync; tells the listener. A failure sets when the next may run.
    fn round(
        &self,
        retry: &mut Duration,
        not_before: &mut Instant,
    ) -> std::result::Result<(), Ended> {
        let Some(client) = self.client.upgrade() else {
            return Err(Ended::Stop);
        };
        match client.sync_changes(&self.stop) {
            Ok(change) => {
                *retry = self.options.min_retry;
                *not_before = Instant::now();
                if !change.is_empty() {
                    self.tell(|l| l.on_change(&change));
                }
                Ok(())
            }
            Err(SyncError::Cancelled) if self.stopped() => Err(Ended::Stop),
            Err(e) => {
                self.tell_error(&e);
                if session_gone(&e) {
                    return Err(Ended::SessionGone);
                }
                *not_before = Instant::now() + jittered(*retry);
                *retry = (*retry * 2).min(self.options.max_retry);
                Err(Ended::Broken)
            }
        }
    }

    /// Waits `d`, or less if live mode stops. Writes and events meanwhile are taken: the
    /// round after the wait covers them.
    fn wait(&self, d: Duration) -> Waited {
        let until = Instant::now() + d;
        let mut wrote = false;
        loop {
            if self.stopped() {
                return Waited::Stop;
            }
            match self
                .inbox
                .recv_timeout(until.saturating_duration_since(Instant::now()))
            {
                Ok(Signal::Stop) | Err(RecvTimeoutError::Disconnected) => return Waited::Stop,
                Ok(Signal::Wrote) => wrote = true,
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => {
                    return if self.stopped() {
                        Waited::Stop
                    } else {
                        Waited::Elapsed { wrote }
                    };
                }
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
    fn options_are_kept_within_what_live_mode_works_with() {
        let wild = LiveOptions {
            heartbeat: Duration::ZERO,
            push_delay: Duration::MAX,
            coalesce: Duration::MAX,
            min_retry: Duration::ZERO,
            max_retry: Duration::MAX,
        }
        .bounded();
        assert_eq!(wild.heartbeat, Duration::from_secs(1));
        assert_eq!(wild.push_delay, Duration::from_secs(10));
        assert_eq!(wild.min_retry, Duration::from_millis(50));
        assert_eq!(wild.max_retry, Duration::from_secs(3600));
        assert_eq!(LiveOptions::default().bounded(), LiveOptions::default());
    }

    #[test]
    fn an_app_or_a_server_too_old_ends_live_mode_instead_of_retrying() {
        assert!(session_gone(&SyncError::UpdateApp {
            min_version: "0.2.0".into()
        }));
        assert!(session_gone(&SyncError::ServerTooOld));
        assert!(!session_gone(&SyncError::Network("unreachable".into())));
    }

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
