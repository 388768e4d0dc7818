//! Moving one attachment's bytes: a resumable upload, a resumable download, a thumbnail.
//!
//! The network sits behind [`AttachmentTransport`], one method per endpoint of the protocol
//! (docs/PROTOCOL.md, "Attachments"); `sync::http` implements it for the real server, and the
//! tests with a server in memory that cuts transfers at chosen bytes. What to do with each
//! answer is decided here, once:
//! - an upload asks the server how many bytes it holds and sends the rest from there, streamed
//!   from the blob file; after a cut connection it asks again and goes on, so the bytes sent stay
//!   close to the size whatever the network does; a `409 upload_offset` moves it to the
//!   server's offset; `413`, `415` and `422` are refusals (the bytes are kept, nothing is sent
//!   again in a loop);
//! - a download collects the bytes in a partial file and resumes it with a range after a cut,
//!   and keeps nothing whose SHA-256 is not the attachment's id;
//! - every loop is bounded ([`MAX_INTERRUPTIONS`] cuts per attachment per call): a network that
//!   keeps failing ends the call with its error, and the next sync tries again.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};

use super::folder::BlobFolder;
use crate::error::{AttachmentError, Error};
use crate::model::attachment::MAX_ATTACHMENT_BYTES;
use crate::store::AttachmentRow;
use crate::sync::SyncError;

/// How many cut connections (or moved offsets) one attachment's transfer survives in one call
/// before it gives up until the next.
pub const MAX_INTERRUPTIONS: u32 = 8;

/// How often, in bytes, a transfer reports its progress.
const PROGRESS_EVERY: u64 = 256 * 1024;

/// What the server holds of an upload (`GET /v1/attachments/{id}/upload`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadStatus {
    /// The size of the attachment, as its reference says.
    pub size: u64,
    /// How many bytes of it the server holds from this user.
    pub received: u64,
    /// Whether the server has all of them from this user (nothing left to send).
    pub complete: bool,
}

/// The server's answer to a part of an upload (`PUT /v1/attachments/{id}`), when it is not a
/// refusal: refusals (`413`, `415`, `422`) are [`SyncError::Server`] with their status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadAnswer {
    /// `200`: kept; the server now holds `received` bytes.
    Kept {
        /// Bytes the server holds.
        received: u64,
    },
    /// `201`: the server holds every byte and checked them: the attachment exists.
    Complete,
    /// `409 upload_offset`: the part did not start where the server's copy ends; go on from
    /// `received`.
    WrongOffset {
        /// Bytes the server holds.
        received: u64,
    },
}

/// A download's answer (`GET /v1/attachments/{id}`): the bytes from `start` on.
pub struct Download<'a> {
    /// The offset of the first byte of `body` (0 when the server sent the whole).
    pub start: u64,
    /// The size of the whole attachment.
    pub total: u64,
    /// The bytes from `start` to the end; a read error is a cut connection.
    pub body: Box<dyn Read + 'a>,
}

impl std::fmt::Debug for Download<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Download")
            .field("start", &self.start)
            .field("total", &self.total)
            .finish_non_exhaustive()
    }
}

/// The attachment endpoints of the server, with the session's authorization. Errors as the
/// sync's: a cut or unreachable connection is [`SyncError::Network`], an error answer
/// [`SyncError::Server`] with its status and code (`404 not_found`, `not_uploaded`,
/// `no_thumbnail`; `413`, `415`, `422` for a refused upload).
pub trait AttachmentTransport {
    /// `GET /v1/attachments/{id}/upload`: what the server holds of `id` from this user.
    fn upload_status(&mut self, id: &str) -> Result<UploadStatus, SyncError>;

    /// `PUT /v1/attachments/{id}` with `Content-Type: media_type` and `Content-Range: bytes
    /// start-(total-1)/total`, streaming `body` (exactly `total - start` bytes) as it reads it.
    fn upload(
        &mut self,
        id: &str,
        media_type: &str,
        start: u64,
        total: u64,
        body: &mut dyn Read,
    ) -> Result<UploadAnswer, SyncError>;

