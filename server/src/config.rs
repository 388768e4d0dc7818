//! Server configuration and start-up: the data directory, the signing key, the state.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::accounts::{LoginLimiter, TokenKeys, random_bytes};
use crate::app::AppState;
use crate::attachments::{AttachmentConfig, Attachments};
use crate::budget::{RateLimits, UserRates};
use crate::error::AppError;
use crate::service::Core;
use crate::storage::Storage;
use crate::storage::postgres::PgStorage;
use crate::storage::sqlite::SqliteStorage;
use sha2::{Digest, Sha256};

/// Everything the server needs to start.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the database (unless `database_url` names one) and the signing key live.
    pub data_dir: PathBuf,
    /// A PostgreSQL database to keep everything in instead of the data directory's SQLite
    /// file (`postgres://USER:PASSWORD@HOST:PORT/DATABASE`); several server nodes may share it.
    pub database_url: Option<String>,
    /// The signing key file; `<data_dir>/jwt.key` by default.
    pub jwt_key_file: Option<PathBuf>,
    /// Access token lifetime.
    pub access_ttl: Duration,
    /// Refresh token lifetime (long enough for a month-long trip).
    pub refresh_ttl: Duration,
    /// Documents kept loaded in memory at most.
    pub cache_documents: usize,
    /// Documents a pull page holds at most (a page also stops at 4 MiB); a new device's first
    /// sync takes one round per page.
    pub page_documents: usize,
    /// How long after a customer changes hands its previous owner's last work (edits and
    /// visits made before the handover) is still taken; zero takes none.
    pub handover_grace: Duration,
    /// How fast each user (admins aside) may sync.
    pub rate_limits: RateLimits,
    /// Hours to the first response of a complaint, by priority.
    pub complaint_hours: fieldsync_core::model::complaint::ResponseHours,
    /// Where attachments are kept and how large they may be.
    pub attachments: AttachmentConfig,
    /// The backups a serving server takes by itself, if any (SQLite only).
    pub backup: Option<crate::backup::Schedule>,
}

impl Config {
    /// Defaults for a data directory.
    pub fn new(data_dir: impl Into<PathBuf>) -> Config {
        let data_dir = data_dir.into();
        Config {
            attachments: AttachmentConfig::files(data_dir.join("attachments")),
            data_dir,
            database_url: None,
            jwt_key_file: None,
            access_ttl: Duration::from_secs(15 * 60),
            refresh_ttl: Duration::from_secs(45 * 24 * 3600),
            cache_documents: 2000,
            page_documents: 2000,
            handover_grace: Duration::from_secs(30 * 24 * 3600),
            rate_limits: RateLimits::default(),
            complaint_hours: Default::default(),
            backup: None,
        }
    }
}

