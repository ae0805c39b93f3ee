"""The Open Inference Protocol end to end: a real MLServer process behind the real gateway.

The demo CNN is deployed with ``protocol: v2`` (MLServer 1.7.1 + our adapter, in an isolated
environment with neither seldon-core nor TensorFlow) beside the MLP over the Seldon protocol.
Application developers' clients call them: NVIDIA's ``tritonclient`` (HTTP with the binary
extension, HTTP JSON, gRPC with raw_input_contents), building requests from the metadata
alone, and ``SeldonClient`` on the Seldon-protocol model beside it.
"""

from __future__ import annotations

import base64
import json
import subprocess

import numpy as np
import pytest
import requests
from seldon_core.seldon_client import SeldonClient

from seldon_pkg.local.ostools import group_members
from tests.support.digits import held_out, png_bytes
from tests.support.gateway import GatewayProcess
from tests.support.microservice import ROOT

pytestmark = pytest.mark.slow
OIP_CNN = ROOT / "demo_mnist" / "mnist-cnn-oip.yaml"
MLP = ROOT / "demo_mnist" / "mnist-mlp.yaml"
CLIENTS_PYTHON = ROOT / ".venv-clients" / "bin" / "python"


@pytest.fixture(scope="module")
def gateway(tmp_path_factory, artifacts):
    process = GatewayProcess(tmp_path_factory.mktemp("oip-state"), artifacts / "oip-gateway.log").start()
    for spec in (OIP_CNN, MLP):
        result = process.cli("deploy", str(spec))
        assert result.returncode == 0, result.stdout + result.stderr
    yield process
    process.stop()


def models(gateway: GatewayProcess) -> dict[str, dict]:
    return {row["model"]: row for row in gateway.deployments()}


def infer_url(gateway: GatewayProcess) -> str:
    return models(gateway)["mnist-cnn-oip"]["url"]


def test_deploy_prints_the_oip_url_and_list_says_the_protocol(gateway):
    rows = {row["model"]: row for row in gateway.listed()}
    oip, seldon = rows["mnist-cnn-oip"], rows["mnist-mlp"]
    assert oip["protocol"] == "v2" and seldon["protocol"] == "seldon"
    assert oip["url"] == f"{gateway.url}/seldon/default/{oip['name']}/v2/models/{oip['name']}/infer"
    assert oip["state"] == "Available"


