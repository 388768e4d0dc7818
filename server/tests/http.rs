//! The HTTP API in-process: the real router over a real SQLite data directory, driven with
//! `tower::ServiceExt::oneshot`, and pushes made by real client stores.
//!
//! Every refused request is checked for its status, its error code and a message that says
//! what to do; every refused write is also checked to have left the stored data exactly as it
//! was (what an admin's first sync receives, and every row of every table).
#![allow(clippy::unwrap_used)]

mod support;

use support::password;

use std::time::Duration;

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ROOT};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use axum::http::{HeaderMap, Method, Request, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use fieldsync_core::Store;
use fieldsync_core::ids::new_id;
use fieldsync_core::model::customer::NewCustomer;
use fieldsync_core::protocol::{
    CBOR_CONTENT_TYPE, PushDocument, SyncRequest, SyncResponse, decode, encode,
};
use fieldsync_server::accounts::{AUDIENCE, Claims, ISSUER};
use fieldsync_server::app::MAX_BODY;
use fieldsync_server::config::{Config, build_state};
use fieldsync_server::{AppState, router};
use http_body_util::BodyExt;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rusqlite::types::Value as SqlValue;
use serde_bytes::ByteBuf;
use serde_json::{Value, json};
use tower::ServiceExt;

/// A server over a fresh data directory, and a place for device stores.
struct World {
    app: Router,
    state: AppState,
    data_dir: std::path::PathBuf,
    dir: tempfile::TempDir,
}

/// admin; manager zhang (east, east2) with reps li and wang; manager zhao (north) with rep chen.
fn world() -> World {
    world_with(|_| {})
}

/// [`world`] with changes to the default configuration.
fn world_with(configure: impl FnOnce(&mut Config)) -> World {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let mut config = Config::new(&data_dir);
    configure(&mut config);
    let state = build_state(&config).unwrap();
    support::add_team(&*state.core.storage);
    World {
        app: router(state.clone()),
        state,
        data_dir,
        dir,
    }
}

/// An answer, read whole.
struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Reply {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    #[track_caller]
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("the body is not JSON ({e}): {:?}", self.text()))
    }

    fn content_type(&self) -> &str {
        self.headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// A successful sync answer.
    #[track_caller]
    fn sync(&self) -> SyncResponse {
        assert_eq!(self.status, StatusCode::OK, "{}", self.text());
        assert_eq!(self.content_type(), CBOR_CONTENT_TYPE);
        decode(&self.body).unwrap()
    }

    /// Asserts an error answer: its status, its code, and a message holding every hint.
    #[track_caller]
    fn error(&self, status: StatusCode, code: &str, hints: &[&str]) {
        assert_eq!(self.status, status, "body: {}", self.text());
        assert!(
            self.content_type().starts_with("application/json"),
            "content type {:?}, body {:?}",
            self.content_type(),
            self.text()
        );
        let body = self.json();
        assert_eq!(body["error"], code, "{body}");
        let message = body["message"].as_str().unwrap_or_default();
        for hint in hints {
            assert!(
                message.contains(hint),
                "the message {message:?} does not say {hint:?}"
            );
        }
        assert_eq!(
            body.as_object().map(|o| o.len()),
            Some(2),
            "only error and message: {body}"
        );
    }
}

/// The tokens of one login.
struct Tokens {
    access: String,
    refresh: String,
}

impl Tokens {
    fn of(body: &Value) -> Tokens {
        Tokens {
            access: body["access_token"].as_str().unwrap().to_string(),
            refresh: body["refresh_token"].as_str().unwrap().to_string(),
        }
    }
}

/// Everything the server stores, to compare before and after a refused request.
#[derive(Debug, PartialEq)]
struct Stored {
    /// What an admin's first sync receives: (id, whole?, bytes), and the cursor.
    admin_view: (Vec<(String, bool, Vec<u8>)>, u64),
    /// Every row of the document tables (docs, log).
    documents: Vec<Vec<SqlValue>>,
    /// Every row of the account tables (users, territories, sessions, refresh tokens).
    accounts: Vec<Vec<SqlValue>>,
}

impl World {
    async fn send(&self, req: Request<Body>) -> Reply {
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let (parts, body) = resp.into_parts();
        Reply {
            status: parts.status,
            headers: parts.headers,
            body: body.collect().await.unwrap().to_bytes(),
        }
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        content_type: Option<&str>,
        body: impl Into<Body>,
    ) -> Reply {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            req = req.header(AUTHORIZATION, format!("Bearer {t}"));
        }
        if let Some(c) = content_type {
            req = req.header(CONTENT_TYPE, c);
        }
        self.send(req.body(body.into()).unwrap()).await
    }

    async fn post_json(&self, path: &str, token: Option<&str>, body: impl Into<Body>) -> Reply {
        self.call(
            Method::POST,
            path,
            token,
            Some("application/json"),
            body.into(),
        )
        .await
    }

    async fn login_reply(&self, name: &str, password: &str) -> Reply {
        let body = json!({"username": name, "password": password, "device_name": "手机"});
        self.post_json("/v1/auth/login", None, body.to_string())
            .await
    }

    /// A login attempt from `address`, as the server sees it when serving connections.
    async fn login_from(&self, name: &str, password: &str, address: [u8; 4]) -> Reply {
        let body = json!({"username": name, "password": password, "device_name": "手机"});
        let mut req = Request::builder()
            .method(Method::POST)
            .uri("/v1/auth/login")
            .header(CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        req.extensions_mut()
            .insert(axum::extract::ConnectInfo(std::net::SocketAddr::from((
                address, 40000,
            ))));
        self.send(req).await
    }

    async fn login(&self, name: &str) -> Tokens {
        let r = self.login_reply(name, &password(name)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        Tokens::of(&r.json())
    }

    async fn refresh(&self, refresh_token: &str) -> Reply {
        let body = json!({ "refresh_token": refresh_token });
        self.post_json("/v1/auth/refresh", None, body.to_string())
            .await
    }

    async fn sync_raw(
        &self,
        token: Option<&str>,
        content_type: Option<&str>,
        body: impl Into<Body>,
    ) -> Reply {
        self.call(Method::POST, "/v1/sync", token, content_type, body)
            .await
    }

    async fn sync(&self, token: &str, req: &SyncRequest) -> Reply {
        self.sync_raw(Some(token), Some(CBOR_CONTENT_TYPE), encode(req))
            .await
    }

    /// A device store.
    fn device(&self, name: &str) -> Store {
        Store::open(self.dir.path().join(format!("{name}.db"))).unwrap()
    }

    /// li's device with one customer of li's in the east, not pushed yet, and its id.
    fn li_with_a_customer(&self) -> (Store, String) {
        let store = self.device("li");
        let id = store
            .create_customer(customer("李的客户", "east", "li"))
            .unwrap();
        (store, id)
    }

    /// The server's signing key.
    fn key(&self) -> Vec<u8> {
        let text = std::fs::read_to_string(self.data_dir.join("jwt.key")).unwrap();
        hex::decode(text.trim()).unwrap()
    }

    fn stored(&self) -> Stored {
        let admin = self.state.core.principal("admin").unwrap().unwrap();
        let view = self.state.core.sync(&admin, request(0, vec![])).unwrap();
        assert!(!view.more);
        let conn = rusqlite::Connection::open(self.data_dir.join("fieldsync.db")).unwrap();
        let rows = |tables: &[&str]| {
            let mut out = Vec::new();
            for t in tables {
                let mut stmt = conn
                    .prepare(&format!("SELECT '{t}', * FROM {t} ORDER BY rowid"))
                    .unwrap();
                let n = stmt.column_count();
                let rows = stmt
                    .query_map([], |r| (0..n).map(|i| r.get::<_, SqlValue>(i)).collect())
                    .unwrap();
                out.extend(rows.map(Result::unwrap));
            }
            out
        };
        Stored {
            admin_view: (
                view.documents
                    .into_iter()
                    .map(|d| (d.id, d.snapshot, d.data.into_vec()))
                    .collect(),
                view.cursor,
            ),
            documents: rows(&["docs", "log"]),
            accounts: rows(&["users", "user_territories", "sessions", "refresh_tokens"]),
        }
    }

    async fn metrics(&self) -> String {
        let r = self
            .call(Method::GET, "/metrics", None, None, Body::empty())
            .await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.content_type().starts_with("text/plain"));
        r.text()
    }
}

