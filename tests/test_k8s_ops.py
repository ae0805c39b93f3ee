"""Cluster operations with the official kubernetes client against a REAL control plane.

Every test runs against the session's cluster (tests/support/cluster.py): the embedded control
plane (real etcd, kube-apiserver, controller manager with its garbage collector and Deployment/
ReplicaSet controllers, scheduler, kwok nodes) or $SELDON_PKG_TEST_KUBECONFIG's cluster, in a
namespace of the test's own. SeldonDeployments are reconciled by tools/cluster/seldon_standin.py
(the Seldon operator's Go module cannot be fetched here; see its docstring). No container runs:
kwok marks pods Running, and images tagged ``:crashloop`` crash (a kwok stage).
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from kubernetes.client.exceptions import ApiException

from seldon_pkg.errors import Invalid, NotReady, Refused
from seldon_pkg.k8s import cleanup, resources
from seldon_pkg.k8s import hooks as hooks_module
from seldon_pkg.k8s.connection import NoClusterConfig, connect
from seldon_pkg.k8s.deploy import NotAvailable, deploy
from seldon_pkg.k8s.endpoint import NoIngress, find_ingress
from seldon_pkg.k8s.inventory import list_deployments
from seldon_pkg.platforms.labels import MANAGED_BY, MODEL, SELDON_DEPLOYMENT_ID
from seldon_pkg.platforms.registry import name_of
from seldon_pkg.platforms.seldon import SELDON, derived_names, seldon_deployment
from seldon_pkg.spec.model_spec import load_spec
from seldon_pkg.targets import DeploymentInfo, DeployOutcome, DeployPolicy, deployed
from seldon_pkg.targets.kubernetes import KubernetesTarget
from seldon_pkg.values import VersionPolicy
from tests.support.cluster import KWOK_ONLY
from tests.support.gateway import wait_until
from tests.support.microservice import ROOT

ID = SELDON_DEPLOYMENT_ID
CNN = ROOT / "demo_mnist" / "mnist-cnn.yaml"
CLI = str(Path(sys.executable).parent / "seldon-pkg")
KIND_OF = {"deployments": "Deployment", "replicasets": "ReplicaSet", "pods": "Pod", "services": "Service"}


@pytest.fixture
def specs(kube, tmp_path):
    """The demo CNN and MLP in the test's namespace, versions 2 and 3 of the CNN, a model whose
    container crashes, and one no node can hold."""
    image = yaml.safe_load(CNN.read_text())["image"].rsplit(":", 1)[0]

    def variant(key: str, source: Path = CNN, **changes) -> Path:
        return kube.spec_file(source, tmp_path / key, **changes)

    files = {
        "cnn": variant("cnn"),
        "mlp": variant("mlp", ROOT / "demo_mnist" / "mnist-mlp.yaml"),
        "cnn-v2": variant("cnn-v2", version="v2", image=f"{image}:0.2"),
        "cnn-v3": variant("cnn-v3", version="v3", image=f"{image}:0.3"),
        "crashing": variant("crashing", name="crashing", version="v9", image=f"{image}:crashloop"),
        "too-big": variant("too-big", name="too-big", resources={"requests": {"cpu": "1000"}}),
    }
    loaded = {key: load_spec(path) for key, path in files.items()}
    loaded["files"] = files
    return loaded


def sdep_names(kube) -> list[str]:
    return sorted(s["metadata"]["name"] for s in resources.list_objects(kube.cluster, kube.namespace, None, SELDON))


def children_of(kube, name: str) -> list[tuple[str, str]]:
    return kube.children(ID, name)


def crashes_here(kube) -> None:
    if not kube.embedded:
        pytest.skip(KWOK_ONLY)


def test_connection_errors_are_clear(kube, tmp_path, monkeypatch):
    with pytest.raises(NoClusterConfig, match="no context 'nope'; available: "):
        connect("nope")
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    with pytest.raises(NoClusterConfig, match="no Kubernetes configuration found"):
        connect()


def test_two_models_side_by_side_each_with_its_own_identity(kube, specs):
    progress: list[str] = []
    cnn = deploy(kube.cluster, SELDON, specs["cnn"], progress=progress.append)
    mlp = deploy(kube.cluster, SELDON, specs["mlp"])
    assert cnn.name != mlp.name and cnn.state == mlp.state == "Available"
    assert any("Available" in line for line in progress)
    assert cnn.url == f"http://{kube.node_ip}:31380/seldon/{kube.namespace}/{cnn.name}/api/v1.0/predictions"
    for result, spec in ((cnn, specs["cnn"]), (mlp, specs["mlp"])):
        sdep = kube.get("seldondeployments", result.name)
        assert "seldon-pkg" in {entry["manager"] for entry in sdep["metadata"]["managedFields"]}
        expected = derived_names(result.name)
        deployments = kube.list("deployments", f"{ID}={result.name}")
        assert [d["metadata"]["name"] for d in deployments] == [expected["deployment"]]  # no md5 fallback
        assert deployments[0]["status"]["availableReplicas"] == 1  # the Deployment controller says so
        services = {s["metadata"]["name"] for s in kube.list("services", f"{ID}={result.name}")}
        assert services == {expected["predictor_service"], expected["container_service"]}
        pods = kube.list("pods", f"{ID}={result.name}")
        assert pods and all(p["metadata"]["labels"][MODEL] == spec.name for p in pods)  # our labels reach pods
        assert all(p["status"]["phase"] == "Running" and p["spec"]["nodeName"].startswith("kwok-") for p in pods)
        # the pod is the ReplicaSet controller's, the ReplicaSet the Deployment controller's
        replicaset = pods[0]["metadata"]["ownerReferences"][0]
        assert replicaset["kind"] == "ReplicaSet" and replicaset["name"].startswith(expected["deployment"] + "-")
    rows = {r["name"]: r for r in list_deployments(kube.cluster, kube.namespace, SELDON)}
    assert rows[cnn.name]["model"] == "mnist-cnn" and rows[mlp.name]["version"] == "v1"
    assert rows[cnn.name]["state"] == "Available" and rows[cnn.name]["url"] == cnn.url


def test_redeploying_one_leaves_the_other_untouched(kube, specs):
    cnn = deploy(kube.cluster, SELDON, specs["cnn"])
    mlp = deploy(kube.cluster, SELDON, specs["mlp"])
    before = kube.get("seldondeployments", mlp.name)["metadata"]["generation"]
    mlp_children = sorted(children_of(kube, mlp.name))
    again = deploy(kube.cluster, SELDON, specs["cnn"])
    assert again.name == cnn.name and again.action == "updated"
    assert kube.get("seldondeployments", mlp.name)["metadata"]["generation"] == before
    assert sorted(children_of(kube, mlp.name)) == mlp_children


def test_replace_leaves_exactly_one_revision_and_no_zombie_once_deploy_returns(kube, specs):
    calls = []
    hooks = hooks_module.Hooks(
        before_delete=[lambda sdep: calls.append(("before", sdep["metadata"]["name"]))],
        after_delete=[lambda sdep: calls.append(("after", sdep["metadata"]["name"])), lambda sdep: 1 / 0],
        on_replace=[lambda old, new: calls.append(("replace", old["metadata"]["name"], new["metadata"]["name"]))],
    )
    first = deploy(kube.cluster, SELDON, specs["cnn"])
    other = deploy(kube.cluster, SELDON, specs["mlp"])
    old_children = children_of(kube, first.name)
    assert {plural for plural, _ in old_children} == {"deployments", "replicasets", "pods", "services"}
    second = deploy(kube.cluster, SELDON, specs["cnn-v2"], hooks=hooks)
    assert second.replaced == [first.name]
    assert sdep_names(kube) == sorted([second.name, other.name])
    # real garbage collection, waited for by the foreground delete: nothing of the old revision
    assert children_of(kube, first.name) == []
    assert calls == [("replace", first.name, second.name), ("before", first.name), ("after", first.name)]
    assert len(second.hook_failures) == 1 and "ZeroDivisionError" in second.hook_failures[0]


def test_keep_policy_keeps_both_versions(kube, specs):
    first = deploy(kube.cluster, SELDON, specs["cnn"])
    second = deploy(kube.cluster, SELDON, specs["cnn-v2"], policy=VersionPolicy.KEEP)
    assert sdep_names(kube) == sorted([first.name, second.name])


def test_canary_splits_traffic_in_one_seldon_deployment(kube, specs):
    stable = deploy(kube.cluster, SELDON, specs["cnn"])
    result = deploy(kube.cluster, SELDON, specs["cnn-v2"], canary=20)
    assert result.name == stable.name and sdep_names(kube) == [stable.name]
    predictors = kube.get("seldondeployments", stable.name)["spec"]["predictors"]
    assert [(p["name"], p["traffic"]) for p in predictors] == [("default", 80), ("canary", 20)]
    assert predictors[1]["componentSpecs"][0]["spec"]["containers"][0]["image"].endswith(":0.2")
    names = {d["metadata"]["name"] for d in kube.list("deployments", f"{ID}={stable.name}")}
    assert names == {derived_names(stable.name)["deployment"], derived_names(stable.name, "canary")["deployment"]}
    rows = list_deployments(kube.cluster, kube.namespace, SELDON)
    assert rows[0]["traffic"] == {"default": 80, "canary": 20}


def assert_rolled_out(kube, sdep: str, predictor: str, image: str) -> None:
    """The Deployment the operator derives for ``predictor`` carries ``image`` and is fully
    rolled out, as the Deployment controller reports it; every live pod of it runs ``image``."""
    name = derived_names(sdep, predictor)["deployment"]
    found = kube.get("deployments", name)
    assert found is not None and not found["metadata"].get("deletionTimestamp"), name
    containers = {c["name"]: c["image"] for c in found["spec"]["template"]["spec"]["containers"]}
    assert containers["classifier"] == image
    status, desired = found["status"], found["spec"]["replicas"]
    assert status["observedGeneration"] == found["metadata"]["generation"]
    assert status["updatedReplicas"] == status["availableReplicas"] == status["replicas"] == desired
    pods = [p for p in kube.list("pods", f"app={name}") if not p["metadata"].get("deletionTimestamp")]
    assert len(pods) == desired and all(
        c["image"] == image for p in pods for c in p["spec"]["containers"] if c["name"] == "classifier"
    )


def test_deploy_returns_only_once_an_update_has_rolled_out(kube, specs):
    """A new image for a deployed model, then a canary: when deploy returns, the Deployments the
    new spec implies are rolled out. The operator writes no observedGeneration and says Available
    for the previous pods right after an update (the stand-in does the same), so waiting for
    Available alone returned before the operator had acted."""
    first = deploy(kube.cluster, SELDON, specs["cnn"])
    patched = dataclasses.replace(specs["cnn"], image="example.org/mnist:patched")  # same identity
    lines: list[str] = []
    updated = deploy(kube.cluster, SELDON, patched, progress=lines.append)
    assert (updated.name, updated.action, updated.state) == (first.name, "updated", "Available")
    assert_rolled_out(kube, first.name, "default", "example.org/mnist:patched")
    assert any("waiting for" in line for line in lines), lines  # it did wait for the rollout
    assert "observedGeneration" not in kube.get("seldondeployments", first.name)["status"]
    canary = deploy(kube.cluster, SELDON, specs["cnn-v2"], canary=20)
    assert (canary.name, canary.action) == (first.name, "canary")
    assert_rolled_out(kube, first.name, "canary", specs["cnn-v2"].image)
    assert_rolled_out(kube, first.name, "default", "example.org/mnist:patched")


def test_the_plain_setup_replaces_the_first_model_and_seldon_pkg_refuses_to(kube, specs, tmp_path):
    """The seed's first problem, on a real API server: a second hand-written SeldonDeployment with
    the same name, applied with kubectl, silently replaces the first; seldon-pkg refuses (exit 5)."""
    name = "mnist"
    for model in ("cnn", "mlp"):  # what the seed did: one fixed name, two models
        manifest = seldon_deployment(specs[model])
        manifest["metadata"] = {"name": name, "namespace": kube.namespace}
        manifest["spec"]["name"] = name
        path = tmp_path / f"{model}.json"
        path.write_text(json.dumps(manifest))
        applied = subprocess.run(
            [_kubectl(), "apply", "-f", str(path)], capture_output=True, text=True, env=_env(kube), timeout=60
        )
        assert applied.returncode == 0, applied.stderr
    assert sdep_names(kube) == [name]  # one left: the MLP replaced the CNN
    image = kube.get("seldondeployments", name)["spec"]["predictors"][0]["componentSpecs"][0]["spec"]["containers"]
    assert image[0]["image"] == specs["mlp"].image
    # seldon-pkg: a spec whose name would take over a deployment it does not own is refused
    foreign = seldon_deployment(specs["mlp"])
    foreign["metadata"] = {"name": name_of(specs["cnn"]), "namespace": kube.namespace}
    foreign["spec"]["name"] = foreign["metadata"]["name"]
    kube.create("seldondeployments", foreign)
    before = kube.get("seldondeployments", foreign["metadata"]["name"])
    refused = cli(kube, "deploy", str(specs["files"]["cnn"]), "--target", "k8s")
    assert refused.returncode == 5 and "not created by seldon-pkg" in refused.stderr, refused.stderr
    after = kube.get("seldondeployments", foreign["metadata"]["name"])  # (the controller writes its status)
    assert after["metadata"]["generation"] == before["metadata"]["generation"] and after["spec"] == before["spec"]
    # and two models deployed with seldon-pkg stand side by side
    for model in ("cnn", "mlp"):
        done = cli(
            kube, "deploy", str(specs["files"][model]), "--target", "k8s", "--force" if model == "cnn" else "--keep"
        )
        assert done.returncode == 0, done.stderr


def cli(kube, *args: str) -> subprocess.CompletedProcess:
    """``seldon-pkg ARGS`` with KUBECONFIG pointing at the test's namespace."""
    return subprocess.run([CLI, *args], capture_output=True, text=True, env=_env(kube), timeout=120)


