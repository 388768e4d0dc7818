//! Monthly targets: a manager sets them, everyone reads them.

use fieldsync_core::client::{TargetInput, input};
use fieldsync_core::model::fields::Money;

use super::{Ctx, show_money};
use crate::args::TargetCmd;
use crate::error::CliResult;
use crate::i18n::{self, t};
use crate::output::{self, Table};

pub fn run(ctx: &Ctx, cmd: TargetCmd) -> CliResult {
    match cmd {
        TargetCmd::Set {
            rep,
            month,
            sales,
            visits,
            new_customers,
        } => {
            let tid = ctx.client.set_target(TargetInput {
                rep,
                month,
                sales: sales
                    .as_deref()
                    .map(|s| input::amount("sales", s))
                    .transpose()?,
                visits,
                new_customers,
            })?;
            output::line(tid)
        }
        TargetCmd::List { rep, month, json } => {
            let rows = ctx.client.list_targets(rep.as_deref(), month.as_deref())?;
            if json.json {
                return output::json(&rows);
            }
            let mut t = Table::new(&i18n::all(&[
                "cli-target-header-month",
                "cli-target-header-rep",
                "cli-target-header-sales",
                "cli-target-header-visits",
                "cli-target-header-new-customers",
                "cli-target-header-set-by",
                "cli-target-header-set-at",
            ]));
            for r in rows {
                t.row(vec![
                    r.month,
                    r.rep,
                    show_money(&Money::new(r.sales, r.currency)),
                    r.visits.to_string(),
                    r.new_customers.to_string(),
                    r.set_by,
                    r.set_at,
                ]);
            }
            t.print(&t!("cli-target-empty"))
        }
    }
}
