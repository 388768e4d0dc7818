//! The attachment endpoints (docs/PROTOCOL.md, "Attachments"): upload state, resumable
//! upload, download with byte ranges, thumbnails.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::header::{
    ACCEPT_RANGES, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, ETAG, RANGE,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde_json::json;

use super::blobs::Blobs;
use super::upload::{Declared, Received, UploadError, complete_held, receive};
use super::{check_id, fetchable, thumbnail, upload_reference};
use crate::app::{AppState, Authed};
use crate::error::AppError;
use crate::storage::Thumbnail;

/// The caller of an attachment endpoint. A request with no valid credentials is no one's, and
/// gets the 404 of an attachment it may not see (a guessed address learns nothing, not even
/// that credentials would help); an expired token or a disabled account still gets its own
/// 401, so that a device refreshes its token or tells its user.
pub struct Caller(pub Authed);

impl axum::extract::FromRequestParts<AppState> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, AppError> {
        match Authed::from_request_parts(parts, state).await {
            Ok(auth) => Ok(Caller(auth)),
            Err(AppError::Unauthenticated(_)) => Err(super::not_found()),
            Err(e) => Err(e),
        }
    }
}

/// `GET /v1/attachments/{id}/upload`: how much of the attachment the server holds from the
/// caller.
pub async fn upload_state(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Caller(auth): Caller,
) -> Result<Json<serde_json::Value>, AppError> {
    check_id(&id)?;
    let (core, who, asked) = (state.core.clone(), auth.principal, id.clone());
    let (reference, complete) = tokio::task::spawn_blocking(move || {
        let reference = upload_reference(&core, &who, &asked)?;
        let complete = core.storage.attachment_holder(&asked, &who.username)?;
        Ok::<_, AppError>((reference, complete))
    })
    .await??;
    let (received, complete) = if complete {
        (reference.size, true)
    } else {
        // After the request that is saving its bytes, if one is; and an upload whose parts hold
        // every byte (its last request ended before it could finish it) is finished now.
        let lock = state.attachments.upload_lock(&id, &reference.added_by);
        let _turn = lock.lock().await;
        let declared = Declared {
            id: id.clone(),
            media_type: reference.media_type.clone(),
            start: 0,
            total: reference.size,
        };
        let blobs = &state.attachments.blobs;
        match complete_held(blobs, &reference.added_by, &declared).await {
            Ok(Received::Partial(n)) => (n, false),
            Ok(Received::Complete) => {
                record_upload(&state, &declared, &reference.added_by).await?;
                (reference.size, true)
            }
            // A whole that is not what it claims was dropped: the device sends it again.
            Err(UploadError::Hash(_) | UploadError::MediaType { .. }) => (0, false),
            Err(e) => return Err(refusal(e, &declared)),
        }
    };
    Ok(Json(json!({
        "id": id,
        "size": reference.size,
        "received": received,
        "complete": complete,
    })))
}

/// Records a completed upload (the attachment stored, its uploader a holder) and has its
/// thumbnail made in the background.
async fn record_upload(
    state: &AppState,
    declared: &Declared,
    username: &str,
) -> Result<(), AppError> {
    let (core, name, id, media, total) = (
        state.core.clone(),
        username.to_string(),
        declared.id.clone(),
        declared.media_type.clone(),
        declared.total,
    );
    tokio::task::spawn_blocking(move || {
        let now = chrono::Utc::now().timestamp();
        core.storage
            .attachment_uploaded(&id, total, &media, &name, now)
    })
    .await??;
    tokio::spawn(thumbnail::ensure(
        state.core.clone(),
        state.attachments.clone(),
        declared.id.clone(),
        declared.media_type.clone(),
        thumbnail::When::Quiet,
    ));
    Ok(())
}

/// Reads `Content-Range: bytes START-END/TOTAL`.
fn content_range(headers: &HeaderMap) -> Result<(u64, u64, u64), AppError> {
    let bad = || {
        AppError::BadRequest(
            "send the bytes with Content-Range: bytes START-END/TOTAL (END inclusive, TOTAL the whole size)".into(),
        )
    };
    let value = headers
        .get(CONTENT_RANGE)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(bad)?;
    let rest = value.trim().strip_prefix("bytes ").ok_or_else(bad)?;
    let (range, total) = rest.split_once('/').ok_or_else(bad)?;
    let (start, end) = range.split_once('-').ok_or_else(bad)?;
    let number = |s: &str| s.trim().parse::<u64>().map_err(|_| bad());
    let (start, end, total) = (number(start)?, number(end)?, number(total)?);
    if start > end || end >= total {
        return Err(bad());
    }
    Ok((start, end, total))
}

