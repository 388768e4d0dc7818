//! Resumable uploads: each request's bytes are kept as one part, whatever arrived before the
//! connection dropped; when the parts reach the whole size they are put together, their
//! SHA-256 and media type checked, and only then do they appear under the attachment's id.
//!
//! The common case, a whole file in one request, takes a shorter road: it is written under a
//! staging name while its hash is computed, checked, and renamed into place; it becomes a
//! part only if the request breaks off.
//!
//! This module knows nothing of HTTP: [`receive`] takes a stream of bytes, so it is tested
//! with streams cut at chosen bytes.

use bytes::Bytes;
use fieldsync_core::model::attachment::{SNIFF_BYTES, sniff_media_type};
use futures_util::{Stream, StreamExt};
use sha2::{Digest, Sha256};

use super::blobs::{BlobError, Blobs};

/// What the client declares of the bytes it sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declared {
    /// The attachment id (the SHA-256 the bytes must have).
    pub id: String,
    /// Its media type.
    pub media_type: String,
    /// The byte this request starts at.
    pub start: u64,
    /// The whole attachment's size.
    pub total: u64,
}

/// How an upload request ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// Kept; the server now holds this many bytes of the upload.
    Partial(u64),
    /// The attachment is complete and checked; it exists under its id.
    Complete,
}

/// Why an upload request was refused; what it sent was dropped.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// The request does not start where the held bytes end.
    #[error("the upload holds {0} bytes")]
    Offset(u64),
    /// The bytes are not of the declared media type (or of none the server takes).
    #[error("the file is {found}, not {declared} as declared")]
    MediaType {
        /// What was declared.
        declared: String,
        /// What the bytes are, as far as can be told.
        found: String,
    },
    /// More bytes than the declared range.
    #[error("the request sent more bytes than its Content-Range says")]
    TooLong,
    /// The whole does not hash to its id.
    #[error("the bytes' SHA-256 is {0}")]
    Hash(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] BlobError),
}

/// How long an upload request may send nothing before it is taken as cut.
const IDLE: std::time::Duration = std::time::Duration::from_secs(30);

/// Completes `username`'s upload of `declared` if its parts already hold every byte (a request
/// that ended before it could): [`Received::Complete`] then, else how much is held.
pub async fn complete_held(
    blobs: &Blobs,
    username: &str,
    declared: &Declared,
) -> Result<Received, UploadError> {
    let held = held(blobs, &declared.id, username).await?;
    if held < declared.total {
        return Ok(Received::Partial(held));
    }
    assemble(blobs, username, declared).await?;
    Ok(Received::Complete)
}

/// How many bytes of `id` the server holds from `username`'s upload.
pub async fn held(blobs: &Blobs, id: &str, username: &str) -> Result<u64, BlobError> {
    Ok(blobs.parts(id, username).await?.1)
}

/// Receives one request's bytes of `username`'s upload: keeps what arrives as a part (even if
/// the stream breaks off), and completes the attachment when the parts reach its size.
pub async fn receive<S, E>(
    blobs: &Blobs,
    username: &str,
    declared: &Declared,
    body: S,
) -> Result<Received, UploadError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
{
    let held = held(blobs, &declared.id, username).await?;
    if declared.start != held {
        return Err(UploadError::Offset(held));
    }
    let whole_in_one = declared.start == 0;
    let part = Blobs::part(&declared.id, username, declared.start);
    // A request from byte 0 is most often the whole file: it is written under a staging name
    // (no folder to make for it), checked and moved under its id. Only if it breaks off does
    // what arrived become the upload's first part.
    let (target, mut writer) = if whole_in_one {
        blobs.staging_writer(&declared.id).await?
    } else {
        (part.clone(), blobs.writer(&part).await?)
    };
    let mut hasher = whole_in_one.then(Sha256::new);
    let mut head: Vec<u8> = Vec::new();
    let room = declared.total - declared.start;
    let mut body = body;
    loop {
        // A connection that stops sending for a while is as good as cut: what arrived is kept.
        let chunk = match tokio::time::timeout(IDLE, body.next()).await {
            Ok(Some(Ok(chunk))) => chunk,
            Ok(None) => break,
            // The connection dropped: what arrived is kept, the device resumes from there.
            Ok(Some(Err(_))) | Err(_) => break,
        };
        if writer.written() + chunk.len() as u64 > room {
            writer.abort().await?;
            return Err(UploadError::TooLong);
        }
        if whole_in_one && head.len() < SNIFF_BYTES {
            let take = (SNIFF_BYTES - head.len()).min(chunk.len());
            head.extend_from_slice(&chunk[..take]);
            if head.len() == SNIFF_BYTES
                && let Err(e) = check_media_type(&declared.media_type, &head)
            {
                writer.abort().await?;
                return Err(e);
            }
        }
        if let Some(h) = hasher.as_mut() {
            h.update(&chunk);
        }
        writer.write(chunk).await?;
    }
    let written = writer.written();
    if written == 0 {
        writer.abort().await?;
        return Ok(Received::Partial(held));
    }
    let now_held = declared.start + written;
    // Every byte arrived (even if the connection broke right after): the attachment is
    // completed now, not left in parts.
    if let Some(h) = hasher
        && now_held == declared.total
    {
        // Checked before anything is kept: bytes that are not what they claim are dropped.
        if let Err(e) = check_whole(declared, &head, h).await {
            writer.abort().await?;
            return Err(e);
        }
        writer.finish().await?;
        blobs.settle(&target, &Blobs::blob(&declared.id)).await?;
        return Ok(Received::Complete);
    }
    writer.finish().await?;
    if whole_in_one {
        // Broken off: what arrived is the upload's first part.
        blobs.rename(&target, &part).await?;
    }
    if now_held < declared.total {
        return Ok(Received::Partial(now_held));
    }
    assemble(blobs, username, declared).await?;
    Ok(Received::Complete)
}

