"""What the Kubeflow Pipelines steps do, as plain library calls (no KFP import here).

``seldon_pkg.kfp`` wraps these two functions as KFP components; kept apart so they run, and are
tested and type-checked, in any environment that has the library (the KFP SDK needs protobuf 6,
seldon-core's environment has protobuf 3).

* :func:`deploy` deploys a model folder (``seldon-model.yaml`` and its files) on any target
  and platform through ``open_target(...).deploy``, returns the deployment's name, prediction
  URL, gRPC address, revision and the headers a request needs, and writes a *record* of what it applied (the library's
  ``DeployOutcome`` plus how to reach the target again);
* :func:`undeploy` undoes exactly what a record says was applied (``Target.undo``: a deployment
  it created is deleted, one it updated gets its previous revision back), or deletes a
  deployment by name.

Both end with :class:`StepFailed`, carrying the library error's kind, exit code and text, so a
failed step says in its log what ``seldon-pkg`` would have said. A deploy that was applied but
never became ready is undone before the step fails: a failed step has no outputs, so nothing
after it could remove what it left.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from seldon_pkg.errors import NotFound, NotReady, Refused, SeldonPkgError, kind_of
from seldon_pkg.spec.model_spec import ModelSpec, load_spec, on_platform, parse_spec, spec_file
from seldon_pkg.spec.preflight import check
from seldon_pkg.targets import open_target
from seldon_pkg.targets.base import DeploymentInfo, DeployOutcome, DeployPolicy, Target
from seldon_pkg.values import Action, VersionPolicy, parse_choice

RECORD_FORMAT = "seldon-pkg/deployment-record/v1"
"""The ``format`` of a record (:func:`deploy` writes it, :func:`undeploy` reads it)."""


@dataclass(frozen=True)
class Deployed:
    """A deploy step's outputs. Empty text where the target cannot tell (no ingress found)."""

    name: str
    url: str
    grpc: str
    revision: str
    namespace: str
    headers: dict[str, str]
    """What a client must send with each request (KServe on a cluster: the ``Host`` its ingress routes on)."""


class StepFailed(RuntimeError):
    """A step ended with one of the library's errors; its message starts with the error's kind."""

    def __init__(self, step: str, error: SeldonPkgError) -> None:
        self.kind = kind_of(error)
        self.exit_code = error.exit_code
        super().__init__(f"{step} failed: {self.kind} (seldon-pkg exit code {self.exit_code}): {error}")


def timed_printer() -> Callable[[str], None]:
    """Progress lines with the seconds since the step started (as ``seldon-pkg deploy`` prints)."""
    started = time.monotonic()

    def progress(line: str) -> None:
        print(f"  [{time.monotonic() - started:5.1f} s] {line}", flush=True)

    return progress


