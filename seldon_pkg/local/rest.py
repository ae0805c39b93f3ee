"""REST front end: Seldon's and the Open Inference Protocol's URLs, proxied to model processes.

Three URL schemes, as on a cluster:

* ``/seldon/<namespace>/<name>/<path>``: what Ambassador or Istio route to a SeldonDeployment.
  For a Seldon-protocol model ``<path>`` is any Seldon path (``api/v1.0/predictions``...), so
  ``SeldonClient(gateway="ambassador")`` works unchanged. For an OIP model (``protocol: v2``)
  ``<path>`` is what Seldon Core 1.17's executor serves for ``protocol: v2``:
  ``v2/models/<model>/infer`` (the executor sends it to the graph whatever ``<model>`` says,
  and so do we), ``v2/models/infer`` (its non-standard extension), ``v2/models/<model>/ready``,
  ``v2/models/<model>`` (metadata) and ``v2/health/*``.
* ``/model/<namespace>/<model name>/<path>``: an alias that follows the newest Available
  version of a model (the URL-encoded model name of the spec), for clients that should not
  track the hashed deployment name; the hashed URLs stay.
* the standard OIP root, with the **deployment name as the model name**: ``/v2/health/live``,
  ``/v2/health/ready``, ``/v2``, ``/v2/models/<name>[/versions/<v>][/ready|/infer]`` and
  ``POST /v2/repository/index``, so an unmodified OIP client (``tritonclient``, KServe's) works
  against ``127.0.0.1:8003``. The binary tensor data extension is translated here
  (oip_binary.py).

Which deployment a request means is decided by ``resolution.resolve``, the rule the gRPC front
end uses too; its errors map to 404 (naming the deployed), 400 (ambiguous name, or the other
protocol than the model's, named), 503 (restarting, being restored). Replies are passed
through untouched (a model's 400 stays a 400); 502 when a model drops a connection or answers
something that is not whole HTTP.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

from aiohttp import web

from seldon_pkg import __version__
from seldon_pkg.limits import MAX_BODY_BYTES
from seldon_pkg.local import oip_binary
from seldon_pkg.local.dataplane import server_live, server_ready
from seldon_pkg.local.gateway import Deployment, Gateway
from seldon_pkg.local.process import State
from seldon_pkg.local.resolution import RouteError, resolve
from seldon_pkg.local.upstream import UpstreamError, UpstreamPool
from seldon_pkg.values import Protocol

logger = logging.getLogger("seldon_pkg.gateway")
HOP_HEADERS = {"content-type", "accept", "seldon-puid"}
ROUTE_ERROR_STATUS = {"not_found": 404, "ambiguous": 400, "unavailable": 503, "wrong_protocol": 400}
ErrorReply = Callable[..., web.Response]


def error(status: int, message: str, **extra) -> web.Response:
    """An error in the Seldon protocol's shape."""
    body = {"status": {"status": 1, "code": -1, "info": message, "reason": "GATEWAY_ERROR"}, **extra}
    return web.json_response(body, status=status)


def oip_error(status: int, message: str, **extra) -> web.Response:
    """An error in the Open Inference Protocol's shape (``{"error": ...}``, as MLServer answers)."""
    return web.json_response({"error": message, **extra}, status=status)


def speaks_oip(tail: str) -> bool:
    """Whether a ``/seldon/...`` or ``/model/...`` tail is an OIP path (``v2/...``)."""
    return tail.split("/", 1)[0] == Protocol.OIP


def executor_path(tail: str, name: str) -> str | None:
    """The model process's path for ``/seldon/<ns>/<name>/<tail>`` of an OIP model, or ``None``.

    The model inside the process is named after the deployment; the executor (and we) send an
    infer request to the deployment's graph whatever model name the path carries."""
    parts = tail.split("/")
    if parts[0] != Protocol.OIP.value:
        return None
    if parts[1:2] != ["models"]:
        return "/" + tail  # /v2/health/live|ready, /v2
    if parts[2:] == ["infer"]:
        return f"/v2/models/{name}/infer"
    if len(parts) < 3:
        return None
    rest = "/".join(parts[3:])
    return f"/v2/models/{name}" + (f"/{rest}" if rest else "")


def how_to_call(deployment: Deployment) -> str:
    """Where a request in the model's own protocol goes (the hint of a wrong-protocol error)."""
    return f"use {deployment.prediction_path}"


ERROR_SHAPES: dict[Protocol, ErrorReply] = {Protocol.SELDON: error, Protocol.OIP: oip_error}


