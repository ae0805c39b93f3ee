"""REST front end: ``/seldon/<namespace>/<name>/<path>`` proxied to that model's process.

The same URL scheme as Seldon Core behind Ambassador or Istio, so clients (including
``SeldonClient(gateway="ambassador")``) need no change between laptop and cluster. Replies are
passed through untouched (a model's 400 stays a 400); the gateway itself only answers 404 for
an unknown deployment (listing the known ones), 503 while a model restarts and 502 when a model
drops a connection.
"""

from __future__ import annotations

from aiohttp import web

from seldon_pkg.local.gateway import Gateway
from seldon_pkg.local.process import State
from seldon_pkg.local.upstream import UpstreamError, UpstreamPool

MAX_BODY = 64 * 1024 * 1024
HOP_HEADERS = {"content-type", "accept", "seldon-puid"}


def error(status: int, message: str, **extra) -> web.Response:
    body = {"status": {"status": 1, "code": -1, "info": message, "reason": "GATEWAY_ERROR"}, **extra}
    return web.json_response(body, status=status)


def make_app(gateway: Gateway) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY)
    upstream = UpstreamPool()

    async def on_cleanup(_: web.Application) -> None:
        upstream.close()

    async def proxy(request: web.Request) -> web.StreamResponse:
        namespace, name = request.match_info["namespace"], request.match_info["name"]
        deployment = gateway.route(namespace, name)
        if deployment is None:
            if gateway.registry.get(namespace, name) is not None:  # registered, its process not started yet
                return error(503, f"{namespace}/{name} is being restored")
            return error(404, f"no deployment {namespace}/{name}", deployments=gateway.names())
        process = deployment.process
        if process.state is not State.AVAILABLE:
            return error(503, f"{namespace}/{name} is {process.state.value.lower()}: {process.last_error[:500]}")
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() in HOP_HEADERS}
        path = "/" + request.match_info["tail"] + (f"?{request.query_string}" if request.query_string else "")
        deployment.enter()
        try:
            reply = await upstream.request(process.ports.http, request.method, path, body, headers)
            return web.Response(body=reply.body, status=reply.status, headers={"Content-Type": reply.content_type})
        except (TimeoutError, UpstreamError, OSError) as failure:
            state = process.state
            if state is not State.AVAILABLE:
                return error(503, f"{namespace}/{name} is {state.value.lower()}")
            return error(502, f"{namespace}/{name} did not answer: {type(failure).__name__}")
        finally:
            deployment.leave()

    async def index(_: web.Request) -> web.Response:
        return web.json_response({"deployments": [gateway.describe(d) for d in gateway.deployments.values()]})

    async def health(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "deployments": len(gateway.deployments)})

    app.router.add_route("*", "/seldon/{namespace}/{name}/{tail:.*}", proxy)
    app.router.add_get("/", index)
    app.router.add_get("/health", health)
    app.on_cleanup.append(on_cleanup)
    return app
