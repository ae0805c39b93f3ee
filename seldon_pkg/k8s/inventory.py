"""Listing the deployments (SeldonDeployments, InferenceServices) seldon_pkg manages."""

from __future__ import annotations

import datetime

from seldon_pkg.k8s import resources
from seldon_pkg.k8s.connection import Cluster
from seldon_pkg.k8s.endpoint import NoIngress, find_ingress
from seldon_pkg.platforms.base import Platform
from seldon_pkg.platforms.labels import ANNOTATION_MODEL, ANNOTATION_VERSION, MODEL, REVISION, VERSION, managed_selector


def list_deployments(cluster: Cluster, namespace: str | None, platform: Platform) -> list[dict]:
    """Rows with name, model, version, revision, namespace, state, replicas, age and url
    (for KServe the URL on the ingress gateway; ``host`` is the Host header it routes on)."""
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
                "url": ingress.base_url + platform.path(meta["namespace"], meta["name"]) if ingress else None,
                "host": platform.host(sdep),
                "grpc": ingress.grpc_endpoint if ingress else None,
                "protocol": platform.protocol(sdep),
                "platform": platform.name,
            }
        )
    return sorted(rows, key=lambda r: (r["namespace"], r["name"]))


def _age(timestamp: str | None) -> float | None:
    if not timestamp:
        return None
    created = datetime.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    return round((datetime.datetime.now(datetime.UTC) - created).total_seconds(), 1)
