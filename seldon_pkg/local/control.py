"""The control API the CLI talks to: loopback only, bearer token from the state folder.

    GET    /v1/deployments                      list
    POST   /v1/deployments  {"spec": PATH, "policy": "replace"|"keep"}   (Accept: application/x-ndjson
                            streams progress lines first, see STREAM)
                            or {"document": {...spec's keys...}, "source_dir": PATH} (a spec
                            as data: how LocalTarget deploys a ModelSpec, built in code or not)
                            or {"record": {...}} (restore a previous revision)
                            -> {"deployment", "action", "previous", "replaced"}
    GET    /v1/deployments/{namespace}/{name}   one deployment (URLs, state, pid, ports)
    DELETE /v1/deployments/{namespace}/{name}   delete

Errors are JSON ``{"error": message, "kind": K}``, ``K`` one of the library's error kinds,
from which the client raises the same error (and the CLI exits with the same code) as on a
cluster; the status fits the kind: 422 Invalid, 404 NotFound, 409 Refused, 502 NotReady (the
model did not start; ``"outcome"`` says what the deploy did), 500 any other failure (a
runtime environment that pip could not build, storage that could not be read). See
control_wire.py.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from pathlib import Path

from aiohttp import web

from seldon_pkg.errors import Invalid, NotFound, SeldonPkgError
from seldon_pkg.local.control_wire import error_answer
from seldon_pkg.local.gateway import Gateway
from seldon_pkg.local.registry import Record
from seldon_pkg.values import VersionPolicy, parse_choice

STREAM = "application/x-ndjson"
"""Asked for by clients that show progress: one JSON object a line, ``{"progress": ...}`` while
it works, then ``{"status": N, "answer": ...}`` (the status the plain request would have had)."""


async def stream_progress(request: web.Request, run) -> web.StreamResponse:
    """Run ``run(progress)`` and stream its progress lines, then its status and answer."""
    response = web.StreamResponse(headers={"Content-Type": STREAM})
    await response.prepare(request)
    lines: asyncio.Queue[str] = asyncio.Queue()
    task = asyncio.create_task(run(lines.put_nowait))
    while not (task.done() and lines.empty()):
        try:
            line = await asyncio.wait_for(lines.get(), 0.5)
        except TimeoutError:
            continue
        await response.write((json.dumps({"progress": line}) + "\n").encode())
    status, answer = task.result()
    await response.write((json.dumps({"status": status, "answer": answer}) + "\n").encode())
    await response.write_eof()
    return response


def _error(error: SeldonPkgError, **extra) -> web.Response:
    status, body = error_answer(error, **extra)
    return web.json_response(body, status=status)


def make_app(gateway: Gateway, token: str) -> web.Application:
    @web.middleware
    async def require_token(request: web.Request, handler):
        offered = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not secrets.compare_digest(offered, token):
            return web.json_response({"error": "missing or wrong token"}, status=401)
        return await handler(request)

    async def list_deployments(_: web.Request) -> web.Response:
        return web.json_response(gateway.rows())  # failed deploys too (state NotDeployed): findable by model

    async def deploy(request: web.Request) -> web.StreamResponse:
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or not (
            isinstance(body.get("spec"), str)
            or isinstance(body.get("record"), dict)
            or (isinstance(body.get("document"), dict) and isinstance(body.get("source_dir"), str))
        ):
            return _error(
                Invalid(
                    'body must be {"spec": "/path/to/seldon-model.yaml"} or {"document": {...}, "source_dir": PATH}'
                )
            )
        try:
            policy = parse_choice(VersionPolicy, body.get("policy", VersionPolicy.REPLACE.value), "policy")
        except Invalid as error:
            return _error(error)

        async def run(progress) -> tuple[int, dict]:
            try:
                if "record" in body:
                    outcome = await gateway.deploy_record(
                        Record.from_dict(body["record"]), policy=policy, progress=progress
                    )
                elif "document" in body:
                    outcome = await gateway.deploy_document(
                        body["document"], Path(body["source_dir"]), policy=policy, progress=progress
                    )
                else:
                    outcome = await gateway.deploy(Path(body["spec"]), policy=policy, progress=progress)
            except SeldonPkgError as error:
                return error_answer(error)
            return 200, outcome

        if STREAM not in request.headers.get("Accept", ""):
            status, answer = await run(lambda _: None)
            return web.json_response(answer, status=status)
        return await stream_progress(request, run)

    async def show(request: web.Request) -> web.Response:
        namespace, name = request.match_info["namespace"], request.match_info["name"]
        row = gateway.row(namespace, name)
        if row is None:
            return _error(NotFound(f"no local deployment {namespace}/{name}"), deployments=gateway.names())
        return web.json_response(row)

    async def delete(request: web.Request) -> web.Response:
        namespace, name = request.match_info["namespace"], request.match_info["name"]
        found = await gateway.delete(namespace, name)
        if not found:
            return _error(NotFound(f"no local deployment {namespace}/{name}"), deployments=gateway.names())
        return web.json_response({"deleted": name, "namespace": namespace})

    app = web.Application(middlewares=[require_token])
    app["gateway"] = gateway
    app.router.add_get("/v1/deployments", list_deployments)
    app.router.add_post("/v1/deployments", deploy)
    app.router.add_get("/v1/deployments/{namespace}/{name}", show)
    app.router.add_delete("/v1/deployments/{namespace}/{name}", delete)
    return app
