//! Backups and restores on real SQLite files: what a backup holds, what a restore refuses (a
//! damaged archive, a directory in use) without writing anything, the new history a restore
//! starts, the pruning of scheduled backups, and that a failed backup leaves no file behind.
#![allow(clippy::unwrap_used)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use fieldsync_server::backup::{
    self, BackupError, BackupSource, Manifest, Schedule, create, prune, restore, verify,
};
use fieldsync_server::storage::sqlite::SqliteStorage;
use fieldsync_server::storage::{Accounts, Administration, AuditEntry, Log, Role, User};

fn user(name: &str) -> User {
    User {
        username: name.into(),
        password_hash: "not a real hash".into(),
        role: Role::Rep,
        territories: vec!["east".into()],
        manager: None,
        disabled: false,
    }
}

/// A data directory with a database of `users` users and a signing key.
fn data_dir(users: usize) -> (tempfile::TempDir, SqliteStorage) {
    let dir = tempfile::tempdir().unwrap();
    let storage = SqliteStorage::open(dir.path()).unwrap();
    fieldsync_server::history::current(&storage).unwrap();
    for i in 0..users {
        storage.add_user(&user(&format!("user{i}"))).unwrap();
    }
    std::fs::write(dir.path().join("jwt.key"), "ab".repeat(32)).unwrap();
    (dir, storage)
}

fn files_in(dir: &Path) -> Vec<String> {
    match std::fs::read_dir(dir) {
        Ok(entries) => {
            let mut names: Vec<String> = entries
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            names
        }
        Err(_) => Vec::new(),
    }
}

/// Rewrites `archive` into `to`, passing each entry's bytes through `change`.
fn rewrite(archive: &Path, to: &Path, change: impl Fn(&str, Vec<u8>) -> Option<Vec<u8>>) {
    let input = flate2::read::GzDecoder::new(std::fs::File::open(archive).unwrap());
    let mut reading = tar::Archive::new(input);
    let output = flate2::write::GzEncoder::new(
        std::fs::File::create(to).unwrap(),
        flate2::Compression::fast(),
    );
    let mut writing = tar::Builder::new(output);
    for entry in reading.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().to_string_lossy().into_owned();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        let Some(bytes) = change(&name, bytes) else {
            continue;
        };
        let mut header = entry.header().clone();
        header.set_size(bytes.len() as u64);
        header.set_cksum();
        writing.append(&header, bytes.as_slice()).unwrap();
    }
    writing.into_inner().unwrap().finish().unwrap();
}

#[test]
fn a_backup_restores_the_database_and_key_as_a_new_history_forked_at_its_head() {
    let (dir, storage) = data_dir(3);
    let old_history = fieldsync_server::history::current(&storage).unwrap();
    let out = tempfile::tempdir().unwrap();
    let archive = out.path().join("b.tar.gz");
    let done = create(&BackupSource::data_dir(dir.path(), None), &archive).unwrap();
    assert_eq!(
        files_in(out.path()),
        ["b.tar.gz"],
        "only the archive is left"
    );
    assert_eq!(
        done.manifest.history.as_deref(),
        Some(old_history.id.as_str())
    );
    assert_eq!(done.manifest.log_head, storage.head_seq().unwrap());
    let paths: Vec<&str> = done
        .manifest
        .entries
        .iter()
        .map(|e| e.path.as_str())
        .collect();
    assert_eq!(paths, ["fieldsync.db", "jwt.key"]);
    assert_eq!(verify(&archive).unwrap(), done.manifest);

    let target = out.path().join("restored");
    let restored = restore(&archive, &target).unwrap();
    assert_eq!(
        std::fs::read(target.join("jwt.key")).unwrap(),
        std::fs::read(dir.path().join("jwt.key")).unwrap()
    );
    let back = SqliteStorage::open(&target).unwrap();
    let names: Vec<String> = back
        .users()
        .unwrap()
        .into_iter()
        .map(|u| u.username)
        .collect();
    assert_eq!(names, ["user0", "user1", "user2"]);
    let history = fieldsync_server::history::current(&back).unwrap();
    assert_eq!(Some(&history), restored.history.as_ref());
    assert_ne!(history.id, old_history.id, "a restore starts a new history");
    let fork = history.forked_from.unwrap();
    assert_eq!(fork.history, old_history.id);
    assert_eq!(fork.seq, done.manifest.log_head);
}

