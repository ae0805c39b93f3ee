"""Open Inference Protocol models on a cluster: manifests, image contexts, advisories.

No Docker engine here: the manifest goes to the session's control plane, where the Seldon
stand-in sets a protocol-v2 container's environment as the Seldon Core 1.17.1 operator does
(tools/cluster/seldon_standin.py) and the real Deployment controller puts it in the pods; the
image context is installed into a fresh venv from its own requirements and served by
``mlserver start`` with that environment, on loopback.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import numpy as np
import pytest
import requests

from seldon_pkg.build.advisories import audit, matches
from seldon_pkg.build.image_context import dockerfile, write_context
from seldon_pkg.local.ostools import free_ports
from seldon_pkg.platforms.seldon import SELDON, seldon_deployment
from seldon_pkg.servers.mlserver import MLSERVER_FOLDER
from seldon_pkg.spec.model_spec import load_spec
from tests.support.digits import held_out
from tests.support.gateway import wait_until
from tests.support.microservice import ROOT

OIP_CNN = ROOT / "demo_mnist" / "mnist-cnn-oip.yaml"


def test_a_v2_spec_renders_a_valid_protocol_v2_seldondeployment():
    manifest = seldon_deployment(load_spec(OIP_CNN))
    SELDON.validate(manifest)
    assert manifest["spec"]["protocol"] == "v2"
    assert "protocol" not in seldon_deployment(load_spec(ROOT / "demo_mnist" / "mnist-cnn.yaml"))["spec"]


def test_the_operator_names_the_model_as_the_image_does(kube, tmp_path):
    """The executor calls /v2/models/<graph node>/infer and the operator sets MLSERVER_MODEL_NAME to
    the container name: the image's model-settings.json must use the same name."""
    import dataclasses

    from seldon_pkg.targets.kubernetes import KubernetesTarget

    spec = dataclasses.replace(load_spec(OIP_CNN), namespace=kube.namespace)
    info = KubernetesTarget(kube.cluster).deploy(spec).info
    assert info.protocol == "v2"
    pods = kube.list("pods", f"seldon-deployment-id={info.name}")
    env = {e["name"]: e["value"] for e in pods[0]["spec"]["containers"][0]["env"]}
    context = write_context(load_spec(OIP_CNN), tmp_path / "ctx")
    settings = json.loads(next((context.directory / MLSERVER_FOLDER).glob("*/model-settings.json")).read_text())
    assert settings["name"] == env["MLSERVER_MODEL_NAME"] == "classifier"
    assert (env["MLSERVER_HTTP_PORT"], env["MLSERVER_GRPC_PORT"]) == ("9000", "9500")
    assert 'ENTRYPOINT ["mlserver", "start", "/app/mlserver"]' in dockerfile(load_spec(OIP_CNN))


