//! The fuzz targets' inputs as regression tests on stable Rust: every seed input, every file
//! of the committed seed corpora (`fuzz/corpus/<target>/`) and every crash or timeout input the
//! fuzzer ever found (`tests/fixtures/fuzz/<target>/`) goes through the same server functions
//! as under `cargo fuzz` (the harness in `fuzz/src/lib.rs`, included here), and must get one of
//! the typed answers the target allows, without a panic.

#[path = "../../fuzz/src/lib.rs"]
mod harness;

use std::path::{Path, PathBuf};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The files of `dir`, sorted; none if it does not exist.
fn files_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Runs every file of `dir` through `target`; returns how many there were.
fn run_dir(target: &str, dir: &Path) -> usize {
    let files = files_in(dir);
    for file in &files {
        let data =
            std::fs::read(file).unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
        let outcome = harness::run(target, &data);
        assert!(
            harness::allowed_outcomes(target).contains(&outcome.as_str()),
            "{} got {outcome}, which {target} does not allow",
            file.display()
        );
    }
    files.len()
}

#[test]
fn every_seed_input_gets_the_answer_it_was_written_for() {
    let seeds = harness::seed_inputs();
    for target in harness::TARGETS {
        assert!(
            seeds.iter().filter(|s| s.target == target).count() >= 3,
            "{target} has fewer than 3 seed inputs"
        );
    }
    for seed in seeds {
        let outcome = harness::run(seed.target, &seed.data);
        assert_eq!(
            outcome, seed.expect,
            "seed {}/{} got {outcome}",
            seed.target, seed.name
        );
    }
}

#[test]
fn the_committed_seed_corpora_get_typed_answers() {
    for target in harness::TARGETS {
        let dir = repo_root().join("fuzz/corpus").join(target);
        assert!(
            run_dir(target, &dir) >= 3,
            "{} holds fewer than 3 seed inputs: run scripts/fuzz.sh --seeds-only",
            dir.display()
        );
    }
}

#[test]
fn every_crash_the_fuzzer_found_gets_a_typed_answer() {
    let fixtures = repo_root().join("tests/fixtures/fuzz");
    for target in harness::TARGETS {
        run_dir(target, &fixtures.join(target));
    }
}

#[test]
fn an_empty_input_gets_a_typed_answer_from_every_target() {
    assert_eq!(harness::run("sync_request", &[]), "bad_request");
    assert_eq!(harness::run("auth_header", &[]), "unauthenticated");
    let outcome = harness::run("change_validator", &[]);
    assert!(
        harness::allowed_outcomes("change_validator").contains(&outcome.as_str()),
        "an empty change input got {outcome}"
    );
}
