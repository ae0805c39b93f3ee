"""KServe on a cluster, through the same Target API and CLI as Seldon Core 1, against the REAL
KServe v0.20.0 controller (with its defaulting, validating and pod-mutating webhooks) on the
session's control plane, in Standard (raw Deployment) mode: the Deployment, Service, HPA and
Ingress, the conditions and status.url are KServe's own. No container runs (kwok)."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import pytest

from seldon_pkg.errors import NotFound, NotReady, Refused
from seldon_pkg.k8s import resources
from seldon_pkg.k8s.cleanup import find_zombies
from seldon_pkg.platforms.kserve import KSERVE
from seldon_pkg.platforms.registry import name_of
from seldon_pkg.spec.model_spec import load_spec
from seldon_pkg.targets import DeployPolicy, deployed
from seldon_pkg.targets.kubernetes import KubernetesTarget
from tests.support.cluster import KWOK_ONLY
from tests.support.gateway import wait_until
from tests.support.microservice import ROOT

OIP_SPEC = ROOT / "demo_mnist" / "mnist-cnn-oip.yaml"
LABEL = "serving.kserve.io/inferenceservice"


def variant(kube, version: str, image: str = "example.org/seldon-pkg/mnist-cnn-oip:0.1", name: str = "Mnist CNN"):
    spec = load_spec(OIP_SPEC)
    return dataclasses.replace(
        spec, name=name, version=version, image=image, platform="kserve", namespace=kube.namespace
    )


def children(kube, isvc: str) -> list[tuple[str, str]]:
    return kube.children(LABEL, isvc)


def ingresses(kube) -> list[str]:
    return [i.metadata.name for i in kube.cluster.networking.list_namespaced_ingress(kube.namespace).items]


def test_deploy_list_endpoint_delete_through_the_target_api(kube):
    target = KubernetesTarget(kube.cluster, platform="kserve")
    lines: list[str] = []
    target.progress = lines.append
    outcome = target.deploy(variant(kube, "v1"))
    info = outcome.info
    assert outcome.action == "created" and info.state == "Available" and info.platform == "kserve"
    assert any("create InferenceService" in line for line in lines)
    kinds = sorted({plural for plural, _ in children(kube, info.name)})
    assert kinds == ["deployments", "pods", "replicasets", "services"]
    assert ("services", f"{info.name}-predictor") in children(kube, info.name)  # KServe's own naming
    assert ingresses(kube) == [info.name]
    isvc = kube.get("inferenceservices", info.name)
    assert isvc["status"]["deploymentMode"] == "Standard"  # KServe's defaulter read our annotation
    assert [row.name for row in target.list(kube.namespace)] == [info.name]
    assert KubernetesTarget(kube.cluster, platform="seldon").list(kube.namespace) == []  # the other platform's list
    endpoint = target.endpoint(info.name)
    assert endpoint.rest == f"http://{kube.node_ip}:31380/v2/models/classifier/infer"
    assert endpoint.headers == {"Host": f"{info.name}-{kube.namespace}.example.com"}
    described = target.describe(info.name)
    ready = next(c for c in described["status"]["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "True"
    outcome = target.delete(info.name)
    assert outcome.messages == (f"deleted {kube.namespace}/{info.name}",)
    assert children(kube, info.name) == [] and ingresses(kube) == [], "delete waits until KServe's children are gone"
    with pytest.raises(NotFound, match="InferenceService"):
        target.delete(info.name)


def test_kserves_own_names_and_hosts_fit_for_long_identities(kube):
    """The hardest identities: KServe's Deployment, Service and host labels stay within 63."""
    target = KubernetesTarget(kube.cluster, platform="kserve")
    for name in ("x" * 150, "Ünïcødé 模型 — détection", "same-long-prefix-" * 8 + "a", "same-long-prefix-" * 8 + "b"):
        info = target.deploy(variant(kube, "v" * 60, name=name), DeployPolicy(mode="keep")).info
        objects = children(kube, info.name)
        assert objects and all(len(obj) <= 63 for _, obj in objects)
        host = kube.get("inferenceservices", info.name)["status"]["url"].split("//")[1]
        assert all(len(label) <= 63 for label in host.split("."))
        predictor_host = kube.get("inferenceservices", info.name)["status"]["components"]["predictor"]["url"]
        assert all(len(label) <= 63 for label in predictor_host.split("//")[1].split("."))
    assert len({row.name for row in target.list(kube.namespace)}) == 4


def test_a_new_version_replaces_the_old_one_and_keep_keeps_it(kube):
    target = KubernetesTarget(kube.cluster, platform="kserve")
    first = target.deploy(variant(kube, "v1")).info
    second = target.deploy(variant(kube, "v2", image="example.org/seldon-pkg/mnist-cnn-oip:0.2"))
    assert second.replaced == (first.name,) and [row.name for row in target.list(kube.namespace)] == [second.info.name]
    assert children(kube, first.name) == [] and ingresses(kube) == [second.info.name]
    third = target.deploy(variant(kube, "v3"), DeployPolicy(mode="keep"))
    assert sorted(row.name for row in target.list(kube.namespace)) == sorted([second.info.name, third.info.name])


