//! References to attachments: a visit's photos, an expense item's receipt, a customer's photos
//! and business cards, a complaint's evidence.
//!
//! The bytes are not in the document. An attachment is content-addressed: its id is the
//! SHA-256 of its bytes, so the same photo attached twice is one blob, and a reference cannot
//! point at other bytes than the ones it was made from. The document holds the reference (id,
//! media type, size, file name, when it was taken, who attached it); the bytes live in the
//! device's blob folder and in the server's blob store, and upload separately (docs/PROTOCOL.md,
//! "Attachments").
//!
//! A reference is signed: `added_by` names whoever attached it, and the server accepts a new
//! reference only from that user. It lets a reference open its bytes to the readers of the
//! document only once its signer has uploaded them, so a reference to bytes one never had
//! (a hash remembered from a customer one no longer serves) opens nothing.

use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};

use super::fields::{check_stored_time, limit_text, validate_username};
use crate::error::ValidationError;

/// The largest attachment any server takes (the server's own limit is usually lower: 25 MB by
/// default, configurable).
pub const MAX_ATTACHMENT_BYTES: i64 = 1 << 30;

/// The most attachments one list of a document holds (a visit's photos, a customer's cards).
pub const MAX_ATTACHMENTS_PER_LIST: usize = 50;

/// The media types an attachment may have unless the server says otherwise.
pub const DEFAULT_MEDIA_TYPES: &[&str] = &[
    "image/jpeg",
    "image/png",
    "image/heic",
    "image/webp",
    "application/pdf",
];

/// A reference to an attachment, as documents store it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, Hydrate, Reconcile)]
pub struct AttachmentRef {
    /// The SHA-256 of the bytes, 64 lower-case hex digits.
    #[key]
    pub id: String,
    /// The media type, as sniffed from the bytes on the device (`image/jpeg`).
    pub media_type: String,
    /// Size in bytes.
    pub size: i64,
    /// The file name it had on the device (no folders).
    pub name: String,
    /// When the photo was taken or the file attached (RFC 3339, UTC).
    pub taken_at: String,
    /// Who attached it: the reference's signature.
    pub added_by: String,
}

/// Whether `id` is an attachment id: 64 lower-case hex digits.
pub fn is_attachment_id(id: &str) -> bool {
    id.len() == 64 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Checks an attachment id, for typed input and stored references.
pub fn check_attachment_id(field: &str, id: &str) -> Result<(), ValidationError> {
    if is_attachment_id(id) {
        Ok(())
    } else {
        Err(ValidationError::new(
            field,
            format!("'{id}' is not an attachment id: 64 lower-case hex digits (its SHA-256)"),
        ))
    }
}

/// Checks a media type's form: `type/subtype`, lower case, short.
fn check_media_type(field: &str, value: &str) -> Result<(), ValidationError> {
    let plain = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+-.".contains(&b))
    };
    match value.split_once('/') {
        Some((t, s)) if value.len() <= 100 && plain(t) && plain(s) => Ok(()),
        _ => Err(ValidationError::new(
            field,
            format!("'{value}' is not a media type such as image/jpeg"),
        )),
    }
}

/// Checks a file name: 1 to 255 characters, no folders, no control characters.
pub fn check_file_name(field: &str, name: &str) -> Result<(), ValidationError> {
    limit_text(field, name, 255)?;
    if name.trim().is_empty()
        || name
            .chars()
            .any(|c| c.is_control() || c == '/' || c == '\\')
        || name == "."
        || name == ".."
    {
        return Err(ValidationError::new(
            field,
            format!("'{name}' is not a file name: no folders, no control characters"),
        ));
    }
    Ok(())
}

impl AttachmentRef {
    /// Checks every field; `field` names the list it is in, for the message.
    pub fn validate(&self, field: &str) -> Result<(), ValidationError> {
        let at = |f: &str| format!("{field}.{f}");
        check_attachment_id(&at("id"), &self.id)?;
        check_media_type(&at("media_type"), &self.media_type)?;
        if !(1..=MAX_ATTACHMENT_BYTES).contains(&self.size) {
            return Err(ValidationError::new(
                at("size"),
                format!(
                    "{} bytes is not a size an attachment can have (1 byte to 1 GiB)",
                    self.size
                ),
            ));
        }
        check_file_name(&at("name"), &self.name)?;
        check_stored_time(&at("taken_at"), &self.taken_at)?;
        validate_username(&at("added_by"), &self.added_by)
    }
}