fn request(cursor: u64, push: Vec<PushDocument>) -> SyncRequest {
    SyncRequest {
        protocol: 1,
        cursor,
        push,
    }
}

fn push_raw(id: &str, changes: Vec<Vec<u8>>) -> PushDocument {
    PushDocument {
        id: id.to_string(),
        changes: changes.into_iter().map(ByteBuf::from).collect(),
    }
}

/// Every change of document `id` in `store`.
fn push_of(store: &Store, id: &str) -> PushDocument {
    push_raw(id, store.changes_since(id, &[]).unwrap())
}

fn customer(name: &str, territory: &str, owner: &str) -> NewCustomer {
    NewCustomer {
        name: name.into(),
        territory: territory.into(),
        owner: owner.into(),
        created_by: owner.into(),
        ..Default::default()
    }
}

/// The heads of `id` in `store`, as the server reports them.
fn hex_heads(store: &Store, id: &str) -> Vec<String> {
    let mut heads: Vec<String> = store
        .heads(id)
        .unwrap()
        .iter()
        .map(|h| h.to_string())
        .collect();
    heads.sort();
    heads
}

/// The claims of a token, read without checking it.
fn claims_of(token: &str) -> Claims {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

fn sign(claims: &Claims, key: &[u8], alg: Algorithm) -> String {
    jsonwebtoken::encode(&Header::new(alg), claims, &EncodingKey::from_secret(key)).unwrap()
}

/// The value of a counter or gauge line of the Prometheus text.
#[track_caller]
fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no {name} in\n{text}"))
        .trim()
        .parse()
        .unwrap()
}

// ---- login ----------------------------------------------------------------------------------

