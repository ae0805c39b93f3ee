"""The errors a wrapper raises, as Seldon's own exception type so Seldon renders them.

Seldon turns a ``SeldonMicroserviceException`` into an HTTP reply with that status and a JSON
body ``{"status": {"status": 1, "info": ..., "code": -1, "reason": ...}}``; anything else becomes
a 500. These subclasses fix the status and the reason so callers never pick them by hand.
"""

from __future__ import annotations

from model_wrappers.seldon_compat import SeldonMicroserviceException


class WrapperError(SeldonMicroserviceException):
    """Common base: Seldon's exception does not pass its message to ``Exception``; we do, so
    logs, tracebacks and ``str(error)`` show it."""

    def __str__(self) -> str:
        return str(self.message)


class BadInput(WrapperError):
    """The request is malformed or does not fit the model: HTTP 400, ``MICROSERVICE_BAD_DATA``.

    Deliberately not a ``TypeError``/``ValueError``: Seldon retries ``predict`` without ``meta``
    on a ``TypeError``, so a type problem raised as ``TypeError`` would run the model twice.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message, status_code=400, reason="MICROSERVICE_BAD_DATA")


class PayloadTooLarge(WrapperError):
    """The body or the batch exceeds the configured limit: HTTP 413."""

    def __init__(self, message: str) -> None:
        super().__init__(message, status_code=413, reason="MICROSERVICE_BAD_DATA")


class ModelNotReady(WrapperError):
    """``load()`` has not finished (or failed): HTTP 503 so load balancers retry elsewhere."""

    def __init__(self, message: str) -> None:
        super().__init__(message, status_code=503, reason="MICROSERVICE_NOT_READY")


class ModelFailure(WrapperError):
    """The model itself failed on valid input: HTTP 500, ``MICROSERVICE_INTERNAL_ERROR``."""

    def __init__(self, message: str) -> None:
        super().__init__(message, status_code=500, reason="MICROSERVICE_INTERNAL_ERROR")
