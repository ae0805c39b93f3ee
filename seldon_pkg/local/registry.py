"""The local deployments, persisted in ``<state>/registry.json``.

A record keeps the spec's text and folder (not just its path) so that restarting the gateway
restores exactly what was deployed, even if the spec file was edited since.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

from seldon_pkg.local.state import StateDir
from seldon_pkg.manifests import identity_of, name_of, revision_of
from seldon_pkg.spec import ModelSpec, parse_spec


@dataclass
class Record:
    name: str
    namespace: str
    model: str
    version: str
    revision: str
    spec_text: str
    source_dir: str
    created_at: float = field(default_factory=time.time)

    @classmethod
    def from_spec(cls, spec: ModelSpec, spec_text: str) -> "Record":
        identity = identity_of(spec)
        return cls(
            name=name_of(spec),
            namespace=identity.namespace,
            model=identity.model,
            version=identity.version,
            revision=revision_of(spec),
            spec_text=spec_text,
            source_dir=str(spec.source_dir),
        )

    @property
    def key(self) -> tuple[str, str]:
        return (self.namespace, self.name)

    def spec(self) -> ModelSpec:
        return parse_spec(yaml.safe_load(self.spec_text), source_dir=Path(self.source_dir), source=f"registry:{self.name}")


class Registry:
    """A dict of records plus its file; every change is written through at once."""

    def __init__(self, state: StateDir) -> None:
        self._state = state
        raw = state.read_json(state.registry_file, default={"deployments": []})
        self._records = {(r["namespace"], r["name"]): Record(**r) for r in raw["deployments"]}

    def records(self) -> list[Record]:
        return sorted(self._records.values(), key=lambda r: (r.namespace, r.name))

    def get(self, namespace: str, name: str) -> Record | None:
        return self._records.get((namespace, name))

    def put(self, record: Record) -> None:
        self._records[record.key] = record
        self._save()

    def remove(self, namespace: str, name: str) -> Record | None:
        record = self._records.pop((namespace, name), None)
        self._save()
        return record

    def _save(self) -> None:
        self._state.write_json(self._state.registry_file, {"deployments": [asdict(r) for r in self.records()]})
