#!/usr/bin/env bash
# Builds the fieldsync-mobile library, generates its Python bindings, starts a real
# fieldsync-server on a free 127.0.0.1 port with test users, and runs the Python smoke tests
# (stdlib unittest). Exits non-zero if anything fails. Run from anywhere; needs cargo and python3.
set -euo pipefail
source "$(dirname "$0")/tests/harness.sh"

harness_start python
FIELDSYNC_BINDINGS_DIR="$work/bindings" python3 -m unittest -v "$root/mobile-bindings/tests/python/test_bindings.py"
