"""A spec's ``storage_uri``: parsed once, checked so it cannot escape what it is copied into.

Schemes (what each platform's storage initializer also understands):

==============================  ==========================================================
``/abs/path`` or ``rel/path``   a folder or file on this machine (relative to the spec)
``pvc://<claim>/<path>``        a PersistentVolumeClaim (e.g. NFS-backed); locally mapped to
                                a folder given by ``SELDON_PKG_PVC_<CLAIM>`` or
                                ``--pvc CLAIM=DIR`` (see fetch.py)
``s3://<bucket>/<prefix>``      S3 or any S3-compatible store (AWS_* environment, endpoint
                                override ``AWS_ENDPOINT_URL``)
``gs://<bucket>/<prefix>``      Google Cloud Storage (on the cluster; locally when
                                ``google-cloud-storage`` is installed)
``https://host/path``           one file over HTTPS (``http://`` only for loopback hosts)
==============================  ==========================================================

Every part that becomes a local path (bucket, claim, key, path segments) is checked: no
``..`` or empty segments, no absolute keys, no backslashes, no control characters. On the
cluster the same string goes into a YAML/JSON manifest (a sink that escapes everything).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from seldon_pkg.text_sinks import describe_character, forbidden_character

SCHEMES = ("file", "pvc", "s3", "gs", "https", "http")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
BUCKET = re.compile(r"^[a-z0-9][a-z0-9.\-_]{1,253}[a-z0-9]$")
CLAIM = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
"""A PersistentVolumeClaim name: a DNS-1123 label (what a volume's claimName must be)."""
MODEL_MOUNT = "/mnt/models"
"""Where every platform's storage initializer puts the model inside the pod (SC1's
model_initializer_injector.go, KServe's DefaultModelLocalMountPath, both ``/mnt/models``)."""


class StorageUriError(ValueError):
    """The URI is not usable; the message says why (SpecError names the field)."""


@dataclass(frozen=True)
class StorageUri:
    raw: str
    scheme: str
    location: str
    """Bucket, claim or host; empty for a local path."""
    path: str
    """Key prefix / path inside it, ``/``-separated, no leading ``/`` (local: the path as written)."""

    @property
    def is_remote(self) -> bool:
        return self.scheme in ("s3", "gs", "https", "http")

    def segments(self) -> list[str]:
        return [s for s in self.path.split("/") if s]


def _check_segments(path: str, what: str, allow_absolute: bool = False) -> None:
    if "\\" in path:
        raise StorageUriError(f"{what} must not contain a backslash")
    if path.startswith("/") and not allow_absolute:
        raise StorageUriError(f"{what} must be relative (no leading '/')")
    parts = path.strip("/").split("/") if path.strip("/") else []
    for part in parts:
        if part in ("..", "."):
            raise StorageUriError(f"{what} must not contain '{part}' segments")
        if part == "":
            raise StorageUriError(f"{what} must not contain empty segments ('//')")


def parse_storage_uri(raw: str) -> StorageUri:
    """Parse and check ``raw``; raise :class:`StorageUriError` with the reason."""
    if not isinstance(raw, str) or not raw.strip():
        raise StorageUriError("must be a non-empty string")
    raw = raw.strip()
    bad = forbidden_character(raw)
    if bad is not None or any(c.isspace() for c in raw):
        raise StorageUriError(f"must not contain {describe_character(bad) if bad else 'white space'}")
    if "://" not in raw:
        _check_segments(raw, "a local path", allow_absolute=True)
        return StorageUri(raw, "file", "", raw)
    scheme, _, rest = raw.partition("://")
    if scheme not in SCHEMES:
        raise StorageUriError(f"scheme {scheme!r} is not supported; use one of {', '.join(SCHEMES)}")
    if scheme == "file":
        _check_segments(rest, "a file:// path", allow_absolute=True)
        return StorageUri(raw, "file", "", rest)
    if scheme in ("http", "https"):
        parts = urlsplit(raw)
        if not parts.hostname:
            raise StorageUriError("an http(s) URI needs a host")
        if scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
            raise StorageUriError("plain http:// is only accepted for loopback hosts; use https://")
        if parts.username or parts.password:
            raise StorageUriError("must not carry credentials; the platforms read them from secrets")
        _check_segments(parts.path.lstrip("/"), "the URL path")
        if not parts.path.strip("/"):
            raise StorageUriError("an http(s) URI must name a file")
        return StorageUri(raw, scheme, parts.netloc, parts.path.lstrip("/"))
    location, _, path = rest.partition("/")
    if scheme == "pvc":
        if not CLAIM.match(location):
            raise StorageUriError(f"pvc:// claim {location!r} must be a DNS-1123 label")
    elif not BUCKET.match(location):
        raise StorageUriError(f"bucket {location!r} is not a valid bucket name")
    _check_segments(path, "the path inside the bucket" if scheme != "pvc" else "the path inside the claim")
    return StorageUri(raw, scheme, location, path.strip("/"))
