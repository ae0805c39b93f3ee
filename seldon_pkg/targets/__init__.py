"""Deployment targets: one API (``Target``) for the local runtime and for a cluster."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from seldon_pkg.errors import Invalid
from seldon_pkg.targets.base import DeleteOutcome, DeploymentInfo, DeployOutcome, DeployPolicy, Endpoint, Target
from seldon_pkg.targets.lifecycle import deployed

TARGETS = ("local", "k8s")

__all__ = [
    "TARGETS",
    "DeleteOutcome",
    "DeployOutcome",
    "DeployPolicy",
    "DeploymentInfo",
    "Endpoint",
    "Target",
    "deployed",
    "open_target",
]


def open_target(
    kind: str,
    *,
    state_dir: str | Path | None = None,
    context: str | None = None,
    progress: Callable[[str], None] = lambda _: None,
    platform: str | None = None,
) -> Target:
    """The target of that kind; nothing is contacted until it is used. ``platform`` chooses the
    cluster's custom resource (a name in ``platforms.registry``; ``None``: the registry's
    default); the local runtime serves every platform alike."""
    if kind == "local":
        from seldon_pkg.targets.local import LocalTarget

        return LocalTarget(state_dir, progress=progress)
    if kind == "k8s":
        from seldon_pkg.targets.kubernetes import KubernetesTarget

        return KubernetesTarget(context=context, progress=progress, platform=platform)
    raise Invalid(f"unknown target {kind!r}; use one of {', '.join(TARGETS)}")
