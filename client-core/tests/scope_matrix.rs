//! The access matrix as a plain test of the rule functions, without a server: who sees and who
//! may write each document of a small organisation. The expected answers are written out by
//! hand, one row per document, from the rules of docs/PROTOCOL.md ("Scope"), not computed by
//! the code under test. The end-to-end matrix (`tests/tests/access_matrix_e2e.rs`) checks the
//! same rules through the server.
//!
//! Orders, complaints and targets are built as real documents and asked for their scope fields
//! ([`DocumentModel::scope`]), so a kind that declares the wrong scope fails here too; the
//! expected answers are still written out by hand.
#![allow(clippy::unwrap_used)]

mod common;

use common::org::org;
use fieldsync_core::ids::new_id;
use fieldsync_core::model::complaint::{
    ComplaintCategory, ComplaintChannel, NewComplaint, Priority,
};
use fieldsync_core::model::fields::now_string;
use fieldsync_core::model::order::NewOrder;
use fieldsync_core::model::target::NewTarget;
use fieldsync_core::model::{DocKind, DocumentModel};
use fieldsync_core::rights::{DocScope, Principal};

/// The actors in the order of the expectation strings below.
const ACTORS: [&str; 6] = ["admin", "zhang", "zhao", "li", "wang", "chen"];

fn customer(id: &str, territory: &str, owner: &str) -> DocScope {
    DocScope {
        territory: Some(territory.into()),
        owner: Some(owner.into()),
        ..DocScope::of(DocKind::Customer, id)
    }
}

fn visit(id: &str, customer: &str, author: &str) -> DocScope {
    DocScope {
        customer: Some(customer.into()),
        author: Some(author.into()),
        ..DocScope::of(DocKind::Visit, id)
    }
}

fn paper(kind: DocKind, id: &str, owner: &str, approver: &str) -> DocScope {
    DocScope {
        owner: Some(owner.into()),
        approver: Some(approver.into()),
        ..DocScope::of(kind, id)
    }
}

/// The scope of an order `owner` took at customer `customer`, as the order declares it.
fn order(customer: &DocScope, owner: &str) -> DocScope {
    NewOrder {
        customer: customer.id.clone(),
        owner: owner.into(),
        date: "2026-11-20".into(),
        ..Default::default()
    }
    .build(new_id(), now_string())
    .unwrap()
    .scope()
}

/// The scope of a complaint `recorded_by` recorded about `customer`, assigned to `assignee`,
/// as the complaint declares it.
fn complaint(customer: &DocScope, recorded_by: &str, assignee: Option<&str>) -> DocScope {
    NewComplaint {
        customer: customer.id.clone(),
        recorded_by: recorded_by.into(),
        received_at: now_string(),
        channel: ComplaintChannel::Phone,
        category: ComplaintCategory::Quality,
        priority: Priority::High,
        summary: "轴承异响，要求换货。".into(),
        assignee: assignee.map(str::to_string),
    }
    .build(new_id(), now_string())
    .unwrap()
    .scope()
}

/// The scope of `owner`'s target for November, set by `set_by`, as the target declares it.
fn target(owner: &str, set_by: &str) -> DocScope {
    NewTarget {
        owner: owner.into(),
        month: "2026-11".into(),
        sales: 50_000_000,
        visits: 40,
        new_customers: 3,
        set_by: set_by.into(),
    }
    .build(new_id(), now_string())
    .unwrap()
    .scope()
}

/// One row: a document (with, for a visit, its customer), and for each actor of [`ACTORS`]
/// whether they see it (`s`), may also write it (`w`), or neither (`-`).
struct Row {
    what: &'static str,
    doc: DocScope,
    customer: Option<DocScope>,
    expected: &'static str,
}

