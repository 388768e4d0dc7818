//! Per-user sync rates on the real server: past its rounds or its pushed operations a minute,
//! a user's rounds get `429` with `Retry-After` and a message that says to wait, nothing of the
//! refused round is stored, and other users (and admins) sync on.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Device, customer, login, org_with};
use fieldsync_core::model::customer::NewCustomer;
use fieldsync_core::protocol::{SyncRequest, encode};
use fieldsync_core::sync::SyncError;

/// One empty sync round of `token`: its status, `Retry-After` and body.
fn empty_round(base: &str, token: &str) -> (u16, Option<String>, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let body = encode(&SyncRequest {
        protocol: 1,
        cursor: 0,
        push: vec![],
    });
    let mut resp = agent
        .post(&format!("{base}/v1/sync"))
        .header("content-type", "application/cbor")
        .header("authorization", &format!("Bearer {token}"))
        .send(&body[..])
        .unwrap();
    let retry = resp
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    (status, retry, text)
}

#[test]
fn a_user_past_their_rounds_a_minute_waits_and_others_sync_on() {
    let o = org_with(&["--rounds-per-minute", "3"]);
    let base = o.server.url();
    let li = login(&base, "li")["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    for _ in 0..3 {
        assert_eq!(empty_round(&base, &li).0, 200);
    }
    let (status, retry, body) = empty_round(&base, &li);
    assert_eq!(status, 429, "{body}");
    let retry: u64 = retry.expect("a Retry-After header").parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["error"], "rate_limited");
    let message = answer["message"].as_str().unwrap();
    assert!(
        message.contains("too many sync rounds") && message.contains("wait"),
        "{message}"
    );
    // Another rep, and an admin, are not held by li's rounds.
    let wang = login(&base, "wang")["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(empty_round(&base, &wang).0, 200);
    let admin = login(&base, "admin")["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    for _ in 0..5 {
        assert_eq!(empty_round(&base, &admin).0, 200);
    }
}

#[test]
fn a_user_past_their_pushed_operations_a_minute_is_refused_and_nothing_is_stored() {
    let o = org_with(&["--pushed-ops-per-minute", "20000"]);
    let base = o.server.url();
    let li = Device::new(&base, "li", "phone");
    let small = li
        .store
        .create_customer(customer("小客户", "east", "li"))
        .unwrap();
    li.sync();
    let big = li
        .store
        .create_customer(NewCustomer {
            // 25,000 paragraphs: 25,000 operations.
            notes: "长\n".repeat(25_000),
            ..customer("大客户", "east", "li")
        })
        .unwrap();
    let e = li.try_sync().unwrap_err();
    match &e {
        SyncError::Server {
            status, message, ..
        } => {
            assert_eq!(*status, 429);
            assert!(message.contains("too much pushed"), "{message}");
        }
        other => panic!("expected a 429, got {other}"),
    }
    // The refused round stored nothing: the big customer is still unsent, the small one is
    // still the only one the manager sees.
    assert_eq!(li.store.unsent_documents().unwrap(), vec![big.clone()]);
    let zhang = Device::new(&base, "zhang", "laptop");
    zhang.sync();
    let ids: Vec<String> = zhang
        .store
        .document_ids()
        .unwrap()
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(ids, vec![small]);
}
