//! Devices whose clocks are a day off: the real `fieldsync` binary under libfaketime (a day
//! ahead, a day behind), against the real server on the true time. Their concurrent edits
//! still merge (Automerge orders nothing by wall-clock time), their short-lived access tokens
//! are still refreshed (the server's clock decides expiry, not the device's), and each device's
//! check-ins, follow-up days and weekly report use that device's own day, as SCHEMA.md says.
#![allow(clippy::unwrap_used)]

mod common;

use chrono::{Datelike, Duration as Days, NaiveDate, Utc};
use common::org_with;
use fieldsync_tests::cli::{Home, Run};

const LIBFAKETIME: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";
/// Every device lives in China; the skewed ones are a day off on top of that.
const TZ: &str = "Asia/Shanghai";

/// A laptop or phone whose clock is `skew` off (libfaketime syntax: "+1d", "-1d", "+0").
struct Device {
    home: Home,
    skew: &'static str,
}

impl Device {
    fn new(skew: &'static str) -> Device {
        Device {
            home: Home::new().unwrap(),
            skew,
        }
    }

    fn run(&self, args: &[&str]) -> Run {
        self.run_with(args, &[])
    }

    fn run_with(&self, args: &[&str], extra: &[(&str, &str)]) -> Run {
        let mut envs = vec![
            ("LD_PRELOAD", LIBFAKETIME),
            ("FAKETIME", self.skew),
            ("FAKETIME_DONT_FAKE_MONOTONIC", "1"),
            ("TZ", TZ),
        ];
        envs.extend_from_slice(extra);
        self.home.run_with(args, &envs).unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        self.run(args).ok().to_string()
    }

    fn json(&self, args: &[&str]) -> serde_json::Value {
        serde_json::from_str(&self.ok(args)).unwrap()
    }

    fn login(&self, url: &str, user: &str) {
        self.run_with(
            &[
                "login",
                "--server",
                url,
                "--username",
                user,
                &format!("--device=clock {}", self.skew),
            ],
            &[("FIELDSYNC_PASSWORD", &format!("pw-{user}-secret"))],
        )
        .ok();
    }

    /// The device's own idea of today, read through the same faked clock.
    fn today(&self) -> NaiveDate {
        let out = std::process::Command::new("date")
            .arg("+%Y-%m-%d")
            .env("LD_PRELOAD", LIBFAKETIME)
            .env("FAKETIME", self.skew)
            .env("TZ", TZ)
            .output()
            .unwrap();
        String::from_utf8(out.stdout)
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    }
}

/// `customer`'s row in the device's follow-up list for `day` (its own today for none).
fn followup_row(d: &Device, customer: &str, day: Option<NaiveDate>) -> Option<serde_json::Value> {
    let day = day.map(|day| day.to_string());
    let mut args = vec!["followups", "--json"];
    if let Some(day) = &day {
        args.extend(["--date", day.as_str()]);
    }
    d.json(&args)
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["customer"] == customer)
        .cloned()
}

/// Whether libfaketime is here; without it the test is skipped, unless CI demands it.
fn faketime_available() -> bool {
    if std::path::Path::new(LIBFAKETIME).exists() {
        return true;
    }
    if std::env::var_os("FIELDSYNC_REQUIRE_TOOLS").is_some() {
        panic!("{LIBFAKETIME} is missing: apt-get install faketime");
    }
    fieldsync_tests::say_skipped(
        "the clock-skew test",
        &format!("{LIBFAKETIME} is missing (apt-get install faketime)"),
    );
    false
}

