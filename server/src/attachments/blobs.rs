//! The blob store: where attachment bytes live on the server, under the data directory or in
//! S3-compatible object storage, behind one interface (the `object_store` crate's).
//!
//! Names in the store:
//! - `blobs/<id>`: an attachment whose SHA-256 was checked; nothing else is ever written there
//!   but by a rename of checked bytes, so no half file is ever visible under an id;
//! - `thumbs/<id>.jpg`: its thumbnail;
//! - `uploads/<id>/<uploader>/<offset>`: the parts of an upload in progress, one per request,
//!   named by the byte offset they start at (`<uploader>` is a hash of the user name);
//! - `staging/<id>.<random>`: a whole file sent in one request, or an upload's parts put
//!   together, while their hash is checked.
//!
//! Files on disk are written to a temporary name, synced and renamed, and their folder synced
//! (`LocalFileSystem::with_fsync`): what the server acknowledged survives a power cut. A
//! staging file is its own temporary name: it is written in place and synced, and its rename
//! under an id (or as a part) is the one that publishes it.

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt, WriteMultipart};
use sha2::{Digest, Sha256};

/// Where the blobs are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlobLocation {
    /// A folder (by default `<data-dir>/attachments`).
    Files(PathBuf),
    /// An S3 bucket: AWS, or any S3-compatible service at `endpoint`. Credentials come from
    /// `keys` if given, else from the usual `AWS_*` variables.
    S3 {
        /// The bucket (it must exist).
        bucket: String,
        /// The service's URL, for anything but AWS itself (`http://` is allowed).
        endpoint: Option<String>,
        /// The region (`us-east-1` unless said).
        region: Option<String>,
        /// The keys to sign requests with; `None`: the `AWS_*` variables'.
        keys: Option<S3Keys>,
    },
}

/// An access key pair for S3, given in the configuration rather than in the `AWS_*`
/// variables (a server embedded in another program, a test against a local endpoint).
#[derive(Clone, PartialEq, Eq)]
pub struct S3Keys {
    /// The access key id.
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: String,
}

impl std::fmt::Debug for S3Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Keys")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<secret>")
            .finish()
    }
}

impl std::fmt::Display for BlobLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BlobLocation::Files(dir) => write!(f, "{}", dir.display()),
            BlobLocation::S3 {
                bucket, endpoint, ..
            } => match endpoint {
                Some(e) => write!(f, "s3://{bucket} at {e}"),
                None => write!(f, "s3://{bucket}"),
            },
        }
    }
}

/// What the blob store can fail with; the detail goes to the log.
#[derive(Debug, thiserror::Error)]
#[error("the attachment store failed: {0}")]
pub struct BlobError(pub String);

impl From<object_store::Error> for BlobError {
    fn from(e: object_store::Error) -> Self {
        BlobError(e.to_string())
    }
}

/// The size of the pieces a streamed write sends to object storage (S3's smallest part is
/// 5 MiB): what one upload in progress holds in memory at most, twice.
const S3_WRITE_CHUNK: usize = 5 << 20;

/// The same for files, which take pieces of any size: smaller, less memory per upload.
const FILE_WRITE_CHUNK: usize = 1 << 20;

/// The blob store of a server.
#[derive(Debug, Clone)]
pub struct Blobs {
    store: Arc<dyn ObjectStore>,
    location: BlobLocation,
    /// The piece size of streamed writes.
    chunk: usize,
}

/// One byte range of a stored blob, streaming.
pub struct BlobRead {
    /// The whole blob's size.
    pub size: u64,
    /// The bytes of the range asked for.
    pub bytes: BoxStream<'static, Result<Bytes, BlobError>>,
}

