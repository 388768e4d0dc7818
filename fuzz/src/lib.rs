//! How fieldsync's fuzz targets turn bytes into calls of the server's own entry points, and the
//! valid inputs their corpora start from.
//!
//! The fuzz targets (`fuzz/fuzz_targets/*.rs`) and the regression test
//! `server/tests/fuzz_regressions.rs`, which includes this file as a module, run the same
//! functions, so an input the fuzzer saved reproduces on stable Rust under `cargo test`.
//!
//! Each `run_*` function calls what the server calls for a request and returns the typed answer
//! as a short code (`bad_request`, `accepted`, `rejected:schema`, …). It panics where the
//! server breaks a promise of docs/PROTOCOL.md: a panic inside the server, a 5xx answer to bad
//! input, or an answer that contradicts itself (a decoded request that does not encode back to
//! itself, an accepted document the server cannot read back as valid).
//!
//! - [`run_sync_request`]: the `POST /v1/sync` body decoder.
//! - [`run_change_validator`]: one sync round pushing changes for a document, against a fresh
//!   server store holding real seed documents (apply, schema and write rights).
//! - [`run_auth_header`]: the `Authorization` header check and token verification.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ActorId, AutoCommit, ObjId, ObjType, ROOT, ReadDoc, ScalarValue, ValueRef};
use axum::http::HeaderValue;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use fieldsync_core::model::customer::{Contact, NewCustomer};
use fieldsync_core::model::expense_claim::{ExpenseCategory, ExpenseItem, NewExpenseClaim};
use fieldsync_core::model::fields::Money;
use fieldsync_core::model::trip_plan::NewTripPlan;
use fieldsync_core::model::validate_document;
use fieldsync_core::model::visit::NewVisit;
use fieldsync_core::protocol::{PushDocument, SyncRequest, SyncResponse, encode};
use fieldsync_server::access::Principal;
use fieldsync_server::accounts::{AUDIENCE, ISSUER, TokenKeys};
use fieldsync_server::app::{decode_sync_request, verify_authorization};
use fieldsync_server::error::AppError;
use fieldsync_server::service::Core;
use fieldsync_server::storage::sqlite::SqliteStorage;
use fieldsync_server::storage::{Accounts, Role, Storage, User};
use serde_bytes::ByteBuf;
use sha2::{Digest, Sha256};

/// The three fuzz targets, as named under `fuzz/fuzz_targets/` and `fuzz/corpus/`.
pub const TARGETS: [&str; 3] = ["sync_request", "change_validator", "auth_header"];

/// The typed answers each target may give. Anything else is a finding.
pub fn allowed_outcomes(target: &str) -> &'static [&'static str] {
    match target {
        "sync_request" => &["ok", "bad_request"],
        "change_validator" => &[
            "accepted",
            "rejected:schema",
            "rejected:scope",
            "rejected:field_rights",
            "rejected:approval",
            "rejected:corrupt",
            "rejected:missing_dependencies",
            "rejected:kind",
            "rejected:too_large",
            "rejected:identity",
            // The whole round refused (413): more than one push may carry.
            "too_large",
        ],
        "auth_header" => &["ok", "unauthenticated", "token_expired"],
        _ => &[],
    }
}

/// Runs one input through the named target.
pub fn run(target: &str, data: &[u8]) -> String {
    match target {
        "sync_request" => run_sync_request(data),
        "change_validator" => run_change_validator(data),
        "auth_header" => run_auth_header(data),
        other => panic!("no fuzz target {other}"),
    }
}

/// The error code of an answer, as docs/PROTOCOL.md lists them.
fn code(e: &AppError) -> &'static str {
    match e {
        AppError::BadRequest(_) => "bad_request",
        AppError::Unserved(refused) => refused.code(),
        AppError::Unauthenticated(_) => "unauthenticated",
        AppError::TokenExpired => "token_expired",
        AppError::Forbidden(_) => "forbidden",
        AppError::NotFound(_) => "not_found",
        AppError::MethodNotAllowed(_) => "method_not_allowed",
        AppError::Invalid(_) => "invalid",
        AppError::TooLarge(_) => "too_large",
        AppError::RateLimited(_) => "rate_limited",
        AppError::Internal(_) => "internal",
        _ => "unknown",
    }
}

// ---------------------------------------------------------------------------------------------
// sync_request

