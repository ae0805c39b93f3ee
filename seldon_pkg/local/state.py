"""The state folder shared by ``seldon-pkg serve`` and every ``--target local`` command.

Chosen by ``--state-dir``, else ``$SELDON_PKG_STATE_DIR``, else ``~/.seldon-pkg``. Holds::

    token          secret for the control API (mode 0600)
    gateway.json   where the running gateway listens (ports, pid), ready once models are restored
    registry.json  the deployments, so a restarted gateway restores them
    logs/          one log per model process
    envs/          runtime environments, one per requirements hash ($SELDON_PKG_ENVS_DIR
                   moves them elsewhere, e.g. to share them between state folders)
    lib/           the copy of model_wrappers that model environments import
    storage/       models fetched from a spec's storage_uri (seldon_pkg.storage.fetch)
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ENV_VAR = "SELDON_PKG_STATE_DIR"
ENVS_VAR = "SELDON_PKG_ENVS_DIR"
"""Optional: share runtime environments between state folders (tests, CI caches)."""


def resolve_state_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    if explicit:
        return Path(explicit).expanduser().resolve()
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser().resolve()
    return Path.home() / ".seldon-pkg"


@dataclass(frozen=True)
class StateDir:
    root: Path

    @classmethod
    def open(cls, explicit: str | os.PathLike[str] | None = None) -> StateDir:
        state = cls(resolve_state_dir(explicit))
        for folder in (state.root, state.logs, state.envs, state.lib):
            folder.mkdir(parents=True, exist_ok=True)
        return state

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    def log_file(self, namespace: str, name: str) -> Path:
        """One model's log; it outlives the deployment, so a failed deploy can still be read."""
        return self.logs / f"{namespace}.{name}.log"

    @property
    def envs(self) -> Path:
        shared = os.environ.get(ENVS_VAR)
        return Path(shared).expanduser().resolve() if shared else self.root / "envs"

    @property
    def lib(self) -> Path:
        return self.root / "lib"

    @property
    def storage(self) -> Path:
        return self.root / "storage"

    @property
    def registry_file(self) -> Path:
        return self.root / "registry.json"

    @property
    def failed_file(self) -> Path:
        """Deploys whose process never started (findable by model name until deleted or replaced)."""
        return self.root / "failed.json"

    @property
    def gateway_file(self) -> Path:
        return self.root / "gateway.json"

    def token(self) -> str:
        """The control-API secret, created on first use, readable by this user only."""
        path = self.root / "token"
        if not path.exists():
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as handle:
                handle.write(secrets.token_urlsafe(32))
        return path.read_text().strip()

    def write_json(self, path: Path, data: Any) -> None:
        """Atomic replace, so a crash never leaves half a registry."""
        self.write_text(path, json.dumps(data, indent=2, sort_keys=True))

    @staticmethod
    def write_text(path: Path, text: str) -> None:
        """Write ``text`` to a temporary file beside ``path``, then rename it over ``path``."""
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_text(text)
        os.replace(temporary, path)

    def read_json(self, path: Path, default: Any) -> Any:
        try:
            return json.loads(path.read_text())
        except FileNotFoundError:
            return default
