//! The console's browser session: a cookie holding an access token of a device session named
//! "web console" (HttpOnly, SameSite=Strict, Secure when served over TLS), and a CSRF token
//! (an HMAC of the session id, readable by the console's own scripts) that every write must
//! echo in `X-CSRF-Token`. The same routes take a bearer token instead, for apps.

use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, Method};

use crate::accounts::TokenKeys;
use crate::error::AppError;

/// The cookie holding the session's access token.
pub const SESSION_COOKIE: &str = "fieldsync_session";
/// The cookie holding the session's CSRF token, for the console's scripts to read.
pub const CSRF_COOKIE: &str = "fieldsync_csrf";
/// The header a write from the console carries its CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// How long a console session lasts: a working day.
pub const SESSION_TTL: std::time::Duration = std::time::Duration::from_secs(10 * 3600);

/// The value of cookie `name` in a request's `Cookie` headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// Refuses a request made with the session cookie that changes something without the
/// session's CSRF token: a page of another site could make the browser send the cookie, but
/// cannot know the token.
pub fn check_csrf(
    keys: &TokenKeys,
    method: &Method,
    headers: &HeaderMap,
    session: &str,
) -> Result<(), AppError> {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    let sent = headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let expected = keys.csrf_token(session);
    // Compared in constant time: the token is a secret.
    let same = sent.len() == expected.len()
        && sent
            .bytes()
            .zip(expected.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if same {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "this request lacks the console's CSRF token: reload the page and try again".into(),
        ))
    }
}

/// The `Set-Cookie` headers that open a console session.
pub fn open_cookies(token: &str, csrf: &str, secure: bool) -> Vec<HeaderValue> {
    let secure = if secure { "; Secure" } else { "" };
    let max_age = SESSION_TTL.as_secs();
    [
        format!(
            "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
        ),
        format!("{CSRF_COOKIE}={csrf}; Path=/; SameSite=Strict; Max-Age={max_age}{secure}"),
    ]
    .into_iter()
    .filter_map(|c| HeaderValue::from_str(&c).ok())
    .collect()
}

/// The `Set-Cookie` headers that end a console session.
pub fn close_cookies() -> Vec<HeaderValue> {
    [SESSION_COOKIE, CSRF_COOKIE]
        .into_iter()
        .filter_map(|name| {
            HeaderValue::from_str(&format!(
                "{name}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"
            ))
            .ok()
        })
        .collect()
}

/// Adds `cookies` to a response's headers.
pub fn set_cookies(headers: &mut HeaderMap, cookies: Vec<HeaderValue>) {
    for c in cookies {
        headers.append(SET_COOKIE, c);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::time::Duration;

    fn keys() -> TokenKeys {
        TokenKeys::new(&[7u8; 32], Duration::from_secs(60), Duration::from_secs(60))
    }

    #[test]
    fn cookies_are_read_by_name_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            COOKIE,
            HeaderValue::from_static("a=1; fieldsync_session=tok; b=2"),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE).as_deref(), Some("tok"));
        assert_eq!(cookie(&h, CSRF_COOKIE), None);
    }

    #[test]
    fn writes_need_the_sessions_own_csrf_token_and_reads_do_not() {
        let k = keys();
        let mut h = HeaderMap::new();
        assert!(check_csrf(&k, &Method::GET, &h, "s1").is_ok());
        assert!(check_csrf(&k, &Method::POST, &h, "s1").is_err());
        h.insert(
            CSRF_HEADER,
            HeaderValue::from_str(&k.csrf_token("s2")).unwrap(),
        );
        assert!(
            check_csrf(&k, &Method::POST, &h, "s1").is_err(),
            "another session's token does not do"
        );
        h.insert(
            CSRF_HEADER,
            HeaderValue::from_str(&k.csrf_token("s1")).unwrap(),
        );
        assert!(check_csrf(&k, &Method::POST, &h, "s1").is_ok());
        assert!(check_csrf(&k, &Method::PATCH, &h, "s1").is_ok());
    }

    #[test]
    fn the_session_cookie_is_http_only_strict_and_secure_over_tls() {
        let plain = open_cookies("t", "c", false);
        let session = plain[0].to_str().unwrap();
        assert!(session.contains("HttpOnly") && session.contains("SameSite=Strict"));
        assert!(!session.contains("Secure"));
        let tls = open_cookies("t", "c", true);
        assert!(tls.iter().all(|c| c.to_str().unwrap().contains("; Secure")));
        assert!(
            !tls[1].to_str().unwrap().contains("HttpOnly"),
            "scripts read the CSRF token"
        );
    }
}
