//! What people type, turned into model values: amounts, yes/no, dates, values of closed sets,
//! "name: title" pairs and check-in times. The command line and the apps hand the facade text
//! as the user typed it; these rules read it the same way for both, and their errors say what
//! is accepted.

use std::str::FromStr;

use chrono::{DateTime, Local, NaiveDate};

use crate::error::ValidationError;
use crate::model::fields::{Money, format_time, parse_date};

/// The value that clears an optional field in a patch: the empty string (spaces alone count as
/// empty). A field left out of a patch (`None`) is not touched.
pub const CLEAR: &str = "";

/// The currency of amounts typed without one, where the document has none of its own.
pub const DEFAULT_CURRENCY: &str = "CNY";

/// Optional text as typed: trimmed, and [`CLEAR`] (or only spaces) for none.
pub fn optional_text(s: &str) -> Option<String> {
    let t = s.trim();
    (t != CLEAR).then(|| t.to_string())
}

/// A value of a closed set (tier, status, visit type, …), as typed.
pub fn closed<T: FromStr<Err = ValidationError>>(s: &str) -> Result<T, ValidationError> {
    s.trim().parse::<T>()
}

/// An optional value of a closed set: [`CLEAR`] for none.
pub fn optional_closed<T: FromStr<Err = ValidationError>>(
    s: &str,
) -> Result<Option<T>, ValidationError> {
    optional_text(s).map(|t| closed(&t)).transpose()
}

/// A local date, YYYY-MM-DD.
pub fn date(field: &str, s: &str) -> Result<NaiveDate, ValidationError> {
    parse_date(field, s.trim())
}

/// An optional local date: the date as typed (checked), or none for [`CLEAR`].
pub fn optional_date(field: &str, s: &str) -> Result<Option<String>, ValidationError> {
    let day = optional_text(s);
    if let Some(d) = &day {
        date(field, d)?;
    }
    Ok(day)
}

