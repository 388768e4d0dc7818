//! Every key of the catalog exists in every language: the `.ftl` files are read from disk and
//! parsed here, and their message ids and attributes compared, file by file, so that a
//! message added in one language and forgotten in the other fails the build's tests with
//! its name and file.

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use fieldsync_i18n::{Lang, keys};
use fluent_syntax::ast::Entry;

fn locales() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("locales")
}

/// The keys of each `.ftl` file of `lang`'s folder: message ids and `id.attribute`s.
fn keys_on_disk(lang: Lang) -> BTreeMap<String, BTreeSet<String>> {
    let dir = locales().join(lang.code());
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        assert_eq!(
            path.extension().and_then(|e| e.to_str()),
            Some("ftl"),
            "only .ftl files belong in {}",
            dir.display()
        );
        let text = std::fs::read_to_string(&path).unwrap();
        let resource = match fluent_syntax::parser::parse(text.as_str()) {
            Ok(resource) => resource,
            Err((_, errors)) => panic!("{} does not parse: {errors:?}", path.display()),
        };
        let mut keys = BTreeSet::new();
        for entry in &resource.body {
            if let Entry::Message(message) = entry {
                let id = message.id.name;
                assert!(
                    keys.insert(id.to_string()),
                    "{id} twice in {}",
                    path.display()
                );
                for attribute in &message.attributes {
                    keys.insert(format!("{id}.{}", attribute.id.name));
                }
            }
        }
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        files.insert(name, keys);
    }
    files
}

#[test]
fn every_language_has_the_same_files() {
    let en: BTreeSet<String> = keys_on_disk(Lang::En).into_keys().collect();
    for lang in Lang::ALL {
        let files: BTreeSet<String> = keys_on_disk(lang).into_keys().collect();
        assert_eq!(files, en, "the files of locales/{}", lang.code());
    }
}

#[test]
fn every_key_exists_in_every_language() {
    let en = keys_on_disk(Lang::En);
    let mut problems = Vec::new();
    for lang in Lang::ALL {
        let other = keys_on_disk(lang);
        for (file, en_keys) in &en {
            let empty = BTreeSet::new();
            let keys = other.get(file).unwrap_or(&empty);
            for missing in en_keys.difference(keys) {
                problems.push(format!("locales/{}/{file} lacks {missing}", lang.code()));
            }
            for extra in keys.difference(en_keys) {
                problems.push(format!(
                    "locales/{}/{file} has {extra}, which locales/en/{file} lacks",
                    lang.code()
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_library_serves_the_keys_on_disk() {
    for lang in Lang::ALL {
        let on_disk: BTreeSet<String> = keys_on_disk(lang).into_values().flatten().collect();
        assert_eq!(keys(lang), on_disk, "{}", lang.code());
    }
    assert_eq!(keys(Lang::En), keys(Lang::ZhCn));
    assert!(keys(Lang::En).len() > 300, "the catalog is whole");
}
