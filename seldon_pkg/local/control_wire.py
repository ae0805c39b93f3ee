"""The control API's wire format, for both of its ends: the gateway (control.py) and the client.

One module for both so that they cannot drift apart:

* an error is ``{"error": message, "kind": K}`` where ``K`` names one of the library's error
  kinds (``seldon_pkg.errors.KINDS``), with an HTTP status that fits it
  (:data:`STATUS_BY_KIND`). The client raises the same class again from ``kind``, so the
  local runtime ends the CLI with the same exit code as a cluster; a kind it does not know,
  or an answer without one (an older gateway), falls back to the status
  (:data:`KIND_BY_STATUS`). A ``NotReady`` also carries ``"outcome"``, in the shape of a
  deploy answer, from which the client rebuilds the ``DeployOutcome``;
* a deployment is described as a row (``Gateway.describe``), read as a ``DeploymentInfo``
  by :func:`info_from_row`; a deploy answers ``{"deployment", "action", "previous",
  "replaced"}``, read as a ``DeployOutcome`` by :func:`outcome_from_answer`.
"""

from __future__ import annotations

from typing import Any

from seldon_pkg.errors import KINDS, Invalid, NotFound, NotReady, Refused, SeldonPkgError, kind_of
from seldon_pkg.records import DeploymentInfo, DeployOutcome
from seldon_pkg.values import Action

STATUS_BY_KIND: dict[str, int] = {
    "Invalid": 422,
    "NotFound": 404,
    "Refused": 409,
    "NotReady": 502,
    "SeldonPkgError": 500,
}
"""Statuses an older client also reads right (it knew only the status; see KIND_BY_STATUS)."""
KIND_BY_STATUS: dict[int, type[SeldonPkgError]] = {
    400: Invalid,
    404: NotFound,
    409: Refused,
    422: Invalid,
    502: NotReady,
}
"""For an answer that names no kind (an older gateway, a refusal before any handler ran)."""


def error_answer(error: SeldonPkgError, **extra: Any) -> tuple[int, dict[str, Any]]:
    """The status and JSON body that carry ``error`` to the client."""
    kind = kind_of(error)
    body: dict[str, Any] = {"error": str(error), "kind": kind, **extra}
    if isinstance(error, NotReady) and isinstance(error.outcome, DeployOutcome):
        body["outcome"] = outcome_to_answer(error.outcome)
    return STATUS_BY_KIND[kind], body


def error_from(status: int, body: Any, text: str = "") -> SeldonPkgError:
    """The library error an answer of ``status`` with ``body`` (JSON, or anything else) carries.

    ``text`` is the message when the body has none (an answer that is not ours)."""
    if not isinstance(body, dict):
        body = {}
    message = body.get("error")
    message = message if isinstance(message, str) else text
    kind = body.get("kind")
    cls = KINDS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        cls = KIND_BY_STATUS.get(status, SeldonPkgError)
    if cls is NotReady:
        return NotReady(message, _outcome_or_none(body.get("outcome")))
    return cls(message)


def info_from_row(row: dict[str, Any]) -> DeploymentInfo:
    """The gateway's description of one deployment as a ``DeploymentInfo``."""
    return DeploymentInfo.from_row(
        row,
        replicas=1,
        target="local",
        protocol=row.get("protocol", "seldon"),
        platform=row.get("platform", "seldon"),
        restarts=row["restarts"],
        last_error=row["last_error"] or None,
    )


def outcome_from_answer(answer: dict[str, Any]) -> DeployOutcome:
    """A deploy's answer (or a ``NotReady``'s ``outcome``) as a ``DeployOutcome``."""
    return DeployOutcome(
        info_from_row(answer["deployment"]),
        Action(answer["action"]),
        answer.get("previous"),
        tuple(answer.get("replaced") or ()),
    )


def outcome_to_answer(outcome: DeployOutcome) -> dict[str, Any]:
    """The inverse of :func:`outcome_from_answer` (the row holds what ``info_from_row`` reads)."""
    return {
        "deployment": outcome.info.to_dict(),
        "action": outcome.action,
        "previous": outcome.previous,
        "replaced": list(outcome.replaced),
    }


def _outcome_or_none(answer: Any) -> DeployOutcome | None:
    """The outcome a ``NotReady`` answer carries; ``None`` when it has none or not in our shape
    (the error itself still reaches the user; only what cleans up after it is missing)."""
    if not isinstance(answer, dict):
        return None
    try:
        return outcome_from_answer(answer)
    except (KeyError, TypeError):
        return None