def test_tritonclient_http_binary_json_and_grpc_from_metadata_alone(gateway, tmp_path):
    images, labels = held_out()
    digits = tmp_path / "digits.npy"
    np.save(digits, images[:12].reshape(12, -1).astype(np.float32))
    name = models(gateway)["mnist-cnn-oip"]["name"]
    result = subprocess.run(
        [
            str(CLIENTS_PYTHON),
            str(ROOT / "tests" / "support" / "oip_client.py"),
            f"127.0.0.1:{gateway.http_port}",
            f"127.0.0.1:{gateway.grpc_port}",
            name,
            str(digits),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    seen = json.loads(result.stdout)
    assert seen["server_live"] and seen["model_ready"] and seen["grpc_live"]
    assert seen["metadata"]["inputs"] == [{"name": "digits", "datatype": "FP32", "shape": [-1, 784]}]
    assert seen["metadata"]["outputs"] == [{"name": "probabilities", "datatype": "FP32", "shape": [-1, 10]}]
    assert seen["grpc_metadata_inputs"][0]["name"] == "digits"
    expected = labels[:12].tolist()
    for way in ("http_binary", "http_json", "grpc"):
        assert seen[way] == expected, way


def test_every_accepted_input_form(gateway):
    images, labels = held_out()
    url = infer_url(gateway)

    def digits_of(body: dict) -> list[int]:
        reply = requests.post(url, json=body, timeout=30)
        assert reply.status_code == 200, reply.text
        output = reply.json()["outputs"][0]
        assert output["name"] == "probabilities" and output["datatype"] == "FP32"
        return np.array(output["data"]).reshape(output["shape"]).argmax(axis=1).tolist()

    four = images[:4]
    assert (
        digits_of(
            {"inputs": [{"name": "digits", "datatype": "FP32", "shape": [4, 784], "data": four.reshape(-1).tolist()}]}
        )
        == labels[:4].tolist()
    )
    as_bytes = (four * 255).round().astype(np.uint8)  # N x 28 x 28 in 0..255
    assert (
        digits_of(
            {
                "inputs": [
                    {"name": "digits", "datatype": "UINT8", "shape": [4, 28, 28], "data": as_bytes.reshape(-1).tolist()}
                ]
            }
        )
        == labels[:4].tolist()
    )
    pngs = [base64.b64encode(png_bytes(image, black_on_white=True, scale=4)).decode() for image in images[4:7]]
    assert (
        digits_of(
            {
                "inputs": [
                    {
                        "name": "image",
                        "datatype": "BYTES",
                        "shape": [3],
                        "data": pngs,
                        "parameters": {"content_type": "base64"},
                    }
                ]
            }
        )
        == labels[4:7].tolist()
    )


def test_cluster_identical_and_root_paths(gateway):
    row = models(gateway)["mnist-cnn-oip"]
    name, base = row["name"], f"{gateway.url}/seldon/default/{row['name']}"
    images, labels = held_out()
    body = {
        "inputs": [{"name": "digits", "datatype": "FP32", "shape": [1, 784], "data": images[0].reshape(-1).tolist()}]
    }
    for path in (
        f"{base}/v2/models/{name}/infer",
        f"{base}/v2/models/classifier/infer",
        f"{base}/v2/models/infer",
        f"{gateway.url}/v2/models/{name}/infer",
        f"{gateway.url}/v2/models/{name}/versions/v1/infer",
    ):
        reply = requests.post(path, json=body, timeout=30)
        assert reply.status_code == 200, (path, reply.text)
        assert int(np.argmax(reply.json()["outputs"][0]["data"])) == labels[0]
    assert requests.get(f"{base}/v2/models/{name}/ready", timeout=5).status_code == 200
    assert requests.get(f"{gateway.url}/v2/models/{name}/ready", timeout=5).status_code == 200
    assert requests.get(f"{gateway.url}/v2/models/{name}", timeout=5).json()["name"] == name
    assert requests.get(f"{gateway.url}/v2/health/live", timeout=5).status_code == 200
    assert requests.get(f"{gateway.url}/v2/health/ready", timeout=5).status_code == 200
    index = requests.post(f"{gateway.url}/v2/repository/index", timeout=5).json()
    assert {(m["name"], m["version"], m["state"]) for m in index} == {
        (r["name"], "v1", "READY") for r in models(gateway).values()
    }


def test_errors_are_oip_json_and_name_the_protocol(gateway):
    rows = models(gateway)
    oip, seldon = rows["mnist-cnn-oip"], rows["mnist-mlp"]
    url = oip["url"]
    bad_shape = requests.post(
        url, json={"inputs": [{"name": "d", "datatype": "FP32", "shape": [1, 5], "data": [1, 2, 3, 4, 5]}]}, timeout=10
    )
    assert bad_shape.status_code == 400 and "784" in bad_shape.json()["error"]
    not_filled = requests.post(
        url, json={"inputs": [{"name": "d", "datatype": "FP32", "shape": [2, 784], "data": [0.0] * 784}]}, timeout=10
    )
    assert not_filled.status_code == 400 and "do not fill" in not_filled.json()["error"]
    assert requests.post(
        url, data=b"{not json", headers={"Content-Type": "application/json"}, timeout=10
    ).status_code in (400, 422)
    seldon_path = requests.post(
        f"{gateway.url}/seldon/default/{oip['name']}/api/v1.0/predictions",
        json={"data": {"ndarray": [[0] * 784]}},
        timeout=10,
    )
    assert seldon_path.status_code == 400 and "Open Inference Protocol (protocol: v2)" in seldon_path.json()["error"]
    oip_to_seldon = requests.post(f"{gateway.url}/v2/models/{seldon['name']}/infer", json={"inputs": []}, timeout=10)
    assert oip_to_seldon.status_code == 400 and "Seldon protocol (protocol: seldon)" in oip_to_seldon.json()["error"]
    unknown = requests.get(f"{gateway.url}/v2/models/nope", timeout=5)
    assert unknown.status_code == 404 and oip["name"] in unknown.json()["models"]
    binary_lie = requests.post(
        url,
        data=b'{"inputs":[]}',
        timeout=10,
        headers={"Inference-Header-Content-Length": "999", "Content-Type": "application/octet-stream"},
    )
    assert binary_lie.status_code == 400 and "binary tensor data" in binary_lie.json()["error"]
    # the model still answers after every bad request
    assert requests.get(f"{gateway.url}/v2/models/{oip['name']}/ready", timeout=5).status_code == 200


def test_seldon_client_still_works_on_the_model_beside_it(gateway):
    images, labels = held_out()
    seldon = models(gateway)["mnist-mlp"]
    client = SeldonClient(
        gateway="ambassador",
        transport="rest",
        gateway_endpoint=f"127.0.0.1:{gateway.http_port}",
        namespace="default",
        deployment_name=seldon["name"],
    )
    reply = client.predict(data=images[:3].reshape(3, -1), payload_type="ndarray")
    assert reply.success, reply.msg
    assert np.array(reply.response["data"]["ndarray"]).argmax(axis=1).tolist() == labels[:3].tolist()


def test_the_oip_model_runs_mlserver_on_loopback_without_seldon_core_or_tensorflow(gateway):
    row = models(gateway)["mnist-cnn-oip"]
    members = group_members(row["pid"])
    assert any("mlserver_launcher.py" in " ".join(m.cmdline()) for m in members)
    listening = {
        (c.laddr.ip, c.laddr.port) for m in members for c in m.net_connections(kind="inet") if c.status == "LISTEN"
    }
    assert set(row["ports"].values()) <= {port for _, port in listening}
    assert {ip for ip, _ in listening} <= {"127.0.0.1", "::ffff:127.0.0.1"}, listening
    python = row["runtime"]
    for absent in ("seldon_core", "tensorflow"):
        assert subprocess.run([python, "-c", f"import {absent}"], capture_output=True).returncode != 0, absent
    assert subprocess.run([python, "-c", "import mlserver, onnxruntime"], capture_output=True).returncode == 0


FRAMING_ATTACKS = {
    "content-length and chunked": b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "two transfer-encodings": b"Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n",
    "obs-fold": b"Content-Length: 2\r\nX-Folded: a\r\n b\r\n\r\n{}",
    "bad chunk size": b"Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
    "two content-lengths": b"Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
}


def raw_status(port: int, path: str, tail: bytes) -> int | None:
    """Send one hand-made request; the status it gets, or None when the server just closes."""
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n".encode() + tail)
        try:
            head = sock.recv(4096)
        except (ConnectionResetError, TimeoutError):
            return None
    return int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/1.") else None


@pytest.mark.parametrize("attack", sorted(FRAMING_ATTACKS))
def test_framing_attacks_are_refused_by_the_gateway_and_both_model_servers(gateway, attack):
    rows = models(gateway)
    oip, seldon = rows["mnist-cnn-oip"], rows["mnist-mlp"]
    targets = {
        "gateway": (gateway.http_port, f"/seldon/default/{seldon['name']}/api/v1.0/predictions"),
        "MLServer (OIP model process)": (oip["ports"]["http"], f"/v2/models/{oip['name']}/infer"),
        "seldon-core-microservice": (seldon["ports"]["http"], "/api/v1.0/predictions"),
    }
    outcomes = {where: raw_status(port, path, FRAMING_ATTACKS[attack]) for where, (port, path) in targets.items()}
    refused = {where: status for where, status in outcomes.items() if status is not None and 400 <= status < 500}
    assert refused == outcomes, f"{attack}: {outcomes}"  # a 4xx answer from each, never a 2xx or silence


def test_oip_models_keep_the_lifecycle_guarantees(gateway):
    """Crash -> 503 then a restart; gateway stop -> no process left; serve again -> restored."""
    import os
    import signal

    from tests.support.gateway import wait_until

    before = models(gateway)["mnist-cnn-oip"]
    images, labels = held_out()
    body = {
        "inputs": [{"name": "digits", "datatype": "FP32", "shape": [1, 784], "data": images[0].reshape(-1).tolist()}]
    }
    os.kill(before["pid"], signal.SIGKILL)
    codes: list[int] = []

    def answered_again() -> bool:
        codes.append(requests.post(before["url"], json=body, timeout=10).status_code)
        return codes[-1] == 200 and 503 in codes

    wait_until(answered_again, 120, interval=0.05)
    after = models(gateway)["mnist-cnn-oip"]
    assert after["restarts"] == 1 and after["pid"] != before["pid"] and not group_members(before["pid"])
    groups = [row["pid"] for row in gateway.deployments()]
    assert gateway.stop() == 0
    wait_until(lambda: not any(group_members(leader) for leader in groups), 30)
    gateway.start()
    restored = models(gateway)["mnist-cnn-oip"]
    assert restored["state"] == "Available" and restored["name"] == before["name"]
    reply = requests.post(restored["url"], json=body, timeout=30)
    assert reply.status_code == 200 and int(np.argmax(reply.json()["outputs"][0]["data"])) == labels[0]


def test_a_scaffolded_model_switches_to_oip_with_one_spec_line(gateway, tmp_path):
    """The getting-started path (docs/getting-started.md): init, then `protocol: v2` in the spec, deploy, call it (same identity)."""
    folder = tmp_path / "scaled"
    cli = str(ROOT / ".venv" / "bin" / "seldon-pkg")
    assert subprocess.run([cli, "init", "scaled model", "--dir", str(folder)], capture_output=True).returncode == 0
    spec = folder / "seldon-model.yaml"
    spec.write_text(spec.read_text().replace("runtime: current", "") + "protocol: v2\n")
    result = gateway.cli("deploy", str(folder))
    assert result.returncode == 0, result.stdout + result.stderr
    url = next(line.split()[1] for line in result.stdout.splitlines() if line.startswith("REST"))
    reply = requests.post(
        url, json={"inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 2], "data": [1, 2]}]}, timeout=30
    )
    assert reply.status_code == 200, reply.text
    factor = float(
        next(line.split(":", 1)[1] for line in spec.read_text().splitlines() if line.strip().startswith("scale:"))
    )
    assert reply.json()["outputs"][0]["data"] == [1 * factor, 2 * factor]
    assert gateway.cli("delete", str(spec)).returncode == 0


def test_grpc_calls_in_the_other_protocol_name_the_models_protocol(gateway):
    import grpc

    rows = models(gateway)
    oip, seldon = rows["mnist-cnn-oip"], rows["mnist-mlp"]
    with grpc.insecure_channel(f"127.0.0.1:{gateway.grpc_port}") as channel:
        seldon_call = channel.unary_unary("/seldon.protos.Seldon/Predict")
        with pytest.raises(grpc.RpcError) as refused:
            seldon_call(b"", metadata=(("seldon", oip["name"]), ("namespace", "default")), timeout=10)
        assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "Open Inference Protocol (protocol: v2)" in refused.value.details()
        oip_call = channel.unary_unary("/inference.GRPCInferenceService/ModelReady")
        with pytest.raises(grpc.RpcError) as refused:
            oip_call(b"\n" + bytes([len(seldon["name"])]) + seldon["name"].encode(), timeout=10)  # {name: ...}
        assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "Seldon protocol (protocol: seldon)" in refused.value.details()
        live = channel.unary_unary("/inference.GRPCInferenceService/ServerLive")(b"", timeout=10)
        assert live == b"\x08\x01"  # ServerLiveResponse{live: true}


def test_custom_metrics_reach_mlservers_metrics_endpoint(gateway):
    row = models(gateway)["mnist-cnn-oip"]
    images, _ = held_out()
    body = {
        "inputs": [{"name": "digits", "datatype": "FP32", "shape": [2, 784], "data": images[:2].reshape(-1).tolist()}]
    }
    assert requests.post(row["url"], json=body, timeout=30).status_code == 200
    metrics = requests.get(f"http://127.0.0.1:{row['ports']['metrics']}/metrics", timeout=10).text
    assert "mnist_digits_total" in metrics and "seldon_pkg_infer_ms" in metrics  # the wrapper's own, via mlserver.log


def test_a_spec_cannot_rebind_mlserver_off_loopback(gateway, tmp_path):
    """MLSERVER_* in a spec's env are MLServer settings too; the host and ports the gateway
    writes to settings.json still win (MLServer reads init values before the environment)."""
    folder = tmp_path / "hostile"
    folder.mkdir()
    text = OIP_CNN.read_text().replace("name: mnist-cnn-oip", "name: hostile-oip")
    text = text.replace("models/mnist-cnn.onnx", str(ROOT / "demo_mnist" / "models" / "mnist-cnn.onnx"))
    (folder / "seldon-model.yaml").write_text(text + "env: {MLSERVER_HOST: 0.0.0.0, MLSERVER_HTTP_PORT: '1'}\n")
    result = gateway.cli("deploy", str(folder), "--keep")
    try:
        assert result.returncode == 0, result.stderr
        row = models(gateway)["hostile-oip"]
        members = group_members(row["pid"])
        listening = {
            (c.laddr.ip, c.laddr.port) for m in members for c in m.net_connections(kind="inet") if c.status == "LISTEN"
        }
        assert {ip for ip, _ in listening} <= {"127.0.0.1", "::ffff:127.0.0.1"}, listening
        assert row["ports"]["http"] in {port for _, port in listening}
    finally:
        gateway.cli("delete", "hostile-oip")


def test_mlserver_runs_without_a_per_request_access_log_unless_the_spec_asks(tmp_path):
    """MLServer's default ``debug: true`` writes an access-log line per request (about a tenth
    of a one-digit request's time); the local runtime sets MLSERVER_DEBUG=false, and a spec's
    env can still turn it on (env, not settings.json, so the spec's value can win)."""
    import dataclasses
    from pathlib import Path

    from seldon_pkg.servers.base import LocalLaunch
    from seldon_pkg.servers.mlserver import MLSERVER_KIND
    from seldon_pkg.spec.model_spec import load_spec

    spec = load_spec(OIP_CNN)

    def launch(model_spec) -> LocalLaunch:
        return LocalLaunch("m", model_spec, Path("python"), 1, 2, 3, tmp_path)

    assert MLSERVER_KIND.environment(launch(spec))["MLSERVER_DEBUG"] == "false"
    asking = dataclasses.replace(spec, env={**spec.env, "MLSERVER_DEBUG": "true"})
    assert MLSERVER_KIND.environment(launch(asking))["MLSERVER_DEBUG"] == "true"
    MLSERVER_KIND.command(launch(spec))
    assert "debug" not in json.loads((tmp_path / "settings.json").read_text())
