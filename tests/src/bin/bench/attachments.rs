//! Scenario 10: a rep back from a trip with its photos and receipts (100 photos of 2 MB and 20
//! receipts at full scale). The rep's device syncs them to the real server on loopback; the
//! figures are the upload's time and throughput beside a plain `curl` upload of the same files
//! to a minimal HTTP sink on the same machine (which writes and syncs each file, as the server
//! does), the server's memory during the upload (streamed, not buffered), the same upload
//! through a proxy that cuts connections at random bytes (about one upload in twenty), with the
//! bytes sent over the wire against the bytes the attachments hold, and the manager fetching
//! the photos.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use fieldsync_core::Client;
use fieldsync_core::client::{CustomerInput, ExpenseClaimInput, ExpenseItemInput, VisitInput};
use fieldsync_tests::cut_proxy::{CutPlan, CutProxy};
use fieldsync_tests::server::{ServerProcess, TestUser, add_user};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::org::PASSWORD;
use crate::stats::{Series, Table, proc_kib, reset_peak_rss};
use crate::{Result, Scale};

const SCENARIO: &str = "S10 trip photos";
const REP: &str = "rep-photos";
const MANAGER: &str = "manager-photos";
const TERRITORY: &str = "photos";
/// Photos a visit holds in this trip.
const PER_VISIT: usize = 5;

/// The files of one trip.
struct Trip {
    photos: Vec<PathBuf>,
    receipts: Vec<PathBuf>,
    bytes: u64,
}

/// A phone's photo: 4000 × 3000 pixels (12 megapixels), a baseline JPEG of about 1.5 MB.
const PHOTO_SIDES: (u32, u32) = (4000, 3000);

/// The JPEG every photo of the trip shows: gradients, a checkerboard and sensor-like noise.
fn phone_photo() -> Result<Vec<u8>> {
    let (w, h) = PHOTO_SIDES;
    let mut rng = ChaCha8Rng::seed_from_u64(12);
    let pixels = image::RgbImage::from_fn(w, h, |x, y| {
        let noise: u32 = rng.random_range(0..8);
        let check = ((x / 40 + y / 40) % 2) * 100;
        image::Rgb([
            (x * 255 / w + noise) as u8,
            (y * 255 / h + noise) as u8,
            (check + noise + 50) as u8,
        ])
    });
    let mut jpeg = std::io::Cursor::new(Vec::new());
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 80).encode_image(&pixels)?;
    Ok(jpeg.into_inner())
}

/// `jpeg` made `len` bytes long and unlike any other by comment segments of random bytes
/// after its start marker (decoders skip them): each photo of the trip its own attachment.
fn padded_photo(jpeg: &[u8], len: usize, rng: &mut ChaCha8Rng) -> Result<Vec<u8>> {
    // A comment segment holds at most 65,533 bytes after its marker and length.
    const MOST: usize = 65_533;
    let mut left = len
        .checked_sub(jpeg.len())
        .ok_or_else(|| format!("the photo is {} bytes, more than {len}", jpeg.len()))?;
    if (1..4).contains(&left) {
        return Err(format!("cannot pad a photo by {left} bytes: a segment takes 4").into());
    }
    let mut out = jpeg[..2].to_vec();
    while left > 0 {
        // A segment takes 4 bytes besides its data; what it leaves must fit another one.
        let mut size = left.min(MOST + 4);
        if (1..4).contains(&(left - size)) {
            size -= 4;
        }
        out.extend_from_slice(&[0xFF, 0xFE]);
        out.extend_from_slice(&u16::try_from(size - 2)?.to_be_bytes());
        let start = out.len();
        out.resize(start + size - 4, 0);
        rng.fill(&mut out[start..]);
        left -= size;
    }
    out.extend_from_slice(&jpeg[2..]);
    Ok(out)
}

/// Writes `photos` JPEG photos of `photo_bytes` and `receipts` PDFs into `dir`.
fn trip_files(dir: &Path, photos: usize, photo_bytes: usize, receipts: usize) -> Result<Trip> {
    std::fs::create_dir_all(dir)?;
    let mut rng = ChaCha8Rng::seed_from_u64(10);
    let jpeg = phone_photo()?;
    let photos = (0..photos)
        .map(|i| {
            let path = dir.join(format!("IMG_{i:04}.jpg"));
            std::fs::write(&path, padded_photo(&jpeg, photo_bytes, &mut rng)?)?;
            Ok(path)
        })
        .collect::<Result<Vec<_>>>()?;
    let receipts = (0..receipts)
        .map(|i| {
            let mut bytes = b"%PDF-1.7\n".to_vec();
            let head = bytes.len();
            bytes.resize(300_000, 0);
            rng.fill(&mut bytes[head..]);
            let path = dir.join(format!("fapiao-{i:02}.pdf"));
            std::fs::write(&path, &bytes)?;
            Ok(path)
        })
        .collect::<Result<Vec<_>>>()?;
    let bytes = photos
        .iter()
        .chain(&receipts)
        .map(|p| std::fs::metadata(p).map(|m| m.len()))
        .sum::<std::io::Result<u64>>()?;
    Ok(Trip {
        photos,
        receipts,
        bytes,
    })
}

