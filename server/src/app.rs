//! The HTTP layer: routes, the auth extractor, request parsing, limits and tracing.
//! `router(state)` is the whole server; the binary only parses configuration and serves it.

use std::convert::Infallible;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Query, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use fieldsync_core::protocol::{CBOR_CONTENT_TYPE, SyncRequest, decode, encode};
use futures_util::Stream;
use serde::Deserialize;
use serde_json::json;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::BroadcastStream;
use tokio_util::sync::CancellationToken;

use crate::access::Principal;
use crate::accounts::{
    Claims, LoginLimiter, TokenKeys, hash_refresh, new_refresh_token, verify_login,
};
use crate::attachments::http as attachments;
use crate::error::AppError;
use crate::service::{Core, Notice};
use crate::storage::{RefreshUse, Session, User};
use fieldsync_core::model::fields::validate_username;

/// Largest request body accepted.
pub const MAX_BODY: usize = 16 << 20;

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    /// Sync, storage, metrics.
    pub core: Arc<Core>,
    /// Token keys and lifetimes.
    pub keys: Arc<TokenKeys>,
    /// Failed-login limiter.
    pub limiter: Arc<LoginLimiter>,
    /// Cancelled on shutdown, ending live streams.
    pub shutdown: CancellationToken,
    /// The attachments' blob store and limits.
    pub attachments: Arc<crate::attachments::Attachments>,
}

/// The whole HTTP API.
pub fn router(state: AppState) -> Router {
    let (api, description) = json_api();
    let description = Arc::new(description);
    Router::new()
        .merge(api)
        .route(
            "/v1/openapi.json",
            get(move || {
                let description = description.clone();
                async move { Json((*description).clone()) }
            }),
        )
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get(metrics))
        .route("/v1/auth/login", post(login))
        .route("/v1/auth/refresh", post(refresh))
        .route("/v1/auth/logout", post(logout))
        .route("/v1/sync", post(sync))
        .route("/v1/events", get(events))
        .route("/v1/handover", post(handover))
        .route(
            "/v1/attachments/{id}",
            get(attachments::download).put(attachments::upload),
        )
        .route(
            "/v1/attachments/{id}/upload",
            get(attachments::upload_state),
        )
        .route(
            "/v1/attachments/{id}/thumbnail",
            get(attachments::thumbnail),
        )
        .merge(crate::console::routes())
        .fallback(|| async { AppError::NotFound("no such endpoint: see docs/PROTOCOL.md".into()) })
        .method_not_allowed_fallback(|| async {
            AppError::MethodNotAllowed(
                "this endpoint does not take that method: see docs/PROTOCOL.md".into(),
            )
        })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            count_requests,
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::from_fn(
            crate::unread_body::close_if_unread,
        ))
        .layer(axum::middleware::from_fn(crate::request_log::log_requests))
        .with_state(state)
}

/// The JSON API's routes and their OpenAPI description, made together.
pub fn json_api() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    use utoipa::OpenApi;
    utoipa_axum::router::OpenApiRouter::with_openapi(crate::openapi::ApiDoc::openapi())
        .merge(crate::read::http::routes())
        .merge(crate::admin::http::routes())
        .split_for_parts()
}

async fn count_requests(
    State(state): State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    state.core.metrics.requests.inc();
    next.run(req).await
}

/// Checks a request's `Authorization` header: it must be `Bearer <token>` (the scheme in any
/// case), and the token an access token of `keys` ([`TokenKeys::verify`]). This is the first
/// half of the auth extractor; the second, whether the token's device session and user are
/// still active, needs storage.
pub fn verify_authorization(
    keys: &TokenKeys,
    header: Option<&HeaderValue>,
) -> Result<Claims, AppError> {
    let header = header.ok_or_else(|| {
        AppError::Unauthenticated(
            "no Authorization header: log in and send 'Bearer <token>'".into(),
        )
    })?;
    let token = header
        .to_str()
        .ok()
        .and_then(|h| h.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token)
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            AppError::Unauthenticated("the Authorization header must be 'Bearer <token>'".into())
        })?;
    keys.verify(token)
}

