"""A small keep-alive HTTP/1.1 client for the gateway's hop to a model process.

The hop is always the same: loopback, a gunicorn server that answers with ``Content-Length``,
small JSON bodies. A general client (aiohttp's) spends more time on that hop than the model
does; this one writes the request bytes and reads status, headers and body from a pool of
open connections per model port, and nothing else.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass


class UpstreamError(Exception):
    """The model process closed the connection or sent something that is not HTTP/1.1."""


@dataclass
class Reply:
    status: int
    content_type: str
    body: bytes


class UpstreamPool:
    def __init__(self, max_idle_per_port: int = 32) -> None:
        self._idle: dict[int, list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]] = {}
        self._max_idle = max_idle_per_port

    async def request(self, port: int, method: str, path: str, body: bytes, headers: dict[str, str],
                      timeout: float = 300.0) -> Reply:
        """Send one request; a pooled connection that turns out closed is retried once on a new one."""
        for attempt in (0, 1):
            reader, writer, reused = await self._connection(port, fresh=attempt == 1)
            try:
                reply, keep = await asyncio.wait_for(self._exchange(reader, writer, method, path, body, headers), timeout)
            except (ConnectionError, asyncio.IncompleteReadError, UpstreamError) as error:
                writer.close()
                if reused and attempt == 0:
                    continue  # the server closed an idle connection: not the request's fault
                raise UpstreamError(str(error) or type(error).__name__) from None
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
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return reader, writer, False

    def _release(self, port: int, reader, writer) -> None:
        idle = self._idle.setdefault(port, [])
        if len(idle) < self._max_idle:
            idle.append((reader, writer))
        else:
            writer.close()

    @staticmethod
    async def _exchange(reader, writer, method, path, body, headers) -> tuple[Reply, bool]:
        head = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}"]
        head += [f"{key}: {value}" for key, value in headers.items()]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
        await writer.drain()
        status_line = await reader.readline()
        parts = status_line.split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
            raise UpstreamError(f"bad status line {status_line[:80]!r}")
        status = int(parts[1])
        length, content_type, keep, chunked = None, "application/json", True, False
        while True:
            line = await reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            name, value = name.strip().lower(), value.strip()
            if name == "content-length":
                length = int(value)
            elif name == "content-type":
                content_type = value
            elif name == "connection" and value.lower() == "close":
                keep = False
            elif name == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
        if chunked:
            payload = await _read_chunked(reader)
        elif length is not None:
            payload = await reader.readexactly(length)
        else:
            payload, keep = await reader.read(), False
        return Reply(status, content_type, payload), keep

    def close(self) -> None:
        for connections in self._idle.values():
            for _, writer in connections:
                writer.close()
        self._idle.clear()


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    chunks = []
    while True:
        size = int((await reader.readline()).split(b";")[0].strip() or b"0", 16)
        if size == 0:
            await reader.readline()
            return b"".join(chunks)
        chunks.append(await reader.readexactly(size))
        await reader.readline()
