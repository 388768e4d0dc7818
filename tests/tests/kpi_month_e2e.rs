//! The scripted month: two reps of one manager live through a month on their own devices
//! (every `fieldsync` process under libfaketime at the scripted moment, in UTC), and then
//! `fieldsync report kpi` for each rep and for the team must equal the figures worked out by
//! hand below from the events this test created.
//!
//! The month is the previous calendar month (the server accepts creation times at most 90 days
//! old), days 1 to 28 only, so the script fits every month. Follow-up due dates are chosen to
//! fall on days 1 to 28 of the month or certainly after it (day 32 or later counted from its
//! first day), never on days 29 to 31. The report runs on the real clock, after the month.
#![allow(clippy::unwrap_used)]

mod common;

use chrono::{Datelike, Duration, Months, NaiveDate, NaiveDateTime, Utc};
use common::cli::{TimedDevice as Device, faketime_available};
use serde_json::{Value, json};

/// The scripted month and the one before.
struct Script {
    /// Day 1 of the month.
    first: NaiveDate,
    /// Day 1 of the month before.
    before: NaiveDate,
}

impl Script {
    /// `day` of the month at `h:m` UTC.
    fn m(&self, day: u32, h: u32, m: u32) -> NaiveDateTime {
        self.first
            .with_day(day)
            .unwrap()
            .and_hms_opt(h, m, 0)
            .unwrap()
    }

    /// `day` of the month before at `h:m` UTC.
    fn prev(&self, day: u32, h: u32, m: u32) -> NaiveDateTime {
        self.before
            .with_day(day)
            .unwrap()
            .and_hms_opt(h, m, 0)
            .unwrap()
    }

    /// `day` of the month, YYYY-MM-DD.
    fn date(&self, day: u32) -> String {
        self.first.with_day(day).unwrap().to_string()
    }

    /// YYYY-MM of the month.
    fn label(&self) -> String {
        self.first.format("%Y-%m").to_string()
    }
}

