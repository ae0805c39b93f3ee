"""Model-file backends: one compiled, thread-safe ``predict(batch) -> outputs`` per file type.

The file's type chooses the runtime, so the same wrapper serves the Keras model during
development and its TF-free export in production:

=================================  ================  ====================================
file                               runtime           package needed at serve time
=================================  ================  ====================================
``*.keras``, ``*.h5``, SavedModel  TensorFlow        ``tensorflow-cpu``
``*.onnx``                         ONNX Runtime      ``onnxruntime``
``*.tflite``                       LiteRT            ``ai-edge-litert``
=================================  ================  ====================================

Never ``model.predict`` per request: it builds a data pipeline each call (about 75 ms per digit
here, against 0.6 ms for a compiled call and 0.03 ms for ONNX Runtime).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import numpy as np

KERAS_SUFFIXES = (".keras", ".h5")


class Backend(Protocol):
    """What a wrapper needs from a loaded model file."""

    kind: str
    device: str
    """Where it runs: ``CPU``, ``CUDA`` or TensorFlow's device name (said once in the log)."""
    input_shape: tuple[int | None, ...]
    """The model's input shape, batch dimension first (``None`` where it is free)."""

    def predict(self, batch: np.ndarray) -> np.ndarray:
        """Run the model on a float32 batch; return its first output as a NumPy array."""


def backend_kind(path: str | os.PathLike[str]) -> str:
    """``keras``, ``onnx`` or ``tflite`` for a model path; ``ValueError`` for anything else."""
    model_path = Path(path)
    suffix = model_path.suffix.lower()
    if suffix in KERAS_SUFFIXES or (model_path / "saved_model.pb").exists():
        return "keras"
    if suffix == ".onnx":
        return "onnx"
    if suffix == ".tflite":
        return "tflite"
    raise ValueError(
        f"cannot tell the model type of {str(path)!r}: expected .keras, .h5, a SavedModel folder, .onnx or .tflite"
    )


REQUIREMENTS = {
    "keras": ("tensorflow-cpu==2.19.*",),
    "onnx": ("onnxruntime>=1.20,<2",),
    "tflite": ("ai-edge-litert>=1.2",),
}
"""pip requirements each backend needs in the serving environment (besides seldon-core)."""

GPU_REQUIREMENTS = {
    "keras": ("tensorflow[and-cuda]==2.19.*",),  # TensorFlow with NVIDIA's CUDA and cuDNN wheels
    "onnx": ("onnxruntime-gpu>=1.20,<2",),  # the CUDA (and TensorRT) execution providers
    "tflite": ("ai-edge-litert>=1.2",),  # LiteRT has no CUDA build: a GPU spec still runs on the CPU
}
"""The same for a model whose spec asks for an accelerator (``accelerator:``). Each GPU build
also runs on the CPU, so the same spec works on a laptop (with a warning in the log)."""

ACCELERATOR_ENV = "SELDON_PKG_ACCELERATOR"
"""Set by the manifests and the local runtime to the spec's accelerator type (``nvidia.com/gpu``)
when it asks for one: a wrapper then warns when it finds no device and runs on the CPU."""


def requirements(kind: str, gpu: bool = False) -> tuple[str, ...]:
    """What backend ``kind`` needs installed, in its GPU build when ``gpu``: the one table."""
    return (GPU_REQUIREMENTS if gpu else REQUIREMENTS)[kind]


def _say_device(kind: str, device: str, on_gpu: bool) -> None:
    """Once per loaded model: which device it runs on; a warning when a GPU was asked for and
    none is visible."""
    import logging

    log = logging.getLogger("model_wrappers")
    wanted = os.environ.get(ACCELERATOR_ENV)
    if on_gpu:
        log.warning("%s model runs on %s", kind, device)
    elif wanted:
        log.warning("%s model asked for %s but no GPU is visible: running on the CPU (%s)", kind, wanted, device)
    else:
        log.info("%s model runs on %s", kind, device)


