//! The commands, one module per area, and what they share: the device's store under `--home`,
//! the logged-in user, and parsers that turn command-line text into model values with messages
//! that say what is accepted.

mod account;
mod customer;
mod plans;
mod quarantine;
mod report;
mod visit;

use std::path::PathBuf;
use std::str::FromStr;

use chrono::NaiveDate;
use fieldsync_core::model::fields::{Money, parse_date};
use fieldsync_core::sync::http::User;
use fieldsync_core::{Store, ValidationError};

use crate::args::{Cli, Command, ConflictsCmd};
use crate::error::{CliError, CliResult};

/// The message for commands that need a session.
pub const LOG_IN_FIRST: &str = "log in first: fieldsync login --server URL --username NAME";

/// One device: its home directory and its open store.
pub struct Ctx {
    /// The `--home` directory.
    pub home: PathBuf,
    /// The store in `<home>/device.db`.
    pub store: Store,
}

impl Ctx {
    fn open(home: Option<PathBuf>) -> CliResult<Ctx> {
        let home = match home {
            Some(h) => h,
            None => dirs::data_dir()
                .map(|d| d.join("fieldsync"))
                .ok_or_else(|| {
                    CliError::new(
                        "cannot find a data directory for this user: pass --home DIR or set FIELDSYNC_HOME",
                    )
                })?,
        };
        std::fs::create_dir_all(&home).map_err(|e| {
            CliError::new(format!(
                "cannot create {}: {e}; pass another --home DIR",
                home.display()
            ))
        })?;
        let store = Store::open(home.join("device.db"))?;
        Ok(Ctx { home, store })
    }

    /// The logged-in user, or the error that says to log in.
    pub fn user(&self) -> CliResult<User> {
        fieldsync_core::sync::status(&self.store)?
            .user
            .ok_or_else(|| CliError::new(LOG_IN_FIRST))
    }
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> CliResult {
    let ctx = Ctx::open(cli.home)?;
    match cli.command {
        Command::Login {
            server,
            username,
            device,
        } => account::login(&ctx, &server, &username, device),
        Command::Logout => account::logout(&ctx),
        Command::Status(j) => account::status(&ctx, j.json),
        Command::Sync(j) => account::sync(&ctx, j.json),
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
        Command::Trip(c) => plans::trip(&ctx, c),
        Command::Expense(c) => plans::expense(&ctx, c),
        Command::Report(c) => report::run(&ctx, c),
    }
}

/// A document id in canonical form, or an error that shows what an id looks like.
pub fn id(s: &str) -> CliResult<String> {
    Ok(fieldsync_core::ids::parse_id(s)?)
}

/// A value of a closed set (tier, status, visit type, …).
pub fn value<T: FromStr<Err = ValidationError>>(s: &str) -> CliResult<T> {
    Ok(s.trim().parse::<T>()?)
}

/// An optional value of a closed set.
pub fn opt_value<T: FromStr<Err = ValidationError>>(s: Option<&str>) -> CliResult<Option<T>> {
    s.map(value).transpose()
}

/// A local date, YYYY-MM-DD.
pub fn date(field: &str, s: &str) -> CliResult<NaiveDate> {
    Ok(parse_date(field, s)?)
}

/// Today's local date.
pub fn today() -> NaiveDate {
    chrono::Local::now().date_naive()
}

/// An amount in major units ("128", "128.5", "128.50") as minor units (fen).
pub fn minor_units(field: &str, s: &str) -> CliResult<i64> {
    let bad = || {
        CliError::new(format!(
            "invalid {field}: '{s}' is not an amount: write it like 128 or 128.50"
        ))
    };
    let t = s.trim();
    if t.starts_with('-') {
        return Err(CliError::new(format!(
            "invalid {field}: '{s}': amounts cannot be negative"
        )));
    }
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    if whole.is_empty()
        || frac.len() > 2
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    let whole: i64 = whole.parse().map_err(|_| bad())?;
    let frac: i64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<2}").parse().map_err(|_| bad())?
    };
    whole
        .checked_mul(100)
        .and_then(|w| w.checked_add(frac))
        .ok_or_else(bad)
}

/// Money in yuan, or in `currency` units.
pub fn money(field: &str, s: &str, currency: &str) -> CliResult<Money> {
    Ok(Money::new(minor_units(field, s)?, currency))
}

/// Minor units shown as major units: 12345 → "123.45".
pub fn show_money(m: &Money) -> String {
    format!("{}.{:02} {}", m.amount / 100, m.amount % 100, m.currency)
}

/// "" or "-" clear an optional text field.
pub fn optional_text(s: &str) -> Option<String> {
    match s.trim() {
        "" | "-" => None,
        t => Some(t.to_string()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn amounts_become_minor_units() {
        assert_eq!(minor_units("x", "128").unwrap(), 12800);
        assert_eq!(minor_units("x", "128.5").unwrap(), 12850);
        assert_eq!(minor_units("x", "0.05").unwrap(), 5);
        for bad in ["", "1.234", "abc", "1,5", ".5", "99999999999999999999"] {
            assert!(minor_units("x", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_negative_amount_says_amounts_cannot_be_negative() {
        for negative in ["-5", "-0.5", " -128.50"] {
            let err = minor_units("amount", negative).unwrap_err();
            assert!(
                err.0.ends_with("amounts cannot be negative"),
                "{negative}: {}",
                err.0
            );
        }
    }
}
