//! The visit record (拜访记录): one check-in at a customer and what came of it.

use automerge::{AutoCommit, ObjType, ROOT};
use autosurgeon::{Hydrate, Reconcile};
use chrono::{Duration, NaiveDate};
use serde::Serialize;

use super::attachment::{self, AttachmentRef};
use super::edit::{
    append_text, list_push, list_remove, object, replace_text, set_field, set_pair, set_whole,
    splice_text,
};
use super::fields::{
    Geo, Money, Paragraphs, limit_text, parse_date, parse_time, require_text, string_enum,
    validate_username,
};
use super::fields::{check_entry_id, check_stored_time};
use super::{DocKind, DocumentModel, SCHEMA_VERSION, validate_root};
use crate::error::{Result, ValidationError};
use crate::ids::{is_id, new_id};
use crate::rights::DocScope;

string_enum! {
    /// Why the rep went.
    VisitType, "visit.visit_type" {
        /// First contact, unannounced.
        ColdVisit = "cold_visit",
        /// Follow-up of earlier contact.
        FollowUp = "follow_up",
        /// Bringing samples.
        Sample = "sample",
        /// Presenting a quote.
        Quote = "quote",
        /// Handling a complaint.
        Complaint = "complaint",
        /// After-sales service.
        AfterSales = "after_sales",
    }
}

string_enum! {
    /// What the visit achieved.
    Outcome, "visit.outcome" {
        /// An order was placed.
        Order = "order",
        /// The deal moved forward (interest, sample or quote requested).
        Progress = "progress",
        /// Nothing changed.
        NoChange = "no_change",
        /// The deal moved back or was lost.
        Setback = "setback",
    }
}

/// A person the rep met.
#[derive(Debug, Clone, PartialEq, Serialize, Hydrate, Reconcile)]
pub struct PersonMet {
    /// Entry id.
    #[key]
    pub id: String,
    /// Name.
    pub name: String,
    /// Job title.
    pub title: Option<String>,
    /// Whether this person decides purchases.
    pub decision_maker: bool,
}

/// SPIN selling notes: situation, problem, implication, need-payoff (each shared text).
#[derive(Debug, Clone, PartialEq, Serialize, Hydrate, Reconcile)]
pub struct Spin {
    /// The customer's situation.
    pub situation: Paragraphs,
    /// Their problem.
    pub problem: Paragraphs,
    /// What the problem costs them.
    pub implication: Paragraphs,
    /// What solving it is worth.
    pub need_payoff: Paragraphs,
}

string_enum! {
    /// One of the four SPIN notes.
    SpinPart, "visit.spin" {
        /// Situation.
        Situation = "situation",
        /// Problem.
        Problem = "problem",
        /// Implication.
        Implication = "implication",
        /// Need-payoff.
        NeedPayoff = "need_payoff",
    }
}

