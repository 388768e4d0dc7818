//! End-to-end tests of what the command lines show and let a person change: visit and
//! contact edits, lists that say when they are cut, the first-visit type, typed tiers and
//! amounts, search by the people met, and the server's user commands with what a disabled
//! user's device says. The real `fieldsync-server` on 127.0.0.1 and the real `fieldsync`.
#![allow(clippy::unwrap_used)]

mod common;

use common::cli::{json, logged_in, pw, run, user_error};

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use fieldsync_tests::cli::{Home, Run, login_args};
use fieldsync_tests::server::server_binary;
use serde_json::Value;

fn add_customer(home: &Home, name: &str) -> String {
    run(home, &["customer", "add", "--name", name])
        .ok()
        .to_string()
}

/// `fieldsync-server --data-dir DIR <args>` with `envs`.
fn server_cli(data: &Path, args: &[&str], envs: &[(&str, &str)]) -> Output {
    Command::new(server_binary().unwrap())
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .envs(envs.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).trim().to_string()
}

#[test]
fn visit_edit_changes_the_fields_given_and_leaves_the_rest() {
    let org = common::org();
    let url = org.server.url();
    let rep = logged_in(&url, "li");
    let customer = add_customer(&rep, "华东精密机械有限公司");
    let visit = run(
        &rep,
        &[
            "visit",
            "add",
            "--customer",
            &customer,
            "--summary",
            "介绍新款轴承。",
            "--met",
            "王芳:采购经理",
            "--next-followup",
            "2026-11-30",
            "--at",
            "2026-11-23T10:00:00+08:00",
        ],
    )
    .ok()
    .to_string();

    run(
        &rep,
        &[
            "visit",
            "edit",
            &visit,
            "--summary",
            "客户要求样品和报价。",
            "--outcome",
            "progress",
            "--next-step",
            "寄样品",
            "--met",
            "赵强:技术主管",
            "--unmet",
            "王芳",
            "--type",
            "Sample",
            "--quote",
            "12500",
        ],
    )
    .ok();
    let shown = json(run(&rep, &["visit", "show", &visit, "--json"]));
    assert_eq!(shown["summary"], "客户要求样品和报价。");
    assert_eq!(shown["outcome"], "progress");
    assert_eq!(shown["next_step"], "寄样品");
    assert_eq!(shown["visit_type"], "sample");
    assert_eq!(shown["quote_amount"]["amount"], 1_250_000);
    let people: Vec<&str> = shown["people_met"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(people, ["赵强"]);
    // Left out, so untouched.
    assert_eq!(shown["next_followup"], "2026-11-30");
    assert_eq!(shown["checkin_at"], "2026-11-23T02:00:00Z");

    // One more field; the empty text clears an optional one.
    run(&rep, &["visit", "edit", &visit, "--next-step", ""]).ok();
    let shown = json(run(&rep, &["visit", "show", &visit, "--json"]));
    assert_eq!(shown["next_step"], Value::Null);
    assert_eq!(shown["outcome"], "progress");

    // A follow-up before the visit's own day is refused, and nothing is written.
    user_error(
        run(
            &rep,
            &["visit", "edit", &visit, "--next-followup", "2026-11-20"],
        ),
        "before the visit's own day 2026-11-23",
    );
    user_error(run(&rep, &["visit", "edit", &visit]), "nothing to change");
    user_error(
        run(&rep, &["visit", "edit", &visit, "--unmet", "无名氏"]),
        "not among the people met",
    );
    assert_eq!(
        json(run(&rep, &["visit", "show", &visit, "--json"]))["next_followup"],
        "2026-11-30"
    );

    // The server accepts the edits, and the manager sees them.
    run(&rep, &["sync"]).ok();
    let manager = logged_in(&url, "zhang");
    run(&manager, &["sync"]).ok();
    let seen = json(run(&manager, &["visit", "show", &visit, "--json"]));
    assert_eq!(seen["summary"], "客户要求样品和报价。");
    assert_eq!(seen["visit_type"], "sample");
}

#[test]
fn a_next_followup_before_the_visit_is_refused_when_recording_it() {
    let org = common::org();
    let rep = logged_in(&org.server.url(), "li");
    let customer = add_customer(&rep, "苏州新材料科技");
    user_error(
        run(
            &rep,
            &[
                "visit",
                "add",
                "--customer",
                &customer,
                "--summary",
                "回访。",
                "--at",
                "2026-11-23T10:00:00+08:00",
                "--next-followup",
                "2026-11-22",
            ],
        ),
        "pick a follow-up date on or after 2026-11-23",
    );
    assert_eq!(
        json(run(&rep, &["visit", "list", "--json"])),
        serde_json::json!([])
    );
}

#[test]
fn a_first_visit_is_a_cold_visit_unless_the_rep_says_otherwise() {
    let org = common::org();
    let rep = logged_in(&org.server.url(), "li");
    let customer = add_customer(&rep, "宁波港机配件厂");
    let add = |extra: &[&str]| {
        let mut args = vec![
            "visit",
            "add",
            "--customer",
            &customer,
            "--summary",
            "拜访。",
        ];
        args.extend_from_slice(extra);
        let id = run(&rep, &args).ok().to_string();
        json(run(&rep, &["visit", "show", &id, "--json"]))["visit_type"].clone()
    };
    assert_eq!(add(&[]), "cold_visit");
    assert_eq!(add(&[]), "follow_up");
    assert_eq!(add(&["--type", "quote"]), "quote");

    let other = add_customer(&rep, "杭州精工");
    let id = run(
        &rep,
        &[
            "visit",
            "add",
            "--customer",
            &other,
            "--summary",
            "售后。",
            "--type",
            "after_sales",
        ],
    )
    .ok()
    .to_string();
    assert_eq!(
        json(run(&rep, &["visit", "show", &id, "--json"]))["visit_type"],
        "after_sales",
        "a type given for a first visit is kept"
    );
}

#[test]
fn contacts_are_listed_with_their_ids_and_edited_field_by_field() {
    let org = common::org();
    let rep = logged_in(&org.server.url(), "li");
    let customer = add_customer(&rep, "华东精密机械有限公司");
    assert!(
        run(&rep, &["contact", "list", &customer])
            .ok()
            .contains("no contacts at 华东精密机械有限公司")
    );
    run(
        &rep,
        &[
            "contact",
            "add",
            &customer,
            "--name",
            "金立基",
            "--title",
            "采购经理",
            "--phone",
            "138-0000-1111",
        ],
    )
    .ok();
    let contacts = json(run(&rep, &["contact", "list", &customer, "--json"]));
    assert_eq!(contacts.as_array().unwrap().len(), 1);
    let contact = contacts[0]["id"].as_str().unwrap().to_string();
    let table = run(&rep, &["contact", "list", &customer]).ok().to_string();
    assert!(
        table.contains(&contact) && table.contains("金立基"),
        "{table}"
    );

    run(
        &rep,
        &[
            "contact",
            "edit",
            &customer,
            &contact,
            "--phone",
            "139-1234-5678",
            "--decision-maker",
            "yes",
            "--email",
            "jin@example.com",
        ],
    )
    .ok();
    let edited = json(run(&rep, &["contact", "list", &customer, "--json"]));
    assert_eq!(edited[0]["phone"], "139-1234-5678");
    assert_eq!(edited[0]["decision_maker"], true);
    assert_eq!(edited[0]["email"], "jin@example.com");
    assert_eq!(edited[0]["title"], "采购经理", "left out, so untouched");
    assert_eq!(edited[0]["name"], "金立基");

    run(
        &rep,
        &["contact", "edit", &customer, &contact, "--title", ""],
    )
    .ok();
    assert_eq!(
        json(run(&rep, &["contact", "list", &customer, "--json"]))[0]["title"],
        Value::Null
    );
    user_error(
        run(&rep, &["contact", "edit", &customer, &contact]),
        "nothing to change",
    );
    user_error(
        run(
            &rep,
            &[
                "contact",
                "edit",
                &customer,
                "01932c07-7a3e-7b8e-9f1e-3c2a1b0d4e5f",
                "--phone",
                "1",
            ],
        ),
        "has no contact 01932c07-7a3e-7b8e-9f1e-3c2a1b0d4e5f: list its contacts",
    );
    user_error(
        run(
            &rep,
            &[
                "contact",
                "edit",
                &customer,
                &contact,
                "--decision-maker",
                "maybe",
            ],
        ),
        "not yes or no",
    );
}

#[test]
fn a_cut_list_says_how_much_it_shows_and_pages_go_on() {
    let org = common::org();
    let rep = logged_in(&org.server.url(), "li");
    let ids: Vec<String> = (1..=5)
        .map(|i| add_customer(&rep, &format!("客户{i}号有限公司")))
        .collect();

    let first = run(&rep, &["customer", "list", "--limit", "2"]);
    assert_eq!(first.ok().lines().count(), 3, "a header and two rows");
    assert_eq!(first.stderr.trim(), "2 of 5 shown: use --limit or --page");
    let last = run(&rep, &["customer", "list", "--limit", "2", "--page", "3"]);
    assert!(last.ok().contains(&ids[4]), "{}", last.stdout);
    assert_eq!(
        last.stderr.trim(),
        "5 to 5 of 5 shown: use --limit or --page"
    );
    let past = run(&rep, &["customer", "list", "--limit", "2", "--page", "4"]);
    assert!(
        past.ok()
            .contains("page 4 is past the end: 5 customers match")
    );

    // JSON stays clean on stdout and carries the total.
    let page = run(&rep, &["customer", "list", "--limit", "2", "--json"]);
    assert!(page.stderr.is_empty(), "{}", page.stderr);
    let page = json(page);
    assert_eq!(page["total"], 5);
    assert_eq!(page["page"], 1);
    assert_eq!(page["limit"], 2);
    assert_eq!(page["customers"].as_array().unwrap().len(), 2);

    // A list that is whole says nothing more.
    let whole = run(&rep, &["customer", "list"]);
    assert_eq!(whole.ok().lines().count(), 6);
    assert!(whole.stderr.is_empty(), "{}", whole.stderr);
    user_error(
        run(&rep, &["customer", "list", "--page", "0"]).map_usage(),
        "--page",
    );

    // A customer's recent visits say when there are more.
    for day in 10..=20 {
        let at = format!("2026-11-{day}T10:00:00+08:00");
        run(
            &rep,
            &[
                "visit",
                "add",
                "--customer",
                &ids[0],
                "--summary",
                "回访。",
                "--at",
                &at,
            ],
        )
        .ok();
    }
    let shown = run(&rep, &["customer", "show", &ids[0]]);
    shown.ok();
    assert_eq!(
        shown.stderr.trim(),
        format!(
            "10 of 11 shown: see them all with `fieldsync visit list --customer {}`",
            ids[0]
        )
    );
    assert_eq!(
        json(run(&rep, &["customer", "show", &ids[0], "--json"]))["visit_count"],
        11
    );
}

/// A usage error (exit 2, clap's) turned into the shape [`user_error`] checks.
trait MapUsage {
    fn map_usage(self) -> Run;
}

impl MapUsage for Run {
    fn map_usage(self) -> Run {
        assert_eq!(self.code, Some(2), "{self:?}");
        let first = self.stderr.lines().next().unwrap_or_default().to_string();
        Run {
            code: Some(1),
            stdout: self.stdout,
            stderr: first,
        }
    }
}

#[test]
fn tiers_take_either_case_and_negative_amounts_say_so() {
    let org = common::org();
    let rep = logged_in(&org.server.url(), "li");
    let customer = run(
        &rep,
        &["customer", "add", "--name", "无锡机电", "--tier", "a"],
    )
    .ok()
    .to_string();
    assert_eq!(
        json(run(&rep, &["customer", "show", &customer, "--json"]))["tier"],
        "A"
    );
    run(&rep, &["customer", "set", &customer, "tier", "b"]).ok();
    let listed = json(run(&rep, &["customer", "list", "--tier", "b", "--json"]));
    assert_eq!(listed["customers"][0]["tier"], "B");

    let claim = run(&rep, &["expense", "add", "--title", "11月差旅"])
        .ok()
        .to_string();
    for amount in ["-5", "-0.50"] {
        user_error(
            run(
                &rep,
                &[
                    "expense",
                    "item",
                    &claim,
                    "--date",
                    "2026-11-24",
                    "--category",
                    "transport",
                    "--amount",
                    amount,
                ],
            ),
            "amounts cannot be negative",
        );
    }
    user_error(
        run(
            &rep,
            &[
                "trip",
                "add",
                "--title",
                "华东",
                "--start",
                "2026-11-24",
                "--end",
                "2026-11-26",
                "--budget",
                "-5",
            ],
        ),
        "amounts cannot be negative",
    );
}

#[test]
fn customer_search_finds_the_people_met_on_visits() {
    let org = common::org();
    let url = org.server.url();
    let rep = logged_in(&url, "li");
    let target = add_customer(&rep, "华东精密机械有限公司");
    add_customer(&rep, "苏州环保设备厂");
    run(
        &rep,
        &[
            "visit",
            "add",
            "--customer",
            &target,
            "--summary",
            "见了采购总监。",
            "--met",
            "欧阳明:采购总监",
        ],
    )
    .ok();
    let ids = |home: &Home, term: &str| -> Vec<String> {
        json(run(home, &["customer", "list", "--search", term, "--json"]))["customers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(ids(&rep, "欧阳明"), std::slice::from_ref(&target));
    assert_eq!(ids(&rep, "欧阳"), std::slice::from_ref(&target));

    // The manager's device indexes the visit it receives by sync.
    run(&rep, &["sync"]).ok();
    let manager = logged_in(&url, "zhang");
    run(&manager, &["sync"]).ok();
    assert_eq!(ids(&manager, "欧阳明"), [target]);
}

#[test]
fn user_add_says_in_one_line_whom_it_added() {
    let data = tempfile::tempdir().unwrap();
    let pass = [("PW", "a-long-password")];
    let out = server_cli(
        data.path(),
        &[
            "user",
            "add",
            "--username",
            "zhang",
            "--role",
            "manager",
            "--territory",
            "east",
            "--password-env",
            "PW",
        ],
        &pass,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "added manager zhang (territories: east; manager: none)"
    );
    let out = server_cli(
        data.path(),
        &[
            "user",
            "add",
            "--username",
            "li.wei",
            "--role",
            "rep",
            "--territory",
            "east",
            "--territory",
            "north",
            "--manager",
            "zhang",
            "--password-env",
            "PW",
        ],
        &pass,
    );
    assert_eq!(
        text(&out.stdout),
        "added rep li.wei (territories: east, north; manager: zhang)"
    );
}

#[test]
fn a_disabled_users_device_says_so_and_enable_and_password_reset_work() {
    let org = common::org();
    let url = org.server.url();
    let data = org.data.path();
    let rep = logged_in(&url, "li");
    add_customer(&rep, "华东精密机械有限公司");

    let out = server_cli(data, &["user", "disable", "--username", "li"], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    user_error(
        run(&rep, &["sync"]),
        "your account is disabled: ask your administrator",
    );
    let again = run(&rep, &["sync"]);
    assert!(!again.stderr.contains("log in again"), "{again:?}");

    let out = server_cli(data, &["user", "enable", "li"], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "enabled li; they log in again on each device"
    );
    let out = server_cli(data, &["user", "enable", "li"], &[]);
    assert_eq!(text(&out.stdout), "li is already enabled");
    // The device's old session stays closed: it logs in anew, and its work was kept.
    user_error(run(&rep, &["sync"]), "log in");
    rep.login(&url, "li", &pw("li")).unwrap().ok();
    assert!(run(&rep, &["sync"]).ok().starts_with("synced:"));

    // A forgotten password is reset; the old one stops working.
    let out = server_cli(
        data,
        &["user", "password", "li", "--password-env", "NEW_PW"],
        &[("NEW_PW", "a-brand-new-password")],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "password of li changed; their devices stay logged in"
    );
    let laptop = Home::new().unwrap();
    assert_eq!(laptop.login(&url, "li", &pw("li")).unwrap().code, Some(1));
    laptop
        .login(&url, "li", "a-brand-new-password")
        .unwrap()
        .ok();
    let out = server_cli(data, &["user", "password", "li"], &[]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("at least 8 characters"),
        "{}",
        text(&out.stderr)
    );
    for args in [
        &["user", "enable", "nobody"][..],
        &["user", "password", "nobody"],
    ] {
        let out = server_cli(data, args, &[]);
        assert!(!out.status.success());
        assert!(
            text(&out.stderr).contains("no user 'nobody'"),
            "{}",
            text(&out.stderr)
        );
    }
}

#[test]
fn server_logs_have_no_colour_codes_when_not_written_to_a_terminal() {
    let data = tempfile::tempdir().unwrap();
    let log = data.path().join("server.log");
    let port = fieldsync_tests::server::free_port().unwrap();
    let mut child = Command::new(server_binary().unwrap())
        .arg("--data-dir")
        .arg(data.path())
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let listening = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .any(|l| l.starts_with("listening on"));
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(listening);
    let written = std::fs::read_to_string(&log).unwrap();
    assert!(written.contains("fieldsync-server listening"), "{written}");
    assert!(!written.contains('\u{1b}'), "colour codes in: {written:?}");
}

/// A home of `user` logged in as the device `device`.
fn device_of(url: &str, user: &str, device: &str) -> Home {
    let home = Home::new().unwrap();
    home.run_with(
        &login_args(url, user, device),
        &[("FIELDSYNC_PASSWORD", pw(user).as_str())],
    )
    .unwrap()
    .ok();
    home
}

#[test]
fn a_conflict_names_the_devices_and_is_resolved_by_command() {
    let org = common::org();
    let url = org.server.url();
    let laptop = device_of(&url, "li", "li-laptop");
    let phone = device_of(&url, "li", "li-phone");
    let customer = run(&laptop, &["customer", "add", "--name", "苏州新材料科技"])
        .ok()
        .to_string();
    run(&laptop, &["sync"]).ok();
    run(&phone, &["sync"]).ok();
    // Both set the tier offline.
    run(&laptop, &["customer", "set", &customer, "tier", "A"]).ok();
    run(&phone, &["customer", "set", &customer, "tier", "D"]).ok();
    for home in [&laptop, &phone, &laptop] {
        run(home, &["sync"]).ok();
    }
    let shown = json(run(&laptop, &["conflicts", &customer, "--json"]));
    let tier = shown
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["path"] == "tier")
        .unwrap_or_else(|| panic!("no tier conflict in {shown}"));
    let values = tier["values"].as_array().unwrap();
    let devices: std::collections::BTreeSet<&str> = values
        .iter()
        .map(|v| v["device"].as_str().unwrap())
        .collect();
    assert_eq!(devices, ["li-laptop", "li-phone"].into_iter().collect());
    assert!(values.iter().all(|v| v["author"] == "li"));
    let table = run(&laptop, &["conflicts", &customer]).ok().to_string();
    assert!(table.contains("li-phone"), "{table}");

    // Keep the phone's value, by its number.
    let keep = values
        .iter()
        .position(|v| v["device"] == "li-phone")
        .unwrap()
        + 1;
    run(
        &laptop,
        &[
            "conflicts",
            "resolve",
            &customer,
            "tier",
            "--keep",
            &keep.to_string(),
        ],
    )
    .ok();
    run(&laptop, &["sync"]).ok();
    run(&phone, &["sync"]).ok();
    for home in [&laptop, &phone] {
        let left = json(run(home, &["conflicts", &customer, "--json"]));
        assert_eq!(left.as_array().map(Vec::len), Some(0), "{left}");
        let c = json(run(home, &["customer", "show", &customer, "--json"]));
        assert_eq!(c["tier"], "D");
    }
    // A value that breaks the schema is refused and changes nothing.
    user_error(
        run(
            &laptop,
            &["conflicts", "resolve", &customer, "tier", "--value", "Z"],
        ),
        "tier",
    );
}
