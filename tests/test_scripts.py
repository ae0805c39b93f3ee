"""The shell scripts: shellcheck-clean, and usage errors that say what to do."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.support.microservice import ROOT

SCRIPTS = sorted((ROOT / "scripts").glob("*.sh"))


def test_every_script_is_shellcheck_clean():
    shellcheck = shutil.which("shellcheck")
    assert shellcheck, "shellcheck is missing: `make install` installs it (apt-get) when run as root"
    result = subprocess.run([shellcheck, "--severity=style", *map(str, SCRIPTS)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize(
    "script, args, needle",
    [
        ("get-seldon-endpoint.sh", [], "usage:"),
        ("install-seldon.sh", ["--ingress", "nginx"], "--ingress must be istio or ambassador"),
        ("install-seldon.sh", ["--bogus"], "unknown argument"),
    ],
)
def test_usage_errors(script, args, needle):
    result = subprocess.run(["bash", str(ROOT / "scripts" / script), *args], capture_output=True, text=True)
    assert result.returncode == 2 and needle in result.stderr


@pytest.fixture
def kubectl_env(kube):
    """kubectl (.tools/ first) talking to the session's cluster, in the test's namespace."""
    import os

    tools = ROOT / ".tools"
    path = f"{tools}{os.pathsep}{os.environ['PATH']}"
    assert shutil.which("kubectl", path=path), "kubectl missing: `make install` provides .tools/kubectl"
    return {**os.environ, "PATH": path, "KUBECONFIG": str(kube.kubeconfig)}


def run_script(name: str, *args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(ROOT / "scripts" / name), *args], capture_output=True, text=True, env=env, timeout=60
    )


def test_kubectl_scripts_against_the_cluster(kube, kubectl_env):
    node_ip = kube.node_ip
    assert run_script("get-master-ip.sh", env=kubectl_env).stdout.strip() == node_ip
    sdep = {
        "apiVersion": "machinelearning.seldon.io/v1",
        "kind": "SeldonDeployment",
        "metadata": {"name": "mnist-v1-0123456789"},
        "spec": {
            "predictors": [
                {
                    "name": "default",
                    "graph": {"name": "classifier"},
                    "componentSpecs": [{"spec": {"containers": [{"name": "classifier", "image": "x/y:1"}]}}],
                }
            ]
        },
    }
    kube.create("seldondeployments", sdep)
    found = run_script("get-seldon-endpoint.sh", "mnist-v1-0123456789", kube.namespace, env=kubectl_env)
    assert found.returncode == 0, found.stderr
    assert (
        found.stdout.strip()
        == f"http://{node_ip}:31380/seldon/{kube.namespace}/mnist-v1-0123456789/api/v1.0/predictions"
    )


def test_hostile_names_are_arguments_not_shell(kube, kubectl_env, tmp_path):
    marker = tmp_path / "pwned"
    kube.create(
        "seldondeployments",
        {
            "apiVersion": "machinelearning.seldon.io/v1",
            "kind": "SeldonDeployment",
            "metadata": {"name": "decoy"},
            "spec": {  # valid for the operator's webhook too: the graph's unit has its container
                "predictors": [
                    {
                        "name": "default",
                        "graph": {"name": "classifier"},
                        "componentSpecs": [{"spec": {"containers": [{"name": "classifier", "image": "x/y:1"}]}}],
                    }
                ]
            },
        },
    )
    for name in (f"$(touch {marker})", f"x; touch {marker}", f"`touch {marker}`", "-n kube-system", "--all"):
        result = run_script("get-seldon-endpoint.sh", name, kube.namespace, env=kubectl_env)
        assert result.returncode != 0, (name, result.stdout)
        assert "mnist" not in result.stdout and "decoy" not in result.stdout  # never a lookup of something else
    assert not marker.exists()
