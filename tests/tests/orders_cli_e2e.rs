//! End-to-end tests of the `fieldsync` commands for orders, complaints, targets and the due
//! lists: the real `fieldsync-server` on 127.0.0.1 and the real `fieldsync` binary, one
//! temporary `--home` per device, every process in UTC. Where a step must have happened days or
//! hours ago, that device's process runs under libfaketime.
#![allow(clippy::unwrap_used)]

mod common;

use chrono::{Duration, Utc};
use common::cli::{
    faketime_available, history, ids, json_utc as show, logged_in, ok_utc as ok, order_item,
    run_at, run_utc, user_error,
};
use fieldsync_tests::cli::Home;
use serde_json::Value;

fn sync(homes: &[&Home]) {
    for h in homes {
        ok(h, &["sync"]);
    }
}

#[test]
fn an_order_goes_from_the_reps_draft_to_paid_and_only_a_manager_confirms_it() {
    let org = common::org();
    let url = org.server.url();
    let rep = logged_in(&url, "li");
    let manager = logged_in(&url, "zhang");

    // The rep takes an order offline: a draft with two lines.
    let customer = ok(
        &rep,
        &["customer", "add", "--name", "苏州精工", "--tier", "A"],
    );
    let order = ok(
        &rep,
        &[
            "order",
            "add",
            "--customer",
            &customer,
            "--number",
            "SO-2026-001",
            "--delivery",
            "2026-12-20",
            "--terms",
            "月结30天",
            "--note",
            "春节前到货",
        ],
    );
    let added = ok(
        &rep,
        &order_item(
            &order,
            "BRG-6204",
            "深沟球轴承",
            "10",
            "120.50",
            &["--cost", "80", "--unit", "box"],
        ),
    );
    assert!(added.contains("1 line(s), total 1205.00 CNY"), "{added}");
    ok(
        &rep,
        &order_item(&order, "SEAL-30", "油封", "3", "999.99", &[]),
    );
    let draft = show(&rep, &["order", "show", &order, "--json"]);
    assert_eq!(draft["status"], "draft");
    assert_eq!(draft["number"], "SO-2026-001");
    assert_eq!(draft["owner"], "li");
    assert_eq!(draft["payment_terms"], "月结30天");
    assert_eq!(draft["delivery_date"], "2026-12-20");
    assert_eq!(draft["lines"].as_array().unwrap().len(), 2, "{draft}");
    assert_eq!(draft["lines"][0]["unit"], "box");
    assert_eq!(draft["lines"][1]["unit"], "piece", "the default unit");
    // 10 × 120.50 + 3 × 999.99 yuan; profit (120.50 − 80) × 10, the second line has no cost.
    assert_eq!(draft["total"], 10 * 12_050 + 3 * 99_999);
    assert_eq!(draft["gross_profit"], (12_050 - 8_000) * 10);

    // Money is typed in yuan: more than two decimals or a negative price is refused.
    user_error(
        run_utc(&rep, &order_item(&order, "X", "X", "1", "1.005", &[])),
        "is not an amount",
    );
    user_error(
        run_utc(&rep, &order_item(&order, "X", "X", "1", "-5", &[])),
        "amounts cannot be negative",
    );

    ok(&rep, &["order", "submit", &order]);
    let submitted = show(&rep, &["order", "show", &order, "--json"]);
    assert_eq!(submitted["status"], "submitted");

    // The rep cannot confirm their own order: a clear message, exit 1, and nothing changes,
    // here or (after a sync) on the server.
    let refused = run_utc(&rep, &["order", "confirm", &order]);
    assert!(
        refused.stderr.contains("confirmed") && refused.stderr.contains("manager"),
        "{refused:?}"
    );
    user_error(refused, "you cannot make your own order confirmed");
    assert_eq!(
        show(&rep, &["order", "show", &order, "--json"]),
        submitted,
        "a refused step changes nothing"
    );
    // Nor add a line to a submitted order, nor cancel it (a manager does, once submitted).
    user_error(
        run_utc(&rep, &order_item(&order, "X", "X", "1", "1", &[])),
        "submitted",
    );
    user_error(run_utc(&rep, &["order", "cancel", &order]), "cancelled");
    sync(&[&rep]);
    let status = show(&rep, &["status", "--json"]);
    assert_eq!(status["unsent"], 0, "{status}");
    assert_eq!(
        show(&rep, &["quarantine", "--json"]),
        Value::Array(vec![]),
        "nothing refused by the server"
    );

    // The manager sees it waiting, and confirms, ships and records the payment.
    sync(&[&manager]);
    let waiting = show(
        &manager,
        &["order", "list", "--status", "submitted", "--json"],
    );
    assert_eq!(ids(&waiting), vec![order.clone()], "{waiting}");
    assert_eq!(waiting[0]["customer_name"], "苏州精工");
    assert_eq!(waiting[0]["total_amount"], 420_497);
    assert_eq!(waiting[0]["line_count"], 2);
    assert_eq!(ok(&manager, &["order", "confirm", &order]), "confirmed");
    assert_eq!(ok(&manager, &["order", "ship", &order]), "shipped");
    assert_eq!(ok(&manager, &["order", "pay", &order]), "paid");
    sync(&[&manager]);

    // Back on the rep's device: paid, with every step and who took it.
    sync(&[&rep]);
    let paid = show(&rep, &["order", "show", &order, "--json"]);
    assert_eq!(paid["status"], "paid", "{paid}");
    assert_eq!(
        history(&paid),
        [
            "submitted by li",
            "confirmed by zhang",
            "shipped by zhang",
            "paid by zhang"
        ]
    );
    assert_eq!(
        paid["lines"], draft["lines"],
        "the lines as the rep wrote them"
    );
    assert_eq!(paid["total"], 420_497);
    let text = ok(&rep, &["order", "show", &order]);
    for expected in [
        "SO-2026-001",
        "苏州精工",
        "4204.97 CNY",
        "405.00 CNY",
        "BRG-6204 深沟球轴承 × 10 box @ 120.50 CNY, cost 80.00 CNY = 1205.00 CNY",
        "paid by zhang",
        "submitted by li",
    ] {
        assert!(text.contains(expected), "{expected:?} in:\n{text}");
    }
    let mine = show(&rep, &["order", "list", "--owner", "li", "--json"]);
    assert_eq!(ids(&mine), vec![order.clone()]);
    let listed = ok(&rep, &["order", "list", "--customer", &customer]);
    assert!(
        listed.contains("SO-2026-001") && listed.contains("paid"),
        "{listed}"
    );

    // A second order: the rep may cancel a draft, a manager cancels a submitted one, saying
    // why.
    let dropped = ok(&rep, &["order", "add", "--customer", &customer]);
    assert_eq!(
        ok(&rep, &["order", "cancel", &dropped, "--note", "客户改主意"]),
        "cancelled"
    );
    let second = ok(
        &rep,
        &[
            "order",
            "add",
            "--customer",
            &customer,
            "--date",
            "2026-11-30",
        ],
    );
    ok(&rep, &order_item(&second, "P", "样品", "1", "10", &[]));
    ok(&rep, &["order", "submit", &second]);
    sync(&[&rep, &manager]);
    ok(
        &manager,
        &["order", "cancel", &second, "--note", "价格未谈妥"],
    );
    sync(&[&manager, &rep]);
    let cancelled = show(&rep, &["order", "show", &second, "--json"]);
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["date"], "2026-11-30");
    assert_eq!(cancelled["history"][1]["note"], "价格未谈妥");
    let gone = show(&rep, &["order", "list", "--status", "cancelled", "--json"]);
    let mut gone = ids(&gone);
    gone.sort();
    let mut expected = vec![dropped.clone(), second.clone()];
    expected.sort();
    assert_eq!(gone, expected);
    // A paid order does not move any more.
    user_error(
        run_utc(&manager, &["order", "cancel", &order]),
        "cannot go from paid to cancelled",
    );
    user_error(
        run_utc(&rep, &["order", "list", "--status", "lost"]),
        "'lost'",
    );
}

