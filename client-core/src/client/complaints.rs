//! Complaints: whoever sees the customer records one; its assignee and the managers move it
//! through received → investigating → handled → followed up (with the follow-up visit) →
//! closed. The facade fills in who recorded it and who takes each step (the user), when it was
//! received (now) and the channel; deadlines come from the settings the server sent.

use crate::client::customers::{known_customer, on_known};
use crate::client::input::{closed, optional_text};
use crate::client::{Client, Result, invalid, user_of};
use crate::model::DocKind;
use crate::model::complaint::{Complaint, ComplaintChannel, ComplaintEdit, NewComplaint};
use crate::model::fields::{format_time, now_string};
use crate::store::{ComplaintQuery, ComplaintRow};

/// A new complaint, recorded by the user.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ComplaintInput {
    /// The customer (required).
    pub customer: String,
    /// `logistics`, `quality`, `after_sales` or `other`.
    pub category: String,
    /// `urgent`, `high` or `normal`.
    pub priority: String,
    /// What the customer said (required).
    pub summary: String,
    /// `visit`, `phone`, `email`, `wechat` or `other`; `other` when `None`.
    pub channel: Option<String>,
    /// When the customer complained: RFC 3339, or this device's local time (`2026-11-23
    /// 09:30`); now when `None`.
    pub received_at: Option<String>,
    /// Who deals with it.
    pub assignee: Option<String>,
}

impl Client {
    /// Records a complaint and returns its id.
    pub fn create_complaint(&self, complaint: ComplaintInput) -> Result<String> {
        let category = closed(&complaint.category).map_err(invalid)?;
        let priority = closed(&complaint.priority).map_err(invalid)?;
        let channel = match complaint.channel.as_deref().and_then(optional_text) {
            Some(c) => closed(&c).map_err(invalid)?,
            None => ComplaintChannel::Other,
        };
        let received_at = match complaint.received_at.as_deref().and_then(optional_text) {
            Some(at) => crate::client::input::checkin(Some(&at)).map_err(invalid)?.0,
            None => now_string(),
        };
        self.write(|store| {
            let user = user_of(store)?;
            let customer = known_customer(store, &complaint.customer)?;
            let built = NewComplaint {
                customer,
                recorded_by: user.username,
                received_at,
                channel,
                category,
                priority,
                summary: complaint.summary.trim().to_string(),
                assignee: complaint.assignee.as_deref().and_then(optional_text),
            }
            .build(crate::ids::new_id(), now_string())
            .map_err(invalid)?;
            Ok(store.create(built)?)
        })
    }

    /// Assigns complaint `id` to `to` (managers and admins).
    pub fn assign_complaint(&self, id: &str, to: &str) -> Result<Complaint> {
        self.edit_complaint(id, ComplaintEdit::Assign(optional_text(to)))
    }

    /// Moves complaint `id` to `to` (`investigating`, `handled`, `followed_up` or `closed`)
    /// as the logged-in user, with a note; the step to `followed_up` names the follow-up
    /// visit, which must be a visit of the same customer on this device.
    pub fn step_complaint(
        &self,
        id: &str,
        to: &str,
        note: Option<String>,
        visit: Option<String>,
    ) -> Result<Complaint> {
        let to = closed(to).map_err(invalid)?;
        self.write(|store| {
            let user = user_of(store)?;
            let complaint = on_known(id, "complaint", |id| store.get::<Complaint>(id))?;
            let visit = match visit.as_deref().and_then(optional_text) {
                Some(v) => {
                    let v = on_known(&v, "visit", |v| {
                        store.get::<crate::model::Visit>(v).map(|found| found.id)
                    })?;
                    let of = store.get::<crate::model::Visit>(&v)?.customer;
                    if of != complaint.customer {
                        return Err(invalid(crate::ValidationError::new(
                            "visit",
                            format!(
                                "visit {v} is of another customer: the follow-up visit is one to {}",
                                complaint.customer
                            ),
                        )));
                    }
                    Some(v)
                }
                None => None,
            };
            let edit = ComplaintEdit::Step {
                to,
                by: user.username,
                note: note.as_deref().and_then(optional_text),
                visit,
            };
            Ok(store.edit::<Complaint>(&complaint.id, &[edit])?)
        })
    }

    /// Adds a paragraph to the summary of complaint `id`.
    pub fn append_complaint_summary(&self, id: &str, text: &str) -> Result<Complaint> {
        self.edit_complaint(id, ComplaintEdit::AppendSummary(text.to_string()))
    }

    /// Reads a complaint.
    pub fn complaint(&self, id: &str) -> Result<Complaint> {
        self.read(|store| on_known(id, "complaint", |id| store.get::<Complaint>(id)))
    }

    /// The complaints matching `query`, newest first, with their deadlines.
    pub fn list_complaints(&self, query: &ComplaintQuery) -> Result<Vec<ComplaintRow>> {
        self.read(|store| {
            let hours = store.settings()?.complaint_hours;
            store.list_complaints(query, &hours, chrono::Utc::now())
        })
    }

    /// Complaints still waiting for their first response past its deadline.
    pub fn overdue_complaints(&self) -> Result<Vec<ComplaintRow>> {
        self.list_complaints(&ComplaintQuery {
            overdue: true,
            ..Default::default()
        })
    }

    /// The first-response deadline of complaint `id` under the server's settings.
    pub fn complaint_deadline(&self, id: &str) -> Result<Option<String>> {
        self.read(|store| {
            let hours = store.settings()?.complaint_hours;
            let c = on_known(id, "complaint", |id| store.get::<Complaint>(id))?;
            Ok(c.deadline(&hours).map(format_time))
        })
    }

    fn edit_complaint(&self, id: &str, edit: ComplaintEdit) -> Result<Complaint> {
        self.write(|store| {
            Ok(on_known(id, DocKind::Complaint.noun(), |id| {
                store.edit::<Complaint>(id, &[edit])
            })?)
        })
    }
}