#[tokio::test]
async fn login_returns_a_token_pair_and_the_user() {
    let w = world();
    let body = json!({"username": "li", "password": password("li"), "device_name": "  李的手机 "});
    let r = w.post_json("/v1/auth/login", None, body.to_string()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(r.content_type().starts_with("application/json"));
    let body = r.json();
    let mut keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        ["access_token", "expires_in", "refresh_token", "user"]
    );
    assert_eq!(body["expires_in"], 900);
    assert_eq!(
        body["user"],
        json!({"username": "li", "role": "rep", "territories": ["east"], "manager": "zhang"})
    );
    let tokens = Tokens::of(&body);
    assert_eq!(tokens.refresh.len(), 64, "32 random bytes, hex");
    assert_ne!(tokens.refresh, tokens.access);

    let claims = claims_of(&tokens.access);
    assert_eq!(
        (
            claims.sub.as_str(),
            claims.role.as_str(),
            claims.iss.as_str(),
            claims.aud.as_str()
        ),
        ("li", "rep", ISSUER, AUDIENCE)
    );
    assert_eq!(claims.exp - claims.iat, 900);
    let header: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(tokens.access.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(header["alg"], "HS256");

    // The session is stored under the trimmed device name, and the token works.
    let conn = rusqlite::Connection::open(w.data_dir.join("fieldsync.db")).unwrap();
    let (user, device, revoked): (String, String, bool) = conn
        .query_row(
            "SELECT username, device_name, revoked FROM sessions WHERE id = ?1",
            [&claims.sid],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(
        (user.as_str(), device.as_str(), revoked),
        ("li", "李的手机", false)
    );
    let r = w.sync(&tokens.access, &request(0, vec![])).await.sync();
    assert!(r.documents.is_empty() && r.accepted.is_empty());

    // A manager has no manager and several territories.
    let r = w.login_reply("zhang", &password("zhang")).await;
    assert_eq!(
        r.json()["user"],
        json!({"username": "zhang", "role": "manager", "territories": ["east", "east2"], "manager": null})
    );
}

#[tokio::test]
async fn wrong_passwords_unknown_and_disabled_users_get_401_and_no_session() {
    let w = world();
    w.state.core.storage.set_disabled("wang", true).unwrap();
    let before = w.stored();

    let r = w.login_reply("li", &password("wang")).await;
    r.error(
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
        &["wrong user name or password"],
    );
    let r = w.login_reply("li", "").await;
    r.error(
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
        &["wrong user name or password"],
    );
    let r = w.login_reply("nobody", &password("nobody")).await;
    r.error(
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
        &["wrong user name or password"],
    );
    // The right password of a disabled user.
    let r = w.login_reply("wang", &password("wang")).await;
    r.error(StatusCode::UNAUTHORIZED, "unauthenticated", &["disabled"]);

    assert_eq!(w.stored(), before, "a refused login stores nothing");

    // Enabled again, the same login succeeds.
    w.state.core.storage.set_disabled("wang", false).unwrap();
    w.login("wang").await;
}

#[tokio::test]
async fn malformed_login_bodies_are_refused_with_the_reason() {
    let w = world();
    let before = w.stored();
    let pw = password("li");

    let r = w
        .post_json("/v1/auth/login", None, r#"{"username": "li", "password": "#)
        .await;
    r.error(
        StatusCode::BAD_REQUEST,
        "bad_request",
        &["the JSON body is not valid"],
    );
    let r = w.post_json("/v1/auth/login", None, "").await;
    r.error(
        StatusCode::BAD_REQUEST,
        "bad_request",
        &["the JSON body is not valid"],
    );
    let body =
        json!({"username": "li", "password": pw, "device_name": "手机", "remember_me": true});
    let r = w.post_json("/v1/auth/login", None, body.to_string()).await;
    r.error(
        StatusCode::BAD_REQUEST,
        "bad_request",
        &["unknown field `remember_me`"],
    );
    let body = json!({"username": "li", "password": pw});
    let r = w.post_json("/v1/auth/login", None, body.to_string()).await;
    r.error(
        StatusCode::BAD_REQUEST,
        "bad_request",
        &["missing field `device_name`"],
    );
    let body = json!({"username": "li", "password": 1234, "device_name": "手机"});
    let r = w.post_json("/v1/auth/login", None, body.to_string()).await;
    r.error(StatusCode::BAD_REQUEST, "bad_request", &["invalid type"]);

    for device_name in [String::new(), "   ".to_string(), "x".repeat(101)] {
        let body = json!({"username": "li", "password": pw, "device_name": device_name});
        let r = w.post_json("/v1/auth/login", None, body.to_string()).await;
        r.error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            &["device_name must be 1 to 100 characters"],
        );
    }
    // Over 16 MiB.
    let huge = json!({"username": "li", "password": "x".repeat(MAX_BODY), "device_name": "手机"});
    w.post_json("/v1/auth/login", None, huge.to_string())
        .await
        .error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            &["16 MiB", "send less"],
        );
    assert_eq!(w.stored(), before, "a refused login stores nothing");

    // None of these counted as a failed attempt: three more wrong passwords are still 401s.
    for _ in 0..3 {
        let r = w.login_reply("li", "wrong").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn failed_logins_slow_down_their_address_and_never_lock_the_user_out() {
    let w = world();
    let phone = w.login("li").await;
    let guesser = [192, 0, 2, 66];
    for _ in 0..3 {
        let r = w.login_from("admin", "guess", guesser).await;
        r.error(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            &["wrong user name or password"],
        );
    }
    let before = w.stored();
    // From the guessing address even the right password waits now.
    for pw in ["guess".to_string(), password("admin")] {
        let r = w.login_from("admin", &pw, guesser).await;
        r.error(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            &[
                "too many failed logins",
                "from this address",
                "wait",
                "seconds and try again",
            ],
        );
        let retry: u64 = r
            .headers
            .get(RETRY_AFTER)
            .expect("a Retry-After header")
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(retry, 1, "the first wait is a second");
        let message = r.json()["message"].as_str().unwrap().to_string();
        assert!(
            message.contains(&format!("wait {retry} seconds")),
            "{message}"
        );
    }
    assert_eq!(w.stored(), before, "a rate-limited login stores nothing");

    // The real admin, from an address that has not failed, logs in with the right password.
    let r = w
        .login_from("admin", &password("admin"), [192, 0, 2, 1])
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    // Another user from the guessing address is not held, nor are li's logged-in devices.
    let r = w.login_from("wang", &password("wang"), guesser).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    w.sync(&phone.access, &request(0, vec![])).await.sync();
    assert_eq!(w.refresh(&phone.refresh).await.status, StatusCode::OK);

    // The wait grows with each failure made after it: 1 s, then 2 s.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let r = w.login_from("admin", "guess again", guesser).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text());
    let r = w.login_from("admin", &password("admin"), guesser).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers.get(RETRY_AFTER).unwrap(), "2");
}

#[tokio::test]
async fn concurrent_failed_logins_cannot_slip_past_the_limit() {
    let w = world();
    // Twenty guesses at once: the limit holds while passwords are still being checked.
    let guesses = (0..20).map(|i| {
        let body = json!({"username": "li", "password": format!("guess {i}"), "device_name": "x"});
        w.post_json("/v1/auth/login", None, body.to_string())
    });
    let replies = futures_util::future::join_all(guesses).await;
    let count = |status| replies.iter().filter(|r| r.status == status).count();
    assert_eq!(
        (
            count(StatusCode::UNAUTHORIZED),
            count(StatusCode::TOO_MANY_REQUESTS)
        ),
        (3, 17),
        "three guesses go through before the address must wait"
    );
    let r = w.login_reply("li", &password("li")).await;
    r.error(StatusCode::TOO_MANY_REQUESTS, "rate_limited", &["wait"]);
}

#[tokio::test]
async fn token_lifetimes_come_from_the_configuration_and_expired_refresh_tokens_are_refused() {
    let w = world_with(|c| {
        c.access_ttl = Duration::from_secs(120);
        c.refresh_ttl = Duration::ZERO;
    });
    let r = w.login_reply("li", &password("li")).await;
    assert_eq!(r.json()["expires_in"], 120);
    let li = Tokens::of(&r.json());
    let claims = claims_of(&li.access);
    assert_eq!(claims.exp - claims.iat, 120);
    let before = w.stored();
    w.refresh(&li.refresh).await.error(
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
        &["unknown or expired", "log in again"],
    );
    assert_eq!(
        w.stored(),
        before,
        "an expired refresh token is not used up"
    );
    // The access token still works until it expires.
    w.sync(&li.access, &request(0, vec![])).await.sync();
}

// ---- access tokens --------------------------------------------------------------------------

#[tokio::test]
async fn sync_refuses_requests_without_a_valid_token() {
    let w = world();
    let li = w.login("li").await;
    let key = w.key();
    let (store, id) = w.li_with_a_customer();
    let body = encode(&request(0, vec![push_of(&store, &id)]));
    let before = w.stored();

    let refused = async |auth: Option<String>| {
        let mut req = Request::builder()
            .method(Method::POST)
            .uri("/v1/sync")
            .header(CONTENT_TYPE, CBOR_CONTENT_TYPE);
        if let Some(a) = auth {
            req = req.header(AUTHORIZATION, a);
        }
        w.send(req.body(Body::from(body.clone())).unwrap()).await
    };

    refused(None).await.error(
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
        &["no Authorization header", "log in"],
    );
    for header in [
        format!("Basic {}", li.access),
        "Bearer ".to_string(),
        li.access.clone(),
    ] {
        refused(Some(header)).await.error(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            &["must be 'Bearer <token>'"],
        );
    }
    refused(Some("Bearer garbage".into())).await.error(
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
        &["malformed", "log in again"],
    );

    let valid = claims_of(&li.access);
    let now = chrono::Utc::now().timestamp();
    let with = |f: &dyn Fn(&mut Claims)| {
        let mut c = valid.clone();
        f(&mut c);
        c
    };
    // Forged: signed with another key.
    let forged = sign(&valid, &[0x42; 32], Algorithm::HS256);
    refused(Some(format!("Bearer {forged}"))).await.error(
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
        &["signature is not this server's", "log in again"],
    );
    // Expired a minute ago (beyond the leeway).
    let expired = sign(
        &with(&|c| {
            c.iat = now - 1000;
            c.exp = now - 60;
        }),
        &key,
        Algorithm::HS256,
    );
    refused(Some(format!("Bearer {expired}"))).await.error(
        StatusCode::UNAUTHORIZED,
        "token_expired",
        &["expired", "refresh it and retry"],
    );
    // `alg: none`, no signature.
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&valid).unwrap())
    );
    refused(Some(format!("Bearer {none}"))).await.error(
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
        &["log in again"],
    );
    // The right key and li's live session, but naming another user: the session is li's.
    let other_user = sign(
        &with(&|c| {
            c.sub = "zhang".into();
            c.role = "manager".into();
        }),
        &key,
        Algorithm::HS256,
    );
    refused(Some(format!("Bearer {other_user}"))).await.error(
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
        &["does not belong to its device session", "log in again"],
    );
    // The right key, but another HMAC algorithm.
    let hs512 = sign(&valid, &key, Algorithm::HS512);
    refused(Some(format!("Bearer {hs512}"))).await.error(
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
        &["algorithm", "log in again"],
    );
    // The right key, but for another service or from another issuer.
    let other_aud = sign(
        &with(&|c| c.aud = "fieldsync-admin".into()),
        &key,
        Algorithm::HS256,
    );
    refused(Some(format!("Bearer {other_aud}"))).await.error(
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
        &["another service", "log in again"],
    );
    let other_iss = sign(
        &with(&|c| c.iss = "someone-else".into()),
        &key,
        Algorithm::HS256,
    );
    refused(Some(format!("Bearer {other_iss}"))).await.error(
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
        &["issued by someone else", "log in again"],
    );
    // The right key, but a session that does not exist.
    let no_session = sign(&with(&|c| c.sid = "00".repeat(16)), &key, Algorithm::HS256);
    refused(Some(format!("Bearer {no_session}"))).await.error(
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
        &["log in again"],
    );

    assert_eq!(w.stored(), before, "no refused push was stored");
    // The real token still works and the same push is accepted.
    let r = w
        .sync(&li.access, &request(0, vec![push_of(&store, &id)]))
        .await;
    assert_eq!(r.sync().accepted.len(), 1);
}

