#!/usr/bin/env bash
# Builds the fieldsync-mobile library, generates its Python bindings, starts real
# fieldsync-servers on free 127.0.0.1 ports with test users (one as deployed, one that pages
# pulls by 250 documents for the reads-during-sync test), and runs every Python test
# (tests/python/test_*.py, stdlib unittest). Exits non-zero if anything fails. Run from
# anywhere; needs cargo and python3.
set -euo pipefail
source "$(dirname "$0")/tests/harness.sh"

harness_start python
harness_server paged --page-documents=250
export FIELDSYNC_PAGED_SERVER_URL="$harness_url"
# No __pycache__ in the source tree.
FIELDSYNC_BINDINGS_DIR="$work/bindings" PYTHONDONTWRITEBYTECODE=1 python3 -m unittest discover -v \
    -s "$root/mobile-bindings/tests/python" -p 'test_*.py'
