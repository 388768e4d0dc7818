#!/usr/bin/env bash
# Fuzzes the server's input boundaries with cargo fuzz (libFuzzer): the sync body decoder
# (sync_request), the change validator (change_validator) and the Authorization header check
# (auth_header). See docs/RELIABILITY.md, "Fuzzing".
#
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#        scripts/fuzz.sh --seeds-only        rewrite the seed corpora under fuzz/corpus/
#
#   SECONDS_PER_TARGET   how long each target runs (default: $FUZZ_SECONDS, else 60)
#   TARGET               sync_request, change_validator, auth_header (default: all three)
#   FUZZ_SANITIZER       cargo fuzz sanitizer: none (default; the server forbids unsafe code,
#                        so AddressSanitizer mostly costs speed), address, leak
#
# Installs cargo-fuzz from crates.io if it is missing. Each target starts from its committed
# seeds (fuzz/corpus/<target>/) plus what earlier runs found (fuzz/corpus-work/<target>/, not
# committed). A crash or timeout input is copied to tests/fixtures/fuzz/<target>/, where
# server/tests/fuzz_regressions.rs replays it in every `cargo test`; the script then exits 1.
# Output of each run: fuzz/logs/<target>.log.
set -euo pipefail
cd "$(dirname "$0")/.."

all_targets=(sync_request change_validator auth_header)

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz from crates.io"
    cargo install cargo-fuzz --locked
fi
# cargo fuzz passes nightly-only flags (-Z, -C passes=sancov-module); the machine's stable
# toolchain accepts them this way.
export RUSTC_BOOTSTRAP=1

if [[ "${1:-}" == "--seeds-only" ]]; then
    rm -rf fuzz/corpus
    cargo run -q --manifest-path fuzz/Cargo.toml --example seed_corpus -- fuzz/corpus
    exit 0
fi

seconds="${1:-${FUZZ_SECONDS:-60}}"
[[ $# -gt 0 ]] && shift
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [[ "$seconds" -eq 0 ]]; then
    echo "SECONDS_PER_TARGET must be a positive whole number, not '$seconds'" >&2
    exit 2
fi
targets=("$@")
[[ ${#targets[@]} -eq 0 ]] && targets=("${all_targets[@]}")
sanitizer="${FUZZ_SANITIZER:-none}"

echo "== building the fuzz targets (sanitizer: $sanitizer)"
cargo fuzz build -s "$sanitizer"

mkdir -p fuzz/logs
found=0
summary=()
for target in "${targets[@]}"; do
    if [[ ! -d "fuzz/corpus/$target" ]]; then
        echo "no fuzz target '$target': choose from ${all_targets[*]}" >&2
        exit 2
    fi
    work="fuzz/corpus-work/$target"
    artifacts="fuzz/artifacts/$target"
    log="fuzz/logs/$target.log"
    mkdir -p "$work" "$artifacts"
    echo "== fuzzing $target for $seconds s (log: $log)"
    status=0
    started="$artifacts/.started"
    touch "$started"
    # New inputs go to the first corpus directory (work); the seeds are only read.
    cargo fuzz run -s "$sanitizer" "$target" "$work" "fuzz/corpus/$target" -- \
        -max_total_time="$seconds" -timeout=20 -rss_limit_mb=4096 -print_final_stats=1 \
        >"$log" 2>&1 || status=$?

    execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*$' || true)
    rate=$(grep -oE 'stat::average_exec_per_sec: *[0-9]+' "$log" | tail -1 | grep -o '[0-9]*$' || true)
    last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
    cov=$(grep -o 'cov: [0-9]*' <<<"$last" | grep -o '[0-9]*$' || true)
    ft=$(grep -o 'ft: [0-9]*' <<<"$last" | grep -o '[0-9]*$' || true)
    corp=$(grep -o 'corp: [0-9]*' <<<"$last" | grep -o '[0-9]*$' || true)

    # Only what this run found: findings of earlier runs stay in fuzz/artifacts/ too.
    crashes=()
    for f in "$artifacts"/crash-* "$artifacts"/timeout-* "$artifacts"/oom-* "$artifacts"/leak-*; do
        [[ -f "$f" && "$f" -nt "$started" ]] && crashes+=("$f")
    done
    result="no crash"
    if [[ ${#crashes[@]} -gt 0 ]]; then
        mkdir -p "tests/fixtures/fuzz/$target"
        cp "${crashes[@]}" "tests/fixtures/fuzz/$target/"
        result="${#crashes[@]} finding(s) copied to tests/fixtures/fuzz/$target/"
        found=1
    elif [[ $status -ne 0 ]]; then
        result="libFuzzer exited $status without an artifact: see $log"
        found=1
    fi
    line="$target: ${seconds}s, ${execs:-?} executions (${rate:-?}/s), cov ${cov:-?}, features ${ft:-?}, corpus ${corp:-?}; $result"
    echo "$line"
    summary+=("$line")
done

echo "== summary"
printf '%s\n' "${summary[@]}"
if [[ $found -ne 0 ]]; then
    echo "findings: rerun one with 'RUSTC_BOOTSTRAP=1 cargo fuzz run -s $sanitizer <target> <file>'," \
        "and 'cargo test -p fieldsync-server --test fuzz_regressions' replays them all" >&2
    exit 1
fi