/// Decodes the CBOR body of `POST /v1/sync`. Its `protocol` is read and checked first, so a
/// client whose protocol is not served gets `client_too_old` or `server_too_old` whatever the
/// shape of the rest (`fieldsync_core::protocol::compat`); then a body that is not a sync
/// request is a `400 bad_request` saying what is wrong with it.
pub fn decode_sync_request(body: &[u8]) -> Result<SyncRequest, AppError> {
    if let Some(protocol) = fieldsync_core::protocol::compat::peek_protocol(body) {
        fieldsync_core::protocol::compat::check(protocol)?;
    }
    decode(body).map_err(|e| AppError::BadRequest(e.to_string()))
}

/// The verified caller of a request.
pub struct Authed {
    /// Who, with their current role and team.
    pub principal: Principal,
    /// The token's claims.
    pub claims: Claims,
}

/// A request's token, verified (signature, expiry, and a console cookie's CSRF token) but
/// not yet checked against storage: the first half of [`Authed`]. A handler that goes to a
/// blocking thread anyway takes this and calls [`Verified::active`] there, which saves the
/// round one hand-off between threads.
pub struct Verified {
    /// The token's claims.
    pub claims: Claims,
}

impl Verified {
    /// The second half of [`Authed`], blocking: whether the token's device session is still
    /// open and its user still active, and who they are now.
    pub fn active(self, core: &Core) -> Result<Authed, AppError> {
        let Claims { sid, sub, .. } = &self.claims;
        match core.storage.active_session_user(sid)? {
            Some(owner) if owner == *sub => {}
            // A token naming another user than its session's (signed with a leaked key,
            // say) is no one's.
            Some(_) => {
                return Err(AppError::Unauthenticated(
                    "this token does not belong to its device session: log in again".into(),
                ));
            }
            // Disabling a user closes their sessions: say which of the two happened.
            None => {
                return Err(disabled_or(&core.storage, sub, || {
                    AppError::Unauthenticated("this device was logged out: log in again".into())
                })?);
            }
        }
        match core.principal(sub)? {
            Some(principal) => Ok(Authed {
                principal,
                claims: self.claims,
            }),
            None => Err(disabled_or(&core.storage, sub, || {
                AppError::Unauthenticated(
                    "the account no longer exists: ask your administrator".into(),
                )
            })?),
        }
    }
}

impl FromRequestParts<AppState> for Verified {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // A bearer token (apps and devices), or else the console's session cookie, whose
        // writes must carry its CSRF token.
        let claims = match (
            parts.headers.get(AUTHORIZATION),
            crate::console::session::cookie(
                &parts.headers,
                crate::console::session::SESSION_COOKIE,
            ),
        ) {
            (None, Some(token)) => {
                let claims = state.keys.verify(&token)?;
                crate::console::session::check_csrf(
                    &state.keys,
                    &parts.method,
                    &parts.headers,
                    &claims.sid,
                )?;
                claims
            }
            (header, _) => verify_authorization(&state.keys, header)?,
        };
        crate::request_log::record_user(&claims.sub);
        Ok(Verified { claims })
    }
}

impl FromRequestParts<AppState> for Authed {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let verified = Verified::from_request_parts(parts, state).await?;
        let core = state.core.clone();
        tokio::task::spawn_blocking(move || verified.active(&core)).await?
    }
}

/// [`AppError::AccountDisabled`] if `username` is a disabled user, else `otherwise()`: the
/// refusal of a session that is over, for a device to tell "ask your administrator" from
/// "log in again".
fn disabled_or(
    storage: &Arc<dyn crate::storage::Storage>,
    username: &str,
    otherwise: impl FnOnce() -> AppError,
) -> Result<AppError, AppError> {
    Ok(match storage.user(username)? {
        Some(u) if u.disabled => AppError::AccountDisabled(u.username),
        _ => otherwise(),
    })
}

/// The whole request body, at most [`MAX_BODY`] bytes. Unlike a bare `Bytes`, whose rejection
/// is plain text, a body that is too large or unreadable gets the JSON error of every other
/// refusal.
pub struct RawBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = AppError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, AppError> {
        match Bytes::from_request(req, state).await {
            Ok(bytes) => Ok(RawBody(bytes)),
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(AppError::TooLarge(MAX_BODY >> 20))
            }
            Err(e) => Err(AppError::BadRequest(format!(
                "the request body could not be read: {}",
                e.body_text()
            ))),
        }
    }
}

