//! Targets (目标): a manager (or an admin) sets each rep's sales, visits and new customers for
//! a month; the rep reads them and never changes them.
//!
//! Who may set whose target, and that a target set again changes only the figures given, are
//! the facade's and client-core's rules; a rep's attempt is refused on the device before
//! anything is written (`Rejected`). Sales cross as minor units (fen).

use fieldsync_core::client::TargetInput;
use fieldsync_core::store;

use crate::records::MoneyRecord;
use crate::{FieldsyncClient, Res};

/// A target as a manager sets it: the one already set for the rep and month is changed (the
/// figures left `None` keep their value), otherwise a new one is made (figures left `None`
/// are zero).
#[derive(Debug, Clone, uniffi::Record)]
pub struct SetTargetRecord {
    /// The rep (required).
    pub rep: String,
    /// The month, YYYY-MM (required).
    pub month: String,
    /// Sales of confirmed orders, minor units (fen) of CNY.
    #[uniffi(default = None)]
    pub sales: Option<i64>,
    /// Visits.
    #[uniffi(default = None)]
    pub visits: Option<i64>,
    /// New customers.
    #[uniffi(default = None)]
    pub new_customers: Option<i64>,
}

impl From<SetTargetRecord> for TargetInput {
    fn from(t: SetTargetRecord) -> Self {
        TargetInput {
            rep: t.rep,
            month: t.month,
            sales: t.sales,
            visits: t.visits,
            new_customers: t.new_customers,
        }
    }
}

/// A rep's target for a month, as it counts (the one set last, should there be two).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct TargetRow {
    /// Document id.
    pub id: String,
    /// The rep.
    pub rep: String,
    /// The month, YYYY-MM.
    pub month: String,
    /// Sales of confirmed orders.
    pub sales: MoneyRecord,
    /// Visits.
    pub visits: i64,
    /// New customers.
    pub new_customers: i64,
    /// Who set it last.
    pub set_by: String,
    /// When (RFC 3339, UTC).
    pub set_at: String,
}

impl From<store::TargetRow> for TargetRow {
    fn from(r: store::TargetRow) -> Self {
        TargetRow {
            id: r.id,
            rep: r.rep,
            month: r.month,
            sales: MoneyRecord {
                amount: r.sales,
                currency: r.currency,
            },
            visits: r.visits,
            new_customers: r.new_customers,
            set_by: r.set_by,
            set_at: r.set_at,
        }
    }
}

#[uniffi::export]
impl FieldsyncClient {
    /// Sets the target of `target.rep` for `target.month` (a manager of the rep, or an admin)
    /// and returns its id: the one already on this device, changed, or a new one.
    pub fn set_target(&self, target: SetTargetRecord) -> Res<String> {
        self.call(|c| Ok(c.set_target(target.into())?))
    }

    /// The targets on this device that count, of `rep` (everyone's when `None`) and of
    /// `month` (YYYY-MM; every month when `None`), newest month first.
    #[uniffi::method(default(rep = None, month = None))]
    pub fn list_targets(&self, rep: Option<String>, month: Option<String>) -> Res<Vec<TargetRow>> {
        self.call(|c| {
            Ok(c.list_targets(rep.as_deref(), month.as_deref())?
                .into_iter()
                .map(Into::into)
                .collect())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_target_row_carries_its_sales_as_money_and_a_set_record_keeps_unset_figures_unset() {
        let row = TargetRow::from(store::TargetRow {
            id: "t".into(),
            rep: "li.wei".into(),
            month: "2026-11".into(),
            sales: 50_000_000,
            currency: "CNY".into(),
            visits: 40,
            new_customers: 5,
            set_by: "wang.fang".into(),
            set_at: "2026-11-01T08:00:00Z".into(),
        });
        assert_eq!(
            row.sales,
            MoneyRecord {
                amount: 50_000_000,
                currency: "CNY".into()
            }
        );
        let input = TargetInput::from(SetTargetRecord {
            rep: "li.wei".into(),
            month: "2026-11".into(),
            sales: None,
            visits: Some(40),
            new_customers: None,
        });
        assert_eq!((input.sales, input.visits), (None, Some(40)));
    }
}
