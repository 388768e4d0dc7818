//! A fault-injecting TCP proxy on 127.0.0.1, in front of the real server.
//!
//! Field devices sync over networks that drop, stall, repeat and cut connections: a train goes
//! into a tunnel while an answer is half downloaded, a carrier's middlebox resets a connection,
//! a retrying gateway sends the same request twice. The protocol promises that none of this
//! loses an acknowledged write or leaves a device apart from the others (docs/PROTOCOL.md: a
//! failed round acknowledges nothing, pushing the same changes again is harmless). This proxy
//! makes those faults happen on loopback, so tests and the soak run can check the promise
//! against the real server and the real client.
//!
//! It works on bytes: it reads one HTTP/1.1 request (head and `Content-Length` body) from the
//! client, sends it to the server with `connection: close`, reads the whole answer, and sends it
//! back with `connection: close`, so every connection carries one request. For each
//! connection a [`Fault`] is drawn by [`Fault::plan`] from the seed and the connection's
//! number, so a seed names one plan: connection `n` meets the same fault on every run. A test
//! can also name the faults of the next connections itself ([`FaultProxy::script`]).
//!
//! Guarantees:
//! - With faults off ([`FaultProxy::set_faults`]) every request and answer passes unchanged
//!   (but for the `connection` header).
//! - Every fault that is injected is counted once ([`FaultCounts`]), after the request was read:
//!   a count is a fault a request really met.
//! - A fault that fails a request ([`Fault::fails_request`]) fails it at the client as a broken
//!   connection: the client never gets a complete answer to it. Whether the server saw the
//!   request depends on the fault (none for [`Fault::Drop`], a cut one for the request faults,
//!   all of it for the answer faults).
//! - Faults that let the request through ([`Fault::Delay`], [`Fault::Duplicate`]) deliver one
//!   complete answer.

use std::collections::VecDeque;
use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The largest request or answer body the proxy carries.
const MAX_BODY: usize = 64 << 20;
/// The largest request or answer head the proxy reads.
const MAX_HEAD: usize = 64 << 10;
/// How long one exchange with the server may take before the proxy gives up on it.
const EXCHANGE_LIMIT: Duration = Duration::from_secs(120);

/// What the proxy does to one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Carry the request and the answer unchanged.
    Pass,
    /// Read the request, then close the connection without sending anything to the server.
    Drop,
    /// Wait this long (half before the request, half before the answer), then carry both.
    Delay(Duration),
    /// Send the request to the server twice: one after the other, or both at once; the client
    /// gets the second answer.
    Duplicate {
        /// Both copies at once, on two connections.
        parallel: bool,
    },
    /// Send the server only the first part of the request, end the connection to it (FIN),
    /// and close the client's connection unanswered. The cut is `cut` thousandths of the way
    /// through the request.
    TruncateRequest {
        /// Where the request is cut, in thousandths of its length.
        cut: u16,
    },
    /// Send the whole request, then only the first part of the answer, and close (FIN).
    TruncateResponse {
        /// Where the answer is cut, in thousandths of its length.
        cut: u16,
    },
    /// Send the server part of the request's body, then reset both connections (RST, with
    /// `SO_LINGER` 0).
    ResetRequest {
        /// Where in the body the reset comes, in thousandths of its length.
        cut: u16,
    },
    /// Send the whole request, then part of the answer's body, then reset the client's
    /// connection (RST).
    ResetResponse {
        /// Where in the body the reset comes, in thousandths of its length.
        cut: u16,
    },
}

/// How often and how hard the proxy injects faults.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultConfig {
    /// The seed of the plan.
    pub seed: u64,
    /// The share of connections that meet a fault (0 to 1); the faults are equally likely.
    pub fault_rate: f64,
    /// The longest injected delay.
    pub max_delay: Duration,
}

impl Default for FaultConfig {
    /// Seed 1, a third of the connections faulted, delays up to 300 ms.
    fn default() -> Self {
        FaultConfig {
            seed: 1,
            fault_rate: 1.0 / 3.0,
            max_delay: Duration::from_millis(300),
        }
    }
}

