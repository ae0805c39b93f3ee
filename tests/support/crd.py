"""The SeldonDeployment schema from ../shared (the source of truth), not the bundled copy."""
from __future__ import annotations

import functools

import yaml

from tests.support.microservice import ROOT

SHARED_CRD = ROOT.parent / "shared" / "k8s" / "seldondeployment-crd-v1.yaml"


@functools.lru_cache(maxsize=1)
def shared_schema() -> dict:
    crd = yaml.safe_load(SHARED_CRD.read_text())
    return next(v for v in crd["spec"]["versions"] if v["name"] == "v1")["schema"]["openAPIV3Schema"]
