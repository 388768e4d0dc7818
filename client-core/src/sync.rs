//! The client side of the sync protocol (v1, see `docs/PROTOCOL.md`).
//!
//! A sync is a loop of rounds. Each round sends the device's cursor and its unsent changes,
//! and applies the server's answer: accepted documents are acknowledged at the heads that were
//! pushed, rejected ones go to the quarantine and are reset, pulled data is merged, revoked
//! documents are deleted, and the cursor is stored last. The loop ends when a round pushed
//! nothing and the server has nothing more.
//!
//! What to send and what to apply is decided by plain functions over the store in [`engine`],
//! testable without sockets; the network sits behind the [`Transport`] trait, which [`http`]
//! implements for the real server. Each step of a round is its own short transaction, so the
//! user can keep editing during a sync: an edit made while a round is in flight is neither
//! lost nor marked acknowledged, it goes out with the next round.
//!
//! The loop, with a stand-in server that takes every push and has no news:
//!
//! ```
//! use fieldsync_core::model::customer::NewCustomer;
//! use fieldsync_core::protocol::{self, Accepted, SyncRequest, SyncResponse};
//! use fieldsync_core::sync::{self, SyncError, Transport};
//! use fieldsync_core::Store;
//!
//! struct TakesEverything;
//!
//! impl Transport for TakesEverything {
//!     fn sync_round(&mut self, body: Vec<u8>) -> Result<Vec<u8>, SyncError> {
//!         let request: SyncRequest =
//!             protocol::decode(&body).map_err(|e| SyncError::Protocol(e.to_string()))?;
//!         Ok(protocol::encode(&SyncResponse {
//!             protocol: protocol::PROTOCOL_VERSION,
//!             accepted: request
//!                 .push
//!                 .iter()
//!                 .map(|d| Accepted { id: d.id.clone(), heads: vec![] })
//!                 .collect(),
//!             rejected: vec![],
//!             documents: vec![],
//!             revoked: vec![],
//!             cursor: request.cursor,
//!             more: false,
//!             settings: None,
//!             history: None,
//!             forked_from: None,
//!         }))
//!     }
//! }
//!
//! let dir = tempfile::tempdir().unwrap();
//! let store = Store::open(dir.path().join("device.db")).unwrap();
//! store
//!     .create_customer(NewCustomer {
//!         name: "华东精密机械有限公司".into(),
//!         territory: "east".into(),
//!         owner: "li.wei".into(),
//!         created_by: "li.wei".into(),
//!         ..Default::default()
//!     })
//!     .unwrap();
//! assert_eq!(store.unsent_documents().unwrap().len(), 1);
//!
//! let report = sync::run(&store, &mut TakesEverything, |p| {
//!     println!("round {}: {} documents pulled, more: {}", p.rounds, p.pulled, p.more)
//! })
//! .unwrap();
//! // One round: the push was taken and nothing more is waiting.
//! assert_eq!((report.pushed, report.round_trips), (1, 1));
//! assert!(store.unsent_documents().unwrap().is_empty());
//! ```
//!
//! Against a real server, over HTTP:
//!
//! ```no_run
//! use fieldsync_core::Store;
//! use fieldsync_core::sync::{self, http::HttpClient};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let store = Store::open("device.db")?;
//! // Once: log in; the session is kept in the store.
//! let mut client = HttpClient::new("http://127.0.0.1:8080")?.with_store(&store)?;
//! client.login("li.wei", "secret", "li.wei's laptop")?;
//! // Any time later, e.g. when the network comes back:
//! let mut client = HttpClient::from_store(&store)?;
//! let report = sync::sync(&store, &mut client, |p| eprintln!("{} pulled", p.pulled))?;
//! println!("pushed {} documents, pulled {}", report.pushed, report.pulled);
//! for entry in store.list_quarantine()? {
//!     println!("not accepted: {} ({}): {}", entry.doc_id, entry.rule, entry.reason);
//! }
//! # Ok(())
//! # }
//! ```

pub mod engine;
pub mod events;
pub mod http;
mod timings;

use std::time::Instant;

use serde::Serialize;

use crate::Store;
use crate::attachments::{AttachmentProgress, AttachmentTally, RefusedAttachment};
use crate::model::fields::now_string;
use crate::protocol::{self, SyncRequest, SyncResponse};
use crate::store::micros;
use engine::{PullFailure, RoundOutcome, apply_response, build_request};
use http::{HttpClient, User};
pub use timings::SyncTimings;

