# Shared by the binding test runners (sourced, not run): builds the library and the server,
# generates one language's bindings, and starts a real fieldsync-server on a free 127.0.0.1
# port with a manager and a rep. After `harness_start LANGUAGE [bindgen flags]`:
#   $work/bindings            the generated bindings, with the built library beside them
#   $lib_dir                  the directory of libfieldsync_mobile.so
#   FIELDSYNC_SERVER_URL      the server's address
#   FIELDSYNC_REP_PASSWORD    li.wei's password (rep, territory east, manager wang.fang)
#   FIELDSYNC_MANAGER_PASSWORD wang.fang's password (manager of east)
#   FIELDSYNC_ADMIN_PASSWORD  admin's password (records payments)
# The server is stopped and $work removed when the sourcing script exits.

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
work="$(mktemp -d -t fieldsync-bindings-XXXXXX)"
server_pid=""

harness_cleanup() {
    if [[ -n "$server_pid" ]]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
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

    local server="$target_dir/debug/fieldsync-server"
    local data="$work/server-data"
    export FIELDSYNC_REP_PASSWORD="rep-pass-$RANDOM$RANDOM"
    export FIELDSYNC_MANAGER_PASSWORD="mgr-pass-$RANDOM$RANDOM"
    export FIELDSYNC_ADMIN_PASSWORD="adm-pass-$RANDOM$RANDOM"
    "$server" --data-dir "$data" user add --username admin --role admin \
        --password-env FIELDSYNC_ADMIN_PASSWORD
    "$server" --data-dir "$data" user add --username wang.fang --role manager \
        --territory east --password-env FIELDSYNC_MANAGER_PASSWORD
    "$server" --data-dir "$data" user add --username li.wei --role rep \
        --territory east --manager wang.fang --password-env FIELDSYNC_REP_PASSWORD

    local port
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
}
