"""The SeldonDeployment schema the tests validate against: the copy bundled in the package.

Its origin (Seldon Core 1.17.1, Apache-2.0) and SHA-256 are recorded in
seldon_pkg/data/NOTICE-seldondeployment-crd.md; tests/test_manifests.py checks the digest, so
the suite needs nothing outside the repository.
"""

from __future__ import annotations

import functools
import hashlib
import re

import yaml

from tests.support.microservice import ROOT

BUNDLED_CRD = ROOT / "seldon_pkg" / "data" / "seldondeployment-crd-v1.yaml"
NOTICE = ROOT / "seldon_pkg" / "data" / "NOTICE-seldondeployment-crd.md"


def recorded_digest() -> str:
    """The last digest in the NOTICE: the bundled file's (the first is the copy it was edited from)."""
    return re.findall(r"`([0-9a-f]{64})`", NOTICE.read_text())[-1]


def bundled_digest() -> str:
    return hashlib.sha256(BUNDLED_CRD.read_bytes()).hexdigest()


@functools.lru_cache(maxsize=1)
def crd_schema() -> dict:
    """Parsed here from the file (not through seldon_pkg.platforms.schema), so the product's loader is checked too."""
    crd = yaml.safe_load(BUNDLED_CRD.read_text())
    return next(v for v in crd["spec"]["versions"] if v["name"] == "v1")["schema"]["openAPIV3Schema"]
