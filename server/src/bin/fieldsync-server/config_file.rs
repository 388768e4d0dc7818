//! The configuration file: one TOML file for everything the options of `serve` (and the
//! global ones) set.
//!
//! A setting's name is its option's long name (`listen`, `data-dir`, `attachment-max-mb`);
//! a table groups settings by prefix, so `[tls] cert = …` is `tls-cert`. The file's values
//! become the options' defaults, which gives the precedence operators expect from mature
//! servers without a second list of settings to keep in step with the options: a flag beats
//! its environment variable, which beats the file, which beats the built-in default.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::parser::ValueSource;

/// The environment variable naming the configuration file, when `--config` is not given.
pub const CONFIG_ENV: &str = "FIELDSYNC_CONFIG";

/// The subcommand whose options the file sets, beside the global ones.
const SERVE: &str = "serve";

/// A configuration file's settings, by option long name, as the text the option parses.
#[derive(Debug, Default)]
pub struct FileSettings {
    /// Where they came from.
    pub path: Option<PathBuf>,
    values: BTreeMap<String, String>,
}

impl FileSettings {
    /// The value the file gives `long`, if any.
    pub fn get(&self, long: &str) -> Option<&str> {
        self.values.get(long).map(String::as_str)
    }

    /// The long names the file sets.
    pub fn names(&self) -> BTreeSet<&str> {
        self.values.keys().map(String::as_str).collect()
    }
}

/// The configuration file this command line names: `--config FILE` (or `--config=FILE`),
/// else the `FIELDSYNC_CONFIG` variable, else none.
pub fn locate(argv: &[OsString]) -> Option<PathBuf> {
    let mut args = argv.iter().skip(1);
    while let Some(arg) = args.next() {
        let Some(text) = arg.to_str() else { continue };
        if text == "--" {
            break;
        }
        if text == "--config" {
            return args.next().map(PathBuf::from);
        }
        if let Some(path) = text.strip_prefix("--config=") {
            return Some(PathBuf::from(path));
        }
    }
    std::env::var_os(CONFIG_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// Reads the file at `path` and makes its settings the defaults of `cmd`'s options.
///
/// Every setting must name an option of `serve` or a global one; a value must be a string,
/// a number, a boolean or a list of those (a list becomes a comma-separated value).
pub fn apply(cmd: clap::Command, path: &Path) -> Result<(clap::Command, FileSettings), String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the configuration file {}: {e}", path.display()))?;
    let table: toml::Table = text
        .parse()
        .map_err(|e| format!("{} is not valid TOML: {e}", path.display()))?;
    let known = option_names(&cmd);
    let mut values = BTreeMap::new();
    flatten(&table, "", &known, path, &mut values)?;
    let mut cmd = cmd;
    for (long, value) in &values {
        let value = value.clone();
        let is_global = cmd
            .get_arguments()
            .any(|a| a.get_long() == Some(long.as_str()));
        if is_global {
            let id = id_of(&cmd, long);
            cmd = cmd.mut_arg(id, |a| a.default_value(value));
        } else {
            // `serve` and `config check` take the same options.
            let set = |sub: clap::Command| {
                let id = id_of(&sub, long);
                sub.mut_arg(id, |a| a.default_value(value.clone()))
            };
            cmd = cmd
                .mut_subcommand(SERVE, set)
                .mut_subcommand("config", |config| config.mut_subcommand("check", set));
        }
    }
    Ok((
        cmd,
        FileSettings {
            path: Some(path.to_path_buf()),
            values,
        },
    ))
}

/// The long names of the options a file may set: the global ones and those of `serve`,
/// except `config` itself, `help` and `version`.
fn option_names(cmd: &clap::Command) -> BTreeSet<String> {
    let serve = cmd
        .get_subcommands()
        .find(|s| s.get_name() == SERVE)
        .into_iter()
        .flat_map(|s| s.get_arguments());
    cmd.get_arguments()
        .chain(serve)
        .filter_map(|a| a.get_long())
        .filter(|l| !matches!(*l, "config" | "help" | "version"))
        .map(str::to_string)
        .collect()
}

fn id_of(cmd: &clap::Command, long: &str) -> String {
    cmd.get_arguments()
        .find(|a| a.get_long() == Some(long))
        .map(|a| a.get_id().to_string())
        .unwrap_or_else(|| long.to_string())
}

/// Flattens `table` into long names: a key inside a table is `<table>-<key>`, or the key
/// alone when it already is an option's whole name.
fn flatten(
    table: &toml::Table,
    prefix: &str,
    known: &BTreeSet<String>,
    path: &Path,
    out: &mut BTreeMap<String, String>,
) -> Result<(), String> {
    for (key, value) in table {
        let key = key.replace('_', "-");
        let joined = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}-{key}")
        };
        if let toml::Value::Table(inner) = value {
            if !prefix.is_empty() {
                return Err(format!(
                    "{}: [{prefix}.{key}] nests too deep: settings are one table deep at most",
                    path.display()
                ));
            }
            flatten(inner, &key, known, path, out)?;
            continue;
        }
        let name = [joined.clone(), key.clone()]
            .into_iter()
            .find(|n| known.contains(n))
            .ok_or_else(|| unknown(&joined, known, path))?;
        let text = scalar(value).ok_or_else(|| {
            format!(
                "{}: '{joined}' must be a string, a number, a boolean or a list of those",
                path.display()
            )
        })?;
        if out.insert(name.clone(), text).is_some() {
            return Err(format!(
                "{}: '{name}' is set twice in the file",
                path.display()
            ));
        }
    }
    Ok(())
}

