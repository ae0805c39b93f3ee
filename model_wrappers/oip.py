"""Any ``SeldonModel`` served by MLServer over the Open Inference Protocol (OIP, "V2").

MLServer loads ``model_wrappers.oip.SeldonModelRuntime`` (an ``mlserver.MLModel``) named by a
``model-settings.json`` like::

    {"name": "mnist-cnn-v1-495084fa8a", "implementation": "model_wrappers.oip.SeldonModelRuntime",
     "parameters": {"extra": {"wrapper": "model_wrappers.mnist.MnistClassifier",
                              "parameters": {"model_uri": "models/mnist-cnn.onnx"}}}}

The runtime builds the user's class exactly as ``seldon-core-microservice`` does
(``Class(**parameters)``, typed parameters checked), calls its ``load()`` once, and for each
request runs the same ``decode`` -> ``infer`` path; the subclass never knows which protocol
serves it. Mapping:

* inputs: the first input tensor is the model's input. Numeric datatypes (BOOL, INT*, UINT*,
  FP16/32/64) become one NumPy array of that shape; ``BYTES`` elements (images, base64 text or
  ``data:`` URLs, MLServer's ``content_type: base64`` honoured) are decoded one by one and
  stacked;
* outputs: one tensor named by the class's ``oip_outputs`` (default ``output``), datatype
  from the array;
* metadata (``GET /v2/models/<name>``): the class's ``oip_inputs`` / ``oip_outputs``, so a client
  can build a request from the metadata alone;
* errors: bad input 400, not loaded 503, a crash in the model 500 (never retried), all as
  MLServer's JSON ``{"error": ...}``; per-request custom metrics reach MLServer's ``/metrics``.
"""

from __future__ import annotations

import base64
import math
from typing import Any

import numpy as np
from mlserver import MLModel
from mlserver.errors import MLServerError
from mlserver.types import (
    InferenceRequest,
    InferenceResponse,
    MetadataTensor,
    RequestInput,
    ResponseOutput,
    TensorData,
)

from model_wrappers import model_logs
from model_wrappers.base import SeldonModel
from model_wrappers.model_source import import_wrapper, model_folder
from model_wrappers.parameters import declared_parameters
from model_wrappers.seldon_compat import SeldonMicroserviceException

NUMPY_DATATYPES = {
    "BOOL": np.bool_,
    "UINT8": np.uint8,
    "UINT16": np.uint16,
    "UINT32": np.uint32,
    "UINT64": np.uint64,
    "INT8": np.int8,
    "INT16": np.int16,
    "INT32": np.int32,
    "INT64": np.int64,
    "FP16": np.float16,
    "FP32": np.float32,
    "FP64": np.float64,
}
OIP_DATATYPES = {np.dtype(v).name: k for k, v in NUMPY_DATATYPES.items()}
OIP_DATATYPES_BY_DTYPE = {np.dtype(v): k for k, v in NUMPY_DATATYPES.items()}
"""The same keyed by the native dtype itself: ``dtype.name`` is Python code in NumPy 1.26
(about 2 us, on every reply); the name is still the fallback for other byte orders."""
METRICS: dict[str, Any] = {}
"""Custom metrics by name, one per process (a model loaded again reuses them)."""


def files_folder(settings: Any, files: str) -> str:
    """``files`` resolved against the folder of the model-settings.json it came from."""
    from pathlib import Path

    folder = Path(files)
    source = getattr(settings, "_source", None)
    if not folder.is_absolute() and source:
        folder = Path(source).parent / folder
    return str(folder.resolve())


def input_array(tensor: RequestInput) -> np.ndarray:
    """A numeric OIP input tensor as a NumPy array of its declared shape (400 if it does not fit).

    On the request path, so it stays lean: ``math.prod`` of the shape (``np.prod`` of a short
    list costs about 3 us, a tenth of this function) and a single reshape (the array's size is
    checked whatever nesting the data came in)."""
    dtype = NUMPY_DATATYPES.get(tensor.datatype)
    if dtype is None:
        raise MLServerError(f"input {tensor.name!r}: unsupported datatype {tensor.datatype!r}", 400)
    data = tensor.data.root if hasattr(tensor.data, "root") else tensor.data
    try:
        array = np.asarray(data, dtype=dtype)
    except (TypeError, ValueError) as error:
        raise MLServerError(f"input {tensor.name!r}: data is not {tensor.datatype}: {error}", 400) from None
    shape = tensor.shape
    expected = math.prod(shape) if shape else 0
    if array.size != expected or any(d < 0 for d in shape):
        raise MLServerError(f"input {tensor.name!r}: {array.size} values do not fill shape {list(shape)}", 400)
    return array.reshape(shape)


def input_items(tensor: RequestInput) -> list[bytes | str]:
    """The elements of a BYTES tensor: raw bytes, or text (base64 / data URL) for the model to decode."""
    data = tensor.data.root if hasattr(tensor.data, "root") else tensor.data
    items = list(data) if isinstance(data, (list, tuple)) else [data]
    content_type = (tensor.parameters.content_type if tensor.parameters else None) or ""
    out: list[bytes | str] = []
    for item in items:
        if isinstance(item, str) and content_type == "base64":
            try:
                item = base64.b64decode(item, validate=True)
            except ValueError:
                raise MLServerError(f"input {tensor.name!r}: content_type base64 but not base64 text", 400) from None
        out.append(item)
    return out


