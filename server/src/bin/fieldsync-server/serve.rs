//! `fieldsync-server serve`: its options, and the serving loop with its periodic work
//! (compaction, the attachment sweep) and its graceful shutdown.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use axum_server::accept::NoDelayAcceptor;
use fieldsync_server::attachments::sweep::sweep;
use fieldsync_server::attachments::{AttachmentConfig, BlobLocation};
use fieldsync_server::budget;
use fieldsync_server::config::{Config, build_state};
use fieldsync_server::router;

use crate::tls;

/// The options of `serve`.
#[derive(clap::Args)]
pub struct ServeArgs {
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
    /// Serve HTTPS with this certificate chain (PEM, the server's certificate first) instead
    /// of plain HTTP. The certificate and key are read again on SIGHUP, so a renewed
    /// certificate needs no restart.
    #[arg(long, env = "FIELDSYNC_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key (PEM: PKCS#8, PKCS#1 or SEC1) of --tls-cert.
    #[arg(long, env = "FIELDSYNC_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// On SIGTERM or Ctrl-C, seconds to let rounds in flight finish before the connections
    /// left are closed (new connections are refused at once; event streams end at once).
    #[arg(long, env = "FIELDSYNC_SHUTDOWN_GRACE_SECS", default_value_t = 20)]
    shutdown_grace_secs: u64,
    #[command(flatten)]
    attachments: AttachmentArgs,
    #[command(flatten)]
    backup: crate::backup::ScheduleArgs,
}

/// Serve with these options until SIGTERM or Ctrl-C.
pub fn serve(
    args: ServeArgs,
    data_dir: PathBuf,
    database_url: Option<String>,
) -> Result<(), String> {
    let mut config = config(&args, &data_dir, database_url);
    config.backup = args.backup.schedule(
        &data_dir,
        config.database_url.as_deref(),
        args.jwt_key_file.as_deref(),
    )?;
    let listener = Listener {
        address: args.listen.clone(),
        tls: tls_files(&args),
        grace: Duration::from_secs(args.shutdown_grace_secs),
    };
    run(config, listener, args.compact_after_days)
}

/// Checks what `serve` would need before it starts, without starting it: the TLS files
/// load. (The database and the key are opened by `serve` itself, which says what is wrong.)
pub fn check(
    args: &ServeArgs,
    _data_dir: &Path,
    _database_url: Option<&str>,
) -> Result<(), String> {
    if let Some(files) = tls_files(args) {
        tls::server_config(&files)?;
    }
    Ok(())
}

fn tls_files(args: &ServeArgs) -> Option<tls::TlsFiles> {
    match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(tls::TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
        }),
        _ => None,
    }
}

/// The server's configuration from the options.
fn config(args: &ServeArgs, data_dir: &Path, database_url: Option<String>) -> Config {
    let mut config = Config::new(data_dir);
    config.attachments = args.attachments.config(data_dir);
    config.database_url = database_url;
    config.jwt_key_file = args.jwt_key_file.clone();
    config.access_ttl = Duration::from_secs(args.access_ttl_secs.max(1));
    config.refresh_ttl = Duration::from_secs(args.refresh_ttl_days.max(1) * 24 * 3600);
    config.cache_documents = args.cache_documents;
    config.page_documents = args.page_documents;
    config.handover_grace = Duration::from_secs(args.handover_grace_days.saturating_mul(24 * 3600));
    config.complaint_hours = args.complaint_hours;
    config.rate_limits = budget::RateLimits {
        rounds: budget::Rate::per_minute(args.rounds_per_minute.max(1)),
        ops: budget::Rate::per_minute(args.pushed_ops_per_minute.max(1)),
        bytes: budget::Rate::per_minute(args.pushed_bytes_per_minute.max(1)),
    };
    config
}

/// Where and how the server listens.
struct Listener {
    address: String,
    tls: Option<tls::TlsFiles>,
    grace: Duration,
}

/// Where attachments (photos, receipts) are kept, and their limits.
#[derive(clap::Args)]
pub struct AttachmentArgs {
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
    fn config(&self, data_dir: &Path) -> AttachmentConfig {
        let location = match self.attachments_s3_bucket.clone() {
            Some(bucket) => BlobLocation::S3 {
                bucket,
                endpoint: self.attachments_s3_endpoint.clone(),
                region: self.attachments_s3_region.clone(),
                keys: None,
            },
            None => BlobLocation::Files(
                self.attachments_dir
                    .clone()
                    .unwrap_or_else(|| data_dir.join("attachments")),
            ),
        };
        AttachmentConfig {
            location,
            max_bytes: self.attachment_max_mb.max(1).saturating_mul(1_000_000),
            media_types: self.attachment_types.0.clone(),
            grace: Duration::from_secs(self.attachment_grace_hours.saturating_mul(3600)),
        }
    }
}

