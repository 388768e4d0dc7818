//! Session and sync commands: login, logout, status, sync, conflicts, handover.

use std::io::IsTerminal;

use std::sync::Arc;

use fieldsync_core::attachments::Direction;
use fieldsync_core::client::{LiveChange, LiveListener, LiveOptions, Resolution};
use fieldsync_core::sync;
use indicatif::{ProgressBar, ProgressStyle};

use super::Ctx;
use crate::error::{CliError, CliResult, sync_error};
use crate::i18n::{self, t};
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
    rpassword::prompt_password(t!("cli-password-prompt", username = username))
        .map_err(|e| CliError::new(t!("cli-error-password", error = e.to_string())))
}

pub fn login(ctx: &Ctx, server: &str, username: &str) -> CliResult {
    let password = password(username)?;
    let client = &ctx.client;
    let user = client
        .login(server, username, &password)
        .map_err(|e| match e {
            sync::SyncError::Network(reason) => {
                CliError::new(t!("cli-error-login-network", reason = reason))
            }
            sync::SyncError::Auth(reason) => {
                CliError::new(t!("cli-error-login-auth", reason = reason))
            }
            other => other.into(),
        })?;
    output::line(t!(
        "cli-logged-in",
        server = client.server_url()?.unwrap_or_else(|| server.to_string()),
        username = &user.username,
        role = i18n::role(&user.role)
    ))
}

pub fn logout(ctx: &Ctx) -> CliResult {
    match ctx.client.logout() {
        Ok(None) => output::line(t!("cli-not-logged-in")),
        Ok(Some(user)) => output::line(t!("cli-logged-out", username = user.to_string())),
        Err(e) => Err(CliError::new(t!(
            "cli-error-logout",
            error = sync_error(i18n::lang(), &e)
        ))),
    }
}

pub fn status(ctx: &Ctx, json: bool) -> CliResult {
    let s = ctx.client.status()?;
    if json {
        return output::json(&s);
    }
    let user = s.user.as_ref().map_or_else(
        || t!("cli-not-logged-in"),
        |u| {
            let role = i18n::role(&u.role);
            if u.territories.is_empty() {
                t!("cli-status-user", username = &u.username, role = role)
            } else {
                t!(
                    "cli-status-user-territories",
                    username = &u.username,
                    role = role,
                    territories = i18n::join(&u.territories)
                )
            }
        },
    );
    output::line(fields(&[
        ("cli-status-field-user", user),
        ("cli-status-field-server", opt(&s.server_url)),
        (
            "cli-status-field-store",
            ctx.home.join("device.db").display().to_string(),
        ),
        ("cli-status-field-cursor", s.cursor.to_string()),
        ("cli-status-field-unsent", s.unsent.to_string()),
        ("cli-status-field-quarantined", s.quarantined.to_string()),
        (
            "cli-status-field-attachments",
            match s.attachments_pending {
                0 => t!("cli-none"),
                n => t!(
                    "cli-status-attachments-pending",
                    count = n,
                    size = super::attachments::human_bytes(s.attachment_bytes_pending)
                ),
            },
        ),
        (
            "cli-status-field-last-sync",
            s.last_sync_at.unwrap_or_else(|| t!("cli-never")),
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
            0 => t!("cli-sync-progress-start"),
            n => t!("cli-sync-progress-unsent", count = n),
        });
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        bar
    });
    let result = ctx.client.sync(|p| {
        if let (Some(bar), Some(a)) = (&bar, &p.attachment) {
            let way = match a.direction {
                Direction::Upload => "cli-sync-progress-upload",
                Direction::Download => "cli-sync-progress-download",
            };
            let percent = (a.done * 100).checked_div(a.size).unwrap_or(100);
            bar.set_message(t!(
                way,
                number = a.number,
                of = a.of,
                name = &a.name,
                percent = percent,
                done = super::attachments::human_bytes(a.done),
                size = super::attachments::human_bytes(a.size)
            ));
            return;
        }
        if let Some(bar) = &bar {
            let round = match p.to_push {
                0 => t!(
                    "cli-sync-progress-round",
                    round = p.rounds,
                    pushed = p.pushed,
                    pulled = p.pulled
                ),
                n => t!(
                    "cli-sync-progress-round-to-push",
                    round = p.rounds,
                    pushed = p.pushed,
                    to_push = n,
                    pulled = p.pulled
                ),
            };
            bar.set_message(if p.more {
                t!("cli-sync-progress-more", progress = round)
            } else {
                round
            });
        }
    });
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let report = result?;
    if json {
        return output::json(&report);
    }
    let mut summary = t!(
        "cli-synced",
        pushed = report.pushed,
        pulled = report.pulled,
        rejected = report.rejected,
        round_trips = report.round_trips,
        bytes_sent = report.bytes_sent,
        bytes_received = report.bytes_received,
        millis = report.millis
    );
    let a = &report.attachments;
    if a.uploaded > 0 || a.fetched > 0 {
        summary.push_str(&t!(
            "cli-synced-attachments",
            uploaded = a.uploaded,
            sent = super::attachments::human_bytes(a.bytes_sent),
            fetched = a.fetched,
            received = super::attachments::human_bytes(a.bytes_received)
        ));
    }
    if a.pending > 0 {
        summary.push_str(&t!("cli-synced-attachments-pending", count = a.pending));
    }
    if a.refused > 0 {
        summary.push_str(&t!("cli-synced-attachments-refused", count = a.refused));
    }
    if report.rejected > 0 {
        summary.push_str(&t!("cli-synced-rejected"));
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
            let kinds: Vec<String> = change
                .changed
                .iter()
                .map(|(kind, ids)| {
                    t!(
                        "cli-watch-kind-count",
                        count = ids.len(),
                        kind = i18n::kind(kind)
                    )
                })
                .collect();
            let mut line = t!(
                "cli-watch-round",
                time = chrono::Local::now().format("%H:%M:%S").to_string(),
                pushed = change.pushed,
                pulled = change.pulled
            );
            if !kinds.is_empty() {
                line.push_str(&t!("cli-watch-changed", kinds = i18n::join(&kinds)));
            }
            if !change.removed.is_empty() {
                line.push_str(&t!("cli-watch-removed", count = change.removed.len()));
            }
            if change.rejected > 0 {
                line.push_str(&t!("cli-watch-rejected", count = change.rejected));
            }
            line
        };
        let _ = output::line(line);
    }

    fn on_error(&self, error: &sync::SyncError) {
        let error = CliError::new(sync_error(i18n::lang(), error)).one_line();
        eprintln!("fieldsync: {}", t!("cli-watch-error", error = error));
    }
}

