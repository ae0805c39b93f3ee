"""A model process group ends itself when the gateway that started it disappears (even by SIGKILL).

Model servers run several processes (gunicorn master and workers, seldon-core's gRPC and
metrics processes, MLServer's workers); killing only the launcher would leave the others
behind. The gateway starts each launcher as a session leader, so the group is exactly that
model's processes. Used by both launchers (loopback.py and mlserver_launcher.py), which run by
file path in the model's environment, so this module imports nothing from seldon_pkg.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time


def stop_group_when_orphaned(poll_seconds: float = 0.5, grace_seconds: float = 5.0) -> None:
    """Watch the parent from a daemon thread; SIGTERM, then SIGKILL, the group when it is gone."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll_seconds)
        group = os.getpgid(0)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGTERM)
        time.sleep(grace_seconds)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)

    threading.Thread(target=watch, name="orphan-watch", daemon=True).start()