/// A device whose token expired sends its round, is told 401, refreshes and sends it again on
/// the same connection. The server answered before the round's body arrived, so it closes the
/// connection once the answer is out; the answer must say so, or the device sends its next
/// request into a closing socket.
#[tokio::test]
async fn an_answer_given_before_the_body_was_read_says_the_connection_closes() {
    let w = world();
    let li = w.login("li").await;
    let (store, id) = w.li_with_a_customer();
    let body = encode(&request(0, vec![push_of(&store, &id)]));
    let now = chrono::Utc::now().timestamp();
    let mut claims = claims_of(&li.access);
    claims.iat = now - 1000;
    claims.exp = now - 60;
    let expired = sign(&claims, &w.key(), Algorithm::HS256);
    let round = |token: &str, content_type: &str, body: Body| {
        Request::builder()
            .method(Method::POST)
            .uri("/v1/sync")
            .header(AUTHORIZATION, format!("Bearer {token}"))
            .header(CONTENT_TYPE, content_type)
            .body(body)
            .unwrap()
    };

    // The body still on its way: its first byte never came.
    let (_sender, waiting) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(1);
    let on_its_way = Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(waiting));
    let refused = w.send(round(&expired, CBOR_CONTENT_TYPE, on_its_way)).await;
    refused.error(StatusCode::UNAUTHORIZED, "token_expired", &["refresh it"]);
    assert_eq!(refused.headers.get("connection").unwrap(), "close");
    // All of it there but never read: the same.
    let unread = w
        .send(round(&expired, CBOR_CONTENT_TYPE, Body::from(body.clone())))
        .await;
    unread.error(StatusCode::UNAUTHORIZED, "token_expired", &["refresh it"]);
    assert_eq!(unread.headers.get("connection").unwrap(), "close");

    // Answers given after reading the body keep the connection, refusals included.
    let wrong_type = w
        .send(round(&li.access, "text/plain", Body::from(body.clone())))
        .await;
    assert_eq!(wrong_type.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(wrong_type.headers.get("connection"), None);
    let accepted = w
        .send(round(&li.access, CBOR_CONTENT_TYPE, Body::from(body)))
        .await;
    assert_eq!(accepted.status, StatusCode::OK);
    assert_eq!(accepted.headers.get("connection"), None);
    let health = w
        .send(Request::get("/healthz").body(Body::empty()).unwrap())
        .await;
    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(health.headers.get("connection"), None);
}

#[tokio::test]
async fn tokens_of_disabled_users_and_logged_out_devices_are_refused() {
    let w = world();
    let phone = w.login("li").await;
    let tablet = w.login("li").await;
    let (store, id) = w.li_with_a_customer();
    let push = request(0, vec![push_of(&store, &id)]);

    // Logging out the phone closes its session only.
    let body = json!({ "refresh_token": phone.refresh }).to_string();
    let r = w
        .post_json("/v1/auth/logout", Some(&phone.access), body.clone())
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    let before = w.stored();
    w.sync(&phone.access, &push).await.error(
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
        &["logged out", "log in again"],
    );
    w.refresh(&phone.refresh).await.error(
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
        &["log in again"],
    );
    w.post_json("/v1/auth/logout", Some(&phone.access), body)
        .await
        .error(StatusCode::UNAUTHORIZED, "unauthenticated", &["logged out"]);
    assert_eq!(
        w.stored().documents,
        before.documents,
        "the logged-out device's push was not stored"
    );
    assert_eq!(
        w.state
            .core
            .devices_seen(std::time::Duration::from_secs(3600)),
        0,
        "a refused round does not count its device as seen"
    );
    let r = w.sync(&tablet.access, &request(0, vec![])).await.sync();
    assert!(r.documents.is_empty());

    // Disabling li closes every session of li's, and the answer says the account is disabled
    // (logging in again would not help).
    w.state.core.storage.set_disabled("li", true).unwrap();
    let before = w.stored();
    let disabled = &["account li is disabled", "ask your administrator"][..];
    w.sync(&tablet.access, &push).await.error(
        StatusCode::UNAUTHORIZED,
        "account_disabled",
        disabled,
    );
    w.refresh(&tablet.refresh)
        .await
        .error(StatusCode::UNAUTHORIZED, "account_disabled", disabled);
    w.call(
        Method::GET,
        "/v1/events",
        Some(&tablet.access),
        None,
        Body::empty(),
    )
    .await
    .error(StatusCode::UNAUTHORIZED, "account_disabled", disabled);
    assert_eq!(
        w.stored(),
        before,
        "nothing of the disabled user was stored"
    );

    // Enabled again, the old sessions stay closed: the user logs in anew.
    w.state.core.storage.set_disabled("li", false).unwrap();
    w.sync(&tablet.access, &push).await.error(
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
        &["log in again"],
    );
    let fresh = w.login("li").await;
    assert_eq!(w.sync(&fresh.access, &push).await.sync().accepted.len(), 1);
}

// ---- refresh tokens -------------------------------------------------------------------------

/// A refresh request that proposes `next` as the successor of `token`.
fn refresh(token: &str, next: &str) -> String {
    json!({ "refresh_token": token, "next_refresh_token": next }).to_string()
}

#[tokio::test]
async fn a_refresh_takes_the_next_token_the_device_proposes() {
    let w = world();
    let first = w.login("li").await;
    let proposed = "d".repeat(64);

    // Malformed or taken proposals are refused and retire nothing.
    for bad in ["short", &format!("{}!", "x".repeat(40)), &"y".repeat(257)] {
        w.post_json("/v1/auth/refresh", None, refresh(&first.refresh, bad))
            .await
            .error(
                StatusCode::BAD_REQUEST,
                "bad_request",
                &["next_refresh_token", "32 to 256"],
            );
    }
    w.post_json(
        "/v1/auth/refresh",
        None,
        refresh(&first.refresh, &first.refresh),
    )
    .await
    .error(StatusCode::BAD_REQUEST, "bad_request", &["already in use"]);

    // The proposal becomes the session's refresh token, in the same rotation.
    let r = w
        .post_json("/v1/auth/refresh", None, refresh(&first.refresh, &proposed))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let second = Tokens::of(&r.json());
    assert_eq!(second.refresh, proposed);
    w.sync(&second.access, &request(0, vec![])).await.sync();
    assert_eq!(w.refresh(&proposed).await.status, StatusCode::OK);

    // A replay still closes the session.
    w.refresh(&first.refresh).await.error(
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
        &["already used", "log in again"],
    );
}

