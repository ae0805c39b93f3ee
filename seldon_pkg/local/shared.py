"""Shared servers: the OIP models of one runtime environment in one MLServer process.

A model process costs about 120 MiB and a second or two to start; a model loaded into a running
MLServer costs about 1.5 MiB and a fraction of a second. So OIP models (``protocol: v2``)
whose runtime environment is identical (the same interpreter, hence the same requirements,
and the same process-wide settings: the spec's ``env`` and its device) share one server by
default; ``isolation: process`` in a spec gives a model a process group of its own.

* :class:`SharedServer` is one such process (a :class:`ServerProcess`: started, watched and
  restarted with backoff exactly like a model process) and the models loaded in it;
* :class:`SharedModel` is one model in it, with the face the gateway knows from
  :class:`~seldon_pkg.local.process.ModelProcess` (``served.ServedModel``: state, ports, log,
  start, stop, restart with backoff), so routing, describe, logs, redeploy and delete do not
  care which kind serves a deployment;
* :class:`SharedServers` finds or makes the server of an environment.

Guarantees kept per model: a model whose load raises fails its own deploy with its own error
(its own log holds its traceback) while the server's other models keep serving; a redeploy of
a name loads the new model beside the old one and MLServer switches when it is loaded (no
failed request); deleting a model unloads only it, and the last one stops the process. A crash
of the process makes every model in it answer 503 until the server has restarted (backoff)
and loaded each of them again, once. Not isolated: memory (one model's leak is the others'),
the CPU, and a segfault or a ``load`` that blocks, which take every model of the server down
with it; that is what ``isolation: process`` is for.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from seldon_pkg.local.environments import RuntimeEnvironment
from seldon_pkg.local.process import (
    Backoff,
    ModelProcess,
    Ports,
    StartError,
    State,
    begin_run,
    failure_report,
    read_current_run,
)
from seldon_pkg.servers.base import ServerKind, python_path
from seldon_pkg.servers.shared_mlserver import SHARED_MLSERVER
from seldon_pkg.spec.accelerator import accelerator_env
from seldon_pkg.spec.model_spec import ModelSpec

UNLOAD_TIMEOUT = 30.0


def environment_key(spec: ModelSpec, environment: RuntimeEnvironment) -> str:
    """Which server a model belongs in: the interpreter and every process-wide setting."""
    process_wide = {
        "python": str(environment.python),
        "env": sorted(spec.env.items()),
        "device": sorted(accelerator_env(spec.accelerator).items()),
    }
    return hashlib.sha256(json.dumps(process_wide, sort_keys=True).encode()).hexdigest()[:10]


@dataclass
class ServerProcess(ModelProcess):
    """The MLServer process of a shared server: a model process without a model of its own.

    It runs in its own work folder, not in a model's folder, and without any model's folder on its
    path (each model gets its own during its load); when it is ready, ``on_ready`` loads its
    models, after its first start and after every restart."""

    on_ready: Callable[[], Awaitable[None]] | None = None
    """Called once the server answers (set by :class:`SharedServer`)."""

    @property
    def server(self) -> ServerKind:
        return SHARED_MLSERVER

    @property
    def cwd(self) -> Path:
        """Its own work folder (MLServer puts the working directory on ``sys.path``)."""
        return self.launch.workdir

    def environment_variables(self) -> dict[str, str]:
        env = super().environment_variables()
        env["PYTHONPATH"] = python_path(*([self.wrappers_lib] if self.environment.isolated else []))
        return env

    async def start(self, session: aiohttp.ClientSession, timeout: float) -> None:
        await super().start(session, timeout)
        if self.on_ready is not None:
            await self.on_ready()


class SharedServer:
    """One MLServer process and the models loaded in it (see the module docstring)."""

    def __init__(self, key: str, process: ServerProcess, session: aiohttp.ClientSession, timeout: float) -> None:
        self.key = key
        self.process = process
        self.models: dict[str, SharedModel] = {}
        """The model serving each name (a redeploy replaces the entry once the new one has loaded)."""
        self._session = session
        self._timeout = timeout
        self._starting = asyncio.Lock()
        self.arriving = 0
        """Models between "start the server" and the end of their load (the server must stay)."""
        process.on_ready = self._load_all

    @property
    def name(self) -> str:
        return self.process.name

    async def ensure_running(self) -> None:
        """Start the process unless it runs; wait for a start or restart under way."""
        async with self._starting:
            deadline = time.monotonic() + self._timeout
            while self.process.state in (State.STARTING, State.RESTARTING) and time.monotonic() < deadline:
                await asyncio.sleep(0.05)  # a restart after a crash is on its way (it loads every model)
            if self.process.state is State.AVAILABLE:
                return
            self.process.ports = Ports.free()
            await self.process.start(self._session, self._timeout)

    async def load(self, model: SharedModel) -> None:
        """Load ``model`` (in place of a model of that name: MLServer keeps the old one serving
        until the new one has loaded); raises StartError with the model's own error."""
        model.begin_run(f"loading {model.name} into shared server {self.name} (pid {self.process.pid})")
        SHARED_MLSERVER.write_member(
            self.process.launch.workdir, model.name, model.spec, log_file=model.log_path, model_dir=model.model_dir
        )
        url = f"{self.process.http_base}/v2/repository/models/{model.name}/load"
        try:
            async with self._session.post(url, timeout=aiohttp.ClientTimeout(total=self._timeout)) as reply:
                status, text = reply.status, await reply.text()
        except (TimeoutError, aiohttp.ClientError) as error:
            status, text = 0, f"{type(error).__name__}: {error}"
        if status != 200:
            previous = self.models.get(model.name)
            if previous is not None:  # what a restart loads again is the model that still serves
                SHARED_MLSERVER.write_member(
                    self.process.launch.workdir,
                    previous.name,
                    previous.spec,
                    log_file=previous.log_path,
                    model_dir=previous.model_dir,
                )
            else:
                SHARED_MLSERVER.remove_member(self.process.launch.workdir, model.name)
            raise StartError(model.failure_report(f"its load failed: {_error_text(status, text)}"))
        self.models[model.name] = model

    async def unload(self, model: SharedModel) -> None:
        """Unload ``model`` unless a newer model of its name replaced it; stop the process when
        it was the last."""
        if self.models.get(model.name) is not model:
            return
        del self.models[model.name]
        if self.process.state is State.AVAILABLE:
            url = f"{self.process.http_base}/v2/repository/models/{model.name}/unload"
            with contextlib.suppress(TimeoutError, aiohttp.ClientError):
                async with self._session.post(url, timeout=aiohttp.ClientTimeout(total=UNLOAD_TIMEOUT)):
                    pass
        SHARED_MLSERVER.remove_member(self.process.launch.workdir, model.name)
        await self.stop_if_empty()

    async def stop_if_empty(self) -> None:
        """No model left (the last was deleted, or the first failed to load): no process either."""
        async with self._starting:
            if not self.models and not self.arriving and self.process.state is not State.STOPPED:
                await self.process.stop()

    async def _load_all(self) -> None:
        """After a (re)start: load every model again, once each; a model that fails is Failed
        with its own error, the others serve."""
        for model in list(self.models.values()):
            model.own_state = State.RESTARTING
        for model in list(self.models.values()):
            try:
                await self.load(model)
            except StartError as error:
                model.own_state, model.last_error = State.FAILED, str(error)
            else:
                model.own_state = State.AVAILABLE

    def crashed(self) -> bool:
        return self.process.crashed()


