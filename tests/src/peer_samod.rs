//! The samod side of the sync benchmark: the same scenarios fieldsync is measured on, run with
//! samod 0.16 (the Rust automerge-repo) on the same Automerge documents.
//!
//! Each scenario starts the `samod_server` binary (a separate process, so that its memory can be
//! read from `/proc/<pid>/status`) on documents it imports, prepares a samod client repo in this
//! process on samod's filesystem storage, then times one thing: connecting the client and
//! syncing until every document in the client's scope is in sync. Setup is not timed.
//!
//! What is counted, and how:
//! - **bytes**: every byte the client's TCP socket reads and writes (HTTP upgrade, WebSocket
//!   framing and samod's messages), counted by a wrapper around the socket;
//! - **messages**: samod messages, i.e. binary WebSocket messages, each way, counted where the
//!   client's transport hands them to samod and takes them from it;
//! - **memory**: the peak RSS (`VmHWM`) of the server process and of this process over the timed
//!   part, after resetting it by writing `5` to `/proc/<pid>/clear_refs` (Linux).
//!
//! Both repos keep their documents on samod's filesystem storage in a temporary directory
//! (`TMPDIR`, /tmp by default): the server in its own process, the client in this one. The
//! server does not announce documents; the client asks for every document of its scope once
//! connected, and announces its own.
//!
//! "In sync" is samod's own view, per document: the heads the server last said it has equal the
//! client's heads, and both equal the heads expected from the input (the merge of both sides).
//! After the timer stops the server is asked over HTTP what it really holds; any difference is
//! an error, so a run that did not converge never reports figures.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::{Child, Command, Stdio};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use automerge::{Automerge, ChangeHash};
use futures_util::future::BoxFuture;
use futures_util::{SinkExt, StreamExt};
use samod::storage::{Storage, StorageKey, TokioFilesystemStorage};
use samod::{
    BackoffConfig, ConnectionId, DialError, Dialer, DocHandle, DocumentId, PeerDocState, PeerId,
    Repo, Transport, Url,
};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::{self, Message};

/// The longest any wait may take: server start, connect, or the sync itself.
pub const WAIT_LIMIT: Duration = Duration::from_secs(600);

/// What one timed run of a scenario measured.
#[derive(Debug, Clone, PartialEq)]
pub struct PeerRun {
    /// Wall time from connecting to every document in sync, in milliseconds.
    pub millis: f64,
    /// Bytes the client sent on its socket (HTTP upgrade and WebSocket framing included).
    pub bytes_up: u64,
    /// Bytes the client received on its socket.
    pub bytes_down: u64,
    /// samod messages (binary WebSocket messages) the client sent.
    pub messages_up: u64,
    /// samod messages the client received.
    pub messages_down: u64,
    /// Peak RSS of the server process during the timed part, in KiB (since the start of the
    /// process where resetting the peak was refused).
    pub server_peak_rss_kib: u64,
    /// Peak RSS of this process (the client) during the timed part, in KiB; `None` where the
    /// peak could not be reset or read.
    pub client_peak_rss_kib: Option<u64>,
}

/// Where the `samod_server` binary is: `$SAMOD_SERVER_BIN`, or beside the running executable
/// (`target/<profile>/`, also from a test in `target/<profile>/deps/`).
pub fn server_binary() -> Result<PathBuf, String> {
    crate::server::binary_beside_me(
        "samod_server",
        "SAMOD_SERVER_BIN",
        "build it with `cargo build --release -p tests --bin samod_server`",
    )
}

/// Scenario 1, a new device: the server holds `server_docs` (our id, saved bytes); a client
/// with no documents, told every id, fetches them all.
pub fn new_device(server_bin: &Path, server_docs: &[(String, Vec<u8>)]) -> Result<PeerRun, String> {
    run(server_bin, overlay(&[], server_docs), BTreeMap::new())
}