/// `PUT /v1/attachments/{id}`: one piece of an upload, from where the server's bytes end.
pub async fn upload(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Caller(auth): Caller,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, AppError> {
    check_id(&id)?;
    let (start, _end, total) = content_range(&headers)?;
    let declared_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let username = auth.principal.username.clone();
    let (core, who, asked) = (state.core.clone(), auth.principal, id.clone());
    let (reference, complete) = tokio::task::spawn_blocking(move || {
        let reference = upload_reference(&core, &who, &asked)?;
        let complete = core.storage.attachment_holder(&asked, &who.username)?;
        Ok::<_, AppError>((reference, complete))
    })
    .await??;
    let config = &state.attachments.config;
    if total > config.max_bytes {
        return Err(AppError::TooMuchWork(format!(
            "the attachment is {total} bytes; this server takes at most {} bytes ({} MB) per attachment: make the photo smaller or ask your administrator",
            config.max_bytes,
            config.max_bytes / 1_000_000
        )));
    }
    if !config.media_types.contains(&declared_type) {
        return Err(AppError::UnsupportedMediaType(format!(
            "'{declared_type}' is not a type this server takes for attachments: send one of {}",
            config.media_types.join(", ")
        )));
    }
    if total != reference.size || declared_type != reference.media_type {
        return Err(AppError::Invalid(format!(
            "the upload says {total} bytes of {declared_type}; the document's reference says {} bytes of {}: send the file the reference was made from",
            reference.size, reference.media_type
        )));
    }
    if complete {
        return Ok(completed(&id, total));
    }
    let declared = Declared {
        id: id.clone(),
        media_type: declared_type.clone(),
        start,
        total,
    };
    // The bytes are received, and the attachment completed, in a task of its own: a device
    // whose connection breaks does not cancel the saving of what it sent. The upload's lock
    // is held meanwhile.
    let lock = state.attachments.upload_lock(&id, &username);
    let task_state = state.clone();
    let stream = body.into_data_stream();
    let task = tokio::spawn(async move {
        let _turn = lock.lock().await;
        // The request it waited for may have completed the upload.
        let (core, asked, name) = (
            task_state.core.clone(),
            declared.id.clone(),
            username.clone(),
        );
        if tokio::task::spawn_blocking(move || core.storage.attachment_holder(&asked, &name))
            .await??
        {
            return Ok(Received::Complete);
        }
        let blobs = &task_state.attachments.blobs;
        let streaming = task_state.attachments.traffic.streaming();
        let received = receive(blobs, &username, &declared, stream)
            .await
            .map_err(|e| refusal(e, &declared))?;
        drop(streaming);
        if received == Received::Complete {
            record_upload(&task_state, &declared, &username).await?;
        }
        Ok::<_, AppError>(received)
    });
    match task.await?? {
        Received::Partial(n) => Ok(Json(json!({"received": n, "complete": false})).into_response()),
        Received::Complete => Ok(completed(&id, total)),
    }
}

fn completed(id: &str, total: u64) -> Response {
    (
        StatusCode::CREATED,
        Json(json!({"id": id, "received": total, "complete": true})),
    )
        .into_response()
}

/// The answer to a refused upload request.
fn refusal(e: UploadError, declared: &Declared) -> AppError {
    match e {
        UploadError::Offset(received) => AppError::UploadOffset { received },
        UploadError::MediaType { declared, found } => AppError::UnsupportedMediaType(format!(
            "the file is {found}, not {declared} as declared: nothing was kept; attach a photo or a PDF"
        )),
        UploadError::TooLong => AppError::BadRequest(
            "the request sent more bytes than its Content-Range says: nothing of it was kept"
                .into(),
        ),
        UploadError::Hash(found) => AppError::HashMismatch(format!(
            "the bytes' SHA-256 is {found}, not the attachment id {}: nothing was kept; send the file again",
            declared.id
        )),
        UploadError::Store(e) => e.into(),
    }
}

/// Reads `Range: bytes=N-` or `bytes=N-M` against a blob of `size` bytes: the range to send,
/// `None` for the whole.
fn byte_range(headers: &HeaderMap, size: u64) -> Result<Option<(u64, u64)>, AppError> {
    let Some(value) = headers.get(RANGE).and_then(|v| v.to_str().ok()) else {
        return Ok(None);
    };
    let unsatisfiable = || AppError::RangeNotSatisfiable { size };
    let spec = value
        .trim()
        .strip_prefix("bytes=")
        .ok_or_else(unsatisfiable)?;
    let (from, to) = spec.split_once('-').ok_or_else(unsatisfiable)?;
    let from: u64 = from.trim().parse().map_err(|_| unsatisfiable())?;
    let to: u64 = match to.trim() {
        "" => size.saturating_sub(1),
        t => t
            .parse::<u64>()
            .map_err(|_| unsatisfiable())?
            .min(size.saturating_sub(1)),
    };
    if from >= size || from > to {
        return Err(unsatisfiable());
    }
    Ok(Some((from, to)))
}

/// `GET /v1/attachments/{id}`: the bytes, whole or a range of them.
pub async fn download(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Caller(auth): Caller,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    check_id(&id)?;
    let (core, who, asked) = (state.core.clone(), auth.principal, id.clone());
    let stored = tokio::task::spawn_blocking(move || fetchable(&core, &who, &asked)).await??;
    let range = byte_range(&headers, stored.size)?;
    let (from, to) = range.unwrap_or((0, stored.size.saturating_sub(1)));
    let read = state
        .attachments
        .blobs
        .read(&Blobs::blob(&id), from, Some(to + 1))
        .await?
        .ok_or(AppError::NotUploaded)?;
    let mut response = Response::new(Body::from_stream(
        read.bytes.map(|c| c.map_err(std::io::Error::other)),
    ));
    *response.status_mut() = if range.is_some() {
        StatusCode::PARTIAL_CONTENT
    } else {
        StatusCode::OK
    };
    let h = response.headers_mut();
    insert(h, CONTENT_TYPE, &stored.media_type);
    insert(h, CONTENT_LENGTH, &(to + 1 - from).to_string());
    insert(h, ETAG, &format!("\"{id}\""));
    insert(h, ACCEPT_RANGES, "bytes");
    insert(h, CACHE_CONTROL, "private, max-age=31536000, immutable");
    insert(h, "x-content-type-options", "nosniff");
    if range.is_some() {
        insert(
            h,
            CONTENT_RANGE,
            &format!("bytes {from}-{to}/{}", stored.size),
        );
    }
    Ok(response)
}

fn insert<K: axum::http::header::IntoHeaderName>(headers: &mut HeaderMap, key: K, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        headers.insert(key, v);
    }
}

