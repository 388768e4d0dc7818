//! The one message catalog of fieldsync, and what goes with speaking a person's language.
//!
//! Every text the product shows a person (the command line's output and errors today, the
//! web console's pages next) is a message of one [Fluent](https://projectfluent.org) catalog:
//! `locales/<language>/<area>.ftl`, one file per area in each language, embedded in the binary
//! at build time so nothing is read from disk at run time. The languages are those of
//! [`Lang`]: English, the source, and simplified Chinese.
//!
//! - Choosing the language: [`Lang::from_env`] for a program run from a terminal (`LC_ALL`,
//!   `LC_MESSAGES`, then `LANG`, as POSIX does), [`Lang::from_accept_language`] for a browser,
//!   [`Lang::parse`] for a language a person picked.
//! - Texts: [`tr()`] for a message without variables, [`tr_args`] (or the [`tr!`] macro) with
//!   them. A message missing in a language falls back to English, and one missing in English
//!   shows its key; the catalog's tests keep both from happening (every key exists in every
//!   language, every message formats with the variables it declares).
//! - Numbers a person reads the way their language writes them: [`format_money`] (¥1,234.50)
//!   and [`format_date`] (2026年12月2日, 2 Dec 2026).
//!
//! Fluent's Unicode isolation marks (FSI/PDI around each variable) are turned off: the texts
//! go to terminals and logs that would show them as stray characters.
//!
//! Machine-readable output (JSON, the API's error codes, the mobile bindings' error cases)
//! is never translated: apps and scripts read codes, and people read this catalog.
//!
//! ```
//! use fieldsync_i18n::{Lang, format_money, tr};
//!
//! let lang = Lang::from_accept_language("zh-CN,zh;q=0.9,en;q=0.8");
//! assert_eq!(lang, Lang::ZhCn);
//! assert_eq!(tr(lang, "console-approve"), "批准");
//! assert_eq!(fieldsync_i18n::tr!(lang, "console-approved-by", user = "wang"), "由 wang 批准");
//! assert_eq!(format_money(lang, 123_450, "CNY"), "¥1,234.50");
//! ```

#![warn(missing_docs)]

mod catalog;
mod format;
mod lang;

use std::borrow::Cow;
use std::collections::BTreeSet;

use fluent_bundle::FluentValue;

pub use format::{format_date, format_money};
pub use lang::Lang;

/// What can go wrong looking a message up. [`tr()`] and [`tr_args`] never fail (they fall back
/// to English, then to the key); [`try_tr_args`] says why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No message (or attribute, for a key `message.attribute`) has this key in this language.
    #[error("no message {key} in {lang}: add it to the .ftl files of every language")]
    Missing {
        /// The language looked in.
        lang: Lang,
        /// The key asked for.
        key: String,
    },
    /// The message exists, but formatting it reported errors (a variable not passed, a
    /// reference to a message that does not exist); `text` is what it gave all the same.
    #[error("message {key} in {lang} did not format cleanly ({}): pass every variable it uses", .errors.join("; "))]
    Format {
        /// The language.
        lang: Lang,
        /// The key.
        key: String,
        /// What Fluent reported.
        errors: Vec<String>,
        /// The text, with `{$name}` where a variable was missing.
        text: String,
    },
}

/// The value of a message's variable: a text, or a whole number (which plural rules can
/// select on). Made with `From` from strings and integers, which is what [`tr!`] does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg<'a> {
    /// A text, shown as it is.
    Text(Cow<'a, str>),
    /// A whole number, shown without grouping (`12345`); a plural selector sees a number.
    Int(i64),
}

/// The largest integer an `f64` holds exactly: Fluent keeps numbers as `f64`, so larger ones
/// go in as text to keep every digit.
const EXACT_IN_F64: u64 = 1 << 53;

impl Arg<'_> {
    fn to_fluent(&self) -> FluentValue<'_> {
        match self {
            Arg::Text(text) => FluentValue::from(text.as_ref()),
            Arg::Int(n) if n.unsigned_abs() <= EXACT_IN_F64 => FluentValue::from(*n),
            Arg::Int(n) => FluentValue::from(n.to_string()),
        }
    }
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(text: &'a str) -> Self {
        Arg::Text(Cow::Borrowed(text))
    }
}

impl<'a> From<&'a String> for Arg<'a> {
    fn from(text: &'a String) -> Self {
        Arg::Text(Cow::Borrowed(text.as_str()))
    }
}

impl From<String> for Arg<'_> {
    fn from(text: String) -> Self {
        Arg::Text(Cow::Owned(text))
    }
}

impl<'a> From<Cow<'a, str>> for Arg<'a> {
    fn from(text: Cow<'a, str>) -> Self {
        Arg::Text(text)
    }
}

macro_rules! int_arg {
    ($($t:ty),+) => {$(
        impl From<$t> for Arg<'_> {
            fn from(n: $t) -> Self {
                Arg::Int(i64::from(n))
            }
        }
    )+};
}

int_arg!(i8, i16, i32, i64, u8, u16, u32);

macro_rules! wide_int_arg {
    ($($t:ty),+) => {$(
        impl From<$t> for Arg<'_> {
            /// A number past `i64` goes in as its digits.
            fn from(n: $t) -> Self {
                i64::try_from(n).map_or_else(|_| Arg::Text(Cow::Owned(n.to_string())), Arg::Int)
            }
        }
    )+};
}

wide_int_arg!(u64, usize, isize, i128, u128);

/// The message `key` in `lang` (`"message"` or `"message.attribute"`), for a message without
/// variables. Falls back to English, then to the key itself.
pub fn tr(lang: Lang, key: &str) -> String {
    tr_args(lang, key, &[])
}

