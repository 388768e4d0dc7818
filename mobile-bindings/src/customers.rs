//! Customer files and their contacts: create, correct, read and list (with search).
//!
//! Each method hands its record to the facade ([`fieldsync_core::Client`]) as the matching
//! input or patch, field by field (see [`crate::records`]); the defaults (owner, territory)
//! and the reading of each field (`""` clears, `"20 吨"`, `"128.50"`) are the facade's.

use crate::records::{
    ContactUpdate, Customer, CustomerFilter, CustomerRow, CustomerUpdate, NewCustomerRecord,
};
use crate::{FieldsyncClient, Res};
use fieldsync_core::client::ContactInput;

#[uniffi::export]
impl FieldsyncClient {
    /// Creates a customer file (offline) and returns its id. The owner is the logged-in user
    /// and the territory their only one, unless the record names others.
    pub fn create_customer(&self, customer: NewCustomerRecord) -> Res<String> {
        self.call(|c| Ok(c.create_customer(customer.into())?))
    }

    /// Changes the fields `update` sets, in one change, and returns the customer as it is
    /// now. An update that sets nothing is refused.
    pub fn update_customer(&self, id: String, update: CustomerUpdate) -> Res<Customer> {
        self.call(|c| Ok(c.update_customer(&id, update.into())?.into()))
    }

    /// Reads a customer file.
    pub fn get_customer(&self, id: String) -> Res<Customer> {
        self.call(|c| Ok(c.customer(&id)?.into()))
    }

    /// Lists customers matching `filter`.
    pub fn list_customers(&self, filter: CustomerFilter) -> Res<Vec<CustomerRow>> {
        self.call(|c| {
            let (rows, _total) = c.list_customers(&filter.try_into()?)?;
            Ok(rows.into_iter().map(Into::into).collect())
        })
    }

    /// Adds a contact to a customer and returns the customer as it is now.
    #[uniffi::method(default(title = None, phone = None, email = None, decision_maker = false))]
    pub fn add_contact(
        &self,
        customer_id: String,
        name: String,
        title: Option<String>,
        phone: Option<String>,
        email: Option<String>,
        decision_maker: bool,
    ) -> Res<Customer> {
        let contact = ContactInput {
            name,
            title,
            phone,
            email,
            decision_maker,
        };
        self.call(|c| Ok(c.add_contact(&customer_id, contact)?.into()))
    }

    /// Changes the fields `update` sets of contact `contact_id` (a `ContactRecord.id`) at
    /// customer `customer_id`, in one change, and returns the customer as it is now.
    pub fn update_contact(
        &self,
        customer_id: String,
        contact_id: String,
        update: ContactUpdate,
    ) -> Res<Customer> {
        self.call(|c| {
            Ok(c.update_contact(&customer_id, &contact_id, update.into())?
                .into())
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use fieldsync_core::client::CustomerPatch;
    use fieldsync_core::model::customer::CustomerEdit;

    #[test]
    fn an_update_maps_field_by_field_and_the_facade_reads_it() {
        let update = CustomerUpdate {
            tier: Some("b".into()),
            city: Some(String::new()),
            monthly_demand: Some("20 吨".into()),
            current_price: Some("128.50".into()),
            competitor_notes_append: Some("SKF cut prices".into()),
            ..Default::default()
        };
        let patch = CustomerPatch::from(update);
        assert_eq!(patch.city.as_deref(), Some(""));
        assert_eq!(patch.name, None);
        let edits = patch.edits().unwrap();
        assert!(edits.contains(&CustomerEdit::City(None)));
        assert!(edits.contains(&CustomerEdit::MonthlyDemand(Some(20), Some("吨".into()))));
        assert!(edits.contains(&CustomerEdit::AppendCompetitorNotes(
            "SKF cut prices".into()
        )));
        let bad = CustomerPatch::from(CustomerUpdate {
            current_price: Some("-5".into()),
            ..Default::default()
        });
        assert!(bad.edits().is_err());
    }
}