#[test]
fn who_sees_and_who_writes_each_document_as_the_rules_say() {
    let east_li = customer(&new_id(), "east", "li");
    let east_wang = customer(&new_id(), "east", "wang");
    let north_chen = customer(&new_id(), "north", "chen");
    // A customer in the north owned by an east rep (moved there): his manager still sees it.
    let north_li = customer(&new_id(), "north", "li");
    let rows = [
        Row {
            what: "li's customer in the east",
            doc: east_li.clone(),
            customer: None,
            expected: "ww-w--",
        },
        Row {
            what: "wang's customer in the east",
            doc: east_wang.clone(),
            customer: None,
            expected: "ww--w-",
        },
        Row {
            what: "chen's customer in the north",
            doc: north_chen.clone(),
            customer: None,
            expected: "w-w--w",
        },
        Row {
            what: "li's customer in the north",
            doc: north_li.clone(),
            customer: None,
            expected: "wwww--",
        },
        Row {
            what: "li's visit to li's customer",
            doc: visit("v1", &east_li.id, "li"),
            customer: Some(east_li.clone()),
            expected: "ww-w--",
        },
        Row {
            // li visited before the customer went to wang: li still reads it (his week counts
            // it) but no longer writes it.
            what: "li's visit to wang's customer",
            doc: visit("v2", &east_wang.id, "li"),
            customer: Some(east_wang.clone()),
            expected: "ww-sw-",
        },
        Row {
            what: "chen's visit to chen's customer",
            doc: visit("v3", &north_chen.id, "chen"),
            customer: Some(north_chen.clone()),
            expected: "w-w--w",
        },
        Row {
            // chen's visit to a north customer of li's: admin; zhang (his rep li owns the
            // customer); zhao (his territory); li (his customer) write it; chen sees his own
            // visit but no longer writes it (the customer is not his); wang nothing.
            what: "chen's visit to li's customer in the north",
            doc: visit("v4", &north_li.id, "chen"),
            customer: Some(north_li.clone()),
            expected: "wwww-s",
        },
        Row {
            what: "li's trip plan, zhang approves",
            doc: paper(DocKind::TripPlan, "p1", "li", "zhang"),
            customer: None,
            expected: "ww-w--",
        },
        Row {
            what: "chen's expense claim, zhao approves",
            doc: paper(DocKind::ExpenseClaim, "e1", "chen", "zhao"),
            customer: None,
            expected: "w-w--w",
        },
        Row {
            // A manager's own claim goes to an admin; a peer manager is nobody here.
            what: "zhang's claim, admin approves",
            doc: paper(DocKind::ExpenseClaim, "e2", "zhang", "admin"),
            customer: None,
            expected: "ww----",
        },
        Row {
            // An approver outside the team sees and decides the document: admin, zhang (his
            // team), zhao (its approver) and li (his own) write it.
            what: "li's plan, zhao approves",
            doc: paper(DocKind::TripPlan, "p2", "li", "zhao"),
            customer: None,
            expected: "wwww--",
        },
        // Orders are their customer's, as visits are; the rep who took one keeps reading it
        // after the customer changed hands. (Who may move it through its workflow, and that a
        // rep changes only their own orders, are field rules: `kinds_rules.rs`.)
        Row {
            what: "li's order at li's customer",
            doc: order(&east_li, "li"),
            customer: Some(east_li.clone()),
            expected: "ww-w--",
        },
        Row {
            // li took it before the customer went to wang: li reads it, wang's scope writes it.
            what: "li's order at wang's customer",
            doc: order(&east_wang, "li"),
            customer: Some(east_wang.clone()),
            expected: "ww-sw-",
        },
        Row {
            // zhang took an order at li's customer in the north: zhao (territory), zhang and li
            // (li owns the customer, zhang manages li) write it.
            what: "zhang's order at li's customer in the north",
            doc: order(&north_li, "zhang"),
            customer: Some(north_li.clone()),
            expected: "wwww--",
        },
        Row {
            // The customer's people write it, and so does chen, its assignee, who does not see
            // the customer; zhao, chen's manager, is not named on it and sees nothing.
            what: "li's complaint at li's customer, assigned to chen",
            doc: complaint(&east_li, "li", Some("chen")),
            customer: Some(east_li.clone()),
            expected: "ww-w-w",
        },
        Row {
            // A manager named assignee outside his territory writes it too.
            what: "chen's complaint at chen's customer, assigned to zhang",
            doc: complaint(&north_chen, "chen", Some("zhang")),
            customer: Some(north_chen.clone()),
            expected: "www--w",
        },
        Row {
            what: "li's complaint at li's customer, not assigned",
            doc: complaint(&east_li, "li", None),
            customer: Some(east_li.clone()),
            expected: "ww-w--",
        },
        Row {
            // The customer went to wang after li recorded it: li still reads what she recorded.
            what: "li's complaint at wang's customer, assigned to wang",
            doc: complaint(&east_wang, "li", Some("wang")),
            customer: Some(east_wang.clone()),
            expected: "ww-sw-",
        },
        Row {
            // A target is its rep's: li and her manager (and admin) are in its scope; that a
            // rep never sets one is a field rule (`kinds_rules.rs`).
            what: "li's target, set by zhang",
            doc: target("li", "zhang"),
            customer: None,
            expected: "ww-w--",
        },
        Row {
            what: "chen's target, set by zhao",
            doc: target("chen", "zhao"),
            customer: None,
            expected: "w-w--w",
        },
        Row {
            // A manager's own target is in his scope (his team includes himself); that he
            // never sets it is a field rule.
            what: "zhang's target, set by admin",
            doc: target("zhang", "admin"),
            customer: None,
            expected: "ww----",
        },
    ];

    let users = org();
    let mut failures = Vec::new();
    for row in &rows {
        for (i, name) in ACTORS.iter().enumerate() {
            let user = users.iter().find(|u| u.name == *name).unwrap();
            let who = Principal::of(user, &users);
            let writes = who.may_write(&row.doc, row.customer.as_ref());
            let sees = who.sees(&row.doc, row.customer.as_ref());
            let got = match (sees, writes) {
                (_, true) => 'w',
                (true, false) => 's',
                (false, false) => '-',
            };
            let want = row.expected.as_bytes()[i] as char;
            if got != want {
                failures.push(format!(
                    "{}: {name} got '{got}', expected '{want}'",
                    row.what
                ));
            }
            // Whoever writes sees.
            assert!(
                !writes || sees,
                "{}: {name} writes what they do not see",
                row.what
            );
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Who sees a document is decided by the owner and territory it is governed by: a document
/// that belongs to a customer takes the customer's, any other its own.
#[test]
fn a_document_of_a_customer_is_governed_by_the_customer() {
    let c = customer("c1", "east", "li");
    let v = visit("v1", "c1", "wang");
    assert_eq!(
        v.governing(Some(&c)),
        (Some("li".to_string()), Some("east".to_string()))
    );
    assert_eq!(
        v.governing(None),
        (None, None),
        "its customer is not stored"
    );
    assert_eq!(
        c.governing(None),
        (Some("li".to_string()), Some("east".to_string()))
    );
    let plan = paper(DocKind::TripPlan, "p1", "li", "zhang");
    assert_eq!(plan.governing(None), (Some("li".to_string()), None));
}
