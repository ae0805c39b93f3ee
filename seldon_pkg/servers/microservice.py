"""``seldon-core-microservice`` (seldon-core 1.17.1): the Seldon protocol's server.

Locally it runs under our loopback launcher (``seldon_pkg/local/loopback.py``), which makes
seldon-core bind 127.0.0.1 and keeps its worker processes alive across recycles; the model's
parameters reach it as Seldon's typed ``PREDICTIVE_UNIT_PARAMETERS``. Gunicorn's worker count
and threads default to what the benchmark measured (bench/REPORT.md); a spec's ``env`` wins.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from seldon_pkg.build.serving_defaults import ALLOCATOR, WORKER_RECYCLING
from seldon_pkg.platforms.names import CONTAINER
from seldon_pkg.platforms.seldon_parameters import parameters_env
from seldon_pkg.servers.base import LOCAL_LAUNCHERS, LocalLaunch, ServerKind
from seldon_pkg.values import Protocol

if TYPE_CHECKING:
    from pathlib import Path

    from seldon_pkg.spec.model_spec import ModelSpec

SELDON_CORE = "seldon-core==1.17.1"
SELDON_CORE_PINS = ("numpy>=1.26,<2", "protobuf>=3.20,<4", "setuptools<81")
"""seldon-core 1.17.1 breaks with numpy 2 / protobuf 4, and its gunicorn needs pkg_resources."""
LAUNCHER = LOCAL_LAUNCHERS / "loopback.py"
DEFAULT_WORKERS = min(2, os.cpu_count() or 1)
"""REST worker processes per model: two use both cores of a small machine (about twice the
throughput at concurrency 16 for ~13 MiB more PSS, see bench/REPORT.md); the spec's
``env: {GUNICORN_WORKERS: ...}`` overrides it."""


class SeldonMicroservice(ServerKind):
    name = "seldon-core-microservice"
    protocol = Protocol.SELDON
    requirements = (SELDON_CORE, *SELDON_CORE_PINS)
    constraints_name = "constraints.txt"
    image_ports = "9000 5000 6000"

    def ready_path(self, model: str) -> str:
        return "/health/status"

    def prediction_path(self, model: str) -> str:
        return "/api/v1.0/predictions"

    def command(self, launch: LocalLaunch) -> list[str]:
        return [
            str(launch.python),
            str(LAUNCHER),
            launch.spec.wrapper,
            "--service-type",
            "MODEL",
            "--http-port",
            str(launch.http_port),
            "--grpc-port",
            str(launch.grpc_port),
            "--metrics-port",
            str(launch.metrics_port),
        ]

    def environment(self, launch: LocalLaunch) -> dict[str, str]:
        spec = launch.spec
        return {
            **super().environment(launch),
            "PREDICTIVE_UNIT_PARAMETERS": parameters_env(spec.parameters),
            "PREDICTIVE_UNIT_ID": CONTAINER,
            "PREDICTIVE_UNIT_IMAGE": spec.image or f"local/{launch.name}:{spec.version}",
            "GUNICORN_WORKERS": spec.env.get("GUNICORN_WORKERS", str(DEFAULT_WORKERS)),
            "GUNICORN_THREADS": spec.env.get("GUNICORN_THREADS", "8"),
            "GRPC_WORKERS": spec.env.get("GRPC_WORKERS", "1"),
            "SELDON_PKG_BIND_HOST": "127.0.0.1",
        }

    def serving_defaults(self, launcher: bool) -> dict[str, str]:
        return {**ALLOCATOR, **(WORKER_RECYCLING if launcher else {})}

    def image_entrypoint(self, spec: ModelSpec) -> list[str]:
        return ["seldon-core-microservice", spec.wrapper, "--service-type", "MODEL"]

    def write_image_files(self, spec: ModelSpec, context: Path, model_name: str) -> None:
        """Nothing: seldon-core reads the wrapper from the command line and parameters from
        the operator's environment."""


MICROSERVICE = SeldonMicroservice()
