//! uniffi's binding generator, kept in its own crate so the app library's build never pulls in
//! its command-line dependencies.
//!
//! From the workspace root:
//! `cargo run -p uniffi-bindgen -- generate target/debug/libfieldsync_mobile.so --language python --out-dir DIR`

fn main() {
    uniffi::uniffi_bindgen_main()
}
