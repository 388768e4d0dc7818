//! Attaching through the facade on a real store: the bytes, the reference and the pending row
//! in one step, and files refused with nothing changed.
#![allow(clippy::unwrap_used)]

use sha2::{Digest, Sha256};

use super::*;
use crate::attachments::tests::{ME, device, jpeg};
use crate::client::{ComplaintInput, ExpenseClaimInput, ExpenseItemInput};

/// The names in the device's blob folder.
fn folder_names(d: &crate::attachments::tests::Device) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(d.folder.dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn attaching_writes_the_bytes_the_signed_reference_and_a_pending_row_in_one_step() {
    let d = device();
    let customer = d.customer("华东精密");
    let visit = d.visit(&customer);
    let bytes = jpeg(120_000, 1);
    let path = d.file("shop front.jpg", &bytes);

    let photo = d.client.attach_to_visit(&visit, &path, true).unwrap();

    let id = hex::encode(Sha256::digest(&bytes));
    assert_eq!(photo.id, id);
    assert_eq!(
        (
            photo.media_type.as_str(),
            photo.size,
            photo.name.as_str(),
            photo.added_by.as_str()
        ),
        ("image/jpeg", 120_000, "shop front.jpg", ME)
    );
    let stored = d.client.visit(&visit).unwrap();
    assert_eq!(stored.photos, std::slice::from_ref(&photo));
    assert_eq!(stored.checkin_photo.as_deref(), Some(id.as_str()));
    assert_eq!(std::fs::read(d.folder.blob(&id)).unwrap(), bytes);
    assert_eq!(folder_names(&d), [id.as_str()], "no temporary left");
    let row = d.row(&id).unwrap();
    assert_eq!(
        (row.state, row.present, row.attached_to.as_deref()),
        (AttachmentState::Pending, true, Some(visit.as_str()))
    );
    let listed = d.client.attachments(true).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].documents[0].doc_id, visit);
    assert_eq!(listed[0].documents[0].kind, "visit");
    let status = d.client.status().unwrap();
    assert_eq!(
        (status.attachments_pending, status.attachment_bytes_pending),
        (1, 120_000)
    );
    // Its own bytes are read from the device.
    assert_eq!(d.client.attachment_path(&id).unwrap(), d.folder.blob(&id));

    // The same bytes again, to the customer's business cards: one blob, two references.
    let card = d.client.attach_to_customer(&customer, &path, true).unwrap();
    assert_eq!(card.id, id);
    assert_eq!(d.client.customer(&customer).unwrap().business_cards, [card]);
    assert_eq!(folder_names(&d), [id.as_str()]);
    assert_eq!(d.client.attachments(false).unwrap()[0].documents.len(), 2);
}

#[test]
fn the_servers_limits_from_its_last_answer_apply_until_the_device_sets_its_own() {
    let d = device();
    let visit = d.visit(&d.customer("华东精密"));
    let pdf = d.file(
        "fapiao.pdf",
        &[b"%PDF-1.7\n".as_slice(), &[7u8; 1000]].concat(),
    );
    let photo = d.file("door.jpg", &jpeg(3000, 4));
    assert_eq!(d.client.attachment_limits(), AttachmentLimits::default());
    // A server that takes photos only, of at most 2,000 bytes, says so in its sync answers.
    d.client
        .read(|s| {
            let mut settings = s.settings()?;
            settings.attachments = Some(crate::protocol::AttachmentSettings {
                max_bytes: 2000,
                media_types: vec!["image/jpeg".into()],
            });
            s.set_settings(&settings)
        })
        .unwrap();
    let refused = |path: &std::path::Path| match d.client.attach_to_visit(&visit, path, false) {
        Err(SyncError::Store(Error::Attachment(e))) => e,
        other => panic!("expected an attachment error, got {other:?}"),
    };
    assert!(matches!(refused(&pdf), AttachmentError::MediaType { .. }));
    assert!(matches!(
        refused(&photo),
        AttachmentError::TooLarge { limit: 2000, .. }
    ));
    // Limits the app sets win over the server's.
    d.client.set_attachment_limits(AttachmentLimits::default());
    assert!(d.client.attach_to_visit(&visit, &pdf, false).is_ok());
}

