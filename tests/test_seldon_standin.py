"""The Seldon stand-in's own rules, without a cluster: its webhook (the operator's validation
rules at v1.17.1, served over TLS as the API server calls it) and the children it derives.
tests/test_control_plane.py checks the same webhook through the real API server."""

from __future__ import annotations

import copy
import dataclasses
import json
import ssl
import urllib.request

import pytest

from seldon_pkg.k8s.rollout import evaluate
from seldon_pkg.local.ostools import free_ports
from seldon_pkg.platforms.seldon import SELDON, canary_deployment, operator_deployment_name
from seldon_pkg.spec.model_spec import load_spec
from tests.support.microservice import ROOT
from tools.cluster import pki, seldon_standin, seldon_webhook

SPEC = load_spec(ROOT / "demo_mnist" / "mnist-cnn.yaml")


def canary() -> dict:
    return canary_deployment(SPEC, dataclasses.replace(SPEC, version="v2", image="example.org/m:2"), 20)


def test_what_seldon_pkg_renders_passes_the_operators_rules():
    for manifest in (SELDON.render(SPEC), canary(), SELDON.render(dataclasses.replace(SPEC, protocol="v2"))):
        assert seldon_webhook.validation_errors(manifest["spec"]) == []


def test_traffic_that_does_not_sum_to_100_is_refused():
    manifest = canary()
    manifest["spec"]["predictors"][0]["traffic"] = 60
    manifest["spec"]["predictors"][1]["traffic"] = 30
    assert seldon_webhook.validation_errors(manifest["spec"]) == [
        'spec: Invalid value: "default": Traffic must sum to 100 for multiple predictors'
    ]
    single = SELDON.render(SPEC)
    single["spec"]["predictors"][0]["traffic"] = 50
    assert seldon_webhook.validation_errors(single["spec"]) == [
        'spec: Invalid value: "default": Traffic must sum be 100 for a single predictor when set'
    ]


def test_a_unit_without_a_container_and_other_rules_in_the_operators_words():
    manifest = SELDON.render(SPEC)
    spec = manifest["spec"]
    spec["protocol"], spec["transport"] = "grpc-ish", "carrier-pigeon"
    spec["predictors"][0]["graph"]["children"] = [{"name": "router", "type": "UNKNOWN_TYPE"}]
    spec["predictors"].append(copy.deepcopy(spec["predictors"][0]))  # the same name twice
    spec["predictors"][1]["traffic"] = 100
    errors = seldon_webhook.validation_errors(spec)
    assert errors[:2] == [
        'spec: Invalid value: "grpc-ish": Invalid protocol',
        'spec: Invalid value: "carrier-pigeon": Invalid transport',
    ]
    assert 'spec.predictors[0].graph[0]: Invalid value: "router": Can\'t find container for Predictive Unit' in errors
    assert any("Predictive Unit has no implementation methods defined" in e for e in errors)
    assert 'spec.predictors[1]: Invalid value: "default": Duplicate predictor name' in errors
    message = seldon_webhook.refusal(spec, errors)
    assert message.startswith(f'SeldonDeployment.machinelearing.seldon.io "{spec["name"]}" is invalid: [spec: ')
    prepack = {"predictors": [{"name": "p", "graph": {"name": "m", "implementation": "SKLEARN_SERVER"}}]}
    assert seldon_webhook.validation_errors(prepack) == [
        'spec.predictors[0].graph: Invalid value: "m": Predictive unit modelUri required when using standalone servers',
        'spec.predictors[0].graph: Invalid value: "m": No entry in predictors map for SKLEARN_SERVER',
    ]
    assert seldon_webhook.validation_errors({}) == ['spec: Invalid value: "": Graph contains no predictors']


