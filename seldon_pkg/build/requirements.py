"""What a model needs installed to be served: one answer for images and local runtimes.

The model server (``seldon_pkg.servers``: ``seldon-core`` for the Seldon protocol, ``mlserver``
for the Open Inference Protocol) with the pins it needs, plus what the wrapper declares for the given model
file (a ready wrapper asks for TensorFlow only for Keras/SavedModel files), plus the model's own
``requirements.txt``. Keeping this in one place means the image and the local runtime
environment of a model never disagree.
"""

from __future__ import annotations

from pathlib import Path

from model_wrappers.catalog import requirements_for
from seldon_pkg.project import WRAPPERS_PACKAGE
from seldon_pkg.servers.registry import server_for
from seldon_pkg.spec.model_spec import ModelSpec


def uses_ready_wrappers(spec: ModelSpec) -> bool:
    """True when the model imports ``model_wrappers`` (a ready wrapper or a subclass of one)."""
    if spec.module.split(".")[0] == WRAPPERS_PACKAGE:
        return True
    return any("model_wrappers" in path.read_text(errors="ignore") for path in spec.source_dir.glob("*.py"))


def wrapper_requirements(spec: ModelSpec) -> list[str]:
    """Requirements a ready wrapper declares for this spec's parameters (e.g. onnxruntime).

    Read from ``model_wrappers.catalog`` rather than the class, so that nothing here imports
    seldon-core (and through it TensorFlow)."""
    return requirements_for(spec.wrapper, spec.parameters, gpu=spec.accelerator is not None)


def server_requirements(spec: ModelSpec) -> list[str]:
    """The model server that serves ``spec`` and the pins it needs (seldon_pkg.servers)."""
    return list(server_for(spec).requirements)


def no_deps_requirements(spec: ModelSpec) -> list[str]:
    """Installed after the rest with ``pip install --no-deps`` (MLServer itself, for OIP models)."""
    return list(server_for(spec).no_deps)


def constraints_file(spec: ModelSpec) -> Path:
    """The pins for that server's environment (the two servers need different protobufs)."""
    return server_for(spec).constraints


def serving_requirements(spec: ModelSpec) -> list[str]:
    """The full, ordered, de-duplicated pip requirement list for serving ``spec``."""
    wanted = server_requirements(spec)
    wanted += wrapper_requirements(spec)
    wanted += spec.requirements
    return list(dict.fromkeys(wanted))  # first occurrence wins, order kept


def requirements_file(spec: ModelSpec) -> str:
    """The text of the requirements file for images and local environments (one writer for both).

    Index options (only present when the spec set ``allow_pip_options``) come first, then one
    parsed requirement per line: nothing else can reach pip (seldon_pkg.spec.pip_requirements)."""
    return "\n".join([*spec.pip_options, *serving_requirements(spec)]) + "\n"
