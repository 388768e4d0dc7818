//! Attachments over a server in memory that cuts transfers at chosen bytes, on real stores in
//! temporary folders: resumable uploads and downloads, the cache budget, what a scope loss
//! deletes, and the table matched to the folder at open.
#![allow(clippy::unwrap_used)]

use std::collections::{HashMap, HashSet, VecDeque};
use std::io::{self, Read};
use std::path::PathBuf;

use sha2::{Digest, Sha256};

use super::batch::{self, AttachmentTally};
use super::folder::{BlobFolder, STALE_AFTER};
use super::transfer::{self, Uploaded};
use super::upkeep;
use super::{AttachmentProgress, AttachmentState, Direction, UploadAnswer, UploadStatus};
use super::{AttachmentTransport, Download};
use crate::Store;
use crate::client::{Client, CustomerInput, ExpenseClaimInput, ExpenseItemInput, VisitInput};
use crate::error::{AttachmentError, Error};
use crate::model::attachment::AttachmentRef;
use crate::model::customer::CustomerEdit;
use crate::model::expense_claim::ExpenseClaimEdit;
use crate::model::fields::now_string;
use crate::model::visit::VisitEdit;
use crate::sync::SyncError;
use crate::sync::http::{User, pretend_logged_in};

// ---- the server in memory ---------------------------------------------------------------

/// The attachment endpoints of a server, in memory, with connections that break where a test
/// says.
#[derive(Default)]
pub(crate) struct MemoryServer {
    /// The references the server holds signed by the device's user: id → size.
    pub(crate) references: HashMap<String, u64>,
    /// Bytes received of uploads not complete.
    pub(crate) parts: HashMap<String, Vec<u8>>,
    /// Attachments complete.
    pub(crate) blobs: HashMap<String, Vec<u8>>,
    /// Thumbnails.
    pub(crate) thumbnails: HashMap<String, Vec<u8>>,
    /// The next transfers' bodies break after this many bytes, one entry per transfer.
    pub(crate) cuts: VecDeque<u64>,
    /// Of a broken upload's bytes, how many never arrive (in flight when it broke).
    pub(crate) lost_in_flight: u64,
    /// Uploads refused with this status, code and message.
    pub(crate) refuse: HashMap<String, (u16, &'static str, &'static str)>,
    /// Attachments the caller may see but whose bytes have not arrived.
    pub(crate) not_uploaded: HashSet<String>,
    /// Upload body bytes the server read.
    pub(crate) body_read: u64,
    /// What was asked, in order: `status ID`, `put ID START`, `get ID FROM`, `thumb ID`.
    pub(crate) log: Vec<String>,
}

/// A body that breaks after `cut` bytes.
struct Breaking {
    data: Vec<u8>,
    pos: usize,
    cut: Option<usize>,
}

impl Read for Breaking {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let end = self.cut.unwrap_or(self.data.len()).min(self.data.len());
        if self.pos >= end {
            return if self.cut.is_some() {
                Err(io::Error::new(
                    io::ErrorKind::ConnectionReset,
                    "connection reset",
                ))
            } else {
                Ok(0)
            };
        }
        let n = buf.len().min(end - self.pos).min(7000);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

fn answer(status: u16, code: &str, message: &str) -> SyncError {
    SyncError::Server {
        status,
        code: code.into(),
        message: message.into(),
    }
}

fn cut_network() -> SyncError {
    SyncError::Network("cannot reach http://server: connection reset".into())
}

impl AttachmentTransport for MemoryServer {
    fn upload_status(&mut self, id: &str) -> Result<UploadStatus, SyncError> {
        self.log.push(format!("status {}", &id[..8]));
        let Some(&size) = self.references.get(id) else {
            return Err(answer(404, "not_found", "no such attachment"));
        };
        if self.blobs.contains_key(id) {
            return Ok(UploadStatus {
                size,
                received: size,
                complete: true,
            });
        }
        let held = self.parts.get(id).map_or(0, |p| p.len() as u64);
        Ok(UploadStatus {
            size,
            received: held,
            complete: false,
        })
    }

    fn upload(
        &mut self,
        id: &str,
        _media_type: &str,
        start: u64,
        total: u64,
        body: &mut dyn Read,
    ) -> Result<UploadAnswer, SyncError> {
        self.log.push(format!("put {} {start}", &id[..8]));
        if let Some((status, code, message)) = self.refuse.get(id) {
            return Err(answer(*status, code, message));
        }
        let part = self.parts.entry(id.to_string()).or_default();
        let held = part.len() as u64;
        if start != held {
            return Ok(UploadAnswer::WrongOffset { received: held });
        }
        let mut bytes = Vec::new();
        match self.cuts.pop_front() {
            Some(cut) => {
                body.take(cut).read_to_end(&mut bytes).unwrap();
                self.body_read += bytes.len() as u64;
                let kept = bytes.len().saturating_sub(self.lost_in_flight as usize);
                part.extend_from_slice(&bytes[..kept]);
                return Err(cut_network());
            }
            None => {
                if body.read_to_end(&mut bytes).is_err() {
                    // The device stopped sending (a cancel): what arrived is kept.
                    self.body_read += bytes.len() as u64;
                    part.extend_from_slice(&bytes);
                    return Err(cut_network());
                }
            }
        }
        self.body_read += bytes.len() as u64;
        assert_eq!(bytes.len() as u64, total - start, "a part is the rest");
        part.extend_from_slice(&bytes);
        if (part.len() as u64) < total {
            return Ok(UploadAnswer::Kept {
                received: part.len() as u64,
            });
        }
        let whole = self.parts.remove(id).unwrap();
        if hex::encode(Sha256::digest(&whole)) != id {
            return Err(answer(
                422,
                "hash_mismatch",
                "the bytes are not the attachment",
            ));
        }
        self.blobs.insert(id.to_string(), whole);
        Ok(UploadAnswer::Complete)
    }

