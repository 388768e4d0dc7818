//! Attachments: save one to a file, list what the device knows. Attaching is done by the
//! command of the document it goes on (`visit attach`, `expense item --receipt`).

use fieldsync_core::attachments::AttachmentInfo;

use super::Ctx;
use crate::args::AttachmentCmd;
use crate::error::CliResult;
use crate::i18n::{self, t};
use crate::output::{self, Table};

pub fn run(ctx: &Ctx, cmd: AttachmentCmd) -> CliResult {
    match cmd {
        AttachmentCmd::Get { id, out } => {
            let saved = ctx.client.save_attachment(&id, &out)?;
            output::line(t!(
                "cli-attachment-saved",
                path = saved.display().to_string()
            ))
        }
        AttachmentCmd::List { pending, json } => {
            let list = ctx.client.attachments(pending)?;
            if json.json {
                return output::json(&list);
            }
            table(&list).print(&if pending {
                t!("cli-attachment-none-pending")
            } else {
                t!("cli-attachment-empty")
            })
        }
    }
}

fn table(list: &[AttachmentInfo]) -> Table {
    let mut t = Table::new(&i18n::all(&[
        "cli-attachment-header-id",
        "cli-attachment-header-name",
        "cli-attachment-header-type",
        "cli-attachment-header-size",
        "cli-attachment-header-state",
        "cli-attachment-header-on",
        "cli-attachment-header-note",
    ]));
    for a in list {
        let on = a
            .documents
            .iter()
            .map(|d| format!("{} {}", d.kind, output::short(&d.doc_id, 8)))
            .collect::<Vec<_>>()
            .join(", ");
        let note = a
            .refused
            .as_deref()
            .map(|r| t!("cli-attachment-refused", reason = r))
            .or_else(|| a.last_error.clone())
            .unwrap_or_default();
        t.row(vec![
            a.id.clone(),
            a.name.clone(),
            a.media_type.clone(),
            human_bytes(a.size),
            a.state.as_str().to_string(),
            on,
            output::short(&note, 60),
        ]);
    }
    t
}

/// A size for people: 2.1 MB, 340 KB, 12 B.
pub fn human_bytes(n: u64) -> String {
    match n {
        n if n >= 1_000_000 => format!("{:.1} MB", n as f64 / 1e6),
        n if n >= 1_000 => format!("{} KB", n / 1000),
        n => format!("{n} B"),
    }
}
