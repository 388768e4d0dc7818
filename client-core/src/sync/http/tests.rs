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
    assert!(
        proposed.len() == 64 && proposed.bytes().all(|b| b.is_ascii_hexdigit()),
        "the proposed next token is 32 random bytes in hex: {proposed}"
    );
    assert_eq!(
        store.meta(NEXT_REFRESH_KEY).unwrap(),
        None,
        "answered: nothing pending"
    );
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

fn expired() -> Canned {
    json_answer(
        401,
        json!({"error": "token_expired", "message": "the access token expired"}),
    )
}

/// A sync whose refresh answer is lost (here: a 500 after the server may have taken the token),
/// and the proposed next token it left in the store.
fn sync_with_a_lost_refresh_answer(store: &Store) -> String {
    let (url, server) = serve(vec![
        expired(),
        json_answer(
            500,
            json!({"error": "internal", "message": "the server failed to handle this request; try again later"}),
        ),
    ]);
    logged_in(store, &url);
    let mut client = HttpClient::from_store(store).unwrap();
    let err = sync::sync(store, &mut client, |_| {}).unwrap_err();
    assert!(
        matches!(err, SyncError::Server { status: 500, .. }),
        "{err:?}"
    );
    let seen = server.join().unwrap();
    let refresh: serde_json::Value = serde_json::from_slice(&seen[1].body).unwrap();
    let proposed = refresh["next_refresh_token"].as_str().unwrap().to_string();
    assert_eq!(
        store.meta(NEXT_REFRESH_KEY).unwrap().as_deref(),
        Some(proposed.as_str())
    );
    assert!(status(store).unwrap().user.is_some(), "still logged in");
    proposed
}

#[test]
fn after_a_lost_refresh_answer_the_proposed_token_is_presented_first() {
    let dir = tempfile::tempdir().unwrap();
    let (store, id) = store_with_customer(&dir);
    let proposed = sync_with_a_lost_refresh_answer(&store);

    // The server took the proposed token: presenting it gives the next pair.
    let accepted = SyncResponse {
        accepted: vec![Accepted { id, heads: vec![] }],
        ..empty_response(1)
    };
    let (url, server) = serve(vec![
        expired(),
        token_pair(2, "li.wei"),
        cbor_answer(&accepted),
    ]);
    logged_in(&store, &url);
    store.set_meta(NEXT_REFRESH_KEY, &proposed).unwrap();
    let mut client = HttpClient::from_store(&store).unwrap();
    sync::sync(&store, &mut client, |_| {}).unwrap();
    let seen = server.join().unwrap();
    let refresh: serde_json::Value = serde_json::from_slice(&seen[1].body).unwrap();
    assert_eq!(refresh["refresh_token"], proposed.as_str());
    assert_ne!(refresh["next_refresh_token"], proposed.as_str());
    let saved = stored_session(&store).unwrap().unwrap();
    assert_eq!(saved.session.refresh_token, "refresh-2");
    assert_eq!(store.meta(NEXT_REFRESH_KEY).unwrap(), None);
}

#[test]
fn a_proposed_token_the_server_never_took_falls_back_to_the_current_one() {
    let dir = tempfile::tempdir().unwrap();
    let (store, id) = store_with_customer(&dir);
    let proposed = sync_with_a_lost_refresh_answer(&store);

    // The server never took it: unknown there (401, the session stays), so the current token
    // is presented next and the sync goes on.
    let accepted = SyncResponse {
        accepted: vec![Accepted { id, heads: vec![] }],
        ..empty_response(1)
    };
    let (url, server) = serve(vec![
        expired(),
        json_answer(
            401,
            json!({"error": "unauthenticated", "message": "the refresh token is unknown or expired: log in again"}),
        ),
        token_pair(2, "li.wei"),
        cbor_answer(&accepted),
    ]);
    logged_in(&store, &url);
    store.set_meta(NEXT_REFRESH_KEY, &proposed).unwrap();
    let mut client = HttpClient::from_store(&store).unwrap();
    sync::sync(&store, &mut client, |_| {}).unwrap();
    let seen = server.join().unwrap();
    let presented: Vec<String> = [1, 2]
        .iter()
        .map(|&i| {
            let body: serde_json::Value = serde_json::from_slice(&seen[i].body).unwrap();
            body["refresh_token"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(presented, [proposed.as_str(), "refresh-1"]);
    let saved = stored_session(&store).unwrap().unwrap();
    assert_eq!(saved.session.refresh_token, "refresh-2");
    assert!(store.unsent_documents().unwrap().is_empty());
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