#[test]
fn a_backup_taken_while_the_database_is_written_is_consistent() {
    let (dir, storage) = data_dir(0);
    let out = tempfile::tempdir().unwrap();
    let writing = AtomicBool::new(true);
    let written = std::thread::scope(|s| {
        let writer = s.spawn(|| {
            let mut n = 0;
            while writing.load(Ordering::Relaxed) || n < 20 {
                storage.add_user(&user(&format!("w{n:05}"))).unwrap();
                n += 1;
            }
            n
        });
        let mut done = Vec::new();
        for i in 0..3 {
            let archive = out.path().join(format!("b{i}.tar.gz"));
            done.push(create(&BackupSource::data_dir(dir.path(), None), &archive).unwrap());
        }
        writing.store(false, Ordering::Relaxed);
        (writer.join().unwrap(), done)
    });
    let (total, done) = written;
    for (i, _) in done.iter().enumerate() {
        let target = out.path().join(format!("r{i}"));
        restore(&out.path().join(format!("b{i}.tar.gz")), &target).unwrap();
        let conn = rusqlite::Connection::open(target.join("fieldsync.db")).unwrap();
        let check: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok");
        // A snapshot: the users it holds are a prefix of those written, none half there.
        let back = SqliteStorage::open(&target).unwrap();
        let names: Vec<String> = back
            .users()
            .unwrap()
            .into_iter()
            .map(|u| u.username)
            .collect();
        let expected: Vec<String> = (0..names.len()).map(|n| format!("w{n:05}")).collect();
        assert_eq!(names, expected);
        assert!(names.len() <= total);
    }
}

#[test]
fn an_archive_that_does_not_match_its_manifest_is_refused_and_nothing_is_written() {
    let (dir, _storage) = data_dir(2);
    let out = tempfile::tempdir().unwrap();
    let archive = out.path().join("b.tar.gz");
    create(&BackupSource::data_dir(dir.path(), None), &archive).unwrap();

    let flipped = out.path().join("flipped.tar.gz");
    rewrite(&archive, &flipped, |name, mut bytes| {
        if name == "fieldsync.db" {
            let last = bytes.len() - 1;
            bytes[last] ^= 0xff;
        }
        Some(bytes)
    });
    let missing = out.path().join("missing.tar.gz");
    rewrite(&archive, &missing, |name, bytes| {
        (name != "jwt.key").then_some(bytes)
    });
    let unlisted = out.path().join("unlisted.tar.gz");
    rewrite(&archive, &unlisted, |name, bytes| {
        if name == "manifest.json" {
            let mut m: Manifest = serde_json::from_slice(&bytes).unwrap();
            m.entries.retain(|e| e.path != "jwt.key");
            Some(serde_json::to_vec(&m).unwrap())
        } else {
            Some(bytes)
        }
    });
    let no_manifest = out.path().join("no-manifest.tar.gz");
    rewrite(&archive, &no_manifest, |name, bytes| {
        (name != "manifest.json").then_some(bytes)
    });
    let truncated = out.path().join("truncated.tar.gz");
    let whole = std::fs::read(&archive).unwrap();
    std::fs::write(&truncated, &whole[..whole.len() / 2]).unwrap();

    for (bad, says) in [
        (&flipped, "fieldsync.db does not match its checksum"),
        (&missing, "jwt.key is missing"),
        (&unlisted, "jwt.key, which its manifest does not list"),
        (&no_manifest, "no manifest"),
        (&truncated, "not a usable backup"),
    ] {
        let target = out.path().join("target");
        let err = restore(bad, &target).unwrap_err();
        assert!(matches!(err, BackupError::Damaged { .. }), "{err}");
        assert!(err.to_string().contains(says), "{}: {err}", bad.display());
        assert!(!target.exists(), "nothing is written for {}", bad.display());
        let leftovers: Vec<String> = files_in(out.path())
            .into_iter()
            .filter(|n| n.starts_with('.'))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }
}

#[test]
fn a_restore_into_a_directory_in_use_is_refused_and_changes_nothing() {
    let (dir, _storage) = data_dir(1);
    let out = tempfile::tempdir().unwrap();
    let archive = out.path().join("b.tar.gz");
    create(&BackupSource::data_dir(dir.path(), None), &archive).unwrap();
    let target = out.path().join("in-use");
    std::fs::create_dir(&target).unwrap();
    std::fs::write(target.join("notes.txt"), "keep me").unwrap();
    let err = restore(&archive, &target).unwrap_err();
    assert!(matches!(err, BackupError::NotEmpty(_)));
    assert!(err.to_string().contains("is not empty"), "{err}");
    assert_eq!(files_in(&target), ["notes.txt"]);
    assert_eq!(
        std::fs::read_to_string(target.join("notes.txt")).unwrap(),
        "keep me"
    );

    // An empty directory is fine.
    let empty = out.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    restore(&archive, &empty).unwrap();
    assert_eq!(files_in(&empty), ["fieldsync.db", "jwt.key"]);
}

