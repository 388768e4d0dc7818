//! The catalog itself: the `.ftl` files of each language, embedded at build time, parsed once
//! into one Fluent bundle per language, and what the tests ask of them (keys, variables).

use std::collections::BTreeSet;
use std::sync::{Arc, LazyLock};

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource};
use fluent_syntax::ast;

use crate::{Arg, Error, Lang};

/// Embeds the same files of every language's folder. A test checks that the list is every
/// file of every folder, so a file cannot be added and forgotten.
macro_rules! embed {
    ($($file:literal),+ $(,)?) => {
        /// The names of the files of each language folder, in the order of [`sources`].
        #[cfg(test)]
        pub(crate) const FILES: &[&str] = &[$($file),+];
        const EN: &[&str] = &[$(include_str!(concat!("../locales/en/", $file))),+];
        const ZH_CN: &[&str] = &[$(include_str!(concat!("../locales/zh-CN/", $file))),+];
    };
}

embed!(
    "common.ftl",
    "errors.ftl",
    "cli.ftl",
    "cli-errors.ftl",
    "console.ftl",
    "console-pages.ftl",
);

/// The texts of the `.ftl` files of `lang`, in the order of their names in `FILES`.
pub(crate) fn sources(lang: Lang) -> &'static [&'static str] {
    match lang {
        Lang::En => EN,
        Lang::ZhCn => ZH_CN,
    }
}

/// One language: its parsed files and the bundle that formats their messages.
struct Language {
    resources: Vec<Arc<FluentResource>>,
    bundle: FluentBundle<Arc<FluentResource>>,
}

impl Language {
    /// Parses the files of `lang`. A file with a syntax error keeps the messages that parse
    /// and a message defined twice keeps its first text (the tests refuse both), so a broken
    /// catalog degrades to its keys rather than stop the program.
    fn load(lang: Lang) -> Language {
        let mut bundle =
            FluentBundle::new_concurrent(vec![lang.code().parse().unwrap_or_default()]);
        bundle.set_use_isolating(false);
        let resources: Vec<Arc<FluentResource>> = sources(lang)
            .iter()
            .map(|source| {
                Arc::new(
                    FluentResource::try_new(source.to_string())
                        .unwrap_or_else(|(partial, _)| partial),
                )
            })
            .collect();
        for resource in &resources {
            let _ = bundle.add_resource(Arc::clone(resource));
        }
        Language { resources, bundle }
    }

    /// Every message of the language, in file order.
    fn messages(&self) -> impl Iterator<Item = &ast::Message<&str>> {
        self.resources
            .iter()
            .flat_map(|r| r.entries())
            .filter_map(|entry| match entry {
                ast::Entry::Message(m) => Some(m),
                _ => None,
            })
    }
}

/// Both languages, loaded at first use.
static CATALOG: LazyLock<[Language; 2]> =
    LazyLock::new(|| [Language::load(Lang::En), Language::load(Lang::ZhCn)]);

fn language(lang: Lang) -> &'static Language {
    let [en, zh_cn] = &*CATALOG;
    match lang {
        Lang::En => en,
        Lang::ZhCn => zh_cn,
    }
}

