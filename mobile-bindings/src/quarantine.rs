//! Changes the server refused, kept aside on the device so that nothing typed is lost: list
//! them, read one field by field, write what is still allowed again, export one to a file, or
//! discard one.
//!
//! Reading the refused changes, deciding what a retry may write again (never a status, a
//! decision or a payment) and the export's format are client-core's; these records only carry
//! the answers across, values as JSON text.

use fieldsync_core::store::{
    ChangeKind, FieldChange, QuarantineDetail, QuarantineEntry, RetriedField, RetryReport,
};

use crate::records::count;
use crate::{FieldsyncClient, FieldsyncError, Res};

/// Changes of one document the server refused, kept aside.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct QuarantineRecord {
    /// Entry number.
    pub id: i64,
    /// The document.
    pub doc_id: String,
    /// Its kind.
    pub kind: String,
    /// The rule the server named.
    pub rule: String,
    /// What was wrong, for the user.
    pub reason: String,
    /// When (UTC, RFC 3339).
    pub quarantined_at: String,
    /// Size of the kept changes in bytes.
    pub size: i64,
}

impl From<QuarantineEntry> for QuarantineRecord {
    fn from(e: QuarantineEntry) -> Self {
        QuarantineRecord {
            id: e.id,
            doc_id: e.doc_id,
            kind: e.kind.as_str().to_string(),
            rule: e.rule,
            reason: e.reason,
            quarantined_at: e.quarantined_at,
            size: count(e.size),
        }
    }
}

/// One thing the refused changes do to their document.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct FieldChangeRecord {
    /// The root field it belongs to (`name`, `items`, `spin`).
    pub field: String,
    /// Where in the document: `name`, `items[<entry id>].amount`, `spin.problem`.
    pub path: String,
    /// What happened: `"set"` (a value replaced), `"added"`, `"removed"` (a field or a list
    /// entry), or `"text"` (shared text edited: see `text_added` and `text_removed`).
    pub change: String,
    /// The value before, as JSON text (none for an added value and for text).
    pub old_json: Option<String>,
    /// The value after, as JSON text (none for a removed value and for text).
    pub new_json: Option<String>,
    /// For text: the text added.
    pub text_added: Option<String>,
    /// For text: the text removed.
    pub text_removed: Option<String>,
}

impl From<FieldChange> for FieldChangeRecord {
    fn from(c: FieldChange) -> Self {
        let change = match c.change {
            ChangeKind::Set => "set",
            ChangeKind::Added => "added",
            ChangeKind::Removed => "removed",
            ChangeKind::Text => "text",
        };
        FieldChangeRecord {
            field: c.field,
            path: c.path,
            change: change.to_string(),
            old_json: c.old.map(|v| v.to_string()),
            new_json: c.new.map(|v| v.to_string()),
            text_added: c.text_added,
            text_removed: c.text_removed,
        }
    }
}

/// A quarantine entry read field by field, for the user to see what was refused.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct QuarantineDetailRecord {
    /// The entry: document, kind, the server's rule and reason, when.
    pub entry: QuarantineRecord,
    /// Whether the device has the document now (false for one the server never accepted).
    pub in_store: bool,
    /// What the refused changes do to the document as it is now.
    pub changes: Vec<FieldChangeRecord>,
    /// False when the version the changes build on is no longer on the device: then `changes`
    /// holds the values set and the text typed without what they replaced, and the entry
    /// cannot be retried (export it to keep what was typed).
    pub complete: bool,
}

impl From<QuarantineDetail> for QuarantineDetailRecord {
    fn from(d: QuarantineDetail) -> Self {
        QuarantineDetailRecord {
            entry: d.entry.into(),
            in_store: d.in_store,
            changes: d.changes.into_iter().map(Into::into).collect(),
            complete: d.complete,
        }
    }
}

/// What a retry did with one root field.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct RetriedFieldRecord {
    /// The root field (`name`, `items`, `status`).
    pub field: String,
    /// Whether it was written again.
    pub retried: bool,
    /// For a skipped field: why.
    pub why: Option<String>,
}

impl From<RetriedField> for RetriedFieldRecord {
    fn from(f: RetriedField) -> Self {
        RetriedFieldRecord {
            field: f.field,
            retried: f.retried,
            why: f.why,
        }
    }
}

