"""gunicorn's settings for the app: `gunicorn -c python:crm.serving app:app` (scripts/run.sh, bench/run.py).

The master starts one mail deliverer process (`flask crm deliver-mail`) beside its workers and stops it on
exit, and tells the workers its pid (MAIL_DELIVERER_PROCESS) so that they leave the outbox to it: a worker
then spends no time on mail, where a deliverer thread of its own would share its interpreter lock with the
requests it serves. Should the process be killed, each worker goes back to a deliverer thread of its own;
the process stops by itself if the master dies.
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

deliverer: subprocess.Popen | None = None


def when_ready(server) -> None:
    """Called in the master before it forks the workers, which inherit the environment set here."""
    global deliverer
    deliverer = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", "crm", "deliver-mail", "--parent", str(os.getpid())],
        cwd=ROOT,
    )
    os.environ["MAIL_DELIVERER_PROCESS"] = str(deliverer.pid)
    server.log.info("Mail deliverer process started (pid: %s)", deliverer.pid)


def on_exit(server) -> None:
    if deliverer is not None and deliverer.poll() is None:
        deliverer.terminate()
        try:
            deliverer.wait(timeout=30)
        except subprocess.TimeoutExpired:
            deliverer.kill()