def _kubectl() -> str:
    import shutil

    return shutil.which("kubectl") or str(ROOT / ".tools" / "kubectl")


def _env(kube) -> dict:
    return {**os.environ, "KUBECONFIG": str(kube.kubeconfig)}


def test_foreign_seldon_deployment_of_the_same_name_is_not_overwritten(kube, specs):
    name = name_of(specs["cnn"])
    foreign = seldon_deployment(specs["mlp"])
    foreign["metadata"].update(name=name, labels={"team": "other"})
    foreign["spec"]["name"] = name
    kube.create("seldondeployments", foreign)
    with pytest.raises(Refused, match="not created by seldon-pkg"):
        deploy(kube.cluster, SELDON, specs["cnn"])
    assert kube.get("seldondeployments", name)["metadata"]["labels"] == {"team": "other"}
    forced = deploy(kube.cluster, SELDON, specs["cnn"], force=True)
    assert forced.action == "updated"
    assert kube.get("seldondeployments", name)["metadata"]["labels"][MANAGED_BY] == "seldon-pkg"


def test_another_identity_under_our_name_is_refused(kube, specs):
    name = name_of(specs["cnn"])
    impostor = seldon_deployment(specs["mlp"])
    impostor["metadata"]["name"] = impostor["spec"]["name"] = name
    kube.create("seldondeployments", impostor)
    with pytest.raises(Refused, match="belongs to model 'mnist-mlp'"):
        deploy(kube.cluster, SELDON, specs["cnn"])


