"""What every platform's object carries: its name, our labels, the unabridged identity.

Also the revision: a short hash of everything that changes the running pods, the same on
every platform, so ``list`` and ``prune`` can tell revisions apart wherever they run.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from seldon_pkg.errors import SpecError
from seldon_pkg.model_folder import IGNORED, TEST_FILES, content_digest
from seldon_pkg.platforms.labels import model_annotations, model_labels
from seldon_pkg.platforms.names import Identity, NameBudgetError, deployment_name

if TYPE_CHECKING:
    from seldon_pkg.platforms.base import Platform
    from seldon_pkg.spec.model_spec import ModelSpec


def identity_of(spec: ModelSpec) -> Identity:
    return Identity(spec.namespace, spec.name, spec.version)


def deployment_name_on(platform: Platform, spec: ModelSpec) -> str:
    """The deployment's name on ``platform`` (one identity rule, that platform's budget)."""
    try:
        budget = platform.name_budget(spec.namespace)
    except NameBudgetError as error:
        raise SpecError("namespace", str(error)) from None
    return deployment_name(identity_of(spec), budget)


def revision_of(spec: ModelSpec) -> str:
    """A short hash of everything that changes the running pods: image, wrapper, parameters,
    env, resources, replicas, protocol, and the model folder's code and files (not its tests)."""
    content: dict[str, Any] = {
        "image": spec.image,
        "wrapper": spec.wrapper,
        "parameters": dict(spec.parameters),
        "env": dict(spec.env),
        "resources": {k: dict(v) for k, v in spec.resources.items()},
        "replicas": spec.replicas,
        "protocol": str(spec.protocol),
        "files": content_digest(spec.source_dir, IGNORED, TEST_FILES) if spec.source_dir.is_dir() else None,
    }
    if spec.storage_uri:  # only when set: revisions of specs without storage stay what they were
        content["storage_uri"] = spec.storage_uri
    if spec.accelerator is not None:  # likewise
        content["accelerator"] = spec.accelerator.to_json()
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:8]


def object_metadata(platform: Platform, spec: ModelSpec, **annotations: str) -> dict[str, Any]:
    """The metadata of ``spec``'s object on ``platform``: its name there, our labels, the
    unabridged identity (plus any platform-specific ``annotations``)."""
    identity = identity_of(spec)
    return {
        "name": deployment_name_on(platform, spec),
        "namespace": spec.namespace,
        "labels": model_labels(identity, revision_of(spec)),
        "annotations": {**model_annotations(identity), **annotations},
    }