/// The message `key` in `lang` with its variables, each a name (without `$`) and a value.
/// Falls back to English when the language lacks the message, then to the key itself; a
/// variable not passed shows as `{$name}`.
pub fn tr_args(lang: Lang, key: &str, args: &[(&str, Arg<'_>)]) -> String {
    match try_tr_args(lang, key, args) {
        Ok(text) => text,
        Err(Error::Format { text, .. }) => text,
        Err(_) if lang != Lang::En => tr_args(Lang::En, key, args),
        Err(_) => key.to_string(),
    }
}

/// The message `key` in `lang` with its variables, or why it cannot be had cleanly: no
/// fallback, for callers (and tests) that must know.
pub fn try_tr_args(lang: Lang, key: &str, args: &[(&str, Arg<'_>)]) -> Result<String, Error> {
    catalog::format(lang, key, args)
}

/// What an error code of the HTTP API (`bad_request`, `token_expired`, …, docs/PROTOCOL.md)
/// means, in `lang`; `None` for a code the catalog does not know.
pub fn describe_error_code(lang: Lang, code: &str) -> Option<String> {
    try_tr_args(lang, &format!("error-{code}"), &[]).ok()
}

/// Every key of the catalog in `lang`: each message's id, and `id.attribute` for each of its
/// attributes. Every language has the same keys (the catalog's tests check it).
pub fn keys(lang: Lang) -> BTreeSet<String> {
    catalog::keys(lang)
}

/// A message of the catalog with its variables:
/// `tr!(lang, "cli-logged-out", username = name)`, or `tr!(lang, "cli-none")` without any.
/// Each value is anything [`Arg`] is made `From` (strings, integers).
#[macro_export]
macro_rules! tr {
    ($lang:expr, $key:expr $(,)?) => {
        $crate::tr($lang, $key)
    };
    ($lang:expr, $key:expr, $($name:ident = $value:expr),+ $(,)?) => {
        $crate::tr_args(
            $lang,
            $key,
            &[$((::core::stringify!($name), $crate::Arg::from($value))),+],
        )
    };
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_message_comes_in_each_language() {
        assert_eq!(tr(Lang::En, "console-approve"), "Approve");
        assert_eq!(tr(Lang::ZhCn, "console-approve"), "批准");
    }

    #[test]
    fn variables_are_filled_in_without_isolation_marks() {
        let text = tr!(Lang::En, "cli-logged-out", username = "li");
        assert_eq!(text, "logged out li");
        assert!(!text.contains(['\u{2068}', '\u{2069}']));
        assert_eq!(
            tr!(Lang::ZhCn, "cli-followup-days", days = 3),
            "3 天",
            "a number shows as its digits"
        );
    }

    #[test]
    fn numbers_keep_every_digit() {
        assert_eq!(
            tr!(Lang::En, "cli-followup-days", days = 1_234_567_u64),
            "1234567 d",
            "no grouping, no fraction"
        );
        assert_eq!(tr!(Lang::En, "cli-followup-days", days = -12), "-12 d");
        assert_eq!(
            tr!(
                Lang::En,
                "cli-followup-days",
                days = 9_007_199_254_740_993_i64
            ),
            "9007199254740993 d",
            "past 2^53 the digits go in as text"
        );
        assert_eq!(
            tr!(Lang::En, "cli-followup-days", days = u64::MAX),
            "18446744073709551615 d"
        );
    }

    #[test]
    fn plurals_follow_each_language() {
        let en = |n: i64| tr!(Lang::En, "console-days-overdue", days = n);
        assert_eq!(en(1), "1 day overdue");
        assert_eq!(en(3), "3 days overdue");
        assert_eq!(
            tr!(Lang::ZhCn, "console-days-overdue", days = 1),
            "逾期 1 天"
        );
    }

    #[test]
    fn attributes_and_padding_literals_format() {
        assert_eq!(tr(Lang::En, "cli-list-separator"), ", ");
        assert_eq!(
            tr!(Lang::En, "cli-password-prompt", username = "li"),
            "password for li: ",
            "a trailing blank kept by a string literal"
        );
    }

    #[test]
    fn a_missing_message_falls_back_to_english_then_to_its_key() {
        assert_eq!(tr(Lang::ZhCn, "no-such-message"), "no-such-message");
        assert!(matches!(
            try_tr_args(Lang::ZhCn, "no-such-message", &[]),
            Err(Error::Missing {
                lang: Lang::ZhCn,
                ..
            })
        ));
        assert!(matches!(
            try_tr_args(Lang::En, "console-approve.no-such-attribute", &[]),
            Err(Error::Missing { .. })
        ));
    }

    #[test]
    fn a_variable_not_passed_is_reported_and_shown() {
        let err = try_tr_args(Lang::En, "cli-logged-out", &[]).unwrap_err();
        let Error::Format { text, errors, .. } = err else {
            panic!("expected a format error, got {err:?}");
        };
        assert_eq!(text, "logged out {$username}");
        assert_eq!(errors.len(), 1);
        assert_eq!(tr(Lang::En, "cli-logged-out"), "logged out {$username}");
    }

    #[test]
    fn error_codes_of_the_api_are_described() {
        assert_eq!(
            describe_error_code(Lang::ZhCn, "token_expired").as_deref(),
            Some("登录已过期：请重新登录")
        );
        assert!(describe_error_code(Lang::En, "rate_limited").is_some());
        assert_eq!(describe_error_code(Lang::En, "no_such_code"), None);
    }
}
