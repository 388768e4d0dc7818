//! A samod sync server, the other side of the samod peer in the sync benchmark.
//!
//! The benchmark compares fieldsync's sync with samod (the Rust automerge-repo) on the same
//! Automerge documents. This binary is samod's server: a `Repo` on samod's filesystem storage
//! (`--data-dir`), serving samod's WebSocket protocol through axum on `--listen`. It runs as a
//! process of its own so that its memory can be read from `/proc/<pid>/status`.
//!
//! At start it imports every `*.automerge` file of `--import` (the file name, less the
//! extension, is our document id) with `Repo::create`, writes one line `<our id> <samod id>` per
//! document to `--manifest`, then prints `listening on <addr>` on stdout. It runs until killed.
//!
//! By default it does not announce documents to the peers that connect (as automerge-repo's
//! sync server does): a client asks for the documents it wants, and pushes its own.
//! `--announce` turns announcing on.
//!
//! `POST /heads` (body: samod document ids, one a line) answers one line
//! `<samod id> <head>,<head>…` (or `<samod id> missing`) per id, so that the benchmark can check
//! what the server really holds after a sync.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::str::FromStr;

use automerge::Automerge;
use axum::Router;
use axum::extract::State;
use axum::extract::ws::WebSocketUpgrade;
use axum::response::Response;
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use clap::Parser;
use futures_util::StreamExt;
use samod::storage::TokioFilesystemStorage;
use samod::{AcceptorHandle, DocumentId, PeerId, Repo, ShareConfig, Url};
use std::io::Write;

/// How many documents are imported at once.
const IMPORT_CONCURRENCY: usize = 32;

#[derive(Parser, Debug)]
#[command(about = "samod sync server for the fieldsync sync benchmark")]
struct Args {
    /// Where samod stores its documents.
    #[arg(long)]
    data_dir: PathBuf,
    /// Address to listen on, e.g. 127.0.0.1:0.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: String,
    /// A directory of `<our id>.automerge` files to import at start.
    #[arg(long)]
    import: Option<PathBuf>,
    /// Where to write the manifest of the import: `<our id> <samod id>` per line.
    #[arg(long)]
    manifest: Option<PathBuf>,
    /// Announce documents to connecting peers (off: peers ask for what they want).
    #[arg(long)]
    announce: bool,
}

#[derive(Clone)]
struct AppState {
    repo: Repo,
    acceptor: AcceptorHandle,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("samod_server: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("samod_server: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    tokio::fs::create_dir_all(&args.data_dir)
        .await
        .map_err(|e| format!("cannot create {}: {e}", args.data_dir.display()))?;
    let repo = Repo::build_tokio()
        .with_storage(TokioFilesystemStorage::new(&args.data_dir))
        .with_peer_id(PeerId::from("samod-server"))
        .with_share_policy(ShareConfig::read_write().with_announce(args.announce))
        .load()
        .await;

    if let Some(dir) = &args.import {
        let imported = import(&repo, dir).await?;
        let manifest = args
            .manifest
            .as_ref()
            .ok_or("--import needs --manifest to say where the ids go")?;
        let text: String = imported
            .iter()
            .map(|(ours, samod_id)| format!("{ours} {samod_id}\n"))
            .collect();
        std::fs::write(manifest, text)
            .map_err(|e| format!("cannot write {}: {e}", manifest.display()))?;
    }

    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("no local address: {e}"))?;
    let url = Url::parse(&format!("ws://{addr}/")).map_err(|e| format!("bad url: {e}"))?;
    let acceptor = repo
        .make_acceptor(url)
        .map_err(|e| format!("repo stopped: {e}"))?;
    let app = Router::new()
        .route("/", get(accept_websocket))
        .route("/heads", post(heads))
        .with_state(AppState {
            repo: repo.clone(),
            acceptor,
        });

    let mut stdout = std::io::stdout();
    writeln!(stdout, "listening on {addr}")
        .and_then(|()| stdout.flush())
        .map_err(|e| format!("cannot write to stdout: {e}"))?;

    // Small messages go out at once (no Nagle delay), as on the client.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app)
        .await
        .map_err(|e| format!("server stopped: {e}"))
}

/// Imports every `*.automerge` file of `dir` as a new samod document: (our id, samod id).
async fn import(repo: &Repo, dir: &Path) -> Result<Vec<(String, DocumentId)>, String> {
    let mut files = Vec::new();
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry
            .map_err(|e| format!("cannot list {}: {e}", dir.display()))?
            .path();
        if path.extension().and_then(|e| e.to_str()) != Some("automerge") {
            continue;
        }
        let Some(ours) = path.file_stem().and_then(|s| s.to_str()).map(str::to_owned) else {
            continue;
        };
        files.push((ours, path));
    }
    futures_util::stream::iter(files)
        .map(|(ours, path)| async move {
            let bytes = tokio::fs::read(&path)
                .await
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let doc = Automerge::load(&bytes)
                .map_err(|e| format!("{} is not an Automerge document: {e}", path.display()))?;
            let handle = repo
                .create(doc)
                .await
                .map_err(|e| format!("repo stopped while importing: {e}"))?;
            Ok::<_, String>((ours, handle.document_id().clone()))
        })
        .buffer_unordered(IMPORT_CONCURRENCY)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect()
}

async fn accept_websocket(State(state): State<AppState>, upgrade: WebSocketUpgrade) -> Response {
    upgrade.on_upgrade(move |socket| async move {
        if let Err(e) = state.acceptor.accept_axum(socket, None) {
            eprintln!("samod_server: connection refused: {e}");
        }
    })
}

/// The heads this server holds for each asked document id.
async fn heads(State(state): State<AppState>, body: String) -> String {
    let ids: Vec<String> = body
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    let lines: Vec<String> = futures_util::stream::iter(ids)
        .map(|id| {
            let repo = state.repo.clone();
            async move {
                let Ok(doc_id) = DocumentId::from_str(&id) else {
                    return format!("{id} invalid\n");
                };
                match repo.find(doc_id).await {
                    Ok(Some(handle)) => {
                        let heads = handle.with_document(|d| d.get_heads());
                        let heads: Vec<String> = heads.iter().map(|h| h.to_string()).collect();
                        format!("{id} {}\n", heads.join(","))
                    }
                    Ok(None) | Err(_) => format!("{id} missing\n"),
                }
            }
        })
        .buffer_unordered(IMPORT_CONCURRENCY)
        .collect()
        .await;
    lines.concat()
}
