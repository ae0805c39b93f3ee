"""The gateway's core: which deployments exist, which process serves each, and their lifecycle.

Transport-free (the REST and gRPC front ends and the control API are thin adapters over it),
in the spirit of KServe's data plane. Rules it keeps:

* deploying or deleting one model never touches another's process, nor another model in a
  shared server (``seldon_pkg.local.shared``: where OIP models of one environment are loaded
  into one MLServer process; a deployment does not care which serves it);
* redeploying an identity starts the new process, waits until it is ready, switches traffic,
  waits for in-flight requests to the old one to finish, then stops it;
* a crashed process is restarted with backoff while its route answers 503;
* the registry on disk is updated with every change, so a restarted gateway restores all.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import yaml

from seldon_pkg.errors import NotReady
from seldon_pkg.local.control_wire import info_from_row
from seldon_pkg.local.environments import ensure_environment, sync_wrappers
from seldon_pkg.local.process import ModelProcess, StartError
from seldon_pkg.local.registry import Record, Registry
from seldon_pkg.local.served import ServedModel
from seldon_pkg.local.shared import SharedServers
from seldon_pkg.local.state import StateDir
from seldon_pkg.model_folder import IGNORED, check_contained
from seldon_pkg.records import DeployOutcome
from seldon_pkg.spec.model_spec import ModelSpec, load_spec, parse_spec, spec_file
from seldon_pkg.storage.fetch import fetch as fetch_storage
from seldon_pkg.values import Action, VersionPolicy

logger = logging.getLogger("seldon_pkg.gateway")
Progress = Callable[[str], None]
SUPERVISE_EVERY = 0.25


def _quiet(_: str) -> None:
    """The default progress sink: nobody is watching."""


DRAIN_SECONDS = 30.0
FAILED_STATE = "NotDeployed"
"""The state of a deploy whose process never started (as ``describe`` of an unknown name says)."""


class DeployError(NotReady):
    """The model did not start; the message carries the model's own error output.

    Its ``outcome`` is ``unchanged``: a process that failed to start is never published nor
    registered, so whatever served that name before still does and nothing is to be undone."""


Served = ServedModel
"""What serves a deployment: a process group of its own, or its place in a shared server; the
gateway sees one face (``served.ServedModel``) and never asks which."""


@dataclass
class Deployment:
    record: Record
    process: Served
    inflight: int = 0
    drained: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def prediction_path(self) -> str:
        """Its prediction URL's path, the cluster's scheme: ``/seldon/<namespace>/<name>`` and the
        server's own prediction path."""
        record = self.record
        return f"/seldon/{record.namespace}/{record.name}{self.process.server.prediction_path(record.name)}"

    def enter(self) -> None:
        self.inflight += 1
        self.drained.clear()

    def leave(self) -> None:
        self.inflight -= 1
        if self.inflight == 0:
            self.drained.set()


