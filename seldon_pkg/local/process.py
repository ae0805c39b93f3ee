"""One model, one model-server process group, supervised.

Which server, how it is started, what it needs in its environment, when it is ready and what
is left to clean up is its server kind's business (``seldon_pkg.servers``:
``seldon-core-microservice`` for the Seldon protocol, MLServer with our adapter for the Open
Inference Protocol); this module only runs it.

Started in the model's runtime environment, as the leader of a new session so that the whole
group (gunicorn master and worker, gRPC and metrics processes) can be signalled at once. Ready
means: the kind's readiness path answers 200 and the gRPC port accepts connections (probed
without blocking the event loop). A crash is noticed by the gateway's supervision loop, the rest of
the group is killed, and the process is restarted with exponential backoff; meanwhile the
gateway answers 503 for this model.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

import aiohttp

from model_wrappers.model_dir import MODEL_DIR_ENV
from seldon_pkg.local.environments import RuntimeEnvironment
from seldon_pkg.local.ostools import free_ports
from seldon_pkg.servers.base import LocalLaunch, ServerKind, python_path
from seldon_pkg.servers.registry import server_for
from seldon_pkg.spec.accelerator import accelerator_env
from seldon_pkg.spec.model_spec import ModelSpec
from seldon_pkg.startup_errors import cause

BACKOFF_FIRST = 0.5
BACKOFF_MAX = 30.0
STOP_GRACE_SECONDS = 10.0


class State(str, Enum):
    STARTING = "Starting"
    AVAILABLE = "Available"
    RESTARTING = "Restarting"
    FAILED = "Failed"
    STOPPED = "Stopped"


PORT_TAKEN = re.compile(r"address already in use|connection in use|errno 98", re.IGNORECASE)
"""How gunicorn, gRPC and uvicorn (MLServer) say that a port was taken before they bound it."""


RUN_HEADER = "\n==== "
"""Each start of a model appends a line beginning with this to its log (:func:`begin_run`)."""


def begin_run(log_path: Path, line: str) -> None:
    """Append the header of a new run to a model's log: where ``current_run`` starts reading."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "a", encoding="utf-8") as log:
        log.write(f"{RUN_HEADER}{time.strftime('%Y-%m-%d %H:%M:%S')} {line}\n")


@dataclass
class Backoff:
    """How long to wait before the next restart: from ``BACKOFF_FIRST``, doubling after each
    failure up to ``BACKOFF_MAX``; ``reset`` starts over (a model that was healthy a while)."""

    delay: float = BACKOFF_FIRST

    def next(self) -> float:
        current, self.delay = self.delay, min(self.delay * 2, BACKOFF_MAX)
        return current

    def reset(self) -> None:
        self.delay = BACKOFF_FIRST


def current_run(log_text: str) -> str:
    """The part of a model's log written by its latest start."""
    return log_text.rsplit(RUN_HEADER, 1)[-1]


def failure_report(name: str, what: str, log: str, log_path: Path, source_dir: Path, tail: int = 12) -> str:
    """Why ``name`` did not start: the model's own error first (type, message, its frame), then
    where the log is, then the log's last lines (``log``: that start's part of it); the
    server's shutdown noise is not what a person reads first."""
    found = cause(log, source_dir)
    lines = [f"{name} failed to start ({what})" + (f": {found.exception}" if found else "")]
    if found and found.frame:
        lines.append(f"  at {found.frame}")
    lines.append(f"  full log: {log_path}  (or: seldon-pkg logs {name})")
    lines.append("  last lines of the log:")
    lines += [f"    {line}" for line in log.splitlines()[-tail:]]
    return "\n".join(lines)


def read_current_run(log_path: Path) -> str:
    """The latest start's part of a log (each start appends a ``====`` header), or ``""``."""
    try:
        text = log_path.read_text(errors="replace")
    except FileNotFoundError:
        return ""
    return current_run(text)


