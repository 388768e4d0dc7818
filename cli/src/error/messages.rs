//! client-core's errors as sentences in a language of the catalog.
//!
//! client-core's errors carry what happened as data (the variant, the id, the kind, the
//! limit); each variant the command line can tell apart has its message in the catalog
//! (`cli-errors.ftl`) with that data as variables, and its English text is exactly
//! client-core's own message (the tests below hold them together). What only exists as
//! English text (a validation rule's problem, the server's explanation, the operating
//! system's error) goes in as a variable, untranslated, so nothing is lost; a variant added
//! to client-core later shows client-core's English message until it gets its own.

use fieldsync_core::Error;
use fieldsync_core::error::AttachmentError;
use fieldsync_core::model::fields::a_or_an;
use fieldsync_core::sync::SyncError;
use fieldsync_i18n::{Lang, describe_error_code, tr};

use crate::i18n::code_name;

/// A kind of document in `lang`: its name, with its article in English ("an order").
fn kind_with_article(lang: Lang, kind: &str) -> String {
    match lang {
        Lang::En => a_or_an(kind),
        _ => code_name(lang, "kind", kind),
    }
}

/// client-core's error `e` in `lang`.
pub fn core_error(lang: Lang, e: &Error) -> String {
    match e {
        Error::Invalid(v) => tr!(
            lang,
            "cli-error-invalid",
            field = &v.field,
            problem = &v.problem
        ),
        Error::MalformedId(id) => tr!(lang, "cli-error-malformed-id", id = id),
        Error::NotFound(id) => tr!(lang, "cli-error-not-found", id = id),
        Error::Unknown { kind, id } => tr!(
            lang,
            "cli-error-unknown",
            kind = code_name(lang, "kind", kind),
            id = id
        ),
        Error::WrongKind {
            id,
            expected,
            found,
        } => tr!(
            lang,
            "cli-error-wrong-kind",
            id = id,
            found = kind_with_article(lang, found),
            expected = kind_with_article(lang, expected)
        ),
        Error::UnknownKind(kind) => tr!(lang, "cli-error-unknown-kind", kind = kind),
        Error::Corrupt(detail) => tr!(lang, "cli-error-corrupt", detail = detail),
        Error::TooLarge(detail) => tr!(lang, "cli-error-too-large", detail = detail),
        Error::Refused { rule, reason } => {
            tr!(lang, "cli-error-refused", reason = reason, rule = rule)
        }
        Error::IdMismatch { expected, found } => tr!(
            lang,
            "cli-error-id-mismatch",
            expected = expected,
            found = found
        ),
        Error::MissingDependencies { id, missing } => tr!(
            lang,
            "cli-error-missing-dependencies",
            id = id,
            missing = *missing
        ),
        Error::StoreTooNew { found, supported } => tr!(
            lang,
            "cli-error-store-too-new",
            found = *found,
            supported = *supported
        ),
        // SQLite's and Automerge's errors are English, and client-core adds its advice to
        // them: the whole message is the detail.
        Error::Storage(_) => tr!(lang, "cli-error-storage", detail = e.to_string()),
        Error::Document(_) => tr!(lang, "cli-error-document", detail = e.to_string()),
        Error::System { what, reason } => {
            tr!(lang, "cli-error-system", what = what, reason = reason)
        }
        Error::NoQuarantineEntry(entry) => {
            tr!(lang, "cli-error-no-quarantine-entry-core", entry = *entry)
        }
        Error::Attachment(a) => attachment_error(lang, a),
        Error::QuarantineBaseMissing { entry, doc_id } => tr!(
            lang,
            "cli-error-quarantine-base-missing",
            entry = *entry,
            id = doc_id
        ),
        other => other.to_string(),
    }
}

/// client-core's attachment error `e` in `lang`.
fn attachment_error(lang: Lang, e: &AttachmentError) -> String {
    match e {
        AttachmentError::Unreadable { path, reason } => tr!(
            lang,
            "cli-error-attachment-unreadable",
            path = path,
            reason = reason
        ),
        AttachmentError::Empty { name } => tr!(lang, "cli-error-attachment-empty", name = name),
        AttachmentError::TooLarge { name, size, limit } => tr!(
            lang,
            "cli-error-attachment-too-large",
            name = name,
            size = *size,
            limit = *limit
        ),
        AttachmentError::MediaType { name, allowed } => tr!(
            lang,
            "cli-error-attachment-media-type",
            name = name,
            allowed = allowed
        ),
        AttachmentError::Unknown(id) => tr!(lang, "cli-error-attachment-unknown", id = id),
        AttachmentError::NotFound(id) => tr!(lang, "cli-error-attachment-not-found", id = id),
        AttachmentError::NotUploaded(id) => {
            tr!(lang, "cli-error-attachment-not-uploaded", id = id)
        }
        AttachmentError::NoThumbnail(id) => {
            tr!(lang, "cli-error-attachment-no-thumbnail", id = id)
        }
        AttachmentError::Damaged(id) => tr!(lang, "cli-error-attachment-damaged", id = id),
        AttachmentError::Lost { id, name } => {
            tr!(lang, "cli-error-attachment-lost", id = id, name = name)
        }
        other => other.to_string(),
    }
}

/// client-core's sync error `e` in `lang`, as its `Display` says it in English.
pub fn sync_error(lang: Lang, e: &SyncError) -> String {
    match e {
        SyncError::Network(reason) => tr!(lang, "cli-error-network", reason = reason),
        SyncError::Auth(message) => tr!(lang, "cli-error-session", message = message),
        SyncError::AccountDisabled(message) => {
            tr!(lang, "cli-error-account-disabled", message = message)
        }
        SyncError::Server {
            status,
            code,
            message,
        } => match describe_error_code(lang, code) {
            Some(meaning) => tr!(
                lang,
                "cli-error-server",
                status = *status,
                message = message,
                meaning = meaning
            ),
            None => tr!(
                lang,
                "cli-error-server-uncoded",
                status = *status,
                message = message
            ),
        },
        SyncError::UpdateApp { min_version } if min_version.is_empty() => {
            tr!(lang, "cli-error-update-app")
        }
        SyncError::UpdateApp { min_version } => {
            tr!(
                lang,
                "cli-error-update-app-to",
                version = min_version.as_str()
            )
        }
        SyncError::ServerTooOld => tr!(lang, "cli-error-server-too-old"),
        SyncError::Protocol(detail) => tr!(lang, "cli-error-protocol", detail = detail),
        SyncError::ServerUrl(url) => tr!(lang, "cli-error-server-url", url = url),
        SyncError::Store(e) => core_error(lang, e),
        SyncError::Incomplete { failed, .. } => {
            let first = failed.first();
            tr!(
                lang,
                "cli-error-incomplete",
                count = failed.len(),
                id = first.map_or("", |f| f.id.as_str()),
                error = first.map_or("", |f| f.error.as_str())
            )
        }
        SyncError::TooManyRounds(rounds) => {
            tr!(lang, "cli-error-too-many-rounds", rounds = *rounds)
        }
        SyncError::Cancelled => tr!(lang, "cli-error-cancelled"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests;
