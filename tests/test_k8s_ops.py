"""Cluster operations with the official kubernetes client against the Kubernetes API TEST DOUBLE.

Nothing here talks to a real cluster: tests/k8s_double serves the real REST paths and simulates
the Seldon operator (including its reported pod leaks). scripts/kind-e2e.sh is the real check.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml
from kubernetes.client.exceptions import ApiException

from seldon_pkg import labels as L
from seldon_pkg import manifests
from seldon_pkg.errors import NotReady, Refused
from seldon_pkg.k8s import cleanup
from seldon_pkg.k8s import hooks as hooks_module
from seldon_pkg.k8s import resources as R
from seldon_pkg.k8s.connection import NoClusterConfig, connect
from seldon_pkg.k8s.deploy import NotAvailable, deploy
from seldon_pkg.k8s.endpoint import NoIngress, find_ingress
from seldon_pkg.k8s.inventory import list_deployments
from seldon_pkg.k8s.kinds import SELDON
from seldon_pkg.naming import derived_names
from seldon_pkg.spec import load_spec
from seldon_pkg.targets import DeploymentInfo, DeployPolicy, deployed
from seldon_pkg.targets.kubernetes import KubernetesTarget
from tests.k8s_double.operator import SimulatedSeldonOperator
from tests.k8s_double.store import Store
from tests.support.cluster import NODE_IP, double_cluster
from tests.support.crd import crd_schema
from tests.support.gateway import wait_until
from tests.support.microservice import ROOT


def crd_validator():
    validator = jsonschema.Draft4Validator(crd_schema())
    return lambda body: [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(body)]


@pytest.fixture
def api(tmp_path, monkeypatch):
    store = Store(validators={"seldondeployments": crd_validator()})
    # reconcile and garbage collection run on their own threads, a moment after the API call,
    # as on a real cluster; Creating lasts longer than one 0.25 s poll of `deploy`
    operator = SimulatedSeldonOperator(store, ready_delay=0.6).start()
    with double_cluster(store, tmp_path, monkeypatch) as double:
        double.operator = operator
        yield double
    operator.stop()


@pytest.fixture
def specs(tmp_path):
    """The demo CNN spec, and versions 2 and 3 of it, and another model."""

    def variant(version: str, image_tag: str, name: str = "mnist-cnn") -> Path:
        folder = tmp_path / f"{name}-{version}"
        folder.mkdir()
        text = (ROOT / "demo_mnist" / "mnist-cnn.yaml").read_text()
        text = text.replace("name: mnist-cnn", f"name: {name}").replace("version: v1", f"version: {version}")
        (folder / "seldon-model.yaml").write_text(text.replace(":0.1", f":{image_tag}"))
        return folder

    return {
        "cnn": load_spec(ROOT / "demo_mnist" / "mnist-cnn.yaml"),
        "mlp": load_spec(ROOT / "demo_mnist" / "mnist-mlp.yaml"),
        "cnn-v2": load_spec(variant("v2", "0.2")),
        "cnn-v3": load_spec(variant("v3", "0.3")),
        "crashing": load_spec(variant("v9", "crashloop", name="crashing")),
    }


def sdep_names(api, namespace="default"):
    return sorted(s["metadata"]["name"] for s in R.list_objects(api.cluster, namespace))


def children_of(api, name, namespace="default"):
    return [
        (plural, obj["metadata"]["name"])
        for plural in ("deployments", "replicasets", "pods", "services")
        for obj in api.store.list(plural, namespace, f"seldon-deployment-id={name}")
    ]


def test_connection_errors_are_clear(tmp_path, monkeypatch, api):
    with pytest.raises(NoClusterConfig, match="no context 'nope'; available: double"):
        connect("nope")
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    with pytest.raises(NoClusterConfig, match="no Kubernetes configuration found"):
        connect()


def test_two_models_side_by_side_each_with_its_own_identity(api, specs):
    progress: list[str] = []
    cnn = deploy(api.cluster, specs["cnn"], progress=progress.append)
    mlp = deploy(api.cluster, specs["mlp"])
    assert cnn.name != mlp.name and cnn.state == mlp.state == "Available"
    assert any("Creating" in line for line in progress) and any("Available" in line for line in progress)
    assert cnn.url == f"http://{NODE_IP}:31380/seldon/default/{cnn.name}/api/v1.0/predictions"
    for result, spec in ((cnn, specs["cnn"]), (mlp, specs["mlp"])):
        sdep = api.store.get("seldondeployments", "default", result.name)
        assert sdep["metadata"]["managedFields"][0]["manager"] == "seldon-pkg"
        expected = derived_names(result.name)
        deployments = api.store.list("deployments", "default", f"seldon-deployment-id={result.name}")
        assert [d["metadata"]["name"] for d in deployments] == [expected["deployment"]]  # no md5 fallback
        services = {
            s["metadata"]["name"] for s in api.store.list("services", "default", f"seldon-deployment-id={result.name}")
        }
        assert services == {expected["predictor_service"], expected["container_service"]}
        pods = api.store.list("pods", "default", f"seldon-deployment-id={result.name}")
        assert pods and all(p["metadata"]["labels"][L.MODEL] == spec.name for p in pods)  # our labels reach pods
    rows = {r["name"]: r for r in list_deployments(api.cluster, "default")}
    assert rows[cnn.name]["model"] == "mnist-cnn" and rows[mlp.name]["version"] == "v1"
    assert rows[cnn.name]["state"] == "Available" and rows[cnn.name]["url"] == cnn.url


def test_redeploying_one_leaves_the_other_untouched(api, specs):
    cnn = deploy(api.cluster, specs["cnn"])
    mlp = deploy(api.cluster, specs["mlp"])
    before = api.store.get("seldondeployments", "default", mlp.name)["metadata"]["resourceVersion"]
    mlp_children = children_of(api, mlp.name)
    again = deploy(api.cluster, specs["cnn"])
    assert again.name == cnn.name and again.action == "updated"
    assert api.store.get("seldondeployments", "default", mlp.name)["metadata"]["resourceVersion"] == before
    assert children_of(api, mlp.name) == mlp_children


def test_replace_leaves_exactly_one_revision_and_runs_hooks(api, specs):
    calls = []
    hooks = hooks_module.Hooks(
        before_delete=[lambda sdep: calls.append(("before", sdep["metadata"]["name"]))],
        after_delete=[lambda sdep: calls.append(("after", sdep["metadata"]["name"])), lambda sdep: 1 / 0],
        on_replace=[lambda old, new: calls.append(("replace", old["metadata"]["name"], new["metadata"]["name"]))],
    )
    first = deploy(api.cluster, specs["cnn"])
    other = deploy(api.cluster, specs["mlp"])
    second = deploy(api.cluster, specs["cnn-v2"], hooks=hooks)
    assert second.replaced == [first.name]
    assert sdep_names(api) == sorted([second.name, other.name])
    assert children_of(api, first.name) == []
    assert calls == [("replace", first.name, second.name), ("before", first.name), ("after", first.name)]
    assert len(second.hook_failures) == 1 and "ZeroDivisionError" in second.hook_failures[0]


def test_keep_policy_keeps_both_versions(api, specs):
    first = deploy(api.cluster, specs["cnn"])
    second = deploy(api.cluster, specs["cnn-v2"], policy="keep")
    assert sdep_names(api) == sorted([first.name, second.name])


def test_canary_splits_traffic_in_one_seldon_deployment(api, specs):
    stable = deploy(api.cluster, specs["cnn"])
    result = deploy(api.cluster, specs["cnn-v2"], canary=20)
    assert result.name == stable.name and sdep_names(api) == [stable.name]
    predictors = api.store.get("seldondeployments", "default", stable.name)["spec"]["predictors"]
    assert [(p["name"], p["traffic"]) for p in predictors] == [("default", 80), ("canary", 20)]
    assert predictors[1]["componentSpecs"][0]["spec"]["containers"][0]["image"].endswith(":0.2")
    names = {
        d["metadata"]["name"] for d in api.store.list("deployments", "default", f"seldon-deployment-id={stable.name}")
    }
    assert names == {derived_names(stable.name)["deployment"], derived_names(stable.name, "canary")["deployment"]}
    rows = list_deployments(api.cluster, "default")
    assert rows[0]["traffic"] == {"default": 80, "canary": 20}


def test_foreign_seldon_deployment_of_the_same_name_is_not_overwritten(api, specs):
    name = manifests.name_of(specs["cnn"])
    foreign = manifests.seldon_deployment(specs["mlp"])
    foreign["metadata"].update(name=name, labels={"team": "other"})
    foreign["spec"]["name"] = name
    api.store.create("seldondeployments", "default", foreign)
    with pytest.raises(Refused, match="not created by seldon-pkg"):
        deploy(api.cluster, specs["cnn"])
    assert api.store.get("seldondeployments", "default", name)["metadata"]["labels"] == {"team": "other"}
    forced = deploy(api.cluster, specs["cnn"], force=True)
    assert forced.action == "updated"
    assert api.store.get("seldondeployments", "default", name)["metadata"]["labels"][L.MANAGED_BY] == "seldon-pkg"


def test_another_identity_under_our_name_is_refused(api, specs):
    name = manifests.name_of(specs["cnn"])
    impostor = manifests.seldon_deployment(specs["mlp"])
    impostor["metadata"]["name"] = impostor["spec"]["name"] = name
    api.store.create("seldondeployments", "default", impostor)
    with pytest.raises(Refused, match="belongs to model 'mnist-mlp'"):
        deploy(api.cluster, specs["cnn"])


def test_a_failing_model_reports_the_operator_and_pod_reasons(api, specs):
    with pytest.raises(NotAvailable) as caught:
        deploy(api.cluster, specs["crashing"], timeout=10)
    message = str(caught.value)
    assert "is Failed" in message and "containers crashing" in message and "CrashLoopBackOff" in message


def test_timeout_is_reported(api, specs):
    api.operator.ready_delay = 30
    with pytest.raises(NotAvailable, match="is Creating after 1 s"):
        deploy(api.cluster, specs["cnn"], timeout=1)


def test_delete_waits_for_children_and_removes_leaked_pods(api, specs):
    result = deploy(api.cluster, specs["cnn"])
    assert children_of(api, result.name)
    api.operator.leak_pods_on_delete = True
    report = cleanup.delete(api.cluster, result.name, "default", timeout=10)
    assert report.existed and children_of(api, result.name) == []
    assert [leftover.kind for leftover in report.leftovers_removed] == ["Pod"]
    again = cleanup.delete(api.cluster, result.name, "default", timeout=5)
    assert not again.existed  # 404 is success


def test_prune_finds_zombies_and_spares_everything_else(api, specs):
    keep = deploy(api.cluster, specs["mlp"])
    victim = deploy(api.cluster, specs["cnn"])
    api.operator.leak_pods_on_delete = True
    api.cluster.custom.delete_namespaced_custom_object(
        SELDON.group, SELDON.version, "default", SELDON.plural, victim.name
    )  # kubectl delete
    # the garbage collector takes the workloads a moment later; the leaked pods stay
    wait_until(lambda: not api.store.list("replicasets", "default", f"seldon-deployment-id={victim.name}"), 10)
    leaked = api.store.list("pods", "default", f"seldon-deployment-id={victim.name}")
    assert leaked  # the operator leaked them, as reported by users
    bystanders = [
        ("default", {"metadata": {"name": "unrelated", "labels": {"app": "web"}}}),
        ("default", {"metadata": {"name": "no-labels"}}),
        ("other", {"metadata": {"name": "zombie-elsewhere", "labels": {"seldon-deployment-id": "gone"}}}),
    ]
    for namespace, pod in bystanders:
        api.store.create("pods", namespace, dict(pod, spec={"containers": [{"name": "c", "image": "i"}]}))

    dry = cleanup.prune(api.cluster, ["default"])
    assert {z.name for z in dry.zombies} == {p["metadata"]["name"] for p in leaked}
    assert all(z.reason == "its SeldonDeployment no longer exists" for z in dry.zombies)
    assert len(api.store.list("pods", "default", f"seldon-deployment-id={victim.name}")) == len(leaked)  # dry run

    done = cleanup.prune(api.cluster, ["default"], yes=True)
    assert done.deleted and api.store.list("pods", "default", f"seldon-deployment-id={victim.name}") == []
    for namespace, pod in bystanders:
        assert api.store.get("pods", namespace, pod["metadata"]["name"])  # untouched
    assert children_of(api, keep.name)  # the live model keeps its pods
    assert cleanup.find_zombies(api.cluster, ["default"]) == []


def test_pods_leaked_by_a_predictor_rename_are_zombies(api, specs):
    result = deploy(api.cluster, specs["cnn"])
    api.operator.leak_pods_on_rename = True
    sdep = api.store.get("seldondeployments", "default", result.name)
    sdep["spec"]["predictors"][0]["name"] = "main"
    api.store.replace("seldondeployments", "default", result.name, sdep)
    old = derived_names(result.name)["deployment"]

    def settled() -> bool:  # the operator reconciled the rename and the GC took the old workload
        names = {
            o["metadata"]["name"]
            for plural in ("deployments", "replicasets")
            for o in api.store.list(plural, "default")
        }
        return derived_names(result.name, predictor="main")["deployment"] in names and not any(
            n.startswith(old) for n in names
        )

    wait_until(settled, 10)
    zombies = cleanup.find_zombies(api.cluster, ["default"])
    assert zombies and {z.kind for z in zombies} == {"Pod"}
    assert all(z.reason == "not owned by its SeldonDeployment" and z.sdep == result.name for z in zombies)
    cleanup.prune(api.cluster, ["default"], yes=True)
    remaining = api.store.list("pods", "default", f"seldon-deployment-id={result.name}")
    assert remaining and all(p["metadata"]["labels"]["seldon-app"].endswith("-main") for p in remaining)


def test_keep_last_prunes_old_revisions(api, specs):
    names = [deploy(api.cluster, specs[key], policy="keep").name for key in ("cnn", "cnn-v2", "cnn-v3")]
    report = cleanup.prune(api.cluster, ["default"], keep_last=1)
    assert sorted(s["metadata"]["name"] for s in report.old_revisions) == sorted(names[:2])
    cleanup.prune(api.cluster, ["default"], keep_last=1, yes=True)
    assert sdep_names(api) == [names[2]]


def _image(api, name):
    sdep = api.store.get("seldondeployments", "default", name)
    return [p["componentSpecs"][0]["spec"]["containers"][0]["image"] for p in sdep["spec"]["predictors"]]


def test_deployed_deletes_what_it_created_even_on_error(api, specs):
    target = KubernetesTarget(api.cluster)
    with pytest.raises(RuntimeError):
        with deployed(target, specs["cnn"]) as info:
            assert sdep_names(api) == [info.name] and info.state == "Available"
            raise RuntimeError("the notebook cell failed")
    assert sdep_names(api) == []
    assert wait_until(lambda: children_of(api, info.name) == [], 10)


def test_deployed_restores_a_deployment_that_existed_before(api, specs, tmp_path):
    target = KubernetesTarget(api.cluster)
    before = deploy(api.cluster, specs["cnn"])
    changed = dataclasses.replace(specs["cnn"], image="example.org/mnist:patched")  # same identity, new revision
    with deployed(target, changed) as info:
        assert info.name == before.name and _image(api, info.name) == ["example.org/mnist:patched"]
    assert sdep_names(api) == [before.name]  # not deleted: it was there before the block
    assert _image(api, before.name) == [specs["cnn"].image]  # and put back as it was


def test_deployed_touches_nothing_when_the_failure_comes_before_applying(api, specs):
    foreign = manifests.seldon_deployment(specs["cnn"])
    foreign["metadata"]["labels"] = {"team": "someone-else"}
    api.store.create("seldondeployments", "default", foreign)
    with pytest.raises(Refused):
        with deployed(KubernetesTarget(api.cluster), specs["cnn"]):
            pytest.fail("the block must not run")
    kept = api.store.get("seldondeployments", "default", foreign["metadata"]["name"])
    assert kept["metadata"]["labels"] == {"team": "someone-else"}


def test_deployed_with_a_canary_removes_only_the_canary(api, specs):
    stable = deploy(api.cluster, specs["cnn"])
    with deployed(KubernetesTarget(api.cluster), specs["cnn-v2"], DeployPolicy(mode="keep", canary=20)) as info:
        assert info.name == stable.name and info.traffic == {"default": 80, "canary": 20}
    sdep = api.store.get("seldondeployments", "default", stable.name)
    assert [p["name"] for p in sdep["spec"]["predictors"]] == ["default"]
    assert _image(api, stable.name) == [specs["cnn"].image]


def test_deployed_undoes_an_apply_that_never_became_ready(api, specs):
    with pytest.raises(NotReady, match="CrashLoopBackOff"):
        with deployed(KubernetesTarget(api.cluster), specs["crashing"], DeployPolicy(mode="keep", timeout=5)):
            pytest.fail("the block must not run")
    assert sdep_names(api) == []


def test_endpoint_prefers_a_load_balancer_address(api):
    assert find_ingress(api.cluster).base_url == f"http://{NODE_IP}:31380"
    gateway = api.store.get("services", "istio-system", "istio-ingressgateway")
    api.store.patch(
        "services",
        "istio-system",
        "istio-ingressgateway",
        {"status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.7"}]}}},
    )
    assert (
        find_ingress(api.cluster).prediction_url("default", "m")
        == "http://203.0.113.7:80/seldon/default/m/api/v1.0/predictions"
    )
    api.store.delete("services", "istio-system", gateway["metadata"]["name"])
    with pytest.raises(NoIngress, match="no Istio or Ambassador gateway"):
        find_ingress(api.cluster)


def test_the_double_answers_like_an_api_server(api, specs):
    manifest = manifests.seldon_deployment(specs["cnn"])
    R.create_object(api.cluster, manifest)
    with pytest.raises(ApiException) as conflict:
        R.create_object(api.cluster, manifest)
    assert conflict.value.status == 409 and json.loads(conflict.value.body)["reason"] == "AlreadyExists"
    stale = dict(manifest, metadata=dict(manifest["metadata"], resourceVersion="1"))
    with pytest.raises(ApiException) as outdated:
        R.replace_object(api.cluster, stale)
    assert outdated.value.status == 409
    broken = dict(manifest, metadata=dict(manifest["metadata"], name="broken"))
    broken["spec"] = {"predictors": [{"name": "x"}]}  # graph is required by the CRD schema
    with pytest.raises(ApiException) as invalid:
        R.create_object(api.cluster, broken)
    assert invalid.value.status == 422
    assert R.get_object(api.cluster, "default", "nope") is None


def test_the_double_is_as_strict_as_an_api_server(api, specs):
    """The rules a real API server enforces and the product must cope with."""
    import requests

    manifest = manifests.seldon_deployment(specs["cnn"])
    created = R.create_object(api.cluster, manifest)
    without_version = dict(manifest, metadata={k: v for k, v in manifest["metadata"].items() if k != "resourceVersion"})
    with pytest.raises(ApiException) as no_version:
        R.replace_object(api.cluster, without_version)
    assert no_version.value.status == 422 and "resourceVersion" in json.loads(no_version.value.body)["message"]
    bad_labels = dict(manifest, metadata=dict(manifest["metadata"], name="bad-labels", labels={"x": "not ok!"}))
    with pytest.raises(ApiException) as labels:
        R.create_object(api.cluster, bad_labels)
    assert labels.value.status == 422 and "label value" in json.loads(labels.value.body)["message"]
    path = f"{api.url}/apis/{SELDON.group}/{SELDON.version}/namespaces/default/{SELDON.plural}/{created['metadata']['name']}"
    merge = {"Content-Type": "application/merge-patch+json"}
    assert requests.patch(path, data=b"{not json", headers=merge, timeout=5).status_code == 400
    assert (
        requests.patch(
            path, data=b"{}", headers={"Content-Type": "application/vnd.kubernetes.protobuf"}, timeout=5
        ).status_code
        == 415
    )
    broken_patch = json.dumps({"metadata": {"labels": {"bad key!": "v"}}}).encode()
    assert requests.patch(path, data=broken_patch, headers=merge, timeout=5).status_code == 422
    # garbage collection is asynchronous: right after the delete call the children still exist,
    # and cleanup.delete is what waits for them
    wait_until(lambda: children_of(api, created["metadata"]["name"]), 10)
    R.delete_object(api.cluster, "default", created["metadata"]["name"])
    assert children_of(api, created["metadata"]["name"])
    report = cleanup.delete(api.cluster, created["metadata"]["name"], "default", timeout=10)
    assert not report.existed and not report.leftovers_removed and children_of(api, created["metadata"]["name"]) == []


@pytest.mark.parametrize(
    "model, version",
    [
        ("x" * 150, "v" * 80),  # long: cut to the 42-character budget
        ("Ünïcødé 模型 — détection", "2026.11.25-rc1"),  # unicode, upper case, dots
        ("m" * 31, "1"),  # exactly at the cut
    ],
)
def test_identities_at_the_boundary_meet_the_operators_own_naming(api, tmp_path, model, version):
    """Independent of naming.derived_names: the double's operator applies Seldon's rule itself
    (children over 63 characters become seldon-<md5>); ours must never trigger it."""
    folder = tmp_path / "spec"
    folder.mkdir()
    (folder / "seldon-model.yaml").write_text(
        yaml.safe_dump(
            {"name": model, "version": version, "wrapper": "M.M", "image": "example.org/m:1"}, allow_unicode=True
        )
    )
    result = deploy(api.cluster, load_spec(folder))
    assert len(result.name) == min(42, len(result.name)) and result.name[0].isalpha()
    objects = [
        o
        for plural in ("deployments", "services", "pods")
        for o in api.store.list(plural, "default", f"seldon-deployment-id={result.name}")
    ]
    names = {o["metadata"]["name"] for o in objects}
    assert f"{result.name}-default-0-classifier" in names  # spelled out here, not taken from the product
    assert {f"{result.name}-default", f"{result.name}-default-classifier"} <= names
    assert not any(n.startswith("seldon-") for n in names)  # the operator's md5 fallback never fired
    assert all(len(n) <= 63 for n in names if not n.startswith(f"{result.name}-default-0-classifier-"))


def test_cli_against_the_double(api, specs):
    cli = str(Path(sys.executable).parent / "seldon-pkg")
    env = dict(os.environ)

    def run(*args):
        return subprocess.run([cli, *args], capture_output=True, text=True, env=env, timeout=120)

    deployed = run("deploy", str(ROOT / "demo_mnist" / "mnist-cnn.yaml"), "--target", "k8s", "--context", "double")
    assert deployed.returncode == 0, deployed.stderr
    name = manifests.name_of(specs["cnn"])
    assert f"deployed {name}" in deployed.stdout
    assert f"http://{NODE_IP}:31380/seldon/default/{name}/api/v1.0/predictions" in deployed.stdout
    rows = json.loads(run("list", "--target", "k8s", "-o", "json").stdout)
    assert [(r["name"], r["state"]) for r in rows] == [(name, "Available")]
    assert set(rows[0]) == {f.name for f in dataclasses.fields(DeploymentInfo)}  # the local target's shape too
    assert (
        run("endpoint", name, "--target", "k8s").stdout.strip().endswith(f"/seldon/default/{name}/api/v1.0/predictions")
    )
    api.operator.leak_pods_on_delete = True
    api.cluster.custom.delete_namespaced_custom_object(SELDON.group, SELDON.version, "default", SELDON.plural, name)
    dry = run("prune")
    assert "would delete Pod default/" in dry.stdout and "dry run" in dry.stdout
    assert run("prune", "--yes").returncode == 0
    assert "nothing to prune" in run("prune").stdout
    gone = run("delete", name, "--target", "k8s")
    assert gone.returncode == 3 and "no SeldonDeployment" in gone.stderr  # NotFound, as locally
    assert run("delete", name, "--target", "k8s", "--ignore-not-found").returncode == 0


def test_cli_reports_api_errors_in_one_line(api, specs):
    cli = str(Path(sys.executable).parent / "seldon-pkg")
    name = manifests.name_of(specs["cnn"])
    broken = manifests.seldon_deployment(specs["cnn"])
    api.store.create("seldondeployments", "default", broken)
    api.store.validators["seldondeployments"] = lambda body: ["spec.predictors: rejected by the test"]
    result = subprocess.run(
        [cli, "deploy", str(ROOT / "demo_mnist" / "mnist-cnn.yaml"), "--target", "k8s"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "Kubernetes API answered 422 Unprocessable Entity" in result.stderr
    assert f'SeldonDeployment "{name}" is invalid' in result.stderr


def test_a_crashing_model_names_its_cause_on_the_cluster_too(api, specs):
    """deploy, logs and describe through the CLI: the model's own error first (from the pod's
    termination message, which FallbackToLogsOnError fills from its log), not the server's noise."""
    cli = str(Path(sys.executable).parent / "seldon-pkg")

    def run(*args):
        return subprocess.run([cli, *args, "--target", "k8s"], capture_output=True, text=True, timeout=120)

    spec_path = str(specs["crashing"].path)
    deployed = run("deploy", spec_path, "--timeout", "10")
    assert deployed.returncode == 4, deployed.stderr  # NotReady
    first = deployed.stderr[deployed.stderr.index("error: ") :].splitlines()[0]  # after the progress lines
    assert "is Failed" in first and "ValueError: weights file 'w.npz' not found" in first
    assert "logs: seldon-pkg logs" in deployed.stderr
    name = manifests.name_of(specs["crashing"])
    logs = run("logs", name, "--tail", "50")
    assert logs.returncode == 0, logs.stderr
    assert "ValueError: weights file 'w.npz' not found" in logs.stdout and logs.stdout.startswith("[")
    described = run("describe", "crashing")  # by model name
    assert described.returncode == 0, described.stderr
    assert described.stdout.splitlines()[0] == "model error: ValueError: weights file 'w.npz' not found"
    container = api.store.get("seldondeployments", "default", name)["spec"]["predictors"][0]["componentSpecs"][0]
    assert container["spec"]["containers"][0]["terminationMessagePolicy"] == "FallbackToLogsOnError"


def test_a_write_that_races_the_operator_is_planned_again(api, specs, monkeypatch):
    """The operator (or anyone) changed the object between our read and our write: the API
    answers 409, deploy reads it again and applies on the current version."""
    first = deploy(api.cluster, specs["cnn"])
    read = R.get_object
    raced = []

    def read_then_someone_writes(cluster, namespace, name, kind=SELDON):
        obj = read(cluster, namespace, name, kind)
        if obj is not None and not raced:
            raced.append(name)
            api.store.patch("seldondeployments", namespace, name, {"status": {"state": "Available"}}, status_only=True)
        return obj

    monkeypatch.setattr(R, "get_object", read_then_someone_writes)
    lines: list[str] = []
    again = deploy(api.cluster, specs["cnn"], progress=lines.append)
    assert raced == [first.name] and again.action == "updated"
    assert any("changed while we wrote it" in line for line in lines)
