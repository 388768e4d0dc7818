//! Field types shared by several document kinds: string enums, money, coordinates, dates.
//!
//! Every value here has one representation in the Automerge document (a string, an integer or a
//! small map), one in JSON (serde) and one check in [`crate::model`]'s validators, so the server,
//! the store and the apps all read the same data the same way.

use autosurgeon::{Hydrate, Reconcile};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::error::ValidationError;

/// Defines a closed set of values stored as lowercase strings in documents and JSON.
///
/// Unknown strings in a document hydrate to an error that names the accepted values, so a
/// document written by a buggy or hostile client is rejected with a message a person can act on.
macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        $name:ident, $what:literal {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The string stored in documents and JSON.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// The accepted strings, for error messages and help texts.
            pub fn expected() -> String {
                let all: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
                format!(concat!($what, ": one of {}"), all.join(", "))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl $name {
            /// The value stored exactly as `s` (documents and JSON hold the canonical
            /// spelling only; [`std::str::FromStr`] is the lenient parser for typed input).
            pub fn from_stored(s: &str) -> Result<Self, $crate::error::ValidationError> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err($crate::error::ValidationError::new(
                        $what,
                        format!("unknown value '{}', expected {}", other, Self::expected()),
                    )),
                }
            }
        }

        /// Parses what a person typed: surrounding spaces and letter case do not matter
        /// (`a` is tier `A`, `Cold_Visit` is `cold_visit`).
        impl std::str::FromStr for $name {
            type Err = $crate::error::ValidationError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let typed = s.trim();
                Self::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str().eq_ignore_ascii_case(typed))
                    .ok_or_else(|| $crate::error::ValidationError::new(
                        $what,
                        format!("unknown value '{}', expected {}", s, Self::expected()),
                    ))
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <String as serde::Deserialize>::deserialize(d)?;
                Self::from_stored(&s).map_err(serde::de::Error::custom)
            }
        }

        impl autosurgeon::Hydrate for $name {
            fn hydrate_string(s: &str) -> Result<Self, autosurgeon::HydrateError> {
                Self::from_stored(s).map_err(|_| autosurgeon::HydrateError::unexpected(Self::expected(), format!("'{s}'")))
            }
        }

        impl autosurgeon::Reconcile for $name {
            type Key<'a> = autosurgeon::reconcile::NoKey;
            fn reconcile<R: autosurgeon::Reconciler>(&self, mut r: R) -> Result<(), R::Error> {
                r.str(self.as_str())
            }
        }
    };
}
pub(crate) use string_enum;

/// An amount of money in minor units (fen for CNY) with its ISO 4217 currency code.
///
/// Money is never a float: `amount` 12345 with `currency` "CNY" is ¥123.45.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, Hydrate, Reconcile)]
pub struct Money {
    /// Minor units (fen, cents); never negative in fieldsync documents.
    pub amount: i64,
    /// Three upper-case letters, e.g. "CNY".
    pub currency: String,
}

impl Money {
    /// An amount in minor units of the given currency.
    pub fn new(amount: i64, currency: impl Into<String>) -> Self {
        Money {
            amount,
            currency: currency.into(),
        }
    }

    /// Yuan in fen: `Money::cny(12345)` is ¥123.45.
    pub fn cny(fen: i64) -> Self {
        Money::new(fen, "CNY")
    }

    /// Checks the amount is not negative and the currency is an ISO 4217 code.
    pub fn validate(&self, field: &str) -> Result<(), ValidationError> {
        if self.amount < 0 {
            return Err(ValidationError::new(
                field,
                format!(
                    "amount {} is negative: money is a non-negative number of minor units (fen)",
                    self.amount
                ),
            ));
        }
        validate_currency(field, &self.currency)
    }
}

/// Checks a currency code is three upper-case ASCII letters (ISO 4217).
pub fn validate_currency(field: &str, code: &str) -> Result<(), ValidationError> {
    if code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(())
    } else {
        Err(ValidationError::new(
            field,
            format!("currency '{code}' is not an ISO 4217 code such as CNY"),
        ))
    }
}

/// A position from the device's GPS, in WGS-84 degrees.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Hydrate, Reconcile)]
pub struct Geo {
    /// Latitude, -90 to 90.
    pub lat: f64,
    /// Longitude, -180 to 180.
    pub lon: f64,
}

impl Geo {
    /// Checks both coordinates are finite and in range.
    pub fn validate(&self, field: &str) -> Result<(), ValidationError> {
        if !(self.lat.is_finite() && (-90.0..=90.0).contains(&self.lat)) {
            return Err(ValidationError::new(
                field,
                format!("latitude {} is outside -90..90", self.lat),
            ));
        }
        if !(self.lon.is_finite() && (-180.0..=180.0).contains(&self.lon)) {
            return Err(ValidationError::new(
                field,
                format!("longitude {} is outside -180..180", self.lon),
            ));
        }
        Ok(())
    }
}

/// Parses a local calendar date, `YYYY-MM-DD`.
///
/// Only the zero-padded form is accepted, because projections compare dates as text.
pub fn parse_date(field: &str, s: &str) -> Result<NaiveDate, ValidationError> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .filter(|d| d.format("%Y-%m-%d").to_string() == s)
        .ok_or_else(|| {
            ValidationError::new(
                field,
                format!("'{s}' is not a date: write it as YYYY-MM-DD, e.g. 2026-11-23"),
            )
        })
}

/// Parses an RFC 3339 instant and returns it in UTC.
pub fn parse_time(field: &str, s: &str) -> Result<DateTime<Utc>, ValidationError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            ValidationError::new(
                field,
                format!("'{s}' is not an RFC 3339 time: write it like 2026-11-23T09:30:00Z"),
            )
        })
}

