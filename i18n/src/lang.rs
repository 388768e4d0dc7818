//! The languages the product speaks, and how a language is chosen: from a terminal's
//! locale variables, a browser's `Accept-Language`, or a person's pick.

use std::fmt;

/// A language of the catalog. English is the source and the fallback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Lang {
    /// English (`en`): the source of every message, and the language when nothing says
    /// otherwise.
    #[default]
    En,
    /// Simplified Chinese as written in mainland China (`zh-CN`).
    ZhCn,
}

impl Lang {
    /// Every language of the catalog, English first.
    pub const ALL: [Lang; 2] = [Lang::En, Lang::ZhCn];

    /// The language's BCP 47 tag, as the catalog's folders and HTML's `lang` name it:
    /// `en`, `zh-CN`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::ZhCn => "zh-CN",
        }
    }

    /// The language a tag or a POSIX locale names, or `None` for one the catalog does not
    /// have. Case, `-` or `_`, a codeset (`.UTF-8`) and a modifier (`@euro`) do not matter:
    /// `zh-CN`, `zh_CN.UTF-8`, `zh`, `zh-Hans`, `zh-Hans-CN`, `zh_SG` are simplified Chinese;
    /// traditional Chinese (`zh-TW`, `zh-HK`, `zh-Hant`) is not, as the catalog has none;
    /// `en`, `en-US`, `en_GB.UTF-8` are English. `C` and `POSIX` name no language.
    pub fn parse(tag: &str) -> Option<Lang> {
        let tag = tag.split(['.', '@']).next().unwrap_or_default();
        let lowered = tag.trim().to_ascii_lowercase();
        let mut subtags = lowered.split(['-', '_']);
        match subtags.next()? {
            "en" => Some(Lang::En),
            "zh" => {
                let rest: Vec<&str> = subtags.collect();
                let script = rest.iter().find(|s| s.len() == 4);
                let region = rest.iter().find(|s| {
                    s.len() == 2 || (s.len() == 3 && s.chars().all(|c| c.is_ascii_digit()))
                });
                let traditional = match script {
                    Some(&"hans") => false,
                    Some(&"hant") => true,
                    _ => matches!(region, Some(&"tw" | &"hk" | &"mo")),
                };
                (!traditional).then_some(Lang::ZhCn)
            }
            _ => None,
        }
    }

    /// The language of messages for a program run from a terminal, as POSIX chooses a
    /// locale's messages: the first of `LC_ALL`, `LC_MESSAGES` and `LANG` that is set and not
    /// empty decides (`LC_ALL=C` means English whatever `LANG` says). Simplified Chinese for
    /// `zh_CN.UTF-8`, `zh_CN`, `zh-Hans`, `zh`…; English for anything else or nothing.
    pub fn from_env() -> Lang {
        Lang::from_locale_vars(|name| std::env::var(name).ok())
    }

    /// [`Lang::from_env`] over any source of variables (`var` gives a variable's value).
    fn from_locale_vars(var: impl Fn(&str) -> Option<String>) -> Lang {
        ["LC_ALL", "LC_MESSAGES", "LANG"]
            .into_iter()
            .filter_map(var)
            .find(|value| !value.is_empty())
            .and_then(|value| Lang::parse(&value))
            .unwrap_or_default()
    }

    /// The language to answer a browser in, from its `Accept-Language` header
    /// (`zh-CN,zh;q=0.9,en;q=0.8`): of the languages the catalog has, the one the browser
    /// prefers most (highest `q`, the first listed on a tie; `q=0` means "not this one").
    /// A `*` stands for English. English when the header names none of them, or is empty or
    /// malformed.
    pub fn from_accept_language(header: &str) -> Lang {
        let mut best: Option<(f32, Lang)> = None;
        for item in header.split(',') {
            let mut parts = item.split(';');
            let tag = parts.next().unwrap_or_default().trim();
            let lang = if tag == "*" {
                Some(Lang::En)
            } else {
                Lang::parse(tag)
            };
            let Some(lang) = lang else { continue };
            let Some(q) = quality(parts) else { continue };
            if q > 0.0 && best.is_none_or(|(best_q, _)| q > best_q) {
                best = Some((q, lang));
            }
        }
        best.map(|(_, lang)| lang).unwrap_or_default()
    }
}

