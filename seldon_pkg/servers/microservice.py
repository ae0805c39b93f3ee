"""``seldon-core-microservice`` (seldon-core 1.17.1): the Seldon protocol's server.

Locally it runs under our loopback launcher (``seldon_pkg/local/loopback.py``), which makes
seldon-core bind 127.0.0.1 and keeps its worker processes alive across recycles; the model's
parameters reach it as Seldon's typed ``PREDICTIVE_UNIT_PARAMETERS``. Gunicorn's worker count
and threads default to what the benchmark measured (bench/REPORT.md); a spec's ``env`` wins.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from seldon_pkg.platforms.names import CONTAINER
from seldon_pkg.platforms.seldon_parameters import parameters_env
from seldon_pkg.servers.base import LOCAL_LAUNCHERS, LocalLaunch, ServerKind
from seldon_pkg.servers.serving_defaults import ALLOCATOR, WORKER_RECYCLING
from seldon_pkg.values import Protocol

if TYPE_CHECKING:
    from pathlib import Path

    from seldon_pkg.spec.model_spec import ModelSpec

SELDON_CORE = "seldon-core==1.17.1"
SELDON_CORE_DEPENDENCIES = (
    # seldon-core 1.17.1's own requirements, with its caps lifted where a capped version holds a
    # high advisory (seldon_pkg/data/advisories.tsv) and the newest release passes its contract
    # tests (tests/test_microservice_contract.py, test_wrappers.py, test_local_runtime.py):
    # seldon-core is then installed with --no-deps. Its other caps stay (no advisory row).
    # setup.py's serve extra repeats this list but setuptools (tests/test_metadata.py keeps them equal).
    "flask>=3.1.3,<4",  # was <3
    "werkzeug>=3.1.6,<4",  # was <2.3
    "flask-cors>=6.0.0,<7",  # was <4
    "gunicorn>=27.0.0,<28",  # was <20.2; 23-26 also clear the highs, 25.2-26 have an open row
    "cryptography>=50.0.0",  # was <41.1
    "click>=8.3.3",  # was <8.1
    "urllib3>=2.7.0,<3",  # was <1.27
    "requests>=2.33.0,<3",
    "jinja2>=3.1.6",  # Flask's, floor only
    # protobuf stays below 4 (two high rows, docs/security.md): seldon-core's
    # generated *_pb2 modules predate protobuf 4; its C backend refuses them and its pure-Python
    # backend (4.25, 5.29) loads them with map fields (Meta.tags, routing) as lists, which
    # breaks every gRPC and REST request carrying meta.tags.
    "protobuf>=3.20.3,<4",
    "grpcio<2",
    "grpcio-reflection<1.49",  # 1.49+ needs protobuf 4
    "jsonschema<4",
    "Flask-OpenTracing>=1.1.0,<1.2.0",
    "opentracing>=2.2.0,<2.5.0",
    "jaeger-client>=4.1.0,<4.5.0",
    "grpcio-opentracing>=1.1.4,<1.2.0",
    "prometheus-client>=0.7.1,<0.9.0",
    "PyYAML>=5.4,<=6.0.1",
    "setuptools>=83",  # seldon-core declares it; gunicorn 27 no longer imports pkg_resources
)
SELDON_CORE_PINS = ("numpy>=1.26,<2",)
"""Our wrappers are tested on NumPy 1.26 (seldon-core 1.17.1 breaks with numpy 2)."""
LAUNCHER = LOCAL_LAUNCHERS / "loopback.py"
DEFAULT_WORKERS = min(2, os.cpu_count() or 1)
"""REST worker processes per model: two use both cores of a small machine (about twice the
throughput at concurrency 16 for ~13 MiB more PSS, see bench/REPORT.md); the spec's
``env: {GUNICORN_WORKERS: ...}`` overrides it."""


class SeldonMicroservice(ServerKind):
    name = "seldon-core-microservice"
    protocol = Protocol.SELDON
    requirements = (*SELDON_CORE_DEPENDENCIES, *SELDON_CORE_PINS)
    no_deps = (SELDON_CORE,)
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
