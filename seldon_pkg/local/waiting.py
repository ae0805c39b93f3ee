"""Waiting for a server we started: until it answers, or it exits, or time runs out.

One loop for every synchronous caller (the benchmark's stacks, ``make demo``, the tests'
microservices); the gateway's own readiness wait is asynchronous (``ModelProcess.wait_ready``)
and the control plane's follows processes it did not spawn (``tools/cluster/processes.py``).
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable

import requests


class ExitedWhileWaiting(RuntimeError):
    """The process ended before it answered."""


def wait_until_ready(
    ready: Callable[[], bool],
    what: str,
    timeout: float,
    process: subprocess.Popen | None = None,
    interval: float = 0.1,
) -> None:
    """Call ``ready`` until it is true (a refused or failed HTTP call counts as not yet); raise
    :class:`ExitedWhileWaiting` when ``process`` ends first, ``TimeoutError`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise ExitedWhileWaiting(f"{what} exited with code {process.returncode}")
        try:
            if ready():
                return
        except requests.RequestException:
            pass
        time.sleep(interval)
    raise TimeoutError(f"{what} did not answer within {timeout:.0f} s")


def answers_200(url: str) -> Callable[[], bool]:
    """A readiness check: ``url`` answers 200."""
    return lambda: requests.get(url, timeout=1).status_code == 200
