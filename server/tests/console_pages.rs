//! The console's pages in-process (docs/PROTOCOL.md, "The console's session"): the page shell
//! at `/` in the language the browser or the `lang` cookie asks for, the assets with their
//! content types and caching, the labels of `/console/messages` (every key the console's
//! script names exists in both languages, and none is empty), and `/console/me`. The real
//! router is driven with `tower::ServiceExt::oneshot`; the browser test is
//! `tests/tests/console_e2e.rs`.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeSet;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::header::{
    ACCEPT_LANGUAGE, CACHE_CONTROL, CONTENT_TYPE, COOKIE, ETAG, IF_NONE_MATCH, SET_COOKIE,
};
use axum::http::{HeaderMap, Method, Request, StatusCode};
use fieldsync_core::model::customer::{CustomerStatus, CustomerType};
use fieldsync_core::model::visit::{Outcome, VisitType};
use fieldsync_core::store::FollowUpReason;
use fieldsync_server::config::{Config, build_state};
use fieldsync_server::console::pages::MESSAGE_PREFIXES;
use fieldsync_server::router;
use http_body_util::BodyExt;
use serde_json::{Map, Value, json};
use tower::ServiceExt;

/// The console's script, as the server embeds it.
const APP_JS: &str = include_str!("../console/app.js");

struct World {
    app: Router,
    _dir: tempfile::TempDir,
}

fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let state = build_state(&Config::new(dir.path().join("data"))).unwrap();
    support::add_team(&*state.core.storage);
    World {
        app: router(state),
        _dir: dir,
    }
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Reply {
    fn header(&self, name: impl axum::http::header::AsHeaderName) -> &str {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap())
            .unwrap_or("")
    }

    fn text(&self) -> String {
        String::from_utf8(self.body.to_vec()).unwrap()
    }

    #[track_caller]
    fn json(&self) -> Value {
        assert_eq!(self.status, StatusCode::OK, "{}", self.text());
        serde_json::from_slice(&self.body).unwrap()
    }
}

impl World {
    async fn call(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> Reply {
        let mut req = Request::builder().method(method).uri(path);
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let body = match body {
            Some(v) => {
                req = req.header(CONTENT_TYPE, "application/json");
                Body::from(v.to_string())
            }
            None => Body::empty(),
        };
        let resp = self
            .app
            .clone()
            .oneshot(req.body(body).unwrap())
            .await
            .unwrap();
        let (parts, body) = resp.into_parts();
        Reply {
            status: parts.status,
            headers: parts.headers,
            body: body.collect().await.unwrap().to_bytes(),
        }
    }

    async fn get(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        self.call(Method::GET, path, headers, None).await
    }

    /// The console's messages in `lang`, by key.
    async fn messages(&self, lang: &str) -> Map<String, Value> {
        let body = self
            .get(&format!("/console/messages?lang={lang}"), &[])
            .await
            .json();
        assert_eq!(body["lang"], lang);
        body["messages"].as_object().unwrap().clone()
    }
}

/// The string literals of a script (quoted with `'`, `"` or backquotes), its comments
/// skipped. Enough for the console's own script, whose regular expressions hold no quote.
fn string_literals(js: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = js.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut previous = ' ';
                for c in chars.by_ref() {
                    if previous == '*' && c == '/' {
                        break;
                    }
                    previous = c;
                }
            }
            '\'' | '"' | '`' => {
                let mut literal = String::new();
                while let Some(next) = chars.next() {
                    match next {
                        '\\' => literal.extend(chars.next()),
                        q if q == c => break,
                        other => literal.push(other),
                    }
                }
                out.push(literal);
            }
            _ => {}
        }
    }
    out
}

