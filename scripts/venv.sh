#!/usr/bin/env bash
# Make .venv hold exactly what uv.lock pins: the app and, with an extra, its tools.
#   scripts/venv.sh          the app's dependencies (for `make run`)
#   scripts/venv.sh dev      plus the test and lint tools (for `make test`)
set -euo pipefail
cd "$(dirname "$0")/.."

# --frozen: install what uv.lock says, never re-resolve. The app alone is synced without removing other
# packages, so `make run` after `make test` does not uninstall the test tools.
if [[ -n "${1:-}" ]]; then
    exec bash scripts/uv.sh sync --frozen --quiet --extra "$1"
fi
exec bash scripts/uv.sh sync --frozen --quiet --inexact
