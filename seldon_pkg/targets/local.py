"""The local runtime as a target: the gateway of ``seldon-pkg serve``, through its control API."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from seldon_pkg.errors import Invalid, NotFound
from seldon_pkg.local.client import LocalClient
from seldon_pkg.local.control_wire import info_from_row, outcome_from_answer
from seldon_pkg.local.process import current_run
from seldon_pkg.local.state import StateDir
from seldon_pkg.spec.model_spec import ModelSpec, spec_document
from seldon_pkg.startup_errors import cause
from seldon_pkg.targets.base import DeleteOutcome, DeploymentInfo, DeployOutcome, DeployPolicy, Endpoint
from seldon_pkg.values import Action, VersionPolicy

__all__ = ["LocalTarget", "info_from_row"]


class LocalTarget:
    kind = "local"
    default_namespace: str | None = None

    def __init__(self, state_dir: str | Path | None = None, progress: Callable[[str], None] | None = None) -> None:
        self._state = StateDir.open(state_dir)
        self.progress = progress
        self._client: LocalClient | None = None

    @property
    def client(self) -> LocalClient:
        """Connected on first use, so a target can be built before ``serve`` runs."""
        if self._client is None:
            self._client = LocalClient(self._state)
        return self._client

    def deploy(self, spec: ModelSpec, policy: DeployPolicy = DeployPolicy()) -> DeployOutcome:
        if policy.canary is not None:
            raise Invalid("--canary needs a cluster target: the local runtime serves one revision per deployment")
        # the spec itself travels, as the cluster target renders it: one built or changed in code
        # deploys as built, whatever the file it came from says now
        answer = self.client.deploy(
            document=spec_document(spec), source_dir=spec.source_dir, policy=policy.mode, progress=self.progress
        )
        return outcome_from_answer(answer)  # a NotReady carries one too (the client rebuilds it)

    def list(self, namespace: str | None = None) -> list[DeploymentInfo]:
        rows = [info_from_row(row) for row in self.client.list()]
        return sorted((r for r in rows if namespace in (None, r.namespace)), key=lambda r: (r.namespace, r.name))

    def get(self, name: str, namespace: str | None = None) -> DeploymentInfo:
        matches = [r for r in self.list(namespace) if r.name == name]
        if not matches:
            raise NotFound(f"no local deployment named {name!r}" + (f" in namespace {namespace}" if namespace else ""))
        if len(matches) > 1:
            raise Invalid(f"{name!r} exists in namespaces {', '.join(m.namespace for m in matches)}; pass --namespace")
        return matches[0]

    def delete(self, name: str, namespace: str | None = None) -> DeleteOutcome:
        found = self.get(name, namespace)
        self.client.delete(found.namespace, found.name)
        return DeleteOutcome(found.name, found.namespace, (f"deleted {found.namespace}/{found.name}",))

    def endpoint(self, name: str, namespace: str | None = None) -> Endpoint:
        found = self.get(name, namespace)
        return Endpoint(found.url or "", found.grpc)

    def describe(self, name: str, namespace: str | None = None) -> dict[str, Any]:
        """A deployed model's details; for a name that failed to deploy, what its log says."""
        try:
            found = self.get(name, namespace)
        except NotFound:
            log = self._log_of(name, namespace)
            return {
                "name": name,
                "namespace": log.name.split(".", 1)[0],
                "state": "NotDeployed",
                "log": str(log),
                "model_error": _model_error(log, None),
            }
        detail = self.client.show(found.namespace, found.name)
        return {
            **found.to_dict(),
            **detail,
            "model_error": _model_error(Path(detail["log"]), detail.get("model_folder")),
        }

    def logs(
        self, name: str, namespace: str | None = None, tail: int | None = None, follow: bool = False
    ) -> Iterator[str]:
        try:  # a deployed model's namespace is known; a failed deploy's log is found by name
            namespace = self.get(name, namespace).namespace
        except NotFound:
            pass
        with open(self._log_of(name, namespace), errors="replace") as handle:
            lines = handle.read().splitlines()
            yield from lines[-tail:] if tail else lines
            while follow:
                line = handle.readline()
                if line:
                    yield line.rstrip("\n")
                else:
                    time.sleep(0.2)

    def _log_of(self, name: str, namespace: str | None) -> Path:
        """The log a model left in the state folder, deployed or not (a failed deploy keeps it)."""
        if namespace is not None:
            logs = [self._state.log_file(namespace, name)]
            logs = [log for log in logs if log.exists()]
        else:
            logs = sorted(self._state.logs.glob(f"*.{name}.log"))
        if len(logs) != 1:
            raise NotFound(f"no local deployment named {name!r} and no log of one in {self._state.logs}")
        return logs[0]

    def undo(self, outcome: DeployOutcome) -> None:
        """``created``: delete it; ``updated``: restore the previous record; ``unchanged``: nothing."""
        info = outcome.info
        if outcome.action is Action.UPDATED and outcome.previous:
            self.client.deploy(record=outcome.previous, policy=VersionPolicy.KEEP)
        elif outcome.action is Action.CREATED:
            try:
                self.client.delete(info.namespace, info.name)
            except NotFound:
                pass  # already gone: the goal of undo is reached


def _model_error(log: Path, model_folder: str | None) -> str | None:
    """The model's own error in the last run recorded in ``log`` (startup_errors.cause)."""
    if not log.exists():
        return None
    problem = cause(current_run(log.read_text(errors="replace")), model_folder)
    return str(problem) if problem else None
