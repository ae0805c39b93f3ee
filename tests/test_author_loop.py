"""The model author's loop: a model that fails to load names its cause first, everywhere.

A real gateway and the real CLI: the failing model's own exception and its frame are the first
lines ``deploy`` prints, followed by where its log is; ``logs`` and ``describe`` say the same,
even though the failed deploy left no deployment behind. Mistakes in the spec (a misspelled
class or parameter) are refused before anything starts, with a "did you mean".
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.support.gateway import GatewayProcess

pytestmark = pytest.mark.slow
CLI = str(Path(sys.executable).parent / "seldon-pkg")
FAILING = """import numpy as np
from model_wrappers.base import SeldonModel


class MyModel(SeldonModel):
    scale: float = 1.0

    def load_model(self) -> None:
        raise ValueError("weights file 'w.npz' not found")

    def infer(self, batch: np.ndarray) -> np.ndarray:
        return batch * self.scale
"""


def model_folder(root: Path, **spec) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "MyModel.py").write_text(FAILING)
    fields = {
        "name": "failing model",
        "version": "v1",
        "wrapper": "MyModel.MyModel",
        "runtime": "current",
        "image": "example.org/failing:1",
        **spec,
    }
    (root / "seldon-model.yaml").write_text(yaml.safe_dump(fields))
    return root


@pytest.fixture(scope="module")
def gateway(tmp_path_factory, artifacts):
    process = GatewayProcess(tmp_path_factory.mktemp("loop-state"), artifacts / "loop-gateway.log").start()
    yield process
    process.stop()


def test_a_failing_load_names_its_cause_first_then_the_log(gateway, tmp_path):
    folder = model_folder(tmp_path / "m")
    result = gateway.cli("deploy", str(folder))
    assert result.returncode == 4, result.stderr  # NotReady
    steps = [line for line in result.stderr.splitlines() if line.startswith("  [")]  # progress, with elapsed time
    assert steps and "starting seldon-core-microservice" in steps[-1]
    first = [line for line in result.stderr.splitlines() if not line.startswith("  [")][:3]  # then the error
    assert "ValueError: weights file 'w.npz' not found" in first[0]
    assert first[1].strip().startswith(f"at {folder / 'MyModel.py'}, line 9, in load_model")
    assert "full log: " in first[2] and first[2].strip().split()[2].endswith(".log")
    assert Path(first[2].strip().split()[2]).exists()

    logs = gateway.cli("logs", str(folder / "seldon-model.yaml"), "--tail", "200")
    assert logs.returncode == 0, logs.stderr
    assert "ValueError: weights file 'w.npz' not found" in logs.stdout
    described = gateway.cli("describe", str(folder / "seldon-model.yaml"))
    assert described.returncode == 0, described.stderr
    assert described.stdout.splitlines()[0].startswith("model error: ValueError: weights file 'w.npz' not found")
    assert "state: NotDeployed" in described.stdout


def test_a_failed_first_deploy_is_found_by_its_model_name_until_replaced_or_deleted(gateway, tmp_path):
    """Nothing serves the model, yet its record (NotDeployed) is listed and found by the model's
    name from anywhere, as the hashed name or the spec would find it; a working deploy of it
    replaces the record, a delete removes it."""
    folder = model_folder(tmp_path / "first", name="never started")
    assert gateway.cli("deploy", str(folder)).returncode == 4
    logs = gateway.cli("logs", "never started", "--tail", "200")
    assert logs.returncode == 0, logs.stderr
    assert "ValueError: weights file 'w.npz' not found" in logs.stdout
    described = gateway.cli("describe", "never started")
    assert described.returncode == 0, described.stderr
    assert described.stdout.splitlines()[0].startswith("model error: ValueError: weights file 'w.npz' not found")
    assert "state: NotDeployed" in described.stdout
    rows = [row for row in gateway.listed() if row["model"] == "never started"]
    assert [row["state"] for row in rows] == ["NotDeployed"] and "w.npz" in (rows[0]["last_error"] or "")

    (folder / "MyModel.py").write_text(FAILING.replace("raise ValueError", "print"))  # fixed: replaces the record
    assert gateway.cli("deploy", str(folder)).returncode == 0
    assert [row["state"] for row in gateway.listed() if row["model"] == "never started"] == ["Available"]
    assert gateway.cli("delete", "never started").returncode == 0

    (folder / "MyModel.py").write_text(FAILING)  # broken again: the record comes back, delete removes it
    assert gateway.cli("deploy", str(folder)).returncode == 4
    deleted = gateway.cli("delete", "never started")
    assert deleted.returncode == 0, deleted.stderr
    gone = gateway.cli("describe", "never started")
    assert gone.returncode == 3 and "no deployment or model named 'never started'" in gone.stderr, gone.stderr
    assert not [row for row in gateway.listed() if row["model"] == "never started"]


def test_describe_and_logs_of_a_running_model(gateway, tmp_path):
    folder = model_folder(tmp_path / "ok", name="working model")
    (folder / "MyModel.py").write_text(FAILING.replace("raise ValueError", "print"))  # loads fine
    assert gateway.cli("deploy", str(folder)).returncode == 0
    described = gateway.cli("describe", "working model", "-o", "yaml")
    detail = yaml.safe_load(described.stdout)
    assert detail["state"] == "Available" and detail["model_error"] is None and detail["ports"]["http"] > 0
    assert gateway.cli("logs", "working model", "--tail", "5").returncode == 0


@pytest.mark.parametrize(
    "spec, field, hint",
    [
        ({"wrapper": "MyModel.MyModle"}, "wrapper", "did you mean 'MyModel'?"),
        ({"wrapper": "MyModle.MyModel"}, "wrapper", "did you mean 'MyModel'?"),
        ({"parameters": {"scael": 2.0}}, "parameters.scael", "did you mean 'scale'?"),
    ],
)
def test_spec_mistakes_are_refused_before_anything_starts(tmp_path, spec, field, hint):
    folder = model_folder(tmp_path / "m", **spec)
    for command in (
        ["render", str(folder)],
        ["build", str(folder), "--out", str(tmp_path / "ctx"), "--skip-audit", "--no-build"],
    ):
        result = subprocess.run([CLI, *command], capture_output=True, text=True, timeout=60)
        assert result.returncode == 2, result.stderr
        assert f"field '{field}'" in result.stderr and hint in result.stderr and "Traceback" not in result.stderr


def test_seldon_pkg_test_runs_the_generated_test_where_the_model_will_run(tmp_path):
    """The development venv has matplotlib; the model's environment does not: the model's own
    test passes in the first and fails in the second, with the fix named."""
    folder = tmp_path / "plotter"
    assert subprocess.run([CLI, "init", "plotter", "--dir", str(folder)], capture_output=True).returncode == 0
    module = folder / "Plotter.py"
    module.write_text(module.read_text() + "\nimport matplotlib  # noqa: E402  (only in the development venv)\n")

    def seldon_pkg_test() -> subprocess.CompletedProcess:
        return subprocess.run(
            [CLI, "test", str(folder), "--state-dir", str(tmp_path / "state")],
            capture_output=True,
            text=True,
            timeout=900,
            env={**os.environ, "SELDON_PKG_ENVS_DIR": str(tmp_path / "envs")},
        )

    result = seldon_pkg_test()
    assert result.returncode != 0
    assert "No module named 'matplotlib'" in result.stdout
    assert "hint: the model's environment has no matplotlib: add the package(s)" in result.stderr
    (folder / "requirements.txt").write_text("matplotlib\n")
    fixed = seldon_pkg_test()
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "2 passed" in fixed.stdout
