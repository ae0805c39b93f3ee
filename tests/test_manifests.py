"""SeldonDeployment manifests against the real CRD schema and Seldon's webhook rules."""

from __future__ import annotations

import copy

import jsonschema
import pytest
import yaml

from seldon_pkg.errors import ManifestError, SpecError
from seldon_pkg.platforms import schema
from seldon_pkg.platforms.labels import ANNOTATION_MODEL, MANAGED_BY, MODEL, REVISION, VERSION
from seldon_pkg.platforms.metadata import revision_of
from seldon_pkg.platforms.registry import name_of
from seldon_pkg.platforms.seldon import CRD_FILE, SELDON, canary_deployment, seldon_deployment
from seldon_pkg.spec.model_spec import load_spec
from tests.support.crd import bundled_digest, crd_schema, recorded_digest
from tests.support.microservice import ROOT

DEMO_SPECS = sorted((ROOT / "demo_mnist").glob("mnist-*.yaml"))


def test_bundled_crd_is_the_recorded_copy():
    assert bundled_digest() == recorded_digest()
    assert schema.crd_schema(CRD_FILE, "v1") == crd_schema()


@pytest.mark.parametrize("spec_path", DEMO_SPECS, ids=lambda p: p.name)
def test_demo_manifests_validate_against_the_crd(spec_path):
    manifest = seldon_deployment(load_spec(spec_path))
    jsonschema.Draft4Validator(crd_schema()).validate(manifest)
    SELDON.validate(manifest)


def test_manifest_content():
    spec = load_spec(ROOT / "demo_mnist" / "mnist-cnn.yaml")
    manifest = seldon_deployment(spec)
    predictor = manifest["spec"]["predictors"][0]
    assert manifest["metadata"]["name"] == manifest["spec"]["name"] == name_of(spec)
    assert predictor["name"] == "default" and "-" not in predictor["name"]
    container = predictor["componentSpecs"][0]["spec"]["containers"][0]
    assert container["name"] == predictor["graph"]["name"] == "classifier"
    assert container["image"] == spec.image
    assert container["resources"] == {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "512Mi"}}
    assert predictor["graph"]["parameters"] == [
        {"name": "model_uri", "value": "models/mnist-cnn.onnx", "type": "STRING"}
    ]
    for where in (
        manifest["metadata"]["labels"],
        predictor["labels"],
        predictor["componentSpecs"][0]["metadata"]["labels"],
    ):
        assert where[MANAGED_BY] == "seldon-pkg"
        assert where[MODEL] == "mnist-cnn" and where[VERSION] == "v1"
        assert where[REVISION] == revision_of(spec)
    assert manifest["metadata"]["annotations"][ANNOTATION_MODEL] == "mnist-cnn"


def test_parameter_types_are_seldons(tmp_path):
    (tmp_path / "seldon-model.yaml").write_text(
        "name: m\nversion: v1\nwrapper: M.M\nimage: i:1\nparameters: {s: text, i: 3, f: 0.25, b: false}\n"
    )
    graph = seldon_deployment(load_spec(tmp_path))["spec"]["predictors"][0]["graph"]
    assert {p["name"]: (p["type"], p["value"]) for p in graph["parameters"]} == {
        "b": ("BOOL", "false"),
        "f": ("DOUBLE", "0.25"),
        "i": ("INT", "3"),
        "s": ("STRING", "text"),
    }


def test_revision_changes_with_what_changes_the_pods(tmp_path):
    base = "name: m\nversion: v1\nwrapper: M.M\nimage: i:1\n"
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "seldon-model.yaml").write_text(base)
    (tmp_path / "b" / "seldon-model.yaml").write_text(base.replace("i:1", "i:2"))
    a, b = load_spec(tmp_path / "a"), load_spec(tmp_path / "b")
    assert name_of(a) == name_of(b)  # same identity: an update...
    assert revision_of(a) != revision_of(b)  # ...to a new revision


