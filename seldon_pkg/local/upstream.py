"""A small keep-alive HTTP/1.1 client for the gateway's hop to a model process.

The hop is always the same: loopback, a model server that answers small JSON bodies. A general
client (aiohttp's) spent more time on that hop than the model did; this one writes the request
bytes and reads the answer (http11.py: whole by RFC 9112's rules, or an ``UpstreamError``,
which the REST front end turns into a 502 JSON error) over a pool of open connections per
model port, and nothing else.

Retry rule: a request is sent again (once, on a new connection) only when it went out on a
pooled connection and *nothing* came back: the server had closed that idle connection. Once
a byte of an answer arrived the request is never repeated, so a model never runs twice.
"""

from __future__ import annotations

import asyncio

from seldon_pkg.limits import MAX_BODY_BYTES
from seldon_pkg.local.http11 import NothingReceived, Reply, UpstreamError, exchange, request_bytes

MAX_BODY = MAX_BODY_BYTES
MAX_HEADER_BYTES = 64 * 1024
"""The longest status or header line (the stream reader's limit)."""

__all__ = ["MAX_BODY", "MAX_HEADER_BYTES", "Reply", "UpstreamError", "UpstreamPool"]


class UpstreamPool:
    def __init__(self, max_idle_per_port: int = 32, max_body: int = MAX_BODY) -> None:
        self._idle: dict[int, list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]] = {}
        self._max_idle = max_idle_per_port
        self._max_body = max_body

    async def request(
        self, port: int, method: str, path: str, body: bytes, headers: dict[str, str], timeout: float = 300.0
    ) -> Reply:
        """Send one request and read its answer (see the module's retry rule)."""
        request = request_bytes(method, path, body, headers)
        for attempt in (0, 1):
            reader, writer, reused = await self._connection(port, fresh=attempt == 1)
            try:
                reply, keep = await asyncio.wait_for(exchange(reader, writer, request, method, self._max_body), timeout)
            except NothingReceived as error:
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

    def close(self) -> None:
        for connections in self._idle.values():
            for _, writer in connections:
                writer.close()
        self._idle.clear()