#[test]
fn a_failed_backup_leaves_no_file_behind_and_an_existing_one_is_not_overwritten() {
    let (dir, _storage) = data_dir(1);
    let attachments = dir.path().join("attachments");
    std::fs::create_dir_all(attachments.join("blobs")).unwrap();
    std::fs::write(attachments.join("blobs/aaaa"), b"a photo").unwrap();
    // A file that cannot be read, found midway through the archive.
    #[cfg(unix)]
    std::os::unix::fs::symlink("/nonexistent/fieldsync", attachments.join("blobs/bbbb")).unwrap();
    let out = tempfile::tempdir().unwrap();
    let archive = out.path().join("b.tar.gz");
    let source = BackupSource {
        attachments: Some(attachments.clone()),
        ..BackupSource::data_dir(dir.path(), None)
    };
    let err = create(&source, &archive).unwrap_err();
    assert!(matches!(err, BackupError::Io { .. }), "{err}");
    assert!(
        files_in(out.path()).is_empty(),
        "{:?}",
        files_in(out.path())
    );

    // Without the bad file it works, the attachments in it.
    std::fs::remove_file(attachments.join("blobs/bbbb")).unwrap();
    let done = create(&source, &archive).unwrap();
    assert!(done.manifest.attachments);
    assert!(
        done.manifest
            .entries
            .iter()
            .any(|e| e.path == "attachments/blobs/aaaa")
    );
    let before = std::fs::read(&archive).unwrap();
    let err = create(&source, &archive).unwrap_err();
    assert!(matches!(err, BackupError::Exists(_)), "{err}");
    assert_eq!(std::fs::read(&archive).unwrap(), before);

    let target = out.path().join("restored");
    restore(&archive, &target).unwrap();
    assert_eq!(
        std::fs::read(target.join("attachments/blobs/aaaa")).unwrap(),
        b"a photo"
    );
}

#[test]
fn a_backup_without_a_database_or_key_says_what_to_give() {
    let empty = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let err = create(
        &BackupSource::data_dir(empty.path(), None),
        &out.path().join("b.tar.gz"),
    )
    .unwrap_err();
    assert!(err.to_string().contains("--data-dir"), "{err}");
    let (dir, _storage) = data_dir(0);
    std::fs::remove_file(dir.path().join("jwt.key")).unwrap();
    let err = create(
        &BackupSource::data_dir(dir.path(), None),
        &out.path().join("b.tar.gz"),
    )
    .unwrap_err();
    assert!(err.to_string().contains("--jwt-key-file"), "{err}");
    assert!(files_in(out.path()).is_empty());
}

#[test]
fn scheduled_backups_keep_the_newest_n() {
    let (dir, _storage) = data_dir(1);
    let backups: PathBuf = dir.path().join("backups");
    let schedule = Schedule {
        every: std::time::Duration::from_secs(3600),
        keep: 2,
        dir: backups.clone(),
        source: BackupSource::data_dir(dir.path(), None),
    };
    let mut written = Vec::new();
    for _ in 0..4 {
        let (done, _) = schedule.run_once().unwrap();
        written.push(
            done.path
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned(),
        );
        // Names are by the millisecond.
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    std::fs::write(backups.join("operator-notes.txt"), "not a backup").unwrap();
    assert_eq!(prune(&backups, 2).unwrap(), Vec::<PathBuf>::new());
    let mut kept = written[2..].to_vec();
    kept.push("operator-notes.txt".into());
    kept.sort();
    assert_eq!(
        files_in(&backups),
        kept,
        "the newest two, and what is not a backup"
    );
    let pruned = prune(&backups, 1).unwrap();
    assert_eq!(pruned, [backups.join(&written[2])]);
    for name in &written[3..] {
        verify(&backups.join(name)).unwrap();
    }
}

#[test]
fn the_last_backup_is_read_from_the_audit_log_by_its_action() {
    let (_dir, storage) = data_dir(0);
    let entry = |action: &str, target: &str| AuditEntry {
        seq: 0,
        at: 1,
        actor: "server".into(),
        action: action.into(),
        target: target.into(),
        detail: "{}".into(),
        source: None,
    };
    assert_eq!(
        storage.last_audit(fieldsync_server::admin::BACKUP).unwrap(),
        None
    );
    storage
        .record_audit(&entry(fieldsync_server::admin::BACKUP, "first"))
        .unwrap();
    storage
        .record_audit(&entry(fieldsync_server::admin::BACKUP, "second"))
        .unwrap();
    for i in 0..600 {
        storage
            .record_audit(&entry("user.update", &format!("u{i}")))
            .unwrap();
    }
    let last = storage
        .last_audit(fieldsync_server::admin::BACKUP)
        .unwrap()
        .unwrap();
    assert_eq!(
        last.target, "second",
        "the newest, however many entries came after it"
    );
    let _ = backup::FORMAT;
}
