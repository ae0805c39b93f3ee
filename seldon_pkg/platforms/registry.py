"""The platforms, listed once: look one up by name, by spec or by manifest, and nothing else
branches on a platform's name.

Adding a platform: its row in ``seldon_pkg.spec.platform_rules`` (what a spec must say to go
there), a module beside this one with a :class:`~seldon_pkg.platforms.base.Platform` subclass
and its instance, and one entry in ``PLATFORMS`` below.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from seldon_pkg.errors import Invalid, ManifestError
from seldon_pkg.platforms.base import Platform
from seldon_pkg.platforms.kserve import KSERVE
from seldon_pkg.platforms.metadata import deployment_name_on
from seldon_pkg.platforms.seldon import SELDON
from seldon_pkg.platforms.seldon_v2 import SELDON_V2
from seldon_pkg.spec.platform_rules import DEFAULT_RULES
from seldon_pkg.values import did_you_mean

if TYPE_CHECKING:
    from seldon_pkg.spec.model_spec import ModelSpec

PLATFORMS: dict[str, Platform] = {platform.name: platform for platform in (SELDON, KSERVE, SELDON_V2)}
DEFAULT_PLATFORM = PLATFORMS[DEFAULT_RULES.name]
"""What a spec without ``platform:`` renders to, and what cluster verbs work on by default."""
PLATFORM_NAMES = tuple(PLATFORMS)


def platform_named(name: str) -> Platform:
    """The platform called ``name`` (a spec's ``platform``, ``--platform``), or ``Invalid``."""
    try:
        return PLATFORMS[name]
    except KeyError:
        raise Invalid(
            f"platform: must be one of {', '.join(PLATFORMS)}{did_you_mean(name, PLATFORMS)}, got {name!r}"
        ) from None


def platform_of(spec: ModelSpec) -> Platform:
    """The platform ``spec`` renders to (the parser checked the name)."""
    return PLATFORMS[spec.platform]


def platform_of_manifest(manifest: dict[str, Any]) -> Platform:
    """The platform whose custom resource ``manifest`` is (by apiVersion and kind)."""
    for platform in PLATFORMS.values():
        resource = platform.resource
        if (manifest.get("apiVersion"), manifest.get("kind")) == (resource.api_version, resource.kind):
            return platform
    raise ManifestError(
        f"not a manifest of any platform: apiVersion {manifest.get('apiVersion')!r}, kind {manifest.get('kind')!r}"
    )


def render(spec: ModelSpec) -> dict[str, Any]:
    """The manifest for ``spec`` on its platform."""
    return platform_of(spec).render(spec)


def validate(manifest: dict[str, Any]) -> None:
    """Check a rendered manifest against its platform's rules (raises ``ManifestError``)."""
    platform_of_manifest(manifest).validate(manifest)


def name_of(spec: ModelSpec) -> str:
    """The deployment's name on the spec's platform."""
    return deployment_name_on(platform_of(spec), spec)
