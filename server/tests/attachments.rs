//! The attachment endpoints in-process (docs/PROTOCOL.md, "Attachments"): the real router
//! driven with `tower::ServiceExt::oneshot`, documents made and pushed by real client stores,
//! and every test run against both blob stores: files in a temporary folder, and S3 on a
//! private `moto` endpoint (tests/support/s3.rs).
//!
//! What a store holds is read beside the server, not through it: the folder's files, or the
//! bucket as moto lists it.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::PathBuf;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::header::{
    ACCEPT_RANGES, AUTHORIZATION, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, ETAG, RANGE,
};
use axum::http::{HeaderMap, Method, Request, StatusCode};
use fieldsync_core::Store;
use fieldsync_core::model::attachment::AttachmentRef;
use fieldsync_core::model::customer::{CustomerEdit, NewCustomer};
use fieldsync_core::model::expense_claim::{ExpenseCategory, ExpenseClaimEdit, NewExpenseClaim};
use fieldsync_core::model::fields::Money;
use fieldsync_core::model::visit::{NewVisit, VisitEdit};
use fieldsync_core::protocol::{
    CBOR_CONTENT_TYPE, PushDocument, SyncRequest, SyncResponse, decode, encode,
};
use fieldsync_server::attachments::{AttachmentConfig, BlobLocation, Blobs, S3Keys};
use fieldsync_server::config::{Config, build_state};
use fieldsync_server::storage::Thumbnail;
use fieldsync_server::{AppState, router};
use http_body_util::BodyExt;
use serde_bytes::ByteBuf;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use support::password;
use support::s3::{BUCKET, Moto};
use tower::ServiceExt;

// ---- the two blob stores ---------------------------------------------------------------------

/// Which blob store a test runs on.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Files,
    S3,
}

/// One run of a test: its store, and its name (for a skip message).
#[derive(Debug, Clone, Copy)]
struct Run {
    kind: Kind,
    test: &'static str,
}

/// Where the blobs of a world are, to look at them beside the server.
enum Place {
    Files(PathBuf),
    S3(Moto),
}

/// A server over a fresh data directory and blob store, and a place for device stores.
struct World {
    app: Router,
    state: AppState,
    place: Place,
    dir: tempfile::TempDir,
}

/// admin; manager zhang (east, east2) with reps li and wang; manager zhao (north) with rep
/// chen; blobs on the run's store, with the default limits changed by `configure`. `None`:
/// the store cannot be had here (the test skips; it said why).
fn world(run: Run, configure: impl FnOnce(&mut AttachmentConfig)) -> Option<World> {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let mut config = Config::new(&data_dir);
    let place = match run.kind {
        Kind::Files => {
            let blobs = dir.path().join("blobs");
            config.attachments.location = BlobLocation::Files(blobs.clone());
            Place::Files(blobs)
        }
        Kind::S3 => {
            let moto = Moto::start(run.test)?;
            config.attachments.location = BlobLocation::S3 {
                bucket: BUCKET.into(),
                endpoint: Some(moto.endpoint()),
                region: Some("us-east-1".into()),
                keys: Some(S3Keys {
                    access_key_id: Moto::ACCESS_KEY.into(),
                    secret_access_key: Moto::SECRET_KEY.into(),
                }),
            };
            Place::S3(moto)
        }
    };
    configure(&mut config.attachments);
    let state = build_state(&config).unwrap();
    support::add_team(&*state.core.storage);
    Some(World {
        app: router(state.clone()),
        state,
        place,
        dir,
    })
}

/// Every file under `dir`, as a name relative to `root` with `/` between folders.
fn files_under(root: &std::path::Path, dir: &std::path::Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files_under(root, &path, out);
        } else {
            let name = path.strip_prefix(root).unwrap();
            let parts: Vec<String> = name
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            out.push(parts.join("/"));
        }
    }
}

// ---- requests ---------------------------------------------------------------------------------

/// An answer, read whole.
struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Reply {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    #[track_caller]
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("the body is not JSON ({e}): {:?}", self.text()))
    }

    fn header(&self, name: impl axum::http::header::AsHeaderName) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// Asserts a success of `status` and returns the body.
    #[track_caller]
    fn ok(&self, status: StatusCode) -> &Bytes {
        assert_eq!(self.status, status, "body: {}", self.text());
        &self.body
    }

    /// Asserts an error answer: its status and its code; returns the body.
    #[track_caller]
    fn error(&self, status: StatusCode, code: &str) -> Value {
        assert_eq!(self.status, status, "body: {}", self.text());
        assert!(
            self.header(CONTENT_TYPE).starts_with("application/json"),
            "content type {:?}, body {:?}",
            self.header(CONTENT_TYPE),
            self.text()
        );
        let body = self.json();
        assert_eq!(body["error"], code, "{body}");
        assert!(
            !body["message"].as_str().unwrap_or_default().is_empty(),
            "{body}"
        );
        body
    }

    #[track_caller]
    fn not_found(&self) {
        self.error(StatusCode::NOT_FOUND, "not_found");
    }

    #[track_caller]
    fn not_uploaded(&self) {
        self.error(StatusCode::NOT_FOUND, "not_uploaded");
    }
}

/// A PUT of bytes `start..=end` of an attachment of `total` bytes.
struct Piece<'a> {
    media_type: &'a str,
    start: u64,
    total: u64,
    body: Body,
    len: u64,
}