impl Fault {
    /// The fault connection number `connection` meets under `config`: the same on every run.
    pub fn plan(config: &FaultConfig, connection: u64) -> Fault {
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        rng.set_stream(connection);
        if rng.random::<f64>() >= config.fault_rate {
            return Fault::Pass;
        }
        let cut = rng.random_range(0..1000u16);
        match rng.random_range(0..7u8) {
            0 => Fault::Drop,
            1 => {
                let max = config.max_delay.as_millis().max(1) as u64;
                Fault::Delay(Duration::from_millis(rng.random_range(1..=max)))
            }
            2 => Fault::Duplicate {
                parallel: rng.random(),
            },
            3 => Fault::TruncateRequest { cut },
            4 => Fault::TruncateResponse { cut },
            5 => Fault::ResetRequest { cut },
            _ => Fault::ResetResponse { cut },
        }
    }

    /// Whether the fault keeps the client from getting a complete answer.
    pub fn fails_request(self) -> bool {
        !matches!(
            self,
            Fault::Pass | Fault::Delay(_) | Fault::Duplicate { .. }
        )
    }
}

/// How many of each fault the proxy injected, and how many connections it carried.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaultCounts {
    /// Connections accepted.
    pub connections: u64,
    /// Requests carried unchanged.
    pub passed: u64,
    /// Connections dropped before the server saw the request.
    pub dropped: u64,
    /// Requests delayed.
    pub delayed: u64,
    /// Requests sent to the server twice.
    pub duplicated: u64,
    /// Requests cut short.
    pub truncated_requests: u64,
    /// Answers cut short.
    pub truncated_responses: u64,
    /// Connections reset in the middle of the request's body.
    pub reset_requests: u64,
    /// Connections reset in the middle of the answer's body.
    pub reset_responses: u64,
    /// Exchanges that failed without an injected fault: the server could not be reached, or
    /// the client or the server broke the HTTP it sent.
    pub not_injected_errors: u64,
}

impl FaultCounts {
    /// Every kind of fault with its count.
    pub fn kinds(&self) -> [(&'static str, u64); 7] {
        [
            ("dropped", self.dropped),
            ("delayed", self.delayed),
            ("duplicated", self.duplicated),
            ("truncated requests", self.truncated_requests),
            ("truncated answers", self.truncated_responses),
            ("reset requests", self.reset_requests),
            ("reset answers", self.reset_responses),
        ]
    }

    /// The kinds of fault not injected even once.
    pub fn missing_kinds(&self) -> Vec<&'static str> {
        self.kinds()
            .into_iter()
            .filter(|(_, n)| *n == 0)
            .map(|(name, _)| name)
            .collect()
    }

    /// Injected faults that kept a client from getting its answer.
    pub fn failed_requests(&self) -> u64 {
        self.dropped
            + self.truncated_requests
            + self.truncated_responses
            + self.reset_requests
            + self.reset_responses
    }

    /// Every injected fault.
    pub fn injected(&self) -> u64 {
        self.failed_requests() + self.delayed + self.duplicated
    }

    /// The counts since `earlier` (for figures per minute).
    pub fn since(&self, earlier: &FaultCounts) -> FaultCounts {
        FaultCounts {
            connections: self.connections - earlier.connections,
            passed: self.passed - earlier.passed,
            dropped: self.dropped - earlier.dropped,
            delayed: self.delayed - earlier.delayed,
            duplicated: self.duplicated - earlier.duplicated,
            truncated_requests: self.truncated_requests - earlier.truncated_requests,
            truncated_responses: self.truncated_responses - earlier.truncated_responses,
            reset_requests: self.reset_requests - earlier.reset_requests,
            reset_responses: self.reset_responses - earlier.reset_responses,
            not_injected_errors: self.not_injected_errors - earlier.not_injected_errors,
        }
    }
}

