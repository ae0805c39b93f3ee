"""Kubeflow Pipelines: the deploy/undeploy steps (seldon_pkg.kfp) and the demo pipeline, run for
real with KFP's local runner (``kfp.local.SubprocessRunner``) against a real local gateway.

KFP's SDK lives in ``.venv-kfp`` (it needs protobuf 6, this environment has seldon-core's
protobuf 3), so the pipeline runs as a subprocess of that interpreter; the step functions
themselves (``seldon_pkg.kfp.steps``) need no KFP and are also called here directly.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import requests

from seldon_pkg.kfp.steps import StepFailed, deploy, undeploy
from tests.support.digits import held_out
from tests.support.gateway import GatewayProcess
from tests.support.microservice import ROOT

pytestmark = pytest.mark.slow
KFP_PYTHON = ROOT / ".venv-kfp" / "bin" / "python"
PIPELINE_SPEC = ROOT / "demo_mnist" / "pipeline" / "mnist-pipeline.yaml"
MNIST_CNN = ROOT / "demo_mnist" / "mnist-cnn.yaml"
MODEL = "mnist-cnn-pipeline"


def kfp_python() -> str:
    assert KFP_PYTHON.exists(), f"{KFP_PYTHON} is missing: `make install` builds .venv-kfp"
    return str(KFP_PYTHON)


@pytest.fixture(scope="module")
def gateway(tmp_path_factory, artifacts):
    process = GatewayProcess(tmp_path_factory.mktemp("kfp-state"), artifacts / "kfp-gateway.log").start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def pipeline_root(tmp_path_factory):
    """One pipeline root for the module's runs: with --cache the failing-gate run reuses the
    training of the passing one (deploy, evaluate and undeploy never come from the cache)."""
    return tmp_path_factory.mktemp("kfp-root")


def run_pipeline(gateway, pipeline_root, log, **arguments) -> tuple[int, str]:
    """The run's exit code and its whole output (KFP's log and every step's), without colours."""
    settings = {"epochs": 2, "state_dir": str(gateway.state_dir), **arguments}
    command = [kfp_python(), "-m", "demo_mnist.pipeline", "run", "--pipeline-root", str(pipeline_root), "--cache"]
    for name, value in settings.items():
        command += ["--set", f"{name}={value}"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900)
    output = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout + "\n--- stderr ---\n" + result.stderr)
    log.write_text(output)
    return result.returncode, output


def model_folder(tmp_path: Path, onnx: bytes | None = None) -> Path:
    """The demo CNN's spec and ONNX file in a folder of the test's own (namespace copies go there)."""
    folder = tmp_path / "model"
    (folder / "models").mkdir(parents=True)
    shutil.copy(MNIST_CNN, folder / "seldon-model.yaml")
    target = folder / "models" / "mnist-cnn.onnx"
    if onnx is None:
        shutil.copy(ROOT / "demo_mnist" / "models" / "mnist-cnn.onnx", target)
    else:
        target.write_bytes(onnx)
    return folder


def answer_for(url: str, digit) -> int:
    reply = requests.post(url, json={"data": {"ndarray": digit.tolist()}}, timeout=30)
    reply.raise_for_status()
    return int(max(range(10), key=lambda d: reply.json()["data"]["ndarray"][0][d]))


