"""Model images for the real node: built with ``seldon-pkg build`` and pushed to its registry.

The tag is the digest of the build context ``seldon-pkg build`` writes (code, model files,
requirements, Dockerfile), so a change to any of them gives a new tag and an unchanged model
is never built twice: a tag the builder already has is only pushed, one the registry already has
is left alone. Images are built on the Debian base (tools/cluster/base_image.py) with Buildah,
the builder this machine has.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from tools.cluster import base_image
from tools.cluster.manifests import REPO
from tools.cluster.node import REGISTRY

BUILDER = "buildah"
DEMO_SPECS = {
    # the CNN over the Open Inference Protocol (MLServer) on KServe, the MLP over Seldon's protocol
    "cnn": REPO / "demo_mnist" / "mnist-cnn-oip.yaml",
    "mlp": REPO / "demo_mnist" / "mnist-mlp.yaml",
}


def context_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:12]


def _seldon_pkg(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "seldon_pkg.cli", *args], capture_output=True, text=True, cwd=REPO)


def image_ref(spec: Path, registry: str = REGISTRY) -> str:
    """``<registry>/seldon-pkg/<model name>:<context digest>`` for ``spec``."""
    import yaml

    name = yaml.safe_load(spec.read_text())["name"]
    with tempfile.TemporaryDirectory() as scratch:
        placeholder = f"{registry}/seldon-pkg/{name}:digest"
        done = _seldon_pkg(
            "build", str(spec), "--out", f"{scratch}/ctx", "--image", placeholder, "--no-build", "--skip-audit"
        )
        if done.returncode != 0:
            raise RuntimeError(f"seldon-pkg build --no-build {spec} failed:\n{done.stderr}{done.stdout}")
        return f"{registry}/seldon-pkg/{name}:{context_digest(Path(scratch) / 'ctx')}"


def in_registry(ref: str) -> bool:
    registry, rest = ref.split("/", 1)
    repository, tag = rest.rsplit(":", 1)
    request = urllib.request.Request(
        f"http://{registry}/v2/{repository}/manifests/{tag}",
        method="HEAD",
        headers={
            "Accept": "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json"
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as reply:
            return reply.status == 200
    except (urllib.error.URLError, OSError):
        return False


def in_builder(ref: str) -> bool:
    return subprocess.run([BUILDER, "inspect", "--type", "image", ref], capture_output=True).returncode == 0


def ensure_pushed(spec: Path, log: Callable[[str], None] = print, registry: str = REGISTRY) -> dict:
    """Build (unless built) and push (unless pushed) ``spec``'s image; returns what happened and
    how long each step took."""
    began = time.monotonic()
    ref = image_ref(spec, registry)
    facts: dict = {"image": ref, "built": False, "pushed": False}
    if in_registry(ref):
        return {**facts, "seconds": round(time.monotonic() - began, 1)}
    base = base_image.ensure_in_builder(BUILDER, log)
    with tempfile.TemporaryDirectory() as scratch:
        if in_builder(ref):
            log(f"pushing {ref} (built already)")
            pushed = subprocess.run(
                [BUILDER, "push", "--tls-verify=false", ref, f"docker://{ref}"], capture_output=True, text=True
            )
            if pushed.returncode != 0:
                raise RuntimeError(f"push of {ref} failed:\n{pushed.stderr}")
            facts["push_seconds"] = round(time.monotonic() - began, 1)
        else:
            log(f"building {ref} from {spec.name} on {base}")
            started = time.monotonic()
            done = _seldon_pkg(
                "build", str(spec), "--out", f"{scratch}/ctx", "--image", ref, "--base-image", base,
                "--builder", BUILDER, "--push", "--skip-audit",
            )  # fmt: skip
            if done.returncode != 0:
                raise RuntimeError(f"seldon-pkg build {spec} failed:\n{done.stdout[-4000:]}{done.stderr[-4000:]}")
            facts.update(built=True, build_and_push_seconds=round(time.monotonic() - started, 1))
    facts["pushed"] = True
    facts["size_mib"] = image_size_mib(ref)
    facts["pushed_mib"] = pushed_size_mib(ref)
    facts["seconds"] = round(time.monotonic() - began, 1)
    return facts


UNITS = {"B": 1, "KB": 1e3, "MB": 1e6, "GB": 1e9}


def image_size_mib(ref: str) -> float:
    """The image's size unpacked, as the builder reports it ("494 MB")."""
    done = subprocess.run([BUILDER, "images", "--json", ref], capture_output=True, text=True)
    try:
        number, unit = json.loads(done.stdout)[0]["size"].split()
        return round(float(number) * UNITS[unit.upper()] / 2**20, 1)
    except (ValueError, IndexError, KeyError):
        return float("nan")


def pushed_size_mib(ref: str) -> float:
    """What a node pulls: the compressed layers and config of the pushed manifest."""
    registry, rest = ref.split("/", 1)
    repository, tag = rest.rsplit(":", 1)
    request = urllib.request.Request(
        f"http://{registry}/v2/{repository}/manifests/{tag}",
        headers={
            "Accept": "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json"
        },
    )
    with urllib.request.urlopen(request, timeout=10) as reply:
        manifest = json.loads(reply.read())
    total = manifest["config"]["size"] + sum(layer["size"] for layer in manifest["layers"])
    return round(total / 2**20, 1)


def ensure_demo_images(log: Callable[[str], None] = print) -> dict[str, dict]:
    return {key: ensure_pushed(spec, log) for key, spec in DEMO_SPECS.items()}