/// The `q` of one `Accept-Language` item from its parameters (1 without one), or `None` when
/// it is not a number from 0 to 1.
fn quality<'a>(params: impl Iterator<Item = &'a str>) -> Option<f32> {
    for param in params {
        let Some((name, value)) = param.split_once('=') else {
            continue;
        };
        if name.trim().eq_ignore_ascii_case("q") {
            return value
                .trim()
                .parse::<f32>()
                .ok()
                .filter(|q| (0.0..=1.0).contains(q));
        }
    }
    Some(1.0)
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> Lang {
        Lang::from_locale_vars(|name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn tags_and_locales_name_their_language() {
        for zh in [
            "zh-CN",
            "zh_CN.UTF-8",
            "zh_CN",
            "zh_CN.utf8",
            "zh_CN.GB18030",
            "zh",
            "zh-Hans",
            "zh-hans-cn",
            "zh_SG.UTF-8",
            "ZH-cn",
            "zh-Hans-HK",
        ] {
            assert_eq!(Lang::parse(zh), Some(Lang::ZhCn), "{zh}");
        }
        for en in ["en", "en-US", "en_GB.UTF-8", "en_US.UTF-8@euro", "EN"] {
            assert_eq!(Lang::parse(en), Some(Lang::En), "{en}");
        }
        for none in [
            "zh-TW",
            "zh_HK.UTF-8",
            "zh-Hant",
            "zh-Hant-CN",
            "fr_FR.UTF-8",
            "C",
            "POSIX",
            "C.UTF-8",
            "",
        ] {
            assert_eq!(Lang::parse(none), None, "{none}");
        }
    }

    #[test]
    fn each_language_parses_back_from_its_code() {
        for lang in Lang::ALL {
            assert_eq!(Lang::parse(lang.code()), Some(lang));
            assert_eq!(lang.to_string(), lang.code());
        }
    }

    #[test]
    fn the_environment_is_read_as_posix_reads_it() {
        assert_eq!(env(&[]), Lang::En, "nothing set");
        assert_eq!(env(&[("LANG", "zh_CN.UTF-8")]), Lang::ZhCn);
        assert_eq!(env(&[("LANG", "zh_CN")]), Lang::ZhCn);
        assert_eq!(env(&[("LANG", "zh")]), Lang::ZhCn);
        assert_eq!(env(&[("LANG", "en_US.UTF-8")]), Lang::En);
        assert_eq!(env(&[("LANG", "C")]), Lang::En);
        assert_eq!(
            env(&[("LANG", "de_DE.UTF-8")]),
            Lang::En,
            "a language the catalog lacks"
        );
        assert_eq!(
            env(&[("LC_ALL", "C"), ("LANG", "zh_CN.UTF-8")]),
            Lang::En,
            "LC_ALL overrides LANG"
        );
        assert_eq!(
            env(&[("LC_MESSAGES", "zh_CN.UTF-8"), ("LANG", "en_US.UTF-8")]),
            Lang::ZhCn,
            "LC_MESSAGES overrides LANG"
        );
        assert_eq!(
            env(&[("LC_ALL", "en_US.UTF-8"), ("LC_MESSAGES", "zh_CN.UTF-8")]),
            Lang::En,
            "LC_ALL overrides LC_MESSAGES"
        );
        assert_eq!(
            env(&[("LC_ALL", ""), ("LANG", "zh_CN.UTF-8")]),
            Lang::ZhCn,
            "an empty variable counts as unset"
        );
    }

    #[test]
    fn accept_language_honours_q_values() {
        assert_eq!(
            Lang::from_accept_language("zh-CN,zh;q=0.9,en;q=0.8"),
            Lang::ZhCn
        );
        assert_eq!(
            Lang::from_accept_language("en-US,en;q=0.9,zh-CN;q=0.8"),
            Lang::En
        );
        assert_eq!(
            Lang::from_accept_language("en;q=0.5, zh-CN;q=0.8"),
            Lang::ZhCn,
            "the order does not matter, the q does"
        );
        assert_eq!(
            Lang::from_accept_language("fr-FR, zh-TW;q=0.9, zh-Hans;q=0.7, en;q=0.6"),
            Lang::ZhCn,
            "languages the catalog lacks are skipped"
        );
        assert_eq!(
            Lang::from_accept_language("zh-CN;q=0, en;q=0.1"),
            Lang::En,
            "q=0 refuses"
        );
        assert_eq!(Lang::from_accept_language("zh;q=0"), Lang::En);
        assert_eq!(
            Lang::from_accept_language("zh-CN;q=1.0, en;q=1.0"),
            Lang::ZhCn,
            "a tie: first"
        );
        assert_eq!(Lang::from_accept_language("*"), Lang::En);
        assert_eq!(
            Lang::from_accept_language("fr, *;q=0.1, zh;q=0.5"),
            Lang::ZhCn
        );
        assert_eq!(
            Lang::from_accept_language("ZH-cn ; Q=0.5"),
            Lang::ZhCn,
            "case and blanks"
        );
    }

    #[test]
    fn a_bad_header_is_english() {
        assert_eq!(Lang::from_accept_language(""), Lang::En);
        assert_eq!(Lang::from_accept_language("fr-FR,de;q=0.9"), Lang::En);
        assert_eq!(Lang::from_accept_language(";;;,,,"), Lang::En);
        assert_eq!(
            Lang::from_accept_language("zh-CN;q=high, en;q=0.2"),
            Lang::En,
            "an item with a malformed q is skipped"
        );
        assert_eq!(
            Lang::from_accept_language("zh-CN;q=2"),
            Lang::En,
            "q past 1"
        );
    }
}
