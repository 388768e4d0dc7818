//! A large pulled page is merged with its Automerge work on several threads: the store it
//! leaves, and the verdict on each document, are those of merging it on one thread.

#![allow(clippy::unwrap_used)]

mod common;

use chrono::NaiveDate;
use common::new_customer;
use fieldsync_core::model::customer::CustomerEdit;
use fieldsync_core::model::visit::{NewVisit, VisitType};
use fieldsync_core::store::{CustomerQuery, StoreOptions, VisitQuery};
use fieldsync_core::{Error, Store};

/// A device's store merging on `merge_threads` threads (0: the calling thread alone).
fn store_with(dir: &tempfile::TempDir, name: &str, merge_threads: usize) -> Store {
    let options = StoreOptions {
        merge_threads,
        ..StoreOptions::default()
    };
    let store = Store::open_with(dir.path().join(name), options).unwrap();
    store.set_author("li.wei").unwrap();
    store
}

fn visit_of(customer: &str, day: u32) -> NewVisit {
    NewVisit {
        customer: customer.to_string(),
        author: "li.wei".to_string(),
        checkin_at: format!("2026-03-{day:02}T02:00:00Z"),
        utc_offset_minutes: 480,
        visit_type: Some(VisitType::FollowUp),
        people_met: vec![("赵强".to_string(), Some("采购".to_string()))],
        summary: format!("第{day}次拜访：谈了下季度的订单。"),
        next_followup: Some(format!("2026-04-{day:02}")),
        ..Default::default()
    }
}

/// What a device holds, as its lists and reports show it, and each document's heads.
fn holdings(store: &Store, ids: &[String]) -> String {
    let customers = store
        .list_customers(&CustomerQuery {
            limit: Some(1_000),
            ..Default::default()
        })
        .unwrap();
    let found = store
        .list_customers(&CustomerQuery {
            search: Some("精工".to_string()),
            limit: Some(1_000),
            ..Default::default()
        })
        .unwrap();
    let visits = store.list_visits(&VisitQuery::default()).unwrap();
    let due = store
        .due_followups(NaiveDate::from_ymd_opt(2026, 5, 1).unwrap(), None)
        .unwrap();
    let heads: Vec<_> = ids
        .iter()
        .map(|id| (store.heads(id).ok(), store.acked_heads(id).ok()))
        .collect();
    format!("{customers:?}\n{found:?}\n{visits:?}\n{due:?}\n{heads:?}")
}

/// The verdict on each document of a page, errors as their messages.
type Verdicts = Vec<Result<(String, bool, bool), String>>;

