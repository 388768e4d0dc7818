//! The HTTP client against a real socket on 127.0.0.1 that gives canned answers: what is
//! sent, how answers and errors are read, and that an expired token is refreshed and the round
//! sent again. The real server's end-to-end tests live in the workspace's `tests/` crate.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::thread::JoinHandle;

use serde_json::json;

use super::*;
use crate::model::customer::NewCustomer;
use crate::protocol::{Accepted, PROTOCOL_VERSION, SyncRequest, SyncResponse, decode, encode};
use crate::sync::{self, status};

/// An answer the loopback server gives.
struct Canned {
    status: u16,
    content_type: &'static str,
    body: Vec<u8>,
}

fn json_answer(status: u16, body: serde_json::Value) -> Canned {
    Canned {
        status,
        content_type: JSON,
        body: body.to_string().into_bytes(),
    }
}

fn cbor_answer(response: &SyncResponse) -> Canned {
    Canned {
        status: 200,
        content_type: CBOR_CONTENT_TYPE,
        body: encode(response),
    }
}

fn token_pair(n: u32, user: &str) -> Canned {
    json_answer(
        200,
        json!({
            "access_token": format!("access-{n}"),
            "refresh_token": format!("refresh-{n}"),
            "expires_in": 900,
            "user": {"username": user, "role": "rep", "territories": ["east"], "manager": "zhang.min"},
        }),
    )
}

fn empty_response(cursor: u64) -> SyncResponse {
    SyncResponse {
        protocol: PROTOCOL_VERSION,
        accepted: vec![],
        rejected: vec![],
        documents: vec![],
        revoked: vec![],
        cursor,
        more: false,
        settings: None,
        history: None,
        forked_from: None,
    }
}

/// A request the loopback server received.
#[derive(Debug)]
struct Seen {
    path: String,
    authorization: Option<String>,
    content_type: Option<String>,
    body: Vec<u8>,
}

/// A real socket on 127.0.0.1 that answers one connection per canned answer, in order.
fn serve(answers: Vec<Canned>) -> (String, JoinHandle<Vec<Seen>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let mut seen = Vec::new();
        for answer in answers {
            let (stream, _) = listener.accept().unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            let mut reader = BufReader::new(stream);
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let path = line.split_whitespace().nth(1).unwrap().to_string();
            let (mut length, mut authorization, mut content_type) = (0, None, None);
            loop {
                let mut header = String::new();
                reader.read_line(&mut header).unwrap();
                let header = header.trim_end();
                if header.is_empty() {
                    break;
                }
                let (name, value) = header.split_once(':').unwrap();
                let value = value.trim().to_string();
                match name.to_ascii_lowercase().as_str() {
                    "content-length" => length = value.parse().unwrap(),
                    "authorization" => authorization = Some(value),
                    "content-type" => content_type = Some(value),
                    _ => {}
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            seen.push(Seen {
                path,
                authorization,
                content_type,
                body,
            });
            let mut stream = reader.into_inner();
            write!(
                stream,
                "HTTP/1.1 {} Canned\r\ncontent-type: {}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                answer.status,
                answer.content_type,
                answer.body.len()
            )
            .unwrap();
            stream.write_all(&answer.body).unwrap();
        }
        seen
    });
    (url, handle)
}

fn store_with_customer(dir: &tempfile::TempDir) -> (Store, String) {
    let store = Store::open(dir.path().join("d.db")).unwrap();
    let id = store
        .create_customer(NewCustomer {
            name: "华东精密机械有限公司".into(),
            territory: "east".into(),
            owner: "li.wei".into(),
            created_by: "li.wei".into(),
            ..Default::default()
        })
        .unwrap();
    (store, id)
}

/// Saves a session in the store as an earlier login would have.
fn logged_in(store: &Store, url: &str) {
    let saved = StoredSession {
        server_url: url.to_string(),
        session: parse_session(&token_pair(1, "li.wei").body).unwrap(),
        next_refresh_token: None,
    };
    store
        .set_meta(SESSION_KEY, &serde_json::to_string(&saved).unwrap())
        .unwrap();
}

