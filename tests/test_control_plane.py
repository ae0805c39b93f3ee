"""The embedded control plane itself (tools/cluster): what `make cluster-up/down` promise."""

from __future__ import annotations

import copy
import dataclasses
import datetime
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from kubernetes import client

from tests.support.microservice import ROOT

TOOLS_ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def _kubectl() -> str:
    return str(ROOT / ".tools" / "kubectl")


def test_the_server_reports_its_real_version(kube):
    version = json.loads(
        subprocess.run(
            [_kubectl(), "version", "-o", "json", f"--kubeconfig={kube.kubeconfig}"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    if kube.embedded:
        assert version["serverVersion"]["gitVersion"] == "v1.34.4"
    assert version["serverVersion"]["major"] and version["serverVersion"]["minor"]


def test_the_fake_nodes_include_a_tainted_gpu_node(kube):
    if not kube.embedded:
        pytest.skip("the embedded control plane's nodes")
    nodes = {n.metadata.name: n for n in kube.cluster.core.list_node().items if n.metadata.labels.get("type") == "kwok"}
    assert sorted(nodes) == ["kwok-cpu-1", "kwok-cpu-2", "kwok-gpu-1"]
    gpu = nodes["kwok-gpu-1"]
    assert gpu.status.allocatable["nvidia.com/gpu"] == "4"
    assert [(t.key, t.effect) for t in gpu.spec.taints] == [
        ("seldon-pkg.io/fake-node", "NoSchedule"),  # every kwok node: pods go there only when asked
        ("nvidia.com/gpu", "NoSchedule"),
    ]
    assert all(any(c.type == "Ready" and c.status == "True" for c in n.status.conditions) for n in nodes.values())


def test_up_twice_changes_nothing_and_down_leaves_no_process(tmp_path, cluster_session):
    """A second control plane of its own (the session's keeps running): up, up again, down."""
    if cluster_session.embedded is None:
        pytest.skip("SELDON_PKG_TEST_KUBECONFIG: no embedded control plane to start")
    import psutil

    folder = tmp_path / "plane"

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "tools.cluster", *args, "--folder", str(folder)],
            capture_output=True,
            text=True,
            env=TOOLS_ENV,
            cwd=ROOT,
            timeout=300,
        )

    # no real node: the session's has the machine's one bridge (tests/test_real_node.py takes
    # that node down and up again)
    first = cli("up", "--no-node")
    try:
        assert first.returncode == 0, first.stderr + first.stdout
        assert f"export KUBECONFIG={folder / 'kubeconfig'}" in first.stdout
        state = json.loads((folder / "state.json").read_text())
        pids = {p["name"]: p["pid"] for p in state["processes"]}
        assert set(pids) == {
            "etcd",
            "kube-apiserver",
            "kube-controller-manager",
            "kube-scheduler",
            "kwok",
            "kserve-controller",
            "seldon-standin",
        }
        config = yaml.safe_load((folder / "kubeconfig").read_text())
        assert config["clusters"][0]["cluster"]["server"].startswith("https://127.0.0.1:")
        second = cli("up", "--no-node")
        assert second.returncode == 0 and "already running; changed nothing" in second.stdout
        again = json.loads((folder / "state.json").read_text())
        assert {p["name"]: p["pid"] for p in again["processes"]} == pids
        for pid in pids.values():  # every listening socket of ours is on loopback but KServe's webhook
            for conn in psutil.Process(pid).net_connections(kind="inet"):
                if conn.status == psutil.CONN_LISTEN and conn.laddr.ip not in ("127.0.0.1", "::1"):
                    assert psutil.Process(pid).name().startswith("kserve"), (pid, conn)
    finally:
        down = cli("down")
    assert down.returncode == 0 and "stopped" in down.stdout
    assert not any(
        psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE for pid in pids.values()
    )
    assert cli("status").returncode == 1


def test_the_build_cache_is_keyed_and_never_takes_a_partial_build(tmp_path, monkeypatch):
    from tools.cluster import build
    from tools.cluster.components import BY_NAME, go_binary_name

    if build.shutil.which("go") is None:
        pytest.skip("no go on the PATH")
    monkeypatch.setenv("SELDON_PKG_CLUSTER_CACHE", str(tmp_path))
    etcd = BY_NAME["etcd"]
    go = build.go_version()
    entry = build.entry(etcd, go)
    assert entry.parent == tmp_path and entry.name.startswith("etcd-v3.6.16-")
    assert not build.is_built(etcd, go)
    staging = tmp_path / f".{entry.name}.partial"  # what an interrupted build leaves
    (staging / "bin").mkdir(parents=True)
    (staging / "bin" / "etcd").write_text("half")
    assert not build.is_built(etcd, go)
    assert build.cache_key(etcd, go) != build.cache_key(etcd, go + "-other")
    assert go_binary_name("go.etcd.io/etcd/server/v3") == "server" and etcd.binaries == ("etcd",)
    assert go_binary_name("k8s.io/kubernetes/cmd/kube-apiserver") == "kube-apiserver"


def test_every_rendered_manifest_is_accepted_by_the_api_server(kube):
    """manifests/rendered/ (make manifests) through the real API server's validation and, for
    InferenceServices, KServe's webhooks: a server-side dry run in the test's namespace."""
    rendered = sorted((ROOT / "manifests" / "rendered").rglob("*.yaml"))
    applied = 0
    for path in rendered:
        if path.parent.name == "seldon-v2":
            continue  # Seldon Core 2's CRD is not installed (its licence keeps it out of the cluster setup)
        for document in yaml.safe_load_all(path.read_text()):
            if not document or document["kind"] == "Model":  # Seldon Core 2's CRD: not installed
                continue
            document["metadata"]["namespace"] = kube.namespace
            done = subprocess.run(
                [_kubectl(), "create", "--dry-run=server", "-o", "json", "-f", "-", f"--kubeconfig={kube.kubeconfig}"],
                input=json.dumps(document),
                capture_output=True,
                text=True,
            )
            assert done.returncode == 0, (path, done.stderr)
            applied += 1
    assert applied >= 7


def test_the_api_server_refuses_an_invalid_seldon_deployment_its_schema_can_see(kube):
    """The schema's checks are the API server's own and refuse a predictor without its required
    graph (before any webhook is called)."""
    sdep = {
        "apiVersion": "machinelearning.seldon.io/v1",
        "kind": "SeldonDeployment",
        "metadata": {"name": "broken", "namespace": kube.namespace},
        "spec": {"predictors": [{"name": "a", "traffic": 60}, {"name": "b", "traffic": 60}]},
    }
    done = subprocess.run(
        [_kubectl(), "create", "-f", "-", f"--kubeconfig={kube.kubeconfig}"],
        input=json.dumps(sdep),
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0 and "graph: Required value" in done.stderr


def test_the_operators_webhook_refuses_bad_traffic_and_a_unit_without_a_container(kube):
    """Through the API server, the validating webhook registered for SeldonDeployments (the
    stand-in's on the embedded cluster, the real operator's elsewhere: the same messages)."""
    from seldon_pkg.platforms.seldon import canary_deployment
    from seldon_pkg.spec.model_spec import load_spec

    spec = load_spec(ROOT / "demo_mnist" / "mnist-cnn.yaml")
    spec = dataclasses.replace(spec, namespace=kube.namespace)
    split = canary_deployment(spec, dataclasses.replace(spec, version="v2", image="example.org/m:2"), 30)
    split["spec"]["predictors"][0]["traffic"] = 60  # 60 + 30

    def create(sdep: dict) -> subprocess.CompletedProcess:
        return subprocess.run(
            [_kubectl(), "create", "-f", "-", f"--kubeconfig={kube.kubeconfig}"],
            input=json.dumps(sdep),
            capture_output=True,
            text=True,
        )

    refused = create(split)
    assert refused.returncode != 0 and "denied the request" in refused.stderr, refused.stderr
    assert "Traffic must sum to 100 for multiple predictors" in refused.stderr
    no_container = copy.deepcopy(split)
    no_container["spec"]["predictors"] = [dict(no_container["spec"]["predictors"][0], componentSpecs=[])]
    del no_container["spec"]["predictors"][0]["traffic"]
    refused = create(no_container)
    assert refused.returncode != 0 and "Can't find container for Predictive Unit" in refused.stderr
    split["spec"]["predictors"][0]["traffic"] = 70  # and the same object, valid, is admitted
    admitted = create(split)
    assert admitted.returncode == 0, admitted.stderr


def test_cluster_tests_skip_without_go_and_fail_under_ci(tmp_path):
    """The fixture's rule, run in a child pytest with no go on the PATH."""
    test = tmp_path / "test_needs_cluster.py"
    test.write_text("def test_x(kube):\n    pass\n")
    env = {k: v for k, v in os.environ.items() if k not in ("SELDON_PKG_TEST_KUBECONFIG", "CI")}
    env["PATH"] = str(Path(sys.executable).parent)  # python, no go
    env["PYTHONPATH"] = str(ROOT)
    common = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "--rootdir",
        str(ROOT),
        "-c",
        str(ROOT / "pytest.ini"),
    ]
    conftest = tmp_path / "conftest.py"
    conftest.write_text((ROOT / "tests" / "conftest.py").read_text())
    skipped = subprocess.run([*common, str(test)], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert "1 skipped" in skipped.stdout and "go is not on the PATH" in skipped.stdout, skipped.stdout
    failed = subprocess.run(
        [*common, str(test)], capture_output=True, text=True, env={**env, "CI": "true"}, cwd=ROOT, timeout=300
    )
    assert failed.returncode != 0 and "CI needs the embedded control plane" in failed.stdout, failed.stdout


NODE_WATCH_SECONDS = 180.0


@pytest.mark.slow
def test_kwok_nodes_and_their_pods_stay_ready_for_three_minutes(kube):
    """kwok renews a node lease per node (tools/cluster/manifests.py kwok_config): left alone for
    three minutes, well past the controller manager's node-monitor grace period, no node is
    marked NotReady and no pod loses Ready (the node lifecycle controller marks every pod of a
    NotReady node Ready=False, and kwok never marks it Ready again)."""
    if not kube.embedded:
        pytest.skip("the embedded control plane's kwok nodes")
    core = kube.cluster.core
    nodes = sorted(n.metadata.name for n in core.list_node(label_selector="type=kwok").items)
    assert len(nodes) == 3
    for node in nodes:
        kube.create(
            "pods",
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": f"idle-on-{node}", "labels": {"app": "idle"}},
                "spec": {
                    "nodeName": node,  # one on every node, taints or not
                    "tolerations": [{"operator": "Exists"}],
                    "containers": [{"name": "idle", "image": "example.org/idle:1"}],
                },
            },
        )

    def ready(obj) -> bool:
        return any(c.type == "Ready" and c.status == "True" for c in obj.status.conditions or [])

    deadline = time.monotonic() + 30
    while not all(ready(p) for p in core.list_namespaced_pod(kube.namespace).items):
        assert time.monotonic() < deadline, "the pods did not become Ready"
        time.sleep(0.5)
    began, lapses = time.monotonic(), []
    while time.monotonic() - began < NODE_WATCH_SECONDS:
        lapses += [f"node {n.metadata.name}" for n in core.list_node(label_selector="type=kwok").items if not ready(n)]
        lapses += [f"pod {p.metadata.name}" for p in core.list_namespaced_pod(kube.namespace).items if not ready(p)]
        time.sleep(1.0)
    assert lapses == []
    events = [e.reason for e in core.list_namespaced_event(kube.namespace).items]
    assert "NodeNotReady" not in events
    # what keeps them Ready: a lease per node, renewed every 10 s by kwok
    leases = client.CoordinationV1Api(kube.cluster.api_client).list_namespaced_lease("kube-node-lease").items
    renewed = {lease.metadata.name: lease.spec.renew_time for lease in leases}
    assert set(nodes) <= set(renewed)
    now = datetime.datetime.now(datetime.UTC)  # the API server runs on this machine: one clock
    assert all((now - renewed[node]).total_seconds() < 30 for node in nodes), renewed
