"""The local runtime end to end: a real gateway process, real model processes, the real CLI.

Two MNIST models (isolated runtime environments, no TensorFlow) and a test-only model class
run side by side behind one gateway; the tests call them as an application would (the official
SeldonClient over REST and gRPC) and then break things on purpose.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import threading
import time

import numpy as np
import pytest
import requests
from google.protobuf.json_format import MessageToDict
from seldon_core.seldon_client import SeldonClient

from seldon_pkg.local.ostools import group_members as process_group
from seldon_pkg.platforms.registry import name_of
from seldon_pkg.spec.model_spec import load_spec
from seldon_pkg.targets import DeploymentInfo, DeployPolicy
from seldon_pkg.targets.local import LocalTarget
from tests.support.digits import held_out
from tests.support.gateway import GatewayProcess, predict, wait_until
from tests.support.microservice import ROOT

pytestmark = pytest.mark.slow
CNN = ROOT / "demo_mnist" / "mnist-cnn.yaml"
MLP = ROOT / "demo_mnist" / "mnist-mlp.yaml"
ECHO = ROOT / "tests" / "fixtures" / "echo_model"
BROKEN = ROOT / "tests" / "fixtures" / "broken_model"


SPECS = (CNN, MLP, ECHO)


def _ensure_all_deployed(process: GatewayProcess) -> None:
    """Bring back what an earlier test stopped or deleted, so no test depends on the order."""
    if process.process is None or process.process.poll() is not None:
        process.start()
    present = {row["name"] for row in process.deployments() if row["state"] == "Available"}
    for spec in SPECS:
        if name_of(load_spec(spec)) not in present:
            result = process.cli("deploy", str(spec), "--keep")
            assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def running_gateway(tmp_path_factory, artifacts):
    state = tmp_path_factory.mktemp("state")
    process = GatewayProcess(state, artifacts / "gateway.log").start()
    yield process
    process.stop()


@pytest.fixture
def gateway(running_gateway):
    """The module's gateway with all three models Available, whatever the previous test did."""
    _ensure_all_deployed(running_gateway)
    return running_gateway


def digits_body(count: int = 5) -> tuple[dict, np.ndarray]:
    images, labels = held_out()
    return {"data": {"ndarray": images[:count].reshape(count, -1).tolist()}}, labels[:count]


def reply_array(reply: dict) -> np.ndarray:
    data = reply["data"]
    if "tensor" in data:
        return np.array(data["tensor"]["values"]).reshape(data["tensor"]["shape"])
    return np.array(data["ndarray"])


def test_deploy_prints_name_and_url_and_list_has_the_fields(gateway):
    rows = gateway.listed()
    assert {r["model"] for r in rows} == {"mnist-cnn", "mnist-mlp", "Echo Model (tests)"}
    for row in rows:
        assert set(row) == {f.name for f in dataclasses.fields(DeploymentInfo)}  # the cluster target's shape too
        assert row["target"] == "local" and row["protocol"] == "seldon"
        assert row["platform"] == "seldon"  # the spec's platform: `target` says where it runs
        assert row["state"] == "Available"
        assert row["url"] == f"{gateway.url}/seldon/{row['namespace']}/{row['name']}/api/v1.0/predictions"
    again = gateway.cli("endpoint", gateway.deployment("mnist-cnn")["name"])
    assert again.stdout.strip() == gateway.deployment("mnist-cnn")["url"]


@pytest.mark.parametrize("transport", ["rest", "grpc"])
def test_seldon_client_through_the_gateway_reaches_each_model(gateway, transport):
    images, labels = held_out()
    endpoint = f"localhost:{gateway.http_port if transport == 'rest' else gateway.grpc_port}"
    for row in gateway.deployments():
        client = SeldonClient(
            gateway="ambassador",
            transport=transport,
            gateway_endpoint=endpoint,
            namespace=row["namespace"],
            deployment_name=row["name"],
        )
        result = client.predict(data=images[:6].reshape(6, 784))
        assert result.success, (row["name"], result.msg)
        response = result.response if isinstance(result.response, dict) else MessageToDict(result.response)
        output = reply_array(response)
        if row["model"].startswith("mnist"):
            assert output.shape == (6, 10)
            assert output.argmax(axis=1).tolist() == labels[:6].tolist()
        else:
            assert np.allclose(output, images[:6].reshape(6, 784) * 10.0, atol=1e-4)


def test_unknown_deployment_is_404_listing_the_names(gateway):
    reply = requests.post(f"{gateway.url}/seldon/default/nope/api/v1.0/predictions", json={}, timeout=10)
    assert reply.status_code == 404
    assert len(reply.json()["deployments"]) == 3