#[test]
fn an_unreachable_server_is_a_network_error_that_says_what_to_do() {
    let mut client = HttpClient::new("http://127.0.0.1:1").unwrap();
    let err = client.login("li.wei", "pw", "laptop").unwrap_err();
    let SyncError::Network(detail) = &err else {
        panic!("expected a network error, got {err:?}");
    };
    assert!(
        detail.contains("cannot reach http://127.0.0.1:1"),
        "{detail}"
    );
    assert!(err.to_string().contains("check the network and sync again"));
}

#[test]
fn an_expired_token_is_refreshed_once_and_the_same_round_sent_again() {
    let dir = tempfile::tempdir().unwrap();
    let (store, id) = store_with_customer(&dir);
    let accepted = SyncResponse {
        accepted: vec![Accepted {
            id: id.clone(),
            heads: vec![],
        }],
        ..empty_response(1)
    };
    let (url, server) = serve(vec![
        token_pair(1, "li.wei"),
        json_answer(
            401,
            json!({"error": "token_expired", "message": "the access token expired: refresh it and retry"}),
        ),
        token_pair(2, "li.wei"),
        cbor_answer(&accepted),
    ]);
    let mut client = HttpClient::new(&url).unwrap().with_store(&store).unwrap();
    client.login("li.wei", "pw", "laptop").unwrap();

    let report = sync::sync(&store, &mut client, |_| {}).unwrap();
    let seen = server.join().unwrap();

    let paths: Vec<&str> = seen.iter().map(|s| s.path.as_str()).collect();
    assert_eq!(
        paths,
        ["/v1/auth/login", "/v1/sync", "/v1/auth/refresh", "/v1/sync"]
    );
    assert_eq!(seen[1].body, seen[3].body, "the same round, sent again");
    assert_eq!(seen[1].authorization.as_deref(), Some("Bearer access-1"));
    assert_eq!(seen[3].authorization.as_deref(), Some("Bearer access-2"));
    assert_eq!(seen[1].content_type.as_deref(), Some(CBOR_CONTENT_TYPE));
    let refresh: serde_json::Value = serde_json::from_slice(&seen[2].body).unwrap();
    assert_eq!(refresh["refresh_token"], "refresh-1");
    let proposed = refresh["next_refresh_token"].as_str().unwrap();
    assert_eq!(proposed.len(), 64, "32 random bytes, hex: {proposed}");
    assert!(proposed.bytes().all(|b| b.is_ascii_hexdigit()));
    let pushed: SyncRequest = decode(&seen[1].body).unwrap();
    assert_eq!(pushed.push[0].id, id);

    // One round: the push was accepted and nothing more is waiting.
    assert_eq!((report.round_trips, report.pushed), (1, 1));
    assert!(store.unsent_documents().unwrap().is_empty());
    assert_eq!(store.sync_cursor().unwrap(), 1);
    // The rotated pair is in the store, for the next start of the app.
    let saved = stored_session(&store).unwrap().unwrap();
    assert_eq!(saved.session.access_token, "access-2");
    assert_eq!(saved.session.refresh_token, "refresh-2");
    assert_eq!(HttpClient::from_store(&store).unwrap().server_url(), url);
}

#[test]
fn a_page_sent_ahead_and_refused_for_an_expired_token_is_asked_for_again_after_the_refresh() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("d.db")).unwrap();
    let expired = || {
        json_answer(
            401,
            json!({"error": "token_expired", "message": "the access token expired: refresh it and retry"}),
        )
    };
    let (url, server) = serve(vec![
        // The first page, with more to come: the next is sent ahead at once.
        cbor_answer(&SyncResponse {
            more: true,
            ..empty_response(5)
        }),
        // The page sent ahead, refused: the token expired meanwhile.
        expired(),
        // The round, sent again as it would have been without sending ahead.
        expired(),
        token_pair(2, "li.wei"),
        cbor_answer(&empty_response(6)),
    ]);
    logged_in(&store, &url);
    let mut client = HttpClient::from_store(&store).unwrap();

    let report = sync::sync(&store, &mut client, |_| {}).unwrap();
    let seen = server.join().unwrap();

    let paths: Vec<&str> = seen.iter().map(|s| s.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/v1/sync",
            "/v1/sync",
            "/v1/sync",
            "/v1/auth/refresh",
            "/v1/sync"
        ]
    );
    let next: SyncRequest = decode(&seen[1].body).unwrap();
    assert_eq!(
        (next.cursor, next.push.len()),
        (5, 0),
        "the next page's pull"
    );
    assert_eq!(seen[2].body, seen[1].body);
    assert_eq!(seen[4].body, seen[1].body);
    assert_eq!(seen[1].authorization.as_deref(), Some("Bearer access-1"));
    assert_eq!(seen[4].authorization.as_deref(), Some("Bearer access-2"));
    assert_eq!(report.round_trips, 2);
    assert_eq!(store.sync_cursor().unwrap(), 6);
}

