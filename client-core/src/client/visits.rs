//! Visit records: record one with the user as author and the right visit type, correct or add
//! to it with a patch, comment, read and list.

use crate::ValidationError;
use crate::client::customers::{known_customer, on_known};
use crate::client::input::{checkin, closed, optional_closed, optional_date, optional_text};
use crate::client::{Client, Result, invalid, user_of};
use crate::model::fields::{Geo, Money};
use crate::model::visit::{NewVisit, SpinPart, Visit, VisitEdit};
use crate::store::{VisitQuery, VisitRow};

/// Something learnt about a competitor on a visit.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CompetitorInput {
    /// Competitor name.
    pub competitor: String,
    /// Their product.
    pub product: Option<String>,
    /// Their price.
    pub price: Option<Money>,
    /// What else was learnt.
    pub notes: Option<String>,
}

/// A sample left with the customer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SampleInput {
    /// Product.
    pub product: String,
    /// How many.
    pub quantity: i64,
    /// Unit of the quantity (`box`, `kg`, …).
    pub unit: Option<String>,
}

/// A new visit as the user records it. The author is the logged-in user.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VisitInput {
    /// The customer visited (its id).
    pub customer: String,
    /// The check-in time, RFC 3339; now when `None`.
    pub checkin_at: Option<String>,
    /// The offset from UTC of the local day of the check-in, in minutes; when `None`, the
    /// offset `checkin_at` is written with (this device's for a time in UTC, or for now).
    pub utc_offset_minutes: Option<i64>,
    /// Where the check-in was.
    pub geo: Option<Geo>,
    /// `cold_visit`, `follow_up`, `sample`, `quote`, `complaint` or `after_sales`; when
    /// `None`, `cold_visit` for a first visit to the customer and `follow_up` after that.
    pub visit_type: Option<String>,
    /// The people met: a name and, when known, a title.
    pub people_met: Vec<(String, Option<String>)>,
    /// What was said.
    pub summary: String,
    /// `order`, `progress`, `no_change` or `setback`.
    pub outcome: Option<String>,
    /// The agreed next step.
    pub next_step: Option<String>,
    /// The next follow-up day, YYYY-MM-DD (not before the visit).
    pub next_followup: Option<String>,
    /// Amount quoted.
    pub quote_amount: Option<Money>,
    /// Amount ordered.
    pub order_amount: Option<Money>,
    /// What was learnt about competitors.
    pub competitors: Vec<CompetitorInput>,
    /// Samples left with the customer.
    pub samples: Vec<SampleInput>,
}

/// A correction of or addition to a visit: each field set is changed, the others are left as
/// they are; an optional text set to [`crate::client::input::CLEAR`] is cleared; lists add
/// (or, for `remove_people`, remove) entries. All in one change.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VisitPatch {
    /// A corrected check-in time, RFC 3339.
    pub checkin_at: Option<String>,
    /// The local day's offset of the corrected check-in, minutes (as in [`VisitInput`]).
    pub utc_offset_minutes: Option<i64>,
    /// The check-in position: `Some(None)` removes it.
    pub geo: Option<Option<Geo>>,
    /// The visit type.
    pub visit_type: Option<String>,
    /// The outcome.
    pub outcome: Option<String>,
    /// The next step.
    pub next_step: Option<String>,
    /// The next follow-up day, YYYY-MM-DD.
    pub next_followup: Option<String>,
    /// The whole summary, replaced.
    pub summary: Option<String>,
    /// A paragraph added to the summary (concurrent additions from several devices all stay).
    pub summary_append: Option<String>,
    /// Amount quoted: `Some(None)` clears it.
    pub quote_amount: Option<Option<Money>>,
    /// Amount ordered: `Some(None)` clears it.
    pub order_amount: Option<Option<Money>>,
    /// People met, added: a name and, when known, a title.
    pub add_people: Vec<(String, Option<String>)>,
    /// People met, removed: each by entry id or by name.
    pub remove_people: Vec<String>,
    /// Paragraphs added to SPIN notes.
    pub spin_append: Vec<(SpinPart, String)>,
    /// Competitor intelligence, added.
    pub add_competitors: Vec<CompetitorInput>,
    /// Samples left, added.
    pub add_samples: Vec<SampleInput>,
}

impl VisitPatch {
    /// Whether the patch changes nothing.
    pub fn is_empty(&self) -> bool {
        *self == VisitPatch::default()
    }

