"""One exit code per error, on every target: each error kind through the real CLI.

``seldon_pkg.errors`` promises that an error ends the CLI with the same code whether the
target is the local runtime or a cluster. One table (``ROWS``) drives both: each row is run
as a ``seldon-pkg`` subprocess against a real local gateway (``seldon-pkg serve``) and
against the session's cluster (tests/support/cluster.py), and must exit with its error
class's ``exit_code`` and a message naming the cause. A row a target cannot produce is
skipped there, with the reason. Cluster rows are few on purpose: each costs seconds.

The first tests check the local control API's wire format itself (control_wire.py): what
kind an answer names, and what the client makes of an answer that names none or a strange one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from seldon_pkg.errors import KINDS, Invalid, NotFound, NotReady, Refused, SeldonPkgError, SpecError
from seldon_pkg.local.control_wire import error_answer, error_from
from seldon_pkg.platforms.registry import name_of
from seldon_pkg.platforms.seldon import seldon_deployment
from seldon_pkg.spec.model_spec import load_spec
from seldon_pkg.storage.source import Missing
from seldon_pkg.targets import DeploymentInfo, DeployOutcome, DeployPolicy
from seldon_pkg.targets.local import LocalTarget
from tests.support.cluster import KWOK_ONLY
from tests.support.gateway import GatewayProcess

CLI = str(Path(sys.executable).parent / "seldon-pkg")
MODEL = """import numpy as np
from model_wrappers.base import SeldonModel


class MyModel(SeldonModel):
    fail: bool = False

    def load_model(self) -> None:
        if self.fail:
            raise ValueError("weights file 'w.npz' not found")

    def infer(self, batch: np.ndarray) -> np.ndarray:
        return batch
