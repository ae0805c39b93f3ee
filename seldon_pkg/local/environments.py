"""Runtime environments for local model processes: one venv per set of requirements.

By default (``runtime: isolated``) a model runs in a virtualenv built from exactly what serving
it needs (seldon_pkg.build.requirements: seldon-core and its pins, what a ready wrapper declares for
the model file, the model's own requirements.txt). Environments are cached under
``<state>/envs/<hash of the requirements>``, so two ONNX models share one and neither gets
TensorFlow. ``runtime: current`` uses the interpreter running the gateway instead.
"""

from __future__ import annotations

import fcntl
import hashlib
import shutil
import subprocess
import sys
import time
import venv
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from seldon_pkg.build.requirements import (
    constraints_file,
    no_deps_requirements,
    requirements_file,
    serving_requirements,
)
from seldon_pkg.errors import SeldonPkgError
from seldon_pkg.project import ROOT, WRAPPERS_PACKAGE
from seldon_pkg.spec.model_spec import ModelSpec

READY_MARK = ".seldon-pkg-ready"


class RuntimeEnvironmentError(SeldonPkgError):
    """Building a model's runtime environment failed (pip's output is in the message)."""


@dataclass(frozen=True)
class RuntimeEnvironment:
    python: Path
    requirements: tuple[str, ...]
    isolated: bool


def requirements_hash(requirements: list[str], options: tuple[str, ...] = ()) -> str:
    """Environments are shared by every spec with the same requirements (and index options)."""
    return hashlib.sha256("\n".join([*options, *sorted(requirements)]).encode()).hexdigest()[:16]


def ensure_environment(
    spec: ModelSpec, envs_dir: Path, progress: Callable[[str], None] = lambda _: None
) -> RuntimeEnvironment:
    """Return the environment for ``spec``, building it (once, under a lock) when missing."""
    requirements = serving_requirements(spec)
    if spec.runtime == "current":
        return RuntimeEnvironment(Path(sys.executable), tuple(requirements), isolated=False)
    target = envs_dir / requirements_hash([*requirements, *no_deps_requirements(spec)], spec.pip_options)
    python = target / "bin" / "python"
    envs_dir.mkdir(parents=True, exist_ok=True)
    with open(envs_dir / f"{target.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (target / READY_MARK).exists():
            started = time.monotonic()
            progress(
                f"building the model's environment {target.name} ({len(requirements)} requirements; "
                "first time only, usually 15-60 s)"
            )
            _build(target, requirements_file(spec), constraints_file(spec), no_deps_requirements(spec))
            progress(f"environment ready in {time.monotonic() - started:.1f} s")
    return RuntimeEnvironment(python, tuple(requirements), isolated=True)


def _build(target: Path, requirements_text: str, constraints: Path, no_deps: list[str]) -> None:
    if target.exists():
        shutil.rmtree(target)
    venv.EnvBuilder(with_pip=True, clear=True).create(target)
    (target / "requirements.txt").write_text(requirements_text)
    command = [
        str(target / "bin" / "python"),
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "-q",
        "-r",
        str(target / "requirements.txt"),
    ]
    command += ["-c", str(constraints)]  # the project's pins, shipped as package data
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode == 0 and no_deps:
        pip = [str(target / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
        result = subprocess.run([*pip, "--no-deps", *no_deps], capture_output=True, text=True)
    if result.returncode != 0:
        shutil.rmtree(target, ignore_errors=True)
        wanted = ", ".join(line for line in requirements_text.splitlines() if line)
        raise RuntimeEnvironmentError(f"installing {wanted} failed:\n{result.stderr[-3000:]}")
    (target / READY_MARK).write_text(requirements_text)


def sync_wrappers(lib_dir: Path) -> Path:
    """Copy ``model_wrappers`` into ``lib_dir`` for isolated environments; return the folder.

    Isolated environments do not have seldon_pkg installed; putting this copy (and not the
    gateway's site-packages, which may hold TensorFlow) on their PYTHONPATH gives them the ready
    wrappers and nothing else.
    """
    source = ROOT / WRAPPERS_PACKAGE
    destination = lib_dir / WRAPPERS_PACKAGE
    shutil.copytree(source, destination, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
    return lib_dir
