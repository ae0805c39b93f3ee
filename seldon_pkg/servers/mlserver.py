"""MLServer 1.7.1 with our adapter (``model_wrappers.oip``): the Open Inference Protocol's server.

Installed from MLServer's own requirement list with one change (a current FastAPI/Starlette,
which clears Starlette 0.46's advisories) and MLServer itself with ``--no-deps``;
tests/test_oip.py proves its REST and gRPC paths on this set. Locally each start writes its
``settings.json`` and model folder into its own work folder (bound to 127.0.0.1), removed when
it stops; in an image the model folder is ``/app/mlserver`` and the operator passes the ports.
"""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

from seldon_pkg.servers.base import LOCAL_LAUNCHERS, LocalLaunch, ServerKind
from seldon_pkg.servers.mlserver_settings import server_settings, write_model_folder
from seldon_pkg.values import Protocol

if TYPE_CHECKING:
    from pathlib import Path

    from seldon_pkg.spec.model_spec import ModelSpec

MLSERVER = "mlserver==1.7.1"
MLSERVER_DEPENDENCIES = (
    # MLServer 1.7.1's own requirements, with one change: it caps fastapi<0.116, which holds
    # starlette at 0.46.2 and its three high advisories (seldon_pkg/data/advisories.tsv); a current
    # fastapi/starlette clears them. MLServer is then installed with --no-deps.
    "aiofiles",
    "aiokafka",
    "click>=8.3.3",
    "fastapi>=0.133",
    "starlette>=1.3.1",
    "gevent",
    "geventhttpclient",
    "grpcio>=1.67.1",
    "importlib-resources>=5.12,<7.0",
    "opentelemetry-exporter-otlp-proto-grpc>=1.22.0,<2.0.0",
    "opentelemetry-instrumentation-fastapi>=0.43b0",
    "opentelemetry-instrumentation-grpc>=0.43b0",
    "opentelemetry-sdk>=1.22.0,<2.0.0",
    "orjson>=3.11.6",
    "pandas",
    "protobuf>=6.33.5,<7.0.0",
    "py-grpc-prometheus",
    "pydantic>=2.7.1,<3.0.0",
    "pydantic-settings>=2.3.0,<3.0.0",
    "python-dotenv",
    "python-multipart>=0.0.31",
    "starlette-exporter",
    "tritonclient[http]>=2.42",
    "uvicorn",
    "h11>=0.16",
)
MLSERVER_PINS = ("uvloop<0.22", "numpy>=1.26,<2", "setuptools>=83")
"""uvloop 0.22 stops MLServer 1.7 from starting; our wrappers are tested on NumPy 1.26. setuptools:
the one a base image's Python brings is old (65-66, two high advisories); checked on the built
image, where it showed up (the Seldon-protocol set already asked for it)."""
LAUNCHER = LOCAL_LAUNCHERS / "mlserver_launcher.py"
MLSERVER_FOLDER = "mlserver"
"""The model folder inside an image (``/app/mlserver``) that its MLServer loads."""


class MLServer(ServerKind):
    name = "mlserver"
    protocol = Protocol.OIP
    requirements = (*MLSERVER_DEPENDENCIES, *MLSERVER_PINS)
    no_deps = (MLSERVER,)
    constraints_name = "constraints-v2.txt"
    image_ports = "9000 9500"  # what the operator passes in MLSERVER_HTTP_PORT / MLSERVER_GRPC_PORT

    def ready_path(self, model: str) -> str:
        return f"/v2/models/{model}/ready"

    def prediction_path(self, model: str) -> str:
        return f"/v2/models/{model}/infer"

    def command(self, launch: LocalLaunch) -> list[str]:
        server = server_settings(
            host="127.0.0.1", http_port=launch.http_port, grpc_port=launch.grpc_port, metrics_port=launch.metrics_port
        )
        folder = write_model_folder(launch.workdir, launch.name, launch.spec, server)
        return [str(launch.python), str(LAUNCHER), str(folder)]

    def environment(self, launch: LocalLaunch) -> dict[str, str]:
        """``MLSERVER_DEBUG=false`` unless the spec's env says otherwise. MLServer's default
        (``debug: true``) has uvicorn write an access-log line for every request: about 0.1 ms
        of a 1.2 ms single-digit request (py-spy: 6% of the model process's busy time), the
        largest difference between our OIP model process and the benchmark's MLServer peer,
        which runs with ``debug: false``. The gateway and the Seldon-protocol model processes
        keep no access log either. An env variable rather than ``settings.json``, so that a
        spec's ``MLSERVER_DEBUG: "true"`` still turns it on (settings.json would win over it)."""
        debug = launch.spec.env.get("MLSERVER_DEBUG", "false")
        return {**super().environment(launch), "MLSERVER_DEBUG": debug}

    def clean_up(self, launch: LocalLaunch) -> None:
        shutil.rmtree(launch.workdir, ignore_errors=True)

    def image_entrypoint(self, spec: ModelSpec) -> list[str]:
        return ["mlserver", "start", f"/app/{MLSERVER_FOLDER}"]

    def write_image_files(self, spec: ModelSpec, context: Path, model_name: str) -> None:
        """The model as the image's MLServer loads it, named like the graph node."""
        write_model_folder(context / MLSERVER_FOLDER, model_name, spec, server=None)


MLSERVER_KIND = MLServer()
