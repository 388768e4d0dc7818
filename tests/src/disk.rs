//! A real, small filesystem for disk-full and read-only tests: a tmpfs of a few MiB mounted on
//! a temporary directory, which a test fills to the last byte, frees again, or remounts
//! read-only, while a server or a store keeps its files on it.
//!
//! Mounting needs root (CAP_SYS_ADMIN). [`SmallDisk::mount`] says so in its error when it is
//! refused; tests then skip unless `FIELDSYNC_REQUIRE_TOOLS` is set, as CI sets it.

use std::fs::File;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::server::HarnessResult;

/// A tmpfs of a fixed size, unmounted when dropped.
pub struct SmallDisk {
    dir: tempfile::TempDir,
    ballast: Vec<PathBuf>,
}

fn run(cmd: &mut Command) -> HarnessResult<()> {
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{cmd:?} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

impl SmallDisk {
    /// Mounts a tmpfs of `mib` MiB on a new temporary directory.
    pub fn mount(mib: u32) -> HarnessResult<SmallDisk> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        run(Command::new("mount")
            .args(["-t", "tmpfs", "-o"])
            .arg(format!("size={mib}m,mode=0755"))
            .arg("fieldsync-test")
            .arg(dir.path()))
        .map_err(|e| format!("{e} (mounting a small disk needs root)"))?;
        Ok(SmallDisk {
            dir,
            ballast: Vec::new(),
        })
    }

    /// Mounts a small disk, or says why a test is skipped: `None` when mounting is not allowed
    /// here and `FIELDSYNC_REQUIRE_TOOLS` is unset. With it set, a refused mount panics.
    pub fn for_test(mib: u32) -> Option<SmallDisk> {
        match SmallDisk::mount(mib) {
            Ok(disk) => Some(disk),
            Err(e) if std::env::var_os("FIELDSYNC_REQUIRE_TOOLS").is_none() => {
                crate::say_skipped(
                    std::thread::current().name().unwrap_or("a disk test"),
                    &e.to_string(),
                );
                None
            }
            Err(e) => panic!("{e}"),
        }
    }

    /// Where the disk is mounted.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Fills every free byte with ballast files; returns how many bytes that took.
    pub fn fill(&mut self) -> HarnessResult<u64> {
        let chunk = vec![0xA5u8; 64 * 1024];
        let mut written = 0u64;
        let path = self.path().join(format!("ballast-{}", self.ballast.len()));
        let mut file = File::create(&path).map_err(|e| format!("ballast: {e}"))?;
        self.ballast.push(path);
        // Whole chunks first, then byte by byte so not even a page is left.
        for size in [chunk.len(), 4096, 1] {
            loop {
                match file.write_all(&chunk[..size]) {
                    Ok(()) => written += size as u64,
                    Err(e)
                        if e.raw_os_error() == Some(28) || e.kind() == ErrorKind::StorageFull =>
                    {
                        break;
                    }
                    Err(e) => return Err(format!("ballast: {e}")),
                }
            }
        }
        let _ = file.sync_all();
        Ok(written)
    }

    /// Deletes the ballast: the space is back.
    pub fn free(&mut self) -> HarnessResult<()> {
        for path in self.ballast.drain(..) {
            std::fs::remove_file(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        }
        Ok(())
    }

    /// Remounts the disk read-only (`true`) or writable again (`false`), under open files.
    pub fn set_read_only(&self, read_only: bool) -> HarnessResult<()> {
        let mode = if read_only {
            "remount,ro"
        } else {
            "remount,rw"
        };
        run(Command::new("mount").args(["-o", mode]).arg(self.path()))
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = self.set_read_only(false);
        // Lazy: a process that still has a file open there (a killed server's last moments)
        // does not keep the mount alive in the test's way.
        let _ = Command::new("umount").arg("-l").arg(self.path()).output();
    }
}
