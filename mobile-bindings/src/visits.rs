//! Visit records: recording, correcting and reading a visit, its SPIN notes, competitor
//! intelligence, samples and manager comments, and the follow-ups they schedule.
//!
//! Every method maps its arguments onto client-core's `NewVisit` / `VisitEdit` and nothing
//! else: the rules (who may comment, which dates are valid) live in client-core and the server.

use fieldsync_core::model::fields::parse_date;
use fieldsync_core::model::visit::{
    Comment, CompetitorIntel, NewVisit, SampleGiven, Spin, SpinPart, VisitEdit,
};
use fieldsync_core::store::VisitQuery;

use crate::records::{
    FollowUpRecord, GeoRecord, MoneyRecord, NewVisitRecord, PersonMetRecord, Visit, VisitFilter,
    VisitRow,
};
use crate::{FieldsyncClient, Res, optional_text, parse, parse_opt};

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
/// empty lists) are not touched; for optional text, `""` clears the field.
#[derive(Debug, Clone, Default, uniffi::Record)]
pub struct VisitUpdate {
    /// Corrected check-in time, RFC 3339; needs `utc_offset_minutes` too.
    #[uniffi(default = None)]
    pub checkin_at: Option<String>,
    /// Local offset from UTC at the corrected check-in, minutes.
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
    /// A paragraph appended to the summary, on a line of its own (concurrent appends from several devices all survive).
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

/// The edits a [`VisitUpdate`] asks for, in field order.
fn visit_edits(u: VisitUpdate) -> Res<Vec<VisitEdit>> {
    use VisitEdit as E;
    let mut edits = Vec::new();
    match (u.checkin_at, u.utc_offset_minutes) {
        (Some(at), Some(utc_offset_minutes)) => edits.push(E::Checkin {
            at,
            utc_offset_minutes,
        }),
        (None, None) => {}
        _ => {
            return Err(crate::FieldsyncError::Invalid {
                reason: "visit.checkin_at: a corrected check-in needs both the time and \
                         utc_offset_minutes"
                    .into(),
            });
        }
    }
    if let Some(v) = u.visit_type {
        edits.push(E::Type(parse(&v)?));
    }
    if let Some(v) = u.outcome {
        edits.push(E::Outcome(parse_opt(optional_text(v).as_deref())?));
    }
    if let Some(v) = u.next_step {
        edits.push(E::NextStep(optional_text(v)));
    }
    if let Some(v) = u.next_followup {
        let day = optional_text(v);
        if let Some(d) = &day {
            parse_date("next_followup", d)?;
        }
        edits.push(E::NextFollowup(day));
    }
    if let Some(v) = u.summary_append {
        edits.push(E::AppendSummary(v));
    }
    if let Some(v) = u.quote_amount {
        edits.push(E::QuoteAmount(Some(v.into())));
    }
    if let Some(v) = u.order_amount {
        edits.push(E::OrderAmount(Some(v.into())));
    }
    for p in u.add_people {
        edits.push(E::AddPerson {
            name: p.name,
            title: p.title,
            decision_maker: false,
        });
    }
    if let Some(s) = u.spin_append {
        for (part, text) in [
            (SpinPart::Situation, s.situation),
            (SpinPart::Problem, s.problem),
            (SpinPart::Implication, s.implication),
            (SpinPart::NeedPayoff, s.need_payoff),
        ] {
            if !text.is_empty() {
                edits.push(E::AppendSpin(part, text));
            }
        }
    }
    for c in u.add_competitors {
        edits.push(E::AddCompetitorIntel {
            competitor: c.competitor,
            product: c.product,
            price: c.price.map(Into::into),
            notes: c.notes,
        });
    }
    for s in u.add_samples {
        edits.push(E::AddSample {
            product: s.product,
            quantity: s.quantity,
            unit: s.unit,
        });
    }
    Ok(edits)
}

#[uniffi::export]
impl FieldsyncClient {
    /// Records a visit (offline) by the logged-in user and returns its id.
    pub fn record_visit(&self, visit: NewVisitRecord) -> Res<String> {
        self.with_store(|store| {
            let user = Self::user(store)?;
            if let Some(d) = &visit.next_followup {
                parse_date("next_followup", d)?;
            }
            let id = store.create_visit(NewVisit {
                customer: visit.customer,
                author: user.username,
                checkin_at: visit.checkin_at,
                utc_offset_minutes: visit.utc_offset_minutes,
                checkin_geo: visit.checkin_geo.map(Into::into),
                visit_type: parse_opt(visit.visit_type.as_deref())?,
                people_met: visit
                    .people_met
                    .into_iter()
                    .map(|p| (p.name, p.title))
                    .collect(),
                summary: visit.summary,
                outcome: parse_opt(visit.outcome.as_deref())?,
                next_step: visit.next_step,
                next_followup: visit.next_followup,
                quote_amount: visit.quote_amount.map(Into::into),
                order_amount: visit.order_amount.map(Into::into),
            })?;
            Ok(id)
        })
    }

