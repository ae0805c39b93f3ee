"""Which deployment a data-plane request means: one rule for REST and gRPC alike.

A request names a deployment (``name``), maybe its namespace, and arrives in one protocol.
:func:`resolve` answers the deployment that can take it, or a :class:`RouteError` saying why
not, whose ``kind`` each transport maps to its own status:

==================  =========  =====================  ==========================================
kind                REST       gRPC                   when
==================  =========  =====================  ==========================================
``not_found``       404        NOT_FOUND              nothing of that name (the deployed listed)
``ambiguous``       400        INVALID_ARGUMENT       no namespace given, the name is in several
``unavailable``     503        UNAVAILABLE            restarting, starting, or being restored
``wrong_protocol``  400        FAILED_PRECONDITION    it speaks the other protocol (named)
==================  =========  =====================  ==========================================

Without a namespace the name is looked up in every namespace (never silently in ``default``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from seldon_pkg.local.gateway import Deployment, Gateway
from seldon_pkg.local.process import State
from seldon_pkg.values import Protocol

RouteErrorKind = Literal["not_found", "ambiguous", "unavailable", "wrong_protocol"]
PROTOCOL_NAMES = {
    Protocol.SELDON: "the Seldon protocol (protocol: seldon)",
    Protocol.OIP: "the Open Inference Protocol (protocol: v2)",
}


@dataclass
class RouteError(Exception):
    """Why no deployment can take the request; ``details`` are extra JSON fields (lists)."""

    kind: RouteErrorKind
    message: str
    details: dict[str, list[str]] = field(default_factory=dict)
    deployment: Deployment | None = None
    """The deployment found, for ``wrong_protocol`` (its protocol decides the hint)."""

    def __str__(self) -> str:
        return self.message


def resolve(gateway: Gateway, name: str, protocol: Protocol, namespace: str | None = None) -> Deployment:
    """The deployment ``namespace``/``name`` (any namespace when ``None``) that serves
    ``protocol`` and is Available, or :class:`RouteError`."""
    deployment = _find(gateway, name, namespace)
    where = f"{deployment.record.namespace}/{name}"
    spoken = deployment.process.spec.protocol
    if spoken != protocol:
        raise RouteError("wrong_protocol", f"{where} speaks {PROTOCOL_NAMES[spoken]}", deployment=deployment)
    process = deployment.process
    if process.state is not State.AVAILABLE:
        reason = f": {process.last_error[:500]}" if process.last_error else ""
        raise RouteError("unavailable", f"{where} is {process.state.value.lower()}{reason}", deployment=deployment)
    return deployment


def _find(gateway: Gateway, name: str, namespace: str | None) -> Deployment:
    if namespace is not None:
        found = gateway.route(namespace, name)
        if found is not None:
            return found
        restoring = gateway.registry.get(namespace, name) is not None
        what = f"{namespace}/{name}"
    else:
        matches = [d for (_, n), d in gateway.deployments.items() if n == name]  # every OIP-root request: no sort
        if len(matches) > 1:
            candidates = sorted(f"{d.record.namespace}/{name}" for d in matches)
            raise RouteError(
                "ambiguous",
                f"{name!r} is deployed in several namespaces ({', '.join(candidates)}); name the namespace",
                {"candidates": candidates},
            )
        if matches:
            return matches[0]
        restoring = any(record.name == name for record in gateway.registry.records())
        what = name
    if restoring:  # registered, its process not started yet (the gateway is restoring it)
        raise RouteError("unavailable", f"{what} is being restored")
    deployed = gateway.names()
    raise RouteError(
        "not_found",
        f"no deployment {what}; deployed: {', '.join(deployed) or 'none'}",
        {"deployments": deployed, "models": [n for _, n in sorted(gateway.deployments)]},
    )
