"""The binary tensor data extension of the Open Inference Protocol, translated at the gateway.

NVIDIA's ``tritonclient`` sends HTTP inference requests as a JSON header followed by raw tensor
bytes (header length in ``Inference-Header-Content-Length``) and, unless told otherwise, asks
for binary outputs. MLServer 1.7.1 answers such requests with 422. The gateway therefore turns
a binary request into the equivalent JSON request before forwarding it, and a JSON answer
into a binary one when the request asked for binary outputs, so an unmodified ``tritonclient``
works against any OIP model behind the gateway.

Layout (little-endian): numeric tensors are their elements back to back; ``BYTES`` tensors are,
per element, a 4-byte length and the bytes. Binary ``BYTES`` inputs become base64 strings with
``content_type: base64`` (MLServer's convention), which our adapter decodes back to bytes.
"""

from __future__ import annotations

import base64
import json
import struct
import warnings
from typing import Any

import numpy as np

HEADER = "Inference-Header-Content-Length"
DTYPES = {
    "BOOL": "?",
    "UINT8": "<u1",
    "UINT16": "<u2",
    "UINT32": "<u4",
    "UINT64": "<u8",
    "INT8": "<i1",
    "INT16": "<i2",
    "INT32": "<i4",
    "INT64": "<i8",
    "FP16": "<f2",
    "FP32": "<f4",
    "FP64": "<f8",
}


class BinaryFormatError(ValueError):
    """The binary request does not match its own header (answered with a 400)."""


def header_length(headers: Any) -> int | None:
    """The JSON header's length when the request uses the extension, else ``None``."""
    value = headers.get(HEADER)
    if value is None:
        return None
    text = value.strip(" \t")  # HTTP's whitespace: str.strip() also takes \x1c-\x1f, int() does not
    if not (text.isascii() and text.isdigit()):  # str.isdigit() takes '³', int() does not
        raise BinaryFormatError(f"{HEADER} must be a number of bytes, got {value[:20]!r}")
    return int(text)


def request_to_json(body: bytes, length: int) -> dict[str, Any]:
    """A binary-extension request body as the equivalent JSON inference request."""
    if length > len(body):
        raise BinaryFormatError(f"{HEADER} is {length} but the body has {len(body)} bytes")
    try:
        request = json.loads(body[:length])
    except (ValueError, RecursionError) as error:
        raise BinaryFormatError(f"the inference header is not JSON: {type(error).__name__}: {error}") from None
    if not isinstance(request, dict) or not isinstance(request.get("inputs"), list):
        raise BinaryFormatError("the inference header needs an 'inputs' list")
    offset = length
    for tensor in request["inputs"]:
        if not isinstance(tensor, dict):
            raise BinaryFormatError(f"each input must be an object, got {json.dumps(tensor)[:40]}")
        parameters = _parameters(tensor, f"input {tensor.get('name')!r}")
        size = parameters.pop("binary_data_size", None)
        if size is None:
            continue
        if isinstance(size, bool) or not isinstance(size, int) or size < 0 or offset + size > len(body):
            raise BinaryFormatError(f"input {tensor.get('name')!r}: binary_data_size {size!r} runs past the body")
        tensor["data"] = _decode(tensor, body[offset : offset + size])
        if tensor.get("datatype") == "BYTES":
            parameters["content_type"] = "base64"
        tensor["parameters"] = parameters
        offset += size
    if offset != len(body):
        raise BinaryFormatError(f"{len(body) - offset} bytes after the last binary input")
    return request


def wants_binary_outputs(request: dict[str, Any]) -> set[str] | bool:
    """``True`` for every output (``binary_data_output``), else the names asked for in binary."""
    if _parameters(request, "the request").pop("binary_data_output", False):
        return True
    outputs = request.get("outputs") or []
    if not isinstance(outputs, list):
        raise BinaryFormatError("'outputs' must be a list")
    named = set()
    for output in outputs:
        if not isinstance(output, dict):
            raise BinaryFormatError("each requested output must be an object")
        if _parameters(output, f"output {output.get('name')!r}").pop("binary_data", False):
            if not isinstance(output.get("name"), str):
                raise BinaryFormatError("an output asked for in binary needs a 'name' string")
            named.add(output["name"])
    return named