impl World {
    async fn send(&self, req: Request<Body>) -> Reply {
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let (parts, body) = resp.into_parts();
        Reply {
            status: parts.status,
            headers: parts.headers,
            body: body.collect().await.unwrap().to_bytes(),
        }
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        headers: &[(axum::http::HeaderName, String)],
        body: Body,
    ) -> Reply {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            req = req.header(AUTHORIZATION, format!("Bearer {t}"));
        }
        for (name, value) in headers {
            req = req.header(name, value);
        }
        self.send(req.body(body).unwrap()).await
    }

    async fn login(&self, name: &str) -> String {
        let body = json!({"username": name, "password": password(name), "device_name": "手机"});
        let r = self
            .call(
                Method::POST,
                "/v1/auth/login",
                None,
                &[(CONTENT_TYPE, "application/json".into())],
                Body::from(body.to_string()),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        r.json()["access_token"].as_str().unwrap().to_string()
    }

    async fn sync(&self, token: &str, req: &SyncRequest) -> SyncResponse {
        let r = self
            .call(
                Method::POST,
                "/v1/sync",
                Some(token),
                &[(CONTENT_TYPE, CBOR_CONTENT_TYPE.into())],
                Body::from(encode(req)),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        decode(&r.body).unwrap()
    }

    /// Pushes documents `ids` of `store`, and checks every one was accepted.
    async fn push(&self, token: &str, store: &Store, ids: &[&str]) {
        let push = ids
            .iter()
            .map(|id| PushDocument {
                id: id.to_string(),
                changes: store
                    .changes_since(id, &[])
                    .unwrap()
                    .into_iter()
                    .map(ByteBuf::from)
                    .collect(),
            })
            .collect();
        let r = self.sync(token, &request(0, push)).await;
        assert!(r.rejected.is_empty(), "rejected: {:?}", r.rejected);
        assert_eq!(r.accepted.len(), ids.len());
    }

    /// Merges everything the user sees into `store` (a first sync).
    async fn pull(&self, token: &str, store: &Store) {
        let r = self.sync(token, &request(0, vec![])).await;
        assert!(!r.more);
        for d in &r.documents {
            store.merge_from(&d.data).unwrap();
        }
    }

    /// A device store.
    fn device(&self, name: &str) -> Store {
        Store::open(self.dir.path().join(format!("{name}.db"))).unwrap()
    }

    async fn get(&self, token: Option<&str>, path: &str) -> Reply {
        self.call(Method::GET, path, token, &[], Body::empty())
            .await
    }

    async fn put(&self, token: Option<&str>, id: &str, piece: Piece<'_>) -> Reply {
        let end = piece.start + piece.len - 1;
        let headers = [
            (CONTENT_TYPE, piece.media_type.to_string()),
            (
                CONTENT_RANGE,
                format!("bytes {}-{end}/{}", piece.start, piece.total),
            ),
        ];
        let path = format!("/v1/attachments/{id}");
        self.call(Method::PUT, &path, token, &headers, piece.body)
            .await
    }

    /// PUTs bytes `from..to` of `bytes` (of `media_type`) as the piece of attachment `id`.
    async fn put_range(
        &self,
        token: &str,
        id: &str,
        media_type: &str,
        bytes: &[u8],
        from: usize,
        to: usize,
    ) -> Reply {
        let piece = Piece {
            media_type,
            start: from as u64,
            total: bytes.len() as u64,
            body: Body::from(bytes[from..to].to_vec()),
            len: (to - from) as u64,
        };
        self.put(Some(token), id, piece).await
    }

    /// Uploads the whole of `a`'s bytes in one request.
    async fn upload(&self, token: &str, a: &AttachmentRef, bytes: &[u8]) -> Reply {
        self.put_range(token, &a.id, &a.media_type, bytes, 0, bytes.len())
            .await
    }

    /// Uploads and checks it completed.
    async fn uploaded(&self, token: &str, a: &AttachmentRef, bytes: &[u8]) {
        let r = self.upload(token, a, bytes).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        assert_eq!(
            r.json(),
            json!({"id": a.id, "received": bytes.len(), "complete": true})
        );
    }

    async fn attachment(&self, token: Option<&str>, id: &str) -> Reply {
        self.get(token, &format!("/v1/attachments/{id}")).await
    }

    async fn thumbnail(&self, token: Option<&str>, id: &str) -> Reply {
        self.get(token, &format!("/v1/attachments/{id}/thumbnail"))
            .await
    }

    async fn upload_state(&self, token: Option<&str>, id: &str) -> Reply {
        self.get(token, &format!("/v1/attachments/{id}/upload"))
            .await
    }

    /// Asserts the user fetches exactly `bytes` as attachment `a`.
    async fn fetches(&self, token: &str, a: &AttachmentRef, bytes: &[u8]) {
        let r = self.attachment(Some(token), &a.id).await;
        let got = r.ok(StatusCode::OK);
        assert_eq!(got.len(), bytes.len());
        assert!(
            &got[..] == bytes,
            "the bytes fetched are the bytes uploaded"
        );
        assert_eq!(sha256(got), a.id, "the bytes hash to their id");
        assert_eq!(r.header(CONTENT_TYPE), a.media_type);
    }

    /// Every object of the blob store under folder `prefix` (`blobs`, `uploads`, ...).
    fn objects(&self, prefix: &str) -> Vec<String> {
        let mut names = match &self.place {
            Place::Files(dir) => {
                let mut out = Vec::new();
                files_under(dir, &dir.join(prefix), &mut out);
                out
            }
            Place::S3(moto) => moto.keys(&format!("{prefix}/")),
        };
        names.sort();
        names
    }

    /// Asserts nothing of attachment `id` is stored: no blob, no part, no staging copy.
    #[track_caller]
    fn holds_nothing_of(&self, id: &str) {
        assert!(
            !self.objects("blobs").contains(&format!("blobs/{id}")),
            "no blob under the id"
        );
        let parts = self.objects(&format!("uploads/{id}"));
        assert!(parts.is_empty(), "no upload parts: {parts:?}");
        let staged: Vec<String> = self
            .objects("staging")
            .into_iter()
            .filter(|s| s.contains(id))
            .collect();
        assert!(staged.is_empty(), "no staging copies: {staged:?}");
    }

    /// Waits until the thumbnail of `id` is in the state `want` (the server makes it in the
    /// background).
    async fn thumbnail_becomes(&self, id: &str, want: Thumbnail) {
        for _ in 0..500 {
            let stored = self.state.core.storage.stored_attachment(id).unwrap();
            if stored.is_some_and(|s| s.thumbnail == want) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the thumbnail of {id} did not become {want:?} in 10 s");
    }
}

fn request(cursor: u64, push: Vec<PushDocument>) -> SyncRequest {
    SyncRequest {
        protocol: 1,
        cursor,
        push,
    }
}

// ---- files and documents ----------------------------------------------------------------------

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// `len` bytes that read as a JPEG (its header, then noise from `seed`): not an image anyone
/// can decode.
fn jpeg(seed: u32, len: usize) -> Vec<u8> {
    let mut bytes = b"\xFF\xD8\xFF\xE0\0\x10JFIF\0\x01\x01".to_vec();
    noise(&mut bytes, seed, len);
    bytes
}

/// `len` bytes that read as a PDF.
fn pdf(seed: u32, len: usize) -> Vec<u8> {
    let mut bytes = b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n".to_vec();
    noise(&mut bytes, seed, len);
    bytes
}

fn noise(bytes: &mut Vec<u8>, seed: u32, len: usize) {
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    while bytes.len() < len {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        bytes.push((x >> 16) as u8);
    }
}

/// A real photo of `w` x `h` pixels in `format`.
fn photo(w: u32, h: u32, format: image::ImageFormat) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([(x % 251) as u8, (y % 241) as u8, ((x + y) % 199) as u8])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, format).unwrap();
    out.into_inner()
}