#[test]
fn a_complaint_goes_round_its_loop_to_closed_with_its_follow_up_visit() {
    let org = common::org();
    let url = org.server.url();
    let rep = logged_in(&url, "li");
    let manager = logged_in(&url, "zhang");

    let customer = ok(&rep, &["customer", "add", "--name", "无锡轴承厂"]);
    let complaint = ok(
        &rep,
        &[
            "complaint",
            "add",
            "--customer",
            &customer,
            "--category",
            "quality",
            "--priority",
            "high",
            "--summary",
            "第二批货有锈迹",
            "--channel",
            "phone",
        ],
    );
    let fresh = show(&rep, &["complaint", "show", &complaint, "--json"]);
    assert_eq!(fresh["status"], "received");
    assert_eq!(fresh["recorded_by"], "li");
    assert_eq!(fresh["channel"], "phone");
    assert_eq!(fresh["overdue"], false);
    // A high-priority complaint is to be answered within 24 hours of being received.
    let received: chrono::DateTime<Utc> = fresh["received_at"].as_str().unwrap().parse().unwrap();
    let respond_by: chrono::DateTime<Utc> = fresh["respond_by"].as_str().unwrap().parse().unwrap();
    assert_eq!(respond_by - received, Duration::hours(24), "{fresh}");
    assert!(
        (Utc::now() - received).num_minutes().abs() < 5,
        "received now: {fresh}"
    );

    // Only its assignee or a manager moves it: the manager assigns it to the rep.
    user_error(
        run_utc(
            &rep,
            &["complaint", "step", &complaint, "--to", "investigating"],
        ),
        "assignee",
    );
    sync(&[&rep, &manager]);
    assert_eq!(
        ok(&manager, &["complaint", "assign", &complaint, "--to", "li"]),
        "assigned to li"
    );
    sync(&[&manager, &rep]);
    for (to, note) in [("investigating", "已联系仓库"), ("handled", "已换货")] {
        assert_eq!(
            ok(
                &rep,
                &["complaint", "step", &complaint, "--to", to, "--note", note]
            ),
            to
        );
    }
    // Followed up only with the visit that followed it up, one to the same customer.
    user_error(
        run_utc(
            &rep,
            &["complaint", "step", &complaint, "--to", "followed_up"],
        ),
        "name that visit",
    );
    let elsewhere = ok(&rep, &["customer", "add", "--name", "别的客户"]);
    let wrong_visit = ok(
        &rep,
        &[
            "visit",
            "add",
            "--customer",
            &elsewhere,
            "--summary",
            "例行拜访",
        ],
    );
    user_error(
        run_utc(
            &rep,
            &[
                "complaint",
                "step",
                &complaint,
                "--to",
                "followed_up",
                "--visit",
                &wrong_visit,
            ],
        ),
        "another customer",
    );
    let visit = ok(
        &rep,
        &[
            "visit",
            "add",
            "--customer",
            &customer,
            "--type",
            "after_sales",
            "--summary",
            "回访：客户对换货满意",
        ],
    );
    ok(
        &rep,
        &[
            "complaint",
            "step",
            &complaint,
            "--to",
            "followed_up",
            "--visit",
            &visit,
        ],
    );
    assert_eq!(
        ok(&rep, &["complaint", "step", &complaint, "--to", "closed"]),
        "closed"
    );
    sync(&[&rep, &manager]);

    // The manager's device shows the loop closed, with its visit and every step.
    let closed = show(&manager, &["complaint", "show", &complaint, "--json"]);
    assert_eq!(closed["status"], "closed", "{closed}");
    assert_eq!(closed["followup_visit"], visit.as_str());
    assert_eq!(closed["assignee"], "li");
    assert_eq!(
        history(&closed),
        [
            "investigating by li",
            "handled by li",
            "followed_up by li",
            "closed by li"
        ]
    );
    assert_eq!(closed["history"][1]["note"], "已换货");
    let text = ok(&manager, &["complaint", "show", &complaint]);
    for expected in [
        "无锡轴承厂",
        "第二批货有锈迹",
        "respond by:",
        "closed by li",
        &visit,
    ] {
        assert!(text.contains(expected), "{expected:?} in:\n{text}");
    }
    let open = show(&manager, &["complaint", "list", "--open", "--json"]);
    assert!(
        !ids(&open).contains(&complaint),
        "closed is not open: {open}"
    );
    let all = show(&manager, &["complaint", "list", "--json"]);
    assert_eq!(ids(&all), vec![complaint.clone()]);

    // Overdue: urgent (4 hours) and received 5 hours ago, nobody has looked into it. Not
    // overdue: urgent but received an hour ago, or normal (72 hours) and received 5 hours ago.
    let ago = |hours: i64| {
        (Utc::now() - Duration::hours(hours))
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    };
    let add = |priority: &str, received_at: &str, summary: &str| {
        ok(
            &rep,
            &[
                "complaint",
                "add",
                "--customer",
                &customer,
                "--category",
                "logistics",
                "--priority",
                priority,
                "--summary",
                summary,
                "--received-at",
                received_at,
            ],
        )
    };
    let late = add("urgent", &ago(5), "货到晚了两天，产线停工");
    let recent = add("urgent", &ago(1), "司机态度差");
    let slow = add("normal", &ago(5), "包装破损");
    let overdue = show(&rep, &["complaint", "list", "--overdue", "--json"]);
    assert_eq!(ids(&overdue), vec![late.clone()], "{overdue}");
    assert_eq!(overdue[0]["priority"], "urgent");
    assert_eq!(overdue[0]["status"], "received");
    assert_eq!(overdue[0]["overdue"], true);
    let shown = show(&rep, &["complaint", "show", &late, "--json"]);
    assert_eq!(shown["overdue"], true);
    assert_eq!(shown["respond_by"].as_str().unwrap(), {
        let r: chrono::DateTime<Utc> = shown["received_at"].as_str().unwrap().parse().unwrap();
        (r + Duration::hours(4))
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    });
    assert!(
        ok(&rep, &["complaint", "show", &late]).contains("overdue"),
        "the text says so"
    );
    let table = ok(&rep, &["complaint", "list", "--overdue"]);
    assert!(table.contains(&late) && !table.contains(&recent), "{table}");
    let open = show(&rep, &["complaint", "list", "--open", "--json"]);
    let mut open = ids(&open);
    open.sort();
    let mut expected = vec![late.clone(), recent.clone(), slow.clone()];
    expected.sort();
    assert_eq!(open, expected, "three open, the closed one not");

    // Once someone looks into it, it is no longer waiting for its first response.
    sync(&[&rep, &manager]);
    ok(
        &manager,
        &["complaint", "step", &late, "--to", "investigating"],
    );
    let overdue = show(&manager, &["complaint", "list", "--overdue", "--json"]);
    assert_eq!(ids(&overdue), Vec::<String>::new(), "{overdue}");
    user_error(
        run_utc(
            &rep,
            &[
                "complaint",
                "add",
                "--customer",
                &customer,
                "--category",
                "price",
                "--priority",
                "normal",
                "--summary",
                "太贵",
            ],
        ),
        "'price'",
    );
}

