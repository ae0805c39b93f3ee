"""Start a real ``seldon-core-microservice`` process the way Seldon's image does."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seldon_pkg.local.ostools import free_ports
from seldon_pkg.local.waiting import answers_200, wait_until_ready
from seldon_pkg.platforms.seldon_parameters import parameters_env

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent / "seldon-core-microservice"


@dataclass
class Microservice:
    interface: str
    parameters: dict[str, Any]
    cwd: Path = ROOT
    env: dict[str, str] = field(default_factory=dict)
    executable: Path = BIN
    process: subprocess.Popen | None = None
    log_path: Path | None = None
    http_port: int = 0
    grpc_port: int = 0
    metrics_port: int = 0

    def __post_init__(self) -> None:
        if not (self.http_port and self.grpc_port and self.metrics_port):
            self.http_port, self.grpc_port, self.metrics_port = free_ports(3)  # one call: three distinct ports

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def start(self, log_path: Path, timeout: float = 90.0) -> Microservice:
        env = {
            **os.environ,
            "PREDICTIVE_UNIT_PARAMETERS": parameters_env(self.parameters),
            "GUNICORN_WORKERS": "1",
            "GUNICORN_THREADS": "4",
            "GRPC_WORKERS": "1",
            "PYTHONPATH": str(ROOT),
            "TF_CPP_MIN_LOG_LEVEL": "2",
            **self.env,
        }
        self.log_path = log_path
        log = open(log_path, "wb")
        self.process = subprocess.Popen(
            [
                str(self.executable),
                self.interface,
                "--service-type",
                "MODEL",
                "--http-port",
                str(self.http_port),
                "--grpc-port",
                str(self.grpc_port),
                "--metrics-port",
                str(self.metrics_port),
            ],
            cwd=self.cwd,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float) -> None:
        try:
            wait_until_ready(answers_200(f"{self.url}/health/status"), "the microservice", timeout, self.process, 0.2)
        except (RuntimeError, TimeoutError) as problem:
            raise type(problem)(f"{problem}:\n{self.log()}") from None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path else ""

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
