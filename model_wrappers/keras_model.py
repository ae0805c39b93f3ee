"""A ready wrapper for a Keras/TensorFlow model file, or the same model exported without TF.

``model_uri`` chooses the runtime by its type (see backends.py): ``.keras``/``.h5``/SavedModel
run in TensorFlow through one compiled ``tf.function``; ``.onnx`` and ``.tflite`` run in
ONNX Runtime or LiteRT and the serving process never imports TensorFlow (provided TensorFlow is
not installed in its environment: seldon-core imports it whenever it can).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from model_wrappers.backends import Backend, backend_kind, load_backend
from model_wrappers.base import SeldonModel
from model_wrappers.catalog import requirements_for
from model_wrappers.errors import BadInput
from model_wrappers.model_dir import MODEL_DIR_ENV


def resolve_model_path(model_uri: str, model_dir: str = "") -> Path:
    """A local path from ``model_uri`` (plain path or ``file://``).

    A relative path resolves in ``model_dir`` when given, else in ``$SELDON_PKG_MODEL_DIR``
    (the downloaded storage), else in the cwd (the model's source folder, both under the
    local runtime and in the image).
    """
    uri = model_uri.removeprefix("file://")
    if "://" in uri:
        raise ValueError(
            f"model_uri {model_uri!r}: only local files are supported; use the spec's storage_uri "
            "for remote models (they are downloaded before the model starts)"
        )
    path = Path(uri).expanduser()
    base = model_dir or os.environ.get(MODEL_DIR_ENV, "")
    if base and not path.is_absolute():
        path = Path(base) / path
    return path.resolve()


class KerasModel(SeldonModel):
    """Serve any single-input model file; the request batch is reshaped to the model's input."""

    model_uri: str
    """Path of the model file (``.keras``, ``.h5``, SavedModel folder, ``.onnx``, ``.tflite``)."""
    model_dir: str = ""
    """Folder a relative ``model_uri`` is found in (default: ``$SELDON_PKG_MODEL_DIR``, else the cwd);
    the OIP adapter sets it to the artifact folder Seldon Core 2 downloaded."""
    warmup_batch: int = 1
    """Batch size of the warm-up call in ``load`` (first-call compilation happens there)."""

    platform: ClassVar[str] = "keras"

    def __init__(self, **parameters: Any) -> None:
        super().__init__(**parameters)
        self.model_path = resolve_model_path(self.model_uri, self.model_dir)
        self.kind = backend_kind(self.model_path)
        self.backend: Backend | None = None

    @classmethod
    def runtime_requirements(cls, parameters: dict[str, Any]) -> list[str]:
        """TensorFlow only for Keras/SavedModel files; the small runtimes otherwise."""
        return requirements_for(f"{cls.__module__}.{cls.__name__}", parameters)

    def load_model(self) -> None:
        self.backend = load_backend(self.model_path, threads=self.threads)
        self.input_shape = tuple(self.backend.input_shape)
        warmup = np.zeros((self.warmup_batch, *self._item_shape()), dtype=np.float32)
        self.backend.predict(warmup)

    def _item_shape(self) -> tuple[int, ...]:
        dims = self.input_shape[1:]
        known = [int(d) for d in dims if isinstance(d, (int, np.integer)) and d >= 0]
        if len(known) != len(dims):
            raise ValueError(f"the model input has unknown dimensions {self.input_shape}")
        return tuple(known)

    def decode(self, features: Any, feature_names: list[str]) -> np.ndarray:
        """A numeric batch reshaped to the model's input: ``(N, *item)`` or one flat item."""
        array = super().decode(features, feature_names)
        item = self._item_shape()
        size = int(np.prod(item))
        if array.shape[1:] == item:
            return np.ascontiguousarray(array)
        if array.shape == item or array.size == size:
            return array.reshape((1, *item))
        if array.ndim >= 2 and int(np.prod(array.shape[1:])) == size:
            return np.ascontiguousarray(array.reshape((array.shape[0], *item)))
        raise BadInput(
            f"input of shape {list(array.shape)} does not fit the model input "
            f"{['N', *item]} (or one item of {size} values)"
        )

    def infer(self, batch: np.ndarray) -> np.ndarray:
        assert self.backend is not None  # load() ran: predict checks readiness first
        return self.backend.predict(batch)

    def tags(self) -> dict[str, Any]:
        return {**super().tags(), "runtime": self.kind}
