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


def _serve_mnist(artifacts: Path, model_file: str):
    """MnistClassifier serving ``model_file`` under a real seldon-core-microservice process."""
    service = Microservice("model_wrappers.mnist.MnistClassifier", {"model_uri": f"demo_mnist/models/{model_file}"})
    service.start(artifacts / f"microservice-{model_file.replace('.', '-')}.log")
    return service


@pytest.fixture(scope="session")
def mnist_onnx(artifacts):
    """The CNN's ONNX export (ONNX Runtime)."""
    service = _serve_mnist(artifacts, "mnist-cnn.onnx")
    yield service
    service.stop()


@pytest.fixture(scope="session")
def mnist_keras(artifacts):
    """The CNN's .keras file (TensorFlow)."""
    service = _serve_mnist(artifacts, "mnist-cnn.keras")
    yield service
    service.stop()


@pytest.fixture(scope="session", autouse=True)
def shared_runtime_environments(tmp_path_factory):
    """Model environments are built once per test session and shared by every test gateway."""
    os.environ.setdefault("SELDON_PKG_ENVS_DIR", str(tmp_path_factory.mktemp("envs")))
    yield


@pytest.fixture(scope="session")
def oip_environment(shared_runtime_environments) -> Path:
    """The python of the isolated environment the OIP demo CNN runs in (MLServer, onnxruntime,
    no seldon-core): built once per session, shared with every test gateway."""
    from seldon_pkg.local.environments import ensure_environment
    from seldon_pkg.spec.model_spec import load_spec

    spec = load_spec(ROOT / "demo_mnist" / "mnist-cnn-oip.yaml")
    return ensure_environment(spec, Path(os.environ["SELDON_PKG_ENVS_DIR"])).python


@pytest.fixture(scope="session")
def cluster_session(tmp_path_factory):
    """The session's Kubernetes cluster: the embedded control plane, started once (or
    $SELDON_PKG_TEST_KUBECONFIG's cluster)."""
    from tests.support.cluster import start_session

    yield from start_session(tmp_path_factory.mktemp("control-plane"))


@pytest.fixture
def kube(cluster_session, request, tmp_path, monkeypatch):
    """A namespace of this test's own on the session's cluster, KUBECONFIG defaulting to it."""
    from tests.support.cluster import make_test_cluster

    yield from make_test_cluster(cluster_session, request.node.name, tmp_path, monkeypatch)


@pytest.fixture
def real_kube(cluster_session, request, tmp_path, monkeypatch):
    """A namespace of this test's own whose pods run on the real node (containerd, a kubelet)."""
    from tests.support.cluster import make_test_cluster

    yield from make_test_cluster(cluster_session, request.node.name, tmp_path, monkeypatch, real_node=True)
