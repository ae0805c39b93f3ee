"""``seldon-pkg test DIR``: a model's own tests, run in the environment it will be served in.

The development venv has everything (TensorFlow, scikit-learn...), so a test that passes there
says little about the model's isolated environment, where a missing requirement then fails the
deploy. This builds (once, cached like any runtime environment) the model's environment plus
pytest, runs the tests there with the model folder and ``model_wrappers`` on the path, and turns
a ``ModuleNotFoundError`` into the fix: add the module's package to ``requirements.txt``.
"""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from seldon_pkg.local.environments import ensure_environment, sync_wrappers
from seldon_pkg.spec.model_spec import ModelSpec

TEST_REQUIREMENT = "pytest>=8"
MISSING_MODULE = re.compile(r"ModuleNotFoundError: No module named '([^']+)'")


@dataclass(frozen=True)
class TestRun:
    returncode: int
    output: str
    missing_modules: tuple[str, ...]

    @property
    def hint(self) -> str | None:
        if not self.missing_modules:
            return None
        names = ", ".join(sorted({m.split(".")[0] for m in self.missing_modules}))
        return (
            f"the model's environment has no {names}: add the package(s) that provide it to "
            f"requirements.txt beside the spec (the development venv has it, the served model will not)"
        )


def run_tests(
    spec: ModelSpec,
    envs_dir: Path,
    lib_dir: Path,
    progress: Callable[[str], None] = lambda _: None,
    extra_args: tuple[str, ...] = (),
) -> TestRun:
    tested = dataclasses.replace(spec, requirements=(*spec.requirements, TEST_REQUIREMENT))
    environment = ensure_environment(tested, envs_dir, progress)
    python_path = [str(spec.source_dir)]
    if environment.isolated:
        python_path.append(str(sync_wrappers(lib_dir)))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env.update({"PYTHONPATH": os.pathsep.join(python_path), "TF_CPP_MIN_LOG_LEVEL": "2"})
    progress(f"running the tests in {spec.source_dir} with {environment.python}")
    result = subprocess.run(
        [str(environment.python), "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra_args],
        cwd=spec.source_dir,
        env=env,
        capture_output=True,
        text=True,
    )
    output = result.stdout + result.stderr
    return TestRun(result.returncode, output, tuple(MISSING_MODULE.findall(output)))
