//! Money and dates as a person reads them: `¥1,234.50`, `2026年12月2日`, `2 Dec 2026`.
//!
//! Amounts are whole numbers of minor units (fen for CNY), two decimals for every currency,
//! as client-core keeps them, so nothing here rounds.

use chrono::{Datelike, NaiveDate};

use crate::Lang;

/// An amount in minor units of `currency` for people: `¥1,234.50` for CNY (in both
/// languages, as Chinese and English texts both write the yuan), other currencies with
/// their code before the amount (`USD 1,234.50`); thousands separated by commas, two
/// decimals, a minus sign in front (`-¥10.50`, `USD -10.50`).
pub fn format_money(lang: Lang, minor_units: i64, currency: &str) -> String {
    // Both languages write money the same way today; the language is taken so a caller need
    // not change when they come to differ (another currency's name, a spelled-out unit).
    let _ = lang;
    let sign = if minor_units < 0 { "-" } else { "" };
    let abs = minor_units.unsigned_abs();
    let amount = format!("{}.{:02}", grouped(abs / 100), abs % 100);
    match currency {
        "CNY" | "RMB" => format!("{sign}¥{amount}"),
        code => format!("{code} {sign}{amount}"),
    }
}

/// `n` with a comma between each group of three digits: 1234567 → "1,234,567".
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The English names of the months, shortened as British dates write them.
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A day for people: `2026年12月2日` in Chinese, `2 Dec 2026` in English.
pub fn format_date(lang: Lang, date: NaiveDate) -> String {
    match lang {
        Lang::ZhCn => format!("{}年{}月{}日", date.year(), date.month(), date.day()),
        Lang::En => {
            let month = MONTHS
                .get(date.month0() as usize)
                .copied()
                .unwrap_or_default();
            format!("{} {month} {}", date.day(), date.year())
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn yuan_show_with_their_sign_and_thousands() {
        for lang in Lang::ALL {
            assert_eq!(format_money(lang, 123_450, "CNY"), "¥1,234.50");
            assert_eq!(format_money(lang, 5, "CNY"), "¥0.05");
            assert_eq!(format_money(lang, 0, "CNY"), "¥0.00");
            assert_eq!(format_money(lang, 99_999, "CNY"), "¥999.99");
            assert_eq!(format_money(lang, 100_000, "CNY"), "¥1,000.00");
            assert_eq!(format_money(lang, 12_345_678_900, "CNY"), "¥123,456,789.00");
            assert_eq!(format_money(lang, -1050, "CNY"), "-¥10.50");
            assert_eq!(format_money(lang, -123_450, "CNY"), "-¥1,234.50");
        }
    }

    #[test]
    fn other_currencies_show_their_code() {
        assert_eq!(format_money(Lang::En, 123_450, "USD"), "USD 1,234.50");
        assert_eq!(format_money(Lang::ZhCn, -99, "EUR"), "EUR -0.99");
    }

    #[test]
    fn the_extremes_of_an_amount_do_not_overflow() {
        assert_eq!(
            format_money(Lang::En, i64::MIN, "CNY"),
            "-¥92,233,720,368,547,758.08"
        );
        assert_eq!(
            format_money(Lang::En, i64::MAX, "CNY"),
            "¥92,233,720,368,547,758.07"
        );
    }

    #[test]
    fn dates_read_as_each_language_writes_them() {
        let day = NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
        assert_eq!(format_date(Lang::ZhCn, day), "2026年12月2日");
        assert_eq!(format_date(Lang::En, day), "2 Dec 2026");
        let day = NaiveDate::from_ymd_opt(2027, 1, 31).unwrap();
        assert_eq!(format_date(Lang::ZhCn, day), "2027年1月31日");
        assert_eq!(format_date(Lang::En, day), "31 Jan 2027");
    }
}