def test_a_failing_model_reports_the_controller_and_pod_reasons(kube, specs):
    crashes_here(kube)
    with pytest.raises(NotAvailable) as caught:
        deploy(kube.cluster, SELDON, specs["crashing"], timeout=60)
    message = str(caught.value)
    assert "is Failed" in message and "containers crashing" in message and "CrashLoopBackOff" in message
    assert "ValueError: weights file 'w.npz' not found" in message.splitlines()[0]
    # deploy saw the crash loop itself: the operator says Creating until the progress deadline
    assert kube.get("seldondeployments", name_of(specs["crashing"]))["status"]["state"] == "Creating"


def test_a_model_no_node_can_hold_times_out_with_the_schedulers_reason(kube, specs):
    with pytest.raises(NotAvailable) as caught:
        deploy(kube.cluster, SELDON, specs["too-big"], timeout=3)
    message = str(caught.value)
    assert "is Creating after 3 s" in message
    pods = kube.list("pods", f"{ID}={name_of(specs['too-big'])}")
    assert pods and all(p["status"]["phase"] == "Pending" for p in pods)
    condition = next(c for c in pods[0]["status"]["conditions"] if c["type"] == "PodScheduled")
    assert condition["reason"] == "Unschedulable" and "Insufficient cpu" in condition["message"]