/// A reference to `bytes` of `media_type`, signed by `by`.
fn reference(bytes: &[u8], media_type: &str, name: &str, by: &str) -> AttachmentRef {
    AttachmentRef {
        id: sha256(bytes),
        media_type: media_type.into(),
        size: bytes.len() as i64,
        name: name.into(),
        taken_at: "2026-11-20T02:30:00Z".into(),
        added_by: by.into(),
    }
}

fn customer(name: &str, owner: &str) -> NewCustomer {
    NewCustomer {
        name: name.into(),
        territory: "east".into(),
        owner: owner.into(),
        created_by: owner.into(),
        ..Default::default()
    }
}

/// A new customer of `owner`'s (east), in `store`.
fn new_customer(store: &Store, name: &str, owner: &str) -> String {
    store.create_customer(customer(name, owner)).unwrap()
}

/// A visit of `author`'s to `customer` with `photos` (the first the check-in photo).
fn visit_with(store: &Store, customer: &str, author: &str, photos: &[&AttachmentRef]) -> String {
    let visit = store
        .create_visit(NewVisit {
            customer: customer.into(),
            author: author.into(),
            checkin_at: "2026-11-20T02:30:00Z".into(),
            utc_offset_minutes: 480,
            summary: "拜访".into(),
            ..Default::default()
        })
        .unwrap();
    let edits: Vec<VisitEdit> = photos
        .iter()
        .enumerate()
        .map(|(i, p)| VisitEdit::AddPhoto {
            photo: (*p).clone(),
            check_in: i == 0,
        })
        .collect();
    store.update_visit(&visit, &edits).unwrap();
    visit
}

/// An attachment id nobody references.
fn unreferenced() -> String {
    sha256(b"nobody attached this")
}

// ---- the tests ------------------------------------------------------------------------------

/// li attaches two photos to a visit and a receipt to an expense item, pushes and uploads;
/// zhang fetches them whole and in ranges, and gets a small JPEG of the photo.
async fn a_reps_photos_and_receipt_reach_the_manager_whole_in_ranges_and_as_thumbnails(run: Run) {
    let Some(w) = world(run, |_| {}) else { return };
    let (li, zhang) = (w.login("li").await, w.login("zhang").await);
    let store = w.device("li");
    let shop_bytes = photo(1200, 900, image::ImageFormat::Jpeg);
    let shop = reference(&shop_bytes, "image/jpeg", "门头.jpg", "li");
    let shelf_bytes = photo(640, 960, image::ImageFormat::Jpeg);
    let shelf = reference(&shelf_bytes, "image/jpeg", "货架.jpg", "li");
    let receipt_bytes = pdf(3, 70_001);
    let receipt = reference(&receipt_bytes, "application/pdf", "发票.pdf", "li");

    let c = new_customer(&store, "宁波五金", "li");
    let v = visit_with(&store, &c, "li", &[&shop, &shelf]);
    let claim = store
        .create_expense_claim(NewExpenseClaim {
            owner: "li".into(),
            approver: "zhang".into(),
            title: "宁波差旅".into(),
            ..Default::default()
        })
        .unwrap();
    let add_item = ExpenseClaimEdit::AddItem {
        date: "2026-11-20".into(),
        category: ExpenseCategory::Transport,
        amount: Money::cny(3000),
        description: Some("出租车".into()),
        invoice_photo: None,
        receipt: None,
    };
    let item = store
        .update_expense_claim(&claim, &[add_item])
        .unwrap()
        .items[0]
        .id
        .clone();
    let with_receipt = ExpenseClaimEdit::ItemReceipt {
        id: item,
        receipt: Some(receipt.clone()),
    };
    store.update_expense_claim(&claim, &[with_receipt]).unwrap();
    w.push(&li, &store, &[&c, &v, &claim]).await;

    // Nothing is uploaded yet: the state says so.
    for a in [&shop, &shelf, &receipt] {
        let r = w.upload_state(Some(&li), &a.id).await;
        r.ok(StatusCode::OK);
        assert_eq!(
            r.json(),
            json!({"id": a.id, "size": a.size, "received": 0, "complete": false})
        );
    }
    w.uploaded(&li, &shop, &shop_bytes).await;
    w.uploaded(&li, &shelf, &shelf_bytes).await;
    w.uploaded(&li, &receipt, &receipt_bytes).await;
    let r = w.upload_state(Some(&li), &shop.id).await;
    assert_eq!(
        r.json(),
        json!({"id": shop.id, "size": shop.size, "received": shop.size, "complete": true})
    );

    // zhang fetches each whole, of its type, with its headers.
    for (a, bytes) in [
        (&shop, &shop_bytes),
        (&shelf, &shelf_bytes),
        (&receipt, &receipt_bytes),
    ] {
        w.fetches(&zhang, a, bytes).await;
        let r = w.attachment(Some(&zhang), &a.id).await;
        assert_eq!(r.header(CONTENT_LENGTH), bytes.len().to_string());
        assert_eq!(r.header(ETAG), format!("\"{}\"", a.id));
        assert_eq!(r.header(ACCEPT_RANGES), "bytes");
    }

    // A cut download resumes with a range: the rest, or a slice.
    let len = receipt_bytes.len();
    let from = 12_345;
    let r = w
        .call(
            Method::GET,
            &format!("/v1/attachments/{}", receipt.id),
            Some(&zhang),
            &[(RANGE, format!("bytes={from}-"))],
            Body::empty(),
        )
        .await;
    let rest = r.ok(StatusCode::PARTIAL_CONTENT);
    assert!(rest[..] == receipt_bytes[from..], "the rest of the file");
    assert_eq!(
        r.header(CONTENT_RANGE),
        format!("bytes {from}-{}/{len}", len - 1)
    );
    assert_eq!(r.header(CONTENT_LENGTH), (len - from).to_string());
    assert_eq!(r.header(CONTENT_TYPE), "application/pdf");
    let r = w
        .call(
            Method::GET,
            &format!("/v1/attachments/{}", receipt.id),
            Some(&zhang),
            &[(RANGE, "bytes=100-199".into())],
            Body::empty(),
        )
        .await;
    assert!(r.ok(StatusCode::PARTIAL_CONTENT)[..] == receipt_bytes[100..200]);
    assert_eq!(r.header(CONTENT_RANGE), format!("bytes 100-199/{len}"));
    let r = w
        .call(
            Method::GET,
            &format!("/v1/attachments/{}", receipt.id),
            Some(&zhang),
            &[(RANGE, format!("bytes={len}-"))],
            Body::empty(),
        )
        .await;
    r.error(StatusCode::RANGE_NOT_SATISFIABLE, "range_not_satisfiable");
    assert_eq!(r.header(CONTENT_RANGE), format!("bytes */{len}"));

    // The server made the photo's thumbnail in the background: a small JPEG.
    w.thumbnail_becomes(&shop.id, Thumbnail::Made).await;
    assert!(
        w.objects("thumbs")
            .contains(&format!("thumbs/{}.jpg", shop.id)),
        "{:?}",
        w.objects("thumbs")
    );
    let r = w.thumbnail(Some(&zhang), &shop.id).await;
    let thumb = r.ok(StatusCode::OK);
    assert_eq!(r.header(CONTENT_TYPE), "image/jpeg");
    assert!(thumb.len() < shop_bytes.len() / 4, "{} bytes", thumb.len());
    let small = image::load_from_memory_with_format(thumb, image::ImageFormat::Jpeg).unwrap();
    assert_eq!((small.width(), small.height()), (320, 240));

    // A thumbnail not made yet (a server stopped before its background work ran) is made when
    // asked for.
    w.thumbnail_becomes(&shelf.id, Thumbnail::Made).await;
    let blobs = &w.state.attachments.blobs;
    blobs.delete(&Blobs::thumbnail(&shelf.id)).await.unwrap();
    w.state
        .core
        .storage
        .set_thumbnail(&shelf.id, Thumbnail::Pending)
        .unwrap();
    assert!(!w.objects("thumbs").iter().any(|t| t.contains(&shelf.id)));
    let r = w.thumbnail(Some(&zhang), &shelf.id).await;
    let thumb = r.ok(StatusCode::OK);
    let small = image::load_from_memory_with_format(thumb, image::ImageFormat::Jpeg).unwrap();
    assert_eq!((small.width(), small.height()), (213, 320));
    w.thumbnail_becomes(&shelf.id, Thumbnail::Made).await;
    assert!(w.objects("thumbs").iter().any(|t| t.contains(&shelf.id)));

    // A PDF has none.
    w.thumbnail(Some(&zhang), &receipt.id)
        .await
        .error(StatusCode::NOT_FOUND, "no_thumbnail");

    // Each attachment is stored once, under its id; no upload is left in parts.
    let mut ids = vec![
        format!("blobs/{}", shop.id),
        format!("blobs/{}", shelf.id),
        format!("blobs/{}", receipt.id),
    ];
    ids.sort();
    assert_eq!(w.objects("blobs"), ids);
    assert_eq!(w.objects("uploads"), Vec::<String>::new());
    assert_eq!(w.objects("staging"), Vec::<String>::new());
}

