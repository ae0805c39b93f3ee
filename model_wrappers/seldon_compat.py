"""The few seldon-core types the wrappers use, without requiring seldon-core.

Under ``seldon-core-microservice`` these are seldon-core's own classes (Seldon recognises them:
it renders ``SeldonMicroserviceException`` as an HTTP error and unpacks ``SeldonResponse``).
Under MLServer (the Open Inference Protocol, ``model_wrappers/oip.py``) seldon-core is not
installed; the same names are then small equivalents with the same attributes, so one model
class serves both protocols unchanged.
"""

from __future__ import annotations

from typing import Any

try:
    from seldon_core.flask_utils import SeldonMicroserviceException
    from seldon_core.user_model import SeldonNotImplementedError, SeldonResponse

    HAVE_SELDON_CORE = True
except ImportError:  # served by MLServer: no seldon-core in this environment
    HAVE_SELDON_CORE = False

    class SeldonMicroserviceException(Exception):  # type: ignore[no-redef]
        status_code = 400

        def __init__(
            self,
            message: Any,
            status_code: int | None = None,
            payload: Any = None,
            reason: str = "MICROSERVICE_BAD_DATA",
        ) -> None:
            super().__init__(message)
            self.message = message
            if status_code is not None:
                self.status_code = status_code
            self.payload = payload
            self.reason = reason

    class SeldonNotImplementedError(SeldonMicroserviceException):  # type: ignore[no-redef]
        pass

    class SeldonResponse:  # type: ignore[no-redef]
        def __init__(self, data: Any, tags: dict | None = None, metrics: list[dict] | None = None) -> None:
            self.data = data
            self.tags = tags if tags is not None else {}
            self.metrics = metrics if metrics is not None else []


__all__ = ["HAVE_SELDON_CORE", "SeldonMicroserviceException", "SeldonNotImplementedError", "SeldonResponse"]
