"""Checking a manifest against its CRD's real schema before it reaches a cluster.

Two layers, each what the API server would otherwise reject (or silently change) at deploy
time: the CRD's ``openAPIV3Schema`` (a copy of each platform's CRD ships in ``data/``), and
unknown fields: the API server *prunes* fields a structural schema does not know, so a typo
such as ``predictors[].lables`` would vanish without an error; we refuse it. Each platform adds
its controller's own rules (Seldon's admission webhook: ``seldon.webhook_errors``).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any


@functools.lru_cache(maxsize=4)
def crd_schema(crd_file: str, version_name: str) -> dict[str, Any]:
    """The ``openAPIV3Schema`` of one version of a bundled CRD."""
    from importlib import resources

    import yaml  # only when validating, like jsonschema below

    text = resources.files("seldon_pkg").joinpath("data", crd_file).read_text()
    return schema_of(yaml.safe_load(text), version_name)


def schema_of(crd: dict[str, Any], version_name: str) -> dict[str, Any]:
    version = next(v for v in crd["spec"]["versions"] if v["name"] == version_name)
    return version["schema"]["openAPIV3Schema"]


def schema_errors(manifest: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    """All schema and unknown-field problems, as ``path: message`` strings."""
    import jsonschema  # only when validating: importing the registry (every CLI start) stays cheap

    validator = jsonschema.Draft4Validator(schema)
    problems = [
        f"{'.'.join(str(p) for p in error.absolute_path) or '(root)'}: {error.message}"
        for error in validator.iter_errors(manifest)
    ]
    problems.extend(
        f"{path}: unknown field (the API server would drop it)" for path in _unknown_fields(manifest, schema, "")
    )
    return problems


def _unknown_fields(value: Any, schema: dict[str, Any], path: str) -> Iterator[str]:
    if schema.get("x-kubernetes-preserve-unknown-fields") or not isinstance(value, (dict, list)):
        return
    if isinstance(value, list):
        item_schema = schema.get("items", {})
        for index, item in enumerate(value):
            yield from _unknown_fields(item, item_schema, f"{path}[{index}]")
        return
    properties = schema.get("properties")
    additional = schema.get("additionalProperties")
    for key, item in value.items():
        child_path = f"{path}.{key}" if path else key
        if properties is not None and key in properties:
            yield from _unknown_fields(item, properties[key], child_path)
        elif isinstance(additional, dict):
            yield from _unknown_fields(item, additional, child_path)
        elif properties is not None and additional is not True:
            yield child_path
