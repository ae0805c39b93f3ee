"""When an applied object has really rolled out: what its controller and the Deployments report.

A controller's own status can be stale after an update. The Seldon operator 1.17.1 never writes
``status.observedGeneration``, and it reports ``Available`` from its Deployments' ready and
unavailable replica counts without looking at their generation (createDeployments in
operator/controllers/seldondeployment_controller.go), so right after an update it can say
``Available`` for the previous pods. KServe's raw mode copies its Deployment's
observedGeneration into its own status (see ``KServe.implied_deployments``). So an update
counts as rolled out only when:

* every Deployment the new spec implies (``Platform.implied_deployments``) exists, is not being
  deleted, and its pod template carries the new spec's images and labels;
* each of those Deployments' own status is current (``status.observedGeneration`` >=
  ``metadata.generation``) with updated, available and total replicas all equal to its desired
  count (no pod of an older template left);
* the Deployments the previous spec implied and the new one does not are gone (or going);
* and the controller says ``Available``.

It has failed, and waiting longer will not help, when a pod of the new template is in
``CrashLoopBackOff`` (the kubelet's verdict; the Seldon operator keeps saying ``Creating``
there until the Deployment's progress deadline, ten minutes by default), or when the controller
says ``Failed`` in a status written after our write (``resourceVersion`` moved on: a status
left from the previous generation says nothing about this one).
"""

from __future__ import annotations

from seldon_pkg.k8s import resources
from seldon_pkg.k8s.connection import Cluster
from seldon_pkg.platforms.base import Platform, PodTemplate, Rollout

__all__ = ["Rollout", "evaluate", "observe"]


def observe(
    cluster: Cluster, platform: Platform, obj: dict | None, written: dict | None, previous: dict | None
) -> Rollout:
    """:func:`evaluate` with the object's Deployments and pods read from the cluster now."""
    deployments: list[dict] = []
    pods: list[dict] = []
    if obj is not None:
        namespace, name = obj["metadata"]["namespace"], obj["metadata"]["name"]
        deployments = resources.list_children(cluster, resources.CHILD_KINDS[0], namespace, platform, name)
        pods = resources.list_children(cluster, resources.POD, namespace, platform, name)
    return evaluate(platform, obj, written, previous, deployments, pods)


def evaluate(
    platform: Platform,
    obj: dict | None,
    written: dict | None,
    previous: dict | None,
    deployments: list[dict],
    pods: list[dict],
) -> Rollout:
    """Whether ``obj`` (as it is now) has rolled out what we wrote. ``written`` is the object as
    our create or update returned it, ``previous`` what it was before (``None`` when created);
    ``deployments`` and ``pods`` are its children now. Pure: no cluster needed."""
    if obj is None:
        return Rollout(waiting="it to exist again (it was deleted meanwhile)")
    state = platform.state(obj)
    if state == "Failed" and _written_after(obj, written):
        return Rollout(failed=platform.failure(obj) or "the controller says Failed")
    wanted = platform.implied_deployments(obj)
    crashing = _crash_looping(pods, list(wanted.values()))
    if crashing:
        return Rollout(failed=f"containers crashing: {', '.join(crashing)}")
    by_name = {d["metadata"]["name"]: d for d in deployments}
    for name, template in wanted.items():
        problem = _deployment_problem(name, by_name.get(name), template)
        if problem:
            return Rollout(waiting=problem)
    dropped = set(platform.implied_deployments(previous)) - set(wanted) if previous else set()
    for name in sorted(dropped):
        left = by_name.get(name)
        if left is not None and not left["metadata"].get("deletionTimestamp"):
            return Rollout(waiting=f"Deployment {name} (no longer in the spec) to be deleted")
    if state == "Available":
        return Rollout(done=True)
    return Rollout(waiting=f"the controller to say Available (it says {state})")


def _written_after(obj: dict, written: dict | None) -> bool:
    """Whether someone wrote ``obj`` after our write: a controller's status update carries the
    resourceVersion it read, so one that succeeded after our write was computed from it."""
    if written is None:
        return True
    return obj["metadata"].get("resourceVersion") != written["metadata"].get("resourceVersion")


def _deployment_problem(name: str, deployment: dict | None, template: PodTemplate) -> str | None:
    if deployment is None:
        return f"Deployment {name} to be created"
    if deployment["metadata"].get("deletionTimestamp"):
        return f"Deployment {name} to be recreated (it is being deleted)"
    pod_template = (deployment.get("spec") or {}).get("template") or {}
    if not _matches(pod_template, template):
        return f"Deployment {name} to get the new pod template"
    status = deployment.get("status") or {}
    generation = deployment["metadata"].get("generation") or 0
    if (status.get("observedGeneration") or 0) < generation:
        return f"the Deployment controller to observe Deployment {name}'s generation {generation}"
    desired = (deployment.get("spec") or {}).get("replicas", 1)
    updated = status.get("updatedReplicas") or 0
    available = status.get("availableReplicas") or 0
    total = status.get("replicas") or 0
    if updated == available == total == desired:
        return None
    old = f", {total - updated} of the previous template still running" if total > updated else ""
    return f"Deployment {name}: {updated} of {desired} replicas updated, {available} available{old}"


def _matches(pod_template: dict, template: PodTemplate) -> bool:
    """Whether a pod (or a pod template) carries ``template``'s images and labels."""
    labels = (pod_template.get("metadata") or {}).get("labels") or {}
    if any(labels.get(key) != value for key, value in template.labels.items()):
        return False
    images = {c.get("name"): c.get("image") for c in (pod_template.get("spec") or {}).get("containers") or []}
    return all(images.get(container) == image for container, image in template.images.items())


def _crash_looping(pods: list[dict], templates: list[PodTemplate]) -> list[str]:
    """``pod/container`` of each container in CrashLoopBackOff, in pods of a wanted template."""
    found = []
    for pod in pods:
        if pod["metadata"].get("deletionTimestamp") or not any(_matches(pod, t) for t in templates):
            continue
        for container in (pod.get("status") or {}).get("containerStatuses") or []:
            waiting = (container.get("state") or {}).get("waiting") or {}
            if waiting.get("reason") == "CrashLoopBackOff":
                found.append(f"{pod['metadata']['name']}/{container['name']}")
    return found
