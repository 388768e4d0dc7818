//! End-to-end tests of the `fieldsync` command line: the real `fieldsync-server` on 127.0.0.1
//! and the real `fieldsync` binary, one temporary `--home` per device.
#![allow(clippy::unwrap_used)]

mod common;

use common::cli::{json, logged_in, pw, run, user_error};

use fieldsync_tests::cli::Home;
use serde_json::Value;

#[test]
fn the_readme_walk_through_a_visit_recorded_offline_reaches_the_manager() {
    let org = common::org();
    let url = org.server.url();
    let rep = logged_in(&url, "li");

    // Offline: nothing has been synced yet.
    let customer = run(
        &rep,
        &[
            "customer",
            "add",
            "--name",
            "华东精密机械有限公司",
            "--tier",
            "A",
            "--city",
            "苏州",
        ],
    )
    .ok()
    .to_string();
    let visit = run(
        &rep,
        &[
            "visit",
            "add",
            "--customer",
            &customer,
            "--summary",
            "介绍新款轴承，客户要求样品。",
            "--met",
            "王芳:采购经理",
            "--outcome",
            "progress",
            "--next-followup",
            "2026-11-30",
            "--at",
            "2026-11-23T10:00:00+08:00",
        ],
    )
    .ok()
    .to_string();
    let status = json(run(&rep, &["status", "--json"]));
    assert_eq!(status["unsent"], 2);
    assert_eq!(status["user"]["username"], "li");
    assert_eq!(status["last_sync_at"], Value::Null);

    let report = json(run(&rep, &["sync", "--json"]));
    let keys: Vec<&str> = report
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut expected = [
        "attachments",
        "bytes_received",
        "bytes_sent",
        "millis",
        "pulled",
        "pushed",
        "rejected",
        "round_trips",
        "timings",
    ];
    expected.sort_unstable();
    let mut keys_sorted = keys.clone();
    keys_sorted.sort_unstable();
    assert_eq!(keys_sorted, expected);
    assert_eq!(report["pushed"], 2);
    assert_eq!(report["rejected"], 0);
    assert_eq!(json(run(&rep, &["status", "--json"]))["unsent"], 0);

    let manager = logged_in(&url, "zhang");
    assert!(run(&manager, &["sync"]).ok().starts_with("synced:"));
    let visits = json(run(&manager, &["visit", "list", "--json"]));
    let visits = visits.as_array().unwrap();
    assert_eq!(visits.len(), 1);
    assert_eq!(visits[0]["id"], visit.as_str());
    assert_eq!(visits[0]["author"], "li");
    assert_eq!(visits[0]["customer"], customer.as_str());
    assert_eq!(visits[0]["customer_name"], "华东精密机械有限公司");
    let shown = json(run(&manager, &["visit", "show", &visit, "--json"]));
    assert_eq!(shown["summary"], "介绍新款轴承，客户要求样品。");
    assert_eq!(shown["people_met"][0]["title"], "采购经理");
    let table = run(&manager, &["customer", "list"]).ok().to_string();
    assert!(table.contains("华东精密机械有限公司"), "{table}");

    // The manager's comment comes back to the rep.
    run(&manager, &["visit", "comment", &visit, "好，尽快送样。"]).ok();
    run(&manager, &["sync"]).ok();
    run(&rep, &["sync"]).ok();
    let shown = json(run(&rep, &["visit", "show", &visit, "--json"]));
    assert_eq!(shown["manager_comments"][0]["author"], "zhang");
    assert_eq!(shown["manager_comments"][0]["text"], "好，尽快送样。");
}

