//! The KPIs of a scripted November, computed by `report::kpi` from a real store file, against
//! figures worked out by hand below from the events the test writes (docs/KPI.md defines
//! each). Every time is written into the documents directly, so the month is the same
//! whenever the test runs; the end-to-end version through the command line and the server is
//! `tests/tests/kpi_month_e2e.rs`.
#![allow(clippy::unwrap_used)]

use chrono::{DateTime, NaiveDate, Utc};
use fieldsync_core::Store;
use fieldsync_core::ids::new_id;
use fieldsync_core::model::complaint::{
    ComplaintCategory, ComplaintChannel, ComplaintStatus, NewComplaint, Priority, ResponseHours,
};
use fieldsync_core::model::customer::{NewCustomer, Tier};
use fieldsync_core::model::expense_claim::{
    ClaimStatus, ExpenseCategory, ExpenseItem, NewExpenseClaim,
};
use fieldsync_core::model::fields::Money;
use fieldsync_core::model::order::{NewOrder, OrderLine, OrderStatus};
use fieldsync_core::model::target::NewTarget;
use fieldsync_core::model::visit::NewVisit;
use fieldsync_core::model::workflow::StepTaken;
use fieldsync_core::report::kpi::{Kpi, Period, kpi};

const NOON: &str = "T12:00:00Z";

fn customer(s: &Store, owner: &str, tier: Tier, created: &str) -> String {
    s.create(
        NewCustomer {
            name: format!("{owner} {tier:?}"),
            territory: "east".into(),
            owner: owner.into(),
            created_by: owner.into(),
            tier: Some(tier),
            ..Default::default()
        }
        .build(new_id(), format!("{created}{NOON}"))
        .unwrap(),
    )
    .unwrap()
}

fn visit(s: &Store, customer: &str, author: &str, day: &str) -> String {
    s.create(
        NewVisit {
            customer: customer.into(),
            author: author.into(),
            checkin_at: format!("{day}{NOON}"),
            utc_offset_minutes: 0,
            summary: "回访".into(),
            ..Default::default()
        }
        .build(new_id(), format!("{day}{NOON}"))
        .unwrap(),
    )
    .unwrap()
}

fn step(status: &str, by: &str, at: &str) -> StepTaken {
    StepTaken {
        id: new_id(),
        status: status.into(),
        by: by.into(),
        at: at.into(),
        note: None,
    }
}

/// An order of `owner` dated `day` with `lines` (quantity, unit price, unit cost), taken to
/// `status` by the steps it needs.
fn order(
    s: &Store,
    customer: &str,
    owner: &str,
    day: &str,
    lines: &[(i64, i64, Option<i64>)],
    status: OrderStatus,
) {
    let mut o = NewOrder {
        customer: customer.into(),
        owner: owner.into(),
        date: day.into(),
        ..Default::default()
    }
    .build(new_id(), format!("{day}{NOON}"))
    .unwrap();
    for (quantity, price, cost) in lines {
        o.lines.push(OrderLine {
            id: new_id(),
            product: "B-6204".into(),
            name: "深沟球轴承".into(),
            quantity: *quantity,
            unit: "box".into(),
            unit_price: *price,
            unit_cost: *cost,
        });
    }
    let path: &[&str] = match status {
        OrderStatus::Draft => &[],
        OrderStatus::Submitted => &["submitted"],
        OrderStatus::Confirmed => &["submitted", "confirmed"],
        OrderStatus::Shipped => &["submitted", "confirmed", "shipped"],
        OrderStatus::Paid => &["submitted", "confirmed", "shipped", "paid"],
        OrderStatus::Cancelled => &["submitted", "cancelled"],
    };
    for status in path {
        o.history
            .push(step(status, "zhang", &format!("{day}{NOON}")));
    }
    o.status = status;
    s.create(o).unwrap();
}

