"""``seldon-pkg init NAME``: a new model folder that works before you change anything.

Generates ``<Class>.py`` (a :class:`SeldonModel` subclass whose ``infer`` you fill in),
``seldon-model.yaml`` and ``test_<module>.py``. The generated test passes as generated, so
the first edit starts from green.
"""

from __future__ import annotations

import re
from pathlib import Path

from seldon_pkg.errors import Refused
from seldon_pkg.platforms.names import slug

MODEL_TEMPLATE = '''"""{class_name}: served by seldon-core-microservice as ``{class_name}.{class_name}``."""
from __future__ import annotations

import numpy as np

from model_wrappers.base import SeldonModel


class {class_name}(SeldonModel):
    """Replace the body of ``infer`` with your model; add typed parameters as attributes."""

    scale: float = 1.0
    """An example parameter: set it under ``parameters:`` in seldon-model.yaml."""

    def load_model(self) -> None:
        """Load weights here (runs once per worker process, after the fork)."""

    def infer(self, batch: np.ndarray) -> np.ndarray:
        """Return the model's output for a float32 batch. TODO: call your model here."""
        return batch * self.scale
'''

SPEC_TEMPLATE = """# seldon_pkg model spec: every key is in docs/spec.md.
name: {name}
version: v1
namespace: default
wrapper: {class_name}.{class_name}
parameters:
  scale: 1.0
image: example.org/{slug}:0.1
replicas: 1
resources:
  requests: {{cpu: 100m, memory: 256Mi}}
# protocol: v2              # serve it over the Open Inference Protocol (MLServer) instead
"""

TEST_TEMPLATE = '''"""Tests for {class_name}: in-process, through Seldon's own hooks."""
import numpy as np
import pytest

from {class_name} import {class_name}


@pytest.fixture
def model():
    instance = {class_name}(scale=1.0)
    instance.load()
    return instance


def test_predict_returns_one_row_per_input(model):
    batch = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    reply = model.predict(batch, [])
    assert np.asarray(reply.data).shape[0] == 2


def test_bad_input_is_a_400(model):
    from model_wrappers.errors import BadInput

    with pytest.raises(BadInput):
        model.predict(np.array([]), [])
'''


def class_name_for(name: str) -> str:
    """``my-model`` / ``my model`` -> ``MyModel`` (a valid Python class and module name)."""
    words = re.findall(r"[A-Za-z0-9]+", name)
    candidate = "".join(w[:1].upper() + w[1:] for w in words)
    if not candidate or not candidate[0].isalpha():
        candidate = f"Model{candidate}"
    return candidate


def scaffold(name: str, directory: Path) -> list[Path]:
    """Write the three files into ``directory`` (created); refuse to overwrite anything."""
    class_name = class_name_for(name)
    files = {
        directory / f"{class_name}.py": MODEL_TEMPLATE.format(class_name=class_name),
        directory / "seldon-model.yaml": SPEC_TEMPLATE.format(
            name=name, class_name=class_name, slug=slug(name) or "model"
        ),
        directory / f"test_{class_name}.py": TEST_TEMPLATE.format(class_name=class_name),
    }
    existing = [str(p) for p in files if p.exists()]
    if existing:
        raise Refused(f"refusing to overwrite {', '.join(existing)}")
    directory.mkdir(parents=True, exist_ok=True)
    for path, text in files.items():
        path.write_text(text)
    return list(files)