/// Bytes as a `POST /v1/sync` body, through the decoder the handler uses. A body that decodes
/// must encode to a body that decodes to the same request; one that does not is a
/// `400 bad_request` with a message.
pub fn run_sync_request(data: &[u8]) -> String {
    match decode_sync_request(data) {
        Ok(req) => {
            let again = decode_sync_request(&encode(&req));
            assert!(
                again.as_ref().is_ok_and(|r| *r == req),
                "a decoded sync request does not survive encoding: {req:?} became {again:?}"
            );
            "ok".to_string()
        }
        Err(AppError::BadRequest(message)) => {
            assert!(!message.is_empty(), "a 400 answer without a message");
            "bad_request".to_string()
        }
        Err(other) => panic!("a bad sync body must be 400 bad_request, not {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// auth_header

/// The key of the fuzzing server. Not a secret: it only signs tokens inside the harness.
const TOKEN_SECRET: &[u8; 32] = b"fieldsync fuzz key: not a secret";

fn token_keys() -> &'static TokenKeys {
    static KEYS: OnceLock<TokenKeys> = OnceLock::new();
    KEYS.get_or_init(|| {
        TokenKeys::new(
            TOKEN_SECRET,
            Duration::from_secs(100 * 365 * 24 * 3600),
            Duration::from_secs(60),
        )
    })
}

/// A token signed with the server's own key over a header and claims of the fuzzer's choice,
/// so the fuzzer gets past the signature to the header, claims and expiry checks.
fn signed_token(jwt_header: &[u8], claims: &[u8]) -> String {
    let message = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(jwt_header),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let key = jsonwebtoken::EncodingKey::from_secret(TOKEN_SECRET);
    match jsonwebtoken::crypto::sign(message.as_bytes(), &key, jsonwebtoken::Algorithm::HS256) {
        Ok(signature) => format!("{message}.{signature}"),
        Err(e) => panic!("HS256 signing failed: {e}"),
    }
}

/// Bytes as an `Authorization` header, through the check the auth extractor runs. The first
/// byte picks how the rest is read:
/// - even: the rest is the header value (bytes HTTP cannot carry in a header are dropped);
/// - odd: the rest is `<JWT header JSON>\n<claims JSON>`, sent as `Bearer <token>` with a valid
///   HS256 signature of the server's key;
/// - no byte at all: no header.
///
/// A token that passes must carry this server's issuer and audience and not be expired; every
/// refusal is a 401.
pub fn run_auth_header(data: &[u8]) -> String {
    let keys = token_keys();
    let result = match data.split_first() {
        None => verify_authorization(keys, None),
        Some((mode, rest)) => {
            let mut value = if mode % 2 == 1 {
                let (jwt_header, claims) = match rest.iter().position(|&b| b == b'\n') {
                    Some(at) => (&rest[..at], &rest[at + 1..]),
                    None => (&br#"{"alg":"HS256","typ":"JWT"}"#[..], rest),
                };
                format!("Bearer {}", signed_token(jwt_header, claims)).into_bytes()
            } else {
                rest.to_vec()
            };
            value.retain(|&b| (b >= 0x20 && b != 0x7f) || b == b'\t');
            match HeaderValue::from_bytes(&value) {
                Ok(header) => verify_authorization(keys, Some(&header)),
                Err(e) => panic!("the filtered header value is still refused by http: {e}"),
            }
        }
    };
    match result {
        Ok(claims) => {
            let now = chrono::Utc::now().timestamp();
            assert!(
                claims.iss == ISSUER && claims.aud == AUDIENCE && claims.exp >= now - 5,
                "a token passed that should not have: {claims:?}"
            );
            "ok".to_string()
        }
        Err(e @ (AppError::Unauthenticated(_) | AppError::TokenExpired)) => code(&e).to_string(),
        Err(other) => panic!("a bad Authorization header must be a 401, not {other:?}"),
    }
}

/// A valid access token of rep `li`.
fn valid_token() -> String {
    match token_keys().issue("li", "rep", "fuzz-session") {
        Ok(token) => token,
        Err(e) => panic!("issuing a token failed: {e}"),
    }
}

// ---------------------------------------------------------------------------------------------
// change_validator

/// The users of the fuzzing server: an admin, two managers with their reps.
fn users() -> Vec<User> {
    let user = |name: &str, role, territories: &[&str], manager: Option<&str>| User {
        username: name.to_string(),
        role,
        territories: territories.iter().map(|t| t.to_string()).collect(),
        manager: manager.map(str::to_string),
        disabled: false,
        password_hash: "not a password hash: nobody logs in here".to_string(),
    };
    vec![
        user("ada", Role::Admin, &[], None),
        user("ming", Role::Manager, &["east"], None),
        user("li", Role::Rep, &["east"], Some("ming")),
        user("wang", Role::Rep, &["east"], Some("ming")),
        user("qian", Role::Manager, &["west"], None),
        user("zhao", Role::Rep, &["west"], Some("qian")),
    ]
}

const CUSTOMER_ID: &str = "01932c07-7a3e-7b8e-9f1e-3c2a1b0d4e5f";
const VISIT_ID: &str = "01932c07-8b4f-7c9f-8a2f-4d3b2c1e5f60";
const TRIP_ID: &str = "01932c07-9c50-7da0-9b30-5e4c3d2f6071";
const CLAIM_ID: &str = "01932c07-ad61-7eb1-8c41-6f5d4e307182";
const CONTACT_ID: &str = "01932c07-be72-7fc2-9d52-70604f418293";
const ITEM_ID: &str = "01932c07-cf83-70d3-8e63-8171504294a4";

/// Commit time of every change the harness makes, so the same input gives the same bytes.
const TIME: i64 = 1_772_443_800;
const NOW: &str = "2026-03-02T09:30:00Z";

/// The four seed documents, each as its changes: a customer of rep li in territory east, a
/// visit of li's at it, and li's trip plan and expense claim for manager ming. Fixed actors,
/// ids and times make them the same bytes in every process.
fn seed_docs() -> &'static [Vec<Vec<u8>>; 4] {
    static SEEDS: OnceLock<[Vec<Vec<u8>>; 4]> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let customer = NewCustomer {
            name: "华东机电设备有限公司".into(),
            territory: "east".into(),
            owner: "li".into(),
            city: Some("杭州".into()),
            notes: "wants a quote for 200 pumps".into(),
            created_by: "li".into(),
            ..Default::default()
        }
        .build(CUSTOMER_ID.into(), NOW.into())
        .map(|mut c| {
            c.contacts.push(Contact {
                id: CONTACT_ID.into(),
                name: "王经理".into(),
                title: Some("采购经理".into()),
                phone: Some("+86 571 8888 0000".into()),
                email: None,
                decision_maker: true,
            });
            c
        });
        let visit = NewVisit {
            customer: CUSTOMER_ID.into(),
            author: "li".into(),
            checkin_at: NOW.into(),
            utc_offset_minutes: 480,
            summary: "met the purchasing manager".into(),
            next_followup: Some("2026-03-09".into()),
            quote_amount: Some(Money::cny(1_250_000)),
            ..Default::default()
        }
        .build(VISIT_ID.into(), NOW.into());
        let trip = NewTripPlan {
            owner: "li".into(),
            approver: "ming".into(),
            title: "杭州 customers, March".into(),
            start_date: "2026-03-02".into(),
            end_date: "2026-03-06".into(),
            cities: vec!["杭州".into()],
            budget: Money::cny(300_000),
        }
        .build(TRIP_ID.into(), NOW.into());
        let claim = NewExpenseClaim {
            owner: "li".into(),
            approver: "ming".into(),
            trip: Some(TRIP_ID.into()),
            title: "March trip".into(),
            currency: None,
        }
        .build(CLAIM_ID.into(), NOW.into())
        .map(|mut c| {
            c.items.push(ExpenseItem {
                id: ITEM_ID.into(),
                date: "2026-03-02".into(),
                category: ExpenseCategory::Lodging,
                amount: Money::cny(45_000),
                description: Some("hotel".into()),
                invoice_photo: None,
                receipt: None,
            });
            c
        });
        let changes_of = |actor: u8, view: Result<AutoCommit, String>| -> Vec<Vec<u8>> {
            let mut doc = match view {
                Ok(doc) => doc.with_actor(ActorId::from([actor; 16])),
                Err(e) => panic!("a seed document breaks the schema: {e}"),
            };
            doc.commit_with(CommitOptions::default().with_time(TIME));
            doc.get_changes(&[])
                .into_iter()
                .map(|mut c| c.bytes().into_owned())
                .collect()
        };
        fn doc_of<T: autosurgeon::Reconcile, E: std::fmt::Display>(
            view: Result<T, E>,
        ) -> Result<AutoCommit, String> {
            let view = view.map_err(|e| e.to_string())?;
            let mut doc = AutoCommit::new();
            autosurgeon::reconcile(&mut doc, &view).map_err(|e| e.to_string())?;
            Ok(doc)
        }
        [
            changes_of(0xc1, doc_of(customer)),
            changes_of(0xc2, doc_of(visit)),
            changes_of(0xc3, doc_of(trip)),
            changes_of(0xc4, doc_of(claim)),
        ]
    })
}

