#!/usr/bin/env bash
# Create .venv (once) and install a requirements file into it (again only when the file changed).
set -euo pipefail
cd "$(dirname "$0")/.."

requirements="${1:-requirements.txt}"
python="${PYTHON:-}"
if [[ -z "$python" ]]; then
    for candidate in python3.11 python3 python; do
        if command -v "$candidate" >/dev/null 2>&1; then python="$candidate"; break; fi
    done
fi
[[ -n "$python" ]] || { echo "Python 3.11 or newer is needed, and none was found." >&2; exit 1; }

if [[ ! -x .venv/bin/python ]]; then
    echo "==> Creating .venv with $("$python" --version)"
    "$python" -m venv .venv
fi

# A stamp per requirements file: its hash plus those of the files it includes with -r.
stamp=".venv/.installed-${requirements//\//_}"
digest=$(cat "$requirements" $(sed -n 's/^-r[[:space:]]*//p' "$requirements") | sha256sum | cut -d' ' -f1)
if [[ -f "$stamp" && "$(cat "$stamp")" == "$digest" ]]; then
    exit 0
fi
echo "==> Installing $requirements into .venv"
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$requirements"
echo "$digest" > "$stamp"
