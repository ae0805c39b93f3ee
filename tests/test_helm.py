"""The per-model Helm chart with a real Helm binary: lint, template, two releases coexist."""
from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from seldon_pkg import schema
from seldon_pkg.naming import derived_names
from tests.support.microservice import ROOT

CHART = ROOT / "manifests" / "charts" / "seldon-model"


@pytest.fixture(scope="module")
def helm() -> str:
    found = shutil.which("helm") or str(ROOT / ".tools" / "helm")
    assert subprocess.run([found, "version", "--short"], capture_output=True).returncode == 0, (
        "no Helm binary: `make install` provides .tools/helm (scripts/ensure-cluster-tools.sh)"
    )
    return found


def template(helm: str, release: str, *sets: str, namespace: str = "default") -> dict:
    args = [helm, "template", release, str(CHART), "--namespace", namespace]
    for item in sets:
        args += ["--set", item]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    documents = [d for d in yaml.safe_load_all(out) if d]
    assert len(documents) == 1
    return documents[0]


def test_helm_lint(helm):
    result = subprocess.run([helm, "lint", str(CHART), "--strict"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 chart(s) failed" in result.stdout


def test_two_releases_of_the_same_chart_coexist(helm):
    a = template(helm, "mnist-a")
    b = template(helm, "mnist-b")
    assert a["metadata"]["name"] != b["metadata"]["name"]
    for manifest in (a, b):
        schema.validate(manifest)
    assert a["spec"]["predictors"][0]["labels"]["app.kubernetes.io/instance"] == "mnist-a"


@pytest.mark.parametrize(
    "release, sets",
    [
        ("a-really-long-release-name-for-the-mnist-model-x", ["model.name=Digits Ünicode", "model.version=2024.11.25"]),
        ("9lives", ["model.version=v2", "replicas=3", "env.LOG=debug"]),
    ],
)
def test_rendered_output_is_valid_and_names_fit(helm, release, sets):
    manifest = template(helm, release, *sets)
    schema.validate(manifest)
    name = manifest["metadata"]["name"]
    assert len(name) <= 42 and name[0].isalpha()
    assert all(len(n) <= 63 for n in derived_names(name).values())


def test_same_release_in_another_namespace_gets_another_name(helm):
    assert template(helm, "mnist", namespace="a")["metadata"]["name"] != template(helm, "mnist", namespace="b")["metadata"]["name"]


def test_missing_image_is_an_error(helm):
    result = subprocess.run([helm, "template", "x", str(CHART), "--set", "image="], capture_output=True, text=True)
    assert result.returncode != 0 and "image is required" in result.stderr
