//! fieldsync relay server.
//!
//! The axum relay devices sync with: accounts, JWT auth, access control, validation of every
//! pushed document with client-core's rules, and the change-log sync protocol of
//! `docs/PROTOCOL.md`. It depends on client-core for the document model, so a rule is written
//! once and enforced on both sides.
//!
//! - [`app`]: routes and the HTTP layer; [`app::router`] is the whole server.
//! - [`service`]: the sync round and the handover as plain functions over storage.
//! - [`budget`]: the work taken on at once and each user's sync rate.
//! - [`group_commit`]: per-document claims and storage transactions shared by concurrent pushes.
//! - [`access`]: scope and write rights.
//! - [`accounts`]: passwords, access and refresh tokens, login rate limits.
//! - [`pull`]: what a pull sends, decided once for every storage backend.
//! - [`storage`]: the storage traits (accounts, documents, log) and the SQLite and PostgreSQL
//!   backends.
//! - [`nodes`]: several server nodes on one database hearing of each other's writes.
//! - [`console`]: the manager's web console and its browser sessions.
//! - [`admin`]: users, territories, health and the audit log, for administrators.
//! - [`openapi`]: the OpenAPI description of the JSON API.
//! - [`read`]: the read model (query tables of the documents) and the JSON API over it.
//! - [`attachments`]: photos and receipts: the blob store, resumable uploads, who may fetch
//!   what, thumbnails.
//! - [`backup`]: online backups of the SQLite database and the signing key, and restores.
//! - [`history`]: the history id sync answers carry, new after each restore.

pub mod access;
pub mod accounts;
pub mod admin;
pub mod app;
pub mod attachments;
pub mod backup;
pub mod budget;
pub mod config;
pub mod console;
pub mod error;
pub mod grace;
pub mod group_commit;
pub mod history;
pub mod metrics;
pub mod nodes;
pub mod openapi;
pub mod pull;
pub mod read;
pub mod request_log;
pub mod service;
pub mod storage;
pub mod unread_body;

pub use app::{AppState, router};