/// Checks a list of references: each valid, no id twice, at most
/// [`MAX_ATTACHMENTS_PER_LIST`].
pub fn validate_list(field: &str, list: &[AttachmentRef]) -> Result<(), ValidationError> {
    if list.len() > MAX_ATTACHMENTS_PER_LIST {
        return Err(ValidationError::new(
            field,
            format!(
                "holds {} attachments; the limit is {MAX_ATTACHMENTS_PER_LIST}",
                list.len()
            ),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for a in list {
        a.validate(field)?;
        if !seen.insert(a.id.as_str()) {
            return Err(ValidationError::new(
                field,
                format!("attachment {} is in the list twice", a.id),
            ));
        }
    }
    Ok(())
}

/// Appends `attachment` to the list under root `key` (`field` names it in errors), unless a
/// reference with its id is there already: attaching the same bytes twice is one attachment.
pub(crate) fn add_to_list(
    doc: &mut automerge::AutoCommit,
    key: &str,
    field: &str,
    attachment: &AttachmentRef,
) -> crate::error::Result<()> {
    attachment.validate(field)?;
    // A document written before attachments has no list yet: the first attachment makes it.
    // (Two devices attaching the first photo of such a document at once make two lists, and
    // the merge keeps one: the other photo's reference is lost, its bytes stay on its device.)
    if automerge::ReadDoc::get(doc, &automerge::ROOT, key)?.is_none() {
        automerge::transaction::Transactable::put_object(
            doc,
            &automerge::ROOT,
            key,
            automerge::ObjType::List,
        )?;
    }
    match super::edit::list_find(doc, &automerge::ROOT, key, field, &attachment.id) {
        Ok(_) => Ok(()),
        Err(crate::error::Error::NotFound(_)) => {
            super::edit::list_push(doc, &automerge::ROOT, key, field, attachment)
        }
        Err(e) => Err(e),
    }
}

/// What a file's first bytes say it is, for the media types attachments may have: the type is
/// read from the content, never trusted from a name or a declaration. `None`: none of them (an
/// executable renamed `photo.jpg`, say).
pub fn sniff_media_type(head: &[u8]) -> Option<&'static str> {
    let kind = infer::get(head)?;
    let media = match kind.mime_type() {
        "image/jpeg" => "image/jpeg",
        "image/png" => "image/png",
        "image/webp" => "image/webp",
        "image/heif" | "image/heic" => "image/heic",
        "application/pdf" => "application/pdf",
        _ => return None,
    };
    Some(media)
}

/// How many first bytes [`sniff_media_type`] needs to decide.
pub const SNIFF_BYTES: usize = 64;

#[cfg(test)]
mod tests {
    use super::*;

    fn photo() -> AttachmentRef {
        AttachmentRef {
            id: "a".repeat(64),
            media_type: "image/jpeg".into(),
            size: 2_000_000,
            name: "shop front.jpg".into(),
            taken_at: "2026-11-23T09:30:00Z".into(),
            added_by: "li".into(),
        }
    }

    #[test]
    fn a_reference_is_checked_field_by_field() {
        assert!(photo().validate("visit.photos").is_ok());
        let bad = [
            AttachmentRef {
                id: "A".repeat(64),
                ..photo()
            },
            AttachmentRef {
                media_type: "jpeg".into(),
                ..photo()
            },
            AttachmentRef { size: 0, ..photo() },
            AttachmentRef {
                name: "../etc/passwd".into(),
                ..photo()
            },
            AttachmentRef {
                taken_at: "yesterday".into(),
                ..photo()
            },
            AttachmentRef {
                added_by: "two words".into(),
                ..photo()
            },
        ];
        for b in bad {
            let err = b.validate("visit.photos").expect_err("invalid reference");
            assert!(err.to_string().contains("visit.photos."), "{err}");
        }
    }

    #[test]
    fn a_list_holds_each_attachment_once_and_a_bounded_number() {
        let err = validate_list("visit.photos", &[photo(), photo()]).expect_err("twice");
        assert!(err.to_string().contains("twice"), "{err}");
        let many: Vec<AttachmentRef> = (0..=MAX_ATTACHMENTS_PER_LIST)
            .map(|i| AttachmentRef {
                id: format!("{i:064x}"),
                ..photo()
            })
            .collect();
        assert!(validate_list("visit.photos", &many).is_err());
        assert!(validate_list("visit.photos", &many[1..]).is_ok());
    }

    #[test]
    fn the_media_type_is_read_from_the_bytes() {
        assert_eq!(
            sniff_media_type(b"\xFF\xD8\xFF\xE0\0\x10JFIF\0"),
            Some("image/jpeg")
        );
        assert_eq!(
            sniff_media_type(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"),
            Some("image/png")
        );
        assert_eq!(
            sniff_media_type(b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n"),
            Some("application/pdf")
        );
        assert_eq!(
            sniff_media_type(b"\x7FELF\x02\x01\x01\0\0\0\0\0\0\0\0\0"),
            None
        );
        assert_eq!(sniff_media_type(b"MZ\x90\0\x03\0\0\0\x04\0\0\0"), None);
        assert_eq!(sniff_media_type(b"just some text"), None);
    }
}
