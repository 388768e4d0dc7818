//! Scheduled backups while serving: their names, their interval, and pruning the oldest.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{BackupDone, BackupError, BackupSource, create, io};

const PREFIX: &str = "fieldsync-backup-";
const SUFFIX: &str = ".tar.gz";

/// Backups a serving server takes by itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// How often.
    pub every: Duration,
    /// How many to keep; older ones are deleted after each new one.
    pub keep: usize,
    /// The folder they are written to.
    pub dir: PathBuf,
    /// What they hold.
    pub source: BackupSource,
}

impl Schedule {
    /// Takes one backup now into the folder, then prunes the oldest beyond `keep`; returns the
    /// backup and the ones deleted.
    pub fn run_once(&self) -> Result<(BackupDone, Vec<PathBuf>), BackupError> {
        let done = create(
            &self.source,
            &self.dir.join(backup_name(chrono::Utc::now())),
        )?;
        let pruned = prune(&self.dir, self.keep)?;
        Ok((done, pruned))
    }
}

/// The name of a scheduled backup taken at `at`: names sort as the backups were taken.
pub fn backup_name(at: chrono::DateTime<chrono::Utc>) -> String {
    format!("{PREFIX}{}{SUFFIX}", at.format("%Y%m%dT%H%M%S%.3fZ"))
}

/// Deletes the scheduled backups in `dir` beyond the newest `keep` (by name, which is by
/// time); other files are left alone. Returns what was deleted, oldest first.
pub fn prune(dir: &Path, keep: usize) -> Result<Vec<PathBuf>, BackupError> {
    let mut backups: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io("cannot list", dir))?
        .filter_map(|e| e.ok())
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with(PREFIX) && name.ends_with(SUFFIX)
        })
        .map(|e| e.path())
        .collect();
    backups.sort();
    let extra = backups.len().saturating_sub(keep);
    let old: Vec<PathBuf> = backups.into_iter().take(extra).collect();
    for path in &old {
        std::fs::remove_file(path).map_err(io("cannot delete", path))?;
    }
    Ok(old)
}

/// Reads an interval such as `6h`, `30m`, `45s` or `1d` (a positive whole number and a unit).
pub fn parse_every(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let bad =
        || format!("'{text}' is not an interval: write a number and a unit, as 6h, 30m, 45s or 1d");
    let unit_at = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (number, unit) = text.split_at(unit_at);
    let n: u64 = number.parse().map_err(|_| bad())?;
    let secs = match unit {
        "s" => n,
        "m" => n.saturating_mul(60),
        "h" => n.saturating_mul(3600),
        "d" => n.saturating_mul(24 * 3600),
        _ => return Err(bad()),
    };
    if secs == 0 {
        return Err(format!(
            "'{text}' is no time: backups need an interval above zero"
        ));
    }
    Ok(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn intervals_are_read_with_their_unit_and_nonsense_is_refused() {
        assert_eq!(parse_every("6h").unwrap(), Duration::from_secs(6 * 3600));
        assert_eq!(parse_every("30m").unwrap(), Duration::from_secs(1800));
        assert_eq!(parse_every("45s").unwrap(), Duration::from_secs(45));
        assert_eq!(parse_every("1d").unwrap(), Duration::from_secs(86400));
        for bad in ["", "6", "h", "6x", "-1h", "0m", "1.5h"] {
            assert!(parse_every(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_sort_as_backups_were_taken() {
        let early = chrono::DateTime::from_timestamp(1_700_000_000, 5_000_000).unwrap();
        let late = chrono::DateTime::from_timestamp(1_700_000_000, 6_000_000).unwrap();
        assert!(backup_name(early) < backup_name(late));
        assert!(backup_name(early).ends_with(".tar.gz"));
    }
}
