//! Faults against the real server process: SIGKILL in the middle of a stream of syncs from
//! several devices loses nothing acknowledged; hostile bodies and forged tokens over the wire get
//! a 4xx with a reason and change nothing.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use automerge::{AutoCommit, ChangeHash};
use base64::Engine;
use common::{Device, customer, org, visit};
use fieldsync_core::model::customer::CustomerEdit;

/// A document id and the heads a device had when a sync of it succeeded.
type Acked = (String, Vec<ChangeHash>);

#[test]
fn killing_the_server_during_syncs_loses_nothing_acknowledged() {
    let mut o = org();
    let url = o.server.url();
    let setups = [
        ("li", "li-phone"),
        ("li", "li-laptop"),
        ("wang", "wang-phone"),
    ];
    let devices: Vec<Device> = setups
        .iter()
        .map(|(u, d)| Device::new(&url, u, d))
        .collect();
    // Each rep's customer, known to all of their devices.
    let li_c = devices[0]
        .store
        .create_customer(customer("李的客户", "east", "li"))
        .unwrap();
    let wang_c = devices[2]
        .store
        .create_customer(customer("王的客户", "east", "wang"))
        .unwrap();
    for d in &devices {
        d.sync();
    }
    for d in &devices {
        d.sync();
    }

    let stop = Arc::new(AtomicBool::new(false));
    // (document, heads) that a device had when a sync of it succeeded: acknowledged.
    let acked: Arc<Mutex<Vec<Acked>>> = Arc::default();
    let mut workers = Vec::new();
    for (n, d) in devices.into_iter().enumerate() {
        let (stop, acked) = (stop.clone(), acked.clone());
        let customer_id = if d.user == "li" {
            li_c.clone()
        } else {
            wang_c.clone()
        };
        workers.push(std::thread::spawn(move || {
            let mut ok = 0;
            for i in 0..400 {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                if i % 3 == 0 {
                    d.store
                        .create_visit(visit(&customer_id, &d.user, &format!("设备{n}第{i}次")))
                        .unwrap();
                } else {
                    d.store
                        .update_customer(
                            &customer_id,
                            &[CustomerEdit::AppendNotes(format!("设备{n}-{i}"))],
                        )
                        .unwrap();
                }
                match d.try_sync() {
                    Ok(_) => {
                        ok += 1;
                        let mut a = acked.lock().unwrap();
                        for (id, _) in d.store.document_ids().unwrap() {
                            a.push((id.clone(), d.store.heads(&id).unwrap()));
                        }
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(30)),
                }
            }
            (d, ok)
        }));
    }
    for _ in 0..4 {
        std::thread::sleep(Duration::from_millis(400));
        o.server.kill();
        std::thread::sleep(Duration::from_millis(150));
        o.server.restart().unwrap();
    }
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    let mut devices = Vec::new();
    for w in workers {
        let (d, ok) = w.join().unwrap();
        assert!(ok > 0, "{} never synced", d.user);
        devices.push(d);
    }

    // The server's database survived the kills.
    let conn = rusqlite::Connection::open(o.data.path().join("fieldsync.db")).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");

    // Everyone syncs until quiet, then everything converges and every acknowledged change is on
    // the server.
    for _ in 0..3 {
        for d in &devices {
            d.sync();
        }
    }
    let admin = Device::new(&url, "admin", "audit");
    admin.sync();
    let server_docs = admin.documents();
    let acked = acked.lock().unwrap();
    assert!(
        acked.len() > 10,
        "too few acknowledged syncs to test anything: {}",
        acked.len()
    );
    for (id, heads) in acked.iter() {
        let mut doc = AutoCommit::load(&admin.store.document_bytes(id).unwrap()).unwrap();
        for h in heads {
            assert!(
                doc.get_change_by_hash(h).is_some(),
                "acknowledged change {h} of {id} is lost"
            );
        }
    }
    for d in &devices {
        for (id, doc) in d.documents() {
            assert_eq!(
                Some(&doc),
                server_docs.get(&id),
                "{}'s {id} differs from the server's",
                d.user
            );
        }
        assert!(d.store.unsent_documents().unwrap().is_empty());
        assert!(d.store.list_quarantine().unwrap().is_empty());
    }
    assert_eq!(
        devices[0].documents(),
        devices[1].documents(),
        "li's phone and laptop differ"
    );
}

