//! `fieldsync-server`: serve the relay, or manage its users.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use axum::serve::ListenerExt;
use clap::{Parser, Subcommand};
use fieldsync_server::accounts::hash_password;
use fieldsync_server::attachments::sweep::sweep;
use fieldsync_server::attachments::{AttachmentConfig, BlobLocation};
use fieldsync_server::budget;
use fieldsync_server::config::{Config, build_state, open_storage};
use fieldsync_server::router;
use fieldsync_server::storage::postgres::PgStorage;
use fieldsync_server::storage::{Role, User};

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
    Serve {
        /// Address to listen on.
        #[arg(long, env = "FIELDSYNC_LISTEN", default_value = "127.0.0.1:8080")]
        listen: String,
        /// Signing key file (default: <data-dir>/jwt.key, created on first start).
        #[arg(long, env = "FIELDSYNC_JWT_KEY_FILE")]
        jwt_key_file: Option<PathBuf>,
        /// Access token lifetime in seconds.
        #[arg(long, env = "FIELDSYNC_ACCESS_TTL", default_value_t = 900)]
        access_ttl_secs: u64,
        /// Refresh token lifetime in days.
        #[arg(long, env = "FIELDSYNC_REFRESH_TTL_DAYS", default_value_t = 45)]
        refresh_ttl_days: u64,
        /// Documents kept in memory at most.
        #[arg(long, env = "FIELDSYNC_CACHE_DOCUMENTS", default_value_t = 2000)]
        cache_documents: usize,
        /// Documents one pull page holds at most (a page also stops at 4 MiB); a new device's
        /// first sync takes one round per page.
        #[arg(long, env = "FIELDSYNC_PAGE_DOCUMENTS", default_value_t = 2000)]
        page_documents: usize,
        /// For this many days after a customer changes hands, its previous owner's edits and
        /// visits made before the handover are still taken and reach the new owner (0: none).
        #[arg(long, env = "FIELDSYNC_HANDOVER_GRACE_DAYS", default_value_t = 30)]
        handover_grace_days: u64,
        /// Hours to the first response of a complaint by priority, sent to every device for
        /// its due lists and KPIs: any of urgent, high and normal (4, 24 and 72 by default).
        #[arg(long, env = "FIELDSYNC_COMPLAINT_HOURS", default_value = "urgent=4,high=24,normal=72",
              value_parser = fieldsync_core::model::complaint::ResponseHours::parse)]
        complaint_hours: fieldsync_core::model::complaint::ResponseHours,
        /// Sync rounds one user (admins aside) may make a minute, all at once or spread; past
        /// it the server answers 429 with Retry-After.
        #[arg(long, env = "FIELDSYNC_ROUNDS_PER_MINUTE", default_value_t = budget::DEFAULT_ROUNDS_PER_MINUTE)]
        rounds_per_minute: u64,
        /// Operations one user (admins aside) may push a minute (a character typed is one).
        #[arg(long, env = "FIELDSYNC_PUSHED_OPS_PER_MINUTE", default_value_t = budget::DEFAULT_OPS_PER_MINUTE)]
        pushed_ops_per_minute: u64,
        /// Bytes of changes one user (admins aside) may push a minute.
        #[arg(long, env = "FIELDSYNC_PUSHED_BYTES_PER_MINUTE", default_value_t = budget::DEFAULT_BYTES_PER_MINUTE)]
        pushed_bytes_per_minute: u64,
        /// Compact the log every 6 hours, dropping the changes received more than this many
        /// days ago once snapshots hold them (0: never compact while serving).
        #[arg(long, env = "FIELDSYNC_COMPACT_AFTER_DAYS", default_value_t = 30)]
        compact_after_days: u64,
        #[command(flatten)]
        attachments: AttachmentArgs,
    },
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
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
}

