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
"""

from __future__ import annotations

from typing import Any

from seldon_pkg import labels as L
from seldon_pkg.accelerator import accelerator_env
from seldon_pkg.errors import ManifestError, SpecError
from seldon_pkg.manifests import object_metadata
from seldon_pkg.naming import MAX_NAME, kserve_derived_names
from seldon_pkg.platforms.storage_mounts import model_dir_env
from seldon_pkg.schema import crd_schema, schema_errors
from seldon_pkg.spec import ModelSpec

API_VERSION = "serving.kserve.io/v1beta1"
KIND = "InferenceService"
CRD_FILE = "kserve-inferenceservice-crd-v0.20.0.yaml"
CONTAINER = "kserve-container"
"""The container name KServe requires for a custom predictor."""
HTTP_PORT = 8080
GRPC_PORT = 8081
DEPLOYMENT_MODE = "serving.kserve.io/deploymentMode"


def inference_service(spec: ModelSpec) -> dict[str, Any]:
    if not spec.image:
        raise SpecError("image", "is required to render an InferenceService (the container image)")
    metadata = object_metadata(spec, **{DEPLOYMENT_MODE: "RawDeployment", L.ANNOTATION_PROTOCOL: spec.protocol})
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
        "ports": [{"containerPort": HTTP_PORT, "name": "http1", "protocol": "TCP"}],
        "env": env,
        "terminationMessagePolicy": "FallbackToLogsOnError",
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


def validate(manifest: dict[str, Any]) -> None:
    """The v0.20.0 schema (unknown fields refused too) and the 63-character derived names."""
    problems = schema_errors(manifest, crd_schema(CRD_FILE, "v1beta1"))
    metadata = manifest.get("metadata", {})
    for kind, derived in kserve_derived_names(metadata.get("name", ""), metadata.get("namespace", "")).items():
        if len(derived) > MAX_NAME:
            problems.append(f"metadata.name: derived {kind} {derived!r} is longer than {MAX_NAME}")
    if problems:
        raise ManifestError("invalid InferenceService:\n  " + "\n  ".join(problems))
