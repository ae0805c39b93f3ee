"""One HTTP/1.1 exchange with a model process: the request's bytes out, the answer whole or an error.

An answer is handed on only when it is complete by the rules of RFC 9112 section 6.3, in
their order:

* an answer to ``HEAD``, and any ``204`` or ``304``, ends with its headers: whatever
  ``Content-Length`` says (for ``HEAD`` the size a ``GET`` would have) is not read as a body,
  and the connection stays usable;
* ``Transfer-Encoding: chunked``: the chunks up to the last (zero) one and its trailers;
* ``Content-Length``: exactly that many bytes; a connection that ends before is an error;
* neither: everything up to the close of the connection (which is then never reused).

Interim answers (``100 Continue``, ``103 Early Hints``) are skipped and the final one read
after them; ``101 Switching Protocols`` is an error, since the gateway never asks to upgrade.
An HTTP/1.0 answer keeps its connection only with ``Connection: keep-alive``; an HTTP/1.1
one unless ``Connection: close``.

Nothing read is trusted: a status line, header or chunk size that is not HTTP/1.1, a body cut
short, or more than ``max_body`` bytes (headers: the reader's limit, ``MAX_HEADERS`` lines) is
an ``UpstreamError``, so a model process can never make the gateway buffer without bound nor
pass a partial answer off as a whole one.

This is on the gateway's hot path (the benchmark measures it): one coroutine per exchange
with the header loop inline, one ``readline`` per header line, one read for a
``Content-Length`` body, and no per-answer object but the ``Reply``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from urllib.parse import quote

MAX_HEADERS = 100
MAX_INTERIM = 16
"""Interim (1xx) answers skipped before the final one; past that the model is not answering."""
VERSIONS = (b"HTTP/1.1", b"HTTP/1.0")
NO_BODY_STATUSES = (204, 304)
END_OF_HEADERS = (b"\r\n", b"\n")


class UpstreamError(Exception):
    """The model process closed the connection or sent something that is not valid HTTP/1.1."""


class NothingReceived(UpstreamError):
    """The connection ended before the first byte of an answer (a stale pooled connection)."""


@dataclass
class Reply:
    status: int
    content_type: str
    body: bytes


TARGET_SAFE = "".join(chr(c) for c in range(0x21, 0x7F))
"""What stays as it is in a request target: printable ASCII (``%`` escapes, ``?``, ``&`` too)."""


def request_bytes(method: str, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    """The request as sent: always with ``Content-Length``, so the model never reads to a close.

    ``path`` comes decoded from the client's URL: anything but printable ASCII in it (a
    non-Latin-1 character, a space, CR/LF that would start a header of the client's choosing)
    is percent-encoded again, as UTF-8. Header values go out as the bytes the client sent."""
    path = quote(path, safe=TARGET_SAFE)
    head = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}"]
    head += [f"{key}: {value}" for key, value in headers.items()]
    # aiohttp decodes header bytes as UTF-8 with surrogateescape: this gives the client's bytes back
    return ("\r\n".join(head) + "\r\n\r\n").encode("utf-8", "surrogateescape") + body


async def exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes, method: str, max_body: int
) -> tuple[Reply, bool]:
    """Send ``request`` (a ``method`` request), read its final answer; and whether the
    connection may be reused.

    Raises ``NothingReceived`` when the connection ended before any byte of an answer (the
    pool's retry rule depends on that distinction), ``UpstreamError`` for anything short or
    malformed; ``asyncio.IncompleteReadError``, ``ValueError`` (a line over the reader's
    limit) and ``ConnectionError`` after the first byte pass through for the caller to wrap."""
    try:
        writer.write(request)
        await writer.drain()
        status_line = await reader.readline()
    except ConnectionError as error:
        raise NothingReceived(f"connection lost before an answer: {type(error).__name__}") from None
    if not status_line:
        raise NothingReceived("connection closed before an answer")
    interim = 0
    while True:
        status, http10 = _status(status_line)
        # the header loop is inline, not a coroutine of its own: one await less on every answer
        length, content_type, connection, chunked = None, "application/json", "", False
        for _ in range(MAX_HEADERS + 1):
            line = await reader.readline()
            if line in END_OF_HEADERS:
                break
            if not line.endswith(b"\n"):
                raise UpstreamError("answer ended inside its headers")
            name, colon, value = line.decode("latin-1").partition(":")
            if not colon or not name or name != name.strip():
                raise UpstreamError(f"malformed header line {line[:80]!r}")
            name, value = name.lower(), value.strip()
            if name == "content-length":
                if length is not None or not (value.isascii() and value.isdigit()):  # '²' is a digit to str
                    raise UpstreamError(f"bad or repeated Content-Length {value[:40]!r}")
                length = int(value)
            elif name == "content-type":
                content_type = value
            elif name == "connection":
                connection = _connection_option(value.lower(), connection)
            elif name == "transfer-encoding":
                if value.lower() != "chunked":
                    raise UpstreamError(f"unsupported Transfer-Encoding {value[:40]!r}")
                chunked = True
        else:
            raise UpstreamError(f"more than {MAX_HEADERS} headers")
        if status >= 200:
            break
        if status == 101:
            raise UpstreamError("answered 101 Switching Protocols to a request that asked for no upgrade")
        interim += 1
        if interim > MAX_INTERIM:
            raise UpstreamError(f"more than {MAX_INTERIM} interim (1xx) answers")
        status_line = await reader.readline()  # 100 Continue, 103 Early Hints...: the real answer follows
        if not status_line:
            raise UpstreamError(f"connection closed after an interim {status} answer")
    keep = connection == "keep-alive" if http10 else connection != "close"
    if method == "HEAD" or status in NO_BODY_STATUSES:
        return Reply(status, content_type, b""), keep
    if chunked:
        if length is not None:
            raise UpstreamError("both Transfer-Encoding and Content-Length")
        return Reply(status, content_type, await _read_chunked(reader, max_body)), keep
    if length is not None:
        if length > max_body:
            raise UpstreamError(f"answer of {length} bytes exceeds the {max_body}-byte limit")
        return Reply(status, content_type, await reader.readexactly(length)), keep
    return Reply(status, content_type, await _read_to_close(reader, max_body)), False


def _status(line: bytes) -> tuple[int, bool]:
    """The status code of a status line, and whether the answer is HTTP/1.0."""
    parts = line.split(b" ", 2)
    if len(parts) < 2 or parts[0] not in VERSIONS or not parts[1].isdigit() or len(parts[1]) != 3:
        raise UpstreamError(f"bad status line {line[:80]!r}")
    status = int(parts[1])
    if status < 100:  # would pass for an interim answer and be skipped
        raise UpstreamError(f"bad status line {line[:80]!r}")
    return status, parts[0] == b"HTTP/1.0"


def _connection_option(value: str, current: str) -> str:
    """``close`` or ``keep-alive`` from a Connection header (``close`` wins), else ``current``."""
    if value in ("close", "keep-alive"):  # what servers send; a list (``keep-alive, Upgrade``) is rare
        return value if current != "close" else current
    options = {option.strip() for option in value.split(",")}
    return "close" if "close" in options or current == "close" else "keep-alive" if "keep-alive" in options else current


async def _read_to_close(reader: asyncio.StreamReader, limit: int) -> bytes:
    """Everything until the server closes the connection, at most ``limit`` bytes.

    ``readexactly`` of one byte more than allowed either gets it (over the limit) or ends at
    the close with all that came (``partial``): one buffer, however many writes the body took.
    A reset instead of a close raises ``ConnectionError``: that answer is not known whole."""
    try:
        await reader.readexactly(limit + 1)
    except asyncio.IncompleteReadError as ended:
        return ended.partial
    raise UpstreamError(f"answer exceeds the {limit}-byte limit")


async def _read_chunked(reader: asyncio.StreamReader, limit: int) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while True:
        size_line = (await reader.readline()).split(b";")[0].strip()
        if not size_line or any(c not in b"0123456789abcdefABCDEF" for c in size_line):
            raise UpstreamError(f"bad chunk size {size_line[:20]!r}")
        size = int(size_line, 16)
        if size == 0:
            await _skip_trailers(reader)
            return b"".join(chunks)
        total += size
        if total > limit:
            raise UpstreamError(f"chunked answer exceeds the {limit}-byte limit")
        chunks.append(await reader.readexactly(size))
        if await reader.readline() not in END_OF_HEADERS:
            raise UpstreamError("chunk not followed by CRLF")


async def _skip_trailers(reader: asyncio.StreamReader) -> None:
    """The trailer lines after the last chunk, up to the empty line that ends the answer."""
    for _ in range(MAX_HEADERS + 1):
        line = await reader.readline()
        if line in END_OF_HEADERS:
            return
        if not line.endswith(b"\n"):
            raise UpstreamError("answer ended inside its trailers")
    raise UpstreamError(f"more than {MAX_HEADERS} trailer lines")
