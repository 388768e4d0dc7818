//! Checking a backup archive against its manifest, and restoring it into a new data directory.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Component, Path, PathBuf};

use sha2::{Digest, Sha256};

use super::{
    ATTACHMENTS, BackupError, DATABASE, FORMAT, KEY, MANIFEST, Manifest, io, parent_of, sync_dir,
};
use crate::history::History;
use crate::storage::Log;
use crate::storage::sqlite::SqliteStorage;

/// A restore done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restored {
    /// What the archive held.
    pub manifest: Manifest,
    /// The restored database's new history (`None` for a backup of the key alone).
    pub history: Option<History>,
}

fn damaged(path: &Path, detail: impl Into<String>) -> BackupError {
    BackupError::Damaged {
        path: path.to_path_buf(),
        detail: detail.into(),
    }
}

fn entries(
    path: &Path,
) -> Result<tar::Archive<flate2::read::GzDecoder<BufReader<File>>>, BackupError> {
    let file = File::open(path).map_err(io("cannot read", path))?;
    Ok(tar::Archive::new(flate2::read::GzDecoder::new(
        BufReader::new(file),
    )))
}

/// Whether `path` is one an archive may hold: the database, the key, or a file under the
/// attachments folder, relative and without `..`.
fn allowed(path: &str) -> bool {
    let plain = Path::new(path)
        .components()
        .all(|c| matches!(c, Component::Normal(_)));
    plain
        && (path == DATABASE
            || path == KEY
            || path
                .strip_prefix(ATTACHMENTS)
                .is_some_and(|rest| rest.starts_with('/') && rest.len() > 1))
}

/// Reads the whole archive and checks it: a manifest of a format this build reads, every
/// entry it lists present once with its size and SHA-256, nothing else. Writes nothing.
pub fn verify(archive: &Path) -> Result<Manifest, BackupError> {
    let mut found: BTreeMap<String, (u64, String)> = BTreeMap::new();
    let mut manifest = None;
    let mut reading = entries(archive)?;
    let all = reading
        .entries()
        .map_err(|e| damaged(archive, e.to_string()))?;
    for entry in all {
        let mut entry = entry.map_err(|e| damaged(archive, e.to_string()))?;
        let name = entry
            .path()
            .map_err(|e| damaged(archive, e.to_string()))?
            .to_string_lossy()
            .into_owned();
        if entry.header().entry_type() != tar::EntryType::Regular {
            return Err(damaged(archive, format!("{name} is not a plain file")));
        }
        if name == MANIFEST {
            let mut text = Vec::new();
            entry
                .read_to_end(&mut text)
                .map_err(|e| damaged(archive, e.to_string()))?;
            let read: Manifest = serde_json::from_slice(&text)
                .map_err(|e| damaged(archive, format!("its manifest cannot be read: {e}")))?;
            manifest = Some(read);
            continue;
        }
        let mut hasher = Sha256::new();
        let size = std::io::copy(&mut entry, &mut HashWriter(&mut hasher))
            .map_err(|e| damaged(archive, format!("{name}: {e}")))?;
        if found
            .insert(name.clone(), (size, hex::encode(hasher.finalize())))
            .is_some()
        {
            return Err(damaged(archive, format!("{name} is in it twice")));
        }
    }
    let manifest = manifest.ok_or_else(|| {
        damaged(
            archive,
            "it has no manifest (the archive is incomplete or not a fieldsync backup)",
        )
    })?;
    if manifest.format != FORMAT {
        return Err(damaged(
            archive,
            format!(
                "it is in backup format {}, this server reads format {FORMAT}: restore it with the server version that wrote it ({})",
                manifest.format, manifest.server_version
            ),
        ));
    }
    for listed in &manifest.entries {
        if !allowed(&listed.path) {
            return Err(damaged(
                archive,
                format!("it names a file it may not hold: {}", listed.path),
            ));
        }
        match found.remove(&listed.path) {
            None => return Err(damaged(archive, format!("{} is missing", listed.path))),
            Some((size, sha256)) if size != listed.size || sha256 != listed.sha256 => {
                return Err(damaged(
                    archive,
                    format!(
                        "{} does not match its checksum in the manifest",
                        listed.path
                    ),
                ));
            }
            Some(_) => {}
        }
    }
    if let Some(extra) = found.keys().next() {
        return Err(damaged(
            archive,
            format!("it holds {extra}, which its manifest does not list"),
        ));
    }
    if !manifest.entries.iter().any(|e| e.path == KEY)
        || manifest.database != manifest.entries.iter().any(|e| e.path == DATABASE)
    {
        return Err(damaged(
            archive,
            "its manifest lacks the database or the key",
        ));
    }
    Ok(manifest)
}

