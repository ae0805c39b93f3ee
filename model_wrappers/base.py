"""The base class every served model derives from: Seldon's Python wrapper contract, explicit.

``seldon-core-microservice Module.Class`` builds ``Class(**parameters)`` and calls, by name,
``load``, ``predict``/``predict_raw``, ``health_status``, ``init_metadata``, ``metrics``,
``tags`` and ``class_names``. Seldon probes these with ``hasattr`` and swallows some failures
(an ``AttributeError`` inside ``load`` is taken to mean "no load method"; a ``TypeError`` inside
``predict`` makes it call ``predict`` a second time). This class implements each hook
deliberately so a subclass only writes what is specific to its model::

    class Doubler(SeldonModel):
        factor: float = 2.0                     # typed parameter (see parameters.py)

        def infer(self, batch: np.ndarray) -> np.ndarray:
            return batch * self.factor

Request flow: ``predict_raw`` validates the raw message (payload.py), decodes it with Seldon's
helpers and calls ``predict``, which runs :meth:`decode` (bytes/arrays -> model input) and
:meth:`infer` and returns the output with per-request tags and metrics; ``predict_raw`` encodes
the reply with Seldon's helpers and reports metrics in batches. Bad input is a 400, a model that is not
loaded a 503, a crash inside the model a 500 - and never a ``TypeError``.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from model_wrappers import payload
from model_wrappers.decoding import numeric_array
from model_wrappers.errors import BadInput, ModelFailure, ModelNotReady
from model_wrappers.metrics_batch import MetricsBatch
from model_wrappers.parameters import bind_parameters, declared_parameters
from model_wrappers.seldon_compat import HAVE_SELDON_CORE, SeldonNotImplementedError, SeldonResponse

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TensorSpec:
    """One tensor of the Open Inference Protocol metadata: name, datatype, shape (-1 = any)."""

    name: str
    datatype: str
    shape: tuple[int, ...]


DEFAULT_OIP_INPUTS = (TensorSpec("input", "FP32", (-1, -1)),)
DEFAULT_OIP_OUTPUTS = (TensorSpec("output", "FP32", (-1, -1)),)


class SeldonModel:
    """Base of every wrapper. Subclasses implement :meth:`infer` and usually :meth:`load_model`."""

    # ---- typed parameters every model accepts (override the defaults in subclasses) -------
    max_values: int = 1_000_000
    """Most numbers one request may carry."""
    max_body_bytes: int = 8 * 1024 * 1024
    """Largest REST body accepted (HTTP 413 beyond)."""
    threads: int = 1
    """Threads the model runtime may use per call; 1 keeps latency low under concurrency."""

    # ---- class-level description (not parameters) -----------------------------------------
    accepted_payloads: ClassVar[frozenset[str]] = frozenset({"tensor", "ndarray"})
    """Seldon payload forms this model takes; others are refused with a 400."""
    output_names: ClassVar[tuple[str, ...] | None] = None
    """Names of the output columns (``class_names``); ``None`` lets Seldon use ``t:0``..."""
    oip_inputs: ClassVar[tuple[TensorSpec, ...]] = ()
    """Open Inference Protocol metadata of the inputs (``GET /v2/models/<name>``); set it so a
    client can build a request from the metadata alone. Defaults to one FP32 matrix."""
    oip_outputs: ClassVar[tuple[TensorSpec, ...]] = ()
    """OIP metadata of the output; its name names the output tensor (default ``output``)."""
    platform: ClassVar[str] = "python"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.oip_inputs = cls.oip_inputs or DEFAULT_OIP_INPUTS
        cls.oip_outputs = cls.oip_outputs or DEFAULT_OIP_OUTPUTS

    def __init__(self, **parameters: Any) -> None:
        bind_parameters(self, parameters)
        self._ready = threading.Event()
        self._load_lock = threading.Lock()
        self._load_error: str | None = None
        self._started = time.monotonic()
        self.limits = payload.Limits(max_values=self.max_values, max_bytes=self.max_body_bytes)
        self._metrics = MetricsBatch()
        if HAVE_SELDON_CORE:  # Seldon registers this blueprint into its Flask app (see http_guard.py)
            from model_wrappers import http_guard

            self.model_error_handler = http_guard.make_blueprint(self.max_body_bytes)

    # ---- what subclasses write ------------------------------------------------------------
    def load_model(self) -> None:
        """Load weights, open sessions, warm up. Runs once per worker process, after fork."""

    def infer(self, batch: np.ndarray) -> np.ndarray:
        """Compute the model's output for a decoded batch. The one method a new model needs."""
        raise NotImplementedError(f"{type(self).__name__} must implement infer(batch)")

    def decode(self, features: Any, feature_names: list[str]) -> np.ndarray:
        """Turn Seldon's decoded payload into the model's input batch (override for images...)."""
        return numeric_array(features, max_values=self.max_values)

    def request_tags(self, batch: np.ndarray, outputs: np.ndarray) -> dict[str, Any]:
        """Tags added to this reply's ``meta.tags`` (override to add model-specific ones)."""
        return {}

    def request_metrics(self, batch: np.ndarray, outputs: np.ndarray) -> list[dict[str, Any]]:
        """Custom Prometheus metrics for this request (override to add model-specific ones)."""
        return []

    @classmethod
    def runtime_requirements(cls, parameters: dict[str, Any]) -> list[str]:
        """pip requirements this wrapper needs at serve time for these parameters."""
        return []

    # ---- Seldon's contract ----------------------------------------------------------------
    def load(self) -> None:
        """Seldon's ``load`` hook: idempotent, thread-safe, and never silently swallowed.

        Seldon ignores ``NotImplementedError``/``AttributeError`` escaping ``load``; we re-raise
        any failure as ``RuntimeError`` so a broken model file stops the process with its error
        instead of serving 500s.
        """
        with self._load_lock:
            if self._ready.is_set():
                return
            started = time.perf_counter()
            try:
                self.load_model()
            except Exception as error:
                self._load_error = f"{type(error).__name__}: {error}"
                logger.exception("loading %s failed", type(self).__name__)
                raise RuntimeError(f"{type(self).__name__}.load failed: {self._load_error}") from error
            self._ready.set()
            logger.info(
                "%s loaded in %.2f s (pid %d)",
                type(self).__name__,
                time.perf_counter() - started,
                os.getpid(),
            )

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    def predict_raw(self, request: Any) -> Any:
        """The whole request path, with Seldon's own helpers for decoding and encoding.

        1. validate the raw message (payload.py): malformed messages are a 400 here instead of
           a 500 inside Seldon's decoder;
        2. decode with Seldon's ``extract_request_parts[_json]`` and call :meth:`predict`;
        3. encode with Seldon's ``construct_response[_json]``, so replies mirror the request's
           form exactly as Seldon's default path does;
        4. report custom metrics in batches (metrics_batch.py) instead of on every request.
        """
        from seldon_core import utils

        payload.check_message(request, self.accepted_payloads, self.limits)
        if isinstance(request, dict):
            features, meta, datadef, _ = utils.extract_request_parts_json(request)
            names = datadef.get("names", []) if isinstance(datadef, dict) else []
            reply = self.predict(features, names, meta=meta)
            return utils.construct_response_json(
                self, False, request, reply.data, meta, self._metrics.add(reply.metrics), reply.tags
            )
        features, meta, datadef, _ = utils.extract_request_parts(request)
        reply = self.predict(features, list(datadef.names), meta=meta)
        return utils.construct_response(
            self, False, request, reply.data, meta, self._metrics.add(reply.metrics), reply.tags
        )

    def predict(self, X: Any, features_names: Iterable[str] | None = None, meta: dict | None = None) -> SeldonResponse:
        """Seldon's ``predict``: decode, infer, and return outputs with tags and metrics."""
        if not self.ready:
            raise ModelNotReady(self._load_error or "the model is still loading")
        return self.predict_batch(self.decode(X, list(features_names or [])))

    def predict_batch(self, batch: np.ndarray) -> SeldonResponse:
        """Infer an already decoded batch (the OIP adapter decodes item by item, then calls this)."""
        if not self.ready:
            raise ModelNotReady(self._load_error or "the model is still loading")
        started = time.perf_counter()
        try:
            outputs = np.asarray(self.infer(batch))
        except (BadInput, ModelFailure):
            raise
        except Exception as error:  # includes TypeError: must not reach Seldon's retry
            logger.exception("inference failed")
            raise ModelFailure(f"inference failed: {type(error).__name__}: {error}") from None
        elapsed_ms = (time.perf_counter() - started) * 1000.0
        metrics = [
            {"type": "COUNTER", "key": "seldon_pkg_items_total", "value": len(batch)},
            {"type": "TIMER", "key": "seldon_pkg_infer_ms", "value": elapsed_ms},
            *self.request_metrics(batch, outputs),
        ]
        return SeldonResponse(outputs, tags=self.request_tags(batch, outputs), metrics=metrics)

    def health_status(self) -> dict[str, Any]:
        """``/health/status``: 503 until loaded, then a small JSON status."""
        if not self.ready:
            raise ModelNotReady(self._load_error or "the model is still loading")
        return {"ready": True, "model": type(self).__name__, "pid": os.getpid()}

    def init_metadata(self) -> dict[str, Any]:
        """``/metadata``. Called by Seldon before ``load``, so it must not need the model."""
        return {
            "name": type(self).__name__,
            "platform": self.platform,
            "versions": [],
            "inputs": [{"messagetype": "tensor", "schema": {}}],
            "outputs": [{"messagetype": "tensor", "schema": {}}],
            "custom": {
                "parameters": ", ".join(sorted(declared_parameters(type(self)))),
            },
        }

    def class_names(self) -> list[str]:
        if self.output_names is None:
            raise SeldonNotImplementedError("no class names")
        return list(self.output_names)

    def tags(self) -> dict[str, Any]:
        """Tags on every reply: which class served it."""
        return {"wrapper": f"{type(self).__module__}.{type(self).__name__}"}

    def metrics(self) -> list[dict[str, Any]]:
        """Process-level gauges reported after every call (per-request ones come with it)."""
        return [{"type": "GAUGE", "key": "seldon_pkg_model_ready", "value": 1.0 if self.ready else 0.0}]
