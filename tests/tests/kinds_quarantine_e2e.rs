//! End-to-end: a rep cannot confirm their own order, move a complaint they are not assigned to,
//! or set their own target. A logged-in device refuses each before writing; written anyway (by
//! an app that does not ask the rules first, or before the device knew its user), each is
//! rejected by the real server with its rule, put in the device's quarantine, and nothing of it
//! is stored: a manager's and an admin's devices pulling afterwards see none of it.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Device, customer};
use fieldsync_core::ids::new_id;
use fieldsync_core::model::complaint::{
    Complaint, ComplaintCategory, ComplaintChannel, ComplaintEdit, ComplaintStatus, NewComplaint,
    Priority,
};
use fieldsync_core::model::fields::now_string;
use fieldsync_core::model::order::{NewOrder, Order, OrderEdit, OrderStatus};
use fieldsync_core::model::target::{NewTarget, Target};
use fieldsync_core::store::QuarantineEntry;
use fieldsync_core::{Error, Store};

fn confirm(by: &str) -> OrderEdit {
    OrderEdit::Step {
        to: OrderStatus::Confirmed,
        by: by.into(),
        note: None,
    }
}

fn investigate(by: &str) -> ComplaintEdit {
    ComplaintEdit::Step {
        to: ComplaintStatus::Investigating,
        by: by.into(),
        note: Some("已联系客户".into()),
        visit: None,
    }
}

/// li's own December target, as only her manager may set it.
fn own_target() -> Target {
    NewTarget {
        owner: "li".into(),
        month: "2026-12".into(),
        sales: 10_000_000,
        visits: 10,
        new_customers: 1,
        set_by: "li".into(),
    }
    .build(new_id(), now_string())
    .unwrap()
}

/// The quarantine entry of document `id`: there must be exactly one.
fn entry_of<'a>(entries: &'a [QuarantineEntry], id: &str) -> &'a QuarantineEntry {
    let found: Vec<&QuarantineEntry> = entries.iter().filter(|e| e.doc_id == id).collect();
    assert_eq!(found.len(), 1, "{id} in {entries:#?}");
    found[0]
}

fn assert_refused_on_device<T: std::fmt::Debug>(
    what: &str,
    r: fieldsync_core::Result<T>,
    rule: &str,
) {
    match r {
        Err(Error::Refused { rule: got, reason }) => {
            assert_eq!(got, rule, "{what}: {reason}");
        }
        other => panic!("{what}: the device did not refuse it: {other:?}"),
    }
}

