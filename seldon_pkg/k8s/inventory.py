"""Listing the SeldonDeployments seldon_pkg manages, with what a person needs to see."""

from __future__ import annotations

import datetime

from seldon_pkg import labels as L
from seldon_pkg.k8s import resources as R
from seldon_pkg.k8s.connection import Cluster
from seldon_pkg.k8s.endpoint import NoIngress, find_ingress


def list_deployments(cluster: Cluster, namespace: str | None) -> list[dict]:
    """Rows with name, model, version, revision, namespace, state, replicas, age and url."""
    try:
        ingress = find_ingress(cluster)
    except NoIngress:
        ingress = None
    rows = []
    for sdep in R.list_sdeps(cluster, namespace, L.managed_selector()):
        meta, status = sdep["metadata"], sdep.get("status") or {}
        labels, annotations = meta.get("labels") or {}, meta.get("annotations") or {}
        predictors = sdep["spec"]["predictors"]
        rows.append(
            {
                "name": meta["name"],
                "model": annotations.get(L.ANNOTATION_MODEL, labels.get(L.MODEL)),
                "version": annotations.get(L.ANNOTATION_VERSION, labels.get(L.VERSION)),
                "revision": labels.get(L.REVISION),
                "namespace": meta["namespace"],
                "state": status.get("state", "Unknown"),
                "replicas": sum(p.get("replicas", 1) for p in predictors),
                "traffic": {p["name"]: p.get("traffic", 100) for p in predictors} if len(predictors) > 1 else None,
                "age_seconds": _age(meta.get("creationTimestamp")),
                "url": ingress.prediction_url(meta["namespace"], meta["name"]) if ingress else None,
                "grpc": ingress.grpc_endpoint if ingress else None,
                "protocol": sdep["spec"].get("protocol", "seldon"),
            }
        )
    return sorted(rows, key=lambda r: (r["namespace"], r["name"]))


def _age(timestamp: str | None) -> float | None:
    if not timestamp:
        return None
    created = datetime.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    return round((datetime.datetime.now(datetime.UTC) - created).total_seconds(), 1)