/// Where attachments (photos, receipts) are kept, and their limits.
#[derive(clap::Args)]
struct AttachmentArgs {
    /// The folder attachments are kept in (`<data-dir>/attachments` by default); with several
    /// server nodes, a folder they all share, or S3.
    #[arg(
        long,
        env = "FIELDSYNC_ATTACHMENTS_DIR",
        conflicts_with = "attachments_s3_bucket"
    )]
    attachments_dir: Option<PathBuf>,
    /// Keep attachments in this S3 bucket instead (it must exist; credentials from the usual
    /// AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY variables).
    #[arg(long, env = "FIELDSYNC_ATTACHMENTS_S3_BUCKET")]
    attachments_s3_bucket: Option<String>,
    /// The URL of an S3-compatible service other than AWS (MinIO, Ceph, a cloud's own).
    #[arg(
        long,
        env = "FIELDSYNC_ATTACHMENTS_S3_ENDPOINT",
        requires = "attachments_s3_bucket"
    )]
    attachments_s3_endpoint: Option<String>,
    /// The bucket's region.
    #[arg(
        long,
        env = "FIELDSYNC_ATTACHMENTS_S3_REGION",
        requires = "attachments_s3_bucket"
    )]
    attachments_s3_region: Option<String>,
    /// The largest attachment taken, in MB.
    #[arg(long, env = "FIELDSYNC_ATTACHMENT_MAX_MB", default_value_t = 25)]
    attachment_max_mb: u64,
    /// The media types attachments may have (read from their content), comma-separated.
    #[arg(long, env = "FIELDSYNC_ATTACHMENT_TYPES",
          default_value = "image/jpeg,image/png,image/heic,image/webp,application/pdf",
          value_parser = |s: &str| AttachmentConfig::parse_media_types(s).map(MediaTypes))]
    attachment_types: MediaTypes,
    /// Hours an attachment no document references any more, or an unfinished upload, is kept
    /// before it is deleted.
    #[arg(long, env = "FIELDSYNC_ATTACHMENT_GRACE_HOURS", default_value_t = 168)]
    attachment_grace_hours: u64,
}

/// A list of media types, as one option.
#[derive(Clone)]
struct MediaTypes(Vec<String>);

impl AttachmentArgs {
    fn config(self, data_dir: &std::path::Path) -> AttachmentConfig {
        let location = match self.attachments_s3_bucket {
            Some(bucket) => BlobLocation::S3 {
                bucket,
                endpoint: self.attachments_s3_endpoint,
                region: self.attachments_s3_region,
                keys: None,
            },
            None => BlobLocation::Files(
                self.attachments_dir
                    .unwrap_or_else(|| data_dir.join("attachments")),
            ),
        };
        AttachmentConfig {
            location,
            max_bytes: self.attachment_max_mb.max(1).saturating_mul(1_000_000),
            media_types: self.attachment_types.0,
            grace: Duration::from_secs(self.attachment_grace_hours.saturating_mul(3600)),
        }
    }
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a user; the password is read from standard input (or the variable --password-env names).
    Add {
        /// Login name.
        #[arg(long)]
        username: String,
        /// rep, manager or admin.
        #[arg(long)]
        role: String,
        /// A territory (repeat for several).
        #[arg(long = "territory")]
        territories: Vec<String>,
        /// The user's manager.
        #[arg(long)]
        manager: Option<String>,
        /// Read the password from this environment variable instead of standard input.
        #[arg(long)]
        password_env: Option<String>,
    },
    /// List users.
    List,
    /// Disable a user: no more logins, refreshes or syncs; their devices are logged out and
    /// told the account is disabled.
    Disable {
        /// Login name.
        #[arg(long)]
        username: String,
    },
    /// Enable a disabled user again; they log in anew on each device.
    Enable {
        /// Login name.
        username: String,
    },
    /// Set a new password for a user (a forgotten one); read from standard input (or the
    /// variable --password-env names). Devices already logged in stay logged in.
    Password {
        /// Login name.
        username: String,
        /// Read the password from this environment variable instead of standard input.
        #[arg(long)]
        password_env: Option<String>,
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
        Command::Serve {
            listen,
            jwt_key_file,
            access_ttl_secs,
            refresh_ttl_days,
            cache_documents,
            page_documents,
            handover_grace_days,
            complaint_hours,
            rounds_per_minute,
            pushed_ops_per_minute,
            pushed_bytes_per_minute,
            compact_after_days,
            attachments,
        } => {
            let mut config = Config::new(&cli.data_dir);
            config.attachments = attachments.config(&cli.data_dir);
            config.database_url = cli.database_url;
            config.jwt_key_file = jwt_key_file;
            config.access_ttl = Duration::from_secs(access_ttl_secs.max(1));
            config.refresh_ttl = Duration::from_secs(refresh_ttl_days.max(1) * 24 * 3600);
            config.cache_documents = cache_documents;
            config.page_documents = page_documents;
            config.handover_grace =
                Duration::from_secs(handover_grace_days.saturating_mul(24 * 3600));
            config.complaint_hours = complaint_hours;
            config.rate_limits = budget::RateLimits {
                rounds: budget::Rate::per_minute(rounds_per_minute.max(1)),
                ops: budget::Rate::per_minute(pushed_ops_per_minute.max(1)),
                bytes: budget::Rate::per_minute(pushed_bytes_per_minute.max(1)),
            };
            serve(config, &listen, compact_after_days)
        }
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
        Command::User { command } => users(&cli.data_dir, cli.database_url.as_deref(), command),
    }
}

