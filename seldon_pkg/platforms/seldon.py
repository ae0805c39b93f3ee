"""Seldon Core 1 (1.17.1): a SeldonDeployment per model, and how to read one on a cluster.

One model = one SeldonDeployment with one predictor ``default`` whose graph is a single MODEL
node ``classifier`` served by a container of the same name. A ``protocol: v2`` model gets
``spec.protocol: v2``: the executor then speaks the Open Inference Protocol and calls the
container at ``/v2/models/classifier/...`` (the image's MLServer names its model
``classifier``). A canary is one SeldonDeployment with two predictors (``default`` and
``canary``) splitting traffic.

Name budget (operator/controllers/seldondeployment_controller.go and utils): the Deployment
``<sdep>-<predictor>-<idx>-<container>`` and the Services ``<sdep>-<predictor>`` /
``<sdep>-<predictor>-<container>`` must stay <= 63 characters, or the operator silently
replaces them by ``seldon-<md5>``; with ``default`` (or ``canary``) and ``classifier`` that
leaves 42. On a cluster: children carry ``seldon-deployment-id``; ready when the Deployments
the spec implies have rolled it out and ``status.state`` is ``Available`` (the operator writes
no ``observedGeneration``: seldon_pkg.k8s.rollout); reached at ``/seldon/<namespace>/<name>/api/v1.0/predictions`` on the ingress.

Checks before a cluster sees it: the CRD's schema (``schema.py``) and the admission webhook's
rules (:func:`webhook_errors`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from seldon_pkg.errors import ManifestError, SpecError
from seldon_pkg.limits import check_canary_percent
from seldon_pkg.platforms.base import CustomResource, Platform, PodTemplate, failed_condition
from seldon_pkg.platforms.labels import REVISION, SELDON_DEPLOYMENT_ID, model_labels
from seldon_pkg.platforms.metadata import identity_of, object_metadata, revision_of
from seldon_pkg.platforms.names import CONTAINER, HASH_LENGTH, MAX_NAME, go_json, named
from seldon_pkg.platforms.probes import readiness_probe
from seldon_pkg.platforms.schema import crd_schema, schema_errors
from seldon_pkg.platforms.seldon_parameters import seldon_parameters
from seldon_pkg.platforms.storage_mounts import model_dir_env, seldon_pod_storage
from seldon_pkg.spec.accelerator import accelerator_env
from seldon_pkg.spec.platform_rules import SELDON_RULES
from seldon_pkg.values import Protocol

if TYPE_CHECKING:
    from seldon_pkg.spec.model_spec import ModelSpec

RESOURCE = CustomResource("SeldonDeployment", "machinelearning.seldon.io", "v1", "seldondeployments")
API_VERSION = RESOURCE.api_version
KIND = RESOURCE.kind
CRD_FILE = "seldondeployment-crd-v1.yaml"
PREDICTOR = "default"
CANARY_PREDICTOR = "canary"
COMPONENT_INDEX = "0"
SDEP_MAX = MAX_NAME - len(f"-{PREDICTOR}-{COMPONENT_INDEX}-{CONTAINER}")
"""42: the longest SeldonDeployment name whose derived names all fit in 63."""


class SeldonCore1(Platform):
    rules = SELDON_RULES
    name = rules.name
    resource = RESOURCE
    description_text = "SeldonDeployment (Seldon Core 1)"
    has_canary = True
    children_label = SELDON_DEPLOYMENT_ID
    container = CONTAINER

    def name_budget(self, namespace: str) -> int:
        return SDEP_MAX

    def render(self, spec: ModelSpec) -> dict[str, Any]:
        return _deployment(spec, [_predictor(spec, PREDICTOR, traffic=None)])

    def validate(self, manifest: dict[str, Any]) -> None:
        problems = schema_errors(manifest, crd_schema(CRD_FILE, "v1")) + webhook_errors(manifest)
        if problems:
            raise ManifestError("invalid SeldonDeployment:\n  " + "\n  ".join(problems))

    def failure(self, obj: dict) -> str | None:
        """The operator's ``status.description``, else the message of a failed condition (a
        controller may report its reason in either; the stand-in on the embedded control plane
        writes conditions)."""
        status = obj.get("status") or {}
        return status.get("description") or failed_condition(status)

    def replicas(self, obj: dict) -> int:
        return sum(p.get("replicas", 1) for p in (obj.get("spec") or {}).get("predictors", []))

    def implied_deployments(self, obj: dict) -> dict[str, PodTemplate]:
        """One Deployment per component spec (the operator's createComponents at v1.17.1), its pod
        template carrying each container's image and our revision label (createDeploymentWithoutEngine
        copies the predictor's and component's labels; only ours is compared, the operator sets
        some of the same keys itself, ``app.kubernetes.io/managed-by`` for one). A component
        without containers (a prepackaged server's, filled in by the operator) cannot be
        predicted and is left out."""
        sdep = obj["metadata"]["name"]
        implied = {}
        for predictor in (obj.get("spec") or {}).get("predictors") or []:
            for index, component in enumerate(predictor.get("componentSpecs") or []):
                containers = (component.get("spec") or {}).get("containers") or []
                if not containers:
                    continue
                labels = {**(predictor.get("labels") or {}), **((component.get("metadata") or {}).get("labels") or {})}
                revision = {REVISION: labels[REVISION]} if REVISION in labels else {}
                images = {c["name"]: c["image"] for c in containers if c.get("image")}
                implied[operator_deployment_name(sdep, predictor["name"], index, component)] = PodTemplate(
                    images, revision
                )
        return implied

    def traffic(self, obj: dict) -> dict[str, int] | None:
        predictors = (obj.get("spec") or {}).get("predictors", [])
        return {p["name"]: p.get("traffic", 100) for p in predictors} if len(predictors) > 1 else None

    def path(self, namespace: str, name: str) -> str:
        return f"/seldon/{namespace}/{name}/api/v1.0/predictions"

    def service_path(self, name: str) -> str:
        return "/api/v1.0/predictions"

    def is_front_service(self, service: dict, name: str) -> bool:
        # the operator's predictor Service selects ``seldon-app``; the per-container ones
        # select ``seldon-app-svc-<container>``
        return "seldon-app" in ((service.get("spec") or {}).get("selector") or {})


SELDON = SeldonCore1()
MODEL_HTTP_PORT = 9000
"""The port the operator gives the graph's first container (operator/constants FirstHttpPortNumber
at v1.17.1), in PREDICTIVE_UNIT_HTTP_SERVICE_PORT and MLSERVER_HTTP_PORT."""


def seldon_deployment(spec: ModelSpec) -> dict[str, Any]:
    """The SeldonDeployment for one model."""
    return SELDON.render(spec)


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
    problem = check_canary_percent(canary_traffic)
    if problem:
        raise SpecError("traffic", problem)
    return _deployment(
        stable,
        [
            _predictor(stable, PREDICTOR, traffic=100 - canary_traffic),
            _predictor(canary, CANARY_PREDICTOR, traffic=canary_traffic),
        ],
    )


def _deployment(spec: ModelSpec, predictors: list[dict[str, Any]]) -> dict[str, Any]:
    metadata = object_metadata(SELDON, spec)
    protocol = {"protocol": Protocol.OIP.value} if spec.protocol is Protocol.OIP else {}
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": metadata,
        "spec": {"name": metadata["name"], "predictors": predictors, **protocol},
    }


def _predictor(spec: ModelSpec, predictor_name: str, traffic: int | None) -> dict[str, Any]:
    if not spec.image:
        raise SpecError("image", "is required to render a SeldonDeployment (the container image)")
    pod_labels = model_labels(identity_of(spec), revision_of(spec))
    # FallbackToLogsOnError: a crashing model's last log lines become its termination message,
    # which `deploy` shows (the model's own error first) without anyone reading pod logs
    container: dict[str, Any] = {
        "name": CONTAINER,
        "image": spec.image,
        "terminationMessagePolicy": "FallbackToLogsOnError",
        # the operator gives the graph's first container its first HTTP port (9000)
        "readinessProbe": readiness_probe(spec.protocol, MODEL_HTTP_PORT),
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


def derived_names(sdep: str, predictor: str = PREDICTOR, container: str = CONTAINER) -> dict[str, str]:
    """The names the Seldon operator derives from a SeldonDeployment (for checks and lookups)."""
    return {
        "deployment": f"{sdep}-{predictor}-{COMPONENT_INDEX}-{container}",
        "predictor_service": f"{sdep}-{predictor}",
        "container_service": f"{sdep}-{predictor}-{container}",
        "container_label_key": f"seldon-app-svc-{container}",
    }


def operator_deployment_name(sdep: str, predictor: str, index: int, component: dict[str, Any]) -> str:
    """The name the operator gives the Deployment of ``component`` (the ``index``-th component
    spec of ``predictor``): ``<sdep>-<predictor>-<index>-`` then the component's
    ``metadata.name`` or its containers' names joined by ``-``; over 63 characters,
    ``seldon-<md5 of that>`` (GetDeploymentName in operator/apis/machinelearning.seldon.io/v1/
    seldondeployment_types.go at v1.17.1, with its DEPLOYMENT_NAME_AS_PREFIX unset)."""
    own = (component.get("metadata") or {}).get("name")
    containers = (component.get("spec") or {}).get("containers") or []
    name = f"{sdep}-{predictor}-{index}-" + (own or "-".join(c.get("name", "") for c in containers))
    return name if len(name) <= MAX_NAME else "seldon-" + hashlib.md5(name.encode()).hexdigest()


def chart_release_name(namespace: str, release: str, model: str, version: str) -> str:
    """The name the Helm chart gives a release (manifests/charts/seldon-model/templates/_helpers.tpl).

    The same rule as ``names.deployment_name`` with Seldon's budget, with the release in the
    identity so that two releases of one model never share a name. Two differences come from
    Helm, not from us: the readable part is the release name (Helm already limits it to
    ``[a-z0-9.-]``), and the identity is hashed as Helm's ``toJson`` writes it (Go's encoding:
    no spaces, ``<>&`` and U+2028/9 escaped). ``tests/test_helm.py`` renders hostile values
    with the real ``helm`` and compares them with this function.
    """
    digest = hashlib.sha256(go_json([namespace, release, model, version]).encode()).hexdigest()[:HASH_LENGTH]
    return named(release, digest, SDEP_MAX)


def webhook_errors(manifest: dict[str, Any]) -> list[str]:
    """Seldon's admission rules and the operator's 63-character naming limit."""
    problems: list[str] = []
    sdep = manifest.get("metadata", {}).get("name", "")
    predictors = manifest.get("spec", {}).get("predictors", [])
    names = [p.get("name") for p in predictors]
    if len(set(names)) != len(names):
        problems.append(f"spec.predictors: predictor names must be unique, got {names}")
    if len(predictors) > 1:
        total = sum(int(p.get("traffic", 0)) for p in predictors)
        if total != 100:
            problems.append(f"spec.predictors: traffic must sum to 100 across predictors, got {total}")
    for index, predictor in enumerate(predictors):
        where = f"spec.predictors[{index}]"
        containers = {
            c.get("name")
            for component in predictor.get("componentSpecs", [])
            for c in component.get("spec", {}).get("containers", [])
        }
        for node in _graph_nodes(predictor.get("graph", {})):
            if not node.get("implementation") and node.get("name") not in containers:
                problems.append(f"{where}.graph: node {node.get('name')!r} has no container of that name")
        for container in containers:
            for kind, derived in derived_names(sdep, predictor.get("name", ""), container).items():
                if len(derived) > MAX_NAME:
                    problems.append(f"{where}: derived {kind} name {derived!r} is longer than {MAX_NAME}")
    return problems


def _graph_nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("children", []) or []:
        yield from _graph_nodes(child)