class Gateway:
    def __init__(
        self, state: StateDir, *, url_host: str, http_port: int, grpc_port: int, ready_timeout: float = 300.0
    ) -> None:
        self.state = state
        self.url_host = url_host
        self.http_port = http_port
        self.grpc_port = grpc_port
        self.ready_timeout = ready_timeout
        self.registry = Registry(state)
        self.deployments: dict[tuple[str, str], Deployment] = {}
        self.failed: dict[tuple[str, str], dict] = {
            (row["namespace"], row["name"]): row for row in state.read_json(state.failed_file, default=[])
        }
        """Deploys that never started (state ``NotDeployed``, their error and log), by key: listed and
        found by model name like deployments until deleted or replaced (kept in the state folder)."""
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}
        self._session_or_none: aiohttp.ClientSession | None = None
        self._shared_or_none: SharedServers | None = None
        self._supervisor: asyncio.Task | None = None
        self.wrappers_lib = state.lib

    # ---- lifecycle of the gateway itself ----------------------------------------------------
    async def startup(self) -> None:
        self._session_or_none = aiohttp.ClientSession()
        self._shared_or_none = SharedServers(self.state.logs, self.wrappers_lib, self._session, self.ready_timeout)
        sync_wrappers(self.state.lib)
        records = self.registry.records()
        results = await asyncio.gather(*(self._restore(record) for record in records), return_exceptions=True)
        for record, result in zip(records, results, strict=True):
            if isinstance(result, Exception):
                logger.error("restoring %s failed: %s", record.name, result)
        self._supervisor = asyncio.get_running_loop().create_task(self._supervise())

    async def shutdown(self) -> None:
        if self._supervisor:
            self._supervisor.cancel()
        served = [d.process for d in self.deployments.values()]
        await asyncio.gather(*(process.shutdown() for process in served), return_exceptions=True)
        if self._shared_or_none is not None:  # whole servers: no model is unloaded one by one
            await self._shared_or_none.shutdown()
        if self._session_or_none:
            await self._session_or_none.close()

    async def _restore(self, record: Record) -> None:
        """Start a registered model again; if it fails, keep retrying with backoff like a crash
        (it stays published, answering 503), rather than leaving it Failed until a redeploy."""
        try:
            await self._start_with_retry(record, record.spec(), publish=True)
        except DeployError as error:
            deployment = self.deployments.get(record.key)
            if deployment is not None:
                deployment.process.schedule_restart(self._session, self.ready_timeout, str(error))
            raise

    async def _supervise(self) -> None:
        while True:
            await asyncio.sleep(SUPERVISE_EVERY)
            for deployment in list(self.deployments.values()):
                process = deployment.process
                if process.crashed():
                    reason = process.crash_reason()
                    logger.warning("%s (pid %s) %s; restarting", process.name, process.pid, reason)
                    process.schedule_restart(self._session, self.ready_timeout, reason)
            self.shared.supervise()

    # ---- what the control API calls ---------------------------------------------------------
    async def deploy(self, spec_path: Path, policy: str = "replace", progress: Progress = _quiet) -> dict:
        """Deploy a spec file; see :meth:`deploy_record`."""
        spec = load_spec(spec_path)
        check_contained(spec.source_dir, IGNORED)  # the model runs from its folder: nothing may lead out
        record = Record.from_spec(spec, spec_file(spec_path).read_text())
        return await self.deploy_record(record, spec, policy, progress)

    async def deploy_document(
        self, document: dict, source_dir: Path, policy: str = "replace", progress: Progress = _quiet
    ) -> dict:
        """Deploy a spec sent as data (``spec_document``), validated here as a file would be:
        what runs, and what a restarted gateway restores, is that spec, not a file on disk."""
        spec = parse_spec(document, source_dir=source_dir.resolve(), source="spec")
        check_contained(spec.source_dir, IGNORED)
        record = Record.from_spec(spec, yaml.safe_dump(document, sort_keys=False, allow_unicode=True))
        return await self.deploy_record(record, spec, policy, progress)

    async def deploy_record(
        self, record: Record, spec: ModelSpec | None = None, policy: str = "replace", progress: Progress = _quiet
    ) -> dict:
        """Start ``record``'s process, switch traffic to it, retire what it replaces.

        Returns what the control API answers: the deployment, the ``action`` (created or
        updated), the ``previous`` record of that name (for undo) and the names ``replace``
        removed (the model's other versions, once this one is ready).
        """
        spec = spec or record.spec()
        async with self._lock(record.key):
            try:
                process = await self._start_with_retry(record, spec, publish=False, progress=progress)
            except DeployError as error:
                if record.key not in self.deployments and isinstance(error.outcome, DeployOutcome):
                    self._remember_failure(error.outcome)  # nothing serves that name: keep it findable
                raise
            self._forget_failure(record.key)
            previous = self.deployments.get(record.key)
            previous_record = self.registry.get(*record.key)
            fresh = Deployment(record, process)
            self.deployments[record.key] = fresh  # the switch: new requests go to the new process
            self.registry.put(record)
            if previous is not None:
                await self._retire(previous)
        replaced = []
        if policy == VersionPolicy.REPLACE:
            for key, other in list(self.deployments.items()):
                if key != record.key and key[0] == record.namespace and other.record.model == record.model:
                    if await self.delete(*key):
                        replaced.append(key[1])
            for key, row in list(self.failed.items()):  # failed versions are replaced too
                if key[0] == record.namespace and row["model"] == record.model:
                    self._forget_failure(key)
        return {
            "deployment": self.describe(fresh),
            "action": Action.UPDATED if previous_record is not None else Action.CREATED,
            "previous": previous_record.to_dict() if previous_record is not None else None,
            "replaced": replaced,
        }

    async def delete(self, namespace: str, name: str) -> bool:
        key = (namespace, name)
        async with self._lock(key):
            deployment = self.deployments.pop(key, None)
            removed = self.registry.remove(namespace, name)
            forgotten = self._forget_failure(key)
            if deployment is not None:
                await self._retire(deployment)
            return deployment is not None or removed is not None or forgotten

    def rows(self) -> list[dict]:
        """Every deployment's description and every failed deploy's, by namespace and name."""
        rows = {key: self.describe(d) for key, d in self.deployments.items()}
        rows.update({key: row for key, row in self.failed.items() if key not in rows})
        return [row for _, row in sorted(rows.items())]

    def row(self, namespace: str, name: str) -> dict | None:
        """One deployment's description, or a failed deploy's, or ``None``."""
        deployment = self.route(namespace, name)
        return self.describe(deployment) if deployment is not None else self.failed.get((namespace, name))

    def _remember_failure(self, outcome: DeployOutcome) -> None:
        row = {
            **outcome.info.to_dict(),
            "state": FAILED_STATE,
            "log": str(self.state.log_file(outcome.info.namespace, outcome.info.name)),
        }
        self.failed[(outcome.info.namespace, outcome.info.name)] = row
        self.state.write_json(self.state.failed_file, list(self.failed.values()))

    def _forget_failure(self, key: tuple[str, str]) -> bool:
        if self.failed.pop(key, None) is None:
            return False
        self.state.write_json(self.state.failed_file, list(self.failed.values()))
        return True

    def route(self, namespace: str, name: str) -> Deployment | None:
        return self.deployments.get((namespace, name))

    def names(self) -> list[str]:
        return [f"{ns}/{name}" for ns, name in sorted(self.deployments)]

    def describe(self, deployment: Deployment) -> dict:
        record, process = deployment.record, deployment.process
        return {
            "name": record.name,
            "model": record.model,
            "version": record.version,
            "namespace": record.namespace,
            "revision": record.revision,
            "protocol": process.spec.protocol,
            "platform": process.spec.platform,  # where the cluster would run it; `target` says local
            "state": process.state.value,
            "url": f"http://{self.url_host}:{self.http_port}{deployment.prediction_path}",
            "grpc": f"{self.url_host}:{self.grpc_port}",
            "pid": process.pid,
            "ports": {"http": process.ports.http, "grpc": process.ports.grpc, "metrics": process.ports.metrics},
            "runtime": str(process.environment.python),
            "restarts": process.restarts,
            "isolation": process.isolation,
            "server": process.shared_server,
            "log": str(process.log_path),
            "model_folder": record.source_dir,
            "last_error": process.last_error,
            "age_seconds": round(time.time() - record.created_at, 1),
        }

    # ---- helpers ----------------------------------------------------------------------------
    @property
    def _session(self) -> aiohttp.ClientSession:
        """The health-check HTTP session (made in ``startup``, on the event loop)."""
        assert self._session_or_none is not None, "startup() first"
        return self._session_or_none

    @property
    def shared(self) -> SharedServers:
        """The shared servers (made in ``startup``)."""
        assert self._shared_or_none is not None, "startup() first"
        return self._shared_or_none

    def _lock(self, key: tuple[str, str]) -> asyncio.Lock:
        return self._locks.setdefault(key, asyncio.Lock())

    async def _new_process(self, name: str, spec: ModelSpec, progress: Progress = _quiet) -> Served:
        loop = asyncio.get_running_loop()

        def report(line: str) -> None:  # called from the executor thread
            loop.call_soon_threadsafe(progress, line)

        environment = await loop.run_in_executor(None, ensure_environment, spec, self.state.envs, report)
        model_dir = None
        if spec.storage_uri:  # fetched before anything stops: a missing object leaves the old revision serving
            fetched = await loop.run_in_executor(
                None, fetch_storage, spec.storage_uri, self.state.storage, spec.source_dir, report
            )
            model_dir = fetched.folder
        log = self.state.log_file(spec.namespace, name)
        if spec.shares_server:
            return self.shared.model(name, spec, environment, log, model_dir)
        return ModelProcess(name, spec, environment, log, self.wrappers_lib, model_dir=model_dir)

    async def _start_with_retry(
        self, record: Record, spec: ModelSpec, *, publish: bool, progress: Progress = _quiet
    ) -> Served:
        """Start a process; if its free ports were grabbed meanwhile, once more on new ones.

        ``publish`` routes requests to it while it starts (they get 503 until it is ready): right
        for a restore, wrong for a redeploy, where the old process serves until the switch.
        """
        for attempt in (1, 2):
            process = await self._new_process(record.name, spec, progress)
            if publish:
                self.deployments[record.key] = Deployment(record, process)
            progress(process.start_message())
            try:
                await process.start(self._session, self.ready_timeout)
                return process
            except StartError as error:
                if attempt == 2 or not error.port_taken:
                    raise DeployError(str(error), self._unchanged(record, process, str(error))) from None
        raise AssertionError("unreachable")

    def _unchanged(self, record: Record, process: Served, failure: str) -> DeployOutcome:
        """What a deploy whose process failed to start did: nothing, to the deployment it names."""
        row = self.describe(Deployment(record, process))
        row["last_error"] = failure.splitlines()[0] if failure else ""
        return DeployOutcome(info_from_row(row), Action.UNCHANGED)

    async def _retire(self, deployment: Deployment) -> None:
        """Let in-flight requests finish (bounded), then stop the process group."""
        if deployment.inflight:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(deployment.drained.wait(), DRAIN_SECONDS)
        await deployment.process.stop()
