"""Which deployment a user means: one rule for every verb that takes a deployment.

A reference is, in this order:

* a spec, named explicitly: ``--spec PATH``, or a path ending in ``.yaml``/``.yml``, or a
  folder holding ``seldon-model.yaml``: the deployment that spec's identity names;
* a deployment name (``mnist-cnn-v1-495084fa8a``: the shape platforms/names.py gives, taken as is);
* a model name (``mnist-cnn``), with ``--version`` when several versions are deployed.

A bare word is never read as a file because a file of that name happens to exist. An
ambiguous reference is an error listing the candidates.
"""

from __future__ import annotations

from pathlib import Path

from seldon_pkg.errors import Invalid, NotFound
from seldon_pkg.platforms.names import is_deployment_name
from seldon_pkg.spec.model_spec import SPEC_FILENAME, load_spec
from seldon_pkg.targets.base import DeploymentInfo, Target

SPEC_SUFFIXES = (".yaml", ".yml")


def names_a_spec(reference: str) -> bool:
    path = Path(reference)
    return path.suffix.lower() in SPEC_SUFFIXES or (path.is_dir() and (path / SPEC_FILENAME).is_file())


def resolve(
    target: Target,
    reference: str | None,
    *,
    namespace: str | None = None,
    version: str | None = None,
    spec: str | Path | None = None,
) -> tuple[str, str | None]:
    """``(deployment name, namespace)`` for a reference, raising ``NotFound`` or ``Invalid``."""
    from seldon_pkg.platforms.registry import name_of

    if spec is not None or (reference is not None and names_a_spec(reference)):
        loaded = load_spec(spec if spec is not None else reference)  # type: ignore[arg-type]
        return name_of(loaded), namespace or loaded.namespace
    if not reference:
        raise Invalid("name a deployment: NAME, a model name, or --spec PATH")
    if is_deployment_name(reference) and version is None:
        return reference, namespace  # the target itself says NotFound (and cleans leftovers on delete)
    found = find(target, reference, namespace=namespace, version=version)
    return found.name, found.namespace


def find(target: Target, reference: str, *, namespace: str | None = None, version: str | None = None) -> DeploymentInfo:
    rows = target.list(namespace or target.default_namespace)
    by_name = [r for r in rows if r.name == reference]
    if by_name and version is None:
        return _one(by_name, reference)
    by_model = [r for r in rows if r.model == reference and version in (None, r.version)]
    if not by_model:
        where = (
            f" in namespace {namespace or target.default_namespace}" if (namespace or target.default_namespace) else ""
        )
        known = ", ".join(sorted({f"{r.name} ({r.model} {r.version})" for r in rows})) or "none"
        raise NotFound(
            f"no deployment or model named {reference!r}"
            + (f" with version {version!r}" if version else "")
            + f"{where}; deployed: {known}"
        )
    return _one(by_model, reference)


def _one(candidates: list[DeploymentInfo], reference: str) -> DeploymentInfo:
    if len(candidates) == 1:
        return candidates[0]
    listed = "; ".join(f"{r.namespace}/{r.name} ({r.model} {r.version})" for r in candidates)
    raise Invalid(f"{reference!r} is ambiguous: {listed}; pass --version, --namespace or the deployment name")
