# Shared by the binding test runners (sourced, not run): builds the library and the server,
# generates one language's bindings, and starts a real fieldsync-server on a free 127.0.0.1
# port with a manager and a rep. After `harness_start LANGUAGE [bindgen flags]`:
#   $work/bindings            the generated bindings, with the built library beside them
#   $lib_dir                  the directory of libfieldsync_mobile.so
#   FIELDSYNC_SERVER_URL      the server's address
#   FIELDSYNC_REP_PASSWORD    li.wei's password (rep, territory east, manager wang.fang)
#   FIELDSYNC_MANAGER_PASSWORD wang.fang's password (manager of east)
#   FIELDSYNC_ADMIN_PASSWORD  admin's password (records payments)
# `harness_server NAME [serve flags]` then starts another server, with data of its own, the
# same users and passwords, and the given flags of `fieldsync-server serve` (say
# `--page-documents=250`), and sets $harness_url to its address.
# Every server is stopped and $work removed when the sourcing script exits.

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
work="$(mktemp -d -t fieldsync-bindings-XXXXXX)"
server=""
server_pids=()
harness_url=""

harness_cleanup() {
    local pid
    for pid in "${server_pids[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap harness_cleanup EXIT

harness_start() {
    local language="$1"
    shift
    cd "$root"
    cargo build -p fieldsync-mobile -p fieldsync-server
    local target_dir
    target_dir="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
    lib_dir="$target_dir/debug"
    local lib="$lib_dir/libfieldsync_mobile.so"

    mkdir -p "$work/bindings"
    cargo run -q -p uniffi-bindgen -- generate "$lib" --language "$language" --out-dir "$work/bindings" "$@"
    cp "$lib" "$work/bindings/"

    server="$target_dir/debug/fieldsync-server"
    export FIELDSYNC_REP_PASSWORD="rep-pass-$RANDOM$RANDOM"
    export FIELDSYNC_MANAGER_PASSWORD="mgr-pass-$RANDOM$RANDOM"
    export FIELDSYNC_ADMIN_PASSWORD="adm-pass-$RANDOM$RANDOM"
    harness_server main
    export FIELDSYNC_SERVER_URL="$harness_url"
}

harness_server() {
    local name="$1"
    shift
    local data="$work/server-$name"
    local log="$work/server-$name.log"
    "$server" --data-dir "$data" user add --username admin --role admin \
        --password-env FIELDSYNC_ADMIN_PASSWORD
    "$server" --data-dir "$data" user add --username wang.fang --role manager \
        --territory east --password-env FIELDSYNC_MANAGER_PASSWORD
    "$server" --data-dir "$data" user add --username li.wei --role rep \
        --territory east --manager wang.fang --password-env FIELDSYNC_REP_PASSWORD

    local port pid
    port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    RUST_LOG=warn "$server" --data-dir "$data" serve --listen "127.0.0.1:$port" "$@" >"$log" 2>&1 &
    pid=$!
    server_pids+=("$pid")
    for _ in $(seq 1 300); do
        grep -q "^listening on" "$log" && break
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "the server $name exited:" >&2
            cat "$log" >&2
            exit 1
        fi
        sleep 0.1
    done
    grep -q "^listening on" "$log" || { echo "the server $name did not start listening" >&2; exit 1; }
    harness_url="http://127.0.0.1:$port"
}
