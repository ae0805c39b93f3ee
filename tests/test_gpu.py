"""GPU models: the ``accelerator`` field from the spec to the manifests, the runtimes, the real
scheduler's placement on kwok's GPU node (and its refusal), and the CPU fallback locally.

No GPU on these machines: what is verified is the manifests (against each platform's schema
and the real API server), the scheduling on fake nodes with ``nvidia.com/gpu`` capacity and the
taint, and that a GPU spec runs on the CPU with a warning; a real CUDA run is not."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from seldon_pkg.build.requirements import requirements_file
from seldon_pkg.errors import NotReady, SpecError
from seldon_pkg.platforms import registry
from seldon_pkg.platforms.registry import name_of
from seldon_pkg.spec.model_spec import load_spec, parse_spec
from seldon_pkg.targets import DeployPolicy, deployed
from seldon_pkg.targets.kubernetes import KubernetesTarget
from tests.support.microservice import ROOT

GPU_SPEC = ROOT / "demo_mnist" / "mnist-cnn-gpu.yaml"
CPU_SPEC = ROOT / "demo_mnist" / "mnist-cnn.yaml"
CLI = str(Path(sys.executable).parent / "seldon-pkg")


def spec_with(**changes):
    raw = yaml.safe_load(CPU_SPEC.read_text())
    raw.update(changes)
    return parse_spec(raw, source_dir=CPU_SPEC.parent)


def test_the_field_defaults_to_one_nvidia_gpu_tolerating_the_gpu_taint():
    spec = spec_with(accelerator={})
    assert (spec.accelerator.type, spec.accelerator.count) == ("nvidia.com/gpu", 1)
    assert spec.accelerator.pod_tolerations() == [
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
    ]
    assert spec_with(accelerator={"tolerations": []}).accelerator.pod_tolerations() == []  # the spec's own, even none


@pytest.mark.parametrize(
    "accelerator, field",
    [
        ("one", "accelerator"),
        ({"count": 0}, "accelerator.count"),
        ({"count": True}, "accelerator.count"),
        ({"count": 99}, "accelerator.count"),
        ({"type": "gpu"}, "accelerator.type"),
        ({"type": "nvidia.com/gpu\nFROM evil"}, "accelerator.type"),
        ({"kind": "x"}, "accelerator.kind"),
        ({"node_selector": {"bad key!": "x"}}, "accelerator.node_selector.bad key!"),
        ({"node_selector": {"pool": "not ok!"}}, "accelerator.node_selector.pool"),
        ({"tolerations": [{"key": "k", "operator": "Maybe"}]}, "accelerator.tolerations[0].operator"),
        ({"tolerations": [{"operator": "Equal", "value": "v"}]}, "accelerator.tolerations[0].key"),
        ({"tolerations": [{"key": "k", "operator": "Exists", "value": "v"}]}, "accelerator.tolerations[0].value"),
        ({"tolerations": [{"key": "k", "effect": "Sometimes"}]}, "accelerator.tolerations[0].effect"),
        ({"tolerations": "all"}, "accelerator.tolerations"),
    ],
)
def test_bad_accelerators_are_refused_naming_the_field(accelerator, field):
    with pytest.raises(SpecError) as refused:
        spec_with(accelerator=accelerator)
    assert f"field '{field}'" in str(refused.value)


def test_seldon_core_2_refuses_what_only_a_server_can_express():
    storage = {"protocol": "v2", "platform": "seldon-v2", "storage_uri": "s3://models/mnist/v1"}
    with pytest.raises(SpecError, match=r"field 'accelerator\.node_selector'.*Server's podSpec"):
        spec_with(**storage, accelerator={"node_selector": {"pool": "gpu"}})
    with pytest.raises(SpecError, match=r"field 'accelerator\.tolerations'"):
        spec_with(**storage, accelerator={"tolerations": []})
    model = registry.render(spec_with(**storage, accelerator={}))
    assert model["spec"]["requirements"][-1] == "gpu"


def test_every_platform_gets_the_limit_the_toleration_and_the_node_selection():
    spec = dataclasses.replace(
        load_spec(GPU_SPEC),
        accelerator=spec_with(
            accelerator={"count": 2, "node_selector": {"cloud.google.com/gke-accelerator": "nvidia-l4"}}
        ).accelerator,
    )
    sdep = registry.render(spec)
    registry.validate(sdep)
    pod = sdep["spec"]["predictors"][0]["componentSpecs"][0]["spec"]
    container = pod["containers"][0]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "2"
    assert container["resources"]["requests"] == {"cpu": "500m", "memory": "1Gi"}
    assert pod["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    assert pod["nodeSelector"] == {"cloud.google.com/gke-accelerator": "nvidia-l4"}
    assert {"name": "SELDON_PKG_ACCELERATOR", "value": "nvidia.com/gpu"} in container["env"]
    isvc = registry.render(dataclasses.replace(spec, platform="kserve"))
    registry.validate(isvc)
    predictor = isvc["spec"]["predictor"]
    assert predictor["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "2"
    assert predictor["tolerations"] == pod["tolerations"] and predictor["nodeSelector"] == pod["nodeSelector"]
    cpu = registry.render(load_spec(CPU_SPEC))  # and nothing of it without the field
    assert "tolerations" not in cpu["spec"]["predictors"][0]["componentSpecs"][0]["spec"]


def test_gpu_models_get_the_gpu_builds_of_their_runtimes():
    gpu = requirements_file(load_spec(GPU_SPEC)).splitlines()
    assert "onnxruntime-gpu<2,>=1.20" in gpu or any(line.startswith("onnxruntime-gpu") for line in gpu)
    assert not any(line.startswith("onnxruntime<") or line.startswith("onnxruntime>") for line in gpu)
    cpu = requirements_file(load_spec(CPU_SPEC)).splitlines()
    assert any(line.startswith("onnxruntime") and "gpu" not in line for line in cpu)
    keras = spec_with(parameters={"model_uri": "models/mnist-cnn.keras"}, accelerator={})
    assert any(line.startswith("tensorflow[and-cuda]") for line in requirements_file(keras).splitlines())


def _gpu_spec(kube, tmp_path, key: str, **changes) -> Path:
    return kube.spec_file(GPU_SPEC, tmp_path / key, **changes)


def test_the_real_scheduler_puts_gpu_pods_on_gpu_nodes_only(kube, tmp_path):
    if not kube.embedded:
        pytest.skip("needs the embedded control plane's kwok GPU node")
    gpu = load_spec(_gpu_spec(kube, tmp_path, "gpu", replicas=2, storage_uri=None, name="gpu-cnn"))
    cpu = dataclasses.replace(load_spec(CPU_SPEC), namespace=kube.namespace, replicas=3)
    target = KubernetesTarget(kube.cluster)
    for spec in (gpu, cpu):
        assert target.deploy(spec).info.state == "Available"
    on = {
        spec.name: {p["spec"]["nodeName"] for p in kube.list("pods", f"seldon-deployment-id={name_of(spec)}")}
        for spec in (gpu, cpu)
    }
    assert on["gpu-cnn"] == {"kwok-gpu-1"}  # both replicas: the only node with the resource
    assert on["mnist-cnn"] and "kwok-gpu-1" not in on["mnist-cnn"]  # the taint keeps CPU models off it
    kserve = dataclasses.replace(gpu, platform="kserve", name="gpu-cnn-kserve", replicas=1)
    info = KubernetesTarget(kube.cluster, platform="kserve").deploy(kserve, DeployPolicy(timeout=60)).info
    pods = kube.list("pods", f"serving.kserve.io/inferenceservice={info.name}")
    assert {p["spec"]["nodeName"] for p in pods} == {"kwok-gpu-1"}


def test_more_gpus_than_any_node_has_fails_with_the_schedulers_reason(kube, tmp_path):
    spec_file = _gpu_spec(kube, tmp_path, "greedy", storage_uri=None, name="greedy", accelerator={"count": 5})
    deployed_ = subprocess.run(
        [CLI, "deploy", str(spec_file), "--target", "k8s", "--timeout", "5"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert deployed_.returncode == 4, deployed_.stderr  # NotReady
    first = deployed_.stderr[deployed_.stderr.index("error: ") :].splitlines()[0]
    assert re.search(r"is Creating after 5 s: the scheduler: 0/\d nodes are available", first), first
    assert "Insufficient nvidia.com/gpu" in first
    name = name_of(load_spec(spec_file))
    described = subprocess.run(
        [CLI, "describe", name, "--target", "k8s", "-o", "json"], capture_output=True, text=True, timeout=120
    )
    detail = json.loads(described.stdout)
    pod = next(c for c in detail["children"] if c["kind"] == "Pod")
    assert pod["node"] is None and any(
        re.match(r"FailedScheduling: 0/\d nodes are available", e) for e in pod["events"]
    )
    # the CLI's failed deploy stays for the user to inspect; deployed() undoes what never became ready
    other = load_spec(
        _gpu_spec(kube, tmp_path, "greedy-2", storage_uri=None, name="greedy-2", accelerator={"count": 5})
    )
    with pytest.raises(NotReady, match=r"Insufficient nvidia\.com/gpu"):
        with deployed(KubernetesTarget(kube.cluster), other, DeployPolicy(mode="keep", timeout=5)):
            pytest.fail("the block must not run")
    assert [row.name for row in KubernetesTarget(kube.cluster).list(kube.namespace)] == [name]


def test_a_gpu_spec_runs_on_the_cpu_locally_and_says_so(tmp_path, artifacts):
    """The same spec on a machine with no GPU: deployed locally, it answers, and its log warns
    once that it runs on the CPU. (runtime: current, the suite's environment, so no CUDA
    wheels are downloaded here; the isolated environment's onnxruntime-gpu is chosen by the
    same table, checked above.)"""
    from tests.support.digits import held_out
    from tests.support.gateway import GatewayProcess, predict

    folder = tmp_path / "gpu-model"
    folder.mkdir()
    raw = yaml.safe_load(GPU_SPEC.read_text())
    raw.update(
        protocol="seldon",
        runtime="current",
        storage_uri=None,
        parameters={"model_uri": str(ROOT / "demo_mnist" / "models" / "mnist-cnn.onnx")},
    )
    (folder / "seldon-model.yaml").write_text(yaml.safe_dump(raw))
    gateway = GatewayProcess(tmp_path / "state", artifacts / "gateway-gpu.log").start()
    try:
        result = gateway.cli("deploy", str(folder))
        assert result.returncode == 0, result.stdout + result.stderr
        name = name_of(load_spec(folder))
        images, labels = held_out()
        reply = predict(
            f"{gateway.url}/seldon/default/{name}/api/v1.0/predictions",
            {"data": {"ndarray": images[:5].reshape(5, -1).tolist()}},
        )
        assert reply.status_code == 200, reply.text
        predicted = [max(range(10), key=row.__getitem__) for row in reply.json()["data"]["ndarray"]]
        assert sum(p == int(t) for p, t in zip(predicted, labels[:5], strict=True)) >= 4
        logs = gateway.cli("logs", name, "--tail", "200")
        assert "asked for nvidia.com/gpu but no GPU is visible: running on the CPU" in logs.stdout, logs.stdout[-2000:]
    finally:
        gateway.stop()