const SEED_IDS: [&str; 4] = [CUSTOMER_ID, VISIT_ID, TRIP_ID, CLAIM_ID];

/// A seed document as an Automerge document.
fn seed_doc(index: usize) -> AutoCommit {
    let mut doc = AutoCommit::new();
    for change in &seed_docs()[index] {
        if let Err(e) = doc.load_incremental(change) {
            panic!("a seed change does not load: {e}");
        }
    }
    doc
}

/// A fresh server store on tmpfs where there is one (many stores are made a second).
fn fresh_dir() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    let made = if shm.is_dir() {
        tempfile::Builder::new()
            .prefix("fieldsync-fuzz-")
            .tempdir_in(shm)
    } else {
        tempfile::Builder::new().prefix("fieldsync-fuzz-").tempdir()
    };
    match made {
        Ok(dir) => dir,
        Err(e) => panic!("no temporary directory: {e}"),
    }
}

fn ok<T, E: std::fmt::Debug>(what: &str, r: Result<T, E>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("{what}: {e:?}"),
    }
}

/// Bytes as changes pushed for one document by one user, in one sync round against a fresh
/// store holding real seed documents:
///
/// - byte 0 picks the pushing user: ada (admin), ming (li's manager), li (the owner), wang
///   (li's colleague), qian (another team's manager), zhao (a rep of that team);
/// - byte 1 picks the document: 0–3 the stored customer, visit, trip plan or expense claim;
///   4–7 the same document new (not stored; for a new visit its customer is);
/// - byte 2 picks how the rest becomes changes: 0 raw bytes as one change; 1 the body of an
///   Automerge chunk whose first byte is the chunk type, framed with a valid checksum;
///   2 edit operations applied to the document (see `apply_ops`), pushed as Automerge changes.
///
/// The round must answer 200 with the document either accepted or rejected under one of the
/// documented rules; an accepted document must read back from the store as a valid document
/// with the acknowledged heads.
pub fn run_change_validator(data: &[u8]) -> String {
    let (who, rest) = data.split_first().map_or((0, data), |(b, r)| (*b, r));
    let (which, rest) = rest.split_first().map_or((0, rest), |(b, r)| (*b, r));
    let (mode, payload) = rest.split_first().map_or((2, rest), |(b, r)| (*b, r));
    let users = users();
    let principal = Principal::of(&users[usize::from(who) % users.len()], &users);
    let kind = usize::from(which % 8) % 4;
    let new = which % 8 >= 4;

    let mut stored = Vec::new();
    if kind == 1 {
        stored.push(0);
    }
    if !new {
        stored.push(kind);
    }
    let dir = fresh_dir();
    let db = dir.path().join("fieldsync.db");
    for (suffix, bytes) in template(&stored).iter() {
        ok(
            "writing the store",
            std::fs::write(db.with_extension(suffix), bytes),
        );
    }
    let storage = ok("opening the store", SqliteStorage::open_file(&db));
    let storage: Arc<dyn Storage> = Arc::new(storage);
    let mut core = ok("starting the core", Core::new(storage.clone(), 16));
    // The documents are dated NOW: judge them then, whenever the harness runs.
    core.fixed_time = Some(
        ok(
            "the harness's time",
            chrono::DateTime::parse_from_rfc3339(NOW),
        )
        .to_utc(),
    );

    let changes: Vec<Vec<u8>> = match mode % 3 {
        0 => vec![payload.to_vec()],
        1 => {
            let chunk = framed_chunk(payload);
            if new {
                let mut all = seed_docs()[kind].clone();
                all.push(chunk);
                all
            } else {
                vec![chunk]
            }
        }
        _ => edited(kind, new, payload),
    };
    let resp = match core.sync(&principal, push_changes(SEED_IDS[kind], changes)) {
        Ok(resp) => resp,
        Err(AppError::TooMuchWork(_)) => return "too_large".to_string(),
        Err(e) => panic!(
            "a pushed document got {} instead of an answer: {e:?}",
            code(&e)
        ),
    };
    let outcome = outcome_of(&resp, SEED_IDS[kind]);
    if outcome == "accepted" {
        check_stored(storage.as_ref(), SEED_IDS[kind], &resp);
    }
    let _ = encode(&resp);
    outcome
}

