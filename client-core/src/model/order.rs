//! The order (订单): what a rep sells a customer, line by line, and its way from a draft taken
//! offline at the customer to payment.
//!
//! The rep drafts and submits it; after submission only a manager or an admin (never the rep
//! who took it) confirms, ships, records the payment or cancels it, and the lines are frozen.
//! The total and the gross profit are computed from the lines, never stored, so lines added on
//! two devices always add up.

use automerge::{AutoCommit, ROOT};
use autosurgeon::{Hydrate, Reconcile};
use serde::Serialize;

use super::edit::{list_find, list_push, list_remove, set_field};
use super::fields::{
    check_entry_id, check_stored_time, limit_text, parse_date, require_text, string_enum,
    validate_currency, validate_username,
};
use super::workflow::{self, Actor, Staged, Step, StepTaken, Workflow, validate_workflow};
use super::{DocKind, DocumentModel, SCHEMA_VERSION, validate_root};
use crate::error::{Result, ValidationError};
use crate::ids::{is_id, new_id};
use crate::rights::{Creation, DocScope, Refusal, Writer};

string_enum! {
    /// Where an order stands.
    OrderStatus, "order.status" {
        /// Being written by its rep.
        Draft = "draft",
        /// Sent for confirmation; the lines are frozen.
        Submitted = "submitted",
        /// Confirmed by a manager: it counts as a sale.
        Confirmed = "confirmed",
        /// Delivered.
        Shipped = "shipped",
        /// Paid by the customer.
        Paid = "paid",
        /// Called off.
        Cancelled = "cancelled",
    }
}

impl OrderStatus {
    /// Whether an order in this status counts as a sale (confirmed, shipped or paid).
    pub fn is_sale(self) -> bool {
        matches!(
            self,
            OrderStatus::Confirmed | OrderStatus::Shipped | OrderStatus::Paid
        )
    }
}

/// The most a line's quantity may be.
pub const MAX_QUANTITY: i64 = 1_000_000_000;

/// One line of an order.
#[derive(Debug, Clone, PartialEq, Serialize, Hydrate, Reconcile)]
pub struct OrderLine {
    /// Entry id.
    #[key]
    pub id: String,
    /// The product code.
    pub product: String,
    /// The product's name.
    pub name: String,
    /// How many units.
    pub quantity: i64,
    /// The unit (box, piece, kg).
    pub unit: String,
    /// Price of one unit, minor units of the order's currency.
    pub unit_price: i64,
    /// Cost of one unit, if known: the line's gross profit is (price − cost) × quantity.
    pub unit_cost: Option<i64>,
}

impl OrderLine {
    /// Quantity × unit price, if it fits in 64 bits.
    pub fn amount(&self) -> Option<i64> {
        self.quantity.checked_mul(self.unit_price)
    }

    /// (Unit price − unit cost) × quantity, when the cost is known.
    pub fn gross_profit(&self) -> Option<i64> {
        let cost = self.unit_cost?;
        self.unit_price
            .checked_sub(cost)?
            .checked_mul(self.quantity)
    }
}

/// The order as stored in its document.
#[derive(Debug, Clone, PartialEq, Serialize, Hydrate, Reconcile)]
pub struct Order {
    /// Always "order".
    pub kind: String,
    /// Schema version.
    pub schema: i64,
    /// Document id.
    pub id: String,
    /// The customer (scope field): its owner and territory decide who sees the order.
    pub customer: String,
    /// The rep who took the order.
    pub owner: String,
    /// The order number printed on paper.
    pub number: String,
    /// The order's day, YYYY-MM-DD.
    pub date: String,
    /// Currency of every price.
    pub currency: String,
    /// The lines.
    pub lines: Vec<OrderLine>,
    /// Promised delivery day, YYYY-MM-DD.
    pub delivery_date: Option<String>,
    /// Payment terms ("30 days net").
    pub payment_terms: Option<String>,
    /// A note.
    pub note: Option<String>,
    /// Draft, submitted, confirmed, shipped, paid or cancelled.
    pub status: OrderStatus,
    /// Every step, with who took it and when.
    pub history: Vec<StepTaken>,
    /// When the order was created.
    pub created_at: String,
}

impl Order {
    /// The sum of the lines, or an error if it does not fit in 64 bits.
    pub fn total(&self) -> Result<i64, ValidationError> {
        self.lines
            .iter()
            .try_fold(0i64, |sum, l| l.amount().and_then(|a| sum.checked_add(a)))
            .ok_or_else(|| ValidationError::new("order.lines", "the total is too large"))
    }

