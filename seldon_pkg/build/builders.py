"""Image builders: whichever of Docker, Podman and Buildah answers here builds the context.

Docker needs a daemon; Podman and Buildah build without one (Debian's ``buildah`` is how the
tests build on machines with no Docker engine). Each is asked to build the same Dockerfile with
the same ``BASE_IMAGE`` build argument, and to push to the image's registry. A registry on
loopback (``127.0.0.1:5000``, ``localhost:5000``) is plain HTTP: Docker allows that for
127.0.0.0/8 by itself, Podman and Buildah are told with ``--tls-verify=false`` for those only.

Podman and Buildah run the Dockerfile's RUN steps in the host's network namespace
(``--network host``): pip reaches the package index, and the build needs no CNI network of its
own (which would add NAT rules to the host).
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass

LOOPBACK_REGISTRIES = ("127.0.0.1", "localhost", "[::1]")
ORDER = ("docker", "podman", "buildah")
"""Which builder wins when several answer: Docker (the usual one), then Podman, then Buildah."""


def registry_of(image: str) -> str:
    """The registry host (and port) of an image reference (``docker.io`` when it names none)."""
    first = image.split("/", 1)[0]
    if "/" in image and ("." in first or ":" in first or first == "localhost"):
        return first
    return "docker.io"


def on_loopback(image: str) -> bool:
    host = registry_of(image)
    host = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    return host in LOOPBACK_REGISTRIES


@dataclass(frozen=True)
class Builder:
    name: str
    """docker, podman or buildah: also the program run."""

    def build_command(self, directory: str, image: str, base_image: str | None) -> list[str]:
        args = ["--build-arg", f"BASE_IMAGE={base_image}"] if base_image else []
        if self.name == "docker":
            return ["docker", "build", *args, "-t", image, directory]
        verb = "build" if self.name == "podman" else "bud"
        return [self.name, verb, "--layers", "--network", "host", *args, "-t", image, directory]

    def push_command(self, image: str) -> list[str]:
        if self.name == "docker":
            return ["docker", "push", image]
        tls = ["--tls-verify=false"] if on_loopback(image) else []
        return [self.name, "push", *tls, image, f"docker://{image}"]

    def answers(self, timeout: float = 10.0) -> bool:
        """True when the builder works here (Docker: its daemon answers; the others: they run)."""
        if shutil.which(self.name) is None:
            return False
        probe = ["docker", "info"] if self.name == "docker" else [self.name, "version"]
        try:
            return subprocess.run(probe, capture_output=True, timeout=timeout).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            return False


def find_builder(preferred: str | None = None) -> Builder | None:
    """The builder to use: ``preferred`` when it answers, else the first of ``ORDER`` that does."""
    names = (preferred,) if preferred else ORDER
    for name in names:
        builder = Builder(name)
        if builder.answers():
            return builder
    return None