#[test]
fn a_large_page_merged_on_several_threads_leaves_what_one_thread_leaves() {
    let dir = tempfile::tempdir().unwrap();
    // Where the documents come from: 30 customers, a visit of each.
    let source = store_with(&dir, "source.db", 0);
    let customers: Vec<String> = (0..30)
        .map(|i| {
            source
                .create_customer(new_customer(&format!("常州精工{i}号")))
                .unwrap()
        })
        .collect();
    let visits: Vec<String> = customers
        .iter()
        .zip(1..)
        .map(|(c, day)| source.create_visit(visit_of(c, day)).unwrap())
        .collect();

    // Both devices already hold the first ten customers, one with the same edit never sent.
    let one = store_with(&dir, "one.db", 0);
    let many = store_with(&dir, "many.db", 2);
    for device in [&one, &many] {
        for id in &customers[..10] {
            device
                .merge_pulled(id, &source.document_bytes(id).unwrap())
                .unwrap();
        }
    }
    let pulled = one.heads(&customers[3]).unwrap();
    one.update_customer(
        &customers[3],
        &[CustomerEdit::AppendNotes("本地补充".to_string())],
    )
    .unwrap();
    let unsent = one.changes_since(&customers[3], &pulled).unwrap().concat();
    many.merge_changes(&customers[3], &unsent).unwrap();
    // Then the source edits those ten: the page brings their new changes.
    let mut page: Vec<(String, Vec<u8>)> = Vec::new();
    for id in &customers[..10] {
        let before = source.heads(id).unwrap();
        source
            .update_customer(id, &[CustomerEdit::AppendNotes("服务器补充".to_string())])
            .unwrap();
        page.push((
            id.clone(),
            source.changes_since(id, &before).unwrap().concat(),
        ));
    }
    for id in customers[10..].iter().chain(&visits) {
        page.push((id.clone(), source.document_bytes(id).unwrap()));
    }
    // Refusals spread through the page, each left as it was while the rest is merged:
    // damaged bytes, another document's bytes, a malformed id, changes of a document the
    // device does not have without their first change.
    page[20].1 = b"not automerge at all".to_vec();
    page[35].1 = source.document_bytes(&customers[12]).unwrap();
    page[41].0 = "not an id".to_string();
    let before = source.heads(&visits[29]).unwrap();
    source
        .update_visit(
            &visits[29],
            &[fieldsync_core::model::visit::VisitEdit::ReplaceSummary(
                "改过的纪要".to_string(),
            )],
        )
        .unwrap();
    let orphan = source.changes_since(&visits[29], &before).unwrap().concat();
    let last = page.len() - 1;
    page[last].1 = orphan;
    assert!(page.len() >= 60, "a page large enough for several threads");

    let merge = |store: &Store| -> Verdicts {
        store
            .merge_pulled_page(page.iter().map(|(id, b)| (id.as_str(), b.as_slice())))
            .unwrap()
            .into_iter()
            .map(|r| {
                r.map(|o| (o.id, o.created, o.changed))
                    .map_err(|e| e.to_string())
            })
            .collect()
    };
    let (one_before, many_before) = (one.merge_steps(), many.merge_steps());
    let by_one = merge(&one);
    let by_many = merge(&many);
    assert_eq!(by_many, by_one);
    let refused: Vec<usize> = (0..by_one.len()).filter(|&i| by_one[i].is_err()).collect();
    assert_eq!(refused, vec![20, 35, 41, last], "{by_one:?}");
    assert!(
        by_one[..10]
            .iter()
            .all(|r| matches!(r, Ok((_, false, true))))
    );
    assert!(
        by_one[10..20]
            .iter()
            .all(|r| matches!(r, Ok((_, true, true))))
    );

    let ids: Vec<String> = customers.iter().chain(&visits).cloned().collect();
    assert_eq!(holdings(&many, &ids), holdings(&one, &ids));
    assert_eq!(many.unsent_documents().unwrap(), vec![customers[3].clone()]);
    assert_eq!(many.integrity_check(), Ok(()));
    assert!(matches!(
        many.customer(&customers[12]),
        Ok(c) if c.name == "常州精工12号"
    ));
    // The refused documents the device did not have are still not there; the one whose slot
    // held another document's bytes was not made from them.
    assert!(matches!(
        many.customer(&customers[20]),
        Err(Error::NotFound(_))
    ));
    for refused in [5, 11, 29] {
        assert!(matches!(
            many.visit(&visits[refused]),
            Err(Error::NotFound(_))
        ));
    }
    assert_eq!(many.visit(&visits[6]).unwrap().customer, customers[6]);
    let steps = many.merge_steps() - many_before;
    assert_eq!(
        steps.documents,
        page.len() as u64 - 1,
        "all but the malformed id"
    );
    assert_eq!((one.merge_steps() - one_before).documents, steps.documents);
    assert!(steps.elapsed_us > 0 && steps.load_us > 0 && steps.validate_us > 0);
}

#[test]
fn follow_ups_computed_once_a_page_are_those_computed_document_by_document() {
    let dir = tempfile::tempdir().unwrap();
    let source = store_with(&dir, "source.db", 0);
    let customers: Vec<String> = (0..6)
        .map(|i| {
            source
                .create_customer(new_customer(&format!("无锡华光{i}号")))
                .unwrap()
        })
        .collect();
    // Visits of every customer, checked in out of order; the first customer's come before it
    // in the page, the others' after theirs.
    let mut visits = Vec::new();
    for (i, customer) in customers.iter().enumerate() {
        for day in [9, 3, 27, 14] {
            let mut visit = visit_of(customer, day);
            if (day + i as u32).is_multiple_of(2) {
                visit.next_followup = None;
            }
            visits.push(source.create_visit(visit).unwrap());
        }
    }
    let mut order: Vec<&String> = visits[..4].iter().collect();
    order.extend(&customers);
    order.extend(&visits[4..]);
    let page: Vec<(String, Vec<u8>)> = order
        .into_iter()
        .map(|id| (id.clone(), source.document_bytes(id).unwrap()))
        .collect();
    assert!(page.len() >= 16, "a page large enough for several threads");

    let paged = store_with(&dir, "paged.db", 2);
    let results = paged
        .merge_pulled_page(page.iter().map(|(id, b)| (id.as_str(), b.as_slice())))
        .unwrap();
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let one_by_one = store_with(&dir, "one_by_one.db", 0);
    for (id, bytes) in &page {
        one_by_one.merge_changes(id, bytes).unwrap();
    }

    let day = NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
    let due = paged.due_followups(day, None).unwrap();
    assert_eq!(due.len(), customers.len(), "every customer is due by June");
    assert_eq!(due, one_by_one.due_followups(day, None).unwrap());
    let all = CustomerQuery::default();
    let rows = paged.list_customers(&all).unwrap();
    assert!(
        rows.iter()
            .all(|r| r.last_visit_date.as_deref() == Some("2026-03-27"))
    );
    assert_eq!(rows, one_by_one.list_customers(&all).unwrap());
}