fn post(
    url: &str,
    token: Option<&str>,
    content_type: &str,
    body: &[u8],
) -> (u16, serde_json::Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut req = agent.post(url).header("content-type", content_type);
    if let Some(t) = token {
        req = req.header("authorization", &format!("Bearer {t}"));
    }
    let mut resp = match req.send(body) {
        Ok(resp) => resp,
        // The server may answer a too-large body and close before the upload ends; the client
        // then sees the connection go away instead of the answer. Status 0 stands for that.
        Err(e) if body.len() > fieldsync_tests::server::MAX_BODY => {
            return (0, serde_json::json!({"connection": e.to_string()}));
        }
        Err(e) => panic!("POST {url} failed: {e}"),
    };
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
    )
}

fn login(base: &str, user: &str) -> String {
    let body = serde_json::json!({"username": user, "password": format!("pw-{user}-secret"), "device_name": "probe"});
    let (status, answer) = post(
        &format!("{base}/v1/auth/login"),
        None,
        "application/json",
        body.to_string().as_bytes(),
    );
    assert_eq!(status, 200, "{answer}");
    answer["access_token"].as_str().unwrap().to_string()
}

#[test]
fn hostile_bodies_and_forged_tokens_over_the_wire_get_4xx_and_change_nothing() {
    let o = org();
    let base = o.server.url();
    let li = Device::new(&base, "li", "phone");
    li.store
        .create_customer(customer("李的客户", "east", "li"))
        .unwrap();
    li.sync();
    let snapshot = || {
        let admin = Device::new(&base, "admin", "audit");
        admin.sync();
        admin.documents()
    };
    let before: BTreeMap<String, serde_json::Value> = snapshot();

    let token = login(&base, "li");
    let sync = format!("{base}/v1/sync");
    let good = fieldsync_core::protocol::encode(&fieldsync_core::protocol::SyncRequest {
        protocol: 1,
        cursor: 0,
        push: vec![],
    });
    for (what, content_type, body, status, code) in [
        (
            "not CBOR",
            "application/cbor",
            b"{not cbor".to_vec(),
            400,
            "bad_request",
        ),
        (
            "truncated CBOR",
            "application/cbor",
            good[..good.len() - 1].to_vec(),
            400,
            "bad_request",
        ),
        (
            "wrong content type",
            "application/json",
            b"{}".to_vec(),
            415,
            "unsupported_media_type",
        ),
        (
            "oversized body",
            "application/cbor",
            vec![0u8; 17 << 20],
            413,
            "too_large",
        ),
    ] {
        let (s, answer) = post(&sync, Some(&token), content_type, &body);
        if s == 0 && status == 413 {
            // Refused before the upload ended (the JSON 413 itself is checked in-process).
            continue;
        }
        assert_eq!(s, status, "{what}: {answer}");
        assert_eq!(answer["error"], code, "{what}: {answer}");
        assert!(
            answer["message"].as_str().is_some_and(|m| m.len() > 10),
            "{what}: {answer}"
        );
    }

    // Forged tokens: garbage, alg none, a valid token whose payload was edited.
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let parts: Vec<&str> = token.split('.').collect();
    let mut claims: serde_json::Value =
        serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
    claims["sub"] = "admin".into();
    claims["role"] = "admin".into();
    let edited = b64.encode(claims.to_string());
    let none = format!(
        "{}.{}.",
        b64.encode(r#"{"alg":"none","typ":"JWT"}"#),
        edited
    );
    let tampered = format!("{}.{}.{}", parts[0], edited, parts[2]);
    for (what, forged) in [
        ("garbage", "abc.def.ghi".to_string()),
        ("alg none", none),
        ("edited payload", tampered),
    ] {
        let (s, answer) = post(&sync, Some(&forged), "application/cbor", &good);
        assert_eq!(s, 401, "{what}: {answer}");
        assert_eq!(answer["error"], "unauthenticated", "{what}");
    }
    let (s, _) = post(&sync, None, "application/cbor", &good);
    assert_eq!(s, 401);

    assert_eq!(
        snapshot(),
        before,
        "a refused request changed the stored data"
    );
}
