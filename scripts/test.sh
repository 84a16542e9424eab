#!/usr/bin/env bash
# Run the whole test suite: on SQLite (browser tests included), then on a throwaway PostgreSQL cluster;
# then lint with ruff (configured in pyproject.toml). Any failure fails the run.
#   scripts/test.sh             both passes
#   scripts/test.sh sqlite      the SQLite pass only
#   scripts/test.sh postgresql  the PostgreSQL pass only
# Extra pytest arguments go in PYTEST_ARGS, e.g. PYTEST_ARGS="-k signup".
set -uo pipefail
cd "$(dirname "$0")/.."

backends=("${@:-sqlite postgresql}")
read -r -a backends <<<"${backends[*]}"

bash scripts/venv.sh dev || exit 1

as_root() {
    if [[ "$(id -u)" == 0 ]]; then "$@"; else sudo "$@"; fi
}

apt_updated=
apt_install() {
    echo "==> Installing $* with apt-get"
    if [[ -z "$apt_updated" ]]; then
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq || return 1
        apt_updated=1
    fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" </dev/null
}

# Debian's Chromium for the Playwright tests (never `playwright install`).
if [[ " ${backends[*]} " == *" sqlite "* && ! -x /usr/bin/chromium ]]; then
    apt_install chromium fonts-liberation || echo "!! Could not install Chromium: the browser tests will be skipped." >&2
fi
# PostgreSQL's server binaries: tests/pg.py runs initdb and pg_ctl from them.
if [[ " ${backends[*]} " == *" postgresql "* ]] && ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
    apt_install postgresql-15 || apt_install postgresql || exit 1
fi

# Each pytest-xdist worker gets its own SQLite files and its own PostgreSQL cluster (session fixtures are per worker).
workers=()
if .venv/bin/python -c "import xdist" 2>/dev/null; then
    workers=(-n "${TEST_WORKERS:-2}")
fi
read -r -a extra <<<"${PYTEST_ARGS:-}"

# Screenshots of failed browser tests are from the last run only.
rm -f test-artifacts/FAILED-*.png

status=0
summary=()
started=$SECONDS
for backend in "${backends[@]}"; do
    case "$backend" in
        sqlite)     marks=() ;;
        # The browser tests exercise the UI, not the database engine: SQLite's pass covers them.
        postgresql) marks=(-m "not browser") ;;
        *) echo "Unknown backend: $backend (use sqlite or postgresql)" >&2; exit 2 ;;
    esac
    echo
    echo "==> Test suite on $backend"
    pass_started=$SECONDS
    # The timeout is a safety net so that a hung test cannot eat a CI run; the suite takes minutes.
    TEST_DATABASE="$backend" timeout --kill-after=30 1500 \
        .venv/bin/python -m pytest "${workers[@]}" -ra "${marks[@]}" "${extra[@]}" </dev/null
    code=$?
    summary+=("$backend: exit $code in $((SECONDS - pass_started))s")
    [[ $code == 0 ]] || status=1
done

# Lint last, so that a style slip does not hide the tests' results; it still fails the run.
echo
echo "==> Lint (ruff check, ruff format --check) and the lock (uv lock --check)"
lint=0
bash scripts/uv.sh lock --check --quiet || { echo "uv.lock does not match pyproject.toml: run make lock." >&2; lint=1; }
.venv/bin/ruff check . || lint=1
.venv/bin/ruff format --check . || lint=1
summary+=("lint: exit $lint")
[[ $lint == 0 ]] || status=1

echo
echo "==> Summary ($((SECONDS - started))s)"
printf '    %s\n' "${summary[@]}"
exit $status
