"""The base image the tests (and ``make cluster-demo``) build model images on.

It stands in for the official ``python:3.11-slim`` (the generated Dockerfile's default
``BASE_IMAGE``), which lives on Docker Hub: out of reach on these machines. It is made from
Debian's own packages with mmdebstrap: bookworm's minimal system, Python 3.11, ``venv`` and the CA
certificates, with a virtual environment at /opt/venv first on the PATH, so ``pip install`` in a
Dockerfile behaves as it does in the official image (there, pip installs into /usr/local). The
mirrors are the host's own apt sources; the certificate authorities the host added
(``/usr/local/share/ca-certificates``) are trusted inside too, so pip in a build's RUN step reaches
the package index wherever the host does.

Cached by content: the archive's name hashes the recipe and the host's apt sources, so a warm run
builds nothing, and a changed recipe never reuses an old archive. Debian updates reach the image
when the cache entry is removed (``rm ~/.cache/seldon-pkg/images/base-*``).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from tools.cluster import build, oci_image

NAME = "seldon-pkg.local/python:3.11-bookworm"
SUITE = "bookworm"
PACKAGES = ("python3", "python3-venv", "ca-certificates", "passwd")
"""passwd: the Dockerfile's ``useradd`` (not in minbase)."""
VENV = "/opt/venv"
LOCAL_CAS = Path("/usr/local/share/ca-certificates")
"""Certificate authorities this machine added to its trust store (a TLS-inspecting proxy in front
of the package index, here): the image trusts them too, or pip in a RUN step cannot reach the index."""
HOOKS = (
    f'cp -r {LOCAL_CAS}/. "$1"{LOCAL_CAS}/ && chroot "$1" update-ca-certificates --fresh >/dev/null',
    # pip (its own certifi bundle otherwise) trusts the system's store, as the host's pip does
    'printf "[global]\\ncert = /etc/ssl/certs/ca-certificates.crt\\n" > "$1"/etc/pip.conf',
    f'chroot "$1" python3 -m venv {VENV}',
    # what an image does not need: apt's lists and caches, documentation
    'rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/* "$1"/usr/share/doc/* "$1"/usr/share/man/*',
)
ENV = (
    f"PATH={VENV}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    f"VIRTUAL_ENV={VENV}",
    "LANG=C.UTF-8",
)


def apt_sources() -> list[Path]:
    """The host's apt source files (deb822 ``.sources`` and one-line ``.list``) that name anything."""
    found = [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]
    return [
        path
        for path in found
        if path.is_file()
        and path.suffix in (".list", ".sources")
        and any(line.strip() and not line.lstrip().startswith("#") for line in path.read_text().splitlines())
    ]


def recipe_key() -> str:
    digest = hashlib.sha256()
    cas = sorted(LOCAL_CAS.glob("*.crt")) if LOCAL_CAS.is_dir() else []
    for part in (SUITE, *PACKAGES, *HOOKS, *ENV, *(p.read_text() for p in [*apt_sources(), *cas])):
        digest.update(hashlib.sha256(part.encode()).digest())
    return digest.hexdigest()[:16]


def archive_path() -> Path:
    return build.cache_root().parent / "images" / f"base-{SUITE}-{recipe_key()}.tar"


def ensure_archive(log: Callable[[str], None] = print) -> Path:
    """The base image's OCI archive, made with mmdebstrap unless the cache has it."""
    archive = archive_path()
    if archive.is_file():
        return archive
    if shutil.which("mmdebstrap") is None:
        raise RuntimeError("mmdebstrap is missing (`make install` installs it: apt-get install mmdebstrap)")
    archive.parent.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    log(f"making the base image {NAME} with mmdebstrap ({SUITE}: {', '.join(PACKAGES)}) -> {archive}")
    with tempfile.TemporaryDirectory(dir=archive.parent) as scratch:
        rootfs = Path(scratch) / "rootfs.tar"
        command = [
            "mmdebstrap",
            "--quiet",
            "--variant=minbase",
            f"--include={','.join(PACKAGES)}",
            '--aptopt=APT::Install-Recommends "false"',
            *(f"--customize-hook={hook}" for hook in HOOKS),
            SUITE,
            str(rootfs),
            *(str(source) for source in apt_sources()),
        ]
        subprocess.run(command, check=True)
        oci_image.write_archive(rootfs, archive, NAME, env=ENV, cmd=["python3"])
    log(f"made the base image in {time.monotonic() - began:.0f} s ({archive.stat().st_size // 2**20} MiB)")
    return archive


def ensure_in_builder(builder: str = "buildah", log: Callable[[str], None] = print) -> str:
    """``NAME`` in the local storage of ``builder`` (buildah or podman), loaded from the archive
    unless it is there already; returns the name."""
    present = subprocess.run([builder, "inspect", "--type", "image", NAME], capture_output=True)
    if present.returncode != 0:
        archive = ensure_archive(log)
        subprocess.run([builder, "pull", "--quiet", f"oci-archive:{archive}"], check=True, capture_output=True)
    return NAME
