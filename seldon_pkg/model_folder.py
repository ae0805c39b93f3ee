"""The model folder stays inside: what may be copied from it into an image or run from it.

A build context or a local environment never contains a file from outside the model folder
(the folder of the spec). A symbolic link that resolves outside it is refused with the link,
its target and what to do; a link that resolves inside is kept as a *relative* link, as
Docker's own build context keeps links, so the image holds the same tree. Files named by
parameters are checked the same way (``packaging.referenced_files``).
"""

from __future__ import annotations

import fnmatch
import os
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

from seldon_pkg.errors import SpecError


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