class StartError(Exception):
    """The model process exited or never became ready; the message leads with the cause.

    ``port_taken``: the free ports we picked were taken by someone else before the model bound
    them (decided from the whole log of that start, not only the lines the message shows)."""

    def __init__(self, message: str, port_taken: bool = False) -> None:
        super().__init__(message)
        self.port_taken = port_taken


@dataclass(frozen=True)
class Ports:
    http: int
    grpc: int
    metrics: int

    @classmethod
    def free(cls) -> Ports:
        return cls(*free_ports(3))


@dataclass
class ModelProcess:
    name: str
    spec: ModelSpec
    environment: RuntimeEnvironment
    log_path: Path
    wrappers_lib: Path
    ports: Ports = field(default_factory=Ports.free)
    model_dir: Path | None = None
    """Where the spec's storage_uri was fetched (relative model files resolve there)."""
    state: State = State.STOPPED
    popen: subprocess.Popen | None = None
    restarts: int = 0
    last_error: str = ""
    started_at: float = 0.0
    _next_restart: float = 0.0
    _backoff: Backoff = field(default_factory=Backoff)
    _restart_task: asyncio.Task | None = None

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen else None

    @property
    def http_base(self) -> str:
        return f"http://127.0.0.1:{self.ports.http}"

    @property
    def server(self) -> ServerKind:
        """The model server this process runs (by the spec's protocol)."""
        return server_for(self.spec)

    @property
    def launch(self) -> LocalLaunch:
        """This start as the server kind sees it (ports change on each restart)."""
        return LocalLaunch(
            name=self.name,
            spec=self.spec,
            python=self.environment.python,
            http_port=self.ports.http,
            grpc_port=self.ports.grpc,
            metrics_port=self.ports.metrics,
            workdir=self.log_path.with_suffix(f".{self.server.name}-{self.ports.http}"),
        )

    def environment_variables(self) -> dict[str, str]:
        folders = [self.spec.source_dir, *([self.wrappers_lib] if self.environment.isolated else [])]
        inherited = ("PYTHON", "VIRTUAL_ENV", "GUNICORN_", "GRPC_", "PREDICTIVE_UNIT", "MLSERVER_", MODEL_DIR_ENV)
        env = {key: value for key, value in os.environ.items() if not key.startswith(inherited)}
        # the device, then memory-bounding defaults, then the spec's own settings (its MLSERVER_*
        # apply; settings.json's host and ports win), then what the server itself needs
        env.update(accelerator_env(self.spec.accelerator))
        env.update(self.server.serving_defaults(launcher=True))
        env.update(self.spec.env)
        if self.model_dir is not None:
            env[MODEL_DIR_ENV] = str(self.model_dir)
        env["PYTHONPATH"] = python_path(*folders)
        env.update(self.server.environment(self.launch))
        return env

    @property
    def ready_path(self) -> str:
        """What answers 200 once the model can serve (the server kind says)."""
        return self.server.ready_path(self.name)

    def command(self) -> list[str]:
        return self.server.command(self.launch)

    @property
    def cwd(self) -> Path:
        """Where it runs: the model's folder (relative model files resolve there)."""
        return self.spec.source_dir

    def spawn(self) -> None:
        """Start the process group (called on the event-loop thread)."""
        begin_run(self.log_path, f"starting {self.name} on {self.ports}")
        log = open(self.log_path, "ab")
        self.popen = subprocess.Popen(
            self.command(),
            cwd=self.cwd,
            env=self.environment_variables(),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.started_at = time.monotonic()
        self.state = State.STARTING

    async def start(self, session: aiohttp.ClientSession, timeout: float) -> None:
        """Spawn and wait until ready; on failure stop what was started and raise StartError."""
        self.spawn()
        try:
            await self.wait_ready(session, timeout)
        except StartError:
            await asyncio.get_running_loop().run_in_executor(None, self.kill_group)
            self.state = State.FAILED
            raise
        self.state = State.AVAILABLE

    async def wait_ready(self, session: aiohttp.ClientSession, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        assert self.popen is not None, "spawn() first"
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise StartError(
                    self.failure_report(f"exited with code {self.popen.returncode}"),
                    port_taken=bool(PORT_TAKEN.search(self.current_log())),
                )
            if await self._http_ready(session) and await _port_open(self.ports.grpc):
                return
            await asyncio.sleep(0.1)
        raise StartError(
            self.failure_report(f"not ready after {timeout:.0f} s"),
            port_taken=bool(PORT_TAKEN.search(self.current_log())),
        )

    async def _http_ready(self, session: aiohttp.ClientSession) -> bool:
        try:
            async with session.get(
                f"{self.http_base}{self.ready_path}", timeout=aiohttp.ClientTimeout(total=2)
            ) as reply:
                return reply.status == 200
        except (TimeoutError, aiohttp.ClientError):
            return False

    def current_log(self) -> str:
        """This run's part of the model's log (each start appends a ``====`` header)."""
        return read_current_run(self.log_path)

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of this model's log: where start-up errors (tracebacks) are."""
        return "\n".join(self.current_log().splitlines()[-lines:])

    def failure_report(self, what: str, tail: int = 12) -> str:
        return failure_report(self.name, what, self.current_log(), self.log_path, self.spec.source_dir, tail)

    def kill_group(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """SIGTERM the whole group, wait up to ``grace`` seconds, then SIGKILL what is left."""
        if self.popen is None:
            return
        group = self.popen.pid
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(group, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and _group_alive(group):
            if self.popen.poll() is None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.popen.wait(0.05)
            else:
                time.sleep(0.05)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(group, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(5)

    async def stop(self) -> None:
        if self._restart_task:
            self._restart_task.cancel()
        await asyncio.get_running_loop().run_in_executor(None, self.kill_group)
        self.state = State.STOPPED
        self.server.clean_up(self.launch)

    def crashed(self) -> bool:
        """True when the launcher died while we expected it to run."""
        return self.state is State.AVAILABLE and self.popen is not None and self.popen.poll() is not None

    def crash_reason(self) -> str:
        return f"exited with code {self.popen.returncode if self.popen else None}"

    # ---- the rest of the face every served model shows the gateway (served.ServedModel) ------
    @property
    def isolation(self) -> str:
        return "process"

    @property
    def shared_server(self) -> str | None:
        """None: a process group of its own."""
        return None

    def start_message(self) -> str:
        return f"starting {self.server.name} on 127.0.0.1:{self.ports.http}; waiting for the model to load"

    async def shutdown(self) -> None:
        """The gateway is stopping: stop the process group."""
        await self.stop()

    def schedule_restart(self, session: aiohttp.ClientSession, timeout: float, reason: str) -> None:
        """Mark the model restarting at once (requests get 503), then clean up the dead group
        and restart it after the current backoff, which doubles on each failure."""
        self.state = State.RESTARTING
        self.last_error = reason
        if time.monotonic() - self.started_at > 60:
            self._backoff.reset()  # it had been healthy for a while: start over
        delay = self._backoff.next()
        self._restart_task = asyncio.get_running_loop().create_task(self._restart_after(delay, session, timeout))

    async def _restart_after(self, delay: float, session: aiohttp.ClientSession, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self.kill_group, 2.0)
        await asyncio.sleep(delay)
        self.restarts += 1
        self.server.clean_up(self.launch)
        self.ports = Ports.free()  # the old ones may have been taken meanwhile (or were the cause)
        try:
            await self.start(session, timeout)
        except StartError as error:
            self.schedule_restart(session, timeout, str(error))


async def _port_open(port: int) -> bool:
    """Whether something accepts connections on ``port`` (an asyncio connect: the readiness
    loop never blocks the gateway's event loop)."""
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 0.2)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