/// `fieldsync sync --watch`: live mode until Ctrl-C.
pub fn watch(ctx: &Ctx, json: bool) -> CliResult {
    ctx.user()?;
    let (stop, stopped) = std::sync::mpsc::channel();
    ctrlc::set_handler(move || {
        let _ = stop.send(());
    })
    .map_err(|e| CliError::new(t!("cli-error-ctrlc", error = e.to_string())))?;
    ctx.client
        .start_live(LiveOptions::default(), Arc::new(Printer { json }))?;
    if !json {
        eprintln!("{}", t!("cli-watch-started"));
    }
    let _ = stopped.recv();
    ctx.client.stop_live();
    if !json {
        eprintln!("{}", t!("cli-watch-stopped"));
    }
    Ok(())
}

pub fn conflicts(ctx: &Ctx, id: Option<&str>, json: bool) -> CliResult {
    let all = ctx.client.conflicts(id)?;
    if json {
        return output::json(&all);
    }
    let mut t = Table::new(&i18n::all(&[
        "cli-conflicts-header-document",
        "cli-conflicts-header-kind",
        "cli-conflicts-header-field",
        "cli-conflicts-header-number",
        "cli-conflicts-header-value",
        "cli-conflicts-header-by",
        "cli-conflicts-header-device",
        "cli-conflicts-header-at",
        "cli-conflicts-header-shown",
    ]));
    let yes = t!("cli-yes");
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
                if v.winner { yes.clone() } else { String::new() },
            ]);
        }
    }
    t.print(&t!("cli-conflicts-empty"))
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
        (None, None) => return Err(CliError::new(t!("cli-error-say-which-value"))),
    };
    let chosen = ctx.client.resolve_conflict(id, field, resolution)?;
    output::line(t!(
        "cli-conflict-resolved",
        field = field,
        value = chosen.to_string()
    ))
}

pub fn handover(ctx: &Ctx, from: &str, to: &str, json: bool) -> CliResult {
    let moved = ctx.client.handover(from, to)?;
    if json {
        return output::json(&serde_json::json!({ "from": from, "to": to, "customers": moved }));
    }
    output::line(t!("cli-handover-done", count = moved, from = from, to = to))
}