#[tokio::test]
async fn refresh_rotates_and_a_replay_closes_the_whole_session() {
    let w = world();
    let first = w.login("li").await;
    let other_device = w.login("li").await;

    let r = w.refresh(&first.refresh).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let body = r.json();
    assert_eq!(body["expires_in"], 900);
    assert_eq!(
        body["user"],
        json!({"username": "li", "role": "rep", "territories": ["east"], "manager": "zhang"})
    );
    let second = Tokens::of(&body);
    assert_ne!(second.refresh, first.refresh);
    assert_eq!(
        claims_of(&second.access).sid,
        claims_of(&first.access).sid,
        "the same device session"
    );
    w.sync(&second.access, &request(0, vec![])).await.sync();

    // The retired token, presented again: a replay.
    let before = w.stored();
    w.refresh(&first.refresh).await.error(
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
        &["already used", "log in again"],
    );
    assert_eq!(
        w.stored().documents,
        before.documents,
        "a replay writes no documents"
    );
    // ... which closed the session: its new refresh token and its access tokens are dead.
    w.refresh(&second.refresh).await.error(
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
        &["log in again"],
    );
    for access in [&second.access, &first.access] {
        w.sync(access, &request(0, vec![])).await.error(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            &["logged out", "log in again"],
        );
    }
    // The user's other device is another session and keeps working.
    w.sync(&other_device.access, &request(0, vec![]))
        .await
        .sync();
    assert_eq!(
        w.refresh(&other_device.refresh).await.status,
        StatusCode::OK
    );

    // Unknown tokens and bad bodies.
    let before = w.stored();
    w.refresh(&"ab".repeat(32)).await.error(
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
        &["unknown or expired", "log in again"],
    );
    w.refresh("").await.error(
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
        &["unknown or expired"],
    );
    w.post_json("/v1/auth/refresh", None, r#"{"token": "x"}"#)
        .await
        .error(StatusCode::BAD_REQUEST, "bad_request", &["unknown field"]);
    assert_eq!(w.stored(), before, "a refused refresh stores nothing");
}

#[tokio::test]
async fn the_same_refresh_request_again_gets_the_same_answer_and_any_other_replay_closes_the_session()
 {
    let w = world();
    let first = w.login("li").await;
    let proposed = "n".repeat(64);

    // The client proposes the successor; the answer carries it.
    let r = w
        .post_json("/v1/auth/refresh", None, refresh(&first.refresh, &proposed))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let second = Tokens::of(&r.json());
    assert_eq!(second.refresh, proposed);

    // The answer was lost: the same request again is answered again, with a working token.
    let stored = w.stored();
    let r = w
        .post_json("/v1/auth/refresh", None, refresh(&first.refresh, &proposed))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let again = Tokens::of(&r.json());
    assert_eq!(again.refresh, proposed);
    assert_eq!(
        w.stored(),
        stored,
        "a repeated refresh changes nothing stored"
    );
    w.sync(&again.access, &request(0, vec![])).await.sync();

    // A proposal that is short, or already a token, is refused and changes nothing.
    w.post_json("/v1/auth/refresh", None, refresh(&second.refresh, "short"))
        .await
        .error(StatusCode::BAD_REQUEST, "bad_request", &["32 random bytes"]);
    w.post_json(
        "/v1/auth/refresh",
        None,
        refresh(&second.refresh, &proposed),
    )
    .await
    .error(StatusCode::BAD_REQUEST, "bad_request", &["already in use"]);
    assert_eq!(w.stored(), stored);

    // Once the successor is used, the old token is a replay even with the same proposal...
    let third_proposed = "t".repeat(64);
    let r = w
        .post_json(
            "/v1/auth/refresh",
            None,
            refresh(&second.refresh, &third_proposed),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    w.post_json("/v1/auth/refresh", None, refresh(&first.refresh, &proposed))
        .await
        .error(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            &["already used"],
        );
    // ... and the session is closed.
    w.post_json(
        "/v1/auth/refresh",
        None,
        refresh(&third_proposed, &"u".repeat(64)),
    )
    .await
    .error(
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
        &["log in again"],
    );

    // A retired token with another proposal than its own is a replay too.
    let phone = w.login("li").await;
    let r = w
        .post_json(
            "/v1/auth/refresh",
            None,
            refresh(&phone.refresh, &"p".repeat(64)),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    w.post_json(
        "/v1/auth/refresh",
        None,
        refresh(&phone.refresh, &"q".repeat(64)),
    )
    .await
    .error(
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
        &["already used"],
    );
    w.post_json(
        "/v1/auth/refresh",
        None,
        refresh(&phone.refresh, &"p".repeat(64)),
    )
    .await
    .error(
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
        &["already used"],
    );
}

// ---- sync bodies ----------------------------------------------------------------------------

#[tokio::test]
async fn sync_bodies_that_are_not_the_protocol_are_refused_with_the_reason() {
    let w = world();
    let li = w.login("li").await;
    let (store, id) = w.li_with_a_customer();
    let valid = encode(&request(0, vec![push_of(&store, &id)]));
    let before = w.stored();
    let tok = Some(li.access.as_str());

    for content_type in [Some("application/json"), Some("text/plain"), None] {
        w.sync_raw(tok, content_type, valid.clone()).await.error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            &["send the sync request as application/cbor"],
        );
    }
    let cbor = Some(CBOR_CONTENT_TYPE);
    // Not CBOR at all: reserved initial bytes.
    w.sync_raw(tok, cbor, &b"\x1c\x1d\x1e"[..]).await.error(
        StatusCode::BAD_REQUEST,
        "bad_request",
        &["not valid CBOR"],
    );
    // A lone "break", and plain text: CBOR items, but not a request.
    for body in [&b"\xff\xfe\xfd"[..], b"hello, server"] {
        w.sync_raw(tok, cbor, body).await.error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            &["the body does not match the protocol"],
        );
    }
    // A JSON body sent as CBOR.
    let as_json = serde_json::to_vec(&json!({"protocol": 1, "cursor": 0, "push": []})).unwrap();
    let r = w.sync_raw(tok, cbor, as_json).await;
    r.error(StatusCode::BAD_REQUEST, "bad_request", &[]);
    // Truncated.
    for cut in [1, valid.len() / 2, valid.len() - 1] {
        w.sync_raw(tok, cbor, valid[..cut].to_vec()).await.error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            &["truncated", "send the whole CBOR message"],
        );
    }
    w.sync_raw(tok, cbor, Body::empty()).await.error(
        StatusCode::BAD_REQUEST,
        "bad_request",
        &["truncated"],
    );
    // Fields of the wrong type, missing or unknown.
    for wrong in [
        json!({"protocol": "one", "cursor": 0, "push": []}),
        json!({"protocol": 1, "cursor": -1, "push": []}),
        json!({"protocol": 1, "cursor": 0, "push": [{"id": id, "changes": "abc"}]}),
        json!({"protocol": 1, "push": []}),
        json!({"protocol": 1, "cursor": 0, "push": [], "pull": true}),
        json!([1, 0, []]),
    ] {
        w.sync_raw(tok, cbor, encode(&wrong)).await.error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            &["the body does not match the protocol"],
        );
    }
    // A protocol newer than the server's: the server must be upgraded.
    let v2 = SyncRequest {
        protocol: 2,
        ..request(0, vec![push_of(&store, &id)])
    };
    // Both answers carry, beside `error` and `message`, the protocols the server serves.
    let served = json!({
        "min_protocol": fieldsync_core::protocol::compat::MIN_SUPPORTED_PROTOCOL,
        "max_protocol": fieldsync_core::protocol::PROTOCOL_VERSION,
    });
    let reply = w.sync_raw(tok, cbor, encode(&v2)).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text());
    let body = reply.json();
    assert_eq!(body["error"], "server_too_old");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("ask your administrator to upgrade the server"),
        "{body}"
    );
    assert_eq!(body["protocol"], 2);
    assert_eq!(
        (&body["min_protocol"], &body["max_protocol"]),
        (&served["min_protocol"], &served["max_protocol"])
    );
    // One older than the server serves: 426, update the app, whatever the rest of the body.
    let v0 = encode(&json!({"protocol": 0, "since": "yesterday", "changes": [[1, 2]]}));
    let reply = w.sync_raw(tok, cbor, v0).await;
    assert_eq!(
        reply.status,
        StatusCode::UPGRADE_REQUIRED,
        "{}",
        reply.text()
    );
    let body = reply.json();
    assert_eq!(body["error"], "client_too_old");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("update the app to version 0.1.0 or later"),
        "{body}"
    );
    assert_eq!(body["min_app_version"], "0.1.0");
    assert_eq!(body["min_protocol"], served["min_protocol"]);
    // Over 16 MiB: a real push padded with a huge unknown document.
    let huge = request(
        0,
        vec![
            push_of(&store, &id),
            push_raw(&new_id(), vec![vec![0; MAX_BODY]]),
        ],
    );
    w.sync(&li.access, &huge)
        .await
        .error(StatusCode::PAYLOAD_TOO_LARGE, "too_large", &["16 MiB"]);
    assert_eq!(w.stored(), before, "no refused body stored anything");

    // The body just under the limit is read (and its garbage document rejected, not stored).
    let r = w
        .sync(
            &li.access,
            &request(0, vec![push_raw(&new_id(), vec![vec![0; MAX_BODY - 100]])]),
        )
        .await
        .sync();
    assert_eq!(r.rejected.len(), 1);
    assert_eq!(r.rejected[0].rule, "corrupt");
    assert_eq!(w.stored(), before);
}

