//! Stopping live mode: prompt, and no thread of it left behind. Alone in its test binary, so
//! the threads counted are its own.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::live::{LiveDevice, named, threads_named};
use common::org_with;

#[test]
fn stopping_live_mode_is_prompt_and_leaves_no_thread_behind() {
    let o = org_with(&[]);
    let url = o.server.url();
    let phone = LiveDevice::new(&url, "li", "li-phone");
    // Connected and caught up.
    let id = phone.client.create_customer(named("停止前")).unwrap();
    phone.until(Duration::from_secs(10), |c| {
        c.status().is_ok_and(|s| s.unsent == 0)
    });
    assert!(phone.client.is_live());
    assert_eq!(threads_named("fieldsync-live"), 1);

    let started = Instant::now();
    phone.client.stop_live();
    let took = started.elapsed();
    println!("stop_live returned after {took:?}");
    assert!(took < Duration::from_secs(5), "stop_live took {took:?}");
    assert!(!phone.client.is_live());
    assert_eq!(threads_named("fieldsync-live"), 0);
    assert_eq!(threads_named("fieldsync-event"), 0);
    // Still usable, by hand.
    assert!(phone.client.customer(&id).is_ok());
    phone.client.sync(|_| {}).unwrap();
}
