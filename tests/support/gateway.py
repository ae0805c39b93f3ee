"""Run ``seldon-pkg serve`` as a real subprocess and drive it with the real CLI."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from seldon_pkg.local.ostools import free_ports

CLI = str(Path(sys.executable).parent / "seldon-pkg")


@dataclass
class GatewayProcess:
    state_dir: Path
    log_path: Path
    process: subprocess.Popen | None = None
    http_port: int = 0
    grpc_port: int = 0

    def __post_init__(self) -> None:
        if not (self.http_port and self.grpc_port):
            self.http_port, self.grpc_port = free_ports(2)  # one call: two distinct ports

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def command(self) -> list[str]:
        return [
            CLI,
            "serve",
            "--port",
            str(self.http_port),
            "--grpc-port",
            str(self.grpc_port),
            "--state-dir",
            str(self.state_dir),
        ]

    def start(self, timeout: float = 300) -> GatewayProcess:
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gateway exited:\n{self.log_path.read_text()[-3000:]}")
            if "ready:" in self.log_path.read_text(errors="replace")[offset:]:
                return self
            time.sleep(0.2)
        raise TimeoutError(f"gateway not ready:\n{self.log_path.read_text()[-3000:]}")

    def cli(self, *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
        return subprocess.run(
            [CLI, *args, "--state-dir", str(self.state_dir)], capture_output=True, text=True, timeout=timeout
        )

    def listed(self) -> list[dict]:
        """What `seldon-pkg list -o json` prints."""
        result = self.cli("list", "-o", "json")
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    def deployments(self) -> list[dict]:
        """The gateway's full description of each deployment (pid, ports: what tests inspect)."""
        from seldon_pkg.local.client import LocalClient
        from seldon_pkg.local.state import StateDir

        return LocalClient(StateDir.open(self.state_dir)).list()

    def deployment(self, model: str) -> dict:
        return next(d for d in self.deployments() if d["model"] == model)

    def stop(self) -> int:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            return self.process.wait(60)
        return self.process.returncode if self.process else 0


def wait_until(predicate, timeout: float, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError("condition not met")


def predict(url: str, body: dict, timeout: float = 30) -> requests.Response:
    return requests.post(url, json=body, timeout=timeout)
