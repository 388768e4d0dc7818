//! `fieldsync-server backup` and `restore`, and the options of the backups `serve` takes by
//! itself (docs/OPERATIONS.md, "Backups").

use std::path::{Path, PathBuf};

use fieldsync_server::backup::{self, BackupSource, Schedule};
use fieldsync_server::config::open_storage;

/// What to tell an operator whose server keeps its data in PostgreSQL.
const PG_GUIDANCE: &str = "\
this server keeps its data in PostgreSQL: back the database up with PostgreSQL's own tools, for example
  pg_dump --format=custom --file=fieldsync-$(date +%Y%m%d).dump \"$FIELDSYNC_DATABASE_URL\"
restore it into a new, empty database and start a new history there before any server serves it:
  pg_restore --no-owner --dbname=\"postgres://USER:PASSWORD@HOST/NEW_DATABASE\" fieldsync-YYYYMMDD.dump
  fieldsync-server --database-url \"postgres://USER:PASSWORD@HOST/NEW_DATABASE\" restore --mark-only
and back up the signing key too (every node's --jwt-key-file):
  fieldsync-server --database-url \"$FIELDSYNC_DATABASE_URL\" backup --key-only --jwt-key-file FILE --to KEY-BACKUP.tar.gz
(see docs/OPERATIONS.md, \"PostgreSQL\")";

/// The options of `backup`.
#[derive(clap::Args)]
pub struct BackupArgs {
    /// The archive to write (a .tar.gz; it must not exist). Safe while the server serves.
    #[arg(long)]
    to: PathBuf,
    /// The signing key file, if the server is given one (default: <data-dir>/jwt.key).
    #[arg(long, env = "FIELDSYNC_JWT_KEY_FILE")]
    jwt_key_file: Option<PathBuf>,
    /// Put the attachment files (photos, receipts) in the archive too. Without it, back up the
    /// attachments folder with ordinary file tools: its files never change once written.
    #[arg(long)]
    with_attachments: bool,
    /// The server's attachments folder, if it is given one (default: <data-dir>/attachments).
    #[arg(long, env = "FIELDSYNC_ATTACHMENTS_DIR")]
    attachments_dir: Option<PathBuf>,
    /// Back up the signing key alone (for a server on PostgreSQL, whose database is backed up
    /// with pg_dump).
    #[arg(long)]
    key_only: bool,
}

/// The options of `restore`.
#[derive(clap::Args)]
pub struct RestoreArgs {
    /// The backup archive to restore into --data-dir (a new or empty directory).
    #[arg(
        long,
        required_unless_present = "mark_only",
        conflicts_with = "mark_only"
    )]
    from: Option<PathBuf>,
    /// Do not restore files: start a new history on a database that was restored by other
    /// means (pg_restore, or a database file copied back by hand), so that devices re-send
    /// what it lacks. Run it once, before any server serves the database.
    #[arg(long)]
    mark_only: bool,
}

/// `backup`: one archive of the database, the key and (on request) the attachments.
pub fn backup(args: BackupArgs, data_dir: &Path, database_url: Option<&str>) -> Result<(), String> {
    if database_url.is_some() && !args.key_only {
        return Err(PG_GUIDANCE.into());
    }
    let mut source = BackupSource::data_dir(data_dir, args.jwt_key_file.as_deref());
    if args.key_only {
        source.database = None;
    }
    let attachments = args
        .attachments_dir
        .clone()
        .unwrap_or_else(|| data_dir.join(backup::ATTACHMENTS));
    if args.with_attachments {
        source.attachments = Some(attachments.clone());
    }
    let done = backup::create(&source, &args.to).map_err(|e| e.to_string())?;
    if !args.key_only {
        // On the live database, beside the server: the health page shows it.
        let storage = open_storage(data_dir, None).map_err(|e| e.to_string())?;
        if let Err(e) = fieldsync_server::admin::record_backup(&*storage, &done, "command line") {
            eprintln!(
                "warning: the backup is written, but could not be recorded in the audit log: {e}"
            );
        }
    }
    println!(
        "backed up {} ({} files, log head {}) to {} ({} bytes)",
        if args.key_only {
            "the signing key"
        } else {
            "the database and the signing key"
        },
        done.manifest.entries.len(),
        done.manifest.log_head,
        done.path.display(),
        done.bytes
    );
    if !args.with_attachments && !args.key_only {
        println!(
            "attachments are not in it: back up {} with your file backup tool",
            attachments.display()
        );
    }
    Ok(())
}

