"""A simulated Seldon Core 1.17 operator over the double's store.

On every SeldonDeployment change it reconciles, like the real controller:
* one Deployment per predictor component container, named ``<sdep>-<predictor>-<idx>-<container>``
  (``seldon-<md5>`` when longer than 63), a ReplicaSet and ``replicas`` Pods under it, and the
  Services ``<sdep>-<predictor>`` and ``<sdep>-<predictor>-<container>``;
* labels ``seldon-deployment-id``, ``app.kubernetes.io/managed-by=seldon-core``, ``seldon-app``,
  plus ``predictors[].labels`` and ``componentSpecs[].metadata.labels`` on Deployments and pods;
* controller ownerReferences to the SeldonDeployment (Deployments, Services), Deployment
  (ReplicaSet) and ReplicaSet (Pods); deletion is left to garbage collection (no finalizer);
* ``status.state``: ``Creating``, then ``Available`` after ``ready_delay`` seconds, or ``Failed``
  with a description when an image name contains ``crashloop`` (pods wait in CrashLoopBackOff).

Switches reproduce what users of Seldon Core have reported: ``leak_pods_on_delete`` (pods lose
their owner and survive the SeldonDeployment's deletion) and ``leak_pods_on_rename`` (renaming
a predictor leaves the old predictor's pods running).
"""

from __future__ import annotations

import hashlib
import threading
import time
import uuid

from tests.k8s_double.store import ApiError, Store

MAX_NAME = 63


def operator_name(name: str) -> str:
    return name if len(name) <= MAX_NAME else "seldon-" + hashlib.md5(name.encode()).hexdigest()


FIRST_HTTP_PORT, FIRST_GRPC_PORT = 9000, 9500
"""operator/constants (FirstHttpPortNumber, FirstGrpcPortNumber) at Seldon Core v1.17.1."""


def with_port_env(container: dict, protocol: str) -> dict:
    """The environment the operator gives a model container (operator/controllers at v1.17.1:
    seldondeployment_controller.go adds the predictive unit's ports and id; for protocol v2 the
    controller test "Check port envs have been added" expects MLSERVER_HTTP_PORT/GRPC_PORT on the
    same ports and MLSERVER_MODEL_NAME = the container's name)."""
    env = [
        {"name": "PREDICTIVE_UNIT_HTTP_SERVICE_PORT", "value": str(FIRST_HTTP_PORT)},
        {"name": "PREDICTIVE_UNIT_GRPC_SERVICE_PORT", "value": str(FIRST_GRPC_PORT)},
        {"name": "PREDICTIVE_UNIT_ID", "value": container["name"]},
    ]
    if protocol == "v2":
        env += [
            {"name": "MLSERVER_HTTP_PORT", "value": str(FIRST_HTTP_PORT)},
            {"name": "MLSERVER_GRPC_PORT", "value": str(FIRST_GRPC_PORT)},
            {"name": "MLSERVER_MODEL_NAME", "value": container["name"]},
        ]
    return dict(container, env=[*container.get("env", []), *env])


CRASH_LOG = """Starting microservice.py:main
Traceback (most recent call last):
  File "/app/MyModel.py", line 9, in load_model
    raise ValueError("weights file 'w.npz' not found")
ValueError: weights file 'w.npz' not found

The above exception was the direct cause of the following exception:

Traceback (most recent call last):
  File "/usr/local/lib/python3.11/site-packages/gunicorn/arbiter.py", line 589, in spawn_worker
    worker.init_process()
ConnectionRefusedError: [Errno 111] Connection refused
[INFO] Reason: Worker failed to boot.
"""
"""What a crashing model container logs (images named *crashloop*): the model's error, then noise."""


