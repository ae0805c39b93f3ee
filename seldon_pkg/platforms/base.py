"""What a platform is to the rest of seldon_pkg: one object holding everything that differs.

A platform is where ``render`` and ``deploy --target k8s`` put a model: Seldon Core 1
(SeldonDeployment), KServe (InferenceService), Seldon Core 2 (Model). Everything that differs
between them lives on its :class:`Platform` object (one module each, listed once in
``registry.py``), so no other module branches on a platform's name:

* the name budget (how long a deployment name may be so that what the controller derives
  from it still fits in 63 characters) and the manifest (``render``, ``validate``);
* what a spec must say to go there (``check_spec``: protocol, accelerator placement);
* the custom resource's coordinates (:class:`CustomResource`) and how to read an object of it
  (state, failure description, replicas, traffic split, protocol, URL path and Host header);
* the label the controller puts on the children it creates, the model container's name;
* the Deployments the controller makes for an object and the pod template each must carry
  (``implied_deployments``: how ``deploy`` knows an update has really rolled out);
* which cluster verbs seldon_pkg implements for it (``cluster_verbs``; none for Seldon Core 2).

A fourth platform is a module with a subclass of :class:`Platform` and one line in the
registry; docs/architecture.md says what the module must provide.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from seldon_pkg.errors import Invalid
from seldon_pkg.spec.platform_rules import Fail, PlatformRules
from seldon_pkg.values import Protocol

if TYPE_CHECKING:
    from seldon_pkg.spec.model_spec import ModelSpec

__all__ = ["ALL_CLUSTER_VERBS", "CustomResource", "Fail", "Platform"]

ALL_CLUSTER_VERBS = frozenset({"deploy", "list", "get", "delete", "prune", "describe", "logs", "endpoint"})


@dataclass(frozen=True)
class Rollout:
    """How far the controller has got with one applied object (seldon_pkg.k8s.rollout): ``done``,
    ``failed`` (why it cannot become ready: waiting longer will not help) or neither, ``waiting``
    saying on what."""

    done: bool = False
    failed: str | None = None
    waiting: str = ""


@dataclass(frozen=True)
class PodTemplate:
    """What a controller's Deployment must carry once it has acted on a spec: each container's
    image (by container name) and labels the pod template must include. A controller adds more
    (Seldon's executor container, its own labels): only these are compared."""

    images: dict[str, str]
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CustomResource:
    """Where a platform's objects live in the Kubernetes API."""

    kind: str
    group: str
    version: str
    plural: str

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}"


class Platform:
    """One platform; subclasses override what differs, the defaults are Seldon Core 1's shape."""

    rules: ClassVar[PlatformRules]
    """What a spec must say to go there (``seldon_pkg.spec.platform_rules``): the name, whether
    it serves only OIP, whether a model has a pod spec of its own."""
    name: ClassVar[str]
    """How specs and ``--platform`` name it (``seldon``, ``kserve``, ``seldon-v2``): ``rules.name``."""
    resource: ClassVar[CustomResource]
    description_text: ClassVar[str]
    """One line for help texts and the docs: what it renders."""
    cluster_verbs: ClassVar[frozenset[str]] = ALL_CLUSTER_VERBS
    has_canary: ClassVar[bool] = False
    children_label: ClassVar[str] = ""
    """The label the platform's controller puts on every child, valued with the owner's name."""
    container: ClassVar[str] = ""
    """The model container's name inside the pods (for logs)."""

    # -- rendering -----------------------------------------------------------------------------
    def name_budget(self, namespace: str) -> int:
        """The longest deployment name this platform can derive its children and hosts from
        (raises ``NameBudgetError`` when no name fits in ``namespace``)."""
        raise NotImplementedError

    def render(self, spec: ModelSpec) -> dict[str, Any]:
        """The manifest of one model (a plain dict, no cluster needed)."""
        raise NotImplementedError

    def validate(self, manifest: dict[str, Any]) -> None:
        """Raise ``ManifestError`` listing what the API server or controller would refuse."""

    @property
    def serves_only_oip(self) -> bool:
        """True when the platform's model server speaks only the Open Inference Protocol."""
        return self.rules.serves_only_oip

    def check_spec(self, spec: ModelSpec, fail: Fail) -> None:
        """Refuse a spec this platform cannot take, naming the field (the spec parser checks the
        same rules: ``spec.platform_rules``)."""
        self.rules.check_spec(spec, fail)

    # -- the cluster -----------------------------------------------------------------------------
    def require_cluster_verb(self, verb: str) -> None:
        """Refuse a cluster operation this platform has no implementation of."""
        if verb not in self.cluster_verbs:
            raise Invalid(
                f"platform {self.name}: cluster operations are not supported yet; render the "
                f"{self.resource.kind} with `seldon-pkg render --platform {self.name}` and apply it with kubectl"
            )

    def children_selector(self, name: str) -> str:
        return f"{self.children_label}={name}"

    def state(self, obj: dict) -> str:
        """``Available``, ``Failed`` or a transitional state, from the object's status."""
        return (obj.get("status") or {}).get("state", "Unknown")

    def failure(self, obj: dict) -> str | None:
        """Why the controller says it failed (its status text), if it says."""
        return failed_condition(obj.get("status") or {})

    def implied_deployments(self, obj: dict) -> dict[str, PodTemplate]:
        """The Deployments (by name) the controller makes for ``obj``'s spec, each with what its
        pod template must carry; only those this platform can predict."""
        return {}

    def replicas(self, obj: dict) -> int:
        return int((obj.get("spec") or {}).get("replicas", 1))

    def traffic(self, obj: dict) -> dict[str, int] | None:
        """The traffic split between predictors, when there is more than one."""
        return None

    def protocol(self, obj: dict) -> str:
        """The protocol a deployed object serves (what clients must speak); a value we do not
        know (Seldon's ``tensorflow``, set by someone else) is shown as it is."""
        if self.serves_only_oip:
            return Protocol.OIP
        value = str((obj.get("spec") or {}).get("protocol", Protocol.SELDON.value))
        return Protocol(value) if value in Protocol._value2member_map_ else value

    def host(self, obj: dict) -> str | None:
        """The Host header the ingress routes on; ``None`` when routing is by path."""
        return None

    def path(self, namespace: str, name: str) -> str:
        """The prediction path on the ingress."""
        raise NotImplementedError

    def needs_host_header(self) -> bool:
        """True when clients reach it only with a Host header (routing by host, not path)."""
        return False

    def service_path(self, name: str) -> str:
        """The prediction path on the deployment's own Service (no ingress in front of it)."""
        raise NotImplementedError

    def is_front_service(self, service: dict, name: str) -> bool:
        """True for the child Service clients call (not a per-container one)."""
        return False


def failed_condition(status: dict) -> str | None:
    """``Type: message`` of the first condition that is ``False`` with a message."""
    for condition in status.get("conditions") or []:
        if condition.get("status") == "False" and condition.get("message"):
            return f"{condition.get('type')}: {condition['message']}"
    return None
