"""A model repository for MLServer that finds ``<root>/<name>/model-settings.json`` directly.

MLServer's default repository answers ``find(name)`` (what every
``POST /v2/repository/models/<name>/load`` calls) by globbing and parsing every
model-settings.json under its root, so loading the N-th model reads N files and loading N models
one by one reads N²/2. The benchmark's density rows measure both (density.REPOSITORIES) to show
how much of MLServer's per-model load time is that rescan. Set in settings.json as
``"model_repository_implementation": "mlserver_repository.DirectRepository"`` with this folder
on PYTHONPATH.
"""

from __future__ import annotations

import builtins
from pathlib import Path

from mlserver.errors import ModelNotFound
from mlserver.repository import ModelRepository
from mlserver.repository.load import load_model_settings
from mlserver.settings import ModelSettings

SETTINGS_FILE = "model-settings.json"


class DirectRepository(ModelRepository):
    """One folder per model, named as the model: one file read per load."""

    def __init__(self, root: str) -> None:
        self._root = Path(root).resolve()

    async def list(self) -> builtins.list[ModelSettings]:  # `list` is the method here
        """Every model folder's settings (the repository index; not on the load path)."""
        return [load_model_settings(str(path)) for path in sorted(self._root.glob(f"*/{SETTINGS_FILE}"))]

    async def find(self, name: str) -> builtins.list[ModelSettings]:
        """The settings of model ``name`` from its own folder only."""
        path = self._root / name / SETTINGS_FILE
        if "/" in name or not path.is_file():
            raise ModelNotFound(name)
        return [load_model_settings(str(path))]
