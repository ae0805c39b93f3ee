"""What a spec must say to go on each platform: the part of a platform the spec parser checks.

The spec sits below the platforms and imports none of their modules; each ``Platform`` object
(``seldon_pkg.platforms``) takes its rules from this table (``Platform.rules``), so a
platform's name, whether it serves only the Open Inference Protocol, and whether a model has a
pod spec of its own are each written once, here. Adding a platform: a row here, then its module
in ``seldon_pkg/platforms/`` (docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from seldon_pkg.values import Protocol

if TYPE_CHECKING:
    from seldon_pkg.spec.model_spec import ModelSpec

Fail = Callable[[str, str], Exception]
"""How a spec check reports a problem: ``fail(field, reason)`` returns the error to raise."""


@dataclass(frozen=True)
class PlatformRules:
    name: str
    """How specs and ``--platform`` name the platform (``seldon``, ``kserve``, ``seldon-v2``)."""
    serves_only_oip: bool = False
    """True when the platform's model server speaks only the Open Inference Protocol (a spec
    for it then defaults to ``protocol: v2`` and may not say ``seldon``)."""
    pod_spec_per_model: bool = True
    """False when a model has no pod spec of its own (Seldon Core 2 places Models on Servers):
    the spec's accelerator may then not say where pods go (``node_selector``, ``tolerations``)."""

    @property
    def default_protocol(self) -> Protocol:
        return Protocol.OIP if self.serves_only_oip else Protocol.SELDON

    def check_spec(self, spec: ModelSpec, fail: Fail) -> None:
        """Refuse a spec this platform cannot take, naming the field (called by the spec parser
        and by ``on_platform``)."""
        if self.serves_only_oip and spec.protocol is not Protocol.OIP:
            raise fail(
                "protocol",
                f"platform {self.name} serves the Open Inference Protocol: the spec says protocol: {spec.protocol}; "
                "use protocol: v2",
            )
        accelerator = spec.accelerator
        if self.pod_spec_per_model or accelerator is None:
            return
        for key, given in (
            ("node_selector", accelerator.node_selector),
            ("tolerations", accelerator.explicit_tolerations),
        ):
            if given:
                raise fail(
                    f"accelerator.{key}",
                    f"platform {self.name} places a Model on a Server and has no pod spec per model: "
                    "set it on the Server's podSpec; the Model asks for a GPU Server by capability",
                )


SELDON_RULES = PlatformRules("seldon")
KSERVE_RULES = PlatformRules("kserve", serves_only_oip=True)
SELDON_V2_RULES = PlatformRules("seldon-v2", serves_only_oip=True, pod_spec_per_model=False)
RULES: dict[str, PlatformRules] = {rules.name: rules for rules in (SELDON_RULES, KSERVE_RULES, SELDON_V2_RULES)}
DEFAULT_RULES = SELDON_RULES
"""A spec without ``platform:`` goes to Seldon Core 1 (``platforms.registry.DEFAULT_PLATFORM``)."""
PLATFORM_NAMES = tuple(RULES)