    /// Corrects or adds to a visit record (offline), in one change, and returns it.
    pub fn update_visit(&self, id: String, update: VisitUpdate) -> Res<Visit> {
        self.with_store(|store| {
            let edits = visit_edits(update)?;
            Ok(store.update_visit(&id, &edits)?.into())
        })
    }

    /// Moves a visit's check-in position (`None` removes it).
    pub fn set_visit_geo(&self, id: String, geo: Option<GeoRecord>) -> Res<Visit> {
        self.with_store(|store| {
            Ok(store
                .update_visit(&id, &[VisitEdit::Geo(geo.map(Into::into))])?
                .into())
        })
    }

    /// Adds the logged-in manager's comment to a visit. The server accepts comments from the
    /// rep's managers and admins.
    pub fn comment_visit(&self, id: String, text: String) -> Res<Visit> {
        self.with_store(|store| {
            let user = Self::user(store)?;
            let edit = VisitEdit::AddComment {
                author: user.username,
                text,
            };
            Ok(store.update_visit(&id, &[edit])?.into())
        })
    }

    /// Reads a visit record.
    pub fn get_visit(&self, id: String) -> Res<Visit> {
        self.with_store(|store| Ok(store.visit(&id)?.into()))
    }

    /// Lists visits matching `filter`, newest first.
    pub fn list_visits(&self, filter: VisitFilter) -> Res<Vec<VisitRow>> {
        self.with_store(|store| {
            let q = VisitQuery {
                customer: filter.customer,
                author: filter.author,
                from: filter.from.map(|d| parse_date("from", &d)).transpose()?,
                to: filter.to.map(|d| parse_date("to", &d)).transpose()?,
                limit: filter.limit,
                offset: filter.offset,
            };
            Ok(store.list_visits(&q)?.into_iter().map(Into::into).collect())
        })
    }

    /// Customers due (or overdue) for a follow-up on local day `date` (YYYY-MM-DD).
    pub fn due_followups(&self, date: String) -> Res<Vec<FollowUpRecord>> {
        self.with_store(|store| {
            let day = parse_date("date", &date)?;
            Ok(store
                .due_followups(day, None)?
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
    use crate::FieldsyncError;
    use fieldsync_core::model::visit::Outcome;

    #[test]
    fn an_update_becomes_one_edit_per_field_and_empty_text_clears() {
        let edits = visit_edits(VisitUpdate {
            outcome: Some(String::new()),
            next_followup: Some("2026-12-01".into()),
            spin_append: Some(SpinRecord {
                situation: String::new(),
                problem: "line stops twice a week".into(),
                implication: String::new(),
                need_payoff: String::new(),
            }),
            add_samples: vec![SampleRecord {
                product: "bearing 6204".into(),
                quantity: 20,
                unit: None,
            }],
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            edits,
            vec![
                VisitEdit::Outcome(None),
                VisitEdit::NextFollowup(Some("2026-12-01".into())),
                VisitEdit::AppendSpin(SpinPart::Problem, "line stops twice a week".into()),
                VisitEdit::AddSample {
                    product: "bearing 6204".into(),
                    quantity: 20,
                    unit: None
                },
            ]
        );
        let order = visit_edits(VisitUpdate {
            outcome: Some("order".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(order, vec![VisitEdit::Outcome(Some(Outcome::Order))]);
    }

    #[test]
    fn a_bad_update_is_refused_whole() {
        for bad in [
            VisitUpdate {
                outcome: Some("won".into()),
                ..Default::default()
            },
            VisitUpdate {
                next_followup: Some("2026-2-1".into()),
                ..Default::default()
            },
            VisitUpdate {
                checkin_at: Some("2026-11-23T09:30:00+08:00".into()),
                ..Default::default()
            },
        ] {
            assert!(matches!(
                visit_edits(bad),
                Err(FieldsyncError::Invalid { .. })
            ));
        }
    }
}
