//! The HTTP transport to `fieldsync-server` (blocking, ureq): login, token refresh, logout,
//! sync rounds as `POST /v1/sync` with CBOR bodies and the bearer token, and the attachment
//! endpoints ([`crate::attachments::AttachmentTransport`], in `http/attachments.rs`).
//!
//! Guarantees:
//! - An expired access token (401 `token_expired`) is refreshed once and the same round body
//!   sent again; a repeated round is harmless because pushes are idempotent.
//! - With a store attached ([`HttpClient::with_store`]), the session (server, tokens, user) is
//!   saved in the store as soon as it is issued, so a rotated refresh token is never lost by a
//!   restart; a session the server ended is forgotten.
//! - A refresh proposes the next refresh token, saved before the request leaves. If the answer
//!   is lost (a broken connection, a crash), the next refresh sends the same pair again, which
//!   the server answers as the first time instead of taking it for a stolen token: a bad
//!   network never ends a session.
//! - A network failure, a timeout (connect 10 s, whole request 60 s) or a 5xx answer is an
//!   error, never a retry loop: the caller decides when to sync again.
//! - A round sent ahead ([`Transport::send_ahead`]) travels on a thread of its own with the
//!   access token of that moment; the next round with the same body takes its answer if it
//!   is a success. Any other body, any other answer (an expired token, a refusal) or a broken
//!   connection: the round is sent again as if it had not been (a pull sent twice changes no
//!   data on the server). A timeout is the round's answer: it is not waited for twice. A new
//!   session (login, refresh, logout) drops what was sent ahead with the one before.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use ureq::Agent;

use super::events::EventStream;
use super::{SyncError, Transport};
use crate::Store;
use crate::protocol::CBOR_CONTENT_TYPE;

/// How long connecting to the server may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one whole request (connect, send, answer) may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// The largest answer body read.
const MAX_ANSWER_BYTES: u64 = 64 << 20;
/// The meta key of the saved session.
const SESSION_KEY: &str = "sync.session";
/// The meta key naming the server and user the cursor belongs to; kept across logouts.
const SYNCED_AS_KEY: &str = "sync.synced_as";
const JSON: &str = "application/json";

/// The user a session belongs to, as the server describes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// User name.
    pub username: String,
    /// `rep`, `manager` or `admin`.
    pub role: String,
    /// The territories the user works in.
    #[serde(default)]
    pub territories: Vec<String>,
    /// The user's manager, if any.
    #[serde(default)]
    pub manager: Option<String>,
}

impl User {
    /// The user as the write rules see them on this device (which knows no team), or `None`
    /// for a role this version does not know.
    pub fn principal(&self) -> Option<crate::rights::Principal> {
        Some(crate::rights::Principal {
            username: self.username.clone(),
            role: crate::rights::Role::parse(&self.role)?,
            territories: self.territories.clone(),
            manager: self.manager.clone(),
            team: vec![self.username.clone()],
        })
    }
}

/// A device session: the tokens the server issued and whose they are.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// The access token (a JWT) for `Authorization: Bearer`.
    pub access_token: String,
    /// The refresh token; each refresh retires it and issues a new one.
    pub refresh_token: String,
    /// How many seconds the access token was valid for when issued.
    pub expires_in: u64,
    /// The user.
    pub user: User,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("access_token", &"<redacted>")
            .field("refresh_token", &"<redacted>")
            .field("expires_in", &self.expires_in)
            .field("user", &self.user)
            .finish()
    }
}

/// A session as saved in the store, with the server it is for.
#[derive(Serialize, Deserialize)]
pub(crate) struct StoredSession {
    pub(crate) server_url: String,
    #[serde(flatten)]
    pub(crate) session: Session,
    /// The successor proposed by a refresh whose answer has not arrived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) next_refresh_token: Option<String>,
}

/// The session saved in `store`, if any. An unreadable one counts as none: logging in again
/// replaces it.
pub(crate) fn stored_session(store: &Store) -> Result<Option<StoredSession>, SyncError> {
    Ok(store
        .meta(SESSION_KEY)?
        .and_then(|json| serde_json::from_str(&json).ok()))
}