#[test]
fn a_reps_laptop_and_phone_converge_through_the_server() {
    let org = common::org();
    let url = org.server.url();
    let laptop = logged_in(&url, "li");
    let phone = logged_in(&url, "li");

    let customer = run(&laptop, &["customer", "add", "--name", "苏州新材料科技"])
        .ok()
        .to_string();
    run(&laptop, &["sync"]).ok();
    run(&phone, &["sync"]).ok();
    assert_eq!(
        json(run(&phone, &["customer", "show", &customer, "--json"]))["name"],
        "苏州新材料科技"
    );

    // Both edit offline: different fields, a note each, a visit on the phone.
    run(&laptop, &["customer", "set", &customer, "tier", "B"]).ok();
    run(&laptop, &["customer", "note", &customer, "笔记本上写的。"]).ok();
    run(&phone, &["customer", "set", &customer, "city", "苏州"]).ok();
    run(&phone, &["customer", "note", &customer, "手机上写的。"]).ok();
    let visit = run(
        &phone,
        &[
            "visit",
            "add",
            "--customer",
            &customer,
            "--summary",
            "回访。",
        ],
    )
    .ok()
    .to_string();

    for home in [&laptop, &phone, &laptop] {
        run(home, &["sync"]).ok();
    }
    let on_laptop = json(run(&laptop, &["customer", "show", &customer, "--json"]));
    let on_phone = json(run(&phone, &["customer", "show", &customer, "--json"]));
    assert_eq!(on_laptop, on_phone);
    assert_eq!(on_laptop["tier"], "B");
    assert_eq!(on_laptop["city"], "苏州");
    let notes = on_laptop["notes"].as_str().unwrap();
    assert!(
        notes.contains("笔记本上写的。") && notes.contains("手机上写的。"),
        "{notes}"
    );
    assert_eq!(on_laptop["recent_visits"][0]["id"], visit.as_str());
    assert_eq!(
        json(run(&laptop, &["conflicts", "--json"])),
        serde_json::json!([])
    );
}

#[test]
fn the_weekly_report_tells_the_visits_recorded_that_week() {
    let org = common::org();
    let url = org.server.url();
    let rep = logged_in(&url, "li");
    let a = run(&rep, &["customer", "add", "--name", "华东精密机械有限公司"])
        .ok()
        .to_string();
    let b = run(&rep, &["customer", "add", "--name", "苏州新材料科技"])
        .ok()
        .to_string();
    let visit = |customer: &str, at: &str, extra: &[&str]| {
        let mut args = vec!["visit", "add", "--customer", customer, "--at", at];
        args.extend_from_slice(extra);
        run(&rep, &args).ok().to_string();
    };
    visit(
        &a,
        "2026-11-23T09:30:00+08:00",
        &[
            "--summary",
            "介绍新款轴承，客户要求样品。",
            "--type",
            "cold_visit",
            "--met",
            "王芳:采购经理",
            "--met",
            "赵强:总经理",
            "--outcome",
            "progress",
            "--competitor",
            "恒力轴承:报价低10%",
            "--next-step",
            "下周送样品",
        ],
    );
    visit(
        &b,
        "2026-11-25T14:00:00+08:00",
        &[
            "--summary",
            "谈年度框架合同。",
            "--type",
            "quote",
            "--outcome",
            "order",
        ],
    );
    visit(
        &a,
        "2026-11-27T10:00:00+08:00",
        &["--summary", "送样品。", "--type", "sample"],
    );
    // The next week's visit is not in the report.
    visit(
        &b,
        "2026-11-30T10:00:00+08:00",
        &["--summary", "下周的拜访。"],
    );

    let report = json(run(
        &rep,
        &["report", "week", "--week", "2026-W48", "--json"],
    ));
    assert_eq!(report["rep"], "li");
    assert_eq!(report["from"], "2026-11-23");
    assert_eq!(report["to"], "2026-11-29");
    assert_eq!(report["visit_count"], 3);
    let customers = report["customers"].as_array().unwrap();
    assert_eq!(customers.len(), 2);
    assert_eq!(customers[0]["name"], "华东精密机械有限公司");
    assert_eq!(customers[0]["visits"].as_array().unwrap().len(), 2);
    let first = &customers[0]["visits"][0];
    assert_eq!(first["people_met"][1]["name"], "赵强");
    assert_eq!(first["people_met"][1]["title"], "总经理");
    assert_eq!(first["summary"], "介绍新款轴承，客户要求样品。");
    assert_eq!(first["competitor_intel"][0]["competitor"], "恒力轴承");
    assert_eq!(first["competitor_intel"][0]["notes"], "报价低10%");
    assert_eq!(first["next_step"], "下周送样品");
    assert_eq!(customers[1]["name"], "苏州新材料科技");
    assert_eq!(customers[1]["visits"][0]["outcome"], "order");
    assert_eq!(
        report["by_type"],
        serde_json::json!({"cold_visit": 1, "quote": 1, "sample": 1})
    );
    assert_eq!(
        report["by_outcome"],
        serde_json::json!({"none": 1, "order": 1, "progress": 1})
    );

    // The manager writes the same report from the synced records, and the text says it all.
    run(&rep, &["sync"]).ok();
    let manager = logged_in(&url, "zhang");
    run(&manager, &["sync"]).ok();
    let theirs = json(run(
        &manager,
        &[
            "report", "week", "--rep", "li", "--week", "2026-W48", "--json",
        ],
    ));
    assert_eq!(theirs, report);
    let text = run(
        &manager,
        &["report", "week", "--rep", "li", "--week", "2026-W48"],
    )
    .ok()
    .to_string();
    for needle in [
        "2026-W48",
        "3 visit(s) to 2 customer(s)",
        "华东精密机械有限公司",
        "王芳 (采购经理)",
        "谈年度框架合同。",
        "恒力轴承",
        "下周送样品",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
    }
    assert!(!text.contains("下周的拜访"), "{text}");
}

