"""Fixtures shared by the suite. Everything here starts real things on loopback."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.microservice import ROOT, Microservice

MODELS = ROOT / "demo_mnist" / "models"
ARTIFACTS = ROOT / "test-artifacts"

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def _serve(interface: str, parameters: dict, artifacts: Path, name: str):
    service = Microservice(interface, parameters)
    service.start(artifacts / f"{name}.log")
    return service


@pytest.fixture(scope="session")
def mnist_onnx(artifacts):
    """The CNN's ONNX export under seldon-core-microservice (a real process)."""
    service = _serve(
        "model_wrappers.mnist.MnistClassifier",
        {"model_uri": "demo_mnist/models/mnist-cnn.onnx"},
        artifacts,
        "microservice-mnist-onnx",
    )
    yield service
    service.stop()


@pytest.fixture(scope="session")
def mnist_keras(artifacts):
    """The CNN's .keras file under seldon-core-microservice, served by TensorFlow."""
    service = _serve(
        "model_wrappers.mnist.MnistClassifier",
        {"model_uri": "demo_mnist/models/mnist-cnn.keras"},
        artifacts,
        "microservice-mnist-keras",
    )
    yield service
    service.stop()


@pytest.fixture(scope="session", autouse=True)
def shared_runtime_environments(tmp_path_factory):
    """Model environments are built once per test session and shared by every test gateway."""
    os.environ.setdefault("SELDON_PKG_ENVS_DIR", str(tmp_path_factory.mktemp("envs")))
    yield