"""
MISSING_PACKAGE = "seldon-pkg-no-such-package-xyz"


# ---- the control API's wire format ------------------------------------------------------------


@pytest.mark.parametrize(
    "error, kind",
    [
        (SeldonPkgError("pip failed"), SeldonPkgError),
        (SpecError("replicas", "must be at least 1"), Invalid),  # a subclass travels as its kind
        (Missing("file:///x: no such file or folder"), NotFound),
        (NotReady("did not start"), NotReady),
        (Refused("not ours"), Refused),
    ],
)
def test_an_error_crosses_the_control_api_as_its_kind(error, kind):
    status, body = error_answer(error)
    again = error_from(status, json.loads(json.dumps(body)))
    assert type(again) is kind and str(again) == str(error)
    assert again.exit_code == error.exit_code


def test_a_kind_the_table_does_not_hold_is_never_raised_but_read_from_the_status():
    for stranger in ("SpecError", "KeyboardInterrupt", "SystemExit", "os.system", 5, None):
        error = error_from(404, {"error": "gone", "kind": stranger})
        assert type(error) is NotFound and str(error) == "gone"
    assert set(KINDS) == {"SeldonPkgError", "Invalid", "NotFound", "NotReady", "Refused"}


@pytest.mark.parametrize(
    "status, kind",
    [(400, Invalid), (422, Invalid), (404, NotFound), (409, Refused), (502, NotReady), (500, SeldonPkgError)],
)
def test_an_answer_of_an_older_gateway_is_read_from_its_status(status, kind):
    error = error_from(status, {"error": "as before"})
    assert type(error) is kind and str(error) == "as before"


def test_not_ready_brings_its_deploy_outcome_across_or_none_when_it_is_not_ours():
    info = DeploymentInfo(
        name="m-v1-abc",
        model="m",
        version="v1",
        namespace="ns",
        state="Failed",
        url=None,
        grpc="127.0.0.1:8004",
        revision="r1",
        replicas=1,
        age_seconds=0.5,
        target="local",
        platform="seldon",
        restarts=0,
        last_error="m-v1-abc failed to start",
    )
    outcome = DeployOutcome(info, "unchanged")
    status, body = error_answer(NotReady("m did not start", outcome))
    assert status == 502
    again = error_from(status, json.loads(json.dumps(body)))
    assert isinstance(again, NotReady) and again.outcome == outcome
    damaged = error_from(502, {"error": "m did not start", "kind": "NotReady", "outcome": {"action": "created"}})
    assert isinstance(damaged, NotReady) and damaged.outcome is None  # the error still reaches the user


# ---- the matrix: every error kind through the CLI, on every target ----------------------------


@dataclass
class Where:
    """One target as a row sees it: where to write model folders, which namespace, the CLI."""

    target: str
    folder: Path
    namespace: str
    environment: dict[str, str]
    kube: object | None = None
    state_dir: Path | None = None

    def model(self, key: str, *, requirements: str | None = None, **fields: object) -> Path:
        """A model folder (``MyModel``; ``fail: true`` makes its load raise) with its spec."""
        folder = self.folder / key
        folder.mkdir(parents=True)
        (folder / "MyModel.py").write_text(MODEL)
        if requirements is not None:
            (folder / "requirements.txt").write_text(requirements)
        spec = {
            "name": key,
            "version": "v1",
            "namespace": self.namespace,
            "wrapper": "MyModel.MyModel",
            "runtime": "current",
            "image": "example.org/seldon-pkg/exit-codes:1",
            **fields,
        }
        (folder / "seldon-model.yaml").write_text(yaml.safe_dump(spec))
        return folder

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        command = [CLI, *args, "--target", self.target]
        if self.state_dir is not None:
            command += ["--state-dir", str(self.state_dir)]
        return subprocess.run(command, capture_output=True, text=True, env=self.environment, timeout=300)


@dataclass(frozen=True)
class Row:
    name: str
    error: type[SeldonPkgError]
    run: Callable[[Where], subprocess.CompletedProcess]
    cause: Mapping[str, str]
    """What the error message must contain, per target ("*": every target)."""
    not_on: Mapping[str, str] = field(default_factory=dict)
    """Targets that cannot produce this error, with the reason."""


def _bad_field(where: Where) -> subprocess.CompletedProcess:
    return where.cli("deploy", str(where.model("bad-field", replicas=-2)))


def _link_out_of_the_folder(where: Where) -> subprocess.CompletedProcess:
    folder = where.model("leaky")
    (folder / "secrets").symlink_to(where.folder.parent)  # found by the gateway, which runs the folder
    return where.cli("deploy", str(folder))


def _delete_unknown(where: Where) -> subprocess.CompletedProcess:
    return where.cli("delete", "no-such-model-anywhere")


def _missing_storage_object(where: Where) -> subprocess.CompletedProcess:
    missing = where.folder / "nowhere" / "model.onnx"
    return where.cli("deploy", str(where.model("stored", storage_uri=f"file://{missing}")))


def _load_raises(where: Where) -> subprocess.CompletedProcess:
    folder = where.model("crashing", parameters={"fail": True}, image="example.org/seldon-pkg/exit-codes:crashloop")
    return where.cli("deploy", str(folder), "--timeout", "60")


def _not_ours(where: Where) -> subprocess.CompletedProcess:
    from tests.support.cluster import TestCluster

    assert isinstance(where.kube, TestCluster)
    folder = where.model("taken")
    foreign = seldon_deployment(load_spec(folder))
    foreign["metadata"] = {"name": name_of(load_spec(folder)), "namespace": where.namespace}
    foreign["spec"]["name"] = foreign["metadata"]["name"]
    where.kube.create("seldondeployments", foreign)
    return where.cli("deploy", str(folder))


def _pip_fails(where: Where) -> subprocess.CompletedProcess:
    # a wheel that is not there, and no index: pip fails at once, before any download
    wheel = where.folder / "wheels" / f"{MISSING_PACKAGE.replace('-', '_')}-1.0-py3-none-any.whl"
    folder = where.model(
        "unbuildable",
        runtime="isolated",
        allow_pip_options=True,
        requirements=f"--no-index\n{MISSING_PACKAGE} @ file://{wheel}\n",
    )
    return where.cli("deploy", str(folder))


CLUSTER_IMAGE = "a cluster deploys a built image: the folder and its requirements were packaged by `seldon-pkg build`"
ROWS = [
    Row("invalid-spec-field", Invalid, _bad_field, {"*": "field 'replicas'"}),
    Row(
        "invalid-link-out", Invalid, _link_out_of_the_folder, {"*": "outside the model folder"}, {"k8s": CLUSTER_IMAGE}
    ),
    Row("not-found-delete", NotFound, _delete_unknown, {"*": "no-such-model-anywhere"}),
    Row(
        "not-found-storage",
        NotFound,
        _missing_storage_object,
        {"*": "no such file or folder"},
        {"k8s": "on a cluster the storage initializer fetches in the pod: a missing object fails the pod (NotReady)"},
    ),
    Row(
        "not-ready-load-raises",
        NotReady,
        _load_raises,
        {"local": "ValueError: weights file 'w.npz' not found", "k8s": "CrashLoopBackOff"},
    ),
    Row(
        "refused-not-ours",
        Refused,
        _not_ours,
        {"*": "not created by seldon-pkg"},
        {"local": "the local runtime owns every deployment in its state folder: nothing there is another's"},
    ),
    Row(
        "failed-pip-install",
        SeldonPkgError,
        _pip_fails,
        {"*": f"No such file or directory: '{{folder}}/wheels/{MISSING_PACKAGE.replace('-', '_')}"},
        {"k8s": CLUSTER_IMAGE},
    ),
]
TARGETS = ("local", "k8s")


def _cases():
    for row in ROWS:
        for target in TARGETS:
            if target not in row.not_on:  # a row that cannot happen on a target says why in not_on, and is not run
                yield pytest.param(row, target, id=f"{target}-{row.name}")


@pytest.fixture(scope="module")
def gateway(tmp_path_factory, artifacts):
    process = GatewayProcess(tmp_path_factory.mktemp("exit-codes-state"), artifacts / "exit-codes-gateway.log").start()
    yield process
    process.stop()


def _where(target: str, request, tmp_path: Path) -> Where:
    if target == "local":
        gateway = request.getfixturevalue("gateway")
        return Where("local", tmp_path, "exit-codes", dict(os.environ), state_dir=gateway.state_dir)
    kube = request.getfixturevalue("kube")
    return Where("k8s", tmp_path, kube.namespace, {**os.environ, "KUBECONFIG": str(kube.kubeconfig)}, kube=kube)


@pytest.mark.slow
@pytest.mark.parametrize("row, target", list(_cases()))
def test_an_error_has_one_exit_code_on_every_target(row: Row, target: str, request, tmp_path):
    if target == "k8s" and row.error is NotReady and not request.getfixturevalue("kube").embedded:
        pytest.skip(KWOK_ONLY)
    result = row.run(_where(target, request, tmp_path))
    assert result.returncode == row.error.exit_code, result.stderr
    assert not any(line.startswith("Traceback") for line in result.stderr.splitlines())  # (a model's is indented)
    error = result.stderr[result.stderr.index("error: ") :]  # after any progress lines
    cause = row.cause.get(target, row.cause.get("*", "")).format(folder=tmp_path)
    assert cause in error, result.stderr


@pytest.mark.slow
def test_not_ready_on_the_local_target_carries_a_deploy_outcome(gateway, tmp_path):
    """The same DeployOutcome type a cluster's NotReady carries (tests/test_k8s_ops.py), rebuilt
    from the gateway's answer: a start that failed changed nothing (the last good revision of
    that name keeps serving), and says which deployment failed and why."""
    where = Where("local", tmp_path, "outcomes", dict(os.environ), state_dir=gateway.state_dir)
    target = LocalTarget(gateway.state_dir)
    good = target.deploy(load_spec(where.model("model")), DeployPolicy(mode="keep")).info
    folder = where.model("model-next", name="model", parameters={"fail": True})
    with pytest.raises(NotReady) as failure:
        target.deploy(load_spec(folder), DeployPolicy(mode="keep"))
    outcome = failure.value.outcome
    assert isinstance(outcome, DeployOutcome), outcome
    assert (outcome.action, outcome.previous, outcome.replaced) == ("unchanged", None, ())
    info = outcome.info
    assert (info.name, info.namespace, info.model, info.target) == (good.name, "outcomes", "model", "local")
    assert info.state == "Failed" and "weights file 'w.npz' not found" in (info.last_error or "")
    assert target.get(good.name).revision == good.revision  # what was serving still is
    target.delete(good.name)