fn complaint(
    s: &Store,
    customer: &str,
    priority: Priority,
    received: &str,
    steps: &[(&str, &str)],
    followup: Option<String>,
) {
    let mut c = NewComplaint {
        customer: customer.into(),
        recorded_by: "li".into(),
        received_at: received.into(),
        channel: ComplaintChannel::Phone,
        category: ComplaintCategory::Quality,
        priority,
        summary: "轴承异响".into(),
        assignee: None,
    }
    .build(new_id(), received.into())
    .unwrap();
    for (status, at) in steps {
        c.history.push(step(status, "zhang", at));
        c.status = status.parse::<ComplaintStatus>().unwrap();
    }
    c.followup_visit = followup;
    s.create(c).unwrap();
}

fn claim(s: &Store, owner: &str, amounts: &[i64], status: ClaimStatus, decided: Option<&str>) {
    let mut c = NewExpenseClaim {
        owner: owner.into(),
        approver: "zhang".into(),
        title: "11月差旅".into(),
        ..Default::default()
    }
    .build(new_id(), "2026-11-01T08:00:00Z".into())
    .unwrap();
    for amount in amounts {
        c.items.push(ExpenseItem {
            id: new_id(),
            date: "2026-11-01".into(),
            category: ExpenseCategory::Transport,
            amount: Money::cny(*amount),
            description: None,
            invoice_photo: None,
            receipt: None,
        });
    }
    c.status = status;
    c.submitted_at = Some("2026-11-01T09:00:00Z".into());
    if let Some(at) = decided {
        c.decided_at = Some(at.into());
        c.decided_by = Some("zhang".into());
    }
    s.create(c).unwrap();
}

fn target(s: &Store, rep: &str, sales: i64, visits: i64, new_customers: i64) {
    s.create(
        NewTarget {
            owner: rep.into(),
            month: "2026-11".into(),
            sales,
            visits,
            new_customers,
            set_by: "zhang".into(),
        }
        .build(new_id(), "2026-10-28T08:00:00Z".into())
        .unwrap(),
    )
    .unwrap();
}

