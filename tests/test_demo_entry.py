"""`make demo`'s program end to end: gateway + both models + board, the printed curl line works,
and SIGTERM stops everything it started."""

from __future__ import annotations

import base64
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time

import psutil
import pytest
import requests

from seldon_pkg.local.ostools import free_port, free_ports
from tests.support.digits import held_out, png_bytes
from tests.support.gateway import wait_until
from tests.support.microservice import ROOT

pytestmark = pytest.mark.slow


def test_run_demo_serves_the_board_and_stops_cleanly(tmp_path, artifacts):
    ports = dict(zip(("DEMO_GATEWAY_PORT", "DEMO_GRPC_PORT", "DEMO_BOARD_PORT"), free_ports(3), strict=True))
    env = {**os.environ, **{k: str(v) for k, v in ports.items()}, "SELDON_PKG_STATE_DIR": str(tmp_path / "state")}
    log = artifacts / "run-demo.log"
    demo = subprocess.Popen(
        [sys.executable, "-m", "demo_mnist.run_demo"],
        cwd=ROOT,
        env=env,
        stdout=open(log, "wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 300
        while "Ctrl-C stops" not in log.read_text(errors="replace"):
            assert demo.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "the demo did not come up"
            time.sleep(0.5)
        output = log.read_text()
        board = f"http://127.0.0.1:{ports['DEMO_BOARD_PORT']}"
        assert f"Drawing board:  {board}" in output
        models = requests.get(f"{board}/api/models", timeout=5).json()["models"]
        assert len(models) == 2 and all(m.startswith(("mnist-cnn-oip-v1-", "mnist-mlp-v1-")) for m in models)

        curl = re.search(r"Try Seldon:\s+(curl .+)", output).group(1)
        reply = subprocess.run(shlex.split(curl), cwd=ROOT, capture_output=True, text=True, timeout=30)
        assert '"names":["0","1","2","3","4","5","6","7","8","9"]' in reply.stdout.replace(" ", "")
        curl = re.search(r"Try OIP:\s+(curl .+)", output).group(1)
        reply = subprocess.run(shlex.split(curl), cwd=ROOT, capture_output=True, text=True, timeout=30)
        output_tensor = json.loads(reply.stdout)["outputs"][0]
        assert output_tensor["name"] == "probabilities" and output_tensor["shape"] == [1, 10]

        images, labels = held_out()
        drawing = (
            "data:image/png;base64," + base64.b64encode(png_bytes(images[5], black_on_white=True, scale=10)).decode()
        )
        for model in models:
            answer = requests.post(f"{board}/api/predict/{model}", json={"image": drawing}, timeout=30).json()
            assert answer["digit"] == labels[5] and len(answer["probabilities"]) == 10

        started = {p.pid for p in psutil.Process(demo.pid).children(recursive=True)}
        assert len(started) >= 6  # gateway, board, the MLP's seldon-core group (4) and MLServer
    finally:
        demo.send_signal(signal.SIGTERM)
        assert demo.wait(90) == 0

    def alive() -> list[int]:
        return [
            pid for pid in started if psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
        ]

    try:
        wait_until(lambda: not alive(), 10)
    except TimeoutError:
        pass
    assert alive() == []


def test_board_defaults_to_the_two_demo_models():
    from demo_mnist.board import demo_models
    from seldon_pkg.platforms.registry import name_of
    from seldon_pkg.spec.model_spec import load_spec

    models = demo_models()
    names = [name for name, _ in models]
    assert names == [name_of(load_spec(ROOT / "demo_mnist" / f"{m}.yaml")) for m in ("mnist-cnn-oip", "mnist-mlp")]
    assert [protocol for _, protocol in models] == ["v2", "seldon"]
    port = free_port()
    board = subprocess.Popen(
        [sys.executable, "-m", "demo_mnist", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                listed = requests.get(f"http://127.0.0.1:{port}/api/models", timeout=1).json()
                break
            except requests.RequestException:
                assert time.monotonic() < deadline and board.poll() is None
                time.sleep(0.2)
        assert listed == {"models": names, "protocols": dict(models), "endpoint": "http://127.0.0.1:8003"}
    finally:
        board.terminate()
        board.wait(10)