    /// The edits this patch asks of `current`, in field order.
    fn edits(self, current: &Visit) -> std::result::Result<Vec<VisitEdit>, ValidationError> {
        use VisitEdit as E;
        let mut edits = Vec::new();
        match (self.checkin_at, self.utc_offset_minutes) {
            (Some(at), offset) => {
                let (at, typed_offset) = checkin(Some(&at))?;
                edits.push(E::Checkin {
                    at,
                    utc_offset_minutes: offset.unwrap_or(typed_offset),
                });
            }
            (None, None) => {}
            (None, Some(_)) => {
                return Err(ValidationError::new(
                    "visit.checkin_at",
                    "a corrected offset needs the corrected check-in time too",
                ));
            }
        }
        if let Some(geo) = self.geo {
            edits.push(E::Geo(geo));
        }
        if let Some(v) = self.visit_type {
            edits.push(E::Type(closed(&v)?));
        }
        if let Some(v) = self.summary {
            edits.push(E::ReplaceSummary(v));
        }
        if let Some(v) = self.summary_append {
            edits.push(E::AppendSummary(v));
        }
        for (name, title) in self.add_people {
            edits.push(E::AddPerson {
                name: name.trim().to_string(),
                title: title.and_then(|t| optional_text(&t)),
                decision_maker: false,
            });
        }
        for who in self.remove_people {
            let who = who.trim();
            let person = current
                .people_met
                .iter()
                .find(|p| p.id == who || p.name == who)
                .ok_or_else(|| {
                    ValidationError::new(
                        "visit.people_met",
                        format!("'{who}' is not among the people met on this visit"),
                    )
                })?;
            edits.push(E::RemovePerson(person.id.clone()));
        }
        for (part, text) in self.spin_append {
            if !text.trim().is_empty() {
                edits.push(E::AppendSpin(part, text));
            }
        }
        if let Some(v) = self.outcome {
            edits.push(E::Outcome(optional_closed(&v)?));
        }
        if let Some(v) = self.next_step {
            edits.push(E::NextStep(optional_text(&v)));
        }
        if let Some(v) = self.next_followup {
            edits.push(E::NextFollowup(optional_date("next_followup", &v)?));
        }
        for c in self.add_competitors {
            edits.push(E::AddCompetitorIntel {
                competitor: c.competitor.trim().to_string(),
                product: c.product.and_then(|p| optional_text(&p)),
                price: c.price,
                notes: c.notes.and_then(|n| optional_text(&n)),
            });
        }
        for s in self.add_samples {
            edits.push(E::AddSample {
                product: s.product,
                quantity: s.quantity,
                unit: s.unit,
            });
        }
        if let Some(v) = self.quote_amount {
            edits.push(E::QuoteAmount(v));
        }
        if let Some(v) = self.order_amount {
            edits.push(E::OrderAmount(v));
        }
        Ok(edits)
    }
}

impl Client {
    /// Records a visit (offline) by the logged-in user and returns its id.
    pub fn record_visit(&self, v: VisitInput) -> Result<String> {
        self.write(|store| {
            let user = user_of(store)?;
            let customer = known_customer(store, &v.customer)?;
            let (checkin_at, typed_offset) = checkin(v.checkin_at.as_deref()).map_err(invalid)?;
            let given_type = v
                .visit_type
                .as_deref()
                .map(closed)
                .transpose()
                .map_err(invalid)?;
            let new = NewVisit {
                visit_type: Some(store.visit_type_for(&customer, given_type)?),
                customer,
                author: user.username,
                checkin_at,
                utc_offset_minutes: v.utc_offset_minutes.unwrap_or(typed_offset),
                checkin_geo: v.geo,
                people_met: v
                    .people_met
                    .into_iter()
                    .map(|(name, title)| {
                        (
                            name.trim().to_string(),
                            title.and_then(|t| optional_text(&t)),
                        )
                    })
                    .collect(),
                summary: v.summary,
                outcome: v
                    .outcome
                    .as_deref()
                    .map(optional_closed)
                    .transpose()
                    .map_err(invalid)?
                    .flatten(),
                next_step: v.next_step.and_then(|s| optional_text(&s)),
                next_followup: v
                    .next_followup
                    .as_deref()
                    .map(|d| optional_date("next_followup", d))
                    .transpose()
                    .map_err(invalid)?
                    .flatten(),
                quote_amount: v.quote_amount,
                order_amount: v.order_amount,
            };
            let id = store.create_visit(new)?;
            let extra = VisitPatch {
                add_competitors: v.competitors,
                add_samples: v.samples,
                ..Default::default()
            };
            if !extra.is_empty() {
                let current = store.visit(&id)?;
                store.update_visit(&id, &extra.edits(&current).map_err(invalid)?)?;
            }
            Ok(id)
        })
    }

