"""REST front end: Seldon's and the Open Inference Protocol's URLs, proxied to model processes.

Two URL schemes, both as on a cluster:

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

Replies are passed through untouched (a model's 400 stays a 400); the gateway itself answers
404 for an unknown deployment (listing the known ones), 400 for a request in the other
protocol than the model's (naming it), 503 while a model restarts or is being restored and
502 when a model drops a connection or answers something that is not HTTP.
"""

from __future__ import annotations

import json
import logging

from aiohttp import web

from seldon_pkg import __version__
from seldon_pkg.local import oip_binary
from seldon_pkg.local.gateway import Deployment, Gateway
from seldon_pkg.local.process import State
from seldon_pkg.local.upstream import UpstreamError, UpstreamPool

logger = logging.getLogger("seldon_pkg.gateway.rest")
MAX_BODY = 64 * 1024 * 1024
HOP_HEADERS = {"content-type", "accept", "seldon-puid"}


def error(status: int, message: str, **extra) -> web.Response:
    """An error in the Seldon protocol's shape."""
    body = {"status": {"status": 1, "code": -1, "info": message, "reason": "GATEWAY_ERROR"}, **extra}
    return web.json_response(body, status=status)


def oip_error(status: int, message: str, **extra) -> web.Response:
    """An error in the Open Inference Protocol's shape (``{"error": ...}``, as MLServer answers)."""
    return web.json_response({"error": message, **extra}, status=status)


def executor_path(tail: str, name: str) -> str | None:
    """The model process's path for ``/seldon/<ns>/<name>/<tail>`` of an OIP model, or ``None``.

    The model inside the process is named after the deployment; the executor (and we) send an
    infer request to the deployment's graph whatever model name the path carries."""
    parts = tail.split("/")
    if parts[0] != "v2":
        return None
    if parts[1:2] != ["models"]:
        return "/" + tail  # /v2/health/live|ready, /v2
    if parts[2:] == ["infer"]:
        return f"/v2/models/{name}/infer"
    if len(parts) < 3:
        return None
    rest = "/".join(parts[3:])
    return f"/v2/models/{name}" + (f"/{rest}" if rest else "")


