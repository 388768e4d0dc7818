//! The write rules as plain functions: who may sign, date and replace what, judged on
//! Automerge changes made by hand (as a hostile device would) and on the documents they make.
#![allow(clippy::unwrap_used)]

mod common;

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjType, ROOT, ReadDoc, Value};
use chrono::{DateTime, Utc};
use common::{device, new_customer};
use fieldsync_core::model::visit::NewVisit;
use fieldsync_core::model::{Document, validate_document};
use fieldsync_core::rights::{Principal, Refusal, Role, check_rights_at};

fn who(username: &str, role: Role) -> Principal {
    Principal {
        username: username.into(),
        role,
        territories: vec!["east".into()],
        manager: (role == Role::Rep).then(|| "zhang".to_string()),
        team: vec![username.into()],
    }
}

fn now() -> DateTime<Utc> {
    chrono::DateTime::parse_from_rfc3339("2026-11-24T08:00:00Z")
        .unwrap()
        .to_utc()
}

/// A document before and after `edit`, and the changes the edit made.
fn judge(
    writer: &Principal,
    bytes: Option<&[u8]>,
    edit: impl FnOnce(&mut AutoCommit),
) -> Result<(), Refusal> {
    let mut doc = match bytes {
        Some(b) => AutoCommit::load(b).unwrap(),
        None => AutoCommit::new(),
    };
    let heads = doc.get_heads();
    let before: Option<Document> = bytes.map(|_| validate_document(&doc).unwrap());
    edit(&mut doc);
    doc.commit();
    let after = validate_document(&doc).unwrap();
    let changes: Vec<_> = doc.get_changes(&heads).iter().map(|c| c.decode()).collect();
    check_rights_at(writer, before.as_ref(), &after, &changes, writer, now())
}

/// A visit of li's, stored, as bytes.
fn visit_bytes() -> Vec<u8> {
    let d = device("li");
    let c = d.store.create_customer(new_customer("华东机电")).unwrap();
    let v = d
        .store
        .create_visit(NewVisit {
            customer: c,
            author: "li".into(),
            checkin_at: "2026-11-20T02:30:00Z".into(),
            utc_offset_minutes: 480,
            summary: "拜访".into(),
            ..Default::default()
        })
        .unwrap();
    d.store.document_bytes(&v).unwrap()
}

fn comments(doc: &AutoCommit) -> automerge::ObjId {
    match doc.get(ROOT, "manager_comments").unwrap() {
        Some((Value::Object(ObjType::List), id)) => id,
        other => panic!("{other:?}"),
    }
}

fn add_comment(doc: &mut AutoCommit, id: &str, author: &str, at: &str) {
    let list = comments(doc);
    let entry = doc.insert_object(&list, 0, ObjType::Map).unwrap();
    for (k, v) in [("id", id), ("author", author), ("at", at), ("text", "同意")] {
        doc.put(&entry, k, v).unwrap();
    }
}

const C1: &str = "01936a4e-0000-7000-8000-000000000001";

#[test]
fn a_comment_is_signed_by_its_writer_and_dated_now() {
    let bytes = visit_bytes();
    let zhang = who("zhang", Role::Manager);
    judge(&zhang, Some(&bytes), |d| {
        add_comment(d, C1, "zhang", "2026-11-24T07:59:00Z")
    })
    .unwrap();
    let r = judge(&zhang, Some(&bytes), |d| {
        add_comment(d, C1, "admin", "2026-11-24T07:59:00Z")
    })
    .unwrap_err();
    assert_eq!(r.rule, "field_rights");
    assert!(
        r.reason.contains("must be you (zhang), not 'admin'"),
        "{}",
        r.reason
    );
    for at in ["2020-01-01T00:00:00Z", "2026-12-31T00:00:00Z"] {
        let r = judge(&zhang, Some(&bytes), |d| add_comment(d, C1, "zhang", at)).unwrap_err();
        assert!(
            r.reason.contains(at) && r.reason.contains("clock"),
            "{}",
            r.reason
        );
    }
    // Weeks offline and a clock two days ahead are plausible.
    for at in ["2026-10-01T00:00:00Z", "2026-11-26T00:00:00Z"] {
        judge(&zhang, Some(&bytes), |d| add_comment(d, C1, "zhang", at)).unwrap();
    }
    // An admin may record another's comment, as an import of history does.
    judge(&who("admin", Role::Admin), Some(&bytes), |d| {
        add_comment(d, C1, "zhang", "2020-01-01T00:00:00Z")
    })
    .unwrap();
}

