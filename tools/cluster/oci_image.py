"""Write a one-layer OCI image archive (an OCI image layout in a tar) from a root file system.

Two images of the real node are made this way rather than pulled, because their usual homes are
out of reach: the pod sandbox image (our static ``pause``; Kubernetes' own is on
registry.k8s.io) and the test base image (a Debian root file system from mmdebstrap). Both
``ctr images import`` and ``buildah pull oci-archive:`` read the archive; the annotation
``io.containerd.image.name`` gives containerd the image's name, ``org.opencontainers.image.ref.name``
gives it to every other OCI tool.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
import tarfile
import tempfile
from collections.abc import Sequence
from pathlib import Path

LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"
CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"
MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
INDEX_TYPE = "application/vnd.oci.image.index.v1+json"
PLATFORM = {"architecture": "amd64", "os": "linux"}


def layer_from_files(files: dict[str, tuple[bytes, int]]) -> bytes:
    """An uncompressed layer tar holding ``{path: (content, mode)}``, owned by root, dated 0 (so
    the same files give the same digest on every machine)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path, (content, mode) in sorted(files.items()):
            info = tarfile.TarInfo(path.lstrip("/"))
            info.size, info.mode, info.mtime = len(content), mode, 0
            tar.addfile(info, io.BytesIO(content))
    return out.getvalue()


def _gzip_file(source: Path, target: Path) -> tuple[str, str, int]:
    """Gzip ``source`` into ``target`` (mtime 0); returns (digest of the gzip, diff id of the tar, size)."""
    raw, packed = hashlib.sha256(), hashlib.sha256()
    with open(source, "rb") as read, open(target, "wb") as write:
        with gzip.GzipFile(fileobj=write, mode="wb", mtime=0, compresslevel=6) as zipped:
            while chunk := read.read(1 << 20):
                raw.update(chunk)
                zipped.write(chunk)
    with open(target, "rb") as reread:
        while chunk := reread.read(1 << 20):
            packed.update(chunk)
    return f"sha256:{packed.hexdigest()}", f"sha256:{raw.hexdigest()}", target.stat().st_size


def write_archive(
    layer_tar: Path,
    out: Path,
    name: str,
    entrypoint: Sequence[str] = (),
    env: Sequence[str] = ("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",),
    cmd: Sequence[str] = (),
    user: str = "",
) -> Path:
    """Write ``out``: an OCI layout tar of one image named ``name`` whose only layer is ``layer_tar``."""
    with tempfile.TemporaryDirectory(dir=out.parent) as scratch:
        root = Path(scratch)
        blobs = root / "blobs" / "sha256"
        blobs.mkdir(parents=True)
        staged = root / "layer.tar.gz"
        layer_digest, diff_id, layer_size = _gzip_file(layer_tar, staged)
        shutil.move(staged, blobs / layer_digest.split(":")[1])

        def blob(data: dict, media_type: str) -> dict:
            raw = json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
            digest = hashlib.sha256(raw).hexdigest()
            (blobs / digest).write_bytes(raw)
            return {"mediaType": media_type, "digest": f"sha256:{digest}", "size": len(raw)}

        config = {
            **PLATFORM,
            "config": {"Entrypoint": list(entrypoint), "Env": list(env), "Cmd": list(cmd), "User": user},
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
            "history": [{"created_by": "seldon-pkg tools/cluster/oci_image.py"}],
        }
        manifest = {
            "schemaVersion": 2,
            "mediaType": MANIFEST_TYPE,
            "config": blob(config, CONFIG_TYPE),
            "layers": [{"mediaType": LAYER_TYPE, "digest": layer_digest, "size": layer_size}],
        }
        descriptor = blob(manifest, MANIFEST_TYPE)
        descriptor["platform"] = PLATFORM
        descriptor["annotations"] = {"io.containerd.image.name": name, "org.opencontainers.image.ref.name": name}
        (root / "index.json").write_text(
            json.dumps({"schemaVersion": 2, "mediaType": INDEX_TYPE, "manifests": [descriptor]})
        )
        (root / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
        partial = out.with_name(out.name + ".partial")
        with tarfile.open(partial, "w") as tar:
            for entry in ("oci-layout", "index.json", "blobs"):
                tar.add(root / entry, arcname=entry)
        partial.rename(out)  # whole or absent
    return out