def make_app(gateway: Gateway) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY)
    upstream = UpstreamPool()

    async def on_cleanup(_: web.Application) -> None:
        upstream.close()

    async def forward(
        request: web.Request,
        deployment: Deployment,
        path: str,
        body: bytes | None = None,
        fail=error,
        json_body: bool = False,
    ) -> tuple[web.Response, int, bytes, str]:
        """Send the request to the model process; (response, status, body, content type)."""
        process = deployment.process
        if process.state is not State.AVAILABLE:
            name = f"{deployment.record.namespace}/{deployment.record.name}"
            reply = fail(503, f"{name} is {process.state.value.lower()}: {process.last_error[:500]}")
            return reply, 503, b"", ""
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
            answer = await upstream.request(process.ports.http, request.method, path, body, headers)
        except (TimeoutError, UpstreamError, OSError) as failure:
            name = f"{deployment.record.namespace}/{deployment.record.name}"
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

    async def forward_oip(request: web.Request, deployment: Deployment, path: str) -> web.Response:
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
        response, status, answer, content_type = await forward(
            request, deployment, path, body, fail=oip_error, json_body=request.method == "POST"
        )
        if binary_outputs and status == 200 and content_type.startswith("application/json"):
            converted_answer, header = oip_binary.response_to_binary(json.loads(answer), binary_outputs)
            return web.Response(
                body=converted_answer,
                status=200,
                headers={"Content-Type": "application/octet-stream", oip_binary.HEADER: str(header)},
            )
        return response

    def lookup(namespace: str, name: str, fail) -> Deployment | web.Response:
        deployment = gateway.route(namespace, name)
        if deployment is not None:
            return deployment
        if gateway.registry.get(namespace, name) is not None:  # registered, its process not started yet
            return fail(503, f"{namespace}/{name} is being restored")
        return fail(404, f"no deployment {namespace}/{name}", deployments=gateway.names())

    async def seldon_route(request: web.Request) -> web.StreamResponse:
        namespace, name, tail = request.match_info["namespace"], request.match_info["name"], request.match_info["tail"]
        found = lookup(namespace, name, oip_error if tail.split("/", 1)[0] == "v2" else error)
        if isinstance(found, web.Response):
            return found
        return await serve(request, found, tail)

    async def alias_route(request: web.Request) -> web.StreamResponse:
        """``/model/<namespace>/<model name>/<path>``: the newest Available version of that model,
        so clients need not follow the hashed deployment name from version to version."""
        namespace, model, tail = (
            request.match_info["namespace"],
            request.match_info["model"],
            request.match_info["tail"],
        )
        fail = oip_error if tail.split("/", 1)[0] == "v2" else error
        ready = [
            d
            for (ns, _), d in gateway.deployments.items()
            if ns == namespace and d.record.model == model and d.process.state is State.AVAILABLE
        ]
        if not ready:
            known = sorted({d.record.model for (ns, _), d in gateway.deployments.items() if ns == namespace})
            return fail(404, f"no Available version of model {model!r} in {namespace}", models=known)
        return await serve(request, max(ready, key=lambda d: d.record.created_at), tail)

    async def serve(request: web.Request, found: Deployment, tail: str) -> web.StreamResponse:
        """``tail`` of a Seldon URL, in the deployment's own protocol (400 naming it otherwise)."""
        namespace, name = found.record.namespace, found.record.name
        if found.process.spec.protocol == "v2":
            path = executor_path(tail, name)
            if path is None:
                return oip_error(
                    400,
                    f"{namespace}/{name} speaks the Open Inference Protocol (protocol: v2); "
                    f"use /seldon/{namespace}/{name}/v2/models/{name}/infer",
                )
            return await forward_oip(request, found, path)
        if tail.split("/", 1)[0] == "v2":
            return error(
                400,
                f"{namespace}/{name} speaks the Seldon protocol (protocol: seldon); "
                f"use /seldon/{namespace}/{name}/api/v1.0/predictions",
            )
        response, *_ = await forward(request, found, "/" + tail)
        return response

    async def oip_model(request: web.Request) -> web.StreamResponse:
        """``/v2/models/<name>...``: the deployment of that name, in whichever namespace it is."""
        name = request.match_info["model"]
        matches = [d for (ns, n), d in gateway.deployments.items() if n == name]
        if len(matches) > 1:
            namespaces = ", ".join(d.record.namespace for d in matches)
            return oip_error(
                400,
                f"model {name!r} is deployed in namespaces {namespaces}; "
                f"use /seldon/<namespace>/{name}/v2/models/{name}/...",
            )
        if not matches:
            restoring = [r for r in gateway.registry.records() if r.name == name]
            if restoring:
                return oip_error(503, f"{name} is being restored")
            return oip_error(404, f"no model named {name!r}", models=[n for _, n in sorted(gateway.deployments)])
        deployment = matches[0]
        if deployment.process.spec.protocol != "v2":
            ns = deployment.record.namespace
            return oip_error(
                400,
                f"{name} speaks the Seldon protocol (protocol: seldon), not the Open Inference "
                f"Protocol; use /seldon/{ns}/{name}/api/v1.0/predictions",
            )
        return await forward_oip(request, deployment, f"/v2/models/{name}{request.match_info['rest']}")

    async def oip_live(_: web.Request) -> web.Response:
        return web.json_response({"live": True})

    async def oip_ready(_: web.Request) -> web.Response:
        ready = all(d.process.state is State.AVAILABLE for d in gateway.deployments.values())
        return web.json_response({"ready": ready}, status=200 if ready else 503)

    async def oip_server_metadata(_: web.Request) -> web.Response:
        return web.json_response(
            {"name": "seldon-pkg-gateway", "version": __version__, "extensions": ["binary_tensor_data"]}
        )

    async def oip_repository_index(_: web.Request) -> web.Response:
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
                for (ns, name), d in sorted(gateway.deployments.items())
            ]
        )

    async def index(_: web.Request) -> web.Response:
        return web.json_response({"deployments": [gateway.describe(d) for d in gateway.deployments.values()]})

    async def health(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "deployments": len(gateway.deployments)})

    app.router.add_route("*", "/seldon/{namespace}/{name}/{tail:.*}", seldon_route)
    app.router.add_route("*", "/model/{namespace}/{model}/{tail:.*}", alias_route)
    app.router.add_get("/v2/health/live", oip_live)
    app.router.add_get("/v2/health/ready", oip_ready)
    app.router.add_get("/v2", oip_server_metadata)
    app.router.add_post("/v2/repository/index", oip_repository_index)
    app.router.add_route("*", "/v2/models/{model}{rest:(/.*)?}", oip_model)
    app.router.add_get("/", index)
    app.router.add_get("/health", health)
    app.on_cleanup.append(on_cleanup)
    return app