#[test]
fn user_errors_exit_1_with_one_line_that_says_what_to_do() {
    let org = common::org();
    let url = org.server.url();

    let fresh = Home::new().unwrap();
    user_error(
        fresh.login(&url, "li", "not-the-password").unwrap(),
        "check the user name and password",
    );
    user_error(
        fresh.login("http://127.0.0.1:1", "li", &pw("li")).unwrap(),
        "check the server address",
    );
    user_error(
        fresh.run(&["sync"]).unwrap(),
        "log in first: fieldsync login",
    );
    user_error(
        fresh.run(&["customer", "add", "--name", "X"]).unwrap(),
        "log in first: fieldsync login",
    );

    let rep = logged_in(&url, "li");
    let customer = run(&rep, &["customer", "add", "--name", "华东精密"])
        .ok()
        .to_string();
    user_error(
        run(&rep, &["customer", "show", "not-an-id"]),
        "is not a document id",
    );
    let unknown = "01932c07-7a3e-7b8e-9f1e-3c2a1b0d4e5f";
    user_error(
        run(&rep, &["customer", "show", unknown]),
        "unknown customer",
    );
    user_error(
        run(
            &rep,
            &["visit", "add", "--customer", unknown, "--summary", "x"],
        ),
        "unknown customer",
    );
    user_error(
        run(&rep, &["customer", "set", &customer, "tier", "E"]),
        "one of A, B, C, D",
    );
    user_error(
        run(&rep, &["customer", "add", "--name", "Y", "--tier", "Z"]),
        "one of A, B, C, D",
    );
    user_error(
        run(&rep, &["customer", "set", &customer, "colour", "red"]),
        "unknown field 'colour'",
    );
    user_error(
        run(&rep, &["report", "week", "--week", "2026-48"]),
        "write it as YYYY-Www",
    );

    // Nothing was written by the refused commands.
    let listed = json(run(&rep, &["customer", "list", "--json"]));
    assert_eq!(listed["customers"].as_array().unwrap().len(), 1);
    assert_eq!(listed["customers"][0]["tier"], "C");

    // The server goes away: sync says so and keeps the work.
    drop(org);
    user_error(run(&rep, &["sync"]), "check the network");
    assert_eq!(json(run(&rep, &["status", "--json"]))["unsent"], 1);
}

#[test]
fn usage_errors_exit_2() {
    let home = Home::new().unwrap();
    for args in [
        &["bogus"][..],
        &["customer", "add"][..],
        &["visit", "add", "--summary", "x"][..],
        &["sync", "--jsn"][..],
        &[][..],
    ] {
        let out = home.run(args).unwrap();
        assert_eq!(out.code, Some(2), "{args:?}: {out:?}");
        assert!(out.stderr.contains("Usage"), "{args:?}: {}", out.stderr);
    }
    assert_eq!(home.run(&["--help"]).unwrap().code, Some(0));
}

