"""Run ``seldon-pkg serve`` as a real subprocess and drive it with the real CLI."""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from seldon_pkg.local.gateway_process import CLI as CLI_PATH
from seldon_pkg.local.gateway_process import serve_command, start_gateway, stop_gateway
from seldon_pkg.local.ostools import free_ports

CLI = str(CLI_PATH)


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
        """The ``seldon-pkg serve`` command line of this gateway (for tests that run it by hand)."""
        return serve_command(self.state_dir, self.http_port, self.grpc_port)

    def start(self, timeout: float = 300) -> GatewayProcess:
        """The library's one way to start a gateway and wait for it (local/gateway_process.py);
        when it fails, the error carries the end of the gateway's log."""
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with open(self.log_path, "ab") as log:
            try:
                self.process = start_gateway(
                    self.state_dir, self.http_port, self.grpc_port, output=log, timeout=timeout
                )
            except (RuntimeError, TimeoutError) as problem:
                tail = self.log_path.read_text(errors="replace")[offset:][-3000:]
                raise type(problem)(f"{problem}:\n{tail}") from None
        return self

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
        return stop_gateway(self.process) if self.process else 0


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
