//! Customer files and their contacts: create with the user's defaults, correct with a patch,
//! read and list.

use crate::client::input::{DEFAULT_CURRENCY, closed, demand, flag, optional_money, optional_text};
use crate::client::{Client, Result, invalid, user_of};
use crate::model::DocKind;
use crate::model::customer::{ContactEdit, Customer, CustomerEdit, NewContact, NewCustomer};
use crate::model::fields::Geo;
use crate::store::{CustomerQuery, CustomerRow};
use crate::{Error, ValidationError};

/// A new customer file as the user gives it. Values of closed sets are text (`tier` "A" or
/// "a", `status` "prospect", `customer_type` "distributor"); a value left `None` takes its
/// default.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CustomerInput {
    /// Company name (required).
    pub name: String,
    /// Territory; the user's own when they have exactly one.
    pub territory: Option<String>,
    /// The rep who owns it; the user by default.
    pub owner: Option<String>,
    /// `end_customer` (default), `distributor` or `direct_store`.
    pub customer_type: Option<String>,
    /// Industry.
    pub industry: Option<String>,
    /// Province.
    pub province: Option<String>,
    /// City.
    pub city: Option<String>,
    /// Street address.
    pub address: Option<String>,
    /// Switchboard phone.
    pub phone: Option<String>,
    /// Position.
    pub geo: Option<Geo>,
    /// `A` to `D` (`C` by default).
    pub tier: Option<String>,
    /// `prospect` (default), `active`, `dormant` or `lost`.
    pub status: Option<String>,
    /// A key account.
    pub key_account: bool,
    /// First notes.
    pub notes: String,
}

/// A correction of a customer file: each field set (`Some`) is changed, the others are left as
/// they are; an optional text set to [`CLEAR`](crate::client::input::CLEAR) is cleared. All in one change.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CustomerPatch {
    /// Company name.
    pub name: Option<String>,
    /// `end_customer`, `distributor` or `direct_store`.
    pub customer_type: Option<String>,
    /// Industry.
    pub industry: Option<String>,
    /// Territory (managers and admins).
    pub territory: Option<String>,
    /// Owner (managers and admins).
    pub owner: Option<String>,
    /// Province.
    pub province: Option<String>,
    /// City.
    pub city: Option<String>,
    /// Street address.
    pub address: Option<String>,
    /// Switchboard phone.
    pub phone: Option<String>,
    /// `A` to `D`.
    pub tier: Option<String>,
    /// `prospect`, `active`, `dormant` or `lost`.
    pub status: Option<String>,
    /// Key account, yes or no.
    pub key_account: Option<bool>,
    /// Who supplies them now.
    pub current_supplier: Option<String>,
    /// Their monthly demand, a quantity and its unit: "20 吨".
    pub monthly_demand: Option<String>,
    /// The price they pay now, in yuan: "128.50".
    pub current_price: Option<String>,
    /// A paragraph added to the notes, on a line of its own.
    pub notes_append: Option<String>,
    /// A paragraph added to the competitor notes.
    pub competitor_notes_append: Option<String>,
}

/// The fields [`CustomerPatch::set`] knows, for messages.
pub const CUSTOMER_FIELDS: &str = "name, type, industry, territory, owner, province, city, address, phone, tier, status, key_account, current_supplier, monthly_demand, current_price";

impl CustomerPatch {
    /// A patch of one field named as the user names it (`tier`, `city`, `key_account`, …) set
    /// to `value` as typed.
    pub fn set(field: &str, value: &str) -> std::result::Result<CustomerPatch, ValidationError> {
        let v = Some(value.to_string());
        let mut p = CustomerPatch::default();
        match field {
            "name" => p.name = v,
            "type" => p.customer_type = v,
            "industry" => p.industry = v,
            "territory" => p.territory = v,
            "owner" => p.owner = v,
            "province" => p.province = v,
            "city" => p.city = v,
            "address" => p.address = v,
            "phone" => p.phone = v,
            "tier" => p.tier = v,
            "status" => p.status = v,
            "key_account" => p.key_account = Some(flag(field, value)?),
            "current_supplier" => p.current_supplier = v,
            "monthly_demand" => p.monthly_demand = v,
            "current_price" => p.current_price = v,
            other => {
                return Err(ValidationError::new(
                    "customer",
                    format!("unknown field '{other}': use one of {CUSTOMER_FIELDS}"),
                ));
            }
        }
        Ok(p)
    }

