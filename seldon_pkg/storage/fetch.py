"""Bring a ``storage_uri`` onto this machine for the local runtime: cached, checksummed, atomic.

Layout under the cache folder (the state folder's ``storage/``)::

    <sha256(uri)[:16]>/
        .partial-XXXX/           a download in progress (never served; removed on failure)
        <content digest[:16]>/   a complete copy, named by the SHA-256 of its files
        listing-<digest[:16]>    what the remote listed (keys, sizes, ETags) -> content name

A download goes into ``.partial-*`` and becomes visible only through one ``rename`` once every
file arrived whole (sizes checked; S3 single-part ETags checked as MD5), so a half-downloaded
model is never served. A remote whose listing has not changed is not downloaded again.
Local paths and ``pvc://`` claims are used in place (they are mounts on a cluster too).

Every remote key, URL path and archive member becomes a local path only after
:func:`safe_relative` (no ``..``, no absolute path, no backslash, no link leaving the folder).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from seldon_pkg.storage.http import HttpSource
from seldon_pkg.storage.s3 import S3Source
from seldon_pkg.storage.source import CHUNK, Corrupt, Missing, RemoteFile, Source, StorageError
from seldon_pkg.storage.uri import StorageUri, parse_storage_uri

Progress = Callable[[str], None]
PROGRESS_EVERY_S = 1.0
ARCHIVES = (".tar.gz", ".tgz", ".tar", ".zip")
PVC_ENV_PREFIX = "SELDON_PKG_PVC_"


@dataclass(frozen=True)
class Fetched:
    folder: Path
    """The folder the model's relative files resolve in."""
    digest: str
    """SHA-256 of the content (empty for a local path or a claim, used in place)."""
    downloaded: bool


def _quiet(_: str) -> None:
    pass


def safe_relative(name: str, what: str) -> PurePosixPath:
    """``name`` as a relative path that stays inside its folder, or :class:`StorageError`."""
    if not name or "\\" in name or "\x00" in name or name.startswith("/"):
        raise StorageError(f"{what} {name!r} would leave the model folder")
    path = PurePosixPath(name)
    if any(part in ("..", ".", "") for part in name.split("/")) or path.is_absolute():
        raise StorageError(f"{what} {name!r} would leave the model folder")
    return path


def fetch(
    uri_text: str,
    cache: Path,
    source_dir: Path,
    progress: Progress = _quiet,
    pvc_dirs: Mapping[str, str] | None = None,
) -> Fetched:
    """The local folder holding ``uri_text``'s files (downloaded into ``cache`` when remote)."""
    uri = parse_storage_uri(uri_text)
    if uri.scheme == "file":
        return _local(uri, source_dir)
    if uri.scheme == "pvc":
        return _claim(uri, pvc_dirs if pvc_dirs is not None else os.environ)
    if uri.scheme == "s3":
        return _remote(uri, S3Source(uri), cache, progress)
    if uri.scheme in ("http", "https"):
        return _remote(uri, HttpSource(uri), cache, progress)
    raise StorageError(
        f"{uri.raw}: {uri.scheme}:// is fetched by the platforms' storage initializers on a cluster; "
        "locally, use GCS's S3-compatible endpoint (s3:// with AWS_ENDPOINT_URL=https://storage.googleapis.com "
        "and HMAC keys) or copy the files into a local folder"
    )


def _local(uri: StorageUri, source_dir: Path) -> Fetched:
    path = Path(uri.path)
    folder = (path if path.is_absolute() else source_dir / path).resolve()
    if not folder.exists():
        raise Missing(f"{uri.raw}: no such file or folder ({folder})")
    return Fetched(folder if folder.is_dir() else folder.parent, "", False)


def _claim(uri: StorageUri, environment: Mapping[str, str]) -> Fetched:
    variable = PVC_ENV_PREFIX + uri.location.upper().replace("-", "_")
    root = environment.get(variable)
    if not root:
        raise StorageError(
            f"{uri.raw}: claim {uri.location!r} has no local folder; start the gateway with "
            f"{variable}=/path/to/the/volume (e.g. where the NFS export is mounted)"
        )
    base = Path(root).expanduser().resolve()
    folder = (base / uri.path).resolve() if uri.path else base
    if folder != base and base not in folder.parents:
        raise StorageError(f"{uri.raw}: the path leaves the claim's folder {base} (through a link)")
    if not folder.exists():
        raise Missing(f"{uri.raw}: nothing at {folder} (the folder given by {variable})")
    return Fetched(folder if folder.is_dir() else folder.parent, "", False)