def test_the_committed_pipeline_spec_is_what_the_code_compiles(tmp_path):
    out = tmp_path / "mnist-pipeline.yaml"
    result = subprocess.run(
        [kfp_python(), "-m", "demo_mnist.pipeline", "compile", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert out.read_text() == PIPELINE_SPEC.read_text(), (
        "demo_mnist/pipeline/mnist-pipeline.yaml is stale: `make pipeline`"
    )


def test_the_pipeline_trains_deploys_and_keeps_a_model_that_passes_the_gate(gateway, pipeline_root, artifacts):
    started = time.monotonic()
    code, output = run_pipeline(gateway, pipeline_root, artifacts / "kfp-pipeline-pass.log", threshold=0.5)
    assert code == 0, output[-3000:]
    url = output.split("\n--- stderr ---\n")[0].strip().splitlines()[-1]
    rows = [row for row in gateway.listed() if row["model"] == MODEL]
    assert [(row["version"], row["state"], row["url"]) for row in rows] == [("v1", "Available", url)]
    images, labels = held_out()
    assert answer_for(url, images[7]) == labels[7]
    assert "Executing task 'deploy-model'" in output
    assert "Executing task 'undeploy-model'" not in output  # the gate's branch never ran
    print(f"passing pipeline: {time.monotonic() - started:.1f} s")


def test_a_failing_gate_removes_what_the_step_deployed_and_fails_the_pipeline(gateway, pipeline_root, artifacts):
    before = {row["name"] for row in gateway.listed()}
    started = time.monotonic()
    code, output = run_pipeline(
        gateway, pipeline_root, artifacts / "kfp-pipeline-gate.log", threshold=1.01, version="gate-check"
    )
    assert code == 1, output[-3000:]
    assert "pipeline failed: Pipeline 'mnist-train-deploy-gate' finished with status FAILURE. " in output
    assert "Inner task failed: 'reject-model' inside 'condition-1'" in output
    assert "is under the threshold 1.01; deleted default/mnist-cnn-pipeline-gate-check-" in output
    deployed = [line for line in output.splitlines() if "created default/mnist-cnn-pipeline-gate-check-" in line]
    assert deployed, "the deploy step ran (never from the cache)"
    name = deployed[0].split("created default/")[1].split()[0]
    # gone through the CLI as through the library, and nothing else was touched
    assert gateway.cli("endpoint", name).returncode == 3
    assert {row["name"] for row in gateway.listed()} == before
    print(f"failing-gate pipeline: {time.monotonic() - started:.1f} s")


def test_the_steps_fail_with_the_library_errors_kind_and_text(gateway, tmp_path):
    state = str(gateway.state_dir)
    folder = model_folder(tmp_path / "good")
    cases = [
        (dict(policy="newest"), "Invalid", 2, "policy: must be one of replace, keep, got 'newest'"),
        (dict(target="k9s"), "Invalid", 2, "unknown target 'k9s'"),
        (dict(namespace="Team_A"), "Invalid", 2, "field 'namespace': must be a DNS-1123 label"),
    ]
    for options, kind, code, text in cases:
        with pytest.raises(StepFailed) as failed:
            deploy(folder, state_dir=state, **options)
        assert (failed.value.kind, failed.value.exit_code) == (kind, code)
        assert str(failed.value).startswith(f"deploy_model failed: {kind} (seldon-pkg exit code {code}): ")
        assert text in str(failed.value)
    assert sorted(p.name for p in folder.glob("*.yaml")) == ["seldon-model.yaml"], "no copy for a bad namespace"
    with pytest.raises(StepFailed, match=r"^undeploy_model failed: NotFound \(seldon-pkg exit code 3\): "):
        undeploy(name="no-such-model", state_dir=state)

    broken = model_folder(tmp_path / "broken", onnx=b"not a model")
    with pytest.raises(StepFailed) as failed:
        deploy(broken, state_dir=state, namespace="broken")
    assert failed.value.kind == "NotReady" and failed.value.exit_code == 4, failed.value
    assert "MnistClassifier.load failed: InvalidProtobuf" in str(failed.value)  # the model's own error
    # nothing serves; the library keeps the failed deploy as a record (its error and log) until deleted
    assert [row["state"] for row in gateway.listed() if row["namespace"] == "broken"] == ["NotDeployed"]


def test_undo_puts_back_what_was_there_and_refuses_to_undo_a_later_deploy(gateway, tmp_path):
    state = str(gateway.state_dir)
    folder = model_folder(tmp_path)
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    created = deploy(folder, state_dir=state, namespace="undo", policy="keep", record=first)
    assert json.loads(first.read_text())["action"] == "created"
    assert "/seldon/undo/" in created.url and created.grpc == f"127.0.0.1:{gateway.grpc_port}"
    assert created.headers == {}  # the local gateway routes on the path alone
    shutil.copy(ROOT / "demo_mnist" / "models" / "mnist-mlp.onnx", folder / "models" / "mnist-cnn.onnx")  # retrained
    updated = deploy(folder, state_dir=state, namespace="undo", policy="keep", record=second)
    assert updated.name == created.name and updated.revision != created.revision

    with pytest.raises(StepFailed, match=r"Refused .*deployed again since"):
        undeploy(first)
    assert undeploy(second) == f"restored the previous revision of undo/{created.name}"
    assert [(r["name"], r["revision"]) for r in gateway.listed() if r["namespace"] == "undo"] == [
        (created.name, created.revision)
    ]
    images, labels = held_out()
    assert answer_for(created.url, images[3]) == labels[3]
    assert undeploy(first) == f"deleted undo/{created.name}"
    assert not [r for r in gateway.listed() if r["namespace"] == "undo"]
