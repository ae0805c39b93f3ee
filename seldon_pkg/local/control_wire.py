"""The control API's errors on the wire, for both of its ends: the gateway (control.py) and the client.

One module for both so that they cannot drift apart: an error is ``{"error": message,
"kind": K}`` where ``K`` names one of the library's error kinds (``seldon_pkg.errors.KINDS``),
with an HTTP status that fits it (:data:`STATUS_BY_KIND`). The client raises the same class
again from ``kind``, so the local runtime ends the CLI with the same exit code as a cluster;
a kind it does not know, or an answer without one (an older gateway), falls back to the
status (:data:`KIND_BY_STATUS`).
"""

from __future__ import annotations

from typing import Any

from seldon_pkg.errors import KINDS, Invalid, NotFound, NotReady, Refused, SeldonPkgError, kind_of

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
    return STATUS_BY_KIND[kind], {"error": str(error), "kind": kind, **extra}


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
    return cls(message)
