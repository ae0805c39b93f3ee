"""A stand-in for the Seldon Core 1.17.1 operator, run against the real API server.

Why it exists: the Go module proxy this project may use answers 403 ("not available") for
every module under ``github.com/seldonio/seldon-core`` (the operator, the executor, any
version), so the real operator cannot be built here. Everything around it is real: the API
server validates SeldonDeployments against the real CRD schema (structural pruning included),
the Deployment and ReplicaSet controllers create the ReplicaSets and pods, the scheduler binds
them to kwok nodes, kwok marks them Running, and the garbage collector deletes children through
the ownerReferences this controller sets (foreground deletion, finalizers and orphaning as the
API server implements them).

What it does, as the operator does at v1.17.1 (operator/controllers/seldondeployment_controller.go):
* one Deployment per predictor component container, ``<sdep>-<predictor>-<idx>-<container>``,
  which becomes ``seldon-<md5>`` when over 63 characters; Services ``<sdep>-<predictor>`` and
  ``<sdep>-<predictor>-<container>`` (same rule);
* labels ``seldon-deployment-id``, ``app.kubernetes.io/managed-by=seldon-core``, ``seldon-app``,
  ``seldon-app-svc-<container>``, plus ``predictors[].labels`` and ``componentSpecs[].metadata.labels``
  on Deployments and pod templates; the predictive unit's port and id variables (and MLServer's
  for protocol v2) in the container's environment;
* controller ownerReferences from every child to the SeldonDeployment, no finalizer; children
  it no longer wants are deleted (background propagation);
* ``status.state`` Creating until every Deployment is Available, then Available; Failed, with
  a ``Ready`` condition saying why, when a pod's container is in CrashLoopBackOff (the real
  operator keeps saying Creating there: a simplification of ours, documented in the README).

What it does not prove: that the real operator derives these names (the naming tests would
catch a change of rule only on a real cluster: SELDON_PKG_TEST_KUBECONFIG), its validating
webhook, and its executor container.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import queue
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

LOG = logging.getLogger("seldon-standin")
GROUP, VERSION, PLURAL = "machinelearning.seldon.io", "v1", "seldondeployments"
CHILD_LABEL = "seldon-deployment-id"
MAX_NAME = 63
FIRST_HTTP_PORT, FIRST_GRPC_PORT = 9000, 9500
"""operator/constants FirstHttpPortNumber, FirstGrpcPortNumber at v1.17.1."""
RESYNC_SECONDS = 10.0


def operator_name(name: str) -> str:
    return name if len(name) <= MAX_NAME else "seldon-" + hashlib.md5(name.encode()).hexdigest()


def _owner(sdep: dict) -> dict:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "SeldonDeployment",
        "name": sdep["metadata"]["name"],
        "uid": sdep["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def _graph_unit(graph: dict, name: str) -> dict | None:
    """The graph's unit called ``name`` (the unit a container serves), searching its children."""
    if graph.get("name") == name:
        return graph
    for child in graph.get("children") or []:
        found = _graph_unit(child, name)
        if found is not None:
            return found
    return None


def _with_port_env(container: dict, protocol: str, unit: dict | None = None) -> dict:
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
    if unit and unit.get("parameters"):
        # the operator hands the unit's parameters to the wrapper as JSON (found by the real
        # node: a model whose parameters never arrived crash-looped there, kwok never ran it)
        env.append({"name": "PREDICTIVE_UNIT_PARAMETERS", "value": json.dumps(unit["parameters"])})
    known = {e["name"] for e in env}
    return dict(container, env=[*(e for e in container.get("env", []) if e["name"] not in known), *env])


