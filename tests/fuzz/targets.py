"""One property check per parser we own, over arbitrary bytes.

Each ``check_*`` takes the fuzzer's bytes, runs the parser on them and fails (raises
``AssertionError`` or lets an undocumented exception escape) when the property does not hold:

* only the parser's documented exception types escape (everything else is a crash: on the
  gateway an aiohttp 500, in a model process Seldon's 500, in the CLI a traceback);
* what a parser returns is usable by the next step (JSON-serialisable, round-trips, within
  its limit);
* nothing waits: the HTTP/1.1 reader runs on a stream that has ended, under a deadline.

Memory is bounded by the fuzzer itself (libFuzzer's ``-rss_limit_mb`` in run.py). The same
functions run the fixed corpus (tests/test_fuzz_corpus.py) and the coverage-guided runs
(tests/fuzz/run.py), so a corpus entry fails exactly where the fuzzer did.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from model_wrappers import decoding, payload
from model_wrappers.errors import BadInput, PayloadTooLarge
from seldon_pkg.errors import Invalid
from seldon_pkg.local import http11, oip_binary, protowire
from seldon_pkg.spec.model_spec import load_spec

ROOT = Path(__file__).resolve().parents[2]
CORPUS = Path(__file__).resolve().parent / "corpus"
SMALL_LIMITS = payload.Limits(max_values=4096, max_bytes=64 * 1024)
ALL_FORMS = frozenset({"tensor", "ndarray", "binData", "strData", "jsonData"})


def _split(data: bytes, parts: int) -> list[bytes]:
    """``data`` cut in ``parts`` pieces at the separator ``\\x00\\xff`` (a fuzzer finds it fast;
    a corpus file writes it by hand): missing pieces are empty."""
    pieces = data.split(b"\x00\xff", parts - 1)
    return pieces + [b""] * (parts - len(pieces))


NOT_JSON = object()


def _json(data: bytes) -> Any:
    """``data`` as JSON, or ``NOT_JSON`` when it is not (JSON parsing is not ours to fuzz)."""
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        return NOT_JSON


# ---- the gRPC wire reader --------------------------------------------------------------------
def check_protowire(data: bytes) -> None:
    """``first_string_field`` never raises and returns only a field that lies whole inside the
    message; a request it built itself reads back its model name."""
    for number in (1, 2, 5):
        found = protowire.first_string_field(data, number)
        assert found is None or isinstance(found, str)
        if found is not None:
            assert len(found.encode("utf-8")) <= len(data)
    name = data[:64].decode("utf-8", "replace")
    shape = list(data[64:68])
    built = protowire.encode_model_infer(name, "x", "FP32", shape, data[68:])
    assert protowire.first_string_field(built) == name


# ---- the OIP binary tensor extension ---------------------------------------------------------
def check_oip_binary(data: bytes) -> None:
    """Request side: a header value and a body turn into a JSON request or a ``BinaryFormatError``.
    Answer side: a (model's) JSON answer turns into binary outputs or a ``BinaryFormatError``,
    and numeric binary outputs decode back to the values they came from."""
    header, body, answer = _split(data, 3)
    try:
        length = oip_binary.header_length({oip_binary.HEADER: header.decode("latin-1")})
        if length is not None:
            request = oip_binary.request_to_json(body, length)
            assert isinstance(request, dict)
            json.dumps(request)  # the gateway forwards it as JSON
            which = oip_binary.wants_binary_outputs(request)
            assert which is True or isinstance(which, set)
    except oip_binary.BinaryFormatError:
        pass
    response = _json(answer)
    if not isinstance(response, dict):
        return
    try:
        blob, size = oip_binary.response_to_binary(json.loads(answer), True)
    except oip_binary.BinaryFormatError:
        return
    header_json = json.loads(blob[:size])
    assert len(blob) - size <= 8 * len(answer)  # never more binary than the JSON could hold
    offset = size
    for output, original in zip(header_json.get("outputs") or [], response.get("outputs") or [], strict=True):
        taken = output["parameters"]["binary_data_size"]
        chunk = blob[offset : offset + taken]
        offset += taken
        datatype = output.get("datatype")
        if datatype in oip_binary.DTYPES and datatype != "BOOL":
            values = oip_binary._flat(original.get("data") or [])
            decoded = np.frombuffer(chunk, dtype=oip_binary.DTYPES[datatype])
            if datatype.startswith(("INT", "UINT")):  # exactly the integers sent, none wrapped
                assert decoded.tolist() == values, (decoded.tolist(), values)
            else:
                expected = np.asarray(values, dtype=np.float64).astype(decoded.dtype)
                assert np.array_equal(decoded, expected, equal_nan=True)
    assert offset == len(blob)


# ---- Seldon payload checks and decoding ------------------------------------------------------
_echo: Any = None


def _echo_model() -> Any:
    """The test-only EchoModel, loaded in process: ``predict_raw`` is the whole request path a
    Seldon-protocol model process runs (payload checks, Seldon's decoder, our decoding, Seldon's
    encoder)."""
    global _echo
    if _echo is None:
        sys.path.insert(0, str(ROOT / "tests" / "fixtures" / "echo_model"))
        from EchoModel import EchoModel  # type: ignore[import-not-found]

        _echo = EchoModel(max_values=SMALL_LIMITS.max_values)
        _echo.load()
    return _echo


def _client_error(error: Exception) -> bool:
    """A 4xx in Seldon's rendering: our BadInput/PayloadTooLarge or Seldon's own exception."""
    return 400 <= getattr(error, "status_code", 500) < 500


def check_payload(data: bytes) -> None:
    """A JSON Seldon message passes ``check_message`` or is refused with BadInput/PayloadTooLarge;
    once it passes, the model process's whole path answers or refuses with a 4xx, never a 500."""
    message = _json(data)
    if message is NOT_JSON:
        return
    try:
        payload.check_message(message, ALL_FORMS, SMALL_LIMITS)
    except (BadInput, PayloadTooLarge):
        return
    model = _echo_model()
    try:
        reply = model.predict_raw(message)
    except Exception as error:
        assert _client_error(error), f"{type(error).__name__}: {error}"
        return
    json.dumps(reply)  # Seldon's Flask app serialises it


def check_decoding(data: bytes) -> None:
    """``numeric_array``, ``base64_bytes`` and ``grayscale_image`` return their documented
    result or raise BadInput/PayloadTooLarge."""
    features = _json(data)
    if features is not NOT_JSON:
        try:
            array = decoding.numeric_array(features, max_values=SMALL_LIMITS.max_values)
            assert array.dtype == np.float32 and array.size and np.isfinite(array).all()
        except (BadInput, PayloadTooLarge):
            pass
    try:
        decoding.base64_bytes(data.decode("latin-1"))
    except (BadInput, PayloadTooLarge):
        pass
    try:
        image = decoding.grayscale_image(data)
        assert image.ndim == 2 and image.dtype == np.float32
        assert float(image.min()) >= 0.0 and float(image.max()) <= 1.0
    except (BadInput, PayloadTooLarge):
        pass


# ---- the spec loader -------------------------------------------------------------------------
_spec_dir = Path(tempfile.mkdtemp(prefix="fuzz-spec-"))


def check_spec(data: bytes) -> None:
    """A spec file is a ModelSpec or an ``Invalid`` (SpecError), whatever its bytes: the CLI
    prints that error and exits 2 instead of a traceback."""
    spec_path = _spec_dir / "seldon-model.yaml"
    spec_path.write_bytes(data)
    try:
        spec = load_spec(spec_path)
        assert spec.name and spec.wrapper
    except Invalid:
        pass


# ---- the upstream HTTP/1.1 answer reader -----------------------------------------------------
class _Sink:
    """The writer side of an exchange: takes the request, sends nothing anywhere."""

    def write(self, _: bytes) -> None:
        pass

    async def drain(self) -> None:
        pass


_loop = asyncio.new_event_loop()
MAX_ANSWER = 4096


async def _exchange(answer: bytes, method: str) -> tuple[http11.Reply, bool]:
    reader = asyncio.StreamReader(limit=1024)
    reader.feed_data(answer)
    reader.feed_eof()
    return await http11.exchange(reader, _Sink(), b"", method, MAX_ANSWER)  # type: ignore[arg-type]


def check_http11(data: bytes) -> None:
    """A model process's answer (prefixed ``HEAD `` for the answer to a HEAD) is a whole Reply within the body limit or one of the documented
    errors (UpstreamError, IncompleteReadError, ValueError for an over-long line), and the
    reader never waits on a stream that has ended."""
    method = "POST"
    if data.startswith(b"HEAD "):  # the answer to a HEAD request
        method, data = "HEAD", data[5:]
    try:
        reply, _ = _loop.run_until_complete(asyncio.wait_for(_exchange(data, method), 5))
    except (http11.UpstreamError, asyncio.IncompleteReadError):
        return
    except ValueError as error:  # StreamReader.readline's own: a line longer than its limit
        assert "limit" in str(error), f"ValueError: {error}"
        return
    assert 200 <= reply.status <= 999
    assert len(reply.body) <= MAX_ANSWER
    if method == "HEAD" or reply.status in http11.NO_BODY_STATUSES:
        assert reply.body == b""


TARGETS: dict[str, Callable[[bytes], None]] = {
    "protowire": check_protowire,
    "oip_binary": check_oip_binary,
    "payload": check_payload,
    "decoding": check_decoding,
    "spec": check_spec,
    "http11": check_http11,
}
"""Target name -> property check; the corpus of a target is corpus/<name>/."""


def corpus(target: str) -> list[Path]:
    folder = CORPUS / target
    return sorted(p for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []
