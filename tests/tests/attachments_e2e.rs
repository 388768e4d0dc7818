//! Attachments end to end (docs/PROTOCOL.md, "Attachments"): the real `fieldsync-server` on
//! 127.0.0.1 and real devices (the `fieldsync` command line, one `--home` per device, or
//! client-core's `Client`), with photos of realistic size and content (JPEG by their first
//! bytes, then seeded pseudo-random bytes) and PDF receipts.
//!
//! - A rep's photos and receipt, attached offline, reach the manager whole; a rep of another
//!   territory cannot fetch them.
//! - Uploads through a proxy that cuts connections at random bytes all arrive, resumed (the
//!   bytes on the wire stay close to the bytes of the files).
//! - The device SIGKILLed mid-upload, and the server SIGKILLed mid-upload: the upload
//!   completes afterwards, and no file under an attachment's name (on the server's `blobs/` or
//!   in the device's blob folder) is ever other than the bytes that name says.
//! - The device's cache stays within its budget (least recently used evicted) and never
//!   evicts what is not uploaded yet.
//! - The same flow with the server's attachments in S3 (a private moto endpoint).
//!
//! `FIELDSYNC_CUT_SEED=<n>` reruns the cutting proxy's test with another plan.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::cli::{json, logged_in, pw, run, user_error};
use fieldsync_core::Client;
use fieldsync_core::client::{CustomerInput, ExpenseClaimInput, ExpenseItemInput, VisitInput};
use fieldsync_tests::cli::Home;
use fieldsync_tests::cut_proxy::{CutPlan, CutProxy};
use fieldsync_tests::s3::{BUCKET, Moto};
use fieldsync_tests::server::{free_port, server_binary};
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::Value;

// ---- files --------------------------------------------------------------------------------

/// The first bytes of a JPEG/JFIF file, as a camera writes them.
const JPEG_HEAD: &[u8] = b"\xFF\xD8\xFF\xE0\x00\x10JFIF\x00\x01\x01";
/// The first bytes of a PDF file.
const PDF_HEAD: &[u8] = b"%PDF-1.7\n";

/// Writes `dir/name`: `head`, then seeded pseudo-random bytes up to `len` bytes.
fn file_with(dir: &Path, name: &str, head: &[u8], seed: u64, len: usize) -> PathBuf {
    let mut bytes = vec![0u8; len];
    bytes[..head.len()].copy_from_slice(head);
    ChaCha8Rng::seed_from_u64(seed).fill_bytes(&mut bytes[head.len()..]);
    let path = dir.join(name);
    std::fs::write(&path, &bytes).unwrap();
    path
}

/// A photo of `len` bytes that reads as a JPEG.
fn photo(dir: &Path, name: &str, seed: u64, len: usize) -> PathBuf {
    file_with(dir, name, JPEG_HEAD, seed, len)
}

/// A receipt of `len` bytes that reads as a PDF.
fn receipt_pdf(dir: &Path, name: &str, seed: u64, len: usize) -> PathBuf {
    file_with(dir, name, PDF_HEAD, seed, len)
}

/// The SHA-256 of a file, hex (coreutils' `sha256sum`, not the code under test).
fn sha256(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().unwrap();
    assert!(
        out.status.success(),
        "sha256sum {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

fn size_of(path: &Path) -> u64 {
    std::fs::metadata(path).unwrap().len()
}

/// Whether `name` is an attachment id: 64 lower-case hex digits.
fn is_id(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn name_of(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

/// Every file under `dir`, recursively (none if it does not exist). A file that goes away
/// while it is listed is left out.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let Ok(listing) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in listing.flatten() {
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                todo.push(entry.path());
            } else {
                out.push(entry.path());
            }
        }
    }
    out.sort();
    out
}

// ---- what the server and the devices hold -------------------------------------------------

/// The server's attachments folder (the default, `<data-dir>/attachments`).
fn server_attachments(data: &Path) -> PathBuf {
    data.join("attachments")
}

/// Checks the server's `blobs/`: every file there is named by an attachment id and holds the
/// bytes whose SHA-256 is that name. Returns the ids.
fn check_server_blobs(attachments: &Path, when: &str) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for f in files_under(&attachments.join("blobs")) {
        let name = name_of(&f);
        assert!(
            is_id(&name),
            "{when}: {} is under the server's blobs/ but not named by an attachment id",
            f.display()
        );
        assert_eq!(
            sha256(&f),
            name,
            "{when}: the server's {} does not hash to its name (half a file under a hash?)",
            f.display()
        );
        ids.insert(name);
    }
    ids
}