    fn download(&mut self, id: &str, from: u64) -> Result<Download<'_>, SyncError> {
        self.log.push(format!("get {} {from}", &id[..8]));
        if self.not_uploaded.contains(id) {
            return Err(answer(404, "not_uploaded", "not uploaded yet"));
        }
        let Some(bytes) = self.blobs.get(id) else {
            return Err(answer(404, "not_found", "no such attachment"));
        };
        let Some(rest) = bytes.get(from as usize..) else {
            return Err(answer(416, "range", "past the end"));
        };
        Ok(Download {
            start: from,
            total: bytes.len() as u64,
            body: Box::new(Breaking {
                data: rest.to_vec(),
                pos: 0,
                cut: self.cuts.pop_front().map(|c| c as usize),
            }),
        })
    }

    fn thumbnail(&mut self, id: &str) -> Result<Vec<u8>, SyncError> {
        self.log.push(format!("thumb {}", &id[..8]));
        self.thumbnails
            .get(id)
            .cloned()
            .ok_or_else(|| answer(404, "no_thumbnail", "no thumbnail"))
    }
}

// ---- a device -----------------------------------------------------------------------------

/// A logged-in device in a temporary folder, with its blob folder.
pub(crate) struct Device {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) client: Client,
    pub(crate) folder: BlobFolder,
}

pub(crate) const ME: &str = "li.wei";

pub(crate) fn device() -> Device {
    let dir = tempfile::tempdir().unwrap();
    let client = Client::open_in(dir.path().join("phone"), "test phone").unwrap();
    client
        .read(|store| {
            pretend_logged_in(
                store,
                "http://127.0.0.1:9",
                User {
                    username: ME.into(),
                    role: "rep".into(),
                    territories: vec!["east".into()],
                    manager: Some("zhang.min".into()),
                },
            );
            Ok(())
        })
        .unwrap();
    let folder = BlobFolder::open(BlobFolder::beside(client.path())).unwrap();
    Device {
        dir,
        client,
        folder,
    }
}

impl Device {
    /// A file of the device's user to attach.
    pub(crate) fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    pub(crate) fn customer(&self, name: &str) -> String {
        self.client
            .create_customer(CustomerInput {
                name: name.into(),
                ..Default::default()
            })
            .unwrap()
    }

    pub(crate) fn visit(&self, customer: &str) -> String {
        self.client
            .record_visit(VisitInput {
                customer: customer.into(),
                summary: "看了仓库和货架".into(),
                ..Default::default()
            })
            .unwrap()
    }

    /// As if the server accepted every document pushed: all acknowledged at their heads.
    pub(crate) fn accept_all(&self) {
        self.client
            .read(|store| {
                for id in store.unsent_documents()? {
                    store.set_acked_heads(&id, &store.heads(&id)?)?;
                }
                Ok(())
            })
            .unwrap();
    }

    pub(crate) fn row(&self, id: &str) -> Option<crate::store::AttachmentRow> {
        self.client.read(|s| s.attachment_row(id)).unwrap()
    }

    pub(crate) fn on_store<T>(&self, f: impl FnOnce(&Store) -> T) -> T {
        let mut out = None;
        self.client
            .read(|s| {
                out = Some(f(s));
                Ok(())
            })
            .unwrap();
        out.unwrap()
    }
}

/// `n` bytes a JPEG file begins with, then a pattern `seed` varies.
pub(crate) fn jpeg(n: usize, seed: u8) -> Vec<u8> {
    let mut bytes = b"\xFF\xD8\xFF\xE0\x00\x10JFIF\x00\x01\x01".to_vec();
    let mut x = u32::from(seed) + 1;
    while bytes.len() < n {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        bytes.push((x >> 16) as u8);
    }
    bytes.truncate(n);
    bytes
}

