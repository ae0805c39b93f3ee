"""Models served for real: images built with `seldon-pkg build` (Buildah), pushed to the embedded
cluster's registry, pulled by containerd and run by a real kubelet on the real node.

Everything here runs on the embedded cluster's real node (tools/cluster/node.py); the model
images are built once per machine (their tag is their build context's digest) and pushed once
per test session. Answers come from the pods, through kube-proxy's ClusterIP, with the clients
application developers use: tritonclient (HTTP and gRPC) and SeldonClient (REST and gRPC).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from tests.support.digits import held_out
from tests.support.microservice import ROOT

CLIENTS_PYTHON = ROOT / ".venv-clients" / "bin" / "python"
NODE = "seldon-node"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def node(cluster_session):
    if cluster_session.embedded is None or not cluster_session.embedded.node:
        pytest.skip("the embedded cluster's real node (SELDON_PKG_TEST_KUBECONFIG points elsewhere)")
    return cluster_session.embedded.real_node()


@pytest.fixture(scope="module")
def demo_images(node) -> dict[str, dict]:
    from tools.cluster.images import ensure_demo_images

    facts = ensure_demo_images(log=lambda line: print(f"[images] {line}"))
    print(f"[images] {json.dumps(facts)}")
    return facts


def cli(*args: str, timeout: float = 400) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "seldon_pkg.cli", *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT
    )


def spec_copy(kube, tmp_path: Path, source: str, **changes) -> Path:
    return kube.spec_file(ROOT / "demo_mnist" / source, tmp_path / source.removesuffix(".yaml"), **changes)


def pods_of(kube, name: str) -> list[dict]:
    return [p for p in kube.list("pods") if name in json.dumps(p["metadata"].get("labels", {}))]


def containers_on_node(node, namespace: str) -> list[str]:
    """Names of the containers containerd runs for pods of ``namespace`` (asked of containerd)."""
    listing = node._ctr("containers", "list", "--quiet").stdout.split()
    found = []
    for container in listing:
        info = node._ctr("containers", "info", container)
        if info.returncode != 0:
            continue
        labels = json.loads(info.stdout).get("Labels") or {}
        if (
            labels.get("io.kubernetes.pod.namespace") == namespace
            and labels.get("io.cri-containerd.kind") == "container"
        ):
            found.append(labels.get("io.kubernetes.pod.name", container))
    return found


def running_tasks(node) -> set[str]:
    return set(node._ctr("tasks", "list", "--quiet").stdout.split())


def test_the_real_node_is_ready_and_the_host_keeps_its_sysctls(real_kube, node, cluster_session):
    ready = real_kube.cluster.core.read_node(NODE)
    assert ready.status.node_info.kubelet_version == "v1.34.4"
    assert ready.status.node_info.container_runtime_version.startswith("containerd://1.6")
    assert any(c.type == "Ready" and c.status == "True" for c in ready.status.conditions)
    assert [a.address for a in ready.status.addresses if a.type == "InternalIP"] == ["10.245.0.1"]
    for name, before in cluster_session.host_before["sysctls"].items():
        assert Path("/proc/sys", name).read_text().strip() == before, name
    # pods have no route off the machine: the bridge's subnet only, no default route
    routes = subprocess.run(["ip", "route", "show", "dev", "seldonpkg0"], capture_output=True, text=True).stdout
    assert "default" not in routes and "10.245.0.0/24" in routes


def test_images_are_built_for_real_and_keep_the_readme_promises(demo_images):
    """Non-root, no TensorFlow (ONNX and TFLite models), pip's view of what is installed, checked
    on the built images themselves."""
    from packaging.utils import canonicalize_name

    from seldon_pkg.build.advisories import matches

    for key, facts in demo_images.items():
        ref = facts["image"]
        config = json.loads(
            subprocess.run(
                ["buildah", "inspect", "--type", "image", ref], capture_output=True, text=True, check=True
            ).stdout
        )
        assert config["OCIv1"]["config"]["User"] == "8888", key
        container = subprocess.run(
            ["buildah", "from", "--quiet", ref], capture_output=True, text=True, check=True
        ).stdout.strip()
        try:
            listed = subprocess.run(
                ["buildah", "run", container, "--", "pip", "list", "--format", "json"],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            installed = {canonicalize_name(p["name"]): p["version"] for p in json.loads(listed.stdout)}
            user = subprocess.run(["buildah", "run", container, "--", "id", "-u"], capture_output=True, text=True)
        finally:
            subprocess.run(["buildah", "rm", container], capture_output=True)
        assert user.stdout.strip() == "8888"
        assert not {"tensorflow", "tensorflow-cpu", "keras"} & set(installed), key
        serious = [m for m in matches(installed) if m.advisory.serious]
        allowed = {"protobuf"}  # seldon-core's pin (README: security); nothing else high or critical
        assert {m.advisory.package for m in serious} <= allowed, [str(m) for m in serious]
        assert facts["size_mib"] < 1200, facts


def test_the_demo_models_answer_from_real_pods(real_kube, node, demo_images, tmp_path):
    cnn = spec_copy(real_kube, tmp_path, "mnist-cnn-oip.yaml")
    mlp = spec_copy(real_kube, tmp_path, "mnist-mlp.yaml")
    began = time.monotonic()
    for spec, key, platform in ((cnn, "cnn", "kserve"), (mlp, "mlp", "seldon")):
        done = cli(
            "deploy",
            str(spec),
            "--target",
            "k8s",
            "--platform",
            platform,
            "--image",
            demo_images[key]["image"],
            "--timeout",
            "240",
        )
        assert done.returncode == 0, done.stdout + done.stderr
        print(f"[timing] deploy {key} on {platform}: {time.monotonic() - began:.1f} s")
        began = time.monotonic()
    rows = {
        r["model"]: r for r in json.loads(cli("list", "--target", "k8s", "--platform", "kserve", "-o", "json").stdout)
    }
    rows |= {
        r["model"]: r for r in json.loads(cli("list", "--target", "k8s", "--platform", "seldon", "-o", "json").stdout)
    }
    for model in ("mnist-cnn-oip", "mnist-mlp"):
        assert rows[model]["state"] == "Available"
        pods = [p for p in real_kube.list("pods") if p["spec"].get("nodeName") == NODE]
        assert pods, "the pods run on the real node"
    for pod in real_kube.list("pods"):
        assert pod["spec"]["nodeName"] == NODE
        assert pod["status"]["phase"] == "Running"
        assert all(s["ready"] for s in pod["status"]["containerStatuses"])

    images, labels = held_out()
    digits = tmp_path / "digits.npy"
    np.save(digits, images[:12].reshape(12, -1).astype(np.float32))
    cnn_name = rows["mnist-cnn-oip"]["name"]
    printed = cli("endpoint", cnn_name, "--target", "k8s", "--platform", "kserve").stdout.splitlines()
    rest, headers = printed[0], [arg for line in printed[1:] for arg in ("--header", line)]
    assert headers == ["--header", "Content-Type: application/json"], printed
    grpc = cli("endpoint", cnn_name, "--target", "k8s", "--platform", "kserve", "--grpc").stdout.split()[0]
    assert rest.startswith("http://10.96.") and rest.endswith("/v2/models/classifier/infer"), rest
    host = rest.removeprefix("http://").split("/")[0]
    result = subprocess.run(
        [str(CLIENTS_PYTHON), str(ROOT / "tests" / "support" / "oip_client.py"), host, grpc, "classifier", str(digits), "--no-binary", *headers],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    seen = json.loads(result.stdout)
    assert seen["http_json"] == labels[:12].tolist() and seen["grpc"] == labels[:12].tolist()

    from seldon_core.seldon_client import SeldonClient

    mlp_name = rows["mnist-mlp"]["name"]
    rest = cli("endpoint", mlp_name, "--target", "k8s").stdout.split()[0]
    grpc = cli("endpoint", mlp_name, "--target", "k8s", "--grpc").stdout.split()[0]
    assert rest.endswith("/api/v1.0/predictions"), rest
    for transport, address in (("rest", rest.removeprefix("http://").split("/")[0]), ("grpc", grpc)):
        client = SeldonClient(gateway="seldon", transport=transport, gateway_endpoint=address)
        reply = client.predict(data=images[:5].reshape(5, -1), payload_type="ndarray")
        assert reply.success, (transport, reply.msg)
        answer = reply.response["data"]
        values = np.array(answer["ndarray"] if "ndarray" in answer else answer["tensor"]["values"]).reshape(5, -1)
        assert values.argmax(axis=1).tolist() == labels[:5].tolist(), transport

    logs = cli("logs", mlp_name, "--target", "k8s")
    assert logs.returncode == 0 and "gunicorn" in logs.stdout.lower(), logs.stdout[-2000:]
    described = json.loads(cli("describe", cnn_name, "--target", "k8s", "--platform", "kserve", "-o", "json").stdout)
    events = [str(e) for child in described["children"] for e in child.get("events") or []]
    assert any("Pulled" in e or "Pulling" in e for e in events) and any("Started" in e for e in events), events


def test_a_model_whose_load_raises_crash_loops_and_deploy_says_why(real_kube, node, demo_images, tmp_path):
    spec = spec_copy(
        real_kube, tmp_path, "mnist-mlp.yaml", name="broken-mlp", parameters={"model_uri": "models/missing.tflite"}
    )
    done = cli("deploy", str(spec), "--target", "k8s", "--image", demo_images["mlp"]["image"], "--timeout", "120")
    assert done.returncode == 4, done.stdout + done.stderr
    first = "\n".join(done.stderr.splitlines()[:15])
    assert "missing.tflite" in first and "Traceback" in done.stderr, done.stderr[-3000:]
    statuses = [s for p in real_kube.list("pods") for s in p["status"].get("containerStatuses") or []]
    assert any(
        s["restartCount"] >= 1 or (s.get("state") or {}).get("waiting", {}).get("reason") == "CrashLoopBackOff"
        for s in statuses
    )


def test_a_model_over_its_memory_limit_is_oomkilled(real_kube, node, demo_images, tmp_path):
    spec = spec_copy(
        real_kube, tmp_path, "mnist-mlp.yaml", name="tiny-mlp",
        resources={"requests": {"cpu": "50m", "memory": "24Mi"}, "limits": {"memory": "24Mi"}},
    )  # fmt: skip
    done = cli("deploy", str(spec), "--target", "k8s", "--image", demo_images["mlp"]["image"], "--timeout", "120")
    assert done.returncode == 4 and "OOMKilled" in done.stdout + done.stderr, done.stdout + done.stderr
    name = json.loads(cli("list", "--target", "k8s", "-o", "json").stdout)[0]["name"]
    described = cli("describe", name, "--target", "k8s")
    assert "OOMKilled" in described.stdout, described.stdout[-3000:]


def test_a_new_version_leaves_no_old_container_and_delete_leaves_none(real_kube, node, demo_images, tmp_path):
    image = demo_images["mlp"]["image"]
    first = spec_copy(real_kube, tmp_path / "a", "mnist-mlp.yaml", version="v1")
    second = spec_copy(real_kube, tmp_path / "b", "mnist-mlp.yaml", version="v2")
    assert cli("deploy", str(first), "--target", "k8s", "--image", image, "--timeout", "180").returncode == 0
    old = set(containers_on_node(node, real_kube.namespace))
    assert old
    done = cli("deploy", str(second), "--target", "k8s", "--image", image, "--timeout", "180")
    assert done.returncode == 0 and "replaced" in done.stdout, done.stdout + done.stderr
    now = set(containers_on_node(node, real_kube.namespace))
    assert now and not (now & old), (old, now)
    name = json.loads(cli("list", "--target", "k8s", "-o", "json").stdout)[0]["name"]
    assert cli("delete", name, "--target", "k8s").returncode == 0
    assert containers_on_node(node, real_kube.namespace) == []


def test_a_missing_image_fails_naming_the_image_and_the_pull_error(real_kube, node, tmp_path):
    missing = "127.0.0.1:5000/seldon-pkg/no-such-model:1"
    spec = spec_copy(real_kube, tmp_path, "mnist-mlp.yaml", name="absent-mlp")
    began = time.monotonic()
    done = cli("deploy", str(spec), "--target", "k8s", "--image", missing, "--timeout", "90")
    assert done.returncode == 4, done.stdout + done.stderr
    assert time.monotonic() - began < 120
    text = done.stdout + done.stderr
    assert missing in text and ("ErrImagePull" in text or "ImagePullBackOff" in text or "not found" in text), text[
        -3000:
    ]


def test_the_board_on_the_cluster_path_reads_drawn_digits_from_the_pods(real_kube, node, demo_images, artifacts):
    """`make cluster-demo`'s driver: both models deployed on the real node, the board answering
    from the pods in a real browser; SIGTERM (as Ctrl-C) deletes what it deployed."""
    import os
    import signal

    from seldon_pkg.local.ostools import free_port
    from tests.test_board_browser import CHROMIUM, draw, predictions, wait_for_answers

    port = free_port()
    log = open(artifacts / "cluster-demo.log", "wb")
    demo = subprocess.Popen(
        [sys.executable, "-m", "demo_mnist.cluster_demo"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        env={**os.environ, "DEMO_BOARD_PORT": str(port), "KUBECONFIG": str(real_kube.kubeconfig)},
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 400
        while "Drawing board:" not in (artifacts / "cluster-demo.log").read_text():
            assert demo.poll() is None, (artifacts / "cluster-demo.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the cluster demo did not start"
            time.sleep(1)
        pods = real_kube.cluster.core.list_namespaced_pod("default").items
        assert pods and all(p.spec.node_name == NODE for p in pods)
        from playwright.sync_api import sync_playwright

        images, labels = held_out()
        indices = [int(np.flatnonzero(labels == digit)[0]) for digit in range(10)]
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1100, "height": 700})
            page.goto(f"http://127.0.0.1:{port}")
            page.wait_for_selector("#models[data-ready=true]")
            strokes = int(page.locator("#models").get_attribute("data-completed"))
            correct: dict[str, int] = {}
            for index in indices:
                page.click("#clear")
                strokes += draw(page, images[index])
                wait_for_answers(page, strokes)
                for name, digit in predictions(page).items():
                    correct[name] = correct.get(name, 0) + int(digit == str(labels[index]))
            page.screenshot(path=str(artifacts / "cluster-board.png"))
            browser.close()
        assert len(correct) == 2 and all(hits >= 7 for hits in correct.values()), correct
    finally:
        demo.send_signal(signal.SIGTERM)
        demo.wait(180)
    for platform in ("kserve", "seldon"):
        rows = json.loads(cli("list", "--target", "k8s", "--platform", platform, "-n", "default", "-o", "json").stdout)
        assert rows == [], rows


def test_node_down_removes_everything_and_a_second_cycle_works(node, cluster_session):
    """The node of the session's cluster goes down and up again: nothing of it is left between."""
    from tools.cluster.controlplane import SERVICE_CIDR

    plane = cluster_session.embedded
    began = time.monotonic()
    node.down()
    left = node.leftovers()
    before = {f"{t} {c}" for t, c in cluster_session.host_before["chains"]}
    assert left["processes"] == [] and left["links"] == [] and left["mounts"] == [] and left["cgroups"] == []
    assert set(left["chains"]) <= before, set(left["chains"]) - before
    assert not any(Path("/proc/self/mounts").read_text().count(str(node.folder)) for _ in [0])
    print(f"[timing] node down {time.monotonic() - began:.1f} s")
    began = time.monotonic()
    node.up(plane.ports, SERVICE_CIDR)
    print(f"[timing] node up again {time.monotonic() - began:.1f} s")
    ready = plane._kubectl_json("get", "node", NODE)
    assert any(c["type"] == "Ready" and c["status"] == "True" for c in ready["status"]["conditions"])
    yaml.safe_dump(node.timings)
