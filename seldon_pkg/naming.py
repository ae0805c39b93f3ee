"""Every Kubernetes name seldon_pkg creates is made here, and only here.

The overwrite problem: applying a SeldonDeployment with an existing ``metadata.name`` updates
that deployment, so two models that end up with the same name replace each other. Our rule:

* identity = (namespace, model name, version);
* SeldonDeployment name = readable slug of ``name-version`` + ``-`` + 10 hex chars of the
  SHA-256 of the identity; the same identity always gives the same name (a redeploy is an
  update), different identities give different names (the hash covers the full, untruncated
  identity, so cutting the slug cannot create collisions);
* the name fits the operator's derived names: Deployment ``<sdep>-<predictor>-<idx>-<container>``
  and Services ``<sdep>-<predictor>`` / ``<sdep>-<predictor>-<container>`` must stay <= 63
  characters, or the operator silently replaces them by ``seldon-<md5>``. With the predictor
  ``default`` (or ``canary``) and the container ``classifier`` that leaves 42 characters;
* it starts with a letter, because the Services must be DNS-1035 labels.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass

MAX_NAME = 63
"""Kubernetes label / DNS label limit, and the operator's md5 fallback threshold."""
HASH_LENGTH = 10
PREDICTOR = "default"
CANARY_PREDICTOR = "canary"
CONTAINER = "classifier"
"""The graph node and container name (the operator requires them to be equal)."""
COMPONENT_INDEX = "0"
SDEP_MAX = MAX_NAME - len(f"-{PREDICTOR}-{COMPONENT_INDEX}-{CONTAINER}")
"""42: the longest SeldonDeployment name whose derived names all fit in 63."""
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class Identity:
    """What makes a deployment distinct: two specs with equal identities are the same model."""

    namespace: str
    model: str
    version: str

    def digest(self) -> str:
        """A short stable hash of the whole identity (JSON so fields cannot run together)."""
        encoded = json.dumps([self.namespace, self.model, self.version], ensure_ascii=False)
        return hashlib.sha256(encoded.encode("utf-8")).hexdigest()[:HASH_LENGTH]


def slug(text: str) -> str:
    """Lower-case ASCII letters, digits and single dashes; accents folded, the rest dropped."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return _NOT_SLUG.sub("-", folded.lower()).strip("-")


def fit(prefix: str, suffix: str, limit: int) -> str:
    """``prefix-suffix`` within ``limit`` characters, cutting the prefix, never ending in ``-``."""
    room = limit - len(suffix) - 1
    cut = prefix[:room].rstrip("-")
    return f"{cut}-{suffix}" if cut else suffix


def deployment_name(identity: Identity) -> str:
    """The SeldonDeployment name for an identity (<= 42 chars, DNS-1035, stable)."""
    return _named(f"{identity.model}-{identity.version}", identity.digest())


def chart_release_name(namespace: str, release: str, model: str, version: str) -> str:
    """The name the Helm chart gives a release (manifests/charts/seldon-model/templates/_helpers.tpl).

    The same rule as :func:`deployment_name`, with the release in the identity so that two
    releases of one model never share a name. Two differences come from Helm, not from us:
    the readable part is the release name (Helm already limits it to ``[a-z0-9.-]``), and the
    identity is hashed as Helm's ``toJson`` writes it (Go's encoding: no spaces, ``<>&`` and
    U+2028/9 escaped). ``tests/test_helm.py`` renders hostile values with the real ``helm``
    and compares them with this function.
    """
    return _named(
        release, hashlib.sha256(go_json([namespace, release, model, version]).encode()).hexdigest()[:HASH_LENGTH]
    )


def go_json(value: object) -> str:
    """``value`` as Go's ``encoding/json`` (hence Helm's ``toJson``) writes it."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    for raw, escaped in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(raw, escaped)
    return text


def _named(readable_source: str, digest: str) -> str:
    """Slug of ``readable_source`` (starting with a letter) + ``-`` + ``digest``, within 42."""
    readable = slug(readable_source)
    if not readable or not readable[0].isalpha():
        readable = f"m-{readable}".rstrip("-")
    return fit(readable, digest, SDEP_MAX)


DEPLOYMENT_NAME = re.compile(rf"^[a-z]([-a-z0-9]*[a-z0-9])?-[0-9a-f]{{{HASH_LENGTH}}}$")


def is_deployment_name(text: str) -> bool:
    """True when ``text`` has the shape :func:`deployment_name` gives (slug + hash, <= 42)."""
    return len(text) <= SDEP_MAX and bool(DEPLOYMENT_NAME.match(text))


def derived_names(sdep: str, predictor: str = PREDICTOR, container: str = CONTAINER) -> dict[str, str]:
    """The names the Seldon operator derives from a SeldonDeployment (for checks and lookups)."""
    return {
        "deployment": f"{sdep}-{predictor}-{COMPONENT_INDEX}-{container}",
        "predictor_service": f"{sdep}-{predictor}",
        "container_service": f"{sdep}-{predictor}-{container}",
        "container_label_key": f"seldon-app-svc-{container}",
    }


def label_value(text: str) -> str:
    """A valid label value (<= 63, alphanumeric ends) that keeps ``text`` readable.

    Values that are already valid are kept; others are slugged and, if changed or cut,
    suffixed with a hash of the original so distinct inputs stay distinct.
    """
    if re.fullmatch(r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?", text):
        return text
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]
    return fit(slug(text), digest, MAX_NAME)