    /// The gross profit of the lines whose cost is known (a line without a cost adds none).
    pub fn gross_profit(&self) -> i64 {
        self.lines
            .iter()
            .filter_map(OrderLine::gross_profit)
            .fold(0i64, i64::saturating_add)
    }

    /// When the order was confirmed, from its history.
    pub fn confirmed_at(&self) -> Option<&str> {
        workflow::entered_at(&self.history, OrderStatus::Confirmed.as_str())
    }

    /// When the order was submitted, from its history.
    pub fn submitted_at(&self) -> Option<&str> {
        workflow::entered_at(&self.history, OrderStatus::Submitted.as_str())
    }
}

/// What it takes to start an order.
#[derive(Debug, Clone, Default)]
pub struct NewOrder {
    /// The customer (required).
    pub customer: String,
    /// The rep taking it (required).
    pub owner: String,
    /// Order number; made from the day and the id when not given.
    pub number: Option<String>,
    /// Day, YYYY-MM-DD (required).
    pub date: String,
    /// Currency; CNY when not given.
    pub currency: Option<String>,
    /// Delivery day.
    pub delivery_date: Option<String>,
    /// Payment terms.
    pub payment_terms: Option<String>,
    /// A note.
    pub note: Option<String>,
}

impl NewOrder {
    /// Builds the document content; fails if a field breaks the schema.
    pub fn build(self, id: String, now: String) -> Result<Order, ValidationError> {
        let number = self.number.unwrap_or_else(|| {
            format!(
                "SO-{}-{}",
                self.date.replace('-', ""),
                id[..8].to_uppercase()
            )
        });
        let order = Order {
            kind: DocKind::Order.as_str().to_string(),
            schema: SCHEMA_VERSION,
            id,
            customer: self.customer,
            owner: self.owner,
            number,
            date: self.date,
            currency: self.currency.unwrap_or_else(|| "CNY".to_string()),
            lines: Vec::new(),
            delivery_date: self.delivery_date,
            payment_terms: self.payment_terms,
            note: self.note,
            status: OrderStatus::Draft,
            history: Vec::new(),
            created_at: now,
        };
        order.validate()?;
        Ok(order)
    }
}

/// One change to an order.
#[derive(Debug, Clone, PartialEq)]
pub enum OrderEdit {
    /// Add a line.
    AddLine {
        /// Product code.
        product: String,
        /// Product name.
        name: String,
        /// Quantity.
        quantity: i64,
        /// Unit.
        unit: String,
        /// Unit price, minor units.
        unit_price: i64,
        /// Unit cost, minor units.
        unit_cost: Option<i64>,
    },
    /// Change a line's quantity.
    LineQuantity {
        /// Line id.
        id: String,
        /// New quantity.
        quantity: i64,
    },
    /// Remove a line.
    RemoveLine(String),
    /// Delivery day.
    DeliveryDate(Option<String>),
    /// Payment terms.
    PaymentTerms(Option<String>),
    /// Note.
    Note(Option<String>),
    /// Move to another status, as `by`.
    Step {
        /// The status to go to.
        to: OrderStatus,
        /// Who takes the step.
        by: String,
        /// Why.
        note: Option<String>,
    },
}