/// The blob folder of the device whose store is `db` (`<db>.blobs`).
fn blob_folder(db: &Path) -> PathBuf {
    let mut name = db.file_name().unwrap().to_os_string();
    name.push(".blobs");
    db.with_file_name(name)
}

/// Checks a device's blob folder: every file named by an attachment id holds the bytes whose
/// SHA-256 is that name (temporary files and partial downloads have other names). Returns
/// those ids.
fn check_device_blobs(folder: &Path, when: &str) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for f in files_under(folder) {
        let name = name_of(&f);
        if is_id(&name) {
            assert_eq!(
                sha256(&f),
                name,
                "{when}: the device's {} does not hash to its name (half a file under a hash?)",
                f.display()
            );
            ids.insert(name);
        }
    }
    ids
}

/// The bytes the blob folder holds under attachments' names: blobs and thumbnails.
fn cached_bytes(folder: &Path, except: &BTreeSet<String>) -> u64 {
    files_under(folder)
        .iter()
        .filter(|f| {
            let name = name_of(f);
            let id = name.strip_suffix(".thumb").unwrap_or(&name);
            is_id(id) && !except.contains(id)
        })
        .map(|f| size_of(f))
        .sum()
}

/// The uploads the server is writing right now (or was, when it was killed): under
/// `uploads/`, files with the suffix of a file being written (a resumed upload's part,
/// `<offset>#<n>`); under `staging/`, every file (a request sending the file from its first
/// byte, written as `<id>.<random>` until it is checked and moved under its id, or made a part
/// if it breaks off).
fn parts_being_written(attachments: &Path) -> BTreeSet<PathBuf> {
    let parts = files_under(&attachments.join("uploads"))
        .into_iter()
        .filter(|f| name_of(f).contains('#'));
    parts
        .chain(files_under(&attachments.join("staging")))
        .collect()
}

/// How many bytes of `id` the server holds in the finished parts of an upload: the parts
/// (named by the offset they start at) that follow one another from byte 0.
fn held_in_parts(attachments: &Path, id: &str) -> u64 {
    let mut parts: Vec<(u64, u64)> = files_under(&attachments.join("uploads").join(id))
        .iter()
        .filter_map(|f| Some((name_of(f).parse::<u64>().ok()?, size_of(f))))
        .collect();
    parts.sort();
    let mut held = 0;
    for (offset, size) in parts {
        if offset == held && size > 0 {
            held += size;
        }
    }
    held
}

