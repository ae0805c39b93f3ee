"""One spec, three platforms: pure manifest builders (plain dicts, no cluster needed).

``seldon`` -> SeldonDeployment (seldon_pkg.manifests), ``kserve`` -> InferenceService
(kserve.py), ``seldon-v2`` -> Seldon Core 2 Model (seldon_v2.py). Names come from
naming.py with each platform's budget; labels from labels.py; storage from storage_mounts.py.
"""

from __future__ import annotations

from typing import Any

from seldon_pkg.spec import ModelSpec


def render(spec: ModelSpec) -> dict[str, Any]:
    """The manifest for ``spec`` on its platform (``spec.platform``)."""
    if spec.platform == "kserve":
        from seldon_pkg.platforms.kserve import inference_service

        return inference_service(spec)
    if spec.platform == "seldon-v2":
        from seldon_pkg.platforms.seldon_v2 import model

        return model(spec)
    from seldon_pkg.manifests import seldon_deployment

    return seldon_deployment(spec)


def validate(manifest: dict[str, Any]) -> None:
    """Check a rendered manifest against its platform's schema (raises ManifestError)."""
    kind = manifest.get("kind")
    if kind == "InferenceService":
        from seldon_pkg.platforms.kserve import validate as validate_isvc

        validate_isvc(manifest)
    elif kind == "Model":
        pass  # Seldon Core 2's schema is BSL-licensed: checked in the tests only (tests/fixtures/k8s)
    else:
        from seldon_pkg.schema import validate as validate_sdep

        validate_sdep(manifest)