def deploy(
    model_dir: str | Path,
    *,
    target: str = "local",
    platform: str = "",
    namespace: str = "",
    policy: str = "replace",
    timeout: float = 300.0,
    state_dir: str = "",
    context: str = "",
    record: str | Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> Deployed:
    """Deploy the model folder (or spec file) ``model_dir`` and wait until it answers.

    ``platform``/``namespace`` override the spec's when not empty; ``policy`` is ``replace`` or
    ``keep`` (``DeployPolicy``); ``timeout`` bounds the wait for a cluster deployment;
    ``state_dir`` chooses the local gateway (default ``$SELDON_PKG_STATE_DIR``, then
    ``~/.seldon-pkg``), ``context`` the kubeconfig context (default: in-cluster or current)."""
    progress = progress or timed_printer()
    try:
        spec = on_platform(load_spec(model_dir), platform or None)
        chosen = open_target(
            target,
            state_dir=state_dir or None,
            context=context or None,
            progress=progress,
            platform=spec.platform,
        )
        spec = _in_namespace(spec, namespace, as_file=chosen.kind == "local")
        check(spec)
        try:
            outcome = chosen.deploy(spec, DeployPolicy(parse_choice(VersionPolicy, policy, "policy"), timeout=timeout))
        except NotReady as error:
            applied = isinstance(error.outcome, DeployOutcome) and error.outcome.action is not Action.UNCHANGED
            if applied:  # applied, never ready: leave nothing serving half-made
                progress(f"undoing what was applied ({error.outcome.action}) before failing")
                try:
                    chosen.undo(error.outcome)
                except SeldonPkgError as undo_error:  # the deploy's own error is the one to report
                    progress(f"could not undo it: {undo_error}")
            raise
    except SeldonPkgError as error:
        raise StepFailed("deploy_model", error) from error
    info = outcome.info
    progress(f"{outcome.action} {info.namespace}/{info.name} ({info.state}), revision {info.revision}")
    for warning in outcome.warnings:
        progress(f"warning: {warning}")
    headers: dict[str, str] = {}
    try:
        headers = dict(chosen.endpoint(info.name, info.namespace).headers)
    except SeldonPkgError as error:  # deployed and ready: the step still succeeds, saying what is missing
        progress(f"warning: no request headers for {info.name}: {error}")
    if record is not None:
        write_record(Path(record), outcome, target=target, state_dir=state_dir, context=context)
    return Deployed(info.name, info.url or "", info.grpc or "", info.revision or "", info.namespace, headers)


def undeploy(
    record: str | Path | None = None,
    *,
    name: str = "",
    namespace: str = "",
    target: str = "local",
    platform: str = "",
    state_dir: str = "",
    context: str = "",
    progress: Callable[[str], None] | None = None,
) -> str:
    """Undo what the deploy step's ``record`` says it applied; without a record, delete the
    deployment ``name`` (in ``namespace``) on the target given. Returns what was done.

    A record whose deployment was redeployed since (its revision changed) is refused
    (``Refused``): undoing would remove or roll back someone else's deploy."""
    progress = progress or timed_printer()
    try:
        if record is not None:
            chosen, outcome = read_record(Path(record), progress)
            return _undo(chosen, outcome, progress)
        if not name:
            raise SeldonPkgError("undeploy_model needs the deploy step's record or a deployment name")
        chosen = open_target(
            target, state_dir=state_dir or None, context=context or None, progress=progress, platform=platform or None
        )
        done = chosen.delete(name, namespace or None)
        for line in (*done.messages, *(f"warning: {w}" for w in done.warnings)):
            progress(line)
        return f"deleted {done.namespace}/{done.name}"
    except SeldonPkgError as error:
        raise StepFailed("undeploy_model", error) from error


def _undo(chosen: Target, outcome: DeployOutcome, progress: Callable[[str], None]) -> str:
    info = outcome.info
    now: DeploymentInfo | None = None
    if outcome.action is not Action.UNCHANGED:
        try:
            now = chosen.get(info.name, info.namespace)
        except NotFound:
            now = None  # gone already: undo recreates an updated one, and a created one stays gone
        if now is not None and now.revision != info.revision:
            raise Refused(
                f"{info.namespace}/{info.name} is at revision {now.revision}, not the deployed "
                f"{info.revision}: it was deployed again since, so it is not undone"
            )
    chosen.undo(outcome)
    done = {
        Action.CREATED: f"deleted {info.namespace}/{info.name}" if now is not None else f"{info.name} was gone already",
        Action.UPDATED: f"restored the previous revision of {info.namespace}/{info.name}",
        Action.CANARY: f"removed the canary from {info.namespace}/{info.name}",
        Action.UNCHANGED: f"nothing to undo for {info.namespace}/{info.name}",
    }[outcome.action]
    progress(done)
    if outcome.replaced:
        progress(f"not restored: {', '.join(outcome.replaced)} (deleted by policy replace when it became ready)")
    return done


def _in_namespace(spec: ModelSpec, namespace: str, *, as_file: bool) -> ModelSpec:
    """``spec`` in ``namespace``, validated like any spec. The local gateway reads a spec from its
    file, in the model's source folder: ``as_file`` writes the copy there, beside the original
    (``seldon-model.<namespace>.yaml``); a cluster target takes the spec as it is in memory."""
    if not namespace or namespace == spec.namespace:
        return spec
    source = spec.path or spec_file(spec.source_dir)
    raw = yaml.safe_load(source.read_text(encoding="utf-8"))
    raw["namespace"] = namespace
    checked = parse_spec(raw, source_dir=spec.source_dir, source=f"{source} with namespace {namespace!r}")
    moved = None
    if as_file:
        moved = source.with_name(f"{source.stem}.{namespace}.yaml")
        moved.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return on_platform(dataclasses.replace(checked, path=moved), spec.platform)


def write_record(path: Path, outcome: DeployOutcome, *, target: str, state_dir: str, context: str) -> None:
    """What one deploy applied, and where, as JSON (what :func:`undeploy` needs)."""
    body = {
        "format": RECORD_FORMAT,
        "target": target,
        "platform": outcome.info.platform,
        "state_dir": state_dir,
        "context": context,
        "deployment": outcome.info.to_dict(),
        "action": str(outcome.action),
        "previous": outcome.previous,
        "replaced": list(outcome.replaced),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(body, indent=2, default=str) + "\n", encoding="utf-8")


def read_record(path: Path, progress: Callable[[str], None]) -> tuple[Target, DeployOutcome]:
    """The target a record names, opened again, and the outcome it holds."""
    try:
        body: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise SeldonPkgError(f"cannot read the deploy record {path}: {error}") from None
    if body.get("format") != RECORD_FORMAT:
        raise SeldonPkgError(f"{path} is not a deploy record of this version ({RECORD_FORMAT})")
    chosen = open_target(
        body["target"],
        state_dir=body["state_dir"] or None,
        context=body["context"] or None,
        progress=progress,
        platform=body["platform"],  # the local runtime serves every platform alike and ignores it
    )
    outcome = DeployOutcome(
        DeploymentInfo(**body["deployment"]),
        Action(body["action"]),
        body["previous"],
        tuple(body["replaced"]),
    )
    return chosen, outcome
