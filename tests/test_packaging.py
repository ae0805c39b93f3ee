"""Image build contexts: complete enough to serve from a fresh venv built from them alone."""

from __future__ import annotations

import subprocess
import venv

import pytest
import requests

from seldon_pkg.build.image_context import write_context
from seldon_pkg.servers.microservice import MICROSERVICE
from seldon_pkg.spec.model_spec import load_spec
from tests.support.digits import held_out
from tests.support.microservice import ROOT, Microservice


@pytest.fixture(scope="module")
def mnist_context(tmp_path_factory):
    out = tmp_path_factory.mktemp("ctx") / "mnist-cnn"
    return write_context(load_spec(ROOT / "demo_mnist" / "mnist-cnn.yaml"), out)


def test_context_contents(mnist_context):
    directory = mnist_context.directory
    files = {p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file()}
    assert {
        "Dockerfile",
        ".dockerignore",
        "requirements.txt",
        "models/mnist-cnn.onnx",
        "model_wrappers/mnist.py",
        "model_wrappers/base.py",
    } <= files
    assert "models/mnist-cnn.keras" not in files and "models/mnist-mlp.onnx" not in files  # unused models stay out
    assert not any("__pycache__" in f for f in files)
    requirements = (directory / "requirements.txt").read_text().split()
    # seldon-core after the dependencies we list (its own pins hold advisories), as MLServer
    assert "seldon-core==1.17.1" not in requirements and "gunicorn>=27.0.0,<28" in requirements
    assert any(r.startswith("onnxruntime") for r in requirements)
    assert not any("tensorflow" in r for r in requirements)
    dockerfile = (directory / "Dockerfile").read_text()
    assert dockerfile.startswith("# Generated") and "ARG BASE_IMAGE=python:3.11-slim\nFROM ${BASE_IMAGE}" in dockerfile
    assert "USER 8888" in dockerfile
    assert "pip install --no-cache-dir --no-deps seldon-core==1.17.1" in dockerfile
    assert (
        'ENTRYPOINT ["seldon-core-microservice", "model_wrappers.mnist.MnistClassifier", "--service-type", "MODEL"]'
        in dockerfile
    )


def test_keras_model_context_asks_for_tensorflow(tmp_path):
    spec_dir = tmp_path / "m"
    spec_dir.mkdir()
    (spec_dir / "model.keras").write_bytes((ROOT / "demo_mnist/models/mnist-mlp.keras").read_bytes())
    (spec_dir / "seldon-model.yaml").write_text(
        "name: k\nversion: v1\nwrapper: model_wrappers.keras_model.KerasModel\nimage: k:1\n"
        "parameters: {model_uri: model.keras}\n"
    )
    context = write_context(load_spec(spec_dir), tmp_path / "ctx")
    assert any(r.startswith("tensorflow-cpu") for r in context.requirements)
    assert (context.directory / "model.keras").exists()


@pytest.mark.slow
def test_a_fresh_venv_from_the_context_serves_predictions(mnist_context, tmp_path, artifacts):
    """Install the context's requirements.txt, then seldon-core with --no-deps (as its Dockerfile
    does), start the entrypoint from the context."""
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "-r", "requirements.txt"], cwd=mnist_context.directory, check=True, timeout=600)
    subprocess.run([*pip, "--no-deps", *MICROSERVICE.no_deps], check=True, timeout=600)
    probe = subprocess.run([str(python), "-c", "import tensorflow"], capture_output=True)
    assert probe.returncode != 0, "TensorFlow must not be in the MNIST ONNX image"
    service = Microservice(
        "model_wrappers.mnist.MnistClassifier",
        {"model_uri": "models/mnist-cnn.onnx"},
        cwd=mnist_context.directory,
        env={"PYTHONPATH": str(mnist_context.directory)},
        executable=env_dir / "bin" / "seldon-core-microservice",
    )
    service.start(artifacts / "microservice-build-context.log")
    try:
        images, labels = held_out()
        reply = requests.post(
            service.url + "/api/v1.0/predictions",
            json={"data": {"ndarray": images[:10].reshape(10, -1).tolist()}},
            timeout=30,
        )
        assert reply.status_code == 200, reply.text
        predicted = [row.index(max(row)) for row in reply.json()["data"]["ndarray"]]
        assert predicted == labels[:10].tolist()
    finally:
        service.stop()
