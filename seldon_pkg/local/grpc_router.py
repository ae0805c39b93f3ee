"""gRPC front end: ``seldon.protos.*`` calls routed by the ``seldon``/``namespace`` metadata.

This is what Ambassador and Istio do for Seldon Core, and what ``SeldonClient`` sends over
gRPC. Messages are forwarded as raw bytes (no decode/encode in the gateway); the model's own
status codes come back unchanged.
"""

from __future__ import annotations

from typing import NoReturn

import grpc

from seldon_pkg.local.gateway import Gateway
from seldon_pkg.local.process import State

SERVICE_PREFIX = "/seldon.protos."
MAX_MESSAGE = 64 * 1024 * 1024
CHANNEL_OPTIONS = [("grpc.max_send_message_length", MAX_MESSAGE), ("grpc.max_receive_message_length", MAX_MESSAGE)]


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
        if not method.startswith(SERVICE_PREFIX):
            return None

        async def forward(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
            metadata = {key: value for key, value in context.invocation_metadata()}
            name = metadata.get("seldon")
            namespace = metadata.get("namespace", "default")
            if not name:
                await _abort(
                    context, grpc.StatusCode.INVALID_ARGUMENT, "missing 'seldon' metadata (the deployment name)"
                )
            deployment = self._gateway.route(namespace, name)
            if deployment is None and self._gateway.registry.get(namespace, name) is not None:
                await _abort(context, grpc.StatusCode.UNAVAILABLE, f"{namespace}/{name} is being restored")
            if deployment is None:
                deployed = ", ".join(self._gateway.names()) or "none"
                await _abort(
                    context, grpc.StatusCode.NOT_FOUND, f"no deployment {namespace}/{name}; deployed: {deployed}"
                )
            process = deployment.process
            if process.state is not State.AVAILABLE:
                await _abort(
                    context, grpc.StatusCode.UNAVAILABLE, f"{namespace}/{name} is {process.state.value.lower()}"
                )
            call = self._channel(process.ports.grpc).unary_unary(method)
            deployment.enter()
            try:
                return await call(request, timeout=context.time_remaining() or 300)
            except grpc.aio.AioRpcError as failure:
                await _abort(context, failure.code(), failure.details() or "")
            finally:
                deployment.leave()

        return grpc.unary_unary_rpc_method_handler(forward)

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