/// Something learnt about a competitor.
#[derive(Debug, Clone, PartialEq, Serialize, Hydrate, Reconcile)]
pub struct CompetitorIntel {
    /// Entry id.
    #[key]
    pub id: String,
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
#[derive(Debug, Clone, PartialEq, Serialize, Hydrate, Reconcile)]
pub struct SampleGiven {
    /// Entry id.
    #[key]
    pub id: String,
    /// Product.
    pub product: String,
    /// How many.
    pub quantity: i64,
    /// Unit of the quantity.
    pub unit: Option<String>,
}

/// A manager's comment on the visit.
#[derive(Debug, Clone, PartialEq, Serialize, Hydrate, Reconcile)]
pub struct Comment {
    /// Entry id.
    #[key]
    pub id: String,
    /// Who wrote it.
    pub author: String,
    /// When (RFC 3339, UTC).
    pub at: String,
    /// The comment.
    pub text: String,
}

/// The visit record as stored in its document.
#[derive(Debug, Clone, PartialEq, Serialize, Hydrate, Reconcile)]
pub struct Visit {
    /// Always "visit".
    pub kind: String,
    /// Schema version.
    pub schema: i64,
    /// Document id.
    pub id: String,
    /// The customer visited (scope field: the visit is in its territory).
    pub customer: String,
    /// The rep who made the visit (scope field).
    pub author: String,
    /// Check-in time (RFC 3339, UTC).
    pub checkin_at: String,
    /// The device's offset from UTC at check-in, in minutes (480 for China).
    pub utc_offset_minutes: i64,
    /// Where the device was at check-in.
    pub checkin_geo: Option<Geo>,
    /// Why the rep went.
    pub visit_type: VisitType,
    /// People met.
    pub people_met: Vec<PersonMet>,
    /// What was discussed (shared text).
    pub summary: Paragraphs,
    /// SPIN notes.
    pub spin: Spin,
    /// What came of it.
    pub outcome: Option<Outcome>,
    /// What was learnt about competitors.
    pub competitor_intel: Vec<CompetitorIntel>,
    /// Samples left.
    pub samples: Vec<SampleGiven>,
    /// Amount quoted.
    pub quote_amount: Option<Money>,
    /// Amount ordered.
    pub order_amount: Option<Money>,
    /// The agreed next step.
    pub next_step: Option<String>,
    /// Explicit next follow-up date (the customer's local date, YYYY-MM-DD).
    pub next_followup: Option<String>,
    /// Manager comments.
    pub manager_comments: Vec<Comment>,
    /// Photos taken at the visit (the shop front, the shelf, a business card).
    #[autosurgeon(missing = "Default::default")]
    pub photos: Vec<AttachmentRef>,
    /// The id of the photo that proves the check-in, one of `photos`.
    #[autosurgeon(missing = "Default::default")]
    pub checkin_photo: Option<String>,
    /// When the record was created (RFC 3339, UTC).
    pub created_at: String,
}

impl VisitType {
    /// The type of a new visit for which the rep chose none, given how many visits of the same
    /// customer are already known: the first visit is a cold visit, later ones follow up.
    pub fn default_for(earlier_visits: u64) -> VisitType {
        if earlier_visits == 0 {
            VisitType::ColdVisit
        } else {
            VisitType::FollowUp
        }
    }
}

impl Visit {
    /// The local calendar day of the check-in, as the rep's device saw it.
    pub fn local_date(&self) -> Option<NaiveDate> {
        let at = parse_time("checkin_at", &self.checkin_at).ok()?;
        Some((at + Duration::minutes(self.utc_offset_minutes)).date_naive())
    }

