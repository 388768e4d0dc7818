//! Orders: the rep drafts one, adds lines and submits it; a manager confirms, ships, records
//! the payment or cancels it.

use fieldsync_core::client::input;
use fieldsync_core::client::{OrderInput, OrderLineInput};
use fieldsync_core::model::order::Order;
use fieldsync_core::store::{OrderQuery, OrderRow};
use serde::Serialize;

use super::{Ctx, show_amount, steps};
use crate::args::{OrderAdd, OrderCmd, OrderItem};
use crate::error::CliResult;
use crate::i18n::{self, t};
use crate::output::{self, Table, fields, opt};

/// An order as `order show --json` prints it: the document with its computed total and gross
/// profit (minor units).
#[derive(Serialize)]
struct OrderView<'a> {
    #[serde(flatten)]
    order: &'a Order,
    total: i64,
    gross_profit: i64,
}

pub fn run(ctx: &Ctx, cmd: OrderCmd) -> CliResult {
    let c = &ctx.client;
    match cmd {
        OrderCmd::Add(a) => add(ctx, a),
        OrderCmd::Item(a) => item(ctx, a),
        OrderCmd::Submit { id } => {
            c.submit_order(&id)?;
            output::line(t!("status-submitted"))
        }
        OrderCmd::Confirm { id } => {
            c.confirm_order(&id)?;
            output::line(t!("status-confirmed"))
        }
        OrderCmd::Ship { id } => {
            c.ship_order(&id)?;
            output::line(t!("status-shipped"))
        }
        OrderCmd::Pay { id } => {
            c.pay_order(&id)?;
            output::line(t!("status-paid"))
        }
        OrderCmd::Cancel { id, note } => {
            c.cancel_order(&id, note)?;
            output::line(t!("status-cancelled"))
        }
        OrderCmd::List {
            owner,
            customer,
            status,
            json,
        } => {
            let rows = c.list_orders(&OrderQuery {
                owner,
                customer,
                status,
            })?;
            if json.json {
                return output::json(&rows);
            }
            table(rows).print(&t!("cli-order-empty"))
        }
        OrderCmd::Show { id, json } => show(ctx, &id, json.json),
    }
}

fn add(ctx: &Ctx, a: OrderAdd) -> CliResult {
    let oid = ctx.client.create_order(OrderInput {
        customer: a.customer,
        number: a.number,
        date: a.date,
        delivery_date: a.delivery,
        payment_terms: a.terms,
        note: a.note,
        currency: a.currency,
    })?;
    output::line(oid)
}

fn item(ctx: &Ctx, a: OrderItem) -> CliResult {
    let order = ctx.client.add_order_line(
        &a.id,
        OrderLineInput {
            product: a.product,
            name: a.name,
            quantity: a.quantity,
            unit: a.unit,
            unit_price: input::amount("price", &a.price)?,
            unit_cost: a
                .cost
                .as_deref()
                .map(|c| input::amount("cost", c))
                .transpose()?,
        },
    )?;
    output::line(t!(
        "cli-order-line-added",
        lines = order.lines.len(),
        total = show_amount(order.total()?, &order.currency)
    ))
}

/// Orders as a table.
pub fn table(rows: Vec<OrderRow>) -> Table {
    let mut t = Table::new(&i18n::all(&[
        "cli-order-header-id",
        "cli-order-header-number",
        "cli-order-header-date",
        "cli-order-header-customer",
        "cli-order-header-owner",
        "cli-order-header-status",
        "cli-order-header-lines",
        "cli-order-header-total",
        "cli-order-header-profit",
    ]));
    for r in rows {
        t.row(vec![
            r.id,
            r.number,
            r.date,
            r.customer_name.unwrap_or(r.customer),
            r.owner,
            r.status,
            r.line_count.to_string(),
            show_amount(r.total_amount, &r.currency),
            show_amount(r.gross_profit, &r.currency),
        ]);
    }
    t
}

fn show(ctx: &Ctx, raw: &str, json: bool) -> CliResult {
    let order = ctx.client.order(raw)?;
    let total = order.total()?;
    if json {
        return output::json(&OrderView {
            order: &order,
            total,
            gross_profit: order.gross_profit(),
        });
    }
    let customer = ctx
        .client
        .customer(&order.customer)
        .map(|c| t!("cli-name-and-id", name = c.name, id = &order.customer))
        .unwrap_or_else(|_| order.customer.clone());
    let cur = order.currency.as_str();
    let lines = order
        .lines
        .iter()
        .map(|l| {
            let cost = l
                .unit_cost
                .map(|c| t!("cli-order-line-cost", cost = show_amount(c, cur)))
                .unwrap_or_default();
            format!(
                "{} {} {} × {} {} @ {}{cost} = {}",
                l.id,
                l.product,
                l.name,
                l.quantity,
                l.unit,
                show_amount(l.unit_price, cur),
                l.amount()
                    .map_or_else(|| "-".into(), |a| show_amount(a, cur)),
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    output::line(fields(&[
        ("cli-order-field-id", order.id.clone()),
        ("cli-order-field-number", order.number.clone()),
        ("cli-order-field-customer", customer),
        ("cli-order-field-owner", order.owner.clone()),
        ("cli-order-field-date", order.date.clone()),
        ("cli-order-field-status", order.status.to_string()),
        ("cli-order-field-delivery", opt(&order.delivery_date)),
        ("cli-order-field-terms", opt(&order.payment_terms)),
        ("cli-order-field-note", opt(&order.note)),
        ("cli-order-field-lines", lines),
        ("cli-order-field-total", show_amount(total, cur)),
        (
            "cli-order-field-gross-profit",
            show_amount(order.gross_profit(), cur),
        ),
        ("cli-order-field-history", steps(&order.history)),
    ]))
}