/// A client of one fieldsync server. With a store attached, its session lives in the store.
pub struct HttpClient<'s> {
    agent: Agent,
    /// For attachments: no overall timeout (a photo over a slow network takes minutes), but a
    /// stalled read or write ends the request.
    transfer: Agent,
    base: String,
    session: Option<Session>,
    /// The successor the last unanswered refresh proposed; the next refresh proposes it again.
    next_refresh: Option<String>,
    store: Option<&'s Store>,
    /// The round sent ahead, if any.
    ahead: Option<Ahead>,
}

/// A sync round sent on a thread of its own: its body, and the answer (status and body) to
/// come.
struct Ahead {
    body: Vec<u8>,
    answer: std::thread::JoinHandle<Result<(u16, Vec<u8>), ureq::Error>>,
}

impl std::fmt::Debug for HttpClient<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("server_url", &self.base)
            .field("session", &self.session)
            .field("store", &self.store.map(Store::path))
            .finish()
    }
}

fn agent(connect: Duration, overall: Duration) -> Agent {
    Agent::config_builder()
        .timeout_connect(Some(connect))
        .timeout_global(Some(overall))
        .http_status_as_error(false)
        .user_agent(concat!("fieldsync/", env!("CARGO_PKG_VERSION")))
        .tls_config(tls_config())
        .build()
        .new_agent()
}

/// The variable naming a PEM file of certificate authorities to trust, instead of the public
/// ones, for a server whose certificate an internal CA signed (or a self-signed one).
pub const CA_CERT_ENV: &str = "FIELDSYNC_CA_CERT";

