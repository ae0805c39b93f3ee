"""``seldon-pkg serve`` as a child process: the one way ``make demo``, the benchmark and the
tests start a gateway, wait until it is ready, and stop it.

Ready means what ``serve`` says in ``gateway.json`` (server.py): the file names this process
and ``"ready": true``, written once every registered model has been restored. A stale file
left by a gateway that was killed names another pid, so it is never taken for this one.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import IO

from seldon_pkg.local.state import StateDir
from seldon_pkg.local.waiting import wait_until_ready

CLI = Path(sys.executable).parent / "seldon-pkg"
READY_TIMEOUT = 300.0
"""Restoring models may build their environments: minutes on a fresh state folder."""


def serve_command(state_dir: str | os.PathLike[str], http_port: int, grpc_port: int) -> list[str]:
    return [
        str(CLI),
        "serve",
        "--port",
        str(http_port),
        "--grpc-port",
        str(grpc_port),
        "--state-dir",
        str(state_dir),
    ]


def start_gateway(
    state_dir: str | os.PathLike[str],
    http_port: int,
    grpc_port: int,
    *,
    output: IO[bytes] | None = None,
    timeout: float = READY_TIMEOUT,
) -> subprocess.Popen:
    """Start ``seldon-pkg serve`` (its output to ``output``, else inherited) and return once it
    is ready; a gateway that exits or is not ready within ``timeout`` is stopped, then the
    error (``ExitedWhileWaiting`` or ``TimeoutError``) is raised."""
    process = subprocess.Popen(
        serve_command(state_dir, http_port, grpc_port),
        stdout=output,
        stderr=subprocess.STDOUT if output is not None else None,
    )
    try:
        wait_for_gateway(StateDir.open(state_dir), process, timeout)
    except BaseException:
        stop_gateway(process)
        raise
    return process


def gateway_ready(state: StateDir, pid: int) -> bool:
    """``gateway.json`` names ``pid`` and says its models are restored."""
    info = state.read_json(state.gateway_file, default=None)
    return isinstance(info, dict) and info.get("pid") == pid and info.get("ready") is True


def wait_for_gateway(state: StateDir, process: subprocess.Popen, timeout: float = READY_TIMEOUT) -> None:
    wait_until_ready(lambda: gateway_ready(state, process.pid), "the gateway", timeout, process, interval=0.1)


def stop_gateway(process: subprocess.Popen, timeout: float = 60) -> int:
    """SIGTERM (the gateway then stops every model process group), SIGKILL after ``timeout``."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
    return process.wait()
