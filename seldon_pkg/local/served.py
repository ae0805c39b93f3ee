"""The one face a served model shows the gateway, whatever serves it.

A model runs in a process group of its own (``process.ModelProcess``) or as one model of a
shared MLServer process (``shared.SharedModel``). Both implement :class:`ServedModel`, so the
gateway routes, supervises, describes, redeploys, deletes and shuts down without asking which
kind it holds. What they share is written once in ``process.py``: the restart backoff
(``Backoff``) and the header each run appends to the model's log (``begin_run``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    import aiohttp

    from seldon_pkg.local.environments import RuntimeEnvironment
    from seldon_pkg.local.process import Ports, State
    from seldon_pkg.servers.base import ServerKind
    from seldon_pkg.spec.model_spec import ModelSpec


@runtime_checkable
class ServedModel(Protocol):
    name: str
    spec: ModelSpec
    log_path: Path
    model_dir: Path | None

    # what the gateway reads: routing, describe, list
    @property
    def state(self) -> State: ...
    @property
    def last_error(self) -> str: ...
    @property
    def ports(self) -> Ports: ...
    @property
    def pid(self) -> int | None: ...
    @property
    def restarts(self) -> int: ...
    @property
    def environment(self) -> RuntimeEnvironment: ...
    @property
    def server(self) -> ServerKind: ...
    @property
    def isolation(self) -> str:
        """``process`` (a process group of its own) or ``shared``."""
        ...

    @property
    def shared_server(self) -> str | None:
        """The shared server it is loaded in; ``None`` for a process of its own."""
        ...

    # its lifecycle
    def start_message(self) -> str:
        """What a deploy's progress says while it starts."""
        ...

    async def start(self, session: aiohttp.ClientSession, timeout: float) -> None:
        """Until it serves; ``StartError`` (its own error first) when it does not."""
        ...

    async def stop(self) -> None:
        """Stop serving it (a process is stopped, a shared model unloaded)."""
        ...

    def crashed(self) -> bool:
        """It died on its own while it was serving (the supervisor then restarts it)."""
        ...

    def crash_reason(self) -> str:
        """Why it died, for the log line of the restart (after ``crashed``)."""
        ...

    def schedule_restart(self, session: aiohttp.ClientSession, timeout: float, reason: str) -> None:
        """Unavailable at once, started again after the next backoff delay."""
        ...

    async def shutdown(self) -> None:
        """What the gateway's own shutdown does to it."""
        ...

    def current_log(self) -> str:
        """Its log since its latest start."""
        ...
