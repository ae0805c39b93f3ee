"""The local deployments, persisted in ``<state>/registry.json``.

A record keeps the spec's text and folder (not just its path) so that restarting the gateway
restores exactly what was deployed, even if the spec file was edited since.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

from seldon_pkg.errors import Invalid, SeldonPkgError
from seldon_pkg.local.state import StateDir
from seldon_pkg.platforms.metadata import identity_of, revision_of
from seldon_pkg.platforms.registry import name_of
from seldon_pkg.spec.model_spec import ModelSpec, parse_spec


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
    def from_spec(cls, spec: ModelSpec, spec_text: str) -> Record:
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

    @classmethod
    def from_dict(cls, data: dict) -> Record:
        """A record sent back by a client (restore); unknown keys are refused by the constructor."""
        try:
            return cls(**data)
        except TypeError as error:
            raise Invalid(f"not a deployment record: {error}") from None

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def key(self) -> tuple[str, str]:
        return (self.namespace, self.name)

    def spec(self) -> ModelSpec:
        return parse_spec(
            yaml.safe_load(self.spec_text), source_dir=Path(self.source_dir), source=f"registry:{self.name}"
        )


class Registry:
    """A dict of records plus its file; every change is written through at once."""

    def __init__(self, state: StateDir) -> None:
        self._state = state
        self._records = {(r.namespace, r.name): r for r in self._load(state.registry_file)}
        self._encoded = {key: _encoded(record) for key, record in self._records.items()}
        """Each record's JSON, made once when it is put: a write joins them instead of encoding
        every record again (with 1,000 models that was 46 ms of each deploy's 65)."""

    @staticmethod
    def _load(path: Path) -> list[Record]:
        """The records of ``path``; a damaged file stops the gateway with the way out.

        Starting with an empty registry instead would silently forget every deployed model
        (and the next write would overwrite the damaged file). Every write also refreshes
        ``registry.json.bak``, so the last good copy is always one ``cp`` away.
        """
        if not path.exists():
            return []
        backup = path.with_name(path.name + ".bak")
        try:
            raw = json.loads(path.read_text())
            return [Record(**r) for r in raw["deployments"]]
        except (ValueError, KeyError, TypeError) as error:
            hint = (
                f"the last good copy is {backup}: `cp {backup} {path}` restores it"
                if backup.exists()
                else "there is no backup; move the file away to start empty"
            )
            raise SeldonPkgError(
                f"the local registry {path} is damaged ({type(error).__name__}: {error}); {hint}"
            ) from None

    def records(self) -> list[Record]:
        return sorted(self._records.values(), key=lambda r: (r.namespace, r.name))

    def get(self, namespace: str, name: str) -> Record | None:
        return self._records.get((namespace, name))

    def put(self, record: Record) -> None:
        self._records[record.key] = record
        self._encoded[record.key] = _encoded(record)
        self._save()

    def remove(self, namespace: str, name: str) -> Record | None:
        record = self._records.pop((namespace, name), None)
        self._encoded.pop((namespace, name), None)
        self._save()
        return record

    def _save(self) -> None:
        """``registry.json`` and its ``.bak`` (the same bytes), each replaced atomically."""
        text = '{"deployments": [\n' + ",\n".join(self._encoded[key] for key in sorted(self._encoded)) + "\n]}\n"
        path = self._state.registry_file
        self._state.write_text(path, text)
        self._state.write_text(path.with_name(path.name + ".bak"), text)


def _encoded(record: Record) -> str:
    return json.dumps(asdict(record), sort_keys=True)
