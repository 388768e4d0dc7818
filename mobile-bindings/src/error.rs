//! The one error an app sees, and the one function that maps client-core's errors onto it.
//!
//! Each case is something an app can act on; its `reason` is a sentence the app can show as it
//! is (client-core's messages are lowercase and say what to do).

use fieldsync_core::sync::SyncError;

/// Everything a `FieldsyncClient` method can fail with.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum FieldsyncError {
    /// The server could not be reached or failed; nothing was lost, try again later.
    #[error("{reason}")]
    Network {
        /// What happened and what to do.
        reason: String,
    },
    /// Not logged in, wrong user name or password, or the session is over: log in again.
    #[error("{reason}")]
    Auth {
        /// What happened and what to do.
        reason: String,
    },
    /// The server refused the request.
    #[error("{reason}")]
    Rejected {
        /// What the server said.
        reason: String,
    },
    /// An argument breaks a rule (an empty name, an unknown tier, a malformed id or date), or
    /// a file to attach cannot be (unreadable, empty, too large, not a photo or PDF by its
    /// content).
    #[error("{reason}")]
    Invalid {
        /// Which field and what is accepted instead.
        reason: String,
    },
    /// The local database failed, an attachment's bytes were damaged (on the way, or this
    /// device's copy of one never uploaded: attach it again), or an internal error happened.
    #[error("{reason}")]
    Storage {
        /// What happened.
        reason: String,
    },
    /// No document with this id is on the device (check the id, or sync to fetch it), no
    /// quarantine entry with this number, or an attachment that cannot be had (no document
    /// here references it, the server does not let the user see it, it is not uploaded yet, it
    /// has no thumbnail): the reason says which, and what to do.
    #[error("{reason}")]
    NotFound {
        /// Which document.
        reason: String,
    },
    /// The app cancelled the sync; the rounds finished before stay applied.
    #[error("{reason}")]
    Cancelled {
        /// What was kept.
        reason: String,
    },
    /// This app is too old for the server: the person must update the app (the reason names
    /// the oldest version the server serves). Syncing again does not help until then; the
    /// device's work stays on it and syncs after the update.
    #[error("{reason}")]
    UpdateApp {
        /// "update the app", with the version to update to.
        reason: String,
    },
}

/// The one mapping from client-core's errors: every [`fieldsync_core::Error`] arrives here as
/// [`SyncError::Store`].
impl From<SyncError> for FieldsyncError {
    fn from(e: SyncError) -> Self {
        FieldsyncError::of(&e)
    }
}

impl FieldsyncError {
    /// The case an app acts on for `e`, with its message as the reason; by reference, for the
    /// errors live mode reports without handing them over.
    pub(crate) fn of(e: &SyncError) -> Self {
        use fieldsync_core::Error as Core;
        use fieldsync_core::error::AttachmentError as Attachment;
        let reason = e.to_string();
        match e {
            SyncError::Network(_) | SyncError::Protocol(_) | SyncError::TooManyRounds(_) => {
                FieldsyncError::Network { reason }
            }
            SyncError::Auth(_) | SyncError::AccountDisabled(_) => FieldsyncError::Auth { reason },
            SyncError::UpdateApp { .. } => FieldsyncError::UpdateApp { reason },
            // Only the administrator can help: the reason says to ask them.
            SyncError::ServerTooOld => FieldsyncError::Rejected { reason },
            SyncError::Server { status, .. } => match *status {
                401 | 403 => FieldsyncError::Auth { reason },
                // Too many rounds for now: like a network failure, it passes; sync later.
                429 => FieldsyncError::Network { reason },
                400..=499 => FieldsyncError::Rejected { reason },
                _ => FieldsyncError::Network { reason },
            },
            SyncError::ServerUrl(_) => FieldsyncError::Invalid { reason },
            SyncError::Cancelled => FieldsyncError::Cancelled { reason },
            SyncError::Store(core) => match core {
                Core::Invalid(_)
                | Core::MalformedId(_)
                | Core::WrongKind { .. }
                | Core::TooLarge(_) => FieldsyncError::Invalid { reason },
                Core::NotFound(_)
                | Core::Unknown { .. }
                | Core::NoQuarantineEntry(_)
                | Core::QuarantineBaseMissing { .. } => FieldsyncError::NotFound { reason },
                Core::Refused { .. } => FieldsyncError::Rejected { reason },
                Core::Attachment(a) => match a {
                    Attachment::Unreadable { .. }
                    | Attachment::Empty { .. }
                    | Attachment::TooLarge { .. }
                    | Attachment::MediaType { .. } => FieldsyncError::Invalid { reason },
                    Attachment::Unknown(_)
                    | Attachment::NotFound(_)
                    | Attachment::NotUploaded(_)
                    | Attachment::NoThumbnail(_) => FieldsyncError::NotFound { reason },
                    // Damaged, Lost, and any case client-core adds later.
                    _ => FieldsyncError::Storage { reason },
                },
                _ => FieldsyncError::Storage { reason },
            },
            _ => FieldsyncError::Storage { reason },
        }
    }

