//! The queries apps run, over the projections: filters, Chinese full-text search, visit lists,
//! follow-ups by tier cadence or explicit date, trip plans and expense claims.
#![allow(clippy::unwrap_used)]

mod common;

use chrono::NaiveDate;
use common::{device, new_customer};
use fieldsync_core::model::customer::{
    CustomerEdit, CustomerStatus, NewContact, NewCustomer, Tier,
};
use fieldsync_core::model::expense_claim::{ExpenseCategory, ExpenseClaimEdit, NewExpenseClaim};
use fieldsync_core::model::fields::Money;
use fieldsync_core::model::trip_plan::{NewTripPlan, TripPlanEdit};
use fieldsync_core::model::visit::{NewVisit, VisitEdit, VisitType};
use fieldsync_core::store::{CustomerQuery, FollowUpReason, PlanQuery, VisitQuery};

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn visit(author: &str, customer: &str, at: &str, next: Option<&str>) -> NewVisit {
    NewVisit {
        customer: customer.to_string(),
        author: author.to_string(),
        checkin_at: at.to_string(),
        utc_offset_minutes: 480,
        summary: "拜访".to_string(),
        next_followup: next.map(str::to_string),
        ..Default::default()
    }
}

#[test]
fn customers_filter_by_territory_owner_tier_and_status() {
    let d = device("phone");
    let mk = |name: &str, territory: &str, owner: &str, tier: Tier| NewCustomer {
        name: name.into(),
        territory: territory.into(),
        owner: owner.into(),
        tier: Some(tier),
        created_by: owner.into(),
        ..Default::default()
    };
    let a = d
        .store
        .create_customer(mk("甲公司", "east", "li", Tier::A))
        .unwrap();
    let b = d
        .store
        .create_customer(mk("乙公司", "east", "wang", Tier::B))
        .unwrap();
    let c = d
        .store
        .create_customer(mk("丙公司", "north", "li", Tier::A))
        .unwrap();
    d.store
        .update_customer(&c, &[CustomerEdit::Status(CustomerStatus::Active)])
        .unwrap();
    let ids = |q: CustomerQuery| {
        let mut v: Vec<String> = d
            .store
            .list_customers(&q)
            .unwrap()
            .into_iter()
            .map(|r| r.id)
            .collect();
        v.sort();
        v
    };
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    assert_eq!(
        ids(CustomerQuery {
            territory: Some("east".into()),
            ..Default::default()
        }),
        sorted(vec![a.clone(), b.clone()])
    );
    assert_eq!(
        ids(CustomerQuery {
            owner: Some("li".into()),
            ..Default::default()
        }),
        sorted(vec![a.clone(), c.clone()])
    );
    assert_eq!(
        ids(CustomerQuery {
            tier: Some(Tier::B),
            ..Default::default()
        }),
        vec![b.clone()]
    );
    assert_eq!(
        ids(CustomerQuery {
            status: Some(CustomerStatus::Active),
            ..Default::default()
        }),
        vec![c.clone()]
    );
    assert_eq!(
        ids(CustomerQuery {
            owner: Some("li".into()),
            territory: Some("north".into()),
            ..Default::default()
        }),
        vec![c.clone()]
    );
    // Paging: two pages of one row each, in name order, together the first two.
    let p1 = d
        .store
        .list_customers(&CustomerQuery {
            limit: Some(1),
            ..Default::default()
        })
        .unwrap();
    let p2 = d
        .store
        .list_customers(&CustomerQuery {
            limit: Some(1),
            offset: Some(1),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(p1.len(), 1);
    assert_eq!(p2.len(), 1);
    assert_ne!(p1[0].id, p2[0].id);
}

#[test]
fn search_finds_chinese_text_in_name_contacts_city_and_notes() {
    let d = device("phone");
    let target = d
        .store
        .create_customer(new_customer("华东精密机械有限公司"))
        .unwrap();
    let other = d
        .store
        .create_customer(NewCustomer {
            name: "北方重工集团".into(),
            territory: "north".into(),
            owner: "wang".into(),
            city: Some("沈阳".into()),
            notes: "关注环保设备。".into(),
            contacts: vec![NewContact {
                name: "刘洋".into(),
                title: Some("总工".into()),
                ..Default::default()
            }],
            created_by: "wang".into(),
            ..Default::default()
        })
        .unwrap();
    let search = |text: &str| -> Vec<String> {
        d.store
            .list_customers(&CustomerQuery {
                search: Some(text.into()),
                ..Default::default()
            })
            .unwrap()
            .into_iter()
            .map(|r| r.id)
            .collect()
    };
    assert_eq!(
        search("华东"),
        vec![target.clone()],
        "two-character name term"
    );
    assert_eq!(search("金立基"), vec![target.clone()], "contact name");
    assert_eq!(search("苏州"), vec![target.clone()], "city");
    assert_eq!(search("展会"), vec![target.clone()], "notes");
    assert_eq!(search("精密机械"), vec![target.clone()], "four characters");
    assert_eq!(search("环保设备"), vec![other.clone()]);
    assert_eq!(search("刘洋"), vec![other.clone()]);
    assert_eq!(
        search("华东 金立基"),
        vec![target.clone()],
        "every word must match"
    );
    assert!(search("华东 刘洋").is_empty());
    assert!(search("上海").is_empty());
    assert_eq!(search("华"), vec![target.clone()], "one character");
    assert_eq!(
        search("东精"),
        vec![target.clone()],
        "a pair across two words of the name"
    );
    assert!(
        search("东北").is_empty(),
        "both characters, but not adjacent"
    );
    assert!(
        search("100%").is_empty(),
        "LIKE wildcards are taken literally"
    );
    assert!(search("\"").is_empty(), "quotes do not break the query");

    // Notes appended later, and contacts added later, are searchable.
    d.store
        .update_customer(
            &other,
            &[
                CustomerEdit::AppendNotes("计划采购数控机床".into()),
                CustomerEdit::AddContact(NewContact {
                    name: "欧阳娜娜".into(),
                    ..Default::default()
                }),
            ],
        )
        .unwrap();
    assert_eq!(search("数控机床"), vec![other.clone()]);
    assert_eq!(search("欧阳"), vec![other.clone()]);
    // Renamed: the old name no longer matches.
    d.store
        .update_customer(&target, &[CustomerEdit::Name("苏州精工有限公司".into())])
        .unwrap();
    assert!(search("华东").is_empty());
    assert_eq!(search("精工"), vec![target]);
}

#[test]
fn visits_of_a_customer_newest_first_and_of_a_rep_by_local_week() {
    let d = device("laptop");
    let c = d
        .store
        .create_customer(new_customer("金华鑫源五金制品厂"))
        .unwrap();
    let v1 = d
        .store
        .create_visit(visit("li", &c, "2026-11-16T01:00:00Z", None))
        .unwrap();
    let v3 = d
        .store
        .create_visit(visit("li", &c, "2026-11-22T15:30:00Z", None))
        .unwrap(); // 11-22 23:30 local
    let v2 = d
        .store
        .create_visit(visit("li", &c, "2026-11-18T06:00:00Z", None))
        .unwrap();
    let late = d
        .store
        .create_visit(visit("li", &c, "2026-11-22T16:30:00Z", None))
        .unwrap(); // 11-23 00:30 local
    let other = d
        .store
        .create_visit(visit("wang", &c, "2026-11-17T06:00:00Z", None))
        .unwrap();

    let newest: Vec<String> = d
        .store
        .visits_of_customer(&c, 10)
        .unwrap()
        .into_iter()
        .map(|v| v.id)
        .collect();
    assert_eq!(
        newest,
        vec![
            late.clone(),
            v3.clone(),
            v2.clone(),
            other.clone(),
            v1.clone()
        ]
    );
    assert_eq!(d.store.visits_of_customer(&c, 2).unwrap().len(), 2);

    let week: Vec<String> = d
        .store
        .visits_by_author("li", day("2026-11-16"), day("2026-11-22"))
        .unwrap()
        .into_iter()
        .map(|v| v.id)
        .collect();
    assert_eq!(
        week,
        vec![v1.clone(), v2.clone(), v3.clone()],
        "the visit at 00:30 local on Monday belongs to the next week"
    );
    let rows = d
        .store
        .visits_by_author("li", day("2026-11-23"), day("2026-11-29"))
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].id, late);
    assert_eq!(rows[0].local_date, "2026-11-23");
    assert_eq!(rows[0].customer_name.as_deref(), Some("金华鑫源五金制品厂"));

    // The general query: by author and local days, newest first, paged.
    use fieldsync_core::store::VisitQuery;
    let ids = |q: VisitQuery| {
        d.store
            .list_visits(&q)
            .unwrap()
            .into_iter()
            .map(|v| v.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(VisitQuery::default()).len(), 5);
    let li_week = VisitQuery {
        author: Some("li".into()),
        from: Some(day("2026-11-16")),
        to: Some(day("2026-11-22")),
        ..Default::default()
    };
    assert_eq!(
        ids(li_week.clone()),
        vec![v3.clone(), v2.clone(), v1.clone()]
    );
    assert_eq!(
        ids(VisitQuery {
            limit: Some(1),
            offset: Some(1),
            ..li_week
        }),
        vec![v2.clone()]
    );
    assert_eq!(
        ids(VisitQuery {
            customer: Some(c.clone()),
            author: Some("wang".into()),
            ..Default::default()
        }),
        vec![other]
    );
    assert!(
        d.store
            .list_visits(&VisitQuery {
                customer: Some("bad".into()),
                ..Default::default()
            })
            .is_err()
    );
}

#[test]
fn due_followups_use_explicit_dates_else_tier_cadence_and_count_never_visited() {
    let d = device("phone");
    let mk = |name: &str, tier: Tier| NewCustomer {
        name: name.into(),
        territory: "east".into(),
        owner: "li".into(),
        tier: Some(tier),
        created_by: "li".into(),
        ..Default::default()
    };
    let a = d.store.create_customer(mk("A客户", Tier::A)).unwrap();
    let b = d.store.create_customer(mk("B客户", Tier::B)).unwrap();
    let c = d.store.create_customer(mk("C客户", Tier::C)).unwrap();
    let dd = d.store.create_customer(mk("D客户", Tier::D)).unwrap();
    let never = d.store.create_customer(mk("新客户", Tier::C)).unwrap();
    let explicit = d.store.create_customer(mk("约定客户", Tier::C)).unwrap();
    let lost = d.store.create_customer(mk("流失客户", Tier::A)).unwrap();
    d.store
        .update_customer(&lost, &[CustomerEdit::Status(CustomerStatus::Lost)])
        .unwrap();

    // Every visited customer was last seen on 2026-11-01 (local).
    for id in [&a, &b, &c, &dd, &lost] {
        d.store
            .create_visit(visit("li", id, "2026-11-01T02:00:00Z", None))
            .unwrap();
    }
    // An older visit does not count; the newest one's explicit date does.
    d.store
        .create_visit(visit(
            "li",
            &explicit,
            "2026-10-01T02:00:00Z",
            Some("2026-10-05"),
        ))
        .unwrap();
    d.store
        .create_visit(visit(
            "li",
            &explicit,
            "2026-11-01T02:00:00Z",
            Some("2026-11-03"),
        ))
        .unwrap();

    let due = |s: &str| d.store.due_followups(day(s), None).unwrap();
    let ids = |s: &str| due(s).into_iter().map(|f| f.customer).collect::<Vec<_>>();

    // 11-02: only the never-visited customer.
    assert_eq!(ids("2026-11-02"), vec![never.clone()]);
    assert_eq!(due("2026-11-02")[0].reason, FollowUpReason::NeverVisited);
    // 11-08: A (11-01 + 7) is due today, the explicit date (11-03) is 5 days overdue.
    let on8 = due("2026-11-08");
    assert_eq!(
        on8.iter().map(|f| f.customer.clone()).collect::<Vec<_>>(),
        vec![never.clone(), explicit.clone(), a.clone()]
    );
    assert_eq!(on8[1].reason, FollowUpReason::ExplicitDate);
    assert_eq!(on8[1].days_overdue, 5);
    assert_eq!(on8[2].reason, FollowUpReason::Cadence);
    assert_eq!(on8[2].due_date.as_deref(), Some("2026-11-08"));
    assert_eq!(on8[2].days_overdue, 0);
    // 11-15: B joins (11-01 + 14); 12-01: C joins (11-01 + 30). D never, lost never.
    assert!(ids("2026-11-15").contains(&b));
    assert!(!ids("2026-11-15").contains(&c));
    let dec = ids("2026-12-01");
    assert!(dec.contains(&c));
    assert!(!dec.contains(&dd), "tier D has no cadence");
    assert!(!dec.contains(&lost), "lost customers are not followed up");

    // Changing the tier recomputes the due date; a new visit moves it.
    d.store
        .update_customer(&c, &[CustomerEdit::Tier(Tier::A)])
        .unwrap();
    assert!(ids("2026-11-08").contains(&c));
    d.store
        .create_visit(visit("li", &a, "2026-11-07T02:00:00Z", None))
        .unwrap();
    assert!(!ids("2026-11-08").contains(&a));
    // Only one rep's.
    assert!(
        d.store
            .due_followups(day("2026-12-31"), Some("wang"))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_visit_that_arrives_before_its_customer_still_counts_for_followups() {
    let phone = device("phone");
    let manager = device("manager");
    let c = phone
        .store
        .create_customer(new_customer("先到的拜访有限公司"))
        .unwrap();
    let v = phone
        .store
        .create_visit(visit("li", &c, "2026-11-01T02:00:00Z", Some("2026-11-05")))
        .unwrap();
    manager
        .store
        .merge_from(&phone.store.document_bytes(&v).unwrap())
        .unwrap();
    manager
        .store
        .merge_from(&phone.store.document_bytes(&c).unwrap())
        .unwrap();
    let due = manager
        .store
        .due_followups(day("2026-11-05"), None)
        .unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].reason, FollowUpReason::ExplicitDate);
    assert_eq!(
        due,
        phone.store.due_followups(day("2026-11-05"), None).unwrap()
    );
}

#[test]
fn trip_plans_and_expense_claims_by_owner_and_status() {
    let d = device("laptop");
    let plan = |owner: &str| NewTripPlan {
        owner: owner.into(),
        approver: "zhang".into(),
        title: "华东出差".into(),
        start_date: "2026-11-24".into(),
        end_date: "2026-11-28".into(),
        cities: vec!["苏州".into(), "宁波".into()],
        budget: Money::cny(500_000),
    };
    let p1 = d.store.create_trip_plan(plan("li")).unwrap();
    let p2 = d.store.create_trip_plan(plan("li")).unwrap();
    d.store.create_trip_plan(plan("wang")).unwrap();
    d.store
        .update_trip_plan(&p1, &[TripPlanEdit::Submit])
        .unwrap();
    d.store
        .update_trip_plan(
            &p1,
            &[TripPlanEdit::Approve {
                by: "zhang".into(),
                note: Some("同意".into()),
            }],
        )
        .unwrap();

    let q = |owner: Option<&str>, status: Option<&str>| PlanQuery {
        owner: owner.map(str::to_string),
        status: status.map(str::to_string),
        ..Default::default()
    };
    assert_eq!(
        d.store.list_trip_plans(&q(Some("li"), None)).unwrap().len(),
        2
    );
    let approved = d
        .store
        .list_trip_plans(&q(Some("li"), Some("approved")))
        .unwrap();
    assert_eq!(approved.len(), 1);
    assert_eq!(approved[0].id, p1);
    assert_eq!(
        d.store
            .list_trip_plans(&q(Some("li"), Some("draft")))
            .unwrap()[0]
            .id,
        p2
    );
    assert!(
        d.store
            .list_trip_plans(&q(None, Some("approvedd")))
            .is_err(),
        "an unknown status is an error, not an empty list"
    );
    let approved_plan = d.store.trip_plan(&p1).unwrap();
    assert_eq!(approved_plan.decided_by.as_deref(), Some("zhang"));

    let claim = d
        .store
        .create_expense_claim(NewExpenseClaim {
            owner: "li".into(),
            approver: "zhang".into(),
            trip: Some(p1.clone()),
            title: "11月差旅".into(),
            currency: None,
        })
        .unwrap();
    for (cat, fen) in [
        (ExpenseCategory::Transport, 35_000),
        (ExpenseCategory::Lodging, 48_000),
    ] {
        d.store
            .update_expense_claim(
                &claim,
                &[ExpenseClaimEdit::AddItem {
                    date: "2026-11-25".into(),
                    category: cat,
                    amount: Money::cny(fen),
                    description: None,
                    invoice_photo: None,
                    receipt: None,
                }],
            )
            .unwrap();
    }
    d.store
        .update_expense_claim(&claim, &[ExpenseClaimEdit::Submit])
        .unwrap();
    let rows = d
        .store
        .list_expense_claims(&q(Some("li"), Some("submitted")))
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].total_amount, 83_000);
    assert_eq!(rows[0].item_count, 2);
    assert_eq!(rows[0].trip.as_deref(), Some(p1.as_str()));
    let inbox = d
        .store
        .list_expense_claims(&PlanQuery {
            approver: Some("zhang".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(inbox.len(), 1);
    assert!(
        d.store
            .list_expense_claims(&q(Some("wang"), None))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn search_finds_a_customer_by_the_people_met_on_its_visits() {
    let d = device("phone");
    let target = d
        .store
        .create_customer(new_customer("华东精密机械有限公司"))
        .unwrap();
    let other = d
        .store
        .create_customer(new_customer("苏州环保设备厂"))
        .unwrap();
    let mut met = visit("li", &target, "2026-11-16T01:00:00Z", None);
    met.people_met = vec![
        ("欧阳明".into(), Some("采购总监".into())),
        ("Wu Fang".into(), None),
    ];
    let v = d.store.create_visit(met).unwrap();
    d.store
        .create_visit(visit("li", &other, "2026-11-16T02:00:00Z", None))
        .unwrap();
    let search = |text: &str| -> Vec<String> {
        d.store
            .list_customers(&CustomerQuery {
                search: Some(text.into()),
                ..Default::default()
            })
            .unwrap()
            .into_iter()
            .map(|r| r.id)
            .collect()
    };
    assert_eq!(search("欧阳明"), vec![target.clone()], "trigram index");
    assert_eq!(search("欧阳"), vec![target.clone()], "short Chinese term");
    assert_eq!(search("采购总监"), vec![target.clone()], "title");
    assert_eq!(search("Wu"), vec![target.clone()], "short Latin term");
    assert_eq!(search("Wu Fang"), vec![target.clone()], "every word");
    assert!(search("欧阳明 环保").is_empty(), "words narrow the list");

    // A person added later on any device is found; one removed is not.
    d.store
        .update_visit(
            &v,
            &[VisitEdit::AddPerson {
                name: "司马光".into(),
                title: None,
                decision_maker: true,
            }],
        )
        .unwrap();
    assert_eq!(search("司马光"), vec![target.clone()]);
    let person = d.store.visit(&v).unwrap().people_met[0].id.clone();
    d.store
        .update_visit(&v, &[VisitEdit::RemovePerson(person)])
        .unwrap();
    assert!(search("欧阳明").is_empty());
    assert_eq!(
        d.store
            .count_customers(&CustomerQuery {
                search: Some("司马光".into()),
                ..Default::default()
            })
            .unwrap(),
        1
    );
}

#[test]
fn counts_tell_how_many_rows_a_page_leaves_out() {
    let d = device("phone");
    for i in 0..7 {
        d.store
            .create_customer(new_customer(&format!("客户{i}号有限公司")))
            .unwrap();
    }
    let q = CustomerQuery {
        limit: Some(3),
        offset: Some(3),
        ..Default::default()
    };
    assert_eq!(d.store.list_customers(&q).unwrap().len(), 3);
    assert_eq!(d.store.count_customers(&q).unwrap(), 7);
    let customer = d
        .store
        .list_customers(&CustomerQuery::default())
        .unwrap()
        .remove(0)
        .id;
    for at in ["2026-11-16T01:00:00Z", "2026-11-17T01:00:00Z"] {
        d.store
            .create_visit(visit("li", &customer, at, None))
            .unwrap();
    }
    let q = VisitQuery {
        customer: Some(customer.clone()),
        limit: Some(1),
        ..Default::default()
    };
    assert_eq!(d.store.list_visits(&q).unwrap().len(), 1);
    assert_eq!(d.store.count_visits(&q).unwrap(), 2);
}

#[test]
fn a_customers_first_visit_defaults_to_a_cold_visit() {
    let d = device("phone");
    let customer = d
        .store
        .create_customer(new_customer("新客户有限公司"))
        .unwrap();
    assert_eq!(
        d.store.visit_type_for(&customer, None).unwrap(),
        VisitType::ColdVisit
    );
    assert_eq!(
        d.store
            .visit_type_for(&customer, Some(VisitType::Quote))
            .unwrap(),
        VisitType::Quote,
        "a type the rep chose is kept"
    );
    d.store
        .create_visit(visit("li", &customer, "2026-11-16T01:00:00Z", None))
        .unwrap();
    assert_eq!(
        d.store.visit_type_for(&customer, None).unwrap(),
        VisitType::FollowUp
    );
}
