#!/usr/bin/env bash
# Builds the fieldsync-mobile library, generates its Python bindings, starts real
# fieldsync-servers on free 127.0.0.1 ports with test users (one as deployed, one that pages
# pulls by 250 documents for the reads-during-sync test), and runs the Python tests (stdlib
# unittest). Exits non-zero if anything fails. Run from anywhere; needs cargo and python3.
set -euo pipefail
source "$(dirname "$0")/tests/harness.sh"

harness_start python
harness_server paged --page-documents=250
export FIELDSYNC_PAGED_SERVER_URL="$harness_url"
FIELDSYNC_BINDINGS_DIR="$work/bindings" python3 -m unittest -v "$root/mobile-bindings/tests/python/test_bindings.py"