    /// The name of the case (`"Network"`, `"NotFound"`, …), as the bindings name it.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            FieldsyncError::Network { .. } => "Network",
            FieldsyncError::Auth { .. } => "Auth",
            FieldsyncError::Rejected { .. } => "Rejected",
            FieldsyncError::Invalid { .. } => "Invalid",
            FieldsyncError::Storage { .. } => "Storage",
            FieldsyncError::NotFound { .. } => "NotFound",
            FieldsyncError::Cancelled { .. } => "Cancelled",
            FieldsyncError::UpdateApp { .. } => "UpdateApp",
        }
    }

    /// The sentence the app can show.
    pub(crate) fn reason(&self) -> &str {
        match self {
            FieldsyncError::Network { reason }
            | FieldsyncError::Auth { reason }
            | FieldsyncError::Rejected { reason }
            | FieldsyncError::Invalid { reason }
            | FieldsyncError::Storage { reason }
            | FieldsyncError::NotFound { reason }
            | FieldsyncError::Cancelled { reason }
            | FieldsyncError::UpdateApp { reason } => reason,
        }
    }
}

impl From<fieldsync_core::Error> for FieldsyncError {
    fn from(e: fieldsync_core::Error) -> Self {
        SyncError::Store(e).into()
    }
}

impl From<fieldsync_core::ValidationError> for FieldsyncError {
    fn from(e: fieldsync_core::ValidationError) -> Self {
        fieldsync_core::Error::from(e).into()
    }
}

/// Runs `f`, turning a panic into [`FieldsyncError::Storage`] so that no panic crosses the
/// boundary into the app.
pub(crate) fn guard<T>(f: impl FnOnce() -> Result<T, FieldsyncError>) -> Result<T, FieldsyncError> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            Err(FieldsyncError::Storage {
                reason: format!("internal error: {what}; please report it"),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_a_storage_error() {
        let out: Result<(), _> = guard(|| panic!("boom"));
        assert!(
            matches!(out, Err(FieldsyncError::Storage { reason }) if reason.contains("internal error: boom"))
        );
    }

    #[test]
    fn core_errors_map_to_the_case_an_app_acts_on() {
        let invalid: FieldsyncError = fieldsync_core::ValidationError::new("name", "empty").into();
        assert!(matches!(invalid, FieldsyncError::Invalid { .. }));
        let missing: FieldsyncError = fieldsync_core::Error::NotFound("x".into()).into();
        assert!(matches!(missing, FieldsyncError::NotFound { .. }));
        let auth: FieldsyncError = SyncError::Auth("log in again".into()).into();
        assert!(matches!(auth, FieldsyncError::Auth { .. }));
        let refused: FieldsyncError = SyncError::Server {
            status: 400,
            code: "bad_request".into(),
            message: "no".into(),
        }
        .into();
        assert!(matches!(refused, FieldsyncError::Rejected { .. }));
        let too_old: FieldsyncError = SyncError::UpdateApp {
            min_version: "0.2.0".into(),
        }
        .into();
        assert_eq!(too_old.kind(), "UpdateApp");
        assert!(too_old.reason().contains("update the app to version 0.2.0"));
        let server_too_old: FieldsyncError = SyncError::ServerTooOld.into();
        assert_eq!(server_too_old.kind(), "Rejected");
        assert!(server_too_old.reason().contains("upgrade the server"));
        let no_entry: FieldsyncError = fieldsync_core::Error::NoQuarantineEntry(7).into();
        assert_eq!(no_entry.kind(), "NotFound");
        assert!(no_entry.reason().contains("list the quarantine"));
    }

    #[test]
    fn attachment_errors_map_to_invalid_not_found_or_storage_with_their_message() {
        use fieldsync_core::error::AttachmentError as A;
        let id = "ab".repeat(32);
        let cases = [
            (
                A::Unreadable {
                    path: "/x/photo.jpg".into(),
                    reason: "no such file".into(),
                },
                "Invalid",
            ),
            (
                A::Empty {
                    name: "photo.jpg".into(),
                },
                "Invalid",
            ),
            (
                A::TooLarge {
                    name: "photo.jpg".into(),
                    size: 30_000_000,
                    limit: 25_000_000,
                },
                "Invalid",
            ),
            (
                A::MediaType {
                    name: "photo.jpg".into(),
                    allowed: "a JPEG or PDF file".into(),
                },
                "Invalid",
            ),
            (A::Unknown(id.clone()), "NotFound"),
            (A::NotFound(id.clone()), "NotFound"),
            (A::NotUploaded(id.clone()), "NotFound"),
            (A::NoThumbnail(id.clone()), "NotFound"),
            (A::Damaged(id.clone()), "Storage"),
            (
                A::Lost {
                    id: id.clone(),
                    name: "photo.jpg".into(),
                },
                "Storage",
            ),
        ];
        for (error, kind) in cases {
            let message = error.to_string();
            let mapped = FieldsyncError::from(fieldsync_core::Error::Attachment(error));
            assert_eq!(mapped.kind(), kind, "{message}");
            assert_eq!(mapped.reason(), message);
        }
        let later = FieldsyncError::from(fieldsync_core::Error::Attachment(A::NotUploaded(id)));
        assert!(later.reason().contains("try later"), "{}", later.reason());
    }
}