    /// `GET /v1/attachments/{id}`, with `Range: bytes=from-` when `from` is not 0.
    fn download(&mut self, id: &str, from: u64) -> Result<Download<'_>, SyncError>;

    /// `GET /v1/attachments/{id}/thumbnail`: the JPEG thumbnail's bytes.
    fn thumbnail(&mut self, id: &str) -> Result<Vec<u8>, SyncError>;
}

impl<T: AttachmentTransport + ?Sized> AttachmentTransport for &mut T {
    fn upload_status(&mut self, id: &str) -> Result<UploadStatus, SyncError> {
        (**self).upload_status(id)
    }

    fn upload(
        &mut self,
        id: &str,
        media_type: &str,
        start: u64,
        total: u64,
        body: &mut dyn Read,
    ) -> Result<UploadAnswer, SyncError> {
        (**self).upload(id, media_type, start, total, body)
    }

    fn download(&mut self, id: &str, from: u64) -> Result<Download<'_>, SyncError> {
        (**self).download(id, from)
    }

    fn thumbnail(&mut self, id: &str) -> Result<Vec<u8>, SyncError> {
        (**self).thumbnail(id)
    }
}

/// How an upload ended, when it did not fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Uploaded {
    /// The server holds the attachment from this user.
    Done,
    /// The server refused it, with its reason.
    Refused(String),
    /// The server holds no reference signed by this user yet (`404`): not yet.
    NotYet,
}

/// What a transfer tells as it goes: the bytes the other side holds.
pub(crate) type Told<'a> = &'a mut dyn FnMut(u64);

/// The body of one upload request: the blob file from an offset, counted as it is read (read
/// means handed to the network), stopping with an error once the transfer is cancelled.
struct Sending<'a, R> {
    inner: R,
    base: u64,
    read: u64,
    told: u64,
    cancelled: &'a dyn Fn() -> bool,
    progress: Told<'a>,
}

impl<R: Read> Read for Sending<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if (self.cancelled)() {
            return Err(io::Error::other("the sync was cancelled"));
        }
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if self.read - self.told >= PROGRESS_EVERY {
            self.told = self.read;
            (self.progress)(self.base + self.read);
        }
        Ok(n)
    }
}

