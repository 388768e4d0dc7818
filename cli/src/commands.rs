//! The commands, one module per area, and what they share: the device's store under `--home`,
//! the logged-in user, and parsers that turn command-line text into model values with messages
//! that say what is accepted.

mod account;
mod attachments;
mod complaints;
mod customer;
mod due;
mod orders;
mod plans;
mod quarantine;
mod report;
mod targets;
mod visit;

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

use fieldsync_core::client::input;
use fieldsync_core::model::fields::Money;
use fieldsync_core::model::workflow::StepTaken;
use fieldsync_core::sync::http::User;
use fieldsync_core::{Client, ValidationError};

use crate::args::{Cli, Command, ConflictsCmd};
use crate::error::{CliError, CliResult};
use crate::i18n::{self, Lang, t};

/// One device: its home directory and the application facade over its store.
pub struct Ctx {
    /// The `--home` directory.
    pub home: PathBuf,
    /// The device, its store in `<home>/device.db`.
    pub client: Arc<Client>,
}

impl Ctx {
    /// Opens the device under `home`; `device` names it at login (this computer's name when
    /// `None`).
    fn open(home: Option<PathBuf>, device: Option<String>) -> CliResult<Ctx> {
        let home = match home {
            Some(h) => h,
            None => dirs::data_dir()
                .map(|d| d.join("fieldsync"))
                .ok_or_else(|| CliError::new(t!("cli-error-no-data-dir")))?,
        };
        std::fs::create_dir_all(&home).map_err(|e| {
            CliError::new(t!(
                "cli-error-create-home",
                path = home.display().to_string(),
                error = e.to_string()
            ))
        })?;
        let device = device.unwrap_or_else(account::device_name);
        let client = Arc::new(Client::open(home.join("device.db"), &device)?);
        Ok(Ctx { home, client })
    }

    /// The logged-in user, or the error that says to log in.
    pub fn user(&self) -> CliResult<User> {
        Ok(self.client.user()?)
    }
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> CliResult {
    let device = match &cli.command {
        Command::Login { device, .. } => device.clone(),
        _ => None,
    };
    let ctx = Ctx::open(cli.home, device)?;
    match cli.command {
        Command::Login {
            server, username, ..
        } => account::login(&ctx, &server, &username),
        Command::Logout => account::logout(&ctx),
        Command::Status(j) => account::status(&ctx, j.json),
        Command::Sync { watch: true, json } => account::watch(&ctx, json.json),
        Command::Sync { json, .. } => account::sync(&ctx, json.json),
        Command::Conflicts {
            resolve:
                Some(ConflictsCmd::Resolve {
                    id,
                    field,
                    keep,
                    value,
                }),
            ..
        } => account::resolve(&ctx, &id, &field, keep, value.as_deref()),
        Command::Conflicts { id, json, .. } => account::conflicts(&ctx, id.as_deref(), json.json),
        Command::Quarantine(q) => quarantine::run(&ctx, q),
        Command::Handover { from, to, json } => account::handover(&ctx, &from, &to, json.json),
        Command::Customer(c) => customer::run(&ctx, c),
        Command::Contact(c) => customer::contact(&ctx, c),
        Command::Followups { date, owner, json } => {
            customer::followups(&ctx, date.as_deref(), owner, json.json)
        }
        Command::Visit(c) => visit::run(&ctx, c),
        Command::Attachment(c) => attachments::run(&ctx, c),
        Command::Trip(c) => plans::trip(&ctx, c),
        Command::Expense(c) => plans::expense(&ctx, c),
        Command::Order(c) => orders::run(&ctx, c),
        Command::Complaint(c) => complaints::run(&ctx, c),
        Command::Target(c) => targets::run(&ctx, c),
        Command::Due(j) => due::run(&ctx, j.json),
        Command::Report(c) => report::run(&ctx, c),
    }
}

/// A value of a closed set (tier, status, visit type, …).
pub fn value<T: FromStr<Err = ValidationError>>(s: &str) -> CliResult<T> {
    Ok(input::closed(s)?)
}

/// Money typed in major units of `currency` ("128.50").
pub fn money(field: &str, s: &str, currency: &str) -> CliResult<Money> {
    Ok(input::money(field, s, currency)?)
}

/// Minor units shown as major units: 12345 → "123.45 CNY" ("¥123.45" in Chinese).
pub fn show_money(m: &Money) -> String {
    show_amount(m.amount, &m.currency)
}

/// An amount in minor units of `currency` shown in major units, with its sign: a gross profit
/// may be below zero (-1050 → "-10.50 CNY").
pub fn show_amount(amount: i64, currency: &str) -> String {
    show_amount_in(i18n::lang(), amount, currency)
}

/// [`show_amount`] in `lang`: English keeps the form scripts have always read
/// ("-10.50 CNY"), Chinese writes money as people do ("-¥10.50", "¥12,500.00").
fn show_amount_in(lang: Lang, amount: i64, currency: &str) -> String {
    if lang != Lang::En {
        return fieldsync_i18n::format_money(lang, amount, currency);
    }
    let sign = if amount < 0 { "-" } else { "" };
    let abs = amount.unsigned_abs();
    format!("{sign}{}.{:02} {currency}", abs / 100, abs % 100)
}

/// One step a document took, on a line: when, what, who, and the note.
pub fn step(at: &str, status: &str, by: &str, note: Option<&str>) -> String {
    match note {
        Some(note) => t!(
            "cli-step-with-note",
            at = at,
            status = status,
            by = by,
            note = note
        ),
        None => t!("cli-step", at = at, status = status, by = by),
    }
}

/// Every step an order or a complaint took, a line each: when, what, who, and the note.
pub fn steps(history: &[StepTaken]) -> String {
    history
        .iter()
        .map(|h| step(&h.at, &h.status, &h.by, h.note.as_deref()))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_show_in_major_units_with_their_sign() {
        let en = |amount, currency| show_amount_in(Lang::En, amount, currency);
        assert_eq!(en(12345, "CNY"), "123.45 CNY");
        assert_eq!(en(5, "CNY"), "0.05 CNY");
        assert_eq!(en(-1050, "CNY"), "-10.50 CNY");
        assert_eq!(en(-5, "CNY"), "-0.05 CNY");
        assert_eq!(
            en(1_234_500, "CNY"),
            "12345.00 CNY",
            "no grouping in English"
        );
        assert_eq!(en(100, "USD"), "1.00 USD");
    }

    #[test]
    fn amounts_show_as_chinese_writes_money() {
        let zh = |amount, currency| show_amount_in(Lang::ZhCn, amount, currency);
        assert_eq!(zh(1_234_500, "CNY"), "¥12,345.00");
        assert_eq!(zh(-1050, "CNY"), "-¥10.50");
        assert_eq!(zh(100, "USD"), "USD 1.00");
    }
}