@dataclass(eq=False)
class SharedModel:
    """One model in a shared server, as the gateway sees a model process."""

    name: str
    spec: ModelSpec
    shared: SharedServer
    log_path: Path
    model_dir: Path | None = None
    own_state: State = State.STOPPED
    last_error_own: str = ""
    _retry: asyncio.Task | None = field(default=None, repr=False)
    _backoff: Backoff = field(default_factory=Backoff, repr=False)

    # ---- the face of a model process --------------------------------------------------------
    @property
    def server(self) -> ServerKind:
        return SHARED_MLSERVER

    @property
    def state(self) -> State:
        """Its own state while the server is up; the server's while it is not (a crash or a
        restart makes every model in it unavailable)."""
        server_state = self.shared.process.state
        if self.own_state is State.AVAILABLE and server_state is not State.AVAILABLE:
            return server_state if server_state is not State.STOPPED else State.RESTARTING
        return self.own_state

    @property
    def last_error(self) -> str:
        if self.own_state is State.AVAILABLE and self.shared.process.state is not State.AVAILABLE:
            return self.shared.process.last_error
        return self.last_error_own

    @last_error.setter
    def last_error(self, text: str) -> None:
        self.last_error_own = text

    @property
    def ports(self) -> Ports:
        return self.shared.process.ports

    @property
    def pid(self) -> int | None:
        return self.shared.process.pid

    @property
    def restarts(self) -> int:
        return self.shared.process.restarts

    @property
    def environment(self) -> RuntimeEnvironment:
        return self.shared.process.environment

    @property
    def shared_server(self) -> str | None:
        """The name of the shared server it is loaded in."""
        return self.shared.name

    @property
    def isolation(self) -> str:
        return self.spec.isolation

    def crashed(self) -> bool:
        """Never on its own: its server's crash is ``SharedServers.supervise``'s to restart."""
        return False

    def crash_reason(self) -> str:
        return ""

    def start_message(self) -> str:
        return (
            f"loading it into shared server {self.shared_server} "
            "(MLServer; isolation: process in the spec gives it a process of its own)"
        )

    async def shutdown(self) -> None:
        """The gateway is stopping: nothing to unload one by one, its server stops whole."""

    # ---- its log ----------------------------------------------------------------------------
    def begin_run(self, line: str) -> None:
        begin_run(self.log_path, line)

    def current_log(self) -> str:
        return read_current_run(self.log_path)

    def failure_report(self, what: str) -> str:
        return failure_report(self.name, what, self.current_log(), self.log_path, self.spec.source_dir)

    # ---- lifecycle --------------------------------------------------------------------------
    async def start(self, session: aiohttp.ClientSession, timeout: float) -> None:
        """Start the server if it is not running, then load this model into it."""
        self.own_state = State.STARTING
        self.shared.arriving += 1
        try:
            await self.shared.ensure_running()
            await self.shared.load(self)
        except StartError as error:
            self.own_state, self.last_error = State.FAILED, str(error)
            self.shared.arriving -= 1
            await self.shared.stop_if_empty()
            raise
        except BaseException:
            self.shared.arriving -= 1
            raise
        self.shared.arriving -= 1
        self.own_state, self.last_error = State.AVAILABLE, ""

    async def stop(self) -> None:
        if self._retry is not None:
            self._retry.cancel()
        await self.shared.unload(self)
        self.own_state = State.STOPPED

    def schedule_restart(self, session: aiohttp.ClientSession, timeout: float, reason: str) -> None:
        """Try the load again after a backoff (a restored model whose load failed keeps trying,
        like a crashed process), doubling on each failure."""
        self.own_state, self.last_error = State.RESTARTING, reason
        delay = self._backoff.next()
        self._retry = asyncio.get_running_loop().create_task(self._retry_after(delay, session, timeout))

    async def _retry_after(self, delay: float, session: aiohttp.ClientSession, timeout: float) -> None:
        await asyncio.sleep(delay)
        try:
            await self.start(session, timeout)
        except StartError as error:
            self.schedule_restart(session, timeout, str(error))