/// The files of a server store (`db`, and `db-wal` if the log was not folded in) holding the
/// users and the seed documents `stored`, each pushed by the admin. Made once per set and
/// copied for each input: the same state as seeding every time, at a fraction of the cost.
fn template(stored: &[usize]) -> Arc<Vec<(String, Vec<u8>)>> {
    type Templates = Mutex<HashMap<Vec<usize>, Arc<Vec<(String, Vec<u8>)>>>>;
    static TEMPLATES: OnceLock<Templates> = OnceLock::new();
    let templates = TEMPLATES.get_or_init(Default::default);
    if let Some(files) = ok("templates", templates.lock()).get(stored) {
        return files.clone();
    }
    let dir = fresh_dir();
    let db = dir.path().join("fieldsync.db");
    {
        let storage = ok("opening the store", SqliteStorage::open_file(&db));
        let users = users();
        for user in &users {
            ok("adding a user", storage.add_user(user));
        }
        let core = ok("starting the core", Core::new(Arc::new(storage), 16));
        let admin = Principal::of(&users[0], &users);
        for &index in stored {
            let seeded = ok(
                "seeding",
                core.sync(&admin, push(index, &seed_docs()[index])),
            );
            assert_eq!(seeded.accepted.len(), 1, "a seed was refused: {seeded:?}");
        }
    }
    let mut files = Vec::new();
    for suffix in ["db", "db-wal"] {
        if let Ok(bytes) = std::fs::read(db.with_extension(suffix)) {
            files.push((suffix.to_string(), bytes));
        }
    }
    let files = Arc::new(files);
    ok("templates", templates.lock()).insert(stored.to_vec(), files.clone());
    files
}

/// Lets the server catch panics, as it does in production, while fuzzing.
///
/// libfuzzer-sys installs a panic hook that aborts on every panic, even one the code under
/// test catches, such as a panic inside Automerge that `chunks::load_untrusted` turns into a
/// `corrupt` rejection. This hook only prints the panic and its backtrace; a panic that
/// escapes the server still ends the run, because libfuzzer-sys aborts on any panic that
/// reaches the fuzz target.
#[allow(
    dead_code,
    reason = "the fuzz target's; unused where the regression test includes this file"
)]
pub fn report_panics_without_aborting() {
    let _aborting = std::panic::take_hook();
    std::panic::set_hook(Box::new(|info| {
        eprintln!("{info}\n{}", std::backtrace::Backtrace::force_capture());
    }));
}

fn push(index: usize, changes: &[Vec<u8>]) -> SyncRequest {
    push_changes(SEED_IDS[index], changes.to_vec())
}

fn push_changes(id: &str, changes: Vec<Vec<u8>>) -> SyncRequest {
    SyncRequest {
        protocol: 1,
        cursor: 0,
        push: vec![PushDocument {
            id: id.to_string(),
            changes: changes.into_iter().map(ByteBuf::from).collect(),
        }],
    }
}