#[test]
fn a_refresh_without_an_answer_is_sent_again_with_the_same_proposed_successor() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = store_with_customer(&dir);
    let expired = || {
        json_answer(
            401,
            json!({"error": "token_expired", "message": "the access token expired"}),
        )
    };
    let (url, server) = serve(vec![
        expired(),
        json_answer(
            503,
            json!({"error": "internal", "message": "try again later"}),
        ),
        expired(),
        token_pair(2, "li.wei"),
        cbor_answer(&SyncResponse {
            accepted: vec![],
            ..empty_response(1)
        }),
    ]);
    logged_in(&store, &url);
    let mut client = HttpClient::from_store(&store).unwrap();
    let err = sync::sync(&store, &mut client, |_| {}).unwrap_err();
    assert!(
        matches!(err, SyncError::Server { status: 503, .. }),
        "{err:?}"
    );
    // The app restarts: the proposal was saved with the session.
    let mut client = HttpClient::from_store(&store).unwrap();
    let _ = sync::sync(&store, &mut client, |_| {});
    let seen = server.join().unwrap();

    let refreshes: Vec<serde_json::Value> = seen
        .iter()
        .filter(|s| s.path == "/v1/auth/refresh")
        .map(|s| serde_json::from_slice(&s.body).unwrap())
        .collect();
    assert_eq!(refreshes.len(), 2);
    assert_eq!(refreshes[0], refreshes[1], "the same request, sent again");
    assert_eq!(refreshes[0]["refresh_token"], "refresh-1");
    // Answered: the new pair replaces the proposal.
    let saved = stored_session(&store).unwrap().unwrap();
    assert_eq!(saved.session.refresh_token, "refresh-2");
    assert_eq!(saved.next_refresh_token, None);
}

#[test]
fn a_refused_refresh_is_an_auth_error_and_forgets_the_session() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = store_with_customer(&dir);
    let (url, server) = serve(vec![
        json_answer(
            401,
            json!({"error": "token_expired", "message": "the access token expired"}),
        ),
        json_answer(
            401,
            json!({"error": "unauthenticated", "message": "the refresh token is unknown or expired: log in again"}),
        ),
    ]);
    logged_in(&store, &url);
    let mut client = HttpClient::from_store(&store).unwrap();
    let err = sync::sync(&store, &mut client, |_| {}).unwrap_err();
    server.join().unwrap();

    assert!(
        matches!(&err, SyncError::Auth(m) if m.contains("log in again")),
        "{err:?}"
    );
    assert!(client.session().is_none());
    assert_eq!(status(&store).unwrap().user, None);
    assert!(matches!(
        HttpClient::from_store(&store),
        Err(SyncError::Auth(_))
    ));
    assert_eq!(store.unsent_documents().unwrap().len(), 1, "nothing lost");
}

#[test]
fn a_disabled_account_is_its_own_error_on_sync_and_on_refresh() {
    for answers in [
        vec![json_answer(
            401,
            json!({"error": "account_disabled", "message": "the account li.wei is disabled"}),
        )],
        vec![
            json_answer(
                401,
                json!({"error": "token_expired", "message": "the access token expired"}),
            ),
            json_answer(
                401,
                json!({"error": "account_disabled", "message": "the account li.wei is disabled"}),
            ),
        ],
    ] {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = store_with_customer(&dir);
        let (url, server) = serve(answers);
        logged_in(&store, &url);
        let mut client = HttpClient::from_store(&store).unwrap();
        let err = sync::sync(&store, &mut client, |_| {}).unwrap_err();
        server.join().unwrap();

        assert!(matches!(&err, SyncError::AccountDisabled(_)), "{err:?}");
        assert_eq!(
            err.to_string(),
            "your account is disabled: ask your administrator"
        );
        assert!(!err.to_string().contains("log in again"));
        assert_eq!(store.unsent_documents().unwrap().len(), 1, "nothing lost");
    }
}

