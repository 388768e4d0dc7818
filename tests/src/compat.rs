//! The previous release, built from its commit, for the compatibility tests and for the
//! fixture of its server's database (docs/PROTOCOL.md, "Compatibility and releases").
//!
//! [`releases`] reads RELEASES.md at the workspace root (one row per release, newest first,
//! with its full commit), so a clone without tags still finds the previous release. [`build`]
//! extracts that commit's tree with `git archive` under the compat directory (never into the
//! working tree) and builds the asked packages there with their own `CARGO_TARGET_DIR`,
//! `target/compat/<version>`, never `target/debug`, whose binaries the other tests run. Both
//! are kept between runs, so only the first build is cold.
//!
//! The old tree is built with the compat profile: its dependencies at `opt-level` 0 instead
//! of the workspace's 2, which roughly halves a cold build (the old binaries run a few dozen
//! documents; their speed does not matter). Set `FIELDSYNC_PREVIOUS_CLI` and
//! `FIELDSYNC_PREVIOUS_SERVER` to binaries built elsewhere (a CI cache) to skip the build, and
//! `FIELDSYNC_COMPAT_DIR` to keep the trees and builds somewhere other than
//! `target/compat`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

use crate::server::HarnessResult;

/// One row of RELEASES.md.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    /// The version its binaries print, `0.1.0`.
    pub version: String,
    /// The full commit id it was cut from (tagged `v<version>`).
    pub commit: String,
    /// The sync protocol it speaks.
    pub protocol: u32,
}

/// The workspace root: the parent of this crate's directory.
pub fn workspace_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent().unwrap_or(here).to_path_buf()
}

/// The version of this build (the workspace's).
pub const CURRENT_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Every release RELEASES.md lists, newest first.
pub fn releases() -> HarnessResult<Vec<Release>> {
    let path = workspace_root().join("RELEASES.md");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok(parse_releases(&text))
}

/// The rows of a RELEASES.md table: `| version | commit | protocol | date |`, the version
/// starting with a digit and the commit 40 hex digits.
pub fn parse_releases(text: &str) -> Vec<Release> {
    text.lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.trim().trim_matches('|').split('|').collect();
            let [version, commit, protocol, ..] = cells.as_slice() else {
                return None;
            };
            let (version, commit) = (version.trim(), commit.trim());
            let is_version = version.starts_with(|c: char| c.is_ascii_digit());
            let is_commit = commit.len() == 40 && commit.chars().all(|c| c.is_ascii_hexdigit());
            (is_version && is_commit).then(|| {
                Some(Release {
                    version: version.to_string(),
                    commit: commit.to_string(),
                    protocol: protocol.trim().parse().ok()?,
                })
            })?
        })
        .collect()
}

/// The release before this build: the newest listed that is not this build's version.
pub fn previous_release() -> HarnessResult<Release> {
    releases()?
        .into_iter()
        .find(|r| r.version != CURRENT_VERSION)
        .ok_or_else(|| "RELEASES.md lists no release before this one".to_string())
}

/// Where extracted trees and their builds are kept.
pub fn compat_dir() -> PathBuf {
    std::env::var_os("FIELDSYNC_COMPAT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target").join("compat"))
}

/// The binaries of a built release.
#[derive(Debug, Clone)]
pub struct Built {
    /// The `fieldsync` command-line client.
    pub cli: PathBuf,
    /// `fieldsync-server`.
    pub server: PathBuf,
}

/// One build at a time in this process (cargo locks the target directory across processes).
static BUILDING: Mutex<()> = Mutex::new(());

/// Builds `packages` (`fieldsync-cli`, `fieldsync-server`) of `release` from its commit, or
/// takes the binaries named by `FIELDSYNC_PREVIOUS_CLI` / `FIELDSYNC_PREVIOUS_SERVER`.
pub fn build(release: &Release, packages: &[&str]) -> HarnessResult<Built> {
    let _one = BUILDING.lock().unwrap_or_else(|e| e.into_inner());
    let target = compat_dir().join(&release.version);
    let bin_dir = target.join("debug");
    let mut built = Built {
        cli: bin_dir.join(format!("fieldsync{}", std::env::consts::EXE_SUFFIX)),
        server: bin_dir.join(format!("fieldsync-server{}", std::env::consts::EXE_SUFFIX)),
    };
    let mut to_build = Vec::new();
    for package in packages {
        let (var, slot) = match *package {
            "fieldsync-cli" => ("FIELDSYNC_PREVIOUS_CLI", &mut built.cli),
            "fieldsync-server" => ("FIELDSYNC_PREVIOUS_SERVER", &mut built.server),
            other => return Err(format!("no binary package {other}")),
        };
        match std::env::var_os(var) {
            Some(given) => *slot = PathBuf::from(given),
            None => to_build.push(*package),
        }
    }
    if to_build.is_empty() {
        return Ok(built);
    }
    let tree = extract(release)?;
    let mut cargo = Command::new(cargo_program());
    cargo
        .current_dir(&tree)
        .arg("build")
        .arg("--locked")
        // Dependencies unoptimised: a cold build in about half the time (see the module docs).
        .args(["--config", "profile.dev.package.\"*\".opt-level=0"]);
    for package in &to_build {
        cargo.args(["-p", package]);
    }
    let out = cargo
        .env("CARGO_TARGET_DIR", &target)
        // The old tree's rust-toolchain.toml decides its toolchain, not this run's.
        .env_remove("RUSTUP_TOOLCHAIN")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(30).collect();
        return Err(format!(
            "building {} of release {} failed:\n{}",
            to_build.join(", "),
            release.version,
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        ));
    }
    Ok(built)
}

