#![no_main]
//! `sync_request`: see `fieldsync_fuzz::run_sync_request` for how the bytes are read and what is checked.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = fieldsync_fuzz::run_sync_request(data);
});
