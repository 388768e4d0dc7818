//! Session and sync commands: login, logout, status, sync, conflicts, handover.

use std::io::IsTerminal;

use std::sync::Arc;

use fieldsync_core::attachments::Direction;
use fieldsync_core::client::{LiveChange, LiveListener, LiveOptions, Resolution};
use fieldsync_core::sync;
use indicatif::{ProgressBar, ProgressStyle};

use super::Ctx;
use crate::error::{CliError, CliResult};
use crate::output::{self, Table, fields, opt};

/// The name this computer gives at login.
pub fn device_name() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "this computer".to_string());
    format!("fieldsync on {host}")
}

fn password(username: &str) -> CliResult<String> {
    if let Ok(p) = std::env::var("FIELDSYNC_PASSWORD") {
        return Ok(p);
    }
    rpassword::prompt_password(format!("password for {username}: ")).map_err(|e| {
        CliError::new(format!(
            "cannot read the password ({e}): type it at a terminal or set FIELDSYNC_PASSWORD"
        ))
    })
}

pub fn login(ctx: &Ctx, server: &str, username: &str) -> CliResult {
    let password = password(username)?;
    let client = &ctx.client;
    let user = client
        .login(server, username, &password)
        .map_err(|e| match e {
            sync::SyncError::Network(reason) => CliError::new(format!(
                "{reason}: check the server address and that the server is running, then log in again"
            )),
            sync::SyncError::Auth(reason) => {
                CliError::new(format!("{reason}: check the user name and password"))
            }
            other => other.into(),
        })?;
    output::line(format!(
        "logged in to {} as {} ({}); run `fieldsync sync` to fetch your data",
        client.server_url()?.unwrap_or_else(|| server.to_string()),
        user.username,
        user.role
    ))
}

pub fn logout(ctx: &Ctx) -> CliResult {
    match ctx.client.logout() {
        Ok(None) => output::line("not logged in"),
        Ok(Some(user)) => output::line(format!("logged out {user}")),
        Err(e) => Err(CliError::new(format!(
            "logged out here, but the server could not be told: {e}"
        ))),
    }
}

pub fn status(ctx: &Ctx, json: bool) -> CliResult {
    let s = ctx.client.status()?;
    if json {
        return output::json(&s);
    }
    let user = s.user.as_ref().map_or_else(
        || "not logged in".to_string(),
        |u| {
            let t = if u.territories.is_empty() {
                String::new()
            } else {
                format!(", territories {}", u.territories.join(", "))
            };
            format!("{} ({}{t})", u.username, u.role)
        },
    );
    output::line(fields(&[
        ("user", user),
        ("server", opt(&s.server_url)),
        ("store", ctx.home.join("device.db").display().to_string()),
        ("cursor", s.cursor.to_string()),
        ("unsent documents", s.unsent.to_string()),
        ("quarantined", s.quarantined.to_string()),
        (
            "attachments to upload",
            match s.attachments_pending {
                0 => "none".to_string(),
                n => format!(
                    "{n} ({})",
                    super::attachments::human_bytes(s.attachment_bytes_pending)
                ),
            },
        ),
        (
            "last sync",
            s.last_sync_at.unwrap_or_else(|| "never".into()),
        ),
    ]))
}

pub fn sync(ctx: &Ctx, json: bool) -> CliResult {
    let status = ctx.client.status()?;
    ctx.user()?;
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::new_spinner();
        if let Ok(style) = ProgressStyle::with_template("{spinner} {elapsed} {msg}") {
            bar.set_style(style);
        }
        bar.set_message(match status.unsent {
            0 => "syncing…".to_string(),
            n => format!("syncing: {n} documents to push…"),
        });
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        bar
    });
    let result = ctx.client.sync(|p| {
        if let (Some(bar), Some(a)) = (&bar, &p.attachment) {
            let way = match a.direction {
                Direction::Upload => "uploading",
                Direction::Download => "fetching",
            };
            let percent = (a.done * 100).checked_div(a.size).unwrap_or(100);
            bar.set_message(format!(
                "{way} {} of {}: {} {percent}% ({} of {})",
                a.number,
                a.of,
                a.name,
                super::attachments::human_bytes(a.done),
                super::attachments::human_bytes(a.size)
            ));
            return;
        }
        if let Some(bar) = &bar {
            let to_push = match p.to_push {
                0 => String::new(),
                n => format!(", {n} to push"),
            };
            bar.set_message(format!(
                "round {}: {} pushed{to_push}, {} pulled{}",
                p.rounds,
                p.pushed,
                p.pulled,
                if p.more { ", more to come" } else { "" }
            ));
        }
    });
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let report = result?;
    if json {
        return output::json(&report);
    }
    let mut summary = format!(
        "synced: {} pushed, {} pulled, {} rejected ({} round trips, {} bytes sent, {} received, {} ms)",
        report.pushed,
        report.pulled,
        report.rejected,
        report.round_trips,
        report.bytes_sent,
        report.bytes_received,
        report.millis
    );
    let a = &report.attachments;
    if a.uploaded > 0 || a.fetched > 0 {
        summary.push_str(&format!(
            "; attachments: {} uploaded ({}), {} fetched ({})",
            a.uploaded,
            super::attachments::human_bytes(a.bytes_sent),
            a.fetched,
            super::attachments::human_bytes(a.bytes_received)
        ));
    }
    if a.pending > 0 {
        summary.push_str(&format!(
            "; {} attachments wait to upload (sync again)",
            a.pending
        ));
    }
    if a.refused > 0 {
        summary.push_str(&format!(
            "; {} attachments refused: see `fieldsync status`",
            a.refused
        ));
    }
    if report.rejected > 0 {
        summary.push_str("; see `fieldsync quarantine` for what the server refused");
    }
    output::line(summary)
}

