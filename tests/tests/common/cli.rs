//! What the command-line tests share: a logged-in device home, running `fieldsync` in it, and
//! reading its answers.

use fieldsync_tests::cli::{Home, Run};
use serde_json::Value;

/// The password of `user` in [`super::org`].
pub fn pw(user: &str) -> String {
    format!("pw-{user}-secret")
}

/// A new device home of `user`, logged in to `url`.
pub fn logged_in(url: &str, user: &str) -> Home {
    let home = Home::new().unwrap();
    home.login(url, user, &pw(user)).unwrap().ok();
    home
}

/// Runs `fieldsync` with `args` in `home`.
pub fn run(home: &Home, args: &[&str]) -> Run {
    home.run(args).unwrap()
}

/// The JSON a successful run printed.
pub fn json(run: Run) -> Value {
    serde_json::from_str(run.ok()).unwrap_or_else(|e| panic!("not JSON ({e}): {}", run.stdout))
}

/// Asserts a user error: exit code 1, nothing on stdout, one line on stderr containing `says`.
pub fn user_error(run: Run, says: &str) {
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(run.stdout.is_empty(), "{run:?}");
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {:?}", run.stderr);
    assert!(
        lines[0].contains(says),
        "{:?} should say {says:?}",
        lines[0]
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
}

/// libfaketime, which sets a `fieldsync` process's clock (.ci/run installs it).
pub const LIBFAKETIME: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";

/// Whether libfaketime is here; without it `test` is skipped, unless CI demands it
/// (`FIELDSYNC_REQUIRE_TOOLS`).
pub fn faketime_available(test: &str) -> bool {
    if std::path::Path::new(LIBFAKETIME).exists() {
        return true;
    }
    if std::env::var_os("FIELDSYNC_REQUIRE_TOOLS").is_some() {
        panic!("{LIBFAKETIME} is missing: apt-get install faketime");
    }
    fieldsync_tests::say_skipped(
        test,
        &format!("{LIBFAKETIME} is missing (apt-get install faketime)"),
    );
    false
}

/// Runs `fieldsync` with `args` in `home` on the real clock, in UTC (`TZ=UTC`: local days are
/// UTC days).
pub fn run_utc(home: &Home, args: &[&str]) -> Run {
    home.run_with(args, &[("TZ", "UTC")]).unwrap()
}

/// Runs `fieldsync` with `args` in `home` in UTC, its clock starting at `at` (UTC) and
/// running on from there: what a device does at that moment.
pub fn run_at(home: &Home, at: chrono::NaiveDateTime, args: &[&str]) -> Run {
    let fake = format!("@{}", at.format("%Y-%m-%d %H:%M:%S"));
    home.run_with(
        args,
        &[
            ("LD_PRELOAD", LIBFAKETIME),
            ("FAKETIME", &fake),
            ("FAKETIME_DONT_FAKE_MONOTONIC", "1"),
            ("TZ", "UTC"),
        ],
    )
    .unwrap()
}

/// The output of a successful run on the real clock in UTC, trimmed: an id, for the commands
/// that create something.
pub fn ok_utc(home: &Home, args: &[&str]) -> String {
    run_utc(home, args).ok().to_string()
}

/// The JSON a successful run on the real clock in UTC printed.
pub fn json_utc(home: &Home, args: &[&str]) -> Value {
    json(run_utc(home, args))
}

/// The ids of a JSON list of rows or documents, in order.
pub fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|r| r["id"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// The steps of an order's or a complaint's history, as "status by user".
pub fn history(doc: &Value) -> Vec<String> {
    doc["history"]
        .as_array()
        .unwrap_or_else(|| panic!("no history in {doc}"))
        .iter()
        .map(|h| {
            format!(
                "{} by {}",
                h["status"].as_str().unwrap_or("?"),
                h["by"].as_str().unwrap_or("?")
            )
        })
        .collect()
}

/// The arguments of `fieldsync order item ORDER`, prices in yuan, with `extra` options
/// (`--cost`, `--unit`).
pub fn order_item<'a>(
    order: &'a str,
    product: &'a str,
    name: &'a str,
    quantity: &'a str,
    price: &'a str,
    extra: &[&'a str],
) -> Vec<&'a str> {
    let mut args = vec![
        "order",
        "item",
        order,
        "--product",
        product,
        "--name",
        name,
        "--quantity",
        quantity,
        "--price",
        price,
    ];
    args.extend_from_slice(extra);
    args
}

/// A logged-in device whose steps of a script run at scripted moments (libfaketime, UTC), and
/// whose checks run on the real clock.
pub struct TimedDevice {
    /// Its home.
    pub home: Home,
    /// Who is logged in.
    pub user: &'static str,
}

impl TimedDevice {
    /// A new device of `user`, logged in to `url` on the real clock.
    pub fn new(url: &str, user: &'static str) -> TimedDevice {
        TimedDevice {
            home: logged_in(url, user),
            user,
        }
    }

    /// Runs a step at `at`, which must succeed; returns what it printed (an id for `add`).
    pub fn at(&self, at: chrono::NaiveDateTime, args: &[&str]) -> String {
        let run = run_at(&self.home, at, args);
        assert_eq!(
            run.code,
            Some(0),
            "{} at {at}: fieldsync {args:?} failed:\n{}",
            self.user,
            run.stderr
        );
        run.stdout.trim().to_string()
    }

    /// Syncs at `at`.
    pub fn sync_at(&self, at: chrono::NaiveDateTime) {
        self.at(at, &["sync"]);
    }

    /// Runs on the real clock; must succeed.
    pub fn now(&self, args: &[&str]) -> String {
        ok_utc(&self.home, args)
    }

    /// The JSON a run on the real clock printed.
    pub fn json(&self, args: &[&str]) -> Value {
        json_utc(&self.home, args)
    }

    /// Takes an order for `customer` at `at` with `lines` (product, quantity, price in yuan,
    /// cost in yuan) and the `extra` options of `order add`; returns its id.
    pub fn order(
        &self,
        at: chrono::NaiveDateTime,
        customer: &str,
        extra: &[&str],
        lines: &[(&str, &str, &str, Option<&str>)],
    ) -> String {
        let mut args = vec!["order", "add", "--customer", customer];
        args.extend_from_slice(extra);
        let id = self.at(at, &args);
        for (product, quantity, price, cost) in lines {
            let cost: Vec<&str> = cost.iter().flat_map(|c| ["--cost", c]).collect();
            self.at(
                at,
                &order_item(&id, product, product, quantity, price, &cost),
            );
        }
        id
    }

    /// Claims `items` (category, amount in yuan), dated `at`'s day, and submits the claim at
    /// `at`; returns its id.
    pub fn claim(&self, at: chrono::NaiveDateTime, title: &str, items: &[(&str, &str)]) -> String {
        let id = self.at(at, &["expense", "add", "--title", title]);
        let day = at.date().to_string();
        for (category, amount) in items {
            self.at(
                at,
                &[
                    "expense",
                    "item",
                    &id,
                    "--date",
                    &day,
                    "--category",
                    category,
                    "--amount",
                    amount,
                ],
            );
        }
        self.at(at, &["expense", "submit", &id]);
        id
    }
}