/// How often a serving server deletes attachments nothing references any more.
const SWEEP_EVERY: Duration = Duration::from_secs(3600);

/// How often a serving server compacts its log.
const COMPACT_EVERY: Duration = Duration::from_secs(6 * 3600);

fn run(config: Config, listener: Listener, compact_after_days: u64) -> Result<(), String> {
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
            crate::users::storage_option(&config.data_dir, config.database_url.as_deref())
        );
    }
    // The storage may hold blocking database clients (PostgreSQL's), which must not be dropped
    // inside the runtime: this reference outlives it, so the storage goes last, outside.
    let core = state.core.clone();
    let runtime =
        tokio::runtime::Runtime::new().map_err(|e| format!("cannot start the runtime: {e}"))?;
    let served = runtime.block_on(async move {
        let listen = &listener.address;
        let socket = std::net::TcpListener::bind(listen)
            .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
        let addr = socket.local_addr().map_err(|e| e.to_string())?;
        let scheme = if listener.tls.is_some() { "https" } else { "http" };
        tracing::info!(%addr, scheme, data_dir = %config.data_dir.display(), "fieldsync-server listening");
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
        if let Some(schedule) = config.backup.clone() {
            // Scheduled backups: the first one an interval after the start.
            let core = state.core.clone();
            tokio::spawn(async move {
                let start = tokio::time::Instant::now() + schedule.every;
                let mut every = tokio::time::interval_at(start, schedule.every);
                loop {
                    every.tick().await;
                    let (core, schedule) = (core.clone(), schedule.clone());
                    match tokio::task::spawn_blocking(move || {
                        let (done, pruned) = schedule.run_once()?;
                        if let Err(e) =
                            fieldsync_server::admin::record_backup(&*core.storage, &done, "server")
                        {
                            tracing::warn!("the backup could not be recorded: {e}");
                        }
                        Ok::<_, fieldsync_server::backup::BackupError>((done, pruned))
                    })
                    .await
                    {
                        Ok(Ok((done, pruned))) => tracing::info!(
                            path = %done.path.display(),
                            bytes = done.bytes,
                            log_head = done.manifest.log_head,
                            pruned = pruned.len(),
                            "backup written"
                        ),
                        Ok(Err(e)) => tracing::error!("scheduled backup failed: {e}"),
                        Err(e) => tracing::error!("scheduled backup stopped: {e}"),
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
        let handle = axum_server::Handle::new();
        {
            let handle = handle.clone();
            let grace = listener.grace;
            tokio::spawn(async move {
                wait_for_signal().await;
                tracing::info!(
                    grace_secs = grace.as_secs(),
                    "shutting down: no new connections; rounds in flight may finish"
                );
                // Event streams end now: they would otherwise hold their connections open
                // for the whole grace period.
                shutdown.cancel();
                handle.graceful_shutdown(Some(grace));
            });
        }
        let app = router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
        let server = axum_server::from_tcp(socket)
            .map_err(|e| format!("cannot listen on {listen}: {e}"))?
            .handle(handle);
        // Answers go out at once: without TCP_NODELAY a response written in two pieces waits
        // for the client's delayed acknowledgement (about 40 ms on Linux).
        let served = match &listener.tls {
            Some(files) => {
                let tls = tls::Reloadable::load(files.clone())?;
                tls.reload_on_sighup();
                server
                    .acceptor(tls.acceptor().acceptor(NoDelayAcceptor::new()))
                    .serve(app)
                    .await
            }
            None => server.acceptor(NoDelayAcceptor::new()).serve(app).await,
        };
        served.map_err(|e| format!("server failed: {e}"))
    });
    // Blocking work still running (a commit under way) gets a bounded time to end; a round
    // whose answer was not sent is simply sent again by its device.
    runtime.shutdown_timeout(SHUTDOWN_BLOCKING_WAIT);
    drop(core);
    served
}

/// How long blocking work may still run once the server stopped answering.
const SHUTDOWN_BLOCKING_WAIT: Duration = Duration::from_secs(10);

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