def test_malformed_request_gets_the_models_4xx_untouched(gateway):
    url = gateway.deployment("mnist-cnn")["url"]
    reply = requests.post(url, json={"data": {"tensor": {"shape": [2, 784], "values": [1.0]}}}, timeout=10)
    assert reply.status_code == 400
    assert reply.json()["status"]["reason"] == "MICROSERVICE_BAD_DATA"
    assert "needs 1568" in reply.json()["status"]["info"]
    reply = requests.post(url, data="not json", headers={"Content-Type": "text/plain"}, timeout=10)
    assert reply.status_code == 415


def test_other_seldon_paths_are_routed(gateway):
    row = gateway.deployment("mnist-mlp")
    base = f"{gateway.url}/seldon/{row['namespace']}/{row['name']}"
    assert requests.get(f"{base}/health/ping", timeout=5).status_code == 200
    assert requests.get(f"{base}/metadata", timeout=5).json()["name"] == "mnist-classifier"
    body, labels = digits_body(3)
    assert (
        reply_array(requests.post(f"{base}/predict", json=body, timeout=10).json()).argmax(axis=1).tolist()
        == labels.tolist()
    )


def test_model_processes_listen_on_loopback_only(gateway):
    for row in gateway.deployments():
        members = process_group(row["pid"])
        assert len(members) >= 3  # gunicorn master + worker, gRPC, metrics
        addresses = {
            (conn.laddr.ip, conn.laddr.port)
            for member in members
            for conn in member.net_connections(kind="inet")
            if conn.status == "LISTEN"
        }
        ports = set(row["ports"].values())
        assert ports <= {port for _, port in addresses}, (row["name"], addresses)
        for ip, _ in addresses:
            assert ip in ("127.0.0.1", "::ffff:127.0.0.1"), (row["name"], ip)


def test_mnist_models_run_in_environments_without_tensorflow(gateway):
    for model in ("mnist-cnn", "mnist-mlp"):
        python = gateway.deployment(model)["runtime"]
        assert python.startswith(os.environ["SELDON_PKG_ENVS_DIR"])
        probe = subprocess.run([python, "-c", "import tensorflow"], capture_output=True)
        assert probe.returncode != 0
        assert subprocess.run([python, "-c", "import seldon_core"], capture_output=True).returncode == 0
    assert gateway.deployment("Echo Model (tests)")["runtime"].startswith(str(ROOT / ".venv"))


def test_a_killed_model_answers_503_then_restarts_while_others_keep_answering(gateway):
    victim = gateway.deployment("mnist-mlp")
    other_url = gateway.deployment("mnist-cnn")["url"]
    body, _labels = digits_body(2)
    os.kill(victim["pid"], signal.SIGKILL)
    started = time.monotonic()
    codes = set()
    while time.monotonic() - started < 60:
        code = requests.post(victim["url"], json=body, timeout=5).status_code
        codes.add(code)
        other = predict(other_url, body)
        assert other.status_code == 200  # the neighbour never notices
        if code == 200 and 503 in codes:
            break
        time.sleep(0.05)
    assert 503 in codes and 200 in codes
    after = gateway.deployment("mnist-mlp")
    assert after["restarts"] == 1 and after["pid"] != victim["pid"] and after["state"] == "Available"
    assert not process_group(victim["pid"])  # the dead model's whole group is gone


def test_redeploy_under_load_loses_no_request(gateway):
    row = gateway.deployment("mnist-cnn")
    body, _labels = digits_body(1)
    failures: list[str] = []
    successes = [0]
    stop = threading.Event()

    def hammer():
        session = requests.Session()
        while not stop.is_set():
            try:
                reply = session.post(row["url"], json=body, timeout=30)
                if reply.status_code != 200:
                    failures.append(f"{reply.status_code} {reply.text[:200]}")
                else:
                    successes[0] += 1
            except requests.RequestException as error:
                failures.append(repr(error))

    threads = [threading.Thread(target=hammer) for _ in range(3)]
    for thread in threads:
        thread.start()
    try:
        wait_until(lambda: successes[0] >= 10, 30)  # load is flowing before the redeploy
        result = gateway.cli("deploy", str(CNN))
        assert result.returncode == 0, result.stderr
        after_switch = successes[0]
        wait_until(lambda: successes[0] >= after_switch + 10, 30)  # and keeps flowing after it
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert failures == []
    assert successes[0] > 20
    after = gateway.deployment("mnist-cnn")
    assert after["pid"] != row["pid"] and after["name"] == row["name"]
    assert wait_until(lambda: not process_group(row["pid"]), 30)  # the old process is gone


