"""Model storage on the local runtime: a real S3-compatible server and a real HTTP server on loopback.

The S3 server is moto's standalone server (`moto_server`, from the `.venv-clients` tools
environment `make install` creates): pure Python, pip-installable, speaks the S3 REST API
boto3 uses, and needs no Docker or downloaded binary (MinIO would). The HTTP server is the
standard library's, with handlers that misbehave on purpose. Nothing leaves loopback.
"""

from __future__ import annotations

import http.server
import io
import os
import socket
import subprocess
import tarfile
import threading
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
import requests

from seldon_pkg.local.ostools import free_port
from seldon_pkg.storage.fetch import fetch
from seldon_pkg.storage.source import AccessDenied, Corrupt, Missing, StorageError, Unreachable
from tests.support.digits import held_out
from tests.support.gateway import GatewayProcess, wait_until
from tests.support.microservice import ROOT

MOTO_SERVER = ROOT / ".venv-clients" / "bin" / "moto_server"
MODELS = ROOT / "demo_mnist" / "models"
AWS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    """A moto S3 server on loopback; the AWS_* environment points boto3 (ours and the gateway's) at it."""
    port = free_port()
    log = open(tmp_path_factory.mktemp("moto") / "moto.log", "wb")
    server = subprocess.Popen([str(MOTO_SERVER), "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=log)
    endpoint = f"http://127.0.0.1:{port}"
    saved = {key: os.environ.get(key) for key in [*AWS, "AWS_ENDPOINT_URL"]}
    os.environ.update(AWS, AWS_ENDPOINT_URL=endpoint)
    try:
        wait_until(lambda: _answers(endpoint), 30)
        import boto3

        client = boto3.client("s3", endpoint_url=endpoint)
        client.create_bucket(Bucket="models")
        yield client
    finally:
        server.terminate()
        server.wait(10)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code < 500
    except requests.RequestException:
        return False


def test_s3_folder_is_fetched_once_then_served_from_the_cache(s3, tmp_path):
    s3.put_object(Bucket="models", Key="cnn/v1/mnist-cnn.onnx", Body=(MODELS / "mnist-cnn.onnx").read_bytes())
    s3.put_object(Bucket="models", Key="cnn/v1/sub/notes.txt", Body=b"notes")
    s3.put_object(Bucket="models", Key="cnn/v10/other.txt", Body=b"not under cnn/v1/")
    lines: list[str] = []
    first = fetch("s3://models/cnn/v1", tmp_path / "cache", tmp_path, lines.append)
    assert first.downloaded
    assert (first.folder / "mnist-cnn.onnx").read_bytes() == (MODELS / "mnist-cnn.onnx").read_bytes()
    assert (first.folder / "sub" / "notes.txt").read_text() == "notes" and not (first.folder / "other.txt").exists()
    assert any("downloading s3://models/cnn/v1: 2 file(s)" in line for line in lines)
    again = fetch("s3://models/cnn/v1", tmp_path / "cache", tmp_path, lines.append)
    assert not again.downloaded and again.folder == first.folder and "unchanged" in lines[-1]
    s3.put_object(Bucket="models", Key="cnn/v1/sub/notes.txt", Body=b"changed")
    changed = fetch("s3://models/cnn/v1", tmp_path / "cache", tmp_path)
    assert changed.downloaded and changed.folder != first.folder and changed.digest != first.digest
    assert not list((tmp_path / "cache").rglob(".partial-*"))


def test_s3_errors_are_clear(s3, tmp_path):
    with pytest.raises(Missing, match="no object there"):
        fetch("s3://models/absent/v1", tmp_path, tmp_path)
    with pytest.raises(Missing, match=r"not found.*NoSuchBucket"):
        fetch("s3://no-such-bucket/x", tmp_path, tmp_path)
    s3.put_object(Bucket="models", Key="evil/../../outside.txt", Body=b"x")
    with pytest.raises(StorageError, match="would leave the model folder"):
        fetch("s3://models/evil", tmp_path / "cache", tmp_path)
    assert not (tmp_path / "outside.txt").exists()


def test_an_unreachable_endpoint_is_named(tmp_path, monkeypatch):
    closed = free_port()
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{closed}")
    for key, value in AWS.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(Unreachable, match=f"cannot reach http://127.0.0.1:{closed}"):
        fetch("s3://models/cnn/v1", tmp_path, tmp_path)


class Misbehaving(http.server.BaseHTTPRequestHandler):
    files: ClassVar[dict[str, bytes]] = {}

    def log_message(self, *args) -> None:
        pass

    def _answer(self, body: bool) -> None:
        if self.path.startswith("/denied"):
            self.send_error(403)
            return
        data = self.files.get(self.path)
        if data is None:
            self.send_error(404)
            return
        self.send_response(200)
        short = self.path.startswith("/short")
        self.send_header("Content-Length", str(len(data) + (1000 if short else 0)))
        self.send_header("ETag", f'"{hash(data)}"')
        self.end_headers()
        if body:
            self.wfile.write(data)
            if short:
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)  # the body stops 1,000 bytes early

    def do_HEAD(self) -> None:
        self._answer(False)

    def do_GET(self) -> None:
        self._answer(True)


@pytest.fixture
def web():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Misbehaving)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", Misbehaving.files
    server.shutdown()