def desired_children(sdep: dict) -> tuple[list[dict], list[dict]]:
    """The Deployments and Services the operator makes for ``sdep`` (plain manifests)."""
    name, namespace = sdep["metadata"]["name"], sdep["metadata"]["namespace"]
    protocol = sdep["spec"].get("protocol", "seldon")
    deployments: list[dict] = []
    services: dict[str, dict] = {}
    base_labels = {CHILD_LABEL: name, "app.kubernetes.io/managed-by": "seldon-core"}
    for predictor in sdep["spec"]["predictors"]:
        pname = predictor["name"]
        app = f"{name}-{pname}"
        for index, component in enumerate(predictor.get("componentSpecs", [])):
            pod_spec = component.get("spec", {})
            for container in pod_spec.get("containers", []):
                service = operator_name(f"{name}-{pname}-{container['name']}")
                labels = {
                    **predictor.get("labels", {}),
                    **(component.get("metadata") or {}).get("labels", {}),
                    **base_labels,
                    "seldon-app": app,
                    f"seldon-app-svc-{container['name']}": service,
                }
                selector = {"seldon-app": app, CHILD_LABEL: name}
                unit = _graph_unit(predictor.get("graph") or {}, container["name"])
                template_spec = dict(pod_spec, containers=[_with_port_env(container, protocol, unit)])
                deployments.append(
                    {
                        "apiVersion": "apps/v1",
                        "kind": "Deployment",
                        "metadata": {
                            "name": operator_name(f"{name}-{pname}-{index}-{container['name']}"),
                            "namespace": namespace,
                            "labels": labels,
                            "ownerReferences": [_owner(sdep)],
                        },
                        "spec": {
                            "replicas": predictor.get("replicas", 1),
                            "selector": {"matchLabels": selector},
                            "template": {"metadata": {"labels": labels}, "spec": template_spec},
                        },
                    }
                )
                services[service] = _service(sdep, service, {f"seldon-app-svc-{container['name']}": service})
        services[operator_name(app)] = _service(sdep, operator_name(app), {"seldon-app": app})
    return deployments, list(services.values())


def _service(sdep: dict, name: str, selector: dict) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": name,
            "namespace": sdep["metadata"]["namespace"],
            "labels": {CHILD_LABEL: sdep["metadata"]["name"], "app.kubernetes.io/managed-by": "seldon-core"},
            "ownerReferences": [_owner(sdep)],
        },
        "spec": {
            "type": "ClusterIP",
            "selector": selector,
            "ports": [
                {"name": "http", "port": 8000, "targetPort": FIRST_HTTP_PORT, "protocol": "TCP"},
                {"name": "grpc", "port": 5001, "targetPort": FIRST_GRPC_PORT, "protocol": "TCP"},
            ],
        },
    }


