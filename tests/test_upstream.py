"""The gateway's upstream HTTP client against a scripted HTTP server on loopback.

Each test's server answers with exact bytes (valid, chunked, closing, truncated, oversized,
malformed), so every branch of the client is exercised over a real TCP connection. The last
tests put the gateway's REST front end (in this process, on loopback) before such a server in
place of a model process, to see what an application receives.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from seldon_pkg.local import rest
from seldon_pkg.local.environments import RuntimeEnvironment
from seldon_pkg.local.gateway import Deployment, Gateway
from seldon_pkg.local.process import ModelProcess, Ports, State
from seldon_pkg.local.registry import Record
from seldon_pkg.local.state import StateDir
from seldon_pkg.local.upstream import UpstreamError, UpstreamPool
from seldon_pkg.spec.model_spec import load_spec, spec_file
from tests.support.microservice import ROOT

OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
PAUSE = 0.05
"""Between the parts of an answer written in several writes: long enough that the client has
read (and, before the fix, returned) the first part before the second arrives."""


class ScriptedServer:
    """Answers the n-th request on any connection with ``answers[n]``; ``None`` closes without a word.

    An answer given as a tuple of byte strings is written in those parts, each sent (drained)
    before the next, with a pause between them: an answer that arrives in several TCP segments.
    The connection is closed after every answer (``close_after_each``) or after the answers whose
    index is in ``close_after`` (a server dying in the middle of an answer)."""

    def __init__(self, answers, close_after_each: bool = False, close_after: frozenset[int] = frozenset()) -> None:
        self.answers = list(answers)
        self.requests = 0
        self.connections = 0
        self.close_after_each = close_after_each
        self.close_after = close_after

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(
                    next(
                        line.split(b":")[1]
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length")
                    )
                )
                await reader.readexactly(length)
                answer = self.answers[min(self.requests, len(self.answers) - 1)]
                self.requests += 1
                if answer is None:
                    break
                for number, part in enumerate(answer if isinstance(answer, tuple) else (answer,)):
                    if number:
                        await asyncio.sleep(PAUSE)
                    writer.write(part)
                    await writer.drain()
                if self.close_after_each or self.requests - 1 in self.close_after:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()

    async def __aenter__(self) -> int:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]

    async def __aexit__(self, *_) -> None:
        self.server.close()
        await self.server.wait_closed()


def run(coroutine):
    return asyncio.run(coroutine)


def test_content_length_answer_and_keep_alive_reuse():
    async def scenario():
        server = ScriptedServer([OK])
        async with server as port:
            pool = UpstreamPool()
            for _ in range(3):
                reply = await pool.request(port, "POST", "/predict", b'{"a":1}', {"Content-Type": "application/json"})
                assert (reply.status, reply.body, reply.content_type) == (200, b"{}", "application/json")
            pool.close()
        assert server.connections == 1 and server.requests == 3

    run(scenario())


def test_chunked_answer_with_trailers():
    answer = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n"
        b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n"
    )

    async def scenario():
        async with ScriptedServer([answer]) as port:
            pool = UpstreamPool()
            reply = await pool.request(port, "GET", "/", b"", {})
            assert reply.body == b"hello world" and reply.content_type == "text/plain"
            again = await pool.request(port, "GET", "/", b"", {})
            assert again.body == b"hello world"
            pool.close()

    run(scenario())


def test_connection_close_is_honoured():
    answer = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}"

    async def scenario():
        server = ScriptedServer([answer], close_after_each=True)
        async with server as port:
            pool = UpstreamPool()
            for _ in range(2):
                assert (await pool.request(port, "GET", "/", b"", {})).status == 200
            pool.close()
        assert server.connections == 2  # never reused after Connection: close

    run(scenario())


def test_a_stale_pooled_connection_is_retried_once_on_a_new_one():
    async def scenario():
        server = ScriptedServer([OK, None, OK])  # the 2nd request finds the server closing the idle connection
        async with server as port:
            pool = UpstreamPool()
            assert (await pool.request(port, "POST", "/", b"{}", {})).status == 200
            assert (await pool.request(port, "POST", "/", b"{}", {})).status == 200
            pool.close()
        assert server.connections == 2 and server.requests == 3

    run(scenario())


def test_a_request_is_never_sent_twice_once_an_answer_began():
    truncated = b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"partial'

    async def scenario():
        server = ScriptedServer([OK, truncated], close_after=frozenset({1}))  # dies mid-answer
        async with server as port:
            pool = UpstreamPool()
            await pool.request(port, "POST", "/", b"{}", {}, timeout=5)
            with pytest.raises(UpstreamError, match="IncompleteRead"):
                await pool.request(port, "POST", "/", b"{}", {}, timeout=5)  # on the reused connection
            pool.close()
        assert server.requests == 2  # the model ran it once, not again

    run(scenario())


@pytest.mark.parametrize(
    "answer, message",
    [
        (b"garbage\r\n\r\n", "bad status line"),
        (b"HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n", "bad status line"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: ten\r\n\r\n", "Content-Length"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}", "repeated Content-Length"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n0\r\n\r\n", "both"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", "Transfer-Encoding"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "bad chunk size"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXX", "CRLF"),
        (b"HTTP/1.1 200 OK\r\nNoColonHere\r\n\r\n", "malformed header"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 5", "inside its headers"),
        (b"HTTP/1.1 200 OK\r\n" + b"X: " + b"a" * 70000 + b"\r\n\r\n", "ValueError"),
        (b"HTTP/1.1 100 Continue\r\n\r\n" * 20, "interim"),
        (b"HTTP/1.1 099 Odd\r\nContent-Length: 0\r\n\r\n", "bad status line"),  # not an interim answer
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n", "inside its trailers"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n" + b"T: 1\r\n" * 200 + b"\r\n", "trailer lines"),
    ],
)
def test_malformed_answers_are_upstream_errors(answer, message):
    async def scenario():
        async with ScriptedServer([answer], close_after_each=True) as port:
            with pytest.raises(UpstreamError, match=message):
                await UpstreamPool().request(port, "GET", "/", b"", {})

    run(scenario())


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 2000\r\n\r\n" + b"x" * 2000,
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        + b"400\r\n"
        + b"x" * 1024
        + b"\r\n"
        + b"400\r\n"
        + b"x" * 1024
        + b"\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\n\r\n" + b"x" * 2000,  # no length: read to close, still bounded
    ],
)
def test_answers_are_bounded(answer):
    async def scenario():
        async with ScriptedServer([answer], close_after_each=True) as port:
            with pytest.raises(UpstreamError, match="limit"):
                await UpstreamPool(max_body=1500).request(port, "GET", "/", b"", {})

    run(scenario())


# ---- answers are whole or they are errors (RFC 9112 section 6.3) ------------------------------


def test_an_answer_without_length_is_read_until_close_and_delivered_whole():
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n"

    async def scenario():
        server = ScriptedServer([(head + b"a" * 1000, b"b" * 1000)], close_after_each=True)
        async with server as port:
            reply = await UpstreamPool().request(port, "GET", "/", b"", {}, timeout=5)
        assert (reply.status, reply.content_type) == (200, "text/plain")
        assert reply.body == b"a" * 1000 + b"b" * 1000  # both writes, not what happened to be buffered

    run(scenario())


def test_a_content_length_answer_cut_short_by_a_close_is_an_error():
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 2000\r\n\r\n"

    async def scenario():
        async with ScriptedServer([(head + b"x" * 1000, b"x" * 500)], close_after_each=True) as port:
            with pytest.raises(UpstreamError, match="IncompleteRead"):
                await UpstreamPool().request(port, "GET", "/", b"", {}, timeout=5)

    run(scenario())


def test_an_answer_read_until_close_is_still_bounded_when_it_comes_in_parts():
    head = b"HTTP/1.1 200 OK\r\n\r\n"

    async def scenario():
        async with ScriptedServer([(head + b"x" * 1000, b"x" * 1000)], close_after_each=True) as port:
            with pytest.raises(UpstreamError, match="limit"):
                await UpstreamPool(max_body=1500).request(port, "GET", "/", b"", {}, timeout=5)

    run(scenario())


@pytest.mark.parametrize(
    "interim",
    [b"HTTP/1.1 100 Continue\r\n\r\n", b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"],
    ids=["100-continue", "103-early-hints"],
)
def test_interim_answers_are_skipped_and_the_final_one_returned(interim):
    async def scenario():
        server = ScriptedServer([(interim, OK)])  # the interim answer arrives alone, then the real one
        async with server as port:
            pool = UpstreamPool()
            reply = await pool.request(port, "POST", "/", b"{}", {}, timeout=5)
            assert (reply.status, reply.body) == (200, b"{}")
            again = await pool.request(port, "POST", "/", b"{}", {}, timeout=5)
            assert (again.status, again.body) == (200, b"{}")
            pool.close()
        assert server.connections == 1  # nothing of the interim answer was left to confuse the next one

    run(scenario())


def test_switching_protocols_is_an_error():
    async def scenario():
        answer = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
        async with ScriptedServer([answer]) as port:
            with pytest.raises(UpstreamError, match="101"):
                await UpstreamPool().request(port, "GET", "/", b"", {}, timeout=5)

    run(scenario())


@pytest.mark.parametrize("status", [b"204 No Content", b"304 Not Modified"])
def test_no_content_answers_have_no_body_whatever_their_headers_say(status):
    answer = b"HTTP/1.1 " + status + b"\r\nContent-Length: 10\r\nContent-Type: text/plain\r\n\r\n"

    async def scenario():
        server = ScriptedServer([answer, OK])
        async with server as port:
            pool = UpstreamPool()
            first = await pool.request(port, "GET", "/", b"", {}, timeout=2)
            assert (first.status, first.body) == (int(status[:3]), b"")
            second = await pool.request(port, "GET", "/", b"", {}, timeout=2)
            assert (second.status, second.body) == (200, b"{}")
            pool.close()
        assert server.connections == 1  # kept, and the next answer read from its first byte

    run(scenario())


def test_an_answer_to_head_has_no_body_and_the_connection_is_reused():
    head_answer = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 10\r\n\r\n"

    async def scenario():
        server = ScriptedServer([head_answer, OK])
        async with server as port:
            pool = UpstreamPool()
            first = await pool.request(port, "HEAD", "/", b"", {}, timeout=2)
            assert (first.status, first.body) == (200, b"")
            second = await pool.request(port, "GET", "/", b"", {}, timeout=2)
            assert (second.status, second.body) == (200, b"{}")
            pool.close()
        assert server.connections == 1

    run(scenario())


@pytest.mark.parametrize(
    "connection, connections", [(b"", 2), (b"Connection: keep-alive\r\n", 1)], ids=["plain", "keep-alive"]
)
def test_an_http_1_0_answer_is_pooled_only_when_it_asks_to_be_kept(connection, connections):
    answer = b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n" + connection + b"\r\n{}"

    async def scenario():
        server = ScriptedServer([answer])  # the server leaves the connection open either way
        async with server as port:
            pool = UpstreamPool()
            for _ in range(2):
                assert (await pool.request(port, "GET", "/", b"", {}, timeout=5)).body == b"{}"
            pool.close()
        assert server.connections == connections

    run(scenario())


# ---- what an application receives through the gateway --------------------------------------

ECHO = ROOT / "tests" / "fixtures" / "echo_model"


def gateway_before(port: int, state: StateDir) -> tuple[Gateway, Record]:
    """A gateway whose one deployment (the echo model's identity) is served on ``port``: the
    scripted server stands in for the model process, which is never started."""
    spec = load_spec(ECHO)
    record = Record.from_spec(spec, spec_file(ECHO).read_text())
    gateway = Gateway(state, url_host="127.0.0.1", http_port=0, grpc_port=0)
    process = ModelProcess(
        record.name,
        spec,
        RuntimeEnvironment(python=Path(sys.executable), requirements=(), isolated=False),
        state.log_file(record.namespace, record.name),
        state.lib,
        ports=Ports(http=port, grpc=0, metrics=0),
        state=State.AVAILABLE,
    )
    gateway.deployments[record.key] = Deployment(record, process)
    return gateway, record


async def predict_through_gateway(answer, state: StateDir):
    """(status, JSON or bytes) an application gets for one prediction the model answers with ``answer``."""
    async with ScriptedServer([answer], close_after_each=True) as port:
        gateway, record = gateway_before(port, state)
        async with TestClient(TestServer(rest.make_app(gateway))) as client:
            url = f"/seldon/{record.namespace}/{record.name}/api/v1.0/predictions"
            reply = await client.post(url, json={"data": {"ndarray": [[1.0]]}})
            body = await reply.json() if reply.content_type == "application/json" else await reply.read()
            return reply.status, body


def test_a_truncated_answer_reaches_the_application_as_a_502_json_error_and_is_logged(tmp_path, caplog):
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2000\r\n\r\n"
    caplog.set_level(logging.WARNING, logger="seldon_pkg.gateway")
    status, body = run(predict_through_gateway((head + b"x" * 1000, b"x" * 500), StateDir.open(tmp_path)))
    assert status == 502, body
    assert body["status"]["reason"] == "GATEWAY_ERROR" and "did not answer" in body["status"]["info"]
    assert "IncompleteRead" in body["status"]["info"]
    logged = [r.getMessage() for r in caplog.records if r.name.startswith("seldon_pkg.gateway")]
    assert any("Echo Model (tests)" in line and "IncompleteRead" in line for line in logged), logged


def test_an_answer_in_two_writes_reaches_the_application_whole(tmp_path):
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n"  # no length: ends at the close
    status, body = run(predict_through_gateway((head + b"a" * 1000, b"b" * 1000), StateDir.open(tmp_path)))
    assert (status, body) == (200, b"a" * 1000 + b"b" * 1000)