def test_delete_waits_for_children_and_removes_orphans(kube, specs):
    result = deploy(kube.cluster, SELDON, specs["cnn"])
    assert children_of(kube, result.name)
    # the reported leak: the workload loses its owner (here: someone patched the reference away)
    deployment = derived_names(result.name)["deployment"]
    kube.patch("deployments", deployment, {"metadata": {"ownerReferences": None}})
    report = cleanup.delete(kube.cluster, result.name, kube.namespace, platform=SELDON, timeout=60)
    assert report.existed and children_of(kube, result.name) == []
    assert [(leftover.kind, leftover.name) for leftover in report.leftovers_removed] == [("Deployment", deployment)]
    again = cleanup.delete(kube.cluster, result.name, kube.namespace, platform=SELDON, timeout=5)
    assert not again.existed  # 404 is success


def test_prune_finds_orphans_of_a_cascade_orphan_delete_and_spares_everything_else(kube, specs):
    keep = deploy(kube.cluster, SELDON, specs["mlp"])
    victim = deploy(kube.cluster, SELDON, specs["cnn"])
    kube.delete("seldondeployments", victim.name, propagation="Orphan")  # kubectl delete --cascade=orphan
    wait_until(lambda: kube.get("seldondeployments", victim.name) is None, 30)
    left = sorted(children_of(kube, victim.name))
    assert {plural for plural, _ in left} == {"deployments", "replicasets", "pods", "services"}
    other = f"{kube.namespace}-other"
    kube.cluster.core.create_namespace({"metadata": {"name": other}})
    try:
        bystanders = [
            (kube.namespace, {"metadata": {"name": "unrelated", "labels": {"app": "web"}}}),
            (kube.namespace, {"metadata": {"name": "no-labels"}}),
            (other, {"metadata": {"name": "zombie-elsewhere", "labels": {ID: "gone"}}}),
        ]
        for namespace, pod in bystanders:
            kube.create("pods", dict(pod, spec={"containers": [{"name": "c", "image": "i"}]}), namespace)

        dry = cleanup.prune(kube.cluster, [kube.namespace], platform=SELDON)
        assert sorted((z.kind, z.name) for z in dry.zombies) == sorted((KIND_OF[plural], n) for plural, n in left)
        assert all(z.reason == "its SeldonDeployment no longer exists" for z in dry.zombies)
        assert sorted(children_of(kube, victim.name)) == left  # a dry run deletes nothing

        done = cleanup.prune(kube.cluster, [kube.namespace], platform=SELDON, yes=True)
        assert done.deleted
        wait_until(lambda: children_of(kube, victim.name) == [], 30)
        for namespace, pod in bystanders:
            assert kube.get("pods", pod["metadata"]["name"], namespace)  # untouched
        assert children_of(kube, keep.name)  # the live model keeps its pods
        assert cleanup.find_zombies(kube.cluster, [kube.namespace], SELDON) == []
    finally:
        kube.cluster.core.delete_namespace(other)