fn id_of(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A reference to `bytes` signed by the device's user, for a document that holds it while the
/// bytes are elsewhere.
fn reference(bytes: &[u8], name: &str) -> AttachmentRef {
    AttachmentRef {
        id: id_of(bytes),
        media_type: "image/jpeg".into(),
        size: bytes.len() as i64,
        name: name.into(),
        taken_at: now_string(),
        added_by: ME.into(),
    }
}

/// Adds to visit `visit` a reference to `bytes` that are not on the device (as one that
/// arrived by sync would).
fn remote_photo(d: &Device, visit: &str, bytes: &[u8], name: &str) -> String {
    let photo = reference(bytes, name);
    d.on_store(|s| {
        s.update_visit(
            visit,
            &[VisitEdit::AddPhoto {
                photo: photo.clone(),
                check_in: false,
            }],
        )
        .unwrap()
    });
    photo.id
}

fn never() -> impl Fn() -> bool {
    || false
}

// ---- uploads ------------------------------------------------------------------------------

#[test]
fn an_upload_cut_at_chosen_bytes_resumes_from_the_servers_offset_and_sends_little_twice() {
    let d = device();
    let visit = d.visit(&d.customer("华东精密"));
    let bytes = jpeg(1_000_000, 1);
    let photo = d
        .client
        .attach_to_visit(&visit, d.file("shelf.jpg", &bytes), false)
        .unwrap();
    let mut server = MemoryServer {
        references: HashMap::from([(photo.id.clone(), bytes.len() as u64)]),
        cuts: VecDeque::from([300_000, 1, 450_000]),
        lost_in_flight: 8192,
        ..Default::default()
    };
    let row = d.row(&photo.id).unwrap();
    let (mut sent, mut told) = (0, Vec::new());
    let done = transfer::upload(
        &mut server,
        &d.folder,
        &row,
        &never(),
        &mut |n| told.push(n),
        &mut sent,
    )
    .unwrap();

    assert_eq!(done, Uploaded::Done);
    assert_eq!(server.blobs[&photo.id], bytes);
    // The first part goes without asking; each resumed part starts where the server's copy
    // ended: nothing but the bytes lost in flight is sent twice.
    let short = &photo.id[..8];
    assert_eq!(
        server.log,
        [
            format!("put {short} 0"),
            format!("status {short}"),
            format!("put {short} {}", 300_000 - 8192),
            format!("status {short}"),
            format!("put {short} {}", 300_000 - 8192),
            format!("status {short}"),
            format!("put {short} {}", 300_000 - 8192 + 450_000 - 8192),
        ]
    );
    assert_eq!(sent, server.body_read);
    assert!(sent >= bytes.len() as u64);
    assert!(sent <= bytes.len() as u64 + 3 * 8192, "sent {sent}");
    // Progress goes up to the whole.
    assert_eq!(told.last(), Some(&(bytes.len() as u64)));
    assert!(told.iter().any(|&n| n > 0 && n < bytes.len() as u64));
}

#[test]
fn a_stale_offset_answered_409_goes_on_from_the_servers_count() {
    let d = device();
    let visit = d.visit(&d.customer("华东精密"));
    let bytes = jpeg(50_000, 2);
    let photo = d
        .client
        .attach_to_visit(&visit, d.file("door.jpg", &bytes), true)
        .unwrap();
    let mut server = MemoryServer {
        references: HashMap::from([(photo.id.clone(), bytes.len() as u64)]),
        parts: HashMap::from([(photo.id.clone(), bytes[..20_000].to_vec())]),
        ..Default::default()
    };
    let mut sent = 0;
    let row = d.row(&photo.id).unwrap();
    let done = transfer::upload(
        &mut server,
        &d.folder,
        &row,
        &never(),
        &mut |_| {},
        &mut sent,
    )
    .unwrap();
    assert_eq!(done, Uploaded::Done);
    let short = &photo.id[..8];
    // Sent from byte 0 without asking, told the server's count (409), and on from there.
    assert_eq!(
        server.log,
        [format!("put {short} 0"), format!("put {short} 20000")]
    );
    assert_eq!(sent, 30_000, "the refused part sent nothing");
    assert_eq!(server.blobs[&photo.id], bytes);
}

#[test]
fn a_connection_that_keeps_breaking_gives_up_for_this_sync_and_keeps_the_attachment_pending() {
    let d = device();
    let visit = d.visit(&d.customer("华东精密"));
    let bytes = jpeg(100_000, 3);
    let photo = d
        .client
        .attach_to_visit(&visit, d.file("a.jpg", &bytes), false)
        .unwrap();
    d.accept_all();
    let mut server = MemoryServer {
        references: HashMap::from([(photo.id.clone(), bytes.len() as u64)]),
        cuts: std::iter::repeat_n(0, 100).collect(),
        ..Default::default()
    };
    let mut tally = AttachmentTally::default();
    let failed = d.on_store(|s| {
        batch::upload_pending(
            s,
            &d.folder,
            &mut server,
            ME,
            &never(),
            &mut |_| {},
            &mut tally,
        )
    });
    assert!(matches!(failed, Err(SyncError::Network(_))), "{failed:?}");
    assert!(server.log.len() <= 2 * (transfer::MAX_INTERRUPTIONS as usize + 1));
    let row = d.row(&photo.id).unwrap();
    assert_eq!(row.state, AttachmentState::Pending);
    assert!(
        row.last_error
            .is_some_and(|e| e.contains("check the network"))
    );
}

#[test]
fn a_pending_attachment_goes_once_its_document_is_accepted_telling_its_progress() {
    let d = device();
    let visit = d.visit(&d.customer("华东精密"));
    let bytes = jpeg(700_000, 4);
    let photo = d
        .client
        .attach_to_visit(&visit, d.file("shop.jpg", &bytes), true)
        .unwrap();
    let mut server = MemoryServer {
        references: HashMap::from([(photo.id.clone(), bytes.len() as u64)]),
        ..Default::default()
    };
    let mut tally = AttachmentTally::default();
    let mut told: Vec<AttachmentProgress> = Vec::new();

    // The visit is not acknowledged: the server would not know the reference yet.
    d.on_store(|s| {
        batch::upload_pending(
            s,
            &d.folder,
            &mut server,
            ME,
            &never(),
            &mut |p| told.push(p),
            &mut tally,
        )
    })
    .unwrap();
    assert!(server.log.is_empty());
    assert_eq!(tally.uploaded, 0);

    d.accept_all();
    d.on_store(|s| {
        batch::upload_pending(
            s,
            &d.folder,
            &mut server,
            ME,
            &never(),
            &mut |p| told.push(p),
            &mut tally,
        )
    })
    .unwrap();
    assert_eq!(tally.uploaded, 1);
    assert_eq!(tally.bytes_sent, bytes.len() as u64);
    assert_eq!(d.row(&photo.id).unwrap().state, AttachmentState::Uploaded);
    assert_eq!(server.blobs[&photo.id], bytes);
    let last = told.last().unwrap();
    assert_eq!(
        (last.direction, last.done, last.size, last.number, last.of),
        (
            Direction::Upload,
            bytes.len() as u64,
            bytes.len() as u64,
            1,
            1
        )
    );
    assert_eq!(last.name, "shop.jpg");
    assert!(told.windows(2).all(|w| w[0].done <= w[1].done));
    // Uploaded bytes stay on the device until the budget needs the room.
    assert!(d.folder.has(&photo.id));
    assert_eq!(d.client.status().unwrap().attachments_pending, 0);
}

#[test]
fn a_refused_upload_keeps_the_bytes_says_why_and_is_not_sent_again() {
    let d = device();
    let visit = d.visit(&d.customer("华东精密"));
    let bytes = jpeg(10_000, 5);
    let photo = d
        .client
        .attach_to_visit(&visit, d.file("big.jpg", &bytes), false)
        .unwrap();
    d.accept_all();
    let mut server = MemoryServer {
        references: HashMap::from([(photo.id.clone(), bytes.len() as u64)]),
        refuse: HashMap::from([(
            photo.id.clone(),
            (413, "too_large", "attachments may be at most 25 MB"),
        )]),
        ..Default::default()
    };
    let mut tally = AttachmentTally::default();
    for _ in 0..2 {
        d.on_store(|s| {
            batch::upload_pending(
                s,
                &d.folder,
                &mut server,
                ME,
                &never(),
                &mut |_| {},
                &mut tally,
            )
        })
        .unwrap();
    }
    assert_eq!(tally.refused, 1, "refused once, then not sent again");
    assert_eq!(server.log.len(), 1, "{:?}", server.log);
    assert!(d.folder.has(&photo.id));
    let status = d.client.status().unwrap();
    assert_eq!(status.attachments_refused.len(), 1);
    assert_eq!(
        status.attachments_refused[0].reason,
        "attachments may be at most 25 MB"
    );
    let listed = d.client.attachments(true).unwrap();
    assert_eq!(
        listed[0].refused.as_deref(),
        Some("attachments may be at most 25 MB")
    );

    // Retried by the user, it goes again.
    assert!(d.client.retry_attachment(&photo.id).unwrap());
    server.refuse.clear();
    d.on_store(|s| {
        batch::upload_pending(
            s,
            &d.folder,
            &mut server,
            ME,
            &never(),
            &mut |_| {},
            &mut tally,
        )
    })
    .unwrap();
    assert_eq!(tally.uploaded, 1);
}

#[test]
fn a_hash_mismatch_sends_the_file_once_more_and_a_damaged_copy_is_reported_lost() {
    let d = device();
    let visit = d.visit(&d.customer("华东精密"));
    let bytes = jpeg(30_000, 6);
    let photo = d
        .client
        .attach_to_visit(&visit, d.file("a.jpg", &bytes), false)
        .unwrap();
    let row = d.row(&photo.id).unwrap();
    // The server got a wrong byte from somewhere: it keeps nothing and says so.
    let mut wrong = bytes[..10_000].to_vec();
    wrong[5000] ^= 1;
    let mut server = MemoryServer {
        references: HashMap::from([(photo.id.clone(), bytes.len() as u64)]),
        parts: HashMap::from([(photo.id.clone(), wrong)]),
        ..Default::default()
    };
    let mut sent = 0;
    let done = transfer::upload(
        &mut server,
        &d.folder,
        &row,
        &never(),
        &mut |_| {},
        &mut sent,
    )
    .unwrap();
    assert_eq!(done, Uploaded::Done);
    assert_eq!(server.blobs[&photo.id], bytes);

    // The device's own copy damaged: reported, not sent in a loop.
    std::fs::write(d.folder.blob(&photo.id), jpeg(30_000, 7)).unwrap();
    let mut server = MemoryServer {
        references: HashMap::from([(photo.id.clone(), bytes.len() as u64)]),
        ..Default::default()
    };
    let lost = transfer::upload(
        &mut server,
        &d.folder,
        &row,
        &never(),
        &mut |_| {},
        &mut sent,
    );
    assert!(
        matches!(
            lost,
            Err(SyncError::Store(Error::Attachment(
                AttachmentError::Lost { .. }
            )))
        ),
        "{lost:?}"
    );
}

// ---- downloads ----------------------------------------------------------------------------

#[test]
fn a_download_cut_at_chosen_bytes_resumes_with_a_range_and_is_checked_before_it_is_kept() {
    let d = device();
    let visit = d.visit(&d.customer("华东精密"));
    let bytes = jpeg(600_000, 8);
    let id = remote_photo(&d, &visit, &bytes, "their.jpg");
    let mut server = MemoryServer {
        blobs: HashMap::from([(id.clone(), bytes.clone())]),
        cuts: VecDeque::from([100_000, 0, 200_000]),
        ..Default::default()
    };
    let mut told = Vec::new();
    let path = d
        .on_store(|s| batch::fetch(s, &d.folder, &mut server, &id, &mut |p| told.push(p.done)))
        .unwrap();

    assert_eq!(std::fs::read(&path).unwrap(), bytes);
    assert_eq!(path, d.folder.blob(&id));
    let short = &id[..8];
    assert_eq!(
        server.log,
        [
            format!("get {short} 0"),
            format!("get {short} 100000"),
            format!("get {short} 100000"),
            format!("get {short} 300000"),
        ]
    );
    assert!(!d.folder.part(&id).exists());
    let row = d.row(&id).unwrap();
    assert_eq!((row.state, row.present), (AttachmentState::Fetched, true));
    assert_eq!(told.last(), Some(&(bytes.len() as u64)));
    // Once here, reading it asks nothing of the server.
    assert_eq!(d.client.attachment_path(&id).unwrap(), path);
    assert_eq!(server.log.len(), 4);
}

#[test]
fn bytes_that_do_not_match_their_id_are_not_kept() {
    let d = device();
    let visit = d.visit(&d.customer("华东精密"));
    let bytes = jpeg(40_000, 9);
    let id = remote_photo(&d, &visit, &bytes, "their.jpg");
    let mut damaged = bytes.clone();
    damaged[39_000] ^= 0xFF;
    let mut server = MemoryServer {
        blobs: HashMap::from([(id.clone(), damaged)]),
        ..Default::default()
    };
    let got = d.on_store(|s| batch::fetch(s, &d.folder, &mut server, &id, &mut |_| {}));
    assert!(
        matches!(&got, Err(SyncError::Store(Error::Attachment(AttachmentError::Damaged(x)))) if *x == id),
        "{got:?}"
    );
    assert!(!d.folder.has(&id) && !d.folder.part(&id).exists());
    assert!(d.row(&id).is_none_or(|r| !r.present));
}

#[test]
fn what_the_server_will_not_give_is_a_typed_error_that_says_what_to_do() {
    let d = device();
    let visit = d.visit(&d.customer("华东精密"));
    let theirs = remote_photo(&d, &visit, &jpeg(1000, 10), "a.jpg");
    let later = remote_photo(&d, &visit, &jpeg(1000, 11), "b.jpg");
    let mut server = MemoryServer {
        not_uploaded: HashSet::from([later.clone()]),
        ..Default::default()
    };
    let mut fetch = |id: &str| {
        d.on_store(|s| batch::fetch(s, &d.folder, &mut server, id, &mut |_| {}))
            .unwrap_err()
            .to_string()
    };
    assert!(
        fetch(&theirs).contains("not yours to see"),
        "{}",
        fetch(&theirs)
    );
    assert!(fetch(&later).contains("not uploaded yet"));
    assert!(fetch(&later).contains("try later"));
    // An id no document here references is not even asked for.
    let unknown = fetch(&"c".repeat(64));
    assert!(
        unknown.contains("no document on this device references"),
        "{unknown}"
    );
    assert!(!d.folder.part(&theirs).exists());
}

// ---- the cache budget ---------------------------------------------------------------------

#[test]
fn the_cache_keeps_its_budget_evicting_the_least_recently_used_and_never_pending_ones() {
    let d = device();
    let visit = d.visit(&d.customer("华东精密"));
    let mine = jpeg(300_000, 20);
    let pending = d
        .client
        .attach_to_visit(&visit, d.file("mine.jpg", &mine), false)
        .unwrap();
    let (a, b, c) = (jpeg(200_000, 21), jpeg(200_000, 22), jpeg(200_000, 23));
    let ids: Vec<String> = [&a, &b, &c]
        .iter()
        .enumerate()
        .map(|(i, bytes)| remote_photo(&d, &visit, bytes, &format!("{i}.jpg")))
        .collect();
    let mut server = MemoryServer {
        blobs: ids.iter().cloned().zip([a, b, c]).collect(),
        ..Default::default()
    };
    d.client.set_attachment_cache_budget(700_000).unwrap();
    let mut fetch = |id: &str| {
        d.on_store(|s| batch::fetch(s, &d.folder, &mut server, id, &mut |_| {}))
            .unwrap()
    };
    fetch(&ids[0]);
    fetch(&ids[1]);
    // Reading the first makes the second the least recently used.
    d.client.attachment_path(&ids[0]).unwrap();
    fetch(&ids[2]);

    let held = |id: &str| d.folder.has(id) && d.row(id).unwrap().present;
    assert!(held(&ids[0]) && held(&ids[2]) && held(&pending.id));
    assert!(!held(&ids[1]) && !d.folder.has(&ids[1]));
    assert_eq!(d.row(&ids[1]).unwrap().state, AttachmentState::Remote);
    assert!(d.on_store(|s| s.attachment_bytes_held()).unwrap() <= 700_000);

    // A budget below what pending attachments take: every other one goes, they stay.
    d.client.set_attachment_cache_budget(100_000).unwrap();
    assert!(!held(&ids[0]) && !held(&ids[2]));
    assert!(held(&pending.id));
    assert_eq!(d.row(&pending.id).unwrap().state, AttachmentState::Pending);
}

#[test]
fn the_one_just_fetched_is_kept_even_when_it_alone_exceeds_the_budget() {
    let d = device();
    let visit = d.visit(&d.customer("华东精密"));
    let big = jpeg(300_000, 24);
    let id = remote_photo(&d, &visit, &big, "big.jpg");
    let mut server = MemoryServer {
        blobs: HashMap::from([(id.clone(), big.clone())]),
        ..Default::default()
    };
    d.client.set_attachment_cache_budget(1000).unwrap();
    let path = d
        .on_store(|s| batch::fetch(s, &d.folder, &mut server, &id, &mut |_| {}))
        .unwrap();
    assert_eq!(std::fs::read(path).unwrap(), big);
}

// ---- scope ----------------------------------------------------------------------------------

#[test]
fn a_scope_loss_deletes_the_attachments_no_document_references_but_keeps_quarantined_pending_ones()
{
    let d = device();
    let leaving = d.customer("交出去的客户");
    let staying = d.visit(&d.customer("留下的客户"));
    let (p1, p2) = (jpeg(5000, 30), jpeg(5000, 31));
    let id1 = reference(&p1, "front.jpg").id;
    d.on_store(|s| {
        s.update_customer(
            &leaving,
            &[CustomerEdit::AddPhoto(reference(&p1, "front.jpg"))],
        )
        .unwrap()
    });
    let id2 = remote_photo(&d, &staying, &p2, "shelf.jpg");
    d.accept_all();
    let mut server = MemoryServer {
        blobs: HashMap::from([(id1.clone(), p1), (id2.clone(), p2)]),
        ..Default::default()
    };
    for id in [&id1, &id2] {
        d.on_store(|s| batch::fetch(s, &d.folder, &mut server, id, &mut |_| {}))
            .unwrap();
    }
    // A photo of a new customer the server will refuse, and one removed before it went.
    let refused = d.customer("被拒的客户");
    let p3 = d
        .client
        .attach_to_customer(&refused, d.file("card.jpg", &jpeg(5000, 32)), true)
        .unwrap();
    let removed = d.customer("另一个客户");
    let p4 = d
        .client
        .attach_to_customer(&removed, d.file("oops.jpg", &jpeg(5000, 33)), false)
        .unwrap();
    d.on_store(|s| {
        s.update_customer(&removed, &[CustomerEdit::RemoveAttachment(p4.id.clone())])
            .unwrap()
    });

    // The sync engine applies a revocation and a rejection as these do.
    d.on_store(|s| {
        assert!(s.revoke_document(&leaving).unwrap());
        s.quarantine_document(&refused, "scope", "not yours")
            .unwrap();
    });
    let deleted = d
        .on_store(|s| upkeep::collect_garbage(s, &d.folder))
        .unwrap();

    assert_eq!(deleted, 2);
    assert!(!d.folder.has(&id1) && d.row(&id1).is_none());
    assert!(!d.folder.has(&p4.id) && d.row(&p4.id).is_none());
    assert!(d.folder.has(&id2), "still referenced by a visit here");
    assert!(
        d.folder.has(&p3.id),
        "the only copy, and its document is in the quarantine"
    );
    assert_eq!(d.row(&p3.id).unwrap().state, AttachmentState::Pending);

    // Once the quarantine entry is discarded, nothing wants it any more.
    let entry = d.client.quarantine().unwrap()[0].id;
    d.client.discard_quarantined(entry).unwrap();
    d.on_store(|s| upkeep::collect_garbage(s, &d.folder))
        .unwrap();
    assert!(!d.folder.has(&p3.id) && d.row(&p3.id).is_none());
}

// ---- at open --------------------------------------------------------------------------------

#[test]
fn at_open_the_table_is_made_to_say_what_the_folder_holds() {
    let d = device();
    let visit = d.visit(&d.customer("华东精密"));
    let fetched = jpeg(5000, 40);
    let id = remote_photo(&d, &visit, &fetched, "theirs.jpg");
    let mut server = MemoryServer {
        blobs: HashMap::from([(id.clone(), fetched.clone())]),
        ..Default::default()
    };
    d.on_store(|s| batch::fetch(s, &d.folder, &mut server, &id, &mut |_| {}))
        .unwrap();
    let pending = d
        .client
        .attach_to_visit(&visit, d.file("mine.jpg", &jpeg(5000, 41)), false)
        .unwrap();
    // Files removed by hand, and bytes a crashed fetch renamed before its row was written.
    std::fs::remove_file(d.folder.blob(&id)).unwrap();
    std::fs::remove_file(d.folder.blob(&pending.id)).unwrap();
    let adopted = jpeg(5000, 42);
    let adopted_id = remote_photo(&d, &visit, &adopted, "late.jpg");
    std::fs::write(d.folder.blob(&adopted_id), &adopted).unwrap();
    // And a stray file under a hash nothing references, left long ago.
    let stray = d.folder.blob(&"d".repeat(64));
    std::fs::write(&stray, b"stray").unwrap();
    let long_ago = std::time::SystemTime::now() - STALE_AFTER - std::time::Duration::from_secs(5);
    std::fs::File::options()
        .write(true)
        .open(&stray)
        .unwrap()
        .set_modified(long_ago)
        .unwrap();

    let path = d.client.path().to_path_buf();
    drop(d.client);
    let client = Client::open(&path, "test phone").unwrap();
    let row = |id: &str| client.read(|s| s.attachment_row(id)).unwrap().unwrap();

    assert_eq!(
        (row(&id).state, row(&id).present),
        (AttachmentState::Remote, false)
    );
    assert_eq!(
        (row(&pending.id).state, row(&pending.id).present),
        (AttachmentState::Pending, false),
        "a lost pending one stays pending: its upload reports the loss"
    );
    assert_eq!(
        (row(&adopted_id).state, row(&adopted_id).present),
        (AttachmentState::Fetched, true)
    );
    assert!(!stray.exists());
}

// ---- after a sync ---------------------------------------------------------------------------

#[test]
fn after_a_sync_pending_ones_go_up_and_own_receipts_and_visit_thumbnails_come_down() {
    let d = device();
    let visit = d.visit(&d.customer("华东精密"));
    let photo = jpeg(80_000, 50);
    let mine = d
        .client
        .attach_to_visit(&visit, d.file("mine.jpg", &photo), true)
        .unwrap();
    let theirs = jpeg(90_000, 51);
    let theirs_id = remote_photo(&d, &visit, &theirs, "theirs.jpg");
    let claim = d
        .client
        .create_expense_claim(ExpenseClaimInput {
            title: "十一月差旅".into(),
            approver: Some("zhang.min".into()),
            ..Default::default()
        })
        .unwrap();
    d.client
        .add_expense_item(
            &claim,
            ExpenseItemInput {
                date: "2026-11-20".into(),
                category: "lodging".into(),
                amount: 48_000,
                ..Default::default()
            },
        )
        .unwrap();
    let receipt = jpeg(20_000, 52);
    let item = d.client.expense_claim(&claim).unwrap().items[0].id.clone();
    d.on_store(|s| {
        s.update_expense_claim(
            &claim,
            &[ExpenseClaimEdit::ItemReceipt {
                id: item.clone(),
                receipt: Some(reference(&receipt, "发票.jpg")),
            }],
        )
        .unwrap()
    });
    d.accept_all();
    let receipt_id = id_of(&receipt);
    let mut server = MemoryServer {
        references: HashMap::from([(mine.id.clone(), photo.len() as u64)]),
        blobs: HashMap::from([
            (theirs_id.clone(), theirs),
            (receipt_id.clone(), receipt.clone()),
        ]),
        thumbnails: HashMap::from([(theirs_id.clone(), jpeg(3000, 53))]),
        ..Default::default()
    };
    let mut told = Vec::new();
    let (tally, failed) = d.on_store(|s| {
        batch::after_sync(s, &d.folder, &mut server, ME, &never(), &mut |p| {
            told.push((p.direction, p.id.clone()))
        })
    });

    assert!(failed.is_none(), "{failed:?}");
    assert_eq!(
        (tally.uploaded, tally.fetched, tally.pending, tally.refused),
        (1, 2, 0, 0)
    );
    assert_eq!(server.blobs[&mine.id], photo);
    assert_eq!(std::fs::read(d.folder.blob(&receipt_id)).unwrap(), receipt);
    assert!(d.folder.thumbnail(&theirs_id).is_file());
    assert!(
        !d.folder.has(&theirs_id),
        "a photo of a visit comes as its thumbnail only"
    );
    assert!(told.contains(&(Direction::Upload, mine.id.clone())));
    assert!(told.contains(&(Direction::Download, receipt_id.clone())));
    // The thumbnail is kept and listed; asking for it again asks nothing of the server.
    let asked = server.log.len();
    assert!(
        d.client
            .attachments(false)
            .unwrap()
            .iter()
            .any(|a| a.id == theirs_id && a.thumbnail && !a.local)
    );
    assert_eq!(
        d.client.thumbnail_path(&theirs_id).unwrap(),
        d.folder.thumbnail(&theirs_id)
    );
    assert_eq!(server.log.len(), asked);
}

#[test]
fn a_cancel_stops_an_upload_in_the_middle_and_keeps_it_pending() {
    let d = device();
    let visit = d.visit(&d.customer("华东精密"));
    let bytes = jpeg(2_000_000, 60);
    let photo = d
        .client
        .attach_to_visit(&visit, d.file("a.jpg", &bytes), false)
        .unwrap();
    d.accept_all();
    let mut server = MemoryServer {
        references: HashMap::from([(photo.id.clone(), bytes.len() as u64)]),
        ..Default::default()
    };
    let stop = std::sync::atomic::AtomicBool::new(false);
    let cancelled = || stop.load(std::sync::atomic::Ordering::SeqCst);
    let (tally, failed) = d.on_store(|s| {
        batch::after_sync(s, &d.folder, &mut server, ME, &cancelled, &mut |p| {
            if p.done > 500_000 {
                stop.store(true, std::sync::atomic::Ordering::SeqCst);
            }
        })
    });
    assert!(matches!(failed, Some(SyncError::Cancelled)), "{failed:?}");
    assert_eq!((tally.uploaded, tally.pending), (0, 1));
    assert!(tally.bytes_sent < bytes.len() as u64);
    assert!(server.blobs.is_empty());
    assert_eq!(d.row(&photo.id).unwrap().state, AttachmentState::Pending);
    // The next sync goes on from what the server kept.
    let kept = server.parts[&photo.id].len() as u64;
    assert!(kept > 0);
    let (tally, failed) =
        d.on_store(|s| batch::after_sync(s, &d.folder, &mut server, ME, &never(), &mut |_| {}));
    assert!(failed.is_none(), "{failed:?}");
    assert_eq!(tally.uploaded, 1);
    assert_eq!(tally.bytes_sent, bytes.len() as u64 - kept);
    assert_eq!(server.blobs[&photo.id], bytes);
}

#[test]
fn uploads_done_before_a_failure_are_recorded_and_the_next_sync_sends_none_of_their_bytes() {
    let d = device();
    let visit = d.visit(&d.customer("华东精密"));
    let photos: Vec<(String, Vec<u8>)> = (0..3)
        .map(|i| {
            let bytes = jpeg(30_000, 10 + i);
            let name = format!("p{i}.jpg");
            let photo = d
                .client
                .attach_to_visit(&visit, d.file(&name, &bytes), false)
                .unwrap();
            (photo.id, bytes)
        })
        .collect();
    d.accept_all();
    let order: Vec<String> = d
        .on_store(|s| s.uploadable_attachments(ME))
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    let last = order.last().unwrap().clone();
    let mut server = MemoryServer {
        references: photos
            .iter()
            .map(|(id, b)| (id.clone(), b.len() as u64))
            .collect(),
        refuse: HashMap::from([(last.clone(), (503, "unavailable", "try again later"))]),
        ..Default::default()
    };
    let upload = |server: &mut MemoryServer| {
        let mut tally = AttachmentTally::default();
        let outcome = d.on_store(|s| {
            batch::upload_pending(s, &d.folder, server, ME, &never(), &mut |_| {}, &mut tally)
        });
        (outcome, tally)
    };
    let (failed, tally) = upload(&mut server);
    assert!(
        matches!(failed, Err(SyncError::Server { status: 503, .. })),
        "{failed:?}"
    );
    assert_eq!(tally.uploaded, 2);
    for id in &order[..2] {
        assert_eq!(d.row(id).unwrap().state, AttachmentState::Uploaded, "{id}");
    }
    assert_eq!(d.row(&last).unwrap().state, AttachmentState::Pending);

    // The server is back: only the one it does not hold goes.
    server.refuse.clear();
    let sent_before = server.body_read;
    let (done, tally) = upload(&mut server);
    done.unwrap();
    assert_eq!(tally.uploaded, 1);
    let size = photos.iter().find(|(id, _)| *id == last).unwrap().1.len() as u64;
    assert_eq!(server.body_read - sent_before, size);
    assert_eq!(d.row(&last).unwrap().state, AttachmentState::Uploaded);
}
