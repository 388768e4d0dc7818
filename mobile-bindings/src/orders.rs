//! Orders: a rep takes one offline for a customer they own, adds lines and submits it; a
//! manager or an admin (never the rep who took it) confirms, ships, records the payment or
//! cancels it.
//!
//! The defaults (the owner is the logged-in user, the day is today, a line's unit is `piece`,
//! prices are in the order's currency) and the workflow's rules (who may take which step, that
//! a submitted order's lines are frozen) are the facade's, client-core's and the server's: a
//! step the user may not take is refused on the device before anything is written
//! (`Rejected`). This module maps arguments and records. Prices cross as minor units (fen) of
//! the order's currency; totals as [`MoneyRecord`].

use fieldsync_core::ValidationError;
use fieldsync_core::client::{OrderInput, OrderLineInput};
use fieldsync_core::model::order::{Order, OrderLine};
use fieldsync_core::store;

use crate::records::{MoneyRecord, StepRecord};
use crate::{FieldsyncClient, FieldsyncError, Res};

/// What it takes to start an order: a draft of the logged-in user's, for a customer of theirs.
#[derive(Debug, Clone, uniffi::Record)]
pub struct NewOrderRecord {
    /// Customer id (required).
    pub customer: String,
    /// The order number printed on paper; made from the day and the id when `None`.
    #[uniffi(default = None)]
    pub number: Option<String>,
    /// The order's day, YYYY-MM-DD; today when `None`.
    #[uniffi(default = None)]
    pub date: Option<String>,
    /// Promised delivery day, YYYY-MM-DD.
    #[uniffi(default = None)]
    pub delivery_date: Option<String>,
    /// Payment terms ("30 days net").
    #[uniffi(default = None)]
    pub payment_terms: Option<String>,
    /// A note.
    #[uniffi(default = None)]
    pub note: Option<String>,
    /// Currency of every price; CNY when `None`.
    #[uniffi(default = None)]
    pub currency: Option<String>,
}

impl From<NewOrderRecord> for OrderInput {
    fn from(o: NewOrderRecord) -> Self {
        OrderInput {
            customer: o.customer,
            number: o.number,
            date: o.date,
            delivery_date: o.delivery_date,
            payment_terms: o.payment_terms,
            note: o.note,
            currency: o.currency,
        }
    }
}

/// A line to add to a draft order, prices in minor units (fen) of the order's currency.
#[derive(Debug, Clone, uniffi::Record)]
pub struct NewOrderLineRecord {
    /// Product code (required).
    pub product: String,
    /// Product name (required).
    pub name: String,
    /// How many units, 1 or more.
    pub quantity: i64,
    /// Price of one unit.
    pub unit_price: i64,
    /// Unit (`box`, `kg`, …); `piece` when `None`.
    #[uniffi(default = None)]
    pub unit: Option<String>,
    /// Cost of one unit, for the gross profit.
    #[uniffi(default = None)]
    pub unit_cost: Option<i64>,
}

impl From<NewOrderLineRecord> for OrderLineInput {
    fn from(l: NewOrderLineRecord) -> Self {
        OrderLineInput {
            product: l.product,
            name: l.name,
            quantity: l.quantity,
            unit: l.unit,
            unit_price: l.unit_price,
            unit_cost: l.unit_cost,
        }
    }
}

/// One line of an order, prices in minor units (fen) of the order's currency.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct OrderLineRecord {
    /// Entry id (to change the quantity or remove the line).
    pub id: String,
    /// Product code.
    pub product: String,
    /// Product name.
    pub name: String,
    /// How many units.
    pub quantity: i64,
    /// Unit.
    pub unit: String,
    /// Price of one unit.
    pub unit_price: i64,
    /// Cost of one unit, if known.
    pub unit_cost: Option<i64>,
    /// Quantity × unit price.
    pub amount: i64,
    /// (Unit price − unit cost) × quantity; `None` when the cost is not known.
    pub gross_profit: Option<i64>,
}

impl TryFrom<OrderLine> for OrderLineRecord {
    type Error = FieldsyncError;

    fn try_from(l: OrderLine) -> Res<Self> {
        let amount = l.amount().ok_or_else(|| {
            ValidationError::new(
                format!("order.lines[{}].quantity", l.id),
                "quantity × price is too large",
            )
        })?;
        Ok(OrderLineRecord {
            amount,
            gross_profit: l.gross_profit(),
            id: l.id,
            product: l.product,
            name: l.name,
            quantity: l.quantity,
            unit: l.unit,
            unit_price: l.unit_price,
            unit_cost: l.unit_cost,
        })
    }
}

