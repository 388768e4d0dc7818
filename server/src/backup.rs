//! Backups of a server on SQLite, taken while it serves, and their restore
//! (docs/OPERATIONS.md, "Backups").
//!
//! A backup is one `tar.gz` archive: a consistent copy of the database, the signing key, and
//! (on request) the attachment files, followed by `manifest.json`, which names the archive's
//! format, the server version that wrote it, when, the log head and history it holds, and the
//! size and SHA-256 of every other entry.
//!
//! Guarantees:
//! - The database copy is one consistent snapshot, taken while the server writes: `VACUUM INTO`
//!   on a read-only connection of this process reads the database in one read transaction
//!   (WAL lets the server write meanwhile) and writes a compact copy. SQLite's online backup
//!   API (rusqlite's `backup` feature) was not chosen: it copies pages in steps and starts over
//!   whenever another connection writes the source in between, so under steady sync traffic
//!   from another process it may never finish, and at once it would hold the read lock just
//!   the same.
//! - The archive is written under a temporary name in the destination's folder, synced, and
//!   renamed into place (then the folder is synced): a backup either exists whole under its
//!   name or not at all; a failure leaves nothing behind.
//! - A restore checks every entry against the manifest before it writes anything, writes into
//!   a temporary folder beside the target, and renames it into place: the target is never
//!   left half restored. The restored database starts a new history ([`crate::history`]), so
//!   devices that synced past the backup re-send what it lacks.

mod restore;
mod schedule;

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use restore::{Restored, restore, verify};
pub use schedule::{Schedule, backup_name, parse_every, prune};

/// The archive format this build writes and reads.
pub const FORMAT: u32 = 1;

/// The manifest's name in the archive (its last entry).
pub const MANIFEST: &str = "manifest.json";
/// The database's name in the archive and in a data directory.
pub const DATABASE: &str = "fieldsync.db";
/// The signing key's name in the archive and in a data directory.
pub const KEY: &str = "jwt.key";
/// The folder of the attachment files in the archive and in a data directory.
pub const ATTACHMENTS: &str = "attachments";

/// Why a backup or a restore failed; nothing was written by it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackupError {
    /// The data directory has no database.
    #[error(
        "there is no database at {0}: give the server's --data-dir (a server on PostgreSQL is backed up with pg_dump, see docs/OPERATIONS.md)"
    )]
    NoDatabase(PathBuf),
    /// The signing key cannot be read.
    #[error("cannot read the signing key {path}: {detail} (give the server's --jwt-key-file)")]
    NoKey {
        /// Where it was looked for.
        path: PathBuf,
        /// Why it could not be read.
        detail: String,
    },
    /// The destination exists already.
    #[error("{0} exists already: choose another name, or delete it first")]
    Exists(PathBuf),
    /// The restore target holds files.
    #[error(
        "{0} is not empty: restore into a new or empty directory (move the old one aside first)"
    )]
    NotEmpty(PathBuf),
    /// The archive is not a backup this build reads, or it is damaged.
    #[error("{path} is not a usable backup: {detail}; nothing was restored")]
    Damaged {
        /// The archive.
        path: PathBuf,
        /// What is wrong with it.
        detail: String,
    },
    /// The database copy could not be made or read.
    #[error("the database could not be copied: {0}")]
    Database(String),
    /// A file could not be read or written.
    #[error("{what} {path}: {detail}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The system's reason.
        detail: String,
    },
}

fn io<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> BackupError + 'a {
    move |e| BackupError::Io {
        what,
        path: path.to_path_buf(),
        detail: e.to_string(),
    }
}

/// One file of the archive, as the manifest lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Its path in the archive (and in the restored data directory).
    pub path: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its SHA-256, hex.
    pub sha256: String,
}

/// What an archive holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// The archive format ([`FORMAT`]).
    pub format: u32,
    /// The version of the server that wrote it.
    pub server_version: String,
    /// When the backup was taken, RFC 3339, UTC.
    pub created_at: String,
    /// The log head of the database copy (0 for a backup of the key alone).
    pub log_head: u64,
    /// The history of the database copy, if it has one.
    pub history: Option<String>,
    /// Whether the database is in the archive (a backup of a server on PostgreSQL holds the
    /// key alone).
    pub database: bool,
    /// Whether the attachment files are in the archive.
    pub attachments: bool,
    /// Every other entry, in archive order.
    pub entries: Vec<Entry>,
}

