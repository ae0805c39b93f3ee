"""The model repository of a shared MLServer process: ``<root>/<name>/model-settings.json``.

MLServer's default repository (``SchemalessModelRepository``) answers ``find(name)`` by parsing
every ``model-settings.json`` under its root, so each load through the repository API costs
time proportional to the models already there: loading N models costs N^2/2 parses (measured on
1.7.1: about 60 ms per load up to 50 models, 210 ms from 51 to 200). The gateway writes one
folder per model named after it, so ``find`` reads that one file: constant time per load.

Named in the server's ``settings.json`` as ``model_repository_implementation``; runs inside the
model environment's MLServer (no seldon_pkg there). ``parameters.uri`` still defaults to the
model's folder (MLServer's ``load_model_settings`` sets it).
"""

from __future__ import annotations

import builtins
import os

from mlserver.errors import ModelNotFound
from mlserver.repository import ModelRepository
from mlserver.repository.load import load_model_settings
from mlserver.settings import ModelSettings

SETTINGS_FILE = "model-settings.json"


class DirectModelRepository(ModelRepository):
    """Finds a model by its folder's name; lists the folders one level under the root."""

    def __init__(self, root: str) -> None:
        self._root = os.path.abspath(root)

    def _settings_path(self, name: str) -> str:
        return os.path.join(self._root, name, SETTINGS_FILE)

    async def list(self) -> list[ModelSettings]:
        try:
            names = sorted(os.listdir(self._root))
        except FileNotFoundError:
            return []
        paths = [self._settings_path(name) for name in names]
        return [_without_source(load_model_settings(path)) for path in paths if os.path.isfile(path)]

    async def find(self, name: str) -> builtins.list[ModelSettings]:
        # a name is one path segment (the gateway's DNS-safe deployment names); anything else is unknown
        if not name or name != os.path.basename(name) or name in {".", ".."}:
            raise ModelNotFound(name)
        path = self._settings_path(name)
        if not os.path.isfile(path):
            raise ModelNotFound(name)
        return [_without_source(load_model_settings(path))]


def _without_source(settings: ModelSettings) -> ModelSettings:
    """Forget which file the settings came from. With it, MLServer re-imports the implementation's
    module (``importlib.reload`` of model_wrappers.oip) with that folder on ``sys.path`` on every
    load: a cost per load, and a reload would re-create the module's per-process state. Our
    adapter gets its model's folder from ``extra.source_dir`` instead."""
    settings._source = None
    return settings
