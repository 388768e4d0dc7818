//! Attachments as the user sees them: attach a photo to a visit (the check-in photo, or
//! another), a photo or business card to a customer, evidence to a complaint, a receipt to an
//! expense; open, save or list them; set the cache budget.
//!
//! Attaching is one step: the file is checked (size, media type read from its content) and
//! copied into the blob folder under a temporary name first, outside any lock; then, in one
//! transaction of the store, the reference (signed by the user) goes into the document, the
//! attachment is recorded as pending and the bytes are renamed under their hash. A refused
//! file or edit changes nothing; a crash leaves at worst a file nothing references, which the
//! next open removes. The bytes go to the server at the next sync ([`Client::sync`]).
//!
//! Opening one that is not here downloads it on the sync's connection (the app's reads go
//! on), resuming after a cut, and keeps it in the cache within the budget.

use std::cell::Cell;
use std::path::{Path, PathBuf};

use crate::attachments::batch;
use crate::attachments::{
    self, AttachmentInfo, AttachmentLimits, AttachmentProgress, AttachmentState, FileToAttach,
};
use crate::client::customers::on_known;
use crate::client::{Client, Result, invalid, lock, user_of};
use crate::error::{AttachmentError, Error};
use crate::model::DocumentModel;
use crate::model::attachment::{AttachmentRef, check_attachment_id};
use crate::model::complaint::{Complaint, ComplaintEdit};
use crate::model::customer::{Customer, CustomerEdit};
use crate::model::expense_claim::{ExpenseClaim, ExpenseClaimEdit};
use crate::model::visit::{Visit, VisitEdit};
use crate::store::{Store, record_pending};
use crate::sync::SyncError;
use crate::sync::http::{HttpClient, User};

/// An attachment id as the user typed it: 64 hex digits, in either case.
fn attachment_id(id: &str) -> Result<String> {
    let id = id.trim().to_ascii_lowercase();
    check_attachment_id("attachment", &id).map_err(invalid)?;
    Ok(id)
}

impl Client {
    /// Attaches the photo at `path` to visit `visit_id`; `check_in` makes it the check-in
    /// photo. Returns the reference written (its `id` names the attachment).
    pub fn attach_to_visit(
        &self,
        visit_id: &str,
        path: impl AsRef<Path>,
        check_in: bool,
    ) -> Result<AttachmentRef> {
        self.attach::<Visit>(visit_id, "visit", path.as_ref(), |photo| {
            VisitEdit::AddPhoto { photo, check_in }
        })
    }

    /// Attaches the file at `path` to customer `customer_id`: as a photographed business card
    /// when `business_card`, else as a photo of the customer.
    pub fn attach_to_customer(
        &self,
        customer_id: &str,
        path: impl AsRef<Path>,
        business_card: bool,
    ) -> Result<AttachmentRef> {
        self.attach::<Customer>(customer_id, "customer", path.as_ref(), |a| {
            if business_card {
                CustomerEdit::AddBusinessCard(a)
            } else {
                CustomerEdit::AddPhoto(a)
            }
        })
    }

    /// Attaches the file at `path` to complaint `complaint_id` as evidence.
    pub fn attach_to_complaint(
        &self,
        complaint_id: &str,
        path: impl AsRef<Path>,
    ) -> Result<AttachmentRef> {
        self.attach::<Complaint>(
            complaint_id,
            "complaint",
            path.as_ref(),
            ComplaintEdit::AddEvidence,
        )
    }

    /// Attaches the file at `path` as the receipt of expense `item_id` of claim `claim_id`
    /// (replacing the one it had).
    pub fn attach_receipt(
        &self,
        claim_id: &str,
        item_id: &str,
        path: impl AsRef<Path>,
    ) -> Result<AttachmentRef> {
        self.attach::<ExpenseClaim>(claim_id, "expense claim", path.as_ref(), |receipt| {
            ExpenseClaimEdit::ItemReceipt {
                id: item_id.trim().to_string(),
                receipt: Some(receipt),
            }
        })
    }

    fn attach<M: DocumentModel>(
        &self,
        doc_id: &str,
        kind: &'static str,
        path: &Path,
        edit: impl FnOnce(AttachmentRef) -> M::Edit,
    ) -> Result<AttachmentRef> {
        let file = self.stage(path)?;
        let (_, reference) = self.write_attaching::<M>(doc_id, kind, Some(file), |_, _, a| {
            let a = a.cloned().ok_or_else(|| {
                SyncError::Protocol("an attachment was lost on its way into a document".into())
            })?;
            Ok(vec![edit(a)])
        })?;
        reference.ok_or_else(|| SyncError::Protocol("an attachment was not written".into()))
    }

