"""Listing the deployments (SeldonDeployments, InferenceServices) seldon_pkg manages."""

from __future__ import annotations

import datetime

from seldon_pkg.k8s import resources
from seldon_pkg.k8s.connection import Cluster
from seldon_pkg.k8s.endpoint import Ingress, NoIngress, find_ingress, service_route
from seldon_pkg.platforms.base import Platform
from seldon_pkg.platforms.labels import ANNOTATION_MODEL, ANNOTATION_VERSION, MODEL, REVISION, VERSION, managed_selector


def list_deployments(cluster: Cluster, namespace: str | None, platform: Platform) -> list[dict]:
    """Rows with name, model, version, revision, namespace, state, replicas, age and url
    (for KServe the URL on the ingress gateway; ``host`` is the Host header it routes on; with
    no ingress, the deployment's own Service)."""
    try:
        ingress = find_ingress(cluster)
    except NoIngress:
        ingress = None
    rows = []
    for sdep in resources.list_objects(cluster, namespace, managed_selector(), platform):
        meta = sdep["metadata"]
        labels, annotations = meta.get("labels") or {}, meta.get("annotations") or {}
        rows.append(
            {
                "name": meta["name"],
                "model": annotations.get(ANNOTATION_MODEL, labels.get(MODEL)),
                "version": annotations.get(ANNOTATION_VERSION, labels.get(VERSION)),
                "revision": labels.get(REVISION),
                "namespace": meta["namespace"],
                "state": platform.state(sdep),
                "replicas": platform.replicas(sdep),
                "traffic": platform.traffic(sdep),
                "age_seconds": _age(meta.get("creationTimestamp")),
                **_address(cluster, ingress, platform, meta["namespace"], meta["name"]),
                "host": platform.host(sdep) if ingress else None,
                "protocol": platform.protocol(sdep),
                "platform": platform.name,
            }
        )
    return sorted(rows, key=lambda r: (r["namespace"], r["name"]))


def _address(cluster: Cluster, ingress: Ingress | None, platform: Platform, namespace: str, name: str) -> dict:
    if ingress is not None:
        return {"url": ingress.base_url + platform.path(namespace, name), "grpc": ingress.grpc_endpoint}
    route = service_route(cluster, namespace, name, platform)
    return {"url": route.url if route else None, "grpc": route.grpc_endpoint if route else None}


def _age(timestamp: str | None) -> float | None:
    if not timestamp:
        return None
    created = datetime.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    return round((datetime.datetime.now(datetime.UTC) - created).total_seconds(), 1)