    /// The edits this patch asks for, in field order.
    pub fn edits(self) -> std::result::Result<Vec<CustomerEdit>, ValidationError> {
        use CustomerEdit as E;
        let mut edits = Vec::new();
        let text = |v: String| optional_text(&v);
        if let Some(v) = self.name {
            edits.push(E::Name(v.trim().to_string()));
        }
        if let Some(v) = self.customer_type {
            edits.push(E::Type(closed(&v)?));
        }
        if let Some(v) = self.industry {
            edits.push(E::Industry(text(v)));
        }
        if let Some(v) = self.territory {
            edits.push(E::Territory(v.trim().to_string()));
        }
        if let Some(v) = self.owner {
            edits.push(E::Owner(v.trim().to_string()));
        }
        if let Some(v) = self.province {
            edits.push(E::Province(text(v)));
        }
        if let Some(v) = self.city {
            edits.push(E::City(text(v)));
        }
        if let Some(v) = self.address {
            edits.push(E::Address(text(v)));
        }
        if let Some(v) = self.phone {
            edits.push(E::Phone(text(v)));
        }
        if let Some(v) = self.tier {
            edits.push(E::Tier(closed(&v)?));
        }
        if let Some(v) = self.status {
            edits.push(E::Status(closed(&v)?));
        }
        if let Some(v) = self.key_account {
            edits.push(E::KeyAccount(v));
        }
        if let Some(v) = self.current_supplier {
            edits.push(E::CurrentSupplier(text(v)));
        }
        if let Some(v) = self.monthly_demand {
            let (quantity, unit) = demand("monthly_demand", &v)?;
            edits.push(E::MonthlyDemand(quantity, unit));
        }
        if let Some(v) = self.current_price {
            edits.push(E::CurrentPrice(optional_money(
                "current_price",
                &v,
                DEFAULT_CURRENCY,
            )?));
        }
        if let Some(v) = self.notes_append {
            edits.push(E::AppendNotes(v));
        }
        if let Some(v) = self.competitor_notes_append {
            edits.push(E::AppendCompetitorNotes(v));
        }
        Ok(edits)
    }
}

/// A new contact at a customer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContactInput {
    /// Full name (required).
    pub name: String,
    /// Job title.
    pub title: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// E-mail.
    pub email: Option<String>,
    /// Decides purchases.
    pub decision_maker: bool,
}

/// A correction of a contact, as [`CustomerPatch`] is of a customer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContactPatch {
    /// Full name.
    pub name: Option<String>,
    /// Job title.
    pub title: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// E-mail.
    pub email: Option<String>,
    /// Decides purchases.
    pub decision_maker: Option<bool>,
}

impl ContactPatch {
    fn edits(self) -> Vec<ContactEdit> {
        let mut edits = Vec::new();
        if let Some(v) = self.name {
            edits.push(ContactEdit::Name(v.trim().to_string()));
        }
        if let Some(v) = self.title {
            edits.push(ContactEdit::Title(optional_text(&v)));
        }
        if let Some(v) = self.phone {
            edits.push(ContactEdit::Phone(optional_text(&v)));
        }
        if let Some(v) = self.email {
            edits.push(ContactEdit::Email(optional_text(&v)));
        }
        if let Some(v) = self.decision_maker {
            edits.push(ContactEdit::DecisionMaker(v));
        }
        edits
    }
}

/// The territory of a new customer: the one given, or the user's only one.
fn territory_for(given: Option<String>, mine: &[String]) -> Result<String> {
    if let Some(t) = given.and_then(|t| optional_text(&t)) {
        return Ok(t);
    }
    match mine {
        [only] => Ok(only.clone()),
        [] => Err(invalid(ValidationError::new(
            "customer.territory",
            "you have no territory: name the customer's territory",
        ))),
        many => Err(invalid(ValidationError::new(
            "customer.territory",
            format!(
                "you work in {}: name the customer's territory",
                many.join(", ")
            ),
        ))),
    }
}