/// Parses a JSON body, or answers `400 bad_request` saying what is wrong with it.
pub fn parse_json<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, AppError> {
    serde_json::from_slice(body)
        .map_err(|e| AppError::BadRequest(format!("the JSON body is not valid: {e}")))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginRequest {
    username: String,
    password: String,
    device_name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RefreshRequest {
    refresh_token: String,
    /// The refresh token the client proposes as the successor; the server makes one if absent.
    /// A client that sends the same pair again (its answer was lost) gets the same answer.
    #[serde(default)]
    next_refresh_token: Option<String>,
}

/// The shortest and longest refresh token a client may propose.
const PROPOSED_REFRESH_LEN: std::ops::RangeInclusive<usize> = 32..=256;

/// Checks a refresh token the client proposes: long enough not to be guessed, and plain.
fn check_proposed_refresh(token: &str) -> Result<(), AppError> {
    let plain = token
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if PROPOSED_REFRESH_LEN.contains(&token.len()) && plain {
        Ok(())
    } else {
        Err(AppError::BadRequest(
            "next_refresh_token must be 32 to 256 letters, digits, '-' or '_': make it from 32 random bytes".into(),
        ))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HandoverRequest {
    from: String,
    to: String,
}

fn user_json(u: &User) -> serde_json::Value {
    json!({ "username": u.username, "role": u.role, "territories": u.territories, "manager": u.manager })
}

/// When a refresh token issued now expires (unix seconds).
fn refresh_expiry(state: &AppState) -> i64 {
    chrono::Utc::now().timestamp() + state.keys.refresh_ttl.as_secs() as i64
}

/// Issues an access token and a new refresh token for a new session.
fn token_pair(state: &AppState, user: &User, session: &str) -> Result<serde_json::Value, AppError> {
    let (refresh, hash) = new_refresh_token()?;
    state
        .core
        .storage
        .store_refresh(&hash, session, refresh_expiry(state))?;
    session_answer(state, user, session, &refresh)
}

/// The answer to a login or a refresh: a new access token and the stored `refresh` token.
fn session_answer(
    state: &AppState,
    user: &User,
    session: &str,
    refresh: &str,
) -> Result<serde_json::Value, AppError> {
    let access = state
        .keys
        .issue(&user.username, user.role.as_str(), session)?;
    Ok(json!({
        "access_token": access,
        "refresh_token": refresh,
        "expires_in": state.keys.access_ttl.as_secs(),
        "user": user_json(user),
    }))
}

/// The address a request came from, where the server knows it (it is served with its
/// connections' addresses; a router called directly, in tests, has none).
pub struct SourceAddress(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for SourceAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(SourceAddress(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

async fn login(
    State(state): State<AppState>,
    SourceAddress(address): SourceAddress,
    RawBody(body): RawBody,
) -> Result<Json<serde_json::Value>, AppError> {
    let req: LoginRequest = parse_json(&body)?;
    if req.device_name.trim().is_empty()
        || req.device_name.chars().count() > 100
        || req.device_name.chars().any(char::is_control)
    {
        return Err(AppError::Invalid(
            "device_name must be 1 to 100 characters, none of them control characters".into(),
        ));
    }
    let (user, session) = open_session(
        &state,
        req.username,
        req.password,
        req.device_name.trim().to_string(),
        address,
    )
    .await?;
    let st = state.clone();
    tokio::task::spawn_blocking(move || token_pair(&st, &user, &session).map(Json)).await?
}

/// Checks a user name and password (slowed down after failures, per name and address) and
/// opens a session for `device_name`: the user and the session's id.
pub async fn open_session(
    state: &AppState,
    username: String,
    password: String,
    device_name: String,
    address: Option<IpAddr>,
) -> Result<(User, String), AppError> {
    let (limiter, name) = (state.limiter.clone(), username.clone());
    tokio::task::spawn_blocking(move || limiter.attempt(&name, address)).await??;
    let turn = state.limiter.check_turn().await?;
    let st = state.clone();
    tokio::task::spawn_blocking(move || {
        // A name no account can have is no one's: nothing to look up.
        let user = match validate_username("username", &username) {
            Ok(()) => st.core.storage.user(&username)?,
            Err(_) => None,
        };
        let matches = verify_login(&password, user.as_ref().map(|u| u.password_hash.as_str()));
        drop(turn);
        let ok = matches && user.as_ref().is_some_and(|u| !u.disabled);
        let Some(user) = user.filter(|_| ok) else {
            return Err(AppError::Unauthenticated(
                "wrong user name or password, or the account is disabled".into(),
            ));
        };
        st.limiter.succeeded(&username, address)?;
        let session_id = hex::encode(crate::accounts::random_bytes::<16>()?);
        st.core.storage.create_session(&Session {
            id: session_id.clone(),
            username: user.username.clone(),
            device_name,
            created_at: chrono::Utc::now().timestamp(),
        })?;
        Ok((user, session_id))
    })
    .await?
}

async fn refresh(
    State(state): State<AppState>,
    RawBody(body): RawBody,
) -> Result<Json<serde_json::Value>, AppError> {
    let req: RefreshRequest = parse_json(&body)?;
    let next = match req.next_refresh_token {
        Some(proposed) => {
            check_proposed_refresh(&proposed)?;
            proposed
        }
        None => new_refresh_token()?.0,
    };
    let st = state.clone();
    tokio::task::spawn_blocking(move || {
        let storage = &st.core.storage;
        let presented = hash_refresh(&req.refresh_token);
        let now = chrono::Utc::now().timestamp();
        match storage.use_refresh(&presented, &hash_refresh(&next), refresh_expiry(&st), now)? {
            RefreshUse::Valid(session) => match storage.user(&session.username)? {
                Some(user) if user.disabled => Err(AppError::AccountDisabled(user.username)),
                Some(user) => session_answer(&st, &user, &session.id, &next).map(Json),
                None => Err(AppError::Unauthenticated(
                    "the account no longer exists: ask your administrator".into(),
                )),
            },
            RefreshUse::Revoked(username) => Err(disabled_or(storage, &username, || {
                AppError::Unauthenticated("this device was logged out: log in again".into())
            })?),
            RefreshUse::NextTaken => Err(AppError::BadRequest(
                "next_refresh_token is already in use: propose a new random one".into(),
            )),
            RefreshUse::Replayed(session) => {
                storage.revoke_session(&session)?;
                tracing::warn!(%session, "refresh token replayed: session revoked");
                Err(AppError::Unauthenticated(
                    "this refresh token was already used, so the device session was closed for safety: log in again".into(),
                ))
            }
            RefreshUse::Invalid => Err(AppError::Unauthenticated("the refresh token is unknown or expired: log in again".into())),
        }
    })
    .await?
}

async fn logout(State(state): State<AppState>, auth: Authed) -> Result<StatusCode, AppError> {
    let core = state.core.clone();
    tokio::task::spawn_blocking(move || core.storage.revoke_session(&auth.claims.sid)).await??;
    Ok(StatusCode::NO_CONTENT)
}

async fn sync(
    State(state): State<AppState>,
    token: Verified,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Response, AppError> {
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let media_type = content_type.split(';').next().unwrap_or("").trim();
    if !media_type.eq_ignore_ascii_case(CBOR_CONTENT_TYPE) {
        return Ok((
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Json(json!({"error": "unsupported_media_type", "message": "send the sync request as application/cbor"})),
        )
            .into_response());
    }
    // The app version is the client's own word: logged and counted, never a decision.
    let app_version = headers
        .get(axum::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .and_then(fieldsync_core::protocol::compat::app_version);
    let req = decode_sync_request(&body).inspect_err(|e| {
        if let AppError::Unserved(refused) = e {
            let app_version = app_version.unwrap_or("unknown");
            tracing::info!(user = %token.claims.sub, app_version, code = refused.code(), "sync protocol not served");
        }
    })?;
    let app_version = app_version.map(str::to_string);
    let started = Instant::now();
    let core = state.core.clone();
    // The session check and the round on one blocking thread: one hand-off, not two.
    let resp = tokio::task::spawn_blocking(move || {
        let auth = token.active(&core)?;
        core.saw_device(&auth.claims.sid, app_version.as_deref());
        core.sync_session(&auth.principal, Some(&auth.claims.sid), req)
    })
    .await??;
    state.core.metrics.sync_rounds.inc();
    state
        .core
        .metrics
        .sync_seconds
        .observe(started.elapsed().as_secs_f64());
    Ok(([(CONTENT_TYPE, CBOR_CONTENT_TYPE)], encode(&resp)).into_response())
}

/// The query of `GET /v1/events`.
#[derive(Debug, Deserialize)]
struct EventsQuery {
    /// Seconds between heartbeats when nothing happens (1 to 60; 15 by default). A device
    /// reads a quiet stream's heartbeats to notice a dead connection and to stop promptly.
    heartbeat: Option<u64>,
}

/// The heartbeat of an event stream nobody asked another for.
const DEFAULT_HEARTBEAT: u64 = 15;

async fn events(
    State(state): State<AppState>,
    query: Result<Query<EventsQuery>, QueryRejection>,
    auth: Authed,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, AppError> {
    let Query(query) = query.map_err(|_| {
        AppError::BadRequest(
            "the query is not understood: `heartbeat` is a number of seconds, 1 to 60".into(),
        )
    })?;
    // A token in its grace period after expiry would open a stream that ends at once: the
    // device is told to refresh instead.
    if auth.claims.exp <= chrono::Utc::now().timestamp() {
        return Err(AppError::TokenExpired);
    }
    let who = auth.principal;
    let own_session = auth.claims.sid.clone();
    let heartbeat = query.heartbeat.unwrap_or(DEFAULT_HEARTBEAT).clamp(1, 60);
    let notices =
        BroadcastStream::new(state.core.notices.subscribe()).filter_map(
            move |notice| match notice {
                // The device that pushed it has it: no need to wake it.
                Ok(Notice::Changed(n)) if n.session.as_deref() == Some(own_session.as_str()) => {
                    None
                }
                Ok(Notice::Changed(n)) if who.sees(&n.scope, n.customer.as_ref()) => {
                    Some(Ok(Event::default()
                        .event("changed")
                        .data(json!({"seq": n.seq}).to_string())))
                }
                Ok(Notice::Changed(_)) => None,
                // Missed notices: tell the device to sync anyway.
                Ok(Notice::MayHaveMissed) | Err(_) => {
                    Some(Ok(Event::default().event("changed").data("{}")))
                }
            },
        );
    let stream =
        futures_util::StreamExt::take_until(notices, stream_end(state.clone(), auth.claims));
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(heartbeat))))
}

/// How often an open event stream checks that its device session is still open.
const STREAM_SESSION_CHECK: Duration = Duration::from_secs(5);

/// When an event stream ends: the server shuts down, the access token it was opened with
/// expires, or its device session closes (a logout, or the user disabled), whichever comes
/// first. A stream delivers only while a request with its token would be answered.
async fn stream_end(state: AppState, claims: Claims) {
    let shutdown = state.shutdown.clone().cancelled_owned();
    let left = claims
        .exp
        .saturating_sub(chrono::Utc::now().timestamp())
        .max(0);
    let expiry = tokio::time::sleep(Duration::from_secs(left as u64));
    let core = state.core.clone();
    let closed = async move {
        let mut every = tokio::time::interval(STREAM_SESSION_CHECK);
        loop {
            every.tick().await;
            let (core, sid) = (core.clone(), claims.sid.clone());
            let owner =
                tokio::task::spawn_blocking(move || core.storage.active_session_user(&sid)).await;
            match owner {
                Ok(Ok(Some(owner))) if owner == claims.sub => {}
                // Closed, or the storage cannot say: the stream ends (the device reconnects).
                _ => return,
            }
        }
    };
    tokio::select! {
        _ = shutdown => {}
        _ = expiry => {}
        _ = closed => {}
    }
}

async fn handover(
    State(state): State<AppState>,
    auth: Authed,
    RawBody(body): RawBody,
) -> Result<Json<serde_json::Value>, AppError> {
    let req: HandoverRequest = parse_json(&body)?;
    let core = state.core.clone();
    let moved =
        tokio::task::spawn_blocking(move || core.handover(&auth.principal, &req.from, &req.to))
            .await??;
    Ok(Json(json!({ "customers": moved })))
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.core.metrics.render(),
    )
}