/// The most rounds one sync runs before giving up.
pub const MAX_ROUNDS: u32 = 1000;

/// Everything a sync can fail with. Work already applied stays applied: every step of a round
/// commits on its own, and a repeated round is harmless, so the answer to each of these is to
/// fix what the message says and sync again.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    /// The server could not be reached, or the connection broke or timed out.
    #[error("{0}; check the network and sync again (nothing was lost)")]
    Network(String),
    /// Not logged in, or the session is over (wrong password, expired or revoked refresh
    /// token, disabled account): log in again.
    #[error("{0}")]
    Auth(String),
    /// An administrator disabled this user's account: the session is over and logging in
    /// again will not help until the account is enabled.
    #[error("{0}")]
    AccountDisabled(String),
    /// The server no longer serves this app's sync protocol (`426 client_too_old`): update the
    /// app. Syncing again does not help until then, so live mode stops instead of retrying.
    #[error(
        "this app is too old for the server: update the app{}",
        if .min_version.is_empty() { String::new() } else { format!(" to version {} or later", .min_version) }
    )]
    UpdateApp {
        /// The oldest app version the server serves, as it says (empty if it did not say).
        min_version: String,
    },
    /// The server is older than this app's sync protocol (`server_too_old`): the server must
    /// be upgraded before this app syncs; live mode stops instead of retrying.
    #[error("the server is older than this app: ask your administrator to upgrade the server")]
    ServerTooOld,
    /// The server answered with an error.
    #[error("the server answered {status}: {message}")]
    Server {
        /// HTTP status.
        status: u16,
        /// The error code of the answer (`bad_request`, `too_large`, `internal`, ...), empty if
        /// the answer had none.
        code: String,
        /// The server's explanation.
        message: String,
    },
    /// The server's answer does not follow the protocol.
    #[error(
        "the server's answer does not follow the sync protocol: {0}; check the server address, or update the app"
    )]
    Protocol(String),
    /// The server address is not a URL this client can use.
    #[error("'{0}' is not a server address: use a URL such as http://sync.example.com:8080")]
    ServerUrl(String),
    /// The local store failed.
    #[error(transparent)]
    Store(#[from] crate::Error),
    /// Some documents the server sent could not be merged. Everything else of the sync was
    /// applied; the cursor stayed where it was, so the next sync fetches them again.
    #[error(
        "{} document(s) from the server could not be merged (first: {}: {}); everything else was synced and the next sync fetches them again: if this repeats, update the app",
        .failed.len(),
        .failed.first().map_or("", |f| f.id.as_str()),
        .failed.first().map_or("", |f| f.error.as_str())
    )]
    Incomplete {
        /// The documents that failed and why.
        failed: Vec<PullFailure>,
        /// What the sync did until then (boxed: it is large beside the other errors).
        report: Box<SyncReport>,
    },
    /// The server kept asking for more rounds.
    #[error("the sync did not finish after {0} rounds: sync again, and report it if this repeats")]
    TooManyRounds(u32),
    /// The app cancelled the sync; a [`Transport`] returns it to stop [`run`] before its next
    /// round. The rounds already done stay applied.
    #[error("the sync was cancelled; what was synced until then is kept, sync again to finish")]
    Cancelled,
}

/// Carries one round's request body to the server and brings back the answer body (both CBOR).
///
/// A transport may deliver the same body twice (after a refreshed token, or a retry): pushes
/// are idempotent.
pub trait Transport {
    /// Sends one `POST /v1/sync` body and returns the answer's body.
    fn sync_round(&mut self, body: Vec<u8>) -> Result<Vec<u8>, SyncError>;

    /// Starts sending `body`, the round expected next, while the device merges the answer
    /// it has: the next [`Transport::sync_round`] of the same body takes its answer, any other
    /// body drops it. [`run`] sends ahead only a pull (a round pushing nothing), which changes
    /// no data on the server however often it is sent. The default sends nothing ahead.
    fn send_ahead(&mut self, body: Vec<u8>) {
        let _ = body;
    }
}

impl<T: Transport + ?Sized> Transport for &mut T {
    fn sync_round(&mut self, body: Vec<u8>) -> Result<Vec<u8>, SyncError> {
        (**self).sync_round(body)
    }

