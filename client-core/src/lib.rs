//! fieldsync client core: the library every fieldsync client embeds.
//!
//! It holds a device's data for a field sales team: customer files, visit records, trip plans
//! and expense claims, each one Automerge document, in one local SQLite file with projection
//! tables for fast queries. Devices edit offline; their documents merge without losing an edit.
//!
//! - [`model`]: the document kinds, their typed views, edit operations and validation (shared
//!   with the server).
//! - [`store`]: the SQLite store: documents, projections, queries, and the primitives sync uses.
//! - [`conflicts`]: fields that hold concurrent values, so an app can ask the user.
//! - [`rights`]: who may see and change what, shared by the server and the device.
//! - [`sync`]: the client side of the sync protocol: rounds as plain functions over the store,
//!   and the HTTP transport to the server.
//! - [`attachments`]: the bytes of photos, receipts and evidence: the blob folder beside the
//!   store, resumable uploads and downloads, the cache budget.
//! - [`client`]: the application facade every app shares: the acting user, defaults, partial
//!   updates, and sync on its own connection so reads never wait for the network.
//!
//! ```
//! use fieldsync_core::model::customer::{NewCustomer, Tier};
//! use fieldsync_core::store::{CustomerQuery, Store};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let store = Store::open(dir.path().join("device.db")).unwrap();
//! let id = store
//!     .create_customer(NewCustomer {
//!         name: "华东精密机械有限公司".into(),
//!         territory: "east".into(),
//!         owner: "li.wei".into(),
//!         tier: Some(Tier::A),
//!         created_by: "li.wei".into(),
//!         ..Default::default()
//!     })
//!     .unwrap();
//! let found = store.list_customers(&CustomerQuery { search: Some("华东".into()), ..Default::default() }).unwrap();
//! assert_eq!(found[0].id, id);
//! ```
#![warn(missing_docs)]

pub mod attachments;
pub mod authorship;
pub mod chunks;
pub mod client;
pub mod conflicts;
pub mod cost;
pub mod error;
pub mod ids;
pub mod model;
pub mod protocol;
pub mod report;
pub mod rights;
pub mod store;
pub mod sync;

pub use client::Client;
pub use error::{Error, Result, ValidationError};
pub use store::Store;
