//! `fieldsync quarantine`: the changes the server refused, listed, read field by field, resent,
//! exported to a file or discarded. The reading, resending and exporting are client-core's.

use std::path::Path;

use fieldsync_core::store::{ChangeKind, FieldChange, RetryReport};
use fieldsync_core::sync::SyncError;
use serde_json::Value;

use super::Ctx;
use crate::args::{QuarantineArgs, QuarantineCmd};
use crate::error::{CliError, CliResult};
use crate::i18n::{self, t};
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
        SyncError::Store(fieldsync_core::Error::NoQuarantineEntry(n)) => {
            CliError::new(t!("cli-error-no-quarantine-entry", entry = n))
        }
        other => other.into(),
    }
}

fn list(ctx: &Ctx, json: bool) -> CliResult {
    let list = ctx.client.quarantine()?;
    if json {
        return output::json(&list);
    }
    let mut t = Table::new(&i18n::all(&[
        "cli-quarantine-header-entry",
        "cli-quarantine-header-document",
        "cli-quarantine-header-kind",
        "cli-quarantine-header-rule",
        "cli-quarantine-header-at",
        "cli-quarantine-header-reason",
    ]));
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
    t.print(&t!("cli-quarantine-empty"))
}

/// A value on one line: text as it is, nothing as "(none)", anything else as compact JSON.
fn value(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => t!("cli-none-paren"),
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
        ChangeKind::Added => t!("cli-quarantine-added", value = value(c.new.as_ref())),
        ChangeKind::Removed => t!("cli-quarantine-removed", value = value(c.old.as_ref())),
        ChangeKind::Text => {
            let mut parts = Vec::new();
            if let Some(added) = &c.text_added {
                parts.push(t!("cli-quarantine-text-added", text = quoted(added)));
            }
            if let Some(removed) = &c.text_removed {
                parts.push(t!("cli-quarantine-text-removed", text = quoted(removed)));
            }
            i18n::join(&parts)
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
        t!("cli-yes")
    } else if detail.complete {
        t!("cli-quarantine-on-device-never-accepted")
    } else {
        t!("cli-quarantine-on-device-left-scope")
    };
    output::line(output::fields(&[
        ("cli-quarantine-field-entry", e.id.to_string()),
        (
            "cli-quarantine-field-document",
            t!(
                "cli-quarantine-document",
                id = &e.doc_id,
                kind = i18n::kind(e.kind.as_str())
            ),
        ),
        ("cli-quarantine-field-rule", e.rule.clone()),
        ("cli-quarantine-field-reason", e.reason.clone()),
        ("cli-quarantine-field-refused-at", e.quarantined_at.clone()),
        ("cli-quarantine-field-on-device", on_device),
    ]))?;
    if !detail.complete {
        output::line(t!("cli-quarantine-incomplete"))?;
    }
    if detail.changes.is_empty() {
        return output::line(t!("cli-quarantine-no-changes"));
    }
    output::line(t!("cli-quarantine-changes"))?;
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
            None => output::line(format!(
                "  {}",
                t!("cli-quarantine-retried", field = &f.field)
            ))?,
            Some(why) => output::line(format!(
                "  {}",
                t!("cli-quarantine-skipped", field = &f.field, why = why)
            ))?,
        }
    }
    output::line(summary(&report))
}

fn summary(r: &RetryReport) -> String {
    let retried = r.retried().count();
    let kind = i18n::kind(r.kind.as_str());
    let mut out = if r.recreated {
        t!("cli-quarantine-recreated", kind = kind, id = &r.doc_id)
    } else {
        t!(
            "cli-quarantine-rewritten",
            count = retried,
            kind = kind,
            id = &r.doc_id
        )
    };
    if retried > 0 || r.recreated {
        out.push_str(&t!("cli-quarantine-sync-to-send"));
    }
    if r.kept {
        let skipped: Vec<String> = r.skipped().map(|f| f.field.clone()).collect();
        out.push_str(&t!(
            "cli-quarantine-kept",
            entry = r.entry,
            skipped = i18n::join(&skipped)
        ));
    } else {
        out.push_str(&t!("cli-quarantine-removed-entry", entry = r.entry));
    }
    out
}

fn export(ctx: &Ctx, entry: i64, file: &Path) -> CliResult {
    let export = ctx.client.export_quarantined(entry).map_err(error)?;
    let mut text = serde_json::to_string_pretty(&export)?;
    text.push('\n');
    std::fs::write(file, text).map_err(|e| {
        CliError::new(t!(
            "cli-error-write-file",
            file = file.display().to_string(),
            error = e.to_string()
        ))
    })?;
    output::line(t!(
        "cli-quarantine-exported",
        entry = entry,
        kind = i18n::kind(export.kind.as_str()),
        id = &export.doc_id,
        file = file.display().to_string()
    ))
}

fn discard(ctx: &Ctx, entry: i64) -> CliResult {
    if !ctx.client.discard_quarantined(entry)? {
        return Err(error(SyncError::Store(
            fieldsync_core::Error::NoQuarantineEntry(entry),
        )));
    }
    output::line(t!("cli-quarantine-discarded", entry = entry))
}