struct HashWriter<'a>(&'a mut Sha256);

impl std::io::Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Whether `dir` is missing or an empty directory.
fn missing_or_empty(dir: &Path) -> Result<bool, BackupError> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => Ok(entries.next().is_none()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(io("cannot read", dir)(e)),
    }
}

/// Restores the backup `archive` into `data_dir`, which must be missing or empty: checks the
/// whole archive first ([`verify`]), writes its files into a folder beside `data_dir`, starts
/// a new history on the database, and renames the folder into place. On any failure nothing
/// is left in `data_dir`.
pub fn restore(archive: &Path, data_dir: &Path) -> Result<Restored, BackupError> {
    if !missing_or_empty(data_dir)? {
        return Err(BackupError::NotEmpty(data_dir.to_path_buf()));
    }
    let manifest = verify(archive)?;
    let folder = parent_of(data_dir);
    std::fs::create_dir_all(&folder).map_err(io("cannot create", &folder))?;
    let staging = tempfile::Builder::new()
        .prefix(".fieldsync-restore.")
        .tempdir_in(&folder)
        .map_err(io("cannot create a folder in", &folder))?;
    let listed: BTreeMap<&str, &super::Entry> = manifest
        .entries
        .iter()
        .map(|e| (e.path.as_str(), e))
        .collect();
    let mut reading = entries(archive)?;
    let all = reading
        .entries()
        .map_err(|e| damaged(archive, e.to_string()))?;
    for entry in all {
        let mut entry = entry.map_err(|e| damaged(archive, e.to_string()))?;
        let name = entry
            .path()
            .map_err(|e| damaged(archive, e.to_string()))?
            .to_string_lossy()
            .into_owned();
        let Some(listed) = listed.get(name.as_str()) else {
            continue;
        };
        let target = staging.path().join(&name);
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir).map_err(io("cannot create", dir))?;
        }
        let mut out = private_file(&target)?;
        let mut hasher = Sha256::new();
        let mut tee = Tee {
            out: &mut out,
            hasher: &mut hasher,
        };
        std::io::copy(&mut entry, &mut tee).map_err(io("cannot write", &target))?;
        // Read again: the archive may have changed since it was checked.
        if hex::encode(hasher.finalize()) != listed.sha256 {
            return Err(damaged(
                archive,
                format!("{name} changed while it was restored"),
            ));
        }
        out.sync_all().map_err(io("cannot sync", &target))?;
    }
    let history = if manifest.database {
        let storage = SqliteStorage::open(staging.path())
            .map_err(|e| BackupError::Database(e.to_string()))?;
        let history = crate::history::start_new(&storage)
            .map_err(|e| BackupError::Database(e.to_string()))?;
        debug_assert_eq!(
            storage.head_seq().ok(),
            history.forked_from.as_ref().map(|f| f.seq)
        );
        Some(history)
    } else {
        None
    };
    for dir in [
        staging.path().join(ATTACHMENTS),
        staging.path().to_path_buf(),
    ] {
        if dir.is_dir() {
            sync_dir(&dir)?;
        }
    }
    // An empty directory is replaced by the rename; a missing one is made by it.
    let staged = staging.keep();
    if let Err(e) = std::fs::rename(&staged, data_dir) {
        let _ = std::fs::remove_dir_all(&staged);
        return Err(io("cannot move the restored files to", data_dir)(e));
    }
    sync_dir(&folder)?;
    Ok(Restored { manifest, history })
}

/// Creates a file readable by its owner only.
fn private_file(path: &PathBuf) -> Result<File, BackupError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).map_err(io("cannot create", path))
}

struct Tee<'a> {
    out: &'a mut File,
    hasher: &'a mut Sha256,
}

impl std::io::Write for Tee<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.out.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}
