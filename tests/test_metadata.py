"""setup.py says what the code needs: the Python it runs on and the dependencies the model
environments get, declared as plain lists and kept equal to the library's own by this test."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from seldon_pkg.servers.microservice import SELDON_CORE_DEPENDENCIES

SETUP = Path(__file__).resolve().parents[1] / "setup.py"


def setup_keywords() -> dict[str, ast.expr]:
    tree = ast.parse(SETUP.read_text())
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "setup"]
    assert len(calls) == 1
    return {keyword.arg: keyword.value for keyword in calls[0].keywords if keyword.arg}


def setup_list(name: str) -> list[str]:
    tree = ast.parse(SETUP.read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == name:
            return list(ast.literal_eval(node.value))
    raise AssertionError(f"{name} is not a plain list in setup.py")


def test_setup_declares_seldon_cores_dependencies_as_the_model_environments_get_them():
    # setuptools stays out of setup.py (this environment keeps setuptools<81, see the Makefile)
    expected = [req for req in SELDON_CORE_DEPENDENCIES if not req.startswith("setuptools")]
    assert setup_list("SELDON_CORE_DEPENDENCIES") == expected


def test_setup_imports_only_setuptools():
    """It is read by pip before anything is installed: no parsing of the library's modules."""
    imported = set()
    for node in ast.walk(ast.parse(SETUP.read_text())):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module or "")
    assert imported == {"setuptools"}


def test_python_requires_matches_what_the_code_uses():
    requires = ast.literal_eval(setup_keywords()["python_requires"])
    floor = re.search(r">=\s*3\.(\d+)", requires)
    assert floor and int(floor.group(1)) >= 11, requires  # enum.StrEnum, datetime.UTC
