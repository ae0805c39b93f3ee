"""The few seldon-core types the wrappers use, without requiring seldon-core.

Under ``seldon-core-microservice`` these are seldon-core's own classes (Seldon recognises them:
it renders ``SeldonMicroserviceException`` as an HTTP error and unpacks ``SeldonResponse``).
Elsewhere (MLServer for the Open Inference Protocol, ``model_wrappers/oip.py``; a model's own
tests; a notebook) they are small equivalents with the same attributes, so one model class
serves both protocols unchanged and imports in milliseconds.
"""

from __future__ import annotations

import sys
from typing import Any

_SERVED_BY_SELDON = "seldon_core" in sys.modules
"""seldon-core-microservice (and our launcher) import seldon_core before the model class; a test,
a notebook or MLServer do not, and then importing it would only cost time: seldon-core imports
TensorFlow whenever it is installed (4 s and a screen of log lines for a two-line test)."""

try:
    if not _SERVED_BY_SELDON:
        raise ImportError("not under seldon-core-microservice")
    from seldon_core.flask_utils import SeldonMicroserviceException
    from seldon_core.user_model import SeldonNotImplementedError, SeldonResponse

    HAVE_SELDON_CORE = True
except ImportError:  # MLServer, tests, notebooks: the same names, without seldon-core
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
