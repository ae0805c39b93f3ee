"""A model's own folder, while it loads inside a server process shared with other models.

In a process of its own a model runs with its folder as the working directory and first on
``sys.path``, and ``$SELDON_PKG_MODEL_DIR`` names its downloaded files. A shared server has one
working directory, one path and one environment for all its models, so the adapter gives a
model those three for the duration of its ``load`` (which is where wrappers resolve and open
their files) and then puts them back, as MLServer itself does for a custom runtime's folder
(``ModelSettings.implementation``). The wrapper's module is imported afresh from the folder on
each load, so two models whose code has the same module name (two ``model.py``) each get their
own class, and a redeploy runs the folder's current code.

Not covered: imports or relative paths a model uses only after loading (inside ``predict``)
resolve against the server's path and folder; such a model wants ``isolation: process``.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from model_wrappers.model_dir import MODEL_DIR_ENV


def forget_module(module_name: str, folder: Path) -> None:
    """Drop ``module_name``'s top-level package (and its submodules) from ``sys.modules`` when
    ``folder`` has a module of that name, so the next import reads this folder's file as it is
    now: another model's same-named module, or this model's code before a redeploy, is not
    reused. Modules of the environment (NumPy, model_wrappers) are never dropped: the folder has
    no file of their name."""
    top = module_name.split(".", 1)[0]
    if top not in sys.modules:
        return
    if not ((folder / f"{top}.py").is_file() or (folder / top / "__init__.py").is_file()):
        return
    for name in [n for n in sys.modules if n == top or n.startswith(f"{top}.")]:
        del sys.modules[name]


@contextlib.contextmanager
def model_folder(source_dir: str | None, model_dir: str | None) -> Iterator[None]:
    """The model's folder as cwd and first on ``sys.path``, and ``$SELDON_PKG_MODEL_DIR``, for the block."""
    if not source_dir:
        yield
        return
    folder = Path(source_dir).resolve()
    previous_cwd = os.getcwd()
    previous_model_dir = os.environ.get(MODEL_DIR_ENV)
    sys.path.insert(0, str(folder))
    os.chdir(folder)
    if model_dir:
        os.environ[MODEL_DIR_ENV] = model_dir
    else:
        os.environ.pop(MODEL_DIR_ENV, None)
    try:
        yield
    finally:
        os.chdir(previous_cwd)
        with contextlib.suppress(ValueError):
            sys.path.remove(str(folder))
        if previous_model_dir is None:
            os.environ.pop(MODEL_DIR_ENV, None)
        else:
            os.environ[MODEL_DIR_ENV] = previous_model_dir


def import_wrapper(wrapper: str, source_dir: str | None) -> type:
    """``Module.Class`` imported for a model whose folder is ``source_dir`` (inside :func:`model_folder`)."""
    module_name, _, class_name = wrapper.rpartition(".")
    if source_dir:
        forget_module(module_name, Path(source_dir).resolve())
    module = importlib.import_module(module_name)
    return getattr(module, class_name)
