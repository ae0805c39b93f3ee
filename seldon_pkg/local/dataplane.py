"""What the gateway itself answers about the server, one answer for REST and gRPC alike.

OIP's server health (REST ``/v2/health/live|ready``, gRPC ``ServerLive``/``ServerReady``) is
decided here, and each transport only encodes it: live while the gateway answers at all, ready
when every deployment's model is Available (a model that is starting, restarting or being
restored makes the server not ready, over both transports). Which deployment a model call
means is the other shared rule (``resolution.resolve``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from seldon_pkg.local.process import State

if TYPE_CHECKING:
    from seldon_pkg.local.gateway import Gateway


def server_live(gateway: Gateway) -> bool:
    """The gateway answers, so it is live (a model's health is ``server_ready``'s question)."""
    return True


def server_ready(gateway: Gateway) -> bool:
    """Every deployment's model is Available (true with no deployment: nothing is waited for)."""
    return all(deployment.process.state is State.AVAILABLE for deployment in gateway.deployments.values())
