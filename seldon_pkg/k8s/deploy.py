"""Deploying a model spec to a cluster: plan, apply, wait until rolled out, apply the policy.

"Rolled out" is what the cluster really reports, not just the controller's state: see
seldon_pkg.k8s.rollout (the Seldon operator's ``Available`` can be the previous pods').

Policies for a new version of a model that is already deployed:
* ``replace`` (default): the new revision becomes Available, then older revisions are deleted;
* ``keep``: both stay;
* ``canary`` N: one SeldonDeployment, the current version keeps 100-N % of traffic and the new
  one gets N %.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field

from seldon_pkg.errors import Invalid, NotReady
from seldon_pkg.k8s import cleanup, plan, resources, rollout, watching
from seldon_pkg.k8s.connection import Cluster
from seldon_pkg.k8s.endpoint import NoIngress, find_ingress, service_route
from seldon_pkg.k8s.hooks import DEFAULT, Hooks
from seldon_pkg.platforms.base import Platform
from seldon_pkg.platforms.labels import ANNOTATION_DEPLOYED_AT, model_selector
from seldon_pkg.platforms.metadata import identity_of
from seldon_pkg.platforms.seldon import CANARY_PREDICTOR
from seldon_pkg.spec.model_spec import ModelSpec
from seldon_pkg.startup_errors import cause
from seldon_pkg.values import Action, VersionPolicy


class NotAvailable(NotReady):
    """The SeldonDeployment did not become Available; carries the operator's and pods' reasons."""


@dataclass
class DeployResult:
    name: str
    namespace: str
    action: Action
    """``created``, ``updated`` or ``canary`` (a canary predictor added to ``previous``)."""
    state: str
    url: str | None
    previous: dict | None = None
    """The SeldonDeployment as it was before this apply (for undo), ``None`` when created."""
    replaced: list[str] = field(default_factory=list)
    hook_failures: list[str] = field(default_factory=list)


def deploy(
    cluster: Cluster,
    platform: Platform,
    spec: ModelSpec,
    *,
    policy: VersionPolicy = VersionPolicy.REPLACE,
    canary: int | None = None,
    force: bool = False,
    timeout: float = 300.0,
    progress: Callable[[str], None] = lambda _: None,
    hooks: Hooks = DEFAULT,
) -> DeployResult:
    desired = platform.render(spec)
    desired["metadata"]["annotations"][ANNOTATION_DEPLOYED_AT] = _now()
    if canary is not None:
        if not platform.has_canary:
            raise Invalid(f"--canary: platform {platform.name} ({platform.resource.kind}) has no canary here")
        desired = _canary_manifest(cluster, platform, spec, desired, canary)
    platform.validate(desired)
    name, namespace = desired["metadata"]["name"], desired["metadata"]["namespace"]
    existing, decision, written = _apply(cluster, desired, platform, force, progress)
    action = Action.CANARY if canary is not None else decision.action
    result = DeployResult(name, namespace, action, "Unknown", None, previous=existing)
    try:
        result.state = wait_available(
            cluster, namespace, name, timeout, progress, platform=platform, written=written, previous=existing
        )
    except NotReady as error:
        error.outcome = result
        raise
    result.url = _url(cluster, namespace, name, platform)
    if policy == VersionPolicy.REPLACE and canary is None:
        for old in _other_revisions(cluster, spec, name, platform):
            old_name = old["metadata"]["name"]
            current = resources.get_object(cluster, namespace, name, platform) or desired
            result.hook_failures += hooks.run("on_replace", old, current)
            progress(f"replacing: deleting previous revision {namespace}/{old_name}")
            report = cleanup.delete(cluster, old_name, namespace, hooks=hooks, platform=platform)
            result.hook_failures += report.hook_failures
            result.replaced.append(old_name)
    return result


CONFLICT_RETRIES = 5


def _apply(cluster: Cluster, desired: dict, platform: Platform, force: bool, progress: Callable[[str], None]):
    """Plan and write; when the object changed between our read and our write (409: the
    controller updated its status, someone else applied), read it again and plan again.
    Returns (the object before, the plan, the object as our write returned it)."""
    from kubernetes.client.exceptions import ApiException

    name, namespace = desired["metadata"]["name"], desired["metadata"]["namespace"]
    for attempt in range(CONFLICT_RETRIES):
        existing = resources.get_object(cluster, namespace, name, platform)
        decision = plan.plan_apply(existing, desired, force=force)
        if attempt == 0:
            verb = "create" if decision.action is Action.CREATED else "update"
            progress(f"{verb} {platform.resource.kind} {namespace}/{name}: {decision.reason}")
        try:
            if decision.action is Action.CREATED:
                written = resources.create_object(cluster, desired, platform)
            else:
                assert existing is not None  # the plan only says update when it exists
                written = resources.replace_object(cluster, plan.for_update(existing, desired), platform)
            return existing, decision, written
        except ApiException as error:
            if error.status != 409 or attempt == CONFLICT_RETRIES - 1:
                raise
            progress(f"{namespace}/{name} changed while we wrote it; reading it again")
    raise AssertionError("unreachable")


RECHECK_SECONDS = 1.0
"""How often the wait reads the Deployments again while the object itself does not change."""


def wait_available(
    cluster: Cluster,
    namespace: str,
    name: str,
    timeout: float,
    progress: Callable[[str], None] = lambda _: None,
    *,
    platform: Platform,
    written: dict | None = None,
    previous: dict | None = None,
) -> str:
    """Watch the object until what we wrote (``written``: the object as our write returned it;
    ``previous``: what it was before) has rolled out (seldon_pkg.k8s.rollout); on failure or
    timeout explain why."""
    last: list[str] = []
    verdict: list[rollout.Rollout] = [rollout.Rollout(waiting="a first look")]

    def settled(obj: dict | None) -> bool:
        verdict[0] = rollout.observe(cluster, platform, obj, written, previous)
        state = platform.state(obj or {})
        line = state if verdict[0].done or verdict[0].failed else f"{state}, waiting for {verdict[0].waiting}"
        if not last or line != last[-1]:
            progress(f"{namespace}/{name}: {line}")
            last.append(line)
        return verdict[0].done or verdict[0].failed is not None

    done, obj = watching.wait_for(cluster, platform, namespace, name, settled, timeout, recheck=RECHECK_SECONDS)
    if done and verdict[0].done:
        return "Available"
    raise NotAvailable(_explain(cluster, namespace, name, obj or {}, timeout, platform=platform, verdict=verdict[0]))


def _explain(
    cluster: Cluster,
    namespace: str,
    name: str,
    obj: dict,
    timeout: float,
    platform: Platform,
    verdict: rollout.Rollout,
) -> str:
    """Why it is not Available: the model's own error first (from a pod's termination message,
    which our containers fill from their log on error), then the controller's, the rollout's and
    the pods' reasons."""
    pods = resources.list_children(cluster, resources.POD, namespace, platform, name)
    details, found, unschedulable, killed, pull = [], None, None, None, None
    for pod in pods:
        reason = unschedulable_reason(pod)
        if reason:
            unschedulable = unschedulable or reason
            details.append(f"pod {pod['metadata']['name']}: not scheduled: {reason}")
        for container in (pod.get("status") or {}).get("containerStatuses") or []:
            waiting = (container.get("state") or {}).get("waiting")
            if waiting:
                details.append(
                    f"pod {pod['metadata']['name']}: {container['name']} waiting: "
                    f"{waiting.get('reason')} {waiting.get('message') or ''}".rstrip()
                )
                if waiting.get("reason") in IMAGE_PULL_REASONS and pull is None:
                    pull = f"image {container.get('image')} cannot be pulled: {waiting.get('message') or waiting['reason']}"
            terminated = (container.get("lastState") or {}).get("terminated") or {}
            if terminated.get("reason") == "OOMKilled" and killed is None:
                killed = (
                    f"OOMKilled: {container['name']} used more memory than its limit{_limit(pod, container['name'])}"
                )
            message = terminated.get("message")
            if message and found is None:
                found = cause(message, IMAGE_APP_DIR)
    if found is None:  # the kubelet may not have filled in the termination message yet: the log itself
        found = _cause_from_previous_log(cluster, namespace, pods)
    if verdict.failed:
        head = f"{namespace}/{name} is Failed"
    else:
        head = f"{namespace}/{name} is {platform.state(obj)} after {timeout:.0f} s"
    # the first line says why: the kernel's OOM kill, the model's own error (its traceback
    # follows), an image that cannot be pulled, else the scheduler's (no node fits)
    first = killed or found or pull or (f"the scheduler: {unschedulable}" if unschedulable else None)
    lines = [head + (f": {first}" if first else "")]
    if found is not None and found.traceback and first is found:
        lines += ["model traceback (from the container log):", *(f"  {line}" for line in found.traceback)]
    description = platform.failure(obj)
    if description:
        lines.append(f"controller: {description}")
    if verdict.failed and verdict.failed != description:
        lines.append(f"rollout: {verdict.failed}")
    elif not verdict.failed:
        lines.append(f"still waiting for {verdict.waiting}")
    lines += details
    if pods:
        lines.append(f"logs: seldon-pkg logs {name} --target k8s -n {namespace}")
    return "\n  ".join(lines)


