//! One log line per request, for operators: the request's id, method, route, user, status and
//! duration.
//!
//! The route is the matched pattern (`/v1/customers/{id}`), never the URL: a query string
//! may hold what a manager searched for, which is the business's data, not the log's. The
//! user is filled in by the auth extractor once the token is checked ([`record_user`]).
//! The id comes from a sane `X-Request-Id` the client or proxy sent, else it is made here,
//! and it is echoed in the answer so a person can quote it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

/// The log target of the request lines: `--log info,fieldsync::request=warn` silences them.
pub const TARGET: &str = "fieldsync::request";

/// The header a request id travels in.
pub const REQUEST_ID: &str = "x-request-id";

/// Logs the request when its answer is ready, inside a span the handler's own events share.
pub async fn log_requests(req: Request, next: Next) -> Response {
    let id = incoming_id(req.headers().get(REQUEST_ID)).unwrap_or_else(new_id);
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "(no route)".to_owned());
    let span = tracing::info_span!(
        target: TARGET,
        "request",
        id = %id,
        method = %req.method(),
        route = %route,
        user = tracing::field::Empty,
    );
    let started = Instant::now();
    let mut response = next.run(req).instrument(span.clone()).await;
    let status = response.status().as_u16();
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    span.in_scope(|| {
        if status >= 500 {
            tracing::warn!(target: TARGET, status, ms, "answered");
        } else {
            tracing::info!(target: TARGET, status, ms, "answered");
        }
    });
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}

/// Records who made the current request, once their token or session is verified.
pub fn record_user(username: &str) {
    tracing::Span::current().record("user", username);
}

/// A request id sent by the client or a proxy, if it is short and plain (letters, digits,
/// `-`, `_`, `.`): anything else could forge log lines.
fn incoming_id(header: Option<&HeaderValue>) -> Option<String> {
    let text = header?.to_str().ok()?;
    let sane = !text.is_empty()
        && text.len() <= 64
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    sane.then(|| text.to_owned())
}

/// A new id: this process's random prefix and a counter, unique across nodes and restarts.
fn new_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    static PREFIX: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let prefix = PREFIX.get_or_init(|| {
        let mut bytes = [0u8; 4];
        let _ = getrandom::fill(&mut bytes);
        hex::encode(bytes)
    });
    format!("{prefix}-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_short_plain_request_id_is_taken_from_the_client() {
        let take = |s: &str| incoming_id(Some(&HeaderValue::from_str(s).expect("header")));
        assert_eq!(take("abc-123_x.y"), Some("abc-123_x.y".into()));
        assert_eq!(take("a b"), None);
        assert_eq!(take("x\"}{"), None);
        assert_eq!(take(&"a".repeat(65)), None);
        assert_ne!(new_id(), new_id());
    }
}