/// The answer for the pushed document: accepted, or rejected with a documented rule.
fn outcome_of(resp: &SyncResponse, id: &str) -> String {
    let accepted = resp.accepted.iter().filter(|a| a.id == id).count();
    let rejected: Vec<_> = resp.rejected.iter().filter(|r| r.id == id).collect();
    assert!(
        accepted + rejected.len() == 1 && resp.accepted.len() + resp.rejected.len() == 1,
        "one pushed document must get exactly one answer: {resp:?}"
    );
    match rejected.first() {
        None => "accepted".to_string(),
        Some(r) => {
            let outcome = format!("rejected:{}", r.rule);
            assert!(
                allowed_outcomes("change_validator").contains(&outcome.as_str()),
                "rejected under an undocumented rule: {r:?}"
            );
            assert!(
                r.reason.len() > 10,
                "a rejection must say what was wrong: {r:?}"
            );
            outcome
        }
    }
}

/// An accepted document reads back from the store, valid, with the acknowledged heads.
fn check_stored(storage: &dyn Storage, id: &str, resp: &SyncResponse) {
    let stored = ok("loading the accepted document", storage.load_doc(id));
    let Some(stored) = stored else {
        panic!("document {id} was accepted but is not stored");
    };
    let mut doc = match &stored.snapshot {
        Some(s) => ok("loading the stored snapshot", AutoCommit::load(s)),
        None => AutoCommit::new(),
    };
    ok(
        "loading the stored changes",
        doc.load_incremental(&stored.changes.concat()),
    );
    let view = match validate_document(&doc) {
        Ok(view) => view,
        Err(e) => panic!("document {id} was accepted but is stored invalid: {e}"),
    };
    assert_eq!(view.id(), id, "an accepted document changed its id");
    let mut heads: Vec<String> = doc.get_heads().iter().map(|h| h.to_string()).collect();
    heads.sort();
    let acknowledged = resp.accepted.iter().find(|a| a.id == id).map(|a| &a.heads);
    assert_eq!(
        Some(&heads),
        acknowledged,
        "the store's heads are not the acknowledged ones"
    );
}

/// `body` framed as an Automerge chunk: magic bytes, checksum, type, length, body. The first
/// byte of `body` is the chunk type (0 document, 1 change, 2 compressed change, others as is).
pub fn framed_chunk(body: &[u8]) -> Vec<u8> {
    let (kind, body) = body.split_first().map_or((1, body), |(k, b)| (*k % 4, b));
    let mut len = Vec::new();
    let mut n = body.len() as u64;
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            len.push(byte);
            break;
        }
        len.push(byte | 0x80);
    }
    let mut hasher = Sha256::new();
    hasher.update([kind]);
    hasher.update(&len);
    hasher.update(body);
    let hash = hasher.finalize();
    let mut out = vec![0x85, 0x6f, 0x4a, 0x83];
    out.extend_from_slice(&hash[..4]);
    out.push(kind);
    out.extend_from_slice(&len);
    out.extend_from_slice(body);
    out
}

/// The body of a framed chunk, with its type first: the inverse of [`framed_chunk`].
fn chunk_body(chunk: &[u8]) -> Vec<u8> {
    let mut at = 9;
    while chunk.get(at).is_some_and(|b| b & 0x80 != 0) {
        at += 1;
    }
    let mut body = vec![chunk[8]];
    body.extend_from_slice(&chunk[at + 1..]);
    body
}

/// The changes of a seed document edited with the operations in `ops`: for a stored document
/// the new changes only, for a new one all of them.
fn edited(kind: usize, new: bool, ops: &[u8]) -> Vec<Vec<u8>> {
    let mut base = seed_doc(kind);
    let base_heads = if new { Vec::new() } else { base.get_heads() };
    let mut doc = apply_ops(&mut base, ops);
    doc.get_changes(&base_heads)
        .into_iter()
        .map(|mut c| c.bytes().into_owned())
        .collect()
}

/// Root and nested field names of the four document kinds, and some that are none.
const KEYS: &[&str] = &[
    "kind",
    "schema",
    "id",
    "owner",
    "territory",
    "approver",
    "status",
    "author",
    "customer",
    "decided_by",
    "decided_at",
    "decision_note",
    "paid_at",
    "paid_by",
    "submitted_at",
    "manager_comments",
    "name",
    "type",
    "tier",
    "contacts",
    "items",
    "amount",
    "currency",
    "date",
    "category",
    "checkin_at",
    "utc_offset_minutes",
    "summary",
    "notes",
    "budget",
    "start_date",
    "end_date",
    "planned_visits",
    "cities",
    "quote_amount",
    "next_followup",
    "people_met",
    "geo",
    "lat",
    "lon",
    "monthly_demand",
    "key_account",
    "created_at",
    "text",
    "at",
    "",
];