fn users(data: &Path) -> Result<()> {
    for (username, role, manager) in [(MANAGER, "manager", None), (REP, "rep", Some(MANAGER))] {
        add_user(
            data,
            &TestUser {
                username,
                role,
                territories: &[TERRITORY],
                manager,
                password: PASSWORD,
            },
        )?;
    }
    Ok(())
}

/// The rep's device with the whole trip attached, offline; returns it and the attach time.
fn rep_with_trip(dir: &Path, url: &str, trip: &Trip) -> Result<(Client, f64)> {
    let rep = Client::open_in(dir, "rep phone")?;
    rep.login(url, REP, PASSWORD)?;
    let started = Instant::now();
    let customer = rep.create_customer(CustomerInput {
        name: "苏州精工机械".into(),
        ..CustomerInput::default()
    })?;
    for chunk in trip.photos.chunks(PER_VISIT) {
        let visit = rep.record_visit(VisitInput {
            customer: customer.clone(),
            summary: "拜访，拍照".into(),
            ..VisitInput::default()
        })?;
        for (i, photo) in chunk.iter().enumerate() {
            rep.attach_to_visit(&visit, photo, i == 0)?;
        }
    }
    let claim = rep.create_expense_claim(ExpenseClaimInput {
        title: "华东出差".into(),
        ..ExpenseClaimInput::default()
    })?;
    for receipt in &trip.receipts {
        rep.add_expense_item(
            &claim,
            ExpenseItemInput {
                date: chrono::Local::now().date_naive().to_string(),
                category: "lodging".into(),
                amount: 38_000,
                receipt: Some(receipt.clone()),
                ..ExpenseItemInput::default()
            },
        )?;
    }
    Ok((rep, started.elapsed().as_secs_f64()))
}

/// One upload of the trip by the rep's device to a fresh server (through a cutting proxy when
/// `cuts`): seconds, the server's peak memory growth in MiB, bytes over the wire, cuts.
struct Upload {
    secs: f64,
    server_mib: Option<f64>,
    /// Of `server_mib`, what the document push before the first attachment took.
    push_mib: Option<f64>,
    /// How long after the upload the server had made every photo's thumbnail.
    thumbnails_secs: f64,
    /// The server's peak memory growth over the upload and the thumbnails after it.
    thumbnails_mib: Option<f64>,
    wire_bytes: Option<u64>,
    cuts: u64,
}

