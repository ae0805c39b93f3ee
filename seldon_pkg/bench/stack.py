"""The processes a benchmark run starts: the gateway, peers, and helpers to measure them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import psutil
import requests

from seldon_pkg.local.gateway_process import start_gateway, stop_gateway
from seldon_pkg.local.ostools import free_ports, group_members
from seldon_pkg.local.waiting import answers_200, wait_until_ready

if TYPE_CHECKING:
    from seldon_pkg.local.client import LocalClient

BIN = Path(sys.executable).parent


def wait_http(url: str, timeout: float, process: subprocess.Popen | None = None) -> None:
    """Until ``url`` answers 200 (seldon_pkg.local.waiting)."""
    wait_until_ready(answers_200(url), f"the server of {url}", timeout, process)


def group_pss_mib(leader: int) -> float:
    """Proportional set size of a whole process group (a model's gunicorn, gRPC, metrics...)."""
    total = 0
    for proc in group_members(leader):
        try:
            total += proc.memory_full_info().pss
        except psutil.Error:
            continue  # ended between listing and reading
    return round(total / 2**20, 1)


def stop(process: subprocess.Popen, group: bool = False) -> None:
    if process.poll() is None:
        if group:
            os.killpg(process.pid, signal.SIGTERM)
        else:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL) if group else process.kill()
            process.wait(5)


@dataclass
class Gateway:
    state_dir: Path
    http_port: int
    grpc_port: int
    process: subprocess.Popen

    @classmethod
    def start(cls, state_dir: Path, log: Path) -> Gateway:
        http_port, grpc_port = free_ports(2)
        with open(log, "wb") as output:
            process = start_gateway(state_dir, http_port, grpc_port, output=output)
        return cls(state_dir, http_port, grpc_port, process)

    def cli(self, *args: str) -> dict | list | str:
        result = subprocess.run(
            [str(BIN / "seldon-pkg"), *args, "--state-dir", str(self.state_dir)],
            capture_output=True,
            text=True,
            timeout=900,
        )
        if result.returncode != 0:
            raise RuntimeError(f"seldon-pkg {' '.join(args)} failed:\n{result.stderr}")
        return result.stdout

    def client(self) -> LocalClient:
        """The gateway's control API client: deploys many models without a CLI process each."""
        from seldon_pkg.local.client import LocalClient
        from seldon_pkg.local.state import StateDir

        return LocalClient(StateDir.open(self.state_dir))

    def deployments(self) -> list[dict]:
        """The gateway's full description of each deployment (pid and ports included)."""
        return self.client().list()

    def find(self, model: str) -> dict:
        return next(d for d in self.deployments() if d["model"] == model)

    def timed_deploy(self, spec: Path, body: bytes) -> tuple[dict, float]:
        """Seconds from the deploy command to the first successful prediction."""
        started = time.perf_counter()
        self.cli("deploy", str(spec))
        row = next(d for d in self.deployments() if d["name"] == _name_of(spec))
        reply = requests.post(row["url"], data=body, headers={"Content-Type": "application/json"}, timeout=60)
        reply.raise_for_status()
        return row, round(time.perf_counter() - started, 2)

    def stop(self) -> None:
        stop_gateway(self.process, timeout=30)


def _name_of(spec: Path) -> str:
    from seldon_pkg.platforms.registry import name_of
    from seldon_pkg.spec.model_spec import load_spec

    return name_of(load_spec(spec))
