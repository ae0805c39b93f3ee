"""The drawing-board server: serves the page and forwards drawings to deployed models.

``python -m demo_mnist.board --endpoint http://127.0.0.1:8003 --model NAME [--oip-model NAME]``
(or ``seldon-pkg demo``). ``--model`` names a Seldon-protocol deployment (``api/v1.0/predictions``
with ``strData``), ``--oip-model`` an Open Inference Protocol one (``v2/models/<name>/infer``
with a BYTES tensor holding the drawing's data URL). The endpoint is the local gateway or a cluster ingress from
``seldon-pkg endpoint``; the optional bearer token is sent to it. The page never talks to the
models directly, so it works with no CORS setup and no network but this server.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from aiohttp import web

WEB = Path(__file__).resolve().parent / "web"
DEFAULT_PORT = 8880


@dataclass(frozen=True)
class BoardConfig:
    endpoint: str
    models: tuple[tuple[str, str], ...]
    """(deployment name, protocol: ``seldon`` or ``v2``)."""
    namespace: str = "default"
    token: str | None = None
    urls: tuple[tuple[str, str], ...] = ()
    """(deployment name, its full prediction URL) where no gateway routes by name: a model on a
    cluster with no ingress, reached at its own Service (``seldon-pkg endpoint``)."""

    @property
    def protocols(self) -> dict[str, str]:
        return dict(self.models)


def prediction_url(config: BoardConfig, model: str) -> str:
    explicit = dict(config.urls).get(model)
    if explicit:
        return explicit
    base = f"{config.endpoint.rstrip('/')}/seldon/{config.namespace}/{model}"
    return f"{base}/v2/models/{model}/infer" if config.protocols[model] == "v2" else f"{base}/api/v1.0/predictions"


def request_body(protocol: str, image: str) -> dict:
    """The drawing as the model's protocol carries an image."""
    if protocol == "v2":
        return {"inputs": [{"name": "image", "datatype": "BYTES", "shape": [1], "data": [image]}]}
    return {"strData": image}


def summarise(reply: dict) -> dict:
    """Digit and the ten probabilities from a Seldon reply (tensor or ndarray) or an OIP one."""
    if "outputs" in reply:
        values = reply["outputs"][0]["data"][:10]
    elif "tensor" in reply["data"]:
        values = reply["data"]["tensor"]["values"][:10]
    else:
        values = reply["data"]["ndarray"][0]
    probabilities = [float(v) for v in values]
    return {"digit": max(range(10), key=probabilities.__getitem__), "probabilities": probabilities}


def make_app(config: BoardConfig) -> web.Application:
    app = web.Application(client_max_size=8 * 1024 * 1024)
    state: dict[str, aiohttp.ClientSession] = {}

    async def on_startup(_: web.Application) -> None:
        state["session"] = aiohttp.ClientSession()

    async def on_cleanup(_: web.Application) -> None:
        await state["session"].close()

    async def index(_: web.Request) -> web.FileResponse:
        return web.FileResponse(WEB / "index.html")

    async def models(_: web.Request) -> web.Response:
        return web.json_response(
            {"models": [name for name, _ in config.models], "protocols": config.protocols, "endpoint": config.endpoint}
        )

    async def predict(request: web.Request) -> web.Response:
        model = request.match_info["model"]
        if model not in config.protocols:
            return web.json_response({"error": f"unknown model {model}"}, status=404)
        try:
            body = await request.json()
            image = body["image"]
            if not isinstance(image, str) or not image.startswith("data:image/"):
                raise ValueError
        except (ValueError, KeyError, TypeError, json.JSONDecodeError):
            return web.json_response({"error": 'send {"image": "data:image/png;base64,..."}'}, status=400)
        headers = {"Content-Type": "application/json"}
        if config.token:
            headers["Authorization"] = f"Bearer {config.token}"
        started = time.perf_counter()
        try:
            async with state["session"].post(
                prediction_url(config, model),
                data=json.dumps(request_body(config.protocols[model], image)),
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=20),
            ) as reply:
                text = await reply.text()
                elapsed = (time.perf_counter() - started) * 1000
                if reply.status != 200:
                    return web.json_response(
                        {"error": f"HTTP {reply.status}: {_reason(text)}", "ms": elapsed}, status=502
                    )
                return web.json_response({**summarise(json.loads(text)), "ms": elapsed})
        except (TimeoutError, aiohttp.ClientError) as failure:
            return web.json_response({"error": f"{type(failure).__name__}: model unreachable"}, status=502)

    app.router.add_get("/", index)
    app.router.add_get("/api/models", models)
    app.router.add_post("/api/predict/{model}", predict)
    app.router.add_static("/static/", WEB)
    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    return app


DEMO_SPECS = ("mnist-cnn-oip", "mnist-mlp")
"""What `make demo` deploys: the CNN over the Open Inference Protocol, the MLP over Seldon's."""


def demo_models() -> list[tuple[str, str]]:
    """(deployment name, protocol) of the demo specs, as `make demo` deploys them."""
    from seldon_pkg.platforms.registry import name_of
    from seldon_pkg.spec.model_spec import load_spec

    here = Path(__file__).resolve().parent
    specs = [load_spec(here / f"{model}.yaml") for model in DEMO_SPECS]
    return [(name_of(spec), spec.protocol) for spec in specs]


def _reason(text: str) -> str:
    try:
        body = json.loads(text)
        return body["error"] if "error" in body else body["status"]["info"]
    except (ValueError, KeyError, TypeError):
        return text[:200]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="MNIST drawing board for deployed models")
    parser.add_argument("--endpoint", default="http://127.0.0.1:8003", help="Seldon gateway / ingress base URL")
    parser.add_argument("--model", action="append", default=[], help="Seldon-protocol deployment name (repeat)")
    parser.add_argument("--oip-model", action="append", default=[], help="Open Inference Protocol deployment (repeat)")
    parser.add_argument(
        "--model-url",
        action="append",
        default=[],
        metavar="PROTOCOL:NAME=URL",
        help="a deployment at its own prediction URL, protocol seldon or v2 (repeat): seldon:mnist-mlp-v1=http://...",
    )
    parser.add_argument("--namespace", default="default")
    parser.add_argument("--token", help="bearer token for a cluster gateway")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    args = parser.parse_args(argv)
    chosen = [(m, "seldon") for m in args.model] + [(m, "v2") for m in args.oip_model]
    urls = []
    for entry in args.model_url:
        protocol, _, rest = entry.partition(":")
        name, _, url = rest.partition("=")
        if protocol not in ("seldon", "v2") or not name or not url.startswith(("http://", "https://")):
            parser.error(f"--model-url takes PROTOCOL:NAME=URL with protocol seldon or v2, got {entry!r}")
        chosen.append((name, protocol))
        urls.append((name, url))
    config = BoardConfig(args.endpoint, tuple(chosen or demo_models()), args.namespace, args.token, tuple(urls))
    print(f"drawing board on http://{args.host}:{args.port} -> {args.endpoint}", flush=True)
    web.run_app(make_app(config), host=args.host, port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
