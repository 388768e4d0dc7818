//! Two devices of one rep edit the same documents offline and exchange changes: every edit of
//! both survives, and both read identical documents and projections.
#![allow(clippy::unwrap_used)]

mod common;

use common::{device, new_customer, send};
use fieldsync_core::model::customer::{ContactEdit, CustomerEdit, NewContact, NewCustomer, Tier};
use fieldsync_core::model::fields::Money;
use fieldsync_core::model::visit::{NewVisit, Outcome, VisitEdit};
use fieldsync_core::store::CustomerQuery;

#[test]
fn concurrent_customer_edits_of_different_fields_all_survive() {
    let laptop = device("laptop");
    let phone = device("phone");
    let id = laptop
        .store
        .create_customer(new_customer("华东精密机械有限公司"))
        .unwrap();
    phone
        .store
        .merge_from(&laptop.store.document_bytes(&id).unwrap())
        .unwrap();
    let contact_id = laptop.store.customer(&id).unwrap().contacts[0].id.clone();

    // Offline: the laptop changes the tier and a contact's phone...
    laptop
        .store
        .update_customer(
            &id,
            &[
                CustomerEdit::Tier(Tier::A),
                CustomerEdit::UpdateContact {
                    id: contact_id.clone(),
                    edit: ContactEdit::Phone(Some("139-2222-3333".into())),
                },
            ],
        )
        .unwrap();
    // ...the phone the address, and appends to the notes, and adds a contact.
    phone
        .store
        .update_customer(
            &id,
            &[
                CustomerEdit::Address(Some("工业园区星湖街 88 号".into())),
                CustomerEdit::AppendNotes("客户计划下季度扩产。".into()),
                CustomerEdit::AddContact(NewContact {
                    name: "王芳".into(),
                    title: Some("总经理".into()),
                    ..Default::default()
                }),
            ],
        )
        .unwrap();
    laptop
        .store
        .update_customer(&id, &[CustomerEdit::AppendNotes("竞品报价偏低。".into())])
        .unwrap();

    send(&laptop.store, &phone.store, &id);
    send(&phone.store, &laptop.store, &id);

    let a = laptop.store.customer(&id).unwrap();
    let b = phone.store.customer(&id).unwrap();
    assert_eq!(a, b);
    assert_eq!(
        laptop.store.heads(&id).unwrap(),
        phone.store.heads(&id).unwrap()
    );
    assert_eq!(a.tier, Tier::A);
    assert_eq!(a.contacts[0].phone.as_deref(), Some("139-2222-3333"));
    assert_eq!(a.address.as_deref(), Some("工业园区星湖街 88 号"));
    assert!(a.notes.as_str().starts_with("首次接触于展会。"));
    assert!(a.notes.as_str().contains("客户计划下季度扩产。"));
    assert!(a.notes.as_str().contains("竞品报价偏低。"));
    assert_eq!(a.contacts.len(), 2);
    assert!(laptop.store.conflicts(&id).unwrap().is_empty());

    // Projections agree too.
    let q = CustomerQuery::default();
    assert_eq!(
        laptop.store.list_customers(&q).unwrap(),
        phone.store.list_customers(&q).unwrap()
    );
    assert_eq!(laptop.store.list_customers(&q).unwrap()[0].tier, "A");
}

#[test]
fn concurrent_visit_edits_on_laptop_and_phone_all_survive() {
    let laptop = device("laptop");
    let phone = device("phone");
    let customer = laptop
        .store
        .create_customer(new_customer("宁波恒达贸易有限公司"))
        .unwrap();
    let visit = laptop
        .store
        .create_visit(NewVisit {
            customer: customer.clone(),
            author: "li.wei".into(),
            checkin_at: "2026-11-20T02:30:00Z".into(),
            utc_offset_minutes: 480,
            summary: "介绍新款轴承。".into(),
            people_met: vec![("金立基".into(), Some("采购经理".into()))],
            ..Default::default()
        })
        .unwrap();
    for id in [&customer, &visit] {
        phone
            .store
            .merge_from(&laptop.store.document_bytes(id).unwrap())
            .unwrap();
    }

    laptop
        .store
        .update_visit(
            &visit,
            &[
                VisitEdit::Outcome(Some(Outcome::Progress)),
                VisitEdit::AppendSummary("客户要求样品。".into()),
                VisitEdit::AddPerson {
                    name: "赵强".into(),
                    title: Some("技术主管".into()),
                    decision_maker: false,
                },
            ],
        )
        .unwrap();
    phone
        .store
        .update_visit(
            &visit,
            &[
                VisitEdit::NextStep(Some("寄样品".into())),
                VisitEdit::NextFollowup(Some("2026-11-27".into())),
                VisitEdit::QuoteAmount(Some(Money::cny(1_250_000))),
                VisitEdit::AppendSummary("对价格敏感。".into()),
                VisitEdit::AddPerson {
                    name: "孙丽".into(),
                    title: Some("财务".into()),
                    decision_maker: true,
                },
            ],
        )
        .unwrap();

    send(&laptop.store, &phone.store, &visit);
    send(&phone.store, &laptop.store, &visit);

    let a = laptop.store.visit(&visit).unwrap();
    let b = phone.store.visit(&visit).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.outcome, Some(Outcome::Progress));
    assert_eq!(a.next_step.as_deref(), Some("寄样品"));
    assert_eq!(a.quote_amount, Some(Money::cny(1_250_000)));
    for part in ["介绍新款轴承。", "客户要求样品。", "对价格敏感。"] {
        assert!(
            a.summary.as_str().contains(part),
            "summary lost {part}: {}",
            a.summary.as_str()
        );
    }
    let names: Vec<&str> = a.people_met.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names.len(), 3);
    for n in ["金立基", "赵强", "孙丽"] {
        assert!(names.contains(&n), "people_met lost {n}");
    }
    // The explicit follow-up date reached both devices' projections.
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
    let due_a = laptop.store.due_followups(day, None).unwrap();
    assert_eq!(due_a, phone.store.due_followups(day, None).unwrap());
    assert_eq!(due_a[0].due_date.as_deref(), Some("2026-11-27"));
}

