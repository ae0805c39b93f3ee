"""The calls seldon_pkg makes, per kind, in one table instead of copy-pasted functions.

The platforms' custom resources (seldon_pkg.platforms: SeldonDeployment, InferenceService) go through
``CustomObjectsApi``; the operator's children through the typed
apps/core APIs, converted to plain dicts so every other module works on dicts only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from seldon_pkg.k8s.connection import Cluster
from seldon_pkg.platforms.base import Platform

FIELD_MANAGER = "seldon-pkg"


@dataclass(frozen=True)
class ChildKind:
    """How to list and delete one kind of the platform controllers' children."""

    kind: str
    list_call: Callable[[Cluster], Callable[..., Any]]
    delete_call: Callable[[Cluster], Callable[..., Any]]
    labelled: bool = True
    """False for a child the controller does not label (KServe's Ingress): it is found by its
    controller ownerReference to the platform's kind instead."""


CHILD_KINDS = (  # top-down along owner chains: a platform object owns the first four, a Deployment
    # its ReplicaSets, a ReplicaSet its Pods; also the deletion order (the GC then has less to do)
    ChildKind("Deployment", lambda c: c.apps.list_namespaced_deployment, lambda c: c.apps.delete_namespaced_deployment),
    ChildKind(
        "HorizontalPodAutoscaler",  # KServe's raw mode makes one per predictor
        lambda c: c.autoscaling.list_namespaced_horizontal_pod_autoscaler,
        lambda c: c.autoscaling.delete_namespaced_horizontal_pod_autoscaler,
    ),
    ChildKind("Service", lambda c: c.core.list_namespaced_service, lambda c: c.core.delete_namespaced_service),
    ChildKind(
        "Ingress",  # KServe's raw mode: one per InferenceService, owned by it, unlabelled
        lambda c: c.networking.list_namespaced_ingress,
        lambda c: c.networking.delete_namespaced_ingress,
        labelled=False,
    ),
    ChildKind(
        "ReplicaSet", lambda c: c.apps.list_namespaced_replica_set, lambda c: c.apps.delete_namespaced_replica_set
    ),
    ChildKind("Pod", lambda c: c.core.list_namespaced_pod, lambda c: c.core.delete_namespaced_pod),
)
POD = CHILD_KINDS[-1]


def is_not_found(error: Exception) -> bool:
    return getattr(error, "status", None) == 404


def as_dict(cluster: Cluster, obj: Any) -> dict:
    return cluster.api_client.sanitize_for_serialization(obj)


def get_object(cluster: Cluster, namespace: str, name: str, platform: Platform) -> dict | None:
    from kubernetes.client.exceptions import ApiException

    try:
        return cluster.custom.get_namespaced_custom_object(
            platform.resource.group, platform.resource.version, namespace, platform.resource.plural, name
        )
    except ApiException as error:
        if is_not_found(error):
            return None
        raise


def list_objects(cluster: Cluster, namespace: str | None, selector: str | None, platform: Platform) -> list[dict]:
    if namespace is None:
        reply = cluster.custom.list_cluster_custom_object(
            platform.resource.group, platform.resource.version, platform.resource.plural, label_selector=selector
        )
    else:
        reply = cluster.custom.list_namespaced_custom_object(
            platform.resource.group,
            platform.resource.version,
            namespace,
            platform.resource.plural,
            label_selector=selector,
        )
    return reply.get("items", [])


def create_object(cluster: Cluster, manifest: dict, platform: Platform) -> dict:
    namespace = manifest["metadata"]["namespace"]
    return cluster.custom.create_namespaced_custom_object(
        platform.resource.group,
        platform.resource.version,
        namespace,
        platform.resource.plural,
        manifest,
        field_manager=FIELD_MANAGER,
    )


def replace_object(cluster: Cluster, manifest: dict, platform: Platform) -> dict:
    metadata = manifest["metadata"]
    return cluster.custom.replace_namespaced_custom_object(
        platform.resource.group,
        platform.resource.version,
        metadata["namespace"],
        platform.resource.plural,
        metadata["name"],
        manifest,
        field_manager=FIELD_MANAGER,
    )


def delete_object(cluster: Cluster, namespace: str, name: str, platform: Platform) -> bool:
    """Delete with foreground propagation (the object stays, with a ``deletionTimestamp``, until
    the garbage collector has deleted its blocking children); False when it was already gone
    (404 is success)."""
    from kubernetes.client.exceptions import ApiException

    try:
        cluster.custom.delete_namespaced_custom_object(
            platform.resource.group,
            platform.resource.version,
            namespace,
            platform.resource.plural,
            name,
            propagation_policy="Foreground",
        )
        return True
    except ApiException as error:
        if is_not_found(error):
            return False
        raise


def list_children(
    cluster: Cluster, child: ChildKind, namespace: str, owner_kind: Platform, owner: str | None = None
) -> list[dict]:
    """``child`` objects of ``owner`` (of any object of ``owner_kind`` when ``owner`` is None):
    by the controller's label, or for unlabelled kinds by the controller ownerReference."""
    if child.labelled:
        selector = owner_kind.children_selector(owner) if owner else owner_kind.children_label
        return [as_dict(cluster, item) for item in child.list_call(cluster)(namespace, label_selector=selector).items]
    found = []
    for item in child.list_call(cluster)(namespace).items:
        obj = as_dict(cluster, item)
        if owner_name(obj, owner_kind) is not None and owner in (None, owner_name(obj, owner_kind)):
            found.append(obj)
    return found


def owner_name(obj: dict, owner_kind: Platform) -> str | None:
    """The name of the ``owner_kind`` object that ``obj`` says is its controller, if any."""
    for ref in obj["metadata"].get("ownerReferences") or []:
        if ref.get("kind") == owner_kind.resource.kind and ref.get("apiVersion", "").startswith(
            owner_kind.resource.group + "/"
        ):
            return ref.get("name")
    return None


def delete_child(cluster: Cluster, kind: ChildKind, namespace: str, name: str) -> bool:
    from kubernetes.client.exceptions import ApiException

    try:
        kind.delete_call(cluster)(name, namespace, propagation_policy="Background")
        return True
    except ApiException as error:
        if is_not_found(error):
            return False
        raise
