#!/usr/bin/env bash
# Run uv (the version pyproject.toml asks for, installed once from PyPI into .tools/) with these arguments.
#   bash scripts/uv.sh lock        bash scripts/uv.sh add 'name~=1.2'
set -euo pipefail
cd "$(dirname "$0")/.."

version=$(sed -n 's/^required-version = "==\(.*\)"/\1/p' pyproject.toml)
python="${PYTHON:-}"
if [[ -z "$python" ]]; then
    for candidate in python3.11 python3 python; do
        if command -v "$candidate" >/dev/null 2>&1; then python="$candidate"; break; fi
    done
fi
[[ -n "$python" ]] || { echo "Python 3.11 or newer is needed, and none was found." >&2; exit 1; }

uv=.tools/bin/uv
if [[ ! -x "$uv" || "$("$uv" --version | cut -d' ' -f2)" != "$version" ]]; then
    echo "==> Installing uv $version into .tools" >&2
    "$python" -m venv .tools
    .tools/bin/python -m pip install --quiet --disable-pip-version-check "uv==$version"
fi
# The project's environment is .venv, on this machine's Python: uv never downloads one.
export UV_PROJECT_ENVIRONMENT=.venv UV_PYTHON="$python" UV_PYTHON_DOWNLOADS=never
exec "$uv" "$@"
