//! The real `fieldsync-server` binary, run on 127.0.0.1 for end-to-end tests and benchmarks.
//!
//! The binary is the one cargo builds beside the test executables (`target/<profile>/`);
//! `cargo build --workspace` builds it (the README's test command does). Set `FIELDSYNC_SERVER_BIN` to use another.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The largest request body the server accepts (16 MiB).
pub const MAX_BODY: usize = 16 << 20;

/// Errors of the harness, as text: a test fails with it.
pub type HarnessResult<T> = Result<T, String>;

/// Where the server binary is.
pub fn server_binary() -> HarnessResult<PathBuf> {
    binary_beside_me(
        "fieldsync-server",
        "FIELDSYNC_SERVER_BIN",
        "run `cargo build --workspace` first",
    )
}

/// Where binary `name` of the workspace is: the path in environment variable `env_var`, or
/// beside the running executable (`target/<profile>/`, also from a test in
/// `target/<profile>/deps/`). `build_hint` says how to build it when it is missing.
pub fn binary_beside_me(name: &str, env_var: &str, build_hint: &str) -> HarnessResult<PathBuf> {
    if let Some(p) = std::env::var_os(env_var) {
        return Ok(PathBuf::from(p));
    }
    let bin = path_beside_me(name)?;
    if bin.exists() {
        Ok(bin)
    } else {
        Err(format!("{} is missing: {build_hint}", bin.display()))
    }
}

/// Where binary `name` sits, or would sit once built, beside the running executable
/// (`target/<profile>/`; from a test in `target/<profile>/deps/`, its parent).
pub fn path_beside_me(name: &str) -> HarnessResult<PathBuf> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut dir = exe
        .parent()
        .map(Path::to_path_buf)
        .ok_or("no parent directory")?;
    if dir.ends_with("deps") {
        dir.pop();
    }
    Ok(dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX)))
}

/// Waits (30 s at most) until a server started with its standard output piped says it
/// listens, and returns the address it names; its later output is read and dropped.
pub fn await_listening(child: &mut Child) -> HarnessResult<String> {
    let stdout = child
        .stdout
        .take()
        .ok_or("the server's output is not piped")?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(address) = line.strip_prefix("listening on ") {
                let _ = tx.send(address.to_string());
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(30))
        .map_err(|_| "the server did not start listening within 30 s".to_string())
}

/// A free port on 127.0.0.1 (free when asked; the server binds it right after).
pub fn free_port() -> HarnessResult<u16> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(l.local_addr().map_err(|e| e.to_string())?.port())
}

/// A user to create.
#[derive(Debug, Clone)]
pub struct TestUser<'a> {
    /// Login name.
    pub username: &'a str,
    /// rep, manager or admin.
    pub role: &'a str,
    /// Territories.
    pub territories: &'a [&'a str],
    /// Manager.
    pub manager: Option<&'a str>,
    /// Password.
    pub password: &'a str,
}

/// Creates a user with `fieldsync-server user add`, as an operator would.
pub fn add_user(data_dir: &Path, user: &TestUser<'_>) -> HarnessResult<()> {
    add_user_on(data_dir, None, user)
}

/// Creates a user with `fieldsync-server user add` in the PostgreSQL database `database_url`
/// (or, without one, in the data directory's SQLite file).
pub fn add_user_on(
    data_dir: &Path,
    database_url: Option<&str>,
    user: &TestUser<'_>,
) -> HarnessResult<()> {
    let mut cmd = Command::new(server_binary()?);
    if let Some(url) = database_url {
        cmd.args(["--database-url", url]);
    }
    cmd.arg("--data-dir").arg(data_dir).args([
        "user",
        "add",
        "--username",
        user.username,
        "--role",
        user.role,
    ]);
    for t in user.territories {
        cmd.args(["--territory", t]);
    }
    if let Some(m) = user.manager {
        cmd.args(["--manager", m]);
    }
    let out = cmd
        .args(["--password-env", "FIELDSYNC_TEST_PASSWORD"])
        .env("FIELDSYNC_TEST_PASSWORD", user.password)
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "user add {} failed: {}",
            user.username,
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// `PRAGMA integrity_check` of an SQLite file (a server's or a device's), opened read-only:
/// `"ok"` when the file is sound.
pub fn integrity_check(db: &Path) -> HarnessResult<String> {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|e| format!("cannot open {}: {e}", db.display()))?;
    conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(|e| format!("integrity_check of {}: {e}", db.display()))
}

