"""The typed values that cross the library's boundary: protocol, version policy, deploy action.

Each is a ``StrEnum``: parsed once where it enters (the spec parser, the CLI, the local control
API) by :func:`parse_choice`, which names the field and the choices, and passed whole after
that. Being ``str`` subclasses they serialise as their plain value in JSON, compare equal to it,
and print as it, so records written before they existed still read back. Platforms are objects,
not strings: see ``seldon_pkg.platforms.registry``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from enum import StrEnum
from typing import TypeVar

from seldon_pkg.errors import Invalid


class Protocol(StrEnum):
    """The wire protocol a model speaks; it decides the model server (``seldon_pkg.servers``)."""

    SELDON = "seldon"
    """Seldon's protocol (``/api/v1.0/predictions``), served by ``seldon-core-microservice``."""
    OIP = "v2"
    """The Open Inference Protocol (``/v2/models/...``), served by MLServer."""


class Isolation(StrEnum):
    """Whether a local OIP model shares a model-server process with others (``seldon_pkg.local.shared``)."""

    SHARED = "shared"
    """One MLServer process per runtime environment, models added and removed through its model
    repository: about 1.5 MiB and a fraction of a second per model instead of a process each."""
    PROCESS = "process"
    """A process group of the model's own: its memory, a segfault or a blocking call cannot reach
    another model (the only mode of the Seldon protocol, whose server serves one model)."""


class VersionPolicy(StrEnum):
    """What a deploy does with the model's other versions once the new one is ready."""

    REPLACE = "replace"
    KEEP = "keep"


class Action(StrEnum):
    """What one deploy did, precisely enough to undo it."""

    CREATED = "created"
    UPDATED = "updated"
    CANARY = "canary"
    UNCHANGED = "unchanged"
    """Nothing was applied (a local start that failed: the old revision keeps serving)."""


Choice = TypeVar("Choice", bound=StrEnum)


def parse_choice(kind: type[Choice], value: object, field: str) -> Choice:
    """``value`` as a member of ``kind``, or ``Invalid`` naming ``field`` and the choices."""
    if isinstance(value, kind):
        return value
    choices = [member.value for member in kind]
    if isinstance(value, str) and value in choices:
        return kind(value)
    hint = did_you_mean(str(value), choices)
    raise Invalid(f"{field}: must be one of {', '.join(choices)}{hint}, got {value!r}")


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest choice, or nothing."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
