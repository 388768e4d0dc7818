//! The console's pages: the page shell at `/`, its assets under `/console/assets/`, its labels
//! in the reader's language (`/console/messages`) and who the session belongs to
//! (`/console/me`).
//!
//! The shell needs no session: it carries the login form, and everything else it shows comes
//! from the JSON API with the session cookie, put into the page by the browser as text nodes
//! (never `innerHTML` with data), under a Content-Security-Policy that allows only the
//! console's own script and style, so even a mistake there could not run a customer's name as
//! script.
//!
//! The assets are embedded with `include_str!`/`include_bytes!` rather than rust-embed: they
//! are four files known by name, each path is checked when the server compiles and cargo
//! rebuilds when one changes, and it adds no dependency to the workspace. Each is served with
//! its content type, a strong `ETag` (the start of its SHA-256), and, under the versioned URL
//! the shell links (`?v=<that tag>`), as immutable for a year; any other URL of it revalidates.
//!
//! The language: the `lang` cookie when it names one the catalog has (the console's language
//! switch sets it), else the browser's `Accept-Language` ([`Lang::from_accept_language`]),
//! else English. The shell says it in `<html lang>`, where the script reads it.

use std::sync::LazyLock;

use axum::Json;
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH, REFERRER_POLICY, VARY,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use fieldsync_i18n::{Lang, keys, tr};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::session::cookie;
use crate::app::{AppState, Authed};
use crate::error::AppError;

/// The cookie the console's language switch sets: a language tag (`zh-CN`, `en`).
pub const LANG_COOKIE: &str = "lang";

/// The prefixes of the catalog's message ids the console shows: its own pages' (`page-`), the
/// starter set (`console-`), and the words every part shares (roles, kinds, statuses, the
/// API's error codes).
pub const MESSAGE_PREFIXES: [&str; 6] =
    ["page-", "console-", "role-", "kind-", "status-", "error-"];

/// What the browser may load and run on a console page: only the console's own files, and
/// requests to its own server.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
     connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; \
     frame-ancestors 'none'";

/// The console's routes: the shell, the assets, the messages and the session's user.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(shell))
        .route("/console/assets/{file}", get(asset))
        .route("/console/messages", get(messages))
        .route("/console/me", get(me))
}

/// One embedded file.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
    /// The first 16 hex digits of the file's SHA-256: its `ETag` and its version in URLs.
    tag: String,
}

impl Asset {
    fn new(name: &'static str, content_type: &'static str, bytes: &'static [u8]) -> Asset {
        let digest = Sha256::digest(bytes);
        let tag = hex::encode(&digest[..8]);
        Asset {
            name,
            content_type,
            bytes,
            tag,
        }
    }
}

/// The page shell's template (its `{{…}}` holes are filled per request, escaped).
const SHELL: &str = include_str!("../../console/index.html");

/// The console's files, by the name they are served under.
static ASSETS: LazyLock<[Asset; 3]> = LazyLock::new(|| {
    [
        Asset::new(
            "app.js",
            "text/javascript; charset=utf-8",
            include_bytes!("../../console/app.js"),
        ),
        Asset::new(
            "app.css",
            "text/css; charset=utf-8",
            include_bytes!("../../console/app.css"),
        ),
        Asset::new(
            "icon.svg",
            "image/svg+xml",
            include_bytes!("../../console/icon.svg"),
        ),
    ]
});

fn find_asset(name: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.name == name)
}

