"""Mistakes caught before anything starts: the wrapper class exists, the parameters are its own.

A wrong class in ``wrapper:`` or an unknown constructor parameter used to pass ``render`` and
``build`` and fail only when the model process started (on a cluster: a CrashLoopBackOff).
This reads the model's source with ``ast`` (no import: nothing of the model runs, and no
seldon-core or TensorFlow is loaded, so it takes milliseconds) and refuses, naming the spec
field and the closest valid name:

* ``wrapper: Module.Class``: the module file (in the model folder, or ``model_wrappers``) must
  define or import ``Class``;
* ``parameters``: each key must be a parameter of the class or of a base class we can read:
  a typed parameter (an annotated class attribute, see model_wrappers/parameters.py) or a
  keyword parameter of ``__init__`` (the contract seldon-core documents: ``Class(**parameters)``).
  An ``__init__`` with ``**kwargs`` takes anything, and when a base class comes from elsewhere
  (an installed package) the set may be partial: then parameters are not checked here, the
  model process still validates them at start. Whatever this cannot read is left to the
  process, never refused.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

from seldon_pkg.errors import SpecError
from seldon_pkg.project import ROOT
from seldon_pkg.spec.model_spec import ModelSpec
from seldon_pkg.values import did_you_mean


@dataclass
class ClassInfo:
    parameters: set[str] = field(default_factory=set)
    complete: bool = True
    """False when a base class could not be read: the parameter set may be partial."""


def module_file(module: str, source_dir: Path) -> Path | None:
    """The file of ``module`` in the model folder or in this project (``model_wrappers``)."""
    relative = Path(*module.split("."))
    for root in (source_dir, ROOT):
        for candidate in (root / relative.with_suffix(".py"), root / relative / "__init__.py"):
            if candidate.is_file():
                return candidate
    return None


def check(spec: ModelSpec) -> None:
    """Raise ``SpecError`` for a wrapper class that is not there or a parameter it does not take."""
    source = str(spec.path) if spec.path else "spec"
    path = module_file(spec.module, spec.source_dir)
    if path is None:
        if spec.module.split(".")[0] in {p.stem for p in spec.source_dir.glob("*.py")} or "." not in spec.module:
            options = sorted(p.stem for p in spec.source_dir.glob("*.py"))
            raise SpecError(
                "wrapper", f"no module {spec.module!r} in {spec.source_dir}{did_you_mean(spec.module, options)}", source
            )
        return  # an installed package: checked when the process imports it
    info = class_info(path, spec.class_name, spec.source_dir)
    if info is None:
        classes = sorted(_classes(ast.parse(path.read_text())))
        raise SpecError(
            "wrapper",
            f"{spec.module} has no class {spec.class_name!r}"
            f"{did_you_mean(spec.class_name, classes)}; classes there: {', '.join(classes) or 'none'}",
            source,
        )
    if not info.complete:
        return
    for key in spec.parameters:
        if key not in info.parameters:
            declared = sorted(info.parameters)
            raise SpecError(
                f"parameters.{key}",
                f"{spec.class_name} declares no parameter {key!r}"
                f"{did_you_mean(key, declared)}; it takes: {', '.join(declared)}",
                source,
            )


def class_info(path: Path, name: str, source_dir: Path, depth: int = 0) -> ClassInfo | None:
    """The typed parameters of class ``name`` in ``path`` and its readable bases, or ``None``."""
    tree = ast.parse(path.read_text())
    classes = _classes(tree)
    if name not in classes:
        imported = _imports(tree).get(name)
        if imported is None or depth > 8:
            return None
        target = module_file(imported, source_dir)
        return class_info(target, name, source_dir, depth + 1) if target else ClassInfo(complete=False)
    node = classes[name]
    keywords, takes_any = _init_parameters(node)
    info = ClassInfo(parameters=_annotated_attributes(node) | keywords, complete=not takes_any)
    for base in node.bases:
        base_name = base.id if isinstance(base, ast.Name) else None
        if base_name is None:
            info.complete = False
            continue
        if base_name in ("object", "ABC"):
            continue
        parent = class_info(path, base_name, source_dir, depth + 1) if depth < 8 else None
        if parent is None:
            info.complete = False
            continue
        info.parameters |= parent.parameters
        info.complete &= parent.complete
    return info


def _classes(tree: ast.Module) -> dict[str, ast.ClassDef]:
    return {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}


def _imports(tree: ast.Module) -> dict[str, str]:
    """``{name: module}`` for ``from module import name`` at the top of a module."""
    found = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                found[alias.asname or alias.name] = node.module
    return found


TYPED_BINDER = "bind_parameters"
"""model_wrappers.parameters.bind_parameters: an ``__init__(**parameters)`` that hands them to it
takes only the typed parameters (it refuses the rest), not any keyword."""


def _init_parameters(node: ast.ClassDef) -> tuple[set[str], bool]:
    """The names ``__init__`` accepts as keywords (all but ``self``, ``*args`` and
    positional-only ones), and whether it takes any keyword at all (``**kwargs`` that it does
    not hand to the typed-parameter binder)."""
    for statement in node.body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)) and statement.name == "__init__":
            arguments = statement.args
            names = {a.arg for a in [*arguments.args[1:], *arguments.kwonlyargs]}
            kwargs = arguments.kwarg.arg if arguments.kwarg is not None else None
            return names, kwargs is not None and not _binds_typed(statement, kwargs)
    return set(), False


def _binds_typed(function: ast.FunctionDef | ast.AsyncFunctionDef, kwargs: str) -> bool:
    for call in ast.walk(function):
        if isinstance(call, ast.Call) and getattr(call.func, "id", getattr(call.func, "attr", None)) == TYPED_BINDER:
            if any(isinstance(arg, ast.Name) and arg.id == kwargs for arg in call.args):
                return True
    return False


def _annotated_attributes(node: ast.ClassDef) -> set[str]:
    """``name: type = default`` in the class body, except ``ClassVar[...]`` ones (not parameters)."""
    names = set()
    for statement in node.body:
        if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
            annotation = ast.unparse(statement.annotation)
            if "ClassVar" not in annotation and not statement.target.id.startswith("_"):
                names.add(statement.target.id)
    return names