def _parameters(holder: dict[str, Any], what: str) -> dict[str, Any]:
    """``holder['parameters']``, an object (``{}`` when absent)."""
    parameters = holder.get("parameters")
    if parameters is None:
        return {}
    if not isinstance(parameters, dict):
        raise BinaryFormatError(f"{what}: 'parameters' must be an object")
    return parameters


def response_to_binary(response: dict[str, Any], which: set[str] | bool) -> tuple[bytes, int]:
    """A JSON inference response with the chosen outputs moved into binary; (body, header length).

    The response is the model's: one that is not an OIP answer (``outputs`` not a list of
    objects, data that does not fit its datatype) raises ``BinaryFormatError``, which the
    gateway answers with a 502."""
    if not isinstance(response, dict):
        raise BinaryFormatError("the model's answer is not a JSON object")
    outputs = response.get("outputs") or []
    if not isinstance(outputs, list) or not all(isinstance(output, dict) for output in outputs):
        raise BinaryFormatError("the model's answer has no list of output objects")
    blobs = []
    for output in outputs:
        if which is True or (isinstance(which, set) and output.get("name") in which):
            blob = _encode(output)
            output.pop("data", None)
            parameters = output.setdefault("parameters", {})
            if not isinstance(parameters, dict):
                raise BinaryFormatError(f"output {output.get('name')!r}: 'parameters' is not an object")
            parameters["binary_data_size"] = len(blob)
            blobs.append(blob)
    header = json.dumps(response, separators=(",", ":")).encode()
    return header + b"".join(blobs), len(header)


def _decode(tensor: dict[str, Any], blob: bytes) -> list[Any]:
    datatype = tensor.get("datatype")
    if datatype == "BYTES":
        items, position = [], 0
        while position < len(blob):
            if position + 4 > len(blob):
                raise BinaryFormatError(f"input {tensor.get('name')!r}: truncated BYTES element length")
            (size,) = struct.unpack_from("<I", blob, position)
            position += 4
            if position + size > len(blob):
                raise BinaryFormatError(f"input {tensor.get('name')!r}: BYTES element runs past its data")
            items.append(base64.b64encode(blob[position : position + size]).decode("ascii"))
            position += size
        return items
    if not isinstance(datatype, str) or datatype not in DTYPES:
        raise BinaryFormatError(f"input {tensor.get('name')!r}: unsupported datatype {str(datatype)[:40]!r}")
    dtype = np.dtype(DTYPES[datatype])
    if len(blob) % dtype.itemsize:
        raise BinaryFormatError(f"input {tensor.get('name')!r}: {len(blob)} bytes is not a whole number of {datatype}")
    return np.frombuffer(blob, dtype=dtype).tolist()


def _encode(output: dict[str, Any]) -> bytes:
    datatype, data = output.get("datatype"), output.get("data") or []
    name = output.get("name")
    if datatype == "BYTES":
        parts = []
        for item in _flat(data):
            if not isinstance(item, str):  # JSON has no bytes: a BYTES element is text
                raise BinaryFormatError(f"output {name!r}: a BYTES element is a {type(item).__name__}, not a string")
            raw = item.encode()
            parts.append(struct.pack("<I", len(raw)) + raw)
        return b"".join(parts)
    if not isinstance(datatype, str) or datatype not in DTYPES:
        raise BinaryFormatError(f"output {name!r}: unsupported datatype {str(datatype)[:40]!r}")
    if datatype.startswith(("INT", "UINT")):  # NumPy would truncate 30.75 to 30 without a word
        if any(not isinstance(item, int) or isinstance(item, bool) for item in _flat(data)):
            raise BinaryFormatError(f"output {name!r}: {datatype} data holds a value that is not an integer")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # NumPy 1.26 only warns when -1 becomes 255
            array = np.asarray(data, dtype=np.dtype(DTYPES[datatype]))
    except (ValueError, TypeError, OverflowError, DeprecationWarning, RuntimeWarning) as error:
        raise BinaryFormatError(f"output {name!r}: data is not {datatype}: {error}") from None
    return array.tobytes()


def _flat(data: Any) -> list[Any]:
    """The elements of a (nested) JSON list in row-major order."""
    if not isinstance(data, list):
        return [data]
    items: list[Any] = []
    stack = [iter(data)]
    while stack:
        for item in stack[-1]:
            if isinstance(item, list):
                stack.append(iter(item))
                break
            items.append(item)
        else:
            stack.pop()
    return items