/// An upload sent in pieces that end at odd bytes (and one cut mid-body) resumes where the
/// server's bytes end, is told where that is when it starts elsewhere, and completes checked.
async fn an_upload_cut_into_pieces_at_odd_offsets_resumes_and_completes(run: Run) {
    let Some(w) = world(run, |_| {}) else { return };
    let (li, zhang) = (w.login("li").await, w.login("zhang").await);
    let store = w.device("li");
    let bytes = jpeg(1, 300_001);
    let a = reference(&bytes, "image/jpeg", "门头.jpg", "li");
    let c = new_customer(&store, "宁波五金", "li");
    let v = visit_with(&store, &c, "li", &[&a]);
    w.push(&li, &store, &[&c, &v]).await;
    let state = |received: usize, complete: bool| json!({"id": a.id, "size": bytes.len(), "received": received, "complete": complete});

    // One byte.
    let r = w.put_range(&li, &a.id, "image/jpeg", &bytes, 0, 1).await;
    r.ok(StatusCode::OK);
    assert_eq!(r.json(), json!({"received": 1, "complete": false}));
    assert_eq!(
        w.upload_state(Some(&li), &a.id).await.json(),
        state(1, false)
    );

    // Starting anywhere but byte 1 is refused with where to start.
    for (from, to) in [(0, 1000), (5, 1000), (2, 3)] {
        let r = w
            .put_range(&li, &a.id, "image/jpeg", &bytes, from, to)
            .await;
        let body = r.error(StatusCode::CONFLICT, "upload_offset");
        assert_eq!(body["received"], 1, "{body}");
    }

    // Pieces ending at odd bytes.
    for (from, to) in [(1, 70), (70, 65_537), (65_537, 200_001)] {
        let r = w
            .put_range(&li, &a.id, "image/jpeg", &bytes, from, to)
            .await;
        r.ok(StatusCode::OK);
        assert_eq!(r.json(), json!({"received": to, "complete": false}));
        assert_eq!(
            w.upload_state(Some(&li), &a.id).await.json(),
            state(to, false)
        );
        assert!(
            !w.objects("blobs").contains(&format!("blobs/{}", a.id)),
            "nothing under the id before the whole is checked"
        );
    }

    // A connection cut mid-body keeps what arrived.
    let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
        Ok(Bytes::copy_from_slice(&bytes[200_001..230_000])),
        Ok(Bytes::copy_from_slice(&bytes[230_000..250_003])),
        Err(std::io::Error::other("connection reset")),
    ];
    let cut = Piece {
        media_type: "image/jpeg",
        start: 200_001,
        total: bytes.len() as u64,
        body: Body::from_stream(futures_util::stream::iter(chunks)),
        len: (bytes.len() - 200_001) as u64,
    };
    let r = w.put(Some(&li), &a.id, cut).await;
    r.ok(StatusCode::OK);
    assert_eq!(r.json(), json!({"received": 250_003, "complete": false}));
    assert_eq!(
        w.upload_state(Some(&li), &a.id).await.json(),
        state(250_003, false)
    );
    zhang_waits(&w, &zhang, &a.id).await;

    // The rest completes it.
    let r = w
        .put_range(&li, &a.id, "image/jpeg", &bytes, 250_003, bytes.len())
        .await;
    r.ok(StatusCode::CREATED);
    assert_eq!(
        r.json(),
        json!({"id": a.id, "received": bytes.len(), "complete": true})
    );
    assert_eq!(
        w.upload_state(Some(&li), &a.id).await.json(),
        state(bytes.len(), true)
    );
    w.fetches(&zhang, &a, &bytes).await;
    assert_eq!(w.objects("blobs"), vec![format!("blobs/{}", a.id)]);
    assert_eq!(w.objects("uploads"), Vec::<String>::new(), "the parts went");
    assert_eq!(w.objects("staging"), Vec::<String>::new());

    // Sending it again (a device that did not hear the answer) stores nothing more.
    w.uploaded(&li, &a, &bytes).await;
    assert_eq!(w.objects("blobs"), vec![format!("blobs/{}", a.id)]);
    assert_eq!(w.objects("uploads"), Vec::<String>::new());
}

/// A photo larger than the store's write pieces (S3 takes a multipart upload's parts at
/// 5 MiB at least, but for the last) goes up in two requests and comes back whole.
async fn a_large_upload_in_two_requests_comes_back_whole(run: Run) {
    let Some(w) = world(run, |_| {}) else { return };
    let (li, zhang) = (w.login("li").await, w.login("zhang").await);
    let store = w.device("li");
    let bytes = jpeg(40, 12_000_017);
    let a = reference(&bytes, "image/jpeg", "全景.jpg", "li");
    let c = new_customer(&store, "宁波五金", "li");
    let v = visit_with(&store, &c, "li", &[&a]);
    w.push(&li, &store, &[&c, &v]).await;
    let r = w
        .put_range(&li, &a.id, "image/jpeg", &bytes, 0, 6_000_001)
        .await;
    assert_eq!(r.json(), json!({"received": 6_000_001, "complete": false}));
    let r = w
        .put_range(&li, &a.id, "image/jpeg", &bytes, 6_000_001, bytes.len())
        .await;
    r.ok(StatusCode::CREATED);
    w.fetches(&zhang, &a, &bytes).await;
    let r = w
        .call(
            Method::GET,
            &format!("/v1/attachments/{}", a.id),
            Some(&zhang),
            &[(RANGE, "bytes=11000000-".into())],
            Body::empty(),
        )
        .await;
    assert!(r.ok(StatusCode::PARTIAL_CONTENT)[..] == bytes[11_000_000..]);
    assert_eq!(w.objects("blobs"), vec![format!("blobs/{}", a.id)]);
    assert_eq!(w.objects("uploads"), Vec::<String>::new());
    assert_eq!(w.objects("staging"), Vec::<String>::new());
}

/// The manager sees the reference, but the bytes have not all arrived.
async fn zhang_waits(w: &World, zhang: &str, id: &str) {
    w.attachment(Some(zhang), id).await.not_uploaded();
    w.thumbnail(Some(zhang), id).await.not_uploaded();
}

/// The three reads of an attachment, all `404 not_found` for `token`.
async fn none_of_it(w: &World, token: Option<&str>, id: &str) {
    w.attachment(token, id).await.not_found();
    w.thumbnail(token, id).await.not_found();
    w.upload_state(token, id).await.not_found();
}

