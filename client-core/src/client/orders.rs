//! Orders: a rep takes one offline for a customer they own, adds lines and submits it; a
//! manager or an admin (never the rep who took it) confirms, ships, records the payment or
//! cancels it. The facade fills in the owner (the user), the day (today), the unit and who
//! takes each step (the user); the workflow's rules are the model's and the server's.

use crate::client::customers::{known_customer, on_known};
use crate::client::input::{optional_date, optional_text};
use crate::client::{Client, Result, invalid, user_of};
use crate::model::order::{NewOrder, Order, OrderEdit, OrderStatus};
use crate::store::{OrderQuery, OrderRow};

/// A new order; it starts as a draft of the user's.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OrderInput {
    /// The customer (required).
    pub customer: String,
    /// The order number; made from the day and the id when `None`.
    pub number: Option<String>,
    /// The order's day, YYYY-MM-DD; today when `None`.
    pub date: Option<String>,
    /// Promised delivery day, YYYY-MM-DD.
    pub delivery_date: Option<String>,
    /// Payment terms.
    pub payment_terms: Option<String>,
    /// A note.
    pub note: Option<String>,
    /// Currency of every price; CNY when `None`.
    pub currency: Option<String>,
}

/// A line added to an order, prices in minor units (fen) of the order's currency.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OrderLineInput {
    /// Product code (required).
    pub product: String,
    /// Product name (required).
    pub name: String,
    /// Quantity, 1 or more.
    pub quantity: i64,
    /// Unit; "piece" when `None`.
    pub unit: Option<String>,
    /// Price of one unit.
    pub unit_price: i64,
    /// Cost of one unit, for the gross profit.
    pub unit_cost: Option<i64>,
}

/// The unit of a line typed without one.
pub const DEFAULT_UNIT: &str = "piece";

impl Client {
    /// Starts an order (a draft of the user's) for `order.customer` and returns its id.
    pub fn create_order(&self, order: OrderInput) -> Result<String> {
        let delivery = order
            .delivery_date
            .as_deref()
            .map(|d| optional_date("delivery_date", d))
            .transpose()
            .map_err(invalid)?
            .flatten();
        let day = match order.date.as_deref().and_then(optional_text) {
            Some(d) => crate::client::input::date("date", &d)
                .map_err(invalid)?
                .to_string(),
            None => chrono::Local::now().date_naive().to_string(),
        };
        self.write(|store| {
            let user = user_of(store)?;
            let customer = known_customer(store, &order.customer)?;
            let built = NewOrder {
                customer,
                owner: user.username,
                number: order.number.as_deref().and_then(optional_text),
                date: day,
                currency: order.currency.as_deref().and_then(optional_text),
                delivery_date: delivery,
                payment_terms: order.payment_terms.as_deref().and_then(optional_text),
                note: order.note.as_deref().and_then(optional_text),
            }
            .build(crate::ids::new_id(), crate::model::fields::now_string())
            .map_err(invalid)?;
            Ok(store.create(built)?)
        })
    }

    /// Adds a line to order `id` (a draft).
    pub fn add_order_line(&self, id: &str, line: OrderLineInput) -> Result<Order> {
        self.edit_order(
            id,
            OrderEdit::AddLine {
                product: line.product.trim().to_string(),
                name: line.name.trim().to_string(),
                quantity: line.quantity,
                unit: line
                    .unit
                    .as_deref()
                    .and_then(optional_text)
                    .unwrap_or_else(|| DEFAULT_UNIT.to_string()),
                unit_price: line.unit_price,
                unit_cost: line.unit_cost,
            },
        )
    }

    /// Changes the quantity of line `line` of order `id`.
    pub fn set_order_line_quantity(&self, id: &str, line: &str, quantity: i64) -> Result<Order> {
        self.edit_order(
            id,
            OrderEdit::LineQuantity {
                id: line.to_string(),
                quantity,
            },
        )
    }

    /// Removes line `line` from order `id`.
    pub fn remove_order_line(&self, id: &str, line: &str) -> Result<Order> {
        self.edit_order(id, OrderEdit::RemoveLine(line.to_string()))
    }

    /// Moves order `id` to `to` (`submitted`, `confirmed`, `shipped`, `paid` or
    /// `cancelled`) as the logged-in user.
    pub fn step_order(&self, id: &str, to: &str, note: Option<String>) -> Result<Order> {
        let to: OrderStatus = crate::client::input::closed(to).map_err(invalid)?;
        self.write(|store| {
            let user = user_of(store)?;
            let edit = OrderEdit::Step {
                to,
                by: user.username,
                note: note.as_deref().and_then(optional_text),
            };
            Ok(on_known(id, "order", |id| {
                store.edit::<Order>(id, &[edit])
            })?)
        })
    }

    /// Sends order `id` for confirmation.
    pub fn submit_order(&self, id: &str) -> Result<Order> {
        self.step_order(id, OrderStatus::Submitted.as_str(), None)
    }

    /// Confirms order `id` (a manager or an admin; not the rep who took it).
    pub fn confirm_order(&self, id: &str) -> Result<Order> {
        self.step_order(id, OrderStatus::Confirmed.as_str(), None)
    }

    /// Records that order `id` was shipped.
    pub fn ship_order(&self, id: &str) -> Result<Order> {
        self.step_order(id, OrderStatus::Shipped.as_str(), None)
    }

    /// Records that order `id` was paid.
    pub fn pay_order(&self, id: &str) -> Result<Order> {
        self.step_order(id, OrderStatus::Paid.as_str(), None)
    }

    /// Cancels order `id`, saying why.
    pub fn cancel_order(&self, id: &str, note: Option<String>) -> Result<Order> {
        self.step_order(id, OrderStatus::Cancelled.as_str(), note)
    }

    /// Reads an order.
    pub fn order(&self, id: &str) -> Result<Order> {
        self.read(|store| on_known(id, "order", |id| store.get::<Order>(id)))
    }

    /// The orders matching `query`, newest first.
    pub fn list_orders(&self, query: &OrderQuery) -> Result<Vec<OrderRow>> {
        self.read(|store| store.list_orders(query))
    }

    /// Orders submitted more than three days ago and still not confirmed.
    pub fn orders_awaiting_confirmation(&self) -> Result<Vec<OrderRow>> {
        self.read(|store| store.orders_awaiting_confirmation(chrono::Utc::now()))
    }

    fn edit_order(&self, id: &str, edit: OrderEdit) -> Result<Order> {
        self.write(|store| {
            Ok(on_known(id, "order", |id| {
                store.edit::<Order>(id, &[edit])
            })?)
        })
    }
}