class StandIn:
    """Watches SeldonDeployments, their Deployments and pods; reconciles on a work queue."""

    def __init__(self, api_client: Any) -> None:
        from kubernetes import client

        self.api = api_client
        self.custom = client.CustomObjectsApi(api_client)
        self.apps = client.AppsV1Api(api_client)
        self.core = client.CoreV1Api(api_client)
        self.queue: queue.Queue[tuple[str, str]] = queue.Queue()
        self.stopping = threading.Event()

    # ---- watching ----------------------------------------------------------------------------
    def _watch(self, list_call, key_of, what: str) -> None:
        from kubernetes import watch
        from kubernetes.client.exceptions import ApiException

        while not self.stopping.is_set():
            try:
                listing = list_call()
                items = listing["items"] if isinstance(listing, dict) else listing.items
                for item in items:
                    self._enqueue(key_of(item))
                version = (
                    listing["metadata"]["resourceVersion"]
                    if isinstance(listing, dict)
                    else listing.metadata.resource_version
                )
                stream = watch.Watch().stream(list_call, resource_version=version, timeout_seconds=60)
                for event in stream:
                    if self.stopping.is_set():
                        return
                    self._enqueue(key_of(event["object"]))
            except ApiException as error:
                if error.status != 410:  # 410 Gone: the version is too old, list again
                    LOG.warning("watch of %s failed: %s", what, error.reason)
                    time.sleep(1)
            except Exception as error:  # connection drops: list and watch again
                LOG.warning("watch of %s interrupted: %s", what, error)
                time.sleep(1)

    def _enqueue(self, key: tuple[str, str] | None) -> None:
        if key is not None:
            self.queue.put(key)

    @staticmethod
    def _sdep_key(obj: Any) -> tuple[str, str] | None:
        meta = (obj.get("metadata") or {}) if isinstance(obj, dict) else obj.metadata
        if isinstance(meta, dict):
            return (meta["namespace"], meta["name"]) if "namespace" in meta and "name" in meta else None
        return meta.namespace, meta.name

    @staticmethod
    def _child_key(obj: Any) -> tuple[str, str] | None:
        if isinstance(obj, dict):  # an ERROR or BOOKMARK event carries a plain object
            meta = obj.get("metadata") or {}
            labels, namespace = meta.get("labels") or {}, meta.get("namespace")
        else:
            labels, namespace = obj.metadata.labels or {}, obj.metadata.namespace
        return (namespace, labels[CHILD_LABEL]) if CHILD_LABEL in labels and namespace else None

    def run(self, ready_file: Path | None = None) -> None:
        selector = CHILD_LABEL
        watchers = [
            (
                lambda **kw: self.custom.list_cluster_custom_object(GROUP, VERSION, PLURAL, **kw),
                self._sdep_key,
                "SeldonDeployments",
            ),
            (
                lambda **kw: self.apps.list_deployment_for_all_namespaces(label_selector=selector, **kw),
                self._child_key,
                "Deployments",
            ),
            (
                lambda **kw: self.core.list_pod_for_all_namespaces(label_selector=selector, **kw),
                self._child_key,
                "Pods",
            ),
        ]
        for list_call, key_of, what in watchers:
            threading.Thread(target=self._watch, args=(list_call, key_of, what), daemon=True, name=what).start()
        threading.Thread(target=self._resync, daemon=True, name="resync").start()
        if ready_file is not None:
            ready_file.write_text("ready\n")
        LOG.info("reconciling SeldonDeployments")
        while not self.stopping.is_set():
            try:
                key = self.queue.get(timeout=0.5)
            except queue.Empty:
                continue
            pending = {key}
            while True:  # coalesce a burst of events into one reconcile per object
                try:
                    pending.add(self.queue.get_nowait())
                except queue.Empty:
                    break
            for namespace, name in sorted(pending):
                try:
                    self.reconcile(namespace, name)
                except Exception as error:
                    if _namespace_terminating(error):  # its deletion will take the object too
                        continue
                    LOG.warning("reconcile %s/%s failed (%s); retrying", namespace, name, error)
                    threading.Timer(1.0, self._enqueue, args=((namespace, name),)).start()

    def _resync(self) -> None:
        while not self.stopping.wait(RESYNC_SECONDS):
            try:
                for item in self.custom.list_cluster_custom_object(GROUP, VERSION, PLURAL)["items"]:
                    self._enqueue(self._sdep_key(item))
            except Exception as error:
                LOG.warning("resync failed: %s", error)

    # ---- reconciling -------------------------------------------------------------------------
    def reconcile(self, namespace: str, name: str) -> None:
        from kubernetes.client.exceptions import ApiException

        try:
            sdep = self.custom.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
        except ApiException as error:
            if error.status == 404:
                return
            raise
        if sdep["metadata"].get("deletionTimestamp"):
            return  # garbage collection takes the children
        deployments, services = desired_children(sdep)
        uid = sdep["metadata"]["uid"]
        for deployment in deployments:
            self._ensure_deployment(namespace, deployment)
        for service in services:
            self._ensure_service(namespace, service)
        wanted = {d["metadata"]["name"] for d in deployments} | {s["metadata"]["name"] for s in services}
        self._delete_unwanted(namespace, name, uid, wanted)
        self._update_status(sdep, deployments)

    def _ensure_deployment(self, namespace: str, manifest: dict) -> None:
        from kubernetes.client.exceptions import ApiException

        name = manifest["metadata"]["name"]
        try:
            current = self.apps.read_namespaced_deployment(name, namespace)
        except ApiException as error:
            if error.status != 404:
                raise
            self.apps.create_namespaced_deployment(namespace, manifest, field_manager="seldon-operator")
            return
        current_dict = self.api.sanitize_for_serialization(current)
        if _same_deployment(current_dict, manifest):
            return
        # a strategic-merge patch would merge lists (containers, env); replace the spec whole
        current_dict["spec"]["replicas"] = manifest["spec"]["replicas"]
        current_dict["spec"]["template"] = manifest["spec"]["template"]
        current_dict["metadata"]["labels"] = manifest["metadata"]["labels"]
        self.apps.replace_namespaced_deployment(name, namespace, current_dict, field_manager="seldon-operator")

    def _ensure_service(self, namespace: str, manifest: dict) -> None:
        from kubernetes.client.exceptions import ApiException

        try:
            self.core.create_namespaced_service(namespace, manifest, field_manager="seldon-operator")
        except ApiException as error:
            if error.status != 409:
                raise

    def _delete_unwanted(self, namespace: str, name: str, uid: str, wanted: set[str]) -> None:
        from kubernetes.client.exceptions import ApiException

        selector = f"{CHILD_LABEL}={name}"
        for kind, listing, delete in (
            ("Deployment", self.apps.list_namespaced_deployment, self.apps.delete_namespaced_deployment),
            ("Service", self.core.list_namespaced_service, self.core.delete_namespaced_service),
        ):
            for item in listing(namespace, label_selector=selector).items:
                owned = any(ref.uid == uid for ref in item.metadata.owner_references or [])
                if owned and item.metadata.name not in wanted and not item.metadata.deletion_timestamp:
                    LOG.info("deleting %s %s/%s: no longer in the spec", kind, namespace, item.metadata.name)
                    try:
                        delete(item.metadata.name, namespace, propagation_policy="Background")
                    except ApiException as error:
                        if error.status != 404:
                            raise

    def _update_status(self, sdep: dict, deployments: list[dict]) -> None:
        namespace, name = sdep["metadata"]["namespace"], sdep["metadata"]["name"]
        available, crashing, statuses = True, [], {}
        for manifest in deployments:
            dname = manifest["metadata"]["name"]
            try:
                current = self.apps.read_namespaced_deployment(dname, namespace)
            except Exception:
                available = False
                continue
            status = current.status
            wanted = manifest["spec"]["replicas"]
            ok = (
                (status.observed_generation or 0) >= (current.metadata.generation or 0)
                and (status.updated_replicas or 0) >= wanted
                and (status.available_replicas or 0) >= wanted
                and (status.replicas or 0) == wanted
            )
            available = available and ok
            statuses[dname] = {"replicas": status.replicas or 0, "availableReplicas": status.available_replicas or 0}
        for pod in self.core.list_namespaced_pod(namespace, label_selector=f"{CHILD_LABEL}={name}").items:
            for container in (pod.status.container_statuses or []) if pod.status else []:
                waiting = container.state.waiting if container.state else None
                if waiting and waiting.reason == "CrashLoopBackOff" and not pod.metadata.deletion_timestamp:
                    crashing.append(f"{pod.metadata.name}/{container.name}")
        generation = sdep["metadata"]["generation"]
        if crashing:
            state, reason, message = "Failed", "ContainersCrashing", f"containers crashing: {', '.join(crashing)}"
        elif available:
            state, reason, message = "Available", "", ""
        else:
            state, reason, message = "Creating", "DeploymentsNotReady", "Deployment has minimum availability: False"
        status = {
            "state": state,
            "observedGeneration": generation,
            "replicas": sum(p.get("replicas", 1) for p in sdep["spec"]["predictors"]),
            "deploymentStatus": statuses,
            "address": {
                "url": f"http://{name}-{sdep['spec']['predictors'][0]['name']}.{namespace}.svc.cluster.local:8000/api/v1.0/predictions"
            },
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True" if state == "Available" else "False",
                    **({"reason": reason, "message": message} if reason else {}),
                }
            ],
        }
        old = sdep.get("status") or {}
        if all(old.get(k) == v for k, v in status.items()):
            return
        self.custom.patch_namespaced_custom_object_status(GROUP, VERSION, namespace, PLURAL, name, {"status": status})
        if old.get("state") != state:
            LOG.info("%s/%s: %s %s", namespace, name, state, message)


