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

Each platform has its own budget (``Platform.name_budget``, in its module under
``seldon_pkg/platforms/``), read from its controller code. When a budget leaves no room for a
readable part (a long KServe namespace), the name is all hash (:func:`short_deployment_name`:
a letter and at least 6 hex characters, 24 bits); the ownership check refuses the rare
collision as it does any object that is not the model's own.
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
CONTAINER = "classifier"
"""The model's name inside every image and pod: Seldon's graph node and container (the
operator requires them to be equal), MLServer's model name in our images."""
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
SHORTEST_NAME = len("m-") + HASH_LENGTH
"""A letter, a dash and the hash: the least a readable name needs."""
SHORT_HASH_MIN = 6
"""Hex characters an all-hash name keeps at least (24 bits)."""
SHORTEST_HASH_NAME = len("m") + SHORT_HASH_MIN
"""The least any budget must leave: a letter and 24 bits of hash."""


@dataclass(frozen=True)
class Identity:
    """What makes a deployment distinct: two specs with equal identities are the same model."""

    namespace: str
    model: str
    version: str

    def digest(self, length: int = HASH_LENGTH) -> str:
        """A short stable hash of the whole identity (JSON so fields cannot run together)."""
        encoded = json.dumps([self.namespace, self.model, self.version], ensure_ascii=False)
        return hashlib.sha256(encoded.encode("utf-8")).hexdigest()[:length]


class NameBudgetError(ValueError):
    """No name fits the platform's budget (e.g. a KServe namespace too long for its host label)."""


def slug(text: str) -> str:
    """Lower-case ASCII letters, digits and single dashes; accents folded, the rest dropped."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return _NOT_SLUG.sub("-", folded.lower()).strip("-")


def fit(prefix: str, suffix: str, limit: int) -> str:
    """``prefix-suffix`` within ``limit`` characters, cutting the prefix, never ending in ``-``."""
    room = limit - len(suffix) - 1
    cut = prefix[:room].rstrip("-")
    return f"{cut}-{suffix}" if cut else suffix


def deployment_name(identity: Identity, budget: int) -> str:
    """The deployment name for an identity within ``budget`` characters (DNS-1035, stable):
    readable slug + hash when the budget has room for one, else all hash."""
    if budget >= SHORTEST_NAME:
        return named(f"{identity.model}-{identity.version}", identity.digest(), budget)
    return short_deployment_name(identity, budget)


def short_deployment_name(identity: Identity, budget: int) -> str:
    """``m`` + as much of the identity's hash as ``budget`` holds (at least 24 bits)."""
    if budget < SHORTEST_HASH_NAME:
        raise NameBudgetError(f"a name needs at least {SHORTEST_HASH_NAME} characters, the budget is {budget}")
    return "m" + identity.digest(min(budget, MAX_NAME) - 1)


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


def named(readable_source: str, digest: str, budget: int) -> str:
    """Slug of ``readable_source`` (starting with a letter) + ``-`` + ``digest``, within ``budget``."""
    readable = slug(readable_source)
    if not readable or not readable[0].isalpha():
        readable = f"m-{readable}".rstrip("-")
    return fit(readable, digest, budget)


DEPLOYMENT_NAME = re.compile(rf"^[a-z]([-a-z0-9]*[a-z0-9])?-[0-9a-f]{{{HASH_LENGTH}}}$")


def is_deployment_name(text: str) -> bool:
    """True when ``text`` has the shape :func:`deployment_name` gives (slug + hash, <= 63)."""
    return len(text) <= MAX_NAME and bool(DEPLOYMENT_NAME.match(text))


def label_value(text: str) -> str:
    """A valid label value (<= 63, alphanumeric ends) that keeps ``text`` readable.

    Values that are already valid are kept; others are slugged and, if changed or cut,
    suffixed with a hash of the original so distinct inputs stay distinct.
    """
    if re.fullmatch(r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?", text):
        return text
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]
    return fit(slug(text), digest, MAX_NAME)
