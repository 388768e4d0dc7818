//! Thumbnails: a small JPEG of each photo, made once, so list screens never download the
//! photos themselves.
//!
//! A JPEG (what phones take) is decoded at the smallest of 1/8, 1/4, 1/2 or its whole size that
//! still covers a thumbnail, scaled in the decoder's inverse DCT (`jpeg-decoder`): a photo of
//! 12 megapixels is decoded to 500 × 375 pixels, and its thumbnail took 30–33 ms and 8.5 MiB at
//! the peak, against 79–118 ms and 43 MiB decoded whole (BENCHMARKS.md, tenth round).
//! It is turned upright by its EXIF orientation, as phones store portraits sideways. PNG and
//! WebP are decoded whole.
//!
//! Decoding runs under limits: a crafted file that claims a huge size is refused instead of
//! exhausting memory. HEIC is not decoded (no decoder in pure Rust), nor PDF; those have no
//! thumbnail.

use std::io::Cursor;
use std::sync::Arc;

use bytes::Bytes;
use image::metadata::Orientation;
use image::{DynamicImage, GrayImage, ImageFormat, ImageReader, Limits, RgbImage};
use jpeg_decoder::PixelFormat;

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
    let image = match format {
        ImageFormat::Jpeg => decode_jpeg_small(bytes)?,
        _ => decode_whole(bytes, format)?,
    };
    let small = image.thumbnail(THUMBNAIL_SIDE, THUMBNAIL_SIDE).into_rgb8();
    let mut out = Cursor::new(Vec::new());
    small
        .write_to(&mut out, ImageFormat::Jpeg)
        .map_err(|e| e.to_string())?;
    Ok(out.into_inner())
}

/// Decodes an image whole, under the limits.
fn decode_whole(bytes: &[u8], format: ImageFormat) -> Result<DynamicImage, String> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    reader.decode().map_err(|e| e.to_string())
}

/// Decodes a JPEG at the smallest scale that still covers a thumbnail, upright.
fn decode_jpeg_small(bytes: &[u8]) -> Result<DynamicImage, String> {
    let mut decoder = jpeg_decoder::Decoder::new(bytes);
    decoder.set_max_decoding_buffer_size(usize::try_from(MAX_DECODE_BYTES).unwrap_or(usize::MAX));
    decoder.read_info().map_err(|e| e.to_string())?;
    let info = decoder
        .info()
        .ok_or_else(|| "the JPEG has no frame header".to_string())?;
    let (width, height) = (u32::from(info.width), u32::from(info.height));
    if width > MAX_SIDE || height > MAX_SIDE {
        return Err(format!(
            "the image is {width} × {height} pixels, beyond the limit of {MAX_SIDE} a side"
        ));
    }
    let side = u16::try_from(THUMBNAIL_SIDE).unwrap_or(u16::MAX);
    let (width, height) = decoder.scale(side, side).map_err(|e| e.to_string())?;
    let pixels = decoder.decode().map_err(|e| e.to_string())?;
    let (width, height) = (u32::from(width), u32::from(height));
    let not_whole = || "the JPEG decoded to fewer pixels than its size".to_string();
    let gray = |samples: Vec<u8>| {
        GrayImage::from_raw(width, height, samples)
            .map(DynamicImage::ImageLuma8)
            .ok_or_else(not_whole)
    };
    let rgb = |samples: Vec<u8>| {
        RgbImage::from_raw(width, height, samples)
            .map(DynamicImage::ImageRgb8)
            .ok_or_else(not_whole)
    };
    let mut image = match info.pixel_format {
        PixelFormat::L8 => gray(pixels)?,
        // Samples in the machine's byte order; a thumbnail needs only their high bytes.
        PixelFormat::L16 => gray(
            pixels
                .chunks_exact(2)
                .map(|s| u16::from_ne_bytes([s[0], s[1]]).to_be_bytes()[0])
                .collect(),
        )?,
        PixelFormat::RGB24 => rgb(pixels)?,
        // Ink amounts (0: none): each channel is what its ink and the black leave of white.
        PixelFormat::CMYK32 => rgb(pixels
            .chunks_exact(4)
            .flat_map(|p| {
                let white = 255 - u16::from(p[3]);
                [0, 1, 2].map(|i| ((255 - u16::from(p[i])) * white / 255) as u8)
            })
            .collect())?,
    };
    if let Some(orientation) = decoder.exif_data().and_then(Orientation::from_exif_chunk) {
        image.apply_orientation(orientation);
    }
    Ok(image)
}

/// When a thumbnail is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// Now: someone is waiting for it.
    Now,
    /// In the background: once the uploads pause ([`super::traffic`]).
    Quiet,
}

