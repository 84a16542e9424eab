#!/usr/bin/env bash
# Start the app with demo data on the embedded SQLite database (or DATABASE_URL, if set).
set -euo pipefail
cd "$(dirname "$0")/.."

HOST="${HOST:-127.0.0.1}"
PORT="${PORT:-5000}"
# Links in e-mails point where the app listens, unless the public address is set.
export PUBLIC_BASE_URL="${PUBLIC_BASE_URL:-http://$HOST:$PORT}"

bash scripts/venv.sh
export FLASK_APP=app

echo "==> Bringing the database schema up to date"
.venv/bin/flask db upgrade

state=$(.venv/bin/python scripts/database_state.py)
case "$state" in
    empty)
        echo "==> Empty database: loading the demo data (flask crm seed-demo)"
        .venv/bin/flask crm seed-demo
        state=$(.venv/bin/python scripts/database_state.py)
        ;;
    demo) echo "==> Demo data already loaded" ;;
    *)    echo "==> The database already holds data: not loading the demo data" ;;
esac

url="http://$HOST:$PORT"
pidfile="${INSTANCE_PATH:-instance}/gunicorn.pid"
echo
echo "  Stay & Celebrate is starting on $url (links in e-mails: $PUBLIC_BASE_URL)"
if [[ "$state" == demo ]]; then
    echo "  Admin CRM:       $url/admin/crm      admin@example.com / demo-admin-pass"
    echo "  Owner dashboard: $url/owner-dashboard owner@example.com / demo-owner-pass"
fi
echo "  Stop with Ctrl-C, or from another shell: kill \$(cat $pidfile)"
echo
# Gunicorn rather than `flask run`: the same server as in production, and requests are served concurrently.
# crm/serving.py starts the mail deliverer process beside the workers (and stops it with them).
exec .venv/bin/gunicorn --config python:crm.serving --bind "$HOST:$PORT" --workers 2 --threads 4 \
    --access-logfile - --no-control-socket --pid "$pidfile" app:app
