"""``seldon-pkg serve``: run the gateway in the foreground until SIGINT/SIGTERM.

Binds the REST and gRPC front ends (``--host``, 127.0.0.1 by default) and the control API
(always 127.0.0.1, a free port), writes ``gateway.json`` so CLI commands can find it, restores
every registered model (then marks ``gateway.json`` ready), and on exit stops every model
process group before returning.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket

from aiohttp import web

from seldon_pkg.errors import Invalid, SeldonPkgError
from seldon_pkg.local import control, grpc_router, rest
from seldon_pkg.local.gateway import Gateway
from seldon_pkg.local.state import StateDir


def _check_free(host: str, port: int, what: str, option: str) -> None:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as error:
            raise Invalid(
                f"{what} port {host}:{port} is not available ({error.strerror}); choose another with {option}"
            ) from None


def running_gateway_pid(state: StateDir) -> int | None:
    info = state.read_json(state.gateway_file, default=None)
    if not info:
        return None
    try:
        os.kill(info["pid"], 0)
    except (ProcessLookupError, KeyError):
        return None
    return info["pid"]


async def serve(state: StateDir, host: str, port: int, grpc_port: int, ready: asyncio.Event | None = None) -> None:
    pid = running_gateway_pid(state)
    if pid is not None and pid != os.getpid():
        raise SeldonPkgError(f"a gateway (pid {pid}) already uses the state folder {state.root}")
    _check_free(host, port, "http", "--port")
    _check_free(host, grpc_port, "grpc", "--grpc-port")
    url_host = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
    gateway = Gateway(state, url_host=url_host, http_port=port, grpc_port=grpc_port)

    rest_runner = web.AppRunner(rest.make_app(gateway), access_log=None)
    control_runner = web.AppRunner(control.make_app(gateway, state.token()), access_log=None)
    await rest_runner.setup()
    await control_runner.setup()
    await web.TCPSite(rest_runner, host, port, reuse_address=True).start()
    control_socket = socket.socket()
    control_socket.bind(("127.0.0.1", 0))
    control_port = control_socket.getsockname()[1]
    await web.SockSite(control_runner, control_socket).start()
    grpc_server, router = grpc_router.make_server(gateway, host, grpc_port)
    await grpc_server.start()

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    info = {
        "pid": os.getpid(),
        "host": host,
        "url_host": url_host,
        "http_port": port,
        "grpc_port": grpc_port,
        "control_port": control_port,
        "ready": False,
    }
    state.write_json(state.gateway_file, info)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    print(
        f"seldon-pkg gateway: REST http://{url_host}:{port}/seldon/<namespace>/<name>/..., "
        f"gRPC {url_host}:{grpc_port}, state {state.root}",
        flush=True,
    )
    try:
        await gateway.startup()
        state.write_json(state.gateway_file, {**info, "ready": True})  # gateway_process.wait_for_gateway
        if ready is not None:
            ready.set()
        print(f"ready: {len(gateway.deployments)} deployment(s) restored", flush=True)
        await stop.wait()
    finally:
        print("stopping: ending every model process", flush=True)
        await gateway.shutdown()
        await grpc_server.stop(grace=1)
        await router.close()
        await rest_runner.cleanup()
        await control_runner.cleanup()
        state.gateway_file.unlink(missing_ok=True)
        print("stopped", flush=True)
