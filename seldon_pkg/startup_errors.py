"""The cause of a model's failed start, found in its log, for the first lines a person reads.

A model server that fails to load a model prints the model's exception and then many lines
of its own shutdown (gunicorn's "Worker failed to boot", multiprocessing's
``ConnectionRefusedError`` and "can only join a child process", MLServer's shutdown). The
cause is the first traceback that runs through the model's own code (a file under its model
folder), else the first traceback whose exception is not one of those shutdown errors; what is
reported is that traceback's exception line and its innermost frame in the model's code.
Pure functions over text: the local runtime and the cluster target (pod logs and termination
messages) use the same rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+), in (?P<function>.+)$')
EXCEPTION = re.compile(
    r"^(?P<type>[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt|Warning)|[A-Za-z_][\w.]*Error\w*)(: (?P<message>.*))?$"
)
SHUTDOWN_NOISE = (
    "ConnectionRefusedError",
    "BrokenPipeError",
    "AssertionError: can only join a child process",
    "AttributeError: 'ForkAwareLocal'",
    "HaltServer",
    "KeyboardInterrupt",
    "SystemExit",
    "asyncio.exceptions.CancelledError",
)


@dataclass(frozen=True)
class Frame:
    file: str
    line: int
    function: str
    code: str

    def __str__(self) -> str:
        return f"{self.file}, line {self.line}, in {self.function}" + (f": {self.code}" if self.code else "")


@dataclass(frozen=True)
class Cause:
    exception: str
    """``Type: message``, as the traceback's last line says."""
    frame: Frame | None
    """The innermost frame in the model's own code, when there is one."""
    traceback: tuple[str, ...] = ()
    """The traceback as the log printed it, up to its exception line."""

    def __str__(self) -> str:
        return self.exception + (f"\n  at {self.frame}" if self.frame else "")


@dataclass(frozen=True)
class _Traceback:
    frames: tuple[Frame, ...]
    exception: str
    lines: tuple[str, ...] = ()


def tracebacks(text: str) -> list[_Traceback]:
    """Every traceback in ``text``, in order: its frames and its exception line."""
    found: list[_Traceback] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        if not lines[index].startswith("Traceback (most recent call last):"):
            index += 1
            continue
        frames: list[Frame] = []
        start = index
        index += 1
        while index < len(lines):
            match = FRAME.match(lines[index])
            if match:
                code = lines[index + 1].strip() if index + 1 < len(lines) and not FRAME.match(lines[index + 1]) else ""
                frames.append(Frame(match["file"], int(match["line"]), match["function"], code))
                index += 1
                continue
            if lines[index].startswith((" ", "\t")):  # source lines, carets
                index += 1
                continue
            if EXCEPTION.match(lines[index]):
                found.append(_Traceback(tuple(frames), lines[index].strip(), tuple(lines[start : index + 1])))
            break
    return found


def cause(text: str, model_folder: Path | str | None) -> Cause | None:
    """The model's own error in a start-up log, or ``None`` when the log holds no traceback."""
    folder = str(Path(model_folder).resolve()) if model_folder else None
    candidates = tracebacks(text)
    for traceback in candidates:
        own = [f for f in traceback.frames if folder and f.file.startswith(folder + "/")]
        if own:
            return Cause(traceback.exception, own[-1], traceback.lines)
    for traceback in candidates:
        if not traceback.exception.startswith(SHUTDOWN_NOISE):
            return Cause(traceback.exception, None, traceback.lines)
    return _cut_traceback(text)


def _cut_traceback(text: str) -> Cause | None:
    """A traceback whose head was cut off (a container's termination message keeps only the log's
    last 2 KiB): its frames and its last exception line, when the text ends with one."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines or not any(FRAME.match(line) for line in lines):
        return None
    last = lines[-1].strip()
    if not EXCEPTION.match(last) or last.startswith(SHUTDOWN_NOISE):
        return None
    return Cause(last, None, tuple(lines[-12:]))
