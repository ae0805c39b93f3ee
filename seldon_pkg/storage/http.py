"""``https://host/path`` (``http://`` on loopback only): one file, an archive unpacked after.

A ``HEAD`` gives the size and a version (ETag, else Last-Modified) so an unchanged file is not
downloaded again; the body must match Content-Length exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import requests

from seldon_pkg.storage.source import (
    CHUNK,
    AccessDenied,
    Corrupt,
    Missing,
    RemoteFile,
    Source,
    StorageError,
    Unreachable,
)
from seldon_pkg.storage.uri import StorageUri

TIMEOUT = (5, 60)


class HttpSource(Source):
    def __init__(self, uri: StorageUri) -> None:
        self.uri = uri
        self.session = requests.Session()

    def _check(self, reply: requests.Response) -> None:
        if reply.status_code == 404:
            raise Missing(f"{self.uri.raw}: not found (HTTP 404)")
        if reply.status_code in (401, 403):
            raise AccessDenied(f"{self.uri.raw}: access denied (HTTP {reply.status_code})")
        if reply.status_code >= 400:
            raise StorageError(f"{self.uri.raw}: HTTP {reply.status_code}")

    def listing(self) -> list[RemoteFile]:
        try:
            reply = self.session.head(self.uri.raw, timeout=TIMEOUT, allow_redirects=True)
        except requests.RequestException as error:
            raise Unreachable(f"{self.uri.raw}: cannot reach the server ({error.__class__.__name__})") from None
        self._check(reply)
        length = reply.headers.get("Content-Length")
        version = reply.headers.get("ETag") or reply.headers.get("Last-Modified")
        name = self.uri.segments()[-1]
        return [RemoteFile(name, int(length) if length and length.isdigit() else None, version, self.uri.raw)]

    def download(self, item: RemoteFile, target: Path, advance: Callable[[int], None]) -> None:
        try:
            with self.session.get(item.source, timeout=TIMEOUT, stream=True) as reply:
                self._check(reply)
                with open(target, "wb") as handle:
                    for block in reply.iter_content(CHUNK):
                        handle.write(block)
                        advance(len(block))
        except requests.RequestException as error:
            raise Corrupt(f"{self.uri.raw}: the download broke off ({error.__class__.__name__})") from None