#[test]
fn targets_are_set_by_the_manager_and_read_by_the_rep() {
    let org = common::org();
    let url = org.server.url();
    let rep = logged_in(&url, "li");
    let manager = logged_in(&url, "zhang");

    let first = ok(
        &manager,
        &[
            "target",
            "set",
            "--rep",
            "li",
            "--month",
            "2026-12",
            "--sales",
            "100000",
            "--visits",
            "20",
            "--new-customers",
            "3",
        ],
    );
    // Set again: the same target, only the figure given changes.
    let again = ok(
        &manager,
        &[
            "target", "set", "--rep", "li", "--month", "2026-12", "--visits", "25",
        ],
    );
    assert_eq!(again, first);
    ok(
        &manager,
        &[
            "target", "set", "--rep", "wang", "--month", "2026-12", "--sales", "80000.50",
        ],
    );
    user_error(
        run_utc(
            &manager,
            &[
                "target", "set", "--rep", "zhang", "--month", "2026-12", "--visits", "1",
            ],
        ),
        "you cannot set your own target",
    );
    user_error(
        run_utc(
            &manager,
            &["target", "set", "--rep", "li", "--month", "2026-13"],
        ),
        "is not a month",
    );
    sync(&[&manager]);

    sync(&[&rep]);
    let mine = show(&rep, &["target", "list", "--json"]);
    let rows = mine.as_array().unwrap();
    assert_eq!(rows.len(), 1, "the rep sees their own target only: {mine}");
    assert_eq!(rows[0]["id"], first.as_str());
    assert_eq!(rows[0]["rep"], "li");
    assert_eq!(rows[0]["month"], "2026-12");
    assert_eq!(rows[0]["sales"], 10_000_000, "100000 yuan in fen");
    assert_eq!(rows[0]["visits"], 25);
    assert_eq!(rows[0]["new_customers"], 3);
    assert_eq!(rows[0]["set_by"], "zhang");
    let text = ok(&rep, &["target", "list", "--month", "2026-12"]);
    assert!(
        text.contains("100000.00 CNY") && text.contains("zhang"),
        "{text}"
    );
    // The KPI report reads the same target.
    let kpi = show(&rep, &["report", "kpi", "--month", "2026-12", "--json"]);
    assert_eq!(kpi["reps"], serde_json::json!(["li"]));
    assert_eq!(kpi["sales_target"], 10_000_000);
    assert_eq!(kpi["visits_target"], 25);
    assert_eq!(kpi["new_customers_target"], 3);
    assert_eq!(kpi["sales_achievement"], 0.0, "no sales yet: {kpi}");
    assert_eq!(kpi["visits_achievement"], 0.0);
    assert_eq!(
        kpi["followup_compliance"],
        Value::Null,
        "nothing due: {kpi}"
    );
    user_error(
        run_utc(&rep, &["report", "kpi", "--month", "2026-Q4"]),
        "use --quarter 2026-Q4",
    );
    user_error(
        run_utc(&rep, &["report", "kpi", "--quarter", "2026-11"]),
        "use --quarter YYYY-Qn, or --month 2026-11",
    );
    user_error(
        run_utc(&rep, &["report", "kpi", "--quarter", "2026-Q5"]),
        "is not a month (2026-11) or a quarter (2026-Q4)",
    );
    let both = run_utc(&rep, &["report", "kpi", "--rep", "li", "--team"]);
    assert_eq!(both.code, Some(2), "a usage error: {both:?}");

    // The manager's list has both reps, and narrows by rep and month.
    let wang = show(&manager, &["target", "list", "--rep", "wang", "--json"]);
    assert_eq!(wang[0]["sales"], 8_000_050, "{wang}");
    let all = show(
        &manager,
        &["target", "list", "--month", "2026-12", "--json"],
    );
    assert_eq!(all.as_array().unwrap().len(), 2, "{all}");
    let none = show(
        &manager,
        &["target", "list", "--month", "2027-01", "--json"],
    );
    assert_eq!(none, Value::Array(vec![]));

    // A rep sets no targets, their own included; nothing is written.
    user_error(
        run_utc(
            &rep,
            &[
                "target", "set", "--rep", "li", "--month", "2026-12", "--sales", "1",
            ],
        ),
        "a rep does not set targets",
    );
    assert_eq!(show(&rep, &["target", "list", "--json"]), mine);
    let status = show(&rep, &["status", "--json"]);
    assert_eq!(status["unsent"], 0, "{status}");
}

