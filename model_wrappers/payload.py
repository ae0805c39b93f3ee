"""Checks on the raw Seldon message, before Seldon's own decoding runs.

Seldon 1.17.1 decodes the message before the wrapper sees it, and some malformed messages make
that decoding raise a plain exception - answered as HTTP 500 (or a gRPC UNKNOWN) although the
client is at fault: a ``tensor`` whose ``values`` do not fill its ``shape``, ``binData`` that is
not base64, ``data`` that is not an object. These checks run first (from ``predict_raw``) and
raise :class:`BadInput` with a precise reason. They are pure functions over the JSON dict or the
``SeldonMessage`` proto, so REST and gRPC share one set of rules.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from model_wrappers.errors import BadInput, PayloadTooLarge

JSON_FORMS = ("data", "binData", "strData", "jsonData")
DATA_FORMS = ("tensor", "ndarray", "tftensor")


@dataclass(frozen=True)
class Limits:
    """What one request may carry; beyond it the request is refused before any work."""

    max_values: int = 1_000_000
    max_bytes: int = 8 * 1024 * 1024


def payload_form(message: Any) -> str:
    """Name the payload form of a message: ``tensor``, ``ndarray``, ``binData``, ...

    Works for the JSON dict and the proto alike; raises :class:`BadInput` when there is none.
    """
    if isinstance(message, dict):
        present = [key for key in JSON_FORMS if key in message]
        if len(present) != 1:
            raise BadInput(
                "a Seldon message needs exactly one of "
                f"{', '.join(JSON_FORMS)}; got {sorted(message) or 'an empty object'}"
            )
        if present[0] != "data":
            return present[0]
        data = message["data"]
        if not isinstance(data, dict):
            raise BadInput("'data' must be an object with 'tensor', 'ndarray' or 'tftensor'")
        forms = [key for key in DATA_FORMS if key in data]
        if len(forms) != 1:
            raise BadInput("'data' needs exactly one of 'tensor', 'ndarray' or 'tftensor'")
        return forms[0]
    if not hasattr(message, "WhichOneof"):  # JSON that is not an object: [1, 2], 2, "text", null
        raise BadInput(f"a Seldon message is a JSON object, got {type(message).__name__}")
    oneof = message.WhichOneof("data_oneof")
    if oneof is None:
        raise BadInput("the SeldonMessage carries no data")
    if oneof != "data":
        return oneof
    inner = message.data.WhichOneof("data_oneof")
    if inner is None:
        raise BadInput("'data' needs one of 'tensor', 'ndarray' or 'tftensor'")
    return inner


def check_message(message: Any, accepted: Collection[str], limits: Limits) -> str:
    """Validate the raw message; return its form. Raise :class:`BadInput` on any problem."""
    form = payload_form(message)
    if form not in accepted:
        raise BadInput(f"this model does not accept '{form}' payloads; accepted: {', '.join(sorted(accepted))}")
    if isinstance(message, dict):
        _check_json(message, form, limits)
    else:
        _check_proto(message, form, limits)
    return form


def _check_json(message: dict, form: str, limits: Limits) -> None:
    if form == "tensor":
        tensor = message["data"]["tensor"]
        if not isinstance(tensor, dict):
            raise BadInput("'tensor' must be an object with 'shape' and 'values'")
        _check_tensor(tensor.get("shape"), tensor.get("values"), limits)
    elif form == "ndarray":
        if not isinstance(message["data"]["ndarray"], list):
            raise BadInput("'ndarray' must be a (nested) list")
        if not _rectangular(message["data"]["ndarray"]):
            raise BadInput("'ndarray' is not a rectangular array of numbers (ragged nesting)")
    elif form == "tftensor":
        _require_tensorflow()
    elif form == "binData":
        raw = message["binData"]
        if not isinstance(raw, str):
            raise BadInput("'binData' must be a base64 string")
        if len(raw) * 3 // 4 > limits.max_bytes:
            raise PayloadTooLarge(f"'binData' is larger than {limits.max_bytes} bytes")
        try:
            base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise BadInput("'binData' is not valid base64") from None
    elif form == "strData":
        if not isinstance(message["strData"], str):
            raise BadInput("'strData' must be a string")
    names = message.get("data", {}).get("names") if form in DATA_FORMS else None
    if names is not None and (not isinstance(names, list) or not all(isinstance(n, str) for n in names)):
        raise BadInput("'data.names' must be a list of strings")


def _check_proto(message: Any, form: str, limits: Limits) -> None:
    if form == "tensor":
        tensor = message.data.tensor
        _check_tensor(list(tensor.shape), tensor.values, limits)
    elif form == "tftensor":
        _require_tensorflow()
    elif form == "binData" and len(message.binData) > limits.max_bytes:
        raise PayloadTooLarge(f"'binData' is larger than {limits.max_bytes} bytes")


def _check_tensor(shape: Any, values: Any, limits: Limits) -> None:
    if not isinstance(shape, list) or not shape:
        raise BadInput("'tensor.shape' must be a non-empty list of integers")
    if not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape):
        raise BadInput(f"'tensor.shape' must hold non-negative integers, got {shape}")
    if not hasattr(values, "__len__"):
        raise BadInput("'tensor.values' must be a list of numbers")
    expected = math.prod(shape)
    if expected > limits.max_values:
        raise PayloadTooLarge(f"the tensor has {expected} values; the limit is {limits.max_values}")
    if len(values) != expected:
        raise BadInput(f"'tensor.values' has {len(values)} values but shape {shape} needs {expected}")


def _rectangular(value: list) -> bool:
    """True when ``value`` is an N-dimensional array: at every depth the items are all lists
    of one length or all scalars (NumPy >= 1.24 raises a ``ValueError`` inside Seldon's
    decoder otherwise, which Seldon answers with 500). Level by level, not recursively: rows
    of different depths (``[[[1], [2]], [3, 4]]``) are ragged too, and no nesting the JSON
    parser took can exhaust the stack here."""
    level: list = [value]
    while level:
        lists = [isinstance(item, list) for item in level]
        if not any(lists):
            return True
        if not all(lists) or len({len(item) for item in level}) != 1:
            return False
        level = [inner for item in level for inner in item]
    return True


def _require_tensorflow() -> None:
    try:
        from seldon_core import utils

        utils.tf  # noqa: B018 - present only when TensorFlow imported
    except (ImportError, AttributeError):
        raise BadInput(
            "'tftensor' needs TensorFlow, which this model's runtime does not have; send 'tensor' or 'ndarray'"
        ) from None
