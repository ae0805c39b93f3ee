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
    if not value.strip().isdigit():
        raise BinaryFormatError(f"{HEADER} must be a number of bytes, got {value[:20]!r}")
    return int(value)


def request_to_json(body: bytes, length: int) -> dict[str, Any]:
    """A binary-extension request body as the equivalent JSON inference request."""
    if length > len(body):
        raise BinaryFormatError(f"{HEADER} is {length} but the body has {len(body)} bytes")
    try:
        request = json.loads(body[:length])
    except ValueError as error:
        raise BinaryFormatError(f"the inference header is not JSON: {error}") from None
    if not isinstance(request, dict) or not isinstance(request.get("inputs"), list):
        raise BinaryFormatError("the inference header needs an 'inputs' list")
    offset = length
    for tensor in request["inputs"]:
        parameters = tensor.get("parameters") or {}
        size = parameters.pop("binary_data_size", None)
        if size is None:
            continue
        if not isinstance(size, int) or size < 0 or offset + size > len(body):
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
    if (request.get("parameters") or {}).pop("binary_data_output", False):
        return True
    named = set()
    for output in request.get("outputs") or []:
        if (output.get("parameters") or {}).pop("binary_data", False):
            named.add(output.get("name"))
    return named


def response_to_binary(response: dict[str, Any], which: set[str] | bool) -> tuple[bytes, int]:
    """A JSON inference response with the chosen outputs moved into binary; (body, header length)."""
    blobs = []
    for output in response.get("outputs") or []:
        if which is True or (isinstance(which, set) and output.get("name") in which):
            blob = _encode(output)
            output.pop("data", None)
            output.setdefault("parameters", {})["binary_data_size"] = len(blob)
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
    if datatype not in DTYPES:
        raise BinaryFormatError(f"input {tensor.get('name')!r}: unsupported datatype {datatype!r}")
    dtype = np.dtype(DTYPES[datatype])
    if len(blob) % dtype.itemsize:
        raise BinaryFormatError(f"input {tensor.get('name')!r}: {len(blob)} bytes is not a whole number of {datatype}")
    return np.frombuffer(blob, dtype=dtype).tolist()


def _encode(output: dict[str, Any]) -> bytes:
    datatype, data = output.get("datatype"), output.get("data") or []
    if datatype == "BYTES":
        parts = []
        for item in np.asarray(data, dtype=object).reshape(-1):
            raw = item.encode() if isinstance(item, str) else bytes(item)
            parts.append(struct.pack("<I", len(raw)) + raw)
        return b"".join(parts)
    if datatype not in DTYPES:
        raise BinaryFormatError(f"output {output.get('name')!r}: unsupported datatype {datatype!r}")
    return np.asarray(data, dtype=np.dtype(DTYPES[datatype])).tobytes()