/// RFC 3339 in UTC, as `--received-at` takes it.
fn rfc3339(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Every key the KPI report must get right, compared one by one so a failure names the key.
fn assert_figures(who: &str, actual: &Value, expected: &Value) {
    for (key, want) in expected.as_object().unwrap() {
        assert_eq!(
            &actual[key], want,
            "{who}: {key} is {} but the script makes it {want}\nwhole report: {actual:#}",
            actual[key]
        );
    }
}

#[test]
fn a_scripted_month_gives_the_kpis_worked_out_by_hand() {
    if !faketime_available("the scripted-month KPI test") {
        return;
    }
    let today = Utc::now().date_naive();
    let this_month = today.with_day(1).unwrap();
    let s = Script {
        first: this_month - Months::new(1),
        before: this_month - Months::new(2),
    };
    let month = s.label();

    let org = common::org();
    let url = org.server.url();
    // li and wang are reps managed by zhang; admin records payments.
    let li = Device::new(&url, "li");
    let wang = Device::new(&url, "wang");
    let zhang = Device::new(&url, "zhang");
    let admin = Device::new(&url, "admin");

    // ---- the month before ------------------------------------------------------------------
    // li's old customer L0 (tier A, every 7 days), created and visited on day 25: its first
    // follow-up is due day 25 + 7, which is day 1 to 4 of the month.
    let l0 = li.at(
        s.prev(25, 10, 0),
        &["customer", "add", "--name", "L0 老客户", "--tier", "A"],
    );
    li.at(
        s.prev(25, 11, 0),
        &["visit", "add", "--customer", &l0, "--summary", "上月拜访"],
    );
    li.sync_at(s.prev(25, 11, 5));

    // ---- day 1: targets ------------------------------------------------------------------
    // li: first 9000 yuan, then changed to 10000 (the one that counts), 10 visits, 3 new
    // customers; wang: 8000 yuan, 5 visits, 1 new customer. li also has a target for the
    // month before (it must not count for this month).
    let target = |rep: &str, m: &str, figures: &[&str]| {
        let mut args = vec!["target", "set", "--rep", rep, "--month", m];
        args.extend_from_slice(figures);
        zhang.at(s.m(1, 8, 0), &args)
    };
    let prev_month = s.before.format("%Y-%m").to_string();
    let li_target = target(
        "li",
        &month,
        &["--sales", "9000", "--visits", "10", "--new-customers", "3"],
    );
    assert_eq!(target("li", &month, &["--sales", "10000"]), li_target);
    target(
        "wang",
        &month,
        &["--sales", "8000", "--visits", "5", "--new-customers", "1"],
    );
    target(
        "li",
        &prev_month,
        &["--sales", "5000", "--visits", "4", "--new-customers", "1"],
    );
    zhang.sync_at(s.m(1, 8, 5));

    // ---- li's customers and visits -------------------------------------------------------
    // L0: visits on days 1, 8, 17.
    let visit = |rep: &Device, at: NaiveDateTime, customer: &str, extra: &[&str]| {
        let mut args = vec!["visit", "add", "--customer", customer, "--summary", "拜访"];
        args.extend_from_slice(extra);
        rep.at(at, &args)
    };
    visit(&li, s.m(1, 9, 0), &l0, &[]);
    li.sync_at(s.m(1, 9, 5));
    // L1: new on day 2, tier B (every 14 days); visits on days 2, 14, 28.
    let l1 = li.at(
        s.m(2, 9, 0),
        &["customer", "add", "--name", "L1 新客户", "--tier", "B"],
    );
    visit(&li, s.m(2, 9, 10), &l1, &[]);
    // K3: a complaint about L0 received in the month before (recorded on day 2): it does not
    // count for this month. Nobody answers it.
    li.at(
        s.m(2, 10, 0),
        &[
            "complaint",
            "add",
            "--customer",
            &l0,
            "--category",
            "quality",
            "--priority",
            "normal",
            "--summary",
            "K3 上月的投诉",
            "--received-at",
            &rfc3339(s.prev(27, 10, 0)),
        ],
    );
    li.sync_at(s.m(2, 10, 5));
    // L2: new on day 3, tier C (every 30 days); the visit of day 3 sets the follow-up for
    // day 10 explicitly; the next visit is on day 12 (late).
    let l2 = li.at(
        s.m(3, 9, 0),
        &["customer", "add", "--name", "L2 新客户", "--tier", "C"],
    );
    visit(&li, s.m(3, 9, 10), &l2, &["--next-followup", &s.date(10)]);
    li.sync_at(s.m(3, 9, 15));

    // ---- wang's customers ----------------------------------------------------------------
    // W0: new on day 4, tier A; visits on days 4, 11, 25. W1: new on day 5, tier C; one visit.
    let w0 = wang.at(
        s.m(4, 9, 0),
        &["customer", "add", "--name", "W0 新客户", "--tier", "A"],
    );
    visit(&wang, s.m(4, 9, 10), &w0, &[]);
    wang.sync_at(s.m(4, 9, 15));
    let w1 = wang.at(
        s.m(5, 9, 0),
        &["customer", "add", "--name", "W1 新客户", "--tier", "C"],
    );
    visit(&wang, s.m(5, 9, 10), &w1, &[]);
    wang.sync_at(s.m(5, 9, 15));

    // ---- orders and complaints -----------------------------------------------------------
    // O6 (li, L0), taken on day 5 but dated day 20 of the month before: 1 × 2000 yuan, cost
    // 1500. Confirmed: a sale of the month before.
    let before_20 = s.before.with_day(20).unwrap().to_string();
    let o6 = li.order(
        s.m(5, 15, 0),
        &l0,
        &["--date", &before_20],
        &[("P-OLD", "1", "2000", Some("1500"))],
    );
    li.at(s.m(5, 15, 1), &["order", "submit", &o6]);
    li.sync_at(s.m(5, 15, 2));
    // O1 (li, L0), day 6: 10 × 120.50 yuan (cost 80) and 3 × 999.99 (no cost).
    let o1 = li.order(
        s.m(6, 9, 0),
        &l0,
        &[],
        &[
            ("BRG-6204", "10", "120.50", Some("80")),
            ("SEAL-30", "3", "999.99", None),
        ],
    );
    li.at(s.m(6, 9, 1), &["order", "submit", &o1]);
    // K1 (li's L1): urgent (4 hours), received day 6 at 09:00, handled at 12:00: in time.
    let k1 = li.at(
        s.m(6, 9, 5),
        &[
            "complaint",
            "add",
            "--customer",
            &l1,
            "--category",
            "logistics",
            "--priority",
            "urgent",
            "--summary",
            "K1 发货延误",
            "--received-at",
            &rfc3339(s.m(6, 9, 0)),
        ],
    );
    li.sync_at(s.m(6, 9, 10));
    zhang.sync_at(s.m(6, 10, 0));
    zhang.at(s.m(6, 10, 1), &["complaint", "assign", &k1, "--to", "li"]);
    zhang.at(s.m(6, 10, 2), &["order", "confirm", &o6]);
    zhang.sync_at(s.m(6, 10, 3));
    li.sync_at(s.m(6, 11, 0));
    li.at(
        s.m(6, 11, 1),
        &["complaint", "step", &k1, "--to", "investigating"],
    );
    li.at(
        s.m(6, 12, 0),
        &[
            "complaint",
            "step",
            &k1,
            "--to",
            "handled",
            "--note",
            "已补发",
        ],
    );
    li.sync_at(s.m(6, 12, 1));
    zhang.sync_at(s.m(7, 10, 0));
    zhang.at(s.m(7, 10, 1), &["order", "confirm", &o1]);
    zhang.sync_at(s.m(7, 10, 2));

    visit(&li, s.m(8, 9, 0), &l0, &[]);
    li.sync_at(s.m(8, 9, 5));
    // P1 (wang, W0), day 8: 4 × 2500 yuan, cost 2000.
    let p1 = wang.order(
        s.m(8, 10, 0),
        &w0,
        &[],
        &[("PUMP-1", "4", "2500", Some("2000"))],
    );
    wang.at(s.m(8, 10, 1), &["order", "submit", &p1]);
    wang.sync_at(s.m(8, 10, 2));
    // K2 (wang's W0): urgent, received day 9 at 08:00, handled by the manager at 14:00, six
    // hours later: late.
    let k2 = wang.at(
        s.m(9, 8, 5),
        &[
            "complaint",
            "add",
            "--customer",
            &w0,
            "--category",
            "quality",
            "--priority",
            "urgent",
            "--summary",
            "K2 泵漏水",
            "--received-at",
            &rfc3339(s.m(9, 8, 0)),
        ],
    );
    // P2 (wang, W1), day 9: 1 × 800 yuan; confirmed on day 10, cancelled on day 12.
    let p2 = wang.order(s.m(9, 8, 10), &w1, &[], &[("VALVE-2", "1", "800", None)]);
    wang.at(s.m(9, 8, 11), &["order", "submit", &p2]);
    wang.sync_at(s.m(9, 8, 12));
    zhang.sync_at(s.m(9, 10, 0));
    zhang.at(s.m(9, 10, 1), &["order", "ship", &o1]);
    zhang.at(s.m(9, 10, 2), &["order", "confirm", &p1]);
    zhang.at(
        s.m(9, 13, 0),
        &["complaint", "step", &k2, "--to", "investigating"],
    );
    zhang.at(
        s.m(9, 14, 0),
        &["complaint", "step", &k2, "--to", "handled"],
    );
    zhang.sync_at(s.m(9, 14, 1));

    // O2 (li, L1), day 10: 5 × 300 yuan, cost 250; confirmed the same day.
    let o2 = li.order(
        s.m(10, 9, 0),
        &l1,
        &[],
        &[("GEAR-5", "5", "300", Some("250"))],
    );
    li.at(s.m(10, 9, 1), &["order", "submit", &o2]);
    // E1 (li): 350.50 + 1200 yuan, submitted day 10, approved day 11.
    let e1 = li.claim(
        s.m(10, 9, 10),
        "E1 上旬差旅",
        &[("transport", "350.50"), ("lodging", "1200")],
    );
    li.sync_at(s.m(10, 9, 20));
    zhang.sync_at(s.m(10, 10, 0));
    zhang.at(s.m(10, 10, 1), &["order", "confirm", &o2]);
    zhang.at(s.m(10, 10, 2), &["order", "confirm", &p2]);
    zhang.sync_at(s.m(10, 10, 3));

    visit(&wang, s.m(11, 9, 0), &w0, &[]);
    wang.sync_at(s.m(11, 9, 5));
    zhang.sync_at(s.m(11, 10, 0));
    zhang.at(s.m(11, 10, 1), &["expense", "approve", &e1]);
    zhang.sync_at(s.m(11, 10, 2));

    visit(&li, s.m(12, 9, 0), &l2, &[]);
    // O3 (li, L1), day 12: 100 × 50 yuan; cancelled by the manager on day 13.
    let o3 = li.order(s.m(12, 9, 10), &l1, &[], &[("BOLT-M8", "100", "50", None)]);
    li.at(s.m(12, 9, 11), &["order", "submit", &o3]);
    li.sync_at(s.m(12, 9, 12));
    zhang.sync_at(s.m(12, 10, 0));
    zhang.at(
        s.m(12, 10, 1),
        &["order", "cancel", &p2, "--note", "客户取消"],
    );
    zhang.sync_at(s.m(12, 10, 2));
    zhang.sync_at(s.m(13, 10, 0));
    zhang.at(
        s.m(13, 10, 1),
        &["order", "cancel", &o3, "--note", "价格未谈妥"],
    );
    zhang.sync_at(s.m(13, 10, 2));

    // Day 14: li visits L1 (early for its day-16 follow-up); the visit follows K1 up, and K1
    // is closed. O4 (li, L1): 2 × 1000 yuan, submitted and never confirmed.
    let k1_visit = visit(&li, s.m(14, 9, 0), &l1, &["--type", "after_sales"]);
    li.at(
        s.m(14, 9, 10),
        &[
            "complaint",
            "step",
            &k1,
            "--to",
            "followed_up",
            "--visit",
            &k1_visit,
        ],
    );
    li.at(
        s.m(14, 9, 11),
        &["complaint", "step", &k1, "--to", "closed"],
    );
    let o4 = li.order(
        s.m(14, 10, 0),
        &l1,
        &[],
        &[("GEAR-9", "2", "1000", Some("100"))],
    );
    li.at(s.m(14, 10, 1), &["order", "submit", &o4]);
    li.sync_at(s.m(14, 10, 2));

    // Day 15: E2 (li, 800 yuan), rejected on day 16. O5 (li, L0): a draft, never submitted.
    let e2 = li.claim(s.m(15, 9, 0), "E2 招待", &[("entertainment", "800")]);
    li.order(s.m(15, 9, 10), &l0, &[], &[("DRAFT", "1", "10", Some("1"))]);
    li.sync_at(s.m(15, 9, 20));
    zhang.sync_at(s.m(16, 10, 0));
    zhang.at(
        s.m(16, 10, 1),
        &["expense", "reject", &e2, "--note", "缺发票"],
    );
    zhang.sync_at(s.m(16, 10, 2));

    visit(&li, s.m(17, 9, 0), &l0, &[]);
    li.sync_at(s.m(17, 9, 5));

    // Day 20: K4 (li's L2): high (24 hours), received at 10:00, never answered. F1 (wang):
    // 2000 yuan, approved day 21 (and paid after the month). O1 is paid; P1 shipped.
    li.sync_at(s.m(20, 10, 25));
    li.at(
        s.m(20, 10, 30),
        &[
            "complaint",
            "add",
            "--customer",
            &l2,
            "--category",
            "after_sales",
            "--priority",
            "high",
            "--summary",
            "K4 安装指导没人来",
            "--received-at",
            &rfc3339(s.m(20, 10, 0)),
        ],
    );
    li.sync_at(s.m(20, 10, 31));
    let f1 = wang.claim(s.m(20, 10, 0), "F1 出差", &[("transport", "2000")]);
    wang.sync_at(s.m(20, 10, 5));
    zhang.sync_at(s.m(20, 11, 0));
    zhang.at(s.m(20, 11, 1), &["order", "pay", &o1]);
    zhang.at(s.m(20, 11, 2), &["order", "ship", &p1]);
    zhang.sync_at(s.m(20, 11, 3));
    zhang.sync_at(s.m(21, 10, 0));
    zhang.at(s.m(21, 10, 1), &["expense", "approve", &f1]);
    zhang.sync_at(s.m(21, 10, 2));

    visit(&wang, s.m(25, 9, 0), &w0, &[]);
    wang.sync_at(s.m(25, 9, 5));

    // Day 28: li visits L1 (its day-28 follow-up, on the day) and claims E3 (99.90 yuan),
    // which is approved only after the month.
    visit(&li, s.m(28, 9, 0), &l1, &[]);
    let e3 = li.claim(s.m(28, 9, 10), "E3 月底", &[("other", "99.90")]);
    li.sync_at(s.m(28, 9, 20));

    // ---- after the month, on the real clock ----------------------------------------------
    zhang.now(&["sync"]);
    zhang.now(&["expense", "approve", &e3]);
    zhang.now(&["sync"]);
    admin.now(&["sync"]);
    admin.now(&["expense", "pay", &f1]);
    admin.now(&["sync"]);
    for d in [&li, &wang, &zhang, &li, &wang] {
        d.now(&["sync"]);
    }
    // Every device accepted every write: nothing quarantined anywhere.
    for d in [&li, &wang, &zhang, &admin] {
        assert_eq!(
            d.json(&["quarantine", "--json"]),
            json!([]),
            "{}'s quarantine",
            d.user
        );
    }
    // The documents stand as scripted.
    let status_of =
        |kind: &str, id: &str| zhang.json(&[kind, "show", id, "--json"])["status"].clone();
    for (kind, id, status) in [
        ("order", &o1, "paid"),
        ("order", &o2, "confirmed"),
        ("order", &o3, "cancelled"),
        ("order", &o4, "submitted"),
        ("order", &o6, "confirmed"),
        ("order", &p1, "shipped"),
        ("order", &p2, "cancelled"),
        ("complaint", &k1, "closed"),
        ("complaint", &k2, "handled"),
        ("expense", &e1, "approved"),
        ("expense", &e2, "rejected"),
        ("expense", &e3, "approved"),
        ("expense", &f1, "paid"),
    ] {
        assert_eq!(status_of(kind, id), status, "{kind} {id}");
    }

    // ---- the figures, by hand --------------------------------------------------------------
    // Each customer's follow-up due after its last visit, for "customers overdue now".
    let day = |d: u32| s.first.with_day(d).unwrap();
    let overdue_now = |dues: &[NaiveDate]| dues.iter().filter(|d| **d < today).count() as i64;

    // li.
    // sales: O1 paid 10 × 120.50 + 3 × 999.99 = 4204.97 yuan; O2 confirmed 5 × 300 = 1500.
    //   O3 cancelled, O4 only submitted, O5 a draft, O6 dated the month before.
    let li_sales = (10 * 12_050 + 3 * 99_999) + 5 * 30_000; // 570 497 fen
    // gross profit: O1 (120.50 − 80) × 10 = 405 (the seal has no cost); O2 (300 − 250) × 5.
    let li_profit = (12_050 - 8_000) * 10 + (30_000 - 25_000) * 5; // 65 500 fen
    // visits: L0 on days 1, 8, 17; L1 on 2, 14, 28; L2 on 3, 12 (not L0's of the month before).
    // follow-ups due in the month, all past by now:
    //   L0 (A, 7 d): from the month before's day 25 → due day 1–4, done day 1 (on time);
    //     from day 1 → 8, done day 8 (on time); from day 8 → 15, next visit day 17 (late);
    //     from day 17 → 24, no visit since (missed). 4 due, 2 on time.
    //   L1 (B, 14 d): from day 2 → 16, done day 14 (on time); from day 14 → 28, done day 28
    //     (on time); from day 28 → next month. 2 due, 2 on time.
    //   L2 (C, 30 d): day 3 set day 10 explicitly, next visit day 12 (late); from day 12 →
    //     next month. 1 due, 0 on time.
    // complaints of li's customers received in the month: K1 (handled after 3 hours of 4:
    //   in time), K4 (not handled). K3 was received the month before.
    //   Now: K3 (received) and K4 (received) are open and unanswered past their deadline.
    // trip expenses: E1 350.50 + 1200 approved day 11. E2 rejected; E3 approved after the
    //   month.
    let li_trip = 35_050 + 120_000; // 155 050 fen
    let li_expected = json!({
        "period": month,
        "from": s.first.to_string(),
        "to": (s.first + Months::new(1) - Duration::days(1)).to_string(),
        "reps": ["li"],
        "sales": li_sales,
        "sales_target": 1_000_000,
        "sales_achievement": 57.05,            // 570 497 / 1 000 000
        "sales_previous": 200_000,             // O6: 1 × 2000 yuan
        "sales_growth": 185.25,                // (570 497 − 200 000) / 200 000
        "sales_year_before": 0,
        "sales_growth_year": null,
        "orders_confirmed": 2,                 // O1, O2
        "orders_cancelled": 1,                 // O3
        "visits": 8,
        "visits_target": 10,
        "visits_achievement": 80.0,
        "new_customers": 2,                    // L1, L2
        "new_customers_target": 3,
        "new_customers_achievement": 66.67,
        "followups_due": 4 + 2 + 1,
        "followups_on_time": 2 + 2,
        "followup_compliance": 57.14,          // 4 / 7
        // Due after the last visit: L0 day 17 + 7, L1 day 28 + 14, L2 day 12 + 30.
        "customers_overdue": overdue_now(&[
            day(17) + Duration::days(7),
            day(28) + Duration::days(14),
            day(12) + Duration::days(30),
        ]),
        "complaints_received": 2,
        "complaints_handled": 1,
        "complaints_handled_in_time": 1,
        "complaints_in_time_rate": 50.0,
        "complaint_median_hours": 3.0,
        "complaints_open": 2,
        "complaints_overdue": 2,
        "trip_expenses": li_trip,
        "gross_profit": li_profit,
        "trip_efficiency": 2.3672,             // 155 050 / 65 500
    });

    // wang.
    // sales: P1 4 × 2500 = 10 000 yuan (shipped); P2 confirmed and then cancelled.
    let wang_sales = 4 * 250_000; // 1 000 000 fen
    let wang_profit = (250_000 - 200_000) * 4; // 200 000 fen
    // visits: W0 on days 4, 11, 25; W1 on day 5.
    // follow-ups: W0 (A): from day 4 → 11, done day 11 (on time); from day 11 → 18, next
    //   visit day 25 (late); from day 25 → next month. W1 (C): from day 5 → next month.
    // complaints: K2, handled 6 hours after it was received, 4 allowed: late. Handled, so
    //   not overdue now, but open (not closed).
    // trip expenses: F1 2000 yuan, approved day 21 (paid after the month).
    let wang_trip = 200_000;
    let wang_expected = json!({
        "period": month,
        "reps": ["wang"],
        "sales": wang_sales,
        "sales_target": 800_000,
        "sales_achievement": 125.0,
        "sales_previous": 0,
        "sales_growth": null,
        "sales_year_before": 0,
        "orders_confirmed": 1,                 // P1
        "orders_cancelled": 1,                 // P2
        "visits": 4,
        "visits_target": 5,
        "visits_achievement": 80.0,
        "new_customers": 2,                    // W0, W1
        "new_customers_target": 1,
        "new_customers_achievement": 200.0,
        "followups_due": 2,
        "followups_on_time": 1,
        "followup_compliance": 50.0,
        // Due after the last visit: W0 day 25 + 7, W1 day 5 + 30.
        "customers_overdue": overdue_now(&[
            day(25) + Duration::days(7),
            day(5) + Duration::days(30),
        ]),
        "complaints_received": 1,
        "complaints_handled": 1,
        "complaints_handled_in_time": 0,
        "complaints_in_time_rate": 0.0,
        "complaint_median_hours": 6.0,
        "complaints_open": 1,
        "complaints_overdue": 0,
        "trip_expenses": wang_trip,
        "gross_profit": wang_profit,
        "trip_efficiency": 1.0,                // 200 000 / 200 000
    });

    // The team: li and wang together (zhang, whom the server counts in his own team, has no
    // figures of his own).
    let team_expected = json!({
        "period": month,
        "sales": li_sales + wang_sales,        // 1 570 497
        "sales_target": 1_800_000,
        "sales_achievement": 87.25,            // 1 570 497 / 1 800 000
        "sales_previous": 200_000,
        "sales_growth": 685.25,                // (1 570 497 − 200 000) / 200 000
        "sales_year_before": 0,
        "sales_growth_year": null,
        "orders_confirmed": 3,
        "orders_cancelled": 2,
        "visits": 12,
        "visits_target": 15,
        "visits_achievement": 80.0,
        "new_customers": 4,
        "new_customers_target": 4,
        "new_customers_achievement": 100.0,
        "followups_due": 9,
        "followups_on_time": 5,
        "followup_compliance": 55.56,          // 5 / 9
        "customers_overdue": li_expected["customers_overdue"].as_i64().unwrap()
            + wang_expected["customers_overdue"].as_i64().unwrap(),
        "complaints_received": 3,
        "complaints_handled": 2,
        "complaints_handled_in_time": 1,
        "complaints_in_time_rate": 33.33,      // 1 / 3
        "complaint_median_hours": 4.5,         // of 3 and 6
        "complaints_open": 3,
        "complaints_overdue": 2,
        "trip_expenses": li_trip + wang_trip,  // 355 050
        "gross_profit": li_profit + wang_profit, // 265 500
        "trip_efficiency": 1.3373,             // 355 050 / 265 500
    });

    // ---- the reports -------------------------------------------------------------------------
    let kpi = |d: &Device, extra: &[&str]| {
        let mut args = vec!["report", "kpi", "--json", "--month", month.as_str()];
        args.extend_from_slice(extra);
        d.json(&args)
    };
    let li_report = kpi(&zhang, &["--rep", "li"]);
    assert_figures("li (on the manager's device)", &li_report, &li_expected);
    let wang_report = kpi(&zhang, &["--rep", "wang"]);
    assert_figures(
        "wang (on the manager's device)",
        &wang_report,
        &wang_expected,
    );
    // Each rep's own device, with no --rep, shows the same figures from the same data.
    assert_eq!(kpi(&li, &[]), li_report, "li's own device");
    assert_eq!(
        kpi(&wang, &["--rep", "wang"]),
        wang_report,
        "wang's own device"
    );

    let team = kpi(&zhang, &["--team"]);
    assert_figures("the team", &team, &team_expected);
    let mut reps: Vec<&str> = team["reps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    reps.sort_unstable();
    assert_eq!(
        reps,
        ["li", "wang", "zhang"],
        "the team as the server says it"
    );
    let by_rep = team["by_rep"].as_array().unwrap();
    assert_eq!(by_rep.len(), 3, "{team:#}");
    for rep in by_rep {
        match rep["reps"][0].as_str().unwrap() {
            "li" => assert_eq!(rep, &li_report, "li within the team"),
            "wang" => assert_eq!(rep, &wang_report, "wang within the team"),
            "zhang" => assert_figures(
                "zhang within the team",
                rep,
                &json!({"sales": 0, "visits": 0, "trip_expenses": 0, "complaints_received": 0}),
            ),
            other => panic!("{other} is not in zhang's team"),
        }
    }

    // The quarter holds the month, and the month before and the month after when they are in
    // it: O6 and li's earlier target, L0 and its first visit.
    let quarter_of = |d: NaiveDate| (d.year(), d.month0() / 3);
    let same_quarter = |d: NaiveDate| i64::from(quarter_of(d) == quarter_of(s.first));
    let quarter = format!("{}-Q{}", s.first.year(), s.first.month0() / 3 + 1);
    let q = zhang.json(&[
        "report",
        "kpi",
        "--json",
        "--rep",
        "li",
        "--quarter",
        &quarter,
    ]);
    assert_figures(
        "li's quarter",
        &q,
        &json!({
            "period": quarter,
            "sales": li_sales + 200_000 * same_quarter(s.before),
            "sales_target": 1_000_000 + 500_000 * same_quarter(s.before),
            "visits": 8 + same_quarter(s.before),
            "new_customers": 2 + same_quarter(s.before),
            "orders_cancelled": 1,
        }),
    );

    // The table says the same, in yuan.
    let text = zhang.now(&["report", "kpi", "--rep", "li", "--month", &month]);
    for expected in [
        "5704.97 CNY of target 10000.00 CNY (57.05%)",
        "period before 2000.00 CNY (+185.25%)",
        "655.00 CNY",
        "8 of target 10 (80.00%)",
        "2 of target 3 (66.67%)",
        "4 of 7 due done on time (57.14%)",
        "2 received, 1 handled, 1 in time (50.00%); median 3.00 h",
        "1550.50 CNY (2.3672 per yuan of gross profit)",
    ] {
        assert!(text.contains(expected), "{expected:?} in:\n{text}");
    }
    let text = zhang.now(&["report", "kpi", "--team", "--month", &month]);
    assert!(
        text.contains("15704.97 CNY of target 18000.00 CNY (87.25%)"),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("wang ") && l.contains("10000.00 CNY")),
        "a row per member:\n{text}"
    );
}
