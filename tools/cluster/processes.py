"""Start, wait for and stop the control plane's processes.

Each process runs in a session of its own (so a stop takes its whole process group), logs to
its own file, and is recorded by pid and start time so that a later ``down`` stops exactly what
``up`` started and never a recycled pid.
"""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil


class StartFailed(RuntimeError):
    """A process exited or never became ready; the message ends with its log's last lines."""


@dataclass(frozen=True)
class Started:
    name: str
    pid: int
    created: float
    """psutil's create_time: a pid reused by another process has another one."""
    log: str

    def to_json(self) -> dict:
        return asdict(self)

    def process(self) -> psutil.Process | None:
        try:
            proc = psutil.Process(self.pid)
            return proc if abs(proc.create_time() - self.created) < 0.01 and proc.is_running() else None
        except psutil.Error:
            return None

    def alive(self) -> bool:
        proc = self.process()
        return proc is not None and proc.status() != psutil.STATUS_ZOMBIE


def start(
    name: str, command: Sequence[str], logs: Path, env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> Started:
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"{name}.log"
    handle = open(log, "ab")
    proc = subprocess.Popen(
        list(command),
        stdout=handle,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=dict(env) if env is not None else None,
        cwd=cwd,
        start_new_session=True,
    )
    handle.close()
    return Started(name, proc.pid, psutil.Process(proc.pid).create_time(), str(log))


class Supervisor:
    """Starting and timing processes for a class that keeps them (the control plane, the real
    node): it has ``started``, ``timings``, ``logs``, ``folder``, ``log`` and ``_save``."""

    started: list[Started]
    timings: dict[str, float]
    folder: Path
    log: Callable[[str], None]

    @property
    def logs(self) -> Path:
        raise NotImplementedError

    def _save(self) -> None:
        raise NotImplementedError

    def _run(self, name: str, command: list[str], env: dict | None = None) -> Started:
        proc = start(name, command, self.logs, env=env, cwd=self.folder)
        self.started.append(proc)
        self._save()
        return proc

    def _timed(self, name: str, since: float) -> None:
        self.timings[name] = time.monotonic() - since
        self.log(f"  {name} ready in {self.timings[name]:.1f} s")


def tail(path: str | Path, lines: int = 15) -> str:
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def wait_until(started: Started, ready: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``ready`` until true; fail early, with the log, when the process exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not started.alive():
            raise StartFailed(f"{started.name} exited before {what}; its log ends:\n{tail(started.log)}")
        try:
            if ready():
                return
        except Exception:
            pass
        time.sleep(0.2)
    raise StartFailed(f"{started.name}: no {what} after {timeout:.0f} s; its log ends:\n{tail(started.log)}")


def http_ok(url: str, ca: Path | None = None, token: str | None = None, verify: bool = True) -> bool:
    context = None
    if url.startswith("https"):
        context = ssl.create_default_context(cafile=str(ca) if ca else None)
        if not verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=2, context=context) as reply:
            return reply.status == 200
    except (urllib.error.URLError, OSError):
        return False


def stop(started: Started, grace: float = 10.0) -> None:
    """SIGTERM the process group, SIGKILL what is left after ``grace`` seconds."""
    proc = started.process()
    if proc is None:
        return
    try:
        group = os.getpgid(started.pid)
    except ProcessLookupError:
        return
    members = [proc, *proc.children(recursive=True)]
    try:
        os.killpg(group, signal.SIGTERM)
    except ProcessLookupError:
        return
    _, alive = psutil.wait_procs(members, timeout=grace)
    for member in alive:
        try:
            member.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(alive, timeout=5)
    try:
        os.waitpid(started.pid, os.WNOHANG)  # reap it when it was our child
    except ChildProcessError:
        pass