impl fmt::Display for FaultCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} connections, {} passed",
            self.connections, self.passed
        )?;
        for (name, n) in self.kinds() {
            write!(f, ", {n} {name}")?;
        }
        write!(f, ", {} errors not injected", self.not_injected_errors)
    }
}

/// The live counters behind [`FaultCounts`].
#[derive(Default)]
struct Counters {
    connections: AtomicU64,
    passed: AtomicU64,
    dropped: AtomicU64,
    delayed: AtomicU64,
    duplicated: AtomicU64,
    truncated_requests: AtomicU64,
    truncated_responses: AtomicU64,
    reset_requests: AtomicU64,
    reset_responses: AtomicU64,
    not_injected_errors: AtomicU64,
}

impl Counters {
    fn count(&self, fault: Fault) {
        let counter = match fault {
            Fault::Pass => &self.passed,
            Fault::Drop => &self.dropped,
            Fault::Delay(_) => &self.delayed,
            Fault::Duplicate { .. } => &self.duplicated,
            Fault::TruncateRequest { .. } => &self.truncated_requests,
            Fault::TruncateResponse { .. } => &self.truncated_responses,
            Fault::ResetRequest { .. } => &self.reset_requests,
            Fault::ResetResponse { .. } => &self.reset_responses,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn snapshot(&self) -> FaultCounts {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        FaultCounts {
            connections: get(&self.connections),
            passed: get(&self.passed),
            dropped: get(&self.dropped),
            delayed: get(&self.delayed),
            duplicated: get(&self.duplicated),
            truncated_requests: get(&self.truncated_requests),
            truncated_responses: get(&self.truncated_responses),
            reset_requests: get(&self.reset_requests),
            reset_responses: get(&self.reset_responses),
            not_injected_errors: get(&self.not_injected_errors),
        }
    }
}

/// What the connections share.
struct Shared {
    upstream: SocketAddr,
    config: FaultConfig,
    faults_on: AtomicBool,
    script: Mutex<VecDeque<Fault>>,
    counters: Counters,
}

/// A running proxy on its own port of 127.0.0.1, with its own threads; stopped when dropped.
pub struct FaultProxy {
    runtime: Option<tokio::runtime::Runtime>,
    addr: SocketAddr,
    shared: Arc<Shared>,
}

impl FaultProxy {
    /// Starts a proxy in front of the server at `upstream` (e.g. `127.0.0.1:8080`), with
    /// faults on.
    pub fn start(upstream: SocketAddr, config: FaultConfig) -> std::io::Result<FaultProxy> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("fault-proxy")
            .enable_all()
            .build()?;
        let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0"))?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            upstream,
            config,
            faults_on: AtomicBool::new(true),
            script: Mutex::default(),
            counters: Counters::default(),
        });
        runtime.spawn(accept_loop(listener, shared.clone()));
        Ok(FaultProxy {
            runtime: Some(runtime),
            addr,
            shared,
        })
    }

    /// Starts a proxy in front of the server at `url` (`http://127.0.0.1:<port>`).
    pub fn in_front_of(url: &str, config: FaultConfig) -> std::io::Result<FaultProxy> {
        let invalid = || std::io::Error::new(std::io::ErrorKind::InvalidInput, url.to_string());
        let authority = url.strip_prefix("http://").ok_or_else(invalid)?;
        let authority = authority.split('/').next().ok_or_else(invalid)?;
        let upstream = authority.parse().map_err(|_| invalid())?;
        FaultProxy::start(upstream, config)
    }

    /// The proxy's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The proxy's base URL, `http://127.0.0.1:<port>`, for clients.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Turns faults on or off for connections accepted from now on.
    pub fn set_faults(&self, on: bool) {
        self.shared.faults_on.store(on, Ordering::SeqCst);
    }

    /// The next connections meet `faults`, in order, before the seeded plan (or faults off)
    /// decides again.
    pub fn script(&self, faults: impl IntoIterator<Item = Fault>) {
        if let Ok(mut script) = self.shared.script.lock() {
            script.extend(faults);
        }
    }

    /// What was injected so far.
    pub fn counts(&self) -> FaultCounts {
        self.shared.counters.snapshot()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let client = match listener.accept().await {
            Ok((client, _)) => client,
            Err(_) => {
                // Out of descriptors, say: let connections finish and try again.
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let n = shared.counters.connections.fetch_add(1, Ordering::Relaxed);
        let scripted = shared.script.lock().ok().and_then(|mut s| s.pop_front());
        let fault = match scripted {
            Some(fault) => fault,
            None if shared.faults_on.load(Ordering::SeqCst) => Fault::plan(&shared.config, n),
            None => Fault::Pass,
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            if serve(client, fault, &shared).await.is_err() {
                shared
                    .counters
                    .not_injected_errors
                    .fetch_add(1, Ordering::Relaxed);
            }
        });
    }
}

