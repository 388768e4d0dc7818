//! What the store's unit tests share: documents made the same way in many of them.

#![allow(clippy::unwrap_used)]

use crate::Store;
use crate::model::customer::NewCustomer;

/// Creates a customer file of li.wei's in the east, named `name`, and returns its id.
pub(crate) fn customer_of_li(store: &Store, name: &str) -> String {
    store
        .create_customer(NewCustomer {
            name: name.into(),
            territory: "east".into(),
            owner: "li.wei".into(),
            created_by: "li.wei".into(),
            ..Default::default()
        })
        .unwrap()
}
