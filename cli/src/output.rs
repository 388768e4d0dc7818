//! What commands print: one JSON document (`--json`), or aligned tables and field lists that
//! measure text by display width, so Chinese text (two columns per character) lines up.

use std::io::Write;

use serde::Serialize;
use unicode_width::UnicodeWidthStr;

use crate::error::CliResult;
use crate::i18n::{self, Lang};

/// Prints `value` as one pretty JSON document on stdout.
pub fn json<T: Serialize + ?Sized>(value: &T) -> CliResult {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

/// Prints a line on stdout.
pub fn line(text: impl AsRef<str>) -> CliResult {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", text.as_ref())?;
    Ok(())
}

/// Says on stderr, when a list shows only part of what matches, which part and `how` to see
/// the rest: "200 of 431 shown: use --limit or --page". `first` is the number of rows skipped.
/// Nothing when the list is whole. On stderr, so that stdout stays the list alone.
pub fn note_cut(first: u64, shown: u64, total: u64, how: &str) {
    if let Some(note) = cut_note(i18n::lang(), first, shown, total, how) {
        eprintln!("{note}");
    }
}

fn cut_note(lang: Lang, first: u64, shown: u64, total: u64, how: &str) -> Option<String> {
    if shown == 0 || shown >= total {
        return None;
    }
    Some(if first == 0 {
        fieldsync_i18n::tr!(
            lang,
            "cli-cut-first",
            shown = shown,
            total = total,
            how = how
        )
    } else {
        fieldsync_i18n::tr!(
            lang,
            "cli-cut-page",
            first = first + 1,
            last = first + shown,
            total = total,
            how = how
        )
    })
}

/// An optional text for a cell: the text, or "-".
pub fn opt(value: &Option<String>) -> String {
    value.clone().unwrap_or_else(|| "-".to_string())
}

/// The first line of a text, cut to `max` display columns with "…".
pub fn short(text: &str, max: usize) -> String {
    let first = text.lines().next().unwrap_or("");
    if first.width() <= max {
        return first.to_string();
    }
    let mut out = String::new();
    for c in first.chars() {
        let next = format!("{out}{c}");
        if next.width() + 1 > max {
            break;
        }
        out = next;
    }
    out.push('…');
    out
}

fn pad(text: &str, width: usize) -> String {
    let fill = width.saturating_sub(text.width());
    format!("{text}{}", " ".repeat(fill))
}

/// A table with a header row; columns are as wide as their widest cell.
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column titles.
    pub fn new<S: AsRef<str>>(header: &[S]) -> Self {
        Table {
            header: header.iter().map(|h| h.as_ref().to_string()).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row (cells are flattened to one line).
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(
            cells
                .into_iter()
                .map(|c| c.replace(['\n', '\r', '\t'], " "))
                .collect(),
        );
    }

    /// The table as text, or `empty` if it has no rows.
    pub fn render(&self, empty: &str) -> String {
        if self.rows.is_empty() {
            return empty.to_string();
        }
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.width()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate() {
                if let Some(w) = widths.get_mut(i) {
                    *w = (*w).max(cell.width());
                }
            }
        }
        let render_row = |cells: &[String]| -> String {
            let last = cells.len().saturating_sub(1);
            cells
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    if i == last {
                        c.clone()
                    } else {
                        pad(c, widths[i])
                    }
                })
                .collect::<Vec<_>>()
                .join("  ")
                .trim_end()
                .to_string()
        };
        let mut out = vec![render_row(&self.header)];
        out.extend(self.rows.iter().map(|r| render_row(r)));
        out.join("\n")
    }

    /// Prints the table, or `empty` if it has no rows.
    pub fn print(&self, empty: &str) -> CliResult {
        line(self.render(empty))
    }
}

/// Field/value pairs, the labels aligned; each label is a message of the catalog
/// (`cli-customer-field-name`), shown in the language of the run.
pub fn fields(pairs: &[(&str, String)]) -> String {
    let lang = i18n::lang();
    let labeled: Vec<(String, &String)> = pairs
        .iter()
        .map(|(key, v)| (fieldsync_i18n::tr(lang, key), v))
        .collect();
    fields_in(lang, &labeled)
}

/// Label/value pairs in `lang`, the labels aligned: "name:  华东" ("名称：  华东").
fn fields_in(lang: Lang, pairs: &[(String, &String)]) -> String {
    let labels: Vec<String> = pairs
        .iter()
        .map(|(k, _)| fieldsync_i18n::tr!(lang, "cli-label", label = k))
        .collect();
    let width = labels.iter().map(|l| l.width()).max().unwrap_or(0);
    pairs
        .iter()
        .zip(&labels)
        .map(|((_, v), label)| {
            let v = if v.trim().is_empty() { "-" } else { v.as_str() };
            let v = v.replace('\n', &format!("\n{}", " ".repeat(width + 2)));
            format!("{}  {v}", pad(label, width))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_text_lines_up() {
        let mut t = Table::new(&["NAME", "CITY"]);
        t.row(vec!["华东精密".into(), "苏州".into()]);
        t.row(vec!["ACME".into(), "Wuxi".into()]);
        let text = t.render("");
        let lines: Vec<&str> = text.lines().collect();
        let col = |l: &str, cell: &str| l.find(cell).map(|i| l[..i].width());
        assert_eq!(col(lines[0], "CITY"), Some(10));
        assert_eq!(col(lines[1], "苏州"), Some(10));
        assert_eq!(col(lines[2], "Wuxi"), Some(10));
    }

    #[test]
    fn long_text_is_cut_by_display_width() {
        assert_eq!(short("华东精密机械有限公司", 7), "华东精…");
        assert_eq!(short("abc\ndef", 10), "abc");
    }

    #[test]
    fn a_cut_list_says_which_part_it_shows() {
        let how = "use --limit or --page";
        let en = Lang::En;
        assert_eq!(
            cut_note(en, 0, 200, 431, how).as_deref(),
            Some("200 of 431 shown: use --limit or --page")
        );
        assert_eq!(
            cut_note(en, 400, 31, 431, how).as_deref(),
            Some("401 to 431 of 431 shown: use --limit or --page")
        );
        assert_eq!(
            cut_note(en, 0, 12, 12, how),
            None,
            "a whole list says nothing"
        );
        assert_eq!(cut_note(en, 0, 0, 0, how), None);
        assert_eq!(
            cut_note(Lang::ZhCn, 400, 31, 431, "--page").as_deref(),
            Some("共 431 条，显示第 401 至 431 条：--page")
        );
    }

    #[test]
    fn field_labels_line_up() {
        let one = "1".to_string();
        let name = "华东".to_string();
        let several = "a\nb".to_string();
        let text = fields_in(
            Lang::En,
            &[
                ("id".into(), &one),
                ("name".into(), &name),
                ("notes".into(), &several),
            ],
        );
        assert_eq!(text, "id:     1\nname:   华东\nnotes:  a\n        b");
        let text = fields_in(Lang::ZhCn, &[("编号".into(), &one), ("名称".into(), &name)]);
        assert_eq!(text, "编号：  1\n名称：  华东");
    }
}