    /// Checks the file at `path` against the device's limits and copies it into the blob
    /// folder, not yet under its hash.
    pub(crate) fn stage(&self, path: &Path) -> Result<FileToAttach> {
        let limits = self.attachment_limits();
        Ok(attachments::stage_file(&self.blobs, path, &limits)?)
    }

    /// Edits document `doc_id` (of `kind`, as the user names it) as the logged-in user with
    /// the edits `edits` makes, and with them, if `file` is given, attaches it: its reference
    /// (signed by the user) goes to `edits`, and in the same transaction the attachment is
    /// recorded as pending and its bytes put under their hash. If anything fails, nothing is
    /// written and the file is not kept.
    pub(crate) fn write_attaching<M: DocumentModel>(
        &self,
        doc_id: &str,
        kind: &'static str,
        file: Option<FileToAttach>,
        edits: impl FnOnce(&Store, &User, Option<&AttachmentRef>) -> Result<Vec<M::Edit>>,
    ) -> Result<(M, Option<AttachmentRef>)> {
        self.write(|store| {
            let user = user_of(store)?;
            let reference = file.as_ref().map(|f| f.reference(&user.username));
            let edits = edits(store, &user, reference.as_ref())?;
            let placed_new = Cell::new(false);
            let folder = &self.blobs;
            let written = on_known(doc_id, kind, |id| {
                store.edit_and::<M>(id, &edits, |tx| {
                    if let (Some(file), Some(reference)) = (file, &reference) {
                        record_pending(tx, reference, id)?;
                        placed_new.set(file.place(folder)?);
                    }
                    Ok(())
                })
            });
            match written {
                Ok(view) => Ok((view, reference)),
                Err(e) => {
                    // Put under its hash in the transaction that failed to commit.
                    if placed_new.get()
                        && let Some(reference) = &reference
                    {
                        let _ = folder.remove_file(&folder.blob(&reference.id));
                    }
                    Err(e.into())
                }
            }
        })
    }

    /// The local copy of attachment `id`, downloaded first if it is not on the device (a
    /// document here must reference it). Marks it used, for the cache's order.
    ///
    /// Errors: [`AttachmentError::Unknown`] (no document here references it),
    /// [`AttachmentError::NotFound`] ("not yours to see or no such attachment"),
    /// [`AttachmentError::NotUploaded`] (try later), [`AttachmentError::Damaged`], and the
    /// network's.
    pub fn attachment_path(&self, id: &str) -> Result<PathBuf> {
        self.fetch_attachment(id, |_| {})
    }

    /// [`Client::attachment_path`], telling `progress` how far a download is.
    pub fn fetch_attachment(
        &self,
        id: &str,
        mut progress: impl FnMut(AttachmentProgress),
    ) -> Result<PathBuf> {
        let id = attachment_id(id)?;
        // Here already: the app's connection answers, without waiting for a sync.
        if let Some(path) = self.with_store(|store| {
            known(store, &id)?;
            batch::local_copy(store, &self.blobs, &id)
        })? {
            return Ok(path);
        }
        self.on_sync_connection(|store| {
            user_of(store)?;
            let mut http = HttpClient::from_store(store)?;
            batch::fetch(store, &self.blobs, &mut http, &id, &mut progress)
        })
    }

    /// Saves a copy of attachment `id` (fetched first if needed) as `out`, or, if `out` is a
    /// folder, under the attachment's file name in it. Returns the file written.
    pub fn save_attachment(&self, id: &str, out: impl AsRef<Path>) -> Result<PathBuf> {
        let from = self.attachment_path(id)?;
        let mut out = out.as_ref().to_path_buf();
        if out.is_dir() {
            let id = attachment_id(id)?;
            let name = self
                .read(|store| Ok(store.attachment_row(&id)?.map(|r| r.name)))?
                .unwrap_or(id);
            out.push(name);
        }
        std::fs::copy(&from, &out).map_err(|e| {
            SyncError::Store(Error::System {
                what: format!(
                    "cannot write {}; choose another place, or free some space",
                    out.display()
                ),
                reason: e.to_string(),
            })
        })?;
        Ok(out)
    }

    /// The local thumbnail of attachment `id` (a JPEG of at most 320 pixels a side, made by
    /// the server from a JPEG, PNG or WebP image), fetched first if it is not on the device.
    /// [`AttachmentError::NoThumbnail`] if the server has none.
    pub fn thumbnail_path(&self, id: &str) -> Result<PathBuf> {
        let id = attachment_id(id)?;
        if let Some(path) = self.with_store(|store| {
            known(store, &id)?;
            batch::local_thumbnail(store, &self.blobs, &id)
        })? {
            return Ok(path);
        }
        self.on_sync_connection(|store| {
            user_of(store)?;
            let mut http = HttpClient::from_store(store)?;
            batch::fetch_thumbnail(store, &self.blobs, &mut http, &id)
        })
    }