/// Values that mean something to the schema or the rights checks.
const STRINGS: &[&str] = &[
    "li",
    "wang",
    "ming",
    "ada",
    "qian",
    "zhao",
    "east",
    "west",
    "draft",
    "submitted",
    "approved",
    "rejected",
    "paid",
    "customer",
    "visit",
    "trip_plan",
    "expense_claim",
    "A",
    "D",
    "active",
    "lost",
    "CNY",
    "USD",
    "lodging",
    "follow_up",
    "order",
    CUSTOMER_ID,
    VISIT_ID,
    TRIP_ID,
    CLAIM_ID,
    "2026-03-02",
    "2026-02-30",
    NOW,
    "",
];

/// Reads operation arguments from the fuzzer's bytes; past the end, everything is zero.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn byte(&mut self) -> u8 {
        let (b, rest) = self.0.split_first().map_or((0, &[][..]), |(b, r)| (*b, r));
        self.0 = rest;
        b
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        let n = n.min(self.0.len());
        let (taken, rest) = self.0.split_at(n);
        self.0 = rest;
        taken.to_vec()
    }

    fn u64(&mut self) -> u64 {
        let mut buf = [0u8; 8];
        let taken = self.bytes(8);
        buf[..taken.len()].copy_from_slice(&taken);
        u64::from_le_bytes(buf)
    }

    fn string(&mut self) -> String {
        let b = self.byte();
        if b < 0xc0 {
            STRINGS[usize::from(b) % STRINGS.len()].to_string()
        } else {
            let n = usize::from(self.byte() % 64);
            String::from_utf8_lossy(&self.bytes(n)).into_owned()
        }
    }

    fn key(&mut self) -> String {
        let b = self.byte();
        if b < 0xe0 {
            KEYS[usize::from(b) % KEYS.len()].to_string()
        } else {
            self.string()
        }
    }

    fn scalar(&mut self) -> ScalarValue {
        match self.byte() % 12 {
            0..=3 => ScalarValue::Str(self.string().into()),
            4 => ScalarValue::Int(i64::from(self.byte() as i8)),
            5 => ScalarValue::Int(self.u64() as i64),
            6 => ScalarValue::Uint(self.u64()),
            7 => ScalarValue::F64(f64::from_bits(self.u64())),
            8 => ScalarValue::Boolean(self.byte() % 2 == 1),
            9 => ScalarValue::Null,
            10 => ScalarValue::Timestamp(self.u64() as i64),
            _ => {
                let n = usize::from(self.byte() % 16);
                ScalarValue::Bytes(self.bytes(n))
            }
        }
    }
}

/// Every object of a document (at most 64), root first, with its type.
fn objects(doc: &AutoCommit) -> Vec<(ObjId, ObjType)> {
    let mut found = vec![(ROOT, ObjType::Map)];
    let mut next = 0;
    while next < found.len() && found.len() < 64 {
        let (obj, obj_type) = found[next].clone();
        next += 1;
        let children: Vec<ObjId> = match obj_type {
            ObjType::Map | ObjType::Table => doc
                .map_range(&obj, ..)
                .filter(|item| matches!(item.value, ValueRef::Object(_)))
                .map(|item| item.id())
                .collect(),
            ObjType::List => doc
                .list_range(&obj, ..)
                .filter(|item| matches!(item.value, ValueRef::Object(_)))
                .map(|item| item.id())
                .collect(),
            ObjType::Text => Vec::new(),
        };
        for child in children {
            if let Ok(t) = doc.object_type(&child) {
                found.push((child, t));
            }
        }
    }
    found
}

/// A fork of `base` edited with operations read from `ops`, committed. Each operation is an
/// opcode byte and its arguments; an operation Automerge refuses (a map key on a list, a
/// counter that is not one) is skipped. Opcodes (mod 9):
/// 0 put a value; 1 put a new map, list or text; 2 delete; 3 insert a value into a list;
/// 4 splice text; 5 increment a counter; 6 commit (start a new change); 7 put a value at the
/// root (the fields the rights checks watch); 8 switch to a concurrent edit of `base` by
/// another device, merged at the end (so conflicting values reach the checks).
fn apply_ops(base: &mut AutoCommit, ops: &[u8]) -> AutoCommit {
    let commit = |doc: &mut AutoCommit| {
        doc.commit_with(CommitOptions::default().with_time(TIME));
    };
    let mut docs = [
        base.fork().with_actor(ActorId::from([0xf1; 16])),
        base.fork().with_actor(ActorId::from([0xf2; 16])),
    ];
    let mut current = 0;
    let mut r = Reader(ops);
    let mut count = 0;
    while !r.0.is_empty() && count < 256 {
        count += 1;
        let op = r.byte() % 9;
        let doc = &mut docs[current];
        if op == 6 {
            commit(doc);
            continue;
        }
        if op == 8 {
            current = 1 - current;
            continue;
        }
        let objs = objects(doc);
        let (obj, obj_type) = if op == 7 {
            (ROOT, ObjType::Map)
        } else {
            objs[usize::from(r.byte()) % objs.len()].clone()
        };
        let len = doc.length(&obj);
        let index = usize::from(r.byte()) % (len + 1);
        let is_map = matches!(obj_type, ObjType::Map | ObjType::Table);
        let _ = match (op, is_map) {
            (0 | 7, true) => {
                let key = r.key();
                doc.put(&obj, key, r.scalar())
            }
            (0, false) if index < len && obj_type == ObjType::List => {
                doc.put(&obj, index, r.scalar())
            }
            (1, _) => {
                let new_type =
                    [ObjType::Map, ObjType::List, ObjType::Text][usize::from(r.byte() % 3)];
                if is_map {
                    let key = r.key();
                    doc.put_object(&obj, key, new_type).map(|_| ())
                } else if obj_type == ObjType::List {
                    doc.insert_object(&obj, index, new_type).map(|_| ())
                } else {
                    Ok(())
                }
            }
            (2, true) => {
                let key = r.key();
                doc.delete(&obj, key)
            }
            (2, false) if index < len => doc.delete(&obj, index),
            (3, false) if obj_type == ObjType::List => doc.insert(&obj, index, r.scalar()),
            (4, false) if obj_type == ObjType::Text => {
                let delete = usize::from(r.byte()) % (len - index + 1);
                let text = r.string();
                doc.splice_text(&obj, index, delete as isize, &text)
            }
            (5, true) => {
                let key = r.key();
                doc.increment(&obj, key, i64::from(r.byte() as i8))
            }
            _ => Ok(()),
        };
    }
    let [mut first, mut second] = docs;
    commit(&mut first);
    commit(&mut second);
    let _ = first.merge(&mut second);
    first
}

