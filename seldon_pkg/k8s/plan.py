"""The plan step before any write: create, update, or refuse. Pure functions over dicts.

Applying a manifest whose name exists *updates* that SeldonDeployment; that is how a second
model used to replace the first. We update only what seldon_pkg created for the same identity,
unless forced.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from seldon_pkg.errors import Invalid, Refused
from seldon_pkg.limits import check_canary_percent
from seldon_pkg.platforms.labels import ANNOTATION_MODEL, ANNOTATION_VERSION, IDENTITY, MANAGED_BY, MANAGER
from seldon_pkg.values import Action

__all__ = ["Plan", "Refused", "for_update", "plan_apply", "with_canary"]


@dataclass(frozen=True)
class Plan:
    action: Action
    """``created`` (nothing of that name exists) or ``updated`` (ours, same identity)."""
    name: str
    namespace: str
    reason: str


def plan_apply(existing: dict | None, desired: dict, force: bool = False) -> Plan:
    meta = desired["metadata"]
    name, namespace, kind = meta["name"], meta["namespace"], desired["kind"]
    if existing is None:
        return Plan(Action.CREATED, name, namespace, f"no {kind} of that name")
    theirs = existing.get("metadata", {})
    labels = theirs.get("labels") or {}
    if labels.get(MANAGED_BY) != MANAGER and not force:
        raise Refused(
            f"{kind} {namespace}/{name} exists and was not created by seldon-pkg "
            f"(managed-by={labels.get(MANAGED_BY)!r}); refusing to overwrite it (use --force)"
        )
    if labels.get(MANAGED_BY) == MANAGER and labels.get(IDENTITY) != meta["labels"][IDENTITY] and not force:
        annotations = theirs.get("annotations") or {}
        raise Refused(
            f"{kind} {namespace}/{name} belongs to model {annotations.get(ANNOTATION_MODEL)!r} "
            f"version {annotations.get(ANNOTATION_VERSION)!r}, not to this one; refusing (use --force)"
        )
    return Plan(Action.UPDATED, name, namespace, "same model identity: update in place")


def for_update(existing: dict, desired: dict) -> dict:
    """``desired`` carrying ``existing``'s resourceVersion, so a concurrent change is a 409."""
    manifest = copy.deepcopy(desired)
    manifest["metadata"]["resourceVersion"] = existing["metadata"]["resourceVersion"]
    return manifest


def with_canary(stable: dict, canary_predictor: dict, percent: int) -> dict:
    """``stable`` with its first predictor at 100-percent and ``canary_predictor`` at percent."""
    problem = check_canary_percent(percent)
    if problem:
        raise Invalid(f"--canary {problem}")
    manifest: dict[str, Any] = {
        "apiVersion": stable["apiVersion"],
        "kind": stable["kind"],
        "metadata": {
            k: copy.deepcopy(v)
            for k, v in stable["metadata"].items()
            if k in ("name", "namespace", "labels", "annotations", "resourceVersion")
        },
        "spec": copy.deepcopy(stable["spec"]),
    }
    main = dict(manifest["spec"]["predictors"][0], traffic=100 - percent)
    manifest["spec"]["predictors"] = [main, dict(canary_predictor, traffic=percent)]
    return manifest
