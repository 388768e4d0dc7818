//! Targets: a manager (or an admin) sets each rep's sales, visits and new customers for a
//! month; the rep reads them. Setting a target that exists changes only the figures given.

use crate::ValidationError;
use crate::client::input::optional_text;
use crate::client::{Client, Result, invalid, user_of};
use crate::model::fields::now_string;
use crate::model::target::{NewTarget, Target, TargetEdit, parse_month};
use crate::store::TargetRow;

/// A target as a manager sets it; figures left `None` keep their value (zero for a new one).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TargetInput {
    /// The rep (required).
    pub rep: String,
    /// The month, YYYY-MM (required).
    pub month: String,
    /// Sales, minor units (fen).
    pub sales: Option<i64>,
    /// Visits.
    pub visits: Option<i64>,
    /// New customers.
    pub new_customers: Option<i64>,
}

impl Client {
    /// Sets the target of `target.rep` for `target.month` and returns its id: the one already
    /// on this device, changed, or a new one.
    pub fn set_target(&self, target: TargetInput) -> Result<String> {
        let month = parse_month("month", &target.month).map_err(invalid)?;
        let month = month.format("%Y-%m").to_string();
        let rep = optional_text(&target.rep)
            .ok_or_else(|| invalid(ValidationError::new("rep", "name the rep")))?;
        for (field, value) in [
            ("sales", target.sales),
            ("visits", target.visits),
            ("new_customers", target.new_customers),
        ] {
            if value.is_some_and(|v| v < 0) {
                return Err(invalid(ValidationError::new(
                    field,
                    "a target is zero or more",
                )));
            }
        }
        self.write(|store| {
            let user = user_of(store)?;
            let existing = store.list_targets(Some(&rep), std::slice::from_ref(&month))?;
            match existing.first() {
                Some(row) => {
                    let mut edits: Vec<TargetEdit> = Vec::new();
                    edits.extend(target.sales.map(TargetEdit::Sales));
                    edits.extend(target.visits.map(TargetEdit::Visits));
                    edits.extend(target.new_customers.map(TargetEdit::NewCustomers));
                    edits.push(TargetEdit::SetBy(user.username));
                    store.edit::<Target>(&row.id, &edits)?;
                    Ok(row.id.clone())
                }
                None => {
                    let built = NewTarget {
                        owner: rep,
                        month,
                        sales: target.sales.unwrap_or(0),
                        visits: target.visits.unwrap_or(0),
                        new_customers: target.new_customers.unwrap_or(0),
                        set_by: user.username,
                    }
                    .build(crate::ids::new_id(), now_string())
                    .map_err(invalid)?;
                    Ok(store.create(built)?)
                }
            }
        })
    }

    /// The targets that count, of `rep` (everyone's here when `None`) and of `month`
    /// (YYYY-MM; every month when `None`).
    pub fn list_targets(&self, rep: Option<&str>, month: Option<&str>) -> Result<Vec<TargetRow>> {
        let months = match month {
            Some(m) => vec![
                parse_month("month", m)
                    .map_err(invalid)?
                    .format("%Y-%m")
                    .to_string(),
            ],
            None => Vec::new(),
        };
        self.read(|store| store.list_targets(rep, &months))
    }
}
