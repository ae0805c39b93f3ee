"""What every target takes and answers about a deployment: plain frozen records.

A leaf below both runtimes, so that the local gateway (which builds the local target's answers)
and the targets (``seldon_pkg.targets``, which re-exports these) share them without importing
each other. ``DeployPolicy`` is what a deploy is asked to do; ``DeploymentInfo``,
``DeployOutcome``, ``DeleteOutcome`` and ``Endpoint`` are what every target answers, in the
same shape on every target.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from seldon_pkg.errors import Invalid
from seldon_pkg.limits import check_canary_percent
from seldon_pkg.values import Action, VersionPolicy, parse_choice


@dataclass(frozen=True)
class DeploymentInfo:
    """One deployment as a person (``list``) or a script (``list -o json``) sees it.

    Fields a target cannot know are ``None`` (e.g. ``restarts`` on a cluster, ``traffic``
    locally), never missing, so the JSON shape is identical for every target.
    """

    name: str
    model: str
    version: str
    namespace: str
    state: str
    url: str | None
    grpc: str | None
    revision: str | None
    replicas: int
    age_seconds: float | None
    target: str
    protocol: str = "seldon"
    platform: str = "seldon"
    restarts: int | None = None
    traffic: dict[str, int] | None = None
    last_error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_row(cls, row: dict[str, Any], **target_specific: Any) -> DeploymentInfo:
        """The fields every target's description has, plus what only this target knows."""
        common = ("name", "model", "version", "namespace", "state", "url", "grpc", "revision", "age_seconds")
        return cls(**{key: row[key] for key in common}, **target_specific)


@dataclass(frozen=True)
class DeployPolicy:
    """How a new revision treats the model's other versions.

    ``replace`` (default): once the new one is ready, the model's other versions are deleted;
    ``keep``: they stay. ``canary`` N (cluster only): the current version keeps 100-N % of the
    traffic in the same deployment. ``force``: update a same-named object that is not ours.
    """

    mode: VersionPolicy = VersionPolicy.REPLACE
    canary: int | None = None
    force: bool = False
    timeout: float = 300.0

    def __post_init__(self) -> None:
        # the one place a policy from a caller is checked; a plain string is accepted and typed here
        object.__setattr__(self, "mode", parse_choice(VersionPolicy, self.mode, "policy"))
        problem = check_canary_percent(self.canary) if self.canary is not None else None
        if problem:
            raise Invalid(f"--canary {problem}")


@dataclass(frozen=True)
class DeployOutcome:
    """What one ``deploy`` did, precisely enough to undo it (see ``Target.undo``).

    ``action`` is ``created`` (nothing of that name existed), ``updated`` (the same identity
    was there: ``previous`` holds what it was), ``canary`` (a canary predictor was added to
    ``previous``) or ``unchanged`` (nothing was applied: the local runtime publishes a new
    process only once it is ready, so a failed start leaves what was there; undo does nothing).

    Returned by a deploy that succeeded, and carried by the ``NotReady`` of one that did not
    (``NotReady.outcome``), on every target: ``info`` then names the deployment that failed.
    """

    info: DeploymentInfo
    action: Action
    previous: Any = None
    replaced: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Endpoint:
    rest: str
    grpc: str | None
    headers: dict[str, str] = field(default_factory=dict)
    """Headers a client must send (e.g. the Host an ingress routes on); usually none."""


@dataclass(frozen=True)
class DeleteOutcome:
    name: str
    namespace: str
    messages: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
