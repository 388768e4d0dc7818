//! The blob folder: the bytes of attachments on the device, one file per attachment named by
//! its SHA-256 (`<id>`), thumbnails beside them (`<id>.thumb`), in a folder next to the store's
//! SQLite file (`device.db.blobs/`).
//!
//! It exists so that a file under an attachment's name is always whole and always the bytes
//! that name says: a blob is written under a temporary name while it is hashed, synced to the
//! disk, and only then renamed to its hash (a rename is atomic), and the folder is synced so the
//! rename survives a power loss. A crash leaves at worst a temporary file (`tmp-…`) or a partial
//! download (`<id>.part`), never half a file under a hash; [`BlobFolder::open`] removes those
//! once they are old enough that no other process of this device can still be writing them.
//!
//! The folder knows nothing of the store: which files it should hold is the store's
//! `attachments` table, and the callers run every rename or removal under a hash name inside
//! the transaction that records it.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::model::attachment::{SNIFF_BYTES, is_attachment_id};

/// How old a temporary file must be before [`BlobFolder::open`] removes it: younger ones may
/// belong to another process of the device writing right now (the command-line client while
/// live mode runs).
pub(crate) const STALE_AFTER: Duration = Duration::from_secs(15 * 60);

/// The prefix of temporary files.
const TEMP_PREFIX: &str = "tmp-";
/// The suffix of partial downloads.
const PART_SUFFIX: &str = ".part";
/// The suffix of thumbnails.
const THUMB_SUFFIX: &str = ".thumb";

/// The blob folder of one store.
#[derive(Debug, Clone)]
pub(crate) struct BlobFolder {
    dir: PathBuf,
}

/// A file in the folder under a name the folder gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Entry {
    /// The bytes of attachment `id`.
    Blob(String),
    /// The thumbnail of attachment `id`.
    Thumbnail(String),
    /// A temporary file or a partial download, with its age.
    Temporary(PathBuf, Duration),
}

/// Bytes copied into a temporary file of the folder and hashed, not yet under their hash.
/// Dropping it removes the temporary file: nothing of a refused file stays.
#[derive(Debug)]
pub(crate) struct Staged {
    temp: Option<PathBuf>,
    /// The SHA-256 of the bytes, hex: the attachment's id.
    pub(crate) id: String,
    /// How many bytes.
    pub(crate) size: u64,
    /// The first bytes (up to [`SNIFF_BYTES`]), to read the media type from.
    pub(crate) head: Vec<u8>,
}

impl Drop for Staged {
    fn drop(&mut self) {
        if let Some(temp) = self.temp.take() {
            let _ = fs::remove_file(temp);
        }
    }
}

/// What [`BlobFolder::stage`] found past its limit.
#[derive(Debug)]
pub(crate) enum StageError {
    /// The source holds more than the limit (at least `seen` bytes).
    TooLarge {
        /// How many bytes were read before giving up.
        seen: u64,
    },
    /// Reading the source failed.
    Read(io::Error),
    /// Writing the folder failed.
    Folder(Error),
}

impl BlobFolder {
    /// The folder of the store whose SQLite file is `db`: `<db>.blobs` beside it.
    pub(crate) fn beside(db: &Path) -> PathBuf {
        let mut name = db.file_name().unwrap_or_default().to_os_string();
        name.push(".blobs");
        db.with_file_name(name)
    }

    /// Opens the folder `dir`, creating it if needed, and removes temporary files and partial
    /// downloads older than [`STALE_AFTER`] (left by a crash). Only a folder that cannot be
    /// created fails it: what cannot be cleaned now is cleaned at the next open.
    pub(crate) fn open(dir: impl Into<PathBuf>) -> Result<BlobFolder> {
        let folder = BlobFolder { dir: dir.into() };
        fs::create_dir_all(&folder.dir).map_err(|e| folder.failed("create", e))?;
        for entry in folder.entries().unwrap_or_default() {
            if let Entry::Temporary(path, age) = entry
                && age >= STALE_AFTER
            {
                let _ = fs::remove_file(&path);
            }
        }
        Ok(folder)
    }

    /// The folder.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the bytes of attachment `id` are kept.
    pub(crate) fn blob(&self, id: &str) -> PathBuf {
        self.dir.join(id)
    }

