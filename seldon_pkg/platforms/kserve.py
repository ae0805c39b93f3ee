"""KServe ``serving.kserve.io/v1beta1`` InferenceService for one model (KServe v0.20.0).

The predictor is our image as a custom container (``kserve-container``, MLServer speaking the
Open Inference Protocol on KServe's port 8080, gRPC on 8081), rendered for RawDeployment mode
(``serving.kserve.io/deploymentMode: RawDeployment``: a plain Deployment and Service
``<isvc>-predictor``, no Knative). The model's name inside MLServer is ``classifier`` (the
image's model folder, packaging.py), so clients call
``http://<isvc>-<namespace>.<ingress domain>/v2/models/classifier/infer``. ``storage_uri``
becomes ``STORAGE_URI`` (storage_mounts.py). Replicas are fixed (min = max); labels go on
the InferenceService and, through ``predictor.labels``, on the Deployment and pods.

Custom containers carry no ``protocolVersion`` (that field belongs to the model-format form,
``predictor.model``, which needs a ServingRuntime); the protocol is recorded in our
annotation ``seldon-pkg.io/protocol``. Canary rollouts (``canaryTrafficPercent``) need
KServe's Serverless mode and are not rendered.

Name budget (pkg/constants/constants.go ``PredictorServiceName`` gives the Deployment and
Service ``<isvc>-predictor``; reconcilers/ingress/kube_ingress_reconciler.go renders the hosts
through ``DefaultDomainTemplate`` ``{{ .Name }}-{{ .Namespace }}.{{ .IngressDomain }}``
(apis/serving/v1beta1/configmap.go) with ``.Name`` = ``<isvc>-predictor`` for the component
host): the first host label ``<isvc>-predictor-<namespace>`` must fit in 63 (a longer one
breaks the URL, kserve issue #4807), so the budget is ``52 - len(namespace)``; a namespace of
41 to 45 characters gets an all-hash name (names.short_deployment_name).

On a cluster (RawDeployment mode): children (Deployment, ReplicaSet, Pods, Service
``<isvc>-predictor``) carry ``serving.kserve.io/inferenceservice``
(pkg/controller/v1beta1/inferenceservice/components/predictor.go sets
``constants.InferenceServicePodLabelKey``); ready when the ``Ready`` condition is ``True``;
failed when ``status.modelStatus.transitionStatus`` is ``BlockedByFailedLoad`` or
``InvalidSpec``; reached on the Istio ingress gateway with the Host header of ``status.url``
(``<isvc>-<namespace>.<ingress domain>``) at ``/v2/models/classifier/infer``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from seldon_pkg.errors import ManifestError, SpecError
from seldon_pkg.platforms.base import CustomResource, Platform, PodTemplate, failed_condition
from seldon_pkg.platforms.labels import ANNOTATION_PROTOCOL, KSERVE_INFERENCESERVICE
from seldon_pkg.platforms.metadata import object_metadata
from seldon_pkg.platforms.names import CONTAINER as MODEL_NAME
from seldon_pkg.platforms.names import MAX_NAME, SHORTEST_HASH_NAME, NameBudgetError
from seldon_pkg.platforms.probes import readiness_probe
from seldon_pkg.platforms.schema import crd_schema, schema_errors
from seldon_pkg.platforms.storage_mounts import model_dir_env
from seldon_pkg.spec.accelerator import accelerator_env
from seldon_pkg.spec.platform_rules import KSERVE_RULES

if TYPE_CHECKING:
    from seldon_pkg.spec.model_spec import ModelSpec

RESOURCE = CustomResource("InferenceService", "serving.kserve.io", "v1beta1", "inferenceservices")
API_VERSION = RESOURCE.api_version
KIND = RESOURCE.kind
CRD_FILE = "kserve-inferenceservice-crd-v0.20.0.yaml"
CONTAINER = "kserve-container"
"""The container name KServe requires for a custom predictor."""
HTTP_PORT = 8080
GRPC_PORT = 8081
DEPLOYMENT_MODE = "serving.kserve.io/deploymentMode"
PREDICTOR = "predictor"
"""KServe's component name: its Deployment/Service is ``<isvc>-predictor``."""
FAILED_TRANSITIONS = ("BlockedByFailedLoad", "InvalidSpec")


