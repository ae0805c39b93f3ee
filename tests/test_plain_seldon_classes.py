"""Existing Seldon models, as seldon-core documents them: a class with no base class of ours
whose parameters are ``__init__`` keyword arguments. The spec's parameters are checked against
them before anything starts, and the model is served with its parameters applied."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml

from seldon_pkg.errors import SpecError
from seldon_pkg.spec import preflight
from seldon_pkg.spec.model_spec import load_spec

SHAPES = {
    "keyword defaults": """
        class Model:
            def __init__(self, scale=1.0, offset=0):
                self.scale, self.offset = float(scale), float(offset)

            def predict(self, X, features_names=None):
                return [[value * self.scale + self.offset for value in row] for row in X]
        """,
    "keyword-only and **kwargs": """
        class Model:
            def __init__(self, *, scale=1.0, **kwargs):
                self.scale = float(scale)
                self.offset = float(kwargs.get("offset", 0))

            def predict(self, X, features_names=None):
                return [[value * self.scale + self.offset for value in row] for row in X]
        """,
    "a base class from an installed package": """
        import collections

        class Model(collections.UserDict):
            def __init__(self, scale=1.0, offset=0, **kwargs):
                super().__init__()
                self.scale, self.offset = float(scale), float(offset)

            def predict(self, X, features_names=None):
                return [[value * self.scale + self.offset for value in row] for row in X]
        """,
}


def model_folder(tmp_path: Path, source: str, parameters: dict) -> Path:
    folder = tmp_path / "model"
    folder.mkdir(parents=True)
    (folder / "Model.py").write_text(textwrap.dedent(source))
    spec = {
        "name": "plain",
        "version": "v1",
        "wrapper": "Model.Model",
        "runtime": "current",
        "image": "example.org/plain:1",
        "parameters": parameters,
    }
    (folder / "seldon-model.yaml").write_text(yaml.safe_dump(spec))
    return folder


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_init_keywords_are_parameters(tmp_path, shape):
    preflight.check(load_spec(model_folder(tmp_path, SHAPES[shape], {"scale": 3.0, "offset": 2})))


def test_an_unknown_keyword_is_still_refused_naming_what_the_class_takes(tmp_path):
    folder = model_folder(tmp_path, SHAPES["keyword defaults"], {"scael": 3.0})
    with pytest.raises(SpecError) as refused:
        preflight.check(load_spec(folder))
    message = str(refused.value)
    assert "field 'parameters.scael'" in message and "(did you mean 'scale'?)" in message
    assert "it takes: offset, scale" in message


def test_kwargs_and_unreadable_bases_take_anything(tmp_path):
    for index, shape in enumerate(("keyword-only and **kwargs", "a base class from an installed package")):
        folder = model_folder(tmp_path / str(index), SHAPES[shape], {"anything": "goes"})
        preflight.check(load_spec(folder))


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_a_plain_seldon_class_is_deployed_and_answers_with_its_parameters(tmp_path, artifacts, shape):
    from tests.support.gateway import GatewayProcess, predict

    folder = model_folder(tmp_path / str(len(shape)), SHAPES[shape], {"scale": 3.0, "offset": 2})
    gateway = GatewayProcess(tmp_path / "state", artifacts / f"gateway-plain-{len(shape)}.log").start()
    try:
        deployed = gateway.cli("deploy", str(folder))
        assert deployed.returncode == 0, deployed.stdout + deployed.stderr
        name = gateway.listed()[0]["name"]
        reply = predict(f"{gateway.url}/seldon/default/{name}/api/v1.0/predictions", {"data": {"ndarray": [[1, 2]]}})
        assert reply.status_code == 200, reply.text
        assert reply.json()["data"]["ndarray"] == [[5.0, 8.0]]  # 1*3+2, 2*3+2: both parameters applied
    finally:
        gateway.stop()