class SharedServers:
    """The gateway's shared servers, one per environment key (made on first use, kept while the
    gateway runs; a server with no model has no process)."""

    def __init__(self, logs: Path, wrappers_lib: Path, session: aiohttp.ClientSession, timeout: float) -> None:
        self.logs = logs
        self.wrappers_lib = wrappers_lib
        self.session = session
        self.timeout = timeout
        self.servers: dict[str, SharedServer] = {}

    def model(
        self, name: str, spec: ModelSpec, environment: RuntimeEnvironment, log_path: Path, model_dir: Path | None
    ) -> SharedModel:
        """A not-yet-loaded model in the server of its environment."""
        key = environment_key(spec, environment)
        server = self.servers.get(key)
        if server is None:
            server_name = f"shared-{key}"
            process = ServerProcess(server_name, spec, environment, self.logs / f"{server_name}.log", self.wrappers_lib)
            server = self.servers[key] = SharedServer(key, process, self.session, self.timeout)
        return SharedModel(name, spec, server, log_path, model_dir)

    def supervise(self) -> None:
        """Restart (with backoff) every server whose process died; its models answer 503 meanwhile."""
        for server in self.servers.values():
            if server.crashed():
                process = server.process
                reason = f"shared server {server.name} exited with code {process.popen.returncode if process.popen else None}"
                process.schedule_restart(self.session, self.timeout, reason)

    async def shutdown(self) -> None:
        await asyncio.gather(*(server.process.stop() for server in self.servers.values()), return_exceptions=True)


def _error_text(status: int, text: str) -> str:
    """MLServer's ``{"error": ...}`` message, or the status and body."""
    try:
        message = json.loads(text).get("error")
    except (ValueError, AttributeError):
        message = None
    return str(message) if message else (f"HTTP {status}: {text[:300]}" if status else text)
