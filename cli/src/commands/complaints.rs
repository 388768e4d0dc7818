//! Complaints: record one, assign it, move it through its loop to closed, and see which are
//! past their first-response deadline.

use fieldsync_core::client::ComplaintInput;
use fieldsync_core::model::complaint::Complaint;
use fieldsync_core::store::{ComplaintQuery, ComplaintRow};
use serde::Serialize;

use super::{Ctx, steps};
use crate::args::{ComplaintAdd, ComplaintCmd};
use crate::error::CliResult;
use crate::output::{self, Table, fields, opt, short};

/// A complaint as `complaint show --json` prints it: the document with its first-response
/// deadline and whether it is past it, unanswered.
#[derive(Serialize)]
struct ComplaintView<'a> {
    #[serde(flatten)]
    complaint: &'a Complaint,
    respond_by: Option<String>,
    overdue: bool,
}

pub fn run(ctx: &Ctx, cmd: ComplaintCmd) -> CliResult {
    let c = &ctx.client;
    match cmd {
        ComplaintCmd::Add(a) => add(ctx, a),
        ComplaintCmd::Assign { id, to } => {
            c.assign_complaint(&id, &to)?;
            output::line(format!("assigned to {}", to.trim()))
        }
        ComplaintCmd::Step {
            id,
            to,
            visit,
            note,
        } => {
            let complaint = c.step_complaint(&id, &to, note, visit)?;
            output::line(complaint.status.to_string())
        }
        ComplaintCmd::List {
            overdue,
            open,
            customer,
            assignee,
            status,
            json,
        } => {
            let rows = c.list_complaints(&ComplaintQuery {
                customer,
                assignee,
                status,
                open,
                overdue,
            })?;
            if json.json {
                return output::json(&rows);
            }
            table(rows).print("no complaints match")
        }
        ComplaintCmd::Show { id, json } => show(ctx, &id, json.json),
    }
}

fn add(ctx: &Ctx, a: ComplaintAdd) -> CliResult {
    let kid = ctx.client.create_complaint(ComplaintInput {
        customer: a.customer,
        category: a.category,
        priority: a.priority,
        summary: a.summary,
        channel: a.channel,
        received_at: a.received_at,
        assignee: a.assignee,
    })?;
    output::line(kid)
}

/// Complaints as a table.
pub fn table(rows: Vec<ComplaintRow>) -> Table {
    let mut t = Table::new(&[
        "ID",
        "CUSTOMER",
        "PRIORITY",
        "CATEGORY",
        "STATUS",
        "ASSIGNEE",
        "RECEIVED",
        "RESPOND BY",
        "OVERDUE",
        "SUMMARY",
    ]);
    for r in rows {
        t.row(vec![
            r.id,
            r.customer_name.unwrap_or(r.customer),
            r.priority,
            r.category,
            r.status,
            opt(&r.assignee),
            r.received_at,
            opt(&r.respond_by),
            if r.overdue { "yes" } else { "no" }.to_string(),
            short(&r.summary, 40),
        ]);
    }
    t
}

fn show(ctx: &Ctx, raw: &str, json: bool) -> CliResult {
    let c = &ctx.client;
    let complaint = c.complaint(raw)?;
    let respond_by = c.complaint_deadline(&complaint.id)?;
    // Whether it is overdue is the store's judgement, as the lists make it.
    let overdue = c
        .list_complaints(&ComplaintQuery {
            customer: Some(complaint.customer.clone()),
            overdue: true,
            ..Default::default()
        })?
        .iter()
        .any(|r| r.id == complaint.id);
    if json {
        return output::json(&ComplaintView {
            complaint: &complaint,
            respond_by,
            overdue,
        });
    }
    let customer = c
        .customer(&complaint.customer)
        .map(|k| format!("{} ({})", k.name, complaint.customer))
        .unwrap_or_else(|_| complaint.customer.clone());
    let deadline = match (&respond_by, overdue) {
        (Some(d), true) => format!("{d} (overdue: nobody has looked into it yet)"),
        (Some(d), false) => d.clone(),
        (None, _) => "-".to_string(),
    };
    output::line(fields(&[
        ("id", complaint.id.clone()),
        ("customer", customer),
        ("recorded by", complaint.recorded_by.clone()),
        ("received", complaint.received_at.clone()),
        ("channel", complaint.channel.to_string()),
        ("category", complaint.category.to_string()),
        ("priority", complaint.priority.to_string()),
        ("respond by", deadline),
        ("assignee", opt(&complaint.assignee)),
        ("status", complaint.status.to_string()),
        ("follow-up visit", opt(&complaint.followup_visit)),
        ("summary", complaint.summary.as_str().to_string()),
        ("history", steps(&complaint.history)),
    ]))
}
