"""Deleting without leaving zombies, and pruning what others left behind.

Only objects carrying our label (``app.kubernetes.io/managed-by=seldon-pkg``) or the operator's
``seldon-deployment-id`` are ever touched, only in the namespaces asked for, and 404 counts as
done. A zombie is a Deployment, ReplicaSet, Pod or Service labelled ``seldon-deployment-id=X``
where SeldonDeployment X does not exist or is not at the top of its owner chain.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field

from seldon_pkg.errors import SeldonPkgError
from seldon_pkg.k8s import resources, watching
from seldon_pkg.k8s.connection import Cluster
from seldon_pkg.k8s.hooks import DEFAULT, Hooks
from seldon_pkg.platforms.base import Platform
from seldon_pkg.platforms.labels import ANNOTATION_DEPLOYED_AT, MODEL, managed_selector


@dataclass(frozen=True)
class Leftover:
    kind: str
    namespace: str
    name: str
    sdep: str
    reason: str

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name} ({self.reason})"


@dataclass
class DeleteReport:
    name: str
    namespace: str
    existed: bool
    leftovers_removed: list[Leftover] = field(default_factory=list)
    hook_failures: list[str] = field(default_factory=list)


def children(cluster: Cluster, namespace: str, sdep: str, platform: Platform) -> list[tuple[resources.ChildKind, dict]]:
    return [
        (child, obj)
        for child in resources.CHILD_KINDS
        for obj in resources.list_children(cluster, child, namespace, platform, sdep)
    ]


def delete(
    cluster: Cluster,
    name: str,
    namespace: str,
    *,
    hooks: Hooks = DEFAULT,
    timeout: float = 120.0,
    poll: float = 0.2,
    platform: Platform,
) -> DeleteReport:
    """Delete a platform object in the foreground, so that it is gone only once the
    garbage collector has deleted every child that blocks its owner's deletion; then remove any
    labelled child that is still there (orphans: garbage collection will never take them)."""
    existing = resources.get_object(cluster, namespace, name, platform)
    report = DeleteReport(name, namespace, existed=existing is not None)
    subject = existing or {"metadata": {"name": name, "namespace": namespace}}
    report.hook_failures += hooks.run("before_delete", subject)
    deadline = time.monotonic() + timeout
    if existing is not None and resources.delete_object(cluster, namespace, name, platform):
        uid = existing["metadata"]["uid"]
        gone, last = watching.wait_for(
            cluster, platform, namespace, name, lambda obj: obj is None or obj["metadata"]["uid"] != uid, timeout
        )
        if not gone:
            finalizers = ((last or {}).get("metadata") or {}).get("finalizers") or []
            raise SeldonPkgError(
                f"{platform.resource.kind} {namespace}/{name} is still being deleted after {timeout:.0f} s"
                + (f" (finalizers: {', '.join(finalizers)})" if finalizers else "")
            )
    # polling, not watching, from here: what is left are leftovers, across four kinds. A child
    # whose owner chain no longer reaches a live object is never collected (its top was orphaned,
    # e.g. `kubectl delete --cascade=orphan`): delete the tops, the collector takes the rest.
    while True:
        remaining = children(cluster, namespace, name, platform)
        if not remaining:
            break
        uids = {obj["metadata"]["uid"] for _, obj in remaining}
        tops = [
            (child, obj)
            for child, obj in remaining
            if not obj["metadata"].get("deletionTimestamp") and not (_owner_uids(obj) & uids)
        ]
        if tops and (time.monotonic() >= deadline or existing is None or _only_orphans(tops)):
            for child, obj in tops:
                if resources.delete_child(cluster, child, namespace, obj["metadata"]["name"]):
                    report.leftovers_removed.append(
                        Leftover(
                            child.kind,
                            namespace,
                            obj["metadata"]["name"],
                            name,
                            f"left after its {platform.resource.kind} was deleted",
                        )
                    )
        if time.monotonic() >= deadline:
            raise SeldonPkgError(f"children of {namespace}/{name} are still present after {timeout:.0f} s")
        time.sleep(poll)
    report.hook_failures += hooks.run("after_delete", subject)
    return report


def _only_orphans(remaining: list[tuple[resources.ChildKind, dict]]) -> bool:
    return all(
        not obj["metadata"].get("owner_references") and not obj["metadata"].get("ownerReferences")
        for _, obj in remaining
    )


def find_zombies(cluster: Cluster, namespaces: list[str], platform: Platform) -> list[Leftover]:
    """Everything labelled with ``platform``'s children label whose owner chain does not reach that object."""
    zombies: list[Leftover] = []
    for namespace in namespaces:
        owners = {
            s["metadata"]["name"]: s["metadata"]["uid"]
            for s in resources.list_objects(cluster, namespace, None, platform)
        }
        objects = [
            (child, obj)
            for child in resources.CHILD_KINDS
            for obj in resources.list_children(cluster, child, namespace, platform)
        ]
        live_uids = set(owners.values())
        for wanted in resources.CHILD_KINDS:  # walk owner chains top-down
            for child, obj in objects:
                if child is wanted and _owner_uids(obj) & live_uids:
                    live_uids.add(obj["metadata"]["uid"])
        for child, obj in objects:
            meta = obj["metadata"]
            owner_name = (
                (meta.get("labels") or {}).get(platform.children_label) or resources.owner_name(obj, platform) or ""
            )
            if meta["uid"] in live_uids:
                continue
            reason = (
                f"its {platform.resource.kind} no longer exists"
                if owner_name not in owners
                else f"not owned by its {platform.resource.kind}"
            )
            zombies.append(Leftover(child.kind, namespace, meta["name"], owner_name, reason))
    return zombies


