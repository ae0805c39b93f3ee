"""The library's error types: each names what is wrong so the CLI can print it as is.

Every error carries the exit code the CLI ends with, and the codes are the same for every
target (local runtime or cluster), so a script can tell "not there" from "not ready" from
"refused" without parsing text:

==========  ====  ==========================================================================
error       code  meaning
==========  ====  ==========================================================================
(any)       1     something failed (a process, a download, the API server)
Invalid     2     the input is wrong: a spec field, an option, a reference; nothing was done
NotFound    3     the deployment (or gateway, or object) named does not exist
NotReady    4     it was applied but did not become ready in time; the cause is in the text
Refused     5     it would overwrite or delete something that is not ours; nothing was done
==========  ====  ==========================================================================

An error that crosses a process boundary (the local gateway's control API) travels as its
*kind*, the name of one of these five classes (:data:`KINDS`, :func:`kind_of`), and is raised
again as that class on the other side: never as a class named by the wire.
"""

from __future__ import annotations

from typing import Any


class SeldonPkgError(Exception):
    """Base of every error the CLI reports as a message instead of a traceback."""

    exit_code = 1


class Invalid(SeldonPkgError):
    """The input is wrong (spec, option, reference); nothing was changed."""

    exit_code = 2


class NotFound(SeldonPkgError):
    """The deployment (or what it refers to) does not exist."""

    exit_code = 3


class NotReady(SeldonPkgError):
    """Applied, but it did not become ready; ``outcome`` says what the apply step did.

    From a target's ``deploy`` it is a ``targets.DeployOutcome`` on every target (its ``info``
    names the deployment that failed, its ``action`` what was applied), or ``None`` when the
    failure came before anything was applied. Callers that clean up (``targets.deployed``)
    undo exactly that outcome.
    """

    exit_code = 4

    def __init__(self, message: str, outcome: Any = None) -> None:
        super().__init__(message)
        self.outcome = outcome


class Refused(SeldonPkgError):
    """Doing it would overwrite or delete something seldon-pkg does not own."""

    exit_code = 5


class SpecError(Invalid):
    """The model spec is invalid; the message names the file, the field and the reason."""

    def __init__(self, field: str, reason: str, source: str = "spec") -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{source}: field '{field}': {reason}")


class ManifestError(Invalid):
    """A rendered manifest breaks the SeldonDeployment schema or Seldon's webhook rules."""


KINDS: dict[str, type[SeldonPkgError]] = {
    cls.__name__: cls for cls in (SeldonPkgError, Invalid, NotFound, NotReady, Refused)
}
"""The error kinds, by name: each has its own exit code; every other error class derives from one."""


def kind_of(error: SeldonPkgError) -> str:
    """The name in :data:`KINDS` of the most specific kind ``error`` is (a ``SpecError`` is ``Invalid``)."""
    for cls in type(error).__mro__:
        if KINDS.get(cls.__name__) is cls:
            return cls.__name__
    return SeldonPkgError.__name__
