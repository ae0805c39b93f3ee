"""The package's shape: no import cycles between modules nor between packages, no package
imports one from a layer above it, the library never imports the CLI-only packages, no module
but the registries and the spec parser compares platform or protocol names, and the public
surface is what ``seldon_pkg.__all__`` says."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

import seldon_pkg

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "seldon_pkg"
CLI_ONLY = ("seldon_pkg.bench", "seldon_pkg.security_report")
NAME_COMPARISON = re.compile(r'[=!]= "(kserve|seldon-v2|seldon|v2)"')
LAYERS: tuple[frozenset[str], ...] = tuple(
    frozenset(layer.split())
    for layer in (
        # leaves: the error kinds, typed choices, bounds, and what every layer shares (the text
        # sinks, the project root, the model-folder rules, the records every target answers)
        "errors values limits tables startup_errors text_sinks project model_folder records",
        "storage",  # storage_uri schemes: fetch, cache, checksum (the spec checks a URI with it)
        "spec",
        "platforms servers",
        "build",
        "k8s local",
        "targets",
        "authoring bench security_report cli kfp",  # what the CLI's verbs run; the pipeline steps
    )
)
"""The package layers, lowest first (docs/architecture.md): a package imports only from its own
layer or a lower one, and packages never import each other in a circle, not even within a layer."""
MAY_COMPARE_NAMES = {
    "seldon_pkg/platforms/registry.py",
    "seldon_pkg/servers/registry.py",
    "seldon_pkg/spec/model_spec.py",
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in PACKAGE.rglob("*.py")}


def imports_of(path: Path, name: str, known: set[str]) -> set[str]:
    """The package modules ``path`` imports, at module level or inside a function (a lazy import
    that dodges a cycle is still a cycle), except under ``TYPE_CHECKING``. A package's own
    ``__init__`` re-exporting its modules is not counted against them."""
    found: set[str] = set()

    class Visitor(ast.NodeVisitor):
        def visit_If(self, node: ast.If) -> None:
            if not (isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"):
                self.generic_visit(node)

        def visit_Import(self, node: ast.Import) -> None:
            found.update(alias.name for alias in node.names)

        def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
            assert node.level == 0, f"{path}: relative import"
            found.add(node.module or "")
            found.update(f"{node.module}.{alias.name}" for alias in node.names)

    Visitor().visit(ast.parse(path.read_text()))
    result = set()
    for target in found:
        while target and target not in known:
            target = target.rpartition(".")[0]
        if target and target not in (name, "seldon_pkg"):
            result.add(target)
    return result


def import_graph() -> dict[str, set[str]]:
    found = modules()
    known = set(found)
    return {name: imports_of(path, name, known) for name, path in found.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph.get(node, ()):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_module_imports_in_a_circle():
    graph = import_graph()
    assert "seldon_pkg.platforms.registry" in graph and graph["seldon_pkg.spec.model_spec"], "the graph was read"
    assert cycles(graph) == []


def group_of(module: str) -> str:
    """The package-level group of a module: ``seldon_pkg.local.gateway`` -> ``local``,
    ``seldon_pkg.errors`` -> ``errors``."""
    return module.split(".")[1]


def package_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """The import graph between the groups of seldon_pkg (its subpackages and top-level modules)."""
    groups: dict[str, set[str]] = {}
    for module, imported in graph.items():
        if module == "seldon_pkg":
            continue  # the lazy public surface (PEP 562) imports nothing until asked
        group = group_of(module)
        groups.setdefault(group, set()).update(group_of(other) for other in imported if group_of(other) != group)
    return groups


def layer_of(group: str) -> int:
    for index, layer in enumerate(LAYERS):
        if group in layer:
            return index
    raise AssertionError(f"seldon_pkg.{group} is in no layer: add it to LAYERS (and to docs/architecture.md)")


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    """Each module import that reaches a package in a higher layer than the importer's."""
    found = []
    for module, imported in sorted(graph.items()):
        if module == "seldon_pkg":
            continue
        for other in sorted(imported):
            if layer_of(group_of(other)) > layer_of(group_of(module)):
                found.append(f"{module} -> {other}")
    return found


def test_no_package_imports_another_in_a_circle():
    groups = package_graph(import_graph())
    assert {"spec", "platforms", "local", "targets"} <= set(groups), "the package graph was read"
    assert cycles(groups) == []


def test_no_package_imports_from_a_higher_layer():
    graph = import_graph()
    for group in package_graph(graph):
        layer_of(group)  # every package has its place
    assert upward_imports(graph) == []


def test_the_layer_check_finds_an_upward_import_and_a_package_cycle():
    graph = {"seldon_pkg.spec.model_spec": {"seldon_pkg.platforms.registry"}, "seldon_pkg.platforms.registry": set()}
    assert upward_imports(graph) == ["seldon_pkg.spec.model_spec -> seldon_pkg.platforms.registry"]
    graph = {"seldon_pkg.local.a": {"seldon_pkg.targets.b"}, "seldon_pkg.targets.b": {"seldon_pkg.local.c"}}
    assert cycles(package_graph(graph)) == [["local", "targets"]]


def test_the_cycle_check_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_library_never_imports_the_cli_only_packages():
    graph = import_graph()
    library = [name for name in graph if not name.startswith(CLI_ONLY) and name != "seldon_pkg.cli"]
    offenders = {name: sorted(i for i in graph[name] if i.startswith(CLI_ONLY)) for name in library}
    assert {name: found for name, found in offenders.items() if found} == {}


def test_only_the_registries_and_the_spec_parser_compare_platform_or_protocol_names():
    offenders = []
    for path in [*PACKAGE.rglob("*.py"), *(ROOT / "model_wrappers").rglob("*.py")]:
        relative = path.relative_to(ROOT).as_posix()
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if NAME_COMPARISON.search(line) and relative not in MAY_COMPARE_NAMES:
                offenders.append(f"{relative}:{number}: {line.strip()}")
    assert offenders == []


def test_the_public_surface_is_importable_and_lazy():
    assert set(seldon_pkg.__all__) == {"__version__", *seldon_pkg._EXPORTS}
    for name in seldon_pkg.__all__:
        assert getattr(seldon_pkg, name) is not None, name
    assert issubclass(seldon_pkg.NotFound, seldon_pkg.SeldonPkgError)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = seldon_pkg.nope  # type: ignore[attr-defined]
    # importing the package alone loads none of the library (model launchers import it)
    probe = "import sys, seldon_pkg; print(sorted(m for m in sys.modules if m.startswith('seldon_pkg.')))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"