/// Scenario 2, back from the trip: both sides held `common`; the client now holds
/// `client_docs` and the server `server_docs` (full saved bytes after each side's changes,
/// documents new to that side included; a common document missing from one of them is
/// unchanged on that side). The client reconnects and syncs every document of either side.
pub fn back_from_trip(
    server_bin: &Path,
    common: &[(String, Vec<u8>)],
    client_docs: &[(String, Vec<u8>)],
    server_docs: &[(String, Vec<u8>)],
) -> Result<PeerRun, String> {
    run(
        server_bin,
        overlay(common, server_docs),
        overlay(common, client_docs),
    )
}

/// Scenario 3, nothing changed: both sides hold `docs`; the client reconnects and samod checks
/// every document.
pub fn nothing_changed(server_bin: &Path, docs: &[(String, Vec<u8>)]) -> Result<PeerRun, String> {
    run(server_bin, overlay(&[], docs), overlay(&[], docs))
}

/// `base` with the documents of `over` put in place of (or beside) its own.
fn overlay(base: &[(String, Vec<u8>)], over: &[(String, Vec<u8>)]) -> BTreeMap<String, Vec<u8>> {
    base.iter().chain(over).cloned().collect()
}

/// One document of the run, as the client sees it.
struct ScopeDoc {
    ours: String,
    samod_id: DocumentId,
    /// Sorted heads both sides must end with.
    expected: Vec<ChangeHash>,
}

