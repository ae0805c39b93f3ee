"""What a remote storage backend is (``Source``) and the errors every backend raises.

Separate from ``fetch`` so that the backends (``s3``, ``http``) and the fetcher that picks one
by scheme all import from here, and nothing imports in a circle.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seldon_pkg.errors import NotFound, SeldonPkgError

CHUNK = 1 << 20
"""Bytes per read while downloading."""


class StorageError(SeldonPkgError):
    """The model storage could not be read; the message names the URI and the reason."""


class Unreachable(StorageError):
    """The storage endpoint did not answer."""


class AccessDenied(StorageError):
    """The storage refused the credentials."""


class Corrupt(StorageError):
    """A file arrived with the wrong size or checksum, or an archive is broken."""


class Missing(NotFound):
    """Nothing at that URI."""


@dataclass(frozen=True)
class RemoteFile:
    relative: str
    size: int | None
    etag: str | None
    source: Any
    """What the backend needs to download it (an S3 key, a URL)."""


class Source:
    """A remote backend: list what is at the URI, download one file to a path."""

    def listing(self) -> list[RemoteFile]:
        raise NotImplementedError

    def download(self, item: RemoteFile, target: Path, advance: Callable[[int], None]) -> None:
        raise NotImplementedError