def test_a_crashing_model_is_reported_with_its_own_error_and_rolled_back(kube):
    if not kube.embedded:
        pytest.skip(KWOK_ONLY)
    target = KubernetesTarget(kube.cluster, platform="kserve")
    with pytest.raises(NotReady) as failure:
        with deployed(target, variant(kube, "v9", image="example.org/crashloop:crashloop"), DeployPolicy(timeout=60)):
            pass
    message = str(failure.value)
    assert "weights file 'w.npz' not found" in message.splitlines()[0], message
    assert target.list(kube.namespace) == [], "a deploy that never became ready is undone"


def test_foreign_objects_are_refused_unless_forced(kube):
    spec = variant(kube, "v1")
    name = name_of(spec)
    resources.create_object(
        kube.cluster,
        {
            "apiVersion": "serving.kserve.io/v1beta1",
            "kind": "InferenceService",
            "metadata": {"name": name, "namespace": kube.namespace},
            "spec": {"predictor": {"containers": [{"name": "kserve-container", "image": "someone/else:1"}]}},
        },
        KSERVE,
    )
    target = KubernetesTarget(kube.cluster, platform="kserve")
    with pytest.raises(Refused):
        target.deploy(spec)
    kept = resources.get_object(kube.cluster, kube.namespace, name, KSERVE)
    assert kept["spec"]["predictor"]["containers"][0]["image"] == "someone/else:1"


def test_prune_finds_what_an_orphaning_delete_left_and_spares_live_ones(kube):
    target = KubernetesTarget(kube.cluster, platform="kserve")
    leaked = target.deploy(variant(kube, "v1", name="leaky")).info
    live = target.deploy(variant(kube, "v1", name="healthy")).info
    kube.delete("inferenceservices", leaked.name, propagation="Orphan")  # kubectl delete --cascade=orphan
    wait_until(lambda: kube.get("inferenceservices", leaked.name) is None, 30)
    zombies = find_zombies(kube.cluster, [kube.namespace], KSERVE)
    # the Ingress is not among them: KServe puts no label on it, and orphaning removed its owner
    # reference, so nothing attributes it to the InferenceService any more (prune leaves it)
    assert {z.kind for z in zombies} == {"Deployment", "ReplicaSet", "Pod", "Service", "HorizontalPodAutoscaler"}
    assert {z.sdep for z in zombies} == {leaked.name}
    assert all("InferenceService no longer exists" in z.reason for z in zombies)
    result = subprocess.run(
        [sys.executable, "-m", "seldon_pkg.cli", "prune", "--platform", "kserve", "--yes"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0 and f"deleted HorizontalPodAutoscaler {kube.namespace}/" in result.stdout, (
        result.stderr
    )
    wait_until(lambda: children(kube, leaked.name) == [], 30)
    assert children(kube, live.name) and sorted(ingresses(kube)) == sorted([live.name, leaked.name])
    assert find_zombies(kube.cluster, [kube.namespace], KSERVE) == []


def test_kserves_webhook_refuses_what_its_validator_refuses(kube):
    """KServe's validating webhook (not the CRD schema) refuses an InferenceService whose name
    is not a DNS-1035 label; the product never renders one."""
    from kubernetes.client.exceptions import ApiException

    with pytest.raises(ApiException) as refused:
        resources.create_object(
            kube.cluster,
            {
                "apiVersion": "serving.kserve.io/v1beta1",
                "kind": "InferenceService",
                "metadata": {"name": "1-starts-with-a-digit", "namespace": kube.namespace},
                "spec": {"predictor": {"containers": [{"name": "kserve-container", "image": "x/y:1"}]}},
            },
            KSERVE,
        )
    assert refused.value.status in (400, 403, 422) and "webhook" in refused.value.body.lower(), refused.value.body


def test_cli_deploys_lists_and_prints_the_host_header(kube, tmp_path):
    folder = tmp_path / "model"
    spec = kube.spec_file(OIP_SPEC, folder, name="cli-cnn")
    assert spec.parent == folder

    def cli(*args):
        return subprocess.run(
            [sys.executable, "-m", "seldon_pkg.cli", *args], capture_output=True, text=True, cwd=tmp_path
        )

    deployed_ = cli("deploy", str(folder), "--target", "k8s", "--platform", "kserve")
    assert deployed_.returncode == 0, deployed_.stderr
    rows = json.loads(cli("list", "--target", "k8s", "--platform", "kserve", "-o", "json").stdout)
    assert [(r["model"], r["platform"], r["protocol"], r["state"]) for r in rows] == [
        ("cli-cnn", "kserve", "v2", "Available")
    ]
    endpoint = cli("endpoint", rows[0]["name"], "--target", "k8s", "--platform", "kserve")
    assert endpoint.stdout.splitlines() == [
        f"http://{kube.node_ip}:31380/v2/models/classifier/infer",
        f"Host: {rows[0]['name']}-{kube.namespace}.example.com",
    ]
    assert cli("delete", "cli-cnn", "--target", "k8s", "--platform", "kserve").returncode == 0
    assert json.loads(cli("list", "--target", "k8s", "--platform", "kserve", "-o", "json").stdout) == []
    refused = cli("list", "--target", "k8s", "--platform", "seldon-v2")
    assert refused.returncode == 2 and "not supported yet" in refused.stderr