/// The message (or `message.attribute`) `key` of `lang`, formatted with `args`.
pub(crate) fn format(lang: Lang, key: &str, args: &[(&str, Arg<'_>)]) -> Result<String, Error> {
    let missing = || Error::Missing {
        lang,
        key: key.to_string(),
    };
    let bundle = &language(lang).bundle;
    let (id, attribute) = match key.split_once('.') {
        Some((id, attribute)) => (id, Some(attribute)),
        None => (key, None),
    };
    let message = bundle.get_message(id).ok_or_else(missing)?;
    let pattern = match attribute {
        None => message.value(),
        Some(name) => message.get_attribute(name).map(|a| a.value()),
    }
    .ok_or_else(missing)?;
    let mut fluent_args = FluentArgs::with_capacity(args.len());
    for (name, value) in args {
        fluent_args.set(*name, value.to_fluent());
    }
    let mut errors = Vec::new();
    let text = bundle
        .format_pattern(pattern, Some(&fluent_args), &mut errors)
        .into_owned();
    if errors.is_empty() {
        Ok(text)
    } else {
        Err(Error::Format {
            lang,
            key: key.to_string(),
            errors: errors.iter().map(ToString::to_string).collect(),
            text,
        })
    }
}

/// Every message id of `lang`, and `id.attribute` for each attribute.
pub(crate) fn keys(lang: Lang) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    for message in language(lang).messages() {
        keys.insert(message.id.name.to_string());
        for attribute in &message.attributes {
            keys.insert(format!("{}.{}", message.id.name, attribute.id.name));
        }
    }
    keys
}

/// The variables the message (or `message.attribute`) `key` of `lang` uses, without `$`;
/// `None` if it has no such key.
#[cfg(test)]
pub(crate) fn variables(lang: Lang, key: &str) -> Option<BTreeSet<String>> {
    let (id, attribute) = match key.split_once('.') {
        Some((id, attribute)) => (id, Some(attribute)),
        None => (key, None),
    };
    let message = language(lang).messages().find(|m| m.id.name == id)?;
    let pattern = match attribute {
        None => message.value.as_ref()?,
        Some(name) => &message.attributes.iter().find(|a| a.id.name == name)?.value,
    };
    let mut out = BTreeSet::new();
    pattern_variables(pattern, &mut out);
    Some(out)
}

/// The variables each message's comment in `lang` declares (`$name` anywhere in it), by
/// message id: those a translation may use although the English text does not. The bundles'
/// parse drops comments, so the files are parsed again, whole.
#[cfg(test)]
pub(crate) fn declared_in_comments(
    lang: Lang,
) -> std::collections::BTreeMap<String, BTreeSet<String>> {
    let mut declared = std::collections::BTreeMap::new();
    for source in sources(lang) {
        let resource = fluent_syntax::parser::parse(*source).unwrap_or_else(|(partial, _)| partial);
        for entry in &resource.body {
            let ast::Entry::Message(message) = entry else {
                continue;
            };
            let Some(comment) = &message.comment else {
                continue;
            };
            let names: BTreeSet<String> = comment
                .content
                .iter()
                .flat_map(|line| line.split('$').skip(1))
                .map(|rest| {
                    rest.chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
                        .collect::<String>()
                })
                .filter(|name| !name.is_empty())
                .collect();
            declared.insert(message.id.name.to_string(), names);
        }
    }
    declared
}

#[cfg(test)]
fn pattern_variables(pattern: &ast::Pattern<&str>, out: &mut BTreeSet<String>) {
    for element in &pattern.elements {
        if let ast::PatternElement::Placeable { expression } = element {
            expression_variables(expression, out);
        }
    }
}

#[cfg(test)]
fn expression_variables(expression: &ast::Expression<&str>, out: &mut BTreeSet<String>) {
    match expression {
        ast::Expression::Select { selector, variants } => {
            inline_variables(selector, out);
            for variant in variants {
                pattern_variables(&variant.value, out);
            }
        }
        ast::Expression::Inline(inline) => inline_variables(inline, out),
    }
}

#[cfg(test)]
fn inline_variables(inline: &ast::InlineExpression<&str>, out: &mut BTreeSet<String>) {
    match inline {
        ast::InlineExpression::VariableReference { id } => {
            out.insert(id.name.to_string());
        }
        ast::InlineExpression::FunctionReference { arguments, .. } => {
            for argument in &arguments.positional {
                inline_variables(argument, out);
            }
            for argument in &arguments.named {
                inline_variables(&argument.value, out);
            }
        }
        ast::InlineExpression::Placeable { expression } => expression_variables(expression, out),
        _ => {}
    }
}

#[cfg(test)]
mod tests;
