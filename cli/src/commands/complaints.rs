//! Complaints: record one, assign it, move it through its loop to closed, and see which are
//! past their first-response deadline.

use fieldsync_core::client::ComplaintInput;
use fieldsync_core::model::complaint::Complaint;
use fieldsync_core::store::{ComplaintQuery, ComplaintRow};
use serde::Serialize;

use super::{Ctx, steps};
use crate::args::{ComplaintAdd, ComplaintCmd};
use crate::error::CliResult;
use crate::i18n::{self, t};
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
            output::line(t!("cli-complaint-assigned", user = to.trim()))
        }
        ComplaintCmd::Step {
            id,
            to,
            visit,
            note,
        } => {
            let complaint = c.step_complaint(&id, &to, note, visit)?;
            let status = complaint.status.to_string();
            output::line(t!(
                "cli-complaint-stepped",
                status_name = i18n::code_name(i18n::lang(), "status", &status),
                status = status
            ))
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
            table(rows).print(&t!("cli-complaint-empty"))
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
    let mut t = Table::new(&i18n::all(&[
        "cli-complaint-header-id",
        "cli-complaint-header-customer",
        "cli-complaint-header-priority",
        "cli-complaint-header-category",
        "cli-complaint-header-status",
        "cli-complaint-header-assignee",
        "cli-complaint-header-received",
        "cli-complaint-header-respond-by",
        "cli-complaint-header-overdue",
        "cli-complaint-header-summary",
    ]));
    let (yes, no) = (t!("cli-yes"), t!("cli-no"));
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
            if r.overdue { yes.clone() } else { no.clone() },
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
        .map(|k| t!("cli-name-and-id", name = k.name, id = &complaint.customer))
        .unwrap_or_else(|_| complaint.customer.clone());
    let deadline = match (&respond_by, overdue) {
        (Some(d), true) => t!("cli-complaint-deadline-overdue", deadline = d),
        (Some(d), false) => d.clone(),
        (None, _) => "-".to_string(),
    };
    output::line(fields(&[
        ("cli-complaint-field-id", complaint.id.clone()),
        ("cli-complaint-field-customer", customer),
        (
            "cli-complaint-field-recorded-by",
            complaint.recorded_by.clone(),
        ),
        (
            "cli-complaint-field-received",
            complaint.received_at.clone(),
        ),
        ("cli-complaint-field-channel", complaint.channel.to_string()),
        (
            "cli-complaint-field-category",
            complaint.category.to_string(),
        ),
        (
            "cli-complaint-field-priority",
            complaint.priority.to_string(),
        ),
        ("cli-complaint-field-respond-by", deadline),
        ("cli-complaint-field-assignee", opt(&complaint.assignee)),
        ("cli-complaint-field-status", complaint.status.to_string()),
        (
            "cli-complaint-field-followup-visit",
            opt(&complaint.followup_visit),
        ),
        (
            "cli-complaint-field-summary",
            complaint.summary.as_str().to_string(),
        ),
        ("cli-complaint-field-history", steps(&complaint.history)),
    ]))
}