// ---------------------------------------------------------------------------------------------
// seeds

/// One valid input of a target and the answer it must get.
pub struct SeedInput {
    /// The fuzz target.
    pub target: &'static str,
    /// A file name for the corpus.
    pub name: &'static str,
    /// The input.
    pub data: Vec<u8>,
    /// The outcome code the input gets (see [`allowed_outcomes`]).
    pub expect: &'static str,
}

/// Operations (see [`apply_ops`]) that put `value` at root `key`.
fn put_root(key: &str, value: &str) -> Vec<u8> {
    let key_index = KEYS.iter().position(|k| *k == key);
    let value_index = STRINGS.iter().position(|s| *s == value);
    match (key_index, value_index) {
        (Some(k), Some(v)) => vec![7, 0, k as u8, 0, v as u8],
        _ => panic!("{key} or {value} is not in the harness's dictionaries"),
    }
}

/// Operations that set a root key to an arbitrary string.
fn put_root_text(key: &str, value: &str) -> Vec<u8> {
    let Some(k) = KEYS.iter().position(|k| *k == key) else {
        panic!("{key} is not in the harness's keys");
    };
    let mut ops = vec![7, 0, k as u8, 0, 0xff, value.len() as u8];
    ops.extend_from_slice(value.as_bytes());
    ops
}

/// A change that inserts `n` characters into a text: `n` operations in a few kilobytes.
fn text_bomb(n: usize) -> Vec<u8> {
    let mut doc = AutoCommit::new();
    let text = ok(
        "making a text",
        doc.put_object(ROOT, "notes", ObjType::Text),
    );
    ok("typing", doc.splice_text(&text, 0, 0, &"x".repeat(n)));
    doc.commit();
    let mut changes = doc.get_changes(&[]);
    changes
        .pop()
        .map(|mut c| c.bytes().into_owned())
        .unwrap_or_default()
}

/// A change chunk (with a checksum of zeros) whose action column is one run of `n`
/// operations: it claims far more work than its bytes.
fn forged_run(n: u64) -> Vec<u8> {
    let mut column = Vec::new();
    let mut rest = n;
    loop {
        let b = (rest & 0x7f) as u8;
        rest >>= 7;
        if rest == 0 && b & 0x40 == 0 {
            column.push(b);
            break;
        }
        column.push(b | 0x80);
    }
    column.push(0);
    // no deps; a one-byte actor; seq 1, start op 1, time 0, no message, no other actors
    let mut body = vec![0, 1, 0xab, 1, 1, 0, 0, 0];
    // one column: the action column (id 4, unsigned integers)
    body.extend([1, (4 << 4) | 2, column.len() as u8]);
    body.extend(&column);
    let mut chunk = vec![0x85, 0x6f, 0x4a, 0x83, 0, 0, 0, 0, 1, body.len() as u8];
    chunk.extend(&body);
    chunk
}

/// A change input: user, document, mode and payload.
fn change_input(who: &str, which: u8, mode: u8, payload: &[u8]) -> Vec<u8> {
    let Some(who) = users().iter().position(|u| u.username == who) else {
        panic!("no user {who}");
    };
    let mut data = vec![who as u8, which, mode];
    data.extend_from_slice(payload);
    data
}