/// Reads the signing key, creating a random one (mode 0600) on first start.
pub fn signing_key(path: &Path) -> Result<Vec<u8>, AppError> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let key = hex::decode(text.trim()).map_err(|_| {
                AppError::Internal(format!("{} is not a hex key: delete it to make a new one (all devices must log in again)", path.display()))
            })?;
            if key.len() < 32 {
                return Err(AppError::Internal(format!(
                    "{} holds a key shorter than 32 bytes",
                    path.display()
                )));
            }
            Ok(key)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key: [u8; 32] = random_bytes()?;
            write_private(path, &hex::encode(key))?;
            Ok(key.to_vec())
        }
        Err(e) => Err(AppError::Internal(format!(
            "cannot read {}: {e}",
            path.display()
        ))),
    }
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> Result<(), AppError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| AppError::Internal(format!("cannot create {}: {e}", path.display())))?;
    f.write_all(text.as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(|e| AppError::Internal(format!("cannot write {}: {e}", path.display())))
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> Result<(), AppError> {
    std::fs::write(path, text)
        .map_err(|e| AppError::Internal(format!("cannot write {}: {e}", path.display())))
}

/// Opens the storage: the PostgreSQL database `database_url` names, or else the SQLite file
/// of the data directory (created if needed).
pub fn open_storage(
    data_dir: &Path,
    database_url: Option<&str>,
) -> Result<Arc<dyn Storage>, AppError> {
    if let Some(url) = database_url {
        return Ok(Arc::new(PgStorage::open(url)?));
    }
    std::fs::create_dir_all(data_dir).map_err(|e| {
        AppError::Internal(format!(
            "cannot create the data directory {}: {e}",
            data_dir.display()
        ))
    })?;
    Ok(Arc::new(SqliteStorage::open(data_dir)?))
}

/// Checks that this node signs with the key the other nodes on its database sign with: a
/// node with a key of its own would refuse every token the others issued. Only a fingerprint
/// of the key is stored, never the key.
fn check_shared_key(storage: &dyn Storage, key: &[u8]) -> Result<(), AppError> {
    if storage.nodes().is_none() {
        return Ok(());
    }
    let fingerprint = hex::encode(Sha256::digest(
        [b"fieldsync signing key\0".as_slice(), key].concat(),
    ));
    let kept = storage.meta_init("signing_key_fingerprint", &fingerprint)?;
    if kept != fingerprint {
        return Err(AppError::Internal(
            "this node's signing key differs from the one the other nodes on this database use: give every node the same --jwt-key-file (to change the key on purpose, stop every node and delete the row 'signing_key_fingerprint' from server_meta; every device then logs in again)".into(),
        ));
    }
    Ok(())
}

/// Builds the state the router serves.
pub fn build_state(config: &Config) -> Result<AppState, AppError> {
    let storage = open_storage(&config.data_dir, config.database_url.as_deref())?;
    let key_file = config
        .jwt_key_file
        .clone()
        .unwrap_or_else(|| config.data_dir.join("jwt.key"));
    if let Some(dir) = key_file.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| AppError::Internal(format!("cannot create {}: {e}", dir.display())))?;
    }
    let key = signing_key(&key_file)?;
    check_shared_key(&*storage, &key)?;
    let mut core = Core::new(storage, config.cache_documents)?;
    core.limits.max_documents = config.page_documents.max(1);
    core.handover_grace_secs = i64::try_from(config.handover_grace.as_secs()).unwrap_or(i64::MAX);
    core.rates = UserRates::new(config.rate_limits);
    core.complaint_hours = config.complaint_hours;
    core.attachment_settings = Some(fieldsync_core::protocol::AttachmentSettings {
        max_bytes: config.attachments.max_bytes,
        media_types: config.attachments.media_types.clone(),
    });
    let filled = core.backfill_views()?;
    if filled > 0 {
        tracing::info!(
            documents = filled,
            "read model rows written for documents stored without one"
        );
    }
    let core = Arc::new(core);
    crate::nodes::listen(&core)?;
    let limiter = Arc::new(LoginLimiter::shared(core.storage.clone()));
    let attachments = Attachments::open(config.attachments.clone()).map_err(|e| {
        AppError::Internal(format!(
            "cannot open the attachment store {}: {e}",
            config.attachments.location
        ))
    })?;
    Ok(AppState {
        attachments,
        core,
        keys: Arc::new(TokenKeys::new(&key, config.access_ttl, config.refresh_ttl)),
        limiter,
        shutdown: CancellationToken::new(),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_signing_key_is_created_once_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jwt.key");
        let first = signing_key(&path).unwrap();
        assert_eq!(first.len(), 32);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(
                mode, 0o600,
                "the key file must be readable by the server's user only"
            );
        }
        assert_eq!(
            signing_key(&path).unwrap(),
            first,
            "a restart keeps the key"
        );
        std::fs::write(&path, "short").unwrap();
        assert!(
            signing_key(&path).is_err(),
            "a damaged key file is refused, not replaced"
        );
    }
}