/// A rep of another territory, the previous owner of a customer after a handover (for the
/// customer's own file), a request without credentials and a malformed id all get
/// `404 not_found`; the previous owner still gets the photos of their own visits.
async fn who_does_not_see_a_referencing_document_gets_404_not_found(run: Run) {
    let Some(w) = world(run, |_| {}) else { return };
    let (li, zhang, chen) = (
        w.login("li").await,
        w.login("zhang").await,
        w.login("chen").await,
    );
    let store = w.device("li");
    let card_bytes = photo(900, 500, image::ImageFormat::Jpeg);
    let card = reference(&card_bytes, "image/jpeg", "名片.jpg", "li");
    let visit_bytes = photo(800, 600, image::ImageFormat::Jpeg);
    let visit_photo = reference(&visit_bytes, "image/jpeg", "门头.jpg", "li");
    let c = new_customer(&store, "宁波五金", "li");
    store
        .update_customer(&c, &[CustomerEdit::AddBusinessCard(card.clone())])
        .unwrap();
    let v = visit_with(&store, &c, "li", &[&visit_photo]);
    w.push(&li, &store, &[&c, &v]).await;
    w.uploaded(&li, &card, &card_bytes).await;
    w.uploaded(&li, &visit_photo, &visit_bytes).await;
    for a in [&card, &visit_photo] {
        w.thumbnail_becomes(&a.id, Thumbnail::Made).await;
        w.attachment(Some(&zhang), &a.id).await.ok(StatusCode::OK);
        w.thumbnail(Some(&zhang), &a.id).await.ok(StatusCode::OK);
    }

    // chen (north) sees neither document: the same 404 as for an id nobody references.
    for id in [&card.id, &visit_photo.id, &unreferenced()] {
        none_of_it(&w, Some(&chen), id).await;
        let theirs = AttachmentRef {
            id: id.clone(),
            ..reference(&card_bytes, "image/jpeg", "x.jpg", "chen")
        };
        w.upload(&chen, &theirs, &card_bytes).await.not_found();
    }
    // zhang sees them but signed neither reference: nothing to upload.
    w.upload_state(Some(&zhang), &card.id).await.not_found();
    w.upload(&zhang, &card, &card_bytes).await.not_found();
    // No credentials, or a token that is none: 404, not 401.
    for id in [&card.id, &visit_photo.id] {
        none_of_it(&w, None, id).await;
        none_of_it(&w, Some("not-a-token"), id).await;
        let piece = Piece {
            media_type: "image/jpeg",
            start: 0,
            total: card_bytes.len() as u64,
            body: Body::from(card_bytes.clone()),
            len: card_bytes.len() as u64,
        };
        w.put(None, id, piece).await.not_found();
    }
    // Ids that are no attachment id.
    let upper = card.id.to_uppercase();
    let short = &card.id[..63];
    let long = format!("{}0", card.id);
    for bad in [
        upper.as_str(),
        short,
        long.as_str(),
        "..",
        "%2e%2e%2fjwt.key",
        "blobs",
    ] {
        none_of_it(&w, Some(&zhang), bad).await;
        none_of_it(&w, Some(&li), bad).await;
    }

    // zhang hands li's customers over to wang.
    let r = w
        .call(
            Method::POST,
            "/v1/handover",
            Some(&zhang),
            &[(CONTENT_TYPE, "application/json".into())],
            Body::from(json!({"from": "li", "to": "wang"}).to_string()),
        )
        .await;
    r.ok(StatusCode::OK);
    assert_eq!(r.json(), json!({"customers": 1}));

    // li no longer sees the customer's file, and so nothing of its business card, although
    // li took and uploaded it...
    none_of_it(&w, Some(&li), &card.id).await;
    // ...but still sees their own visit, and its photo.
    w.fetches(&li, &visit_photo, &visit_bytes).await;
    w.thumbnail(Some(&li), &visit_photo.id)
        .await
        .ok(StatusCode::OK);
    // wang, the new owner, sees both.
    let wang = w.login("wang").await;
    w.fetches(&wang, &card, &card_bytes).await;
    w.fetches(&wang, &visit_photo, &visit_bytes).await;
    // chen still nothing.
    none_of_it(&w, Some(&chen), &card.id).await;
    none_of_it(&w, Some(&chen), &visit_photo.id).await;
}

/// A reference whose bytes nobody uploaded gets `404 not_uploaded`; a reference a rep makes to
/// bytes they never uploaded (a photo they saw on a customer they no longer serve) opens
/// nothing, until they upload those bytes themselves.
async fn a_reference_opens_its_bytes_only_once_its_signer_uploaded_them(run: Run) {
    let Some(w) = world(run, |_| {}) else { return };
    let (li, zhang) = (w.login("li").await, w.login("zhang").await);
    let li_store = w.device("li");
    let pending_bytes = jpeg(2, 40_000);
    let pending = reference(&pending_bytes, "image/jpeg", "门头.jpg", "li");
    let c = new_customer(&li_store, "宁波五金", "li");
    let v = visit_with(&li_store, &c, "li", &[&pending]);
    w.push(&li, &li_store, &[&c, &v]).await;

    // Nobody uploaded it: the manager, and li, are told to wait.
    zhang_waits(&w, &zhang, &pending.id).await;
    w.attachment(Some(&li), &pending.id).await.not_uploaded();
    assert!(w.objects("blobs").is_empty());

    // zhang adds a photo of the shop to li's customer, and uploads it; li sees it.
    let zhang_store = w.device("zhang");
    w.pull(&zhang, &zhang_store).await;
    let shop_bytes = jpeg(3, 55_555);
    let shop = reference(&shop_bytes, "image/jpeg", "店面.jpg", "zhang");
    zhang_store
        .update_customer(&c, &[CustomerEdit::AddPhoto(shop.clone())])
        .unwrap();
    w.push(&zhang, &zhang_store, &[&c]).await;
    w.uploaded(&zhang, &shop, &shop_bytes).await;
    w.fetches(&li, &shop, &shop_bytes).await;

    // The customer goes to wang: li no longer sees the photo.
    let r = w
        .call(
            Method::POST,
            "/v1/handover",
            Some(&zhang),
            &[(CONTENT_TYPE, "application/json".into())],
            Body::from(json!({"from": "li", "to": "wang"}).to_string()),
        )
        .await;
    r.ok(StatusCode::OK);
    none_of_it(&w, Some(&li), &shop.id).await;

    // li references the photo's hash (remembered) on a visit of a new customer of theirs.
    let forged = AttachmentRef {
        added_by: "li".into(),
        name: "remembered.jpg".into(),
        ..shop.clone()
    };
    let c2 = new_customer(&li_store, "杭州五金", "li");
    let v2 = visit_with(&li_store, &c2, "li", &[&forged]);
    w.push(&li, &li_store, &[&c2, &v2]).await;
    // The reference opens nothing: li never proved they hold the bytes.
    w.attachment(Some(&li), &shop.id).await.not_uploaded();
    w.thumbnail(Some(&li), &shop.id).await.not_uploaded();
    let r = w.upload_state(Some(&li), &shop.id).await;
    assert_eq!(
        r.json(),
        json!({"id": shop.id, "size": shop.size, "received": 0, "complete": false}),
        "the server holds none of the bytes from li, whoever else sent them"
    );
    // A range request learns nothing either.
    let r = w
        .call(
            Method::GET,
            &format!("/v1/attachments/{}", shop.id),
            Some(&li),
            &[(RANGE, "bytes=0-9".into())],
            Body::empty(),
        )
        .await;
    r.not_uploaded();

    // Uploading the bytes proves li holds them: now they open.
    w.uploaded(&li, &forged, &shop_bytes).await;
    w.fetches(&li, &forged, &shop_bytes).await;
    assert_eq!(
        w.objects("blobs"),
        vec![format!("blobs/{}", shop.id)],
        "kept once"
    );

    // And li's first photo, once uploaded, opens for the manager.
    w.uploaded(&li, &pending, &pending_bytes).await;
    w.fetches(&zhang, &pending, &pending_bytes).await;
}

