"""What a model needs installed to be served: one answer for images and local runtimes.

The model server (``seldon-core`` for the Seldon protocol, ``mlserver`` for the Open Inference
Protocol) with the pins it needs, plus what the wrapper declares for the given model
file (a ready wrapper asks for TensorFlow only for Keras/SavedModel files), plus the model's own
``requirements.txt``. Keeping this in one place means the image and the local runtime
environment of a model never disagree.
"""

from __future__ import annotations

from pathlib import Path

from model_wrappers.catalog import requirements_for
from seldon_pkg.spec import ModelSpec

SELDON_CORE = "seldon-core==1.17.1"
SELDON_CORE_PINS = ("numpy>=1.26,<2", "protobuf>=3.20,<4", "setuptools<81")
"""seldon-core 1.17.1 breaks with numpy 2 / protobuf 4, and its gunicorn needs pkg_resources."""
WRAPPERS_PACKAGE = "model_wrappers"
ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"


def uses_ready_wrappers(spec: ModelSpec) -> bool:
    """True when the model imports ``model_wrappers`` (a ready wrapper or a subclass of one)."""
    if spec.module.split(".")[0] == WRAPPERS_PACKAGE:
        return True
    return any("model_wrappers" in path.read_text(errors="ignore") for path in spec.source_dir.glob("*.py"))


def wrapper_requirements(spec: ModelSpec) -> list[str]:
    """Requirements a ready wrapper declares for this spec's parameters (e.g. onnxruntime).

    Read from ``model_wrappers.catalog`` rather than the class, so that nothing here imports
    seldon-core (and through it TensorFlow)."""
    return requirements_for(spec.wrapper, spec.parameters, gpu=spec.accelerator is not None)


MLSERVER = "mlserver==1.7.1"
MLSERVER_DEPENDENCIES = (
    # MLServer 1.7.1's own requirements, with one change: it caps fastapi<0.116, which holds
    # starlette at 0.46.2 and its three high advisories (seldon_pkg/data/advisories.tsv); a current
    # fastapi/starlette clears them. MLServer is then installed with --no-deps (see
    # no_deps_requirements); tests/test_oip.py proves its REST and gRPC paths on this set.
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
MLSERVER_PINS = ("uvloop<0.22", "numpy>=1.26,<2")
"""uvloop 0.22 stops MLServer 1.7 from starting; our wrappers are tested on NumPy 1.26."""


def server_requirements(spec: ModelSpec) -> list[str]:
    """The model server for the spec's protocol: seldon-core (Seldon) or MLServer's dependencies (OIP)."""
    return [*MLSERVER_DEPENDENCIES, *MLSERVER_PINS] if spec.protocol == "v2" else [SELDON_CORE, *SELDON_CORE_PINS]


def no_deps_requirements(spec: ModelSpec) -> list[str]:
    """Installed after the rest with ``pip install --no-deps``: MLServer itself, for OIP models."""
    return [MLSERVER] if spec.protocol == "v2" else []


def constraints_file(spec: ModelSpec) -> Path:
    """The pins for that server's environment (the two protocols need different protobufs)."""
    return DATA / ("constraints-v2.txt" if spec.protocol == "v2" else "constraints.txt")


def serving_requirements(spec: ModelSpec) -> list[str]:
    """The full, ordered, de-duplicated pip requirement list for serving ``spec``."""
    wanted = server_requirements(spec)
    wanted += wrapper_requirements(spec)
    wanted += spec.requirements
    return list(dict.fromkeys(wanted))  # first occurrence wins, order kept


def requirements_file(spec: ModelSpec) -> str:
    """The text of the requirements file for images and local environments (one writer for both).

    Index options (only present when the spec set ``allow_pip_options``) come first, then one
    parsed requirement per line: nothing else can reach pip (seldon_pkg.pip_requirements)."""
    return "\n".join([*spec.pip_options, *serving_requirements(spec)]) + "\n"
