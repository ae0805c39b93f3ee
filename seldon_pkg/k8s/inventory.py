"""Listing the deployments (SeldonDeployments, InferenceServices) seldon_pkg manages."""

from __future__ import annotations

import datetime

from seldon_pkg import labels as L
from seldon_pkg.k8s import resources as R
from seldon_pkg.k8s.connection import Cluster
from seldon_pkg.k8s.endpoint import NoIngress, find_ingress
from seldon_pkg.k8s.kinds import SELDON, CustomKind


def list_deployments(cluster: Cluster, namespace: str | None, kind: CustomKind = SELDON) -> list[dict]:
    """Rows with name, model, version, revision, namespace, state, replicas, age and url
    (for KServe the URL on the ingress gateway; ``host`` is the Host header it routes on)."""
    try:
        ingress = find_ingress(cluster)
    except NoIngress:
        ingress = None
    rows = []
    for sdep in R.list_objects(cluster, namespace, L.managed_selector(), kind):
        meta = sdep["metadata"]
        labels, annotations = meta.get("labels") or {}, meta.get("annotations") or {}
        rows.append(
            {
                "name": meta["name"],
                "model": annotations.get(L.ANNOTATION_MODEL, labels.get(L.MODEL)),
                "version": annotations.get(L.ANNOTATION_VERSION, labels.get(L.VERSION)),
                "revision": labels.get(L.REVISION),
                "namespace": meta["namespace"],
                "state": kind.state(sdep),
                "replicas": kind.replicas(sdep),
                "traffic": kind.traffic(sdep),
                "age_seconds": _age(meta.get("creationTimestamp")),
                "url": ingress.base_url + kind.path(meta["namespace"], meta["name"]) if ingress else None,
                "host": kind.host(sdep),
                "grpc": ingress.grpc_endpoint if ingress else None,
                "protocol": kind.protocol(sdep),
                "platform": kind.platform,
            }
        )
    return sorted(rows, key=lambda r: (r["namespace"], r["name"]))


def _age(timestamp: str | None) -> float | None:
    if not timestamp:
        return None
    created = datetime.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    return round((datetime.datetime.now(datetime.UTC) - created).total_seconds(), 1)
