"""Requirements are requirements: what a spec may ask pip to install, and nothing else.

A spec's ``requirements:`` entries and the lines of a ``requirements.txt`` beside it end up in
the requirements file of an image and of a local environment. A line that is not a PEP 508
requirement could redirect pip (``--extra-index-url http://elsewhere``: dependency confusion)
or pull in other files, so:

* each entry must parse as exactly one requirement (``packaging``); it is written back as
  ``packaging`` renders it, so nothing but the parsed requirement reaches the file;
* a direct URL (``name @ https://...``) and the index options ``--index-url``/``-i``,
  ``--extra-index-url``, ``--find-links``/``-f``, ``--trusted-host``, ``--no-index``, ``--pre``
  are accepted only when the spec says ``allow_pip_options: true``, and ``build``/``deploy``
  print them;
* ``-r``, ``-c`` and ``-e`` are refused: they name other files, which the image and the
  environment would not have; list the requirements themselves.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from packaging.requirements import InvalidRequirement, Requirement

from seldon_pkg.errors import SpecError
from seldon_pkg.text_sinks import describe_character, forbidden_character

INDEX_OPTIONS = {
    "-i": "--index-url",
    "--index-url": "--index-url",
    "--extra-index-url": "--extra-index-url",
    "-f": "--find-links",
    "--find-links": "--find-links",
    "--trusted-host": "--trusted-host",
}
FLAG_OPTIONS = {"--no-index", "--pre"}
FILE_OPTIONS = {"-r", "--requirement", "-c", "--constraint", "-e", "--editable"}
OPTION = re.compile(r"^(--[A-Za-z][-A-Za-z]*|-[A-Za-z])(.*)$")
OPTION_VALUE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._~:/?#\[\]@!$&'()*+,;=%-]*$")

Fail = Callable[[str, str], SpecError]


@dataclass(frozen=True)
class PipInput:
    requirements: tuple[str, ...] = ()
    options: tuple[str, ...] = ()
    """pip option lines (``--extra-index-url URL``), present only when the spec opted in."""


def requirement(text: str, field: str, fail: Fail, allow_urls: bool) -> str:
    """One requirement, as ``packaging`` renders it; a ``SpecError`` for anything else."""
    bad = forbidden_character(text)
    if bad is not None:
        raise fail(field, f"must be one requirement on one line; it holds {describe_character(bad)}")
    stripped = text.strip()
    if stripped.startswith("-"):
        raise fail(
            field,
            f"{stripped.split()[0]!r} is a pip option, not a requirement; "
            "index options go in requirements.txt with allow_pip_options: true",
        )
    try:
        parsed = Requirement(stripped)
    except InvalidRequirement as error:
        raise fail(field, f"is not a PEP 508 requirement ({error})") from None
    if parsed.url and not allow_urls:
        raise fail(field, f"installs from a URL ({parsed.url}); set allow_pip_options: true to allow it")
    return str(parsed)


def parse_lines(lines: Iterable[str], source: str, fail: Fail, allow_options: bool) -> PipInput:
    """The lines of a requirements file (comments, blank lines and ``\\`` continuations as pip reads them)."""
    requirements: list[str] = []
    options: list[str] = []
    for number, line in enumerate(_logical_lines(lines), start=1):
        field = f"{source} line {number}"
        if not line.startswith("-"):
            requirements.append(requirement(line, field, fail, allow_options))
            continue
        options.append(_option(line, field, fail, allow_options))
    return PipInput(tuple(requirements), tuple(options))


def _option(line: str, field: str, fail: Fail, allowed: bool) -> str:
    match = OPTION.match(line)
    if match is None:
        raise fail(field, f"{line[:40]!r} is neither a requirement nor a pip option")
    name, rest = match.group(1), match.group(2)
    value = (rest[1:] if rest[:1] in ("=", " ", "\t") else rest).strip()
    if name in FILE_OPTIONS:
        raise fail(
            field,
            f"{name} names another file, which the image and the environment would not have; "
            "list the requirements themselves",
        )
    if name not in INDEX_OPTIONS and name not in FLAG_OPTIONS:
        raise fail(field, f"pip option {name!r} is not supported here")
    if not allowed:
        raise fail(
            field,
            f"pip option {name} changes where packages come from; set allow_pip_options: true "
            "in the spec if that is intended",
        )
    if name in FLAG_OPTIONS:
        if value:
            raise fail(field, f"{name} takes no value")
        return name
    if not value or not OPTION_VALUE.match(value):
        raise fail(field, f"{name} needs one URL or host without spaces, got {value!r}")
    return f"{INDEX_OPTIONS[name]} {value}"


def _logical_lines(lines: Iterable[str]) -> Iterable[str]:
    """Join ``\\`` continuations, drop comments (``#`` at the start or after whitespace) and blanks."""
    pending = ""
    for raw in lines:
        if raw.endswith("\\"):
            pending += raw[:-1]
            continue
        line, pending = pending + raw, ""
        line = re.split(r"(^|\s)#", line, maxsplit=1)[0].strip()
        if line:
            yield line
    if pending.strip():
        yield pending.strip()