def owner(obj: dict) -> dict:
    return {
        "apiVersion": obj["apiVersion"],
        "kind": obj["kind"],
        "name": obj["metadata"]["name"],
        "uid": obj["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


class SimulatedController:
    """What every simulated controller shares: watch events on its custom resource are queued
    and reconciled a moment later on the controller's own thread; ``_finish`` runs
    ``ready_delay`` after each reconcile; ``leak_pods_on_delete`` orphans the pods (labelled
    ``children_label=<name>``) before garbage collection reaches them."""

    plural = ""
    children_label = ""

    def __init__(self, store: Store, ready_delay: float = 0.3, reconcile_delay: float = 0.05) -> None:
        self.store = store
        self.ready_delay = ready_delay
        self.reconcile_delay = reconcile_delay
        self._to_reconcile: dict[tuple[str, str], float] = {}
        self.leak_pods_on_delete = False
        self.leak_pods_on_rename = False
        self._pending: dict[tuple[str, str], float] = {}
        self._reconciled: dict[str, int] = {}  # uid -> generation last reconciled
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"{self.plural}-controller", daemon=True)
        store.listeners.append(self._on_event)
        store.before_delete.append(self._before_delete)

    def start(self):
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    # ---- events ----------------------------------------------------------------------------
    def _on_event(self, event: str, plural: str, obj: dict) -> None:
        if plural != self.plural:
            return
        key = (obj["metadata"]["namespace"], obj["metadata"]["name"])
        if event == "DELETED":
            self._pending.pop(key, None)
            self._to_reconcile.pop(key, None)
            return
        uid, generation = obj["metadata"]["uid"], obj["metadata"]["generation"]
        if event in ("ADDED", "MODIFIED") and self._reconciled.get(uid) != generation:
            self._reconciled[uid] = generation
            # like the real controller: the watch event is queued and reconciled a moment later,
            # on another thread, never inside the API call that caused it
            self._to_reconcile[key] = time.monotonic() + self.reconcile_delay

    def _loop(self) -> None:
        while not self._stop.wait(0.02):
            now = time.monotonic()
            for key, due in list(self._to_reconcile.items()):
                if now >= due:
                    self._to_reconcile.pop(key, None)
                    current = self._get(self.plural, *key)
                    if current is not None:
                        self._reconcile(current)
                        self._pending[key] = time.monotonic() + self.ready_delay
            for key, due in list(self._pending.items()):
                if now >= due:
                    self._pending.pop(key, None)
                    self._finish(*key)

    def _before_delete(self, plural: str, obj: dict) -> None:
        """The reported leak: pods lose their owner before garbage collection reaches them."""
        if plural == self.plural and self.leak_pods_on_delete:
            self._orphan_pods(obj["metadata"]["name"], obj["metadata"]["namespace"])

    def _reconcile(self, obj: dict) -> None:
        raise NotImplementedError

    def _finish(self, namespace: str, name: str) -> None:
        raise NotImplementedError

    # ---- children --------------------------------------------------------------------------
    def _ensure_workload(self, owner_obj, deployment, namespace, labels, selector, container, replicas) -> None:
        """A Deployment (owned by ``owner_obj``), its ReplicaSet and ``replicas`` Pods; images named
        *crashloop* give pods in CrashLoopBackOff whose log is CRASH_LOG."""
        template = {"metadata": {"labels": labels}, "spec": {"containers": [container]}}
        existing = self._get("deployments", namespace, deployment)
        if (
            existing is not None
            and existing["spec"]["template"] == template
            and existing["spec"]["replicas"] == replicas
        ):
            return
        if existing is not None:
            self._quiet_delete("deployments", namespace, deployment)
        dep = self.store.create(
            "deployments",
            namespace,
            {
                "metadata": {"name": deployment, "labels": labels, "ownerReferences": [owner(owner_obj)]},
                "spec": {"replicas": replicas, "selector": {"matchLabels": selector}, "template": template},
                "status": {"replicas": replicas, "readyReplicas": replicas},
            },
        )
        template_hash = hashlib.sha1(repr(template).encode()).hexdigest()[:10]
        rs = self.store.create(
            "replicasets",
            namespace,
            {
                "metadata": {
                    "name": f"{deployment[:52]}-{template_hash}",
                    "labels": labels,
                    "ownerReferences": [owner(dep)],
                },
                "spec": {"replicas": replicas, "selector": {"matchLabels": selector}, "template": template},
                "status": {"replicas": replicas},
            },
        )
        failing = "crashloop" in container.get("image", "")
        log = CRASH_LOG if failing else "model loaded; serving\n"
        last_state = {}
        if failing:  # the kubelet copies the log's tail only when the container asks for it
            terminated = {"exitCode": 3, "reason": "Error"}
            if container.get("terminationMessagePolicy") == "FallbackToLogsOnError":
                terminated["message"] = log[-2048:]
            last_state = {"lastState": {"terminated": terminated}}
        for _ in range(replicas):
            waiting = {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 10s restarting failed container"}}
            pod = self.store.create(
                "pods",
                namespace,
                {
                    "metadata": {
                        "name": f"{rs['metadata']['name'][:57]}-{uuid.uuid4().hex[:5]}",
                        "labels": labels,
                        "ownerReferences": [owner(rs)],
                    },
                    "spec": {"containers": [container]},
                    "status": {
                        "phase": "Pending" if failing else "Running",
                        "containerStatuses": [
                            {
                                "name": container["name"],
                                "image": container.get("image", ""),
                                "imageID": "",
                                "ready": not failing,
                                "restartCount": 3 if failing else 0,
                                "state": waiting if failing else {"running": {"startedAt": "2026-01-01T00:00:00Z"}},
                                **last_state,
                            }
                        ],
                    },
                },
            )
            self.store.logs[(namespace, pod["metadata"]["name"])] = log

    def _ensure_service(self, owner_obj: dict, service: str, namespace: str, labels: dict, ports: list) -> None:
        if self._get("services", namespace, service) is None:
            self.store.create(
                "services",
                namespace,
                {
                    "metadata": {"name": service, "labels": labels, "ownerReferences": [owner(owner_obj)]},
                    "spec": {"type": "ClusterIP", "ports": ports},
                },
            )

    # ---- leaks -----------------------------------------------------------------------------
    def _orphan_pods(self, owner_name: str, namespace: str) -> None:
        for pod in self.store.list("pods", namespace, f"{self.children_label}={owner_name}"):
            self.store.patch("pods", namespace, pod["metadata"]["name"], {"metadata": {"ownerReferences": None}})

    def _orphan_pods_of_deployment(self, deployment: dict) -> None:
        namespace = deployment["metadata"]["namespace"]
        for _, rs in self.store.children_of(deployment["metadata"]["uid"]):
            for _, pod in self.store.children_of(rs["metadata"]["uid"]):
                self.store.patch("pods", namespace, pod["metadata"]["name"], {"metadata": {"ownerReferences": None}})

    # ---- helpers ---------------------------------------------------------------------------
    def _get(self, plural: str, namespace: str, name: str) -> dict | None:
        try:
            return self.store.get(plural, namespace, name)
        except ApiError:
            return None

    def _quiet_delete(self, plural: str, namespace: str, name: str) -> None:
        try:
            self.store.delete(plural, namespace, name)
        except ApiError:
            pass


class SimulatedSeldonOperator(SimulatedController):
    plural = "seldondeployments"
    children_label = "seldon-deployment-id"

    # ---- reconcile -------------------------------------------------------------------------
    def _reconcile(self, sdep: dict) -> None:
        name, namespace = sdep["metadata"]["name"], sdep["metadata"]["namespace"]
        wanted_deployments, wanted_services = set(), set()
        for predictor in sdep["spec"]["predictors"]:
            pname = predictor["name"]
            for index, component in enumerate(predictor.get("componentSpecs", [])):
                for container in component["spec"]["containers"]:
                    deployment = operator_name(f"{name}-{pname}-{index}-{container['name']}")
                    wanted_deployments.add(deployment)
                    labels = {
                        **predictor.get("labels", {}),
                        **component.get("metadata", {}).get("labels", {}),
                        "seldon-deployment-id": name,
                        "app.kubernetes.io/managed-by": "seldon-core",
                        "seldon-app": f"{name}-{pname}",
                        f"seldon-app-svc-{container['name']}": operator_name(f"{name}-{pname}-{container['name']}"),
                    }
                    replicas = predictor.get("replicas", 1)
                    container = with_port_env(container, sdep["spec"].get("protocol", "seldon"))
                    selector = {"seldon-app": labels["seldon-app"], "seldon-deployment-id": name}
                    self._ensure_workload(sdep, deployment, namespace, labels, selector, container, replicas)
                    wanted_services.add(operator_name(f"{name}-{pname}-{container['name']}"))
            wanted_services.add(operator_name(f"{name}-{pname}"))
        for service in wanted_services:
            self._seldon_service(sdep, service, namespace)
        uid = sdep["metadata"]["uid"]
        for plural, child in self.store.children_of(uid):
            child_name = child["metadata"]["name"]
            stale = (plural == "deployments" and child_name not in wanted_deployments) or (
                plural == "services" and child_name not in wanted_services
            )
            if stale:
                if plural == "deployments" and self.leak_pods_on_rename:
                    self._orphan_pods_of_deployment(child)
                self._quiet_delete(plural, namespace, child_name)
        self.store.patch("seldondeployments", namespace, name, {"status": {"state": "Creating"}}, status_only=True)

    def _seldon_service(self, sdep: dict, service: str, namespace: str) -> None:
        labels = {"seldon-deployment-id": sdep["metadata"]["name"], "app.kubernetes.io/managed-by": "seldon-core"}
        ports = [{"name": "http", "port": 8000, "protocol": "TCP"}, {"name": "grpc", "port": 5001, "protocol": "TCP"}]
        self._ensure_service(sdep, service, namespace, labels, ports)

    def _finish(self, namespace: str, name: str) -> None:
        sdep = self._get("seldondeployments", namespace, name)
        if sdep is None:
            return
        images = [
            c.get("image", "")
            for p in sdep["spec"]["predictors"]
            for cs in p.get("componentSpecs", [])
            for c in cs["spec"]["containers"]
        ]
        failing = any("crashloop" in image for image in images)
        status = {
            "state": "Failed" if failing else "Available",
            "observedGeneration": sdep["metadata"]["generation"],
            "replicas": sum(p.get("replicas", 1) for p in sdep["spec"]["predictors"]),
            "address": {"url": f"http://{name}-default.{namespace}.svc.cluster.local:8000/api/v1.0/predictions"},
        }
        if failing:
            status["description"] = "Deployment has minimum availability: False; containers crashing"
        self.store.patch("seldondeployments", namespace, name, {"status": status}, status_only=True)