/// Checks a stored instant is in the form documents use: RFC 3339, UTC (`Z`), whole seconds.
///
/// Projections sort these as text, which is only right for one canonical form.
pub fn check_stored_time(field: &str, s: &str) -> Result<(), ValidationError> {
    let t = parse_time(field, s)?;
    if format_time(t) == s {
        Ok(())
    } else {
        Err(ValidationError::new(
            field,
            format!(
                "'{s}' must be stored in UTC with whole seconds, as {}",
                format_time(t)
            ),
        ))
    }
}

/// Checks a list entry carries a document-style id.
pub fn check_entry_id(field: &str, id: &str) -> Result<(), ValidationError> {
    if crate::ids::is_id(id) {
        Ok(())
    } else {
        Err(ValidationError::new(
            format!("{field}.id"),
            format!("'{id}' is not a lower-case UUID"),
        ))
    }
}

/// Formats an instant the way documents store it: RFC 3339, UTC, whole seconds.
pub fn format_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The current time, formatted as documents store it.
pub fn now_string() -> String {
    format_time(Utc::now())
}

/// `words` with their article, for messages: "a visit", "an order", "an expense claim".
pub fn a_or_an(words: &str) -> String {
    let vowel = words
        .chars()
        .next()
        .is_some_and(|c| matches!(c, 'a' | 'e' | 'i' | 'o' | 'u'));
    format!("{} {words}", if vowel { "an" } else { "a" })
}

/// Checks a required text field is present and not only white space, and not absurdly long.
pub fn require_text(field: &str, value: &str, max_chars: usize) -> Result<(), ValidationError> {
    if value.trim().is_empty() {
        return Err(ValidationError::new(field, "must not be empty"));
    }
    limit_text(field, value, max_chars)
}

/// Checks an optional text field is not absurdly long.
pub fn limit_text(field: &str, value: &str, max_chars: usize) -> Result<(), ValidationError> {
    let n = value.chars().count();
    if n > max_chars {
        return Err(ValidationError::new(
            field,
            format!("is {n} characters long; the limit is {max_chars}"),
        ));
    }
    Ok(())
}

/// A user name as the server knows it (owner, author, approver fields).
pub fn validate_username(field: &str, value: &str) -> Result<(), ValidationError> {
    require_text(field, value, 64)?;
    if value.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(ValidationError::new(
            field,
            format!("user name '{value}' contains spaces or control characters"),
        ));
    }
    Ok(())
}

/// The fields kept as [`Paragraphs`], as paths from the document's root.
pub const PARAGRAPH_FIELDS: &[&str] = &[
    "notes",
    "competitor_notes",
    "summary",
    "spin.situation",
    "spin.problem",
    "spin.implication",
    "spin.need_payoff",
];

/// A shared text kept as a list of paragraphs: one list entry, one string, per line.
///
/// Automerge's own text is one operation per character, which makes a long note (a pasted
/// contract, a year of minutes) cost tens of milliseconds to write, push, apply and load. A
/// paragraph is one operation however long it is. Concurrent appends are separate entries, so
/// separate lines; concurrent edits of different paragraphs both survive; concurrent edits of
/// the same paragraph are a conflict on that entry, shown and settled like any other.
///
/// Documents written before hold Automerge text objects: they are read the same way (without
/// the one line break that ends the last paragraph appended to them), and edited as text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Paragraphs(String);

impl Paragraphs {
    /// The text, its paragraphs joined by line breaks.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The paragraphs `text` is stored as: its lines (none for an empty text; a break that
    /// ends the text starts no empty paragraph).
    pub fn lines_of(text: &str) -> Vec<String> {
        let text = text.strip_suffix('\n').unwrap_or(text);
        if text.is_empty() {
            Vec::new()
        } else {
            text.split('\n').map(str::to_string).collect()
        }
    }
}

impl From<String> for Paragraphs {
    fn from(s: String) -> Self {
        Paragraphs(s)
    }
}

impl From<&str> for Paragraphs {
    fn from(s: &str) -> Self {
        Paragraphs(s.to_string())
    }
}

impl std::fmt::Display for Paragraphs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl serde::Serialize for Paragraphs {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl autosurgeon::Hydrate for Paragraphs {
    fn hydrate_seq<D: autosurgeon::ReadDoc>(
        doc: &D,
        obj: &automerge::ObjId,
    ) -> Result<Self, autosurgeon::HydrateError> {
        // Index by index: the typed read's reader (`OnePass`) answers each from one walk.
        let mut text = String::new();
        for i in 0..doc.length(obj) {
            if i > 0 {
                text.push('\n');
            }
            let value = doc.get(obj, i)?;
            match &value {
                Some((automerge::Value::Scalar(line), _))
                    if let automerge::ScalarValue::Str(line) = line.as_ref() =>
                {
                    text.push_str(line)
                }
                other => {
                    return Err(autosurgeon::HydrateError::unexpected(
                        "a string (one paragraph)",
                        format!("{other:?}"),
                    ));
                }
            }
        }
        Ok(Paragraphs(text))
    }

    fn hydrate_text<D: autosurgeon::ReadDoc>(
        doc: &D,
        obj: &automerge::ObjId,
    ) -> Result<Self, autosurgeon::HydrateError> {
        let text = doc.text(obj)?;
        // A paragraph appended at the start of a line carried its own break at its end.
        Ok(Paragraphs(match text.strip_suffix('\n') {
            Some(shown) => shown.to_string(),
            None => text,
        }))
    }
}

impl autosurgeon::Reconcile for Paragraphs {
    type Key<'a> = autosurgeon::reconcile::NoKey;

    fn reconcile<R: autosurgeon::Reconciler>(&self, reconciler: R) -> Result<(), R::Error> {
        Paragraphs::lines_of(&self.0).reconcile(reconciler)
    }
}
