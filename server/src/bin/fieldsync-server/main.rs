//! `fieldsync-server`: serve the relay, or manage its users.

mod backup;
mod config_file;
mod huge_pages;
mod logging;
mod serve;
mod status;
mod tls;
mod users;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use fieldsync_server::config::open_storage;
use fieldsync_server::storage::postgres::PgStorage;

use serve::ServeArgs;
use users::UserCommand;

/// mimalloc returns freed memory to the system and keeps long-lived documents from pinning
/// pages among the short-lived allocations of each sync round; glibc's allocator held the
/// server at several times its live memory. Without the `mimalloc` feature the system's
/// allocator serves, for heap profilers that hook `malloc`.
#[cfg(feature = "mimalloc")]
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
    /// A TOML file of settings: any long option of `serve` (and the global ones) by name, e.g.
    /// `listen = "0.0.0.0:8443"`. Environment variables override the file, flags override
    /// both. `fieldsync-server config check` shows the result.
    #[arg(long, env = config_file::CONFIG_ENV, global = true)]
    config: Option<PathBuf>,
    /// The log's format: text (no colour codes unless on a terminal) or json (one object a
    /// line, for log collectors).
    #[arg(
        long,
        env = "FIELDSYNC_LOG_FORMAT",
        global = true,
        default_value = "text"
    )]
    log_format: logging::LogFormat,
    /// What to log, as a filter: a level (`info`, `debug`) or per-module directives
    /// (`info,fieldsync::request=warn` leaves out the line per request). Default: RUST_LOG,
    /// else `info`.
    #[arg(long, env = "FIELDSYNC_LOG", global = true)]
    log: Option<String>,
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
    /// Check a configuration file and print the settings `serve` would run with (secrets
    /// masked) and where each comes from: flag, environment, file or default.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Ask a running server how it is: version, uptime, users, documents, log size, last
    /// compaction, last backup and devices seen in the last day. Needs an admin's login.
    Status(status::StatusArgs),
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

/// `fieldsync-server config …`.
#[derive(Subcommand)]
enum ConfigCommand {
    /// Validate the configuration (file, environment and these flags, which are `serve`'s)
    /// and print the effective settings of `serve`.
    Check(ServeArgs),
}

fn main() -> ExitCode {
    // First, before the heap grows.
    let huge_pages = huge_pages::keep_off();
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let (command, file) = match config_file::locate(&argv) {
        Some(path) => match config_file::apply(Cli::command(), &path) {
            Ok(applied) => applied,
            Err(message) => {
                eprintln!("error: {message}");
                return ExitCode::FAILURE;
            }
        },
        None => (Cli::command(), config_file::FileSettings::default()),
    };
    let matches = command.clone().get_matches_from(&argv);
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    if let Err(message) = logging::init(cli.log_format, cli.log.as_deref()) {
        eprintln!("error: {message}");
        return ExitCode::FAILURE;
    }
    if let Err(message) = huge_pages {
        tracing::warn!("{message}");
    }
    let outcome = run(cli, &command, &matches, &file);
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// `config check`: the settings as `serve` would take them (flags, environment, file), the
/// server's configuration checked without starting anything, and each setting printed with
/// its source.
fn check_config(
    command: &clap::Command,
    matches: &clap::ArgMatches,
    file: &config_file::FileSettings,
    args: &ServeArgs,
    data_dir: &std::path::Path,
    database_url: Option<&str>,
) -> Result<(), String> {
    match &file.path {
        Some(path) => println!("configuration file: {}", path.display()),
        None => println!(
            "configuration file: none (--config or {})",
            config_file::CONFIG_ENV
        ),
    }
    let mut settings = config_file::effective(command, matches, file);
    settings.sort_by(|a, b| a.name.cmp(&b.name));
    let width = settings.iter().map(|s| s.name.len()).max().unwrap_or(0);
    for setting in &settings {
        let value = setting.value.as_deref().unwrap_or("-");
        println!(
            "{:<width$}  {:<40}  ({})",
            setting.name, value, setting.source
        );
    }
    serve::check(args, data_dir, database_url)?;
    println!("ok: serve would start with these settings");
    Ok(())
}

fn run(
    cli: Cli,
    command: &clap::Command,
    matches: &clap::ArgMatches,
    file: &config_file::FileSettings,
) -> Result<(), String> {
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
        Command::Config {
            command: ConfigCommand::Check(args),
        } => check_config(
            command,
            matches,
            file,
            &args,
            &cli.data_dir,
            cli.database_url.as_deref(),
        ),
        Command::Status(args) => status::status(&args, file),
        Command::Backup(args) => backup::backup(args, &cli.data_dir, cli.database_url.as_deref()),
        Command::Restore(args) => backup::restore(args, &cli.data_dir, cli.database_url.as_deref()),
        Command::User { command } => {
            users::users(&cli.data_dir, cli.database_url.as_deref(), command)
        }
    }
}
