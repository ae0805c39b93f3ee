"""SeldonDeployment manifests as pure functions of the spec: plain dicts, no cluster needed.

One model = one SeldonDeployment (named by naming.py) with one predictor ``default`` whose
graph is a single MODEL node ``classifier`` served by a container of the same name. A
``protocol: v2`` model gets ``spec.protocol: v2``: the executor then speaks the Open Inference
Protocol and calls the container at ``/v2/models/classifier/...`` (the image's MLServer names its
model ``classifier``, see packaging.py). A canary
is one SeldonDeployment with two predictors (``default`` and ``canary``) splitting traffic.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import yaml

from seldon_pkg import labels as L
from seldon_pkg.accelerator import accelerator_env
from seldon_pkg.errors import SpecError
from seldon_pkg.naming import (
    CANARY_PREDICTOR,
    CONTAINER,
    PREDICTOR,
    Identity,
    NameBudgetError,
    deployment_name,
    name_budget,
)
from seldon_pkg.parameters import seldon_parameters
from seldon_pkg.platforms.storage_mounts import model_dir_env, seldon_pod_storage
from seldon_pkg.spec import ModelSpec

API_VERSION = "machinelearning.seldon.io/v1"
KIND = "SeldonDeployment"


def identity_of(spec: ModelSpec) -> Identity:
    return Identity(spec.namespace, spec.name, spec.version)


def name_of(spec: ModelSpec) -> str:
    """The deployment's name on the spec's platform (one identity rule, that platform's budget)."""
    try:
        budget = name_budget(spec.platform, spec.namespace)
    except NameBudgetError as error:
        raise SpecError("namespace", str(error)) from None
    return deployment_name(identity_of(spec), budget)


def revision_of(spec: ModelSpec) -> str:
    """A short hash of everything that changes the running pods: image, wrapper, parameters,
    env, resources, replicas, protocol, and the model folder's code and files (not its tests)."""
    from seldon_pkg.model_folder import content_digest
    from seldon_pkg.packaging import IGNORED, TEST_FILES

    content = {
        "image": spec.image,
        "wrapper": spec.wrapper,
        "parameters": dict(spec.parameters),
        "env": dict(spec.env),
        "resources": {k: dict(v) for k, v in spec.resources.items()},
        "replicas": spec.replicas,
        "protocol": spec.protocol,
        "files": content_digest(spec.source_dir, IGNORED, TEST_FILES) if spec.source_dir.is_dir() else None,
    }
    if spec.storage_uri:  # only when set: revisions of specs without storage stay what they were
        content["storage_uri"] = spec.storage_uri
    if spec.accelerator is not None:  # likewise
        content["accelerator"] = spec.accelerator.to_json()
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:8]


def seldon_deployment(spec: ModelSpec) -> dict[str, Any]:
    """The SeldonDeployment for one model."""
    return _deployment(spec, [_predictor(spec, PREDICTOR, traffic=None)])


def canary_deployment(stable: ModelSpec, canary: ModelSpec, canary_traffic: int) -> dict[str, Any]:
    """One SeldonDeployment (named after ``stable``) sending ``canary_traffic`` % to ``canary``."""
    if (stable.namespace, stable.name) != (canary.namespace, canary.name):
        raise SpecError("name", "a canary must be another version of the same model in the same namespace")
    if stable.protocol != canary.protocol:
        raise SpecError(
            "protocol", f"a canary must speak the stable model's protocol ({stable.protocol}), not {canary.protocol}"
        )
    if stable.version == canary.version:
        raise SpecError("version", "the canary must have a different version from the stable model")
    if not 0 < canary_traffic < 100:
        raise SpecError("traffic", f"must be between 1 and 99 percent, got {canary_traffic}")
    return _deployment(
        stable,
        [
            _predictor(stable, PREDICTOR, traffic=100 - canary_traffic),
            _predictor(canary, CANARY_PREDICTOR, traffic=canary_traffic),
        ],
    )


def object_metadata(spec: ModelSpec, **annotations: str) -> dict[str, Any]:
    """The metadata every platform's object carries: its name on that platform, our labels,
    the unabridged identity (plus any platform-specific ``annotations``)."""
    identity = identity_of(spec)
    return {
        "name": name_of(spec),
        "namespace": spec.namespace,
        "labels": L.model_labels(identity, revision_of(spec)),
        "annotations": {**L.model_annotations(identity), **annotations},
    }


def _deployment(spec: ModelSpec, predictors: list[dict[str, Any]]) -> dict[str, Any]:
    metadata = object_metadata(spec)
    name = metadata["name"]
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": metadata,
        "spec": {"name": name, "predictors": predictors, **({"protocol": "v2"} if spec.protocol == "v2" else {})},
    }


def _predictor(spec: ModelSpec, predictor_name: str, traffic: int | None) -> dict[str, Any]:
    if not spec.image:
        raise SpecError("image", "is required to render a SeldonDeployment (the container image)")
    pod_labels = L.model_labels(identity_of(spec), revision_of(spec))
    # FallbackToLogsOnError: a crashing model's last log lines become its termination message,
    # which `deploy` shows (the model's own error first) without anyone reading pod logs
    container: dict[str, Any] = {
        "name": CONTAINER,
        "image": spec.image,
        "terminationMessagePolicy": "FallbackToLogsOnError",
    }
    env = [{"name": k, "value": v} for k, v in sorted({**accelerator_env(spec.accelerator), **spec.env}.items())]
    pod_spec: dict[str, Any] = {"containers": [container]}
    graph: dict[str, Any] = {"name": CONTAINER, "type": "MODEL", "children": []}
    if spec.storage_uri:
        volumes, init_containers, mount = seldon_pod_storage(spec.storage_uri)
        env.append(model_dir_env())
        container["volumeMounts"] = [mount]
        pod_spec["volumes"] = volumes
        if init_containers:
            pod_spec["initContainers"] = init_containers
        graph["modelUri"] = spec.storage_uri
    if env:
        container["env"] = env
    if spec.resources:
        container["resources"] = {k: dict(v) for k, v in spec.resources.items()}
    if spec.accelerator is not None:
        spec.accelerator.apply_to_container(container)
        spec.accelerator.apply_to_pod(pod_spec)
    if spec.parameters:
        graph["parameters"] = seldon_parameters(spec.parameters)
    predictor: dict[str, Any] = {
        "name": predictor_name,
        "replicas": spec.replicas,
        "labels": pod_labels,
        "graph": graph,
        "componentSpecs": [{"metadata": {"labels": pod_labels}, "spec": pod_spec}],
    }
    if traffic is not None:
        predictor["traffic"] = traffic
    return predictor


class _PlainDumper(yaml.SafeDumper):
    """Never writes YAML anchors/aliases: shared label dicts are spelled out in full."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def to_yaml(*documents: dict[str, Any]) -> str:
    """YAML documents separated by ``---``, keys in the order they were built."""
    return "---\n".join(yaml.dump(doc, Dumper=_PlainDumper, sort_keys=False) for doc in documents)