#[tokio::test]
async fn corrupt_change_bytes_are_rejected_per_document_and_nothing_is_stored() {
    let w = world();
    let li = w.login("li").await;
    let (store, id) = w.li_with_a_customer();
    let good = store.changes_since(&id, &[]).unwrap();
    let mut flipped = good.clone();
    let mid = flipped[0].len() / 2;
    flipped[0][mid] ^= 0x55;
    let truncated = vec![good[0][..good[0].len() - 3].to_vec()];
    let mut extra = good.clone();
    extra.push(b"garbage".to_vec());
    let before = w.stored();

    for (what, changes) in [
        ("garbage", vec![b"not an automerge change".to_vec()]),
        ("one byte flipped", flipped),
        ("truncated", truncated),
        ("a good change and garbage", extra),
        ("no changes", vec![]),
    ] {
        let r = w
            .sync(&li.access, &request(0, vec![push_raw(&id, changes)]))
            .await
            .sync();
        assert!(r.accepted.is_empty(), "{what}: {:?}", r.accepted);
        assert_eq!(r.rejected.len(), 1, "{what}");
        assert_eq!(
            (r.rejected[0].id.as_str(), r.rejected[0].rule.as_str()),
            (id.as_str(), "corrupt"),
            "{what}: {}",
            r.rejected[0].reason
        );
        assert!(!r.rejected[0].reason.is_empty());
        assert!(r.documents.is_empty(), "{what}");
        assert_eq!(w.stored(), before, "{what}: nothing stored");
    }
    // The good changes alone are taken.
    let r = w
        .sync(&li.access, &request(0, vec![push_raw(&id, good)]))
        .await
        .sync();
    assert_eq!(r.accepted.len(), 1);
    assert_eq!(r.accepted[0].heads, hex_heads(&store, &id));
}

#[tokio::test]
async fn each_pushed_document_is_accepted_or_rejected_on_its_own() {
    let w = world();
    let li = w.login("li").await;
    let (store, good) = w.li_with_a_customer();
    let out_of_scope = store
        .create_customer(customer("越界客户", "north", "li"))
        .unwrap();
    // A document of no known kind.
    let mut stray = AutoCommit::new();
    stray.put(ROOT, "hello", "world").unwrap();
    stray.commit();
    let stray_changes: Vec<Vec<u8>> = stray
        .get_changes(&[])
        .into_iter()
        .map(|mut c| c.bytes().into_owned())
        .collect();
    let stray_id = new_id();
    let before = w.stored();
    assert!(before.admin_view.0.is_empty());

    let r = w
        .sync(
            &li.access,
            &request(
                0,
                vec![
                    push_raw(&stray_id, stray_changes),
                    push_of(&store, &good),
                    push_of(&store, &out_of_scope),
                    push_raw("not-an-id", store.changes_since(&good, &[]).unwrap()),
                ],
            ),
        )
        .await
        .sync();
    assert_eq!(r.accepted.len(), 1, "{:?}", r.rejected);
    assert_eq!(r.accepted[0].id, good);
    assert_eq!(r.accepted[0].heads, hex_heads(&store, &good));
    let rejected: Vec<(&str, &str)> = r
        .rejected
        .iter()
        .map(|x| (x.id.as_str(), x.rule.as_str()))
        .collect();
    assert_eq!(
        rejected,
        [
            (stray_id.as_str(), "schema"),
            (out_of_scope.as_str(), "scope"),
            ("not-an-id", "schema"),
        ]
    );
    assert!(r.rejected.iter().all(|x| !x.reason.is_empty()));
    // The pushing device is not sent back what it just pushed.
    assert!(r.documents.is_empty(), "{:?}", r.documents);

    // Exactly the good document was stored, and it is li's customer.
    let after = w.stored();
    assert_eq!(after.admin_view.0.len(), 1);
    let (stored_id, whole, bytes) = &after.admin_view.0[0];
    assert_eq!((stored_id, whole), (&good, &true));
    let check = w.device("check");
    check.merge_from(bytes).unwrap();
    let c = check.customer(&good).unwrap();
    assert_eq!(
        (c.name.as_str(), c.territory.as_str(), c.owner.as_str()),
        ("李的客户", "east", "li")
    );
    let rows = |what: &str| {
        after
            .documents
            .iter()
            .filter(|r| r[0] == SqlValue::Text(what.into()))
            .count()
    };
    assert_eq!(rows("docs"), 1);
    assert_eq!(
        rows("log"),
        store.changes_since(&good, &[]).unwrap().len(),
        "only the good document's changes are logged"
    );
}

