//! `fieldsync-server`: serve the relay, or manage its users.

mod backup;
mod serve;
mod users;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use fieldsync_server::config::open_storage;
use fieldsync_server::storage::postgres::PgStorage;

use serve::ServeArgs;
use users::UserCommand;

/// mimalloc returns freed memory to the system and keeps long-lived documents from pinning
/// pages among the short-lived allocations of each sync round; glibc's allocator held the
/// server at several times its live memory.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "fieldsync-server",
    version,
    about = "The fieldsync relay server"
)]
struct Cli {
    /// Directory of the database and the signing key.
    #[arg(
        long,
        env = "FIELDSYNC_DATA_DIR",
        global = true,
        default_value = "./fieldsync-data"
    )]
    data_dir: PathBuf,
    /// Keep everything in this PostgreSQL database instead of the data directory's SQLite
    /// file: postgres://USER:PASSWORD@HOST:PORT/DATABASE. Any number of servers may serve one
    /// database; give each the same --jwt-key-file.
    #[arg(
        long,
        env = "FIELDSYNC_DATABASE_URL",
        global = true,
        hide_env_values = true
    )]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the sync API.
    Serve(ServeArgs),
    /// Compact the log now: changes received more than `--older-than-days` ago leave it once
    /// their documents' snapshots hold them. Devices that were offline longer get whole
    /// documents on their next sync. Safe while the server runs.
    Compact {
        /// Keep the changes of the last this many days in the log (0: compact everything).
        #[arg(long, default_value_t = 30)]
        older_than_days: u64,
    },
    /// Move an organisation from a data directory's SQLite file to an empty PostgreSQL
    /// database: users, sessions, documents and the log, so every device syncs on as before.
    /// Stop the server first; start it again with --database-url.
    Migrate {
        /// The data directory the server used.
        #[arg(long)]
        from_data_dir: PathBuf,
        /// The PostgreSQL database to move it to (empty).
        #[arg(long, env = "FIELDSYNC_DATABASE_URL", hide_env_values = true)]
        to_database_url: String,
    },
    /// Back up the database, the signing key and (with --with-attachments) the attachment
    /// files into one archive, while the server serves. A server on PostgreSQL is backed up
    /// with pg_dump: this command says how.
    Backup(backup::BackupArgs),
    /// Restore a backup into a new or empty --data-dir (the server stopped), checking every
    /// file first; devices that synced after the backup then re-send their work.
    Restore(backup::RestoreArgs),
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_http=warn".into()),
        )
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal, never into log files or journald.
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Serve(args) => serve::serve(args, cli.data_dir, cli.database_url),
        Command::Compact { older_than_days } => {
            let storage = open_storage(&cli.data_dir, cli.database_url.as_deref())
                .map_err(|e| e.to_string())?;
            let age = Duration::from_secs(older_than_days.saturating_mul(24 * 3600));
            let done = storage.compact_older_than(age).map_err(|e| e.to_string())?;
            fieldsync_server::admin::record_compaction(&*storage, &done, "command line")
                .map_err(|e| e.to_string())?;
            println!(
                "compacted the log up to {}: {} changes removed, {} documents re-snapshotted",
                done.floor, done.changes_removed, done.documents_resnapshotted
            );
            Ok(())
        }
        Command::Migrate {
            from_data_dir,
            to_database_url,
        } => {
            let target = PgStorage::open(&to_database_url).map_err(|e| e.to_string())?;
            let moved = target
                .import_sqlite(&from_data_dir)
                .map_err(|e| e.to_string())?;
            for (table, rows) in &moved.rows {
                println!("{table:<18} {rows:>10} rows");
            }
            println!(
                "moved {} to PostgreSQL (log head {}); start the server with --database-url and the same signing key ({})",
                from_data_dir.display(),
                moved.head,
                from_data_dir.join("jwt.key").display()
            );
            Ok(())
        }
        Command::Backup(args) => backup::backup(args, &cli.data_dir, cli.database_url.as_deref()),
        Command::Restore(args) => backup::restore(args, &cli.data_dir, cli.database_url.as_deref()),
        Command::User { command } => {
            users::users(&cli.data_dir, cli.database_url.as_deref(), command)
        }
    }
}