impl DocumentModel for Order {
    const KIND: DocKind = DocKind::Order;
    type Edit = OrderEdit;
    // After its customer.
    const PUSH_RANK: u8 = 2;
    const PROTECTED_FIELDS: &'static [&'static str] = &[];
    const NEVER_CHANGED: &'static [&'static str] = &[
        "id",
        "kind",
        "created_at",
        "customer",
        "owner",
        "number",
        "currency",
    ];

    const ASKS_ABOUT_PEOPLE: bool = false;
    const STATUS_FIELDS: &'static [&'static str] = <Self as Staged>::WORKFLOW.fields;

    fn check_writer(w: &Writer<'_>, before: Option<&Self>, after: &Self) -> Result<(), Refusal> {
        // A rep takes orders as themselves and changes only their own; who sees the customer
        // is the scope's question.
        if w.is_rep() && after.owner != w.me() {
            return Err(Refusal {
                rule: "field_rights".into(),
                reason: match before {
                    None => "a rep takes orders as themselves: set owner to yourself".into(),
                    Some(_) => format!(
                        "this order is {}'s: a rep changes only their own orders",
                        after.owner
                    ),
                },
            });
        }
        crate::rights::workflow::check(w.who, before, after, w.ops)
    }

    fn creation(&self) -> Creation<'_> {
        Creation {
            by_field: Some("owner"),
            by: Some(&self.owner),
            at: &self.created_at,
        }
    }

    fn scope(&self) -> DocScope {
        DocScope {
            customer: Some(self.customer.clone()),
            author: Some(self.owner.clone()),
            ..DocScope::of(Self::KIND, &self.id)
        }
    }

    fn id(&self) -> &str {
        &self.id
    }

    fn attachments(&self) -> Vec<&super::attachment::AttachmentRef> {
        Vec::new()
    }

    fn validate(&self) -> Result<(), ValidationError> {
        validate_root(Self::KIND, &self.kind, self.schema, &self.id)?;
        let at = |e: ValidationError| e.within("order");
        if !is_id(&self.customer) {
            return Err(at(ValidationError::new(
                "customer",
                format!("'{}' is not a customer id", self.customer),
            )));
        }
        validate_username("owner", &self.owner).map_err(at)?;
        require_text("number", &self.number, 64).map_err(at)?;
        parse_date("date", &self.date).map_err(at)?;
        validate_currency("currency", &self.currency).map_err(at)?;
        if let Some(d) = &self.delivery_date {
            parse_date("delivery_date", d).map_err(at)?;
        }
        for (field, value, max) in [
            ("payment_terms", &self.payment_terms, 200),
            ("note", &self.note, 2000),
        ] {
            if let Some(v) = value {
                limit_text(field, v, max).map_err(at)?;
            }
        }
        for (i, line) in self.lines.iter().enumerate() {
            let within = |e: ValidationError| at(e.within(&format!("lines[{i}]")));
            check_entry_id("id", &line.id).map_err(within)?;
            require_text("product", &line.product, 64).map_err(within)?;
            require_text("name", &line.name, 200).map_err(within)?;
            require_text("unit", &line.unit, 20).map_err(within)?;
            if !(1..=MAX_QUANTITY).contains(&line.quantity) {
                return Err(within(ValidationError::new(
                    "quantity",
                    format!(
                        "is {}: a quantity is a whole number from 1 to {MAX_QUANTITY}",
                        line.quantity
                    ),
                )));
            }
            for (field, value) in [
                ("unit_price", Some(line.unit_price)),
                ("unit_cost", line.unit_cost),
            ] {
                if value.is_some_and(|v| v < 0) {
                    return Err(within(ValidationError::new(
                        field,
                        "is negative: money is a non-negative number of minor units (fen)",
                    )));
                }
            }
            line.amount().ok_or_else(|| {
                within(ValidationError::new(
                    "quantity",
                    "quantity × price is too large",
                ))
            })?;
        }
        self.total()?;
        validate_workflow(self).map_err(at)?;
        if self.status != OrderStatus::Draft
            && self.status != OrderStatus::Cancelled
            && self.lines.is_empty()
        {
            return Err(at(ValidationError::new(
                "lines",
                format!(
                    "a {} order keeps its lines: they no longer change once it is submitted",
                    self.status
                ),
            )));
        }
        check_stored_time("created_at", &self.created_at).map_err(at)?;
        Ok(())
    }

    fn apply_edit(doc: &mut AutoCommit, edit: &OrderEdit) -> Result<()> {
        use OrderEdit as E;
        let r = &ROOT;
        match edit {
            E::AddLine {
                product,
                name,
                quantity,
                unit,
                unit_price,
                unit_cost,
            } => {
                let line = OrderLine {
                    id: new_id(),
                    product: product.clone(),
                    name: name.clone(),
                    quantity: *quantity,
                    unit: unit.clone(),
                    unit_price: *unit_price,
                    unit_cost: *unit_cost,
                };
                list_push(doc, r, "lines", "order.lines", &line)
            }
            E::LineQuantity { id, quantity } => {
                let (_, _, entry) = list_find(doc, r, "lines", "order.lines", id)?;
                set_field(doc, &entry, "quantity", quantity)
            }
            E::RemoveLine(id) => list_remove(doc, r, "lines", "order.lines", id),
            E::DeliveryDate(d) => set_field(doc, r, "delivery_date", d),
            E::PaymentTerms(t) => set_field(doc, r, "payment_terms", t),
            E::Note(n) => set_field(doc, r, "note", n),
            E::Step { to, by, note } => {
                workflow::step(doc, &Order::read(doc)?, to.as_str(), by, note)
            }
        }
    }
}