/// A rep's new customer, pushed from one device, reaches the rep's other device and the
/// manager whole, both from the server's memory (the save stored with it, kept as it was
/// written), and both get the document the rep made.
#[tokio::test]
async fn a_new_document_reaches_the_other_devices_whole_from_the_servers_memory() {
    let w = world();
    let (phone, laptop, manager) = (
        w.login("li").await,
        w.login("li").await,
        w.login("zhang").await,
    );
    let (store, first) = w.li_with_a_customer();
    let r = w
        .sync(&phone.access, &request(0, vec![push_of(&store, &first)]))
        .await
        .sync();
    assert_eq!(r.accepted.len(), 1);
    // The other devices' first syncs: whole documents, read from storage.
    let laptop_at = w
        .sync(&laptop.access, &request(0, vec![]))
        .await
        .sync()
        .cursor;
    let manager_at = w
        .sync(&manager.access, &request(0, vec![]))
        .await
        .sync()
        .cursor;
    assert_eq!(
        metric(&w.metrics().await, "fieldsync_pulled_from_memory_total"),
        0.0
    );

    let second = store
        .create_customer(customer("李的新客户", "east", "li"))
        .unwrap();
    let r = w
        .sync(
            &phone.access,
            &request(r.cursor, vec![push_of(&store, &second)]),
        )
        .await
        .sync();
    assert_eq!(r.accepted.len(), 1);
    let heads = store.heads(&second).unwrap();
    for (device, cursor) in [(&laptop, laptop_at), (&manager, manager_at)] {
        let r = w
            .sync(&device.access, &request(cursor, vec![]))
            .await
            .sync();
        assert_eq!(r.documents.len(), 1);
        let doc = &r.documents[0];
        assert_eq!((doc.id.as_str(), doc.snapshot), (second.as_str(), true));
        let mut loaded = automerge::AutoCommit::load(&doc.data).unwrap();
        assert_eq!(loaded.get_heads(), heads);
    }
    assert_eq!(
        metric(&w.metrics().await, "fieldsync_pulled_from_memory_total"),
        2.0
    );
}

// ---- operations -----------------------------------------------------------------------------

#[tokio::test]
async fn health_metrics_and_unknown_routes() {
    let w = world();
    let r = w
        .call(Method::GET, "/healthz", None, None, Body::empty())
        .await;
    assert_eq!((r.status, r.text().as_str()), (StatusCode::OK, "ok"));

    let start = w.metrics().await;
    assert_eq!(metric(&start, "fieldsync_sync_rounds_total"), 0.0);
    assert_eq!(metric(&start, "fieldsync_rejections_total"), 0.0);
    assert_eq!(metric(&start, "fieldsync_changes_applied_total"), 0.0);

    let li = w.login("li").await;
    let (store, id) = w.li_with_a_customer();
    let changes = store.changes_since(&id, &[]).unwrap();
    // Round 1: one accepted, one corrupt; round 2: one out of scope; round 3: nothing.
    let r = w
        .sync(
            &li.access,
            &request(
                0,
                vec![
                    push_of(&store, &id),
                    push_raw(&new_id(), vec![b"x".to_vec()]),
                ],
            ),
        )
        .await
        .sync();
    assert_eq!((r.accepted.len(), r.rejected.len()), (1, 1));
    let north = store
        .create_customer(customer("越界客户", "north", "li"))
        .unwrap();
    let r = w
        .sync(
            &li.access,
            &request(r.cursor, vec![push_of(&store, &north)]),
        )
        .await
        .sync();
    assert_eq!(r.rejected.len(), 1);
    w.sync(&li.access, &request(r.cursor, vec![])).await.sync();
    // Refused rounds are not rounds.
    w.sync_raw(Some(&li.access), Some(CBOR_CONTENT_TYPE), &b"\xff"[..])
        .await
        .error(StatusCode::BAD_REQUEST, "bad_request", &[]);
    w.sync_raw(None, Some(CBOR_CONTENT_TYPE), encode(&request(0, vec![])))
        .await
        .error(StatusCode::UNAUTHORIZED, "unauthenticated", &[]);

    let text = w.metrics().await;
    assert_eq!(metric(&text, "fieldsync_sync_rounds_total"), 3.0);
    assert_eq!(metric(&text, "fieldsync_rejections_total"), 2.0);
    assert_eq!(
        metric(&text, "fieldsync_changes_applied_total"),
        changes.len() as f64
    );
    assert_eq!(metric(&text, "fieldsync_sync_duration_seconds_count"), 3.0);
    // healthz, metrics, login, 3 rounds, 2 refused rounds, and this metrics call.
    assert_eq!(metric(&text, "fieldsync_http_requests_total"), 9.0);

    for (method, path) in [
        (Method::GET, "/v1/nothing"),
        (Method::POST, "/v2/sync"),
        (Method::GET, "/nothing"),
    ] {
        w.call(method, path, Some(&li.access), None, Body::empty())
            .await
            .error(
                StatusCode::NOT_FOUND,
                "not_found",
                &["no such endpoint", "docs/PROTOCOL.md"],
            );
    }
}

#[tokio::test]
async fn only_the_manager_of_both_reps_hands_customers_over() {
    let w = world();
    let (li, zhang, zhao) = (
        w.login("li").await,
        w.login("zhang").await,
        w.login("zhao").await,
    );
    let store = w.device("li");
    let ids: Vec<String> = ["客户一", "客户二"]
        .iter()
        .map(|n| store.create_customer(customer(n, "east", "li")).unwrap())
        .collect();
    let r = w
        .sync(
            &li.access,
            &request(0, ids.iter().map(|id| push_of(&store, id)).collect()),
        )
        .await
        .sync();
    assert_eq!(r.accepted.len(), 2);
    let li_cursor = r.cursor;
    let body = json!({"from": "li", "to": "wang"}).to_string();
    let admin = w.login("admin").await;
    let before = w.stored();

    w.post_json("/v1/handover", Some(&li.access), body.clone())
        .await
        .error(
            StatusCode::FORBIDDEN,
            "forbidden",
            &["only the manager of both li and wang, or an admin"],
        );
    w.post_json("/v1/handover", Some(&zhao.access), body.clone())
        .await
        .error(StatusCode::FORBIDDEN, "forbidden", &["manager of both"]);
    w.post_json("/v1/handover", None, body.clone()).await.error(
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
        &["log in"],
    );
    // Whether a user exists is learned only by those who may hand over at all: a rep and a
    // manager outside the team are refused the same for a user who does not exist.
    let nobody = json!({"from": "li", "to": "nobody"}).to_string();
    for who in [&li, &zhang] {
        w.post_json("/v1/handover", Some(&who.access), nobody.clone())
            .await
            .error(StatusCode::FORBIDDEN, "forbidden", &["manager of both"]);
    }
    w.post_json("/v1/handover", Some(&admin.access), nobody)
        .await
        .error(StatusCode::NOT_FOUND, "not_found", &["no user 'nobody'"]);
    w.post_json("/v1/handover", Some(&zhang.access), r#"{"from": "li"}"#)
        .await
        .error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            &["missing field `to`"],
        );
    assert_eq!(w.stored(), before, "no refused handover changed anything");

    let r = w
        .post_json("/v1/handover", Some(&zhang.access), body.clone())
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json(), json!({"customers": 2}));

    // li's next round revokes both; wang's first sync has both, owned by wang.
    let r = w.sync(&li.access, &request(li_cursor, vec![])).await.sync();
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(r.revoked, expected);
    let wang = w.login("wang").await;
    let r = w.sync(&wang.access, &request(0, vec![])).await.sync();
    let check = w.device("wang");
    for d in &r.documents {
        check.merge_from(&d.data).unwrap();
    }
    let mut got: Vec<(String, String)> = ids
        .iter()
        .map(|id| (id.clone(), check.customer(id).unwrap().owner))
        .collect();
    got.sort();
    assert_eq!(
        got,
        expected
            .iter()
            .map(|id| (id.clone(), "wang".to_string()))
            .collect::<Vec<_>>()
    );
    // Nothing is left to hand over.
    let r = w.post_json("/v1/handover", Some(&zhang.access), body).await;
    assert_eq!(r.json(), json!({"customers": 0}));
}

