//! A private S3-compatible endpoint for one test: `moto` in server mode (PyPI's
//! `moto[server]`), listening on a free port of 127.0.0.1, with one empty bucket, and killed
//! by its pid when dropped.
//!
//! The `moto_server` program is the one `FIELDSYNC_MOTO_SERVER` names, else
//! `<workspace>/target/moto-venv/bin/moto_server` (the virtual environment .ci/run creates).
//! Without it a test skips and says so; with `FIELDSYNC_REQUIRE_TOOLS` set (as CI sets it) a
//! missing moto is a failure.
//!
//! The server under test gets the endpoint's keys in its configuration
//! (the `keys` of the server's `BlobLocation::S3`), never through the process's environment, which the tests
//! running beside it share.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The bucket every endpoint is started with.
pub const BUCKET: &str = "fieldsync-attachments";

/// A running endpoint; dropped, it stops.
pub struct Moto {
    /// The port it listens on, on 127.0.0.1.
    pub port: u16,
    server: Child,
    dir: tempfile::TempDir,
}

/// Where `moto_server` is, if it is installed.
fn program() -> Option<PathBuf> {
    let named = std::env::var_os("FIELDSYNC_MOTO_SERVER").map(PathBuf::from);
    let default = || {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .map(|root| root.join("target/moto-venv/bin/moto_server"))
    };
    named.or_else(default).filter(|p| p.is_file())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

impl Moto {
    /// Starts an endpoint with an empty bucket [`BUCKET`], or says why the test `test` skips
    /// (`None`).
    pub fn start(test: &str) -> Option<Moto> {
        let Some(program) = program() else {
            let why = "moto is not installed (python3 -m venv target/moto-venv && target/moto-venv/bin/pip install 'moto[server]', or set FIELDSYNC_MOTO_SERVER to a moto_server)";
            if std::env::var_os("FIELDSYNC_REQUIRE_TOOLS").is_some() {
                panic!("{test}: {why}");
            }
            eprintln!("SKIPPED {test} on S3: {why}");
            return None;
        };
        let dir = tempfile::tempdir().expect("a temporary directory");
        let log = std::fs::File::create(dir.path().join("moto.log")).expect("a log file");
        let port = free_port();
        let server = Command::new(&program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("the log file"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("{} does not start: {e}", program.display()));
        let mut moto = Moto { port, server, dir };
        moto.wait_ready();
        let (status, body) = moto
            .http("PUT", &format!("/{BUCKET}"))
            .expect("moto answers");
        assert_eq!(status, 200, "creating the bucket: {body}");
        Some(moto)
    }

    fn wait_ready(&mut self) {
        let started = Instant::now();
        loop {
            if self.http("GET", "/").is_ok() {
                return;
            }
            if let Ok(Some(status)) = self.server.try_wait() {
                panic!("moto_server exited ({status}): {}", self.log());
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "moto_server did not answer in 60 s: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// What moto logged.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("moto.log")).unwrap_or_default()
    }

    /// The endpoint's URL.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The access key to give (moto takes any).
    pub const ACCESS_KEY: &str = "fieldsync-test";

    /// The secret key to give (moto takes any).
    pub const SECRET_KEY: &str = "fieldsync-test-secret";

    /// One plain HTTP/1.1 request with an empty body (moto takes unsigned requests): the
    /// status and the body.
    pub fn http(&self, method: &str, target: &str) -> std::io::Result<(u16, String)> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port))?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        write!(
            stream,
            "{method} {target} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.port
        )?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw)?;
        let text = String::from_utf8_lossy(&raw).into_owned();
        let status = text
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse::<u16>().ok())
            .ok_or_else(|| std::io::Error::other(format!("not an HTTP answer: {text:?}")))?;
        let body = text
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        Ok((status, body))
    }

    /// Every object name in the bucket under `prefix`, sorted, as moto lists them (not through
    /// the server's own code).
    pub fn keys(&self, prefix: &str) -> Vec<String> {
        let (status, body) = self
            .http("GET", &format!("/{BUCKET}?list-type=2&prefix={prefix}"))
            .expect("moto answers");
        assert_eq!(status, 200, "listing the bucket: {body}");
        assert!(
            !body.contains("<IsTruncated>true</IsTruncated>"),
            "more objects than one listing holds"
        );
        let mut keys: Vec<String> = body
            .split("<Key>")
            .skip(1)
            .filter_map(|s| s.split_once("</Key>").map(|(k, _)| k.to_string()))
            .collect();
        keys.sort();
        keys
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        // The process this endpoint started, by its pid (SIGKILL: it keeps nothing).
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}