fn time(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// November 2026 of li and wang, zhang's reps.
fn november(s: &Store) {
    // li: an A customer new in November, a B customer from October. wang: a C customer, new.
    let c1 = customer(s, "li", Tier::A, "2026-11-03");
    let c2 = customer(s, "li", Tier::B, "2026-10-20");
    let c3 = customer(s, "wang", Tier::C, "2026-11-10");
    target(s, "li", 100_000, 5, 2);
    target(s, "wang", 50_000, 3, 1);

    // c1 (every 7 days): Nov 2; Nov 8 (due Nov 9: on time); Nov 20 (due Nov 15: late); then due
    // Nov 27, never done. c2 (every 14 days): Oct 25; Nov 8 (due Nov 8: on time); due Nov 22,
    // never done. c3 (every 30 days): Nov 11, next due Dec 11, after the month.
    visit(s, &c1, "li", "2026-11-02");
    visit(s, &c1, "li", "2026-11-08");
    let followup = visit(s, &c1, "li", "2026-11-20");
    visit(s, &c2, "li", "2026-10-25");
    visit(s, &c2, "li", "2026-11-08");
    visit(s, &c3, "wang", "2026-11-11");

    // li: confirmed 10 × 10.00 at cost 6.00; paid 2 × 200.00 without a cost; a cancelled and a
    // submitted order (neither counts); an October sale of 250.00.
    order(
        s,
        &c1,
        "li",
        "2026-11-05",
        &[(10, 1000, Some(600))],
        OrderStatus::Confirmed,
    );
    order(
        s,
        &c2,
        "li",
        "2026-11-12",
        &[(2, 20_000, None)],
        OrderStatus::Paid,
    );
    order(
        s,
        &c1,
        "li",
        "2026-11-15",
        &[(1, 5000, None)],
        OrderStatus::Cancelled,
    );
    order(
        s,
        &c1,
        "li",
        "2026-11-20",
        &[(1, 7000, None)],
        OrderStatus::Submitted,
    );
    order(
        s,
        &c2,
        "li",
        "2026-10-10",
        &[(1, 25_000, None)],
        OrderStatus::Confirmed,
    );
    // wang: shipped 3 × 100.00 at cost 70.00.
    order(
        s,
        &c3,
        "wang",
        "2026-11-18",
        &[(3, 10_000, Some(7000))],
        OrderStatus::Shipped,
    );

    // c1: urgent (4 hours), handled after 6 and closed; high, received Nov 28, never looked
    // into. c3: normal (72 hours), handled after 24.
    complaint(
        s,
        &c1,
        Priority::Urgent,
        "2026-11-10T08:00:00Z",
        &[
            ("investigating", "2026-11-10T09:00:00Z"),
            ("handled", "2026-11-10T14:00:00Z"),
            ("followed_up", "2026-11-20T12:00:00Z"),
            ("closed", "2026-11-20T13:00:00Z"),
        ],
        Some(followup),
    );
    complaint(s, &c1, Priority::High, "2026-11-28T08:00:00Z", &[], None);
    complaint(
        s,
        &c3,
        Priority::Normal,
        "2026-11-12T08:00:00Z",
        &[
            ("investigating", "2026-11-12T10:00:00Z"),
            ("handled", "2026-11-13T08:00:00Z"),
        ],
        None,
    );

    // li: 300.00 + 20.00 approved in November, 50.00 still submitted, 99.99 approved in October.
    // wang: 120.00 decided in November and paid since.
    claim(
        s,
        "li",
        &[30_000, 2000],
        ClaimStatus::Approved,
        Some("2026-11-20T10:00:00Z"),
    );
    claim(s, "li", &[5000], ClaimStatus::Submitted, None);
    claim(
        s,
        "li",
        &[9999],
        ClaimStatus::Approved,
        Some("2026-10-30T10:00:00Z"),
    );
    let mut paid = NewExpenseClaim {
        owner: "wang".into(),
        approver: "zhang".into(),
        title: "客户拜访".into(),
        ..Default::default()
    }
    .build(new_id(), "2026-11-01T08:00:00Z".into())
    .unwrap();
    paid.items.push(ExpenseItem {
        id: new_id(),
        date: "2026-11-11".into(),
        category: ExpenseCategory::Lodging,
        amount: Money::cny(12_000),
        description: None,
        invoice_photo: None,
        receipt: None,
    });
    paid.status = ClaimStatus::Paid;
    paid.submitted_at = Some("2026-11-12T09:00:00Z".into());
    paid.decided_at = Some("2026-11-25T10:00:00Z".into());
    paid.decided_by = Some("zhang".into());
    paid.paid_at = Some("2026-11-28T10:00:00Z".into());
    paid.paid_by = Some("admin".into());
    s.create(paid).unwrap();
}

fn figures(reps: &[&str]) -> Kpi {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(dir.path().join("manager.db")).unwrap();
    november(&s);
    let reps: Vec<String> = reps.iter().map(|r| r.to_string()).collect();
    kpi(
        &s,
        &reps,
        &Period::parse("2026-11").unwrap(),
        &ResponseHours::default(),
        NaiveDate::from_ymd_opt(2026, 12, 3).unwrap(),
        time("2026-12-03T08:00:00Z"),
    )
    .unwrap()
}

#[test]
fn a_reps_month_is_what_was_worked_out_by_hand() {
    let li = figures(&["li"]);
    // Sales: 10 × 1000 + 2 × 20000; gross profit 10 × (1000 − 600).
    assert_eq!((li.sales, li.gross_profit), (50_000, 4000));
    assert_eq!((li.orders_confirmed, li.orders_cancelled), (2, 1));
    assert_eq!(
        (li.sales_target, li.sales_achievement),
        (100_000, Some(50.0))
    );
    // October: 25000; growth (50000 − 25000) / 25000.
    assert_eq!((li.sales_previous, li.sales_growth), (25_000, Some(100.0)));
    assert_eq!((li.sales_year_before, li.sales_growth_year), (0, None));
    // Nov 2, Nov 8, Nov 20 at c1, Nov 8 at c2.
    assert_eq!((li.visits, li.visits_target), (4, 5));
    assert_eq!(li.visits_achievement, Some(80.0));
    assert_eq!((li.new_customers, li.new_customers_target), (1, 2));
    // Due Nov 9 (done), Nov 15 (late), Nov 27 (never) at c1; Nov 8 (done), Nov 22 (never) at c2.
    assert_eq!((li.followups_due, li.followups_on_time), (5, 2));
    assert_eq!(li.followup_compliance, Some(40.0));
    // c1 was due Nov 27, c2 Nov 22: both before Dec 3.
    assert_eq!(li.customers_overdue, 2);
    // The urgent one handled after 6 hours (deadline 4), the high one not yet.
    assert_eq!(li.complaints_received, 2);
    assert_eq!(
        (li.complaints_handled, li.complaints_handled_in_time),
        (1, 0)
    );
    assert_eq!(li.complaints_in_time_rate, Some(0.0));
    assert_eq!(li.complaint_median_hours, Some(6.0));
    // Open: the high one (the urgent one is closed); overdue: it, past Nov 29 08:00.
    assert_eq!((li.complaints_open, li.complaints_overdue), (1, 1));
    // 300.00 + 20.00; 32000 / 4000.
    assert_eq!(li.trip_expenses, 32_000);
    assert_eq!(li.trip_efficiency, Some(8.0));
    assert!(li.by_rep.is_empty());
}

#[test]
fn a_teams_month_adds_up_its_reps() {
    let wang = figures(&["wang"]);
    assert_eq!((wang.sales, wang.gross_profit), (30_000, 9000));
    assert_eq!(wang.sales_achievement, Some(60.0));
    assert_eq!((wang.visits, wang.new_customers), (1, 1));
    assert_eq!((wang.followups_due, wang.followups_on_time), (0, 0));
    assert_eq!(wang.followup_compliance, None);
    assert_eq!(wang.customers_overdue, 0);
    assert_eq!(
        (wang.complaints_received, wang.complaints_handled_in_time),
        (1, 1)
    );
    assert_eq!(wang.complaint_median_hours, Some(24.0));
    assert_eq!((wang.complaints_open, wang.complaints_overdue), (1, 0));
    assert_eq!(wang.trip_expenses, 12_000);
    // 12000 / 9000, to four decimals.
    assert_eq!(wang.trip_efficiency, Some(1.3333));

    let team = figures(&["li", "wang"]);
    assert_eq!((team.sales, team.sales_target), (80_000, 150_000));
    assert_eq!(team.sales_achievement, Some(53.33));
    assert_eq!((team.visits, team.visits_target), (5, 8));
    assert_eq!((team.new_customers, team.new_customers_target), (2, 3));
    assert_eq!((team.followups_due, team.followups_on_time), (5, 2));
    assert_eq!(
        (team.complaints_received, team.complaints_handled_in_time),
        (3, 1)
    );
    // Median of 6 and 24 hours.
    assert_eq!(team.complaint_median_hours, Some(15.0));
    assert_eq!((team.trip_expenses, team.gross_profit), (44_000, 13_000));
}

#[test]
fn two_visits_on_one_day_are_one_contact_for_the_follow_ups() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(dir.path().join("rep.db")).unwrap();
    let c = customer(&s, "li", Tier::A, "2026-10-01");
    visit(&s, &c, "li", "2026-11-03");
    visit(&s, &c, "li", "2026-11-03");
    let k = kpi(
        &s,
        &["li".to_string()],
        &Period::parse("2026-11").unwrap(),
        &ResponseHours::default(),
        NaiveDate::from_ymd_opt(2026, 12, 3).unwrap(),
        time("2026-12-03T08:00:00Z"),
    )
    .unwrap();
    // Due Nov 10, once; nobody came back.
    assert_eq!((k.followups_due, k.followups_on_time), (1, 0));
    assert_eq!(k.visits, 2);
}
