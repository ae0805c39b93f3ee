"""Image build contexts: a folder with everything ``docker build`` needs for one model.

The context holds the model's source folder (minus caches, tests and model files it does not use),
the ``model_wrappers`` package when the model uses it, a ``requirements.txt`` with only what
serving this model needs (no TensorFlow for an ONNX/TFLite model), a ``.dockerignore`` and a
``Dockerfile``: slim Python base (``ARG BASE_IMAGE``, default ``python:3.11-slim``), non-root user, and as entrypoint ``seldon-core-microservice``
(Seldon protocol) or ``mlserver start`` with our adapter (``protocol: v2``; no seldon-core).
"""

from __future__ import annotations

import fnmatch
import json
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path

from seldon_pkg.build.requirements import (
    no_deps_requirements,
    requirements_file,
    serving_requirements,
    uses_ready_wrappers,
)
from seldon_pkg.errors import SpecError
from seldon_pkg.model_folder import IGNORED, TEST_FILES, check_contained, copy_tree, inside
from seldon_pkg.platforms.names import CONTAINER
from seldon_pkg.platforms.registry import name_of
from seldon_pkg.project import ROOT, WRAPPERS_PACKAGE
from seldon_pkg.servers.mlserver_settings import model_settings
from seldon_pkg.servers.registry import server_for
from seldon_pkg.spec.model_spec import IMAGE_REFERENCE, ModelSpec
from seldon_pkg.text_sinks import dockerfile_comment, dockerfile_env, dockerfile_exec

BASE_IMAGE = "python:3.11-slim"
USER_ID = 8888
MODEL_SUFFIXES = (".keras", ".h5", ".onnx", ".tflite", ".pb", ".pt", ".pkl", ".joblib")
"""A model's own tests stay out of its image (they need pytest, which the image does not have)."""
DOCKERIGNORE = "\n".join(["**/__pycache__", "**/*.pyc", ".git", ".venv", "*.egg-info"]) + "\n"


@dataclass(frozen=True)
class BuildContext:
    directory: Path
    image: str
    requirements: list[str]
    pip_options: tuple[str, ...] = ()
    """Index options the spec opted into (``allow_pip_options``): printed by ``build``."""

    @property
    def docker_command(self) -> list[str]:
        """What to run where no builder answers here (printed for the user)."""
        return ["docker", "build", "-t", self.image, str(self.directory)]

    @property
    def push_command(self) -> list[str]:
        return ["docker", "push", self.image]


def referenced_files(spec: ModelSpec) -> set[Path]:
    """Files or folders named by string parameters (``model_uri: models/cnn.onnx``)."""
    found = set()
    for value in spec.parameters.values():
        if isinstance(value, str) and value and "\x00" not in value:
            try:
                candidate = (spec.source_dir / value.removeprefix("file://")).resolve()
                exists = candidate.exists()
            except (OSError, ValueError):  # not a path at all (too long, odd bytes): not a file
                continue
            if exists:
                found.add(candidate)
    return found


def _wanted(path: Path, referenced: set[Path]) -> bool:
    """Leave out tests and model files no parameter points at (e.g. the .keras beside the .onnx)."""
    if path.is_file() and path.suffix.lower() in MODEL_SUFFIXES:
        resolved = path.resolve()
        return any(resolved == ref or ref in resolved.parents for ref in referenced)
    return not any(fnmatch.fnmatch(path.name, pattern) for pattern in TEST_FILES)


def write_context(spec: ModelSpec, out: Path, image: str | None = None) -> BuildContext:
    """Write the build context for ``spec`` into ``out`` (replaced if it exists).

    Nothing from outside the model folder gets in (seldon_pkg.model_folder): a link leading
    outside or a parameter naming a file outside is refused before anything is written."""
    tag = image or spec.image
    if not tag:
        raise SpecError("image", "is required to build (or pass --image)")
    if not IMAGE_REFERENCE.match(tag):
        raise SpecError("image", f"must be an image reference like registry.example.org/team/model:1.0, got {tag!r}")
    # with storage_uri the model files come from storage at run time: the image carries code only
    out = _copy_model_folder(spec, out, model_files=not spec.storage_uri)
    server_for(spec).write_image_files(spec, out, CONTAINER)
    (out / "requirements.txt").write_text(requirements_file(spec))
    (out / ".dockerignore").write_text(DOCKERIGNORE)
    (out / "Dockerfile").write_text(dockerfile(spec))
    return BuildContext(out, tag, serving_requirements(spec), spec.pip_options)