def test_a_workload_the_controller_lost_track_of_is_a_zombie(kube, specs):
    """Renaming a predictor while its workload has lost its owner reference (as after a lost
    status) leaves the old workload running; prune finds it by its owner chain."""
    result = deploy(kube.cluster, SELDON, specs["cnn"])
    old = derived_names(result.name)["deployment"]
    kube.patch("deployments", old, {"metadata": {"ownerReferences": None}})
    sdep = kube.get("seldondeployments", result.name)
    sdep["spec"]["predictors"][0]["name"] = "main"
    kube.cluster.custom.replace_namespaced_custom_object(
        SELDON.resource.group, SELDON.resource.version, kube.namespace, SELDON.resource.plural, result.name, sdep
    )
    new = derived_names(result.name, predictor="main")["deployment"]
    wait_until(lambda: kube.get("deployments", new) is not None, 30)
    zombies = cleanup.find_zombies(kube.cluster, [kube.namespace], SELDON)
    assert {z.kind for z in zombies} >= {"Deployment", "ReplicaSet", "Pod"}
    assert all(z.reason == "not owned by its SeldonDeployment" and z.sdep == result.name for z in zombies)
    assert old in {z.name for z in zombies if z.kind == "Deployment"}
    cleanup.prune(kube.cluster, [kube.namespace], platform=SELDON, yes=True)
    wait_until(
        lambda: (
            kube.get("deployments", old) is None and not cleanup.find_zombies(kube.cluster, [kube.namespace], SELDON)
        ),
        30,
    )
    remaining = kube.list("pods", f"{ID}={result.name}")
    assert remaining and all(p["metadata"]["labels"]["seldon-app"].endswith("-main") for p in remaining)


def test_keep_last_prunes_old_revisions(kube, specs):
    names = [
        deploy(kube.cluster, SELDON, specs[key], policy=VersionPolicy.KEEP).name for key in ("cnn", "cnn-v2", "cnn-v3")
    ]
    report = cleanup.prune(kube.cluster, [kube.namespace], platform=SELDON, keep_last=1)
    assert sorted(s["metadata"]["name"] for s in report.old_revisions) == sorted(names[:2])
    cleanup.prune(kube.cluster, [kube.namespace], platform=SELDON, keep_last=1, yes=True)
    assert sdep_names(kube) == [names[2]]


def _image(kube, name):
    sdep = kube.get("seldondeployments", name)
    return [p["componentSpecs"][0]["spec"]["containers"][0]["image"] for p in sdep["spec"]["predictors"]]


def test_deployed_deletes_what_it_created_even_on_error(kube, specs):
    target = KubernetesTarget(kube.cluster)
    with pytest.raises(RuntimeError):
        with deployed(target, specs["cnn"]) as info:
            assert sdep_names(kube) == [info.name] and info.state == "Available"
            raise RuntimeError("the notebook cell failed")
    assert sdep_names(kube) == []
    assert children_of(kube, info.name) == []  # the delete waited for garbage collection


def test_deployed_restores_a_deployment_that_existed_before(kube, specs):
    target = KubernetesTarget(kube.cluster)
    before = deploy(kube.cluster, SELDON, specs["cnn"])
    changed = dataclasses.replace(specs["cnn"], image="example.org/mnist:patched")  # same identity, new revision
    with deployed(target, changed) as info:
        assert info.name == before.name and _image(kube, info.name) == ["example.org/mnist:patched"]
    assert sdep_names(kube) == [before.name]  # not deleted: it was there before the block
    assert _image(kube, before.name) == [specs["cnn"].image]  # and put back as it was
    assert_rolled_out(kube, before.name, "default", specs["cnn"].image)  # undo waited for it


def test_deployed_touches_nothing_when_the_failure_comes_before_applying(kube, specs):
    foreign = seldon_deployment(specs["cnn"])
    foreign["metadata"]["labels"] = {"team": "someone-else"}
    kube.create("seldondeployments", foreign)
    with pytest.raises(Refused):
        with deployed(KubernetesTarget(kube.cluster), specs["cnn"]):
            pytest.fail("the block must not run")
    kept = kube.get("seldondeployments", foreign["metadata"]["name"])
    assert kept["metadata"]["labels"] == {"team": "someone-else"}