#[test]
fn due_lists_the_follow_up_the_overdue_complaint_and_the_order_waiting_for_confirmation() {
    if !faketime_available("the due-list test") {
        return;
    }
    let org = common::org();
    let url = org.server.url();
    let rep = logged_in(&url, "li");
    let manager = logged_in(&url, "zhang");
    let now = Utc::now().naive_utc();

    // A tier-A customer (every 7 days) visited exactly a week ago is due today.
    let customer = ok(
        &rep,
        &["customer", "add", "--name", "常州精密", "--tier", "A"],
    );
    run_at(
        &rep,
        now - Duration::days(7),
        &[
            "visit",
            "add",
            "--customer",
            &customer,
            "--summary",
            "上周拜访",
        ],
    )
    .ok();
    // An order submitted four days ago, still not confirmed; another submitted today.
    let waiting = run_at(
        &rep,
        now - Duration::days(4),
        &[
            "order",
            "add",
            "--customer",
            &customer,
            "--number",
            "SO-WAIT",
        ],
    )
    .ok()
    .to_string();
    let fresh = ok(
        &rep,
        &[
            "order",
            "add",
            "--customer",
            &customer,
            "--number",
            "SO-FRESH",
        ],
    );
    for (order, at) in [(&waiting, now - Duration::days(4)), (&fresh, now)] {
        for args in [
            &order_item(order, "P1", "轴承", "2", "50", &[])[..],
            &["order", "submit", order][..],
        ] {
            run_at(&rep, at, args).ok();
        }
    }
    // An urgent complaint received 5 hours ago that nobody has looked into.
    let received = (Utc::now() - Duration::hours(5))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let complaint = ok(
        &rep,
        &[
            "complaint",
            "add",
            "--customer",
            &customer,
            "--category",
            "logistics",
            "--priority",
            "urgent",
            "--summary",
            "发错货",
            "--received-at",
            &received,
        ],
    );

    let check = |home: &Home, who: &str| {
        let due = show(home, &["due", "--json"]);
        let followups: Vec<&str> = due["followups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["customer"].as_str().unwrap())
            .collect();
        assert_eq!(followups, vec![customer.as_str()], "{who}: {due}");
        assert_eq!(due["followups"][0]["reason"], "cadence", "{who}: {due}");
        assert_eq!(
            ids(&due["complaints"]),
            vec![complaint.clone()],
            "{who}: {due}"
        );
        assert_eq!(ids(&due["orders"]), vec![waiting.clone()], "{who}: {due}");
        assert_eq!(due["orders"][0]["number"], "SO-WAIT");
        let text = ok(home, &["due"]);
        for expected in [
            "Follow-ups due by today (1)",
            "常州精密",
            "Complaints past their first-response deadline (1)",
            complaint.as_str(),
            "Orders submitted more than 3 days ago, not confirmed (1)",
            "SO-WAIT",
        ] {
            assert!(text.contains(expected), "{who}: {expected:?} in:\n{text}");
        }
        assert!(!text.contains("SO-FRESH"), "{who}: {text}");
    };
    check(&rep, "the rep");
    sync(&[&rep, &manager]);
    check(&manager, "the manager");

    // Once confirmed and looked into, they are no longer due.
    ok(&manager, &["order", "confirm", &waiting]);
    ok(
        &manager,
        &["complaint", "step", &complaint, "--to", "investigating"],
    );
    let due = show(&manager, &["due", "--json"]);
    assert_eq!(due["complaints"], Value::Array(vec![]), "{due}");
    assert_eq!(due["orders"], Value::Array(vec![]), "{due}");
    let text = ok(&manager, &["due"]);
    assert!(
        text.contains("Orders submitted more than 3 days ago, not confirmed (0)\nnone"),
        "{text}"
    );
}
