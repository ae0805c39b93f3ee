"""The model servers, listed once: which one serves a protocol.

Adding a server: a module beside this one with a :class:`~seldon_pkg.servers.base.ServerKind`
subclass and its instance, and one entry below. The shared multi-model MLServer
(``shared_mlserver.SHARED_MLSERVER``) is the local runtime's third kind: the same server and
environment as the OIP one, run by ``seldon_pkg.local.shared`` for a spec that shares
(``ModelSpec.shares_server``), so it is not in this table; images and manifests use ``server_for``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from seldon_pkg.servers.base import ServerKind
from seldon_pkg.servers.microservice import MICROSERVICE
from seldon_pkg.servers.mlserver import MLSERVER_KIND
from seldon_pkg.values import Protocol

if TYPE_CHECKING:
    from seldon_pkg.spec.model_spec import ModelSpec

SERVERS: dict[Protocol, ServerKind] = {server.protocol: server for server in (MICROSERVICE, MLSERVER_KIND)}


def server_for(spec: ModelSpec) -> ServerKind:
    """The server that serves ``spec`` (by its protocol)."""
    return SERVERS[spec.protocol]
