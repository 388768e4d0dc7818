//! fieldsync for Android and iOS apps.
//!
//! A thin uniffi layer over client-core: `#[uniffi::export]` wrappers and mirror records with
//! `From` conversions, no logic of its own. Kotlin, Swift and Python bindings are generated from
//! the built library. The bindings are built by the mobile-bindings work; this crate is the
//! place they go.
