"""A Kubernetes cluster with Seldon Core 1 or KServe as a target (official ``kubernetes`` client).

One target works on one platform's custom resource (``seldon_pkg.platforms``: SeldonDeployment,
InferenceService), looked up once when the target is opened; everything else is the same code.
A platform without cluster verbs (Seldon Core 2) is refused when the target is opened."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from seldon_pkg.errors import Invalid, NotFound, NotReady, SeldonPkgError
from seldon_pkg.k8s import cleanup, plan, resources
from seldon_pkg.k8s import deploy as k8s_deploy
from seldon_pkg.k8s.api_errors import wraps_api_errors
from seldon_pkg.k8s.connection import Cluster, connect
from seldon_pkg.k8s.endpoint import NoIngress, find_ingress, service_route
from seldon_pkg.k8s.hooks import DEFAULT, Hooks
from seldon_pkg.k8s.inventory import list_deployments
from seldon_pkg.platforms.base import Platform
from seldon_pkg.platforms.metadata import identity_of
from seldon_pkg.platforms.registry import DEFAULT_PLATFORM, platform_named
from seldon_pkg.spec.model_spec import ModelSpec
from seldon_pkg.startup_errors import cause
from seldon_pkg.targets.base import DeleteOutcome, DeploymentInfo, DeployOutcome, DeployPolicy, Endpoint
from seldon_pkg.values import Action, Protocol

UNDO_TIMEOUT = 300.0
"""Seconds ``undo`` waits for the restored spec to roll out (deploy's default timeout)."""


def info_from_row(row: dict) -> DeploymentInfo:
    return DeploymentInfo.from_row(
        row,
        replicas=row["replicas"],
        target="k8s",
        protocol=row["protocol"],
        platform=row["platform"],
        traffic=row["traffic"],
    )


class KubernetesTarget:
    kind = "k8s"

    def __init__(
        self,
        cluster: Cluster | None = None,
        *,
        context: str | None = None,
        hooks: Hooks = DEFAULT,
        progress: Callable[[str], None] = lambda _: None,
        platform: Platform | str | None = None,
    ) -> None:
        chosen = platform_named(platform) if isinstance(platform, str) else platform or DEFAULT_PLATFORM
        chosen.require_cluster_verb("deploy")
        self.platform: Platform = chosen
        self._cluster = cluster
        self._context = context
        self.hooks = hooks
        self.progress = progress

    @property
    def cluster(self) -> Cluster:
        """Connected on first use (reads the kubeconfig then, not at construction)."""
        if self._cluster is None:
            self._cluster = connect(self._context)
        return self._cluster

    @property
    def default_namespace(self) -> str | None:
        return self.cluster.default_namespace

    @wraps_api_errors
    def deploy(self, spec: ModelSpec, policy: DeployPolicy = DeployPolicy()) -> DeployOutcome:
        if spec.platform != self.platform.name:
            raise Invalid(
                f"the spec is for platform {spec.platform}, this target deploys {self.platform.name} "
                f"({self.platform.resource.kind}); open the target for that platform (CLI: --platform)"
            )
        try:
            result = k8s_deploy.deploy(
                self.cluster,
                self.platform,
                spec,
                policy=policy.mode,
                canary=policy.canary,
                force=policy.force,
                timeout=policy.timeout,
                progress=self.progress,
                hooks=self.hooks,
            )
        except NotReady as error:
            if isinstance(error.outcome, k8s_deploy.DeployResult):  # the apply step's own record
                error.outcome = self._applied(spec, error.outcome)
            raise
        return DeployOutcome(
            self.get(result.name, result.namespace),
            result.action,
            result.previous,
            tuple(result.replaced),
            tuple(result.hook_failures),
        )

    def _applied(self, spec: ModelSpec, result: k8s_deploy.DeployResult) -> DeployOutcome:
        """What a deploy that never became ready applied, as every target's NotReady carries it:
        the object as the cluster describes it now, or (gone, or the API server failing too, which
        must not hide the deploy's own error) as the apply step knew it."""
        try:
            info = self.get(result.name, result.namespace)  # API refusals arrive as our errors
        except SeldonPkgError:
            identity = identity_of(spec)
            info = DeploymentInfo(
                name=result.name,
                model=identity.model,
                version=identity.version,
                namespace=result.namespace,
                state=result.state,
                url=None,
                grpc=None,
                revision=None,
                replicas=0,
                age_seconds=None,
                target=self.kind,
                protocol=spec.protocol,
                platform=self.platform.name,
            )
        return DeployOutcome(info, result.action, result.previous)

    @wraps_api_errors
    def list(self, namespace: str | None = None) -> list[DeploymentInfo]:
        return [info_from_row(row) for row in list_deployments(self.cluster, namespace, self.platform)]

    def _row(self, name: str, namespace: str | None) -> dict:
        namespace = namespace or self.default_namespace
        for row in list_deployments(self.cluster, namespace, self.platform):
            if row["name"] == name:
                return row
        raise NotFound(f"no {self.platform.resource.kind} {namespace}/{name} managed by seldon-pkg")

    @wraps_api_errors
    def get(self, name: str, namespace: str | None = None) -> DeploymentInfo:
        return info_from_row(self._row(name, namespace))

    @wraps_api_errors
    def delete(self, name: str, namespace: str | None = None) -> DeleteOutcome:
        """Delete it and its children; leftovers of a SeldonDeployment already gone are removed too."""
        namespace = namespace or self.default_namespace or "default"
        report = cleanup.delete(self.cluster, name, namespace, hooks=self.hooks, platform=self.platform)
        if not report.existed and not report.leftovers_removed:
            raise NotFound(f"no {self.platform.resource.kind} {namespace}/{name}, and nothing left of one")
        messages = [f"deleted {namespace}/{name}" if report.existed else f"{namespace}/{name} was already gone"]
        messages += [f"removed leftover {leftover}" for leftover in report.leftovers_removed]
        return DeleteOutcome(name, namespace, tuple(messages), tuple(report.hook_failures))

    @wraps_api_errors
    def endpoint(self, name: str, namespace: str | None = None) -> Endpoint:
        """The ingress gateway's URL (for KServe with the Host header it routes on, status.url's
        host); with no ingress installed, the deployment's own Service (k8s/endpoint.py)."""
        row = self._row(name, namespace)
        try:
            ingress = find_ingress(self.cluster)
        except NoIngress as error:
            route = service_route(self.cluster, row["namespace"], name, self.platform)
            if route is None:
                raise NotFound(f"{error}; and {row['namespace']}/{name} has no Service yet") from None
            # MLServer 1.7.1 under the FastAPI our images pin reads a body without a JSON
            # Content-Type as a string (422), and tritonclient sends none: our gateway and an
            # ingress add it, a caller of the Service itself must (found on the real node)
            headers = {"Content-Type": "application/json"} if row.get("protocol") == Protocol.OIP else {}
            return Endpoint(route.url, route.grpc_endpoint, headers)
        headers = {"Host": row["host"]} if row.get("host") else {}
        if self.platform.needs_host_header() and not headers:
            raise NotFound(
                f"{row['namespace']}/{name} has no status.url yet: {self.platform.resource.kind} has no route yet"
            )
        url = ingress.base_url + self.platform.path(row["namespace"], name)
        return Endpoint(url, ingress.grpc_endpoint, headers)

    @wraps_api_errors
    def describe(self, name: str, namespace: str | None = None) -> dict[str, Any]:
        found = self.get(name, namespace)
        sdep = resources.get_object(self.cluster, found.namespace, found.name, self.platform) or {}
        children = []
        problem = None
        for kind, obj in cleanup.children(self.cluster, found.namespace, found.name, self.platform):
            status = obj.get("status") or {}
            row = {"kind": kind.kind, "name": obj["metadata"]["name"], "phase": status.get("phase")}
            for container in status.get("containerStatuses") or []:
                row["ready"], row["restarts"] = container.get("ready"), container.get("restartCount")
                ended = (container.get("lastState") or {}).get("terminated")
                if ended:  # how the last run ended: OOMKilled, Error (exit 1), ...
                    row["last_exit"] = f"{ended.get('reason')} (exit {ended.get('exitCode')})"
                message = ((container.get("lastState") or {}).get("terminated") or {}).get("message")
                problem = problem or (cause(message, None) if message else None)
            if kind is resources.POD:
                row["node"] = (obj.get("spec") or {}).get("nodeName")
                row["events"] = pod_events(self.cluster, found.namespace, obj["metadata"]["name"])
            children.append(row)
        return {
            **found.to_dict(),
            "status": sdep.get("status") or {},
            "spec": sdep.get("spec") or {},
            "children": children,
            "model_error": str(problem) if problem else None,
        }

    @wraps_api_errors
    def logs(
        self, name: str, namespace: str | None = None, tail: int | None = None, follow: bool = False
    ) -> Iterator[str]:
        """Each pod's model container log, lines prefixed with the pod's name."""
        found = self.get(name, namespace)
        pods = resources.list_children(self.cluster, resources.POD, found.namespace, self.platform, found.name)
        for pod in pods:
            pod_name = pod["metadata"]["name"]
            reply = self.cluster.core.read_namespaced_pod_log(
                pod_name,
                found.namespace,
                container=self.platform.container,
                tail_lines=tail,
                follow=follow,
                _preload_content=False,
            )
            for raw in reply.stream() if follow else [reply.data]:
                for line in raw.decode(errors="replace").splitlines():
                    yield f"[{pod_name}] {line}"

    def _restore(self, namespace: str, name: str, restorable: dict) -> tuple[dict | None, dict]:
        """Write ``restorable`` back: (the object it replaced, the object as written). A write
        that raced the controller's status update (409) reads the object again and retries."""
        from kubernetes.client.exceptions import ApiException

        for attempt in range(k8s_deploy.CONFLICT_RETRIES):
            current = resources.get_object(self.cluster, namespace, name, self.platform)
            try:
                if current is None:  # deleted meanwhile: recreate what was there
                    return None, resources.create_object(self.cluster, restorable, self.platform)
                return current, resources.replace_object(
                    self.cluster, plan.for_update(current, restorable), self.platform
                )
            except ApiException as error:
                if not _conflict(error) or attempt == k8s_deploy.CONFLICT_RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    @wraps_api_errors
    def undo(self, outcome: DeployOutcome) -> None:
        """``created``: delete it; ``updated``/``canary``: put back the SeldonDeployment as it was;
        ``unchanged``: nothing."""
        info = outcome.info
        if outcome.action is Action.UNCHANGED:
            return
        if outcome.action is Action.CREATED:
            try:
                self.delete(info.name, info.namespace)
            except NotFound:
                pass
            return
        current, written = self._restore(info.namespace, info.name, _restorable(outcome.previous, self.platform))
        # back as it was only once the controller has rolled the previous spec out again (and
        # removed a canary's Deployment), as deploy waits for its own apply
        k8s_deploy.wait_available(
            self.cluster,
            info.namespace,
            info.name,
            UNDO_TIMEOUT,
            self.progress,
            platform=self.platform,
            written=written,
            previous=current,
        )


def _conflict(error: Exception) -> bool:
    return getattr(error, "status", None) == 409


def pod_events(cluster: Cluster, namespace: str, pod: str) -> list[str]:
    """The pod's events, oldest first (the scheduler's FailedScheduling, the kubelet's BackOff...),
    as ``Reason: message`` lines."""
    selector = f"involvedObject.kind=Pod,involvedObject.name={pod}"
    events = cluster.core.list_namespaced_event(namespace, field_selector=selector).items
    events.sort(key=lambda e: str(e.last_timestamp or e.event_time or e.metadata.creation_timestamp))
    return [f"{e.reason}: {e.message}" for e in events]


def _restorable(sdep: dict, platform: Platform) -> dict:
    """The parts of a stored object that can be written back (no status, no server fields)."""
    meta = sdep["metadata"]
    keep = ("name", "namespace", "labels", "annotations")
    return {
        "apiVersion": sdep.get("apiVersion", platform.resource.api_version),
        "kind": sdep.get("kind", platform.resource.kind),
        "metadata": {k: meta[k] for k in keep if k in meta},
        "spec": sdep["spec"],
    }