    fn send_ahead(&mut self, body: Vec<u8>) {
        (**self).send_ahead(body);
    }
}

/// Where a running sync is, after each round and, once the rounds are done, as each
/// attachment travels (for a progress bar).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Progress {
    /// Rounds done so far.
    pub rounds: u32,
    /// Documents pushed so far (a document pushed in two rounds counts twice).
    pub pushed: u64,
    /// Documents pulled and merged so far.
    pub pulled: u64,
    /// Documents with changes still to push: a long push goes in several rounds, each up to
    /// [`engine::MAX_PUSH_BYTES`].
    pub to_push: u64,
    /// Whether the server has more waiting.
    pub more: bool,
    /// `None` after a round; once the rounds are done, the attachment being uploaded or
    /// fetched and how far it is (the other fields then stay as the last round left them).
    pub attachment: Option<AttachmentProgress>,
}

/// What a sync did, summed over its rounds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SyncReport {
    /// Documents pushed (a document pushed in two rounds counts twice).
    pub pushed: u64,
    /// Documents pulled and merged.
    pub pulled: u64,
    /// Pushed documents the server rejected (their changes are in the quarantine).
    pub rejected: u64,
    /// Request body bytes sent.
    pub bytes_sent: u64,
    /// Answer body bytes received.
    pub bytes_received: u64,
    /// Rounds run (HTTP retries of one round count once).
    pub round_trips: u32,
    /// How long the sync took, in milliseconds.
    pub millis: u64,
    /// What was done about attachments once the rounds were done (uploads, fetches ahead).
    pub attachments: AttachmentTally,
    /// Where the rounds' time went, step by step.
    pub timings: SyncTimings,
}

impl SyncReport {
    fn add(&mut self, round: &RoundOutcome) {
        self.pushed += round.pushed as u64;
        self.pulled += round.pulled as u64;
        self.rejected += round.rejected.len() as u64;
        self.bytes_sent += round.bytes_sent;
        self.bytes_received += round.bytes_received;
        self.round_trips += 1;
        self.timings = self.timings + round.timings;
    }
}

/// Runs one round: builds the request, sends it through `transport` and applies the answer.
/// The outcome's byte counts are those of the bodies.
pub fn round<T: Transport + ?Sized>(
    store: &Store,
    transport: &mut T,
) -> Result<RoundOutcome, SyncError> {
    let started = Instant::now();
    let (request, pending) = build_request(store)?;
    let body = protocol::encode(&request);
    let sent = body.len() as u64;
    let prepare_us = micros(started);
    let started = Instant::now();
    let answer = transport.sync_round(body)?;
    let exchange_us = micros(started);
    let started = Instant::now();
    let received = answer.len() as u64;
    let response: SyncResponse =
        protocol::decode(&answer).map_err(|e| SyncError::Protocol(e.to_string()))?;
    let decode_us = micros(started);
    // A page of a longer pull: the next page travels while this one is merged. The store's
    // cursor after the merge decides whether the next round is that request (it is not
    // after a failed document or a restored server's history).
    if request.push.is_empty() && response.more {
        let next = SyncRequest {
            cursor: response.cursor,
            ..request
        };
        transport.send_ahead(protocol::encode(&next));
    }
    let mut outcome = apply_response(store, &pending, response)?;
    outcome.bytes_sent = sent;
    outcome.bytes_received = received;
    outcome.timings.prepare_us = prepare_us;
    outcome.timings.exchange_us = exchange_us;
    outcome.timings.decode_us = decode_us;
    Ok(outcome)
}

/// Syncs: runs rounds until nothing is left to push and the server has nothing more, calling
/// `progress` after each, then records the time in the store ([`Store::last_sync_at`]).
///
/// Stops with [`SyncError::Incomplete`] after a round in which pulled data could not be
/// merged (repeating it would fetch the same data again), and with
/// [`SyncError::TooManyRounds`] after [`MAX_ROUNDS`] rounds.
pub fn run<T: Transport + ?Sized>(
    store: &Store,
    transport: &mut T,
    mut progress: impl FnMut(Progress),
) -> Result<SyncReport, SyncError> {
    run_rounds(store, transport, |_, p| progress(p))
}

