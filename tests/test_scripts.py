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
def kubectl_against_the_double(tmp_path):
    """kubectl (PATH or .tools/) talking to the Kubernetes API test double through a kubeconfig."""
    import os

    from tests.k8s_double.server import KubernetesDouble

    tools = ROOT / ".tools"
    path = f"{tools}{os.pathsep}{os.environ['PATH']}"
    assert shutil.which("kubectl", path=path), "kubectl missing: `make install` provides .tools/kubectl"
    with KubernetesDouble() as double:
        kubeconfig = tmp_path / "kubeconfig"
        double.kubeconfig(kubeconfig)
        double.store.create(
            "nodes",
            "",
            {
                "metadata": {"name": "node-1"},
                "status": {"addresses": [{"type": "InternalIP", "address": "192.0.2.10"}]},
            },
        )
        yield double, {**os.environ, "PATH": path, "KUBECONFIG": str(kubeconfig)}


def run_script(name: str, *args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(ROOT / "scripts" / name), *args], capture_output=True, text=True, env=env, timeout=60
    )


def test_kubectl_scripts_against_the_double(kubectl_against_the_double):
    double, env = kubectl_against_the_double
    assert run_script("get-master-ip.sh", env=env).stdout.strip() == "192.0.2.10"
    double.store.create(
        "services",
        "istio-system",
        {
            "metadata": {"name": "istio-ingressgateway"},
            "spec": {"type": "NodePort", "ports": [{"name": "http2", "port": 80, "nodePort": 31380}]},
        },
    )
    sdep = {
        "metadata": {"name": "mnist-v1-0123456789"},
        "spec": {"predictors": [{"name": "default", "graph": {"name": "classifier"}}]},
    }
    double.store.create("seldondeployments", "team-a", sdep)
    found = run_script("get-seldon-endpoint.sh", "mnist-v1-0123456789", "team-a", env=env)
    assert found.returncode == 0, found.stderr
    assert found.stdout.strip() == "http://192.0.2.10:31380/seldon/team-a/mnist-v1-0123456789/api/v1.0/predictions"
    double.store.patch(
        "services",
        "istio-system",
        "istio-ingressgateway",
        {"status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.7"}]}}},
    )
    assert (
        run_script("get-seldon-endpoint.sh", "mnist-v1-0123456789", "team-a", env=env).stdout.strip()
        == "http://203.0.113.7:80/seldon/team-a/mnist-v1-0123456789/api/v1.0/predictions"
    )


def test_hostile_names_are_arguments_not_shell(kubectl_against_the_double, tmp_path):
    double, env = kubectl_against_the_double
    marker = tmp_path / "pwned"
    for name in (f"$(touch {marker})", f"x; touch {marker}", f"`touch {marker}`", "-n kube-system"):
        result = run_script("get-seldon-endpoint.sh", name, "default", env=env)
        assert result.returncode != 0
    assert not marker.exists()
    # the name that looks like an option was looked up as a name, in the namespace asked for
    assert any(
        path.startswith("/apis/machinelearning.seldon.io/v1/namespaces/default/seldondeployments/-n")
        for _, path in double.requests
    ), double.requests[-5:]