/// The language to answer this request in: the `lang` cookie if it names a language of the
/// catalog, else the `Accept-Language` header, else English.
fn request_lang(headers: &HeaderMap) -> Lang {
    if let Some(lang) = cookie(headers, LANG_COOKIE).and_then(|v| Lang::parse(&v)) {
        return lang;
    }
    headers
        .get(axum::http::header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .map(Lang::from_accept_language)
        .unwrap_or_default()
}

/// `text` with the characters HTML gives a meaning escaped, for an element's text or a
/// quoted attribute.
fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The shell in `lang`, with the assets' versioned URLs.
fn render_shell(lang: Lang) -> String {
    let version = |name: &str| find_asset(name).map(|a| a.tag.as_str()).unwrap_or_default();
    [
        ("{{lang}}", lang.code().to_string()),
        ("{{title}}", tr(lang, "console-app-title")),
        ("{{loading}}", tr(lang, "console-loading")),
        ("{{noscript}}", tr(lang, "page-noscript")),
        ("{{skip}}", tr(lang, "page-skip-to-content")),
        ("{{css}}", version("app.css").to_string()),
        ("{{js}}", version("app.js").to_string()),
        ("{{icon}}", version("icon.svg").to_string()),
    ]
    .iter()
    .fold(SHELL.to_string(), |page, (hole, value)| {
        page.replace(hole, &escape_html(value))
    })
}

fn header(value: &'static str) -> HeaderValue {
    HeaderValue::from_static(value)
}

/// The headers every console page carries: no framing, no sniffing, only its own scripts.
fn page_headers(headers: &mut HeaderMap) {
    headers.insert(
        HeaderName::from_static("content-security-policy"),
        header(CSP),
    );
    headers.insert(X_CONTENT_TYPE_OPTIONS, header("nosniff"));
    headers.insert(X_FRAME_OPTIONS, header("DENY"));
    headers.insert(REFERRER_POLICY, header("same-origin"));
}

async fn shell(headers: HeaderMap) -> Response {
    let lang = request_lang(&headers);
    let mut response = render_shell(lang).into_response();
    let h = response.headers_mut();
    h.insert(CONTENT_TYPE, header("text/html; charset=utf-8"));
    // The page depends on the language, which the cookie or the header chose.
    h.insert(CACHE_CONTROL, header("no-cache"));
    h.insert(VARY, header("Accept-Language, Cookie"));
    page_headers(h);
    response
}

/// The query of an asset's URL: the version the shell linked (anything else is ignored).
#[derive(Deserialize)]
struct AssetQuery {
    v: Option<String>,
}

async fn asset(
    Path(file): Path<String>,
    q: Result<Query<AssetQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let query = crate::read::http::query(q, "v, the version the page links")?;
    let asset = find_asset(&file).ok_or_else(|| {
        AppError::NotFound(format!(
            "the console has no file {file}: its files are app.js, app.css and icon.svg"
        ))
    })?;
    let etag = format!("\"{}\"", asset.tag);
    let cache = if query.v.as_deref() == Some(asset.tag.as_str()) {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let unchanged = headers
        .get(IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut response = if unchanged {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        asset.bytes.into_response()
    };
    let h = response.headers_mut();
    if !unchanged {
        h.insert(CONTENT_TYPE, header(asset.content_type));
    }
    h.insert(CACHE_CONTROL, header(cache));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(ETAG, v);
    }
    h.insert(X_CONTENT_TYPE_OPTIONS, header("nosniff"));
    Ok(response)
}

/// Every message of the catalog the console shows, in `lang`, by key. A message with
/// variables comes with each one as `{$name}` (the default variant of a selection), for the
/// script to fill in.
fn console_messages(lang: Lang) -> Map<String, Value> {
    keys(lang)
        .into_iter()
        .filter(|key| MESSAGE_PREFIXES.iter().any(|p| key.starts_with(p)))
        .map(|key| {
            let text = tr(lang, &key);
            (key, Value::String(text))
        })
        .collect()
}

/// The query of `/console/messages`: the language asked for (without one, the request's).
#[derive(Deserialize)]
struct MessagesQuery {
    lang: Option<String>,
}

async fn messages(
    q: Result<Query<MessagesQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let lang = match crate::read::http::query(q, "lang (en or zh-CN)")?.lang {
        None => request_lang(&headers),
        Some(tag) => Lang::parse(&tag).ok_or_else(|| {
            AppError::BadRequest(format!(
                "the console speaks en and zh-CN, not '{tag}': ask for lang=en or lang=zh-CN"
            ))
        })?,
    };
    let mut response = Json(json!({
        "lang": lang.code(),
        "messages": console_messages(lang),
    }))
    .into_response();
    let h = response.headers_mut();
    h.insert(CACHE_CONTROL, header("no-cache"));
    h.insert(VARY, header("Accept-Language, Cookie"));
    Ok(response)
}

/// Who the session belongs to, for the console to know after a reload (its session cookie is
/// out of the script's reach): the user as a login answers, and their team (a manager's reps
/// and themselves; anyone else, themselves).
async fn me(auth: Authed) -> Json<Value> {
    let p = auth.principal;
    Json(json!({
        "user": {
            "username": p.username,
            "role": p.role.as_str(),
            "territories": p.territories,
            "manager": p.manager,
        },
        "team": p.team,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escaping_leaves_no_markup() {
        assert_eq!(
            escape_html("<img src=x onerror=\"alert('1')\">&"),
            "&lt;img src=x onerror=&quot;alert(&#39;1&#39;)&quot;&gt;&amp;"
        );
    }

    #[test]
    fn the_cookie_wins_over_the_header_and_a_bad_cookie_is_ignored() {
        let mut h = HeaderMap::new();
        h.insert(
            axum::http::header::ACCEPT_LANGUAGE,
            header("zh-CN,zh;q=0.9"),
        );
        assert_eq!(request_lang(&h), Lang::ZhCn);
        h.insert(axum::http::header::COOKIE, header("a=1; lang=en"));
        assert_eq!(request_lang(&h), Lang::En);
        h.insert(axum::http::header::COOKIE, header("lang=fr"));
        assert_eq!(request_lang(&h), Lang::ZhCn, "a language the catalog lacks");
    }

    #[test]
    fn the_shell_links_every_asset_by_its_version() {
        let page = render_shell(Lang::En);
        for asset in ASSETS.iter() {
            assert!(
                page.contains(&format!("/console/assets/{}?v={}", asset.name, asset.tag)),
                "{}",
                asset.name
            );
        }
        assert!(!page.contains("{{"), "every hole is filled");
    }
}
