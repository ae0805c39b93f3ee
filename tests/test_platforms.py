"""One spec, three platforms: KServe InferenceService and Seldon Core 2 Model beside the SeldonDeployment.

Rendered manifests are checked against the real schemas (KServe v0.20.0's CRD bundled in the
package; Seldon Core 2.10.2's Model CRD kept as test data, BSL-licensed) for many hostile
identities; every name a platform derives fits in 63. The Seldon Core 2 artifact
(`build --artifact`) is served by a real `mlserver start` exactly as an MLServer server loads
it, and answers.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
import requests
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from seldon_pkg.errors import ManifestError, SpecError
from seldon_pkg.platforms import registry
from seldon_pkg.platforms.kserve import CRD_FILE
from seldon_pkg.platforms.kserve import derived_names as kserve_derived_names
from seldon_pkg.platforms.registry import name_of, platform_named
from seldon_pkg.platforms.schema import schema_errors, schema_of
from seldon_pkg.platforms.yaml_documents import to_yaml
from seldon_pkg.spec.model_spec import load_spec, on_platform, parse_spec
from tests.support.digits import held_out
from tests.support.microservice import ROOT

DATA = ROOT / "seldon_pkg" / "data"
SC2_CRD = ROOT / "tests" / "fixtures" / "k8s" / "seldon-v2-model-crd-v2.10.2.yaml"
DNS_1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
STORAGE_SPEC = ROOT / "demo_mnist" / "mnist-cnn-storage.yaml"
OIP_SPEC = ROOT / "demo_mnist" / "mnist-cnn-oip.yaml"


def recorded(notice) -> str:
    return re.search(r"`([0-9a-f]{64})`", notice.read_text()).group(1)


def test_schemas_are_the_recorded_copies_and_sc2s_is_not_shipped():
    kserve = DATA / CRD_FILE
    assert hashlib.sha256(kserve.read_bytes()).hexdigest() == recorded(DATA / "NOTICE-kserve-crd.md")
    assert hashlib.sha256(SC2_CRD.read_bytes()).hexdigest() == recorded(SC2_CRD.parent / "NOTICE.md")
    assert not list(DATA.glob("seldon-v2*")), "Seldon Core 2's schema is BSL-licensed: test data only"


@functools.lru_cache(maxsize=1)
def sc2_schema() -> dict:
    return schema_of(yaml.safe_load(SC2_CRD.read_text()), "v1alpha1")


def sc2_errors(manifest: dict) -> list[str]:
    return schema_errors(manifest, sc2_schema())


SMALL_FOLDER = Path(tempfile.mkdtemp(prefix="platform-specs-"))
"""A model folder with nothing in it: renders do not hash the demo folder's megabytes each time."""


def spec_with(**changes):
    raw = yaml.safe_load(STORAGE_SPEC.read_text())
    raw.update(changes)
    return parse_spec(raw, source_dir=SMALL_FOLDER)


