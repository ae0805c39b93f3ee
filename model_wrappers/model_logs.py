"""Each model's own log lines, inside a server process that several models share.

A shared MLServer process writes one stream (the server's log). ``seldon-pkg logs NAME`` must
still show that model's lines, and a failed load must be explained from that model's own
traceback, so this module copies what belongs to a model into that model's file as well:

* whatever is written to ``sys.stdout``/``sys.stderr`` while MLServer's model context names
  the model (MLServer sets it around every load, unload and inference): MLServer's own lines
  about it (its log handler writes to ``sys.stdout``, replaced before MLServer configures it),
  the user's ``print`` and the warnings ``logging`` shows;
* the traceback of a load that raised (:func:`write_exception`), which MLServer logs outside
  the model context.

Nothing here runs per request unless something is written. Output that bypasses Python (a C
library writing to file descriptor 2) reaches only the server's log.
"""

from __future__ import annotations

import sys
import threading
import traceback
from contextvars import ContextVar
from typing import TextIO

_FILES: dict[str, TextIO] = {}
_LOCK = threading.Lock()
current_model: ContextVar[str] = ContextVar("seldon_pkg_current_model", default="")
"""Set by our adapter around a shared model's load (MLServer's own context var is used too)."""


def _mlserver_model() -> str:
    try:
        from mlserver.context import model_name_var
    except ImportError:  # not inside MLServer (unit tests of this module)
        return ""
    return model_name_var.get("")


def model_in_context() -> str:
    """The name of the model whose code is running, or ``""``."""
    return current_model.get() or _mlserver_model()


def register(name: str, path: str) -> TextIO:
    """Copy ``name``'s lines to ``path`` (appended: each load of a model adds to its log)."""
    stream = open(path, "a", buffering=1, encoding="utf-8", errors="replace")
    with _LOCK:
        old = _FILES.get(name)
        _FILES[name] = stream
    if old is not None:
        old.close()
    return stream


def unregister(name: str, stream: TextIO) -> None:
    """Stop copying to ``stream`` when it is still ``name``'s (a newer load may have replaced it)."""
    with _LOCK:
        if _FILES.get(name) is stream:
            del _FILES[name]
    stream.close()


def write(name: str, text: str) -> None:
    """Append ``text`` to ``name``'s log when it has one (never raises: logging must not fail a model)."""
    stream = _FILES.get(name)
    if stream is None:
        return
    try:
        stream.write(text)
    except (OSError, ValueError):
        pass


def write_exception(name: str, error: BaseException) -> None:
    """The whole traceback of ``error`` into ``name``'s log (how a failed load explains itself)."""
    write(name, "".join(traceback.format_exception(error)))


class _ModelStream:
    """``sys.stdout``/``sys.stderr`` as seen by model code: the server's stream, and a copy into
    the log of the model in context."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        name = model_in_context()
        if name:
            write(name, text)
        return self._stream.write(text)

    def __getattr__(self, attribute: str):
        return getattr(self._stream, attribute)


def install() -> None:
    """Route model output (called once by the MLServer launcher, before MLServer starts)."""
    if isinstance(sys.stdout, _ModelStream):
        return
    sys.stdout = _ModelStream(sys.stdout)
    sys.stderr = _ModelStream(sys.stderr)