#[test]
fn trip_plans_and_expense_claims_go_through_approval_and_a_handover_moves_customers() {
    let org = common::org();
    let url = org.server.url();
    let rep = logged_in(&url, "li");
    let manager = logged_in(&url, "zhang");
    let other_rep = logged_in(&url, "wang");

    // The rep plans a trip and claims its expenses, offline, and submits both.
    let trip = run(
        &rep,
        &[
            "trip",
            "add",
            "--title",
            "华东出差",
            "--start",
            "2026-11-24",
            "--end",
            "2026-11-27",
            "--city",
            "苏州",
            "--budget",
            "3000",
        ],
    )
    .ok()
    .trim()
    .to_string();
    run(&rep, &["trip", "submit", &trip]).ok();
    let claim = run(
        &rep,
        &["expense", "add", "--title", "11月差旅", "--trip", &trip],
    )
    .ok()
    .trim()
    .to_string();
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
            "128.50",
        ],
    )
    .ok();
    run(
        &rep,
        &[
            "expense",
            "item",
            &claim,
            "--date",
            "2026-11-25",
            "--category",
            "lodging",
            "--amount",
            "420",
        ],
    )
    .ok();
    run(&rep, &["expense", "submit", &claim]).ok();
    run(&rep, &["sync"]).ok();

    // The manager sees them waiting, approves the trip, rejects the claim.
    run(&manager, &["sync"]).ok();
    let waiting = json(run(
        &manager,
        &[
            "trip",
            "list",
            "--approver",
            "zhang",
            "--status",
            "submitted",
            "--json",
        ],
    ));
    assert_eq!(waiting.as_array().unwrap().len(), 1, "{waiting}");
    assert_eq!(waiting[0]["id"], trip.as_str());
    run(&manager, &["trip", "approve", &trip, "--note", "同意"]).ok();
    run(&manager, &["expense", "reject", &claim, "--note", "缺发票"]).ok();
    run(&manager, &["sync"]).ok();

    // The rep sees the decisions and the claim's total.
    run(&rep, &["sync"]).ok();
    let trips = json(run(&rep, &["trip", "list", "--json"]));
    assert_eq!(trips[0]["status"], "approved", "{trips}");
    let claims = json(run(&rep, &["expense", "list", "--json"]));
    assert_eq!(claims[0]["status"], "rejected", "{claims}");
    assert_eq!(claims[0]["total_amount"], 54_850, "{claims}");
    // The rep cannot decide: the device refuses at once, with the server's reason, and the
    // plan stays as it was (nothing to quarantine, nothing lost).
    let own = run(
        &rep,
        &[
            "trip",
            "add",
            "--title",
            "自批",
            "--start",
            "2026-12-01",
            "--end",
            "2026-12-02",
            "--city",
            "杭州",
        ],
    )
    .ok()
    .trim()
    .to_string();
    user_error(
        run(&rep, &["trip", "approve", &own]),
        "this trip plan is draft: it cannot be approved or rejected",
    );
    run(&rep, &["trip", "submit", &own]).ok();
    run(&rep, &["sync"]).ok();
    user_error(
        run(&rep, &["trip", "approve", &own]),
        "cannot approve or reject your own trip plan",
    );
    run(&rep, &["sync"]).ok();
    let quarantine = json(run(&rep, &["quarantine", "--json"]));
    assert_eq!(quarantine.as_array().map(Vec::len), Some(0), "{quarantine}");
    let plans = json(run(&rep, &["trip", "list", "--json"]));
    let kept = plans
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == own.as_str())
        .unwrap();
    assert_eq!(kept["status"], "submitted", "{plans}");

    // Handover: the manager gives li's customers to wang.
    let customer = run(&rep, &["customer", "add", "--name", "交接客户"])
        .ok()
        .trim()
        .to_string();
    run(&rep, &["sync"]).ok();
    user_error(
        run(&rep, &["handover", "--from", "li", "--to", "wang"]),
        "manager",
    );
    let moved = run(&manager, &["handover", "--from", "li", "--to", "wang"])
        .ok()
        .to_string();
    assert!(moved.contains('1'), "{moved}");
    run(&rep, &["sync"]).ok();
    assert!(
        json(run(&rep, &["customer", "list", "--json"]))["customers"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    run(&other_rep, &["sync"]).ok();
    let theirs = json(run(&other_rep, &["customer", "show", &customer, "--json"]));
    assert_eq!(theirs["owner"], "wang");
}