#[test]
fn concurrent_sets_of_one_field_are_shown_as_a_conflict_and_resolved_by_setting_it() {
    let rep = device("rep");
    let manager = device("manager");
    let id = rep
        .store
        .create_customer(new_customer("金华鑫源五金制品厂"))
        .unwrap();
    manager
        .store
        .merge_from(&rep.store.document_bytes(&id).unwrap())
        .unwrap();

    rep.store
        .update_customer(&id, &[CustomerEdit::Phone(Some("0579-1111".into()))])
        .unwrap();
    manager
        .store
        .update_customer(&id, &[CustomerEdit::Phone(Some("0579-2222".into()))])
        .unwrap();
    send(&rep.store, &manager.store, &id);
    send(&manager.store, &rep.store, &id);

    let conflicts = rep.store.conflicts(&id).unwrap();
    assert_eq!(conflicts, manager.store.conflicts(&id).unwrap());
    assert_eq!(conflicts.len(), 1);
    let c = &conflicts[0];
    assert_eq!(c.path, "phone");
    let mut values: Vec<String> = c
        .values
        .iter()
        .map(|v| v.value.as_str().unwrap().to_string())
        .collect();
    values.sort();
    assert_eq!(values, ["0579-1111", "0579-2222"]);
    let mut authors: Vec<String> = c.values.iter().map(|v| v.author.clone().unwrap()).collect();
    authors.sort();
    assert_eq!(authors, ["manager", "rep"]);
    assert_eq!(c.values.iter().filter(|v| v.winner).count(), 1);
    assert!(
        c.values
            .iter()
            .all(|v| v.time.is_some() && v.actor.len() == 32)
    );
    let winner = c
        .values
        .iter()
        .find(|v| v.winner)
        .unwrap()
        .value
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        rep.store.customer(&id).unwrap().phone.as_deref(),
        Some(winner.as_str())
    );

    // The user picks a value: the conflict is gone on both devices once they exchange.
    rep.store
        .update_customer(&id, &[CustomerEdit::Phone(Some("0579-2222".into()))])
        .unwrap();
    send(&rep.store, &manager.store, &id);
    assert!(rep.store.conflicts(&id).unwrap().is_empty());
    assert!(manager.store.conflicts(&id).unwrap().is_empty());
    assert_eq!(
        manager.store.customer(&id).unwrap().phone.as_deref(),
        Some("0579-2222")
    );
}

#[test]
fn every_device_has_its_own_actor_kept_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.db");
    let first = fieldsync_core::Store::open(&path).unwrap().actor_id();
    let again = fieldsync_core::Store::open(&path).unwrap().actor_id();
    let other = fieldsync_core::Store::open(dir.path().join("e.db"))
        .unwrap()
        .actor_id();
    assert_eq!(first, again);
    assert_ne!(first, other);
}

