"""The local runtime's fault matrix, and ``deployed()`` on the local target.

Every test starts its own gateway (real ``seldon-pkg serve`` subprocess) on its own state
folder, so none depends on another's leftovers. The model is the test-only EchoModel in the
current interpreter (starts in about a second); the environment-build case uses an isolated
environment on purpose.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
from pathlib import Path

import pytest
import requests

from seldon_pkg.errors import Invalid
from seldon_pkg.local.ostools import group_members
from seldon_pkg.local.state import StateDir
from seldon_pkg.platforms.registry import name_of
from seldon_pkg.spec.model_spec import load_spec
from seldon_pkg.targets import DeployPolicy, deployed
from seldon_pkg.targets.local import LocalTarget
from tests.support.gateway import GatewayProcess, wait_until
from tests.support.microservice import ROOT

pytestmark = pytest.mark.slow
ECHO = ROOT / "tests" / "fixtures" / "echo_model"


def echo_variant(folder: Path, factor: float, name: str = "Echo Model (tests)", **extra: str) -> Path:
    """The echo model's folder with another factor (same identity unless ``name`` differs)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "EchoModel.py").write_text((ECHO / "EchoModel.py").read_text())
    lines = [
        f"name: {name}",
        "version: v1",
        "namespace: testing",
        "wrapper: EchoModel.EchoModel",
        f"parameters: {{factor: {factor}}}",
        "runtime: current",
    ] + [f"{k}: {v}" for k, v in extra.items()]
    (folder / "seldon-model.yaml").write_text("\n".join(lines) + "\n")
    return folder


def echo(url: str) -> float:
    reply = requests.post(url, json={"data": {"ndarray": [[1.0]]}}, timeout=10)
    assert reply.status_code == 200, reply.text
    return reply.json()["data"]["ndarray"][0][0]


@pytest.fixture
def gateway(tmp_path, artifacts, request):
    process = GatewayProcess(tmp_path / "state", artifacts / f"faults-{request.node.name}.log").start()
    yield process
    process.stop()


def test_deployed_on_the_local_target_creates_then_removes(gateway, tmp_path):
    target = LocalTarget(gateway.state_dir)
    spec = load_spec(echo_variant(tmp_path / "fresh", 2.0, name="scratch model"))
    with deployed(target, spec) as info:
        assert info.state == "Available" and echo(info.url) == 2.0
    assert [row.name for row in target.list()] == []


def test_deployed_on_the_local_target_restores_the_previous_revision(gateway, tmp_path):
    target = LocalTarget(gateway.state_dir)
    before = target.deploy(load_spec(ECHO)).info
    assert echo(before.url) == 10.0
    with deployed(target, load_spec(echo_variant(tmp_path / "patched", 3.0))) as info:
        assert info.name == before.name and echo(info.url) == 3.0
    after = target.get(before.name)
    assert after.revision == before.revision and echo(after.url) == 10.0  # restored, not deleted
    with pytest.raises(Invalid, match="canary needs a cluster"):
        with deployed(target, load_spec(ECHO), DeployPolicy(mode="keep", canary=10)):
            pytest.fail("the block must not run")
    assert target.get(before.name).revision == before.revision


def test_gateway_sigkill_under_load_then_serve_restores_each_model_once(gateway, tmp_path):
    for factor, name in ((2.0, "first"), (5.0, "second")):
        assert gateway.cli("deploy", str(echo_variant(tmp_path / name, factor, name=name))).returncode == 0
    rows = gateway.deployments()
    old_groups = [row["pid"] for row in rows]
    codes: list[object] = []
    stop = threading.Event()

    def load():
        while not stop.is_set():
            try:
                codes.append(requests.post(rows[0]["url"], json={"data": {"ndarray": [[1.0]]}}, timeout=5).status_code)
            except requests.ConnectionError:
                codes.append("refused")

    thread = threading.Thread(target=load)
    thread.start()
    try:
        wait_until(lambda: codes.count(200) >= 20, 30)
        gateway.process.send_signal(signal.SIGKILL)
        gateway.process.wait(10)
        # the models notice their gateway is gone and stop themselves: no orphans
        wait_until(lambda: not any(group_members(leader) for leader in old_groups), 30)
        gateway.start()
        wait_until(lambda: codes[-5:] == [200] * 5, 60)
    finally:
        stop.set()
        thread.join()
    down = codes.index("refused")  # the gateway was really down under load
    assert set(codes[down:]) <= {"refused", 503, 200}, set(codes[down:])  # never a 5xx other than 503
    restored = gateway.deployments()
    assert sorted(r["name"] for r in restored) == sorted(r["name"] for r in rows)  # each exactly once
    assert all(r["state"] == "Available" and r["pid"] not in old_groups for r in restored)
    registry = json.loads((gateway.state_dir / "registry.json").read_text())["deployments"]
    assert len(registry) == 2