/// [`run`], telling `each_round` every round's outcome (which documents changed, which were
/// removed) as well as the progress.
pub fn run_rounds<T: Transport + ?Sized>(
    store: &Store,
    transport: &mut T,
    each_round: impl FnMut(&RoundOutcome, Progress),
) -> Result<SyncReport, SyncError> {
    let started = Instant::now();
    let rounds = rounds(store, transport, each_round, started);
    // Whatever stopped the rounds, what they wrote is made durable now, once.
    store.sync_server_writes()?;
    let mut report = rounds?;
    report.millis = started.elapsed().as_millis() as u64;
    Ok(report)
}

/// The rounds of [`run_rounds`].
fn rounds<T: Transport + ?Sized>(
    store: &Store,
    transport: &mut T,
    mut each_round: impl FnMut(&RoundOutcome, Progress),
    started: Instant,
) -> Result<SyncReport, SyncError> {
    let mut report = SyncReport::default();
    let mut to_push = 0;
    // Documents a restored server could not take yet this sync: pushed again each round, but
    // not waited for (their author's device re-sends what they wait for).
    let mut deferred = std::collections::HashSet::new();
    loop {
        if report.round_trips >= MAX_ROUNDS {
            return Err(SyncError::TooManyRounds(MAX_ROUNDS));
        }
        // What a round writes is the server's, which keeps it: its commits do not each wait
        // for the disk (see `Store::server_writes`).
        let outcome = store.server_writes(|| round(store, transport))??;
        report.add(&outcome);
        report.millis = started.elapsed().as_millis() as u64;
        // Counted again after a round that pushed, and before deciding to stop; a round that
        // only pulled a page changes nothing to push, and the count scans every document.
        deferred.extend(outcome.deferred.iter().map(|r| r.id.clone()));
        if outcome.pushed > 0 || !outcome.more {
            let counting = Instant::now();
            to_push = store
                .unsent_documents()?
                .iter()
                .filter(|id| !deferred.contains(*id))
                .count();
            report.timings.finish_us += micros(counting);
        }
        each_round(
            &outcome,
            Progress {
                rounds: report.round_trips,
                pushed: report.pushed,
                pulled: report.pulled,
                to_push: to_push as u64,
                more: outcome.more,
                attachment: None,
            },
        );
        if !outcome.failed.is_empty() {
            return Err(SyncError::Incomplete {
                failed: outcome.failed,
                report: Box::new(report),
            });
        }
        // Done when the server has nothing more and nothing is left to push: an incremental
        // sync whose answer fits one page is one round trip.
        if !outcome.more && to_push == 0 {
            store.server_writes(|| store.set_last_sync_at(&now_string()))??;
            return Ok(report);
        }
    }
}

/// Syncs with the server `client` talks to; see [`run`].
pub fn sync(
    store: &Store,
    client: &mut HttpClient<'_>,
    progress: impl FnMut(Progress),
) -> Result<SyncReport, SyncError> {
    run(store, client, progress)
}

/// What the device knows about its sync, for a status screen (`fieldsync status`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncStatus {
    /// The server of the last login, if any.
    pub server_url: Option<String>,
    /// The logged-in user, if a session is kept.
    pub user: Option<User>,
    /// The sync cursor.
    pub cursor: u64,
    /// When the last sync completed (UTC, RFC 3339).
    pub last_sync_at: Option<String>,
    /// Documents with changes the server has not acknowledged.
    pub unsent: usize,
    /// Entries in the quarantine.
    pub quarantined: usize,
    /// Attachments made here that wait for their upload.
    pub attachments_pending: usize,
    /// Their bytes.
    pub attachment_bytes_pending: u64,
    /// Attachments the server refused, with its reasons (kept here, not sent again until
    /// retried).
    pub attachments_refused: Vec<RefusedAttachment>,
}

/// The device's sync status, read from the store.
pub fn status(store: &Store) -> Result<SyncStatus, SyncError> {
    let session = http::stored_session(store)?;
    let (attachments_pending, attachment_bytes_pending) = store.pending_attachments()?;
    Ok(SyncStatus {
        server_url: session.as_ref().map(|s| s.server_url.clone()),
        user: session.map(|s| s.session.user),
        cursor: store.sync_cursor()?,
        last_sync_at: store.last_sync_at()?,
        unsent: store.unsent_documents()?.len(),
        quarantined: store.list_quarantine()?.len(),
        attachments_pending,
        attachment_bytes_pending,
        attachments_refused: store.refused_attachments()?,
    })
}