class KServe(Platform):
    rules = KSERVE_RULES
    name = rules.name
    resource = RESOURCE
    description_text = "InferenceService (KServe, RawDeployment)"
    children_label = KSERVE_INFERENCESERVICE
    container = CONTAINER

    def name_budget(self, namespace: str) -> int:
        budget = min(
            MAX_NAME - len(f"-{PREDICTOR}"),  # Deployment / Service <isvc>-predictor
            MAX_NAME - len(f"-{PREDICTOR}-{namespace}"),  # host label <isvc>-predictor-<ns>
            MAX_NAME - len(f"-{namespace}"),  # top-level host label <isvc>-<ns>
        )
        if budget < SHORTEST_HASH_NAME:
            raise NameBudgetError(
                f"namespace {namespace!r} is {len(namespace)} characters: KServe's host label "
                f"<name>-{PREDICTOR}-<namespace> must fit in {MAX_NAME}, which leaves no room for a name; "
                f"use a namespace of at most {MAX_NAME - len(f'-{PREDICTOR}-') - SHORTEST_HASH_NAME} characters"
            )
        return budget

    def render(self, spec: ModelSpec) -> dict[str, Any]:
        return inference_service(spec)

    def validate(self, manifest: dict[str, Any]) -> None:
        """The v0.20.0 schema (unknown fields refused too) and the 63-character derived names."""
        problems = schema_errors(manifest, crd_schema(CRD_FILE, "v1beta1"))
        metadata = manifest.get("metadata", {})
        for kind, derived in derived_names(metadata.get("name", ""), metadata.get("namespace", "")).items():
            if len(derived) > MAX_NAME:
                problems.append(f"metadata.name: derived {kind} {derived!r} is longer than {MAX_NAME}")
        if problems:
            raise ManifestError("invalid InferenceService:\n  " + "\n  ".join(problems))

    def state(self, obj: dict) -> str:
        status = obj.get("status") or {}
        if (status.get("modelStatus") or {}).get("transitionStatus") in FAILED_TRANSITIONS:
            return "Failed"
        for condition in status.get("conditions") or []:
            if condition.get("type") == "Ready":
                return "Available" if condition.get("status") == "True" else "Creating"
        return "Unknown"

    def failure(self, obj: dict) -> str | None:
        status = obj.get("status") or {}
        failure = (status.get("modelStatus") or {}).get("lastFailureInfo") or {}
        if failure:
            return f"{failure.get('reason', '')}: {failure.get('message', '')}".strip(": ")
        return failed_condition(status)

    def replicas(self, obj: dict) -> int:
        return int(((obj.get("spec") or {}).get("predictor") or {}).get("minReplicas", 1))

    def implied_deployments(self, obj: dict) -> dict[str, PodTemplate]:
        """Standard (raw) mode's ``<isvc>-predictor`` with the predictor's container images. Its
        ``status.observedGeneration`` cannot say whether KServe has acted on an update: in raw
        mode v0.20.0 copies the Deployment's observedGeneration there (PropagateRawStatus in
        pkg/apis/serving/v1beta1/inference_service_status.go), another object's counter. A
        predictor without containers (a model format) cannot be predicted and is left out."""
        metadata = obj["metadata"]
        containers = ((obj.get("spec") or {}).get("predictor") or {}).get("containers") or []
        images = {c["name"]: c["image"] for c in containers if c.get("name") and c.get("image")}
        if not images:
            return {}
        return {derived_names(metadata["name"], metadata.get("namespace", ""))["deployment"]: PodTemplate(images)}

    def host(self, obj: dict) -> str | None:
        url = (obj.get("status") or {}).get("url")
        return urlsplit(url).hostname if url else None

    def path(self, namespace: str, name: str) -> str:
        return f"/v2/models/{MODEL_NAME}/infer"

    def needs_host_header(self) -> bool:
        return True

    def service_path(self, name: str) -> str:
        return f"/v2/models/{MODEL_NAME}/infer"

    def is_front_service(self, service: dict, name: str) -> bool:
        # RawDeployment: the predictor's Deployment and its Service are ``<name>-predictor``
        return service["metadata"]["name"] == f"{name}-predictor"


KSERVE = KServe()


def inference_service(spec: ModelSpec) -> dict[str, Any]:
    if not spec.image:
        raise SpecError("image", "is required to render an InferenceService (the container image)")
    metadata = object_metadata(
        KSERVE, spec, **{DEPLOYMENT_MODE: "RawDeployment", ANNOTATION_PROTOCOL: str(spec.protocol)}
    )
    env = [
        {"name": "MLSERVER_HTTP_PORT", "value": str(HTTP_PORT)},
        {"name": "MLSERVER_GRPC_PORT", "value": str(GRPC_PORT)},
        *({"name": k, "value": v} for k, v in sorted({**accelerator_env(spec.accelerator), **spec.env}.items())),
    ]
    if spec.storage_uri:
        env += [{"name": "STORAGE_URI", "value": spec.storage_uri}, model_dir_env()]
    container: dict[str, Any] = {
        "name": CONTAINER,
        "image": spec.image,
        # KServe's raw Service maps the first port to 80 and each further one to itself
        # (reconcilers/service/service_reconciler.go createDefaultSvc): gRPC on <service>:8081
        "ports": [
            {"containerPort": HTTP_PORT, "name": "http1", "protocol": "TCP"},
            {"containerPort": GRPC_PORT, "name": "grpc", "protocol": "TCP"},
        ],
        "env": env,
        "terminationMessagePolicy": "FallbackToLogsOnError",
        "readinessProbe": readiness_probe(spec.protocol, HTTP_PORT),
    }
    if spec.resources:
        container["resources"] = {k: dict(v) for k, v in spec.resources.items()}
    predictor: dict[str, Any] = {
        "minReplicas": spec.replicas,
        "maxReplicas": max(spec.replicas, 1),
        "labels": dict(metadata["labels"]),
        "containers": [container],
    }
    if spec.accelerator is not None:  # the predictor inlines a pod spec: tolerations, nodeSelector
        spec.accelerator.apply_to_container(container)
        spec.accelerator.apply_to_pod(predictor)
    return {"apiVersion": API_VERSION, "kind": KIND, "metadata": metadata, "spec": {"predictor": predictor}}


def derived_names(isvc: str, namespace: str) -> dict[str, str]:
    """What KServe v0.20.0 derives from an InferenceService in RawDeployment mode (for checks)."""
    return {
        "deployment": f"{isvc}-{PREDICTOR}",
        "service": f"{isvc}-{PREDICTOR}",
        "host_label": f"{isvc}-{PREDICTOR}-{namespace}",
        "top_level_host_label": f"{isvc}-{namespace}",
    }