impl Client {
    /// Creates a customer file (offline) and returns its id.
    pub fn create_customer(&self, c: CustomerInput) -> Result<String> {
        self.write(|store| {
            let user = user_of(store)?;
            let new = NewCustomer {
                territory: territory_for(c.territory, &user.territories)?,
                owner: c
                    .owner
                    .and_then(|o| optional_text(&o))
                    .unwrap_or_else(|| user.username.clone()),
                name: c.name.trim().to_string(),
                customer_type: c
                    .customer_type
                    .as_deref()
                    .map(closed)
                    .transpose()
                    .map_err(invalid)?,
                industry: c.industry.and_then(|v| optional_text(&v)),
                province: c.province.and_then(|v| optional_text(&v)),
                city: c.city.and_then(|v| optional_text(&v)),
                address: c.address.and_then(|v| optional_text(&v)),
                phone: c.phone.and_then(|v| optional_text(&v)),
                geo: c.geo,
                tier: c.tier.as_deref().map(closed).transpose().map_err(invalid)?,
                status: c
                    .status
                    .as_deref()
                    .map(closed)
                    .transpose()
                    .map_err(invalid)?,
                key_account: c.key_account,
                notes: c.notes,
                contacts: Vec::new(),
                created_by: user.username,
            };
            Ok(store.create_customer(new)?)
        })
    }

    /// Changes the fields `patch` sets, in one change, and returns the customer as it is
    /// now. A patch that sets nothing is refused.
    pub fn update_customer(&self, id: &str, patch: CustomerPatch) -> Result<Customer> {
        let edits = patch.edits().map_err(invalid)?;
        if edits.is_empty() {
            return Err(invalid(ValidationError::new(
                "customer",
                "nothing to change: set at least one field",
            )));
        }
        self.edit_customer(id, &edits)
    }

    /// Adds a paragraph to a customer's notes.
    pub fn note_customer(&self, id: &str, text: &str) -> Result<Customer> {
        self.edit_customer(id, &[CustomerEdit::AppendNotes(text.to_string())])
    }

    /// Applies `edits` to customer `id`, which must be on this device.
    fn edit_customer(&self, id: &str, edits: &[CustomerEdit]) -> Result<Customer> {
        self.write(|store| {
            Ok(on_known(id, "customer", |id| {
                store.update_customer(id, edits)
            })?)
        })
    }

    /// Reads a customer file.
    pub fn customer(&self, id: &str) -> Result<Customer> {
        self.read(|store| on_known(id, "customer", |id| store.customer(id)))
    }

    /// The customers matching `query`, and how many match in all (for "20 of 431 shown").
    pub fn list_customers(&self, query: &CustomerQuery) -> Result<(Vec<CustomerRow>, u64)> {
        self.read(|store| Ok((store.list_customers(query)?, store.count_customers(query)?)))
    }

    /// Adds a contact to a customer and returns the customer as it is now.
    pub fn add_contact(&self, customer: &str, contact: ContactInput) -> Result<Customer> {
        let edit = CustomerEdit::AddContact(NewContact {
            name: contact.name.trim().to_string(),
            title: contact.title.and_then(|v| optional_text(&v)),
            phone: contact.phone.and_then(|v| optional_text(&v)),
            email: contact.email.and_then(|v| optional_text(&v)),
            decision_maker: contact.decision_maker,
        });
        self.edit_customer(customer, &[edit])
    }

    /// Changes the fields `patch` sets of contact `contact` at `customer`, in one change.
    pub fn update_contact(
        &self,
        customer: &str,
        contact: &str,
        patch: ContactPatch,
    ) -> Result<Customer> {
        let contact = crate::ids::parse_id(contact)?;
        let current = self.customer(customer)?;
        if !current.contacts.iter().any(|p| p.id == contact) {
            return Err(invalid(ValidationError::new(
                "contact",
                format!(
                    "{} has no contact {contact}: list its contacts",
                    current.name
                ),
            )));
        }
        let edits: Vec<CustomerEdit> = patch
            .edits()
            .into_iter()
            .map(|edit| CustomerEdit::UpdateContact {
                id: contact.clone(),
                edit,
            })
            .collect();
        if edits.is_empty() {
            return Err(invalid(ValidationError::new(
                "contact",
                "nothing to change: set its name, title, phone, e-mail or whether it decides",
            )));
        }
        self.edit_customer(&current.id, &edits)
    }
}

