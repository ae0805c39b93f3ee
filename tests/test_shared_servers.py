"""Shared servers end to end: many OIP models in one real MLServer process behind the real gateway.

Every model here runs in the isolated OIP environment (MLServer 1.7.1 and our adapter), deployed
through the CLI, called over REST by the model's own URL. What is checked is what a user of one
model process per model relied on, kept per model inside a shared process: a load that raises
fails only its own deploy, with its own error and log; delete unloads one model; a redeploy under
load loses no request; a crash of the process gives 503 and every model is loaded again once;
two models whose code has the same module name each run their own; ``isolation: process`` opts out.
"""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import pytest
import requests

from seldon_pkg.local.ostools import group_members
from tests.support.gateway import GatewayProcess, wait_until
from tests.support.microservice import ROOT

pytestmark = pytest.mark.slow
ECHO = (ROOT / "tests" / "fixtures" / "echo_model" / "EchoModel.py").read_text()
BODY = {"inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 2], "data": [1, 2]}]}
BROKEN = """
from model_wrappers.base import SeldonModel


class Broken(SeldonModel):
    def load_model(self):
        print("broken-model is reading its weights")
        raise RuntimeError("weights file is corrupt: broken-marker")

    def infer(self, batch):
        return batch
"""


def write_model(folder: Path, name: str, code: str, cls: str, extra: str = "") -> Path:
    """A model folder: ``<cls>.py`` and a v2 spec in the isolated OIP environment."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{cls}.py").write_text(code)
    (folder / "seldon-model.yaml").write_text(f"name: {name}\nversion: v1\nprotocol: v2\nwrapper: {cls}.{cls}\n{extra}")
    return folder / "seldon-model.yaml"


def deploy(gateway: GatewayProcess, spec: Path) -> None:
    result = gateway.cli("deploy", str(spec))
    assert result.returncode == 0, result.stdout + result.stderr


def answer(row: dict) -> list[float]:
    reply = requests.post(row["url"], json=BODY, timeout=30)
    assert reply.status_code == 200, reply.text
    return reply.json()["outputs"][0]["data"]


@pytest.fixture(scope="module")
def gateway(tmp_path_factory, artifacts):
    process = GatewayProcess(tmp_path_factory.mktemp("shared-state"), artifacts / "shared-gateway.log").start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("shared-models")
    plus_one = ECHO.replace("return batch * self.factor", "return batch * self.factor + 1")
    return {
        "echo-a": write_model(root / "a", "echo-a", ECHO, "EchoModel", "parameters: {factor: 10.0}\n"),
        "echo-b": write_model(root / "b", "echo-b", plus_one, "EchoModel", "parameters: {factor: 100.0}\n"),
        "echo-c": write_model(root / "c", "echo-c", ECHO, "EchoModel", "parameters: {factor: 3.0}\n"),
        "broken": write_model(root / "broken", "broken-model", BROKEN, "Broken"),
        "own": write_model(
            root / "own", "echo-own", ECHO, "EchoModel", "parameters: {factor: 2.0}\nisolation: process\n"
        ),
    }


@pytest.fixture(scope="module")
def shared(gateway, folders) -> dict[str, dict]:
    """echo-a, echo-b and echo-c deployed: one server for the three."""
    for key in ("echo-a", "echo-b", "echo-c"):
        deploy(gateway, folders[key])
    return {row["model"]: row for row in gateway.deployments()}


def rows(gateway: GatewayProcess) -> dict[str, dict]:
    return {row["model"]: row for row in gateway.deployments()}


def test_models_of_one_environment_share_one_process_and_each_runs_its_own_code(shared):
    a, b, c = shared["echo-a"], shared["echo-b"], shared["echo-c"]
    assert a["isolation"] == "shared" and a["server"] and a["server"] == b["server"] == c["server"]
    assert a["pid"] == b["pid"] == c["pid"] and a["ports"] == b["ports"]
    # two folders with an EchoModel.py each: each model runs the class of its own folder
    assert answer(a) == [10.0, 20.0]
    assert answer(b) == [101.0, 201.0]
    assert answer(c) == [3.0, 6.0]


def test_a_model_whose_load_raises_fails_alone_with_its_own_error_and_log(gateway, shared, folders):
    result = gateway.cli("deploy", str(folders["broken"]))
    assert result.returncode != 0
    assert "weights file is corrupt: broken-marker" in result.stdout + result.stderr
    assert "Broken.py" in result.stdout + result.stderr  # the model's own frame
    for model in ("echo-a", "echo-b", "echo-c"):
        assert answer(rows(gateway)[model])  # the server's other models kept serving
    log = gateway.cli("logs", "broken-model")
    assert log.returncode == 0, log.stderr
    assert "broken-model is reading its weights" in log.stdout and "RuntimeError" in log.stdout
    assert "echo-a" not in log.stdout and "echo-b" not in log.stdout  # its own lines only
    own_log = gateway.cli("logs", "echo-a")
    assert "broken" not in own_log.stdout and "echo-a" in own_log.stdout
    described = gateway.cli("describe", "broken-model")
    assert "NotDeployed" in described.stdout, described.stdout


def test_isolation_process_gives_a_model_its_own_process(gateway, shared, folders):
    deploy(gateway, folders["own"])
    own = rows(gateway)["echo-own"]
    assert own["isolation"] == "process" and own["server"] is None
    assert own["pid"] != shared["echo-a"]["pid"]
    assert answer(own) == [2.0, 4.0]
    assert gateway.cli("delete", "echo-own").returncode == 0


def test_redeploy_under_load_fails_no_request_and_serves_the_new_revision(gateway, shared, folders):
    spec = folders["echo-c"]
    url = rows(gateway)["echo-c"]["url"]
    failures: list[str] = []
    answers: list[list[float]] = []
    stop = threading.Event()

    def load() -> None:
        with requests.Session() as session:
            while not stop.is_set():
                reply = session.post(url, json=BODY, timeout=30)
                if reply.status_code != 200:
                    failures.append(f"{reply.status_code} {reply.text[:200]}")
                else:
                    answers.append(reply.json()["outputs"][0]["data"])

    threads = [threading.Thread(target=load) for _ in range(2)]
    for thread in threads:
        thread.start()
    try:
        spec.write_text(spec.read_text().replace("factor: 3.0", "factor: 7.0"))
        deploy(gateway, spec)
        wait_until(lambda: answers and answers[-1] == [7.0, 14.0], 30)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert not failures, failures[:5]
    assert [3.0, 6.0] in answers and answers[-1] == [7.0, 14.0]
    assert rows(gateway)["echo-c"]["pid"] == shared["echo-a"]["pid"]  # still the same server


def test_metrics_are_per_model(gateway, shared):
    row = rows(gateway)["echo-a"]
    for model in ("echo-a", "echo-b"):
        answer(rows(gateway)[model])
    text = requests.get(f"http://127.0.0.1:{row['ports']['metrics']}/metrics", timeout=10).text
    served = [line for line in text.splitlines() if line.startswith("model_infer_request_success_total")]
    for model in ("echo-a", "echo-b"):
        name = rows(gateway)[model]["name"]
        assert any(f'model="{name}"' in line and not line.endswith(" 0.0") for line in served), served


def test_a_crash_gives_503_then_every_model_is_loaded_again_once(gateway, shared):
    before = rows(gateway)
    pid = before["echo-a"]["pid"]
    os.kill(pid, signal.SIGKILL)
    codes: list[int] = []

    def answered_again() -> bool:
        codes.append(requests.post(before["echo-a"]["url"], json=BODY, timeout=10).status_code)
        return codes[-1] == 200 and 503 in codes

    wait_until(answered_again, 120, interval=0.05)
    wait_until(lambda: all(r["state"] == "Available" for m, r in rows(gateway).items() if m.startswith("echo")), 60)
    after = rows(gateway)
    assert after["echo-a"]["pid"] != pid and not group_members(pid)
    for model in ("echo-a", "echo-b", "echo-c"):
        assert after[model]["restarts"] == 1 and after[model]["pid"] == after["echo-a"]["pid"]
        assert answer(after[model])
        log = Path(after[model]["log"]).read_text()
        assert log.count(f"loading {after[model]['name']} into shared server") == (3 if model == "echo-c" else 2)


def test_delete_unloads_one_model_and_the_last_one_stops_the_process(gateway, shared):
    current = rows(gateway)
    pid = current["echo-a"]["pid"]
    assert gateway.cli("delete", "echo-b").returncode == 0
    gone = requests.post(current["echo-b"]["url"], json=BODY, timeout=10)
    assert gone.status_code == 404
    assert answer(rows(gateway)["echo-a"]) and rows(gateway)["echo-a"]["pid"] == pid
    unloaded = requests.get(
        f"http://127.0.0.1:{current['echo-a']['ports']['http']}/v2/models/{current['echo-b']['name']}/ready", timeout=10
    )
    assert unloaded.status_code != 200  # gone from the server, not only from the gateway's routes
    for model in ("echo-a", "echo-c"):
        assert gateway.cli("delete", model).returncode == 0
    wait_until(lambda: not group_members(pid), 30)
