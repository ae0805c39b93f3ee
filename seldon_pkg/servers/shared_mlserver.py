"""One MLServer process serving many Open Inference Protocol models (the local default).

The same server and environment as :mod:`seldon_pkg.servers.mlserver` (so the same installs,
pins and image), started with an empty model repository that the gateway fills and empties
through MLServer's repository API (``POST /v2/repository/models/<name>/load`` and ``/unload``):
a model costs a folder and a load, not a process. The repository is ours
(``model_wrappers.shared_repository``): MLServer's default one parses every model's settings on
each load, which makes loading N models quadratic. Each model's ``model-settings.json`` adds
what its own process would have had from its environment: its folder (import path and working
directory during load), its downloaded files and its own log file (``model_wrappers.model_source``,
``model_wrappers.model_logs``). Which models share one process is decided in
``seldon_pkg.local.shared``; images always serve one model, with the plain MLServer kind.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from seldon_pkg.servers.base import LocalLaunch
from seldon_pkg.servers.mlserver import LAUNCHER, MLServer
from seldon_pkg.servers.mlserver_settings import model_settings, server_settings
from seldon_pkg.spec.model_spec import ModelSpec

REPOSITORY = "model_wrappers.shared_repository.DirectModelRepository"


class SharedMLServer(MLServer):
    name = "mlserver-shared"

    def ready_path(self, model: str) -> str:
        """The server is ready when it is live; its models become ready one by one as they load."""
        return "/v2/health/live"

    def repository(self, workdir: Path) -> Path:
        """The folder of this start's model repository, one sub-folder per model: the folder
        ``mlserver start`` is given (its CLI makes that the repository root, whatever
        ``settings.json`` says)."""
        return workdir

    def command(self, launch: LocalLaunch) -> list[str]:
        settings = {
            **server_settings(
                host="127.0.0.1",
                http_port=launch.http_port,
                grpc_port=launch.grpc_port,
                metrics_port=launch.metrics_port,
            ),
            "load_models_at_startup": False,
            "model_repository_implementation": REPOSITORY,
        }
        launch.workdir.mkdir(parents=True, exist_ok=True)
        (launch.workdir / "settings.json").write_text(json.dumps(settings, indent=2))
        return [str(launch.python), str(LAUNCHER), str(launch.workdir)]

    def write_member(
        self, workdir: Path, name: str, spec: ModelSpec, *, log_file: Path, model_dir: Path | None
    ) -> None:
        """``<repository>/<name>/model-settings.json`` for one model, with its folder, files and log."""
        settings: dict[str, Any] = model_settings(name, spec)
        settings["parameters"]["extra"].update(
            {
                "source_dir": str(spec.source_dir),
                "log_file": str(log_file),
                **({"model_dir": str(model_dir)} if model_dir is not None else {}),
            }
        )
        folder = self.repository(workdir) / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "model-settings.json").write_text(json.dumps(settings, indent=2))

    def remove_member(self, workdir: Path, name: str) -> None:
        settings = self.repository(workdir) / name / "model-settings.json"
        settings.unlink(missing_ok=True)
        if settings.parent.is_dir():
            settings.parent.rmdir()


SHARED_MLSERVER = SharedMLServer()
