"""``make demo``: gateway + both MNIST models + drawing board, stopped together on Ctrl-C.

Starts ``seldon-pkg serve`` (unless a gateway already runs for the state folder), deploys
``mnist-cnn.yaml`` and ``mnist-mlp.yaml`` side by side, starts the board on port 8880 pointed
at the gateway, prints the URLs and a ``curl`` line, and waits. Ctrl-C or SIGTERM stops the
board and the gateway it started, which stops every model process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import requests

from seldon_pkg.local.client import LocalClient
from seldon_pkg.local.gateway_process import start_gateway, stop_gateway
from seldon_pkg.local.server import running_gateway_pid
from seldon_pkg.local.state import StateDir

HERE = Path(__file__).resolve().parent
SPECS = (HERE / "mnist-cnn-oip.yaml", HERE / "mnist-mlp.yaml")  # the CNN over OIP, the MLP over Seldon's
BIN = Path(sys.executable).parent


def _stop(process: subprocess.Popen | None) -> None:
    if process is not None and process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()


def _wait_for(predicate, what: str, process: subprocess.Popen | None, timeout: float = 120.0) -> None:
    """Until ``predicate`` holds; a server that exits or never answers ends the demo with why."""
    from seldon_pkg.local.waiting import wait_until_ready

    try:
        wait_until_ready(predicate, what, timeout, process, interval=0.2)
    except (RuntimeError, TimeoutError) as problem:
        raise SystemExit(str(problem)) from None


def main() -> int:
    port = int(os.environ.get("DEMO_GATEWAY_PORT", "8003"))
    grpc_port = int(os.environ.get("DEMO_GRPC_PORT", "8004"))
    board_port = int(os.environ.get("DEMO_BOARD_PORT", "8880"))
    state = StateDir.open(os.environ.get("SELDON_PKG_STATE_DIR"))
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    gateway = board = None
    try:
        if running_gateway_pid(state) is None:
            try:
                gateway = start_gateway(state.root, port, grpc_port)
            except (RuntimeError, TimeoutError) as problem:
                raise SystemExit(str(problem)) from None
        client = LocalClient(state)
        endpoint = f"http://{client.info['url_host']}:{client.info['http_port']}"
        names, board_models = [], []
        for spec in SPECS:
            print(f"deploying {spec.name} (the first time builds its runtime environment)...", flush=True)
            deployed = client.deploy(spec, policy="keep")["deployment"]
            names.append(deployed["name"])
            board_models += ["--oip-model" if deployed["protocol"] == "v2" else "--model", deployed["name"]]
            print(f"  {deployed['name']}: {deployed['state']}  {deployed['url']}", flush=True)
        board = subprocess.Popen(
            [
                str(BIN / "python"),
                "-m",
                "demo_mnist.board",
                "--endpoint",
                endpoint,
                "--port",
                str(board_port),
                *board_models,
            ],
            cwd=HERE.parent,
        )
        _wait_for(lambda: requests.get(f"http://127.0.0.1:{board_port}/api/models", timeout=1).ok, "the board", board)
        samples = HERE.relative_to(Path.cwd()) / "samples" if HERE.is_relative_to(Path.cwd()) else HERE / "samples"
        print(
            f"""
Drawing board:  http://127.0.0.1:{board_port}
Models ({len(names)}):   {", ".join(names)}
Try OIP:        curl -s -H 'Content-Type: application/json' -d @{samples / "digit-oip.json"} {endpoint}/v2/models/{names[0]}/infer
Try Seldon:     curl -s -H 'Content-Type: application/json' -d @{samples / "digit.json"} {endpoint}/seldon/default/{names[1]}/api/v1.0/predictions
List:           {BIN / "seldon-pkg"} list --state-dir {state.root}
Ctrl-C stops the board{" and the gateway with its models" if gateway else ""}.
""",
            flush=True,
        )
        board.wait()
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        _stop(board)
        if gateway is not None:
            stop_gateway(gateway)  # which stops every model process it started


if __name__ == "__main__":
    sys.exit(main())
