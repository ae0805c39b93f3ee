"""The per-model Helm chart with a real Helm binary: lint, template, two releases coexist."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seldon_pkg.platforms.labels import (
    ANNOTATION_MODEL,
    ANNOTATION_VERSION,
    IDENTITY,
    MANAGED_BY,
    MANAGER,
    SELDON_DEPLOYMENT_ID,
)
from seldon_pkg.platforms.seldon import SELDON, chart_release_name, derived_names
from tests.support.microservice import ROOT

CHART = ROOT / "manifests" / "charts" / "seldon-model"


@pytest.fixture(scope="module")
def helm() -> str:
    found = shutil.which("helm") or str(ROOT / ".tools" / "helm")
    assert subprocess.run([found, "version", "--short"], capture_output=True).returncode == 0, (
        "no Helm binary: `make install` provides .tools/helm (scripts/ensure-cluster-tools.sh)"
    )
    return found


def template(helm: str, release: str, *sets: str, namespace: str = "default", strings: dict | None = None) -> dict:
    args = [helm, "template", release, str(CHART), "--namespace", namespace]
    for item in sets:
        args += ["--set", item]
    for key, value in (strings or {}).items():
        args += ["--set-string", f"{key}={_escape_set(value)}"]
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
        SELDON.validate(manifest)
    labels = a["spec"]["predictors"][0]["labels"]
    assert labels["app.kubernetes.io/instance"] == "mnist-a"
    assert labels[MANAGED_BY] == MANAGER  # list / delete / prune --keep-last see releases
    assert labels[IDENTITY] == a["metadata"]["name"].rsplit("-", 1)[1]


@pytest.mark.parametrize(
    "release, sets",
    [
        ("a-really-long-release-name-for-the-mnist-model-x", ["model.name=Digits Ünicode", "model.version=2024.11.25"]),
        ("9lives", ["model.version=v2", "replicas=3", "env.LOG=debug"]),
    ],
)
def test_rendered_output_is_valid_and_names_fit(helm, release, sets):
    manifest = template(helm, release, *sets)
    SELDON.validate(manifest)
    name = manifest["metadata"]["name"]
    assert len(name) <= 42 and name[0].isalpha()
    assert all(len(n) <= 63 for n in derived_names(name).values())


def test_same_release_in_another_namespace_gets_another_name(helm):
    assert (
        template(helm, "mnist", namespace="a")["metadata"]["name"]
        != template(helm, "mnist", namespace="b")["metadata"]["name"]
    )


def test_missing_image_is_an_error(helm):
    result = subprocess.run([helm, "template", "x", str(CHART), "--set", "image="], capture_output=True, text=True)
    assert result.returncode != 0 and "image is required" in result.stderr


def _escape_set(value: str) -> str:
    """``--set-string`` splits on unescaped commas and treats backslashes specially."""
    return value.replace("\\", "\\\\").replace(",", "\\,")


RELEASE = st.from_regex(r"[a-z0-9]([-a-z0-9]{0,51}[a-z0-9])?", fullmatch=True)
FREE_TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40).filter(
    lambda t: t.strip() == t and "=" not in t and "{" not in t and "[" not in t
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    release=RELEASE,
    model=FREE_TEXT,
    version=FREE_TEXT,
    namespace=st.from_regex(r"[a-z]([-a-z0-9]{0,20}[a-z0-9])?", fullmatch=True),
)
def test_chart_names_follow_the_python_rule(helm, release, model, version, namespace):
    """Real `helm template` with hostile values: the name is naming.chart_release_name's, and valid."""
    manifest = template(helm, release, namespace=namespace, strings={"model.name": model, "model.version": version})
    name = manifest["metadata"]["name"]
    assert name == chart_release_name(namespace, release, model, version)
    assert len(name) <= 42 and name[0].isalpha()
    annotations = manifest["metadata"]["annotations"]
    assert (annotations[ANNOTATION_MODEL], annotations[ANNOTATION_VERSION]) == (model, version)  # intact
    SELDON.validate(manifest)