/// An amount in major units ("128", "128.5", "128.50") as minor units (fen). Negative amounts
/// and more than two decimals are refused.
pub fn amount(field: &str, s: &str) -> Result<i64, ValidationError> {
    let bad = || {
        ValidationError::new(
            field,
            format!("'{s}' is not an amount: write it like 128 or 128.50"),
        )
    };
    let t = s.trim();
    if t.starts_with('-') {
        return Err(ValidationError::new(
            field,
            format!("'{s}': amounts cannot be negative"),
        ));
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

/// Money typed in major units of `currency`.
pub fn money(field: &str, s: &str, currency: &str) -> Result<Money, ValidationError> {
    Ok(Money::new(amount(field, s)?, currency))
}

/// Optional money typed in major units of `currency`: none for [`CLEAR`].
pub fn optional_money(
    field: &str,
    s: &str,
    currency: &str,
) -> Result<Option<Money>, ValidationError> {
    optional_text(s)
        .map(|t| money(field, &t, currency))
        .transpose()
}

/// Yes or no: `yes`/`no`, `true`/`false`, `y`/`n`, `1`/`0`, in any case.
pub fn flag(field: &str, s: &str) -> Result<bool, ValidationError> {
    match s.trim().to_ascii_lowercase().as_str() {
        "yes" | "true" | "1" | "y" => Ok(true),
        "no" | "false" | "0" | "n" => Ok(false),
        other => Err(ValidationError::new(
            field,
            format!("'{other}' is not yes or no"),
        )),
    }
}

/// A monthly demand as typed, a quantity and its unit ("20 吨"): none for [`CLEAR`].
pub fn demand(field: &str, s: &str) -> Result<(Option<i64>, Option<String>), ValidationError> {
    let Some(t) = optional_text(s) else {
        return Ok((None, None));
    };
    let (quantity, unit) = t.split_once(' ').unwrap_or((t.as_str(), ""));
    let quantity: i64 = quantity.parse().map_err(|_| {
        ValidationError::new(
            field,
            format!("'{t}' is not a quantity: write it like \"20 吨\""),
        )
    })?;
    Ok((Some(quantity), optional_text(unit)))
}

/// `NAME:TITLE` (a full-width colon works too): a person and what they do, or a competitor and
/// what was learnt of them. The part after the colon may be left out.
pub fn name_and_rest(s: &str) -> (String, Option<String>) {
    match s.split_once([':', '：']) {
        Some((name, rest)) => (name.trim().to_string(), optional_text(rest)),
        None => (s.trim().to_string(), None),
    }
}

/// A check-in time as typed (RFC 3339), or now when none is given: the time in UTC and the
/// offset, in minutes, of the local day it belongs to. A time given in UTC (`Z`) belongs to
/// this device's local day.
pub fn checkin(at: Option<&str>) -> Result<(String, i64), ValidationError> {
    moment("visit.checkin_at", at)
}

/// A time as typed under `field`: RFC 3339 (`2026-11-23T09:30:00+08:00`), or a local time of
/// this device (`2026-11-23 09:30`, `2026-11-23T09:30`), or now when none is given; the time
/// in UTC and the offset, in minutes, of the local day it belongs to. A time given in UTC
/// (`Z`) belongs to this device's local day.
pub fn moment(field: &str, at: Option<&str>) -> Result<(String, i64), ValidationError> {
    let here = || i64::from(Local::now().offset().local_minus_utc() / 60);
    match at.map(str::trim) {
        None | Some("") => Ok((format_time(Local::now().to_utc()), here())),
        Some(s) => {
            let local = ["%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S"]
                .iter()
                .find_map(|f| chrono::NaiveDateTime::parse_from_str(s, f).ok())
                .and_then(|t| t.and_local_timezone(Local).earliest());
            if let Some(t) = local {
                return Ok((
                    format_time(t.to_utc()),
                    i64::from(t.offset().local_minus_utc() / 60),
                ));
            }
            let t = DateTime::parse_from_rfc3339(s).map_err(|_| {
                ValidationError::new(
                    field,
                    format!(
                        "'{s}' is not a time: write it like 2026-11-23 09:30 (this device's time) or 2026-11-23T09:30:00+08:00"
                    ),
                )
            })?;
            let mut offset = i64::from(t.offset().local_minus_utc() / 60);
            if offset == 0 && (s.ends_with('Z') || s.ends_with('z')) {
                offset = here();
            }
            Ok((format_time(t.to_utc()), offset))
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn amounts_become_minor_units_and_negative_ones_are_refused() {
        assert_eq!(amount("x", "128").unwrap(), 12800);
        assert_eq!(amount("x", "128.5").unwrap(), 12850);
        assert_eq!(amount("x", " 0.05 ").unwrap(), 5);
        for bad in ["", "1.234", "abc", "1,5", ".5", "99999999999999999999"] {
            assert!(amount("x", bad).is_err(), "{bad}");
        }
        for negative in ["-5", "-0.5", " -128.50"] {
            let err = amount("amount", negative).unwrap_err();
            assert!(err.problem.ends_with("amounts cannot be negative"), "{err}");
        }
    }

    #[test]
    fn a_time_is_rfc_3339_or_this_devices_local_time() {
        let (utc, offset) = moment("received_at", Some("2026-11-23T09:30:00+08:00")).unwrap();
        assert_eq!((utc.as_str(), offset), ("2026-11-23T01:30:00Z", 480));
        let (local, _) = moment("received_at", Some("2026-11-23 09:30")).unwrap();
        let expected = chrono::NaiveDate::from_ymd_opt(2026, 11, 23)
            .unwrap()
            .and_hms_opt(9, 30, 0)
            .unwrap()
            .and_local_timezone(Local)
            .earliest()
            .unwrap();
        assert_eq!(local, format_time(expected.to_utc()));
        let err = moment("received_at", Some("yesterday")).unwrap_err();
        assert_eq!(err.field, "received_at");
    }

    #[test]
    fn only_the_empty_text_clears() {
        assert_eq!(optional_text(CLEAR), None);
        assert_eq!(optional_text("   "), None);
        assert_eq!(optional_text("-"), Some("-".into()));
        assert_eq!(optional_money("x", "", "CNY").unwrap(), None);
        assert_eq!(demand("d", "").unwrap(), (None, None));
        assert_eq!(
            demand("d", "20 吨").unwrap(),
            (Some(20), Some("吨".to_string()))
        );
        assert!(demand("d", "twenty").is_err());
        assert_eq!(optional_date("day", "").unwrap(), None);
        assert!(optional_date("day", "2026-13-01").is_err());
    }

    #[test]
    fn names_take_a_title_after_either_colon() {
        assert_eq!(
            name_and_rest("王经理：采购"),
            ("王经理".into(), Some("采购".into()))
        );
        assert_eq!(name_and_rest("Li: "), ("Li".into(), None));
        assert_eq!(name_and_rest(" 张三 "), ("张三".into(), None));
        assert!(flag("f", "YES").unwrap());
        assert!(!flag("f", "n").unwrap());
        assert!(flag("f", "maybe").is_err());
    }

    #[test]
    fn a_checkin_keeps_its_offset_and_a_utc_one_takes_this_devices() {
        let (at, offset) = checkin(Some("2026-11-23T09:30:00+08:00")).unwrap();
        assert_eq!(at, "2026-11-23T01:30:00Z");
        assert_eq!(offset, 480);
        assert!(checkin(Some("yesterday")).is_err());
    }
}
