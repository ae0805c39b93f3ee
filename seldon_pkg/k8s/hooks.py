"""Cleanup hooks: callables run before/after a delete and when a revision is replaced.

A hook that fails is reported in the result, never allowed to hide whether the deletion itself
worked (the deletion still happens and its outcome is still returned).

    from seldon_pkg.k8s import hooks
    hooks.DEFAULT.before_delete.append(lambda sdep: archive_metrics(sdep["metadata"]["name"]))
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

DeleteHook = Callable[[dict], None]
ReplaceHook = Callable[[dict, dict], None]  # (old SeldonDeployment, new SeldonDeployment)


@dataclass
class Hooks:
    before_delete: list[DeleteHook] = field(default_factory=list)
    after_delete: list[DeleteHook] = field(default_factory=list)
    on_replace: list[ReplaceHook] = field(default_factory=list)

    def run(self, which: str, *args: dict) -> list[str]:
        """Run every hook of one kind; return their failures as readable strings."""
        failures = []
        for hook in getattr(self, which):
            try:
                hook(*args)
            except Exception as error:  # a hook must not stop the cleanup
                name = getattr(hook, "__name__", repr(hook))
                failures.append(
                    f"{which} hook {name} failed: {type(error).__name__}: {error}\n{traceback.format_exc(limit=3)}"
                )
        return failures


DEFAULT = Hooks()
"""The process-wide hooks the CLI and the default arguments use."""