#[test]
fn duplicate_and_reordered_changes_are_harmless() {
    let a = device("a");
    let b = device("b");
    let id = a
        .store
        .create_customer(new_customer("苏州恒达机械有限公司"))
        .unwrap();
    for n in 0..5 {
        a.store
            .update_customer(&id, &[CustomerEdit::AppendNotes(format!("第{n}条"))])
            .unwrap();
    }
    let mut changes = a.store.changes_since(&id, &[]).unwrap();
    changes.reverse();
    // Out of order: later changes wait until their dependencies arrive in the same batch.
    let all: Vec<u8> = changes.iter().flatten().copied().collect();
    let outcome = b.store.merge_changes(&id, &all).unwrap();
    assert!(outcome.created && outcome.changed);
    let again = b.store.merge_changes(&id, &all).unwrap();
    assert!(!again.changed);
    assert_eq!(
        a.store.customer(&id).unwrap(),
        b.store.customer(&id).unwrap()
    );
    // Changes since the heads b has: nothing left.
    let heads = b.store.heads(&id).unwrap();
    assert!(a.store.changes_since(&id, &heads).unwrap().is_empty());
}

#[test]
fn concurrent_edits_of_a_pair_never_mix_into_a_pair_nobody_entered() {
    let a = device("a");
    let b = device("b");
    let id = a
        .store
        .create_customer(new_customer("成对字段有限公司"))
        .unwrap();
    a.store
        .update_customer(
            &id,
            &[CustomerEdit::MonthlyDemand(Some(20), Some("吨".into()))],
        )
        .unwrap();
    b.store
        .merge_from(&a.store.document_bytes(&id).unwrap())
        .unwrap();

    a.store
        .update_customer(
            &id,
            &[CustomerEdit::MonthlyDemand(Some(20), Some("公斤".into()))],
        )
        .unwrap();
    b.store
        .update_customer(
            &id,
            &[CustomerEdit::MonthlyDemand(Some(40), Some("吨".into()))],
        )
        .unwrap();
    send(&a.store, &b.store, &id);
    send(&b.store, &a.store, &id);

    let c = a.store.customer(&id).unwrap();
    assert_eq!(c, b.store.customer(&id).unwrap());
    let pair = (c.monthly_demand, c.demand_unit.as_deref());
    assert!(
        pair == (Some(20), Some("公斤")) || pair == (Some(40), Some("吨")),
        "the pair mixed into {pair:?}"
    );
    let paths: Vec<String> = a
        .store
        .conflicts(&id)
        .unwrap()
        .into_iter()
        .map(|c| c.path)
        .collect();
    assert_eq!(paths, ["demand_unit", "monthly_demand"]);
}

#[test]
fn a_conflict_in_a_list_entry_is_resolved_by_its_path_and_names_each_device() {
    let rep = device("rep");
    let manager = device("manager");
    rep.store.set_device_name("rep-phone").unwrap();
    manager.store.set_device_name("manager-laptop").unwrap();
    let id = rep
        .store
        .create_customer(new_customer("金华鑫源五金制品厂"))
        .unwrap();
    let c = rep
        .store
        .update_customer(
            &id,
            &[CustomerEdit::AddContact(NewContact {
                name: "金立基".into(),
                ..Default::default()
            })],
        )
        .unwrap();
    let contact = c.contacts[0].id.clone();
    send(&rep.store, &manager.store, &id);
    for (d, phone) in [(&rep, "0579-1111"), (&manager, "0579-2222")] {
        d.store
            .update_customer(
                &id,
                &[CustomerEdit::UpdateContact {
                    id: contact.clone(),
                    edit: ContactEdit::Phone(Some(phone.into())),
                }],
            )
            .unwrap();
    }
    send(&rep.store, &manager.store, &id);
    send(&manager.store, &rep.store, &id);
    let conflicts = rep.store.conflicts(&id).unwrap();
    let path = format!("contacts[{contact}].phone");
    let c = conflicts.iter().find(|c| c.path == path).unwrap();
    let mut devices: Vec<String> = c.values.iter().map(|v| v.device.clone().unwrap()).collect();
    devices.sort();
    assert_eq!(devices, ["manager-laptop", "rep-phone"]);

    // A value that breaks the schema is refused whole.
    assert!(
        rep.store
            .resolve_conflict(&id, &path, &serde_json::json!(42))
            .is_err()
    );
    assert_eq!(rep.store.conflicts(&id).unwrap().len(), 1);
    rep.store
        .resolve_conflict(&id, &path, &serde_json::json!("0579-3333"))
        .unwrap();
    send(&rep.store, &manager.store, &id);
    for d in [&rep, &manager] {
        assert!(d.store.conflicts(&id).unwrap().is_empty());
        let phone = d.store.customer(&id).unwrap().contacts[0].phone.clone();
        assert_eq!(phone.as_deref(), Some("0579-3333"));
    }
}

