"""When an update counts as rolled out (seldon_pkg.k8s.rollout), on objects shaped as the Seldon
operator, KServe and the Deployment controller write them. No cluster: the cluster tests
(tests/test_k8s_ops.py) run the same rule against real controllers."""

from __future__ import annotations

import copy
import dataclasses
import hashlib

import pytest

from seldon_pkg.k8s.rollout import evaluate
from seldon_pkg.platforms.kserve import KSERVE
from seldon_pkg.platforms.seldon import SELDON, canary_deployment, operator_deployment_name
from seldon_pkg.spec.model_spec import load_spec
from tests.support.microservice import ROOT

SPEC = load_spec(ROOT / "demo_mnist" / "mnist-cnn.yaml")


def applied(manifest: dict, generation: int, version: str, state: str = "Available") -> dict:
    """The object as the API server stores it, with a controller's status."""
    obj = copy.deepcopy(manifest)
    obj["metadata"].update(generation=generation, resourceVersion=version, uid="u-1", namespace="ns")
    obj["status"] = {"state": state}
    return obj


def deployment(name: str, pod: dict, generation=2, observed=2, desired=1, updated=1, available=1, total=1) -> dict:
    """A Deployment as the Deployment controller reports it; ``pod`` is its pod template."""
    return {
        "metadata": {"name": name, "generation": generation},
        "spec": {"replicas": desired, "template": pod},
        "status": {
            "observedGeneration": observed,
            "updatedReplicas": updated,
            "availableReplicas": available,
            "replicas": total,
        },
    }


def template_of(manifest: dict, predictor: int = 0, extra_labels: dict | None = None) -> dict:
    """The pod template the operator derives from a predictor (plus its own additions)."""
    p = manifest["spec"]["predictors"][predictor]
    component = p["componentSpecs"][0]
    labels = {**p["labels"], **component["metadata"]["labels"], "seldon-deployment-id": "x", **(extra_labels or {})}
    labels["app.kubernetes.io/managed-by"] = "seldon-core"  # the operator's own, over ours
    containers = [*component["spec"]["containers"], {"name": "seldon-container-engine", "image": "executor:1.17.1"}]
    return {"metadata": {"labels": labels}, "spec": {"containers": containers}}


def name_of_deployment(manifest: dict, predictor: int = 0) -> str:
    p = manifest["spec"]["predictors"][predictor]
    return operator_deployment_name(manifest["metadata"]["name"], p["name"], 0, p["componentSpecs"][0])


@pytest.fixture
def update():
    """v1 deployed, then the same identity with a new image written (generation 2)."""
    before = SELDON.render(SPEC)
    after = SELDON.render(dataclasses.replace(SPEC, image="example.org/mnist:patched"))
    assert after["metadata"]["name"] == before["metadata"]["name"]
    return applied(before, 1, "10"), applied(after, 2, "11"), before, after


def test_a_stale_available_is_not_rolled_out(update):
    """The operator still says Available (and writes no observedGeneration) while its Deployment
    carries the previous template: the case `deploy` used to return on."""
    previous, written, before, after = update
    name = name_of_deployment(after)
    old = deployment(name, template_of(before), generation=1, observed=1)
    verdict = evaluate(SELDON, written, written, previous, [old], [])
    assert not verdict.done and verdict.failed is None
    assert verdict.waiting == f"Deployment {name} to get the new pod template"


@pytest.mark.parametrize(
    "status, waiting",
    [
        ({"observed": 1}, "the Deployment controller to observe Deployment {name}'s generation 2"),
        ({"updated": 0}, "Deployment {name}: 0 of 1 replicas updated, 1 available, 1 of the previous"),
        ({"available": 0}, "Deployment {name}: 1 of 1 replicas updated, 0 available"),
        ({"total": 2}, "Deployment {name}: 1 of 1 replicas updated, 1 available, 1 of the previous template"),
    ],
)
def test_a_deployment_mid_rollout_is_waited_for(update, status, waiting):
    previous, written, _, after = update
    name = name_of_deployment(after)
    rolling = deployment(name, template_of(after), **status)
    verdict = evaluate(SELDON, written, written, previous, [rolling], [])
    assert not verdict.done and verdict.waiting.startswith(waiting.format(name=name))


def test_rolled_out_when_every_deployment_is_current_and_the_operator_says_available(update):
    previous, written, _, after = update
    done = deployment(name_of_deployment(after), template_of(after))
    assert evaluate(SELDON, written, written, previous, [done], []).done
    creating = dict(written, status={"state": "Creating"})
    verdict = evaluate(SELDON, creating, written, previous, [done], [])
    assert not verdict.done and verdict.waiting == "the controller to say Available (it says Creating)"
    assert evaluate(SELDON, written, written, previous, [], []).waiting.endswith("to be created")


