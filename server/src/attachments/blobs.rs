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
//! (`LocalFileSystem::with_fsync`): what the server acknowledged survives a power cut.

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

    /// A fresh name to put an upload's parts together under.
    pub fn staging(id: &str) -> Result<Path, BlobError> {
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
            inner: WriteMultipart::new_with_chunk_size(upload, self.chunk),
            written: 0,
        })
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

/// A streamed write to the blob store ([`Blobs::writer`]).
pub struct BlobWriter {
    inner: WriteMultipart,
    written: u64,
}

impl BlobWriter {
    /// Appends `bytes`, waiting while earlier pieces are still being sent (memory stays
    /// bounded). The bytes are not copied: a piece is the chunks as they arrived.
    pub async fn write(&mut self, bytes: Bytes) -> Result<(), BlobError> {
        self.inner.wait_for_capacity(2).await?;
        self.written += bytes.len() as u64;
        self.inner.put(bytes);
        Ok(())
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Makes what was written visible under the writer's name.
    pub async fn finish(self) -> Result<(), BlobError> {
        self.inner.finish().await?;
        Ok(())
    }

    /// Drops what was written: nothing appears under the name.
    pub async fn abort(self) -> Result<(), BlobError> {
        self.inner.abort().await?;
        Ok(())
    }
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
}