// ---- live notifications ---------------------------------------------------------------------

/// The next chunk of an event stream, or `None` if none comes within a few seconds.
async fn next_event(body: &mut Body) -> Option<String> {
    let frame = tokio::time::timeout(Duration::from_secs(5), body.frame())
        .await
        .ok()??
        .unwrap();
    Some(String::from_utf8(frame.into_data().unwrap().to_vec()).unwrap())
}

#[tokio::test]
async fn events_stream_news_of_the_callers_scope_only() {
    let w = world();
    let (li, chen) = (w.login("li").await, w.login("chen").await);
    // The same users' laptops: other device sessions.
    let (li_laptop, chen_laptop) = (w.login("li").await, w.login("chen").await);

    w.call(Method::GET, "/v1/events", None, None, Body::empty())
        .await
        .error(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            &["no Authorization header"],
        );

    let mut li_events = open_events(&w, &li.access).await;
    let mut chen_events = open_events(&w, &chen.access).await;

    // A push from the phone's own session is not sent back to it: it has the news.
    let li_store = w.device("li");
    let own = li_store
        .create_customer(customer("李自己的客户", "east", "li"))
        .unwrap();
    w.sync(&li.access, &request(0, vec![push_of(&li_store, &own)]))
        .await
        .sync();
    // li's laptop's push is news for li's phone; chen's laptop's for chen's phone.
    let c_li = li_store
        .create_customer(customer("李的客户", "east", "li"))
        .unwrap();
    let li_seq = w
        .sync(
            &li_laptop.access,
            &request(0, vec![push_of(&li_store, &c_li)]),
        )
        .await
        .sync()
        .cursor;
    let chen_store = w.device("chen");
    let c_chen = chen_store
        .create_customer(customer("陈的客户", "north", "chen"))
        .unwrap();
    let chen_seq = w
        .sync(
            &chen_laptop.access,
            &request(0, vec![push_of(&chen_store, &c_chen)]),
        )
        .await
        .sync()
        .cursor;
    assert!(chen_seq > li_seq);

    let li_event = next_event(&mut li_events).await.expect("an event for li");
    assert_eq!(
        li_event,
        format!("event: changed\ndata: {{\"seq\":{li_seq}}}\n\n"),
        "the first event is the laptop's push, not the phone's own"
    );
    let chen_event = next_event(&mut chen_events)
        .await
        .expect("an event for chen");
    assert_eq!(
        chen_event,
        format!("event: changed\ndata: {{\"seq\":{chen_seq}}}\n\n"),
        "chen is not told of li's customer"
    );

    // Shutting down ends the streams.
    w.state.shutdown.cancel();
    let end = tokio::time::timeout(Duration::from_secs(5), li_events.frame())
        .await
        .expect("the stream ends on shutdown");
    assert!(end.is_none(), "no more events after shutdown");
}

/// Opens `/v1/events` with `token`.
async fn open_events(w: &World, token: &str) -> Body {
    open_events_at(w, token, "/v1/events").await
}

async fn open_events_at(w: &World, token: &str, uri: &str) -> Body {
    let req = Request::builder()
        .uri(uri)
        .header(AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let resp = w.app.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.headers().get(CONTENT_TYPE).unwrap(),
        "text/event-stream"
    );
    resp.into_body()
}

#[tokio::test]
async fn a_quiet_event_stream_beats_at_the_interval_asked_for() {
    let w = world();
    let li = w.login("li").await;
    w.call(
        Method::GET,
        "/v1/events?heartbeat=often",
        Some(&li.access),
        None,
        Body::empty(),
    )
    .await
    .error(StatusCode::BAD_REQUEST, "bad_request", &["heartbeat"]);
    let mut events = open_events_at(&w, &li.access, "/v1/events?heartbeat=1").await;
    let started = std::time::Instant::now();
    let beat = next_event(&mut events).await.expect("a heartbeat");
    assert!(beat.starts_with(':'), "{beat:?}");
    assert!(
        started.elapsed() < Duration::from_millis(2500),
        "the heartbeat came after {:?}",
        started.elapsed()
    );
}

/// Whether the stream ends (rather than stays open or delivers) within `secs` seconds.
async fn ends_within(body: &mut Body, secs: u64) -> bool {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        match tokio::time::timeout_at(deadline, body.frame()).await {
            Err(_) => return false,
            Ok(None) => return true,
            // A keep-alive comment or an event: keep waiting for the end.
            Ok(Some(_)) => {}
        }
    }
}

#[tokio::test]
async fn an_event_stream_closes_when_its_session_closes_its_user_is_disabled_or_its_token_expires()
{
    let w = world();
    let (li, wang) = (w.login("li").await, w.login("wang").await);
    let mut li_events = open_events(&w, &li.access).await;
    let mut wang_events = open_events(&w, &wang.access).await;
    // Both streams are open, and were checked against their sessions once.
    assert!(!ends_within(&mut li_events, 1).await);
    assert!(!ends_within(&mut wang_events, 1).await);
    // li logs out; wang is disabled by the admin. Their tokens would live 15 more minutes.
    let body = json!({ "refresh_token": li.refresh }).to_string();
    let r = w.post_json("/v1/auth/logout", Some(&li.access), body).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    w.state.core.storage.set_disabled("wang", true).unwrap();
    assert!(
        ends_within(&mut li_events, 8).await,
        "li's stream outlived her logout"
    );
    assert!(
        ends_within(&mut wang_events, 8).await,
        "wang's stream outlived his account"
    );

    // A token that lives 2 seconds: its stream ends with it.
    let w = world_with(|c| c.access_ttl = Duration::from_secs(2));
    let zhang = w.login("zhang").await;
    let mut zhang_events = open_events(&w, &zhang.access).await;
    assert!(
        ends_within(&mut zhang_events, 8).await,
        "zhang's stream outlived his token"
    );
}