fn upload(dir: &Path, trip: &Trip, cuts: Option<CutPlan>) -> Result<Upload> {
    let data = dir.join("server");
    users(&data)?;
    let server = ServerProcess::start(&data)?;
    let proxy = cuts
        .map(|plan| CutProxy::in_front_of(&server.url(), plan))
        .transpose()?;
    let url = proxy.as_ref().map_or_else(|| server.url(), CutProxy::url);
    let (rep, _) = rep_with_trip(&dir.join("rep"), &url, trip)?;
    let pid = server.pid().map(|p| p.to_string());
    let reset = pid.as_deref().is_some_and(reset_peak_rss);
    let before = pid.as_deref().and_then(|p| proc_kib(p, "VmRSS"));
    let started = Instant::now();
    // The server's peak when the first attachment starts: what the document push took.
    let mut at_first_attachment: Option<u64> = None;
    // Bounded: a cut upload resumes at the next sync.
    for _ in 0..50 {
        rep.sync(|p| {
            if p.attachment.is_some() && at_first_attachment.is_none() {
                at_first_attachment = pid.as_deref().and_then(|p| proc_kib(p, "VmHWM"));
            }
        })?;
        if rep.status()?.attachments_pending == 0 {
            break;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let left = rep.status()?.attachments_pending;
    if left > 0 {
        return Err(format!("{left} attachments still wait to upload after 50 syncs").into());
    }
    let peak = pid.as_deref().and_then(|p| proc_kib(p, "VmHWM"));
    let grown = |to: Option<u64>| match (reset, before, to) {
        (true, Some(b), Some(p)) => Some(p.saturating_sub(b) as f64 / 1024.0),
        _ => None,
    };
    // The server makes the photos' thumbnails once the uploads pause: wait for them.
    let thumbnails_secs = thumbnails_made(&data.join("attachments/thumbs"), trip.photos.len())?;
    let with_thumbnails = pid.as_deref().and_then(|p| proc_kib(p, "VmHWM"));
    Ok(Upload {
        secs,
        server_mib: grown(peak),
        push_mib: grown(at_first_attachment),
        thumbnails_secs,
        thumbnails_mib: grown(with_thumbnails),
        wire_bytes: proxy.as_ref().map(CutProxy::bytes_sent),
        cuts: proxy.as_ref().map_or(0, CutProxy::cuts),
    })
}

/// Waits (at most 2 minutes) until `folder` holds `photos` thumbnails: the seconds it took.
fn thumbnails_made(folder: &Path, photos: usize) -> Result<f64> {
    let started = Instant::now();
    loop {
        let made = std::fs::read_dir(folder)
            .map(|entries| {
                entries
                    .flatten()
                    .filter(|e| e.file_name().to_string_lossy().ends_with(".jpg"))
                    .count()
            })
            .unwrap_or(0);
        if made >= photos {
            return Ok(started.elapsed().as_secs_f64());
        }
        if started.elapsed() > std::time::Duration::from_secs(120) {
            return Err(
                format!("{made} of {photos} thumbnails made 2 minutes after the upload").into(),
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// A minimal HTTP sink for the baseline: each `PUT /<name>` body is written to a file and
/// synced, then answered 201.
fn start_sink(dir: PathBuf) -> Result<(tokio::runtime::Runtime, String)> {
    use axum::body::Body;
    use axum::extract::Path as UrlPath;
    use futures_util::StreamExt;
    std::fs::create_dir_all(&dir)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let url = format!("http://{}", listener.local_addr()?);
    let app = axum::Router::new().route(
        "/{name}",
        axum::routing::put(move |UrlPath(name): UrlPath<String>, body: Body| {
            let path = dir.join(name.replace('/', "_"));
            async move {
                use tokio::io::AsyncWriteExt;
                let Ok(mut file) = tokio::fs::File::create(&path).await else {
                    return axum::http::StatusCode::INTERNAL_SERVER_ERROR;
                };
                let mut stream = body.into_data_stream();
                while let Some(Ok(chunk)) = stream.next().await {
                    if file.write_all(&chunk).await.is_err() {
                        return axum::http::StatusCode::INTERNAL_SERVER_ERROR;
                    }
                }
                if file.sync_all().await.is_err() {
                    return axum::http::StatusCode::INTERNAL_SERVER_ERROR;
                }
                axum::http::StatusCode::CREATED
            }
        }),
    );
    runtime.spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((runtime, url))
}

/// The same files with one `curl` run (one connection, one PUT each) to the sink: seconds.
fn curl_baseline(dir: &Path, trip: &Trip) -> Result<f64> {
    let (runtime, url) = start_sink(dir.join("sink"))?;
    let mut args: Vec<String> = vec!["-s".into(), "-f".into(), "-o".into(), "/dev/null".into()];
    for file in trip.photos.iter().chain(&trip.receipts) {
        let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("file");
        args.extend([
            "-T".into(),
            file.display().to_string(),
            format!("{url}/{name}"),
        ]);
    }
    let started = Instant::now();
    let status = Command::new("curl").args(&args).status()?;
    let secs = started.elapsed().as_secs_f64();
    runtime.shutdown_background();
    if !status.success() {
        return Err(format!("curl failed: {status}").into());
    }
    Ok(secs)
}

/// The manager's device fetches every photo of the trip from a server that has them: seconds.
fn manager_fetches(dir: &Path, url: &str, trip: &Trip) -> Result<f64> {
    let manager = Client::open_in(dir, "manager tablet")?;
    manager.login(url, MANAGER, PASSWORD)?;
    manager.set_attachment_cache_budget(trip.bytes * 2)?;
    manager.sync(|_| {})?;
    let ids: Vec<String> = manager
        .attachments(false)?
        .into_iter()
        .filter(|a| a.media_type == "image/jpeg")
        .map(|a| a.id)
        .collect();
    let started = Instant::now();
    for id in &ids {
        manager.attachment_path(id)?;
    }
    Ok(started.elapsed().as_secs_f64())
}

/// Runs scenario 10.
pub fn trip_photos(dir: &Path, scale: &Scale, table: &mut Table) -> Result<()> {
    let (photos, receipts) = (scale.trip_photos, scale.trip_photos / 5);
    let trip = trip_files(&dir.join("trip-files"), photos, 2_000_000, receipts)?;
    let mb = trip.bytes as f64 / 1e6;
    let label = format!("{photos} photos of 2 MB + {receipts} receipts");
    let (mut fieldsync, mut curl, mut memory, mut push_memory) = (
        Series::default(),
        Series::default(),
        Series::default(),
        Series::default(),
    );
    let (mut cut_secs, mut wire, mut cuts) =
        (Series::default(), Series::default(), Series::default());
    let mut ratio = Series::default();
    let mut fetch = Series::default();
    let mut attach = Series::default();
    let (mut thumbs_secs, mut thumbs_memory) = (Series::default(), Series::default());
    for run in 0..scale.runs {
        let base = dir.join(format!("photos-{run}"));
        let plain = upload(&base.join("plain"), &trip, None)?;
        let baseline = curl_baseline(&base, &trip)?;
        fieldsync.push(mb / plain.secs);
        curl.push(mb / baseline);
        ratio.push(plain.secs / baseline);
        if let (Some(m), Some(push)) = (plain.server_mib, plain.push_mib) {
            memory.push(m);
            push_memory.push(push);
        }
        thumbs_secs.push(plain.thumbnails_secs);
        if let Some(m) = plain.thumbnails_mib {
            thumbs_memory.push(m);
        }
        // The same trip over a network that cuts about one upload in twenty, at a random
        // byte: cuts come after a uniform 1 to 40 photos' worth of bytes.
        let plan = CutPlan {
            seed: 10 + run as u64,
            rate: 1.0,
            within: 40 * 2_000_000,
        };
        let cut = upload(&base.join("cut"), &trip, Some(plan))?;
        cut_secs.push(cut.secs);
        cuts.push(cut.cuts as f64);
        if let Some(w) = cut.wire_bytes {
            wire.push(w as f64 / trip.bytes as f64);
        }
        // Attach time and the manager's fetches, on a server of their own.
        let data = base.join("fetch-server");
        users(&data)?;
        let server = ServerProcess::start(&data)?;
        let (rep, attach_secs) = rep_with_trip(&base.join("fetch-rep"), &server.url(), &trip)?;
        attach.push(attach_secs);
        rep.sync(|_| {})?;
        let secs = manager_fetches(&base.join("manager"), &server.url(), &trip)?;
        fetch.push(photos as f64 * 2.0 / secs);
        drop(server);
        let _ = std::fs::remove_dir_all(&base);
    }
    let _ = std::io::stdout().flush();
    let (r, m, w) = (ratio.median(), memory.median(), wire.median());
    table.judge(
        "10 a trip's photos: upload within 1.5× of curl's time",
        format!("{r:.2}×"),
        r <= 1.5,
    );
    table.judge(
        "10 a trip's photos: server memory growth < 50 MB",
        format!("{m:.1} MiB"),
        m * 1024.0 * 1024.0 < 50e6,
    );
    table.judge(
        "10 a trip's photos, connections cut: bytes on the wire ≤ 1.2×",
        format!("{w:.2}×"),
        w <= 1.2,
    );
    table.add(
        SCENARIO,
        "fieldsync",
        &format!("attach offline: {label}"),
        "s",
        attach,
        None,
    );
    table.add(
        SCENARIO,
        "fieldsync",
        "upload throughput",
        "MB/s",
        fieldsync,
        None,
    );
    table.add(
        SCENARIO,
        "curl → sink",
        "upload throughput",
        "MB/s",
        curl,
        None,
    );
    table.add(
        SCENARIO,
        "fieldsync",
        "upload time / curl's",
        "×",
        ratio,
        Some("≤ 1.5×"),
    );
    table.add(
        SCENARIO,
        "fieldsync",
        "server memory growth, whole sync",
        "MiB",
        memory,
        Some("< 50 MiB"),
    );
    table.add(
        SCENARIO,
        "fieldsync",
        "  of which the document push",
        "MiB",
        push_memory,
        None,
    );
    table.add(
        SCENARIO,
        "fieldsync",
        "thumbnails made, after the upload",
        "s",
        thumbs_secs,
        None,
    );
    table.add(
        SCENARIO,
        "fieldsync",
        "server memory growth, sync and thumbnails",
        "MiB",
        thumbs_memory,
        None,
    );
    table.add(
        SCENARIO,
        "fieldsync",
        "upload with cuts (~5% of uploads)",
        "s",
        cut_secs,
        None,
    );
    table.add(SCENARIO, "fieldsync", "connections cut", "", cuts, None);
    table.add(
        SCENARIO,
        "fieldsync",
        "bytes on the wire / bytes attached",
        "×",
        wire,
        Some("≤ 1.2×"),
    );
    table.add(
        SCENARIO,
        "fieldsync",
        "manager fetches the photos",
        "MB/s",
        fetch,
        None,
    );
    Ok(())
}