/// Uploads refused for their hash, size or type keep nothing: no blob under the id, no parts,
/// no staging copy.
async fn refused_uploads_keep_nothing(run: Run) {
    let Some(w) = world(run, |a| {
        a.max_bytes = 100_000;
        a.media_types = vec!["image/jpeg".into(), "application/pdf".into()];
    }) else {
        return;
    };
    let li = w.login("li").await;
    let store = w.device("li");
    // Every sync answer tells the device these limits, so it refuses such files at once.
    let told = w.sync(&li, &request(0, vec![])).await.settings.unwrap();
    assert_eq!(
        told.attachments,
        Some(fieldsync_core::protocol::AttachmentSettings {
            max_bytes: 100_000,
            media_types: vec!["image/jpeg".into(), "application/pdf".into()],
        })
    );

    // A reference, and other bytes of the same size and type.
    let real = jpeg(10, 30_000);
    let wrong = jpeg(11, 30_000);
    let hashed = reference(&real, "image/jpeg", "a.jpg", "li");
    // Too large for this server.
    let big_bytes = jpeg(12, 100_001);
    let big = reference(&big_bytes, "image/jpeg", "big.jpg", "li");
    // An executable named as a photo.
    let mut elf = b"\x7FELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0\x3E\0".to_vec();
    noise(&mut elf, 13, 20_000);
    let disguised = reference(&elf, "image/jpeg", "photo.jpg", "li");
    // A PNG, a type this server does not take.
    let png_bytes = photo(64, 64, image::ImageFormat::Png);
    let png = reference(&png_bytes, "image/png", "a.png", "li");
    // A photo whose upload will misstate its size or type.
    let other_bytes = jpeg(14, 20_000);
    let other = reference(&other_bytes, "image/jpeg", "b.jpg", "li");

    let c = new_customer(&store, "宁波五金", "li");
    let v = visit_with(&store, &c, "li", &[&hashed, &big, &disguised, &png, &other]);
    w.push(&li, &store, &[&c, &v]).await;

    // The wrong bytes, whole or in pieces.
    let r = w.upload(&li, &hashed, &wrong).await;
    let body = r.error(StatusCode::UNPROCESSABLE_ENTITY, "hash_mismatch");
    assert!(body["message"].as_str().unwrap().contains(&sha256(&wrong)));
    w.holds_nothing_of(&hashed.id);
    let r = w
        .put_range(&li, &hashed.id, "image/jpeg", &wrong, 0, 10_001)
        .await;
    r.ok(StatusCode::OK);
    assert!(!w.objects(&format!("uploads/{}", hashed.id)).is_empty());
    let r = w
        .put_range(&li, &hashed.id, "image/jpeg", &wrong, 10_001, 30_000)
        .await;
    r.error(StatusCode::UNPROCESSABLE_ENTITY, "hash_mismatch");
    w.holds_nothing_of(&hashed.id);
    let state = w.upload_state(Some(&li), &hashed.id).await.json();
    assert_eq!(state["received"], 0, "{state}");

    // Over the limit.
    let r = w.upload(&li, &big, &big_bytes).await;
    let body = r.error(StatusCode::PAYLOAD_TOO_LARGE, "too_large");
    assert!(
        body["message"].as_str().unwrap().contains("100000"),
        "{body}"
    );
    w.holds_nothing_of(&big.id);

    // An executable declared a JPEG, whole or with its first bytes in a piece of their own.
    let r = w.upload(&li, &disguised, &elf).await;
    r.error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    w.holds_nothing_of(&disguised.id);
    w.put_range(&li, &disguised.id, "image/jpeg", &elf, 0, 10)
        .await
        .ok(StatusCode::OK);
    let r = w
        .put_range(&li, &disguised.id, "image/jpeg", &elf, 10, elf.len())
        .await;
    r.error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    w.holds_nothing_of(&disguised.id);

    // A type this server does not take.
    let r = w.upload(&li, &png, &png_bytes).await;
    let body = r.error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("image/jpeg, application/pdf")
    );
    w.holds_nothing_of(&png.id);

    // A Content-Range total, or a type, other than the reference's.
    let short = Piece {
        media_type: "image/jpeg",
        start: 0,
        total: other_bytes.len() as u64 - 1,
        body: Body::from(other_bytes[..other_bytes.len() - 1].to_vec()),
        len: other_bytes.len() as u64 - 1,
    };
    w.put(Some(&li), &other.id, short)
        .await
        .error(StatusCode::UNPROCESSABLE_ENTITY, "invalid");
    w.put_range(
        &li,
        &other.id,
        "application/pdf",
        &other_bytes,
        0,
        other_bytes.len(),
    )
    .await
    .error(StatusCode::UNPROCESSABLE_ENTITY, "invalid");
    w.holds_nothing_of(&other.id);

    // Nothing of any of it anywhere; the right bytes are then taken.
    assert_eq!(w.objects("blobs"), Vec::<String>::new());
    assert_eq!(w.objects("uploads"), Vec::<String>::new());
    assert_eq!(w.objects("staging"), Vec::<String>::new());
    w.uploaded(&li, &hashed, &real).await;
    w.uploaded(&li, &other, &other_bytes).await;
    let mut stored = vec![
        format!("blobs/{}", hashed.id),
        format!("blobs/{}", other.id),
    ];
    stored.sort();
    assert_eq!(w.objects("blobs"), stored);
}

