//! The catalog's English texts of client-core's errors are client-core's own messages, word
//! for word; the Chinese ones keep every id, number and English detail.

use fieldsync_core::Error;
use fieldsync_core::ValidationError;
use fieldsync_core::error::AttachmentError;
use fieldsync_core::sync::SyncError;
use fieldsync_core::sync::engine::PullFailure;

use super::*;

/// One of each error the command line tells apart (all but SQLite's and Automerge's, which
/// only they make, and whose whole English message is the detail in every language).
fn core_errors() -> Vec<Error> {
    let id = "01932c07-7a3e-7b8e-9f1e-3c2a1b0d4e5f".to_string();
    let attachment = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".to_string();
    vec![
        Error::Invalid(ValidationError::new(
            "customer.tier",
            "must be A, B, C or D",
        )),
        Error::MalformedId("12x".into()),
        Error::NotFound(id.clone()),
        Error::Unknown {
            kind: "trip plan",
            id: id.clone(),
        },
        Error::WrongKind {
            id: id.clone(),
            expected: "order",
            found: "visit".into(),
        },
        Error::UnknownKind("invoice".into()),
        Error::Corrupt("unexpected end of input".into()),
        Error::TooLarge(
            "the change has 20000 operations, over the limit of 10000: make it in smaller steps"
                .into(),
        ),
        Error::Refused {
            rule: "approval".into(),
            reason: "only its approver may approve a trip plan".into(),
        },
        Error::IdMismatch {
            expected: id.clone(),
            found: "0193aaaa-7a3e-7b8e-9f1e-3c2a1b0d4e5f".into(),
        },
        Error::MissingDependencies {
            id: id.clone(),
            missing: 3,
        },
        Error::StoreTooNew {
            found: 9,
            supported: 7,
        },
        Error::System {
            what: "cannot start the sync thread".into(),
            reason: "Resource temporarily unavailable".into(),
        },
        Error::NoQuarantineEntry(42),
        Error::QuarantineBaseMissing {
            entry: 42,
            doc_id: id.clone(),
        },
        Error::Attachment(AttachmentError::Unreadable {
            path: "/tmp/shop.jpg".into(),
            reason: "No such file or directory (os error 2)".into(),
        }),
        Error::Attachment(AttachmentError::Empty {
            name: "shop.jpg".into(),
        }),
        Error::Attachment(AttachmentError::TooLarge {
            name: "shop.jpg".into(),
            size: 30_000_000,
            limit: 25_000_000,
        }),
        Error::Attachment(AttachmentError::MediaType {
            name: "shop.jpg".into(),
            allowed: "a JPEG, PNG, HEIC, WebP or PDF file".into(),
        }),
        Error::Attachment(AttachmentError::Unknown(attachment.clone())),
        Error::Attachment(AttachmentError::NotFound(attachment.clone())),
        Error::Attachment(AttachmentError::NotUploaded(attachment.clone())),
        Error::Attachment(AttachmentError::NoThumbnail(attachment.clone())),
        Error::Attachment(AttachmentError::Damaged(attachment.clone())),
        Error::Attachment(AttachmentError::Lost {
            id: attachment,
            name: "shop.jpg".into(),
        }),
    ]
}

fn sync_errors() -> Vec<SyncError> {
    vec![
        SyncError::Network("connection refused".into()),
        SyncError::Auth("session expired: log in again".into()),
        SyncError::AccountDisabled(
            "the account li is disabled: ask your administrator to enable it".into(),
        ),
        SyncError::Server {
            status: 413,
            code: "too_large".into(),
            message: "the round asked for more work than a round may".into(),
        },
        SyncError::Server {
            status: 418,
            code: String::new(),
            message: "I'm a teapot".into(),
        },
        SyncError::UpdateApp {
            min_version: "0.2.0".into(),
        },
        SyncError::UpdateApp {
            min_version: String::new(),
        },
        SyncError::ServerTooOld,
        SyncError::Protocol("missing field `cursor`".into()),
        SyncError::ServerUrl("htp:/x".into()),
        SyncError::Store(Error::NotFound("0193".into())),
        SyncError::Incomplete {
            failed: vec![PullFailure {
                id: "0193".into(),
                error: "bad chunk at byte 12".into(),
            }],
            report: Default::default(),
        },
        SyncError::Incomplete {
            failed: Vec::new(),
            report: Default::default(),
        },
        SyncError::TooManyRounds(100),
        SyncError::Cancelled,
    ]
}

#[test]
fn english_is_client_cores_own_message() {
    for e in core_errors() {
        assert_eq!(core_error(Lang::En, &e), e.to_string(), "{e:?}");
    }
    for e in sync_errors() {
        assert_eq!(sync_error(Lang::En, &e), e.to_string(), "{e:?}");
    }
}

/// The ids, numbers and English details a message carries: what a translation must keep.
fn details(e: &str) -> Vec<&str> {
    [
        "01932c07-7a3e-7b8e-9f1e-3c2a1b0d4e5f",
        "0193aaaa-7a3e-7b8e-9f1e-3c2a1b0d4e5f",
        "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "customer.tier",
        "must be A, B, C or D",
        "only its approver may approve a trip plan",
        "unexpected end of input",
        "Resource temporarily unavailable",
        "No such file or directory (os error 2)",
        "/tmp/shop.jpg",
        "shop.jpg",
        "30000000",
        "25000000",
        "connection refused",
        "session expired: log in again",
        "the round asked for more work than a round may",
        "I'm a teapot",
        "missing field `cursor`",
        "htp:/x",
        "bad chunk at byte 12",
        "413",
        "418",
        "100",
        "42",
    ]
    .into_iter()
    .filter(|d| e.contains(d))
    .collect()
}

#[test]
fn chinese_keeps_every_id_number_and_english_detail() {
    let english: Vec<String> = core_errors()
        .iter()
        .map(|e| core_error(Lang::En, e))
        .chain(sync_errors().iter().map(|e| sync_error(Lang::En, e)))
        .collect();
    let chinese: Vec<String> = core_errors()
        .iter()
        .map(|e| core_error(Lang::ZhCn, e))
        .chain(sync_errors().iter().map(|e| sync_error(Lang::ZhCn, e)))
        .collect();
    for (en, zh) in english.iter().zip(&chinese) {
        assert_ne!(en, zh, "translated");
        assert!(
            zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
            "{zh} is Chinese"
        );
        for detail in details(en) {
            assert!(zh.contains(detail), "{zh} keeps {detail}");
        }
    }
}

#[test]
fn chinese_names_kinds_and_what_a_code_means() {
    let unknown = Error::Unknown {
        kind: "trip plan",
        id: "0193".into(),
    };
    assert!(core_error(Lang::ZhCn, &unknown).starts_with("未知的出差计划 0193"));
    let wrong = Error::WrongKind {
        id: "0193".into(),
        expected: "order",
        found: "visit".into(),
    };
    assert_eq!(
        core_error(Lang::ZhCn, &wrong),
        "文档 0193 是拜访记录，不是订单"
    );
    let server = SyncError::Server {
        status: 401,
        code: "token_expired".into(),
        message: "token expired".into(),
    };
    assert_eq!(
        sync_error(Lang::ZhCn, &server),
        "服务器返回 401：登录已过期：请重新登录（token expired）"
    );
}
