"""Checking SeldonDeployment manifests before they reach a cluster.

Three layers, each what the API server or the operator would otherwise reject (or silently
change) at deploy time:

1. the real v1 ``openAPIV3Schema`` of Seldon Core 1.17.1's CRD (a copy ships in ``data/``);
2. unknown fields: the API server *prunes* fields the structural schema does not know, so a
   typo such as ``predictors[].lables`` would vanish without an error; we refuse it;
3. Seldon's admission-webhook rules: a container for every graph node, unique predictor names,
   traffic summing to 100 across several predictors, and derived names that fit in 63.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from importlib import resources
from typing import Any

import jsonschema
import yaml

from seldon_pkg.errors import ManifestError
from seldon_pkg.naming import MAX_NAME, derived_names

CRD_FILE = "seldondeployment-crd-v1.yaml"


@functools.lru_cache(maxsize=4)
def crd_schema(crd_file: str = CRD_FILE, version_name: str = "v1") -> dict[str, Any]:
    """The ``openAPIV3Schema`` of one version of a bundled CRD (SeldonDeployment v1 by default)."""
    text = resources.files("seldon_pkg").joinpath("data", crd_file).read_text()
    return schema_of(yaml.safe_load(text), version_name)


def schema_of(crd: dict[str, Any], version_name: str) -> dict[str, Any]:
    version = next(v for v in crd["spec"]["versions"] if v["name"] == version_name)
    return version["schema"]["openAPIV3Schema"]


def schema_errors(manifest: dict[str, Any], schema: dict[str, Any] | None = None) -> list[str]:
    """All schema and unknown-field problems, as ``path: message`` strings."""
    schema = schema or crd_schema()
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


def webhook_errors(manifest: dict[str, Any]) -> list[str]:
    """Seldon's admission rules and the operator's 63-character naming limit."""
    problems: list[str] = []
    sdep = manifest.get("metadata", {}).get("name", "")
    predictors = manifest.get("spec", {}).get("predictors", [])
    names = [p.get("name") for p in predictors]
    if len(set(names)) != len(names):
        problems.append(f"spec.predictors: predictor names must be unique, got {names}")
    if len(predictors) > 1:
        total = sum(int(p.get("traffic", 0)) for p in predictors)
        if total != 100:
            problems.append(f"spec.predictors: traffic must sum to 100 across predictors, got {total}")
    for index, predictor in enumerate(predictors):
        where = f"spec.predictors[{index}]"
        containers = {
            c.get("name")
            for component in predictor.get("componentSpecs", [])
            for c in component.get("spec", {}).get("containers", [])
        }
        for node in _graph_nodes(predictor.get("graph", {})):
            if not node.get("implementation") and node.get("name") not in containers:
                problems.append(f"{where}.graph: node {node.get('name')!r} has no container of that name")
        for container in containers:
            for kind, derived in derived_names(sdep, predictor.get("name", ""), container).items():
                if len(derived) > MAX_NAME:
                    problems.append(f"{where}: derived {kind} name {derived!r} is longer than {MAX_NAME}")
    return problems


def _graph_nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("children", []) or []:
        yield from _graph_nodes(child)


def validate(manifest: dict[str, Any]) -> None:
    """Raise :class:`ManifestError` listing every problem; return quietly when valid."""
    problems = schema_errors(manifest) + webhook_errors(manifest)
    if problems:
        raise ManifestError("invalid SeldonDeployment:\n  " + "\n  ".join(problems))