def test_long_releases_differing_only_at_the_end_never_collide(helm):
    base = "a-really-long-release-name-for-the-mnist-model-0"
    releases = [base[:-1] + str(i) for i in range(4)] + [base[:-1] + "x" * 5]
    names = [template(helm, r)["metadata"]["name"] for r in releases]
    assert len(set(names)) == len(names)
    assert all(n == chart_release_name("default", r, "mnist", "v1") for n, r in zip(names, releases, strict=True))
    assert len({n[:31] for n in names}) == 1  # the readable part was cut the same: only the hash tells them apart


@pytest.mark.parametrize("release", ["Mnist", "mnist_model", "ünicode", "x-", "a" * 54])
def test_helm_itself_refuses_release_names_outside_its_alphabet(helm, release):
    result = subprocess.run([helm, "template", release, str(CHART)], capture_output=True, text=True)
    assert result.returncode != 0 and "invalid release name" in result.stderr


def _helm(helm: str, kube, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [helm, *args, "--namespace", kube.namespace, "--kubeconfig", str(kube.kubeconfig)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_helm_installs_the_same_chart_twice_upgrades_one_and_uninstalls_the_other(helm, kube):
    """The seed's third problem on a real API server: two releases of the chart side by side, both
    reconciled, an upgrade of one, an uninstall of the other whose children the garbage
    collector removes, and nothing left for prune."""
    from seldon_pkg.k8s import cleanup
    from seldon_pkg.k8s.deploy import wait_available
    from tests.support.gateway import wait_until

    names = {}
    for release in ("mnist-a", "mnist-b"):
        installed = _helm(helm, kube, "install", release, str(CHART), "--wait=false")
        assert installed.returncode == 0, installed.stderr
        names[release] = chart_release_name(kube.namespace, release, "mnist", "v1")
    for name in names.values():
        assert wait_available(kube.cluster, kube.namespace, name, 60, platform=SELDON) == "Available"
        assert kube.list("pods", f"{SELDON_DEPLOYMENT_ID}={name}")
    assert len(set(names.values())) == 2
    secrets = kube.cluster.core.list_namespaced_secret(kube.namespace, label_selector="owner=helm").items
    assert sorted(s.metadata.labels["name"] for s in secrets) == ["mnist-a", "mnist-b"]  # Helm's own records

    untouched = kube.get("seldondeployments", names["mnist-b"])
    upgraded = _helm(helm, kube, "upgrade", "mnist-a", str(CHART), "--set", "image=example.org/mnist:0.2")
    assert upgraded.returncode == 0, upgraded.stderr
    # the operator writes no observedGeneration: wait for its Deployment to roll the upgrade out
    assert kube.get("seldondeployments", names["mnist-a"])["metadata"]["generation"] == 2
    assert wait_available(kube.cluster, kube.namespace, names["mnist-a"], 60, platform=SELDON) == "Available"
    deployment = kube.list("deployments", f"{SELDON_DEPLOYMENT_ID}={names['mnist-a']}")[0]
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "example.org/mnist:0.2"
    assert (
        kube.get("seldondeployments", names["mnist-b"])["metadata"]["generation"] == untouched["metadata"]["generation"]
    )

    uninstalled = _helm(helm, kube, "uninstall", "mnist-b", "--wait")
    assert uninstalled.returncode == 0, uninstalled.stderr
    assert kube.get("seldondeployments", names["mnist-b"]) is None
    wait_until(lambda: kube.children(SELDON_DEPLOYMENT_ID, names["mnist-b"]) == [], 60)
    assert kube.children(SELDON_DEPLOYMENT_ID, names["mnist-a"])  # the other release keeps its pods
    assert cleanup.find_zombies(kube.cluster, [kube.namespace], SELDON) == []
    listed = _helm(helm, kube, "list", "-q")
    assert listed.stdout.split() == ["mnist-a"]