/// The TLS settings of every connection: the public certificate authorities, or only those
/// of the file [`CA_CERT_ENV`] names. A file that cannot be read, or holds no certificate,
/// trusts nothing: connections fail with a certificate error rather than fall back to the
/// public authorities the operator chose not to rely on.
pub fn tls_config() -> ureq::tls::TlsConfig {
    static ROOTS: std::sync::OnceLock<Option<ureq::tls::RootCerts>> = std::sync::OnceLock::new();
    let roots = ROOTS.get_or_init(|| {
        let path = std::env::var_os(CA_CERT_ENV).filter(|p| !p.is_empty())?;
        let certs: Vec<_> = std::fs::read(path)
            .map(|pem| {
                ureq::tls::parse_pem(&pem)
                    .filter_map(|item| match item {
                        Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        Some(ureq::tls::RootCerts::new_with_certs(&certs))
    });
    let builder = ureq::tls::TlsConfig::builder();
    match roots {
        Some(roots) => builder.root_certs(roots.clone()).build(),
        None => builder.build(),
    }
}

/// The agent of attachment transfers: `stall` bounds each read or write and the wait for the
/// answer's head, with no overall timeout.
fn transfer_agent(connect: Duration, stall: Duration) -> Agent {
    Agent::config_builder()
        .timeout_connect(Some(connect))
        .timeout_per_read(Some(stall))
        .timeout_per_write(Some(stall))
        .timeout_recv_response(Some(stall))
        .http_status_as_error(false)
        .user_agent(concat!("fieldsync/", env!("CARGO_PKG_VERSION")))
        .tls_config(tls_config())
        .build()
        .new_agent()
}

/// Checks a server address and returns it without a trailing slash.
fn normalize(server_url: &str) -> Result<String, SyncError> {
    let url = server_url.trim().trim_end_matches('/');
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"));
    match rest {
        Some(host) if !host.is_empty() && !host.contains(char::is_whitespace) => {
            Ok(url.to_string())
        }
        _ => Err(SyncError::ServerUrl(server_url.to_string())),
    }
}

impl HttpClient<'static> {
    /// A client of the server at `server_url` (`http://host:port`, optionally with a path
    /// prefix), not logged in and keeping its session in memory only.
    pub fn new(server_url: &str) -> Result<HttpClient<'static>, SyncError> {
        Ok(HttpClient {
            agent: agent(CONNECT_TIMEOUT, REQUEST_TIMEOUT),
            transfer: transfer_agent(CONNECT_TIMEOUT, REQUEST_TIMEOUT),
            base: normalize(server_url)?,
            session: None,
            next_refresh: None,
            store: None,
            ahead: None,
        })
    }
}

impl<'s> HttpClient<'s> {
    /// A client of the server the device last logged in to, with the session saved in `store`.
    pub fn from_store(store: &'s Store) -> Result<HttpClient<'s>, SyncError> {
        let saved = stored_session(store)?.ok_or_else(|| {
            SyncError::Auth("this device is not logged in to a server: log in first".into())
        })?;
        HttpClient::new(&saved.server_url)?.with_store(store)
    }

    /// Keeps the session in `store` from now on, taking the session saved there if it is for
    /// this server.
    pub fn with_store<'t>(self, store: &'t Store) -> Result<HttpClient<'t>, SyncError> {
        let (session, next_refresh) = match stored_session(store)? {
            Some(saved) if saved.server_url == self.base => {
                (Some(saved.session), saved.next_refresh_token)
            }
            _ => (self.session, self.next_refresh),
        };
        Ok(HttpClient {
            agent: self.agent,
            transfer: self.transfer,
            base: self.base,
            session,
            next_refresh,
            store: Some(store),
            ahead: None,
        })
    }

    /// Uses other timeouts than [`CONNECT_TIMEOUT`] and [`REQUEST_TIMEOUT`].
    /// For attachments, `request` bounds each stalled read or write instead of the whole
    /// transfer.
    pub fn with_timeouts(mut self, connect: Duration, request: Duration) -> Self {
        self.agent = agent(connect, request);
        self.transfer = transfer_agent(connect, request);
        self
    }

    /// The server address.
    pub fn server_url(&self) -> &str {
        &self.base
    }

    /// Uses `session`, obtained earlier by [`HttpClient::login`] (possibly on another thread),
    /// in place of the current one. Not saved in a store until the next refresh.
    pub fn with_session(mut self, session: Session) -> Self {
        self.session = Some(session);
        self.next_refresh = None;
        self.ahead = None;
        self
    }

    /// The current session, if logged in.
    pub fn session(&self) -> Option<&Session> {
        self.session.as_ref()
    }

    /// Logs in (`POST /v1/auth/login`) and keeps the session. If the store's cursor belongs to
    /// another server or user, it is reset, so the first sync pulls everything in this user's
    /// scope.
    pub fn login(
        &mut self,
        username: &str,
        password: &str,
        device_name: &str,
    ) -> Result<Session, SyncError> {
        let body = serde_json::json!({
            "username": username,
            "password": password,
            "device_name": device_name,
        });
        let (status, answer) = self.post("/v1/auth/login", None, JSON, &json_bytes(&body))?;
        if !is_success(status) {
            return Err(answer_error(status, &answer));
        }
        let session = parse_session(&answer)?;
        if let Some(store) = self.store {
            store.set_device_name(device_name)?;
            let synced_as = format!("{} {}", self.base, session.user.username);
            if store.meta(SYNCED_AS_KEY)?.as_deref() != Some(synced_as.as_str()) {
                // The cursor first: a crash in between leaves a full resync, never a wrong cursor.
                store.set_sync_cursor(0)?;
                store.set_meta(SYNCED_AS_KEY, &synced_as)?;
            }
        }
        self.keep(session.clone())?;
        Ok(session)
    }

    /// Trades the refresh token for a new pair (`POST /v1/auth/refresh`) and keeps it. If the
    /// server refuses (expired, already used), the session is forgotten and the error is
    /// [`SyncError::Auth`]: log in again; if the account is disabled, it is forgotten too and
    /// the error is [`SyncError::AccountDisabled`].
    ///
    /// The request proposes the next refresh token, saved before it is sent; after a lost
    /// answer the next call sends the same pair, and the server answers it again.
    pub fn refresh(&mut self) -> Result<Session, SyncError> {
        let refresh_token = self.current()?.refresh_token.clone();
        let next = match self.next_refresh.clone() {
            Some(next) => next,
            None => {
                let next = new_refresh_proposal()?;
                self.propose(next.clone())?;
                next
            }
        };
        let body = serde_json::json!({
            "refresh_token": refresh_token,
            "next_refresh_token": next,
        });
        let (status, answer) = self.post("/v1/auth/refresh", None, JSON, &json_bytes(&body))?;
        if !is_success(status) {
            let error = answer_error(status, &answer);
            if matches!(error, SyncError::Auth(_) | SyncError::AccountDisabled(_)) {
                self.forget()?;
            }
            return Err(error);
        }
        let session = parse_session(&answer)?;
        self.keep(session.clone())?;
        Ok(session)
    }

    /// Ends the session on the server (`POST /v1/auth/logout`) and forgets it here. The local
    /// session is forgotten in every case; an error says the server could not be told.
    pub fn logout(&mut self) -> Result<(), SyncError> {
        let Some(session) = self.session.clone() else {
            return Ok(());
        };
        let body = serde_json::json!({ "refresh_token": session.refresh_token });
        let told = self.authed_post("/v1/auth/logout", JSON, &json_bytes(&body));
        self.forget()?;
        match told {
            Ok(_) | Err(SyncError::Auth(_) | SyncError::AccountDisabled(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Hands every customer of rep `from` to rep `to` (`POST /v1/handover`, manager of both
    /// or admin) and returns how many customers moved. An expired access token is refreshed
    /// once, as for a sync round.
    pub fn handover(&mut self, from: &str, to: &str) -> Result<usize, SyncError> {
        let body = serde_json::json!({ "from": from, "to": to });
        let answer = self.authed_post("/v1/handover", JSON, &json_bytes(&body))?;
        #[derive(Deserialize)]
        struct Moved {
            customers: usize,
        }
        serde_json::from_slice::<Moved>(&answer)
            .map(|m| m.customers)
            .map_err(|e| SyncError::Protocol(format!("the handover answer is not a count: {e}")))
    }

    /// Opens the server's event stream (`GET /v1/events`), asking for a heartbeat every
    /// `heartbeat` (whole seconds, 1 to 60). An expired access token is refreshed once. The
    /// stream has no overall timeout: it stays open until the server ends it.
    pub fn events(&mut self, heartbeat: Duration) -> Result<EventStream, SyncError> {
        let seconds = heartbeat.as_secs().clamp(1, 60);
        let stream_agent = Agent::config_builder()
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .timeout_recv_response(Some(REQUEST_TIMEOUT))
            .http_status_as_error(false)
            .user_agent(concat!("fieldsync/", env!("CARGO_PKG_VERSION")))
            .tls_config(tls_config())
            .build()
            .new_agent();
        let url = format!("{}/v1/events?heartbeat={seconds}", self.base);
        let open = |token: &str| {
            stream_agent
                .get(&url)
                .header("authorization", format!("Bearer {token}"))
                .header("accept", "text/event-stream")
                .call()
        };
        let token = self.current()?.access_token.clone();
        let mut response = open(&token).map_err(|e| self.network(e))?;
        let mut status = response.status().as_u16();
        if status == 401 {
            let answer = read_answer(&mut response).map_err(|e| self.network(e))?;
            if error_code(&answer).as_deref() != Some("token_expired") {
                return Err(answer_error(status, &answer));
            }
            let token = self.refresh()?.access_token;
            response = open(&token).map_err(|e| self.network(e))?;
            status = response.status().as_u16();
        }
        if !is_success(status) {
            let answer = read_answer(&mut response).map_err(|e| self.network(e))?;
            return Err(answer_error(status, &answer));
        }
        let body = response.into_body().into_reader();
        Ok(EventStream::new(
            Box::new(body),
            Duration::from_secs(seconds),
        ))
    }

    fn current(&self) -> Result<&Session, SyncError> {
        self.session.as_ref().ok_or_else(|| {
            SyncError::Auth("this device is not logged in to the server: log in first".into())
        })
    }

    fn keep(&mut self, session: Session) -> Result<(), SyncError> {
        self.save(&session, None)?;
        self.session = Some(session);
        self.next_refresh = None;
        self.ahead = None;
        Ok(())
    }

    /// Remembers `next` as the successor the current session's refresh proposes, in the store
    /// first: it must outlive the request.
    fn propose(&mut self, next: String) -> Result<(), SyncError> {
        let session = self.current()?.clone();
        self.save(&session, Some(next.clone()))?;
        self.next_refresh = Some(next);
        Ok(())
    }

    fn save(&self, session: &Session, next_refresh: Option<String>) -> Result<(), SyncError> {
        if let Some(store) = self.store {
            let saved = StoredSession {
                server_url: self.base.clone(),
                session: session.clone(),
                next_refresh_token: next_refresh,
            };
            let json = serde_json::to_string(&saved)
                .map_err(|e| SyncError::Protocol(format!("the session cannot be saved: {e}")))?;
            store.set_meta(SESSION_KEY, &json)?;
            store.set_acting_user(session.user.principal().as_ref())?;
        }
        Ok(())
    }

    fn forget(&mut self) -> Result<(), SyncError> {
        self.session = None;
        self.next_refresh = None;
        self.ahead = None;
        if let Some(store) = self.store {
            store.remove_meta(SESSION_KEY)?;
            store.set_acting_user(None)?;
        }
        Ok(())
    }

    /// POSTs `body` with the access token; on 401 `token_expired` refreshes once and sends the
    /// same body again. Returns the body of a 2xx answer.
    fn authed_post(
        &mut self,
        path: &str,
        content_type: &str,
        body: &[u8],
    ) -> Result<Vec<u8>, SyncError> {
        self.authed_post_or_take(path, content_type, body, None)
    }

    /// [`Self::authed_post`], taking the answer of `sent`, the same request already sent,
    /// if it is a success; a timeout of that one is the answer too. Anything else sends the
    /// request again.
    fn authed_post_or_take(
        &mut self,
        path: &str,
        content_type: &str,
        body: &[u8],
        sent: Option<Ahead>,
    ) -> Result<Vec<u8>, SyncError> {
        let token = self.current()?.access_token.clone();
        let came = match sent.map(|ahead| ahead.answer.join()) {
            Some(Ok(Ok((status, answer)))) if is_success(status) => Some((status, answer)),
            Some(Ok(Err(e @ ureq::Error::Timeout(_)))) => return Err(self.network(e)),
            _ => None,
        };
        let (mut status, mut answer) = match came {
            Some(answer) => answer,
            None => self.post(path, Some(&token), content_type, body)?,
        };
        if status == 401 && error_code(&answer).as_deref() == Some("token_expired") {
            let token = self.refresh()?.access_token;
            (status, answer) = self.post(path, Some(&token), content_type, body)?;
        }
        if is_success(status) {
            Ok(answer)
        } else {
            Err(answer_error(status, &answer))
        }
    }

    /// One POST: the answer's status and body, or a network error.
    fn post(
        &self,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: &[u8],
    ) -> Result<(u16, Vec<u8>), SyncError> {
        send(&self.agent, &self.base, path, token, content_type, body).map_err(|e| self.network(e))
    }

    fn network(&self, e: ureq::Error) -> SyncError {
        network(&self.base, e)
    }
}

/// One POST to `base` + `path` through `agent`: the answer's status and body.
fn send(
    agent: &Agent,
    base: &str,
    path: &str,
    token: Option<&str>,
    content_type: &str,
    body: &[u8],
) -> Result<(u16, Vec<u8>), ureq::Error> {
    let mut request = agent
        .post(format!("{base}{path}"))
        .content_type(content_type);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let mut response = request.send(body)?;
    let status = response.status().as_u16();
    let answer = read_answer(&mut response)?;
    Ok((status, answer))
}

/// What a failed request to `base` says.
fn network(base: &str, e: ureq::Error) -> SyncError {
    match e {
        ureq::Error::Timeout(_) => {
            SyncError::Network(format!("the server {base} did not answer in time"))
        }
        ureq::Error::HostNotFound => {
            SyncError::Network(format!("cannot find the server {base}: check the address"))
        }
        ureq::Error::Io(io) => SyncError::Network(format!("cannot reach {base}: {io}")),
        ureq::Error::BodyExceedsLimit(limit) => {
            SyncError::Protocol(format!("the answer is larger than {limit} bytes"))
        }
        ureq::Error::BadUri(uri) => SyncError::ServerUrl(uri),
        other => SyncError::Network(format!("talking to {base} failed: {other}")),
    }
}

impl Transport for HttpClient<'_> {
    fn sync_round(&mut self, body: Vec<u8>) -> Result<Vec<u8>, SyncError> {
        let sent = self.ahead.take().filter(|ahead| ahead.body == body);
        self.authed_post_or_take("/v1/sync", CBOR_CONTENT_TYPE, &body, sent)
    }

    fn send_ahead(&mut self, body: Vec<u8>) {
        let Some(session) = &self.session else {
            return;
        };
        let (agent, base) = (self.agent.clone(), self.base.clone());
        let token = session.access_token.clone();
        let request = body.clone();
        let sending = std::thread::Builder::new()
            .name("fieldsync-round-ahead".into())
            .spawn(move || {
                send(
                    &agent,
                    &base,
                    "/v1/sync",
                    Some(&token),
                    CBOR_CONTENT_TYPE,
                    &request,
                )
            });
        // Without a thread the round is simply sent when it comes.
        self.ahead = sending.ok().map(|answer| Ahead { body, answer });
    }
}

/// Keeps a session for `user` in `store` as a login would have (tokens `access` and
/// `refresh`), for tests of what needs a logged-in device without a server.
#[cfg(test)]
pub(crate) fn pretend_logged_in(store: &Store, server_url: &str, user: User) {
    assert!(store.set_author(&user.username).is_ok());
    let session = Session {
        access_token: "access".into(),
        refresh_token: "refresh".into(),
        expires_in: 900,
        user,
    };
    let kept = HttpClient::new(server_url)
        .and_then(|c| c.with_store(store))
        .and_then(|mut c| c.keep(session));
    assert!(kept.is_ok(), "the session is kept: {kept:?}");
}

/// An answer's body, up to [`MAX_ANSWER_BYTES`].
fn read_answer(response: &mut ureq::http::Response<ureq::Body>) -> Result<Vec<u8>, ureq::Error> {
    response
        .body_mut()
        .with_config()
        .limit(MAX_ANSWER_BYTES)
        .read_to_vec()
}

fn is_success(status: u16) -> bool {
    (200..300).contains(&status)
}

fn json_bytes(value: &serde_json::Value) -> Vec<u8> {
    value.to_string().into_bytes()
}

/// An error answer's body, `{"error": "<code>", "message": "<what to do>"}`.
#[derive(Deserialize)]
struct ErrorBody {
    error: String,
    #[serde(default)]
    message: String,
}

fn error_code(body: &[u8]) -> Option<String> {
    serde_json::from_slice::<ErrorBody>(body)
        .ok()
        .map(|b| b.error)
}

/// What a device says when the server answers `account_disabled`.
pub const ACCOUNT_DISABLED: &str = "your account is disabled: ask your administrator";

/// The error for a non-2xx answer: `client_too_old` (or a bare 426) is
/// [`SyncError::UpdateApp`], `server_too_old` [`SyncError::ServerTooOld`], 401
/// `account_disabled` [`SyncError::AccountDisabled`], any other 401 [`SyncError::Auth`], the
/// rest [`SyncError::Server`].
fn answer_error(status: u16, body: &[u8]) -> SyncError {
    match crate::protocol::compat::Unserved::from_answer(status, body) {
        Some(crate::protocol::compat::Unserved::ClientTooOld {
            min_app_version, ..
        }) => {
            return SyncError::UpdateApp {
                min_version: min_app_version,
            };
        }
        Some(_) => return SyncError::ServerTooOld,
        None => {}
    }
    let (code, message) = match serde_json::from_slice::<ErrorBody>(body) {
        Ok(b) => (b.error, b.message),
        Err(_) => (String::new(), String::new()),
    };
    if status == 401 && code == "account_disabled" {
        return SyncError::AccountDisabled(ACCOUNT_DISABLED.into());
    }
    if status == 401 {
        return SyncError::Auth(if message.is_empty() {
            "the server did not accept this device's credentials: log in again".into()
        } else {
            message
        });
    }
    let message = if message.is_empty() {
        format!("the server answered {status} without an explanation: check the server address")
    } else {
        message
    };
    SyncError::Server {
        status,
        code,
        message,
    }
}

/// A refresh token to propose: 32 random bytes, hex.
fn new_refresh_proposal() -> Result<String, SyncError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| {
        SyncError::Auth(format!(
            "this device cannot make random numbers ({e}), so it cannot renew its session: log in again"
        ))
    })?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

fn parse_session(body: &[u8]) -> Result<Session, SyncError> {
    serde_json::from_slice(body)
        .map_err(|e| SyncError::Protocol(format!("the login answer is not a token pair: {e}")))
}

mod attachments;
#[cfg(test)]
mod tests;
