"""A model whose free ports were taken before it bound them is started again on new ones."""

from __future__ import annotations

import asyncio
import socket

import pytest

from seldon_pkg.local.gateway import Gateway
from seldon_pkg.local.process import Ports
from seldon_pkg.local.state import StateDir
from tests.support.microservice import ROOT

pytestmark = pytest.mark.slow


def test_port_taken_between_choice_and_bind_is_retried(tmp_path):
    squatter = socket.socket()
    squatter.bind(("127.0.0.1", 0))
    squatter.listen()
    taken = squatter.getsockname()[1]

    async def scenario() -> tuple[list[int], int, str]:
        gateway = Gateway(
            StateDir.open(tmp_path / "state"), url_host="127.0.0.1", http_port=1, grpc_port=1, ready_timeout=90
        )
        await gateway.startup()
        original = gateway._new_process
        chosen: list[int] = []

        async def first_on_a_taken_port(name, spec, progress):
            process = await original(name, spec, progress)
            if not chosen:
                process.ports = Ports(taken, process.ports.grpc, process.ports.metrics)
            chosen.append(process.ports.http)
            return process

        gateway._new_process = first_on_a_taken_port
        try:
            answer = await gateway.deploy(ROOT / "tests" / "fixtures" / "echo_model")
            described = answer["deployment"]
            return chosen, described["ports"]["http"], described["state"]
        finally:
            await gateway.shutdown()

    try:
        chosen, serving_port, state = asyncio.run(scenario())
    finally:
        squatter.close()
    assert chosen[0] == taken and len(chosen) == 2
    assert serving_port == chosen[1] != taken
    assert state == "Available"


def test_every_servers_port_taken_message_is_recognised():
    """gunicorn, gRPC and uvicorn (MLServer) say it differently; missing one meant no retry
    (found by CI: an OIP model restored onto a port taken meanwhile stayed Failed)."""
    from seldon_pkg.local.process import PORT_TAKEN

    for line in (
        "[ERROR] Connection in use: ('127.0.0.1', 9000)",
        "OSError: [Errno 98] Address already in use",
        "ERROR:    [Errno 98] error while attempting to bind on address ('127.0.0.1', 37581): address already in use",
    ):
        assert PORT_TAKEN.search(line), line
    assert not PORT_TAKEN.search("ValueError: weights file 'w.npz' not found")
