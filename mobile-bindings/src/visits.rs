//! Visit records: recording, correcting and reading a visit, its SPIN notes, competitor
//! intelligence, samples and manager comments, and the follow-ups they schedule.
//!
//! Every method maps its record onto the facade's `VisitInput` / `VisitPatch` and nothing
//! else: the defaults (the author, the check-in time, the visit type), the reading of typed
//! text (`""` clears) and the rules (who may comment, which dates are valid) are the
//! facade's, client-core's and the server's.

use fieldsync_core::client::{CompetitorInput, SampleInput, VisitPatch};
use fieldsync_core::model::visit::{Comment, CompetitorIntel, SampleGiven, Spin, SpinPart};

use crate::records::{
    FollowUpRecord, GeoRecord, MoneyRecord, NewVisitRecord, PersonMetRecord, Visit, VisitFilter,
    VisitRow,
};
use crate::{FieldsyncClient, Res};

/// The four SPIN notes of a visit.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct SpinRecord {
    /// The customer's situation.
    pub situation: String,
    /// Their problem.
    pub problem: String,
    /// What the problem costs them.
    pub implication: String,
    /// What solving it is worth.
    pub need_payoff: String,
}

impl From<Spin> for SpinRecord {
    fn from(s: Spin) -> Self {
        SpinRecord {
            situation: s.situation.as_str().to_string(),
            problem: s.problem.as_str().to_string(),
            implication: s.implication.as_str().to_string(),
            need_payoff: s.need_payoff.as_str().to_string(),
        }
    }
}

/// Something learnt about a competitor on a visit.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CompetitorRecord {
    /// Competitor name.
    pub competitor: String,
    /// Their product.
    #[uniffi(default = None)]
    pub product: Option<String>,
    /// Their price.
    #[uniffi(default = None)]
    pub price: Option<MoneyRecord>,
    /// What else was learnt.
    #[uniffi(default = None)]
    pub notes: Option<String>,
}

impl From<CompetitorRecord> for CompetitorInput {
    fn from(c: CompetitorRecord) -> Self {
        CompetitorInput {
            competitor: c.competitor,
            product: c.product,
            price: c.price.map(Into::into),
            notes: c.notes,
        }
    }
}

impl From<CompetitorIntel> for CompetitorRecord {
    fn from(c: CompetitorIntel) -> Self {
        CompetitorRecord {
            competitor: c.competitor,
            product: c.product,
            price: c.price.map(Into::into),
            notes: c.notes,
        }
    }
}

/// A sample left with the customer.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct SampleRecord {
    /// Product.
    pub product: String,
    /// How many.
    pub quantity: i64,
    /// Unit of the quantity (`box`, `kg`, …).
    #[uniffi(default = None)]
    pub unit: Option<String>,
}

impl From<SampleRecord> for SampleInput {
    fn from(s: SampleRecord) -> Self {
        SampleInput {
            product: s.product,
            quantity: s.quantity,
            unit: s.unit,
        }
    }
}

impl From<SampleGiven> for SampleRecord {
    fn from(s: SampleGiven) -> Self {
        SampleRecord {
            product: s.product,
            quantity: s.quantity,
            unit: s.unit,
        }
    }
}

/// A manager's comment on a visit.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CommentRecord {
    /// Who wrote it.
    pub author: String,
    /// When (RFC 3339, UTC).
    pub at: String,
    /// The comment.
    pub text: String,
}

impl From<Comment> for CommentRecord {
    fn from(c: Comment) -> Self {
        CommentRecord {
            author: c.author,
            at: c.at,
            text: c.text,
        }
    }
}

/// The corrections and additions `update_visit` makes, in one change. Fields left `None` (or
/// empty lists) are not touched; an optional text set to `""` is cleared.
#[derive(Debug, Clone, Default, uniffi::Record)]
pub struct VisitUpdate {
    /// Corrected check-in time, RFC 3339.
    #[uniffi(default = None)]
    pub checkin_at: Option<String>,
    /// Local offset from UTC at the corrected check-in, minutes; when `None`, the offset
    /// `checkin_at` is written with. Only with `checkin_at`.
    #[uniffi(default = None)]
    pub utc_offset_minutes: Option<i64>,
    /// `cold_visit`, `follow_up`, `sample`, `quote`, `complaint`, `after_sales`.
    #[uniffi(default = None)]
    pub visit_type: Option<String>,
    /// `order`, `progress`, `no_change`, `setback`; `""` clears it.
    #[uniffi(default = None)]
    pub outcome: Option<String>,
    /// The agreed next step; `""` clears it.
    #[uniffi(default = None)]
    pub next_step: Option<String>,
    /// Next follow-up day, YYYY-MM-DD; `""` clears it.
    #[uniffi(default = None)]
    pub next_followup: Option<String>,
    /// The whole summary, replaced (an edit from another device made meanwhile may be lost:
    /// prefer `summary_append` to add).
    #[uniffi(default = None)]
    pub summary: Option<String>,
    /// A paragraph appended to the summary, on a line of its own (concurrent appends from
    /// several devices all survive).
    #[uniffi(default = None)]
    pub summary_append: Option<String>,
    /// Amount quoted.
    #[uniffi(default = None)]
    pub quote_amount: Option<MoneyRecord>,
    /// Amount ordered.
    #[uniffi(default = None)]
    pub order_amount: Option<MoneyRecord>,
    /// People met, added.
    #[uniffi(default = [])]
    pub add_people: Vec<PersonMetRecord>,
    /// People met, removed: each by name (or entry id).
    #[uniffi(default = [])]
    pub remove_people: Vec<String>,
    /// Text appended to the SPIN notes (each part that is not empty).
    #[uniffi(default = None)]
    pub spin_append: Option<SpinRecord>,
    /// Competitor intelligence, added.
    #[uniffi(default = [])]
    pub add_competitors: Vec<CompetitorRecord>,
    /// Samples left, added.
    #[uniffi(default = [])]
    pub add_samples: Vec<SampleRecord>,
}

