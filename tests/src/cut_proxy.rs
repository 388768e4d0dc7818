//! A TCP proxy on 127.0.0.1 that cuts connections at random bytes, for uploads.
//!
//! [`crate::fault_proxy`] reads whole requests before it forwards them, which is right for sync
//! rounds but not for a photo upload on a train: there the connection dies mid-body, and what
//! the device sent before is what the server received. This proxy pipes bytes both ways as
//! they come, and cuts a share of its connections after a random number of bytes from the
//! client: it closes its side to the server (the server reads the bytes that got through, then
//! the end of the stream) and to the client. It counts every byte the clients sent, so a test
//! can compare what went over the wire with what had to.
//!
//! Cuts are drawn from a seed per connection number: a seed names one plan.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How often and where connections are cut.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CutPlan {
    /// The seed.
    pub seed: u64,
    /// The share of connections cut (0 to 1).
    pub rate: f64,
    /// A cut comes after 1 to this many bytes from the client.
    pub within: u64,
}

struct Shared {
    upstream: SocketAddr,
    plan: CutPlan,
    on: AtomicBool,
    connections: AtomicU64,
    cuts: AtomicU64,
    sent: AtomicU64,
}

/// A running proxy on its own port of 127.0.0.1, with its own threads; stopped when dropped.
pub struct CutProxy {
    runtime: Option<tokio::runtime::Runtime>,
    addr: SocketAddr,
    shared: Arc<Shared>,
}

impl CutProxy {
    /// Starts a proxy in front of the server at `url` (`http://127.0.0.1:<port>`).
    pub fn in_front_of(url: &str, plan: CutPlan) -> std::io::Result<CutProxy> {
        let invalid = || std::io::Error::new(std::io::ErrorKind::InvalidInput, url.to_string());
        let authority = url.strip_prefix("http://").ok_or_else(invalid)?;
        let upstream: SocketAddr = authority
            .split('/')
            .next()
            .ok_or_else(invalid)?
            .parse()
            .map_err(|_| invalid())?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("cut-proxy")
            .enable_all()
            .build()?;
        let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0"))?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            upstream,
            plan,
            on: AtomicBool::new(true),
            connections: AtomicU64::new(0),
            cuts: AtomicU64::new(0),
            sent: AtomicU64::new(0),
        });
        runtime.spawn(accept_loop(listener, shared.clone()));
        Ok(CutProxy {
            runtime: Some(runtime),
            addr,
            shared,
        })
    }

    /// The proxy's base URL, for clients.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Turns cuts on or off for connections accepted from now on.
    pub fn set_cuts(&self, on: bool) {
        self.shared.on.store(on, Ordering::SeqCst);
    }

    /// Connections cut so far.
    pub fn cuts(&self) -> u64 {
        self.shared.cuts.load(Ordering::SeqCst)
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// Bytes the clients sent through the proxy so far (whether or not they got through).
    pub fn bytes_sent(&self) -> u64 {
        self.shared.sent.load(Ordering::SeqCst)
    }
}

impl Drop for CutProxy {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    while let Ok((client, _)) = listener.accept().await {
        let n = shared.connections.fetch_add(1, Ordering::SeqCst);
        let mut rng = ChaCha8Rng::seed_from_u64(shared.plan.seed);
        rng.set_stream(n);
        let cut_after = (shared.on.load(Ordering::SeqCst)
            && rng.random::<f64>() < shared.plan.rate)
            .then(|| rng.random_range(1..=shared.plan.within.max(1)));
        tokio::spawn(carry(client, shared.clone(), cut_after));
    }
}

/// Pipes one connection both ways; after `cut_after` bytes from the client (if any), closes
/// both sides.
async fn carry(client: TcpStream, shared: Arc<Shared>, cut_after: Option<u64>) {
    let Ok(server) = TcpStream::connect(shared.upstream).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let up = {
        let shared = shared.clone();
        async move {
            let mut buf = vec![0u8; 64 << 10];
            let mut carried = 0u64;
            loop {
                let n = match client_read.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                shared.sent.fetch_add(n as u64, Ordering::SeqCst);
                let n = match cut_after {
                    Some(limit) if carried + n as u64 >= limit => {
                        let keep = (limit - carried) as usize;
                        let _ = server_write.write_all(&buf[..keep]).await;
                        shared.cuts.fetch_add(1, Ordering::SeqCst);
                        break;
                    }
                    _ => n,
                };
                if server_write.write_all(&buf[..n]).await.is_err() {
                    break;
                }
                carried += n as u64;
            }
            let _ = server_write.shutdown().await;
        }
    };
    let down = async move {
        let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
        let _ = client_write.shutdown().await;
    };
    // A cut ends the connection both ways at once; otherwise each way ends on its own.
    if cut_after.is_some() {
        tokio::select! {
            _ = up => {}
            _ = down => {}
        }
    } else {
        tokio::join!(up, down);
    }
}
