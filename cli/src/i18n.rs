//! The language the command line speaks, and its texts from the product's catalog
//! (`fieldsync-i18n`).
//!
//! The language is chosen once per run from the environment as POSIX programs choose it:
//! `LC_ALL`, then `LC_MESSAGES`, then `LANG` (`zh_CN.UTF-8` → Chinese; unset, `C`, `en_US.UTF-8`
//! or any language the catalog lacks → English). English output is exactly what the command
//! line printed before it was translated. What is not translated, in any language:
//! `--json` output (for programs), values of closed sets that commands take back (statuses,
//! tiers, types: `--status submitted`), ids, and clap's `--help` and usage errors, which clap
//! builds from the doc comments of `args.rs`.

use std::sync::OnceLock;

use chrono::NaiveDate;
pub use fieldsync_i18n::Lang;

static LANG: OnceLock<Lang> = OnceLock::new();

/// Fixes the language of this run (before the first text); later calls change nothing.
pub fn init(lang: Lang) {
    let _ = LANG.set(lang);
}

/// The language of this run: the one [`init`] fixed, else the environment's.
pub fn lang() -> Lang {
    *LANG.get_or_init(Lang::from_env)
}

/// A message of the catalog in the language of this run: `t!("cli-customer-note-added")`, or with its
/// variables, `t!("cli-logged-out", username = name)`.
macro_rules! t {
    ($($message:tt)+) => {
        fieldsync_i18n::tr!($crate::i18n::lang(), $($message)+)
    };
}

pub(crate) use t;

/// The messages `keys` in the language of this run: a table's column titles.
pub fn all(keys: &[&str]) -> Vec<String> {
    keys.iter().map(|key| t!(key)).collect()
}

/// A code of the protocol (`trip_plan`, `manager`) as this run shows it: English shows the
/// code itself, as it always has (scripts match it); another language shows its name from
/// the catalog's `<prefix>-<code>` message, or the code where the catalog has none.
pub fn code_name(lang: Lang, prefix: &str, code: &str) -> String {
    if lang == Lang::En {
        return code.to_string();
    }
    let key = format!("{prefix}-{}", code.replace(' ', "_"));
    fieldsync_i18n::try_tr_args(lang, &key, &[]).unwrap_or_else(|_| code.to_string())
}

/// A kind of document (`trip_plan`, or `trip plan` as client-core's errors name it), as
/// this run shows it.
pub fn kind(code: &str) -> String {
    code_name(lang(), "kind", code)
}

/// A role (`rep`, `manager`, `admin`) as this run shows it.
pub fn role(code: &str) -> String {
    code_name(lang(), "role", code)
}

/// A day (`2026-11-23`) in a title: as it is in English, `2026年11月23日` in Chinese; a text
/// that is not a day stays as it is.
pub fn day(text: &str) -> String {
    match (lang(), NaiveDate::parse_from_str(text, "%Y-%m-%d")) {
        (Lang::En, _) | (_, Err(_)) => text.to_string(),
        (lang, Ok(date)) => fieldsync_i18n::format_date(lang, date),
    }
}

/// Items of a list on one line, with the separator of the language of this run.
pub fn join(items: &[String]) -> String {
    items.join(&t!("cli-list-separator"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::BTreeSet;
    use std::path::Path;

    use super::*;

    /// The catalog keys the command line's source names: every string literal that starts
    /// with `cli-` or `status-` (the keys it builds, `kind-…` and `role-…`, fall back to
    /// the code when missing).
    fn keys_in_source() -> BTreeSet<String> {
        fn walk(dir: &Path, keys: &mut BTreeSet<String>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(&path, keys);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let text = std::fs::read_to_string(&path).unwrap();
                    for prefix in ["\"cli-", "\"status-"] {
                        for (at, _) in text.match_indices(prefix) {
                            let rest = &text[at + 1..];
                            let key = &rest[..rest.find('"').unwrap()];
                            // The prefixes themselves, in this very test, are not keys.
                            if !key.ends_with('-') {
                                keys.insert(key.to_string());
                            }
                        }
                    }
                }
            }
        }
        let mut keys = BTreeSet::new();
        walk(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut keys,
        );
        keys
    }

    #[test]
    fn every_key_the_command_line_names_is_in_the_catalog() {
        let catalog = fieldsync_i18n::keys(Lang::En);
        let used = keys_in_source();
        let missing: Vec<&String> = used.difference(&catalog).collect();
        assert!(missing.is_empty(), "not in the catalog: {missing:?}");
    }

    #[test]
    fn every_message_of_the_command_line_is_used() {
        let used = keys_in_source();
        let unused: Vec<String> = fieldsync_i18n::keys(Lang::En)
            .into_iter()
            .filter(|k| k.starts_with("cli-") && !used.contains(k))
            .collect();
        assert!(unused.is_empty(), "messages no command prints: {unused:?}");
    }

    #[test]
    fn codes_show_as_they_are_in_english_and_by_name_in_chinese() {
        assert_eq!(code_name(Lang::En, "kind", "trip_plan"), "trip_plan");
        assert_eq!(code_name(Lang::En, "kind", "trip plan"), "trip plan");
        assert_eq!(code_name(Lang::ZhCn, "kind", "trip_plan"), "出差计划");
        assert_eq!(code_name(Lang::ZhCn, "kind", "trip plan"), "出差计划");
        assert_eq!(code_name(Lang::ZhCn, "role", "manager"), "销售经理");
        assert_eq!(
            code_name(Lang::ZhCn, "role", "auditor"),
            "auditor",
            "a code the catalog lacks shows as it is"
        );
    }
}