fn run(
    server_bin: &Path,
    server_state: BTreeMap<String, Vec<u8>>,
    client_state: BTreeMap<String, Vec<u8>>,
) -> Result<PeerRun, String> {
    let expected = expected_heads(&server_state, &client_state)?;
    let tmp = tempfile::tempdir().map_err(|e| format!("cannot make a temporary directory: {e}"))?;
    let import_dir = tmp.path().join("import");
    std::fs::create_dir_all(&import_dir).map_err(|e| format!("cannot create import dir: {e}"))?;
    for (ours, bytes) in &server_state {
        let path = import_dir.join(format!("{ours}.automerge"));
        std::fs::write(&path, bytes)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    let server = ServerProcess::start(server_bin, tmp.path())?;

    // The client knows the server's documents by the server's samod ids (as from an index);
    // its own new documents get new ids.
    let mut scope = Vec::with_capacity(expected.len());
    for (ours, heads) in expected {
        let samod_id = match server.manifest.get(&ours) {
            Some(id) => id.clone(),
            None => DocumentId::new(&mut rand::rng()),
        };
        scope.push(ScopeDoc {
            ours,
            samod_id,
            expected: heads,
        });
    }
    let client_docs: Vec<(DocumentId, Vec<u8>)> = scope
        .iter()
        .filter_map(|d| {
            client_state
                .get(&d.ours)
                .map(|bytes| (d.samod_id.clone(), bytes.clone()))
        })
        .collect();
    drop(client_state);
    drop(server_state);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a tokio runtime: {e}"))?;
    let timed = runtime.block_on(sync_client(
        &tmp.path().join("client"),
        client_docs,
        &scope,
        &server,
    ))?;
    drop(runtime);

    let server_peak_rss_kib = peak_rss_kib(&format!("/proc/{}/status", server.pid()))
        .ok_or("cannot read the server's peak RSS")?;
    server.check_heads(&scope)?;
    Ok(PeerRun {
        server_peak_rss_kib,
        ..timed
    })
}

/// For every document of either side, the sorted heads of the merge of both sides' copies.
fn expected_heads(
    server: &BTreeMap<String, Vec<u8>>,
    client: &BTreeMap<String, Vec<u8>>,
) -> Result<BTreeMap<String, Vec<ChangeHash>>, String> {
    let ids: BTreeSet<&String> = server.keys().chain(client.keys()).collect();
    let mut out = BTreeMap::new();
    for id in ids {
        let mut merged = Automerge::new();
        for bytes in [server.get(id), client.get(id)].into_iter().flatten() {
            let mut doc = Automerge::load(bytes)
                .map_err(|e| format!("document {id} is not an Automerge document: {e}"))?;
            merged
                .merge(&mut doc)
                .map_err(|e| format!("cannot merge the two copies of {id}: {e}"))?;
        }
        let mut heads = merged.get_heads();
        heads.sort();
        out.insert(id.clone(), heads);
    }
    Ok(out)
}

/// The timed part, on the client: connect, find every document of the scope, wait until each
/// is in sync. Returns the figures but the server's memory.
async fn sync_client(
    dir: &Path,
    client_docs: Vec<(DocumentId, Vec<u8>)>,
    scope: &[ScopeDoc],
    server: &ServerProcess,
) -> Result<PeerRun, String> {
    // The client's starting state: its documents, saved where samod's filesystem storage
    // keeps snapshots (`<doc id>/snapshot/<name>`), under the ids the server knows them by.
    let storage = TokioFilesystemStorage::new(dir);
    for (id, bytes) in client_docs {
        let key = StorageKey::from_parts([id.to_string(), "snapshot".to_owned(), "0".to_owned()])
            .map_err(|e| format!("bad storage key for {id}: {e}"))?;
        Storage::put(&storage, key, bytes).await;
    }
    let repo = Repo::build_tokio()
        .with_storage(storage)
        .with_peer_id(PeerId::from("samod-client"))
        .load()
        .await;
    let counters = Arc::new(Counters::default());
    let dialer = CountingWsDialer::new(server.addr, counters.clone())?;

    let client_reset = reset_peak_rss("/proc/self/clear_refs");
    // Refused resets leave the server's peak since its start: still an upper bound.
    let _ = reset_peak_rss(&format!("/proc/{}/clear_refs", server.pid()));
    let started = Instant::now();

    let outcome = tokio::time::timeout(WAIT_LIMIT, async {
        let handle = repo
            .dial(
                BackoffConfig {
                    max_retries: Some(3),
                    ..BackoffConfig::default()
                },
                Arc::new(dialer),
            )
            .map_err(|e| format!("the client repo stopped: {e}"))?;
        handle
            .established()
            .await
            .map_err(|e| format!("cannot connect to the samod server: {e}"))?;
        let conn = handle
            .connection_id()
            .ok_or("connected, but samod gives no connection id")?;
        let waits = scope
            .iter()
            .map(|doc| settle(&repo, doc.samod_id.clone(), conn, &doc.expected));
        futures_util::future::try_join_all(waits).await?;
        handle.close();
        Ok::<_, String>(())
    })
    .await;
    let elapsed = started.elapsed();
    let client_peak_rss_kib = if client_reset {
        peak_rss_kib("/proc/self/status")
    } else {
        None
    };
    let _ = tokio::time::timeout(Duration::from_secs(30), repo.stop()).await;
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(e),
        Err(_) => {
            return Err(format!(
                "samod did not sync within {} s",
                WAIT_LIMIT.as_secs()
            ));
        }
    }
    Ok(PeerRun {
        millis: elapsed.as_secs_f64() * 1000.0,
        bytes_up: counters.bytes_up.load(Ordering::Relaxed),
        bytes_down: counters.bytes_down.load(Ordering::Relaxed),
        messages_up: counters.messages_up.load(Ordering::Relaxed),
        messages_down: counters.messages_down.load(Ordering::Relaxed),
        server_peak_rss_kib: 0,
        client_peak_rss_kib,
    })
}

/// Finds one document and waits until the server's last stated heads, the client's heads and
/// `expected` (sorted) are all the same.
async fn settle(
    repo: &Repo,
    id: DocumentId,
    conn: ConnectionId,
    expected: &[ChangeHash],
) -> Result<(), String> {
    let handle = repo
        .find(id.clone())
        .await
        .map_err(|e| format!("the client repo stopped: {e}"))?
        .ok_or_else(|| format!("samod found no document {id}"))?;
    // Subscribe to both before looking, so that no change slips between look and subscription.
    let mut local_changes = handle.changes();
    let (now, mut peer_changes) = handle.peers();
    let mut theirs: Option<PeerDocState> = now.get(&conn).cloned();
    loop {
        if in_sync(&handle, theirs.as_ref(), expected) {
            return Ok(());
        }
        tokio::select! {
            changed = peer_changes.next() => match changed {
                Some(changed) => {
                    if let Some(state) = changed.get(&conn) {
                        theirs = Some(state.clone());
                    }
                }
                None => return Err(format!("the client repo stopped while syncing {id}")),
            },
            changed = local_changes.next() => {
                if changed.is_none() {
                    return Err(format!("the client repo stopped while syncing {id}"));
                }
            }
        }
    }
}

