#!/usr/bin/env bash
# The soak run: busy Monday through the fault-injecting proxy for a number of minutes (default
# 10), against the release server. Prints figures every minute and checks, at the end, that
# nothing but injected faults failed and that every device converged; exits non-zero if not.
#
#   scripts/soak.sh                 # 10 minutes
#   scripts/soak.sh 3 --devices 50  # 3 minutes, then any option of `soak --help`
#
# The output is also kept in target/soak/.
set -euo pipefail
cd "$(dirname "$0")/.."

minutes="${1:-10}"
shift || true

cargo build --release -p fieldsync-server -p tests --bin fieldsync-server --bin soak
mkdir -p target/soak
log="target/soak/soak-$(date -u +%Y%m%dT%H%M%SZ).log"
echo "log: $log"
target/release/soak --minutes "$minutes" "$@" 2>&1 | tee "$log"
