"""Seldon Core 2 ``mlops.seldon.io/v1alpha1`` Model for one model (Seldon Core 2.10.2).

Seldon Core 2 does not run a model's own image: a Server (MLServer) downloads the model's
artifact from ``spec.storageUri`` and loads it. So the Model needs a storage URI, pointing at
what ``seldon-pkg build --artifact DIR`` wrote and you uploaded (model-settings.json naming
our adapter, the wrapper code, the model files). ``requirements`` name the capabilities the
Server must advertise: ``mlserver`` and ``seldon-pkg`` (add it to the Server's
``extraCapabilities`` on a server image that has the model's requirements, e.g. the one
``seldon-pkg build`` makes). Memory comes from the spec's memory request (else its limit).

Seldon Core 2 is under the Business Source License: we render its Model, we do not ship its
schema (the tests validate against it) and we do not operate it on a cluster yet.
"""

from __future__ import annotations

from typing import Any

from seldon_pkg.errors import SpecError
from seldon_pkg.manifests import object_metadata
from seldon_pkg.spec import ModelSpec

API_VERSION = "mlops.seldon.io/v1alpha1"
KIND = "Model"
REQUIREMENTS = ("mlserver", "seldon-pkg")
GPU_CAPABILITY = "gpu"
"""What a GPU model asks of its Server: a Server on GPU nodes advertises it in
``extraCapabilities`` (Seldon Core 2 has no per-model device request)."""


def model(spec: ModelSpec) -> dict[str, Any]:
    if not spec.storage_uri:
        raise SpecError(
            "storage_uri",
            "is required for platform seldon-v2: Seldon Core 2 loads models from storage "
            "(upload what `seldon-pkg build --artifact DIR` writes and point storage_uri at it)",
        )
    body: dict[str, Any] = {
        "storageUri": spec.storage_uri,
        "requirements": [*REQUIREMENTS, *([GPU_CAPABILITY] if spec.accelerator is not None else [])],
        "replicas": spec.replicas,
    }
    memory = spec.resources.get("requests", {}).get("memory") or spec.resources.get("limits", {}).get("memory")
    if memory:
        body["memory"] = memory
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": object_metadata(spec),
        "spec": body,
    }
