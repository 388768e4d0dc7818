//! `fieldsync due`: what needs doing now, three lists side by side: follow-ups due by today,
//! complaints past their first-response deadline, orders waiting too long for confirmation.

use fieldsync_core::store::{ComplaintRow, FollowUp, ORDER_CONFIRMATION_DAYS, OrderRow};
use serde::Serialize;

use super::{Ctx, complaints, customer, orders};
use crate::error::CliResult;
use crate::i18n::t;
use crate::output;

/// The three lists, as `due --json` prints them.
#[derive(Serialize)]
struct Due {
    followups: Vec<FollowUp>,
    complaints: Vec<ComplaintRow>,
    orders: Vec<OrderRow>,
}

pub fn run(ctx: &Ctx, json: bool) -> CliResult {
    let c = &ctx.client;
    let due = Due {
        followups: c.followups(None, None)?,
        complaints: c.overdue_complaints()?,
        orders: c.orders_awaiting_confirmation()?,
    };
    if json {
        return output::json(&due);
    }
    let none = t!("cli-none");
    let sections = [
        (
            t!("cli-due-followups", count = due.followups.len()),
            customer::followups_table(due.followups).render(&none),
        ),
        (
            t!("cli-due-complaints", count = due.complaints.len()),
            complaints::table(due.complaints).render(&none),
        ),
        (
            t!(
                "cli-due-orders",
                days = ORDER_CONFIRMATION_DAYS,
                count = due.orders.len()
            ),
            orders::table(due.orders).render(&none),
        ),
    ];
    let text = sections
        .iter()
        .map(|(title, body)| format!("{title}\n{body}"))
        .collect::<Vec<_>>()
        .join("\n\n");
    output::line(text)
}
