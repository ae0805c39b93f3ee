"""KServe on a cluster, through the same Target API and CLI as Seldon Core 1.

Nothing here talks to a real cluster: tests/k8s_double serves the real REST paths (the official
`kubernetes` client calls them) and tests/k8s_double/kserve_controller.py plays KServe
v0.20.0's controller in RawDeployment mode (Deployment and Service `<isvc>-predictor`, the
InferenceService label on every child, Ready conditions, status.url), with the same leak
switch as the Seldon operator. InferenceServices are validated against the bundled v0.20.0
schema on every write, as the API server would.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import jsonschema
import pytest

from seldon_pkg.errors import NotFound, NotReady
from seldon_pkg.k8s import resources as R
from seldon_pkg.k8s.cleanup import find_zombies
from seldon_pkg.k8s.kinds import KSERVE
from seldon_pkg.platforms.kserve import CRD_FILE
from seldon_pkg.schema import crd_schema
from seldon_pkg.spec import load_spec
from seldon_pkg.targets import DeployPolicy
from seldon_pkg.targets.kubernetes import KubernetesTarget
from tests.k8s_double.kserve_controller import LABEL, SimulatedKServeController
from tests.k8s_double.operator import SimulatedSeldonOperator
from tests.k8s_double.store import Store
from tests.support.cluster import INGRESS_NODE_PORT, NODE_IP, double_cluster
from tests.support.gateway import wait_until
from tests.support.microservice import ROOT

OIP_SPEC = ROOT / "demo_mnist" / "mnist-cnn-oip.yaml"


def isvc_validator():
    validator = jsonschema.Draft4Validator(crd_schema(CRD_FILE, "v1beta1"))
    return lambda body: [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(body)]


@pytest.fixture
def api(tmp_path, monkeypatch):
    store = Store(validators={"inferenceservices": isvc_validator()})
    kserve = SimulatedKServeController(store, ready_delay=0.6).start()
    seldon = SimulatedSeldonOperator(store, ready_delay=0.6).start()  # beside it: must not be touched
    with double_cluster(store, tmp_path, monkeypatch) as double:
        double.kserve = kserve
        yield double
    kserve.stop()
    seldon.stop()


def variant(tmp_path, version: str, image: str = "example.org/seldon-pkg/mnist-cnn-oip:0.1", name: str = "Mnist CNN"):
    spec = load_spec(OIP_SPEC)
    return dataclasses.replace(spec, name=name, version=version, image=image, platform="kserve")


def children(api, isvc: str, namespace: str = "default") -> list[tuple[str, str]]:
    return [
        (plural, obj["metadata"]["name"])
        for plural in ("deployments", "replicasets", "pods", "services")
        for obj in api.store.list(plural, namespace, f"{LABEL}={isvc}")
    ]


def test_deploy_list_endpoint_delete_through_the_target_api(api, tmp_path):
    target = KubernetesTarget(api.cluster, platform="kserve")
    lines: list[str] = []
    target.progress = lines.append
    outcome = target.deploy(variant(tmp_path, "v1"))
    info = outcome.info
    assert outcome.action == "created" and info.state == "Available" and info.platform == "kserve"
    assert any("create InferenceService" in line for line in lines)
    kinds = sorted({plural for plural, _ in children(api, info.name)})
    assert kinds == ["deployments", "pods", "replicasets", "services"]
    assert (("services", f"{info.name}-predictor")) in children(api, info.name)
    assert [row.name for row in target.list()] == [info.name]
    assert KubernetesTarget(api.cluster, platform="seldon").list() == []  # the other platform's list
    endpoint = target.endpoint(info.name)
    assert endpoint.rest == f"http://{NODE_IP}:{INGRESS_NODE_PORT}/v2/models/classifier/infer"
    assert endpoint.headers == {"Host": f"{info.name}-default.example.com"}
    described = target.describe(info.name)
    assert described["status"]["conditions"][-1] == {"type": "Ready", "status": "True"}
    outcome = target.delete(info.name)
    assert outcome.messages == (f"deleted default/{info.name}",)
    assert children(api, info.name) == [], "delete waits until KServe's children are gone"
    with pytest.raises(NotFound, match="InferenceService"):
        target.delete(info.name)


def test_a_new_version_replaces_the_old_one_and_keep_keeps_it(api, tmp_path):
    target = KubernetesTarget(api.cluster, platform="kserve")
    first = target.deploy(variant(tmp_path, "v1")).info
    second = target.deploy(variant(tmp_path, "v2", image="example.org/seldon-pkg/mnist-cnn-oip:0.2"))
    assert second.replaced == (first.name,) and [row.name for row in target.list()] == [second.info.name]
    assert children(api, first.name) == []
    third = target.deploy(variant(tmp_path, "v3"), DeployPolicy(mode="keep"))
    assert sorted(row.name for row in target.list()) == sorted([second.info.name, third.info.name])


def test_a_crashing_model_is_reported_with_its_own_error_and_rolled_back(api, tmp_path):
    from seldon_pkg.targets import deployed

    target = KubernetesTarget(api.cluster, platform="kserve")
    with pytest.raises(NotReady) as failure:
        with deployed(target, variant(tmp_path, "v9", image="example.org/crashloop:1")):
            pass
    message = str(failure.value)
    assert "is Failed" in message and "weights file 'w.npz' not found" in message
    assert "ModelLoadFailed" in message
    assert target.list() == [], "a deploy that never became ready is undone"


def test_foreign_objects_are_refused_unless_forced(api, tmp_path):
    from seldon_pkg.errors import Refused
    from seldon_pkg.manifests import name_of

    spec = variant(tmp_path, "v1")
    name = name_of(spec)
    R.create_object(
        api.cluster,
        {
            "apiVersion": "serving.kserve.io/v1beta1",
            "kind": "InferenceService",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"predictor": {"containers": [{"name": "kserve-container", "image": "someone/else:1"}]}},
        },
        KSERVE,
    )
    target = KubernetesTarget(api.cluster, platform="kserve")
    with pytest.raises(Refused):
        target.deploy(spec)
    assert R.get_object(api.cluster, "default", name, KSERVE)["spec"]["predictor"]["containers"][0]["image"] == (
        "someone/else:1"
    )


def test_prune_finds_leaked_predictor_pods_and_spares_live_ones(api, tmp_path):
    target = KubernetesTarget(api.cluster, platform="kserve")
    leaked = target.deploy(variant(tmp_path, "v1", name="leaky")).info
    live = target.deploy(variant(tmp_path, "v1", name="healthy")).info
    api.kserve.leak_pods_on_delete = True
    R.delete_object(api.cluster, "default", leaked.name, KSERVE)  # kubectl delete, not ours
    wait_until(lambda: [p for p, _ in children(api, leaked.name)] == ["pods"], 10)
    zombies = find_zombies(api.cluster, ["default"], KSERVE)
    assert {(z.kind, z.sdep) for z in zombies} == {("Pod", leaked.name)}
    assert "InferenceService no longer exists" in zombies[0].reason
    result = subprocess.run(
        [sys.executable, "-m", "seldon_pkg.cli", "prune", "--platform", "kserve", "--yes"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0 and "deleted Pod default/" in result.stdout, result.stderr
    assert children(api, leaked.name) == [] and children(api, live.name)
    assert find_zombies(api.cluster, ["default"], KSERVE) == []


def test_cli_deploys_lists_and_prints_the_host_header(api, tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "seldon-model.yaml").write_text(OIP_SPEC.read_text().replace("name: mnist-cnn-oip", "name: cli-cnn"))
    (folder / "models").symlink_to(ROOT / "demo_mnist" / "models")

    def cli(*args):
        return subprocess.run(
            [sys.executable, "-m", "seldon_pkg.cli", *args], capture_output=True, text=True, cwd=tmp_path
        )

    deployed = cli("deploy", str(folder), "--target", "k8s", "--platform", "kserve")
    assert deployed.returncode == 0, deployed.stderr
    rows = json.loads(cli("list", "--target", "k8s", "--platform", "kserve", "-o", "json").stdout)
    assert [(r["model"], r["platform"], r["protocol"], r["state"]) for r in rows] == [
        ("cli-cnn", "kserve", "v2", "Available")
    ]
    endpoint = cli("endpoint", rows[0]["name"], "--target", "k8s", "--platform", "kserve")
    assert endpoint.stdout.splitlines() == [
        f"http://{NODE_IP}:{INGRESS_NODE_PORT}/v2/models/classifier/infer",
        f"Host: {rows[0]['name']}-default.example.com",
    ]
    assert cli("delete", "cli-cnn", "--target", "k8s", "--platform", "kserve").returncode == 0
    assert json.loads(cli("list", "--target", "k8s", "--platform", "kserve", "-o", "json").stdout) == []
    refused = cli("list", "--target", "k8s", "--platform", "seldon-v2")
    assert refused.returncode == 2 and "not supported yet" in refused.stderr