/// The canonical id of customer `id`, which this device must have (a look at its kind, not
/// a read of the document).
pub(crate) fn known_customer(store: &crate::Store, id: &str) -> crate::Result<String> {
    on_known(id, "customer", |id| match store.kind_of(id)? {
        DocKind::Customer => Ok(id.to_string()),
        found => Err(Error::WrongKind {
            id: id.to_string(),
            expected: DocKind::Customer.as_str(),
            found: found.as_str().to_string(),
        }),
    })
}

/// Runs `f` with the canonical form of `id`, the id of a document of `kind` the user named:
/// that this device does not have it is an [`Error::Unknown`] naming the kind. The operation
/// itself finds out, so nothing is read twice.
pub(crate) fn on_known<T>(
    id: &str,
    kind: &'static str,
    f: impl FnOnce(&str) -> crate::Result<T>,
) -> crate::Result<T> {
    let id = crate::ids::parse_id(id)?;
    f(&id).map_err(|e| match e {
        Error::NotFound(missing) if missing == id => Error::Unknown { kind, id },
        other => other,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::client::input::{self, CLEAR};
    use crate::model::customer::Tier;
    use crate::sync::SyncError;

    #[test]
    fn a_patch_becomes_one_edit_per_field_set_and_the_empty_text_clears() {
        let edits = CustomerPatch {
            tier: Some("b".into()),
            city: Some(CLEAR.into()),
            monthly_demand: Some("20 吨".into()),
            current_price: Some("128.50".into()),
            notes_append: Some("pays on time".into()),
            ..Default::default()
        }
        .edits()
        .unwrap();
        assert_eq!(
            edits,
            vec![
                CustomerEdit::City(None),
                CustomerEdit::Tier(Tier::B),
                CustomerEdit::MonthlyDemand(Some(20), Some("吨".into())),
                CustomerEdit::CurrentPrice(Some(crate::model::fields::Money::new(12850, "CNY"))),
                CustomerEdit::AppendNotes("pays on time".into()),
            ]
        );
        assert!(
            CustomerPatch {
                tier: Some("Z".into()),
                ..Default::default()
            }
            .edits()
            .is_err()
        );
        assert_eq!(
            CustomerPatch::set("key_account", "yes")
                .unwrap()
                .key_account,
            Some(true)
        );
        let unknown = CustomerPatch::set("colour", "red").unwrap_err();
        assert!(unknown.problem.contains("monthly_demand"), "{unknown}");
    }

    #[test]
    fn a_document_the_user_names_is_unknown_here_or_of_another_kind() {
        let dir = tempfile::tempdir().unwrap();
        let client = Client::open_in(dir.path(), "test").unwrap();
        let id = client
            .read(|s| {
                s.create_customer(crate::model::customer::NewCustomer {
                    name: "华东精密".into(),
                    territory: "east".into(),
                    owner: "li".into(),
                    created_by: "li".into(),
                    ..Default::default()
                })
            })
            .unwrap();
        let missing = crate::ids::new_id();
        let unknown = client.customer(&missing.to_uppercase()).unwrap_err();
        assert!(
            matches!(&unknown, SyncError::Store(Error::Unknown { kind: "customer", id }) if *id == missing),
            "{unknown}"
        );
        assert!(matches!(
            client.note_customer(&missing, "x"),
            Err(SyncError::Store(Error::Unknown { .. }))
        ));
        assert!(matches!(
            client.visit(&id),
            Err(SyncError::Store(Error::WrongKind { .. }))
        ));
        assert_eq!(
            known_customer(&client.app.lock().unwrap(), &id).unwrap(),
            id
        );
        assert_eq!(client.customer(&id).unwrap().name, "华东精密");
    }

    #[test]
    fn a_new_customer_goes_to_the_users_only_territory_or_asks_which() {
        assert_eq!(territory_for(None, &["east".into()]).unwrap(), "east");
        assert_eq!(
            territory_for(Some("west".into()), &["east".into()]).unwrap(),
            "west"
        );
        let many = territory_for(None, &["east".into(), "north".into()]).unwrap_err();
        assert!(many.to_string().contains("east, north"), "{many}");
        assert!(matches!(
            territory_for(Some(input::CLEAR.into()), &[]),
            Err(SyncError::Store(Error::Invalid(_)))
        ));
    }
}