impl Staged for Order {
    const WORKFLOW: Workflow = Workflow {
        statuses: &[
            "draft",
            "submitted",
            "confirmed",
            "shipped",
            "paid",
            "cancelled",
        ],
        steps: &[
            Step {
                from: "draft",
                to: "submitted",
                by: &[Actor::Owner],
            },
            Step {
                from: "draft",
                to: "cancelled",
                by: &[Actor::Owner, Actor::Manager],
            },
            Step {
                from: "submitted",
                to: "confirmed",
                by: &[Actor::Manager],
            },
            Step {
                from: "submitted",
                to: "cancelled",
                by: &[Actor::Manager],
            },
            Step {
                from: "confirmed",
                to: "shipped",
                by: &[Actor::Manager],
            },
            Step {
                from: "confirmed",
                to: "cancelled",
                by: &[Actor::Manager],
            },
            Step {
                from: "shipped",
                to: "paid",
                by: &[Actor::Manager],
            },
        ],
        frozen: &["submitted", "confirmed", "shipped", "paid", "cancelled"],
        fields: &["status", "history"],
        managers_move_their_own: false,
    };

    fn status(&self) -> &str {
        self.status.as_str()
    }

    fn owner(&self) -> &str {
        &self.owner
    }

    fn assignee(&self) -> Option<&str> {
        None
    }

    fn history(&self) -> &[StepTaken] {
        &self.history
    }

    fn check_step(&self, to: &str) -> Result<(), ValidationError> {
        if to == OrderStatus::Submitted.as_str() && self.lines.is_empty() {
            return Err(ValidationError::new(
                "lines",
                "an order needs at least one line before it is submitted: add one",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::model::fields::now_string;

    fn order() -> (AutoCommit, Order) {
        let o = NewOrder {
            customer: new_id(),
            owner: "wang".into(),
            date: "2026-11-03".into(),
            ..Default::default()
        }
        .build(new_id(), now_string())
        .unwrap();
        let mut doc = AutoCommit::new();
        autosurgeon::reconcile(&mut doc, &o).unwrap();
        (doc, o)
    }

    fn add(doc: &mut AutoCommit, product: &str, quantity: i64, price: i64, cost: Option<i64>) {
        Order::apply_edit(
            doc,
            &OrderEdit::AddLine {
                product: product.into(),
                name: "bearing".into(),
                quantity,
                unit: "box".into(),
                unit_price: price,
                unit_cost: cost,
            },
        )
        .unwrap();
    }

    #[test]
    fn the_total_and_gross_profit_come_from_the_lines() {
        let (mut doc, _) = order();
        add(&mut doc, "B-6204", 10, 1500, Some(900));
        add(&mut doc, "B-6205", 2, 20000, None);
        let o = Order::read(&doc).unwrap();
        assert_eq!(o.total().unwrap(), 10 * 1500 + 2 * 20000);
        assert_eq!(o.gross_profit(), 10 * 600);
        assert!(o.number.starts_with("SO-20261103-"));
    }

    #[test]
    fn an_empty_order_is_not_submitted_and_a_step_outside_the_workflow_is_refused() {
        let (mut doc, o) = order();
        let submit = OrderEdit::Step {
            to: OrderStatus::Submitted,
            by: "wang".into(),
            note: None,
        };
        let err = Order::apply_edit(&mut doc, &submit).unwrap_err();
        assert!(err.to_string().contains("at least one line"), "{err}");
        let ship = OrderEdit::Step {
            to: OrderStatus::Shipped,
            by: "li".into(),
            note: None,
        };
        let err = Order::apply_edit(&mut doc, &ship).unwrap_err();
        assert!(err.to_string().contains("from draft it goes to"), "{err}");
        add(&mut doc, "B-6204", 1, 100, None);
        Order::apply_edit(&mut doc, &submit).unwrap();
        let after = Order::read(&doc).unwrap();
        assert_eq!(after.status, OrderStatus::Submitted);
        assert_eq!(after.history.len(), 1);
        assert_eq!(after.history[0].by, "wang");
        assert_eq!(o.status, OrderStatus::Draft);
    }

    #[test]
    fn a_status_without_its_step_in_the_history_is_invalid() {
        let (_, mut o) = order();
        o.status = OrderStatus::Confirmed;
        let err = o.validate().unwrap_err();
        assert!(err.field.starts_with("order."), "{err:?}");
    }
}