/// Makes and stores the thumbnail of stored attachment `id` (of `media_type`) unless it is
/// made already, one at a time, and records the outcome. Failures are logged: a photo without
/// a thumbnail is still a photo.
pub async fn ensure(
    core: Arc<Core>,
    attachments: Arc<Attachments>,
    id: String,
    media_type: String,
    when: When,
) {
    let deadline = tokio::time::Instant::now() + super::traffic::MOST_WAIT;
    let _turn = loop {
        if when == When::Quiet {
            attachments.traffic.until_quiet(deadline).await;
        }
        let Ok(turn) = attachments.thumbnailing.acquire().await else {
            return;
        };
        // Uploads may have begun again while this waited its turn.
        if when == When::Now
            || attachments.traffic.is_quiet()
            || tokio::time::Instant::now() >= deadline
        {
            break turn;
        }
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

    /// `jpeg` with an EXIF segment saying `orientation`, as a phone writes a photo taken
    /// upright with the sensor sideways.
    fn with_orientation(jpeg: &[u8], orientation: u16) -> Vec<u8> {
        let mut exif = b"Exif\0\0II*\0".to_vec();
        exif.extend_from_slice(&8u32.to_le_bytes()); // the first directory's offset
        exif.extend_from_slice(&1u16.to_le_bytes()); // one entry:
        exif.extend_from_slice(&0x0112u16.to_le_bytes()); // Orientation,
        exif.extend_from_slice(&3u16.to_le_bytes()); // a SHORT,
        exif.extend_from_slice(&1u32.to_le_bytes()); // one of them,
        exif.extend_from_slice(&orientation.to_le_bytes());
        exif.extend_from_slice(&[0, 0]);
        exif.extend_from_slice(&0u32.to_le_bytes()); // no next directory
        let mut out = jpeg[..2].to_vec(); // SOI
        out.extend_from_slice(&[0xFF, 0xE1]);
        out.extend_from_slice(&u16::try_from(exif.len() + 2).unwrap().to_be_bytes());
        out.extend_from_slice(&exif);
        out.extend_from_slice(&jpeg[2..]);
        out
    }

    #[test]
    fn a_photo_stored_sideways_gets_an_upright_thumbnail() {
        let sideways = with_orientation(&photo(1600, 1200, ImageFormat::Jpeg), 6);
        let thumb = make(&sideways, "image/jpeg").unwrap();
        let small = image::load_from_memory_with_format(&thumb, ImageFormat::Jpeg).unwrap();
        assert_eq!((small.width(), small.height()), (240, 320));
    }

    #[test]
    fn a_large_jpeg_is_decoded_at_the_smallest_scale_that_covers_a_thumbnail() {
        let large = decode_jpeg_small(&photo(4000, 3000, ImageFormat::Jpeg)).unwrap();
        assert_eq!((large.width(), large.height()), (500, 375), "an eighth");
        let medium = decode_jpeg_small(&photo(1600, 1200, ImageFormat::Jpeg)).unwrap();
        assert_eq!((medium.width(), medium.height()), (400, 300), "a quarter");
        let small = decode_jpeg_small(&photo(400, 300, ImageFormat::Jpeg)).unwrap();
        assert_eq!((small.width(), small.height()), (400, 300), "whole");
    }

    #[test]
    fn a_grayscale_jpeg_gets_a_thumbnail() {
        let gray = image::GrayImage::from_fn(800, 600, |x, y| image::Luma([((x + y) % 256) as u8]));
        let mut jpeg = Cursor::new(Vec::new());
        gray.write_to(&mut jpeg, ImageFormat::Jpeg).unwrap();
        let thumb = make(&jpeg.into_inner(), "image/jpeg").unwrap();
        let small = image::load_from_memory_with_format(&thumb, ImageFormat::Jpeg).unwrap();
        assert_eq!((small.width(), small.height()), (320, 240));
    }

    #[test]
    fn a_jpeg_claiming_a_huge_size_is_refused_before_decoding() {
        let mut jpeg = photo(64, 48, ImageFormat::Jpeg);
        let sof = jpeg
            .windows(2)
            .position(|m| m == [0xFF, 0xC0])
            .expect("a baseline frame header");
        // Height, then width, after the marker, its length and the precision.
        jpeg[sof + 5..sof + 7].copy_from_slice(&60_000u16.to_be_bytes());
        jpeg[sof + 7..sof + 9].copy_from_slice(&60_000u16.to_be_bytes());
        let err = make(&jpeg, "image/jpeg").unwrap_err();
        assert!(err.contains("limit"), "{err}");
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