#[test]
fn notes_appended_on_two_devices_at_once_stay_separate_paragraphs() {
    for start in ["", "首次接触于展会。", "首次接触于展会。\n"] {
        let rep = device("rep");
        let manager = device("manager");
        let id = rep
            .store
            .create_customer(NewCustomer {
                notes: start.into(),
                ..new_customer("金华鑫源五金制品厂")
            })
            .unwrap();
        send(&rep.store, &manager.store, &id);
        rep.store
            .update_customer(&id, &[CustomerEdit::AppendNotes("甲方要样品".into())])
            .unwrap();
        manager
            .store
            .update_customer(&id, &[CustomerEdit::AppendNotes("乙方问价格".into())])
            .unwrap();
        send(&rep.store, &manager.store, &id);
        send(&manager.store, &rep.store, &id);
        let notes = rep.store.customer(&id).unwrap().notes.as_str().to_string();
        assert_eq!(notes, manager.store.customer(&id).unwrap().notes.as_str());
        let before: Vec<&str> = start.lines().collect();
        let either = |first: &str, second: &str| {
            let mut lines = before.clone();
            lines.extend([first, second]);
            lines.join("\n")
        };
        assert!(
            notes == either("甲方要样品", "乙方问价格")
                || notes == either("乙方问价格", "甲方要样品"),
            "from {start:?}: {notes:?}"
        );
    }
}

#[test]
fn a_paragraph_appended_to_an_empty_text_reads_without_a_line_break() {
    let rep = device("rep");
    let id = rep
        .store
        .create_customer(NewCustomer {
            notes: String::new(),
            ..new_customer("义乌恒达文具")
        })
        .unwrap();
    rep.store
        .update_customer(&id, &[CustomerEdit::AppendNotes("老板姓陈".into())])
        .unwrap();
    assert_eq!(rep.store.customer(&id).unwrap().notes.as_str(), "老板姓陈");
    rep.store
        .update_customer(&id, &[CustomerEdit::AppendNotes("下周再访".into())])
        .unwrap();
    assert_eq!(
        rep.store.customer(&id).unwrap().notes.as_str(),
        "老板姓陈\n下周再访"
    );
}

#[test]
fn paragraphs_edited_on_two_devices_merge_and_one_edited_by_both_is_a_conflict_to_settle() {
    let rep = device("rep");
    let manager = device("manager");
    rep.store.set_device_name("rep-phone").unwrap();
    manager.store.set_device_name("manager-laptop").unwrap();
    let id = rep
        .store
        .create_customer(NewCustomer {
            notes: "第一段\n第二段\n第三段".into(),
            ..new_customer("宁波港城物流")
        })
        .unwrap();
    send(&rep.store, &manager.store, &id);
    // Different paragraphs at once: both edits survive.
    rep.store
        .update_customer(
            &id,
            &[CustomerEdit::SpliceNotes {
                pos: 0,
                delete: 3,
                insert: "首段".into(),
            }],
        )
        .unwrap();
    manager
        .store
        .update_customer(
            &id,
            &[CustomerEdit::SpliceNotes {
                pos: 8,
                delete: 3,
                insert: "末段".into(),
            }],
        )
        .unwrap();
    send(&rep.store, &manager.store, &id);
    send(&manager.store, &rep.store, &id);
    let notes = rep.store.customer(&id).unwrap().notes.as_str().to_string();
    assert_eq!(notes, "首段\n第二段\n末段");
    assert_eq!(notes, manager.store.customer(&id).unwrap().notes.as_str());
    assert!(rep.store.conflicts(&id).unwrap().is_empty());

    // The same paragraph at once: a conflict on that paragraph, naming each device.
    for (d, text) in [(&rep, "二段（李）"), (&manager, "二段（张）")] {
        d.store
            .update_customer(
                &id,
                &[CustomerEdit::SpliceNotes {
                    pos: 3,
                    delete: 3,
                    insert: text.into(),
                }],
            )
            .unwrap();
    }
    send(&rep.store, &manager.store, &id);
    send(&manager.store, &rep.store, &id);
    let conflicts = rep.store.conflicts(&id).unwrap();
    assert_eq!(conflicts.len(), 1, "{conflicts:?}");
    assert_eq!(conflicts[0].path, "notes[1]");
    let mut devices: Vec<String> = conflicts[0]
        .values
        .iter()
        .map(|v| v.device.clone().unwrap())
        .collect();
    devices.sort();
    assert_eq!(devices, ["manager-laptop", "rep-phone"]);
    let kept = conflicts[0]
        .values
        .iter()
        .find(|v| !v.winner)
        .unwrap()
        .value
        .clone();
    rep.store.resolve_conflict(&id, "notes[1]", &kept).unwrap();
    assert!(rep.store.conflicts(&id).unwrap().is_empty());
    send(&rep.store, &manager.store, &id);
    let notes = manager
        .store
        .customer(&id)
        .unwrap()
        .notes
        .as_str()
        .to_string();
    assert_eq!(notes, format!("首段\n{}\n末段", kept.as_str().unwrap()));
}