    /// Applies `patch` to visit `id` in one change and returns the visit as it is now. A
    /// patch that changes nothing is refused.
    pub fn update_visit(&self, id: &str, patch: VisitPatch) -> Result<Visit> {
        self.write(|store| {
            let current = on_known(id, "visit", |id| store.visit(id))?;
            let edits = patch.edits(&current).map_err(invalid)?;
            if edits.is_empty() {
                return Err(invalid(ValidationError::new(
                    "visit",
                    "nothing to change: set at least one field",
                )));
            }
            Ok(store.update_visit(&current.id, &edits)?)
        })
    }

    /// Adds the logged-in user's comment to a visit (the rep's managers and admins may).
    pub fn comment_visit(&self, id: &str, text: &str) -> Result<Visit> {
        self.write(|store| {
            let user = user_of(store)?;
            let edit = VisitEdit::AddComment {
                author: user.username,
                text: text.to_string(),
            };
            Ok(on_known(id, "visit", |id| store.update_visit(id, &[edit]))?)
        })
    }

    /// Reads a visit record.
    pub fn visit(&self, id: &str) -> Result<Visit> {
        self.read(|store| on_known(id, "visit", |id| store.visit(id)))
    }

    /// The visits matching `query`, newest first. A customer named in it must be on this
    /// device.
    pub fn list_visits(&self, query: &VisitQuery) -> Result<Vec<VisitRow>> {
        self.read(|store| {
            let mut q = query.clone();
            if let Some(c) = &q.customer {
                q.customer = Some(known_customer(store, c)?);
            }
            store.list_visits(&q)
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::model::visit::Outcome;

    fn visit() -> Visit {
        let new = NewVisit {
            customer: crate::ids::new_id(),
            author: "li".into(),
            checkin_at: "2026-11-23T01:30:00Z".into(),
            utc_offset_minutes: 480,
            people_met: vec![("王经理".into(), Some("采购".into()))],
            summary: "谈了价格".into(),
            ..Default::default()
        };
        new.build(crate::ids::new_id(), "2026-11-23T01:30:00Z".into())
            .unwrap()
    }

    #[test]
    fn a_patch_becomes_one_edit_per_field_and_the_empty_text_clears() {
        let current = visit();
        let edits = VisitPatch {
            outcome: Some(String::new()),
            next_followup: Some("2026-12-01".into()),
            spin_append: vec![
                (SpinPart::Situation, " ".into()),
                (SpinPart::Problem, "line stops twice a week".into()),
            ],
            remove_people: vec!["王经理".into()],
            quote_amount: Some(None),
            ..Default::default()
        }
        .edits(&current)
        .unwrap();
        assert_eq!(
            edits,
            vec![
                VisitEdit::RemovePerson(current.people_met[0].id.clone()),
                VisitEdit::AppendSpin(SpinPart::Problem, "line stops twice a week".into()),
                VisitEdit::Outcome(None),
                VisitEdit::NextFollowup(Some("2026-12-01".into())),
                VisitEdit::QuoteAmount(None),
            ]
        );
        let order = VisitPatch {
            outcome: Some("order".into()),
            ..Default::default()
        }
        .edits(&current)
        .unwrap();
        assert_eq!(order, vec![VisitEdit::Outcome(Some(Outcome::Order))]);
    }

    #[test]
    fn a_bad_patch_is_refused_whole() {
        let current = visit();
        for bad in [
            VisitPatch {
                outcome: Some("won".into()),
                ..Default::default()
            },
            VisitPatch {
                next_followup: Some("2026-2-1".into()),
                ..Default::default()
            },
            VisitPatch {
                utc_offset_minutes: Some(480),
                ..Default::default()
            },
            VisitPatch {
                remove_people: vec!["nobody".into()],
                ..Default::default()
            },
        ] {
            assert!(bad.edits(&current).is_err());
        }
    }
}