#[test]
fn a_rep_cannot_confirm_her_order_move_a_complaint_not_hers_or_set_her_target_and_nothing_is_stored()
 {
    let org = common::org();
    let url = org.server.url();
    let li = Device::new(&url, "li", "phone");

    // What li may do: her customer, an order she took and submitted, and a complaint she
    // recorded, which zhang assigns to wang.
    let customer_id = li
        .store
        .create_customer(customer("苏州恒通轴承", "east", "li"))
        .unwrap();
    let order = li
        .store
        .create(
            NewOrder {
                customer: customer_id.clone(),
                owner: "li".into(),
                date: "2026-11-30".into(),
                ..Default::default()
            }
            .build(new_id(), now_string())
            .unwrap(),
        )
        .unwrap();
    li.store
        .edit::<Order>(
            &order,
            &[
                OrderEdit::AddLine {
                    product: "6204".into(),
                    name: "深沟球轴承".into(),
                    quantity: 10,
                    unit: "box".into(),
                    unit_price: 1_500,
                    unit_cost: Some(900),
                },
                OrderEdit::Step {
                    to: OrderStatus::Submitted,
                    by: "li".into(),
                    note: None,
                },
            ],
        )
        .unwrap();
    let complaint = li
        .store
        .create(
            NewComplaint {
                customer: customer_id.clone(),
                recorded_by: "li".into(),
                received_at: now_string(),
                channel: ComplaintChannel::Phone,
                category: ComplaintCategory::Logistics,
                priority: Priority::High,
                summary: "两箱轴承到货时外包装破损。".into(),
                assignee: None,
            }
            .build(new_id(), now_string())
            .unwrap(),
        )
        .unwrap();
    let report = li.sync();
    assert_eq!(report.rejected, 0, "{report:?}");
    // Her manager assigns the complaint to wang.
    let zhang = Device::new(&url, "zhang", "laptop");
    zhang.sync();
    zhang
        .store
        .edit::<Complaint>(&complaint, &[ComplaintEdit::Assign(Some("wang".into()))])
        .unwrap();
    let report = zhang.sync();
    assert_eq!(report.rejected, 0, "{report:?}");
    li.sync();
    assert_eq!(
        li.store
            .get::<Complaint>(&complaint)
            .unwrap()
            .assignee
            .as_deref(),
        Some("wang")
    );

    // The logged-in device knows li: it refuses all three itself and writes nothing.
    let heads = (
        li.store.heads(&order).unwrap(),
        li.store.heads(&complaint).unwrap(),
    );
    assert_refused_on_device(
        "confirming her own order",
        li.store.edit::<Order>(&order, &[confirm("li")]),
        "workflow",
    );
    assert_refused_on_device(
        "moving wang's complaint",
        li.store.edit::<Complaint>(&complaint, &[investigate("li")]),
        "workflow",
    );
    let refused_target = own_target();
    let refused_target_id = refused_target.id.clone();
    assert_refused_on_device(
        "setting her own target",
        li.store.create(refused_target),
        "field_rights",
    );
    assert_eq!(
        (
            li.store.heads(&order).unwrap(),
            li.store.heads(&complaint).unwrap()
        ),
        heads
    );
    assert!(li.store.document(&refused_target_id).is_err());

    // An app that writes without asking the rules first (an earlier version) writes them: the
    // server rejects each with its rule, and the device quarantines them.
    li.store.set_acting_user(None).unwrap();
    li.store.edit::<Order>(&order, &[confirm("li")]).unwrap();
    li.store
        .edit::<Complaint>(&complaint, &[investigate("li")])
        .unwrap();
    let target = li.store.create(own_target()).unwrap();
    let report = li.sync();
    assert_eq!(report.rejected, 3, "{report:?}");
    let entries = li.store.list_quarantine().unwrap();
    assert_eq!(entries.len(), 3, "{entries:#?}");
    for (id, kind, rule, says) in [
        (
            &order,
            "order",
            "workflow",
            "you cannot make your own order confirmed",
        ),
        (
            &complaint,
            "complaint",
            "workflow",
            "only the complaint's assignee (wang) or a manager moves it to investigating",
        ),
        (
            &target,
            "target",
            "field_rights",
            "a rep does not set targets",
        ),
    ] {
        let e = entry_of(&entries, id);
        assert_eq!(e.kind.as_str(), kind, "{e:?}");
        assert_eq!(e.rule, rule, "{e:?}");
        assert!(e.reason.contains(says), "{kind}: {}", e.reason);
        assert!(e.size > 0, "{e:?}");
    }
    // The device is back at what the server holds: the order submitted, the complaint received,
    // the target gone.
    let held = li.store.get::<Order>(&order).unwrap();
    assert_eq!(held.status, OrderStatus::Submitted);
    assert_eq!(held.history.len(), 1);
    let held = li.store.get::<Complaint>(&complaint).unwrap();
    assert_eq!(held.status, ComplaintStatus::Received);
    assert!(held.history.is_empty());
    assert!(li.store.document(&target).is_err());
    // Syncing again sends nothing more and is refused nothing more.
    let report = li.sync();
    assert_eq!(report.rejected, 0, "{report:?}");

    // The server has none of it: li's manager and the admin, on new devices, pull the order
    // submitted, the complaint received and no target of li's.
    for user in ["zhang", "admin"] {
        let device = Device::new(&url, user, "new laptop");
        device.sync();
        let seen = device.store.get::<Order>(&order).unwrap();
        assert_eq!(seen.status, OrderStatus::Submitted, "{user}");
        assert_eq!(seen.history.len(), 1, "{user}");
        assert!(seen.confirmed_at().is_none(), "{user}");
        let seen = device.store.get::<Complaint>(&complaint).unwrap();
        assert_eq!(seen.status, ComplaintStatus::Received, "{user}");
        assert!(seen.history.is_empty(), "{user}");
        assert!(device.store.document(&target).is_err(), "{user}");
        assert!(
            device
                .store
                .list_targets(Some("li"), &[])
                .unwrap()
                .is_empty(),
            "{user}"
        );
    }
}

#[test]
fn a_target_a_rep_set_herself_before_logging_in_is_quarantined_at_her_first_sync() {
    let org = common::org();
    let url = org.server.url();
    let dir = tempfile::tempdir().unwrap();
    // Before login the device does not know its user, so it checks nothing.
    let target = {
        let store = Store::open(dir.path().join("device.db")).unwrap();
        store.set_author("li").unwrap();
        store.create(own_target()).unwrap()
    };
    let li = Device::in_dir(&url, "li", "tablet", dir.path());
    let report = li.sync();
    assert_eq!(report.rejected, 1, "{report:?}");
    let entries = li.store.list_quarantine().unwrap();
    let e = entry_of(&entries, &target);
    assert_eq!(e.rule, "field_rights", "{e:?}");
    assert!(
        e.reason.contains("a rep does not set targets"),
        "{}",
        e.reason
    );
    assert!(li.store.document(&target).is_err());
    let zhang = Device::new(&url, "zhang", "laptop");
    zhang.sync();
    assert!(zhang.store.document(&target).is_err());
}