/// Puts the parts of a complete upload together under a staging name while hashing them,
/// checks the whole, and moves it under its id. The parts go either way.
async fn assemble(blobs: &Blobs, username: &str, declared: &Declared) -> Result<(), UploadError> {
    let (parts, held) = blobs.parts(&declared.id, username).await?;
    if held != declared.total {
        return Err(UploadError::Offset(held));
    }
    let (staging, mut writer) = blobs.staging_writer(&declared.id).await?;
    let mut hasher = Sha256::new();
    let mut head: Vec<u8> = Vec::new();
    for (path, _, _) in &parts {
        let Some(mut read) = blobs.read(path, 0, None).await? else {
            writer.abort().await?;
            return Err(UploadError::Offset(0));
        };
        while let Some(chunk) = read.bytes.next().await {
            let chunk = chunk?;
            if head.len() < SNIFF_BYTES {
                let take = (SNIFF_BYTES - head.len()).min(chunk.len());
                head.extend_from_slice(&chunk[..take]);
            }
            hasher.update(&chunk);
            writer.write(chunk).await?;
        }
    }
    let checked = check_whole(declared, &head, hasher).await;
    let outcome = match checked {
        Ok(()) => {
            writer.finish().await?;
            blobs.settle(&staging, &Blobs::blob(&declared.id)).await?;
            Ok(())
        }
        Err(e) => {
            writer.abort().await?;
            Err(e)
        }
    };
    blobs.delete_parts(&declared.id, username).await?;
    outcome
}

/// Checks a complete attachment: its first bytes are of its declared type, and its hash is
/// its id.
async fn check_whole(declared: &Declared, head: &[u8], hasher: Sha256) -> Result<(), UploadError> {
    check_media_type(&declared.media_type, head)?;
    let hash = hex::encode(hasher.finalize());
    if hash != declared.id {
        return Err(UploadError::Hash(hash));
    }
    Ok(())
}