/// What to back up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSource {
    /// The SQLite database file, or `None` for the key alone (a server on PostgreSQL).
    pub database: Option<PathBuf>,
    /// The signing key file.
    pub key_file: PathBuf,
    /// The attachments folder, when its files are to be in the archive.
    pub attachments: Option<PathBuf>,
}

impl BackupSource {
    /// A data directory's database and key, with the key file given or its default.
    pub fn data_dir(data_dir: &Path, key_file: Option<&Path>) -> BackupSource {
        BackupSource {
            database: Some(data_dir.join(DATABASE)),
            key_file: key_file.map_or_else(|| data_dir.join(KEY), Path::to_path_buf),
            attachments: None,
        }
    }
}

/// A backup written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupDone {
    /// Where.
    pub path: PathBuf,
    /// The archive's size in bytes.
    pub bytes: u64,
    /// What it holds.
    pub manifest: Manifest,
}

/// Writes a backup of `source` to `to` (which must not exist; its folder is created), while a
/// server may be serving the database.
pub fn create(source: &BackupSource, to: &Path) -> Result<BackupDone, BackupError> {
    if to.exists() {
        return Err(BackupError::Exists(to.to_path_buf()));
    }
    let folder = parent_of(to);
    std::fs::create_dir_all(&folder).map_err(io("cannot create", &folder))?;
    let name = to
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "backup".into());
    // The archive and the database copy are staged beside the destination: on its disk (the
    // rename is then atomic), and removed on any failure when they are dropped.
    let staging = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".staging")
        .tempdir_in(&folder)
        .map_err(io("cannot create a staging folder in", &folder))?;
    let partial = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".partial")
        .tempfile_in(&folder)
        .map_err(io("cannot create a file in", &folder))?;

    let mut files: Vec<(String, PathBuf)> = Vec::new();
    let (mut log_head, mut history) = (0, None);
    if let Some(database) = &source.database {
        let copy = staging.path().join(DATABASE);
        (log_head, history) = copy_database(database, &copy)?;
        files.push((DATABASE.into(), copy));
    }
    std::fs::metadata(&source.key_file).map_err(|e| BackupError::NoKey {
        path: source.key_file.clone(),
        detail: e.to_string(),
    })?;
    files.push((KEY.into(), source.key_file.clone()));
    if let Some(dir) = &source.attachments {
        attachment_files(dir, dir, &mut files)?;
    }

    let mut entries = Vec::new();
    let mut archive = tar::Builder::new(flate2::write::GzEncoder::new(
        BufWriter::new(partial.as_file()),
        flate2::Compression::default(),
    ));
    for (path, file) in &files {
        entries.push(append_file(&mut archive, path, file)?);
    }
    let manifest = Manifest {
        format: FORMAT,
        server_version: env!("CARGO_PKG_VERSION").to_string(),
        created_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        log_head,
        history,
        database: source.database.is_some(),
        attachments: source.attachments.is_some(),
        entries,
    };
    let text = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| BackupError::Database(format!("the manifest cannot be written: {e}")))?;
    let mut header = header(text.len() as u64);
    archive
        .append_data(&mut header, MANIFEST, text.as_slice())
        .and_then(|()| archive.into_inner())
        .and_then(|gz| gz.finish())
        .and_then(|mut out| out.flush())
        .map_err(io("cannot write", partial.path()))?;
    partial
        .as_file()
        .sync_all()
        .map_err(io("cannot sync", partial.path()))?;
    let bytes = partial
        .as_file()
        .metadata()
        .map_err(io("cannot read", partial.path()))?
        .len();
    partial.persist_noclobber(to).map_err(|e| {
        if e.error.kind() == std::io::ErrorKind::AlreadyExists {
            BackupError::Exists(to.to_path_buf())
        } else {
            io("cannot rename the backup to", to)(e.error)
        }
    })?;
    sync_dir(&folder)?;
    Ok(BackupDone {
        path: to.to_path_buf(),
        bytes,
        manifest,
    })
}

