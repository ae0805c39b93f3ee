"""seldon_pkg: one model spec drives local serving, manifests, images and cluster deploys.

The public surface is what ``__all__`` lists; everything else is reached through its module
(``seldon_pkg.platforms.registry``, ``seldon_pkg.servers.registry``...). The names are
imported on first use (PEP 562), so ``import seldon_pkg`` stays cheap for the processes that
only need one module (model launchers, the CLI)::

    from seldon_pkg import load_spec, open_target, deployed

    spec = load_spec("demo_mnist/mnist-cnn.yaml")
    with deployed(open_target("local"), spec) as info:
        print(info.url)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "load_spec": "seldon_pkg.spec.model_spec",
    "ModelSpec": "seldon_pkg.spec.model_spec",
    "open_target": "seldon_pkg.targets",
    "deployed": "seldon_pkg.targets",
    "DeploymentInfo": "seldon_pkg.targets.base",
    "DeployPolicy": "seldon_pkg.targets.base",
    "DeployOutcome": "seldon_pkg.targets.base",
    "Endpoint": "seldon_pkg.targets.base",
    "Target": "seldon_pkg.targets.base",
    "Protocol": "seldon_pkg.values",
    "VersionPolicy": "seldon_pkg.values",
    "SeldonPkgError": "seldon_pkg.errors",
    "Invalid": "seldon_pkg.errors",
    "NotFound": "seldon_pkg.errors",
    "NotReady": "seldon_pkg.errors",
    "Refused": "seldon_pkg.errors",
    "SpecError": "seldon_pkg.errors",
    "ManifestError": "seldon_pkg.errors",
}
__all__ = [  # spelled out so tools see it; tests/test_layout.py checks it matches _EXPORTS
    "DeployOutcome",
    "DeployPolicy",
    "DeploymentInfo",
    "Endpoint",
    "Invalid",
    "ManifestError",
    "ModelSpec",
    "NotFound",
    "NotReady",
    "Protocol",
    "Refused",
    "SeldonPkgError",
    "SpecError",
    "Target",
    "VersionPolicy",
    "__version__",
    "deployed",
    "load_spec",
    "open_target",
]

if TYPE_CHECKING:
    from seldon_pkg.errors import Invalid, ManifestError, NotFound, NotReady, Refused, SeldonPkgError, SpecError
    from seldon_pkg.spec.model_spec import ModelSpec, load_spec
    from seldon_pkg.targets import deployed, open_target
    from seldon_pkg.targets.base import DeploymentInfo, DeployOutcome, DeployPolicy, Endpoint, Target
    from seldon_pkg.values import Protocol, VersionPolicy


def __getattr__(name: str) -> Any:
    """Import a public name on first use."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'seldon_pkg' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