/// One connection: reads the request and treats it as `fault` says. An error is a failure
/// that was not injected.
async fn serve(mut client: TcpStream, fault: Fault, shared: &Shared) -> std::io::Result<()> {
    client.set_nodelay(true)?;
    let Some(request) = read_message(&mut client, false).await? else {
        // The client opened a connection and closed it without a request.
        return Ok(());
    };
    shared.counters.count(fault);
    let request_bytes = request.to_bytes();
    let upstream = shared.upstream;
    match fault {
        Fault::Pass => {
            let answer = exchange(upstream, &request_bytes).await?;
            finish(client, &answer).await
        }
        Fault::Drop => Ok(()),
        Fault::Delay(delay) => {
            tokio::time::sleep(delay / 2).await;
            let answer = exchange(upstream, &request_bytes).await?;
            tokio::time::sleep(delay - delay / 2).await;
            finish(client, &answer).await
        }
        Fault::Duplicate { parallel } => {
            let answer = if parallel {
                let (first, second) = tokio::join!(
                    exchange(upstream, &request_bytes),
                    exchange(upstream, &request_bytes)
                );
                first?;
                second?
            } else {
                exchange(upstream, &request_bytes).await?;
                exchange(upstream, &request_bytes).await?
            };
            finish(client, &answer).await
        }
        Fault::TruncateRequest { cut } => {
            let end = cut_anywhere(request_bytes.len(), cut);
            let mut server = connect(upstream).await?;
            server.write_all(&request_bytes[..end]).await?;
            server.shutdown().await?;
            // Let the server read what it got before the connection goes.
            let mut sink = Vec::new();
            let _ =
                tokio::time::timeout(Duration::from_secs(5), server.read_to_end(&mut sink)).await;
            Ok(())
        }
        Fault::ResetRequest { cut } => {
            let end = cut_in_body(request.head.len(), request_bytes.len(), cut);
            let server = connect(upstream).await?;
            let mut server = server;
            server.write_all(&request_bytes[..end]).await?;
            reset(server);
            reset(client);
            Ok(())
        }
        Fault::TruncateResponse { cut } => {
            let answer = exchange(upstream, &request_bytes).await?;
            let end = cut_anywhere(answer.bytes.len(), cut);
            finish_partly(client, &answer.bytes[..end]).await
        }
        Fault::ResetResponse { cut } => {
            let answer = exchange(upstream, &request_bytes).await?;
            let end = cut_in_body(answer.head_len, answer.bytes.len(), cut);
            client.write_all(&answer.bytes[..end]).await?;
            client.flush().await?;
            reset(client);
            Ok(())
        }
    }
}

/// Where `cut` thousandths of `len` bytes falls, leaving at least one byte out (and, where
/// there are two, at least one in).
fn cut_anywhere(len: usize, cut: u16) -> usize {
    if len < 2 {
        return 0;
    }
    (1 + (len - 2) * usize::from(cut) / 1000).min(len - 1)
}

/// Where `cut` thousandths of the body (after `head_len` bytes of head) falls, leaving at
/// least one byte of the body out. With no body, the cut falls in the head.
fn cut_in_body(head_len: usize, len: usize, cut: u16) -> usize {
    if len <= head_len {
        return cut_anywhere(len, cut);
    }
    head_len + (len - head_len - 1) * usize::from(cut) / 1000
}

