"""Every relative link in README.md and docs/*.md points at a file that exists (and, with a
``#fragment`` into a Markdown page, at one of its headings, as GitHub makes their anchors)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^(```|~~~)")


def prose(page: Path) -> list[str]:
    """The page's lines outside fenced code blocks."""
    lines, fenced = [], False
    for line in page.read_text().splitlines():
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced:
            lines.append(line)
    return lines


def anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation but - and _ dropped, spaces to -."""
    text = heading.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    return {anchor(line.lstrip("#")) for line in prose(page) if re.match(r"^#{1,6} ", line)}


def relative_links(page: Path) -> list[str]:
    return [
        target
        for line in prose(page)
        for target in LINK.findall(line)
        if not re.match(r"^[a-z][a-z0-9+.-]*:", target)  # http:, https:, mailto:
    ]


def test_the_pages_exist_and_link_somewhere():
    assert len(PAGES) >= 9, [page.name for page in PAGES]
    assert relative_links(ROOT / "README.md")


def test_every_relative_link_points_at_a_file_that_exists():
    broken = []
    for page in PAGES:
        for target in relative_links(page):
            path, _, fragment = target.partition("#")
            resolved = (page.parent / path).resolve() if path else page
            if not resolved.exists():
                broken.append(f"{page.relative_to(ROOT)}: {target} (no such file)")
            elif fragment and resolved.suffix == ".md" and fragment not in anchors(resolved):
                broken.append(f"{page.relative_to(ROOT)}: {target} (no such heading)")
    assert broken == []


def test_the_anchor_rule_matches_githubs():
    assert anchor(" Two protocols, one class: `protocol: seldon | v2`") == "two-protocols-one-class-protocol-seldon--v2"
    assert anchor(" Model storage: `storage_uri`") == "model-storage-storage_uri"