def output_tensor(name: str, array: np.ndarray) -> ResponseOutput:
    """The reply tensor. ``data`` is handed over as ``TensorData`` already: given a bare list,
    pydantic tries it against ``TensorData``'s root type through a slower path (about 5 of 13 us
    per reply, measured right after an ONNX Runtime call as in a request)."""
    datatype = OIP_DATATYPES_BY_DTYPE.get(array.dtype) or OIP_DATATYPES.get(array.dtype.name)
    if datatype is None:
        array, datatype = array.astype(np.float64), "FP64"
    return ResponseOutput(
        name=name, datatype=datatype, shape=list(array.shape), data=TensorData(array.reshape(-1).tolist())
    )


class SeldonModelRuntime(MLModel):
    """The MLServer face of a ``SeldonModel`` (see the module docstring)."""

    def _parameters(self, cls: type, extra: dict) -> dict:
        """The wrapper's parameters; when model-settings.json says where the model's files are
        (``extra.files``, relative to that file: ``"."`` in a Seldon Core 2 artifact, wherever
        it was downloaded), a class with ``model_dir`` gets that folder, so relative model
        files resolve there. (MLServer fills ``parameters.uri`` itself, so it cannot say this.)"""
        parameters = dict(extra.get("parameters") or {})
        files = extra.get("files")
        if files and "model_dir" in declared_parameters(cls):
            parameters.setdefault("model_dir", files_folder(self.settings, files))
        return parameters

    async def load(self) -> bool:
        extra = (self.settings.parameters.extra if self.settings.parameters else None) or {}
        wrapper = extra.get("wrapper")
        if not wrapper:
            raise MLServerError("model-settings parameters.extra.wrapper (Module.Class) is required", 500)
        log_file = extra.get("log_file")
        self._log = model_logs.register(self.name, log_file) if log_file else None
        # (a shared server: this model's lines go to its own log too)
        token = model_logs.current_model.set(self.name)
        try:
            with model_folder(extra.get("source_dir"), extra.get("model_dir")):
                cls: type[SeldonModel] = import_wrapper(wrapper, extra.get("source_dir"))
                self.model = cls(**self._parameters(cls, extra))
                self.model.load()
        except BaseException as error:
            model_logs.write_exception(self.name, error)
            raise
        finally:
            model_logs.current_model.reset(token)
        self._metric_children: dict[str, Any] = {}
        self.inputs = [MetadataTensor(name=t.name, datatype=t.datatype, shape=list(t.shape)) for t in cls.oip_inputs]
        self.outputs = [MetadataTensor(name=t.name, datatype=t.datatype, shape=list(t.shape)) for t in cls.oip_outputs]
        return True

    async def unload(self) -> bool:
        """Close this model's log copy (not a newer load's: a reload unloads the old model after
        the new one has loaded under the same name)."""
        log = getattr(self, "_log", None)
        if log is not None:
            model_logs.unregister(self.name, log)
        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        if not payload.inputs:
            raise MLServerError("the request has no inputs", 400)
        tensor = payload.inputs[0]
        try:
            if tensor.datatype == "BYTES":
                batches = [self.model.decode(item, []) for item in input_items(tensor)]
                if not batches:
                    raise MLServerError(f"input {tensor.name!r} is empty", 400)
                reply = self.model.predict_batch(np.concatenate(batches))
            else:
                reply = self.model.predict(input_array(tensor), [])
        except SeldonMicroserviceException as error:  # BadInput 400, ModelNotReady 503, ModelFailure 500
            raise MLServerError(str(error.message), int(error.status_code)) from None
        self._log_metrics(reply.metrics)
        outputs = np.asarray(reply.data)
        return InferenceResponse(
            model_name=self.name,
            model_version=self.version,
            id=payload.id,
            outputs=[output_tensor(self.model.oip_outputs[0].name, outputs)],
        )

    def _log_metrics(self, metrics: list[dict[str, Any]]) -> None:
        """Per-request metrics as Prometheus metrics labelled like MLServer's own: COUNTER a
        counter, GAUGE a gauge, TIMER a histogram (the Seldon metric types).

        They go to prometheus_client's default registry: that is what MLServer 1.7.1 serves at
        ``/metrics`` when inference runs in the server process (``parallel_workers: 0``, our
        setting), whereas ``mlserver.log`` writes to MLServer's separate registry, which that
        endpoint then does not show (found by tests/test_oip.py). Labelled children are cached:
        looking them up per request cost about a tenth of the adapter's time (py-spy)."""
        for item in metrics:
            key = item.get("key", "")
            if not key.isidentifier():
                continue
            child = self._metric_children.get(key)
            if child is None:
                child = self._metric_children[key] = _metric(item.get("type", "COUNTER"), key).labels(
                    self.name, self.version or ""
                )
            kind = item.get("type", "COUNTER")
            if kind == "COUNTER":
                child.inc(float(item["value"]))
            elif kind == "GAUGE":
                child.set(float(item["value"]))
            else:
                child.observe(float(item["value"]))


def _metric(kind: str, key: str) -> Any:
    """The process-wide Prometheus metric for ``key`` (prometheus_client refuses a name twice)."""
    from prometheus_client import Counter, Gauge, Histogram

    if key not in METRICS:
        factory = {"COUNTER": Counter, "GAUGE": Gauge}.get(kind, Histogram)
        METRICS[key] = factory(key, f"seldon-pkg metric {key}", ["model_name", "model_version"])
    return METRICS[key]