/// Closes `stream` with a reset: `SO_LINGER` 0 makes the close send RST instead of FIN.
fn reset(stream: TcpStream) {
    let _ = stream.set_zero_linger();
    drop(stream);
}

async fn connect(upstream: SocketAddr) -> std::io::Result<TcpStream> {
    let server = TcpStream::connect(upstream).await?;
    server.set_nodelay(true)?;
    Ok(server)
}

/// Sends the whole answer and closes the connection.
async fn finish(client: TcpStream, answer: &Answer) -> std::io::Result<()> {
    finish_partly(client, &answer.bytes).await
}

/// Sends `bytes` and closes the connection (FIN), after the client had a moment to read them.
async fn finish_partly(mut client: TcpStream, bytes: &[u8]) -> std::io::Result<()> {
    client.write_all(bytes).await?;
    client.flush().await?;
    client.shutdown().await?;
    // Wait for the client to close its side, so the close is a FIN and not a reset for data
    // the client sent that was never read.
    let mut sink = [0u8; 1024];
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        while let Ok(n) = client.read(&mut sink).await {
            if n == 0 {
                break;
            }
        }
    })
    .await;
    Ok(())
}

/// An answer as the proxy passes it on.
struct Answer {
    bytes: Vec<u8>,
    head_len: usize,
}

/// Sends the request to the server on a new connection and reads its whole answer.
async fn exchange(upstream: SocketAddr, request: &[u8]) -> std::io::Result<Answer> {
    let attempt = async {
        let mut server = connect(upstream).await?;
        server.write_all(request).await?;
        server.flush().await?;
        let answer = read_message(&mut server, true).await?.ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the server closed without answering",
            )
        })?;
        let bytes = answer.to_bytes();
        Ok(Answer {
            head_len: bytes.len() - answer.body.len(),
            bytes,
        })
    };
    tokio::time::timeout(EXCHANGE_LIMIT, attempt)
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "the server is silent"))?
}

/// One HTTP/1.1 message: its head (start line and headers, with the blank line) and body.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Message {
    head: Vec<u8>,
    body: Vec<u8>,
}

impl Message {
    /// The message as sent on: its head with `connection: close` in place of any
    /// `connection` header, and its body.
    fn to_bytes(&self) -> Vec<u8> {
        let head = String::from_utf8_lossy(&self.head);
        let mut out = Vec::with_capacity(self.head.len() + self.body.len() + 20);
        for line in head.split("\r\n").filter(|l| !l.is_empty()) {
            if header_name_is(line, "connection") {
                continue;
            }
            out.extend_from_slice(line.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"connection: close\r\n\r\n");
        out.extend_from_slice(&self.body);
        out
    }
}

fn header_name_is(line: &str, name: &str) -> bool {
    line.split_once(':')
        .is_some_and(|(n, _)| n.trim().eq_ignore_ascii_case(name))
}

fn header_value<'h>(head: &'h str, name: &str) -> Option<&'h str> {
    head.split("\r\n")
        .skip(1)
        .find(|l| header_name_is(l, name))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim())
}

fn invalid(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string())
}

