//! `fieldsync quarantine`: the changes the server refused, listed, read field by field, resent,
//! exported to a file or discarded. The reading, resending and exporting are client-core's.

use std::path::Path;

use fieldsync_core::store::{ChangeKind, FieldChange, RetryReport};
use fieldsync_core::sync::SyncError;
use serde_json::Value;

use super::Ctx;
use crate::args::{QuarantineArgs, QuarantineCmd};
use crate::error::{CliError, CliResult};
use crate::output::{self, Table};

/// Runs `fieldsync quarantine …`.
pub fn run(ctx: &Ctx, args: QuarantineArgs) -> CliResult {
    match args.command {
        None => list(ctx, args.json.json),
        Some(QuarantineCmd::List(j)) => list(ctx, j.json),
        Some(QuarantineCmd::Show { entry, json }) => show(ctx, entry, json.json),
        Some(QuarantineCmd::Retry { entry, json }) => retry(ctx, entry, json.json),
        Some(QuarantineCmd::Export { entry, file }) => export(ctx, entry, &file),
        Some(QuarantineCmd::Discard { entry }) => discard(ctx, entry),
    }
}

/// client-core's error, with an unknown entry pointing at the list.
fn error(e: SyncError) -> CliError {
    match e {
        SyncError::Store(fieldsync_core::Error::NoQuarantineEntry(n)) => CliError::new(format!(
            "no quarantine entry {n} on this device: `fieldsync quarantine list` shows the entries"
        )),
        other => other.into(),
    }
}

fn list(ctx: &Ctx, json: bool) -> CliResult {
    let list = ctx.client.quarantine()?;
    if json {
        return output::json(&list);
    }
    let mut t = Table::new(&["ENTRY", "DOCUMENT", "KIND", "RULE", "AT", "REASON"]);
    for e in &list {
        t.row(vec![
            e.id.to_string(),
            e.doc_id.clone(),
            e.kind.as_str().to_string(),
            e.rule.clone(),
            e.quarantined_at.clone(),
            e.reason.clone(),
        ]);
    }
    t.print("the quarantine is empty: the server accepted every change")
}

/// A value on one line: text as it is, nothing as "(none)", anything else as compact JSON.
fn value(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "(none)".to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// Text on one line, quoted, line breaks shown as ⏎.
fn quoted(text: &str) -> String {
    format!("\"{}\"", text.trim_matches('\n').replace('\n', " ⏎ "))
}

/// One difference as `path: old → new`, `path: added …`, `path: text added "…"`.
fn describe(c: &FieldChange) -> String {
    let what = match c.change {
        ChangeKind::Set => format!("{} → {}", value(c.old.as_ref()), value(c.new.as_ref())),
        ChangeKind::Added => format!("added {}", value(c.new.as_ref())),
        ChangeKind::Removed => format!("removed {}", value(c.old.as_ref())),
        ChangeKind::Text => {
            let mut parts = Vec::new();
            if let Some(added) = &c.text_added {
                parts.push(format!("text added {}", quoted(added)));
            }
            if let Some(removed) = &c.text_removed {
                parts.push(format!("text removed {}", quoted(removed)));
            }
            parts.join(", ")
        }
    };
    format!("  {}: {what}", c.path)
}

fn show(ctx: &Ctx, entry: i64, json: bool) -> CliResult {
    let detail = ctx.client.quarantined(entry).map_err(error)?;
    if json {
        return output::json(&detail);
    }
    let e = &detail.entry;
    let on_device = if detail.in_store {
        "yes"
    } else if detail.complete {
        "no: the server never accepted it; `fieldsync quarantine retry` creates it again"
    } else {
        "no: it left this device's scope"
    };
    output::line(output::fields(&[
        ("entry", e.id.to_string()),
        ("document", format!("{} ({})", e.doc_id, e.kind)),
        ("rule", e.rule.clone()),
        ("reason", e.reason.clone()),
        ("refused at", e.quarantined_at.clone()),
        ("on this device", on_device.to_string()),
    ]))?;
    if !detail.complete {
        output::line(
            "this device no longer has the version of the document these changes build on: \
             shown are the values set and the text typed, not what they replaced; \
             `fieldsync quarantine export` keeps them",
        )?;
    }
    if detail.changes.is_empty() {
        return output::line("changes: none left: the document already holds them");
    }
    output::line("changes:")?;
    for c in &detail.changes {
        output::line(describe(c))?;
    }
    Ok(())
}

fn retry(ctx: &Ctx, entry: i64, json: bool) -> CliResult {
    let report = ctx.client.retry_quarantined(entry).map_err(error)?;
    if json {
        return output::json(&report);
    }
    for f in &report.fields {
        match &f.why {
            None => output::line(format!("  {}: retried", f.field))?,
            Some(why) => output::line(format!("  {}: skipped: {why}", f.field))?,
        }
    }
    output::line(summary(&report))
}

fn summary(r: &RetryReport) -> String {
    let mut out = String::new();
    let retried = r.retried().count();
    if r.recreated {
        out.push_str(&format!("{} {} created again as a draft", r.kind, r.doc_id));
    } else {
        out.push_str(&format!(
            "{retried} field(s) of {} {} written again",
            r.kind, r.doc_id
        ));
    }
    if retried > 0 || r.recreated {
        out.push_str(": sync to send them");
    }
    if r.kept {
        let skipped: Vec<&str> = r.skipped().map(|f| f.field.as_str()).collect();
        out.push_str(&format!(
            "; entry {} stays in quarantine with what was skipped ({})",
            r.entry,
            skipped.join(", ")
        ));
    } else {
        out.push_str(&format!(
            "; entry {} is removed from the quarantine",
            r.entry
        ));
    }
    out
}

fn export(ctx: &Ctx, entry: i64, file: &Path) -> CliResult {
    let export = ctx.client.export_quarantined(entry).map_err(error)?;
    let mut text = serde_json::to_string_pretty(&export)?;
    text.push('\n');
    std::fs::write(file, text).map_err(|e| {
        CliError::new(format!(
            "cannot write {}: {e}; choose another file",
            file.display()
        ))
    })?;
    output::line(format!(
        "entry {entry} ({} {}) written to {}",
        export.kind,
        export.doc_id,
        file.display()
    ))
}

fn discard(ctx: &Ctx, entry: i64) -> CliResult {
    if !ctx.client.discard_quarantined(entry)? {
        return Err(error(SyncError::Store(
            fieldsync_core::Error::NoQuarantineEntry(entry),
        )));
    }
    output::line(format!("entry {entry} discarded"))
}
