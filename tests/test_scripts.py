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


@pytest.mark.parametrize("script, args, needle", [
    ("get-seldon-endpoint.sh", [], "usage:"),
    ("install-seldon.sh", ["--ingress", "nginx"], "--ingress must be istio or ambassador"),
    ("install-seldon.sh", ["--bogus"], "unknown argument"),
])
def test_usage_errors(script, args, needle):
    result = subprocess.run(["bash", str(ROOT / "scripts" / script), *args], capture_output=True, text=True)
    assert result.returncode == 2 and needle in result.stderr