def route_error(failure: RouteError, asked: Protocol, deployment_url: bool = True) -> web.Response:
    """A resolution error as an answer in the shape of the protocol asked for. On a
    deployment's own URL (``/seldon/...``, ``/model/...``) a wrong-protocol error is the
    model's own protocol's answer, as the model itself would give it; the OIP root always
    answers in OIP's shape."""
    message, shape = failure.message, ERROR_SHAPES[asked]
    if failure.kind == "wrong_protocol" and failure.deployment is not None:
        message = f"{message}; {how_to_call(failure.deployment)}"
        if deployment_url:
            shape = ERROR_SHAPES[failure.deployment.process.spec.protocol]
    return shape(ROUTE_ERROR_STATUS[failure.kind], message, **failure.details)


class RestEndpoints:
    """The gateway's REST routes: each handler resolves, then forwards (one pool of upstream
    connections for every model process)."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.upstream = UpstreamPool(max_body=MAX_BODY_BYTES)

    # -- the routes ---------------------------------------------------------------------------
    async def seldon_route(self, request: web.Request) -> web.StreamResponse:
        """``/seldon/<namespace>/<name>/<tail>``, in the deployment's own protocol."""
        namespace, name, tail = request.match_info["namespace"], request.match_info["name"], request.match_info["tail"]
        protocol = Protocol.OIP if speaks_oip(tail) else Protocol.SELDON
        try:
            found = resolve(self.gateway, name, protocol, namespace)
        except RouteError as failure:
            return route_error(failure, protocol)
        return await self._serve(request, found, tail)

    async def alias_route(self, request: web.Request) -> web.StreamResponse:
        """``/model/<namespace>/<model name>/<path>``: the newest Available version of that model,
        so clients need not follow the hashed deployment name from version to version."""
        namespace, model, tail = (
            request.match_info["namespace"],
            request.match_info["model"],
            request.match_info["tail"],
        )
        deployments = self.gateway.deployments.items()
        ready = [
            d
            for (ns, _), d in deployments
            if ns == namespace and d.record.model == model and d.process.state is State.AVAILABLE
        ]
        if not ready:
            known = sorted({d.record.model for (ns, _), d in deployments if ns == namespace})
            reply = oip_error if speaks_oip(tail) else error
            return reply(404, f"no Available version of model {model!r} in {namespace}", models=known)
        newest = max(ready, key=lambda d: d.record.created_at)
        protocol = Protocol.OIP if speaks_oip(tail) else Protocol.SELDON
        if newest.process.spec.protocol != protocol:
            try:  # the resolution rule words it, as for the deployment's own URL
                resolve(self.gateway, newest.record.name, protocol, namespace)
            except RouteError as failure:
                return route_error(failure, protocol)
        return await self._serve(request, newest, tail)

    async def oip_model(self, request: web.Request) -> web.StreamResponse:
        """``/v2/models/<name>...``: the deployment of that name, in whichever namespace it is."""
        name = request.match_info["model"]
        try:
            deployment = resolve(self.gateway, name, Protocol.OIP)
        except RouteError as failure:
            return route_error(failure, Protocol.OIP, deployment_url=False)
        return await self._forward_oip(request, deployment, f"/v2/models/{name}{request.match_info['rest']}")

    async def oip_live(self, _: web.Request) -> web.Response:
        live = server_live(self.gateway)
        return web.json_response({"live": live}, status=200 if live else 503)

    async def oip_ready(self, _: web.Request) -> web.Response:
        ready = server_ready(self.gateway)  # the gRPC ServerReady's answer too (dataplane.py)
        return web.json_response({"ready": ready}, status=200 if ready else 503)

    async def oip_server_metadata(self, _: web.Request) -> web.Response:
        return web.json_response(
            {"name": "seldon-pkg-gateway", "version": __version__, "extensions": ["binary_tensor_data"]}
        )

    async def oip_repository_index(self, _: web.Request) -> web.Response:
        return web.json_response(
            [
                {
                    "name": name,
                    "version": d.record.version,
                    "state": "READY" if d.process.state is State.AVAILABLE else "UNAVAILABLE",
                    "reason": "" if d.process.state is State.AVAILABLE else d.process.state.value,
                    "protocol": d.process.spec.protocol,
                    "namespace": ns,
                }
                for (ns, name), d in sorted(self.gateway.deployments.items())
            ]
        )

    async def index(self, _: web.Request) -> web.Response:
        return web.json_response({"deployments": [self.gateway.describe(d) for d in self.gateway.deployments.values()]})

    async def health(self, _: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "deployments": len(self.gateway.deployments)})

    # -- forwarding ---------------------------------------------------------------------------
    async def _serve(self, request: web.Request, found: Deployment, tail: str) -> web.StreamResponse:
        """``tail`` of a Seldon URL, for a deployment already known to speak its protocol."""
        if found.process.spec.protocol is Protocol.OIP:
            path = executor_path(tail, found.record.name)
            if path is None:
                return oip_error(
                    400,
                    f"{found.record.namespace}/{found.record.name}: {tail!r} is not an OIP path; {how_to_call(found)}",
                )
            return await self._forward_oip(request, found, path)
        response, *_ = await self._forward(request, found, "/" + tail)
        return response

    async def _forward(
        self,
        request: web.Request,
        deployment: Deployment,
        path: str,
        body: bytes | None = None,
        fail: ErrorReply = error,
        json_body: bool = False,
    ) -> tuple[web.Response, int, bytes, str]:
        """Send the request to the model process; (response, status, body, content type)."""
        process = deployment.process
        name = f"{deployment.record.namespace}/{deployment.record.name}"
        if process.state is not State.AVAILABLE:  # it went down since it was resolved
            return fail(503, f"{name} is {process.state.value.lower()}: {process.last_error[:500]}"), 503, b"", ""
        if body is None:
            body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() in HOP_HEADERS}
        if json_body:  # OIP bodies are JSON; current FastAPI refuses them unless declared so
            headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
            headers["Content-Type"] = "application/json"
        if request.query_string:
            path += f"?{request.query_string}"
        deployment.enter()
        try:
            answer = await self.upstream.request(process.ports.http, request.method, path, body, headers)
        except (TimeoutError, UpstreamError, OSError) as failure:
            if process.state is not State.AVAILABLE:
                return fail(503, f"{name} is {process.state.value.lower()}"), 503, b"", ""
            problem = f"{name} did not answer: {type(failure).__name__}: {failure}"
            # the client sees only a 502: the gateway's log is where an operator finds which model
            logger.warning("model %r (%s %s): %s", deployment.record.model, request.method, path, problem)
            return fail(502, problem), 502, b"", ""
        finally:
            deployment.leave()
        response = web.Response(body=answer.body, status=answer.status, headers={"Content-Type": answer.content_type})
        return response, answer.status, answer.body, answer.content_type

    async def _forward_oip(self, request: web.Request, deployment: Deployment, path: str) -> web.Response:
        """OIP: translate the binary tensor extension on the way in and, if asked, on the way out."""
        body = await request.read()
        binary_outputs: set[str] | bool = False
        try:
            length = oip_binary.header_length(request.headers)
            if length is not None and request.method == "POST":
                converted = oip_binary.request_to_json(body, length)
                binary_outputs = oip_binary.wants_binary_outputs(converted)
                body = json.dumps(converted).encode()
        except oip_binary.BinaryFormatError as problem:
            return oip_error(400, f"binary tensor data: {problem}")
        response, status, answer, content_type = await self._forward(
            request, deployment, path, body, fail=oip_error, json_body=request.method == "POST"
        )
        if binary_outputs and status == 200 and content_type.startswith("application/json"):
            try:
                converted_answer, header = oip_binary.response_to_binary(json.loads(answer), binary_outputs)
            except (ValueError, RecursionError) as problem:  # BinaryFormatError, or not JSON at all
                logger.warning("model %r: answer not convertible to binary: %s", deployment.record.model, problem)
                return oip_error(502, f"the model's answer cannot be sent as binary tensor data: {problem}")
            return web.Response(
                body=converted_answer,
                status=200,
                headers={"Content-Type": "application/octet-stream", oip_binary.HEADER: str(header)},
            )
        return response

    async def close(self, _: web.Application) -> None:
        self.upstream.close()


def make_app(gateway: Gateway) -> web.Application:
    """The REST application: the routes of :class:`RestEndpoints`, bodies bounded."""
    endpoints = RestEndpoints(gateway)
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app.router.add_route("*", "/seldon/{namespace}/{name}/{tail:.*}", endpoints.seldon_route)
    app.router.add_route("*", "/model/{namespace}/{model}/{tail:.*}", endpoints.alias_route)
    app.router.add_get("/v2/health/live", endpoints.oip_live)
    app.router.add_get("/v2/health/ready", endpoints.oip_ready)
    app.router.add_get("/v2", endpoints.oip_server_metadata)
    app.router.add_post("/v2/repository/index", endpoints.oip_repository_index)
    app.router.add_route("*", "/v2/models/{model}{rest:(/.*)?}", endpoints.oip_model)
    app.router.add_get("/", endpoints.index)
    app.router.add_get("/health", endpoints.health)
    app.on_cleanup.append(endpoints.close)
    return app