fn scalar(value: &toml::Value) -> Option<String> {
    match value {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(i) => Some(i.to_string()),
        toml::Value::Float(f) => Some(f.to_string()),
        toml::Value::Boolean(b) => Some(b.to_string()),
        toml::Value::Array(items) => items
            .iter()
            .map(|v| match v {
                toml::Value::Array(_) | toml::Value::Table(_) => None,
                other => scalar(other),
            })
            .collect::<Option<Vec<_>>>()
            .map(|parts| parts.join(",")),
        toml::Value::Datetime(d) => Some(d.to_string()),
        toml::Value::Table(_) => None,
    }
}

fn unknown(name: &str, known: &BTreeSet<String>, path: &Path) -> String {
    let nearest = known
        .iter()
        .min_by_key(|k| strsim_distance(name, k))
        .filter(|k| strsim_distance(name, k) <= 3);
    let hint = match nearest {
        Some(k) => format!(" (did you mean '{k}'?)"),
        None => String::new(),
    };
    format!(
        "{}: unknown setting '{name}'{hint}; the settings are the long options of `fieldsync-server serve --help`",
        path.display()
    )
}

/// The edit distance between two short names (Levenshtein, by characters).
fn strsim_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous + usize::from(ca != *cb);
            previous = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

/// One effective setting of `serve`, for `config check`.
pub struct Effective {
    /// The option's long name.
    pub name: String,
    /// Its value as given (secrets masked), or none.
    pub value: Option<String>,
    /// Where the value came from.
    pub source: &'static str,
}

/// What `serve` would run with: every option of `check` (the global ones, and those of
/// `config check`, which are `serve`'s), its value with secrets masked, and where it came
/// from.
pub fn effective(
    cmd: &clap::Command,
    matches: &clap::ArgMatches,
    file: &FileSettings,
) -> Vec<Effective> {
    let Some(check) = cmd
        .find_subcommand("config")
        .and_then(|c| c.find_subcommand("check"))
    else {
        return Vec::new();
    };
    let Some(check_matches) = matches
        .subcommand_matches("config")
        .and_then(|m| m.subcommand_matches("check"))
    else {
        return Vec::new();
    };
    let from_file = file.names();
    let mut out = Vec::new();
    let global = cmd.get_arguments().map(|a| (a, matches));
    let own = check.get_arguments().map(|a| (a, check_matches));
    for (arg, m) in global.chain(own) {
        let Some(long) = arg.get_long() else { continue };
        if matches!(long, "help" | "version") {
            continue;
        }
        let id = arg.get_id().as_str();
        let value = m.get_raw(id).map(|values| {
            let text = values
                .map(|v| v.to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join(",");
            mask(long, &text)
        });
        let source = match m.value_source(id) {
            Some(ValueSource::CommandLine) => "flag",
            Some(ValueSource::EnvVariable) => "environment",
            Some(ValueSource::DefaultValue) if from_file.contains(long) => "file",
            Some(ValueSource::DefaultValue) => "default",
            _ => "unset",
        };
        out.push(Effective {
            name: long.to_string(),
            value,
            source,
        });
    }
    out
}

/// Hides what must not be printed: a database URL's password, and any setting whose name
/// says it is a secret.
pub fn mask(name: &str, value: &str) -> String {
    if ["password", "secret", "token"]
        .iter()
        .any(|s| name.contains(s))
    {
        return "********".into();
    }
    if let Some((scheme, rest)) = value.split_once("://")
        && let Some((credentials, host)) = rest.rsplit_once('@')
    {
        let user = credentials.split(':').next().unwrap_or_default();
        return format!("{scheme}://{user}:********@{host}");
    }
    value.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_password_is_masked_and_other_values_are_not() {
        assert_eq!(
            mask("database-url", "postgres://fs:s3cret@db:5432/fs"),
            "postgres://fs:********@db:5432/fs"
        );
        assert_eq!(mask("listen", "0.0.0.0:8443"), "0.0.0.0:8443");
        assert_eq!(mask("admin-password", "x"), "********");
    }

    #[test]
    fn the_nearest_name_is_suggested_for_a_misspelt_setting() {
        let known: BTreeSet<String> = ["listen", "data-dir"].map(String::from).into();
        let message = unknown("lisen", &known, Path::new("f.toml"));
        assert!(message.contains("did you mean 'listen'"), "{message}");
        let message = unknown("colour", &known, Path::new("f.toml"));
        assert!(!message.contains("did you mean"), "{message}");
    }

    #[test]
    fn config_is_found_in_the_flag_before_the_variable() {
        let argv: Vec<OsString> = ["fieldsync-server", "--config", "/etc/f.toml", "serve"]
            .map(OsString::from)
            .into();
        assert_eq!(locate(&argv), Some(PathBuf::from("/etc/f.toml")));
        let argv: Vec<OsString> = ["fieldsync-server", "serve", "--config=/x.toml"]
            .map(OsString::from)
            .into();
        assert_eq!(locate(&argv), Some(PathBuf::from("/x.toml")));
    }
}