fn in_sync(handle: &DocHandle, theirs: Option<&PeerDocState>, expected: &[ChangeHash]) -> bool {
    let Some(their_heads) = theirs.and_then(|s| s.their_heads.as_ref()) else {
        return false;
    };
    let mut their_heads = their_heads.clone();
    their_heads.sort();
    if their_heads != expected {
        return false;
    }
    let mut ours = handle.with_document(|d| d.get_heads());
    ours.sort();
    ours == expected
}

/// Resets the peak RSS of a process (Linux: `5` to its `clear_refs`); false where refused.
fn reset_peak_rss(clear_refs: &str) -> bool {
    std::fs::write(clear_refs, "5").is_ok()
}

/// `VmHWM` of a `/proc/<pid>/status` file, in KiB.
fn peak_rss_kib(status: &str) -> Option<u64> {
    let text = std::fs::read_to_string(status).ok()?;
    let line = text.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Byte and message counts of the client's connection.
#[derive(Default, Debug)]
struct Counters {
    bytes_up: AtomicU64,
    bytes_down: AtomicU64,
    messages_up: AtomicU64,
    messages_down: AtomicU64,
}

/// The client's TCP socket, counting every byte read and written.
struct CountingSocket {
    inner: TcpStream,
    counters: Arc<Counters>,
}

impl AsyncRead for CountingSocket {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            let read = buf.filled().len().saturating_sub(before);
            self.counters
                .bytes_down
                .fetch_add(read as u64, Ordering::Relaxed);
        }
        polled
    }
}

impl AsyncWrite for CountingSocket {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(written)) = polled {
            self.counters
                .bytes_up
                .fetch_add(written as u64, Ordering::Relaxed);
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(written)) = polled {
            self.counters
                .bytes_up
                .fetch_add(written as u64, Ordering::Relaxed);
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// A failure of the client's WebSocket, as samod's transport wants it.
#[derive(Debug)]
struct WireError(String);

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for WireError {}

/// Dials the samod server's WebSocket over a [`CountingSocket`], counting samod's messages.
struct CountingWsDialer {
    addr: SocketAddr,
    url: Url,
    counters: Arc<Counters>,
}

impl CountingWsDialer {
    fn new(addr: SocketAddr, counters: Arc<Counters>) -> Result<Self, String> {
        let url = Url::parse(&format!("ws://{addr}/")).map_err(|e| format!("bad url: {e}"))?;
        Ok(Self {
            addr,
            url,
            counters,
        })
    }
}

impl Dialer for CountingWsDialer {
    type Error = WireError;

    fn url(&self) -> Url {
        self.url.clone()
    }

    fn connect(&self) -> BoxFuture<'static, Result<Transport, DialError<WireError>>> {
        let addr = self.addr;
        let url = self.url.to_string();
        let counters = self.counters.clone();
        Box::pin(async move {
            let tcp = TcpStream::connect(addr)
                .await
                .map_err(DialError::transient)?;
            tcp.set_nodelay(true).map_err(DialError::transient)?;
            let socket = CountingSocket {
                inner: tcp,
                counters: counters.clone(),
            };
            let (ws, _response) = tokio_tungstenite::client_async(url, socket)
                .await
                .map_err(DialError::transient)?;
            let (sink, stream) = ws.split();
            let down = counters.clone();
            let stream = stream.filter_map(move |msg| {
                let item = match msg {
                    Ok(Message::Binary(bytes)) => {
                        down.messages_down.fetch_add(1, Ordering::Relaxed);
                        Some(Ok(bytes.to_vec()))
                    }
                    Ok(Message::Text(_)) => Some(Err(WireError(
                        "the server sent text on samod's binary protocol".to_owned(),
                    ))),
                    Ok(Message::Close(_) | Message::Ping(_) | Message::Pong(_))
                    | Ok(Message::Frame(_)) => None,
                    Err(e) => Some(Err(WireError(format!("websocket receive error: {e}")))),
                };
                futures_util::future::ready(item)
            });
            let up = counters;
            let sink = sink.with(move |bytes: Vec<u8>| {
                up.messages_up.fetch_add(1, Ordering::Relaxed);
                futures_util::future::ready(Ok::<_, tungstenite::Error>(Message::Binary(
                    bytes.into(),
                )))
            });
            Ok(Transport::new(Box::pin(stream), sink))
        })
    }
}