#[test]
fn a_disguised_executable_a_too_large_empty_or_missing_file_is_refused_and_nothing_changes() {
    let d = device();
    let visit = d.visit(&d.customer("华东精密"));
    let before = d.client.read(|s| s.heads(&visit)).unwrap();
    let elf = d.file(
        "photo.jpg",
        &[
            b"\x7FELF\x02\x01\x01\0\0\0\0\0\0\0\0\0".as_slice(),
            &[0u8; 1000],
        ]
        .concat(),
    );
    let big = d.file("big.jpg", &jpeg(5000, 2));
    let empty = d.file("empty.jpg", b"");
    d.client.set_attachment_limits(AttachmentLimits {
        max_bytes: 4000,
        ..AttachmentLimits::default()
    });

    let refused = |path: &std::path::Path| {
        let err = d.client.attach_to_visit(&visit, path, false).unwrap_err();
        match err {
            SyncError::Store(Error::Attachment(e)) => e,
            other => panic!("expected an attachment error, got {other:?}"),
        }
    };
    let exe = refused(&elf);
    assert!(matches!(exe, AttachmentError::MediaType { .. }), "{exe:?}");
    assert!(
        exe.to_string()
            .contains("not a JPEG, PNG, HEIC, WebP or PDF file by its content"),
        "{exe}"
    );
    let large = refused(&big);
    assert!(
        matches!(
            large,
            AttachmentError::TooLarge {
                size: 5000,
                limit: 4000,
                ..
            }
        ),
        "{large:?}"
    );
    assert!(large.to_string().contains("attach a smaller file"));
    assert!(matches!(refused(&empty), AttachmentError::Empty { .. }));
    let missing = refused(&d.dir.path().join("nowhere.jpg"));
    assert!(
        matches!(missing, AttachmentError::Unreadable { .. })
            && missing.to_string().contains("check the path"),
        "{missing}"
    );

    assert_eq!(d.client.read(|s| s.heads(&visit)).unwrap(), before);
    assert!(d.client.visit(&visit).unwrap().photos.is_empty());
    assert!(folder_names(&d).is_empty());
    assert!(d.client.attachments(false).unwrap().is_empty());
    assert_eq!(d.client.status().unwrap().attachments_pending, 0);
}

#[test]
fn an_edit_that_fails_or_that_the_rules_refuse_keeps_no_bytes_and_no_row() {
    let d = device();
    let visit = d.visit(&d.customer("华东精密"));
    let path = d.file("a.jpg", &jpeg(3000, 3));
    let unknown = crate::ids::new_id();
    let err = d
        .client
        .attach_to_visit(&unknown, &path, false)
        .unwrap_err();
    assert!(
        matches!(err, SyncError::Store(Error::Unknown { kind: "visit", .. })),
        "{err:?}"
    );
    let claim = d
        .client
        .create_expense_claim(ExpenseClaimInput {
            title: "差旅".into(),
            approver: Some("zhang.min".into()),
            ..Default::default()
        })
        .unwrap();
    // A receipt for an expense the claim does not have.
    assert!(
        d.client
            .attach_receipt(&claim, "no-such-item", &path)
            .is_err()
    );
    // A receipt for an expense of a claim sent to its approver: frozen, refused by the rules.
    let added = d
        .client
        .add_expense_item(
            &claim,
            ExpenseItemInput {
                date: "2026-11-20".into(),
                category: "meals".into(),
                amount: 8_000,
                ..Default::default()
            },
        )
        .unwrap();
    d.client.submit_expense_claim(&claim).unwrap();
    let frozen = d
        .client
        .attach_receipt(&claim, &added.items[0].id, &path)
        .unwrap_err();
    assert!(
        matches!(frozen, SyncError::Store(Error::Refused { .. })),
        "{frozen:?}"
    );
    assert!(folder_names(&d).is_empty());
    assert!(d.client.attachments(false).unwrap().is_empty());
    assert!(d.client.visit(&visit).unwrap().photos.is_empty());
}

