//! Helpers shared by the client-core integration tests: stores in temp dirs and exchange of
//! changes between them.
#![allow(dead_code, clippy::unwrap_used)]

pub mod org;

use fieldsync_core::Store;
use fieldsync_core::model::customer::{NewContact, NewCustomer, Tier};
use tempfile::TempDir;

/// A device: a store in its own temp dir.
pub struct Device {
    pub store: Store,
    pub dir: TempDir,
}

pub fn device(name: &str) -> Device {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join(format!("{name}.db"))).unwrap();
    store.set_author(name).unwrap();
    Device { store, dir }
}

/// Sends every change `from` has of `id` to `to`.
pub fn send(from: &Store, to: &Store, id: &str) {
    for change in from.changes_since(id, &[]).unwrap() {
        to.merge_changes(id, &change).unwrap();
    }
}

pub fn new_customer(name: &str) -> NewCustomer {
    NewCustomer {
        name: name.to_string(),
        territory: "east".to_string(),
        owner: "li.wei".to_string(),
        city: Some("苏州".to_string()),
        tier: Some(Tier::B),
        phone: Some("0512-6666-0000".to_string()),
        notes: "首次接触于展会。".to_string(),
        contacts: vec![NewContact {
            name: "金立基".to_string(),
            title: Some("采购经理".to_string()),
            phone: Some("138-0000-1111".to_string()),
            ..Default::default()
        }],
        created_by: "li.wei".to_string(),
        ..Default::default()
    }
}