def test_canary_form():
    stable = load_spec(ROOT / "demo_mnist" / "mnist-cnn.yaml")
    canary = load_spec(ROOT / "demo_mnist" / "mnist-cnn-v2.yaml")
    manifest = canary_deployment(stable, canary, 10)
    SELDON.validate(manifest)
    jsonschema.Draft4Validator(crd_schema()).validate(manifest)
    predictors = manifest["spec"]["predictors"]
    assert [(p["name"], p["traffic"]) for p in predictors] == [("default", 90), ("canary", 10)]
    assert predictors[1]["componentSpecs"][0]["spec"]["containers"][0]["image"].endswith(":0.2")
    assert predictors[1]["labels"][VERSION] == "v2"
    with pytest.raises(SpecError, match="same model"):
        canary_deployment(stable, load_spec(ROOT / "demo_mnist" / "mnist-mlp.yaml"), 10)
    with pytest.raises(SpecError, match="different version"):
        canary_deployment(stable, stable, 10)


@pytest.mark.parametrize(
    "breakage, message",
    [
        (
            lambda m: m["spec"]["predictors"][0]["componentSpecs"][0]["spec"]["containers"][0].update(name="other"),
            "has no container",
        ),
        (lambda m: m["spec"]["predictors"].append(copy.deepcopy(m["spec"]["predictors"][0])), "unique"),
        (
            lambda m: (
                m["spec"]["predictors"][0].update(traffic=50)
                or m["spec"]["predictors"].append(
                    dict(copy.deepcopy(m["spec"]["predictors"][0]), name="canary", traffic=30)
                )
            ),
            "sum to 100",
        ),
        (lambda m: m["metadata"].update(name="x" * 50), "longer than 63"),
        (lambda m: m["spec"]["predictors"][0].update(replicas="one"), "is not of type 'integer'"),
        (lambda m: m["spec"]["predictors"][0].update(lables={}), "unknown field"),
        (
            lambda m: m["spec"]["predictors"][0]["graph"].update(parameters=[{"name": "x", "value": 1, "type": "INT"}]),
            "is not of type 'string'",
        ),
    ],
)
def test_invalid_manifests_are_refused(breakage, message):
    manifest = seldon_deployment(load_spec(ROOT / "demo_mnist" / "mnist-cnn.yaml"))
    breakage(manifest)
    with pytest.raises(ManifestError, match=message):
        SELDON.validate(manifest)


def test_core_objects_validate_with_kubernetes_validate():
    import kubernetes_validate

    documents = list(yaml.safe_load_all((ROOT / "manifests" / "seldon-core" / "rbac-seldon-pkg.yaml").read_text()))
    assert {d["kind"] for d in documents} == {"ServiceAccount", "Role", "RoleBinding", "Namespace"}
    for document in documents:
        kubernetes_validate.validate(document, "1.28.0", strict=True)
    broken = dict(documents[1], rules=[{"apiGroups": [""], "resources": "pods", "verbs": ["get"]}])
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, "1.28.0", strict=True)


def test_revision_follows_the_models_code_and_files_but_not_its_tests(tmp_path):
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "seldon-model.yaml").write_text("name: m\nversion: v1\nwrapper: Model.Model\nimage: example.org/m:1\n")
    (folder / "Model.py").write_text("class Model:\n    factor = 1\n")
    first = revision_of(load_spec(folder))
    (folder / "test_Model.py").write_text("def test(): pass\n")
    assert revision_of(load_spec(folder)) == first  # tests are not what is served
    (folder / "Model.py").write_text("class Model:\n    factor = 2\n")
    second = revision_of(load_spec(folder))
    assert second != first  # a code change is a new revision, same name
    (folder / "weights.bin").write_bytes(b"\x00" * 10)
    assert revision_of(load_spec(folder)) not in (first, second)
    assert name_of(load_spec(folder)) == seldon_deployment(load_spec(folder))["metadata"]["name"]
