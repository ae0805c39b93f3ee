"""The custom resource each platform deploys, and how to read it, in one table.

Cluster code (deploy, list, delete, prune, endpoint) works on any :class:`CustomKind`:

* ``seldon``: SeldonDeployment (Seldon Core 1.17.1). Children carry ``seldon-deployment-id``;
  ready when ``status.state`` is ``Available``; reached at
  ``/seldon/<namespace>/<name>/api/v1.0/predictions`` on the ingress.
* ``kserve``: InferenceService in RawDeployment mode (KServe v0.20.0). Children (Deployment,
  ReplicaSet, Pods, Service ``<isvc>-predictor``) carry ``serving.kserve.io/inferenceservice``
  (pkg/controller/v1beta1/inferenceservice/components/predictor.go sets
  ``constants.InferenceServicePodLabelKey``); ready when the ``Ready`` condition is ``True``;
  failed when ``status.modelStatus.transitionStatus`` is ``BlockedByFailedLoad`` or
  ``InvalidSpec``; reached on the Istio ingress gateway with the Host header of
  ``status.url`` (``<isvc>-<namespace>.<ingress domain>``) at ``/v2/models/classifier/infer``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from seldon_pkg import labels as L
from seldon_pkg.naming import CONTAINER


def _seldon_state(obj: dict) -> str:
    return (obj.get("status") or {}).get("state", "Unknown")


def _kserve_state(obj: dict) -> str:
    status = obj.get("status") or {}
    if (status.get("modelStatus") or {}).get("transitionStatus") in ("BlockedByFailedLoad", "InvalidSpec"):
        return "Failed"
    for condition in status.get("conditions") or []:
        if condition.get("type") == "Ready":
            return "Available" if condition.get("status") == "True" else "Creating"
    return "Unknown"


def _failed_condition(status: dict) -> str | None:
    for condition in status.get("conditions") or []:
        if condition.get("status") == "False" and condition.get("message"):
            return f"{condition.get('type')}: {condition['message']}"
    return None


def _seldon_description(obj: dict) -> str | None:
    """The operator's ``status.description``, else the message of a failed condition (a
    controller may report its reason in either; the stand-in on the embedded control plane
    writes conditions)."""
    status = obj.get("status") or {}
    return status.get("description") or _failed_condition(status)


def _kserve_description(obj: dict) -> str | None:
    status = obj.get("status") or {}
    failure = (status.get("modelStatus") or {}).get("lastFailureInfo") or {}
    if failure:
        return f"{failure.get('reason', '')}: {failure.get('message', '')}".strip(": ")
    return _failed_condition(status)


@dataclass(frozen=True)
class CustomKind:
    platform: str
    kind: str
    group: str
    version: str
    plural: str
    children_label: str
    """The label the platform's controller puts on every child, valued with the owner's name."""
    state: Callable[[dict], str]
    """``Available``, ``Failed`` or a transitional state, from the object's status."""
    description: Callable[[dict], str | None]
    container: str
    """The model container's name inside the pods (for logs)."""

    def children_selector(self, name: str) -> str:
        return f"{self.children_label}={name}"

    def replicas(self, obj: dict) -> int:
        spec = obj.get("spec") or {}
        if self.platform == "kserve":
            return int((spec.get("predictor") or {}).get("minReplicas", 1))
        return sum(p.get("replicas", 1) for p in spec.get("predictors", []))

    def traffic(self, obj: dict) -> dict[str, int] | None:
        predictors = (obj.get("spec") or {}).get("predictors", [])
        return {p["name"]: p.get("traffic", 100) for p in predictors} if len(predictors) > 1 else None

    def protocol(self, obj: dict) -> str:
        if self.platform == "kserve":
            return "v2"
        return (obj.get("spec") or {}).get("protocol", "seldon")

    def host(self, obj: dict) -> str | None:
        """The Host header the ingress routes on (KServe); None when routing is by path."""
        if self.platform != "kserve":
            return None
        url = (obj.get("status") or {}).get("url")
        return urlsplit(url).hostname if url else None

    def path(self, namespace: str, name: str) -> str:
        if self.platform == "kserve":
            return f"/v2/models/{CONTAINER}/infer"
        return f"/seldon/{namespace}/{name}/api/v1.0/predictions"


SELDON = CustomKind(
    "seldon",
    "SeldonDeployment",
    "machinelearning.seldon.io",
    "v1",
    "seldondeployments",
    L.SELDON_DEPLOYMENT_ID,
    _seldon_state,
    _seldon_description,
    CONTAINER,
)
KSERVE = CustomKind(
    "kserve",
    "InferenceService",
    "serving.kserve.io",
    "v1beta1",
    "inferenceservices",
    L.KSERVE_INFERENCESERVICE,
    _kserve_state,
    _kserve_description,
    "kserve-container",
)
KINDS = {kind.platform: kind for kind in (SELDON, KSERVE)}


def kind_for(platform: str) -> CustomKind:
    """The cluster kind of ``platform``; Seldon Core 2 has no cluster operations yet."""
    from seldon_pkg.errors import Invalid

    if platform not in KINDS:
        raise Invalid(
            f"platform {platform}: cluster operations are not supported yet; "
            "render the Model with `seldon-pkg render --platform seldon-v2` and apply it with kubectl"
        )
    return KINDS[platform]
