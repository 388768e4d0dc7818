//! The real `fieldsync` command-line binary, run with a temporary `--home` per device.
//!
//! The binary is the one cargo builds beside the test executables (`target/<profile>/`);
//! `cargo build --workspace` builds it (the README's test command does; `cargo test` alone does
//! not build a package's binaries for other packages' tests). Set `FIELDSYNC_CLI_BIN` to use
//! another.

use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

use crate::server::HarnessResult;

/// Where the `fieldsync` binary is.
pub fn cli_binary() -> HarnessResult<PathBuf> {
    crate::server::binary_beside_me(
        "fieldsync",
        "FIELDSYNC_CLI_BIN",
        "run `cargo build --workspace` first",
    )
}

/// What one run of the binary did.
#[derive(Debug, Clone)]
pub struct Run {
    /// The exit code (`None` if killed by a signal).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// The output of a run that must have succeeded, trimmed; panics with stderr otherwise.
    pub fn ok(&self) -> &str {
        assert_eq!(
            self.code,
            Some(0),
            "fieldsync failed:\nstdout: {}\nstderr: {}",
            self.stdout,
            self.stderr
        );
        self.stdout.trim()
    }
}

/// One device: a temporary `--home` directory.
pub struct Home {
    dir: TempDir,
}

/// The arguments of `fieldsync login` to `server` as `username` from the device `device` (the
/// password comes from `FIELDSYNC_PASSWORD`).
pub fn login_args<'a>(server: &'a str, username: &'a str, device: &'a str) -> [&'a str; 7] {
    [
        "login",
        "--server",
        server,
        "--username",
        username,
        "--device",
        device,
    ]
}

impl Home {
    /// A new, empty device.
    pub fn new() -> HarnessResult<Home> {
        Ok(Home {
            dir: tempfile::tempdir().map_err(|e| e.to_string())?,
        })
    }

    /// The home directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Runs `fieldsync --home <home> <args>` with `envs` added to a clean fieldsync
    /// environment (no `FIELDSYNC_HOME` or `FIELDSYNC_PASSWORD` from outside).
    pub fn run_with(&self, args: &[&str], envs: &[(&str, &str)]) -> HarnessResult<Run> {
        let out = self
            .command(args)?
            .envs(envs.iter().copied())
            .output()
            .map_err(|e| format!("cannot run fieldsync: {e}"))?;
        Ok(Run {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }

    /// The command `fieldsync --home <home> <args>` in a clean fieldsync environment, not yet
    /// started (for a caller that kills it midway, see [`crate::crash`]).
    pub fn command(&self, args: &[&str]) -> HarnessResult<Command> {
        Ok(self.command_of(&cli_binary()?, args))
    }

    /// The command `<binary> --home <home> <args>` in a clean fieldsync environment: another
    /// build of the command line on this device (a previous release's, [`crate::compat`]).
    pub fn command_of(&self, binary: &Path, args: &[&str]) -> Command {
        let mut cmd = Command::new(binary);
        cmd.arg("--home")
            .arg(self.path())
            .args(args)
            .env_remove("FIELDSYNC_HOME")
            .env_remove("FIELDSYNC_PASSWORD")
            .env_remove("RUST_BACKTRACE")
            // The tests read the CLI's English, whatever language the machine speaks.
            .env("LC_ALL", "C");
        cmd
    }

    /// Runs `<binary> --home <home> <args>` with `envs` added, as [`Home::run_with`] runs this
    /// build's binary.
    pub fn run_binary(
        &self,
        binary: &Path,
        args: &[&str],
        envs: &[(&str, &str)],
    ) -> HarnessResult<Run> {
        let out = self
            .command_of(binary, args)
            .envs(envs.iter().copied())
            .output()
            .map_err(|e| format!("cannot run {}: {e}", binary.display()))?;
        Ok(Run {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }

    /// A device whose home is `dir` (a copy of a fixture's device, say); deleted with it.
    pub fn at(dir: TempDir) -> Home {
        Home { dir }
    }

    /// Runs `fieldsync --home <home> <args>`.
    pub fn run(&self, args: &[&str]) -> HarnessResult<Run> {
        self.run_with(args, &[])
    }

    /// Logs in with the password in `FIELDSYNC_PASSWORD`.
    pub fn login(&self, server: &str, username: &str, password: &str) -> HarnessResult<Run> {
        self.run_with(
            &login_args(server, username, "test device"),
            &[("FIELDSYNC_PASSWORD", password)],
        )
    }
}