impl From<VisitUpdate> for VisitPatch {
    fn from(u: VisitUpdate) -> Self {
        VisitPatch {
            checkin_at: u.checkin_at,
            utc_offset_minutes: u.utc_offset_minutes,
            geo: None,
            visit_type: u.visit_type,
            outcome: u.outcome,
            next_step: u.next_step,
            next_followup: u.next_followup,
            summary: u.summary,
            summary_append: u.summary_append,
            quote_amount: u.quote_amount.map(|m| Some(m.into())),
            order_amount: u.order_amount.map(|m| Some(m.into())),
            add_people: u
                .add_people
                .into_iter()
                .map(|p| (p.name, p.title))
                .collect(),
            remove_people: u.remove_people,
            spin_append: u
                .spin_append
                .map(|s| {
                    vec![
                        (SpinPart::Situation, s.situation),
                        (SpinPart::Problem, s.problem),
                        (SpinPart::Implication, s.implication),
                        (SpinPart::NeedPayoff, s.need_payoff),
                    ]
                })
                .unwrap_or_default(),
            add_competitors: u.add_competitors.into_iter().map(Into::into).collect(),
            add_samples: u.add_samples.into_iter().map(Into::into).collect(),
        }
    }
}

#[uniffi::export]
impl FieldsyncClient {
    /// Records a visit (offline) by the logged-in user and returns its id.
    pub fn record_visit(&self, visit: NewVisitRecord) -> Res<String> {
        self.call(|c| Ok(c.record_visit(visit.into())?))
    }

    /// Corrects or adds to a visit record (offline), in one change, and returns it. An update
    /// that changes nothing is refused.
    pub fn update_visit(&self, id: String, update: VisitUpdate) -> Res<Visit> {
        self.call(|c| Ok(c.update_visit(&id, update.into())?.into()))
    }

    /// Moves a visit's check-in position (`None` removes it).
    pub fn set_visit_geo(&self, id: String, geo: Option<GeoRecord>) -> Res<Visit> {
        let patch = VisitPatch {
            geo: Some(geo.map(Into::into)),
            ..VisitPatch::default()
        };
        self.call(|c| Ok(c.update_visit(&id, patch)?.into()))
    }

    /// Adds the logged-in manager's comment to a visit. The server accepts comments from the
    /// rep's managers and admins.
    pub fn comment_visit(&self, id: String, text: String) -> Res<Visit> {
        self.call(|c| Ok(c.comment_visit(&id, &text)?.into()))
    }

    /// Reads a visit record.
    pub fn get_visit(&self, id: String) -> Res<Visit> {
        self.call(|c| Ok(c.visit(&id)?.into()))
    }

    /// Lists visits matching `filter`, newest first.
    pub fn list_visits(&self, filter: VisitFilter) -> Res<Vec<VisitRow>> {
        self.call(|c| {
            Ok(c.list_visits(&filter.try_into()?)?
                .into_iter()
                .map(Into::into)
                .collect())
        })
    }

    /// Customers due (or overdue) for a follow-up on local day `date` (YYYY-MM-DD; today when
    /// `None`), of rep `owner` or of everyone on this device.
    #[uniffi::method(default(date = None, owner = None))]
    pub fn due_followups(
        &self,
        date: Option<String>,
        owner: Option<String>,
    ) -> Res<Vec<FollowUpRecord>> {
        self.call(|c| {
            Ok(c.followups(date.as_deref(), owner.as_deref())?
                .into_iter()
                .map(Into::into)
                .collect())
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn an_update_maps_field_by_field_and_a_spin_record_to_its_four_parts() {
        let patch = VisitPatch::from(VisitUpdate {
            outcome: Some(String::new()),
            quote_amount: Some(MoneyRecord {
                amount: 12_850,
                currency: "CNY".into(),
            }),
            remove_people: vec!["王经理".into()],
            spin_append: Some(SpinRecord {
                situation: String::new(),
                problem: "line stops twice a week".into(),
                implication: String::new(),
                need_payoff: String::new(),
            }),
            ..Default::default()
        });
        assert_eq!(patch.outcome.as_deref(), Some(""));
        assert_eq!(
            patch.quote_amount,
            Some(Some(fieldsync_core::model::fields::Money::new(
                12_850, "CNY"
            )))
        );
        assert_eq!(patch.order_amount, None);
        assert_eq!(patch.geo, None);
        assert_eq!(patch.remove_people, vec!["王经理".to_string()]);
        assert_eq!(patch.spin_append.len(), 4);
        assert_eq!(
            patch.spin_append[1],
            (SpinPart::Problem, "line stops twice a week".to_string())
        );
        assert!(VisitPatch::from(VisitUpdate::default()).is_empty());
    }
}
