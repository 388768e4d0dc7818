//! The one error type of the HTTP layer: 4xx answers say exactly what was wrong with the
//! request; 5xx answers are generic, and the detail goes to the log.

use axum::Json;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::storage::StorageError;

/// Everything a request can fail with.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum AppError {
    /// The request is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// The request speaks a sync protocol this server does not serve: older (426
    /// `client_too_old`: update the app) or newer (400 `server_too_old`: upgrade the server).
    #[error(transparent)]
    Unserved(#[from] fieldsync_core::protocol::compat::Unserved),
    /// No valid credentials.
    #[error("{0}")]
    Unauthenticated(String),
    /// The user's account is disabled: an administrator must enable it (logging in again
    /// does not help).
    #[error("the account {0} is disabled: ask your administrator to enable it")]
    AccountDisabled(String),
    /// The access token expired: refresh it.
    #[error("the access token expired: refresh it and retry")]
    TokenExpired,
    /// Authenticated, but not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// No such thing.
    #[error("{0}")]
    NotFound(String),
    /// The route exists, the method does not.
    #[error("{0}")]
    MethodNotAllowed(String),
    /// Well-formed but invalid.
    #[error("{0}")]
    Invalid(String),
    /// The request body is over the limit of this many MiB.
    #[error("the request body is larger than {0} MiB: send less per request")]
    TooLarge(usize),
    /// The request carries more work than one request may (the message says which limit and
    /// what to do).
    #[error("{0}")]
    TooMuchWork(String),
    /// Too many attempts; retry after this many seconds.
    #[error(
        "too many failed logins for this user from this address: wait {0} seconds and try again"
    )]
    RateLimited(u64),
    /// Too many requests, or too much pushed, by this user for now: retry after `secs`
    /// seconds.
    #[error("{what}: wait {secs} seconds and try again")]
    Throttled {
        /// When to retry.
        secs: u64,
        /// What was too much.
        what: String,
    },
    /// The server cannot save anything for now (why: its disk is full, its data directory is
    /// read-only); nothing of the request was saved, and a retry later will work.
    #[error(
        "the server cannot save data right now ({0}); nothing of this request was saved: try again later"
    )]
    Unavailable(&'static str),
    /// The server failed; the detail is logged, not sent.
    #[error("internal error: {0}")]
    Internal(String),
    /// The caller may fetch the attachment, but its bytes have not arrived yet.
    #[error(
        "this attachment has not been uploaded yet (the device that attached it has not synced since): try again later"
    )]
    NotUploaded,
    /// The attachment has no thumbnail (not an image the server reads, or not made yet).
    #[error("{0}")]
    NoThumbnail(String),
    /// An upload part does not start where the server's bytes end.
    #[error(
        "the server holds {received} bytes of this attachment: send the rest from byte {received}"
    )]
    UploadOffset {
        /// What the server holds.
        received: u64,
    },
    /// A media type the server does not take (the message says which it takes).
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The bytes are not the attachment they claim to be: nothing was kept.
    #[error("{0}")]
    HashMismatch(String),
    /// A write made on the server for a browser was refused by the rule a pushed change of
    /// a device would be refused by (docs/PROTOCOL.md, "Refusals").
    #[error("{reason}")]
    Refused {
        /// The rule, as in a sync answer's `rejected` entry.
        rule: String,
        /// Why, for the user.
        reason: String,
    },
    /// A byte range outside the attachment.
    #[error("the range asked for is not within the attachment's {size} bytes")]
    RangeNotSatisfiable {
        /// The attachment's size.
        size: u64,
    },
}

impl From<crate::attachments::BlobError> for AppError {
    fn from(e: crate::attachments::BlobError) -> Self {
        tracing::error!(detail = %e, "attachment store failed");
        AppError::Unavailable("its attachment store cannot be reached")
    }
}

/// When a client should retry after the storage was unavailable.
const UNAVAILABLE_RETRY_SECS: u64 = 30;

impl From<StorageError> for AppError {
    fn from(e: StorageError) -> Self {
        match e.unavailable() {
            Some(why) => {
                tracing::error!(detail = %e, "storage unavailable");
                AppError::Unavailable(why)
            }
            None => AppError::Internal(e.to_string()),
        }
    }
}

impl From<tokio::task::JoinError> for AppError {
    fn from(e: tokio::task::JoinError) -> Self {
        AppError::Internal(format!("background task failed: {e}"))
    }
}

impl AppError {
    fn parts(&self) -> (StatusCode, &'static str) {
        match self {
            AppError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            AppError::Unserved(refused) => (
                StatusCode::from_u16(refused.status()).unwrap_or(StatusCode::BAD_REQUEST),
                refused.code(),
            ),
            AppError::Unauthenticated(_) => (StatusCode::UNAUTHORIZED, "unauthenticated"),
            AppError::AccountDisabled(_) => (StatusCode::UNAUTHORIZED, "account_disabled"),
            AppError::TokenExpired => (StatusCode::UNAUTHORIZED, "token_expired"),
            AppError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            AppError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            AppError::MethodNotAllowed(_) => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            AppError::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
            AppError::TooLarge(_) | AppError::TooMuchWork(_) => {
                (StatusCode::PAYLOAD_TOO_LARGE, "too_large")
            }
            AppError::RateLimited(_) | AppError::Throttled { .. } => {
                (StatusCode::TOO_MANY_REQUESTS, "rate_limited")
            }
            AppError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            AppError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
            AppError::NotUploaded => (StatusCode::NOT_FOUND, "not_uploaded"),
            AppError::NoThumbnail(_) => (StatusCode::NOT_FOUND, "no_thumbnail"),
            AppError::UploadOffset { .. } => (StatusCode::CONFLICT, "upload_offset"),
            AppError::UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            AppError::HashMismatch(_) => (StatusCode::UNPROCESSABLE_ENTITY, "hash_mismatch"),
            AppError::RangeNotSatisfiable { .. } => {
                (StatusCode::RANGE_NOT_SATISFIABLE, "range_not_satisfiable")
            }
            AppError::Refused { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "refused"),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, code) = self.parts();
        let message = match &self {
            AppError::Internal(detail) => {
                tracing::error!(%detail, "request failed");
                "the server failed to handle this request; try again later".to_string()
            }
            other => other.to_string(),
        };
        let mut body = json!({ "error": code, "message": message });
        if let AppError::Unserved(refused) = &self {
            body = json!(refused.answer());
        }
        if let AppError::UploadOffset { received } = self {
            body["received"] = json!(received);
        }
        if let AppError::Refused { rule, .. } = &self {
            body["rule"] = json!(rule);
        }
        let mut response = (status, Json(body)).into_response();
        if let AppError::RangeNotSatisfiable { size } = self
            && let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}"))
        {
            response.headers_mut().insert("content-range", v);
        }
        let retry_after = match self {
            AppError::RateLimited(secs) | AppError::Throttled { secs, .. } => Some(secs),
            AppError::Unavailable(_) => Some(UNAVAILABLE_RETRY_SECS),
            _ => None,
        };
        if let Some(secs) = retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            response.headers_mut().insert("retry-after", v);
        }
        response
    }
}