/// The folder a path is in (`.` for a bare name).
fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Copies the database at `from` into the new file `to` in one consistent snapshot; returns
/// the copy's log head and history.
fn copy_database(from: &Path, to: &Path) -> Result<(u64, Option<String>), BackupError> {
    use rusqlite::{Connection, OpenFlags, OptionalExtension};
    if !from.is_file() {
        return Err(BackupError::NoDatabase(from.to_path_buf()));
    }
    let db = |e: rusqlite::Error| BackupError::Database(e.to_string());
    let conn = Connection::open_with_flags(
        from,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(db)?;
    conn.busy_timeout(std::time::Duration::from_secs(30))
        .map_err(db)?;
    let target = to
        .to_str()
        .ok_or_else(|| BackupError::Database(format!("{} is not UTF-8", to.display())))?;
    conn.execute("VACUUM INTO ?1", [target]).map_err(db)?;
    drop(conn);
    let copy = Connection::open_with_flags(to, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(db)?;
    let check: String = copy
        .query_row("PRAGMA quick_check", [], |r| r.get(0))
        .map_err(db)?;
    if check != "ok" {
        return Err(BackupError::Database(format!(
            "the copy fails SQLite's check ({check}): check the server's disk"
        )));
    }
    let head: Option<i64> = copy
        .query_row(
            "SELECT seq FROM sqlite_sequence WHERE name = 'log'",
            [],
            |r| r.get(0),
        )
        .optional()
        .map_err(db)?;
    let history: Option<String> = copy
        .query_row(
            "SELECT value FROM server_meta WHERE key = 'history'",
            [],
            |r| r.get(0),
        )
        .optional()
        .map_err(db)?;
    Ok((head.unwrap_or(0).max(0) as u64, history))
}

/// Every file under `dir`, as `attachments/<path under root>`, sorted.
fn attachment_files(
    root: &Path,
    dir: &Path,
    out: &mut Vec<(String, PathBuf)>,
) -> Result<(), BackupError> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io("cannot list", dir))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(io("cannot list", dir))?;
    found.sort();
    for path in found {
        let meta = std::fs::metadata(&path).map_err(io("cannot read", &path))?;
        if meta.is_dir() {
            attachment_files(root, &path, out)?;
        } else {
            let relative = path
                .strip_prefix(root)
                .map_err(|_| BackupError::Io {
                    what: "outside the attachments folder:",
                    path: path.clone(),
                    detail: "skipped".into(),
                })?
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            out.push((format!("{ATTACHMENTS}/{relative}"), path));
        }
    }
    Ok(())
}

/// The header of a private regular file of `size` bytes.
fn header(size: u64) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_size(size);
    header.set_mode(0o600);
    header.set_entry_type(tar::EntryType::Regular);
    header.set_mtime(chrono::Utc::now().timestamp().max(0) as u64);
    header
}

/// Appends `file` as `path`, hashing it as it is read.
fn append_file<W: Write>(
    archive: &mut tar::Builder<W>,
    path: &str,
    file: &Path,
) -> Result<Entry, BackupError> {
    let opened = File::open(file).map_err(io("cannot read", file))?;
    let size = opened.metadata().map_err(io("cannot read", file))?.len();
    let mut reader = Hashing::new(opened.take(size));
    let mut header = header(size);
    archive
        .append_data(&mut header, path, &mut reader)
        .map_err(io("cannot archive", file))?;
    if reader.read != size {
        return Err(BackupError::Io {
            what: "changed while it was archived:",
            path: file.to_path_buf(),
            detail: "take the backup again".into(),
        });
    }
    Ok(Entry {
        path: path.to_string(),
        size,
        sha256: reader.finish(),
    })
}

/// A reader that hashes what passes through it.
struct Hashing<R> {
    inner: R,
    hasher: Sha256,
    read: u64,
}

impl<R: Read> Hashing<R> {
    fn new(inner: R) -> Self {
        Hashing {
            inner,
            hasher: Sha256::new(),
            read: 0,
        }
    }

    fn finish(self) -> String {
        hex::encode(self.hasher.finalize())
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.read += n as u64;
        Ok(n)
    }
}

/// Syncs a folder, so that a rename in it survives a power cut.
fn sync_dir(dir: &Path) -> Result<(), BackupError> {
    #[cfg(unix)]
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io("cannot sync", dir))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}