texts = st.one_of(
    st.text(min_size=1, max_size=200).filter(lambda t: t.strip() and t.isprintable()),
    st.text(alphabet="abcXYZ019._-ÄéΩ日本 ", min_size=1, max_size=200).filter(str.strip),
    st.from_regex(r"[A-Za-z.]{150,200}", fullmatch=True),
)
namespaces = st.one_of(
    st.from_regex(r"[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?", fullmatch=True),
    st.from_regex(r"[a-z][-a-z0-9]{39,61}[a-z0-9]", fullmatch=True),  # long: all-hash on KServe, then too long
)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(namespaces, texts, texts), min_size=2, max_size=8, unique=True))
def test_every_platform_renders_valid_unique_names_that_fit(identities):
    """Upper case, unicode, dots, 150+ characters, long namespaces: valid manifests, unique
    DNS-1035 names, every derived name and KServe host label within 63; where no name can fit
    (KServe with a namespace over 45 characters) a clear error names the namespace; KServe
    namespaces of 41-45 characters get all-hash names (a letter and 24 to 40 bits)."""
    names: dict[str, dict] = {"seldon": {}, "kserve": {}, "seldon-v2": {}}
    for namespace, model, version in identities:
        try:
            spec = spec_with(name=model, version=version, namespace=namespace)
        except SpecError:
            continue  # characters the spec itself refuses (tested in test_hostile_specs.py)
        for platform in names:
            on = on_platform(spec, platform)
            if platform == "kserve" and len(namespace) > 45:
                with pytest.raises(SpecError, match=r"namespace.*at most 45"):
                    registry.render(on)
                continue
            manifest = registry.render(on)
            registry.validate(manifest)
            name = manifest["metadata"]["name"]
            if platform == "kserve" and len(namespace) > 40:
                assert re.fullmatch(r"m[0-9a-f]{6,10}", name), name
            assert DNS_1035.match(name) and len(name) <= platform_named(platform).name_budget(namespace)
            if platform == "kserve":
                for kind, derived in kserve_derived_names(name, namespace).items():
                    assert len(derived) <= 63, (kind, derived)
            if platform == "seldon-v2":
                assert sc2_errors(manifest) == []
            identity = (spec.namespace, spec.name, spec.version)
            assert names[platform].setdefault((namespace, name), identity) == identity, "two identities, one name"


def test_distinct_identities_get_distinct_names_on_every_platform():
    base = "x" * 180
    specs = [spec_with(name=base + suffix, version="v1", namespace="team-a") for suffix in ("a", "b", "Ä", ".")]
    for platform in ("seldon", "kserve", "seldon-v2"):
        rendered = {name_of(on_platform(spec, platform)) for spec in specs}
        assert len(rendered) == len(specs)


def test_kserve_budget_depends_on_the_namespace():
    short = name_of(on_platform(spec_with(namespace="a", name="m" * 100), "kserve"))
    long = name_of(on_platform(spec_with(namespace="n" * 40, name="m" * 100), "kserve"))
    assert len(short) == 51 and len(long) == 12
    assert len(f"{long}-predictor-{'n' * 40}") == 63
    with pytest.raises(SpecError, match="namespace"):
        name_of(on_platform(spec_with(namespace="n" * 46), "kserve"))


def test_the_double_checks_reject_what_kserve_would_break_on():
    manifest = registry.render(on_platform(load_spec(OIP_SPEC), "kserve"))
    manifest["metadata"].update(name="m" * 50, namespace="team-with-a-long-name")
    with pytest.raises(ManifestError, match="host_label"):
        registry.validate(manifest)
    manifest = registry.render(on_platform(load_spec(OIP_SPEC), "kserve"))
    manifest["spec"]["predictor"]["minReplica"] = 1
    with pytest.raises(ManifestError, match="unknown field"):
        registry.validate(manifest)