/// An order, whole.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct OrderRecord {
    /// Document id.
    pub id: String,
    /// Customer id.
    pub customer: String,
    /// The rep who took it.
    pub owner: String,
    /// The order number.
    pub number: String,
    /// The order's day, YYYY-MM-DD.
    pub date: String,
    /// Currency of every price.
    pub currency: String,
    /// The lines.
    pub lines: Vec<OrderLineRecord>,
    /// Sum of the lines.
    pub total: MoneyRecord,
    /// Gross profit of the lines whose cost is known.
    pub gross_profit: MoneyRecord,
    /// Promised delivery day.
    pub delivery_date: Option<String>,
    /// Payment terms.
    pub payment_terms: Option<String>,
    /// A note.
    pub note: Option<String>,
    /// `draft`, `submitted`, `confirmed`, `shipped`, `paid` or `cancelled`.
    pub status: String,
    /// Every step, oldest first, with who took it and when.
    pub history: Vec<StepRecord>,
    /// When it was submitted.
    pub submitted_at: Option<String>,
    /// When it was confirmed.
    pub confirmed_at: Option<String>,
    /// When it was created.
    pub created_at: String,
}

impl TryFrom<Order> for OrderRecord {
    type Error = FieldsyncError;

    fn try_from(o: Order) -> Res<Self> {
        let money = |amount| MoneyRecord {
            amount,
            currency: o.currency.clone(),
        };
        let total = money(o.total()?);
        let gross_profit = money(o.gross_profit());
        let submitted_at = o.submitted_at().map(str::to_string);
        let confirmed_at = o.confirmed_at().map(str::to_string);
        Ok(OrderRecord {
            total,
            gross_profit,
            submitted_at,
            confirmed_at,
            lines: o
                .lines
                .into_iter()
                .map(OrderLineRecord::try_from)
                .collect::<Res<_>>()?,
            status: o.status.to_string(),
            history: o.history.into_iter().map(Into::into).collect(),
            id: o.id,
            customer: o.customer,
            owner: o.owner,
            number: o.number,
            date: o.date,
            currency: o.currency,
            delivery_date: o.delivery_date,
            payment_terms: o.payment_terms,
            note: o.note,
            created_at: o.created_at,
        })
    }
}

/// Filters for `list_orders`; every field set narrows the list.
#[derive(Debug, Clone, Default, uniffi::Record)]
pub struct OrderFilter {
    /// Only this rep's.
    #[uniffi(default = None)]
    pub owner: Option<String>,
    /// Only this customer's.
    #[uniffi(default = None)]
    pub customer: Option<String>,
    /// Only in this status (`draft`, `submitted`, …).
    #[uniffi(default = None)]
    pub status: Option<String>,
}

impl From<OrderFilter> for store::OrderQuery {
    fn from(f: OrderFilter) -> Self {
        store::OrderQuery {
            owner: f.owner,
            customer: f.customer,
            status: f.status,
        }
    }
}

/// An order in a list.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct OrderRow {
    /// Document id.
    pub id: String,
    /// Customer id.
    pub customer: String,
    /// The customer's name, if the customer is on this device.
    pub customer_name: Option<String>,
    /// The rep who took it.
    pub owner: String,
    /// Order number.
    pub number: String,
    /// Day, YYYY-MM-DD.
    pub date: String,
    /// Status.
    pub status: String,
    /// Sum of the lines.
    pub total: MoneyRecord,
    /// Gross profit of the lines with a known cost.
    pub gross_profit: MoneyRecord,
    /// Number of lines.
    pub line_count: i64,
    /// When it was submitted.
    pub submitted_at: Option<String>,
    /// When it was confirmed.
    pub confirmed_at: Option<String>,
}

impl From<store::OrderRow> for OrderRow {
    fn from(r: store::OrderRow) -> Self {
        OrderRow {
            total: MoneyRecord {
                amount: r.total_amount,
                currency: r.currency.clone(),
            },
            gross_profit: MoneyRecord {
                amount: r.gross_profit,
                currency: r.currency,
            },
            id: r.id,
            customer: r.customer,
            customer_name: r.customer_name,
            owner: r.owner,
            number: r.number,
            date: r.date,
            status: r.status,
            line_count: r.line_count,
            submitted_at: r.submitted_at,
            confirmed_at: r.confirmed_at,
        }
    }
}

fn rows(rows: Vec<store::OrderRow>) -> Vec<OrderRow> {
    rows.into_iter().map(Into::into).collect()
}

#[uniffi::export]
impl FieldsyncClient {
    /// Starts an order (a draft of the logged-in user's, offline) and returns its id.
    pub fn create_order(&self, order: NewOrderRecord) -> Res<String> {
        self.call(|c| Ok(c.create_order(order.into())?))
    }

    /// Adds a line to draft order `id` and returns the order as it is now.
    pub fn add_order_line(&self, id: String, line: NewOrderLineRecord) -> Res<OrderRecord> {
        self.call(|c| c.add_order_line(&id, line.into())?.try_into())
    }