/// `restore`: an archive into a new data directory, or a new history on a database restored
/// by other means.
pub fn restore(
    args: RestoreArgs,
    data_dir: &Path,
    database_url: Option<&str>,
) -> Result<(), String> {
    if args.mark_only {
        let storage = open_storage(data_dir, database_url).map_err(|e| e.to_string())?;
        let history = fieldsync_server::history::start_new(&*storage).map_err(|e| e.to_string())?;
        println!(
            "started history {} (forked at log head {}): devices that synced past it re-send their work at their next sync",
            history.id,
            history.forked_from.as_ref().map_or(0, |f| f.seq)
        );
        return Ok(());
    }
    let Some(from) = args.from else {
        return Err("give the backup to restore: --from FILE".into());
    };
    if database_url.is_some() {
        return Err(format!(
            "a backup archive restores a data directory (SQLite): drop --database-url and give --data-dir\n{PG_GUIDANCE}"
        ));
    }
    let restored = backup::restore(&from, data_dir).map_err(|e| e.to_string())?;
    let m = &restored.manifest;
    println!(
        "restored {} from the backup of {} (server {}, log head {}) into {}",
        if m.database {
            "the database and the signing key"
        } else {
            "the signing key"
        },
        m.created_at,
        m.server_version,
        m.log_head,
        data_dir.display()
    );
    if let Some(history) = &restored.history {
        println!(
            "new history {}: devices that synced after the backup re-send their work at their next sync",
            history.id
        );
    }
    if !m.attachments {
        println!(
            "the backup holds no attachment files: put the attachments folder back in {} (or give --attachments-dir); devices upload again what is missing",
            data_dir.join(backup::ATTACHMENTS).display()
        );
    }
    Ok(())
}

/// The options of the backups `serve` takes by itself.
#[derive(clap::Args, Clone, Debug)]
pub struct ScheduleArgs {
    /// Take a backup this often while serving (6h, 30m, 1d; SQLite only).
    #[arg(long, env = "FIELDSYNC_BACKUP_EVERY", value_parser = backup::parse_every)]
    pub backup_every: Option<std::time::Duration>,
    /// Keep this many scheduled backups; older ones are deleted.
    #[arg(long, env = "FIELDSYNC_BACKUP_KEEP", default_value_t = 7, value_parser = clap::value_parser!(u64).range(1..))]
    pub backup_keep: u64,
    /// The folder of scheduled backups (default: <data-dir>/backups; better on another disk).
    #[arg(long, env = "FIELDSYNC_BACKUP_DIR")]
    pub backup_dir: Option<PathBuf>,
}

impl ScheduleArgs {
    /// The schedule these options ask for, if any; refused for a server on PostgreSQL.
    pub fn schedule(
        &self,
        data_dir: &Path,
        database_url: Option<&str>,
        jwt_key_file: Option<&Path>,
    ) -> Result<Option<Schedule>, String> {
        let Some(every) = self.backup_every else {
            return Ok(None);
        };
        if database_url.is_some() {
            return Err(format!(
                "--backup-every backs up the SQLite database of a data directory; drop it for PostgreSQL\n{PG_GUIDANCE}"
            ));
        }
        Ok(Some(Schedule {
            every,
            keep: usize::try_from(self.backup_keep).unwrap_or(usize::MAX),
            dir: self
                .backup_dir
                .clone()
                .unwrap_or_else(|| data_dir.join("backups")),
            source: BackupSource::data_dir(data_dir, jwt_key_file),
        }))
    }
}