impl Blobs {
    /// Opens the store at `location` (creating the folder).
    pub fn open(location: &BlobLocation) -> Result<Blobs, BlobError> {
        let store: Arc<dyn ObjectStore> = match location {
            BlobLocation::Files(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| {
                    BlobError(format!("cannot create the folder {}: {e}", dir.display()))
                })?;
                Arc::new(LocalFileSystem::new_with_prefix(dir)?.with_fsync(true))
            }
            BlobLocation::S3 {
                bucket,
                endpoint,
                region,
                keys,
            } => {
                // TLS to the object store goes through rustls with ring, installed once for
                // the process (an error only says one is installed already).
                let _ = rustls::crypto::ring::default_provider().install_default();
                let mut builder = AmazonS3Builder::from_env()
                    .with_bucket_name(bucket)
                    .with_region(region.as_deref().unwrap_or("us-east-1"));
                if let Some(keys) = keys {
                    builder = builder
                        .with_access_key_id(&keys.access_key_id)
                        .with_secret_access_key(&keys.secret_access_key);
                }
                if let Some(endpoint) = endpoint {
                    builder = builder
                        .with_endpoint(endpoint)
                        .with_allow_http(endpoint.starts_with("http://"))
                        .with_virtual_hosted_style_request(false);
                }
                Arc::new(builder.build()?)
            }
        };
        let chunk = match location {
            BlobLocation::Files(_) => FILE_WRITE_CHUNK,
            BlobLocation::S3 { .. } => S3_WRITE_CHUNK,
        };
        Ok(Blobs {
            store,
            location: location.clone(),
            chunk,
        })
    }

    /// Where the blobs are.
    pub fn location(&self) -> &BlobLocation {
        &self.location
    }

    /// The name of attachment `id`.
    pub fn blob(id: &str) -> Path {
        Path::from(format!("blobs/{id}"))
    }

    /// The name of its thumbnail.
    pub fn thumbnail(id: &str) -> Path {
        Path::from(format!("thumbs/{id}.jpg"))
    }

    /// The folder of `username`'s parts of an upload of `id`.
    fn parts_of(id: &str, username: &str) -> Path {
        let uploader = hex::encode(&Sha256::digest(username.as_bytes())[..16]);
        Path::from(format!("uploads/{id}/{uploader}"))
    }

    /// The name of the part that starts at byte `offset`.
    pub fn part(id: &str, username: &str, offset: u64) -> Path {
        Self::parts_of(id, username).join(format!("{offset:020}"))
    }

    /// A fresh name to write a whole attachment under while it is checked (a file sent in one
    /// request, or an upload's parts put together).
    fn staging(id: &str) -> Result<Path, BlobError> {
        let nonce: [u8; 8] = crate::accounts::random_bytes()
            .map_err(|e| BlobError(format!("no randomness: {e}")))?;
        Ok(Path::from(format!("staging/{id}.{}", hex::encode(nonce))))
    }

    /// The parts of `username`'s upload of `id` that follow one another from byte 0, as
    /// (name, offset, size), and how many bytes they hold together. Parts after a gap (none
    /// are written so, but a store may hold anything) do not count.
    pub async fn parts(
        &self,
        id: &str,
        username: &str,
    ) -> Result<(Vec<(Path, u64, u64)>, u64), BlobError> {
        let prefix = Self::parts_of(id, username);
        let mut found: Vec<(Path, u64, u64)> = Vec::new();
        let mut listed = self.store.list(Some(&prefix));
        while let Some(meta) = listed.next().await {
            let meta = meta?;
            let offset = meta
                .location
                .filename()
                .and_then(|name| name.parse::<u64>().ok());
            if let Some(offset) = offset {
                found.push((meta.location, offset, meta.size));
            }
        }
        found.sort_by_key(|(_, offset, _)| *offset);
        let mut held = 0u64;
        let mut chain = Vec::new();
        for (path, offset, size) in found {
            if offset == held && size > 0 {
                held += size;
                chain.push((path, offset, size));
            }
        }
        Ok((chain, held))
    }

    /// Deletes every part of `username`'s upload of `id`.
    pub async fn delete_parts(&self, id: &str, username: &str) -> Result<(), BlobError> {
        let prefix = Self::parts_of(id, username);
        let mut listed = self.store.list(Some(&prefix));
        while let Some(meta) = listed.next().await {
            self.delete(&meta?.location).await?;
        }
        Ok(())
    }

    /// A streamed write to `path`: nothing is visible there before [`BlobWriter::finish`].
    pub async fn writer(&self, path: &Path) -> Result<BlobWriter, BlobError> {
        let upload = self.store.put_multipart(path).await?;
        Ok(BlobWriter {
            inner: Writing::Store(WriteMultipart::new_with_chunk_size(upload, self.chunk)),
            written: 0,
        })
    }

    /// A streamed write to a fresh staging name for `id` (`staging/<id>.<random>`), and the
    /// name.
    ///
    /// In a folder the file is written under that name directly: the name is new and nothing
    /// reads staging files as blobs, so it needs no temporary name of its own, and
    /// [`BlobWriter::finish`] only syncs it. The rename that follows ([`Blobs::settle`],
    /// [`Blobs::rename`]) is the one that makes it visible, with its folders synced. In object
    /// storage it is a [`Blobs::writer`].
    pub async fn staging_writer(&self, id: &str) -> Result<(Path, BlobWriter), BlobError> {
        let path = Self::staging(id)?;
        let writer = match &self.location {
            BlobLocation::Files(dir) => BlobWriter {
                inner: Writing::InPlace(
                    InPlace::create(dir.join(path.as_ref()), self.chunk).await?,
                ),
                written: 0,
            },
            BlobLocation::S3 { .. } => self.writer(&path).await?,
        };
        Ok((path, writer))
    }

    /// Writes `bytes` to `path` whole.
    pub async fn put(&self, path: &Path, bytes: Bytes) -> Result<(), BlobError> {
        self.store.put(path, bytes.into()).await?;
        Ok(())
    }

    /// Whether something is stored at `path`.
    pub async fn exists(&self, path: &Path) -> Result<bool, BlobError> {
        match self.store.head(path).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Reads `path` from byte `from` to `to` (exclusive; `None`: the end). `None` if nothing
    /// is stored there.
    pub async fn read(
        &self,
        path: &Path,
        from: u64,
        to: Option<u64>,
    ) -> Result<Option<BlobRead>, BlobError> {
        let range = match (from, to) {
            (_, Some(to)) => Some(GetRange::Bounded(from..to)),
            (0, None) => None,
            (from, None) => Some(GetRange::Offset(from)),
        };
        let options = GetOptions {
            range,
            ..Default::default()
        };
        match self.store.get_opts(path, options).await {
            Ok(got) => {
                let size = got.meta.size;
                let bytes = got
                    .into_stream()
                    .map(|chunk| chunk.map_err(BlobError::from))
                    .boxed();
                Ok(Some(BlobRead { size, bytes }))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Reads `path` whole into memory (a thumbnail, a small file); `None` if absent.
    pub async fn read_all(&self, path: &Path) -> Result<Option<Bytes>, BlobError> {
        match self.store.get(path).await {
            Ok(got) => Ok(Some(got.bytes().await?)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Moves checked bytes from `from` to `to`. If `to` exists already (the same attachment,
    /// sent by someone else first), `from` is only deleted: the bytes are kept once.
    pub async fn settle(&self, from: &Path, to: &Path) -> Result<(), BlobError> {
        if self.exists(to).await? {
            return self.delete(from).await;
        }
        self.rename(from, to).await
    }

    /// Moves what is stored at `from` to `to`.
    pub async fn rename(&self, from: &Path, to: &Path) -> Result<(), BlobError> {
        self.store.rename(from, to).await?;
        Ok(())
    }

    /// Deletes `path`; nothing there is no error.
    pub async fn delete(&self, path: &Path) -> Result<(), BlobError> {
        match self.store.delete(path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Everything stored under `prefix` last written before `before`: leftovers to sweep.
    pub async fn older_than(
        &self,
        prefix: &str,
        before: chrono::DateTime<chrono::Utc>,
        limit: usize,
    ) -> Result<Vec<Path>, BlobError> {
        let prefix = Path::from(prefix);
        let mut listed = self.store.list(Some(&prefix));
        let mut old = Vec::new();
        while let Some(meta) = listed.next().await {
            let meta = meta?;
            if meta.last_modified < before {
                old.push(meta.location);
                if old.len() >= limit {
                    break;
                }
            }
        }
        Ok(old)
    }
}

/// The files a killed server left half written in folder `dir` (`LocalFileSystem` writes
/// `<name>#<n>` and renames it when done; nothing lists those), last written before `before`.
pub fn half_written_files(dir: &std::path::Path, before: std::time::SystemTime) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(meta) = entry.metadata() else {
                continue;
            };
            if meta.is_dir() {
                folders.push(path);
            } else if entry.file_name().to_string_lossy().contains('#')
                && meta.modified().is_ok_and(|m| m < before)
            {
                found.push(path);
            }
        }
    }
    found
}

/// A streamed write to the blob store ([`Blobs::writer`], [`Blobs::staging_writer`]).
pub struct BlobWriter {
    inner: Writing,
    written: u64,
}

/// How a [`BlobWriter`] writes.
enum Writing {
    /// Through the store's multipart write, which makes the object visible when finished.
    Store(WriteMultipart),
    /// A staging file written under its own name.
    InPlace(InPlace),
}

impl BlobWriter {
    /// Appends `bytes`, waiting while earlier pieces are still being written (memory stays
    /// bounded: two pieces at most). The bytes are not copied: a piece is the chunks as they
    /// arrived.
    pub async fn write(&mut self, bytes: Bytes) -> Result<(), BlobError> {
        self.written += bytes.len() as u64;
        match &mut self.inner {
            Writing::Store(multipart) => {
                multipart.wait_for_capacity(2).await?;
                multipart.put(bytes);
            }
            Writing::InPlace(file) => file.write(bytes).await?,
        }
        Ok(())
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Makes what was written durable under the writer's name (and, but for a staging
    /// file, visible there).
    pub async fn finish(self) -> Result<(), BlobError> {
        match self.inner {
            Writing::Store(multipart) => {
                multipart.finish().await?;
            }
            Writing::InPlace(file) => file.finish().await?,
        }
        Ok(())
    }

    /// Drops what was written: nothing is left under the name.
    pub async fn abort(self) -> Result<(), BlobError> {
        match self.inner {
            Writing::Store(multipart) => multipart.abort().await?,
            Writing::InPlace(file) => file.abort().await?,
        }
        Ok(())
    }
}

/// A file written in place, a piece at a time on a blocking thread while the next piece
/// arrives.
struct InPlace {
    path: PathBuf,
    /// The file, when no write is in flight.
    file: Option<std::fs::File>,
    /// The write in flight, which gives the file back.
    in_flight: Option<tokio::task::JoinHandle<std::io::Result<std::fs::File>>>,
    /// The chunks not yet handed to a write, and their size.
    pending: Vec<Bytes>,
    pending_len: usize,
    /// The size of the pieces written at once.
    piece: usize,
}

impl InPlace {
    /// Creates the file at `path` (and its folder); it must not exist.
    async fn create(path: PathBuf, piece: usize) -> Result<InPlace, BlobError> {
        let at = path.clone();
        let file = blocking(&path, "create", move || {
            let open = || {
                std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&at)
            };
            match open() {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    if let Some(folder) = at.parent() {
                        std::fs::create_dir_all(folder)?;
                    }
                    open()
                }
                opened => opened,
            }
        })
        .await?;
        Ok(InPlace {
            path,
            file: Some(file),
            in_flight: None,
            pending: Vec::new(),
            pending_len: 0,
            piece,
        })
    }

    async fn write(&mut self, bytes: Bytes) -> Result<(), BlobError> {
        self.pending_len += bytes.len();
        self.pending.push(bytes);
        if self.pending_len >= self.piece {
            self.send().await?;
        }
        Ok(())
    }

    /// Starts writing the pending chunks, once the write in flight is done.
    async fn send(&mut self) -> Result<(), BlobError> {
        let mut file = self.take_file().await?;
        let pieces = std::mem::take(&mut self.pending);
        self.pending_len = 0;
        self.in_flight = Some(tokio::task::spawn_blocking(move || {
            use std::io::Write;
            for piece in &pieces {
                file.write_all(piece)?;
            }
            Ok(file)
        }));
        Ok(())
    }

    /// The file, after the write in flight (if any) is done.
    async fn take_file(&mut self) -> Result<std::fs::File, BlobError> {
        match self.in_flight.take() {
            Some(write) => write
                .await
                .map_err(|e| failed(&self.path, "write", &e))?
                .map_err(|e| failed(&self.path, "write", &e)),
            None => self
                .file
                .take()
                .ok_or_else(|| BlobError(format!("{} was closed", self.path.display()))),
        }
    }

    /// Writes what is pending and syncs the file.
    async fn finish(mut self) -> Result<(), BlobError> {
        if !self.pending.is_empty() {
            self.send().await?;
        }
        let file = self.take_file().await?;
        blocking(&self.path, "sync", move || file.sync_all()).await
    }

    /// Deletes the file.
    async fn abort(mut self) -> Result<(), BlobError> {
        // A write that failed changes nothing: the file goes either way.
        let _ = self.take_file().await;
        let at = self.path.clone();
        blocking(&self.path, "delete", move || std::fs::remove_file(&at)).await
    }
}

/// Runs file-system call `f` on a blocking thread; its error names `what` it did to `path`.
async fn blocking<T: Send + 'static>(
    path: &std::path::Path,
    what: &str,
    f: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> Result<T, BlobError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| failed(path, what, &e))?
        .map_err(|e| failed(path, what, &e))
}

/// The error of file-system call `what` on `path` (or of the thread it ran on).
fn failed(path: &std::path::Path, what: &str, e: &dyn std::fmt::Display) -> BlobError {
    BlobError(format!("cannot {what} {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn only_half_written_files_are_leftovers() {
        let dir = tempfile::tempdir().unwrap();
        let parts = dir.path().join("uploads/abc/def");
        std::fs::create_dir_all(&parts).unwrap();
        std::fs::write(parts.join("00000000000000000000#1"), b"half").unwrap();
        std::fs::write(parts.join("00000000000000000000"), b"whole").unwrap();
        std::fs::create_dir_all(dir.path().join("blobs")).unwrap();
        std::fs::write(dir.path().join("blobs/f00d"), b"checked").unwrap();
        let later = std::time::SystemTime::now() + std::time::Duration::from_secs(1);
        let found = half_written_files(dir.path(), later);
        assert_eq!(found, vec![parts.join("00000000000000000000#1")]);
        let earlier = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        assert!(
            half_written_files(dir.path(), earlier).is_empty(),
            "too new to sweep"
        );
    }

    fn numbered(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i % 251) as u8).collect()
    }

    #[tokio::test]
    async fn a_staging_file_holds_every_piece_in_order_and_is_a_blob_only_once_settled() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::open(&BlobLocation::Files(dir.path().to_path_buf())).unwrap();
        // Several pieces of 1 MiB, the last one short, from chunks that do not divide them.
        let bytes = numbered(3 * FILE_WRITE_CHUNK + 12_345);
        let (staging, mut writer) = blobs.staging_writer("abc").await.unwrap();
        for chunk in bytes.chunks(65_521) {
            writer.write(Bytes::copy_from_slice(chunk)).await.unwrap();
        }
        assert_eq!(writer.written(), bytes.len() as u64);
        writer.finish().await.unwrap();
        let blob = Blobs::blob("abc");
        assert!(
            !blobs.exists(&blob).await.unwrap(),
            "not a blob before the rename"
        );
        assert_eq!(blobs.read_all(&staging).await.unwrap().unwrap(), bytes);
        blobs.settle(&staging, &blob).await.unwrap();
        assert_eq!(blobs.read_all(&blob).await.unwrap().unwrap(), bytes);
        assert!(!blobs.exists(&staging).await.unwrap());
    }

    #[tokio::test]
    async fn an_aborted_staging_file_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::open(&BlobLocation::Files(dir.path().to_path_buf())).unwrap();
        let (staging, mut writer) = blobs.staging_writer("abc").await.unwrap();
        writer
            .write(Bytes::from(numbered(2 * FILE_WRITE_CHUNK)))
            .await
            .unwrap();
        writer.write(Bytes::from_static(b"more")).await.unwrap();
        writer.abort().await.unwrap();
        assert!(!blobs.exists(&staging).await.unwrap());
        let left = std::fs::read_dir(dir.path().join("staging"))
            .unwrap()
            .count();
        assert_eq!(left, 0, "nothing left in the staging folder");
    }
}