def _owner_uids(obj: dict) -> set[str]:
    refs = obj["metadata"].get("owner_references") or obj["metadata"].get("ownerReferences") or []
    return {ref["uid"] for ref in refs}


def old_revisions(cluster: Cluster, namespaces: list[str], keep_last: int, platform: Platform) -> list[dict]:
    """Managed objects of each model beyond the newest ``keep_last`` (by deploy time)."""
    by_model: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for namespace in namespaces:
        for sdep in resources.list_objects(cluster, namespace, managed_selector(), platform):
            model = (sdep["metadata"].get("labels") or {}).get(MODEL, "")
            by_model[(namespace, model)].append(sdep)
    surplus = []
    for revisions in by_model.values():
        revisions.sort(key=_deployed_at, reverse=True)
        surplus.extend(revisions[keep_last:])
    return surplus


def _deployed_at(sdep: dict) -> str:
    meta = sdep["metadata"]
    return (meta.get("annotations") or {}).get(ANNOTATION_DEPLOYED_AT) or meta.get("creationTimestamp", "")


@dataclass
class PruneReport:
    zombies: list[Leftover]
    old_revisions: list[dict]
    deleted: bool


def prune(
    cluster: Cluster,
    namespaces: list[str],
    *,
    keep_last: int | None = None,
    yes: bool = False,
    hooks: Hooks = DEFAULT,
    platform: Platform,
) -> PruneReport:
    """Find zombies (and old revisions beyond ``keep_last``); delete them only when ``yes``."""
    zombies = find_zombies(cluster, namespaces, platform)
    surplus = old_revisions(cluster, namespaces, keep_last, platform) if keep_last is not None else []
    if yes:
        for sdep in surplus:
            delete(cluster, sdep["metadata"]["name"], sdep["metadata"]["namespace"], hooks=hooks, platform=platform)
        order = {child.kind: index for index, child in enumerate(resources.CHILD_KINDS)}
        kinds = {child.kind: child for child in resources.CHILD_KINDS}
        for zombie in sorted(zombies, key=lambda z: order[z.kind]):
            resources.delete_child(cluster, kinds[zombie.kind], zombie.namespace, zombie.name)
    return PruneReport(zombies, surplus, deleted=yes)