#[test]
fn an_expense_is_added_with_its_receipt_in_one_step_or_not_at_all() {
    let d = device();
    let claim = d
        .client
        .create_expense_claim(ExpenseClaimInput {
            title: "十一月差旅".into(),
            approver: Some("zhang.min".into()),
            ..Default::default()
        })
        .unwrap();
    let receipt = jpeg(9000, 4);
    let item = |receipt: std::path::PathBuf| ExpenseItemInput {
        date: "2026-11-20".into(),
        category: "lodging".into(),
        amount: 48_000,
        receipt: Some(receipt),
        ..Default::default()
    };

    let added = d
        .client
        .add_expense_item(&claim, item(d.file("发票.jpg", &receipt)))
        .unwrap();
    let attached = added.items[0].receipt.clone().unwrap();
    assert_eq!(attached.id, hex::encode(Sha256::digest(&receipt)));
    assert_eq!(attached.name, "发票.jpg");
    assert_eq!(d.row(&attached.id).unwrap().state, AttachmentState::Pending);

    // A receipt that is not a photo: the expense is not added either.
    let text = d.file("receipt.jpg", b"just some text, not a photo");
    let err = d.client.add_expense_item(&claim, item(text)).unwrap_err();
    assert!(
        matches!(
            err,
            SyncError::Store(Error::Attachment(AttachmentError::MediaType { .. }))
        ),
        "{err:?}"
    );
    assert_eq!(d.client.expense_claim(&claim).unwrap().items.len(), 1);

    // A receipt attached later replaces the one the expense had.
    let other = jpeg(9000, 5);
    let id = added.items[0].id.clone();
    let later = d
        .client
        .attach_receipt(&claim, &id, d.file("second.jpg", &other))
        .unwrap();
    assert_eq!(
        d.client.expense_claim(&claim).unwrap().items[0].receipt,
        Some(later)
    );
}

#[test]
fn a_complaint_takes_evidence_and_a_customer_photos() {
    let d = device();
    let customer = d.customer("华东精密");
    let complaint = d
        .client
        .create_complaint(ComplaintInput {
            customer: customer.clone(),
            category: "quality".into(),
            priority: "high".into(),
            summary: "外箱破损".into(),
            ..Default::default()
        })
        .unwrap();
    let pdf = d.file(
        "letter.pdf",
        &[b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n".as_slice(), &[b'x'; 500]].concat(),
    );
    let evidence = d.client.attach_to_complaint(&complaint, &pdf).unwrap();
    assert_eq!(evidence.media_type, "application/pdf");
    assert_eq!(d.client.complaint(&complaint).unwrap().evidence, [evidence]);
    let photo = d
        .client
        .attach_to_customer(&customer, d.file("front.jpg", &jpeg(2000, 6)), false)
        .unwrap();
    assert_eq!(d.client.customer(&customer).unwrap().photos, [photo]);
    assert_eq!(d.client.attachments(true).unwrap().len(), 2);
}

#[test]
fn attaching_needs_a_logged_in_user_and_keeps_nothing_without_one() {
    let dir = tempfile::tempdir().unwrap();
    let client = Client::open_in(dir.path(), "test").unwrap();
    let path = dir.path().join("a.jpg");
    std::fs::write(&path, jpeg(1000, 7)).unwrap();
    let err = client
        .attach_to_visit(&crate::ids::new_id(), &path, false)
        .unwrap_err();
    assert!(matches!(err, SyncError::Auth(_)), "{err:?}");
    let folder = crate::attachments::folder::BlobFolder::beside(client.path());
    assert_eq!(std::fs::read_dir(folder).unwrap().count(), 0);
}

#[test]
fn an_attachment_id_is_checked_and_one_nobody_references_is_unknown() {
    let d = device();
    let bad = d.client.attachment_path("not-an-id").unwrap_err();
    assert!(
        bad.to_string().contains("64 lower-case hex digits"),
        "{bad}"
    );
    let unknown = d.client.attachment_path(&"A".repeat(64)).unwrap_err();
    assert!(
        matches!(
            &unknown,
            SyncError::Store(Error::Attachment(AttachmentError::Unknown(id))) if *id == "a".repeat(64)
        ),
        "{unknown:?}"
    );
}

#[test]
fn a_saved_copy_goes_where_the_user_says_or_into_a_folder_under_its_name() {
    let d = device();
    let visit = d.visit(&d.customer("华东精密"));
    let bytes = jpeg(4000, 8);
    let photo = d
        .client
        .attach_to_visit(&visit, d.file("门头.jpg", &bytes), false)
        .unwrap();
    let out = d.dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let saved = d.client.save_attachment(&photo.id, &out).unwrap();
    assert_eq!(saved, out.join("门头.jpg"));
    assert_eq!(std::fs::read(saved).unwrap(), bytes);
    let named = d
        .client
        .save_attachment(&photo.id, out.join("copy.jpg"))
        .unwrap();
    assert_eq!(std::fs::read(named).unwrap(), bytes);
}

#[test]
fn the_cache_budget_is_kept_in_the_store() {
    let d = device();
    assert_eq!(
        d.client.attachment_cache_budget().unwrap(),
        crate::attachments::DEFAULT_CACHE_BUDGET
    );
    d.client.set_attachment_cache_budget(123_456).unwrap();
    let path = d.client.path().to_path_buf();
    let again = Client::open(path, "test").unwrap();
    assert_eq!(again.attachment_cache_budget().unwrap(), 123_456);
}