/// Reads one message: `None` if the peer closed before sending a byte. A request's body is
/// its `Content-Length` (none without one); an answer without a length runs to the close.
async fn read_message<R: AsyncRead + Unpin>(
    reader: &mut R,
    is_answer: bool,
) -> std::io::Result<Option<Message>> {
    let mut buf = Vec::with_capacity(8192);
    let mut chunk = [0u8; 16 * 1024];
    let head_end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        if buf.len() > MAX_HEAD {
            return Err(invalid("the head is too long"));
        }
        let n = reader.read(&mut chunk).await?;
        if n == 0 {
            if buf.is_empty() {
                return Ok(None);
            }
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the connection closed in the head",
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let mut body = buf.split_off(head_end);
    let head = buf;
    let head_text = String::from_utf8_lossy(&head).into_owned();
    if header_value(&head_text, "transfer-encoding").is_some() {
        return Err(invalid("chunked bodies are not carried"));
    }
    match header_value(&head_text, "content-length") {
        Some(length) => {
            let length: usize = length
                .parse()
                .map_err(|_| invalid("the content-length is not a number"))?;
            if length > MAX_BODY {
                return Err(invalid("the body is too large to carry"));
            }
            while body.len() < length {
                let n = reader.read(&mut chunk).await?;
                if n == 0 {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "the connection closed in the body",
                    ));
                }
                body.extend_from_slice(&chunk[..n]);
            }
            body.truncate(length);
        }
        None if is_answer => {
            reader.read_to_end(&mut body).await?;
        }
        None => body.clear(),
    }
    Ok(Some(Message { head, body }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_seed_names_one_plan_and_every_fault_is_in_it() {
        let config = FaultConfig {
            seed: 7,
            fault_rate: 0.5,
            max_delay: Duration::from_millis(100),
        };
        let plan: Vec<Fault> = (0..400).map(|n| Fault::plan(&config, n)).collect();
        let again: Vec<Fault> = (0..400).map(|n| Fault::plan(&config, n)).collect();
        assert_eq!(plan, again);
        let other: Vec<Fault> = (0..400)
            .map(|n| {
                Fault::plan(
                    &FaultConfig {
                        seed: 8,
                        ..config.clone()
                    },
                    n,
                )
            })
            .collect();
        assert_ne!(plan, other);
        let passed = plan.iter().filter(|f| **f == Fault::Pass).count();
        assert!((120..280).contains(&passed), "{passed} of 400 passed");
        for wanted in [
            |f: &Fault| matches!(f, Fault::Drop),
            |f: &Fault| matches!(f, Fault::Delay(d) if *d <= Duration::from_millis(100)),
            |f: &Fault| matches!(f, Fault::Duplicate { parallel: true }),
            |f: &Fault| matches!(f, Fault::Duplicate { parallel: false }),
            |f: &Fault| matches!(f, Fault::TruncateRequest { .. }),
            |f: &Fault| matches!(f, Fault::TruncateResponse { .. }),
            |f: &Fault| matches!(f, Fault::ResetRequest { .. }),
            |f: &Fault| matches!(f, Fault::ResetResponse { .. }),
        ] {
            assert!(plan.iter().any(wanted));
        }
    }

    #[test]
    fn cuts_leave_part_of_the_message_out() {
        for cut in [0, 1, 500, 999] {
            for len in [2, 3, 10, 1000] {
                let end = cut_anywhere(len, cut);
                assert!((1..len).contains(&end), "{len} {cut} {end}");
            }
            let end = cut_in_body(100, 150, cut);
            assert!((100..150).contains(&end));
            assert!(cut_in_body(100, 100, cut) < 100);
        }
    }

    #[test]
    fn a_message_is_read_by_its_length_and_sent_on_with_connection_close() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let raw = b"POST /v1/sync HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\nContent-Length: 5\r\n\r\nhelloEXTRA";
        let message = runtime
            .block_on(read_message(&mut &raw[..], false))
            .unwrap()
            .unwrap();
        assert_eq!(message.body, b"hello");
        assert_eq!(
            message.to_bytes(),
            b"POST /v1/sync HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nconnection: close\r\n\r\nhello"
        );
        // An answer without a length runs to the close; a cut head is an error.
        let answer = b"HTTP/1.1 200 OK\r\n\r\nall of it";
        let message = runtime
            .block_on(read_message(&mut &answer[..], true))
            .unwrap()
            .unwrap();
        assert_eq!(message.body, b"all of it");
        assert!(
            runtime
                .block_on(read_message(&mut &b"HTTP/1.1 200"[..], true))
                .is_err()
        );
        assert!(
            runtime
                .block_on(read_message(&mut &b""[..], true))
                .unwrap()
                .is_none()
        );
    }
}