def test_the_webhook_answers_an_admission_review_over_tls(tmp_path):
    keys = pki.create(tmp_path, ("seldon-webhook",))
    port = free_ports(1)[0]
    stop = seldon_webhook.serve(port, *keys.serving("seldon-webhook"))
    try:
        context = ssl.create_default_context(cafile=str(keys.ca))

        def post(obj: dict, operation: str = "CREATE") -> dict:
            review = {
                "apiVersion": "admission.k8s.io/v1",
                "kind": "AdmissionReview",
                "request": {"uid": "u-7", "operation": operation, "object": obj},
            }
            request = urllib.request.Request(
                f"https://127.0.0.1:{port}{seldon_webhook.PATH}",
                data=json.dumps(review).encode(),
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, context=context, timeout=5) as reply:
                return json.load(reply)["response"]

        assert post(SELDON.render(SPEC)) == {"uid": "u-7", "allowed": True}
        broken = SELDON.render(SPEC)
        broken["spec"]["predictors"][0]["componentSpecs"] = []
        refused = post(broken, "UPDATE")
        assert refused["allowed"] is False and refused["status"]["code"] == 422
        assert "Can't find container for Predictive Unit" in refused["status"]["message"]
        assert post(broken, "DELETE")["allowed"] is True  # registered for create and update only
    finally:
        stop()


def test_one_deployment_per_component_named_as_the_operator_names_it():
    manifest = canary()
    manifest["metadata"].update(namespace="ns", uid="u-1")
    deployments, services = seldon_standin.desired_children(manifest)
    names = [d["metadata"]["name"] for d in deployments]
    # the same rule seldon_pkg predicts the Deployments by (seldon_pkg.platforms.seldon)
    assert names == [
        operator_deployment_name(manifest["metadata"]["name"], p["name"], 0, p["componentSpecs"][0])
        for p in manifest["spec"]["predictors"]
    ]
    two = copy.deepcopy(manifest)
    containers = two["spec"]["predictors"][0]["componentSpecs"][0]["spec"]["containers"]
    containers.append({"name": "sidecar", "image": "example.org/s:1"})
    deployments, services = seldon_standin.desired_children(two)
    assert deployments[0]["metadata"]["name"].endswith("-default-0-classifier-sidecar")
    assert [c["name"] for c in deployments[0]["spec"]["template"]["spec"]["containers"]] == ["classifier", "sidecar"]
    assert {s["metadata"]["name"] for s in services} >= {f"{manifest['metadata']['name']}-default-sidecar"}


@pytest.mark.parametrize("length", [10, 42, 60])
def test_the_stand_in_and_seldon_pkg_agree_on_long_names(length):
    manifest = SELDON.render(SPEC)
    manifest["metadata"].update(name="m" * length, namespace="ns", uid="u-1")
    deployments, _ = seldon_standin.desired_children(manifest)
    assert [d["metadata"]["name"] for d in deployments] == list(SELDON.implied_deployments(manifest))
    # and what it makes is what seldon_pkg's rollout check expects, once rolled out
    for d in deployments:
        d["metadata"]["generation"] = 1
        d["status"] = {"observedGeneration": 1, "updatedReplicas": 1, "availableReplicas": 1, "replicas": 1}
    manifest["status"] = {"state": "Available"}
    assert evaluate(SELDON, manifest, None, None, deployments, []).done


def test_fields_the_api_server_defaults_do_not_make_a_deployment_differ():
    """A rendered container with a readiness probe, as the API server returns it with defaults
    filled in, is the same Deployment (it was replaced on every pass: found on the real node)."""
    sdep = SELDON.render(load_spec(ROOT / "demo_mnist" / "mnist-mlp.yaml"))
    sdep["metadata"]["uid"] = "uid-1"
    (wanted,), _ = seldon_standin.desired_children(sdep)
    served = copy.deepcopy(wanted)
    container = served["spec"]["template"]["spec"]["containers"][0]
    container["readinessProbe"]["httpGet"]["scheme"] = "HTTP"
    container["readinessProbe"]["successThreshold"] = 1
    container["imagePullPolicy"] = "IfNotPresent"
    assert seldon_standin._same_deployment(served, wanted)
    container["readinessProbe"]["httpGet"]["path"] = "/elsewhere"
    assert not seldon_standin._same_deployment(served, wanted)
