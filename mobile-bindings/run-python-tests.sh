#!/usr/bin/env bash
# Builds the fieldsync-mobile library, generates its Python bindings, starts a real
# fieldsync-server on a free 127.0.0.1 port with test users, and runs the Python smoke tests
# (stdlib unittest). Exits non-zero if anything fails. Run from anywhere; needs cargo and python3.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

work="$(mktemp -d -t fieldsync-python-XXXXXX)"
server_pid=""
cleanup() {
    if [[ -n "$server_pid" ]]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

cargo build -p fieldsync-mobile -p fieldsync-server
target_dir="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
lib="$target_dir/debug/libfieldsync_mobile.so"

mkdir -p "$work/bindings"
cargo run -q -p uniffi-bindgen -- generate "$lib" --language python --out-dir "$work/bindings"
cp "$lib" "$work/bindings/"

server="$target_dir/debug/fieldsync-server"
data="$work/server-data"
export FIELDSYNC_REP_PASSWORD="rep-pass-$RANDOM$RANDOM"
FIELDSYNC_MANAGER_PASSWORD="mgr-pass-$RANDOM$RANDOM"
export FIELDSYNC_MANAGER_PASSWORD
"$server" --data-dir "$data" user add --username wang.fang --role manager \
    --territory east --password-env FIELDSYNC_MANAGER_PASSWORD
"$server" --data-dir "$data" user add --username li.wei --role rep \
    --territory east --manager wang.fang --password-env FIELDSYNC_REP_PASSWORD

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
RUST_LOG=warn "$server" --data-dir "$data" serve --listen "127.0.0.1:$port" >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 300); do
    grep -q "^listening on" "$work/server.log" && break
    if ! kill -0 "$server_pid" 2>/dev/null; then
        echo "the server exited:" >&2
        cat "$work/server.log" >&2
        exit 1
    fi
    sleep 0.1
done
grep -q "^listening on" "$work/server.log" || { echo "the server did not start listening" >&2; exit 1; }

export FIELDSYNC_SERVER_URL="http://127.0.0.1:$port"
export FIELDSYNC_BINDINGS_DIR="$work/bindings"
python3 -m unittest -v "$root/mobile-bindings/tests/python/test_bindings.py"
