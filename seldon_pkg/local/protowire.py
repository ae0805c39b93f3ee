"""The two protobuf wire facts the gRPC router needs, without the OIP ``.proto`` compiled in.

The gateway forwards OIP messages as raw bytes; to route one it only needs the model name,
which is field 1 (a string) of ModelReadyRequest, ModelMetadataRequest and ModelInferRequest.
Reading that field from the wire format avoids a protobuf dependency whose version would have
to agree with seldon-core's (protobuf < 4) and MLServer's (protobuf 6) at once.
"""

from __future__ import annotations

WIRE_VARINT, WIRE_FIXED64, WIRE_LENGTH, WIRE_FIXED32 = 0, 1, 2, 5


def _varint(data: bytes, position: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        if position >= len(data) or shift > 63:
            raise ValueError("truncated or oversized varint")
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, position
        shift += 7


def first_string_field(message: bytes, number: int = 1) -> str | None:
    """Field ``number`` of ``message`` as text (the first occurrence), or ``None``."""
    position = 0
    try:
        while position < len(message):
            key, position = _varint(message, position)
            field, wire = key >> 3, key & 7
            if wire == WIRE_VARINT:
                _, position = _varint(message, position)
            elif wire == WIRE_FIXED64:
                position += 8
            elif wire == WIRE_FIXED32:
                position += 4
            elif wire == WIRE_LENGTH:
                length, position = _varint(message, position)
                if field == number:
                    return message[position : position + length].decode("utf-8")
                position += length
            else:
                return None
    except (ValueError, UnicodeDecodeError):
        return None
    return None


def encode_bool_field(number: int, value: bool) -> bytes:
    """A message with one bool field (``ServerLiveResponse{live}``, ``ServerReadyResponse{ready}``)."""
    return bytes([number << 3 | WIRE_VARINT, 1 if value else 0])


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _length_delimited(number: int, payload: bytes) -> bytes:
    return _encode_varint(number << 3 | WIRE_LENGTH) + _encode_varint(len(payload)) + payload


def encode_model_infer(model: str, input_name: str, datatype: str, shape: list[int], raw: bytes) -> bytes:
    """A ModelInferRequest with one input whose data is in ``raw_input_contents`` (the benchmark's
    gRPC OIP request, built without the compiled ``.proto``): fields model_name=1, inputs=5
    (name=1, datatype=2, packed shape=3), raw_input_contents=7."""
    shape_packed = b"".join(_encode_varint(d) for d in shape)
    tensor = (
        _length_delimited(1, input_name.encode())
        + _length_delimited(2, datatype.encode())
        + _length_delimited(3, shape_packed)
    )
    return _length_delimited(1, model.encode()) + _length_delimited(5, tensor) + _length_delimited(7, raw)
