"""Build each component once per machine into a version-keyed cache outside the clone.

The cache entry of a component is ``<cache>/<name>-<version>-<key>/bin/``, where ``key`` hashes
everything the binaries depend on: the wrapper module's go.mod and go.sum, the packages, the
linker flags and the Go version. A present entry is used as it is (never rebuilt); a build
goes to a temporary folder beside it and becomes visible with one rename, so an interrupted
build is never mistaken for a finished one. Clones on the same machine share the cache.

The cache folder is ``$SELDON_PKG_CLUSTER_CACHE``, else ``$XDG_CACHE_HOME/seldon-pkg/cluster``,
else ``~/.cache/seldon-pkg/cluster``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tools.cluster.components import BY_NAME, COMPONENTS, Component, go_binary_name

COMMON_FLAGS = ("-trimpath", "-buildvcs=false")
STRIP = "-s -w"  # no symbol tables: the binaries are 30-40 % smaller and nobody debugs them here


class GoMissing(RuntimeError):
    """``go`` is not on the PATH: the control plane cannot be built on this machine."""


def cache_root() -> Path:
    explicit = os.environ.get("SELDON_PKG_CLUSTER_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "seldon-pkg" / "cluster"


def go_version() -> str:
    go = shutil.which("go")
    if go is None:
        raise GoMissing("go is not on the PATH (the embedded control plane is built from Go modules; install Go 1.26)")
    return subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True, check=True).stdout.strip()


def ldflags(component: Component) -> str:
    return " ".join((STRIP, *component.ldflags))


def cache_key(component: Component, go: str) -> str:
    digest = hashlib.sha256()
    for part in (
        (component.folder / "go.mod").read_bytes(),
        (component.folder / "go.sum").read_bytes(),
        "\n".join(component.packages).encode(),
        ldflags(component).encode(),
        " ".join(COMMON_FLAGS).encode(),
        go.encode(),
    ):
        digest.update(hashlib.sha256(part).digest())
    # a module of our own has its source beside go.mod; upstream modules have none (their keys
    # stay what they were)
    for source in sorted(component.folder.glob("*.go")):
        digest.update(hashlib.sha256(source.read_bytes()).digest())
    if component.env:
        digest.update(hashlib.sha256(repr(component.env).encode()).digest())
    return digest.hexdigest()[:16]


def entry(component: Component, go: str | None = None) -> Path:
    go = go or go_version()
    return cache_root() / f"{component.name}-{component.version}-{cache_key(component, go)}"


def binary(name: str, component: str) -> Path:
    """The cached binary ``name`` of ``component`` (built already: see :func:`ensure`)."""
    return entry(BY_NAME[component]) / "bin" / name


def is_built(component: Component, go: str | None = None) -> bool:
    folder = entry(component, go) / "bin"
    return all((folder / name).is_file() for name in component.binaries)


def build(component: Component, log=print) -> Path:
    """Build ``component`` into its cache entry unless it is there already; returns the entry."""
    go = go_version()
    final = entry(component, go)
    if is_built(component, go):
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
    started = time.monotonic()
    log(f"building {component.name} {component.version} ({component.module}) -> {final}")
    environment = dict(os.environ, GOFLAGS="-mod=readonly", **dict(component.env))
    command = [
        "go",
        "build",
        *COMMON_FLAGS,
        "-ldflags",
        ldflags(component),
        "-o",
        str(staging / "bin") + "/",
        *component.packages,
    ]
    (staging / "bin").mkdir()
    try:
        subprocess.run(command, cwd=component.folder, env=environment, check=True)
        for package, name in zip(component.packages, component.binaries, strict=True):
            built = staging / "bin" / go_binary_name(package)
            if built.name != name:
                built.rename(staging / "bin" / name)
        seconds = time.monotonic() - started
        (staging / "BUILD-INFO").write_text(
            f"component={component.name}\nversion={component.version}\nmodule={component.module}\n"
            f"go={go}\nseconds={seconds:.0f}\n"
        )
        staging.rename(final)  # one rename: the entry is either whole or absent
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    log(f"built {component.name} in {seconds:.0f} s ({_size(final)} MiB)")
    return final


def _size(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) // (1024 * 1024)


def ensure_all(log=print) -> dict[str, Path]:
    return {component.name: build(component, log) for component in COMPONENTS}


def main(argv: list[str]) -> int:
    names = argv or [c.name for c in COMPONENTS]
    try:
        for name in names:
            build(BY_NAME[name])
    except GoMissing as error:
        print(f"skipped the embedded control plane: {error}", file=sys.stderr)
        return 3
    print(f"embedded control plane: {', '.join(names)} built in {cache_root()}")
    return 0
