//! Customer files and their contacts: create, correct, read and list (with search).
//!
//! A [`CustomerUpdate`] becomes client-core `CustomerEdit`s, one per field set, applied in one
//! change; the rules of each field are client-core's.

use fieldsync_core::model::customer::{CustomerEdit, NewContact, NewCustomer};
use fieldsync_core::store::CustomerQuery;

use crate::records::{Customer, CustomerFilter, CustomerRow, CustomerUpdate, NewCustomerRecord};
use crate::{FieldsyncClient, Res, optional_text, parse, parse_opt};

/// The edits a [`CustomerUpdate`] asks for, in field order.
fn customer_edits(u: CustomerUpdate) -> Res<Vec<CustomerEdit>> {
    use CustomerEdit as E;
    let mut edits = Vec::new();
    if let Some(v) = u.name {
        edits.push(E::Name(v));
    }
    if let Some(v) = u.customer_type {
        edits.push(E::Type(parse(&v)?));
    }
    if let Some(v) = u.industry {
        edits.push(E::Industry(optional_text(v)));
    }
    if let Some(v) = u.territory {
        edits.push(E::Territory(v));
    }
    if let Some(v) = u.owner {
        edits.push(E::Owner(v));
    }
    if let Some(v) = u.province {
        edits.push(E::Province(optional_text(v)));
    }
    if let Some(v) = u.city {
        edits.push(E::City(optional_text(v)));
    }
    if let Some(v) = u.address {
        edits.push(E::Address(optional_text(v)));
    }
    if let Some(v) = u.phone {
        edits.push(E::Phone(optional_text(v)));
    }
    if let Some(v) = u.tier {
        edits.push(E::Tier(parse(&v)?));
    }
    if let Some(v) = u.status {
        edits.push(E::Status(parse(&v)?));
    }
    if let Some(v) = u.key_account {
        edits.push(E::KeyAccount(v));
    }
    if let Some(v) = u.current_supplier {
        edits.push(E::CurrentSupplier(optional_text(v)));
    }
    if let Some(v) = u.notes_append {
        edits.push(E::AppendNotes(v));
    }
    Ok(edits)
}

#[uniffi::export]
impl FieldsyncClient {
    /// Creates a customer file (offline) and returns its id.
    pub fn create_customer(&self, customer: NewCustomerRecord) -> Res<String> {
        self.with_store(|store| {
            let user = Self::user(store)?;
            let id = store.create_customer(NewCustomer {
                name: customer.name,
                customer_type: parse_opt(customer.customer_type.as_deref())?,
                industry: customer.industry,
                territory: customer.territory,
                owner: customer.owner.unwrap_or_else(|| user.username.clone()),
                province: customer.province,
                city: customer.city,
                address: customer.address,
                phone: customer.phone,
                geo: customer.geo.map(Into::into),
                tier: parse_opt(customer.tier.as_deref())?,
                status: parse_opt(customer.status.as_deref())?,
                key_account: customer.key_account,
                notes: customer.notes,
                contacts: Vec::new(),
                created_by: user.username,
            })?;
            Ok(id)
        })
    }

    /// Changes the fields `update` sets, in one change.
    pub fn update_customer(&self, id: String, update: CustomerUpdate) -> Res<Customer> {
        self.with_store(|store| {
            let edits = customer_edits(update)?;
            Ok(store.update_customer(&id, &edits)?.into())
        })
    }

    /// Reads a customer file.
    pub fn get_customer(&self, id: String) -> Res<Customer> {
        self.with_store(|store| Ok(store.customer(&id)?.into()))
    }

    /// Lists customers matching `filter`.
    pub fn list_customers(&self, filter: CustomerFilter) -> Res<Vec<CustomerRow>> {
        self.with_store(|store| {
            let q = CustomerQuery {
                territory: filter.territory,
                owner: filter.owner,
                tier: parse_opt(filter.tier.as_deref())?,
                status: parse_opt(filter.status.as_deref())?,
                key_account: filter.key_account,
                search: filter.search,
                limit: filter.limit,
                offset: filter.offset,
            };
            Ok(store
                .list_customers(&q)?
                .into_iter()
                .map(Into::into)
                .collect())
        })
    }

    /// Adds a contact to a customer.
    pub fn add_contact(
        &self,
        customer_id: String,
        name: String,
        title: Option<String>,
        phone: Option<String>,
    ) -> Res<Customer> {
        self.with_store(|store| {
            let edit = CustomerEdit::AddContact(NewContact {
                name,
                title,
                phone,
                ..Default::default()
            });
            Ok(store.update_customer(&customer_id, &[edit])?.into())
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::FieldsyncError;

    #[test]
    fn an_update_becomes_one_edit_per_field_set_and_empty_text_clears() {
        let edits = customer_edits(CustomerUpdate {
            tier: Some("B".into()),
            city: Some(" ".into()),
            notes_append: Some("pays on time".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            edits,
            vec![
                CustomerEdit::City(None),
                CustomerEdit::Tier(fieldsync_core::model::customer::Tier::B),
                CustomerEdit::AppendNotes("pays on time".into()),
            ]
        );
        let bad = customer_edits(CustomerUpdate {
            tier: Some("Z".into()),
            ..Default::default()
        });
        assert!(matches!(bad, Err(FieldsyncError::Invalid { .. })));
    }
}
