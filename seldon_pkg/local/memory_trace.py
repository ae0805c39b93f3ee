"""Opt-in tracemalloc snapshots of every process of a model group (for memory investigations).

Set ``SELDON_PKG_TRACEMALLOC=DIR`` (and optionally ``SELDON_PKG_TRACEMALLOC_EVERY`` seconds,
default 60) in a spec's ``env`` or the gateway's environment: the launcher starts tracemalloc
before seldon-core or MLServer import anything, and every process forked from it (gunicorn
workers, the gRPC and metrics processes) dumps ``DIR/<pid>-<unix time>.snap`` periodically.
Compare two snapshots with ``python -m seldon_pkg.bench.memory_diff DIR``. Run by file path
in the model's environment, so this module imports nothing from seldon_pkg. Tracing costs
time per allocation: never leave it on in a measured run.
"""

from __future__ import annotations

import os
import threading
import time
import tracemalloc
from pathlib import Path


def _dump_periodically(folder: Path, every: float) -> None:
    def dump() -> None:
        while True:
            time.sleep(every)
            snapshot = tracemalloc.take_snapshot()
            snapshot.dump(str(folder / f"{os.getpid()}-{int(time.time())}.snap"))

    threading.Thread(target=dump, name="tracemalloc-dump", daemon=True).start()


def trace_if_asked() -> None:
    """Start tracing when SELDON_PKG_TRACEMALLOC names a folder; a no-op otherwise."""
    target = os.environ.get("SELDON_PKG_TRACEMALLOC")
    if not target:
        return
    folder = Path(target)
    folder.mkdir(parents=True, exist_ok=True)
    every = float(os.environ.get("SELDON_PKG_TRACEMALLOC_EVERY", "60"))
    tracemalloc.start(int(os.environ.get("SELDON_PKG_TRACEMALLOC_FRAMES", "12")))
    _dump_periodically(folder, every)
    os.register_at_fork(after_in_child=lambda: _dump_periodically(folder, every))