/// `GET /v1/attachments/{id}/thumbnail`: the small JPEG of a photo (made now if it is not
/// yet).
pub async fn thumbnail(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Caller(auth): Caller,
) -> Result<Response, AppError> {
    check_id(&id)?;
    let (core, who, asked) = (state.core.clone(), auth.principal, id.clone());
    let stored = tokio::task::spawn_blocking(move || fetchable(&core, &who, &asked)).await??;
    if stored.thumbnail == Thumbnail::Pending {
        thumbnail::ensure(
            state.core.clone(),
            state.attachments.clone(),
            id.clone(),
            stored.media_type.clone(),
            thumbnail::When::Now,
        )
        .await;
    }
    let none = || {
        AppError::NoThumbnail(format!(
            "attachment {id} has no thumbnail ({} is not an image the server reads): fetch the attachment itself",
            stored.media_type
        ))
    };
    let bytes = state
        .attachments
        .blobs
        .read_all(&Blobs::thumbnail(&id))
        .await?
        .ok_or_else(none)?;
    let mut response = Response::new(Body::from(bytes));
    let h = response.headers_mut();
    insert(h, CONTENT_TYPE, "image/jpeg");
    insert(h, CACHE_CONTROL, "private, max-age=31536000, immutable");
    insert(h, "x-content-type-options", "nosniff");
    Ok(response)
}
