"""An app process freezes its start-up objects out of the garbage collector's full collections.

Every full collection walked the ~130,000 objects made at start-up (modules, the app, its metadata): 90-110
ms on the large data set, stalling the request that triggered it about once in a hundred. The checks run
in a child process started as gunicorn starts a worker (`from app import app`), since freezing is
process-wide and the tests' own process must not be frozen.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

CHILD = """
import gc, json, weakref
from app import app

frozen, walked = gc.get_freeze_count(), len(gc.get_objects())
app_walked = any(o is app for o in gc.get_objects())

class Node:
    pass

# Garbage made after start-up (a cycle only the collector can free) is still collected.
a, b = Node(), Node()
a.other, b.other = b, a
gone = weakref.ref(a)
del a, b
status = app.test_client().get("/healthz").status_code
gc.collect()
print(json.dumps({"frozen": frozen, "walked": walked, "app_walked": app_walked,
                  "status": status, "cycle_collected": gone() is None}))
"""


def run_child(app_config, tmp_path, **env) -> dict:
    inherited = {key: value for key, value in os.environ.items() if key != "GC_FREEZE"}
    environment = inherited | {
        "DATABASE_URL": app_config["SQLALCHEMY_DATABASE_URI"],
        "SECRET_KEY": "test-secret",
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "MAIL_IN_BACKGROUND": "0",
        "SQLITE_CHECKPOINT_IN_BACKGROUND": "0",
        **env,
    }
    done = subprocess.run(
        [sys.executable, "-c", CHILD], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("setting", [None, "1"], ids=["default", "on"])
def test_an_app_process_leaves_its_start_up_objects_out_of_full_collections(app_config, tmp_path, setting):
    child = run_child(app_config, tmp_path, **({"GC_FREEZE": setting} if setting else {}))
    # The collector no longer walks the app or the bulk of what start-up made...
    assert not child["app_walked"]
    assert child["frozen"] > 10 * child["walked"], child
    # ...and the app still serves, and garbage made afterwards is still freed.
    assert child["status"] == 200
    assert child["cycle_collected"]


def test_gc_freeze_off_leaves_the_collector_as_python_has_it(app_config, tmp_path):
    child = run_child(app_config, tmp_path, GC_FREEZE="0")
    assert child["frozen"] == 0
    assert child["app_walked"]
    assert child["status"] == 200 and child["cycle_collected"]
