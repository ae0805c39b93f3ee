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


ROUND_TRIPS = [
    VALID,
    VALID + "protocol: v2\nisolation: process\nplatform: kserve\nstorage_uri: s3://bucket/m/v1\n",
    VALID + "accelerator: {count: 2, node_selector: {pool: gpu}}\n",
    VALID + "accelerator: {type: amd.com/gpu, tolerations: []}\nrequirements: ['pkg @ https://example.org/p.whl']\n"
    "allow_pip_options: true\n",
    VALID.replace("replicas: 2", "replicas: 0") + "protocol: v2\nplatform: seldon-v2\nstorage_uri: s3://models/m\n",
]


@pytest.mark.parametrize("text", ROUND_TRIPS)
def test_a_spec_as_data_reads_back_to_the_same_spec(tmp_path, text):
    """spec_document is how a spec built or changed in code travels to the local gateway."""
    import yaml

    from seldon_pkg.spec.model_spec import parse_spec, spec_document

    (tmp_path / "requirements.txt").write_text("scikit-learn==1.5.0\n")
    spec = load_spec(write(tmp_path, text))
    document = yaml.safe_load(yaml.safe_dump(spec_document(spec)))
    assert parse_spec(document, source_dir=spec.source_dir) == spec


def test_pip_options_travel_only_while_the_folders_requirements_say_them(tmp_path):
    import dataclasses

    from seldon_pkg.errors import Invalid
    from seldon_pkg.spec.model_spec import spec_document

    (tmp_path / "requirements.txt").write_text("--extra-index-url https://example.org/simple\nscikit-learn==1.5.0\n")
    spec = load_spec(write(tmp_path, VALID + "allow_pip_options: true\n"))
    assert "requirements" not in spec_document(spec)  # read from the folder, options and all
    with pytest.raises(Invalid, match=r"requirements\.txt"):
        spec_document(dataclasses.replace(spec, requirements=("numpy<2",)))