def tar_gz(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_http_archives_unpack_and_hostile_ones_do_not(web, tmp_path):
    base, files = web
    files["/model.tar.gz"] = tar_gz({"model/mnist-cnn.onnx": b"weights", "README": b"hello"})
    fetched = fetch(f"{base}/model.tar.gz", tmp_path / "cache", tmp_path)
    assert (fetched.folder / "model" / "mnist-cnn.onnx").read_bytes() == b"weights"
    assert not (fetched.folder / "model.tar.gz").exists()
    files["/evil.tar.gz"] = tar_gz({"../../escaped.txt": b"x"})
    with pytest.raises(StorageError, match="would leave the model folder"):
        fetch(f"{base}/evil.tar.gz", tmp_path / "cache", tmp_path)
    files["/broken.tar.gz"] = tar_gz({"a": b"b" * 5000})[:60]
    with pytest.raises(Corrupt, match="not a readable archive"):
        fetch(f"{base}/broken.tar.gz", tmp_path / "cache", tmp_path)
    assert not list(tmp_path.rglob("escaped.txt")) and not list((tmp_path / "cache").rglob(".partial-*"))


def test_http_truncation_missing_and_denied(web, tmp_path):
    base, files = web
    files["/short/model.onnx"] = b"x" * 5000
    with pytest.raises(Corrupt, match=r"broke off|arrived with"):
        fetch(f"{base}/short/model.onnx", tmp_path / "cache", tmp_path)
    homes = list((tmp_path / "cache").iterdir())  # the URI's cache folder: no copy, no partial left in it
    assert len(homes) == 1 and list(homes[0].iterdir()) == [], "a half download stays invisible"
    with pytest.raises(Missing, match="404"):
        fetch(f"{base}/absent.onnx", tmp_path / "cache", tmp_path)
    with pytest.raises(AccessDenied, match="403"):
        fetch(f"{base}/denied/m.onnx", tmp_path / "cache", tmp_path)


def test_claims_map_to_a_folder_and_cannot_be_left(tmp_path):
    volume = tmp_path / "nfs"
    (volume / "mnist" / "v1").mkdir(parents=True)
    (tmp_path / "secret").mkdir()
    (volume / "mnist" / "link").symlink_to(tmp_path / "secret")
    folder = fetch("pvc://models/mnist/v1", tmp_path, tmp_path, pvc_dirs={"SELDON_PKG_PVC_MODELS": str(volume)})
    assert folder.folder == (volume / "mnist" / "v1").resolve() and not folder.downloaded
    with pytest.raises(StorageError, match="leaves the claim"):
        fetch("pvc://models/mnist/link", tmp_path, tmp_path, pvc_dirs={"SELDON_PKG_PVC_MODELS": str(volume)})
    with pytest.raises(StorageError, match="SELDON_PKG_PVC_MODELS="):
        fetch("pvc://models/mnist/v1", tmp_path, tmp_path, pvc_dirs={})


@pytest.mark.slow
def test_a_model_from_s3_serves_upgrades_by_uri_and_survives_bad_objects(s3, tmp_path, artifacts):
    """Deploy with storage_uri s3://...; a new URI redeploys without rebuilding anything; a
    missing or corrupt object is a clear error and the old revision keeps serving."""
    data = (MODELS / "mnist-cnn.onnx").read_bytes()
    s3.put_object(Bucket="models", Key="mnist/v1/mnist-cnn.onnx", Body=data)
    s3.put_object(Bucket="models", Key="mnist/v2/mnist-cnn.onnx", Body=data)
    s3.put_object(Bucket="models", Key="mnist/corrupt/mnist-cnn.onnx", Body=b"not an onnx file" * 100)
    folder = tmp_path / "model"
    folder.mkdir()

    def spec(uri: str) -> Path:
        (folder / "seldon-model.yaml").write_text(
            "name: stored-cnn\nversion: v1\nwrapper: model_wrappers.mnist.MnistClassifier\n"
            f"storage_uri: {uri}\nparameters: {{model_uri: mnist-cnn.onnx}}\n"
        )
        return folder

    gateway = GatewayProcess(tmp_path / "state", artifacts / "storage-gateway.log").start()
    try:
        first = gateway.cli("deploy", str(spec("s3://models/mnist/v1")))
        assert first.returncode == 0, first.stdout + first.stderr
        assert "downloading s3://models/mnist/v1" in first.stderr
        row = gateway.deployment("stored-cnn")
        images, labels = held_out()
        body = {"data": {"ndarray": images[:5].reshape(5, -1).tolist()}}

        def answers() -> list[int]:
            reply = requests.post(row["url"], json=body, timeout=30)
            assert reply.status_code == 200, reply.text
            return np.array(reply.json()["data"]["ndarray"]).argmax(axis=1).tolist()

        assert answers() == labels[:5].tolist()
        second = gateway.cli("deploy", str(spec("s3://models/mnist/v2")))
        assert second.returncode == 0, second.stderr
        assert "downloading s3://models/mnist/v2" in second.stderr
        assert "building" not in second.stderr.lower(), "a new URI must not rebuild the environment"
        upgraded = gateway.deployment("stored-cnn")
        assert upgraded["revision"] != row["revision"] and answers() == labels[:5].tolist()
        for uri, message in (("s3://models/mnist/v3", "no object there"), ("s3://models/mnist/corrupt", "")):
            failed = gateway.cli("deploy", str(spec(uri)))
            assert failed.returncode != 0, failed.stdout
            assert message in failed.stderr
            still = gateway.deployment("stored-cnn")
            assert still["revision"] == upgraded["revision"] and still["pid"] == upgraded["pid"]
            assert answers() == labels[:5].tolist()
    finally:
        gateway.stop()
