"""What the embedded control plane is built from: one row per Go module under tools/cluster/.

Each row names the module folder (its go.mod pins the upstream module, its go.sum the
checksums), the packages built in one ``go build`` (shared dependencies compile once) and the
linker flags. Changing any of them changes the cache key (build.py), so a stale binary is
never reused.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent

KUBERNETES_VERSION = "v1.34.4"


def _kubernetes_version_flags(version: str) -> tuple[str, ...]:
    """``-X`` flags so ``/version`` tells the truth (Helm's semverCompare and kwok read it);
    without them the binaries say v0.0.0-master."""
    major, minor = version.lstrip("v").split(".")[:2]
    flags: list[str] = []
    for package in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += [
            f"-X {package}.gitVersion={version}",
            f"-X {package}.gitMajor={major}",
            f"-X {package}.gitMinor={minor}",
            f"-X {package}.gitTreeState=clean",
            f"-X {package}.gitCommit=unknown",
            f"-X {package}.buildDate=1970-01-01T00:00:00Z",
        ]
    return tuple(flags)


@dataclass(frozen=True)
class Component:
    name: str
    version: str
    module: str
    """The upstream Go module the binaries come from."""
    packages: tuple[str, ...]
    """Main packages built into the component's bin/ (binary name = last path element)."""
    ldflags: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    """Extra build environment (``CGO_ENABLED=0`` for a static binary)."""

    @property
    def folder(self) -> Path:
        return HERE / self.name

    @property
    def binaries(self) -> tuple[str, ...]:
        return tuple(_binary_name(package) for package in self.packages)


RENAMES = {"server": "etcd", "manager": "kserve-manager"}
"""Binaries whose Go name says little (``go build`` names etcd's ``server``, KServe's ``manager``)."""


def go_binary_name(package: str) -> str:
    """The name ``go build -o dir/`` gives a main package: its last path element, or the one
    before a major-version suffix."""
    parts = package.rstrip("/").split("/")
    if len(parts) > 1 and parts[-1][:1] == "v" and parts[-1][1:].isdigit():
        return parts[-2]
    return parts[-1]


def _binary_name(package: str) -> str:
    name = go_binary_name(package)
    return RENAMES.get(name, name)


COMPONENTS: tuple[Component, ...] = (
    Component("etcd", "v3.6.16", "go.etcd.io/etcd/server/v3", ("go.etcd.io/etcd/server/v3",)),
    Component(
        "kubernetes",
        KUBERNETES_VERSION,
        "k8s.io/kubernetes",
        (
            "k8s.io/kubernetes/cmd/kube-apiserver",
            "k8s.io/kubernetes/cmd/kube-controller-manager",
            "k8s.io/kubernetes/cmd/kube-scheduler",
            "k8s.io/kubernetes/cmd/kubelet",
            "k8s.io/kubernetes/cmd/kube-proxy",
        ),
        _kubernetes_version_flags(KUBERNETES_VERSION),
    ),
    Component("kwok", "v0.7.0", "sigs.k8s.io/kwok", ("sigs.k8s.io/kwok/cmd/kwok",)),
    Component("kserve", "v0.20.0", "github.com/kserve/kserve", ("github.com/kserve/kserve/cmd/manager",)),
    # our own source (tools/cluster/pause/main.go): static, so it runs in an image with nothing else
    Component(
        "pause",
        "v1",
        "seldon-pkg.local/tools/cluster/pause",
        ("seldon-pkg.local/tools/cluster/pause",),
        env=(("CGO_ENABLED", "0"),),
    ),
)

BY_NAME = {component.name: component for component in COMPONENTS}
