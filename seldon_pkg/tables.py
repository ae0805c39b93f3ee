"""Plain-text tables for the CLI: columns padded, cells made safe to print.

Cells come from specs and clusters (model names, versions, error text): control characters,
newlines and bidi overrides are shown escaped so a value can never break a row, move the
cursor or reorder what a person reads.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any


def printable(value: Any) -> str:
    """``value`` as one line of visible text: control and format characters become ``\\uXXXX``."""
    text = "" if value is None else str(value)
    return "".join(c if unicodedata.category(c)[0] != "C" else f"\\u{ord(c):04x}" for c in text)


def render_table(rows: Iterable[dict[str, Any]], columns: Sequence[str]) -> str:
    table = [list(columns)] + [[printable(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(columns))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip() for line in table
    )