    /// The attachments the device knows: those the documents here reference and those whose
    /// bytes it holds, the pending ones first; only pending ones when `pending_only`.
    pub fn attachments(&self, pending_only: bool) -> Result<Vec<AttachmentInfo>> {
        self.read(|store| {
            let mut rows: std::collections::HashMap<_, _> = store
                .attachment_rows()?
                .into_iter()
                .map(|r| (r.id.clone(), r))
                .collect();
            let mut out = Vec::new();
            for (id, (meta, documents)) in store.attachment_references()? {
                let row = rows.remove(&id);
                out.push(AttachmentInfo {
                    id,
                    name: meta.name,
                    media_type: meta.media_type,
                    size: meta.size,
                    state: row.as_ref().map_or(AttachmentState::Remote, |r| r.state),
                    local: row.as_ref().is_some_and(|r| r.present),
                    thumbnail: row.as_ref().is_some_and(|r| r.thumbnail_size.is_some()),
                    documents,
                    refused: row.as_ref().and_then(|r| r.refused.clone()),
                    last_error: row.and_then(|r| r.last_error),
                });
            }
            for (id, row) in rows {
                out.push(AttachmentInfo {
                    id,
                    name: row.name,
                    media_type: row.media_type,
                    size: row.size,
                    state: row.state,
                    local: row.present,
                    thumbnail: row.thumbnail_size.is_some(),
                    documents: Vec::new(),
                    refused: row.refused,
                    last_error: row.last_error,
                });
            }
            if pending_only {
                out.retain(|a| a.state == AttachmentState::Pending);
            }
            out.sort_by(|a, b| {
                (a.state != AttachmentState::Pending, &a.name, &a.id).cmp(&(
                    b.state != AttachmentState::Pending,
                    &b.name,
                    &b.id,
                ))
            });
            Ok(out)
        })
    }

    /// Sends attachment `id` again at the next sync although the server refused it (after its
    /// limits changed, say). Returns whether it had been refused.
    pub fn retry_attachment(&self, id: &str) -> Result<bool> {
        let id = attachment_id(id)?;
        let retried = self.read(|store| store.retry_attachment(&id))?;
        if retried {
            self.wrote();
        }
        Ok(retried)
    }

    /// How many bytes of fetched attachments and thumbnails the device keeps at most
    /// ([`attachments::DEFAULT_CACHE_BUDGET`] unless set). Attachments not yet uploaded are
    /// kept whatever their size.
    pub fn attachment_cache_budget(&self) -> Result<u64> {
        self.read(|store| store.attachment_cache_budget())
    }

    /// Sets the cache budget in bytes (kept in the store), and evicts at once, least recently
    /// used first, what exceeds it.
    pub fn set_attachment_cache_budget(&self, bytes: u64) -> Result<()> {
        self.read(|store| {
            store.set_attachment_cache_budget(bytes)?;
            attachments::cache::enforce(store, &self.blobs, None)?;
            Ok(())
        })
    }

    /// What this device attaches: the largest file and the media types allowed. Those set
    /// with [`Client::set_attachment_limits`], else the server's as its last sync answer
    /// gave them, else the defaults (25 MB; JPEG, PNG, HEIC, WebP, PDF).
    pub fn attachment_limits(&self) -> AttachmentLimits {
        if let Some(set) = lock(&self.limits).clone() {
            return set;
        }
        let servers = self.read(|store| Ok(store.settings()?.attachments));
        match servers {
            Ok(Some(s)) => AttachmentLimits {
                max_bytes: s.max_bytes,
                media_types: s.media_types,
            },
            _ => AttachmentLimits::default(),
        }
    }

    /// Sets what this device attaches (for this client, not kept in the store), instead of
    /// the server's limits; the server checks again with its own.
    pub fn set_attachment_limits(&self, limits: AttachmentLimits) {
        *lock(&self.limits) = Some(limits);
    }
}

/// [`AttachmentError::Unknown`] unless a document on the device references `id` or the device
/// holds it.
fn known(store: &Store, id: &str) -> Result<()> {
    if store.attachment_reference(id)?.is_some() || store.attachment_row(id)?.is_some() {
        Ok(())
    } else {
        Err(SyncError::Store(Error::Attachment(
            AttachmentError::Unknown(id.to_string()),
        )))
    }
}

#[cfg(test)]
mod tests;