def test_kserve_inference_service_carries_the_model_and_its_storage():
    manifest = registry.render(on_platform(load_spec(STORAGE_SPEC), "kserve"))
    predictor = manifest["spec"]["predictor"]
    container = predictor["containers"][0]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert container["name"] == "kserve-container" and container["ports"][0]["containerPort"] == 8080
    assert env["STORAGE_URI"] == "s3://seldon-pkg-models/mnist-cnn/v1" and env["SELDON_PKG_MODEL_DIR"] == "/mnt/models"
    assert env["MLSERVER_HTTP_PORT"] == "8080"
    assert manifest["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] == "RawDeployment"
    assert predictor["labels"]["app.kubernetes.io/managed-by"] == "seldon-pkg"
    assert container["resources"]["requests"]["memory"] == "256Mi"


def test_seldon_core_2_model_needs_storage_and_names_its_runtime():
    model = registry.render(on_platform(load_spec(STORAGE_SPEC), "seldon-v2"))
    assert model["spec"] == {
        "storageUri": "s3://seldon-pkg-models/mnist-cnn/v1",
        "requirements": ["mlserver", "seldon-pkg"],
        "replicas": 1,
        "memory": "256Mi",
    }
    assert sc2_errors(model) == []
    broken = dict(model, spec=dict(model["spec"], replicas="two"))
    assert any("replicas" in problem for problem in sc2_errors(broken))
    with pytest.raises(SpecError, match=r"storage_uri.*required"):
        registry.render(on_platform(load_spec(OIP_SPEC), "seldon-v2"))


def test_seldondeployment_with_storage_gets_an_initializer_or_the_claim():
    sdep = registry.render(load_spec(STORAGE_SPEC))
    pod = sdep["spec"]["predictors"][0]["componentSpecs"][0]["spec"]
    assert pod["initContainers"][0]["args"] == ["s3://seldon-pkg-models/mnist-cnn/v1", "/mnt/models"]
    assert pod["containers"][0]["volumeMounts"][0]["mountPath"] == "/mnt/models"
    claim = registry.render(spec_with(storage_uri="pvc://models-nfs/mnist/v1"))
    pod = claim["spec"]["predictors"][0]["componentSpecs"][0]["spec"]
    assert "initContainers" not in pod
    assert pod["volumes"][0]["persistentVolumeClaim"] == {"claimName": "models-nfs", "readOnly": True}
    assert pod["containers"][0]["volumeMounts"][0]["subPath"] == "mnist/v1"


@pytest.mark.parametrize(
    "uri, reason",
    [
        ("s3://bucket/../etc", "'..'"),
        ("pvc://claim/a//b", "empty segments"),
        ("pvc://Claim_1/x", "DNS-1123"),
        ("http://example.org/model.onnx", "loopback"),
        ("https://user:pw@example.org/m.onnx", "credentials"),
        ("ftp://example.org/m", "not supported"),
        ("s3://bucket/a\\b", "backslash"),
        ("s3://b/x\nENV X=1", "must not contain"),
    ],
)
def test_storage_uris_that_could_escape_or_inject_are_refused(uri, reason):
    with pytest.raises(SpecError, match=re.escape(reason)):
        spec_with(storage_uri=uri)


def test_protocol_must_suit_the_platform():
    with pytest.raises(SpecError, match="protocol"):
        spec_with(platform="kserve", protocol="seldon")
    with pytest.raises(SpecError, match="protocol"):
        on_platform(load_spec(ROOT / "demo_mnist" / "mnist-cnn.yaml"), "seldon-v2")
    assert spec_with(platform="kserve", protocol=None).protocol == "v2"


def test_each_platform_takes_its_spec_rules_from_the_spec_layer():
    """The spec parser checks platform_rules; every Platform holds its row, and no row lacks one."""
    from seldon_pkg.platforms.registry import DEFAULT_PLATFORM, PLATFORMS
    from seldon_pkg.spec.platform_rules import DEFAULT_RULES, RULES

    assert list(PLATFORMS) == list(RULES)
    for name, platform in PLATFORMS.items():
        assert platform.rules is RULES[name] and platform.name == name
    assert DEFAULT_PLATFORM.rules is DEFAULT_RULES


def test_committed_manifests_for_all_three_platforms_are_current():
    """`make manifests` output in the repo is what the CLI renders now, for every platform."""
    makefile = (ROOT / "Makefile").read_text()
    lines = re.findall(r"seldon-pkg render (\S+)(.*?) --out (\S+)", makefile)
    assert len(lines) >= 8
    for spec, options, out in lines:
        result = subprocess.run(
            [sys.executable, "-m", "seldon_pkg.cli", "render", spec, *options.split()],
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=True,
        )
        assert (ROOT / out).read_text() == result.stdout, out
        manifest = yaml.safe_load(result.stdout)
        registry.validate(manifest)
        if manifest["kind"] == "Model":
            assert sc2_errors(manifest) == []
    for platform in ("kserve", "seldon-v2"):
        assert list((ROOT / "manifests" / "rendered" / platform).glob("*.yaml"))


def test_render_cli_names_the_platform_problems(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "seldon_pkg.cli", "render", str(OIP_SPEC), "--platform", "seldon-v2"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 2 and "storage_uri" in result.stderr


@pytest.mark.slow
def test_the_seldon_core_2_artifact_is_served_by_mlserver_start(tmp_path, oip_environment):
    """`build --artifact` writes what an MLServer server loads from storage; `mlserver start`
    (cwd elsewhere, as the agent runs it) loads it and predicts the held-out digits."""
    from seldon_pkg.build.image_context import write_artifact
    from seldon_pkg.local.ostools import free_ports
    from tests.support.gateway import wait_until

    spec = on_platform(load_spec(STORAGE_SPEC), "seldon-v2")
    spec = dataclasses.replace(spec, parameters={"model_uri": "models/mnist-cnn.onnx"})
    artifact = write_artifact(spec, tmp_path / "repository" / "mnist")
    assert (artifact / "models" / "mnist-cnn.onnx").exists() and not (artifact / "models" / "mnist-cnn.keras").exists()
    http, grpc, metrics = free_ports(3)
    (tmp_path / "repository" / "settings.json").write_text(
        json.dumps({"host": "127.0.0.1", "http_port": http, "grpc_port": grpc, "metrics_port": metrics})
    )
    log = open(tmp_path / "mlserver.log", "wb")
    env = {"PATH": f"{oip_environment.parent}:/usr/bin:/bin", "HOME": str(tmp_path)}
    server = subprocess.Popen(
        [str(oip_environment.parent / "mlserver"), "start", str(tmp_path / "repository")],
        cwd="/",
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    name = name_of(spec)
    try:
        wait_until(lambda: _ready(http, name) or server.poll() is not None, 120)
        assert server.poll() is None, (tmp_path / "mlserver.log").read_text()[-3000:]
        images, labels = held_out()
        body = {
            "inputs": [{"name": "digits", "datatype": "FP32", "shape": [20, 784], "data": images[:20].ravel().tolist()}]
        }
        reply = requests.post(f"http://127.0.0.1:{http}/v2/models/{name}/infer", json=body, timeout=30)
        assert reply.status_code == 200, reply.text
        output = reply.json()["outputs"][0]
        predicted = np.array(output["data"]).reshape(output["shape"]).argmax(axis=1)
        assert (predicted == labels[:20]).sum() >= 18
    finally:
        server.terminate()
        server.wait(30)


def _ready(port: int, name: str) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/v2/models/{name}/ready", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def test_rendered_yaml_has_no_aliases():
    assert "&id" not in to_yaml(registry.render(on_platform(load_spec(STORAGE_SPEC), "kserve")))


@pytest.mark.parametrize(("length", "name_length"), [(40, 12), (41, 11), (45, 7)])
def test_a_long_kserve_namespace_gets_a_short_all_hash_name(length, name_length):
    """Where KServe's host label leaves 7 to 11 characters, the name is all hash (at least 24
    bits); the readable form comes back as soon as it fits."""
    namespace = "n" * length
    spec = on_platform(spec_with(name="mnist", version="v1", namespace=namespace), "kserve")
    manifest = registry.render(spec)
    registry.validate(manifest)
    name = manifest["metadata"]["name"]
    assert len(name) == name_length and DNS_1035.match(name)
    short_form = r"[a-z]-[0-9a-f]{10}" if name_length >= 12 else r"m[0-9a-f]{6,10}"  # readable part cut to a letter
    assert re.fullmatch(short_form, name), name
    assert name_of(spec) == name  # the same rule everywhere the name is asked for
    other = on_platform(spec_with(name="mnist", version="v2", namespace=namespace), "kserve")
    assert name_of(other) != name


def test_a_kserve_namespace_past_45_characters_is_refused_naming_the_field():
    spec = on_platform(spec_with(name="mnist", version="v1", namespace="n" * 46), "kserve")
    with pytest.raises(SpecError, match=r"field 'namespace'.*at most 45 characters"):
        registry.render(spec)