/// The text of a running server's `/metrics` (the Prometheus text format), at base URL `url`.
pub fn metrics_page(url: &str) -> HarnessResult<String> {
    ureq::get(&format!("{url}/metrics"))
        .call()
        .and_then(|mut answer| answer.body_mut().read_to_string())
        .map_err(|e| format!("cannot read {url}/metrics: {e}"))
}

/// The value of metric `name` (a line without labels) on a `/metrics` page.
pub fn metric(page: &str, name: &str) -> Option<f64> {
    page.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

/// A running server process; killed when dropped.
pub struct ServerProcess {
    child: Option<Child>,
    data_dir: PathBuf,
    database_url: Option<String>,
    port: u16,
    args: Vec<String>,
}

impl ServerProcess {
    /// Starts the server on a free port with `data_dir`, and waits until it listens.
    pub fn start(data_dir: &Path) -> HarnessResult<ServerProcess> {
        ServerProcess::start_with(data_dir, &[])
    }

    /// Starts the server with extra `serve` options (e.g. `--access-ttl-secs 1`).
    pub fn start_with(data_dir: &Path, args: &[&str]) -> HarnessResult<ServerProcess> {
        ServerProcess::start_on(data_dir, None, args)
    }

    /// Starts the server on the PostgreSQL database `database_url` (or, without one, on the
    /// data directory's SQLite file), its signing key in `data_dir`, with extra `serve`
    /// options. Several processes may serve one database: give them the same `data_dir`.
    pub fn start_on(
        data_dir: &Path,
        database_url: Option<&str>,
        args: &[&str],
    ) -> HarnessResult<ServerProcess> {
        let mut server = ServerProcess {
            child: None,
            data_dir: data_dir.to_path_buf(),
            database_url: database_url.map(str::to_string),
            port: free_port()?,
            args: args.iter().map(|a| a.to_string()).collect(),
        };
        server.launch()?;
        Ok(server)
    }

    fn launch(&mut self) -> HarnessResult<()> {
        let mut command = Command::new(server_binary()?);
        if let Some(url) = &self.database_url {
            command.args(["--database-url", url]);
        }
        let mut child = command
            .arg("--data-dir")
            .arg(&self.data_dir)
            .args(["serve", "--listen", &format!("127.0.0.1:{}", self.port)])
            .args(&self.args)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start the server: {e}"))?;
        let listening = await_listening(&mut child);
        self.child = Some(child);
        listening.map(|_| ())
    }

    /// The base URL, `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The server's pid.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Asks the process to stop (SIGTERM, as a service manager does) and waits up to 30 s for
    /// it to exit; its exit status.
    pub fn terminate(&mut self) -> HarnessResult<std::process::ExitStatus> {
        let mut child = self.child.take().ok_or("the server is not running")?;
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .map_err(|e| e.to_string())?;
        let started = std::time::Instant::now();
        loop {
            if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
                return Ok(status);
            }
            if started.elapsed() > Duration::from_secs(30) {
                let _ = child.kill();
                let _ = child.wait();
                return Err("the server did not stop within 30 s of SIGTERM".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the process at once (SIGKILL): no shutdown, no flush.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts the server again on the same port and data directory, keeping its data in the
    /// PostgreSQL database `database_url` from now on (or, without one, in the data
    /// directory's SQLite file): after `fieldsync-server migrate`.
    pub fn restart_on(&mut self, database_url: Option<&str>) -> HarnessResult<()> {
        self.kill();
        self.database_url = database_url.map(str::to_string);
        self.restart()
    }

    /// Starts the server again on the same port and data directory.
    pub fn restart(&mut self) -> HarnessResult<()> {
        self.kill();
        let mut last = String::new();
        // The port may take a moment to be free again.
        for _ in 0..50 {
            match self.launch() {
                Ok(()) => return Ok(()),
                Err(e) => {
                    last = e;
                    self.kill();
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        }
        Err(last)
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}