def _copy_model_folder(spec: ModelSpec, out: Path, model_files: bool) -> Path:
    """Copy the model folder (code, and the model files its parameters name when
    ``model_files``) and the ready wrappers into a fresh ``out``; nothing from outside gets in."""
    referenced = referenced_files(spec)
    for ref in referenced:
        if not inside(ref, spec.source_dir):
            raise SpecError("parameters", f"{ref} is outside the model folder {spec.source_dir}; move it inside")
    check_contained(spec.source_dir, IGNORED)
    out = out.resolve()
    if out.exists():
        shutil.rmtree(out)
    wanted = referenced if model_files else set()
    copy_tree(spec.source_dir, out, lambda path: path.resolve() == out or not _wanted(path, wanted), IGNORED)
    if uses_ready_wrappers(spec) and not (out / WRAPPERS_PACKAGE).exists():
        shutil.copytree(ROOT / WRAPPERS_PACKAGE, out / WRAPPERS_PACKAGE, ignore=shutil.ignore_patterns(*IGNORED))
    return out


def write_artifact(spec: ModelSpec, out: Path) -> Path:
    """The model folder Seldon Core 2's MLServer loads from storage (``build --artifact``).

    ``model-settings.json`` (our adapter, the wrapper and its parameters, ``extra.files: "."``
    so relative model files resolve in the folder wherever it is downloaded), the wrapper code,
    the model files and ``requirements.txt`` (what the Server image must have). Served as is by
    ``mlserver start OUT``."""
    out = _copy_model_folder(spec, out, model_files=True)
    settings = model_settings(name_of(spec), spec)
    settings["parameters"]["extra"]["files"] = "."  # model files beside model-settings.json
    (out / "model-settings.json").write_text(json.dumps(settings, indent=2))
    (out / "requirements.txt").write_text(requirements_file(spec))
    return out


def dockerfile(spec: ModelSpec) -> str:
    """The Dockerfile text: dependencies first (cached layer), then code and model files.

    Every spec value goes through its sink helper (seldon_pkg.text_sinks), so none can add an
    instruction: ENV values are quoted and escaped, the comment is one printable line, the
    entrypoint is an exec-form JSON array. /app belongs to the unprivileged user the server runs
    as: servers write beside the model (MLServer's ``.metrics`` and ``.envs``); with /app owned by
    root every OIP pod crash-looped on the real node (PermissionError), which no test had run."""
    env_lines = "".join(dockerfile_env(key, value) + "\n" for key, value in sorted(spec.env.items()))
    # our constants (seldon_pkg.servers.serving_defaults) in the base ENV; the spec's own ENV lines come later and win
    server = server_for(spec)
    defaults = "".join(f" {key}={value}" for key, value in server.serving_defaults(launcher=False).items())
    comment = dockerfile_comment(f"Generated by seldon-pkg for model {spec.name!r} version {spec.version!r}.")
    no_deps = "".join(
        f" \\\n && pip install --no-cache-dir --no-deps {shlex.quote(r)}" for r in no_deps_requirements(spec)
    )
    entrypoint = dockerfile_exec(server.image_entrypoint(spec))
    ports = server.image_ports
    return f"""{comment}
ARG BASE_IMAGE={BASE_IMAGE}
FROM ${{BASE_IMAGE}}
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1{defaults}
RUN useradd --create-home --uid {USER_ID} seldon && mkdir /app && chown {USER_ID}:{USER_ID} /app
WORKDIR /app
COPY requirements.txt /app/requirements.txt
RUN pip install --no-cache-dir -r /app/requirements.txt{no_deps}
COPY --chown={USER_ID}:{USER_ID} . /app
{env_lines}ENV PYTHONPATH=/app
USER {USER_ID}
EXPOSE {ports}
ENTRYPOINT {entrypoint}
"""