/// How often a serving server deletes attachments nothing references any more.
const SWEEP_EVERY: Duration = Duration::from_secs(3600);

/// How often a serving server compacts its log.
const COMPACT_EVERY: Duration = Duration::from_secs(6 * 3600);

fn serve(config: Config, listen: &str, compact_after_days: u64) -> Result<(), String> {
    let state = build_state(&config).map_err(|e| e.to_string())?;
    if state
        .core
        .storage
        .users()
        .map_err(|e| e.to_string())?
        .is_empty()
    {
        eprintln!(
            "no users yet: add the first admin with\n  fieldsync-server {} user add --username admin --role admin",
            storage_option(&config.data_dir, config.database_url.as_deref())
        );
    }
    // The storage may hold blocking database clients (PostgreSQL's), which must not be dropped
    // inside the runtime: this reference outlives it, so the storage goes last, outside.
    let core = state.core.clone();
    let runtime =
        tokio::runtime::Runtime::new().map_err(|e| format!("cannot start the runtime: {e}"))?;
    let served = runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        tracing::info!(%addr, data_dir = %config.data_dir.display(), "fieldsync-server listening");
        println!("listening on {addr}");
        let _ = std::io::stdout().flush();
        let shutdown = state.shutdown.clone();
        if compact_after_days > 0 {
            let core = state.core.clone();
            let age = Duration::from_secs(compact_after_days * 24 * 3600);
            tokio::spawn(async move {
                let mut every = tokio::time::interval(COMPACT_EVERY);
                loop {
                    every.tick().await;
                    let core = core.clone();
                    match tokio::task::spawn_blocking(move || {
                        let done = core.storage.compact_older_than(age)?;
                        if let Err(e) = fieldsync_server::admin::record_compaction(
                            &*core.storage,
                            &done,
                            "server",
                        ) {
                            tracing::warn!("the compaction could not be recorded: {e}");
                        }
                        Ok::<_, fieldsync_server::storage::StorageError>(done)
                    })
                    .await
                    {
                        Ok(Ok(done)) => tracing::info!(?done, "log compacted"),
                        Ok(Err(e)) => tracing::warn!("log compaction failed: {e}"),
                        Err(e) => tracing::warn!("log compaction stopped: {e}"),
                    }
                }
            });
        }
        {
            let (core, attachments) = (state.core.clone(), state.attachments.clone());
            tokio::spawn(async move {
                let mut every = tokio::time::interval(SWEEP_EVERY);
                loop {
                    every.tick().await;
                    match sweep(core.clone(), attachments.clone()).await {
                        Ok(swept) => tracing::info!(?swept, "attachments swept"),
                        Err(e) => tracing::warn!("attachment sweep failed: {e}"),
                    }
                }
            });
        }
        // Answers go out at once: without TCP_NODELAY a response written in two pieces waits
        // for the client's delayed acknowledgement (about 40 ms on Linux).
        let listener = listener.tap_io(|tcp| {
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::warn!("cannot set TCP_NODELAY: {e}");
            }
        });
        axum::serve(
            listener,
            router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            wait_for_signal().await;
            tracing::info!("shutting down");
            shutdown.cancel();
        })
        .await
        .map_err(|e| format!("server failed: {e}"))
    });
    drop(runtime);
    drop(core);
    served
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The option naming where the data is, for a command to copy (without the database's
/// password, which stays in the operator's hands).
fn storage_option(data_dir: &std::path::Path, database_url: Option<&str>) -> String {
    match database_url {
        Some(_) => "--database-url postgres://…".into(),
        None => format!("--data-dir {}", data_dir.display()),
    }
}

fn read_password(password_env: Option<String>) -> Result<String, String> {
    let password = match password_env {
        Some(var) => std::env::var(&var).map_err(|_| format!("the variable {var} is not set"))?,
        None => {
            if std::io::stdin().is_terminal() {
                eprint!("password: ");
                let _ = std::io::stderr().flush();
            }
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .map_err(|e| format!("cannot read the password: {e}"))?;
            line.trim_end_matches(['\r', '\n']).to_string()
        }
    };
    if password.chars().count() < 8 {
        return Err("the password must be at least 8 characters".into());
    }
    Ok(password)
}

fn users(
    data_dir: &std::path::Path,
    database_url: Option<&str>,
    command: UserCommand,
) -> Result<(), String> {
    let storage = open_storage(data_dir, database_url).map_err(|e| e.to_string())?;
    match command {
        UserCommand::Add {
            username,
            role,
            territories,
            manager,
            password_env,
        } => {
            let role = Role::parse(&role)
                .ok_or_else(|| format!("unknown role '{role}': use rep, manager or admin"))?;
            fieldsync_core::model::fields::validate_username("username", &username)
                .map_err(|e| e.to_string())?;
            if let Some(m) = &manager {
                let found = storage.user(m).map_err(|e| e.to_string())?;
                if !found.is_some_and(|u| u.role != Role::Rep) {
                    return Err(format!(
                        "manager '{m}' is not a manager or admin here: add them first"
                    ));
                }
            }
            let password = read_password(password_env)?;
            let user = User {
                username: username.clone(),
                role,
                territories,
                manager,
                disabled: false,
                password_hash: hash_password(&password).map_err(|e| e.to_string())?,
            };
            storage.add_user(&user).map_err(|e| e.to_string())?;
            println!("{}", added_line(&user));
            Ok(())
        }
        UserCommand::List => {
            let users = storage.users().map_err(|e| e.to_string())?;
            if users.is_empty() {
                eprintln!(
                    "no users yet: add the first admin with\n  fieldsync-server {} user add --username admin --role admin",
                    storage_option(data_dir, database_url)
                );
                return Ok(());
            }
            println!(
                "{:<20} {:<8} {:<10} {:<16} territories",
                "username", "role", "status", "manager"
            );
            for u in users {
                println!(
                    "{:<20} {:<8} {:<10} {:<16} {}",
                    u.username,
                    u.role.as_str(),
                    if u.disabled { "disabled" } else { "active" },
                    u.manager.as_deref().unwrap_or("-"),
                    u.territories.join(",")
                );
            }
            Ok(())
        }
        UserCommand::Disable { username } => {
            if storage
                .set_disabled(&username, true)
                .map_err(|e| e.to_string())?
            {
                println!("disabled {username}; their devices are logged out");
                Ok(())
            } else {
                Err(no_user(&username))
            }
        }
        UserCommand::Enable { username } => {
            let user = storage
                .user(&username)
                .map_err(|e| e.to_string())?
                .ok_or_else(|| no_user(&username))?;
            if !user.disabled {
                println!("{username} is already enabled");
                return Ok(());
            }
            storage
                .set_disabled(&username, false)
                .map_err(|e| e.to_string())?;
            println!("enabled {username}; they log in again on each device");
            Ok(())
        }
        UserCommand::Password {
            username,
            password_env,
        } => {
            if storage
                .user(&username)
                .map_err(|e| e.to_string())?
                .is_none()
            {
                return Err(no_user(&username));
            }
            let password = read_password(password_env)?;
            let hash = hash_password(&password).map_err(|e| e.to_string())?;
            if !storage
                .set_password_hash(&username, &hash)
                .map_err(|e| e.to_string())?
            {
                return Err(no_user(&username));
            }
            println!("password of {username} changed; their devices stay logged in");
            Ok(())
        }
    }
}

fn no_user(username: &str) -> String {
    format!("no user '{username}': list the users with `fieldsync-server user list`")
}

/// The one line `user add` prints: "added rep li.wei (territories: east; manager: zhang)".
fn added_line(user: &User) -> String {
    let territories = if user.territories.is_empty() {
        "none".to_string()
    } else {
        user.territories.join(", ")
    };
    let manager = user.manager.as_deref().unwrap_or("none");
    format!(
        "added {} {} (territories: {territories}; manager: {manager})",
        user.role.as_str(),
        user.username
    )
}