def test_deployed_with_a_canary_removes_only_the_canary(kube, specs):
    stable = deploy(kube.cluster, SELDON, specs["cnn"])
    with deployed(KubernetesTarget(kube.cluster), specs["cnn-v2"], DeployPolicy(mode="keep", canary=20)) as info:
        assert info.name == stable.name and info.traffic == {"default": 80, "canary": 20}
    sdep = kube.get("seldondeployments", stable.name)
    assert [p["name"] for p in sdep["spec"]["predictors"]] == ["default"]
    assert _image(kube, stable.name) == [specs["cnn"].image]
    # undo waited until the operator dropped the canary's Deployment (gone, or going)
    left = kube.get("deployments", derived_names(stable.name, "canary")["deployment"])
    assert left is None or left["metadata"].get("deletionTimestamp")
    assert_rolled_out(kube, stable.name, "default", specs["cnn"].image)


def test_deployed_undoes_an_apply_that_never_became_ready(kube, specs):
    crashes_here(kube)
    with pytest.raises(NotReady, match="CrashLoopBackOff") as failure:
        with deployed(KubernetesTarget(kube.cluster), specs["crashing"], DeployPolicy(mode="keep", timeout=60)):
            pytest.fail("the block must not run")
    assert sdep_names(kube) == []
    outcome = failure.value.outcome  # the type a local NotReady carries too (tests/test_exit_codes.py)
    assert isinstance(outcome, DeployOutcome) and (outcome.action, outcome.previous) == ("created", None)
    assert (outcome.info.name, outcome.info.namespace) == (name_of(specs["crashing"]), kube.namespace)
    assert (outcome.info.model, outcome.info.target) == ("crashing", "k8s")


def test_endpoint_prefers_a_load_balancer_address(kube):
    if not kube.embedded:
        pytest.skip("changes the cluster's ingress Service")
    assert find_ingress(kube.cluster).base_url == f"http://{kube.node_ip}:31380"
    core, name, namespace = kube.cluster.core, "istio-ingressgateway", "istio-system"
    original = kube.cluster.api_client.sanitize_for_serialization(core.read_namespaced_service(name, namespace))
    try:
        # the API server accepts a load balancer's address only on a LoadBalancer Service
        core.patch_namespaced_service(name, namespace, {"spec": {"type": "LoadBalancer"}})
        core.patch_namespaced_service_status(
            name, namespace, {"status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.7"}]}}}
        )
        assert (
            find_ingress(kube.cluster).prediction_url("default", "m")
            == "http://203.0.113.7:80/seldon/default/m/api/v1.0/predictions"
        )
        core.delete_namespaced_service(name, namespace)
        wait_until(lambda: kube.get("services", name, namespace) is None, 30)
        with pytest.raises(NoIngress, match="no Istio or Ambassador gateway"):
            find_ingress(kube.cluster)
    finally:
        restored = {
            "metadata": {k: original["metadata"][k] for k in ("name", "namespace", "labels")},
            "spec": {k: original["spec"][k] for k in ("type", "selector", "ports")},
        }

        def recreated() -> bool:  # the node port is free again once the old Service is gone
            try:
                core.create_namespaced_service(namespace, restored)
                return True
            except ApiException as error:
                if error.status != 409:
                    return False
                core.patch_namespaced_service_status(name, namespace, {"status": {"loadBalancer": {}}})
                core.patch_namespaced_service(name, namespace, {"spec": {"type": "NodePort"}})
                return True

        wait_until(recreated, 30, interval=0.5)
    assert find_ingress(kube.cluster).base_url == f"http://{kube.node_ip}:31380"


def test_the_api_server_answers_what_our_client_must_handle(kube, specs):
    """The rules of the real API server that the product's code relies on."""
    manifest = seldon_deployment(specs["cnn"])
    created = resources.create_object(kube.cluster, manifest, SELDON)
    with pytest.raises(ApiException) as conflict:
        resources.create_object(kube.cluster, manifest, SELDON)
    assert conflict.value.status == 409 and json.loads(conflict.value.body)["reason"] == "AlreadyExists"
    stale = dict(manifest, metadata=dict(manifest["metadata"], resourceVersion="1"))
    with pytest.raises(ApiException) as outdated:
        resources.replace_object(kube.cluster, stale, SELDON)
    assert outdated.value.status == 409
    broken = dict(manifest, metadata=dict(manifest["metadata"], name="broken"))
    broken["spec"] = {"predictors": [{"name": "x"}]}  # graph is required by the CRD schema
    with pytest.raises(ApiException) as invalid:
        resources.create_object(kube.cluster, broken, SELDON)
    assert invalid.value.status == 422
    bad_labels = dict(manifest, metadata=dict(manifest["metadata"], name="bad-labels", labels={"x": "not ok!"}))
    with pytest.raises(ApiException) as labels:
        resources.create_object(kube.cluster, bad_labels, SELDON)
    assert labels.value.status == 422
    assert resources.get_object(kube.cluster, kube.namespace, "nope", SELDON) is None
    # structural schemas prune what they do not declare
    kube.cluster.custom.patch_namespaced_custom_object_status(
        SELDON.resource.group,
        SELDON.resource.version,
        kube.namespace,
        SELDON.resource.plural,
        created["metadata"]["name"],
        {"status": {"state": "Creating", "notInTheSchema": "pruned"}},
    )
    status = kube.get("seldondeployments", created["metadata"]["name"])["status"]
    assert "notInTheSchema" not in status
    # a foreground delete keeps the object, marked, until its children are gone
    wait_until(lambda: children_of(kube, created["metadata"]["name"]), 30)
    resources.delete_object(kube.cluster, kube.namespace, created["metadata"]["name"], SELDON)
    report = cleanup.delete(kube.cluster, created["metadata"]["name"], kube.namespace, platform=SELDON, timeout=60)
    assert not report.leftovers_removed and children_of(kube, created["metadata"]["name"]) == []


