"""The seldon-pkg command line, run as the installed console script."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from seldon_pkg.platforms.seldon import SELDON
from tests.support.microservice import ROOT

CLI = str(Path(sys.executable).parent / "seldon-pkg")


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([CLI, *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_render_prints_a_valid_manifest():
    result = run("render", "demo_mnist/mnist-cnn.yaml")
    assert result.returncode == 0, result.stderr
    manifest = yaml.safe_load(result.stdout)
    SELDON.validate(manifest)
    assert manifest["metadata"]["name"].startswith("mnist-cnn-v1-")


def test_render_canary_with_traffic():
    result = run("render", "demo_mnist/mnist-cnn.yaml", "--canary", "demo_mnist/mnist-cnn-v2.yaml", "--traffic", "75")
    assert result.returncode == 0, result.stderr
    predictors = yaml.safe_load(result.stdout)["spec"]["predictors"]
    assert [p["traffic"] for p in predictors] == [75, 25]


def test_invalid_spec_is_one_line_naming_the_field(tmp_path):
    (tmp_path / "seldon-model.yaml").write_text("name: m\nversion: v1\nwrapper: M.M\nimage: i\nreplicas: -2\n")
    result = run("render", str(tmp_path))
    assert result.returncode == 2
    assert "field 'replicas'" in result.stderr and "Traceback" not in result.stderr


def test_build_writes_a_context_and_prints_the_docker_command(tmp_path):
    """--no-build: the context and the command to build it (tests/test_real_node.py builds for real)."""
    result = run(
        "build", "demo_mnist/mnist-mlp.yaml", "--out", str(tmp_path / "ctx"), "--skip-audit", "--no-build",
        "--base-image", "mirror.example.org/python:3.11-slim",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    dockerfile = (tmp_path / "ctx" / "Dockerfile").read_text()
    assert "ARG BASE_IMAGE=python:3.11-slim\nFROM ${BASE_IMAGE}\n" in dockerfile
    assert "ai-edge-litert" in result.stdout
    assert (
        "docker build --build-arg BASE_IMAGE=mirror.example.org/python:3.11-slim "
        f"-t example.org/seldon-pkg/mnist-mlp:0.1 {tmp_path / 'ctx'}"
    ) in result.stdout
    refused = run(
        "build", "demo_mnist/mnist-mlp.yaml", "--out", str(tmp_path / "c2"), "--skip-audit", "--no-build", "--push"
    )
    assert refused.returncode != 0 and "--push needs a build" in refused.stderr


def test_init_scaffolds_a_model_that_passes_its_own_test(tmp_path):
    result = run("init", "fraud detector", "--dir", str(tmp_path / "fraud"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    folder = tmp_path / "fraud"
    assert {p.name for p in folder.iterdir()} == {"FraudDetector.py", "seldon-model.yaml", "test_FraudDetector.py"}
    test = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_FraudDetector.py"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": f"{folder}{os.pathsep}{ROOT}"},
    )
    assert test.returncode == 0, test.stdout + test.stderr
    assert "2 passed" in test.stdout
    assert "tensorflow" not in (test.stdout + test.stderr).lower()  # the generated test stays TF-free
    quick = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import FraudDetector"],
        cwd=folder,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": f"{folder}{os.pathsep}{ROOT}"},
    )
    assert quick.returncode == 0 and "seldon_core" not in quick.stderr  # seldon-core (and TensorFlow) not imported
    rendered = run("render", str(folder))
    assert rendered.returncode == 0, rendered.stderr
    assert yaml.safe_load(rendered.stdout)["spec"]["predictors"][0]["graph"]["parameters"][0]["name"] == "scale"
    again = run("init", "fraud detector", "--dir", str(folder))
    assert again.returncode == 5 and "refusing to overwrite" in again.stderr