#[test]
fn a_server_that_does_not_answer_in_time_is_a_plain_timeout_message() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let holder = std::thread::spawn(move || {
        // Accept the connection and never answer until the client has given up.
        let (conn, _) = listener.accept().unwrap();
        std::thread::sleep(std::time::Duration::from_secs(2));
        drop(conn);
    });
    let mut client = HttpClient::new(&url).unwrap().with_timeouts(
        std::time::Duration::from_secs(1),
        std::time::Duration::from_millis(300),
    );
    let err = client.login("li.wei", "pw", "laptop").unwrap_err();
    holder.join().unwrap();
    assert_eq!(
        err.to_string(),
        format!(
            "the server {url} did not answer in time; check the network and sync again (nothing was lost)"
        )
    );
}

#[test]
fn server_errors_are_typed_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = store_with_customer(&dir);
    let (url, server) = serve(vec![
        json_answer(
            500,
            json!({"error": "internal", "message": "the server failed to handle this request; try again later"}),
        ),
        Canned {
            status: 502,
            content_type: "text/html",
            body: b"<html>bad gateway</html>".to_vec(),
        },
    ]);
    logged_in(&store, &url);
    let mut client = HttpClient::from_store(&store).unwrap();
    for expected in [500, 502] {
        let err = sync::sync(&store, &mut client, |_| {}).unwrap_err();
        let SyncError::Server {
            status,
            code,
            message,
        } = &err
        else {
            panic!("expected a server error, got {err:?}");
        };
        assert_eq!(*status, expected);
        if expected == 500 {
            assert_eq!(code, "internal");
            assert!(message.contains("try again later"));
        } else {
            assert_eq!(code, "");
            assert!(message.contains("check the server address"));
        }
    }
    server.join().unwrap();
    assert_eq!(store.unsent_documents().unwrap().len(), 1);
    assert_eq!(store.sync_cursor().unwrap(), 0);
    assert_eq!(store.last_sync_at().unwrap(), None);
}

#[test]
fn login_keeps_the_session_and_resets_the_cursor_for_another_user() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = store_with_customer(&dir);
    let (url, server) = serve(vec![
        token_pair(1, "li.wei"),
        token_pair(2, "li.wei"),
        token_pair(3, "wang.fang"),
        json_answer(
            401,
            json!({"error": "unauthenticated", "message": "wrong user name or password, or the account is disabled"}),
        ),
    ]);
    let mut client = HttpClient::new(&format!("{url}/"))
        .unwrap()
        .with_store(&store)
        .unwrap();

    let session = client.login("li.wei", "pw", "laptop").unwrap();
    assert_eq!(session.user.territories, ["east"]);
    assert_eq!(session.user.manager.as_deref(), Some("zhang.min"));
    assert!(
        !format!("{session:?}").contains("access-1"),
        "tokens stay out of logs"
    );
    let shown = status(&store).unwrap();
    assert_eq!(shown.server_url.as_deref(), Some(url.as_str()));
    assert_eq!(shown.user.unwrap().username, "li.wei");
    // The same user again keeps the cursor; another user starts from zero.
    store.set_sync_cursor(42).unwrap();
    client.login("li.wei", "pw", "laptop").unwrap();
    assert_eq!(store.sync_cursor().unwrap(), 42);
    client.login("wang.fang", "pw", "laptop").unwrap();
    assert_eq!(store.sync_cursor().unwrap(), 0);
    assert_eq!(status(&store).unwrap().user.unwrap().username, "wang.fang");

    let err = client.login("wang.fang", "wrong", "laptop").unwrap_err();
    assert!(matches!(&err, SyncError::Auth(m) if m.contains("wrong user name or password")));
    assert_eq!(
        status(&store).unwrap().user.unwrap().username,
        "wang.fang",
        "a failed login leaves the session as it was"
    );
    let seen = server.join().unwrap();
    let sent: serde_json::Value = serde_json::from_slice(&seen[0].body).unwrap();
    assert_eq!(
        sent,
        json!({"username": "li.wei", "password": "pw", "device_name": "laptop"})
    );
    assert_eq!(seen[0].content_type.as_deref(), Some(JSON));
    assert_eq!(seen[0].authorization, None);
}

