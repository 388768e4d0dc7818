//! Live mode end to end: devices online through the real server see each other's writes
//! without anyone syncing by hand, come back after the server restarts, outlive their access
//! tokens, and stop promptly without leaving a thread behind.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::live::{Freezer, LiveDevice, has, named};
use common::org_with;
use fieldsync_core::client::CustomerPatch;

#[test]
fn a_write_on_one_online_device_reaches_the_other_without_a_manual_sync() {
    let o = org_with(&[]);
    let url = o.server.url();
    let phone = LiveDevice::new(&url, "li", "li-phone");
    let tablet = LiveDevice::new(&url, "zhang", "zhang-tablet");

    let id = phone.client.create_customer(named("实时客户")).unwrap();
    let took = tablet.until(Duration::from_secs(10), has(&id));
    println!("the rep's new customer was on the manager's tablet after {took:?}");
    // The tablet's listener was told which document changed, by kind.
    let told = tablet.changes.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(told.changed["customer"], vec![id.clone()]);

    // And back: the manager's correction reaches the phone.
    tablet
        .client
        .update_customer(
            &id,
            CustomerPatch {
                tier: Some("a".into()),
                ..CustomerPatch::default()
            },
        )
        .unwrap();
    phone.until(Duration::from_secs(10), |c| {
        c.customer(&id).is_ok_and(|c| c.tier.to_string() == "A")
    });
    phone.client.stop_live();
    tablet.client.stop_live();
}

#[test]
fn after_a_server_restart_both_devices_reconnect_and_converge() {
    let mut o = org_with(&[]);
    let url = o.server.url();
    let phone = LiveDevice::new(&url, "li", "li-phone");
    let laptop = LiveDevice::new(&url, "li", "li-laptop");
    let before = phone.client.create_customer(named("重启前")).unwrap();
    laptop.until(Duration::from_secs(10), has(&before));

    o.server.kill();
    // Written while the server is down: pushed once it is back.
    let during = laptop.client.create_customer(named("重启中")).unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    o.server.restart().unwrap();
    let after = phone.client.create_customer(named("重启后")).unwrap();

    phone.until(Duration::from_secs(40), has(&during));
    laptop.until(Duration::from_secs(40), has(&after));
    assert!(
        !laptop.relay.errors.lock().unwrap().is_empty(),
        "the laptop was told the server was gone"
    );
    for d in [&phone, &laptop] {
        assert_eq!(d.client.status().unwrap().unsent, 0);
    }
}

#[test]
fn a_live_session_outlives_its_access_token() {
    // Access tokens of 2 seconds: the event stream ends at each expiry and is opened again
    // with a refreshed token.
    let o = org_with(&["--access-ttl-secs=2"]);
    let url = o.server.url();
    let phone = LiveDevice::new(&url, "li", "li-phone");
    let tablet = LiveDevice::new(&url, "zhang", "zhang-tablet");
    std::thread::sleep(Duration::from_secs(5));
    let id = phone.client.create_customer(named("令牌过期后")).unwrap();
    tablet.until(Duration::from_secs(15), has(&id));
    let errors = tablet.relay.errors.lock().unwrap().clone();
    assert!(
        errors.iter().all(|e| !e.contains("log in")),
        "the session had to be refreshed, not ended: {errors:?}"
    );
}

#[test]
fn a_stream_gone_silent_is_opened_again_and_never_holds_up_a_stop() {
    let o = org_with(&[]);
    let url = o.server.url();
    // The tablet reaches the server through a relay whose connections can go silent.
    let relay = Freezer::start(&url);
    let tablet = LiveDevice::new(&relay.url, "zhang", "zhang-tablet");
    let phone = LiveDevice::new(&url, "li", "li-phone");
    let first = phone.client.create_customer(named("静默之前")).unwrap();
    tablet.until(Duration::from_secs(10), has(&first));

    // The tablet's stream goes silent without closing, as on a phone changing networks.
    relay.freeze();
    let second = phone.client.create_customer(named("静默之后")).unwrap();
    let took = tablet.until(Duration::from_secs(20), has(&second));
    println!("after the stream went silent, the write arrived in {took:?}");
    assert!(
        tablet
            .relay
            .errors
            .lock()
            .unwrap()
            .iter()
            .any(|e| e.contains("went silent")),
        "the tablet noticed the silence"
    );

    // Silence again, then a stop: it does not wait for the reader stuck on the dead stream.
    relay.freeze();
    let started = std::time::Instant::now();
    tablet.client.stop_live();
    let stopped = started.elapsed();
    println!("stop_live with a silent stream returned after {stopped:?}");
    assert!(
        stopped < Duration::from_secs(5),
        "stop_live took {stopped:?}"
    );
    assert!(!tablet.client.is_live());
}
