#![no_main]
//! `auth_header`: see `fieldsync_fuzz::run_auth_header` for how the bytes are read and what is checked.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = fieldsync_fuzz::run_auth_header(data);
});
