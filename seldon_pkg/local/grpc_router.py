"""gRPC front end: ``seldon.protos.*`` and ``inference.GRPCInferenceService`` (OIP) calls.

Seldon-protocol calls are routed by the ``seldon``/``namespace`` metadata: what Ambassador and
Istio do for Seldon Core, and what ``SeldonClient`` sends over gRPC. OIP calls are routed by
the model name inside the request (the deployment name), or by that metadata when present;
``ServerLive``/``ServerReady`` are answered by the gateway itself, as REST's health routes are
(``dataplane.py``: ready only when every model is Available). Which deployment a call
means is ``resolution.resolve``'s rule, the REST front end's too (without ``namespace``
metadata a name is looked up in every namespace; one found in several is an error listing
them). Messages are forwarded as raw bytes (no decode/encode in the gateway); the model's own
status codes come back unchanged.
"""

from __future__ import annotations

from typing import NoReturn

import grpc

from seldon_pkg.limits import MAX_BODY_BYTES
from seldon_pkg.local.dataplane import server_live, server_ready
from seldon_pkg.local.gateway import Deployment, Gateway
from seldon_pkg.local.protowire import encode_bool_field, first_string_field
from seldon_pkg.local.resolution import RouteError, resolve
from seldon_pkg.values import Protocol

SERVICE_PREFIX = "/seldon.protos."
OIP_SERVICE = "/inference.GRPCInferenceService/"
OIP_MODEL_RPCS = {"ModelReady", "ModelMetadata", "ModelInfer"}
HOW_TO_CALL = {
    Protocol.SELDON: "call seldon.protos.Seldon/Predict with metadata seldon=<name>",
    Protocol.OIP: f"call {OIP_SERVICE.strip('/')}/ModelInfer",
}
ROUTE_ERROR_CODES = {
    "not_found": grpc.StatusCode.NOT_FOUND,
    "ambiguous": grpc.StatusCode.INVALID_ARGUMENT,
    "unavailable": grpc.StatusCode.UNAVAILABLE,
    "wrong_protocol": grpc.StatusCode.FAILED_PRECONDITION,
}
CHANNEL_OPTIONS = [
    ("grpc.max_send_message_length", MAX_BODY_BYTES),
    ("grpc.max_receive_message_length", MAX_BODY_BYTES),
]


class SeldonRouter(grpc.GenericRpcHandler):
    def __init__(self, gateway: Gateway) -> None:
        self._gateway = gateway
        self._channels: dict[int, grpc.aio.Channel] = {}

    def _channel(self, port: int) -> grpc.aio.Channel:
        if port not in self._channels:
            self._channels[port] = grpc.aio.insecure_channel(f"127.0.0.1:{port}", options=CHANNEL_OPTIONS)
        return self._channels[port]

    def service(self, details: grpc.HandlerCallDetails):
        method = details.method
        if method.startswith(SERVICE_PREFIX):
            return grpc.unary_unary_rpc_method_handler(self._seldon(method))
        if method.startswith(OIP_SERVICE):
            return grpc.unary_unary_rpc_method_handler(self._oip(method))
        return None

    def _seldon(self, method: str):
        async def forward(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
            metadata = {key: value for key, value in context.invocation_metadata()}
            name = metadata.get("seldon")
            if not name:
                await _abort(
                    context, grpc.StatusCode.INVALID_ARGUMENT, "missing 'seldon' metadata (the deployment name)"
                )
            deployment = await self._deployment(context, metadata.get("namespace"), name, Protocol.SELDON)
            return await self._call(context, deployment, method, request)

        return forward

    def _oip(self, method: str):
        """inference.GRPCInferenceService: the server calls answered here, model calls routed by
        the request's model name (field 1 of ModelReady/ModelMetadata/ModelInfer requests) and
        by the ``seldon``/``namespace`` metadata when present."""
        rpc = method.removeprefix(OIP_SERVICE)

        async def forward(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
            if rpc == "ServerLive":
                return encode_bool_field(1, server_live(self._gateway))  # {live: ...}
            if rpc == "ServerReady":
                return encode_bool_field(1, server_ready(self._gateway))  # {ready: ...}, as REST's 200/503
            if rpc not in OIP_MODEL_RPCS:
                await _abort(context, grpc.StatusCode.UNIMPLEMENTED, f"{rpc} is not served by the seldon-pkg gateway")
            metadata = {key: value for key, value in context.invocation_metadata()}
            name = metadata.get("seldon") or first_string_field(request)
            if not name:
                await _abort(context, grpc.StatusCode.INVALID_ARGUMENT, "the request names no model")
            deployment = await self._deployment(context, metadata.get("namespace") or None, name, Protocol.OIP)
            return await self._call(context, deployment, method, request)

        return forward

    async def _deployment(
        self, context: grpc.aio.ServicerContext, namespace: str | None, name: str, protocol: Protocol
    ) -> Deployment:
        """The deployment for a call of ``protocol`` (``resolution.resolve``); otherwise the call
        is aborted with why."""
        try:
            return resolve(self._gateway, name, protocol, namespace)
        except RouteError as failure:
            message = failure.message
            if failure.kind == "wrong_protocol" and failure.deployment is not None:
                message = f"{message}; {HOW_TO_CALL[failure.deployment.process.spec.protocol]}"
            await _abort(context, ROUTE_ERROR_CODES[failure.kind], message)

    async def _call(
        self, context: grpc.aio.ServicerContext, deployment: Deployment, method: str, request: bytes
    ) -> bytes:
        call = self._channel(deployment.process.ports.grpc).unary_unary(method)
        deployment.enter()
        try:
            return await call(request, timeout=context.time_remaining() or 300)
        except grpc.aio.AioRpcError as failure:
            await _abort(context, failure.code(), failure.details() or "")
        finally:
            deployment.leave()

    async def close(self) -> None:
        for channel in self._channels.values():
            await channel.close()


def make_server(gateway: Gateway, host: str, port: int) -> tuple[grpc.aio.Server, SeldonRouter]:
    router = SeldonRouter(gateway)
    server = grpc.aio.server(options=CHANNEL_OPTIONS)
    server.add_generic_rpc_handlers((router,))
    bound = server.add_insecure_port(f"{host}:{port}")
    if bound == 0:
        raise OSError(f"cannot bind gRPC port {host}:{port}")
    return server, router


async def _abort(context: grpc.aio.ServicerContext, code: grpc.StatusCode, message: str) -> NoReturn:
    """``context.abort`` always raises; saying so lets the type checker follow the control flow."""
    await context.abort(code, message)
    raise AssertionError("grpc.aio abort returned")
