//! End-to-end: a rep's laptop and phone both edit the lines of one draft order while offline;
//! after both sync through the real server, both devices (and the manager's) hold every line
//! either added, each once, with the quantities each device set, the same total everywhere,
//! and the one quantity both changed listed as a conflict with both values.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Device, customer};
use fieldsync_core::ids::new_id;
use fieldsync_core::model::fields::now_string;
use fieldsync_core::model::order::{NewOrder, Order, OrderEdit, OrderLine};
use fieldsync_core::store::OrderQuery;

fn add(product: &str, quantity: i64, unit_price: i64) -> OrderEdit {
    OrderEdit::AddLine {
        product: product.into(),
        name: format!("轴承 {product}"),
        quantity,
        unit: "box".into(),
        unit_price,
        unit_cost: None,
    }
}

fn quantity(id: &str, quantity: i64) -> OrderEdit {
    OrderEdit::LineQuantity {
        id: id.into(),
        quantity,
    }
}

/// The line of `product`; there must be exactly one.
fn line<'a>(order: &'a Order, product: &str) -> &'a OrderLine {
    let found: Vec<&OrderLine> = order
        .lines
        .iter()
        .filter(|l| l.product == product)
        .collect();
    assert_eq!(found.len(), 1, "{product} in {:#?}", order.lines);
    found[0]
}

#[test]
fn lines_edited_offline_on_laptop_and_phone_are_all_kept_after_both_sync() {
    let org = common::org();
    let url = org.server.url();
    let laptop = Device::new(&url, "li", "laptop");
    let phone = Device::new(&url, "li", "phone");
    let customer_id = laptop
        .store
        .create_customer(customer("无锡精工", "east", "li"))
        .unwrap();
    let order = laptop
        .store
        .create(
            NewOrder {
                customer: customer_id,
                owner: "li".into(),
                date: "2026-11-30".into(),
                ..Default::default()
            }
            .build(new_id(), now_string())
            .unwrap(),
        )
        .unwrap();
    let first = laptop
        .store
        .edit::<Order>(&order, &[add("6204", 10, 1_500), add("6300", 1, 800)])
        .unwrap();
    let (l6204, l6300) = (
        line(&first, "6204").id.clone(),
        line(&first, "6300").id.clone(),
    );
    laptop.sync();
    phone.sync();
    assert_eq!(phone.store.get::<Order>(&order).unwrap().lines.len(), 2);

    // Offline on both: each adds a line and changes a quantity of its own, and both change
    // the quantity of 6204.
    laptop
        .store
        .edit::<Order>(&order, &[add("6205", 2, 20_000), quantity(&l6204, 12)])
        .unwrap();
    phone
        .store
        .edit::<Order>(
            &order,
            &[
                add("6206", 5, 3_000),
                quantity(&l6300, 4),
                quantity(&l6204, 8),
            ],
        )
        .unwrap();

    for device in [&laptop, &phone, &laptop] {
        let report = device.sync();
        assert_eq!(report.rejected, 0, "{report:?}");
    }
    let zhang = Device::new(&url, "zhang", "laptop");
    zhang.sync();

    let merged = laptop.store.get::<Order>(&order).unwrap();
    for (name, device) in [("phone", &phone), ("zhang's laptop", &zhang)] {
        assert_eq!(
            device.store.get::<Order>(&order).unwrap(),
            merged,
            "{name} reads another order"
        );
        assert_eq!(
            device.store.heads(&order).unwrap(),
            laptop.store.heads(&order).unwrap(),
            "{name}"
        );
    }
    assert_eq!(merged.lines.len(), 4, "{:#?}", merged.lines);
    assert_eq!(line(&merged, "6205").quantity, 2);
    assert_eq!(line(&merged, "6206").quantity, 5);
    assert_eq!(line(&merged, "6300").quantity, 4);
    let both = line(&merged, "6204").quantity;
    assert!(both == 12 || both == 8, "6204: {both}");
    assert_eq!(
        merged.total().unwrap(),
        both * 1_500 + 2 * 20_000 + 5 * 3_000 + 4 * 800
    );

    // The quantity both set is a conflict, listing both values, the one shown as the winner.
    let path = format!("lines[{l6204}].quantity");
    for device in [&laptop, &phone] {
        let conflicts = device.store.conflicts(&order).unwrap();
        assert_eq!(conflicts.len(), 1, "{conflicts:#?}");
        assert_eq!(conflicts[0].path, path);
        let mut values: Vec<i64> = conflicts[0]
            .values
            .iter()
            .map(|v| v.value.as_i64().unwrap())
            .collect();
        values.sort();
        assert_eq!(values, [8, 12]);
        let winner: Vec<i64> = conflicts[0]
            .values
            .iter()
            .filter(|v| v.winner)
            .map(|v| v.value.as_i64().unwrap())
            .collect();
        assert_eq!(winner, [both]);
    }

    // The order lists agree on every device: four lines, the same total.
    let rows = laptop.store.list_orders(&OrderQuery::default()).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].line_count, 4);
    assert_eq!(rows[0].total_amount, merged.total().unwrap());
    for device in [&phone, &zhang] {
        assert_eq!(
            device.store.list_orders(&OrderQuery::default()).unwrap(),
            rows
        );
    }
}