@pytest.mark.parametrize(
    "model, version",
    [
        ("x" * 150, "v" * 80),  # long: cut to the 42-character budget
        ("Ünïcødé 模型 — détection", "2026.11.25-rc1"),  # unicode, upper case, dots
        ("m" * 31, "1"),  # exactly at the cut
        ("same-long-prefix-" * 8 + "a", "v1"),  # long, differing only at the end
    ],
)
def test_identities_at_the_boundary_meet_the_controllers_naming(kube, tmp_path, model, version):
    """The children the controller made (names spelled out here, not taken from the product) fit
    in 63 characters and never fall back to seldon-<md5>."""
    folder = tmp_path / "spec"
    folder.mkdir()
    (folder / "seldon-model.yaml").write_text(
        yaml.safe_dump(
            {
                "name": model,
                "version": version,
                "wrapper": "M.M",
                "image": "example.org/m:1",
                "namespace": kube.namespace,
            },
            allow_unicode=True,
        )
    )
    result = deploy(kube.cluster, SELDON, load_spec(folder))
    assert len(result.name) <= 42 and result.name[0].isalpha()
    names = {
        obj["metadata"]["name"]
        for plural in ("deployments", "services")
        for obj in kube.list(plural, f"{ID}={result.name}")
    }
    assert f"{result.name}-default-0-classifier" in names
    assert {f"{result.name}-default", f"{result.name}-default-classifier"} <= names
    assert not any(n.startswith("seldon-") for n in names)  # the md5 fallback never fired
    assert all(len(n) <= 63 for n in names)
    pods = kube.list("pods", f"{ID}={result.name}")
    assert pods and all(len(p["metadata"]["name"]) <= 63 for p in pods)


def test_cli_against_the_cluster(kube, specs):
    def run(*args):
        return cli(kube, *args)

    context = yaml.safe_load(kube.kubeconfig.read_text())["current-context"]
    deployed_ = run("deploy", str(specs["files"]["cnn"]), "--target", "k8s", "--context", context)
    assert deployed_.returncode == 0, deployed_.stderr
    name = name_of(specs["cnn"])
    assert f"deployed {name}" in deployed_.stdout
    assert f"http://{kube.node_ip}:31380/seldon/{kube.namespace}/{name}/api/v1.0/predictions" in deployed_.stdout
    rows = json.loads(run("list", "--target", "k8s", "-o", "json").stdout)
    assert [(r["name"], r["state"]) for r in rows] == [(name, "Available")]
    assert set(rows[0]) == {f.name for f in dataclasses.fields(DeploymentInfo)}  # the local target's shape too
    assert (
        run("endpoint", name, "--target", "k8s")
        .stdout.strip()
        .endswith(f"/seldon/{kube.namespace}/{name}/api/v1.0/predictions")
    )
    kube.delete("seldondeployments", name, propagation="Orphan")
    wait_until(lambda: kube.get("seldondeployments", name) is None, 30)
    dry = run("prune")
    assert f"would delete Deployment {kube.namespace}/" in dry.stdout and "dry run" in dry.stdout, dry.stdout
    assert run("prune", "--yes").returncode == 0
    wait_until(lambda: "nothing to prune" in run("prune").stdout, 30)
    gone = run("delete", name, "--target", "k8s")
    assert gone.returncode == 3 and "no SeldonDeployment" in gone.stderr  # NotFound, as locally
    assert run("delete", name, "--target", "k8s", "--ignore-not-found").returncode == 0


