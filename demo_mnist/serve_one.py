"""``make demo`` (first stage): serve the MNIST CNN under ``seldon-core-microservice``.

Starts the real Seldon microservice on port 9000 with the TF-free ONNX export, waits until it
answers, prints a ``curl`` line that sends a held-out digit, and stops it on Ctrl-C.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "demo_mnist" / "samples" / "digit.json"


def _exit_on_sigterm(signum, frame):
    raise SystemExit(0)


def main() -> int:
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    port = int(os.environ.get("DEMO_HTTP_PORT", "9000"))
    parameters = [{"name": "model_uri", "value": "demo_mnist/models/mnist-cnn.onnx", "type": "STRING"}]
    env = {**os.environ, "PREDICTIVE_UNIT_PARAMETERS": json.dumps(parameters), "PYTHONPATH": str(ROOT)}
    command = [
        str(Path(sys.executable).parent / "seldon-core-microservice"),
        "model_wrappers.mnist.MnistClassifier", "--service-type", "MODEL",
        "--http-port", str(port), "--grpc-port", str(port + 1), "--metrics-port", str(port + 2),
    ]
    process = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if requests.get(url + "/health/status", timeout=1).ok:
                    break
            except requests.RequestException:
                time.sleep(0.3)
        else:
            print("the microservice did not become ready", file=sys.stderr)
            return 1
        print(f"\nMNIST model served by seldon-core-microservice at {url}\nTry:\n"
              f"  curl -s -H 'Content-Type: application/json' -d @{SAMPLE.relative_to(ROOT)} "
              f"{url}/api/v1.0/predictions\n(Ctrl-C stops it)")
        process.wait()
        return process.returncode or 0
    except KeyboardInterrupt:
        return 0
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(15)


if __name__ == "__main__":
    sys.exit(main())