/// The cargo to build with: the rustup proxy on the PATH (which reads the old tree's
/// toolchain file), or the cargo running these tests.
fn cargo_program() -> PathBuf {
    let on_path = Command::new("cargo")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    match std::env::var_os("CARGO") {
        Some(cargo) if !on_path => PathBuf::from(cargo),
        _ => PathBuf::from("cargo"),
    }
}

/// The tree of `release` under the compat directory, extracted once from its commit.
pub fn extract(release: &Release) -> HarnessResult<PathBuf> {
    let short = &release.commit[..12];
    let tree = compat_dir()
        .join("src")
        .join(format!("{}-{short}", release.version));
    if tree.join("Cargo.toml").exists() {
        return Ok(tree);
    }
    let parent = tree.parent().ok_or("no parent directory")?;
    std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
    // Extracted beside, then renamed into place: a half-written tree is never taken.
    let partial = parent.join(format!(
        ".{}-{short}.{}",
        release.version,
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&partial);
    std::fs::create_dir_all(&partial).map_err(|e| e.to_string())?;
    let archive = Command::new("git")
        .arg("-C")
        .arg(workspace_root())
        .args(["archive", "--format=tar", &release.commit])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run git: {e}"))?;
    let untar = Command::new("tar")
        .arg("-x")
        .arg("-C")
        .arg(&partial)
        .stdin(archive.stdout.ok_or("no stdout from git archive")?)
        .output()
        .map_err(|e| format!("cannot run tar: {e}"))?;
    let git = Command::new("git")
        .arg("-C")
        .arg(workspace_root())
        .args(["cat-file", "-e", &format!("{}^{{commit}}", release.commit)])
        .status()
        .map_err(|e| e.to_string())?;
    if !git.success() || !untar.status.success() || !partial.join("Cargo.toml").exists() {
        let _ = std::fs::remove_dir_all(&partial);
        return Err(format!(
            "cannot extract release {} (commit {}): is the commit in this clone? Fetch the history back to it (`git fetch --tags`, or a clone with full depth), or set FIELDSYNC_PREVIOUS_CLI and FIELDSYNC_PREVIOUS_SERVER to binaries built from it",
            release.version, release.commit
        ));
    }
    match std::fs::rename(&partial, &tree) {
        Ok(()) => Ok(tree),
        // Another process put it there first.
        Err(_) if tree.join("Cargo.toml").exists() => {
            let _ = std::fs::remove_dir_all(&partial);
            Ok(tree)
        }
        Err(e) => Err(format!("cannot move the tree into {}: {e}", tree.display())),
    }
}

/// The fixture directory of `release`'s server database and device (`tests/fixtures/compat/`).
pub fn fixture_dir(release: &Release) -> PathBuf {
    workspace_root()
        .join("tests")
        .join("fixtures")
        .join("compat")
        .join(format!("v{}", release.version))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_releases_table_is_read_row_by_row() {
        let text = "# Releases\n\n| version | commit | protocol | date |\n|---|---|---|---|\n\
            | 0.2.0 | 1111111111111111111111111111111111111111 | 2 | 2027-01-10 |\n\
            | 0.1.0   | fb007537f1afa78e9c4bd07d217dcc38b018056b | 1        | 2026-12-03 |\n\
            In development: 0.3.0\n";
        let releases = parse_releases(text);
        assert_eq!(releases.len(), 2);
        assert_eq!(releases[0].version, "0.2.0");
        assert_eq!(releases[0].protocol, 2);
        assert_eq!(
            releases[1].commit,
            "fb007537f1afa78e9c4bd07d217dcc38b018056b"
        );
    }

    #[test]
    fn the_workspace_lists_a_release_before_this_build() {
        let previous = previous_release().unwrap();
        assert_ne!(previous.version, CURRENT_VERSION);
    }
}
