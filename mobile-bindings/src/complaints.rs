//! Complaints (投诉): whoever sees the customer records one; its assignee and the managers move
//! it received → investigating → handled → followed up (naming the visit that followed it up)
//! → closed.
//!
//! The defaults (who recorded it and who takes each step is the logged-in user, it was
//! received now, by an `other` channel), the deadlines (from the settings the server sends)
//! and the rules (who may assign, who may step, that following up and closing need the
//! follow-up visit) are the facade's, client-core's and the server's. This module maps
//! arguments and records.

use fieldsync_core::client::ComplaintInput;
use fieldsync_core::model::complaint::Complaint;
use fieldsync_core::store;

use crate::attachments::{AttachmentRefRecord, refs};
use crate::records::StepRecord;
use crate::{FieldsyncClient, Res};

/// What it takes to record a complaint; the logged-in user records it.
#[derive(Debug, Clone, uniffi::Record)]
pub struct NewComplaintRecord {
    /// Customer id (required).
    pub customer: String,
    /// `logistics`, `quality`, `after_sales` or `other`.
    pub category: String,
    /// `urgent`, `high` or `normal`.
    pub priority: String,
    /// What the customer said (required).
    pub summary: String,
    /// `visit`, `phone`, `email`, `wechat` or `other`; `other` when `None`.
    #[uniffi(default = None)]
    pub channel: Option<String>,
    /// When the customer complained, RFC 3339 (`2026-11-23T09:30:00+08:00`); now when `None`.
    #[uniffi(default = None)]
    pub received_at: Option<String>,
    /// Who deals with it.
    #[uniffi(default = None)]
    pub assignee: Option<String>,
}

impl From<NewComplaintRecord> for ComplaintInput {
    fn from(c: NewComplaintRecord) -> Self {
        ComplaintInput {
            customer: c.customer,
            category: c.category,
            priority: c.priority,
            summary: c.summary,
            channel: c.channel,
            received_at: c.received_at,
            assignee: c.assignee,
        }
    }
}

/// A complaint, whole.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ComplaintRecord {
    /// Document id.
    pub id: String,
    /// Customer id.
    pub customer: String,
    /// Who recorded it.
    pub recorded_by: String,
    /// When the customer complained (RFC 3339, UTC).
    pub received_at: String,
    /// `visit`, `phone`, `email`, `wechat` or `other`.
    pub channel: String,
    /// `logistics`, `quality`, `after_sales` or `other`.
    pub category: String,
    /// `urgent`, `high` or `normal`.
    pub priority: String,
    /// What the customer said, and what was added since.
    pub summary: String,
    /// Who deals with it.
    pub assignee: Option<String>,
    /// The visit that followed it up (回访).
    pub followup_visit: Option<String>,
    /// `received`, `investigating`, `handled`, `followed_up` or `closed`.
    pub status: String,
    /// Every step, oldest first, with who took it, when and a note.
    pub history: Vec<StepRecord>,
    /// Evidence (photos of the damaged goods, the customer's letter): `attach_to_complaint`.
    pub evidence: Vec<AttachmentRefRecord>,
    /// When it was first looked into.
    pub responded_at: Option<String>,
    /// When it was handled.
    pub handled_at: Option<String>,
    /// When it was closed.
    pub closed_at: Option<String>,
    /// When it was recorded.
    pub created_at: String,
}

impl From<Complaint> for ComplaintRecord {
    fn from(c: Complaint) -> Self {
        let responded_at = c.responded_at().map(str::to_string);
        let handled_at = c.handled_at().map(str::to_string);
        let closed_at = c.closed_at().map(str::to_string);
        ComplaintRecord {
            responded_at,
            handled_at,
            closed_at,
            channel: c.channel.to_string(),
            category: c.category.to_string(),
            priority: c.priority.to_string(),
            summary: c.summary.as_str().to_string(),
            status: c.status.to_string(),
            history: c.history.into_iter().map(Into::into).collect(),
            evidence: refs(c.evidence),
            id: c.id,
            customer: c.customer,
            recorded_by: c.recorded_by,
            received_at: c.received_at,
            assignee: c.assignee,
            followup_visit: c.followup_visit,
            created_at: c.created_at,
        }
    }
}

/// Filters for `list_complaints`; every field set narrows the list.
#[derive(Debug, Clone, Default, uniffi::Record)]
pub struct ComplaintFilter {
    /// Only this customer's.
    #[uniffi(default = None)]
    pub customer: Option<String>,
    /// Only those assigned to this user.
    #[uniffi(default = None)]
    pub assignee: Option<String>,
    /// Only in this status (`received`, `investigating`, …).
    #[uniffi(default = None)]
    pub status: Option<String>,
    /// Only those not closed.
    #[uniffi(default = false)]
    pub open: bool,
    /// Only those still waiting for their first response past its deadline.
    #[uniffi(default = false)]
    pub overdue: bool,
}

impl From<ComplaintFilter> for store::ComplaintQuery {
    fn from(f: ComplaintFilter) -> Self {
        store::ComplaintQuery {
            customer: f.customer,
            assignee: f.assignee,
            status: f.status,
            open: f.open,
            overdue: f.overdue,
        }
    }
}