/// Checks that `head`, a file's first bytes, are of media type `declared`.
fn check_media_type(declared: &str, head: &[u8]) -> Result<(), UploadError> {
    match sniff_media_type(head) {
        Some(found) if found == declared => Ok(()),
        found => Err(UploadError::MediaType {
            declared: declared.to_string(),
            found: found.map_or_else(
                || "not a file of any type attachments may have".to_string(),
                |f| format!("{f} by its content"),
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::attachments::BlobLocation;

    fn jpeg(len: usize) -> Vec<u8> {
        let mut bytes = b"\xFF\xD8\xFF\xE0\0\x10JFIF\0\x01\x01".to_vec();
        let mut x: u32 = 7;
        while bytes.len() < len {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            bytes.push((x >> 16) as u8);
        }
        bytes
    }

    fn declared(bytes: &[u8], start: u64) -> Declared {
        Declared {
            id: hex::encode(Sha256::digest(bytes)),
            media_type: "image/jpeg".into(),
            start,
            total: bytes.len() as u64,
        }
    }

    /// A body of `bytes` in chunks of `chunk`, broken off after `cut_at` bytes if given.
    fn body(
        bytes: &[u8],
        chunk: usize,
        cut_at: Option<usize>,
    ) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Unpin {
        let end = cut_at.unwrap_or(bytes.len());
        let mut items: Vec<Result<Bytes, std::io::Error>> = bytes[..end]
            .chunks(chunk)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        if cut_at.is_some() {
            items.push(Err(std::io::Error::other("connection reset")));
        }
        futures_util::stream::iter(items)
    }

    fn store() -> (tempfile::TempDir, Blobs) {
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::open(&BlobLocation::Files(dir.path().join("blobs"))).unwrap();
        (dir, blobs)
    }

    #[tokio::test]
    async fn an_upload_cut_at_any_byte_resumes_there_and_completes_checked() {
        let (_dir, blobs) = store();
        let photo = jpeg(300_000);
        let mut sent = 0usize;
        for cut in [1usize, 70, 65_537, 200_001] {
            let d = declared(
                &photo,
                held(&blobs, &declared(&photo, 0).id, "li").await.unwrap(),
            );
            let start = d.start as usize;
            let got = receive(
                &blobs,
                "li",
                &d,
                body(&photo[start..], 8192, Some(cut - start)),
            )
            .await
            .unwrap();
            sent += cut - start;
            assert_eq!(got, Received::Partial(cut as u64), "kept up to the cut");
            assert!(
                !blobs.exists(&Blobs::blob(&d.id)).await.unwrap(),
                "nothing under the id before the whole is checked"
            );
        }
        let d = declared(&photo, 200_001);
        let got = receive(&blobs, "li", &d, body(&photo[200_001..], 8192, None))
            .await
            .unwrap();
        sent += photo.len() - 200_001;
        assert_eq!(got, Received::Complete);
        assert_eq!(sent, photo.len(), "every byte was sent once");
        let stored = blobs.read_all(&Blobs::blob(&d.id)).await.unwrap().unwrap();
        assert_eq!(&stored[..], &photo[..]);
        assert_eq!(
            held(&blobs, &d.id, "li").await.unwrap(),
            0,
            "the parts are gone"
        );
    }

    #[tokio::test]
    async fn a_whole_file_in_one_request_is_checked_and_stored_once() {
        let (_dir, blobs) = store();
        let photo = jpeg(50_000);
        let d = declared(&photo, 0);
        for user in ["li", "wang"] {
            let got = receive(&blobs, user, &d, body(&photo, 4096, None))
                .await
                .unwrap();
            assert_eq!(got, Received::Complete, "{user}");
        }
        let stored = blobs.read_all(&Blobs::blob(&d.id)).await.unwrap().unwrap();
        assert_eq!(&stored[..], &photo[..]);
        assert_nothing_left_over(&blobs).await;
    }

    /// Nothing is left under `staging/` or `uploads/`, not even a folder.
    async fn assert_nothing_left_over(blobs: &Blobs) {
        let later = chrono::Utc::now() + chrono::Duration::hours(1);
        for prefix in ["staging", "uploads"] {
            let left = blobs.older_than(prefix, later, 10).await.unwrap();
            assert!(left.is_empty(), "left under {prefix}: {left:?}");
        }
        let BlobLocation::Files(dir) = blobs.location() else {
            return;
        };
        assert!(
            !dir.join("uploads").exists(),
            "a whole file in one request makes no folder of parts"
        );
    }

    #[tokio::test]
    async fn a_wrong_hash_or_a_disguised_file_is_refused_and_nothing_kept() {
        let (_dir, blobs) = store();
        let photo = jpeg(20_000);
        let mut wrong = declared(&photo, 0);
        wrong.id = "0".repeat(64);
        let err = receive(&blobs, "li", &wrong, body(&photo, 4096, None))
            .await
            .unwrap_err();
        assert!(matches!(err, UploadError::Hash(_)), "{err}");
        assert!(!blobs.exists(&Blobs::blob(&wrong.id)).await.unwrap());
        assert_eq!(held(&blobs, &wrong.id, "li").await.unwrap(), 0);

        let mut exe = b"\x7FELF\x02\x01\x01\0".to_vec();
        exe.resize(20_000, 0x90);
        let disguised = declared(&exe, 0);
        let err = receive(&blobs, "li", &disguised, body(&exe, 4096, None))
            .await
            .unwrap_err();
        assert!(matches!(err, UploadError::MediaType { .. }), "{err}");
        assert_eq!(held(&blobs, &disguised.id, "li").await.unwrap(), 0);
        assert!(!blobs.exists(&Blobs::blob(&disguised.id)).await.unwrap());
        assert_nothing_left_over(&blobs).await;
    }

    #[tokio::test]
    async fn a_resumed_upload_with_a_wrong_hash_keeps_nothing() {
        let (_dir, blobs) = store();
        let photo = jpeg(40_000);
        let mut d = declared(&photo, 0);
        d.id = "1".repeat(64);
        let got = receive(&blobs, "li", &d, body(&photo, 4096, Some(10_000)))
            .await
            .unwrap();
        assert_eq!(got, Received::Partial(10_000));
        d.start = 10_000;
        let err = receive(&blobs, "li", &d, body(&photo[10_000..], 4096, None))
            .await
            .unwrap_err();
        assert!(matches!(err, UploadError::Hash(_)), "{err}");
        assert_eq!(held(&blobs, &d.id, "li").await.unwrap(), 0);
        assert!(!blobs.exists(&Blobs::blob(&d.id)).await.unwrap());
    }

    #[tokio::test]
    async fn a_request_that_does_not_start_where_the_upload_stands_is_told_where() {
        let (_dir, blobs) = store();
        let photo = jpeg(10_000);
        let d = declared(&photo, 0);
        receive(&blobs, "li", &d, body(&photo, 4096, Some(3000)))
            .await
            .unwrap();
        let err = receive(&blobs, "li", &d, body(&photo, 4096, None))
            .await
            .unwrap_err();
        assert!(matches!(err, UploadError::Offset(3000)), "{err}");
        let mut long = declared(&photo, 3000);
        long.total = 5000;
        let err = receive(&blobs, "li", &long, body(&photo[3000..], 4096, None))
            .await
            .unwrap_err();
        assert!(matches!(err, UploadError::TooLong), "{err}");
    }
}
