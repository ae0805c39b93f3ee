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

Each platform has its own budget (:func:`name_budget`), read from its controller code:

* ``seldon`` (Seldon Core 1.17.1, operator/controllers/seldondeployment_controller.go and
  utils: ``<sdep>-<predictor>-<idx>-<container>``): 42, above;
* ``kserve`` (KServe v0.20.0, pkg/constants/constants.go ``PredictorServiceName`` gives the
  Deployment and Service ``<isvc>-predictor``; reconcilers/ingress/kube_ingress_reconciler.go
  renders the hosts through ``DefaultDomainTemplate`` ``{{ .Name }}-{{ .Namespace }}.{{ .IngressDomain }}``
  (apis/serving/v1beta1/configmap.go) with ``.Name`` = ``<isvc>-predictor`` for the component
  host): the first host label ``<isvc>-predictor-<namespace>`` must fit in 63 (a longer one
  breaks the URL, kserve issue #4807), so the budget is ``52 - len(namespace)``;
* ``seldon-v2`` (Seldon Core 2.10.2, operator/apis/mlops/v1alpha1/model_types.go
  ``AsSchedulerModel`` passes ``metadata.name`` to the scheduler unchanged; no Kubernetes
  object is derived from it): 63, the DNS label limit every name we make keeps.
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
KSERVE_PREDICTOR = "predictor"
"""KServe's component name: its Deployment/Service is ``<isvc>-predictor``."""
SHORTEST_NAME = len("m-") + HASH_LENGTH
"""A letter, a dash and the hash: the least a budget must leave."""


class NameBudgetError(ValueError):
    """No name fits the platform's budget (e.g. a KServe namespace too long for its host label)."""


def name_budget(platform: str, namespace: str) -> int:
    """The longest deployment name ``platform`` can derive its children and hosts from."""
    if platform == "kserve":
        budget = min(
            MAX_NAME - len(f"-{KSERVE_PREDICTOR}"),  # Deployment / Service <isvc>-predictor
            MAX_NAME - len(f"-{KSERVE_PREDICTOR}-{namespace}"),  # host label <isvc>-predictor-<ns>
            MAX_NAME - len(f"-{namespace}"),  # top-level host label <isvc>-<ns>
        )
        if budget < SHORTEST_NAME:
            raise NameBudgetError(
                f"namespace {namespace!r} is {len(namespace)} characters: KServe's host label "
                f"<name>-{KSERVE_PREDICTOR}-<namespace> must fit in {MAX_NAME}, which leaves no room for a name; "
                f"use a namespace of at most {MAX_NAME - len(f'-{KSERVE_PREDICTOR}-') - SHORTEST_NAME} characters"
            )
        return budget
    if platform == "seldon-v2":
        return MAX_NAME
    return SDEP_MAX


def kserve_derived_names(isvc: str, namespace: str) -> dict[str, str]:
    """What KServe v0.20.0 derives from an InferenceService in RawDeployment mode (for checks)."""
    return {
        "deployment": f"{isvc}-{KSERVE_PREDICTOR}",
        "service": f"{isvc}-{KSERVE_PREDICTOR}",
        "host_label": f"{isvc}-{KSERVE_PREDICTOR}-{namespace}",
        "top_level_host_label": f"{isvc}-{namespace}",
    }


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


def deployment_name(identity: Identity, budget: int = SDEP_MAX) -> str:
    """The deployment name for an identity (<= ``budget`` chars, DNS-1035, stable); the
    SeldonDeployment's budget is the default."""
    return _named(f"{identity.model}-{identity.version}", identity.digest(), budget)


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


def _named(readable_source: str, digest: str, budget: int = SDEP_MAX) -> str:
    """Slug of ``readable_source`` (starting with a letter) + ``-`` + ``digest``, within ``budget``."""
    readable = slug(readable_source)
    if not readable or not readable[0].isalpha():
        readable = f"m-{readable}".rstrip("-")
    return fit(readable, digest, budget)


DEPLOYMENT_NAME = re.compile(rf"^[a-z]([-a-z0-9]*[a-z0-9])?-[0-9a-f]{{{HASH_LENGTH}}}$")


def is_deployment_name(text: str) -> bool:
    """True when ``text`` has the shape :func:`deployment_name` gives (slug + hash, <= 63)."""
    return len(text) <= MAX_NAME and bool(DEPLOYMENT_NAME.match(text))


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