@pytest.mark.slow
def test_the_v2_context_serves_from_its_own_requirements(tmp_path, artifacts):
    context = write_context(load_spec(OIP_CNN), tmp_path / "ctx")
    env_dir = tmp_path / "image-env"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    pip = [str(env_dir / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "-r", "requirements.txt"], cwd=context.directory, check=True, timeout=900)
    subprocess.run([*pip, "--no-deps", "mlserver==1.7.1"], check=True, timeout=300)  # the Dockerfile's second step
    python = str(env_dir / "bin" / "python")
    for absent in ("seldon_core", "tensorflow"):
        assert subprocess.run([python, "-c", f"import {absent}"], capture_output=True).returncode != 0, absent
    http, grpc, metrics = free_ports(3)
    operator_env = {  # what the Seldon operator sets (ports) + loopback for this machine
        "MLSERVER_HTTP_PORT": str(http),
        "MLSERVER_GRPC_PORT": str(grpc),
        "MLSERVER_METRICS_PORT": str(metrics),
        "MLSERVER_MODEL_NAME": "classifier",
        "MLSERVER_HOST": "127.0.0.1",
        "PYTHONPATH": str(context.directory),
    }
    log = open(artifacts / "mlserver-image-context.log", "wb")
    server = subprocess.Popen(
        [str(env_dir / "bin" / "mlserver"), "start", MLSERVER_FOLDER],
        cwd=context.directory,
        env={**os.environ, **operator_env},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:

        def ready() -> bool:
            assert server.poll() is None, (artifacts / "mlserver-image-context.log").read_text()[-3000:]
            try:
                return requests.get(f"http://127.0.0.1:{http}/v2/models/classifier/ready", timeout=1).ok
            except requests.ConnectionError:
                return False

        wait_until(ready, 120, interval=0.3)
        images, labels = held_out()
        body = {
            "inputs": [
                {"name": "digits", "datatype": "FP32", "shape": [6, 784], "data": images[:6].reshape(-1).tolist()}
            ]
        }
        reply = requests.post(f"http://127.0.0.1:{http}/v2/models/classifier/infer", json=body, timeout=30)
        assert reply.status_code == 200, reply.text
        output = reply.json()["outputs"][0]
        assert np.array(output["data"]).reshape(output["shape"]).argmax(axis=1).tolist() == labels[:6].tolist()
    finally:
        server.terminate()
        server.wait(30)


SELDON_CNN = ROOT / "demo_mnist" / "mnist-cnn.yaml"
ACCEPTED = {
    "mnist-cnn.yaml": {
        ("protobuf", "CVE-2025-4565 GHSA-8qvm-5x2c-j2w7"),
        ("protobuf", "CVE-2026-0994 GHSA-7gcm-g887-7qv7"),
    }
}
"""The serious rows a demo image may still match, each explained in docs/security.md
(seldon-core 1.17.1's generated protobuf code does not work on protobuf >= 4). Any other high
or critical row fails the test below."""


def test_no_demo_image_matches_a_serious_advisory_beyond_the_documented_ones():
    for spec in (OIP_CNN, SELDON_CNN):
        resolved, found = audit(load_spec(spec))
        serious = {(m.advisory.package, m.advisory.ids) for m in found if m.advisory.serious}
        assert serious <= ACCEPTED.get(spec.name, set()), spec.name
        assert resolved["seldon-core" if spec == SELDON_CNN else "mlserver"]  # the server itself was audited


def test_the_audit_still_reports_seldon_core_1_17_1s_own_pins():
    """The check above can fail: the set seldon-core 1.17.1 pins for itself matches serious rows."""
    old_pins = {"gunicorn": "20.1.0", "werkzeug": "2.2.3", "protobuf": "3.20.3", "flask-cors": "3.0.10"}
    serious = {m.advisory.package for m in matches(old_pins) if m.advisory.serious}
    assert serious == set(old_pins)


def test_the_security_pages_table_is_generated_from_the_audit():
    result = subprocess.run(
        [sys.executable, "-m", "seldon_pkg.security_report", "--check"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    recorded = json.loads((ROOT / "security" / "audit.json").read_text())
    for label, image in recorded["images"].items():  # the figures docs/security.md shows for both demo images
        serious = {
            (m["package"], m["ids"]) for m in image["matches"] if m["severity"].split()[0] in ("high", "critical")
        }
        assert serious <= ACCEPTED.get(Path(image["spec"]).name, set()), label


def test_build_prints_the_rows_its_context_matches(tmp_path):
    """The demo spec with one old requirement of its own (pillow 12.2, an unrated row) beside
    protobuf 3.20.3's two rows."""
    model = tmp_path / "model"
    (model / "models").mkdir(parents=True)
    shutil.copy(ROOT / "demo_mnist" / "models" / "mnist-cnn.onnx", model / "models")
    spec = (ROOT / "demo_mnist" / "mnist-cnn.yaml").read_text() + "requirements: ['pillow==12.2.0']\n"
    (model / "mnist-cnn.yaml").write_text(spec)
    cli = str(Path(sys.executable).parent / "seldon-pkg")
    result = subprocess.run(
        [cli, "build", str(model / "mnist-cnn.yaml"), "--out", str(tmp_path / "c"), "--no-build"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "3 rows of advisories.tsv match, 2 high or critical" in result.stdout, result.stdout
    assert "- pillow 12.2.0 (unrated" in result.stdout
