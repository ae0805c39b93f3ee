"""The drawing-board server: serves the page and forwards drawings to deployed models.

``python -m demo_mnist.board --endpoint http://127.0.0.1:8003 --model NAME [--model NAME]``
(or ``seldon-pkg demo``). The endpoint is the local gateway or a cluster ingress from
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
    models: tuple[str, ...]
    namespace: str = "default"
    token: str | None = None


def prediction_url(config: BoardConfig, model: str) -> str:
    return f"{config.endpoint.rstrip('/')}/seldon/{config.namespace}/{model}/api/v1.0/predictions"


def summarise(reply: dict) -> dict:
    """Digit and the ten probabilities from a Seldon reply (tensor or ndarray form)."""
    data = reply["data"]
    if "tensor" in data:
        values = data["tensor"]["values"][:10]
    else:
        values = data["ndarray"][0]
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
        return web.json_response({"models": list(config.models), "endpoint": config.endpoint})

    async def predict(request: web.Request) -> web.Response:
        model = request.match_info["model"]
        if model not in config.models:
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
                data=json.dumps({"strData": image}),
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


def demo_model_names() -> list[str]:
    """Deployment names of demo_mnist/mnist-cnn.yaml and mnist-mlp.yaml (as `make demo` deploys them)."""
    from seldon_pkg.manifests import name_of
    from seldon_pkg.spec import load_spec

    here = Path(__file__).resolve().parent
    return [name_of(load_spec(here / f"{model}.yaml")) for model in ("mnist-cnn", "mnist-mlp")]


def _reason(text: str) -> str:
    try:
        return json.loads(text)["status"]["info"]
    except (ValueError, KeyError, TypeError):
        return text[:200]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="MNIST drawing board for deployed models")
    parser.add_argument("--endpoint", default="http://127.0.0.1:8003", help="Seldon gateway / ingress base URL")
    parser.add_argument(
        "--model", action="append", dest="models", help="deployment name (repeat; default: the two demo models)"
    )
    parser.add_argument("--namespace", default="default")
    parser.add_argument("--token", help="bearer token for a cluster gateway")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    args = parser.parse_args(argv)
    config = BoardConfig(args.endpoint, tuple(args.models or demo_model_names()), args.namespace, args.token)
    print(f"drawing board on http://{args.host}:{args.port} -> {args.endpoint}", flush=True)
    web.run_app(make_app(config), host=args.host, port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
