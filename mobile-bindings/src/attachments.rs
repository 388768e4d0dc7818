//! Attachments: photos of a visit (the check-in photo among them), a customer's photos and
//! business cards, a complaint's evidence, an expense's receipt; opening, saving and listing
//! them, the cache budget, and sending again an upload the server refused.
//!
//! Everything is the facade's ([`fieldsync_core::Client::attach_to_visit`] and the rest):
//! checking a file (its size, its media type read from its content, never from its name),
//! writing the signed reference and keeping the bytes until the next sync uploads them,
//! downloading on demand, resuming after a cut, the cache. This module maps paths (text) and
//! records, and hands a download's progress to the app's [`SyncProgress`] on a thread of its
//! own.

use std::path::PathBuf;

use fieldsync_core::attachments::{
    AttachmentInfo, AttachmentProgress, AttachmentTally, AttachmentUse, Direction,
    RefusedAttachment,
};
use fieldsync_core::model::attachment::AttachmentRef;

use crate::records::count;
use crate::{FieldsyncClient, FieldsyncError, Res, SyncProgress, Teller};

/// A reference to an attachment, as a document holds it: what `attach_*` return, and what
/// visits, customers, complaints and expenses show (`photos`, `receipt`, …).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct AttachmentRefRecord {
    /// The attachment's id: the SHA-256 of its bytes, 64 hex digits (`fetch_attachment`).
    pub id: String,
    /// Media type, read from the content (`image/jpeg`, `application/pdf`, …).
    pub media_type: String,
    /// Size in bytes.
    pub size: i64,
    /// The file name it had on the device that attached it.
    pub name: String,
    /// When the photo was taken (the file's time) or attached (RFC 3339, UTC).
    pub taken_at: String,
    /// Who attached it.
    pub added_by: String,
}

impl From<AttachmentRef> for AttachmentRefRecord {
    fn from(a: AttachmentRef) -> Self {
        AttachmentRefRecord {
            id: a.id,
            media_type: a.media_type,
            size: a.size,
            name: a.name,
            taken_at: a.taken_at,
            added_by: a.added_by,
        }
    }
}

/// References as records.
pub(crate) fn refs(list: Vec<AttachmentRef>) -> Vec<AttachmentRefRecord> {
    list.into_iter().map(Into::into).collect()
}

/// A document on the device that references an attachment.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct AttachmentUseRecord {
    /// The document's id.
    pub doc_id: String,
    /// Its kind: `visit`, `customer`, `complaint` or `expense_claim`.
    pub kind: String,
    /// Who attached it there.
    pub added_by: String,
}

impl From<AttachmentUse> for AttachmentUseRecord {
    fn from(u: AttachmentUse) -> Self {
        AttachmentUseRecord {
            doc_id: u.doc_id,
            kind: u.kind,
            added_by: u.added_by,
        }
    }
}

/// An attachment as the device knows it (`attachments`).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct AttachmentRecord {
    /// The attachment's id (the SHA-256 of its bytes).
    pub id: String,
    /// File name.
    pub name: String,
    /// Media type.
    pub media_type: String,
    /// Size in bytes.
    pub size: i64,
    /// Where its bytes stand: `pending` (attached here, not uploaded yet: kept whatever the
    /// cache budget), `uploaded`, `fetched` (downloaded) or `remote` (not on this device).
    pub state: String,
    /// Whether its bytes are on this device.
    pub local: bool,
    /// Whether its thumbnail is on this device.
    pub thumbnail: bool,
    /// The documents on the device that reference it.
    pub documents: Vec<AttachmentUseRecord>,
    /// The server's reason if it refused the upload; it is not sent again until
    /// `retry_attachment`.
    pub refused: Option<String>,
    /// Why its last transfer failed, if it did (tried again at the next sync).
    pub last_error: Option<String>,
}

impl From<AttachmentInfo> for AttachmentRecord {
    fn from(a: AttachmentInfo) -> Self {
        AttachmentRecord {
            id: a.id,
            name: a.name,
            media_type: a.media_type,
            size: count(a.size),
            state: a.state.as_str().to_string(),
            local: a.local,
            thumbnail: a.thumbnail,
            documents: a.documents.into_iter().map(Into::into).collect(),
            refused: a.refused,
            last_error: a.last_error,
        }
    }
}

/// How far an attachment's upload or download is, for a progress bar
/// (`SyncProgress.on_attachment`).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct AttachmentProgressRecord {
    /// The attachment's id.
    pub id: String,
    /// Its file name.
    pub name: String,
    /// `upload` (to the server) or `download` (to this device).
    pub direction: String,
    /// Bytes the receiving side holds so far (a transfer resumed after a cut starts where it
    /// stopped).
    pub done: i64,
    /// Its size in bytes.
    pub size: i64,
    /// Which transfer of the batch it is, from 1.
    pub number: i64,
    /// How many transfers the batch has.
    pub of: i64,
}

