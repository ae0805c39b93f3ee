"""What ``up`` writes to the API server: namespaces, fake nodes, CRDs, configuration, webhooks.

Upstream data files (KServe's CRDs and webhook definitions, kwok's default stages) are read from
the Go module cache, i.e. from the exact module versions pinned by the go.sum files under
tools/cluster/, never from a copy of ours. The configuration each controller needs
(``inferenceservice-config``) is written here from KServe's documentation.
"""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path

import yaml

from tools.cluster.components import BY_NAME

REPO = Path(__file__).resolve().parents[2]
SELDON_CRD = REPO / "seldon_pkg" / "data" / "seldondeployment-crd-v1.yaml"

KWOK_NODE_ANNOTATION = {"kwok.x-k8s.io/node": "fake"}
GPU_RESOURCE = "nvidia.com/gpu"
GPU_TAINT = {"key": GPU_RESOURCE, "value": "present", "effect": "NoSchedule"}
"""The taint GPU node pools carry (GKE, EKS and AKS GPU pools taint ``nvidia.com/gpu``)."""

INGRESS_NODE_PORT = 31380
CRASH_TAG = ":crashloop"
"""Images with this tag crash on start (kwok's stage below): no container runs here."""

CRASH_LOG = """Starting microservice.py:main
Traceback (most recent call last):
  File "/app/MyModel.py", line 9, in load_model
    raise ValueError("weights file 'w.npz' not found")
ValueError: weights file 'w.npz' not found
[INFO] Reason: Worker failed to boot.
"""
"""The log of a crashing container: what the kubelet copies into the termination message of a
container with ``terminationMessagePolicy: FallbackToLogsOnError``."""


def module_dir(component: str) -> Path:
    """Where the Go module cache holds the pinned upstream module of ``component``."""
    spec = BY_NAME[component]
    out = subprocess.run(
        ["go", "list", "-m", "-f", "{{.Dir}}", spec.module],
        cwd=spec.folder,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if not out:
        subprocess.run(["go", "mod", "download", spec.module], cwd=spec.folder, check=True)
        return module_dir(component)
    return Path(out)


def namespaces() -> list[dict]:
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}
        for name, labels in (
            # KServe's pod webhook skips namespaces labelled control-plane (its own)
            ("kserve", {"control-plane": "kserve-controller-manager"}),
            ("seldon-system", {"control-plane": "seldon-controller-manager"}),
            ("istio-system", {}),
        )
    ]


KWOK_TAINT = {"key": "seldon-pkg.io/fake-node", "value": "kwok", "effect": "NoSchedule"}
"""On every kwok node: nothing runs there, so a pod lands there only when it tolerates this (the
test namespaces that want kwok do, by their namespace's default toleration); any other pod goes
to the real node."""


def nodes() -> list[dict]:
    """Two CPU nodes and one GPU node (4 GPUs, tainted as GPU pools are), all managed by kwok and
    all tainted ``KWOK_TAINT``."""

    def node(name: str, capacity: dict, taints: list[dict], labels: dict) -> dict:
        return {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": name,
                "annotations": dict(KWOK_NODE_ANNOTATION),
                "labels": {"type": "kwok", "kubernetes.io/hostname": name, "kubernetes.io/os": "linux", **labels},
            },
            "spec": {"taints": [KWOK_TAINT, *taints]},
            "status": {"capacity": capacity, "allocatable": capacity},
        }

    cpu = {"cpu": "16", "memory": "64Gi", "pods": "110"}
    return [
        node("kwok-cpu-1", cpu, [], {}),
        node("kwok-cpu-2", cpu, [], {}),
        node(
            "kwok-gpu-1",
            {**cpu, GPU_RESOURCE: "4"},
            [GPU_TAINT],
            {"nvidia.com/gpu.present": "true", "nvidia.com/gpu.product": "fake"},
        ),
    ]


