"""One daemon thread per app process, started with the first request the process serves (the mail deliverer, SQLite's checkpointer)."""

from __future__ import annotations

import os
import threading


class ProcessThread:
    """A daemon thread running `run()` in this process; a forked worker starts its own (hence the pid)."""

    name = "background"

    def __init__(self):
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None
        self.pid = 0
        self.lock = threading.Lock()

    def running(self) -> bool:
        return self.thread is not None and self.pid == os.getpid()

    def ensure_started(self) -> None:
        # A forked worker inherits the object but not the thread, hence the pid check.
        if self.running():
            return
        with self.lock:
            if not self.running():
                self.pid = os.getpid()
                self.stopping.clear()
                self.thread = threading.Thread(target=self.run, name=self.name, daemon=True)
                self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.woken()
        if self.thread is not None:
            self.thread.join(timeout=30)
            self.thread = None

    def woken(self) -> None:
        """Interrupt whatever the thread waits on besides `stopping` (nothing, unless a subclass says so)."""

    def run(self) -> None:
        raise NotImplementedError