def _remote(uri: StorageUri, source: Source, cache: Path, progress: Progress) -> Fetched:
    home = cache / hashlib.sha256(uri.raw.encode()).hexdigest()[:16]
    home.mkdir(parents=True, exist_ok=True)
    files = source.listing()
    if not files:
        raise Missing(f"{uri.raw}: no object there")
    for item in files:
        safe_relative(item.relative, "object")
    listing_digest = _digest_of(json.dumps(sorted((f.relative, f.size, f.etag) for f in files)))
    known = home / f"listing-{listing_digest[:16]}"
    if known.exists() and all(f.etag for f in files):  # only a listing with versions can vouch
        name = known.read_text().strip()
        if (home / name).is_dir():
            progress(f"model files: {uri.raw} unchanged, using the cached copy {name}")
            return Fetched(home / name, name, False)
    partial = Path(tempfile.mkdtemp(prefix=".partial-", dir=home))
    try:
        _download_all(uri, source, files, partial, progress)
        _unpack_archives(partial, files)
        digest = content_digest(partial)
        final = home / digest[:16]
        if final.exists():
            shutil.rmtree(partial)
        else:
            os.rename(partial, final)  # the one step that makes the copy visible
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    known.write_text(final.name)
    return Fetched(final, digest, True)


def _download_all(uri: StorageUri, source: Source, files: list[RemoteFile], folder: Path, progress: Progress) -> None:
    total = sum(f.size or 0 for f in files)
    done = 0
    last_report = 0.0

    def advance(count: int) -> None:
        nonlocal done, last_report
        done += count
        now = time.monotonic()
        if now - last_report >= PROGRESS_EVERY_S:
            last_report = now
            share = f" ({100 * done / total:.0f}%)" if total else ""
            progress(f"downloading {uri.raw}: {done / 2**20:.1f} of {total / 2**20:.1f} MiB{share}")

    progress(f"downloading {uri.raw}: {len(files)} file(s), {total / 2**20:.1f} MiB")
    for item in files:
        target = folder / safe_relative(item.relative, "object")
        target.parent.mkdir(parents=True, exist_ok=True)
        source.download(item, target, advance)
        size = target.stat().st_size
        if item.size is not None and size != item.size:
            raise Corrupt(f"{uri.raw}: {item.relative} arrived with {size} bytes, expected {item.size}")
    progress(f"downloaded {uri.raw}: {done / 2**20:.1f} MiB")


def _unpack_archives(folder: Path, files: list[RemoteFile]) -> None:
    """A single archive (like KServe's storage initializer does) is unpacked in place."""
    if len(files) != 1 or not files[0].relative.endswith(ARCHIVES):
        return
    archive = folder / files[0].relative
    try:
        if archive.name.endswith(".zip"):
            _unzip(archive, folder)
        else:
            with tarfile.open(archive) as tar:
                for member in tar.getmembers():
                    safe_relative(member.name.rstrip("/"), "archive member")
                tar.extractall(folder, filter="data")  # refuses links out, devices, absolute names
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as error:
        raise Corrupt(f"{files[0].relative}: not a readable archive ({error})") from None
    archive.unlink()


def _unzip(archive: Path, folder: Path) -> None:
    with zipfile.ZipFile(archive) as zipped:
        for info in zipped.infolist():
            safe_relative(info.filename.rstrip("/"), "archive member")
            if (info.external_attr >> 16) & 0o170000 == 0o120000:
                raise StorageError(f"archive member {info.filename!r} is a symbolic link; refused")
        zipped.extractall(folder)


def content_digest(folder: Path) -> str:
    """SHA-256 over every file's relative path and bytes, in a stable order."""
    digest = hashlib.sha256()
    for path in sorted(_files(folder)):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(CHUNK), b""):
                digest.update(block)
        digest.update(b"\0")
    return digest.hexdigest()


def _files(folder: Path) -> Iterator[Path]:
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            yield path


def _digest_of(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