def test_missing_wrapper_class_fails_with_the_models_own_error(gateway):
    before = {d["name"]: d["pid"] for d in gateway.deployments()}
    result = gateway.cli("deploy", str(BROKEN))
    assert result.returncode == 2  # Invalid: caught before any process starts (seldon_pkg/spec/preflight.py)
    assert "field 'wrapper': model_wrappers.mnist has no class 'NoSuchClassifier'" in result.stderr
    assert "(did you mean 'MnistClassifier'?)" in result.stderr
    assert {d["name"]: d["pid"] for d in gateway.deployments()} == before


def test_a_spec_built_in_code_deploys_as_built(gateway):
    """LocalTarget sends the spec itself (as the cluster target does): a spec changed in code
    serves with its change although the file it came from says otherwise, and the registry
    keeps that spec, so a restarted gateway restores it rather than re-reading the file."""
    import json

    import yaml

    on_disk = load_spec(ECHO)
    assert on_disk.parameters["factor"] == 10.0
    spec = dataclasses.replace(on_disk, version="built-in-code", parameters={"factor": 3.0})
    target = LocalTarget(gateway.state_dir)
    outcome = target.deploy(spec, DeployPolicy(mode="keep"))  # keep: the echo v1 of the other tests stays
    try:
        assert (outcome.info.model, outcome.info.version) == (spec.name, "built-in-code")
        assert outcome.info.name == name_of(spec) != name_of(on_disk)
        reply = predict(outcome.info.url, {"data": {"ndarray": [[1.0, 2.0]]}})
        assert reply.status_code == 200, reply.text
        assert reply.json()["data"]["ndarray"] == [[3.0, 6.0]]  # the file's factor would give 10, 20
        registry = json.loads((gateway.state_dir / "registry.json").read_text())
        (record,) = [r for r in registry["deployments"] if r["name"] == outcome.info.name]
        assert yaml.safe_load(record["spec_text"])["parameters"] == {"factor": 3.0}
    finally:
        target.delete(outcome.info.name, outcome.info.namespace)


def test_control_api_needs_the_token(gateway):
    import json

    info = json.loads((gateway.state_dir / "gateway.json").read_text())
    url = f"http://127.0.0.1:{info['control_port']}/v1/deployments"
    assert requests.get(url, timeout=5).status_code == 401
    assert requests.get(url, headers={"Authorization": "Bearer wrong"}, timeout=5).status_code == 401
    token = (gateway.state_dir / "token").read_text().strip()
    assert requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=5).status_code == 200
    assert oct((gateway.state_dir / "token").stat().st_mode & 0o777) == "0o600"


def test_a_second_gateway_on_a_busy_port_is_refused(gateway, tmp_path):
    result = subprocess.run(
        [
            str(ROOT / ".venv" / "bin" / "seldon-pkg"),
            "serve",
            "--port",
            str(gateway.http_port),
            "--grpc-port",
            "0",
            "--state-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert f"http port 127.0.0.1:{gateway.http_port} is not available" in result.stderr
    assert "choose another with --port" in result.stderr


def test_stop_leaves_no_child_and_restart_restores_every_model(gateway, artifacts):
    rows = gateway.deployments()
    groups = [row["pid"] for row in rows]
    members = [p.pid for leader in groups for p in process_group(leader)]
    assert members
    assert gateway.stop() == 0
    wait_until(lambda: not any(process_group(leader) for leader in groups), 10)
    for pid in members:
        assert not _alive(pid), pid

    gateway.start()
    restored = gateway.deployments()
    assert {(r["name"], r["state"]) for r in restored} == {(r["name"], "Available") for r in rows}
    body, labels = digits_body(4)
    reply = predict(gateway.deployment("mnist-cnn")["url"], body)
    assert reply_array(reply.json()).argmax(axis=1).tolist() == labels.tolist()


def test_delete_stops_the_model_and_frees_its_name(gateway):
    row = gateway.deployment("Echo Model (tests)")
    result = gateway.cli("delete", row["name"])
    assert result.returncode == 0, result.stderr
    assert wait_until(lambda: not process_group(row["pid"]), 30)
    assert requests.post(row["url"], json={"data": {"ndarray": [[1]]}}, timeout=5).status_code == 404
    again = gateway.cli("delete", row["name"])
    assert again.returncode == 3 and "no local deployment" in again.stderr  # NotFound, as on k8s
    assert gateway.cli("delete", row["name"], "--ignore-not-found").returncode == 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