def istio_ingress() -> dict:
    """The Service our endpoint code looks for (no Istio runs: nothing answers on it)."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": "istio-ingressgateway",
            "namespace": "istio-system",
            "labels": {"app": "istio-ingressgateway"},
        },
        "spec": {
            "type": "NodePort",
            "selector": {"app": "istio-ingressgateway"},
            "ports": [{"name": "http2", "port": 80, "targetPort": 8080, "nodePort": INGRESS_NODE_PORT}],
        },
    }


def seldon_crds() -> list[Path]:
    return [SELDON_CRD]


def kserve_crds() -> list[Path]:
    """The CRDs of KServe v0.20.0's controller (config/crd/full of the pinned module; the LLM
    inference service has a controller of its own and is left out)."""
    root = module_dir("kserve") / "config" / "crd" / "full"
    files = sorted(root.glob("serving.kserve.io_*.yaml"))
    files += sorted((root / "clusterstoragecontainer").glob("*.yaml"))
    files += sorted((root / "localmodel").glob("serving.kserve.io_*.yaml"))
    return [f for f in files if f.name != "kustomization.yaml"]


def kserve_config(namespace: str = "kserve") -> dict:
    """``inferenceservice-config``, from KServe's documented keys: Standard (raw Deployment)
    mode, the Kubernetes Ingress class ``istio``, images at v0.20.0 (never pulled here)."""

    def image(name: str) -> str:
        return f"kserve/{name}:v0.20.0"

    small = {"memoryRequest": "100Mi", "memoryLimit": "1Gi", "cpuRequest": "100m", "cpuLimit": "1"}
    data = {
        "deploy": {"defaultDeploymentMode": "Standard"},
        "ingress": {
            "ingressGateway": "knative-serving/knative-ingress-gateway",
            "localGateway": "knative-serving/knative-local-gateway",
            "localGatewayService": "knative-local-gateway.istio-system.svc.cluster.local",
            "ingressDomain": "example.com",
            "ingressClassName": "istio",
            "domainTemplate": "{{ .Name }}-{{ .Namespace }}.{{ .IngressDomain }}",
            "urlScheme": "http",
            "disableIstioVirtualHost": False,
            "disableIngressCreation": False,
        },
        "storageInitializer": {
            "image": image("storage-initializer"),
            **small,
            "enableModelcar": False,
            "cpuModelcar": "10m",
            "memoryModelcar": "15Mi",
            "uidModelcar": 1010,
        },
        "credentials": {
            "storageSpecSecretName": "storage-config",
            "storageSecretNameAnnotation": "serving.kserve.io/storageSecretName",
            "gcs": {"gcsCredentialFileName": "gcloud-application-credentials.json"},
            "s3": {"s3AccessKeyIDName": "AWS_ACCESS_KEY_ID", "s3SecretAccessKeyName": "AWS_SECRET_ACCESS_KEY"},
        },
        "explainers": {"art": {"image": "kserve/art-explainer", "defaultImageVersion": "v0.20.0"}},
        "logger": {"image": image("agent"), **small, "defaultUrl": "http://default-broker"},
        "batcher": {"image": image("agent"), **small, "maxBatchSize": "32", "maxLatency": "5000"},
        "agent": {"image": image("agent"), **small},
        "router": {"image": image("router"), **small, "imagePullPolicy": "IfNotPresent"},
        "metricsAggregator": {"enableMetricAggregation": "false", "enablePrometheusScraping": "false"},
        "localModel": {"enabled": False, "jobNamespace": "kserve-localmodel-jobs"},
        "security": {"autoMountServiceAccountToken": True},
        "inferenceService": {
            "resource": {"cpuLimit": "1", "memoryLimit": "2Gi", "cpuRequest": "1", "memoryRequest": "2Gi"}
        },
        "autoscaler": {"scaleUpStabilizationWindowSeconds": "0", "scaleDownStabilizationWindowSeconds": "300"},
    }
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "inferenceservice-config", "namespace": namespace},
        "data": {key: json.dumps(value, indent=2) for key, value in data.items()},
    }


def kserve_webhooks(port: int, ca_bundle: bytes) -> list[dict]:
    """KServe's own webhook configurations (config/webhook/manifests.yaml of the pinned module),
    pointed at the controller on 127.0.0.1 by URL instead of an in-cluster Service."""
    text = (module_dir("kserve") / "config" / "webhook" / "manifests.yaml").read_text()
    bundle = base64.b64encode(ca_bundle).decode()
    configurations = []
    for document in yaml.safe_load_all(text):
        if not document:
            continue
        document["metadata"].pop("creationTimestamp", None)
        for hook in document["webhooks"]:
            path = hook["clientConfig"]["service"]["path"]
            hook["clientConfig"] = {"url": f"https://127.0.0.1:{port}{path}", "caBundle": bundle}
        configurations.append(document)
    return configurations


KWOK_NODE_LEASE_SECONDS = 40
"""The node lease kwok holds for each fake node, renewed every quarter of it (10 s), as a kubelet
does with its default ``nodeLeaseDurationSeconds``: the controller manager's node lifecycle
controller counts a renewal as the node's heartbeat and marks a node NotReady only after its
``--node-monitor-grace-period`` (50 s in v1.34) without one. Without a lease (kwok's own default
when its configuration file sets no ``nodeLeaseDurationSeconds``) kwok's fallback heartbeat stage
updates the Ready condition every 20-45 s, so every node went NotReady for a few seconds about
once a minute and every pod on it lost Ready for good."""


def kwok_config() -> str:
    """kwok's configuration: a node lease per node (KWOK_NODE_LEASE_SECONDS); its own default node
    stages for that mode (node-initialize, node-heartbeat-with-lease) and pod stages (pod-ready,
    pod-complete, pod-delete), all from the pinned module; plus one stage of ours,
    ``container-crashes``: a pod whose container image is tagged ``:crashloop`` waits in
    CrashLoopBackOff with CRASH_LOG as the termination message (when the container asks for it),
    which is what the kubelet shows for a model that raises in ``load()``. Its weight wins over
    pod-ready for such pods."""
    stage = module_dir("kwok") / "kustomize" / "stage"
    node_stages = [stage / "node" / "fast" / "node-initialize.yaml"]
    node_stages.append(stage / "node" / "heartbeat-with-lease" / "node-heartbeat-with-lease.yaml")
    pod_stages = sorted((stage / "pod" / "fast").glob("pod-*.yaml"))
    documents = [yaml.safe_load(f.read_text()) for f in (*node_stages, *pod_stages)]
    for document in documents:
        if document["metadata"]["name"] == "pod-ready":  # leave crashing pods to our stage
            document["spec"]["selector"]["matchExpressions"].append(_not_crashing())
    documents.append(_crash_stage())
    options = {
        "apiVersion": "config.kwok.x-k8s.io/v1alpha1",
        "kind": "KwokConfiguration",
        "options": {"nodeLeaseDurationSeconds": KWOK_NODE_LEASE_SECONDS},
    }
    return "\n---\n".join(yaml.safe_dump(d, sort_keys=False) for d in (options, *documents))


def _crashing_query() -> str:
    return f'.spec.containers.[] | select(.image | endswith("{CRASH_TAG}")) | .name'


def _not_crashing() -> dict:
    return {"key": _crashing_query(), "operator": "DoesNotExist"}


def _crash_stage() -> dict:
    message = json.dumps(CRASH_LOG)
    template = (
        "{{ $now := Now }}\n"
        "phase: Running\n"
        "podIP: {{ PodIP }}\n"
        "podIPs:\n- ip: {{ PodIP }}\n"
        "hostIP: {{ NodeIP }}\n"
        "startTime: {{ $now | Quote }}\n"
        "conditions:\n"
        "- {type: Initialized, status: 'True', lastTransitionTime: {{ $now | Quote }}}\n"
        "- {type: Ready, status: 'False', reason: ContainersNotReady, lastTransitionTime: {{ $now | Quote }}}\n"
        "- {type: ContainersReady, status: 'False', reason: ContainersNotReady, lastTransitionTime: {{ $now | Quote }}}\n"
        "- {type: PodScheduled, status: 'True', lastTransitionTime: {{ $now | Quote }}}\n"
        "containerStatuses:\n"
        "{{ range .spec.containers }}\n"
        "- name: {{ .name | Quote }}\n"
        "  image: {{ .image | Quote }}\n"
        "  imageID: ''\n"
        "  ready: false\n"
        "  started: false\n"
        "  restartCount: 3\n"
        '  state: {waiting: {reason: CrashLoopBackOff, message: "back-off 40s restarting failed container"}}\n'
        "  lastState:\n"
        "    terminated:\n"
        "      exitCode: 3\n"
        "      reason: Error\n"
        "      startedAt: {{ $now | Quote }}\n"
        "      finishedAt: {{ $now | Quote }}\n"
        '{{ if eq (or .terminationMessagePolicy "File") "FallbackToLogsOnError" }}'
        f"      message: {message}\n"
        "{{ end }}\n"
        "{{ end }}\n"
    )
    return {
        "apiVersion": "kwok.x-k8s.io/v1alpha1",
        "kind": "Stage",
        "metadata": {"name": "container-crashes"},
        "spec": {
            "resourceRef": {"apiGroup": "v1", "kind": "Pod"},
            "selector": {
                "matchExpressions": [
                    {"key": ".metadata.deletionTimestamp", "operator": "DoesNotExist"},
                    {"key": ".status.podIP", "operator": "DoesNotExist"},
                    {"key": _crashing_query(), "operator": "Exists"},
                ]
            },
            "weight": 1,
            "next": {"statusTemplate": template},
        },
    }
