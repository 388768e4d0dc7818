//! Thumbnails: a small JPEG of each photo, made once, so list screens never download the
//! photos themselves.
//!
//! Decoding runs under limits (`image::Limits`): a crafted file that claims a huge size is
//! refused instead of exhausting memory. HEIC is not decoded (no decoder in pure Rust), nor
//! PDF; those have no thumbnail.

use std::io::Cursor;
use std::sync::Arc;

use bytes::Bytes;
use image::{ImageFormat, ImageReader, Limits};

use super::Attachments;
use super::blobs::Blobs;
use crate::service::Core;
use crate::storage::Thumbnail;

/// The longest side of a thumbnail, in pixels.
pub const THUMBNAIL_SIDE: u32 = 320;

/// The largest image decoded, per side.
const MAX_SIDE: u32 = 12_000;

/// The most memory one decode may take.
const MAX_DECODE_BYTES: u64 = 512 << 20;

/// The image format of a media type, if thumbnails are made of it.
fn format_of(media_type: &str) -> Option<ImageFormat> {
    match media_type {
        "image/jpeg" => Some(ImageFormat::Jpeg),
        "image/png" => Some(ImageFormat::Png),
        "image/webp" => Some(ImageFormat::WebP),
        _ => None,
    }
}

/// Whether thumbnails are made of `media_type`.
pub fn has_thumbnail(media_type: &str) -> bool {
    format_of(media_type).is_some()
}

/// Makes the thumbnail JPEG of an image's bytes; an error says why it cannot be.
pub fn make(bytes: &[u8], media_type: &str) -> Result<Vec<u8>, String> {
    let format = format_of(media_type).ok_or_else(|| format!("no thumbnails of {media_type}"))?;
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    let image = reader.decode().map_err(|e| e.to_string())?;
    let small = image.thumbnail(THUMBNAIL_SIDE, THUMBNAIL_SIDE).into_rgb8();
    let mut out = Cursor::new(Vec::new());
    small
        .write_to(&mut out, ImageFormat::Jpeg)
        .map_err(|e| e.to_string())?;
    Ok(out.into_inner())
}

/// Makes and stores the thumbnail of stored attachment `id` (of `media_type`) unless it is
/// made already, one at a time, and records the outcome. Failures are logged: a photo without
/// a thumbnail is still a photo.
pub async fn ensure(
    core: Arc<Core>,
    attachments: Arc<Attachments>,
    id: String,
    media_type: String,
) {
    let Ok(_turn) = attachments.thumbnailing.acquire().await else {
        return;
    };
    let state = {
        let (core, id) = (core.clone(), id.clone());
        tokio::task::spawn_blocking(move || core.storage.stored_attachment(&id)).await
    };
    match state {
        Ok(Ok(Some(stored))) if stored.thumbnail == Thumbnail::Pending => {}
        _ => return,
    }
    let outcome = if has_thumbnail(&media_type) {
        match attachments.blobs.read_all(&Blobs::blob(&id)).await {
            Ok(Some(bytes)) => {
                let made = tokio::task::spawn_blocking(move || make(&bytes, &media_type)).await;
                match made {
                    Ok(Ok(jpeg)) => match attachments
                        .blobs
                        .put(&Blobs::thumbnail(&id), Bytes::from(jpeg))
                        .await
                    {
                        Ok(()) => Thumbnail::Made,
                        Err(e) => {
                            tracing::warn!(%id, "cannot store a thumbnail: {e}");
                            return;
                        }
                    },
                    Ok(Err(e)) => {
                        tracing::info!(%id, "no thumbnail: the image cannot be read: {e}");
                        Thumbnail::None
                    }
                    Err(e) => {
                        tracing::warn!(%id, "thumbnail failed: {e}");
                        return;
                    }
                }
            }
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(%id, "cannot read an attachment for its thumbnail: {e}");
                return;
            }
        }
    } else {
        Thumbnail::None
    };
    let recorded =
        tokio::task::spawn_blocking(move || core.storage.set_thumbnail(&id, outcome)).await;
    if let Ok(Err(e)) = recorded {
        tracing::warn!("cannot record a thumbnail: {e}");
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn photo(w: u32, h: u32, format: ImageFormat) -> Vec<u8> {
        let img = image::RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
        });
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, format).unwrap();
        out.into_inner()
    }

    #[test]
    fn a_photo_gets_a_small_jpeg_thumbnail() {
        for (format, media) in [
            (ImageFormat::Jpeg, "image/jpeg"),
            (ImageFormat::Png, "image/png"),
        ] {
            let thumb = make(&photo(1600, 1200, format), media).unwrap();
            let small = image::load_from_memory_with_format(&thumb, ImageFormat::Jpeg).unwrap();
            assert_eq!((small.width(), small.height()), (320, 240), "{media}");
        }
    }

    #[test]
    fn what_is_not_a_readable_image_has_no_thumbnail() {
        assert!(make(b"%PDF-1.7 not an image", "application/pdf").is_err());
        let mut broken = photo(100, 100, ImageFormat::Jpeg);
        broken.truncate(40);
        assert!(make(&broken, "image/jpeg").is_err());
    }

    #[test]
    fn an_image_claiming_a_huge_size_is_refused_before_decoding() {
        // A PNG header that claims 100000 x 100000 pixels (40 GB decoded).
        let mut png = photo(1, 1, ImageFormat::Png);
        png[16..20].copy_from_slice(&100_000u32.to_be_bytes());
        png[20..24].copy_from_slice(&100_000u32.to_be_bytes());
        // The header's checksum (over the chunk type and data) made right, so only the size
        // can be what refuses it.
        let crc = crc32(&png[12..29]);
        png[29..33].copy_from_slice(&crc.to_be_bytes());
        let err = make(&png, "image/png").unwrap_err();
        assert!(err.to_lowercase().contains("limit"), "{err}");
    }

    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
}