    /// Changes the quantity of line `line_id` (an `OrderLineRecord.id`) of draft order `id`.
    pub fn set_order_line_quantity(
        &self,
        id: String,
        line_id: String,
        quantity: i64,
    ) -> Res<OrderRecord> {
        self.call(|c| {
            c.set_order_line_quantity(&id, &line_id, quantity)?
                .try_into()
        })
    }

    /// Removes line `line_id` from draft order `id`.
    pub fn remove_order_line(&self, id: String, line_id: String) -> Res<OrderRecord> {
        self.call(|c| c.remove_order_line(&id, &line_id)?.try_into())
    }

    /// Moves order `id` to status `to` (`submitted`, `confirmed`, `shipped`, `paid` or
    /// `cancelled`) as the logged-in user, with a note kept in its history. `submit_order`,
    /// `confirm_order`, `ship_order` and `pay_order` take their step without a note.
    #[uniffi::method(default(note = None))]
    pub fn step_order(&self, id: String, to: String, note: Option<String>) -> Res<OrderRecord> {
        self.call(|c| c.step_order(&id, &to, note)?.try_into())
    }

    /// Sends draft order `id` for confirmation (its rep; it needs a line at least).
    pub fn submit_order(&self, id: String) -> Res<OrderRecord> {
        self.call(|c| c.submit_order(&id)?.try_into())
    }

    /// Confirms submitted order `id` (a manager or an admin, never the rep who took it).
    pub fn confirm_order(&self, id: String) -> Res<OrderRecord> {
        self.call(|c| c.confirm_order(&id)?.try_into())
    }

    /// Records that confirmed order `id` was shipped (a manager or an admin).
    pub fn ship_order(&self, id: String) -> Res<OrderRecord> {
        self.call(|c| c.ship_order(&id)?.try_into())
    }

    /// Records that shipped order `id` was paid (a manager or an admin).
    pub fn pay_order(&self, id: String) -> Res<OrderRecord> {
        self.call(|c| c.pay_order(&id)?.try_into())
    }

    /// Cancels order `id`, saying why: its rep while it is a draft, a manager or an admin
    /// until it is shipped.
    #[uniffi::method(default(note = None))]
    pub fn cancel_order(&self, id: String, note: Option<String>) -> Res<OrderRecord> {
        self.call(|c| c.cancel_order(&id, note)?.try_into())
    }

    /// Reads an order.
    pub fn get_order(&self, id: String) -> Res<OrderRecord> {
        self.call(|c| c.order(&id)?.try_into())
    }

    /// Lists the orders on this device matching `filter`, newest first.
    pub fn list_orders(&self, filter: OrderFilter) -> Res<Vec<OrderRow>> {
        self.call(|c| Ok(rows(c.list_orders(&filter.into())?)))
    }

    /// Orders submitted more than three days ago and still not confirmed, longest waiting
    /// first.
    pub fn orders_awaiting_confirmation(&self) -> Res<Vec<OrderRow>> {
        self.call(|c| Ok(rows(c.orders_awaiting_confirmation()?)))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use fieldsync_core::model::order::NewOrder;

    #[test]
    fn an_order_record_carries_its_totals_in_the_orders_currency() {
        let mut order = NewOrder {
            customer: fieldsync_core::ids::new_id(),
            owner: "li.wei".into(),
            date: "2026-11-03".into(),
            currency: Some("USD".into()),
            ..Default::default()
        }
        .build(fieldsync_core::ids::new_id(), "2026-11-03T08:00:00Z".into())
        .unwrap();
        order.lines = vec![
            OrderLine {
                id: "l1".into(),
                product: "B-6204".into(),
                name: "bearing".into(),
                quantity: 10,
                unit: "box".into(),
                unit_price: 1_500,
                unit_cost: Some(900),
            },
            OrderLine {
                id: "l2".into(),
                product: "B-6205".into(),
                name: "bearing".into(),
                quantity: 2,
                unit: "piece".into(),
                unit_price: 20_000,
                unit_cost: None,
            },
        ];
        let record = OrderRecord::try_from(order).unwrap();
        assert_eq!(
            record.total,
            MoneyRecord {
                amount: 55_000,
                currency: "USD".into()
            }
        );
        assert_eq!(record.gross_profit.amount, 6_000);
        assert_eq!(record.lines[0].gross_profit, Some(6_000));
        assert_eq!(record.lines[1].gross_profit, None);
        assert_eq!(record.lines[1].amount, 40_000);
        assert_eq!(record.status, "draft");
        assert_eq!(record.submitted_at, None);

        let line = OrderLineInput::from(NewOrderLineRecord {
            product: "B-6204".into(),
            name: "bearing".into(),
            quantity: 3,
            unit_price: 1_500,
            unit: None,
            unit_cost: Some(900),
        });
        assert_eq!((line.unit, line.unit_cost), (None, Some(900)));
    }
}