#[test]
fn a_page_naming_a_document_twice_in_two_spellings_merges_both_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let source = store_with(&dir, "source.db", 0);
    let customers: Vec<String> = (0..20)
        .map(|i| {
            source
                .create_customer(new_customer(&format!("苏州精工{i}号")))
                .unwrap()
        })
        .collect();
    let twice = &customers[0];
    let one = store_with(&dir, "one.db", 0);
    let many = store_with(&dir, "many.db", 2);
    for device in [&one, &many] {
        device
            .merge_pulled(twice, &source.document_bytes(twice).unwrap())
            .unwrap();
    }
    // Two edits of the stored customer, sent one after the other under two spellings of its
    // id (upper case parses to the same id), with other documents between them.
    let mut edits = Vec::new();
    for note in ["第一次补充", "第二次补充"] {
        let before = source.heads(twice).unwrap();
        source
            .update_customer(twice, &[CustomerEdit::AppendNotes(note.to_string())])
            .unwrap();
        edits.push(source.changes_since(twice, &before).unwrap().concat());
    }
    let mut page: Vec<(String, Vec<u8>)> = vec![(twice.clone(), edits[0].clone())];
    for id in &customers[1..] {
        page.push((id.clone(), source.document_bytes(id).unwrap()));
    }
    page.push((twice.to_uppercase(), edits[1].clone()));
    assert!(page.len() >= 16, "a page large enough for several threads");

    for device in [&one, &many] {
        let results = device
            .merge_pulled_page(page.iter().map(|(id, b)| (id.as_str(), b.as_slice())))
            .unwrap();
        assert!(results.iter().all(Result::is_ok), "{results:?}");
        assert_eq!(device.heads(twice).unwrap(), source.heads(twice).unwrap());
        assert_eq!(
            device.customer(twice).unwrap(),
            source.customer(twice).unwrap()
        );
        assert_eq!(device.integrity_check(), Ok(()));
    }
}

#[test]
fn a_document_revoked_and_pulled_again_is_found_by_its_text_and_its_old_place_by_no_other() {
    let dir = tempfile::tempdir().unwrap();
    let source = store_with(&dir, "source.db", 0);
    let first = source.create_customer(new_customer("常州精工")).unwrap();
    let leaving = source.create_customer(new_customer("无锡华光")).unwrap();
    let leaving_visit = source.create_visit(visit_of(&leaving, 3)).unwrap();
    let coming = source.create_customer(new_customer("南通海达")).unwrap();
    let mut met = visit_of(&coming, 5);
    met.people_met = vec![("钱多多".to_string(), None)];
    let coming_visit = source.create_visit(met).unwrap();
    let pull = |device: &Store, ids: &[&String]| {
        let page: Vec<(String, Vec<u8>)> = ids
            .iter()
            .map(|id| (id.to_string(), source.document_bytes(id).unwrap()))
            .collect();
        let results = device
            .merge_pulled_page(page.iter().map(|(id, b)| (id.as_str(), b.as_slice())))
            .unwrap();
        assert!(
            results.iter().all(|r| r.as_ref().is_ok_and(|o| o.created)),
            "{results:?}"
        );
    };
    let found = |device: &Store, term: &str| -> Vec<String> {
        let query = CustomerQuery {
            search: Some(term.to_string()),
            ..Default::default()
        };
        let mut names: Vec<String> = device
            .list_customers(&query)
            .unwrap()
            .into_iter()
            .map(|c| c.name)
            .collect();
        names.sort();
        names
    };

    let device = store_with(&dir, "device.db", 0);
    pull(&device, &[&first, &leaving, &leaving_visit]);
    assert_eq!(found(&device, "赵强"), ["无锡华光"]);
    assert!(device.revoke_document(&leaving_visit).unwrap());
    assert!(device.revoke_document(&leaving).unwrap());
    // The newest customer and visit rows were removed: new ones take their places.
    pull(&device, &[&coming, &coming_visit]);
    for (term, want) in [
        ("华光", &[][..]),
        ("无锡华光", &[]),
        ("赵强", &[]),
        ("海达", &["南通海达"]),
        ("南通海达", &["南通海达"]),
        ("钱多多", &["南通海达"]),
        ("金立基", &["南通海达", "常州精工"]),
    ] {
        assert_eq!(found(&device, term), want, "searching {term}");
    }
    // Sent again, the revoked ones are new again.
    pull(&device, &[&leaving, &leaving_visit]);
    assert_eq!(found(&device, "华光"), ["无锡华光"]);
    assert_eq!(found(&device, "赵强"), ["无锡华光"]);
    assert_eq!(found(&device, "钱多多"), ["南通海达"]);
    assert_eq!(
        device
            .list_customers(&CustomerQuery::default())
            .unwrap()
            .len(),
        3
    );
}
