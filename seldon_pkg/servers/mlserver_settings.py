"""MLServer's two settings files for a model served over the Open Inference Protocol.

``settings.json`` (the server: bind address, ports, workers) and ``model-settings.json`` (the
model: its name and our adapter, ``model_wrappers.oip.SeldonModelRuntime``, with the wrapper
class and its parameters). Written as JSON from dicts (seldon_pkg.text_sinks: the JSON sink), so no
spec value can change their structure. Used by the local runtime and by build contexts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from seldon_pkg.spec.model_spec import ModelSpec

ADAPTER = "model_wrappers.oip.SeldonModelRuntime"


def model_settings(name: str, spec: ModelSpec) -> dict[str, Any]:
    """The model as MLServer (and Seldon Core 2's MLServer) loads it; ``name`` is the OIP model name."""
    return {
        "name": name,
        "implementation": ADAPTER,
        "parameters": {
            "version": spec.version,
            "extra": {"wrapper": spec.wrapper, "parameters": dict(spec.parameters)},
        },
    }


def server_settings(
    *, host: str, http_port: int, grpc_port: int, metrics_port: int, workers: int = 0
) -> dict[str, Any]:
    """``parallel_workers: 0`` runs inference in the server process (no IPC hop per request)."""
    return {
        "host": host,
        "http_port": http_port,
        "grpc_port": grpc_port,
        "metrics_port": metrics_port,
        "parallel_workers": workers,
        "load_models_at_startup": True,
    }


def write_model_folder(folder: Path, name: str, spec: ModelSpec, server: dict[str, Any] | None) -> Path:
    """``folder/settings.json`` (when ``server``) and ``folder/<name>/model-settings.json``."""
    (folder / name).mkdir(parents=True, exist_ok=True)
    if server is not None:
        (folder / "settings.json").write_text(json.dumps(server, indent=2))
    (folder / name / "model-settings.json").write_text(json.dumps(model_settings(name, spec), indent=2))
    return folder