/// Every string literal of the script that is a message id of the catalog's console areas:
/// the keys it names (`t('page-…')`, a page's title key, either side of a choice), and the
/// prefixes it completes with a value of the wire (`word('page-outcome-', …)`), which end
/// with `-`.
fn literals_of_the_script() -> (BTreeSet<String>, BTreeSet<String>) {
    let mut keys = BTreeSet::new();
    let mut prefixes = BTreeSet::new();
    for literal in string_literals(APP_JS) {
        let is_id = MESSAGE_PREFIXES.iter().any(|p| literal.starts_with(p))
            && literal
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !is_id {
            continue;
        }
        if literal.ends_with('-') {
            prefixes.insert(literal);
        } else {
            keys.insert(literal);
        }
    }
    (keys, prefixes)
}

/// The values of the wire the script shows through each prefix it completes.
fn wire_values(prefix: &str) -> Vec<String> {
    let strings = |all: &[&str]| all.iter().map(|s| s.to_string()).collect();
    match prefix {
        "page-visit-type-" => VisitType::ALL.iter().map(|v| v.as_str().into()).collect(),
        "page-outcome-" => {
            let mut all: Vec<String> = Outcome::ALL.iter().map(|v| v.as_str().into()).collect();
            // A weekly report counts visits without an outcome under `none`.
            all.push("none".into());
            all
        }
        "page-customer-status-" => CustomerStatus::ALL
            .iter()
            .map(|v| v.as_str().into())
            .collect(),
        "page-customer-type-" => CustomerType::ALL
            .iter()
            .map(|v| v.as_str().into())
            .collect(),
        "page-reason-" => [
            FollowUpReason::NeverVisited,
            FollowUpReason::ExplicitDate,
            FollowUpReason::Cadence,
        ]
        .iter()
        .map(|r| {
            serde_json::to_value(r)
                .unwrap()
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect(),
        // The audit log's actions (docs/PROTOCOL.md, "Administration"), their dot a dash.
        "page-audit-" => strings(&[
            "user-create",
            "user-update",
            "territory-create",
            "territory-rename",
            "log-compact",
        ]),
        "role-" => strings(&["rep", "manager", "admin"]),
        // The error codes the routes the console calls answer with (docs/PROTOCOL.md,
        // "Errors"); any other shows the console's own words for a refusal.
        "error-" => strings(&[
            "bad_request",
            "unauthenticated",
            "token_expired",
            "account_disabled",
            "forbidden",
            "not_found",
            "method_not_allowed",
            "invalid",
            "too_large",
            "rate_limited",
            "internal",
            "unavailable",
        ]),
        other => panic!("app.js completes the prefix {other}: list its values here"),
    }
}

#[tokio::test]
async fn the_shell_speaks_the_language_the_browser_asks_for() {
    let w = world();
    let zh = w
        .get(
            "/",
            &[(ACCEPT_LANGUAGE.as_str(), "zh-CN,zh;q=0.9,en;q=0.8")],
        )
        .await;
    assert_eq!(zh.status, StatusCode::OK, "no session needed");
    assert_eq!(zh.header(CONTENT_TYPE), "text/html; charset=utf-8");
    let page = zh.text();
    assert!(page.contains(r#"<html lang="zh-CN">"#), "{page}");
    assert!(page.contains("<title>fieldsync 控制台</title>"), "{page}");
    assert!(page.contains("正在加载…"), "{page}");

    let en = w
        .get("/", &[(ACCEPT_LANGUAGE.as_str(), "en-US,en;q=0.9")])
        .await
        .text();
    assert!(en.contains(r#"<html lang="en">"#), "{en}");
    assert!(en.contains("<title>fieldsync console</title>"), "{en}");

    // The language switch's cookie wins over the header; a language the catalog lacks
    // does not.
    let chosen = w
        .get(
            "/",
            &[
                (ACCEPT_LANGUAGE.as_str(), "zh-CN"),
                (COOKIE.as_str(), "x=1; lang=en"),
            ],
        )
        .await
        .text();
    assert!(chosen.contains(r#"<html lang="en">"#));
    let chosen = w
        .get(
            "/",
            &[
                (ACCEPT_LANGUAGE.as_str(), "en"),
                (COOKIE.as_str(), "lang=zh-CN"),
            ],
        )
        .await
        .text();
    assert!(chosen.contains(r#"<html lang="zh-CN">"#));
    let ignored = w
        .get(
            "/",
            &[
                (ACCEPT_LANGUAGE.as_str(), "zh-CN"),
                (COOKIE.as_str(), "lang=fr"),
            ],
        )
        .await
        .text();
    assert!(ignored.contains(r#"<html lang="zh-CN">"#));
    let nothing = w.get("/", &[]).await.text();
    assert!(
        nothing.contains(r#"<html lang="en">"#),
        "English by default"
    );

    // Every text of the shell comes from the catalog, and only its own files may run.
    for page in [&page, &en] {
        assert!(!page.contains("page-") && !page.contains("{{"), "{page}");
    }
    let csp = zh.header("content-security-policy");
    assert!(csp.contains("script-src 'self'") && csp.contains("default-src 'none'"));
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(zh.header("x-content-type-options"), "nosniff");
    assert_eq!(zh.header("vary"), "Accept-Language, Cookie");
}

#[tokio::test]
async fn every_label_the_script_uses_exists_in_both_languages_and_none_is_empty() {
    let w = world();
    let (keys, prefixes) = literals_of_the_script();
    assert!(keys.len() > 150, "the script's keys were found: {keys:?}");
    assert!(
        keys.contains("page-live-on") && keys.contains("console-team-week"),
        "keys named outside t(…) are found too"
    );
    let mut missing = Vec::new();
    for lang in ["en", "zh-CN"] {
        let messages = w.messages(lang).await;
        let wanted = keys.iter().cloned().chain(
            prefixes
                .iter()
                .flat_map(|p| wire_values(p).into_iter().map(move |v| format!("{p}{v}"))),
        );
        for key in wanted {
            match messages.get(&key).and_then(Value::as_str) {
                Some(text) if !text.trim().is_empty() => {}
                Some(_) => missing.push(format!("{lang}: {key} is empty")),
                None => missing.push(format!("{lang}: {key} is missing")),
            }
        }
        // Only the console's areas are sent.
        assert!(
            messages
                .keys()
                .all(|k| MESSAGE_PREFIXES.iter().any(|p| k.starts_with(p))),
            "{lang}"
        );
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));

    let en = w.messages("en").await;
    let zh = w.messages("zh-CN").await;
    assert_eq!(
        en.keys().collect::<Vec<_>>(),
        zh.keys().collect::<Vec<_>>(),
        "both languages have the same keys"
    );
    assert_eq!(en["console-log-in"], "Log in");
    assert_eq!(zh["console-log-in"], "登录");
    assert_eq!(zh["page-visit-type-cold_visit"], "陌生拜访");
    // A message's variables come as {$name}, for the script to fill in.
    assert_eq!(
        en["page-person-with-title"], "{$name} ({$title})",
        "variables are left for the script"
    );
    assert_eq!(zh["page-person-with-title"], "{$name}（{$title}）");
    assert_eq!(en["page-list-separator"], ", ", "a quoted blank is kept");
}

#[tokio::test]
async fn accept_language_chooses_the_messages_when_none_is_asked_for() {
    let w = world();
    let zh = w
        .get(
            "/console/messages",
            &[(ACCEPT_LANGUAGE.as_str(), "zh-CN,zh;q=0.9")],
        )
        .await
        .json();
    assert_eq!(zh["lang"], "zh-CN");
    assert_eq!(zh["messages"]["console-approve"], "批准");
    let en = w
        .get("/console/messages", &[(ACCEPT_LANGUAGE.as_str(), "en")])
        .await
        .json();
    assert_eq!(en["lang"], "en");
    assert_eq!(en["messages"]["console-approve"], "Approve");
    // The one asked for wins over the header.
    let asked = w
        .get(
            "/console/messages?lang=en",
            &[(ACCEPT_LANGUAGE.as_str(), "zh-CN")],
        )
        .await
        .json();
    assert_eq!(asked["lang"], "en");
    for bad in ["lang=fr", "lang=en&lang=zh-CN"] {
        let r = w.get(&format!("/console/messages?{bad}"), &[]).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}");
        let body: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(body["error"], "bad_request", "{bad}");
    }
}

#[tokio::test]
async fn assets_are_served_with_their_content_types_and_caching() {
    let w = world();
    let shell = w.get("/", &[]).await.text();
    for (file, content_type, source) in [
        (
            "app.js",
            "text/javascript; charset=utf-8",
            &include_bytes!("../console/app.js")[..],
        ),
        (
            "app.css",
            "text/css; charset=utf-8",
            &include_bytes!("../console/app.css")[..],
        ),
        (
            "icon.svg",
            "image/svg+xml",
            &include_bytes!("../console/icon.svg")[..],
        ),
    ] {
        // The shell links the file under its version.
        let start = shell
            .find(&format!("/console/assets/{file}?v="))
            .unwrap_or_else(|| panic!("the shell links {file}"));
        let versioned: String = shell[start..].chars().take_while(|c| *c != '"').collect();
        let r = w.get(&versioned, &[]).await;
        assert_eq!(r.status, StatusCode::OK, "{versioned}");
        assert_eq!(r.header(CONTENT_TYPE), content_type, "{file}");
        assert_eq!(&r.body[..], source, "{file} is served as it is");
        assert_eq!(
            r.header(CACHE_CONTROL),
            "public, max-age=31536000, immutable",
            "{versioned}"
        );
        assert_eq!(r.header("x-content-type-options"), "nosniff");
        let etag = r.header(ETAG).to_string();
        assert!(
            etag.starts_with('"') && versioned.ends_with(etag.trim_matches('"')),
            "{etag}"
        );

        // Without the version it may change: revalidate, and an unchanged file is 304.
        let plain = w.get(&format!("/console/assets/{file}"), &[]).await;
        assert_eq!(plain.status, StatusCode::OK);
        assert_eq!(plain.header(CACHE_CONTROL), "no-cache");
        let again = w
            .get(
                &format!("/console/assets/{file}"),
                &[(IF_NONE_MATCH.as_str(), &etag)],
            )
            .await;
        assert_eq!(again.status, StatusCode::NOT_MODIFIED, "{file}");
        assert!(again.body.is_empty());
        let stale = w
            .get(
                &format!("/console/assets/{file}?v=0000"),
                &[(IF_NONE_MATCH.as_str(), "\"0000\"")],
            )
            .await;
        assert_eq!(stale.status, StatusCode::OK);
        assert_eq!(stale.header(CACHE_CONTROL), "no-cache", "an old version");
    }
    let missing = w.get("/console/assets/passwd", &[]).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let body: Value = serde_json::from_slice(&missing.body).unwrap();
    assert_eq!(body["error"], "not_found");
    let escape = w.get("/console/assets/..%2Fsrc%2Flib.rs", &[]).await;
    assert_eq!(
        escape.status,
        StatusCode::NOT_FOUND,
        "only the files it has"
    );
}

#[tokio::test]
async fn the_session_tells_the_console_its_user_and_team() {
    let w = world();
    let none = w.get("/console/me", &[]).await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);

    let login = w
        .call(
            Method::POST,
            "/console/login",
            &[],
            Some(json!({"username": "zhang", "password": support::password("zhang")})),
        )
        .await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.text());
    let cookies: Vec<String> = login
        .headers
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_string())
        .collect();
    let cookies = cookies.join("; ");
    let me = w
        .get("/console/me", &[(COOKIE.as_str(), cookies.as_str())])
        .await
        .json();
    assert_eq!(me["user"]["username"], "zhang");
    assert_eq!(me["user"]["role"], "manager");
    assert_eq!(me["user"]["territories"], json!(["east", "east2"]));
    let team: BTreeSet<&str> = me["team"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(team, BTreeSet::from(["zhang", "li", "wang"]));
}
