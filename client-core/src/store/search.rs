//! How customer text is indexed for search, and how a search term is matched.
//!
//! Terms of three or more characters go to the FTS5 trigram index, which finds any substring.
//! Chinese terms of one or two characters go to a second FTS5 index of CJK unigrams and bigrams
//! (the way search engines index Chinese without a dictionary). Other short terms (two Latin
//! letters, a digit) fall back to a substring scan.

use rusqlite::types::Value as SqlValue;

/// Whether `c` is a CJK ideograph (unified, extension A, compatibility).
fn is_cjk(c: char) -> bool {
    matches!(c, '\u{4e00}'..='\u{9fff}' | '\u{3400}'..='\u{4dbf}' | '\u{f900}'..='\u{faff}')
}

/// Every CJK character and every pair of adjacent CJK characters of `text`, space-separated.
pub(crate) fn grams(texts: &[&str]) -> String {
    let mut out = String::new();
    for text in texts {
        let mut prev: Option<char> = None;
        for c in text.chars() {
            if is_cjk(c) {
                if let Some(p) = prev {
                    out.push(p);
                    out.push(c);
                    out.push(' ');
                }
                out.push(c);
                out.push(' ');
                prev = Some(c);
            } else {
                prev = None;
            }
        }
    }
    out
}

/// The SQL condition (on the `customers` table) that one search term adds, with its
/// parameter: the term is in the customer's own text, or in the people met on one of its
/// visits. `n` is the number of the parameter.
pub(crate) fn term_condition(term: &str, n: usize) -> (String, SqlValue) {
    let chars = term.chars().count();
    let (own, met, value) = if chars >= 3 {
        let phrase = format!("\"{}\"", term.replace('"', "\"\""));
        (
            format!("SELECT rowid FROM customers_fts WHERE customers_fts MATCH ?{n}"),
            format!("SELECT rowid FROM visits_people_fts WHERE visits_people_fts MATCH ?{n}"),
            SqlValue::Text(phrase),
        )
    } else if term.chars().all(is_cjk) {
        (
            format!("SELECT rowid FROM customers_grams WHERE customers_grams MATCH ?{n}"),
            format!("SELECT rowid FROM visits_people_grams WHERE visits_people_grams MATCH ?{n}"),
            SqlValue::Text(format!("\"{term}\"")),
        )
    } else {
        (
            format!(
                "SELECT rowid FROM customers_fts WHERE name LIKE ?{n} ESCAPE '\\'
                 OR contacts LIKE ?{n} ESCAPE '\\' OR city LIKE ?{n} ESCAPE '\\' OR notes LIKE ?{n} ESCAPE '\\'"
            ),
            format!("SELECT rowid FROM visits WHERE people_met LIKE ?{n} ESCAPE '\\'"),
            SqlValue::Text(like_pattern(term)),
        )
    };
    (
        format!(
            "(customers.rowid IN ({own}) OR customers.id IN (SELECT customer_id FROM visits WHERE rowid IN ({met})))"
        ),
        value,
    )
}

/// Escapes `%`, `_` and `\` for a LIKE pattern with `ESCAPE '\'`.
fn like_pattern(term: &str) -> String {
    let mut out = String::with_capacity(term.len() + 2);
    out.push('%');
    for c in term.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grams_are_cjk_unigrams_and_bigrams_within_runs() {
        assert_eq!(grams(&["华东A公司"]), "华 华东 东 公 公司 司 ");
        assert_eq!(grams(&["abc", "苏州"]), "苏 苏州 州 ");
    }

    #[test]
    fn every_term_also_looks_in_the_people_met_on_visits() {
        assert!(
            term_condition("金立基", 1)
                .0
                .contains("visits_people_fts MATCH ?1")
        );
        assert!(
            term_condition("王芳", 2)
                .0
                .contains("visits_people_grams MATCH ?2")
        );
        assert!(term_condition("wf", 3).0.contains("people_met LIKE ?3"));
    }

    #[test]
    fn terms_pick_the_index_that_can_answer_them() {
        assert!(
            term_condition("金立基", 1)
                .0
                .contains("customers_fts MATCH")
        );
        assert!(
            term_condition("华东", 1)
                .0
                .contains("customers_grams MATCH")
        );
        assert!(term_condition("华", 1).0.contains("customers_grams MATCH"));
        assert!(term_condition("ab", 1).0.contains("LIKE"));
        assert_eq!(like_pattern("1%_"), "%1\\%\\_%");
    }
}