/// The same photo attached and uploaded by two reps is stored once, and opens for each.
async fn the_same_photo_from_two_users_is_stored_once_and_opens_for_both(run: Run) {
    let Some(w) = world(run, |_| {}) else { return };
    let (li, wang, zhang) = (
        w.login("li").await,
        w.login("wang").await,
        w.login("zhang").await,
    );
    let bytes = jpeg(20, 80_000);
    let mut shared = Vec::new();
    for (name, token) in [("li", &li), ("wang", &wang)] {
        let store = w.device(name);
        let a = reference(&bytes, "image/jpeg", &format!("{name}.jpg"), name);
        let c = new_customer(&store, &format!("{name}的客户"), name);
        let v = visit_with(&store, &c, name, &[&a]);
        w.push(token, &store, &[&c, &v]).await;
        shared.push(a);
    }
    let (li_ref, wang_ref) = (&shared[0], &shared[1]);
    assert_eq!(li_ref.id, wang_ref.id);

    w.uploaded(&li, li_ref, &bytes).await;
    w.fetches(&li, li_ref, &bytes).await;
    // wang's own reference is not opened by li's upload: wang sees only it.
    w.attachment(Some(&wang), &wang_ref.id).await.not_uploaded();
    assert_eq!(
        w.upload_state(Some(&wang), &wang_ref.id).await.json(),
        json!({"id": wang_ref.id, "size": bytes.len(), "received": 0, "complete": false})
    );
    w.uploaded(&wang, wang_ref, &bytes).await;
    assert_eq!(
        w.upload_state(Some(&wang), &wang_ref.id).await.json(),
        json!({"id": wang_ref.id, "size": bytes.len(), "received": bytes.len(), "complete": true})
    );
    w.fetches(&wang, wang_ref, &bytes).await;
    w.fetches(&li, li_ref, &bytes).await;
    w.fetches(&zhang, li_ref, &bytes).await;
    assert_eq!(
        w.objects("blobs"),
        vec![format!("blobs/{}", li_ref.id)],
        "one object"
    );
    assert_eq!(w.objects("uploads"), Vec::<String>::new());
    assert_eq!(w.objects("staging"), Vec::<String>::new());
}

/// The sweep deletes an attachment once its last reference has been gone for the grace
/// period (here none), with its thumbnail, and the parts of an upload nobody finished; it
/// keeps what documents still reference.
async fn the_sweep_deletes_what_nothing_references_after_the_grace_and_keeps_the_rest(run: Run) {
    let Some(w) = world(run, |a| a.grace = Duration::ZERO) else {
        return;
    };
    let (li, zhang) = (w.login("li").await, w.login("zhang").await);
    let store = w.device("li");
    let gone_bytes = photo(400, 300, image::ImageFormat::Jpeg);
    let gone = reference(&gone_bytes, "image/jpeg", "模糊.jpg", "li");
    let kept_bytes = jpeg(30, 20_000);
    let kept = reference(&kept_bytes, "image/jpeg", "门头.jpg", "li");
    let half_bytes = jpeg(31, 20_000);
    let half = reference(&half_bytes, "image/jpeg", "货架.jpg", "li");
    let c = new_customer(&store, "宁波五金", "li");
    let v = visit_with(&store, &c, "li", &[&gone, &kept]);
    w.push(&li, &store, &[&c, &v]).await;
    w.uploaded(&li, &gone, &gone_bytes).await;
    w.uploaded(&li, &kept, &kept_bytes).await;
    w.thumbnail_becomes(&gone.id, Thumbnail::Made).await;
    let sweep = || {
        fieldsync_server::attachments::sweep::sweep(
            w.state.core.clone(),
            w.state.attachments.clone(),
        )
    };

    // Everything is referenced: nothing goes.
    let swept = sweep().await.unwrap();
    assert_eq!(swept.attachments, 0);
    assert_eq!(w.objects("blobs").len(), 2);

    // li removes the blurred photo, and starts an upload of another one but never finishes.
    store
        .update_visit(
            &v,
            &[
                VisitEdit::RemovePhoto(gone.id.clone()),
                VisitEdit::AddPhoto {
                    photo: half.clone(),
                    check_in: false,
                },
            ],
        )
        .unwrap();
    w.push(&li, &store, &[&v]).await;
    w.put_range(&li, &half.id, "image/jpeg", &half_bytes, 0, 5_000)
        .await
        .ok(StatusCode::OK);
    assert!(!w.objects(&format!("uploads/{}", half.id)).is_empty());
    // The index keeps times in seconds: let the release be in the past.
    tokio::time::sleep(Duration::from_millis(1100)).await;

    let swept = sweep().await.unwrap();
    assert_eq!(swept.attachments, 1, "{swept:?}");
    assert!(swept.leftovers >= 1, "{swept:?}");
    assert_eq!(w.objects("blobs"), vec![format!("blobs/{}", kept.id)]);
    assert_eq!(
        w.objects("thumbs"),
        Vec::<String>::new(),
        "its thumbnail too"
    );
    assert_eq!(w.objects("uploads"), Vec::<String>::new());
    assert!(
        w.state
            .core
            .storage
            .stored_attachment(&gone.id)
            .unwrap()
            .is_none()
    );
    w.attachment(Some(&zhang), &gone.id).await.not_found();
    w.fetches(&zhang, &kept, &kept_bytes).await;
    w.fetches(&li, &kept, &kept_bytes).await;

    // A second sweep finds nothing more.
    let swept = sweep().await.unwrap();
    assert_eq!(swept.attachments, 0);
    assert_eq!(w.objects("blobs"), vec![format!("blobs/{}", kept.id)]);
}

// ---- each test on each store ------------------------------------------------------------------

macro_rules! on_both_stores {
    ($($test:ident),* $(,)?) => {
        mod files {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$test(super::Run { kind: super::Kind::Files, test: stringify!($test) })
                        .await;
                }
            )*
        }
        mod s3 {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$test(super::Run { kind: super::Kind::S3, test: stringify!($test) })
                        .await;
                }
            )*
        }
    };
}

on_both_stores!(
    a_reps_photos_and_receipt_reach_the_manager_whole_in_ranges_and_as_thumbnails,
    an_upload_cut_into_pieces_at_odd_offsets_resumes_and_completes,
    a_large_upload_in_two_requests_comes_back_whole,
    who_does_not_see_a_referencing_document_gets_404_not_found,
    a_reference_opens_its_bytes_only_once_its_signer_uploaded_them,
    refused_uploads_keep_nothing,
    the_same_photo_from_two_users_is_stored_once_and_opens_for_both,
    the_sweep_deletes_what_nothing_references_after_the_grace_and_keeps_the_rest,
);
