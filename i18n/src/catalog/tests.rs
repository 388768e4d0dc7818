//! The catalog's rules: every file parses, no message is defined twice, every message
//! formats cleanly in every language with the variables it declares, and no translation
//! drops a variable the English text shows.

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};

use fluent_bundle::FluentResource;
use fluent_bundle::concurrent::FluentBundle;

use super::*;

/// The variables `key` may be given: those its English text uses, and those its English
/// comment declares (`in_comments` is [`declared_in_comments`] of English).
fn declared(key: &str, in_comments: &BTreeMap<String, BTreeSet<String>>) -> BTreeSet<String> {
    let id = key.split('.').next().unwrap_or(key);
    let mut all = variables(Lang::En, key).unwrap_or_default();
    all.extend(in_comments.get(id).into_iter().flatten().cloned());
    all
}

#[test]
fn every_file_parses_without_errors() {
    for lang in Lang::ALL {
        for (name, source) in FILES.iter().zip(sources(lang)) {
            if let Err((_, errors)) = FluentResource::try_new(source.to_string()) {
                panic!("locales/{}/{name} does not parse: {errors:?}", lang.code());
            }
        }
    }
}

#[test]
fn no_message_is_defined_twice() {
    for lang in Lang::ALL {
        let mut bundle = FluentBundle::new_concurrent(vec![]);
        for (name, source) in FILES.iter().zip(sources(lang)) {
            let resource = FluentResource::try_new(source.to_string()).unwrap();
            if let Err(errors) = bundle.add_resource(resource) {
                panic!("locales/{}/{name} defines again: {errors:?}", lang.code());
            }
        }
    }
}

#[test]
fn every_message_formats_cleanly_with_its_declared_variables() {
    let in_comments = declared_in_comments(Lang::En);
    let mut failures = Vec::new();
    for lang in Lang::ALL {
        for key in keys(lang) {
            let names = declared(&key, &in_comments);
            let used = variables(lang, &key).unwrap();
            let undeclared: Vec<&String> = used.difference(&names).collect();
            if !undeclared.is_empty() {
                failures.push(format!(
                    "{} {key} uses {undeclared:?}, which the English text neither uses nor declares in its comment",
                    lang.code()
                ));
            }
            for value in [Arg::Int(2), Arg::Int(1), Arg::from("text")] {
                let args: Vec<(&str, Arg<'_>)> =
                    names.iter().map(|n| (n.as_str(), value.clone())).collect();
                match format(lang, &key, &args) {
                    Ok(text) if text.contains(['\u{2068}', '\u{2069}']) => {
                        failures.push(format!("{} {key} has isolation marks", lang.code()))
                    }
                    Ok(_) => {}
                    Err(e) => failures.push(e.to_string()),
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn no_translation_drops_a_variable_of_the_english_text() {
    let mut failures = Vec::new();
    for key in keys(Lang::En) {
        let en = variables(Lang::En, &key).unwrap();
        for lang in Lang::ALL {
            let Some(translated) = variables(lang, &key) else {
                continue; // a missing key is the completeness test's to report
            };
            let dropped: Vec<&String> = en.difference(&translated).collect();
            if !dropped.is_empty() {
                failures.push(format!("{} {key} drops {dropped:?}", lang.code()));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_embedded_files_are_every_file_of_every_language() {
    for lang in Lang::ALL {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("locales")
            .join(lang.code());
        let on_disk: BTreeSet<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        let embedded: BTreeSet<String> = FILES.iter().map(|f| f.to_string()).collect();
        assert_eq!(
            on_disk,
            embedded,
            "{}: embed every .ftl file in catalog.rs's embed! list",
            dir.display()
        );
    }
}