def _namespace_terminating(error: Exception) -> bool:
    """A write refused because the namespace is being deleted (403 NamespaceTerminating): retrying
    it only loads the API server until the namespace is gone (found: a retry storm per deleted
    test namespace)."""
    return getattr(error, "status", None) == 403 and "NamespaceTerminating" in (getattr(error, "body", "") or "")


def _same_deployment(current: dict, manifest: dict) -> bool:
    """Whether the Deployment already has what the manifest says (ignoring the API server's
    defaults: compare only the fields we set, container by container)."""
    spec, want = current["spec"], manifest["spec"]
    if spec.get("replicas") != want["replicas"]:
        return False
    if (current["metadata"].get("labels") or {}) != manifest["metadata"]["labels"]:
        return False
    have_template, want_template = spec["template"], want["template"]
    if (have_template["metadata"].get("labels") or {}) != want_template["metadata"]["labels"]:
        return False
    have_containers = have_template["spec"]["containers"]
    want_containers = want_template["spec"]["containers"]
    if len(have_containers) != len(want_containers):
        return False
    return all(
        all(have.get(key) == value for key, value in wanted.items() if key != "resources")
        for have, wanted in zip(have_containers, want_containers, strict=True)
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--ready-file", type=Path)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stdout)
    from kubernetes import config

    standin = StandIn(config.new_client_from_config(config_file=args.kubeconfig))
    signal.signal(signal.SIGTERM, lambda *_: standin.stopping.set())
    standin.run(args.ready_file)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
