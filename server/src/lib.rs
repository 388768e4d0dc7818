//! fieldsync relay server.
//!
//! The axum relay that devices sync with: accounts, JWT auth, access control, validation of
//! every pushed document with client-core's rules, and the change-log sync protocol. It depends
//! on client-core for the document model so that a rule is written once and enforced on both
//! sides. The protocol and storage are built by the server + sync work; this crate is the place
//! they go.