impl From<AttachmentProgress> for AttachmentProgressRecord {
    fn from(p: AttachmentProgress) -> Self {
        AttachmentProgressRecord {
            id: p.id,
            name: p.name,
            direction: match p.direction {
                Direction::Upload => "upload",
                Direction::Download => "download",
            }
            .to_string(),
            done: count(p.done),
            size: count(p.size),
            number: i64::from(p.number),
            of: i64::from(p.of),
        }
    }
}

/// What a sync did about attachments once its rounds were done (`SyncReport.attachments`).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct AttachmentTallyRecord {
    /// Attachments uploaded.
    pub uploaded: i64,
    /// Attachments the server refused (see `attachments()`, `retry_attachment`).
    pub refused: i64,
    /// Attachments still waiting for their upload after the sync.
    pub pending: i64,
    /// Bytes sent for uploads.
    pub bytes_sent: i64,
    /// Attachments and thumbnails fetched ahead (the user's receipts, visits' thumbnails).
    pub fetched: i64,
    /// Bytes received for them.
    pub bytes_received: i64,
}

impl From<AttachmentTally> for AttachmentTallyRecord {
    fn from(t: AttachmentTally) -> Self {
        AttachmentTallyRecord {
            uploaded: i64::from(t.uploaded),
            refused: i64::from(t.refused),
            pending: i64::from(t.pending),
            bytes_sent: count(t.bytes_sent),
            fetched: i64::from(t.fetched),
            bytes_received: count(t.bytes_received),
        }
    }
}

/// An attachment the server refused to take (`SyncStatusRecord.attachments_refused`).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct RefusedAttachmentRecord {
    /// The attachment's id.
    pub id: String,
    /// Its file name.
    pub name: String,
    /// What the server said.
    pub reason: String,
}

impl From<RefusedAttachment> for RefusedAttachmentRecord {
    fn from(r: RefusedAttachment) -> Self {
        RefusedAttachmentRecord {
            id: r.id,
            name: r.name,
            reason: r.reason,
        }
    }
}

#[uniffi::export]
impl FieldsyncClient {
    /// Attaches the photo at `path` to visit `visit_id` (offline); `check_in` makes it the
    /// check-in photo. The file is checked (not empty, at most 25 MB, a JPEG, PNG, HEIC, WebP
    /// or PDF by its content) and kept until the next sync uploads it. Returns the reference
    /// written. A refused file (`Invalid`) changes nothing.
    #[uniffi::method(default(check_in = false))]
    pub fn attach_to_visit(
        &self,
        visit_id: String,
        path: String,
        check_in: bool,
    ) -> Res<AttachmentRefRecord> {
        self.call(|c| Ok(c.attach_to_visit(&visit_id, &path, check_in)?.into()))
    }

    /// Attaches the file at `path` to customer `customer_id`: a photographed business card
    /// when `business_card`, else a photo of the customer. As `attach_to_visit`.
    #[uniffi::method(default(business_card = false))]
    pub fn attach_to_customer(
        &self,
        customer_id: String,
        path: String,
        business_card: bool,
    ) -> Res<AttachmentRefRecord> {
        self.call(|c| {
            Ok(c.attach_to_customer(&customer_id, &path, business_card)?
                .into())
        })
    }

    /// Attaches the file at `path` to complaint `complaint_id` as evidence. As
    /// `attach_to_visit`.
    pub fn attach_to_complaint(
        &self,
        complaint_id: String,
        path: String,
    ) -> Res<AttachmentRefRecord> {
        self.call(|c| Ok(c.attach_to_complaint(&complaint_id, &path)?.into()))
    }

    /// Attaches the file at `path` as the receipt of expense `item_id` (an
    /// `ExpenseLineRecord.id`) of claim `claim_id`, replacing the one it had. As
    /// `attach_to_visit`; `ExpenseItemRecord.receipt` attaches one as the expense is added.
    pub fn attach_receipt(
        &self,
        claim_id: String,
        item_id: String,
        path: String,
    ) -> Res<AttachmentRefRecord> {
        self.call(|c| Ok(c.attach_receipt(&claim_id, &item_id, &path)?.into()))
    }

    /// The path of attachment `id` on this device, downloaded first if it is not here
    /// (`progress.on_attachment` is told how far, on a thread of the library's own; needs the
    /// network then). A document on the device must reference it (`NotFound` otherwise, as
    /// when the server does not let the user see it, or its bytes are not uploaded yet: try
    /// later). Read the file, do not change it: it is the device's copy (`save_attachment`
    /// makes one to keep).
    #[uniffi::method(default(progress = None))]
    pub fn fetch_attachment(
        &self,
        id: String,
        progress: Option<Box<dyn SyncProgress>>,
    ) -> Res<String> {
        let teller = Teller::start(progress, |p, a: AttachmentProgress| {
            p.on_attachment(a.into());
        })?;
        let result = self.call(|c| Ok(path_text(c.fetch_attachment(&id, |a| teller.tell(a))?)));
        teller.finish();
        result
    }