    /// Checks that the next follow-up is not before the visit's own local day.
    ///
    /// Checked when a rep records a visit or changes its follow-up date or check-in, not in
    /// [`DocumentModel::validate`]: a check-in corrected on one device and a follow-up set on
    /// another may merge into such a pair, and a merge must never be refused.
    pub fn check_followup(&self) -> Result<(), ValidationError> {
        let Some(next) = &self.next_followup else {
            return Ok(());
        };
        let next = parse_date("visit.next_followup", next)?;
        match self.local_date() {
            Some(day) if next < day => Err(ValidationError::new(
                "visit.next_followup",
                format!(
                    "{next} is before the visit's own day {day}: pick a follow-up date on or after {day}"
                ),
            )),
            _ => Ok(()),
        }
    }
}

/// What it takes to record a visit.
#[derive(Debug, Clone, Default)]
pub struct NewVisit {
    /// Customer id (required).
    pub customer: String,
    /// The rep (required).
    pub author: String,
    /// Check-in time, RFC 3339 (required).
    pub checkin_at: String,
    /// Device offset from UTC in minutes.
    pub utc_offset_minutes: i64,
    /// GPS at check-in.
    pub checkin_geo: Option<Geo>,
    /// Defaults to follow-up; [`crate::Store::visit_type_for`] picks the first-visit type for
    /// a customer's first visit.
    pub visit_type: Option<VisitType>,
    /// People met: (name, title).
    pub people_met: Vec<(String, Option<String>)>,
    /// What was discussed.
    pub summary: String,
    /// What came of it.
    pub outcome: Option<Outcome>,
    /// Next step.
    pub next_step: Option<String>,
    /// Next follow-up date, YYYY-MM-DD.
    pub next_followup: Option<String>,
    /// Amount quoted.
    pub quote_amount: Option<Money>,
    /// Amount ordered.
    pub order_amount: Option<Money>,
}

impl NewVisit {
    /// Builds the document content; fails if a field breaks the schema.
    pub fn build(self, id: String, now: String) -> Result<Visit, ValidationError> {
        let checkin = parse_time("visit.checkin_at", &self.checkin_at)?;
        let visit = Visit {
            kind: DocKind::Visit.as_str().to_string(),
            schema: SCHEMA_VERSION,
            id,
            customer: self.customer,
            author: self.author,
            checkin_at: super::fields::format_time(checkin),
            utc_offset_minutes: self.utc_offset_minutes,
            checkin_geo: self.checkin_geo,
            visit_type: self.visit_type.unwrap_or(VisitType::FollowUp),
            people_met: self
                .people_met
                .into_iter()
                .map(|(name, title)| PersonMet {
                    id: new_id(),
                    name,
                    title,
                    decision_maker: false,
                })
                .collect(),
            summary: Paragraphs::from(self.summary),
            spin: Spin {
                situation: Paragraphs::default(),
                problem: Paragraphs::default(),
                implication: Paragraphs::default(),
                need_payoff: Paragraphs::default(),
            },
            outcome: self.outcome,
            competitor_intel: Vec::new(),
            samples: Vec::new(),
            quote_amount: self.quote_amount,
            order_amount: self.order_amount,
            next_step: self.next_step,
            next_followup: self.next_followup,
            manager_comments: Vec::new(),
            photos: Vec::new(),
            checkin_photo: None,
            created_at: now,
        };
        visit.validate()?;
        visit.check_followup()?;
        Ok(visit)
    }
}

/// One change to a visit record; each touches only its own field.
#[derive(Debug, Clone, PartialEq)]
pub enum VisitEdit {
    /// Correct the check-in time and offset.
    Checkin {
        /// RFC 3339 time.
        at: String,
        /// Offset from UTC in minutes.
        utc_offset_minutes: i64,
    },
    /// Check-in position.
    Geo(Option<Geo>),
    /// Visit type.
    Type(VisitType),
    /// Add a person met.
    AddPerson {
        /// Name.
        name: String,
        /// Title.
        title: Option<String>,
        /// Decides purchases.
        decision_maker: bool,
    },
    /// Remove a person met.
    RemovePerson(String),
    /// Append to the summary.
    AppendSummary(String),
    /// Replace the whole summary (a rewrite; [`VisitEdit::AppendSummary`] keeps concurrent
    /// additions apart better).
    ReplaceSummary(String),
    /// Replace `delete` characters at `pos` of the summary with `insert`.
    SpliceSummary {
        /// Position in characters.
        pos: usize,
        /// Characters to delete.
        delete: usize,
        /// Text to insert.
        insert: String,
    },
    /// Append to one SPIN note.
    AppendSpin(SpinPart, String),
    /// Outcome.
    Outcome(Option<Outcome>),
    /// Add competitor intelligence.
    AddCompetitorIntel {
        /// Competitor.
        competitor: String,
        /// Product.
        product: Option<String>,
        /// Price.
        price: Option<Money>,
        /// Notes.
        notes: Option<String>,
    },
    /// Record a sample left.
    AddSample {
        /// Product.
        product: String,
        /// Quantity.
        quantity: i64,
        /// Unit.
        unit: Option<String>,
    },
    /// Amount quoted.
    QuoteAmount(Option<Money>),
    /// Amount ordered.
    OrderAmount(Option<Money>),
    /// Next step.
    NextStep(Option<String>),
    /// Next follow-up date, YYYY-MM-DD.
    NextFollowup(Option<String>),
    /// Attach a photo (its bytes are already in the device's blob folder); `check_in` makes it
    /// the check-in photo. Attaching one that is there already changes nothing.
    AddPhoto {
        /// The reference.
        photo: AttachmentRef,
        /// Whether it proves the check-in.
        check_in: bool,
    },
    /// Remove a photo (and its check-in mark).
    RemovePhoto(String),
    /// A manager's comment.
    AddComment {
        /// Who comments.
        author: String,
        /// The comment.
        text: String,
    },
}

fn validate_money(field: &str, m: &Option<Money>) -> Result<(), ValidationError> {
    m.as_ref().map_or(Ok(()), |m| m.validate(field))
}

impl DocumentModel for Visit {
    const KIND: DocKind = DocKind::Visit;
    type Edit = VisitEdit;
    // After its customer (and the plans it may belong to).
    const PUSH_RANK: u8 = 2;
    const PROTECTED_FIELDS: &'static [&'static str] = &["author", "customer"];
    const NEVER_CHANGED: &'static [&'static str] = &["id", "kind", "created_at"];

    const ASKS_ABOUT_PEOPLE: bool = false;
    const STATUS_FIELDS: &'static [&'static str] = &[];

    fn check_writer(
        w: &crate::rights::Writer<'_>,
        before: Option<&Self>,
        after: &Self,
    ) -> Result<(), crate::rights::Refusal> {
        use crate::rights::refuse;
        let me = w.me();
        let old: &[Comment] = before.map_or(&[], |b| &b.manager_comments);
        if w.is_rep() {
            if after.author != me {
                return refuse(
                    "field_rights",
                    match before {
                        None => "a rep records visits as themselves: set author to yourself",
                        Some(_) => "a rep edits only their own visits",
                    },
                );
            }
            // Comments are the managers': a rep neither changes them nor brings them in a
            // new visit.
            if old != after.manager_comments.as_slice() {
                return refuse("field_rights", "only managers comment on visits");
            }
        }
        if w.who.role == crate::rights::Role::Admin {
            return Ok(());
        }
        // A comment is signed by whoever adds it, dated now, and changed or removed only by
        // its author (admins may record others', as an import of history does).
        for comment in &after.manager_comments {
            match old.iter().find(|c| c.id == comment.id) {
                None => {
                    if comment.author != me {
                        return refuse(
                            "field_rights",
                            format!(
                                "a comment is signed by whoever writes it: its author must be you ({me}), not '{}'",
                                comment.author
                            ),
                        );
                    }
                    crate::rights::check_plausible(
                        "visit.manager_comments.at",
                        &comment.at,
                        w.now,
                    )?;
                }
                Some(was) if was != comment && was.author != me => {
                    return refuse(
                        "field_rights",
                        format!("only {} changes their own comment", was.author),
                    );
                }
                Some(_) => {}
            }
        }
        if let Some(gone) = old
            .iter()
            .find(|c| c.author != me && !after.manager_comments.iter().any(|n| n.id == c.id))
        {
            return refuse(
                "field_rights",
                format!("only {} removes their own comment", gone.author),
            );
        }
        Ok(())
    }

    fn creation(&self) -> crate::rights::Creation<'_> {
        crate::rights::Creation {
            by_field: Some("author"),
            by: Some(&self.author),
            at: &self.created_at,
        }
    }

    fn scope(&self) -> DocScope {
        DocScope {
            customer: Some(self.customer.clone()),
            author: Some(self.author.clone()),
            ..DocScope::of(Self::KIND, &self.id)
        }
    }

    fn id(&self) -> &str {
        &self.id
    }

    fn attachments(&self) -> Vec<&super::attachment::AttachmentRef> {
        self.photos.iter().collect()
    }

    fn validate(&self) -> Result<(), ValidationError> {
        validate_root(Self::KIND, &self.kind, self.schema, &self.id)?;
        let at = |e: ValidationError| e.within("visit");
        if !is_id(&self.customer) {
            return Err(at(ValidationError::new(
                "customer",
                format!("'{}' is not a customer id", self.customer),
            )));
        }
        validate_username("author", &self.author).map_err(at)?;
        check_stored_time("checkin_at", &self.checkin_at).map_err(at)?;
        check_stored_time("created_at", &self.created_at).map_err(at)?;
        if !(-14 * 60..=14 * 60).contains(&self.utc_offset_minutes) {
            return Err(at(ValidationError::new(
                "utc_offset_minutes",
                format!(
                    "{} is not an offset from UTC (-840 to 840 minutes)",
                    self.utc_offset_minutes
                ),
            )));
        }
        if let Some(g) = &self.checkin_geo {
            g.validate("checkin_geo").map_err(at)?;
        }
        for (i, p) in self.people_met.iter().enumerate() {
            let within = |e: ValidationError| at(e.within(&format!("people_met[{i}]")));
            check_entry_id("person", &p.id).map_err(within)?;
            require_text("name", &p.name, 100).map_err(within)?;
            if let Some(t) = &p.title {
                limit_text("title", t, 100).map_err(within)?;
            }
        }
        limit_text("summary", self.summary.as_str(), 100_000).map_err(at)?;
        for (part, text) in [
            ("spin.situation", &self.spin.situation),
            ("spin.problem", &self.spin.problem),
            ("spin.implication", &self.spin.implication),
            ("spin.need_payoff", &self.spin.need_payoff),
        ] {
            limit_text(part, text.as_str(), 20_000).map_err(at)?;
        }
        for (i, c) in self.competitor_intel.iter().enumerate() {
            let within = |e: ValidationError| at(e.within(&format!("competitor_intel[{i}]")));
            check_entry_id("entry", &c.id).map_err(within)?;
            require_text("competitor", &c.competitor, 200).map_err(within)?;
            for (field, value) in [("product", &c.product), ("notes", &c.notes)] {
                if let Some(v) = value {
                    limit_text(field, v, 2000).map_err(within)?;
                }
            }
            validate_money("price", &c.price).map_err(within)?;
        }
        for (i, s) in self.samples.iter().enumerate() {
            let within = |e: ValidationError| at(e.within(&format!("samples[{i}]")));
            check_entry_id("entry", &s.id).map_err(within)?;
            require_text("product", &s.product, 200).map_err(within)?;
            if let Some(u) = &s.unit {
                limit_text("unit", u, 50).map_err(within)?;
            }
            if s.quantity <= 0 {
                return Err(within(ValidationError::new(
                    "quantity",
                    format!("{} is not a positive quantity", s.quantity),
                )));
            }
        }
        validate_money("quote_amount", &self.quote_amount).map_err(at)?;
        validate_money("order_amount", &self.order_amount).map_err(at)?;
        if let Some(s) = &self.next_step {
            limit_text("next_step", s, 1000).map_err(at)?;
        }
        if let Some(d) = &self.next_followup {
            parse_date("next_followup", d).map_err(at)?;
        }
        attachment::validate_list("photos", &self.photos).map_err(at)?;
        if let Some(id) = &self.checkin_photo
            && !self.photos.iter().any(|p| &p.id == id)
        {
            return Err(at(ValidationError::new(
                "checkin_photo",
                format!("{id} is not one of the visit's photos"),
            )));
        }
        for (i, c) in self.manager_comments.iter().enumerate() {
            let within = |e: ValidationError| at(e.within(&format!("manager_comments[{i}]")));
            check_entry_id("entry", &c.id).map_err(within)?;
            validate_username("author", &c.author).map_err(within)?;
            check_stored_time("at", &c.at).map_err(within)?;
            require_text("text", &c.text, 5000).map_err(within)?;
        }
        Ok(())
    }

    fn apply_edit(doc: &mut AutoCommit, edit: &VisitEdit) -> Result<()> {
        use VisitEdit as E;
        let r = &ROOT;
        match edit {
            E::Checkin {
                at,
                utc_offset_minutes,
            } => {
                let t = parse_time("visit.checkin_at", at)?;
                let at = super::fields::format_time(t);
                set_pair(
                    doc,
                    r,
                    ("checkin_at", &at),
                    ("utc_offset_minutes", utc_offset_minutes),
                )?;
                Ok(Visit::read(doc)?.check_followup()?)
            }
            E::Geo(g) => set_whole(doc, r, "checkin_geo", g.as_ref()),
            E::Type(t) => set_field(doc, r, "visit_type", t),
            E::AddPerson {
                name,
                title,
                decision_maker,
            } => {
                let p = PersonMet {
                    id: new_id(),
                    name: name.clone(),
                    title: title.clone(),
                    decision_maker: *decision_maker,
                };
                list_push(doc, r, "people_met", "visit.people_met", &p)
            }
            E::RemovePerson(id) => list_remove(doc, r, "people_met", "visit.people_met", id),
            E::AddPhoto { photo, check_in } => {
                attachment::add_to_list(doc, "photos", "visit.photos", photo)?;
                if *check_in {
                    set_field(doc, r, "checkin_photo", &Some(photo.id.clone()))?;
                }
                Ok(())
            }
            E::RemovePhoto(id) => {
                if Visit::read(doc)?.checkin_photo.as_ref() == Some(id) {
                    set_field(doc, r, "checkin_photo", &None::<String>)?;
                }
                list_remove(doc, r, "photos", "visit.photos", id)
            }
            E::AppendSummary(t) => append_text(doc, r, "summary", "visit.summary", t),
            E::ReplaceSummary(t) => replace_text(doc, r, "summary", "visit.summary", t),
            E::SpliceSummary {
                pos,
                delete,
                insert,
            } => splice_text(doc, r, "summary", "visit.summary", *pos, *delete, insert),
            E::AppendSpin(part, t) => {
                let spin = object(doc, r, "spin", ObjType::Map, "visit.spin")?;
                append_text(doc, &spin, part.as_str(), &format!("visit.spin.{part}"), t)
            }
            E::Outcome(o) => set_field(doc, r, "outcome", o),
            E::AddCompetitorIntel {
                competitor,
                product,
                price,
                notes,
            } => {
                let c = CompetitorIntel {
                    id: new_id(),
                    competitor: competitor.clone(),
                    product: product.clone(),
                    price: price.clone(),
                    notes: notes.clone(),
                };
                list_push(doc, r, "competitor_intel", "visit.competitor_intel", &c)
            }
            E::AddSample {
                product,
                quantity,
                unit,
            } => {
                let s = SampleGiven {
                    id: new_id(),
                    product: product.clone(),
                    quantity: *quantity,
                    unit: unit.clone(),
                };
                list_push(doc, r, "samples", "visit.samples", &s)
            }
            E::QuoteAmount(m) => set_whole(doc, r, "quote_amount", m.as_ref()),
            E::OrderAmount(m) => set_whole(doc, r, "order_amount", m.as_ref()),
            E::NextStep(s) => set_field(doc, r, "next_step", s),
            E::NextFollowup(d) => {
                set_field(doc, r, "next_followup", d)?;
                Ok(Visit::read(doc)?.check_followup()?)
            }
            E::AddComment { author, text } => {
                let c = Comment {
                    id: new_id(),
                    author: author.clone(),
                    at: super::fields::now_string(),
                    text: text.clone(),
                };
                list_push(doc, r, "manager_comments", "visit.manager_comments", &c)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn new_visit(checkin_at: &str, offset: i64, next_followup: Option<&str>) -> NewVisit {
        NewVisit {
            customer: new_id(),
            author: "li".into(),
            checkin_at: checkin_at.into(),
            utc_offset_minutes: offset,
            summary: "介绍新款轴承".into(),
            next_followup: next_followup.map(str::to_string),
            ..Default::default()
        }
    }

    fn build(new: NewVisit) -> Result<Visit, ValidationError> {
        new.build(new_id(), "2026-11-23T01:00:00Z".into())
    }

    #[test]
    fn a_next_followup_before_the_visit_day_is_refused_with_the_day_to_pick() {
        // 2026-11-23 00:30 in China is still 2026-11-22 in UTC: the local day counts.
        let err = build(new_visit("2026-11-22T16:30:00Z", 480, Some("2026-11-22"))).unwrap_err();
        assert_eq!(err.field, "visit.next_followup");
        assert!(
            err.problem
                .contains("before the visit's own day 2026-11-23"),
            "{err}"
        );
        assert!(build(new_visit("2026-11-22T16:30:00Z", 480, Some("2026-11-23"))).is_ok());
        assert!(build(new_visit("2026-11-22T16:30:00Z", 480, None)).is_ok());
    }

    #[test]
    fn editing_the_followup_or_the_checkin_keeps_the_followup_on_or_after_the_visit() {
        let visit = build(new_visit("2026-11-23T02:00:00Z", 480, Some("2026-11-30"))).unwrap();
        let mut doc = AutoCommit::new();
        autosurgeon::reconcile(&mut doc, &visit).unwrap();

        let early = VisitEdit::NextFollowup(Some("2026-11-20".into()));
        let err = Visit::apply_edit(&mut doc, &early).unwrap_err();
        assert!(
            err.to_string().contains("before the visit's own day"),
            "{err}"
        );

        let mut doc = AutoCommit::new();
        autosurgeon::reconcile(&mut doc, &visit).unwrap();
        let late_checkin = VisitEdit::Checkin {
            at: "2026-12-02T02:00:00Z".into(),
            utc_offset_minutes: 480,
        };
        assert!(Visit::apply_edit(&mut doc, &late_checkin).is_err());

        let mut doc = AutoCommit::new();
        autosurgeon::reconcile(&mut doc, &visit).unwrap();
        Visit::apply_edit(
            &mut doc,
            &VisitEdit::NextFollowup(Some("2026-11-23".into())),
        )
        .unwrap();
        assert_eq!(
            Visit::read(&doc).unwrap().next_followup.as_deref(),
            Some("2026-11-23")
        );
    }

    #[test]
    fn replacing_the_summary_leaves_only_the_new_text() {
        let visit = build(new_visit("2026-11-23T02:00:00Z", 480, None)).unwrap();
        let mut doc = AutoCommit::new();
        autosurgeon::reconcile(&mut doc, &visit).unwrap();
        let edit = VisitEdit::ReplaceSummary("客户要求报价。".into());
        Visit::apply_edit(&mut doc, &edit).unwrap();
        assert_eq!(
            Visit::read(&doc).unwrap().summary.as_str(),
            "客户要求报价。"
        );
    }

    #[test]
    fn a_first_visit_defaults_to_a_cold_visit_and_later_ones_to_a_follow_up() {
        assert_eq!(VisitType::default_for(0), VisitType::ColdVisit);
        assert_eq!(VisitType::default_for(1), VisitType::FollowUp);
        assert_eq!(VisitType::default_for(40), VisitType::FollowUp);
    }

    #[test]
    fn typed_values_ignore_case_but_stored_values_do_not() {
        assert_eq!(
            "Cold_Visit".parse::<VisitType>().unwrap(),
            VisitType::ColdVisit
        );
        assert_eq!(" ORDER ".parse::<Outcome>().unwrap(), Outcome::Order);
        assert!(VisitType::from_stored("Cold_Visit").is_err());
        assert_eq!(
            VisitType::from_stored("cold_visit").unwrap(),
            VisitType::ColdVisit
        );
    }
}