/// The valid inputs each target's corpus starts from, with the answers they get.
pub fn seed_inputs() -> Vec<SeedInput> {
    let seed = |target, name, data, expect| SeedInput {
        target,
        name,
        data,
        expect,
    };
    let request = |cursor, push: Vec<PushDocument>| {
        encode(&SyncRequest {
            protocol: 1,
            cursor,
            push,
        })
    };
    let pushed = |index: usize| push(index, &seed_docs()[index]).push;
    let rename = edited(0, false, &put_root_text("name", "华东机电 (杭州)"));
    let token = valid_token();
    let claims = |exp: i64| {
        serde_json::json!({
            "sub": "li", "role": "rep", "sid": "fuzz-session",
            "iss": ISSUER, "aud": AUDIENCE, "iat": TIME, "exp": exp,
        })
        .to_string()
    };
    let signed = |jwt_header: &str, claims: String| {
        let mut data = vec![1];
        data.extend_from_slice(jwt_header.as_bytes());
        data.push(b'\n');
        data.extend_from_slice(claims.as_bytes());
        data
    };
    let header = |value: String| {
        let mut data = vec![0];
        data.extend_from_slice(value.as_bytes());
        data
    };
    let jwt_header = r#"{"alg":"HS256","typ":"JWT"}"#;
    let mut submit = put_root("status", "submitted");
    submit.extend(put_root_text("submitted_at", NOW));
    let mut approve = put_root("status", "approved");
    approve.extend(put_root_text("submitted_at", NOW));
    approve.extend(put_root("decided_by", "ming"));
    approve.extend(put_root_text("decided_at", NOW));
    vec![
        seed("sync_request", "first-sync", request(0, Vec::new()), "ok"),
        seed("sync_request", "push-customer", request(7, pushed(0)), "ok"),
        seed(
            "sync_request",
            "push-three",
            request(u64::MAX, [pushed(1), pushed(2), pushed(3)].concat()),
            "ok",
        ),
        seed(
            "sync_request",
            "unknown-field",
            encode(&serde_json::json!({"protocol": 1, "cursor": 0, "extra": true})),
            "bad_request",
        ),
        seed(
            "change_validator",
            "owner-renames-customer",
            change_input("li", 0, 2, &put_root_text("name", "华东机电 (杭州)")),
            "accepted",
        ),
        seed(
            "change_validator",
            "rep-moves-customer",
            change_input("li", 0, 2, &put_root("territory", "west")),
            "rejected:field_rights",
        ),
        seed(
            "change_validator",
            "colleague-edits-customer",
            change_input("wang", 0, 2, &put_root("tier", "A")),
            "rejected:scope",
        ),
        seed(
            "change_validator",
            "manager-hands-customer-over",
            change_input("ming", 0, 2, &put_root("owner", "wang")),
            "accepted",
        ),
        seed(
            "change_validator",
            "rep-blanks-kind",
            change_input("li", 0, 2, &put_root("kind", "")),
            "rejected:schema",
        ),
        seed(
            "change_validator",
            // 300,000 characters in one change: a few kilobytes, refused before it is built.
            "text-bomb",
            change_input("li", 0, 0, &text_bomb(300_000)),
            "rejected:too_large",
        ),
        seed(
            "change_validator",
            // A forged change whose one run claims a billion operations.
            "forged-billion-operations",
            change_input("li", 0, 0, &forged_run(1_000_000_000)),
            "rejected:too_large",
        ),
        seed(
            "change_validator",
            "rep-records-visit",
            change_input("li", 5, 2, &[]),
            "accepted",
        ),
        seed(
            "change_validator",
            "rep-overwrites-visit-comments-with-text",
            change_input("li", 1, 2, &put_root_text("manager_comments", "x")),
            "rejected:schema",
        ),
        seed(
            "change_validator",
            // The stored plan is a draft: nobody approves what was never submitted.
            "manager-approves-draft-trip",
            change_input("ming", 2, 2, &approve),
            "rejected:approval",
        ),
        seed(
            "change_validator",
            "rep-approves-own-trip",
            change_input("li", 2, 2, &approve),
            "rejected:approval",
        ),
        seed(
            "change_validator",
            "rep-submits-claim",
            change_input("li", 3, 2, &submit),
            "accepted",
        ),
        seed(
            "change_validator",
            "rep-creates-claim",
            change_input("li", 7, 2, &[]),
            "accepted",
        ),
        seed(
            "change_validator",
            "framed-rename",
            change_input("li", 0, 1, &chunk_body(&rename[0])),
            "accepted",
        ),
        seed(
            "change_validator",
            "raw-rename",
            change_input("li", 0, 0, &rename[0]),
            "accepted",
        ),
        seed(
            "change_validator",
            "raw-garbage",
            change_input("li", 0, 0, b"not automerge"),
            "rejected:corrupt",
        ),
        seed("auth_header", "no-header", Vec::new(), "unauthenticated"),
        seed(
            "auth_header",
            "bearer",
            header(format!("Bearer {token}")),
            "ok",
        ),
        seed(
            "auth_header",
            "bearer-lowercase-spaces",
            header(format!("bearer   {token}  ")),
            "ok",
        ),
        seed(
            "auth_header",
            "basic",
            header("Basic bGk6c2VjcmV0".to_string()),
            "unauthenticated",
        ),
        seed(
            "auth_header",
            "signed-claims",
            signed(jwt_header, claims(TIME + 100 * 365 * 24 * 3600)),
            "ok",
        ),
        seed(
            "auth_header",
            "signed-expired",
            signed(jwt_header, claims(TIME - 3600)),
            "token_expired",
        ),
        seed(
            "auth_header",
            "signed-alg-none",
            signed(r#"{"alg":"none"}"#, claims(TIME + 3600)),
            "unauthenticated",
        ),
    ]
}
