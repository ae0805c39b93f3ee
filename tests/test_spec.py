"""The model spec: valid files load, invalid ones are refused naming the field."""

from __future__ import annotations

import textwrap

import pytest

from seldon_pkg.errors import SpecError
from seldon_pkg.spec.model_spec import load_spec

VALID = """
name: My Model
version: v1
namespace: team-a
wrapper: MyModel.MyModel
parameters: {model_uri: model.onnx, threshold: 0.5, batch: 8, verbose: true}
image: example.org/my:1
replicas: 2
resources: {requests: {cpu: 100m, memory: 256Mi}, limits: {memory: 1Gi}}
env: {LOG_LEVEL: debug, WORKERS: 2}
"""


def write(tmp_path, text):
    path = tmp_path / "seldon-model.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_a_valid_spec_loads_with_its_folder(tmp_path):
    (tmp_path / "requirements.txt").write_text("scikit-learn==1.5.0  # comment\n\n")
    spec = load_spec(write(tmp_path, VALID))
    assert (spec.name, spec.version, spec.namespace) == ("My Model", "v1", "team-a")
    assert (spec.module, spec.class_name) == ("MyModel", "MyModel")
    assert spec.parameters == {"model_uri": "model.onnx", "threshold": 0.5, "batch": 8, "verbose": True}
    assert spec.env == {"LOG_LEVEL": "debug", "WORKERS": "2"}
    assert spec.source_dir == tmp_path.resolve()
    assert spec.requirements == ("scikit-learn==1.5.0",)
    assert load_spec(tmp_path) == spec  # a folder means its seldon-model.yaml


@pytest.mark.parametrize(
    "change, field, reason",
    [
        ({"colour": "red"}, "colour", "unknown key"),
        ({"name": None}, "name", "is required"),
        ({"name": 42}, "name", "must be a string"),
        ({"version": 1.10}, "version", "quoted string"),
        ({"wrapper": "MyModel"}, "wrapper", "Module.Class"),
        ({"wrapper": "my-model.Class"}, "wrapper", "Module.Class"),
        ({"replicas": -1}, "replicas", "must not be negative"),
        ({"replicas": "two"}, "replicas", "must be an integer"),
        ({"namespace": "Team_A"}, "namespace", "DNS-1123"),
        ({"resources": {"requests": {"cpu": "lots"}}}, "resources.requests.cpu", "Kubernetes quantity"),
        ({"resources": {"wants": {}}}, "resources.wants", "unknown key"),
        ({"parameters": {"model-uri": "x"}}, "parameters.model-uri", "Python identifier"),
        ({"parameters": {"x": [1, 2]}}, "parameters.x", "string, number or boolean"),
        ({"env": {"PREDICTIVE_UNIT_PARAMETERS": "[]"}}, "env.PREDICTIVE_UNIT_PARAMETERS", "set parameters instead"),
        ({"env": {"1BAD": "x"}}, "env.1BAD", "not a valid environment variable"),
        ({"runtime": "docker"}, "runtime", "isolated, current"),
        ({"image": "has space:1"}, "image", "must be an image reference"),
    ],
)
def test_invalid_specs_name_the_field(tmp_path, change, field, reason):
    import yaml

    raw = yaml.safe_load(VALID)
    raw.update(change)
    with pytest.raises(SpecError) as caught:
        load_spec(write(tmp_path, yaml.safe_dump(raw)))
    assert caught.value.field == field
    assert reason in str(caught.value)
    assert f"field '{field}'" in str(caught.value)


def test_not_yaml_and_missing_file(tmp_path):
    with pytest.raises(SpecError, match="not valid YAML"):
        load_spec(write(tmp_path, "name: [unclosed"))
    with pytest.raises(SpecError, match="not found"):
        load_spec(tmp_path / "nope.yaml")
