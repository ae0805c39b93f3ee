"""One resolution rule for REST and gRPC (issue 21 item 5): the same unknown, ambiguous,
restarting and wrong-protocol requests get the same verdict over both transports.

In-process and real: the gateway's REST application (aiohttp's test server on loopback) and its
gRPC front end (a grpc.aio server on a free loopback port, called with a real channel), over a
gateway whose deployments are set up by hand (their processes are never started: resolution
decides before anything is forwarded). Two deployments share a name in two namespaces, which
the hashed names make impossible through ``deploy``: the rule must still hold.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys
from pathlib import Path

import grpc
import pytest
from aiohttp.test_utils import TestClient, TestServer

from seldon_pkg.local import rest
from seldon_pkg.local.environments import RuntimeEnvironment
from seldon_pkg.local.gateway import Deployment, Gateway
from seldon_pkg.local.grpc_router import OIP_SERVICE, make_server
from seldon_pkg.local.ostools import free_port
from seldon_pkg.local.process import ModelProcess, Ports, State
from seldon_pkg.local.registry import Record
from seldon_pkg.local.resolution import RouteError, resolve
from seldon_pkg.local.state import StateDir
from seldon_pkg.spec.model_spec import load_spec, spec_file
from seldon_pkg.values import Protocol

ROOT = Path(__file__).resolve().parents[1]
ECHO = ROOT / "tests" / "fixtures" / "echo_model"
SHARED = "twin-model-1234567890"
"""A deployment name present in two namespaces."""


def deployment(state: StateDir, name: str, namespace: str, protocol: Protocol, status: State) -> Deployment:
    spec = dataclasses.replace(load_spec(ECHO), namespace=namespace, protocol=protocol)
    record = dataclasses.replace(Record.from_spec(spec, spec_file(ECHO).read_text()), name=name, namespace=namespace)
    process = ModelProcess(
        name,
        spec,
        RuntimeEnvironment(python=Path(sys.executable), requirements=(), isolated=False),
        state.log_file(namespace, name),
        state.lib,
        ports=Ports(http=1, grpc=1, metrics=1),  # never reached: every request here is refused first
        state=status,
    )
    return Deployment(record, process)


@pytest.fixture
def gateway(tmp_path) -> Gateway:
    state = StateDir.open(tmp_path)
    gateway = Gateway(state, url_host="127.0.0.1", http_port=0, grpc_port=0)
    for item in (
        deployment(state, SHARED, "team-a", Protocol.OIP, State.AVAILABLE),
        deployment(state, SHARED, "team-b", Protocol.OIP, State.AVAILABLE),
        deployment(state, "seldon-model-1234567890", "default", Protocol.SELDON, State.AVAILABLE),
        deployment(state, "restarting-model-123456", "default", Protocol.OIP, State.RESTARTING),
    ):
        gateway.deployments[item.record.key] = item
    return gateway


def infer_request(model: str) -> bytes:
    """A ModelInferRequest naming ``model`` (field 1), nothing else: routing reads only that."""
    encoded = model.encode()
    return b"\x0a" + bytes([len(encoded)]) + encoded


CASES = [  # (name, namespace or None, protocol, resolution kind, REST status, gRPC code)
    ("nope-1234567890", None, Protocol.OIP, "not_found", 404, grpc.StatusCode.NOT_FOUND),
    ("nope-1234567890", "team-a", Protocol.SELDON, "not_found", 404, grpc.StatusCode.NOT_FOUND),
    (SHARED, None, Protocol.OIP, "ambiguous", 400, grpc.StatusCode.INVALID_ARGUMENT),
    ("restarting-model-123456", None, Protocol.OIP, "unavailable", 503, grpc.StatusCode.UNAVAILABLE),
    ("seldon-model-1234567890", None, Protocol.OIP, "wrong_protocol", 400, grpc.StatusCode.FAILED_PRECONDITION),
    ("seldon-model-1234567890", "default", Protocol.OIP, "wrong_protocol", 400, grpc.StatusCode.FAILED_PRECONDITION),
    (SHARED, "team-b", Protocol.SELDON, "wrong_protocol", 400, grpc.StatusCode.FAILED_PRECONDITION),
]


def rest_call(client: TestClient, name: str, namespace: str | None, protocol: Protocol):
    if namespace is None:  # only the OIP root has no namespace in its URL
        assert protocol is Protocol.OIP
        return client.post(f"/v2/models/{name}/infer", json={"inputs": []})
    if protocol is Protocol.OIP:
        return client.post(f"/seldon/{namespace}/{name}/v2/models/{name}/infer", json={"inputs": []})
    return client.post(f"/seldon/{namespace}/{name}/api/v1.0/predictions", json={"data": {"ndarray": [[1]]}})


async def grpc_call(port: int, name: str, namespace: str | None, protocol: Protocol) -> grpc.aio.AioRpcError:
    metadata = (("namespace", namespace),) if namespace else ()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        if protocol is Protocol.OIP:
            call = channel.unary_unary(f"{OIP_SERVICE}ModelInfer")
            request = infer_request(name)
        else:
            call = channel.unary_unary("/seldon.protos.Model/Predict")
            request, metadata = b"", (*metadata, ("seldon", name))
        with pytest.raises(grpc.aio.AioRpcError) as failure:
            await call(request, metadata=metadata, timeout=10)
        return failure.value


def test_both_transports_give_the_same_verdict(gateway):
    async def scenario() -> None:
        port = free_port()
        server, router = make_server(gateway, "127.0.0.1", port)
        await server.start()
        try:
            async with TestClient(TestServer(rest.make_app(gateway))) as client:
                for name, namespace, protocol, kind, status, code in CASES:
                    with pytest.raises(RouteError) as verdict:
                        resolve(gateway, name, protocol, namespace)
                    assert verdict.value.kind == kind, (name, namespace, protocol)
                    if namespace is not None or protocol is Protocol.OIP:
                        reply = await rest_call(client, name, namespace, protocol)
                        text = await reply.text()
                        assert reply.status == status, (name, namespace, protocol, text)
                        assert verdict.value.message.split(";")[0] in text  # the same words
                    refused = await grpc_call(port, name, namespace, protocol)
                    assert refused.code() == code, (name, namespace, protocol, refused.details())
                    assert verdict.value.message.split(";")[0] in (refused.details() or "")
        finally:
            await server.stop(None)
            await router.close()

    asyncio.run(scenario())


def test_an_ambiguous_name_lists_its_candidates_and_a_namespace_settles_it(gateway):
    with pytest.raises(RouteError) as ambiguous:
        resolve(gateway, SHARED, Protocol.OIP)
    assert ambiguous.value.details["candidates"] == [f"team-a/{SHARED}", f"team-b/{SHARED}"]
    assert resolve(gateway, SHARED, Protocol.OIP, "team-b").record.namespace == "team-b"


def test_unknown_names_are_answered_with_what_is_deployed(gateway):
    with pytest.raises(RouteError) as unknown:
        resolve(gateway, "nope", Protocol.SELDON, "default")
    assert "default/seldon-model-1234567890" in unknown.value.message
    assert f"team-a/{SHARED}" in unknown.value.details["deployments"]


def test_server_health_is_the_same_over_both_transports(gateway):
    """OIP's ServerLive/ServerReady over gRPC answer what /v2/health/live|ready answer over REST
    (local/dataplane.py): not ready while a model restarts, ready once every model is Available.
    gRPC's ServerReady used to answer ready whatever the models did."""

    async def health(client: TestClient, port: int) -> dict[str, tuple]:
        answers = {}
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            for rpc, path in (("ServerLive", "/v2/health/live"), ("ServerReady", "/v2/health/ready")):
                reply = await client.get(path)
                over_rest = (await reply.json())[rpc.removeprefix("Server").lower()]
                over_grpc = await channel.unary_unary(f"{OIP_SERVICE}{rpc}")(b"", timeout=10)
                answers[rpc] = (over_rest, reply.status, over_grpc == b"\x08\x01")  # {field 1: true}
        return answers

    async def scenario() -> None:
        port = free_port()
        server, router = make_server(gateway, "127.0.0.1", port)
        await server.start()
        try:
            async with TestClient(TestServer(rest.make_app(gateway))) as client:
                assert await health(client, port) == {
                    "ServerLive": (True, 200, True),
                    "ServerReady": (False, 503, False),  # restarting-model-123456 restarts
                }
                restarting = next(d for d in gateway.deployments.values() if d.process.state is State.RESTARTING)
                restarting.process.state = State.AVAILABLE
                assert await health(client, port) == {
                    "ServerLive": (True, 200, True),
                    "ServerReady": (True, 200, True),
                }
        finally:
            await server.stop(None)
            await router.close()

    asyncio.run(scenario())