#[test]
fn logout_tells_the_server_and_forgets_the_session() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = store_with_customer(&dir);
    let (url, server) = serve(vec![Canned {
        status: 204,
        content_type: JSON,
        body: vec![],
    }]);
    logged_in(&store, &url);
    let mut client = HttpClient::from_store(&store).unwrap();
    client.logout().unwrap();
    let seen = server.join().unwrap();
    assert_eq!(seen[0].path, "/v1/auth/logout");
    assert_eq!(seen[0].authorization.as_deref(), Some("Bearer access-1"));
    assert!(client.session().is_none());
    assert!(stored_session(&store).unwrap().is_none());
    assert!(matches!(
        sync::sync(&store, &mut client, |_| {}),
        Err(SyncError::Auth(_))
    ));
}

#[test]
fn an_https_address_gets_a_tls_handshake_and_a_failed_one_is_a_network_error() {
    use std::io::{Read, Write};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("https://{}", listener.local_addr().unwrap());
    // A plain-HTTP peer: it records the first bytes it gets and answers in clear text.
    let peer = std::thread::spawn(move || {
        let (mut socket, _) = listener.accept().unwrap();
        let mut first = [0u8; 3];
        socket.read_exact(&mut first).unwrap();
        let _ = socket.write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n");
        first
    });
    let mut client = HttpClient::new(&url)
        .unwrap()
        .with_timeouts(Duration::from_secs(2), Duration::from_secs(4));
    let outcome = client.login("li.wei", "pw", "laptop");
    // 0x16 0x03 0x0N: a TLS handshake record, the ClientHello.
    let first = peer.join().unwrap();
    assert_eq!(
        first[..2],
        [0x16, 0x03],
        "no TLS ClientHello was sent: {first:?}"
    );
    match outcome {
        Err(SyncError::Network(reason)) => assert!(reason.contains(&url), "{reason}"),
        other => panic!("expected a network error, got {other:?}"),
    }
}

#[test]
fn server_addresses_are_checked() {
    for bad in [
        "",
        "127.0.0.1:8080",
        "ftp://example.com",
        "http://",
        "http://a b",
    ] {
        assert!(
            matches!(HttpClient::new(bad), Err(SyncError::ServerUrl(_))),
            "{bad}"
        );
    }
    let client = HttpClient::new(" https://sync.example.com/fieldsync/ ").unwrap();
    assert_eq!(client.server_url(), "https://sync.example.com/fieldsync");
}

#[test]
fn a_client_too_old_answer_is_update_the_app_and_ends_the_sync() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = store_with_customer(&dir);
    let refused = crate::protocol::compat::check_within(1, 2, 3).unwrap_err();
    let (url, server) = serve(vec![json_answer(
        426,
        serde_json::to_value(refused.answer()).unwrap(),
    )]);
    logged_in(&store, &url);
    let mut client = HttpClient::from_store(&store).unwrap();
    let err = sync::sync(&store, &mut client, |_| {}).unwrap_err();
    let SyncError::UpdateApp { min_version } = &err else {
        panic!("expected UpdateApp, got {err:?}");
    };
    assert_eq!(min_version, "0.1.0");
    assert_eq!(
        err.to_string(),
        "this app is too old for the server: update the app to version 0.1.0 or later"
    );
    // One request: the refusal was not retried, and the session and the work are kept.
    assert_eq!(server.join().unwrap().len(), 1);
    assert!(stored_session(&store).unwrap().is_some());
    assert_eq!(store.unsent_documents().unwrap().len(), 1);
}

#[test]
fn a_server_too_old_answer_asks_for_the_server_to_be_upgraded() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = store_with_customer(&dir);
    let refused = crate::protocol::compat::check_within(4, 2, 3).unwrap_err();
    let (url, server) = serve(vec![json_answer(
        400,
        serde_json::to_value(refused.answer()).unwrap(),
    )]);
    logged_in(&store, &url);
    let mut client = HttpClient::from_store(&store).unwrap();
    let err = sync::sync(&store, &mut client, |_| {}).unwrap_err();
    assert!(matches!(err, SyncError::ServerTooOld), "{err:?}");
    assert!(
        err.to_string()
            .contains("ask your administrator to upgrade the server")
    );
    assert_eq!(server.join().unwrap().len(), 1);
}