    /// Where the thumbnail of attachment `id` is kept.
    pub(crate) fn thumbnail(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}{THUMB_SUFFIX}"))
    }

    /// Where a download of attachment `id` collects its bytes until they are checked.
    pub(crate) fn part(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}{PART_SUFFIX}"))
    }

    /// Whether the bytes of `id` are here.
    pub(crate) fn has(&self, id: &str) -> bool {
        self.blob(id).is_file()
    }

    /// Every file the folder gave a name to; files of other names are left alone.
    pub(crate) fn entries(&self) -> Result<Vec<Entry>> {
        let mut out = Vec::new();
        let now = SystemTime::now();
        let listing = fs::read_dir(&self.dir).map_err(|e| self.failed("read", e))?;
        for item in listing {
            let item = item.map_err(|e| self.failed("read", e))?;
            let name = item.file_name();
            let Some(name) = name.to_str() else { continue };
            if is_attachment_id(name) {
                out.push(Entry::Blob(name.to_string()));
            } else if let Some(id) = name.strip_suffix(THUMB_SUFFIX)
                && is_attachment_id(id)
            {
                out.push(Entry::Thumbnail(id.to_string()));
            } else if name.starts_with(TEMP_PREFIX)
                || name.strip_suffix(PART_SUFFIX).is_some_and(is_attachment_id)
            {
                let age = item
                    .metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|at| now.duration_since(at).ok())
                    .unwrap_or_default();
                out.push(Entry::Temporary(item.path(), age));
            }
        }
        Ok(out)
    }

    /// Copies `source` into a temporary file of the folder while hashing it, at most `limit`
    /// bytes, and syncs it to the disk. Nothing is under the hash yet: [`BlobFolder::place`]
    /// puts it there.
    pub(crate) fn stage(
        &self,
        source: &mut dyn Read,
        limit: u64,
    ) -> std::result::Result<Staged, StageError> {
        let (temp, mut file) = self.temp_file().map_err(StageError::Folder)?;
        let mut staged = Staged {
            temp: Some(temp),
            id: String::new(),
            size: 0,
            head: Vec::new(),
        };
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match source.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(StageError::Read(e)),
            };
            staged.size += n as u64;
            if staged.size > limit {
                return Err(StageError::TooLarge { seen: staged.size });
            }
            let chunk = &buf[..n];
            if staged.head.len() < SNIFF_BYTES {
                let take = (SNIFF_BYTES - staged.head.len()).min(n);
                staged.head.extend_from_slice(&chunk[..take]);
            }
            hasher.update(chunk);
            file.write_all(chunk)
                .map_err(|e| StageError::Folder(self.failed("write", e)))?;
        }
        file.sync_all()
            .map_err(|e| StageError::Folder(self.failed("write", e)))?;
        staged.id = hex::encode(hasher.finalize());
        Ok(staged)
    }

    /// Puts staged bytes under their hash: renames the temporary file and syncs the folder.
    /// If the hash is there already, those bytes are kept (they are the same) and the staged
    /// copy removed. Returns whether the file is new.
    pub(crate) fn place(&self, mut staged: Staged) -> Result<bool> {
        let Some(temp) = staged.temp.take() else {
            return Ok(false);
        };
        let target = self.blob(&staged.id);
        if target.is_file() {
            let _ = fs::remove_file(&temp);
            return Ok(false);
        }
        fs::rename(&temp, &target).map_err(|e| {
            let _ = fs::remove_file(&temp);
            self.failed("write", e)
        })?;
        self.sync_dir()?;
        Ok(true)
    }

    /// Writes `bytes` as the thumbnail of `id`, whole or not at all.
    pub(crate) fn put_thumbnail(&self, id: &str, bytes: &[u8]) -> Result<()> {
        let (temp, mut file) = self.temp_file()?;
        let written = file
            .write_all(bytes)
            .and_then(|()| file.sync_all())
            .and_then(|()| fs::rename(&temp, self.thumbnail(id)));
        if let Err(e) = written {
            let _ = fs::remove_file(&temp);
            return Err(self.failed("write", e));
        }
        self.sync_dir()
    }

    /// Opens the partial download of `id` for appending at its end (created empty if there is
    /// none), and returns it with its length.
    pub(crate) fn open_part(&self, id: &str) -> Result<(File, u64)> {
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(self.part(id))
            .map_err(|e| self.failed("write", e))?;
        let len = file
            .seek(SeekFrom::End(0))
            .map_err(|e| self.failed("write", e))?;
        Ok((file, len))
    }

    /// The SHA-256 of a file, hex, and its size.
    pub(crate) fn hash_file(path: &Path) -> io::Result<(String, u64)> {
        let mut file = File::open(path)?;
        let mut hasher = Sha256::new();
        let size = io::copy(&mut file, &mut hasher)?;
        Ok((hex::encode(hasher.finalize()), size))
    }

    /// Puts the checked partial download of `id` under its hash (see [`BlobFolder::place`]).
    pub(crate) fn place_part(&self, id: &str) -> Result<()> {
        let part = self.part(id);
        File::open(&part)
            .and_then(|f| f.sync_all())
            .map_err(|e| self.failed("write", e))?;
        fs::rename(&part, self.blob(id)).map_err(|e| self.failed("write", e))?;
        self.sync_dir()
    }

    /// Removes the bytes, thumbnail and partial download of `id`, whichever are here.
    pub(crate) fn remove(&self, id: &str) -> Result<()> {
        for path in [self.blob(id), self.thumbnail(id), self.part(id)] {
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(self.failed("clean", e)),
            }
        }
        Ok(())
    }

    /// Removes a file of the folder if it is there.
    pub(crate) fn remove_file(&self, path: &Path) -> Result<()> {
        match fs::remove_file(path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(self.failed("clean", e)),
        }
    }

    /// A new temporary file of the folder.
    fn temp_file(&self) -> Result<(PathBuf, File)> {
        let mut random = [0u8; 12];
        getrandom::fill(&mut random).map_err(|e| Error::System {
            what: "this device cannot make random numbers for a file name; try again".into(),
            reason: e.to_string(),
        })?;
        let path = self
            .dir
            .join(format!("{TEMP_PREFIX}{}", hex::encode(random)));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| self.failed("write", e))?;
        Ok((path, file))
    }

    /// Syncs the folder itself, so a rename in it survives a power loss.
    fn sync_dir(&self) -> Result<()> {
        #[cfg(unix)]
        File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| self.failed("write", e))?;
        Ok(())
    }

    fn failed(&self, doing: &str, e: io::Error) -> Error {
        let what = match doing {
            "create" => format!(
                "cannot create the attachment folder {}; check that the data directory is writable",
                self.dir.display()
            ),
            "read" => format!(
                "cannot read the attachment folder {}; check its permissions",
                self.dir.display()
            ),
            "clean" => format!(
                "cannot remove a file of the attachment folder {}; check its permissions",
                self.dir.display()
            ),
            _ => format!(
                "cannot write to the attachment folder {}; free some space on the device and check that the folder is writable",
                self.dir.display()
            ),
        };
        Error::System {
            what,
            reason: e.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A source that gives `ok` bytes, then fails as a crash or a yanked card would.
    struct FailsAfter {
        ok: usize,
        given: usize,
    }

    impl Read for FailsAfter {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.given >= self.ok {
                return Err(io::Error::other("the source went away"));
            }
            let n = buf.len().min(self.ok - self.given).min(1000);
            buf[..n].fill(b'x');
            self.given += n;
            Ok(n)
        }
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn a_blob_is_under_its_hash_only_once_whole_and_synced() {
        let dir = tempfile::tempdir().unwrap();
        let folder = BlobFolder::open(dir.path().join("d.db.blobs")).unwrap();
        let bytes = b"\xFF\xD8\xFF\xE0 a photo".repeat(10_000);
        let expected = hex::encode(Sha256::digest(&bytes));

        let staged = folder.stage(&mut bytes.as_slice(), u64::MAX).unwrap();
        assert_eq!(staged.id, expected);
        assert_eq!(staged.size, bytes.len() as u64);
        assert_eq!(staged.head, bytes[..SNIFF_BYTES]);
        // Copied and hashed, but nothing under the hash until it is placed.
        assert!(!folder.has(&expected));
        let listed = names(folder.dir());
        assert_eq!(listed.len(), 1);
        assert!(listed[0].starts_with(TEMP_PREFIX), "{listed:?}");

        assert!(folder.place(staged).unwrap());
        assert_eq!(fs::read(folder.blob(&expected)).unwrap(), bytes);
        assert_eq!(names(folder.dir()), [expected.as_str()]);

        // The same bytes again keep the file there and leave no temporary behind.
        let again = folder.stage(&mut bytes.as_slice(), u64::MAX).unwrap();
        assert!(!folder.place(again).unwrap());
        assert_eq!(names(folder.dir()), [expected]);
    }

    #[test]
    fn a_failed_or_refused_copy_leaves_nothing_under_a_hash_nor_a_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let folder = BlobFolder::open(dir.path().join("blobs")).unwrap();
        let failed = folder.stage(&mut FailsAfter { ok: 5000, given: 0 }, u64::MAX);
        assert!(matches!(failed, Err(StageError::Read(_))));
        let too_large = folder.stage(&mut [7u8; 2000].as_slice(), 1999);
        assert!(matches!(
            too_large,
            Err(StageError::TooLarge { seen }) if seen > 1999
        ));
        // A staged copy given up is removed too.
        drop(folder.stage(&mut [1u8; 10].as_slice(), 100).unwrap());
        assert!(names(folder.dir()).is_empty());
    }

    #[test]
    fn temporaries_a_crash_left_are_removed_at_open_once_stale() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("blobs");
        let folder = BlobFolder::open(&path).unwrap();
        let kept_id = "a".repeat(64);
        fs::write(folder.blob(&kept_id), b"whole").unwrap();
        // A crash in the middle of a copy and of a download.
        let (temp, mut file) = folder.temp_file().unwrap();
        file.write_all(b"half a pho").unwrap();
        let part = folder.part(&"b".repeat(64));
        fs::write(&part, b"half").unwrap();
        let fresh = folder.temp_file().unwrap().0;
        let old = SystemTime::now() - STALE_AFTER - Duration::from_secs(60);
        for p in [&temp, &part] {
            File::options()
                .write(true)
                .open(p)
                .unwrap()
                .set_modified(old)
                .unwrap();
        }

        BlobFolder::open(&path).unwrap();
        assert!(!temp.exists() && !part.exists());
        // A young one may be another process's write in progress: it stays.
        assert!(fresh.exists());
        assert!(folder.has(&kept_id));
    }

    #[test]
    fn the_folder_is_beside_the_store_file() {
        assert_eq!(
            BlobFolder::beside(Path::new("/data/fieldsync/device.db")),
            Path::new("/data/fieldsync/device.db.blobs")
        );
    }
}