/// Prints what live mode did: a line per round that moved something (a JSON document per
/// line with `--json`), errors on stderr.
struct Printer {
    json: bool,
}

impl LiveListener for Printer {
    fn on_change(&self, change: &LiveChange) {
        let line = if self.json {
            serde_json::to_string(change).unwrap_or_default()
        } else {
            let kinds = change
                .changed
                .iter()
                .map(|(kind, ids)| format!("{} {kind}", ids.len()))
                .collect::<Vec<_>>()
                .join(", ");
            let mut line = format!(
                "{} pushed {}, pulled {}",
                chrono::Local::now().format("%H:%M:%S"),
                change.pushed,
                change.pulled
            );
            if !kinds.is_empty() {
                line.push_str(&format!(" ({kinds} changed)"));
            }
            if !change.removed.is_empty() {
                line.push_str(&format!(", {} removed", change.removed.len()));
            }
            if change.rejected > 0 {
                line.push_str(&format!(
                    ", {} rejected: see `fieldsync quarantine`",
                    change.rejected
                ));
            }
            line
        };
        let _ = output::line(line);
    }

    fn on_error(&self, error: &sync::SyncError) {
        eprintln!(
            "fieldsync: {}; still watching, retrying",
            CliError::new(error.to_string()).one_line()
        );
    }
}

/// `fieldsync sync --watch`: live mode until Ctrl-C.
pub fn watch(ctx: &Ctx, json: bool) -> CliResult {
    ctx.user()?;
    let (stop, stopped) = std::sync::mpsc::channel();
    ctrlc::set_handler(move || {
        let _ = stop.send(());
    })
    .map_err(|e| CliError::new(format!("cannot watch for Ctrl-C: {e}")))?;
    ctx.client
        .start_live(LiveOptions::default(), Arc::new(Printer { json }))?;
    if !json {
        eprintln!("watching for changes; Ctrl-C stops");
    }
    let _ = stopped.recv();
    ctx.client.stop_live();
    if !json {
        eprintln!("stopped");
    }
    Ok(())
}

pub fn conflicts(ctx: &Ctx, id: Option<&str>, json: bool) -> CliResult {
    let all = ctx.client.conflicts(id)?;
    if json {
        return output::json(&all);
    }
    let mut t = Table::new(&[
        "DOCUMENT", "KIND", "FIELD", "#", "VALUE", "BY", "DEVICE", "AT", "SHOWN",
    ]);
    for c in &all {
        for (n, v) in c.conflict.values.iter().enumerate() {
            t.row(vec![
                c.id.clone(),
                c.kind.clone(),
                c.conflict.path.clone(),
                (n + 1).to_string(),
                output::short(&v.value.to_string(), 40),
                opt(&v.author),
                opt(&v.device),
                opt(&v.time),
                if v.winner { "yes" } else { "" }.to_string(),
            ]);
        }
    }
    t.print("no conflicts: every field holds one value")
}

/// `fieldsync conflicts resolve ID FIELD --keep N | --value V`.
pub fn resolve(
    ctx: &Ctx,
    id: &str,
    field: &str,
    keep: Option<usize>,
    value: Option<&str>,
) -> CliResult {
    let resolution = match (keep, value) {
        (Some(n), _) => Resolution::Keep(n),
        (None, Some(text)) => Resolution::Value(text.to_string()),
        (None, None) => return Err(CliError::new("say which value: --keep N or --value V")),
    };
    let chosen = ctx.client.resolve_conflict(id, field, resolution)?;
    output::line(format!("{field} is now {chosen}"))
}

pub fn handover(ctx: &Ctx, from: &str, to: &str, json: bool) -> CliResult {
    let moved = ctx.client.handover(from, to)?;
    if json {
        return output::json(&serde_json::json!({ "from": from, "to": to, "customers": moved }));
    }
    output::line(format!(
        "{moved} customer(s) of {from} now belong to {to}; sync to see the change"
    ))
}
