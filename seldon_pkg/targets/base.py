"""What every deployment target offers, and the one shape its answers take.

A target is where deployments live: the local runtime (``local``) or a Kubernetes cluster
(``k8s``). Both implement :class:`Target`, answer with the same frozen :class:`DeploymentInfo`
(the records live in ``seldon_pkg.records``, below both runtimes; they are re-exported here)
and raise the same errors (``seldon_pkg.errors``: ``NotFound``, ``NotReady``, ``Refused``,
``Invalid``), so the CLI and library users never branch on the target.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol, runtime_checkable

from seldon_pkg.records import DeleteOutcome, DeploymentInfo, DeployOutcome, DeployPolicy, Endpoint
from seldon_pkg.spec.model_spec import ModelSpec

__all__ = ["DeleteOutcome", "DeployOutcome", "DeployPolicy", "DeploymentInfo", "Endpoint", "Target"]


@runtime_checkable
class Target(Protocol):
    """Where deployments live. Every method raises ``NotFound`` for an unknown name."""

    kind: str

    @property
    def default_namespace(self) -> str | None:
        """Namespace used when none is given; ``None`` means "every namespace"."""

    def deploy(self, spec: ModelSpec, policy: DeployPolicy = DeployPolicy()) -> DeployOutcome:
        """Create or update ``spec``'s deployment and wait until it is ready (``NotReady``)."""

    def list(self, namespace: str | None = None) -> list[DeploymentInfo]:
        """Deployments in ``namespace`` (every namespace when ``None``), sorted by namespace, name."""

    def get(self, name: str, namespace: str | None = None) -> DeploymentInfo:
        """One deployment by its name."""

    def delete(self, name: str, namespace: str | None = None) -> DeleteOutcome:
        """Delete it and wait until nothing of it is left running."""

    def endpoint(self, name: str, namespace: str | None = None) -> Endpoint:
        """Where clients call it."""

    def undo(self, outcome: DeployOutcome) -> None:
        """Remove what ``deploy`` created; restore what it updated; drop only an added canary."""

    def describe(self, name: str, namespace: str | None = None) -> dict[str, Any]:
        """Everything known about one deployment: spec, state, restarts, last error, URLs, processes
        or cluster children, and the model's own error when it failed to start."""

    def logs(
        self, name: str, namespace: str | None = None, tail: int | None = None, follow: bool = False
    ) -> Iterator[str]:
        """The model's log lines (the model process's, or its pods'), the last ``tail`` ones."""