def test_a_canary_needs_both_deployments_and_its_removal_needs_the_canary_gone(update):
    stable, _, before, _ = update
    canary_spec = dataclasses.replace(SPEC, version="v2", image="example.org/mnist:0.2")
    with_canary = applied(canary_deployment(SPEC, canary_spec, 20), 3, "12")
    names = [name_of_deployment(with_canary, 0), name_of_deployment(with_canary, 1)]
    assert names[1].endswith("-canary-0-classifier") and names[0] != names[1]
    main = deployment(names[0], template_of(with_canary, 0))
    verdict = evaluate(SELDON, with_canary, with_canary, stable, [main], [])
    assert verdict.waiting == f"Deployment {names[1]} to be created"
    both = [main, deployment(names[1], template_of(with_canary, 1))]
    assert evaluate(SELDON, with_canary, with_canary, stable, both, []).done
    # undo: the stable spec written back; the canary's Deployment must go
    restored = applied(before, 4, "13")
    verdict = evaluate(SELDON, restored, restored, with_canary, both, [])
    assert verdict.waiting == f"Deployment {names[1]} (no longer in the spec) to be deleted"
    both[1]["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    assert evaluate(SELDON, restored, restored, with_canary, both, []).done


def test_a_crash_looping_pod_of_the_new_template_fails_fast_an_old_ones_does_not(update):
    previous, written, before, after = update
    name = name_of_deployment(after)
    rolling = deployment(name, template_of(after), available=0)

    def pod(template: dict, pod_name: str) -> dict:
        status = {"containerStatuses": [{"name": "classifier", "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}
        return {"metadata": {"name": pod_name, **template["metadata"]}, "spec": template["spec"], "status": status}

    old_pod = pod(template_of(before), "old")
    assert evaluate(SELDON, written, written, previous, [rolling], [old_pod]).failed is None
    verdict = evaluate(SELDON, written, written, previous, [rolling], [old_pod, pod(template_of(after), "new")])
    assert verdict.failed == "containers crashing: new/classifier"


def test_failed_counts_only_once_written_after_our_write(update):
    """A Failed left by the previous generation says nothing of this one; a status the
    controller wrote after our write (its resourceVersion moved on) does."""
    previous, written, _, _ = update
    stale = dict(written, status={"state": "Failed", "description": "old failure"})
    assert evaluate(SELDON, stale, written, previous, [], []).failed is None
    fresh = copy.deepcopy(stale)
    fresh["metadata"]["resourceVersion"] = "14"
    assert evaluate(SELDON, fresh, written, previous, [], []).failed == "old failure"


def test_the_operators_deployment_names():
    """GetDeploymentName at v1.17.1: containers joined, or the component's own name; md5 past 63."""
    two = {"spec": {"containers": [{"name": "a"}, {"name": "b"}]}}
    assert operator_deployment_name("m", "default", 1, two) == "m-default-1-a-b"
    named = {"metadata": {"name": "mine"}, "spec": {"containers": [{"name": "a"}]}}
    assert operator_deployment_name("m", "default", 0, named) == "m-default-0-mine"
    long = "x" * 60
    expected = "seldon-" + hashlib.md5(f"{long}-default-0-a-b".encode()).hexdigest()
    assert operator_deployment_name(long, "default", 0, two) == expected


def test_kserve_is_judged_by_its_predictor_deployment_not_its_observed_generation():
    spec = dataclasses.replace(SPEC, protocol="v2", platform="kserve")
    manifest = KSERVE.render(spec)
    obj = copy.deepcopy(manifest)
    obj["metadata"].update(generation=2, resourceVersion="5", namespace="ns")
    # raw mode copies the Deployment's observedGeneration (7 here: scaled by its HPA) into its own
    obj["status"] = {"observedGeneration": 7, "conditions": [{"type": "Ready", "status": "True"}]}
    name = f"{manifest['metadata']['name']}-predictor"
    pod = {"metadata": {"labels": {}}, "spec": {"containers": manifest["spec"]["predictor"]["containers"]}}
    assert evaluate(KSERVE, obj, obj, None, [deployment(name, pod, generation=7, observed=7)], []).done
    old_pod = {"metadata": {"labels": {}}, "spec": {"containers": [{"name": "kserve-container", "image": "old:1"}]}}
    verdict = evaluate(KSERVE, obj, obj, None, [deployment(name, old_pod)], [])
    assert verdict.waiting == f"Deployment {name} to get the new pod template"
