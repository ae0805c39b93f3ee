"""A small keep-alive HTTP/1.1 client for the gateway's hop to a model process.

The hop is always the same: loopback, a model server that answers with ``Content-Length``
(or chunked), small JSON bodies. A general client (aiohttp's) spent more time on that hop
than the model did; this one writes the request bytes and reads status, headers and body from
a pool of open connections per model port, and nothing else.

It trusts nothing it reads: a status line, header or chunk size that is not HTTP/1.1, a body
cut short, or more than ``max_body`` bytes (headers: ``MAX_HEADER_BYTES``) is an
``UpstreamError``, which the REST front end turns into a 502 JSON error; a model process can
never make the gateway buffer without bound.

Retry rule: a request is sent again (once, on a new connection) only when it went out on a
pooled connection and *nothing* came back: the server had closed that idle connection. Once
a byte of an answer arrived the request is never repeated, so a model never runs twice.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

MAX_BODY = 64 * 1024 * 1024
MAX_HEADER_BYTES = 64 * 1024
MAX_HEADERS = 100


class UpstreamError(Exception):
    """The model process closed the connection or sent something that is not valid HTTP/1.1."""


class _NothingReceived(UpstreamError):
    """The connection ended before the first byte of an answer (a stale pooled connection)."""


@dataclass
class Reply:
    status: int
    content_type: str
    body: bytes


class UpstreamPool:
    def __init__(self, max_idle_per_port: int = 32, max_body: int = MAX_BODY) -> None:
        self._idle: dict[int, list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]] = {}
        self._max_idle = max_idle_per_port
        self._max_body = max_body

    async def request(
        self, port: int, method: str, path: str, body: bytes, headers: dict[str, str], timeout: float = 300.0
    ) -> Reply:
        """Send one request and read its answer (see the module's retry rule)."""
        for attempt in (0, 1):
            reader, writer, reused = await self._connection(port, fresh=attempt == 1)
            try:
                reply, keep = await asyncio.wait_for(
                    self._exchange(reader, writer, method, path, body, headers), timeout
                )
            except _NothingReceived as error:
                writer.close()
                if reused and attempt == 0:
                    continue  # the server closed an idle connection: not the request's fault
                raise UpstreamError(str(error)) from None
            except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as error:
                writer.close()
                raise UpstreamError(f"{type(error).__name__}: {error}") from None
            except BaseException:
                writer.close()
                raise
            if keep:
                self._release(port, reader, writer)
            else:
                writer.close()
            return reply
        raise UpstreamError("unreachable")

    async def _connection(self, port: int, fresh: bool):
        idle = self._idle.get(port, [])
        while idle and not fresh:
            reader, writer = idle.pop()
            if not writer.is_closing() and not reader.at_eof():
                return reader, writer, True
            writer.close()
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=MAX_HEADER_BYTES)
        return reader, writer, False

    def _release(self, port: int, reader, writer) -> None:
        idle = self._idle.setdefault(port, [])
        if len(idle) < self._max_idle:
            idle.append((reader, writer))
        else:
            writer.close()

    async def _exchange(self, reader, writer, method, path, body, headers) -> tuple[Reply, bool]:
        head = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}"]
        head += [f"{key}: {value}" for key, value in headers.items()]
        try:
            writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
            await writer.drain()
            status_line = await reader.readline()
        except ConnectionError as error:
            raise _NothingReceived(f"connection lost before an answer: {type(error).__name__}") from None
        if not status_line:
            raise _NothingReceived("connection closed before an answer")
        status = _status(status_line)
        length, content_type, keep, chunked = None, "application/json", True, False
        for _ in range(MAX_HEADERS + 1):
            line = await reader.readline()
            if line in (b"\r\n", b"\n"):
                break
            if not line.endswith(b"\n"):
                raise UpstreamError("answer ended inside its headers")
            name, colon, value = line.decode("latin-1").partition(":")
            if not colon or not name or name != name.strip():
                raise UpstreamError(f"malformed header line {line[:80]!r}")
            name, value = name.lower(), value.strip()
            if name == "content-length":
                if length is not None or not value.isdigit():
                    raise UpstreamError(f"bad or repeated Content-Length {value[:40]!r}")
                length = int(value)
            elif name == "content-type":
                content_type = value
            elif name == "connection" and value.lower() == "close":
                keep = False
            elif name == "transfer-encoding":
                if value.lower() != "chunked":
                    raise UpstreamError(f"unsupported Transfer-Encoding {value[:40]!r}")
                chunked = True
        else:
            raise UpstreamError(f"more than {MAX_HEADERS} headers")
        if chunked and length is not None:
            raise UpstreamError("both Transfer-Encoding and Content-Length")
        if chunked:
            payload = await _read_chunked(reader, self._max_body)
        elif length is not None:
            if length > self._max_body:
                raise UpstreamError(f"answer of {length} bytes exceeds the {self._max_body}-byte limit")
            payload = await reader.readexactly(length)
        else:
            payload = await reader.read(self._max_body + 1)
            if len(payload) > self._max_body:
                raise UpstreamError(f"answer exceeds the {self._max_body}-byte limit")
            keep = False
        return Reply(status, content_type, payload), keep

    def close(self) -> None:
        for connections in self._idle.values():
            for _, writer in connections:
                writer.close()
        self._idle.clear()


def _status(line: bytes) -> int:
    parts = line.split(b" ", 2)
    if len(parts) < 2 or parts[0] not in (b"HTTP/1.1", b"HTTP/1.0") or not parts[1].isdigit() or len(parts[1]) != 3:
        raise UpstreamError(f"bad status line {line[:80]!r}")
    return int(parts[1])


async def _read_chunked(reader: asyncio.StreamReader, limit: int) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while True:
        size_line = (await reader.readline()).split(b";")[0].strip()
        if not size_line or any(c not in b"0123456789abcdefABCDEF" for c in size_line):
            raise UpstreamError(f"bad chunk size {size_line[:20]!r}")
        size = int(size_line, 16)
        if size == 0:
            while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(chunks)
        total += size
        if total > limit:
            raise UpstreamError(f"chunked answer exceeds the {limit}-byte limit")
        chunks.append(await reader.readexactly(size))
        if await reader.readline() not in (b"\r\n", b"\n"):
            raise UpstreamError("chunk not followed by CRLF")
