"""The calls seldon_pkg makes, per kind, in one table instead of copy-pasted functions.

SeldonDeployments go through ``CustomObjectsApi``; the operator's children through the typed
apps/core APIs, converted to plain dicts so every other module works on dicts only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from seldon_pkg.k8s.connection import Cluster

GROUP, VERSION, PLURAL = "machinelearning.seldon.io", "v1", "seldondeployments"
FIELD_MANAGER = "seldon-pkg"


@dataclass(frozen=True)
class ChildKind:
    """How to list and delete one kind of the operator's children."""

    kind: str
    list_call: Callable[[Cluster], Callable[..., Any]]
    delete_call: Callable[[Cluster], Callable[..., Any]]


CHILD_KINDS = (  # deletion order: owners before what they own (their GC then has less to do)
    ChildKind("Deployment", lambda c: c.apps.list_namespaced_deployment, lambda c: c.apps.delete_namespaced_deployment),
    ChildKind(
        "ReplicaSet", lambda c: c.apps.list_namespaced_replica_set, lambda c: c.apps.delete_namespaced_replica_set
    ),
    ChildKind("Service", lambda c: c.core.list_namespaced_service, lambda c: c.core.delete_namespaced_service),
    ChildKind("Pod", lambda c: c.core.list_namespaced_pod, lambda c: c.core.delete_namespaced_pod),
)


def is_not_found(error: Exception) -> bool:
    return getattr(error, "status", None) == 404


def as_dict(cluster: Cluster, obj: Any) -> dict:
    return cluster.api_client.sanitize_for_serialization(obj)


def get_sdep(cluster: Cluster, namespace: str, name: str) -> dict | None:
    from kubernetes.client.exceptions import ApiException

    try:
        return cluster.custom.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
    except ApiException as error:
        if is_not_found(error):
            return None
        raise


def list_sdeps(cluster: Cluster, namespace: str | None, selector: str | None = None) -> list[dict]:
    if namespace is None:
        reply = cluster.custom.list_cluster_custom_object(GROUP, VERSION, PLURAL, label_selector=selector)
    else:
        reply = cluster.custom.list_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, label_selector=selector)
    return reply.get("items", [])


def create_sdep(cluster: Cluster, manifest: dict) -> dict:
    namespace = manifest["metadata"]["namespace"]
    return cluster.custom.create_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, manifest, field_manager=FIELD_MANAGER
    )


def replace_sdep(cluster: Cluster, manifest: dict) -> dict:
    metadata = manifest["metadata"]
    return cluster.custom.replace_namespaced_custom_object(
        GROUP, VERSION, metadata["namespace"], PLURAL, metadata["name"], manifest, field_manager=FIELD_MANAGER
    )


def delete_sdep(cluster: Cluster, namespace: str, name: str) -> bool:
    """Delete with background propagation; False when it was already gone (404 is success)."""
    from kubernetes.client.exceptions import ApiException

    try:
        cluster.custom.delete_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL, name, propagation_policy="Background"
        )
        return True
    except ApiException as error:
        if is_not_found(error):
            return False
        raise


def list_children(cluster: Cluster, kind: ChildKind, namespace: str, selector: str) -> list[dict]:
    return [as_dict(cluster, item) for item in kind.list_call(cluster)(namespace, label_selector=selector).items]


def delete_child(cluster: Cluster, kind: ChildKind, namespace: str, name: str) -> bool:
    from kubernetes.client.exceptions import ApiException

    try:
        kind.delete_call(cluster)(name, namespace, propagation_policy="Background")
        return True
    except ApiException as error:
        if is_not_found(error):
            return False
        raise