/// A complaint in a list, with its first-response deadline.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ComplaintRow {
    /// Document id.
    pub id: String,
    /// Customer id.
    pub customer: String,
    /// The customer's name, if the customer is on this device.
    pub customer_name: Option<String>,
    /// Who recorded it.
    pub recorded_by: String,
    /// Who deals with it.
    pub assignee: Option<String>,
    /// Category.
    pub category: String,
    /// Priority.
    pub priority: String,
    /// Status.
    pub status: String,
    /// When the customer complained.
    pub received_at: String,
    /// The first-response deadline under the server's settings (RFC 3339, UTC).
    pub respond_by: Option<String>,
    /// Whether it is still waiting for its first response past that deadline.
    pub overdue: bool,
    /// When it was handled.
    pub handled_at: Option<String>,
    /// The first line of the summary.
    pub summary: String,
}

impl From<store::ComplaintRow> for ComplaintRow {
    fn from(r: store::ComplaintRow) -> Self {
        ComplaintRow {
            id: r.id,
            customer: r.customer,
            customer_name: r.customer_name,
            recorded_by: r.recorded_by,
            assignee: r.assignee,
            category: r.category,
            priority: r.priority,
            status: r.status,
            received_at: r.received_at,
            respond_by: r.respond_by,
            overdue: r.overdue,
            handled_at: r.handled_at,
            summary: r.summary,
        }
    }
}

fn rows(rows: Vec<store::ComplaintRow>) -> Vec<ComplaintRow> {
    rows.into_iter().map(Into::into).collect()
}

#[uniffi::export]
impl FieldsyncClient {
    /// Records a complaint (offline) and returns its id.
    pub fn create_complaint(&self, complaint: NewComplaintRecord) -> Res<String> {
        self.call(|c| Ok(c.create_complaint(complaint.into())?))
    }

    /// Assigns complaint `id` to user `to` (a manager or an admin); `""` takes the assignment
    /// away.
    pub fn assign_complaint(&self, id: String, to: String) -> Res<ComplaintRecord> {
        self.call(|c| Ok(c.assign_complaint(&id, &to)?.into()))
    }

    /// Moves complaint `id` to status `to` (`investigating`, `handled`, `followed_up` or
    /// `closed`) as the logged-in user (its assignee or a manager), with a note of what was
    /// done. The step to `followed_up` names `visit`, the follow-up visit: a visit to the same
    /// customer on this device.
    #[uniffi::method(default(note = None, visit = None))]
    pub fn step_complaint(
        &self,
        id: String,
        to: String,
        note: Option<String>,
        visit: Option<String>,
    ) -> Res<ComplaintRecord> {
        self.call(|c| Ok(c.step_complaint(&id, &to, note, visit)?.into()))
    }

    /// Adds a paragraph to the summary of complaint `id`, on a line of its own.
    pub fn append_complaint_summary(&self, id: String, text: String) -> Res<ComplaintRecord> {
        self.call(|c| Ok(c.append_complaint_summary(&id, &text)?.into()))
    }

    /// Reads a complaint.
    pub fn get_complaint(&self, id: String) -> Res<ComplaintRecord> {
        self.call(|c| Ok(c.complaint(&id)?.into()))
    }

    /// Lists the complaints on this device matching `filter`, newest first.
    pub fn list_complaints(&self, filter: ComplaintFilter) -> Res<Vec<ComplaintRow>> {
        self.call(|c| Ok(rows(c.list_complaints(&filter.into())?)))
    }

    /// Complaints still waiting for their first response past its deadline.
    pub fn overdue_complaints(&self) -> Res<Vec<ComplaintRow>> {
        self.call(|c| Ok(rows(c.overdue_complaints()?)))
    }

    /// The first-response deadline of complaint `id` (RFC 3339, UTC) under the settings the
    /// server sent.
    pub fn complaint_deadline(&self, id: String) -> Res<Option<String>> {
        self.call(|c| Ok(c.complaint_deadline(&id)?))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use fieldsync_core::model::complaint::{
        ComplaintCategory, ComplaintChannel, NewComplaint, Priority,
    };

    #[test]
    fn a_complaint_record_carries_its_closed_sets_as_their_stored_strings() {
        let complaint = NewComplaint {
            customer: fieldsync_core::ids::new_id(),
            recorded_by: "li.wei".into(),
            received_at: "2026-11-03T08:00:00Z".into(),
            channel: ComplaintChannel::Wechat,
            category: ComplaintCategory::AfterSales,
            priority: Priority::Urgent,
            summary: "轴承异响".into(),
            assignee: None,
        }
        .build(fieldsync_core::ids::new_id(), "2026-11-03T08:05:00Z".into())
        .unwrap();
        let record = ComplaintRecord::from(complaint);
        assert_eq!(
            (
                record.channel.as_str(),
                record.category.as_str(),
                record.priority.as_str(),
                record.status.as_str()
            ),
            ("wechat", "after_sales", "urgent", "received")
        );
        assert_eq!(record.summary, "轴承异响");
        assert_eq!(record.history, vec![]);
        assert_eq!(record.responded_at, None);

        let query = store::ComplaintQuery::from(ComplaintFilter {
            open: true,
            ..Default::default()
        });
        assert!(query.open && !query.overdue && query.status.is_none());
    }
}