def test_a_damaged_registry_is_named_and_its_last_good_copy_kept(gateway, tmp_path):
    assert gateway.cli("deploy", str(ECHO)).returncode == 0
    gateway.stop()
    registry = gateway.state_dir / "registry.json"
    good = registry.read_text()
    registry.write_text(good[: len(good) // 2])  # truncated, as by a full disk
    result = subprocess.run([*gateway.command()], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"the local registry {registry} is damaged" in result.stderr
    backup = Path(str(registry) + ".bak")
    assert f"`cp {backup} {registry}` restores it" in result.stderr
    assert backup.read_text() == good
    os.replace(backup, registry)  # the way out the message names
    gateway.start()
    assert [row["model"] for row in gateway.deployments()] == ["Echo Model (tests)"]


def test_a_failed_environment_build_shows_pips_error_and_is_never_reused(gateway, tmp_path):
    assert gateway.cli("deploy", str(ECHO)).returncode == 0
    neighbour = gateway.deployments()[0]
    folder = echo_variant(tmp_path / "bad-req", 1.0, name="bad requirement", runtime="isolated")
    (folder / "requirements.txt").write_text("seldon-pkg-test-no-such-distribution==0.0.1\n")
    for _ in range(2):  # the second attempt must fail the same way, not reuse a half-built environment
        result = gateway.cli("deploy", str(folder))
        assert result.returncode != 0
        assert "seldon-pkg-test-no-such-distribution" in result.stderr
        assert "building the model's environment" in result.stderr  # progress, before pip's error
        assert "No matching distribution" in result.stderr or "Could not find a version" in result.stderr
    envs = StateDir(gateway.state_dir).envs
    assert not any(
        (env / ".seldon-pkg-ready").exists() and "no-such" in (env / ".seldon-pkg-ready").read_text()
        for env in envs.iterdir()
        if env.is_dir()
    )
    after = gateway.deployments()
    assert [(r["name"], r["pid"], r["state"]) for r in after] == [(neighbour["name"], neighbour["pid"], "Available")]


def test_concurrent_deploys_of_one_identity_are_serialised(gateway, tmp_path):
    specs = [echo_variant(tmp_path / f"rev{factor}", factor) for factor in (2.0, 7.0)]
    results: list[subprocess.CompletedProcess] = []
    threads = [threading.Thread(target=lambda s=s: results.append(gateway.cli("deploy", str(s)))) for s in specs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.returncode for r in results] == [0, 0], [r.stderr for r in results]
    rows = gateway.deployments()
    assert len(rows) == 1 and rows[0]["name"] == name_of(load_spec(specs[0]))
    winner = echo(rows[0]["url"])
    assert winner in (2.0, 7.0)
    registry = json.loads((gateway.state_dir / "registry.json").read_text())["deployments"]
    assert len(registry) == 1 and registry[0]["revision"] == rows[0]["revision"]
    # the losing revision's process was retired: only one model process group remains
    leaders = {p.pid for p in _model_group_leaders(gateway)}
    assert leaders == {rows[0]["pid"]}


def _model_group_leaders(gateway: GatewayProcess):
    import psutil

    return [
        child
        for child in psutil.Process(gateway.process.pid).children()
        if child.status() != psutil.STATUS_ZOMBIE and os.getpgid(child.pid) == child.pid
    ]


def test_the_model_alias_follows_the_newest_available_version(gateway, tmp_path):
    from urllib.parse import quote

    alias = f"{gateway.url}/model/testing/{quote('Echo Model (tests)')}/api/v1.0/predictions"
    assert gateway.cli("deploy", str(ECHO)).returncode == 0
    first = gateway.deployments()[0]
    assert echo(alias) == 10.0
    result = gateway.cli("deploy", str(echo_variant(tmp_path / "v2", 3.0, version="v2")), "--keep")
    assert result.returncode == 0, result.stderr
    assert echo(alias) == 3.0  # the alias moved to the new version
    assert echo(first["url"]) == 10.0  # the hashed URL of v1 still reaches v1
    missing = requests.post(f"{gateway.url}/model/testing/nope/api/v1.0/predictions", json={}, timeout=5)
    assert missing.status_code == 404 and "Echo Model (tests)" in missing.json()["models"]


def test_recycled_rest_workers_lose_no_request_and_leave_the_group_whole(gateway, tmp_path):
    """Workers recycled after max_requests (the memory bound, seldon_pkg/servers/serving_defaults.py):
    no request fails across the recycles, and the processes the workers share (gRPC server,
    metrics server, seldon-core's metrics Manager) survive them. Found by the soak: an exiting
    worker used to terminate them from the launcher's clean-up, which it had inherited."""
    folder = echo_variant(
        tmp_path / "recycled", 3.0, env="{GUNICORN_MAX_REQUESTS: '40', GUNICORN_MAX_REQUESTS_JITTER: '10'}"
    )
    result = gateway.cli("deploy", str(folder))
    assert result.returncode == 0, result.stderr
    row = gateway.deployment("Echo Model (tests)")
    shared_before = {p.pid for p in group_members(row["pid"])}
    for _ in range(400):
        assert echo(row["url"]) == 3.0
    log = Path(row["log"]).read_text()
    assert log.count("Autorestarting worker") >= 4, "the workers were recycled"
    survivors = {p.pid for p in group_members(row["pid"])}
    shared = shared_before - {pid for pid in shared_before if f"Worker exiting (pid: {pid})" in log}
    assert shared <= survivors, "the gRPC, metrics and Manager processes outlived the recycles"
    assert len(shared) >= 4  # launcher, gRPC server, metrics server, metrics Manager
    metrics = requests.get(f"http://127.0.0.1:{row['ports']['metrics']}/metrics", timeout=10)
    assert metrics.status_code == 200, "the metrics server still answers"
    assert "custom metrics not recorded" not in log
