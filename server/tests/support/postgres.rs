//! A private PostgreSQL cluster for one test: Debian's `postgresql` binaries, `initdb` into a
//! temporary directory as the unprivileged `postgres` user (PostgreSQL refuses to run as
//! root), listening on a free port of 127.0.0.1 with its socket in that directory, and stopped
//! by its pid when dropped. Nothing needs to run beforehand.
//!
//! Without PostgreSQL installed a test skips and says so; with `FIELDSYNC_REQUIRE_TOOLS` set
//! (as CI sets it) a missing PostgreSQL is a failure.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Whether Debian's PostgreSQL binaries are installed, so that a cluster can be started.
pub fn installed() -> bool {
    bin_dir().is_some()
}

/// A running cluster; dropped, it stops.
pub struct PgCluster {
    /// The port it listens on, on 127.0.0.1.
    pub port: u16,
    server: Child,
    dir: tempfile::TempDir,
    bin: PathBuf,
    user: Option<(u32, u32)>,
    /// Settings given to the server on its command line (`name=value`).
    settings: Vec<String>,
}

/// The newest PostgreSQL's binaries Debian installed (`/usr/lib/postgresql/N/bin`).
fn bin_dir() -> Option<PathBuf> {
    program("initdb").and_then(|p| p.parent().map(Path::to_path_buf))
}

/// The newest PostgreSQL's program `name` Debian installed (`/usr/lib/postgresql/N/bin/name`),
/// if any.
pub fn program(name: &str) -> Option<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let program = e.path().join("bin").join(name);
            program.exists().then_some((version, program))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, program)| program)
}

/// The uid and gid of the `postgres` user, when this process is root (and must run the
/// cluster as that user); `None` when it runs as an ordinary user already.
fn run_as() -> Option<(u32, u32)> {
    let id = |args: &[&str]| -> Option<u32> {
        let out = Command::new("id").args(args).output().ok()?;
        String::from_utf8(out.stdout).ok()?.trim().parse().ok()
    };
    (id(&["-u"])? == 0)
        .then(|| Some((id(&["-u", "postgres"])?, id(&["-g", "postgres"])?)))
        .flatten()
}

fn command(bin: &Path, program: &str, user: Option<(u32, u32)>) -> Command {
    let mut c = Command::new(bin.join(program));
    if let Some((uid, gid)) = user {
        c.uid(uid).gid(gid);
    }
    c.env_remove("PGDATA").stdin(Stdio::null());
    c
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

impl PgCluster {
    /// Starts a fresh cluster with PostgreSQL's default settings, or says why the test `test`
    /// skips (`None`).
    pub fn start(test: &str) -> Option<PgCluster> {
        PgCluster::start_with(test, &[])
    }

    /// [`PgCluster::start`], the server given `settings` (`name=value`, as `postgres -c`
    /// takes them) on every start.
    pub fn start_with(test: &str, settings: &[&str]) -> Option<PgCluster> {
        let Some(bin) = bin_dir() else {
            let why = "PostgreSQL is not installed (apt-get install postgresql)";
            if std::env::var_os("FIELDSYNC_REQUIRE_TOOLS").is_some() {
                panic!("{test}: {why}");
            }
            eprintln!("SKIPPED {test}: {why}");
            return None;
        };
        let user = run_as();
        let dir = tempfile::tempdir().expect("a temporary directory");
        if let Some((uid, gid)) = user {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).expect("chown");
        }
        let data = dir.path().join("data");
        let out = command(&bin, "initdb", user)
            .args(["--auth=trust", "--username=postgres", "--encoding=UTF8"])
            .args(["--locale=C", "--no-sync", "-D"])
            .arg(&data)
            .output()
            .expect("initdb runs");
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let port = free_port();
        let settings: Vec<String> = settings.iter().map(|s| s.to_string()).collect();
        let server = launch(&bin, user, dir.path(), port, &settings);
        let cluster = PgCluster {
            port,
            server,
            dir,
            bin,
            user,
            settings,
        };
        cluster.wait_ready();
        Some(cluster)
    }

    /// Stops the server at once (SIGKILL, as a crash or a pulled plug would), keeping its data.
    pub fn kill(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }

    /// Stops the server the way an operator restarting it does (a fast shutdown: sessions are
    /// ended, nothing committed is lost), keeping its data.
    pub fn stop(&mut self) {
        let _ = Command::new("kill")
            .args(["-INT", &self.server.id().to_string()])
            .status();
        let _ = self.server.wait();
    }

    /// Starts the server again on the same data and port (after [`PgCluster::stop`] or
    /// [`PgCluster::kill`]), and waits until it takes connections.
    pub fn start_again(&mut self) {
        // A killed server's sessions end by themselves a moment later; until then its shared
        // memory is in use and a new server refuses to start.
        let started = Instant::now();
        loop {
            self.server = launch(
                &self.bin,
                self.user,
                self.dir.path(),
                self.port,
                &self.settings,
            );
            std::thread::sleep(Duration::from_millis(200));
            if matches!(self.server.try_wait(), Ok(None)) {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "PostgreSQL did not start again in 30 s: {}",
                self.log()
            );
        }
        self.wait_ready();
    }

    fn wait_ready(&self) {
        let bin = &self.bin;
        let started = Instant::now();
        loop {
            let ready = Command::new(bin.join("pg_isready"))
                .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-q"])
                .status()
                .is_ok_and(|s| s.success());
            if ready {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "PostgreSQL did not start in 30 s: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// What the server logged.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// A connection string for database `db` as the superuser `postgres`.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// The server process's pid (to kill it in a crash test).
    pub fn pid(&self) -> u32 {
        self.server.id()
    }

    /// Runs `statements` with `psql` in database `db` as the superuser, each in its own
    /// transaction (so `VACUUM` may be one), stopping at the first error; what it printed.
    pub fn psql(&self, db: &str, statements: &[&str]) -> Result<String, String> {
        let out = Command::new(self.bin.join("psql"))
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args([
                "-U",
                "postgres",
                "-d",
                db,
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
            ])
            .args(statements.iter().flat_map(|s| ["-c", *s]))
            .env_remove("PGDATA")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("psql cannot run: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "psql failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

/// Starts `postgres` on the cluster in `dir` with `settings`, logging to `dir/server.log`.
fn launch(
    bin: &Path,
    user: Option<(u32, u32)>,
    dir: &Path,
    port: u16,
    settings: &[String],
) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("server.log"))
        .expect("log file");
    command(bin, "postgres", user)
        .arg("-D")
        .arg(dir.join("data"))
        .args(["-p", &port.to_string(), "-c", "listen_addresses=127.0.0.1"])
        .args(settings.iter().flat_map(|s| ["-c", s.as_str()]))
        .arg("-k")
        .arg(dir)
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .spawn()
        .expect("postgres starts")
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        // A fast shutdown (SIGINT) of the server this cluster started, by its pid; then make
        // sure it is gone.
        let _ = Command::new("kill")
            .args(["-INT", &self.server.id().to_string()])
            .status();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(10) {
            if matches!(self.server.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}
