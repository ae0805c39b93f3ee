"""What each ready wrapper needs installed at serve time, importable without seldon-core.

Importing a wrapper class imports seldon-core, which imports TensorFlow whenever it is
installed (3 s). Tools that only need to know a wrapper's requirements (image builds, local
runtime environments) read this table instead; the classes' ``runtime_requirements`` use it too,
so there is one answer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from model_wrappers.backends import backend_kind, requirements

COMMON = ("pillow>=10",)
"""Every ready wrapper decodes images or arrays with Pillow/NumPy."""


def _model_file(parameters: Mapping[str, Any], gpu: bool) -> list[str]:
    uri = str(parameters.get("model_uri", "")).removeprefix("file://")
    if not uri:
        return []
    return list(requirements(backend_kind(uri), gpu))


READY_WRAPPERS: dict[str, Callable[[Mapping[str, Any], bool], list[str]]] = {
    "model_wrappers.keras_model.KerasModel": _model_file,
    "model_wrappers.mnist.MnistClassifier": _model_file,
}


def requirements_for(wrapper: str, parameters: Mapping[str, Any], gpu: bool = False) -> list[str]:
    """pip requirements of a ready wrapper ``Module.Class`` for these parameters ([] if unknown),
    in their GPU builds when ``gpu`` (the spec asks for an accelerator)."""
    declared = READY_WRAPPERS.get(wrapper)
    return [*COMMON, *declared(parameters, gpu)] if declared else []
