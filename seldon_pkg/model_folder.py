"""The model folder stays inside: what may be copied from it into an image or run from it.

A build context or a local environment never contains a file from outside the model folder
(the folder of the spec). A symbolic link that resolves outside it is refused with the link,
its target and what to do; a link that resolves inside is kept as a *relative* link, as
Docker's own build context keeps links, so the image holds the same tree. Files named by
parameters are checked the same way (``packaging.referenced_files``).
"""

from __future__ import annotations

import fnmatch
import functools
import os
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

from seldon_pkg.errors import SpecError

IGNORED = ("__pycache__", ".git", ".venv", "venv", ".pytest_cache", ".mypy_cache", ".seldon-pkg", "*.pyc", "*.egg-info")
"""Never copied into an image or an environment, never part of a revision."""
TEST_FILES = ("test_*.py", "*_test.py", "tests", "conftest.py")
"""A model folder's tests: run by ``seldon-pkg test``, not served (not in images or revisions)."""


def inside(path: Path, folder: Path) -> bool:
    resolved, root = path.resolve(), folder.resolve()
    return resolved == root or root in resolved.parents


def escaping_links(folder: Path, ignored: Iterable[str] = ()) -> list[tuple[Path, Path]]:
    """``(link, target)`` for every symbolic link under ``folder`` that resolves outside it."""
    patterns = tuple(ignored)
    found = []
    for directory, dirnames, filenames in os.walk(folder, followlinks=False):
        dirnames[:] = [d for d in dirnames if not _ignored(d, patterns)]
        for name in [*dirnames, *filenames]:
            path = Path(directory) / name
            if path.is_symlink() and not _ignored(name, patterns) and not inside(path, folder):
                found.append((path, Path(os.path.realpath(path))))
    return found


def check_contained(folder: Path, ignored: Iterable[str] = ()) -> None:
    """Refuse a model folder with a link that leads outside it (a ``SpecError`` naming it)."""
    links = escaping_links(folder, ignored)
    if links:
        link, target = links[0]
        raise SpecError(
            "(model folder)",
            f"{link.relative_to(folder)} is a link to {target}, outside the model folder {folder}; "
            "copy what it points at into the folder instead",
        )


def copy_tree(source: Path, destination: Path, skip: Callable[[Path], bool], ignored: Iterable[str] = ()) -> None:
    """Copy ``source`` to ``destination``: files as files, inside links as relative links.

    ``check_contained`` must have passed; ``skip(path)`` leaves a file or folder out.
    """
    patterns = tuple(ignored)
    destination.mkdir(parents=True, exist_ok=True)
    for entry in sorted(source.iterdir()):
        if _ignored(entry.name, patterns) or skip(entry):
            continue
        target = destination / entry.name
        if entry.is_symlink():
            relative = os.path.relpath(os.path.realpath(entry), entry.parent.resolve())
            os.symlink(relative, target)
        elif entry.is_dir():
            copy_tree(entry, target, skip, patterns)
        else:
            shutil.copy2(entry, target)


def _ignored(name: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatch(name, pattern) for pattern in patterns)


WHOLE_FILE_LIMIT = 16 * 1024 * 1024
"""Files up to this size are hashed whole; larger ones (model weights) by size, head and tail."""


def content_digest(folder: Path, ignored: Iterable[str] = (), skip: Iterable[str] = ()) -> str:
    """A short hash of the folder's files (names and contents), so that a change to the model's
    code or files is a new revision. ``skip`` names files that do not change what is served
    (tests). Cached while no file's size or modification time changes."""
    files = _served_files(folder, tuple(ignored), tuple(skip))
    signature = tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files)
    return _digest(folder, signature)


def _served_files(folder: Path, patterns: tuple[str, ...], skipped: tuple[str, ...]) -> list[Path]:
    found = []
    for directory, dirnames, filenames in sorted(os.walk(folder, followlinks=False)):
        dirnames[:] = sorted(d for d in dirnames if not _ignored(d, patterns) and not _ignored(d, skipped))
        for name in sorted(filenames):
            path = Path(directory) / name
            if not (_ignored(name, patterns) or _ignored(name, skipped) or path.is_symlink()):
                found.append(path)
    return found


@functools.lru_cache(maxsize=64)
def _digest(folder: Path, signature: tuple[tuple[str, int, int], ...]) -> str:
    import hashlib

    digest = hashlib.sha256()
    for name, size, _ in signature:
        path = Path(name)
        digest.update(str(path.relative_to(folder)).encode() + b"\0")
        with open(path, "rb") as handle:
            if size <= WHOLE_FILE_LIMIT:
                digest.update(handle.read())
            else:
                digest.update(str(size).encode() + handle.read(1 << 20))
                handle.seek(-(1 << 20), os.SEEK_END)
                digest.update(handle.read())
    return digest.hexdigest()[:12]