#[test]
fn a_comment_is_changed_or_removed_only_by_its_author() {
    let mut doc = AutoCommit::load(&visit_bytes()).unwrap();
    add_comment(&mut doc, C1, "zhang", "2026-11-24T07:59:00Z");
    let bytes = doc.save();
    let (zhang, zhao) = (who("zhang", Role::Manager), who("zhao", Role::Manager));
    let edit_text = |d: &mut AutoCommit| {
        let list = comments(d);
        let entry = d.get(&list, 0).unwrap().unwrap().1;
        d.put(&entry, "text", "改了").unwrap();
    };
    let remove = |d: &mut AutoCommit| {
        let list = comments(d);
        d.delete(&list, 0).unwrap();
    };
    judge(&zhang, Some(&bytes), edit_text).unwrap();
    judge(&zhang, Some(&bytes), remove).unwrap();
    let r = judge(&zhao, Some(&bytes), edit_text).unwrap_err();
    assert!(r.reason.contains("only zhang changes"), "{}", r.reason);
    let r = judge(&zhao, Some(&bytes), remove).unwrap_err();
    assert!(r.reason.contains("only zhang removes"), "{}", r.reason);
}

#[test]
fn a_shared_list_or_text_is_never_replaced_whole() {
    let bytes = visit_bytes();
    for (field, ty) in [
        ("manager_comments", ObjType::List),
        ("people_met", ObjType::List),
        ("summary", ObjType::Text),
    ] {
        for writer in [who("li", Role::Rep), who("admin", Role::Admin)] {
            let r = judge(&writer, Some(&bytes), |d| {
                d.put_object(ROOT, field, ty).unwrap();
            })
            .unwrap_err();
            assert_eq!(r.rule, "field_rights", "{field}");
            assert!(r.reason.contains("never replace it whole"), "{}", r.reason);
        }
    }
}

#[test]
fn a_new_document_is_created_by_its_writer_at_a_plausible_time() {
    let d = device("li");
    let id = d.store.create_customer(new_customer("华东机电")).unwrap();
    let bytes = d.store.document_bytes(&id).unwrap();
    // Judged as new: the same content pushed by someone else, or dated long ago.
    let as_new = |writer: &Principal, edit: &dyn Fn(&mut AutoCommit)| {
        let mut doc = AutoCommit::load(&bytes).unwrap();
        edit(&mut doc);
        doc.commit();
        let after = validate_document(&doc).unwrap();
        let changes: Vec<_> = doc.get_changes(&[]).iter().map(|c| c.decode()).collect();
        check_rights_at(writer, None, &after, &changes, writer, now())
    };
    let dated_now = |d: &mut AutoCommit| {
        d.put(ROOT, "created_at", "2026-11-24T07:00:00Z").unwrap();
    };
    as_new(&who("li.wei", Role::Rep), &dated_now).unwrap();
    // A manager creating a file for a rep of the team signs it himself.
    let r = as_new(&who("zhang", Role::Manager), &dated_now).unwrap_err();
    assert!(r.reason.contains("customer.created_by"), "{}", r.reason);
    let r = as_new(&who("li.wei", Role::Rep), &|d| {
        d.put(ROOT, "created_at", "2020-05-01T00:00:00Z").unwrap();
    })
    .unwrap_err();
    assert!(r.reason.contains("customer.created_at"), "{}", r.reason);
}
