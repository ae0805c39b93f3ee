"""Manifests as YAML text, the way ``render`` prints them and ``kubectl apply -f`` reads them."""

from __future__ import annotations

from typing import Any

import yaml


class _PlainDumper(yaml.SafeDumper):
    """Never writes YAML anchors/aliases: shared label dicts are spelled out in full."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def to_yaml(*documents: dict[str, Any]) -> str:
    """YAML documents separated by ``---``, keys in the order they were built."""
    return "---\n".join(yaml.dump(doc, Dumper=_PlainDumper, sort_keys=False) for doc in documents)