/// A running `samod_server`, killed (by its pid) when dropped.
struct ServerProcess {
    child: Child,
    addr: SocketAddr,
    /// Our id -> samod document id, of every imported document.
    manifest: BTreeMap<String, DocumentId>,
}

impl ServerProcess {
    /// Starts the server on `<dir>/import`, its data in `<dir>/server`, and waits until it
    /// listens.
    fn start(bin: &Path, dir: &Path) -> Result<Self, String> {
        let manifest_path = dir.join("manifest.txt");
        let stderr_path = dir.join("server.stderr");
        let stderr = std::fs::File::create(&stderr_path)
            .map_err(|e| format!("cannot create {}: {e}", stderr_path.display()))?;
        let mut child = Command::new(bin)
            .arg("--data-dir")
            .arg(dir.join("server"))
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--import")
            .arg(dir.join("import"))
            .arg("--manifest")
            .arg(&manifest_path)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        let Some(stdout) = child.stdout.take() else {
            let _ = child.kill();
            let _ = child.wait();
            return Err("the server's stdout was not captured".to_owned());
        };
        let mut server = Self {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            manifest: BTreeMap::new(),
        };
        // Read stdout on a thread (to the end, so the server never blocks on a full pipe).
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(addr) = line.strip_prefix("listening on ") {
                    let _ = tx.send(addr.trim().to_owned());
                }
            }
        });
        let addr = rx.recv_timeout(WAIT_LIMIT).map_err(|_| {
            let log = std::fs::read_to_string(&stderr_path).unwrap_or_default();
            format!("the samod server did not start: {log}")
        })?;
        server.addr = addr
            .parse()
            .map_err(|e| format!("the server listens on {addr:?}, not an address: {e}"))?;
        server.manifest = read_manifest(&manifest_path)?;
        Ok(server)
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Asks the server which heads it holds for every document of `scope`; any document whose
    /// heads are not the expected ones is an error.
    fn check_heads(&self, scope: &[ScopeDoc]) -> Result<(), String> {
        let body: String = scope.iter().map(|d| format!("{}\n", d.samod_id)).collect();
        let mut response = ureq::post(&format!("http://{}/heads", self.addr))
            .send(body)
            .map_err(|e| format!("cannot ask the server for its heads: {e}"))?;
        let text = response
            .body_mut()
            .read_to_string()
            .map_err(|e| format!("cannot read the server's heads: {e}"))?;
        let held: BTreeMap<&str, &str> = text.lines().filter_map(|l| l.split_once(' ')).collect();
        let mut wrong = Vec::new();
        for doc in scope {
            let id = doc.samod_id.to_string();
            let want: Vec<String> = doc.expected.iter().map(ChangeHash::to_string).collect();
            let mut have: Vec<&str> = held
                .get(id.as_str())
                .map(|h| h.split(',').collect())
                .unwrap_or_default();
            have.sort_unstable();
            if have != want {
                wrong.push(doc.ours.as_str());
            }
        }
        if wrong.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "after the sync the server holds other heads than the client for {} document(s), e.g. {}",
                wrong.len(),
                wrong[..wrong.len().min(3)].join(", ")
            ))
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read_manifest(path: &Path) -> Result<BTreeMap<String, DocumentId>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the manifest {}: {e}", path.display()))?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let (ours, samod_id) = line
                .split_once(' ')
                .ok_or_else(|| format!("bad manifest line {line:?}"))?;
            let samod_id = DocumentId::from_str(samod_id.trim())
                .map_err(|e| format!("bad samod id in the manifest: {e}"))?;
            Ok((ours.to_owned(), samod_id))
        })
        .collect()
}