/// What `retry_quarantined` did.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct RetryRecord {
    /// The quarantine entry.
    pub entry: i64,
    /// The document written.
    pub doc_id: String,
    /// Its kind.
    pub kind: String,
    /// Whether the document was created again (the server never accepted it).
    pub recreated: bool,
    /// Each root field the refused changes touched, retried or skipped.
    pub fields: Vec<RetriedFieldRecord>,
    /// Whether the entry stays in quarantine, holding only the skipped fields.
    pub kept: bool,
}

impl From<RetryReport> for RetryRecord {
    fn from(r: RetryReport) -> Self {
        RetryRecord {
            entry: r.entry,
            doc_id: r.doc_id,
            kind: r.kind.as_str().to_string(),
            recreated: r.recreated,
            fields: r.fields.into_iter().map(Into::into).collect(),
            kept: r.kept,
        }
    }
}

#[uniffi::export]
impl FieldsyncClient {
    /// Changes the server refused, kept aside on this device.
    pub fn quarantine(&self) -> Res<Vec<QuarantineRecord>> {
        self.call(|c| Ok(c.quarantine()?.into_iter().map(Into::into).collect()))
    }

    /// Quarantine entry `entry` (a `QuarantineRecord.id`) read field by field: what its
    /// changes do to the document as it is now. `NotFound` for an unknown entry.
    pub fn quarantined(&self, entry: i64) -> Res<QuarantineDetailRecord> {
        self.call(|c| Ok(c.quarantined(entry)?.into()))
    }

    /// Writes what quarantine entry `entry` holds that is still allowed onto the document
    /// again, as fresh edits of this device, each checked again (the next sync pushes them);
    /// a status, a decision or a payment is never written again. The entry is removed, or
    /// keeps only the fields skipped. `NotFound` for an unknown entry, or one whose document
    /// version is no longer here (sync, or export it).
    pub fn retry_quarantined(&self, entry: i64) -> Res<RetryRecord> {
        self.call(|c| Ok(c.retry_quarantined(entry)?.into()))
    }

    /// Quarantine entry `entry` as JSON text to keep in a file or send to support: the entry,
    /// its field diff and its raw changes (base64), enough to merge them back later.
    pub fn export_quarantined(&self, entry: i64) -> Res<String> {
        self.call(|c| {
            let export = c.export_quarantined(entry)?;
            serde_json::to_string_pretty(&export).map_err(|e| FieldsyncError::Storage {
                reason: format!(
                    "cannot write quarantine entry {entry} as JSON: {e}; please report it"
                ),
            })
        })
    }

    /// Deletes quarantine entry `entry` and the changes it kept, for good, once the user has
    /// seen why the server refused them. Returns whether it existed.
    pub fn discard_quarantined(&self, entry: i64) -> Res<bool> {
        self.call(|c| Ok(c.discard_quarantined(entry)?))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_field_change_carries_its_values_as_json_text() {
        let set = FieldChangeRecord::from(FieldChange {
            field: "tier".into(),
            path: "tier".into(),
            change: ChangeKind::Set,
            old: Some(serde_json::json!("B")),
            new: Some(serde_json::json!("A")),
            text_added: None,
            text_removed: None,
        });
        assert_eq!(set.change, "set");
        assert_eq!(set.old_json.as_deref(), Some("\"B\""));
        assert_eq!(set.new_json.as_deref(), Some("\"A\""));
        let text = FieldChangeRecord::from(FieldChange {
            field: "notes".into(),
            path: "notes".into(),
            change: ChangeKind::Text,
            old: None,
            new: None,
            text_added: Some("pays late".into()),
            text_removed: None,
        });
        assert_eq!((text.change.as_str(), text.new_json), ("text", None));
    }

    #[test]
    fn an_unknown_entry_is_not_found_everywhere() {
        let dir = tempfile::tempdir().unwrap();
        let client =
            FieldsyncClient::open(dir.path().display().to_string(), "test".into()).unwrap();
        assert!(client.quarantine().unwrap().is_empty());
        assert!(matches!(
            client.quarantined(7),
            Err(FieldsyncError::NotFound { .. })
        ));
        assert!(matches!(
            client.retry_quarantined(7),
            Err(FieldsyncError::NotFound { .. })
        ));
        assert!(matches!(
            client.export_quarantined(7),
            Err(FieldsyncError::NotFound { .. })
        ));
        assert!(!client.discard_quarantined(7).unwrap());
    }
}