/// Uploads the bytes of `row` from `folder` through `transport`, resuming from whatever the
/// server holds; adds the body bytes handed to the network to `sent`.
pub(crate) fn upload(
    transport: &mut dyn AttachmentTransport,
    folder: &BlobFolder,
    row: &AttachmentRow,
    cancelled: &dyn Fn() -> bool,
    progress: Told<'_>,
    sent: &mut u64,
) -> Result<Uploaded, SyncError> {
    let id = row.id.as_str();
    let size = row.size;
    let lost = || {
        SyncError::Store(Error::Attachment(AttachmentError::Lost {
            id: id.to_string(),
            name: row.name.clone(),
        }))
    };
    let mut interruptions = 0;
    let mut interrupted = |e: SyncError| {
        interruptions += 1;
        if interruptions > MAX_INTERRUPTIONS {
            Err(e)
        } else {
            Ok(())
        }
    };
    let mut sent_again = false;
    let mut asked = 0;
    'ask: loop {
        if cancelled() {
            return Err(SyncError::Cancelled);
        }
        // Every way back here is bounded, but a server that keeps answering without taking
        // anything must not hold the sync either.
        asked += 1;
        if asked > 2 * MAX_INTERRUPTIONS + 2 {
            return Err(SyncError::Protocol(format!(
                "the server does not finish taking attachment {id}: sync again, and report it if this repeats"
            )));
        }
        // The first try sends from byte 0 without asking: most uploads are whole files sent
        // once, and a server that holds more answers with its offset (409) before the body is
        // sent (`Expect: 100-continue`), which costs what asking would have.
        let status = if asked == 1 {
            UploadStatus {
                size,
                received: 0,
                complete: false,
            }
        } else {
            match transport.upload_status(id) {
                Ok(status) => status,
                Err(SyncError::Server { status: 404, .. }) => return Ok(Uploaded::NotYet),
                Err(e @ SyncError::Network(_)) => {
                    interrupted(e)?;
                    continue;
                }
                Err(e) => return Err(e),
            }
        };
        if status.complete {
            progress(size);
            return Ok(Uploaded::Done);
        }
        let mut offset = status.received;
        if offset == size {
            // Every byte is there and the server does not call it complete: ask again later.
            interrupted(SyncError::Protocol(format!(
                "the server holds every byte of attachment {id} but does not take it"
            )))?;
            continue;
        }
        loop {
            if offset > size {
                return Err(SyncError::Protocol(format!(
                    "the server holds {offset} bytes of attachment {id}, which has {size}"
                )));
            }
            if cancelled() {
                return Err(SyncError::Cancelled);
            }
            let mut file = File::open(folder.blob(id)).map_err(|_| lost())?;
            file.seek(SeekFrom::Start(offset)).map_err(|_| lost())?;
            progress(offset);
            let mut body = Sending {
                inner: file.take(size - offset),
                base: offset,
                read: 0,
                told: 0,
                cancelled,
                progress: &mut *progress,
            };
            let answer = transport.upload(id, &row.media_type, offset, size, &mut body);
            *sent += body.read;
            match answer {
                Ok(UploadAnswer::Complete) => {
                    progress(size);
                    return Ok(Uploaded::Done);
                }
                Ok(UploadAnswer::Kept { received }) if received >= size => continue 'ask,
                Ok(UploadAnswer::Kept { received }) => {
                    if received <= offset {
                        interrupted(SyncError::Protocol(format!(
                            "the server keeps no bytes of attachment {id} past {received}"
                        )))?;
                    }
                    offset = received;
                }
                Ok(UploadAnswer::WrongOffset { received }) => {
                    interrupted(SyncError::Protocol(format!(
                        "the server's offset for attachment {id} keeps moving"
                    )))?;
                    offset = received;
                }
                Err(SyncError::Server {
                    status: 413 | 415,
                    message,
                    ..
                }) => return Ok(Uploaded::Refused(message)),
                // The server does not know the reference (yet): as when asking.
                Err(SyncError::Server { status: 404, .. }) => return Ok(Uploaded::NotYet),
                Err(SyncError::Server {
                    status: 422,
                    code,
                    message,
                }) => {
                    // The server's hash of what it received is not the id: nothing was kept.
                    // Sent once more from the blob file if that is sound, else it is lost.
                    if code != "hash_mismatch" || sent_again {
                        return Ok(Uploaded::Refused(message));
                    }
                    match BlobFolder::hash_file(&folder.blob(id)) {
                        Ok((hash, len)) if hash == id && len == size => {}
                        _ => return Err(lost()),
                    }
                    sent_again = true;
                    continue 'ask;
                }
                Err(e @ SyncError::Network(_)) => {
                    interrupted(e)?;
                    continue 'ask;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// The typed error of a `404` about attachment `id`, else `e` as it is.
pub(crate) fn not_there(id: &str, e: SyncError) -> SyncError {
    let SyncError::Server {
        status: 404, code, ..
    } = &e
    else {
        return e;
    };
    let id = id.to_string();
    SyncError::Store(Error::Attachment(match code.as_str() {
        "not_uploaded" => AttachmentError::NotUploaded(id),
        "no_thumbnail" => AttachmentError::NoThumbnail(id),
        _ => AttachmentError::NotFound(id),
    }))
}

/// Downloads attachment `id` into its partial file in `folder`, resuming what an earlier cut
/// left there, and checks it: once this returns, the partial file holds exactly the bytes whose
/// SHA-256 is `id`, synced, ready for [`BlobFolder::place_part`]. `size` is the size the
/// reference says, if known. Adds the body bytes received to `received`; returns the size.
pub(crate) fn download(
    transport: &mut dyn AttachmentTransport,
    folder: &BlobFolder,
    id: &str,
    size: Option<u64>,
    cancelled: &dyn Fn() -> bool,
    progress: Told<'_>,
    received: &mut u64,
) -> Result<u64, SyncError> {
    let (mut part, mut have) = folder.open_part(id)?;
    let local = |e: io::Error| {
        SyncError::Store(Error::System {
            what: format!(
                "cannot write the download of attachment {id} into {}; free some space on the device",
                folder.dir().display()
            ),
            reason: e.to_string(),
        })
    };
    if size.is_some_and(|s| have > s) {
        part.set_len(0).map_err(local)?;
        part.seek(SeekFrom::Start(0)).map_err(local)?;
        have = 0;
    }
    let mut interruptions = 0;
    let mut restarted = false;
    let total = loop {
        if cancelled() {
            return Err(SyncError::Cancelled);
        }
        let answer = match transport.download(id, have) {
            Ok(answer) => answer,
            Err(SyncError::Server { status: 416, .. }) if !restarted => {
                // The server has fewer bytes than the partial file: start again.
                restarted = true;
                part.set_len(0).map_err(local)?;
                part.seek(SeekFrom::Start(0)).map_err(local)?;
                have = 0;
                continue;
            }
            Err(e @ SyncError::Network(_)) => {
                interruptions += 1;
                if interruptions > MAX_INTERRUPTIONS {
                    return Err(e);
                }
                continue;
            }
            Err(e) => {
                if have == 0 {
                    drop(part);
                    folder.remove_file(&folder.part(id))?;
                }
                return Err(not_there(id, e));
            }
        };
        let Download {
            start,
            total,
            mut body,
        } = answer;
        if total == 0 || total > MAX_ATTACHMENT_BYTES as u64 || size.is_some_and(|s| s != total) {
            return Err(SyncError::Protocol(format!(
                "the server sends {total} bytes for attachment {id}, whose reference says {}",
                size.map_or("nothing of its size".to_string(), |s| format!("{s} bytes"))
            )));
        }
        if start > have {
            return Err(SyncError::Protocol(format!(
                "the server sends attachment {id} from byte {start}, asked from {have}"
            )));
        }
        if start < have {
            part.set_len(start).map_err(local)?;
            part.seek(SeekFrom::Start(start)).map_err(local)?;
            have = start;
        }
        let mut buf = vec![0u8; 64 * 1024];
        let mut told = have;
        let mut cut = false;
        while have < total {
            if cancelled() {
                return Err(SyncError::Cancelled);
            }
            let want = buf.len().min((total - have) as usize);
            let n = match body.read(&mut buf[..want]) {
                Ok(0) => {
                    cut = true;
                    break;
                }
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => {
                    cut = true;
                    break;
                }
            };
            part.write_all(&buf[..n]).map_err(local)?;
            have += n as u64;
            *received += n as u64;
            if have - told >= PROGRESS_EVERY {
                told = have;
                progress(have);
            }
        }
        if cut {
            interruptions += 1;
            if interruptions > MAX_INTERRUPTIONS {
                return Err(SyncError::Network(format!(
                    "the download of attachment {id} was cut {interruptions} times"
                )));
            }
            continue;
        }
        break total;
    };
    part.sync_all().map_err(local)?;
    drop(part);
    progress(total);
    match BlobFolder::hash_file(&folder.part(id)) {
        Ok((hash, len)) if hash == id && len == total => Ok(total),
        _ => {
            folder.remove_file(&folder.part(id))?;
            Err(SyncError::Store(Error::Attachment(
                AttachmentError::Damaged(id.to_string()),
            )))
        }
    }
}

/// Fetches the thumbnail of `id`: JPEG bytes, checked to be an image.
pub(crate) fn thumbnail(
    transport: &mut dyn AttachmentTransport,
    id: &str,
) -> Result<Vec<u8>, SyncError> {
    let bytes = transport.thumbnail(id).map_err(|e| not_there(id, e))?;
    let head = &bytes[..bytes.len().min(crate::model::attachment::SNIFF_BYTES)];
    match crate::model::attachment::sniff_media_type(head) {
        Some(t) if t.starts_with("image/") => Ok(bytes),
        _ => Err(SyncError::Protocol(format!(
            "the thumbnail of attachment {id} is not an image"
        ))),
    }
}