def load_backend(path: str | os.PathLike[str], *, threads: int = 1) -> Backend:
    """Load ``path`` with the runtime its type calls for."""
    loaders: dict[str, Callable[[Path, int], Backend]] = {
        "keras": KerasBackend,
        "onnx": OnnxBackend,
        "tflite": LiteRTBackend,
    }
    model_path = Path(path)
    if not model_path.exists():
        raise FileNotFoundError(f"model file not found: {model_path}")
    return loaders[backend_kind(model_path)](model_path, threads)


class KerasBackend:
    """A Keras 3 ``.keras``/``.h5`` file or a TF SavedModel, called through one ``tf.function``."""

    kind = "keras"

    def __init__(self, path: Path, threads: int) -> None:
        import tensorflow as tf

        _limit_tensorflow_threads(tf, threads)
        gpus = tf.config.list_physical_devices("GPU")
        self.device = gpus[0].name if gpus else "CPU"
        _say_device("keras", f"TensorFlow {tf.__version__} on {self.device}", bool(gpus))
        if path.is_dir():
            loaded = tf.saved_model.load(str(path))
            signature = loaded.signatures["serving_default"]
            spec = list(signature.structured_input_signature[1].values())[0]
            input_name = list(signature.structured_input_signature[1])[0]

            def call(batch):
                return list(signature(**{input_name: batch}).values())[0]

            self._keep = loaded
            input_shape = tuple(spec.shape)
        else:
            import keras

            model = keras.models.load_model(path, compile=False)
            self._keep = model
            input_shape = tuple(model.inputs[0].shape)

            def call(batch):
                output = model(batch, training=False)
                return output[0] if isinstance(output, (list, tuple)) else output

        spec = tf.TensorSpec((None, *input_shape[1:]), tf.float32)
        self._call = tf.function(call, input_signature=(spec,), reduce_retracing=True)
        self.input_shape = input_shape

    def predict(self, batch: np.ndarray) -> np.ndarray:
        return np.asarray(self._call(batch))


def _limit_tensorflow_threads(tf, threads: int) -> None:
    """Cap TF's thread pools; a no-op once TF has started (e.g. in a training process)."""
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:
        pass  # the runtime is initialised: its pools are fixed for this process


class OnnxBackend:
    """An ONNX file in ONNX Runtime: no TensorFlow in the serving process."""

    kind = "onnx"

    def __init__(self, path: Path, threads: int) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # CUDA first where the installed build has it (onnxruntime-gpu); ONNX Runtime falls back
        # to the CPU by itself when the CUDA libraries or the device are missing
        wanted = ["CPUExecutionProvider"]
        if "CUDAExecutionProvider" in ort.get_available_providers():
            wanted.insert(0, "CUDAExecutionProvider")
        self._session = ort.InferenceSession(str(path), sess_options=options, providers=wanted)
        self.device = "CUDA" if self._session.get_providers()[0] == "CUDAExecutionProvider" else "CPU"
        _say_device("onnx", f"ONNX Runtime {ort.__version__} on {self.device}", self.device == "CUDA")
        first = self._session.get_inputs()[0]
        self._input = first.name
        self.input_shape = tuple(first.shape)

    def predict(self, batch: np.ndarray) -> np.ndarray:
        return self._session.run(None, {self._input: batch})[0]


class LiteRTBackend:
    """A TFLite flatbuffer in LiteRT. The interpreter is not thread-safe: calls are serialised."""

    kind = "tflite"

    def __init__(self, path: Path, threads: int) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self._interpreter = Interpreter(model_path=str(path), num_threads=threads)
        self.device = "CPU"
        _say_device("tflite", "LiteRT on the CPU (LiteRT has no CUDA build)", False)
        self._interpreter.allocate_tensors()
        self._input = self._interpreter.get_input_details()[0]
        self._output = self._interpreter.get_output_details()[0]
        self.input_shape = tuple(self._input["shape_signature"])
        self._batch = int(self._input["shape"][0])
        self._lock = threading.Lock()

    def predict(self, batch: np.ndarray) -> np.ndarray:
        with self._lock:
            if batch.shape[0] != self._batch:
                self._interpreter.resize_tensor_input(self._input["index"], batch.shape)
                self._interpreter.allocate_tensors()
                self._batch = batch.shape[0]
            self._interpreter.set_tensor(self._input["index"], batch)
            self._interpreter.invoke()
            return self._interpreter.get_tensor(self._output["index"]).copy()
