#!/usr/bin/env bash
# Install into .venv exactly the versions uv.lock pins: the app and, with an extra, its tools.
#   scripts/venv.sh          the app's dependencies (for `make run`)
#   scripts/venv.sh dev      plus the test and lint tools (for `make test`)
set -euo pipefail
cd "$(dirname "$0")/.."

# --frozen: install what uv.lock says, never re-resolve. --inexact: leave other packages alone, so
# `make run` after `make test` keeps the test tools, and pip stays in a .venv that pip created.
exec bash scripts/uv.sh sync --frozen --quiet --inexact ${1:+--extra "$1"}