    /// Saves a copy of attachment `id` (downloaded first if needed) as the file `out`, or,
    /// if `out` is a folder, under the attachment's file name in it. Returns the file written.
    pub fn save_attachment(&self, id: String, out: String) -> Res<String> {
        self.call(|c| Ok(path_text(c.save_attachment(&id, &out)?)))
    }

    /// The path of attachment `id`'s thumbnail (a JPEG of at most 320 pixels a side, made by
    /// the server from a JPEG, PNG or WebP image), downloaded first if it is not here.
    /// `NotFound` when the server has none (a PDF, a HEIC photo): show the attachment's name.
    pub fn thumbnail_path(&self, id: String) -> Res<String> {
        self.call(|c| Ok(path_text(c.thumbnail_path(&id)?)))
    }

    /// The attachments the device knows (those its documents reference and those whose bytes
    /// it holds), the pending ones first; only those waiting for their upload when
    /// `pending_only`.
    #[uniffi::method(default(pending_only = false))]
    pub fn attachments(&self, pending_only: bool) -> Res<Vec<AttachmentRecord>> {
        self.call(|c| {
            Ok(c.attachments(pending_only)?
                .into_iter()
                .map(Into::into)
                .collect())
        })
    }

    /// Sends attachment `id` again at the next sync although the server refused it (after
    /// its limits changed, say). Returns whether it had been refused.
    pub fn retry_attachment(&self, id: String) -> Res<bool> {
        self.call(|c| Ok(c.retry_attachment(&id)?))
    }

    /// How many bytes of downloaded attachments and thumbnails the device keeps at most (the
    /// least recently used go first); attachments not uploaded yet are kept whatever it says.
    pub fn attachment_cache_budget(&self) -> Res<i64> {
        self.call(|c| Ok(count(c.attachment_cache_budget()?)))
    }

    /// Sets the cache budget in bytes (kept on the device) and frees at once what exceeds it.
    pub fn set_attachment_cache_budget(&self, bytes: i64) -> Res<()> {
        let bytes = u64::try_from(bytes).map_err(|_| {
            FieldsyncError::from(fieldsync_core::ValidationError::new(
                "bytes",
                format!("{bytes} is not a cache budget: give 0 bytes or more"),
            ))
        })?;
        self.call(|c| Ok(c.set_attachment_cache_budget(bytes)?))
    }
}

/// A path as the app passes it back (a path not in UTF-8, which the library never makes,
/// loses its odd bytes).
fn path_text(path: PathBuf) -> String {
    path.to_string_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn progress_and_tally_travel_as_plain_numbers_and_strings() {
        let p = AttachmentProgressRecord::from(AttachmentProgress {
            id: "a".repeat(64),
            name: "shop.jpg".into(),
            direction: Direction::Download,
            done: 4_096,
            size: 10_000,
            number: 2,
            of: 3,
        });
        assert_eq!(
            (p.direction.as_str(), p.done, p.size, p.number, p.of),
            ("download", 4_096, 10_000, 2, 3)
        );
        let t = AttachmentTallyRecord::from(AttachmentTally {
            uploaded: 2,
            bytes_sent: u64::MAX,
            ..AttachmentTally::default()
        });
        assert_eq!((t.uploaded, t.bytes_sent), (2, i64::MAX));
    }

    #[test]
    fn attaching_needs_a_login_and_a_negative_budget_is_invalid() {
        let dir = tempfile::tempdir().unwrap();
        let client =
            FieldsyncClient::open(dir.path().display().to_string(), "test".into()).unwrap();
        let jpeg = dir.path().join("photo.jpg");
        let mut bytes = vec![
            0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 0x4A, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01,
        ];
        bytes.extend(std::iter::repeat_n(7u8, 1_000));
        std::fs::write(&jpeg, &bytes).unwrap();
        let elf = dir.path().join("disguised.jpg");
        std::fs::write(&elf, b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0").unwrap();
        let path = |p: &std::path::Path| p.display().to_string();
        // The file is checked first, then the edit needs a user.
        assert!(matches!(
            client.attach_to_visit("v".into(), path(&elf), false),
            Err(FieldsyncError::Invalid { reason }) if reason.contains("disguised.jpg")
        ));
        assert!(matches!(
            client.attach_to_visit("v".into(), path(&jpeg), true),
            Err(FieldsyncError::Auth { .. })
        ));
        assert_eq!(client.status().unwrap().attachments_pending, 0);
        assert!(matches!(
            client.set_attachment_cache_budget(-1),
            Err(FieldsyncError::Invalid { .. })
        ));
        client.set_attachment_cache_budget(1_000_000).unwrap();
        assert_eq!(client.attachment_cache_budget().unwrap(), 1_000_000);
        assert_eq!(client.attachments(false).unwrap(), []);
        assert!(matches!(
            client.fetch_attachment("not an id".into(), None),
            Err(FieldsyncError::Invalid { .. })
        ));
        assert!(matches!(
            client.fetch_attachment("a".repeat(64), None),
            Err(FieldsyncError::NotFound { .. })
        ));
    }
}
