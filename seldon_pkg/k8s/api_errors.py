"""Kubernetes API refusals as the library's own errors, so nothing of the client leaks out.

Every public entry point of the cluster code (``KubernetesTarget``'s methods, ``prune``) runs
under :func:`api_errors`: an ``ApiException`` becomes ``Invalid`` (400, 422: the API server
refused what we sent), ``NotFound`` (404) or a plain ``SeldonPkgError`` (403, 409, 500...),
whose text is the API server's own message. Callers (the CLI among them) see one error family
with the exit codes of ``seldon_pkg.errors``.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import json
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from seldon_pkg.errors import Invalid, NotFound, SeldonPkgError

ERRORS_BY_STATUS: dict[int, type[SeldonPkgError]] = {400: Invalid, 422: Invalid, 404: NotFound}
Function = TypeVar("Function", bound=Callable[..., Any])


class ClusterApiError(SeldonPkgError):
    """The API server refused a call for another reason than our input (403, 409, 5xx)."""


def api_error_text(error: Exception) -> str:
    """``403 Forbidden: <the API server's message>`` from an ``ApiException``."""
    status, reason, body = getattr(error, "status", ""), getattr(error, "reason", ""), getattr(error, "body", "")
    try:
        message = json.loads(body).get("message", "")
    except (TypeError, ValueError, AttributeError):
        message = str(body or "")[:300]
    return f"{status} {reason}: {message}".strip()


def as_library_error(error: Exception) -> SeldonPkgError:
    """The library error for an ``ApiException`` (its status kept as ``.status``)."""
    status = getattr(error, "status", 0) or 0
    wrapped = ERRORS_BY_STATUS.get(status, ClusterApiError)(f"Kubernetes API answered {api_error_text(error)}")
    wrapped.status = status  # type: ignore[attr-defined]
    return wrapped


@contextlib.contextmanager
def api_errors() -> Iterator[None]:
    """Raise the library's error for any ``ApiException`` inside the block."""
    from kubernetes.client.exceptions import ApiException

    try:
        yield
    except ApiException as error:
        raise as_library_error(error) from error


def wraps_api_errors(function: Function) -> Function:
    """:func:`api_errors` around a method (a generator's iteration too)."""
    if inspect.isgeneratorfunction(function):

        @functools.wraps(function)
        def generator(*args: Any, **kwargs: Any) -> Any:
            with api_errors():
                yield from function(*args, **kwargs)

        return generator  # type: ignore[return-value]

    @functools.wraps(function)
    def plain(*args: Any, **kwargs: Any) -> Any:
        with api_errors():
            return function(*args, **kwargs)

    return plain  # type: ignore[return-value]