IMAGE_PULL_REASONS = ("ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull")
IMAGE_APP_DIR = "/app"
"""The model folder inside our images (the Dockerfile's WORKDIR): frames there are the model's own."""


def _cause_from_previous_log(cluster: Cluster, namespace: str, pods: list[dict]):
    """The model's error in the log of a container's previous (crashed) run, if one crashed."""
    from kubernetes.client.exceptions import ApiException

    for pod in pods:
        for container in (pod.get("status") or {}).get("containerStatuses") or []:
            if not container.get("restartCount") and not (container.get("state") or {}).get("terminated"):
                continue
            previous = bool(container.get("restartCount"))
            try:
                text = cluster.core.read_namespaced_pod_log(
                    pod["metadata"]["name"], namespace, container=container["name"], previous=previous, tail_lines=120
                )
            except ApiException:
                continue
            found = cause(text, IMAGE_APP_DIR)
            if found is not None:
                return found
    return None


def _limit(pod: dict, container: str) -> str:
    for spec in (pod.get("spec") or {}).get("containers") or []:
        if spec.get("name") == container:
            limit = ((spec.get("resources") or {}).get("limits") or {}).get("memory")
            return f" ({limit})" if limit else ""
    return ""


def unschedulable_reason(pod: dict) -> str | None:
    """The scheduler's own message (``0/3 nodes are available: ... Insufficient nvidia.com/gpu``)
    for a pod no node can take, from its PodScheduled condition; None when it is scheduled."""
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "PodScheduled" and condition.get("status") == "False":
            return condition.get("message") or condition.get("reason")
    return None