def test_cli_reports_api_errors_in_one_line(kube, specs):
    """An admission policy (the API server's own CEL admission) refuses every SeldonDeployment in
    the test's namespace: the CLI says so in one line, exit 2, no traceback."""
    policy = f"deny-sdeps-{kube.namespace}"
    admission = kube.cluster.api_client
    from kubernetes import client

    api = client.AdmissionregistrationV1Api(admission)
    api.create_validating_admission_policy(
        {
            "metadata": {"name": policy},
            "spec": {
                "failurePolicy": "Fail",
                "matchConstraints": {
                    "resourceRules": [
                        {
                            "apiGroups": [SELDON.resource.group],
                            "apiVersions": ["*"],
                            "operations": ["CREATE", "UPDATE"],
                            "resources": [SELDON.resource.plural],
                        }
                    ]
                },
                "validations": [{"expression": "false", "message": "rejected by the test's admission policy"}],
            },
        }
    )
    api.create_validating_admission_policy_binding(
        {
            "metadata": {"name": policy},
            "spec": {
                "policyName": policy,
                "validationActions": ["Deny"],
                "matchResources": {
                    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": kube.namespace}}
                },
            },
        }
    )
    try:
        name = name_of(specs["cnn"])

        def refused() -> subprocess.CompletedProcess | None:
            result = cli(kube, "deploy", str(specs["files"]["cnn"]), "--target", "k8s")
            return result if result.returncode != 0 else None

        result = wait_until(refused, 30)  # policies take a moment to be loaded
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert "Kubernetes API answered 422 Unprocessable Entity" in result.stderr
        assert name in result.stderr and "rejected by the test's admission policy" in result.stderr
        assert len(result.stderr.strip().splitlines()[-1]) > 0
        # the library itself raises its own error (the CLI only prints it): the client's stays inside
        from kubernetes.client.exceptions import ApiException

        with pytest.raises(Invalid) as library:
            KubernetesTarget(kube.cluster).deploy(specs["cnn"], DeployPolicy(timeout=30))
        assert not isinstance(library.value, ApiException) and isinstance(library.value.__cause__, ApiException)
        assert "rejected by the test's admission policy" in str(library.value)
    finally:
        api.delete_validating_admission_policy_binding(policy)
        api.delete_validating_admission_policy(policy)


def test_a_crashing_model_names_its_cause_on_the_cluster_too(kube, specs, tmp_path):
    """deploy, logs and describe through the CLI: the model's own error first (from the pod's
    termination message, which FallbackToLogsOnError fills from its log), not the server's noise."""
    crashes_here(kube)
    from tools.cluster.manifests import CRASH_LOG

    kube.serve_container_log(CRASH_LOG, tmp_path)

    def run(*args):
        return cli(kube, *args, "--target", "k8s")

    deployed_ = run("deploy", str(specs["files"]["crashing"]), "--timeout", "60")
    assert deployed_.returncode == 4, deployed_.stderr  # NotReady
    first = deployed_.stderr[deployed_.stderr.index("error: ") :].splitlines()[0]  # after the progress lines
    assert "is Failed" in first and "ValueError: weights file 'w.npz' not found" in first
    assert "logs: seldon-pkg logs" in deployed_.stderr
    name = name_of(specs["crashing"])
    logs = run("logs", name, "--tail", "50")  # through the API server to the node's (kwok's) log endpoint
    assert logs.returncode == 0, logs.stderr
    assert "ValueError: weights file 'w.npz' not found" in logs.stdout and logs.stdout.startswith("[")
    by_model = run("logs", "crashing", "--tail", "50")  # a failed deploy is found by its model name too
    assert by_model.returncode == 0 and "ValueError: weights file 'w.npz' not found" in by_model.stdout, by_model.stderr
    described = run("describe", "crashing")  # by model name
    assert described.returncode == 0, described.stderr
    assert described.stdout.splitlines()[0] == "model error: ValueError: weights file 'w.npz' not found"
    sdep = kube.get("seldondeployments", name)
    container = sdep["spec"]["predictors"][0]["componentSpecs"][0]
    assert container["spec"]["containers"][0]["terminationMessagePolicy"] == "FallbackToLogsOnError"


def test_a_write_that_races_the_controller_is_planned_again(kube, specs, monkeypatch):
    """Someone changed the object between our read and our write: the API answers 409, deploy
    reads it again and applies on the current version."""
    first = deploy(kube.cluster, SELDON, specs["cnn"])
    read = resources.get_object
    raced = []

    def read_then_someone_writes(cluster, namespace, name, kind=SELDON):
        obj = read(cluster, namespace, name, kind)
        if obj is not None and not raced:
            raced.append(name)
            kube.cluster.custom.patch_namespaced_custom_object(
                SELDON.resource.group,
                SELDON.resource.version,
                namespace,
                SELDON.resource.plural,
                name,
                {"metadata": {"annotations": {"x": "y"}}},
            )
        return obj

    monkeypatch.setattr(resources, "get_object", read_then_someone_writes)
    lines: list[str] = []
    again = deploy(kube.cluster, SELDON, specs["cnn"], progress=lines.append)
    assert raced == [first.name] and again.action == "updated"
    assert any("changed while we wrote it" in line for line in lines)