#[test]
fn devices_a_day_off_merge_refresh_and_keep_their_own_day() {
    if !faketime_available() {
        return;
    }
    // Access tokens live 1 s, so every sync below needs a refresh that the server's clock
    // decides.
    let o = org_with(&["--access-ttl-secs", "1"]);
    let url = o.server.url();
    let ahead = Device::new("+1d");
    let behind = Device::new("-1d");
    let manager = Device::new("+0");
    let today = (Utc::now() + Days::hours(8)).date_naive();
    assert_eq!(
        ahead.today(),
        today + Days::days(1),
        "the laptop is a day ahead"
    );
    assert_eq!(
        behind.today(),
        today - Days::days(1),
        "the phone is a day behind"
    );

    ahead.login(&url, "li");
    behind.login(&url, "li");
    manager.login(&url, "zhang");
    let customer = ahead.ok(&["customer", "add", "--name", "时差测试客户", "--tier", "A"]);
    ahead.ok(&["sync"]);
    behind.ok(&["sync"]);

    // Offline on both: concurrent edits of the same customer and a visit each, at "now".
    ahead.ok(&["customer", "set", &customer, "phone", "0512-66880000"]);
    behind.ok(&["customer", "note", &customer, "电话里约了下周见面"]);
    ahead.ok(&[
        "visit",
        "add",
        "--customer",
        &customer,
        "--summary",
        "笔记本记录的拜访",
    ]);
    behind.ok(&[
        "visit",
        "add",
        "--customer",
        &customer,
        "--summary",
        "手机记录的拜访",
    ]);

    // Past the access tokens' life (and the server's 5 s leeway): each sync refreshes first.
    std::thread::sleep(std::time::Duration::from_secs(7));
    for d in [&ahead, &behind, &manager, &ahead, &behind] {
        d.ok(&["sync"]);
    }

    // Everyone holds the same merged customer and both visits.
    let show = |d: &Device| d.json(&["customer", "show", &customer, "--json"]);
    let merged = show(&manager);
    assert_eq!(show(&ahead), merged);
    assert_eq!(show(&behind), merged);
    assert_eq!(merged["phone"], "0512-66880000");
    assert!(
        merged["notes"]
            .as_str()
            .unwrap()
            .contains("电话里约了下周见面")
    );
    let visits = |d: &Device| d.json(&["visit", "list", "--customer", &customer, "--json"]);
    let all = visits(&manager);
    assert_eq!(all.as_array().unwrap().len(), 2, "{all}");
    assert_eq!(visits(&ahead), all);
    assert_eq!(visits(&behind), all);

    // Each check-in carries its device's clock and day.
    let visit_day = |summary: &str| -> NaiveDate {
        let v = all
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["summary"] == summary)
            .unwrap_or_else(|| panic!("no visit '{summary}' in {all}"));
        let at: chrono::DateTime<Utc> = v["checkin_at"].as_str().unwrap().parse().unwrap();
        let local: NaiveDate = v["local_date"].as_str().unwrap().parse().unwrap();
        assert_eq!(local, (at + Days::hours(8)).date_naive(), "China time: {v}");
        local
    };
    assert_eq!(visit_day("笔记本记录的拜访"), today + Days::days(1));
    assert_eq!(visit_day("手机记录的拜访"), today - Days::days(1));

    // The newest check-in is the laptop's (a day ahead): tier A is due 7 local days later,
    // on every device alike.
    let due = today + Days::days(8);
    for d in [&ahead, &behind, &manager] {
        let row = followup_row(d, &customer, Some(due))
            .unwrap_or_else(|| panic!("{customer} not due on {due}"));
        assert_eq!(row["due_date"], due.to_string(), "{row}");
        assert_eq!(
            row["last_visit_date"],
            (today + Days::days(1)).to_string(),
            "{row}"
        );
        assert_eq!(
            followup_row(d, &customer, Some(due - Days::days(1))),
            None,
            "not due the day before"
        );
    }

    // "Today" is each device's own: a follow-up set for the laptop's today is due there, and
    // not yet on the phone, whose today is two days earlier.
    ahead.ok(&[
        "visit",
        "add",
        "--customer",
        &customer,
        "--summary",
        "约定今天回访",
        "--next-followup",
        &ahead.today().to_string(),
    ]);
    ahead.ok(&["sync"]);
    behind.ok(&["sync"]);
    let due_today = |d: &Device| followup_row(d, &customer, None).is_some();
    assert!(due_today(&ahead), "due on the laptop's today");
    assert!(!due_today(&behind), "not yet due on the phone's today");

    // The weekly report puts each visit on its device's local day.
    let week_of = |day: NaiveDate| {
        let w = day.iso_week();
        format!("{}-W{:02}", w.year(), w.week())
    };
    let laptop_day = today + Days::days(1);
    let report = manager.json(&[
        "report",
        "week",
        "--rep",
        "li",
        "--week",
        &week_of(laptop_day),
        "--json",
    ]);
    let text = report.to_string();
    assert!(
        text.contains(&laptop_day.to_string()),
        "the laptop's day is in its week: {text}"
    );
    assert!(text.contains("笔记本记录的拜访"), "{text}");
}
