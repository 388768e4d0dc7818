//! The target (目标) of one rep for one month: sales, new customers and visits. The rep's
//! manager (or an admin) sets it; the rep reads it and never changes it.
//!
//! Should two managers' devices both create a target for the same rep and month while
//! offline, both documents arrive; the one set last counts.

use automerge::{AutoCommit, ROOT};
use autosurgeon::{Hydrate, Reconcile};
use chrono::NaiveDate;
use serde::Serialize;

use super::edit::set_field;
use super::fields::{check_stored_time, now_string, validate_currency, validate_username};
use super::{DocKind, DocumentModel, SCHEMA_VERSION, validate_root};
use crate::error::{Result, ValidationError};
use crate::rights::{Creation, DocScope, Refusal, Role, Writer};

/// Parses a month, `YYYY-MM`, into its first day.
pub fn parse_month(field: &str, s: &str) -> Result<NaiveDate, ValidationError> {
    let s = s.trim();
    let ok = s.len() == 7 && s.as_bytes()[4] == b'-';
    ok.then(|| NaiveDate::parse_from_str(&format!("{s}-01"), "%Y-%m-%d").ok())
        .flatten()
        .ok_or_else(|| {
            ValidationError::new(
                field,
                format!("'{s}' is not a month such as 2026-11 (YYYY-MM)"),
            )
        })
}

/// The target as stored in its document.
#[derive(Debug, Clone, PartialEq, Serialize, Hydrate, Reconcile)]
pub struct Target {
    /// Always "target".
    pub kind: String,
    /// Schema version.
    pub schema: i64,
    /// Document id.
    pub id: String,
    /// The rep it is for (scope field).
    pub owner: String,
    /// The month, YYYY-MM.
    pub month: String,
    /// Sales of confirmed orders, minor units of `currency`.
    pub sales: i64,
    /// Currency of `sales`.
    pub currency: String,
    /// Visits.
    pub visits: i64,
    /// New customers.
    pub new_customers: i64,
    /// Who set it last.
    pub set_by: String,
    /// When it was set last.
    pub set_at: String,
    /// When it was created.
    pub created_at: String,
}

/// What it takes to set a target for the first time.
#[derive(Debug, Clone, Default)]
pub struct NewTarget {
    /// The rep (required).
    pub owner: String,
    /// The month, YYYY-MM (required).
    pub month: String,
    /// Sales, minor units.
    pub sales: i64,
    /// Visits.
    pub visits: i64,
    /// New customers.
    pub new_customers: i64,
    /// Who sets it (required).
    pub set_by: String,
}

impl NewTarget {
    /// Builds the document content; fails if a field breaks the schema.
    pub fn build(self, id: String, now: String) -> Result<Target, ValidationError> {
        let target = Target {
            kind: DocKind::Target.as_str().to_string(),
            schema: SCHEMA_VERSION,
            id,
            owner: self.owner,
            month: self.month.trim().to_string(),
            sales: self.sales,
            currency: "CNY".to_string(),
            visits: self.visits,
            new_customers: self.new_customers,
            set_by: self.set_by,
            set_at: now.clone(),
            created_at: now,
        };
        target.validate()?;
        Ok(target)
    }
}

/// One change to a target: a figure, set by `by` now.
#[derive(Debug, Clone, PartialEq)]
pub enum TargetEdit {
    /// Sales, minor units.
    Sales(i64),
    /// Visits.
    Visits(i64),
    /// New customers.
    NewCustomers(i64),
    /// Who set it (written with every change of a figure).
    SetBy(String),
}

impl DocumentModel for Target {
    const KIND: DocKind = DocKind::Target;
    type Edit = TargetEdit;
    // Targets point at nothing.
    const PUSH_RANK: u8 = 1;
    const PROTECTED_FIELDS: &'static [&'static str] = &["owner"];
    const NEVER_CHANGED: &'static [&'static str] =
        &["id", "kind", "created_at", "owner", "month", "currency"];

    const ASKS_ABOUT_PEOPLE: bool = false;
    const STATUS_FIELDS: &'static [&'static str] = &[];

    fn check_writer(w: &Writer<'_>, _before: Option<&Self>, after: &Self) -> Result<(), Refusal> {
        let (who, people) = (w.who, w.people);
        let refuse = |reason: String| {
            Err(Refusal {
                rule: "field_rights".into(),
                reason,
            })
        };
        let me = who.username.as_str();
        match who.role {
            Role::Rep => refuse(format!(
                "a rep does not set targets, their own included: {}'s manager sets them",
                after.owner
            )),
            Role::Manager if after.owner == me => {
                refuse("you cannot set your own target: your manager or an admin sets it".into())
            }
            // Whose targets a manager sets (their team's) is the shared rule on owned documents
            // on the server; a device knows the team from its last sync.
            Role::Manager
                if (people.complete() || who.team.len() > 1)
                    && !who.team.contains(&after.owner) =>
            {
                refuse(format!(
                    "{} is not in your team: a manager sets the targets of their own reps",
                    after.owner
                ))
            }
            Role::Manager | Role::Admin if who.role != Role::Admin && after.set_by != me => {
                refuse(format!(
                    "target.set_by names who set it: it must be you ({me}), not '{}'",
                    after.set_by
                ))
            }
            Role::Manager | Role::Admin => Ok(()),
        }
    }

    fn creation(&self) -> Creation<'_> {
        Creation {
            by_field: Some("set_by"),
            by: Some(&self.set_by),
            at: &self.created_at,
        }
    }

    fn scope(&self) -> DocScope {
        DocScope {
            owner: Some(self.owner.clone()),
            ..DocScope::of(Self::KIND, &self.id)
        }
    }

    fn id(&self) -> &str {
        &self.id
    }

    fn attachments(&self) -> Vec<&super::attachment::AttachmentRef> {
        Vec::new()
    }

    fn validate(&self) -> Result<(), ValidationError> {
        validate_root(Self::KIND, &self.kind, self.schema, &self.id)?;
        let at = |e: ValidationError| e.within("target");
        validate_username("owner", &self.owner).map_err(at)?;
        parse_month("month", &self.month).map_err(at)?;
        validate_currency("currency", &self.currency).map_err(at)?;
        for (field, value) in [
            ("sales", self.sales),
            ("visits", self.visits),
            ("new_customers", self.new_customers),
        ] {
            if value < 0 {
                return Err(at(ValidationError::new(
                    field,
                    format!("is {value}: a target is zero or more"),
                )));
            }
        }
        validate_username("set_by", &self.set_by).map_err(at)?;
        check_stored_time("set_at", &self.set_at).map_err(at)?;
        check_stored_time("created_at", &self.created_at).map_err(at)?;
        Ok(())
    }

    fn apply_edit(doc: &mut AutoCommit, edit: &TargetEdit) -> Result<()> {
        let r = &ROOT;
        match edit {
            TargetEdit::Sales(v) => set_field(doc, r, "sales", v),
            TargetEdit::Visits(v) => set_field(doc, r, "visits", v),
            TargetEdit::NewCustomers(v) => set_field(doc, r, "new_customers", v),
            TargetEdit::SetBy(by) => {
                set_field(doc, r, "set_by", by)?;
                set_field(doc, r, "set_at", &now_string())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_month_is_yyyy_mm() {
        assert_eq!(
            parse_month("m", "2026-11").unwrap(),
            NaiveDate::from_ymd_opt(2026, 11, 1).unwrap()
        );
        for bad in ["2026-13", "2026-1", "11-2026", "2026-11-01"] {
            assert!(parse_month("m", bad).is_err(), "{bad}");
        }
    }
}
