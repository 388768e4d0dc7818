#![no_main]
//! `change_validator`: see `fieldsync_fuzz::run_change_validator` for how the bytes are read and
//! what is checked.

use libfuzzer_sys::fuzz_target;

fuzz_target!(
    init: fieldsync_fuzz::report_panics_without_aborting(),
    |data: &[u8]| {
        let _ = fieldsync_fuzz::run_change_validator(data);
    }
);