/// Waits (at most 10 s) until the server writes no part of an upload: a connection that was
/// cut has been settled into a part.
fn wait_parts_settled(attachments: &Path) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !parts_being_written(attachments).is_empty() {
        assert!(
            Instant::now() < deadline,
            "the server still writes {:?} 10 s after the connection went",
            parts_being_written(attachments)
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// `GET /v1/attachments/{id}` as `user` (a fresh login over HTTP): the status.
fn http_fetch_status(base: &str, user: &str, id: &str) -> u16 {
    let token = common::login(base, user)["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    agent
        .get(&format!("{base}/v1/attachments/{id}"))
        .header("authorization", &format!("Bearer {token}"))
        .call()
        .unwrap()
        .status()
        .as_u16()
}

// ---- processes ----------------------------------------------------------------------------

/// A child process this test started, SIGKILLed (by its pid) and reaped when dropped.
struct Started(Child);

impl Drop for Started {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits up to `limit` for `child` to exit; whether it did.
fn exited_within(child: &mut Child, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if child.try_wait().unwrap().is_some() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Runs `fieldsync sync` in `home` and, as soon as the server starts writing a new part of an
/// upload (the bytes are on their way), waits `extra` and calls `interrupt` with the running
/// CLI. Returns whether the interruption came while the sync still ran (`false`: it finished
/// first). The CLI is gone when this returns.
fn sync_interrupted_mid_upload(
    home: &Home,
    attachments: &Path,
    extra: Duration,
    interrupt: impl FnOnce(&mut Child),
) -> bool {
    let before = parts_being_written(attachments);
    let mut cli = Started(
        home.command(&["sync"])
            .unwrap()
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if cli.0.try_wait().unwrap().is_some() {
            return false;
        }
        if parts_being_written(attachments)
            .difference(&before)
            .next()
            .is_some()
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no upload started within 60 s of `fieldsync sync`"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    std::thread::sleep(extra);
    let running = cli.0.try_wait().unwrap().is_none();
    interrupt(&mut cli.0);
    assert!(
        exited_within(&mut cli.0, Duration::from_secs(60)),
        "`fieldsync sync` still runs 60 s after its server went"
    );
    running
}

/// The server binary with its attachments in S3 (the `AWS_*` keys in its own environment, not
/// this process's), on a free port of 127.0.0.1; killed by its pid when dropped.
/// ([`fieldsync_tests::server::ServerProcess`] gives its child no environment of its own.)
struct S3Server {
    /// The process, killed when this is dropped.
    _process: Started,
    port: u16,
}

impl S3Server {
    fn start(data: &Path, moto: &Moto) -> S3Server {
        let port = free_port().unwrap();
        let mut child = Command::new(server_binary().unwrap())
            .arg("--data-dir")
            .arg(data)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args(["--attachments-s3-bucket", BUCKET])
            .args(["--attachments-s3-endpoint", &moto.endpoint()])
            .env("AWS_ACCESS_KEY_ID", Moto::ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", Moto::SECRET_KEY)
            .env("AWS_REGION", "us-east-1")
            .env_remove("AWS_SESSION_TOKEN")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let process = Started(child);
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.starts_with("listening on") {
                    let _ = tx.send(());
                }
            }
        });
        rx.recv_timeout(Duration::from_secs(30))
            .expect("the server on S3 did not start listening within 30 s");
        S3Server {
            _process: process,
            port,
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

// ---- devices through the library ----------------------------------------------------------

/// A device of `user` through client-core's facade, logged in to `url`, its store in `dir`.
fn device(dir: &Path, url: &str, user: &str) -> Client {
    let client = Client::open_in(dir, &format!("{user}-device")).unwrap();
    client.login(url, user, &pw(user)).unwrap();
    client
}

/// A customer of the logged-in rep and a visit there, recorded offline: the visit's id.
fn customer_and_visit(client: &Client, name: &str) -> String {
    let customer = client
        .create_customer(CustomerInput {
            name: name.into(),
            city: Some("苏州".into()),
            ..CustomerInput::default()
        })
        .unwrap();
    client
        .record_visit(VisitInput {
            customer,
            checkin_at: Some("2026-11-23T10:00:00+08:00".into()),
            summary: "店面陈列检查，拍照留档。".into(),
            ..VisitInput::default()
        })
        .unwrap()
}

// ---- 1. a rep's photos and receipt, through the command line -------------------------------

#[test]
fn a_reps_offline_photos_and_receipt_reach_the_manager_whole() {
    let org = common::org();
    let url = org.server.url();
    let files = tempfile::tempdir().unwrap();
    let rep = logged_in(&url, "li");

    // Offline: a customer, a visit, three photos (the shop front proves the check-in) and a
    // meal with its receipt.
    let customer = run(
        &rep,
        &[
            "customer",
            "add",
            "--name",
            "华东精密机械有限公司",
            "--city",
            "苏州",
        ],
    )
    .ok()
    .to_string();
    let visit = run(
        &rep,
        &[
            "visit",
            "add",
            "--customer",
            &customer,
            "--summary",
            "介绍新款轴承，拍了店面和货架。",
            "--at",
            "2026-11-23T10:00:00+08:00",
        ],
    )
    .ok()
    .to_string();
    let photos = [
        photo(files.path(), "shop-front.jpg", 1, 1_200_000),
        photo(files.path(), "shelf.jpg", 2, 2_600_000),
        photo(files.path(), "display.jpg", 3, 600_000),
    ];
    let mut photo_ids = Vec::new();
    for (i, p) in photos.iter().enumerate() {
        let path = p.to_str().unwrap();
        let mut args = vec!["visit", "attach", &visit, path];
        if i == 0 {
            args.push("--check-in");
        }
        let id = run(&rep, &args).ok().to_string();
        assert_eq!(id, sha256(p), "the id printed is the photo's SHA-256");
        photo_ids.push(id);
    }
    let claim = run(&rep, &["expense", "add", "--title", "11月苏州出差"])
        .ok()
        .to_string();
    let receipt = receipt_pdf(files.path(), "fapiao.pdf", 4, 150_000);
    let added = run(
        &rep,
        &[
            "expense",
            "item",
            &claim,
            "--date",
            "2026-11-23",
            "--category",
            "meals",
            "--amount",
            "128.50",
            "--receipt",
            receipt.to_str().unwrap(),
        ],
    )
    .ok()
    .to_string();
    let lines: Vec<&str> = added.lines().collect();
    assert_eq!(lines.len(), 2, "{added}");
    assert_eq!(lines[0], "item added");
    let receipt_id = lines[1].to_string();
    assert_eq!(receipt_id, sha256(&receipt));

    let mut all: Vec<(String, PathBuf)> = photo_ids
        .iter()
        .cloned()
        .zip(photos.iter().cloned())
        .collect();
    all.push((receipt_id.clone(), receipt.clone()));
    let total: u64 = all.iter().map(|(_, p)| size_of(p)).sum();

    let status = run(&rep, &["status"]).ok().to_string();
    let line = status
        .lines()
        .find(|l| l.contains("attachments to upload"))
        .unwrap_or_else(|| panic!("no attachments line in:\n{status}"));
    assert!(line.contains("4 ("), "{line}");
    let status = json(run(&rep, &["status", "--json"]));
    assert_eq!(status["attachments_pending"], 4);
    assert_eq!(status["attachment_bytes_pending"], total);
    let pending = json(run(&rep, &["attachment", "list", "--pending", "--json"]));
    let pending: BTreeSet<&str> = pending
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    let expected: BTreeSet<&str> = all.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(pending, expected);
    // Nothing has left the device.
    let attachments = server_attachments(org.data.path());
    assert!(check_server_blobs(&attachments, "before the sync").is_empty());

    // Back online.
    let report = json(run(&rep, &["sync", "--json"]));
    assert_eq!(report["attachments"]["uploaded"], 4, "{report}");
    assert_eq!(report["attachments"]["pending"], 0, "{report}");
    let status = run(&rep, &["status"]).ok().to_string();
    let line = status
        .lines()
        .find(|l| l.contains("attachments to upload"))
        .unwrap();
    assert!(line.contains("none"), "{line}");
    let on_server = check_server_blobs(&attachments, "after the rep's sync");
    assert_eq!(
        on_server,
        expected
            .iter()
            .map(|s| s.to_string())
            .collect::<BTreeSet<_>>()
    );

    // The manager sees the references as soon as the documents arrive, and fetches the bytes.
    let manager = logged_in(&url, "zhang");
    run(&manager, &["sync"]).ok();
    let shown = json(run(&manager, &["visit", "show", &visit, "--json"]));
    let shown_ids: Vec<&str> = shown["photos"]
        .as_array()
        .unwrap_or_else(|| panic!("no photos in {shown}"))
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        shown_ids.iter().copied().collect::<BTreeSet<_>>(),
        photo_ids
            .iter()
            .map(String::as_str)
            .collect::<BTreeSet<_>>()
    );
    assert_eq!(shown["checkin_photo"], Value::from(photo_ids[0].as_str()));
    let out = tempfile::tempdir().unwrap();
    for (i, (id, original)) in all.iter().enumerate() {
        let saved = out.path().join(format!("{i}-{}", name_of(original)));
        let said = run(
            &manager,
            &["attachment", "get", id, "--out", saved.to_str().unwrap()],
        )
        .ok()
        .to_string();
        assert!(said.starts_with("saved "), "{said}");
        assert_eq!(
            std::fs::read(&saved).unwrap(),
            std::fs::read(original).unwrap(),
            "{} came back other than it left",
            name_of(original)
        );
        assert_eq!(&sha256(&saved), id);
    }

    // A rep of another territory sees none of it, on the device or on the server.
    let other = logged_in(&url, "chen");
    run(&other, &["sync"]).ok();
    for (id, _) in &all {
        let saved = out.path().join("chen-got-it");
        user_error(
            run(
                &other,
                &["attachment", "get", id, "--out", saved.to_str().unwrap()],
            ),
            id,
        );
        assert!(!saved.exists());
        assert_eq!(http_fetch_status(&url, "chen", id), 404);
    }
}

// ---- 2. uploads through a proxy that cuts --------------------------------------------------

/// The cut plan's seed unless `FIELDSYNC_CUT_SEED` gives another. The device keeps its
/// connections alive, so only the first 1.5 MB of each can be cut and a sync opens a new one
/// only after a cut: this seed cuts two or three of them (many seeds cut none).
const CUT_SEED: u64 = 2;

#[test]
fn uploads_through_a_proxy_that_cuts_at_random_bytes_all_arrive_resumed_not_restarted() {
    const PHOTOS: u64 = 10;
    const MAX_SYNCS: usize = 40;
    let org = common::org();
    let seed = std::env::var("FIELDSYNC_CUT_SEED")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(CUT_SEED);
    println!("cut plan seed {seed} (FIELDSYNC_CUT_SEED={seed} replays it)");
    let proxy = CutProxy::in_front_of(
        &org.server.url(),
        CutPlan {
            seed,
            rate: 0.5,
            within: 1_500_000,
        },
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    // The login itself goes through uncut.
    proxy.set_cuts(false);
    let phone = device(dir.path(), &proxy.url(), "li");
    proxy.set_cuts(true);

    let visit = customer_and_visit(&phone, "苏州新区五金店");
    let mut expected = BTreeSet::new();
    let mut total = 0;
    for i in 0..PHOTOS {
        let p = photo(
            files.path(),
            &format!("shelf-{i}.jpg"),
            100 + i,
            900_000 + 20_000 * i as usize,
        );
        let attached = phone.attach_to_visit(&visit, &p, i == 0).unwrap();
        total += attached.size as u64;
        expected.insert(attached.id);
    }
    assert_eq!(phone.status().unwrap().attachments_pending, PHOTOS as usize);

    let wire_before = proxy.bytes_sent();
    let started = Instant::now();
    let mut syncs = 0;
    while phone.status().unwrap().attachments_pending > 0 {
        assert!(
            syncs < MAX_SYNCS && started.elapsed() < Duration::from_secs(60),
            "still {} to upload after {syncs} syncs ({:?}): {:?}",
            phone.status().unwrap().attachments_pending,
            started.elapsed(),
            phone.attachments(true).unwrap()
        );
        syncs += 1;
        // A cut during the documents' rounds fails the sync: the next one goes on.
        let _ = phone.sync(|_| {});
    }
    let wire = proxy.bytes_sent() - wire_before;
    println!(
        "{PHOTOS} photos, {total} bytes: {syncs} syncs, {} connections, {} cut, {wire} bytes sent through the proxy ({:.3} × the photos)",
        proxy.connections(),
        proxy.cuts(),
        wire as f64 / total as f64
    );
    assert!(
        proxy.cuts() > 0,
        "the proxy cut nothing: the test proves nothing"
    );

    let on_server = check_server_blobs(&server_attachments(org.data.path()), "after the syncs");
    assert_eq!(on_server, expected, "every photo is on the server, whole");
    // Each upload went on from where its cut left it: what crossed the wire is the photos
    // once, plus what the proxy read and dropped at each cut, request heads, and the
    // documents' push (a customer and a visit with ten references: a few KB); a photo sent
    // again from its start costs a whole photo.
    let documents_and_heads = 256 * 1024;
    assert!(
        wire <= total * 6 / 5 + documents_and_heads,
        "{wire} bytes went through the proxy for {total} bytes of photos: uploads restarted instead of resuming"
    );
}

// ---- 3. the device killed mid-upload -------------------------------------------------------

/// A rep's device with one large photo attached to a visit, not yet synced: the device and
/// the photo's id and size.
fn rep_with_a_large_photo(url: &str, files: &Path, len: usize) -> (Home, String, u64) {
    let rep = logged_in(url, "li");
    let customer = run(&rep, &["customer", "add", "--name", "昆山模具厂"])
        .ok()
        .to_string();
    let visit = run(
        &rep,
        &[
            "visit",
            "add",
            "--customer",
            &customer,
            "--summary",
            "全景照片：车间。",
        ],
    )
    .ok()
    .to_string();
    let p = photo(files, "workshop-panorama.jpg", 7, len);
    let id = run(&rep, &["visit", "attach", &visit, p.to_str().unwrap()])
        .ok()
        .to_string();
    assert_eq!(id, sha256(&p));
    (rep, id, size_of(&p))
}

/// Syncs `home` (at most 5 times) until nothing waits to upload: the attachment body bytes
/// those syncs sent, or, if something still waits, what the device says of it.
fn sync_until_uploaded(home: &Home) -> Result<u64, String> {
    let mut sent = 0;
    for _ in 0..5 {
        let report = json(run(home, &["sync", "--json"]));
        sent += report["attachments"]["bytes_sent"].as_u64().unwrap();
        if json(run(home, &["status", "--json"]))["attachments_pending"] == 0 {
            return Ok(sent);
        }
    }
    let pending = json(run(home, &["attachment", "list", "--pending", "--json"]));
    Err(format!(
        "still pending after 5 syncs: {}",
        serde_json::to_string_pretty(&pending).unwrap()
    ))
}

const LARGE: usize = 20_000_000;

#[test]
fn a_device_killed_during_upload_resumes_and_no_half_file_shows_under_a_hash() {
    // Killed again and again, a few milliseconds into each resumed upload, until the upload
    // is over: the last kill lands near its end.
    const MAX_KILLS: usize = 8;
    let org = common::org_with(&["--attachment-max-mb", "64"]);
    let url = org.server.url();
    let attachments = server_attachments(org.data.path());
    let files = tempfile::tempdir().unwrap();
    let (rep, id, size) = rep_with_a_large_photo(&url, files.path(), LARGE);
    let folder = blob_folder(&rep.path().join("device.db"));
    let mut rng = ChaCha8Rng::seed_from_u64(20_261_125);

    let mut killed = 0;
    let mut held = 0;
    for n in 0..MAX_KILLS {
        let extra = Duration::from_millis(rng.random_range(0..8));
        let mid_upload = sync_interrupted_mid_upload(&rep, &attachments, extra, |cli| {
            // SIGKILL, by the pid of the process this test started.
            let _ = cli.kill();
        });
        killed += usize::from(mid_upload);
        // The server settles what arrived before the connection went into a part.
        wait_parts_settled(&attachments);
        let when = format!("after kill {n}");
        // The parts are read before the blobs: an upload whose last bytes arrived before the
        // kill is still being put together (its parts read, checked, moved under its id,
        // then deleted), so parts gone must mean the blob is there by the time it is looked for.
        let now_held = held_in_parts(&attachments, &id);
        let on_server = check_server_blobs(&attachments, &when);
        let on_device = check_device_blobs(&folder, &when);
        assert!(on_device.contains(&id), "{when}: the device lost its photo");
        let complete = on_server.contains(&id);
        println!(
            "kill {n} (+{extra:?}): {}, the server holds {now_held} of {size} bytes in parts{}",
            if mid_upload {
                "mid-upload"
            } else {
                "no upload was running"
            },
            if complete {
                ", the photo is complete"
            } else {
                ""
            }
        );
        assert!(
            now_held >= held || complete,
            "{when}: the server held {held} bytes, now {now_held}"
        );
        held = now_held;
        if complete || !mid_upload {
            break;
        }
    }
    assert!(killed > 0, "no kill landed during an upload");

    let complete_already = check_server_blobs(&attachments, "before the last sync").contains(&id);
    let sent = sync_until_uploaded(&rep).unwrap_or_else(|e| {
        panic!(
            "the upload did not complete after the kills; the server holds {} of {size} bytes in parts, the photo {} under blobs/; {e}",
            held_in_parts(&attachments, &id),
            if check_server_blobs(&attachments, "at the end").contains(&id) {
                "is"
            } else {
                "is not"
            }
        )
    });
    println!("the last syncs sent {sent} bytes ({held} were on the server)");
    if !complete_already {
        assert!(
            held > 0,
            "no kill left bytes on the server: nothing shows a resume"
        );
        assert_eq!(
            sent,
            size - held,
            "the upload went on from the {held} bytes the server held"
        );
    }
    let on_server = check_server_blobs(&attachments, "at the end");
    assert!(on_server.contains(&id), "the photo is on the server");
    check_device_blobs(&folder, "at the end");
    assert!(
        files_under(&attachments.join("uploads")).is_empty(),
        "the parts of a finished upload are gone: {:?}",
        files_under(&attachments.join("uploads"))
    );
    assert_eq!(
        json(run(&rep, &["attachment", "list", "--json"]))[0]["state"],
        "uploaded"
    );
}

// ---- 4. the server killed mid-upload -------------------------------------------------------

#[test]
fn a_server_killed_during_upload_restarts_and_the_upload_completes() {
    const KILLS: usize = 2;
    let mut org = common::org_with(&["--attachment-max-mb", "64"]);
    let url = org.server.url();
    let attachments = server_attachments(org.data.path());
    let files = tempfile::tempdir().unwrap();
    let (rep, id, _) = rep_with_a_large_photo(&url, files.path(), LARGE);
    let folder = blob_folder(&rep.path().join("device.db"));
    let mut rng = ChaCha8Rng::seed_from_u64(20_261_126);

    let mut killed = 0;
    for n in 0..KILLS {
        let extra = Duration::from_millis(rng.random_range(0..8));
        let server = &mut org.server;
        let mid_upload = sync_interrupted_mid_upload(&rep, &attachments, extra, |_| {
            // SIGKILL of the server process this test started, by its pid.
            server.kill();
        });
        killed += usize::from(mid_upload);
        let when = format!("after server kill {n}");
        check_server_blobs(&attachments, &when);
        let on_device = check_device_blobs(&folder, &when);
        assert!(on_device.contains(&id), "{when}: the device lost its photo");
        println!(
            "server kill {n} (+{extra:?}): {}, {} bytes held in parts, {} part(s) cut off",
            if mid_upload {
                "mid-upload"
            } else {
                "the sync had finished"
            },
            held_in_parts(&attachments, &id),
            parts_being_written(&attachments).len()
        );
        org.server.restart().unwrap();
        assert_eq!(org.check_database(), "ok");
    }
    assert!(killed > 0, "no kill landed during an upload");

    sync_until_uploaded(&rep).unwrap();
    let on_server = check_server_blobs(&attachments, "at the end");
    assert!(on_server.contains(&id), "the photo is on the server");
    check_device_blobs(&folder, "at the end");
    assert_eq!(
        json(run(&rep, &["attachment", "list", "--json"]))[0]["state"],
        "uploaded"
    );
    // And it opens for the manager, whole.
    let manager = logged_in(&url, "zhang");
    run(&manager, &["sync"]).ok();
    let out = files.path().join("from-server.jpg");
    run(
        &manager,
        &["attachment", "get", &id, "--out", out.to_str().unwrap()],
    )
    .ok();
    assert_eq!(sha256(&out), id);
}

// ---- 5. the cache budget -------------------------------------------------------------------

#[test]
fn the_device_cache_stays_within_its_budget_and_never_evicts_pending_uploads() {
    const BUDGET: u64 = 1_800_000;
    let org = common::org();
    let url = org.server.url();
    let files = tempfile::tempdir().unwrap();

    // The rep's phone uploads six photos of 540 to 590 KB: any three fit the manager's
    // budget, no four do.
    let rep_dir = tempfile::tempdir().unwrap();
    let phone = device(rep_dir.path(), &url, "li");
    let visit = customer_and_visit(&phone, "常熟纺织品批发部");
    let mut photos = Vec::new();
    for i in 0..6u64 {
        let p = photo(
            files.path(),
            &format!("stock-{i}.jpg"),
            200 + i,
            540_000 + 10_000 * i as usize,
        );
        photos.push((phone.attach_to_visit(&visit, &p, false).unwrap().id, p));
    }
    let report = phone.sync(|_| {}).unwrap();
    assert_eq!(report.attachments.uploaded, 6);
    let ids: Vec<String> = photos.iter().map(|(id, _)| id.clone()).collect();

    // The manager's tablet, with room for three.
    let manager_dir = tempfile::tempdir().unwrap();
    let tablet = device(manager_dir.path(), &url, "zhang");
    tablet.set_attachment_cache_budget(BUDGET).unwrap();
    tablet.sync(|_| {}).unwrap();
    let folder = blob_folder(tablet.path());
    let none = BTreeSet::new();
    let open = |i: usize| {
        let path = tablet.attachment_path(&ids[i]).unwrap();
        assert_eq!(
            std::fs::read(&path).unwrap(),
            std::fs::read(&photos[i].1).unwrap()
        );
    };
    let expect_held = |step: &str, held: &[usize]| {
        let on_disk = check_device_blobs(&folder, step);
        let expected: BTreeSet<String> = held.iter().map(|&i| ids[i].clone()).collect();
        assert_eq!(on_disk, expected, "{step}: held photos {held:?}");
        let bytes = cached_bytes(&folder, &none);
        assert!(
            bytes <= BUDGET,
            "{step}: {bytes} bytes on the device, over the budget of {BUDGET}"
        );
    };
    expect_held("after the sync", &[]);
    open(0);
    open(1);
    open(2);
    expect_held("three fetched", &[0, 1, 2]);
    // Photo 0 is looked at again: photo 1 is now the least recently used.
    open(0);
    open(3);
    expect_held("a fourth fetched", &[0, 2, 3]);
    open(4);
    expect_held("a fifth fetched", &[0, 3, 4]);
    // Photo 1 was evicted: it is fetched again, whole, and photo 0 goes.
    open(1);
    expect_held("photo 1 fetched again", &[1, 3, 4]);

    // The rep's phone with a tiny budget: what it uploaded goes at once...
    let tiny = 100_000;
    let rep_folder = blob_folder(phone.path());
    phone.set_attachment_cache_budget(tiny).unwrap();
    assert!(check_device_blobs(&rep_folder, "tiny budget").is_empty());
    // ...and, offline, two new photos larger than the budget wait for the next sync.
    let second = customer_and_visit(&phone, "太仓五金商行");
    let mut pending = BTreeSet::new();
    for i in 0..2u64 {
        let p = photo(files.path(), &format!("new-{i}.jpg"), 300 + i, 800_000);
        pending.insert(phone.attach_to_visit(&second, &p, i == 0).unwrap().id);
    }
    let check_pending_kept = |step: &str| {
        let held = check_device_blobs(&rep_folder, step);
        assert!(
            pending.is_subset(&held),
            "{step}: a photo not yet uploaded was evicted"
        );
        let listed: BTreeSet<String> = phone
            .attachments(true)
            .unwrap()
            .into_iter()
            .map(|a| a.id)
            .collect();
        assert_eq!(listed, pending, "{step}");
        held
    };
    check_pending_kept("attached");
    // Fetches and evictions around them.
    for (step, i) in [("fetched photo 0", 0), ("fetched photo 5", 5)] {
        let path = phone.attachment_path(&ids[i]).unwrap();
        assert_eq!(sha256(&path), ids[i]);
        let held = check_pending_kept(step);
        let others: BTreeSet<String> = held.difference(&pending).cloned().collect();
        assert_eq!(
            others,
            BTreeSet::from([ids[i].clone()]),
            "{step}: only the photo just fetched is kept beside the pending ones"
        );
    }
    phone.set_attachment_cache_budget(tiny).unwrap();
    let held = check_pending_kept("budget enforced again");
    assert_eq!(held, pending);
    assert_eq!(cached_bytes(&rep_folder, &pending), 0);
    assert_eq!(phone.status().unwrap().attachments_pending, 2);

    // Online again: they upload.
    let report = phone.sync(|_| {}).unwrap();
    assert_eq!(report.attachments.uploaded, 2, "{report:?}");
    assert_eq!(phone.status().unwrap().attachments_pending, 0);
    let on_server = check_server_blobs(&server_attachments(org.data.path()), "at the end");
    assert!(pending.is_subset(&on_server));
}

// ---- 6. the same on S3 ---------------------------------------------------------------------

#[test]
fn the_same_flow_works_with_attachments_in_s3() {
    let Some(moto) = Moto::start("the_same_flow_works_with_attachments_in_s3") else {
        return;
    };
    let data = tempfile::tempdir().unwrap();
    common::add_org_users(data.path());
    let server = S3Server::start(data.path(), &moto);
    let url = server.url();
    let files = tempfile::tempdir().unwrap();

    // The rep, offline: three photos and a receipt.
    let rep_dir = tempfile::tempdir().unwrap();
    let phone = device(rep_dir.path(), &url, "li");
    let visit = customer_and_visit(&phone, "无锡机电设备公司");
    let mut originals: BTreeMap<String, PathBuf> = BTreeMap::new();
    let mut photo_ids = BTreeSet::new();
    for (i, len) in [700_000usize, 1_300_000, 2_100_000].into_iter().enumerate() {
        let p = photo(files.path(), &format!("s3-{i}.jpg"), 400 + i as u64, len);
        let id = phone.attach_to_visit(&visit, &p, i == 0).unwrap().id;
        photo_ids.insert(id.clone());
        originals.insert(id, p);
    }
    let claim = phone
        .create_expense_claim(ExpenseClaimInput {
            title: "无锡出差".into(),
            ..ExpenseClaimInput::default()
        })
        .unwrap();
    let receipt = receipt_pdf(files.path(), "taxi.pdf", 404, 90_000);
    let added = phone
        .add_expense_item(
            &claim,
            ExpenseItemInput {
                date: "2026-11-24".into(),
                category: "transport".into(),
                amount: 4_600,
                receipt: Some(receipt.clone()),
                ..ExpenseItemInput::default()
            },
        )
        .unwrap();
    let receipt_id = added.items[0].receipt.as_ref().unwrap().id.clone();
    originals.insert(receipt_id.clone(), receipt);
    assert_eq!(phone.status().unwrap().attachments_pending, 4);
    assert!(moto.keys("").is_empty());

    let report = phone.sync(|_| {}).unwrap();
    assert_eq!(report.attachments.uploaded, 4, "{report:?}");
    assert_eq!(phone.status().unwrap().attachments_pending, 0);
    let expected_keys: Vec<String> = originals.keys().map(|id| format!("blobs/{id}")).collect();
    assert_eq!(moto.keys("blobs/"), expected_keys);
    assert!(
        moto.keys("uploads/").is_empty(),
        "the parts of finished uploads are gone"
    );
    assert!(
        files_under(&server_attachments(data.path())).is_empty(),
        "nothing went to the data directory"
    );

    // The manager sees the references at once and fetches the bytes back from S3.
    let manager_dir = tempfile::tempdir().unwrap();
    let tablet = device(manager_dir.path(), &url, "zhang");
    tablet.sync(|_| {}).unwrap();
    let seen: BTreeSet<String> = tablet
        .visit(&visit)
        .unwrap()
        .photos
        .into_iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(seen, photo_ids);
    let seen_receipt = tablet.expense_claim(&claim).unwrap().items[0]
        .receipt
        .clone()
        .unwrap()
        .id;
    assert_eq!(seen_receipt, receipt_id);
    let out = tempfile::tempdir().unwrap();
    for (i, (id, original)) in originals.iter().enumerate() {
        let saved = tablet
            .save_attachment(id, out.path().join(format!("{i}.bin")))
            .unwrap();
        assert_eq!(
            std::fs::read(&saved).unwrap(),
            std::fs::read(original).unwrap()
        );
        assert_eq!(&sha256(&saved), id);
    }

    // The rep of another territory gets nothing.
    for id in originals.keys() {
        assert_eq!(http_fetch_status(&url, "chen", id), 404);
    }
    drop(server);
}