def _canary_manifest(cluster: Cluster, platform: Platform, spec: ModelSpec, desired: dict, percent: int) -> dict:
    """Add ``spec`` as the canary predictor of the model's current SeldonDeployment."""
    current = [
        s
        for s in _other_revisions(cluster, spec, desired["metadata"]["name"], platform)
        if platform.state(s) == "Available"
    ]
    if not current:
        raise Invalid(f"--canary needs a running version of model {spec.name!r} in {spec.namespace}")
    stable = max(current, key=lambda s: s["metadata"].get("creationTimestamp", ""))
    predictor = dict(desired["spec"]["predictors"][0], name=CANARY_PREDICTOR)
    return plan.with_canary(stable, predictor, percent)


def _other_revisions(cluster: Cluster, spec: ModelSpec, name: str, platform: Platform) -> list[dict]:
    """Managed objects of the same model (same namespace and model label), other names."""
    selector = model_selector(identity_of(spec))
    return [
        s for s in resources.list_objects(cluster, spec.namespace, selector, platform) if s["metadata"]["name"] != name
    ]


def _url(cluster: Cluster, namespace: str, name: str, platform: Platform) -> str | None:
    try:
        return find_ingress(cluster).base_url + platform.path(namespace, name)
    except NoIngress:
        route = service_route(cluster, namespace, name, platform)
        return route.url if route else None


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
