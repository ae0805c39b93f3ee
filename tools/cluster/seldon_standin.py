"""A stand-in for the Seldon Core 1.17.1 operator, run against the real API server.

Why it exists: the Go module proxy this project may use answers 403 ("not available") for
every module under ``github.com/seldonio/seldon-core``, so neither CI nor ``make install`` can
build the real operator (it builds from a fetched snapshot of the repository, by hand: see
docs/real-operator.md for running the same tests against it). Everything around the stand-in
is real: the API server validates SeldonDeployments against the real CRD schema and calls this
stand-in's validating webhook by URL; the Deployment and ReplicaSet controllers roll the
Deployments out; the scheduler binds pods to kwok nodes; the garbage collector deletes children
through the ownerReferences set here.

What it does, each as the operator does at tag operator/v1.17.1 (file and function named):
* validates SeldonDeployments on create and update with the operator's webhook rules and
  messages (tools/cluster/seldon_webhook.py, from seldondeployment_webhook.go);
* one Deployment per component spec, named by GetDeploymentName (seldondeployment_types.go):
  ``<sdep>-<predictor>-<index>-<containers joined by ->`` or the component's ``metadata.name``,
  ``seldon-<md5>`` past 63 characters; Services ``<sdep>-<predictor>`` and
  ``<sdep>-<predictor>-<container>`` (same rule); replicas from the component, else the
  predictor; the predictor's ``progressDeadlineSeconds`` on each Deployment;
* labels ``seldon-deployment-id``, ``app``, ``app.kubernetes.io/managed-by=seldon-core``,
  ``seldon-app``, ``seldon-app-svc-<container>``, plus ``predictors[].labels`` and
  ``componentSpecs[].metadata.labels`` on Deployments and pod templates
  (createDeploymentWithoutEngine); the predictive unit's port and id variables (and MLServer's
  for protocol v2) in the container's environment;
* a controller ownerReference from every child, no finalizer; nothing done to an object being
  deleted; children it no longer wants are deleted once the others are ready
  (completeServiceCreation: Deployments in the foreground); a Deployment whose selector changed
  is deleted and made again (createDeployments);
* status as Reconcile writes it, with its blind spots: ``Available`` when every Deployment has
  ready replicas and none unavailable, *whatever the Deployment's generation* (so right after an
  update it can say Available for the previous pods, as the operator does); not ready in a pass
  that created or changed a Deployment; ``Failed`` ("Deployment is no longer progressing and not
  available.") only when a Deployment is neither Progressing nor Available (its progress
  deadline passed: 600 s by default), so a crash-looping model stays ``Creating`` as with the
  operator; conditions DeploymentsReady (the Deployment's Available condition), ServicesReady,
  HpasReady, KedaReady, PdbsReady; **no** ``status.observedGeneration`` (the CRD declares it,
  the operator never writes it); the status written only if the object is still the version it
  read (the operator's ``Status().Update``);
* reconciles on changes of SeldonDeployments and of the Deployments and Services it owns.

What remains different, and why:
* no executor: the operator adds its ``seldon-container-engine`` container (the executor image,
  the graph's entry point) to a pod of each predictor; no image runs on kwok nodes, and
  seldon_pkg never reads it (its rollout check compares only the spec's own containers);
* ports and probes: every container gets the first ports (9000/9500) and no probes; the
  operator numbers each container's ports in turn and adds readiness and liveness probes; with
  our one-container components the first ports are what it assigns;
* not made: prepackaged servers' containers (``implementation: SKLEARN_SERVER``...), explainers,
  the storage initializer for ``modelUri``, HPAs, KEDA objects, PDBs, Istio VirtualServices and
  Ambassador mappings, Kafka servers, a separate engine pod, ``status.serviceStatus``, events:
  seldon_pkg renders none of them (a storage URI becomes our own init container);
* no ``seldon-config`` ConfigMap, so its webhook refuses a prepackaged unit without an image
  (what the real webhook does when that ConfigMap lacks the server);
* the Deployment selector is ``seldon-deployment-id`` + ``app``; seldon_pkg never reads it;
* no ``seldon.io/controller-id`` filtering and no namespaced mode: it reconciles every namespace.
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

from tools.cluster import seldon_webhook

LOG = logging.getLogger("seldon-standin")
GROUP, VERSION, PLURAL = "machinelearning.seldon.io", "v1", "seldondeployments"
CHILD_LABEL = "seldon-deployment-id"
MAX_NAME = 63
FIRST_HTTP_PORT, FIRST_GRPC_PORT = 9000, 9500
"""operator/constants FirstHttpPortNumber, FirstGrpcPortNumber at v1.17.1."""


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


def deployment_name(sdep: str, predictor: str, index: int, component: dict) -> str:
    """GetDeploymentName (seldondeployment_types.go): ``<sdep>-<predictor>-<index>-`` then the
    component's ``metadata.name`` or its containers' names joined by ``-``; md5 past 63."""
    own = (component.get("metadata") or {}).get("name")
    containers = (component.get("spec") or {}).get("containers") or []
    return operator_name(f"{sdep}-{predictor}-{index}-" + (own or "-".join(c["name"] for c in containers)))


def desired_children(sdep: dict) -> tuple[list[dict], list[dict]]:
    """The Deployments (one per component spec) and Services the operator makes for ``sdep``."""
    name, namespace = sdep["metadata"]["name"], sdep["metadata"]["namespace"]
    protocol = sdep["spec"].get("protocol", "seldon")
    deployments: list[dict] = []
    services: dict[str, dict] = {}
    base_labels = {CHILD_LABEL: name, "app.kubernetes.io/managed-by": "seldon-core"}
    for predictor in sdep["spec"]["predictors"]:
        pname = predictor["name"]
        app = f"{name}-{pname}"
        for index, component in enumerate(predictor.get("componentSpecs") or []):
            pod_spec = component.get("spec") or {}
            containers = pod_spec.get("containers") or []
            if not containers:
                continue
            dname = deployment_name(name, pname, index, component)
            labels = {
                **(predictor.get("labels") or {}),
                **((component.get("metadata") or {}).get("labels") or {}),
                **base_labels,
                "seldon-app": app,
                "app": dname,
            }
            for container in containers:
                service = operator_name(f"{name}-{pname}-{container['name']}")
                labels[f"seldon-app-svc-{container['name']}"] = service
                services[service] = _service(sdep, service, {f"seldon-app-svc-{container['name']}": service})
            graph = predictor.get("graph") or {}
            template_spec = dict(
                pod_spec, containers=[_with_port_env(c, protocol, _graph_unit(graph, c["name"])) for c in containers]
            )
            deployments.append(
                {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "metadata": {
                        "name": dname,
                        "namespace": namespace,
                        "labels": labels,
                        "ownerReferences": [_owner(sdep)],
                    },
                    "spec": {
                        **(
                            {"progressDeadlineSeconds": predictor["progressDeadlineSeconds"]}
                            if predictor.get("progressDeadlineSeconds")
                            else {}
                        ),
                        "replicas": component.get("replicas", predictor.get("replicas", 1)),
                        "selector": {"matchLabels": {CHILD_LABEL: name, "app": dname}},
                        "template": {"metadata": {"labels": labels}, "spec": template_spec},
                    },
                }
            )
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
                lambda **kw: self.core.list_service_for_all_namespaces(label_selector=selector, **kw),
                self._child_key,
                "Services",
            ),
        ]
        for list_call, key_of, what in watchers:
            threading.Thread(target=self._watch, args=(list_call, key_of, what), daemon=True, name=what).start()
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
        # a Deployment created or changed in this pass is not ready in it (createDeployments)
        changed = [self._ensure_deployment(namespace, deployment) for deployment in deployments]
        for service in services:
            self._ensure_service(namespace, service)
        self._update_status(sdep, deployments, any(changed))
        if not any(changed) and self._deployments_ready(namespace, deployments):
            # what it no longer wants goes once the rest is ready (completeServiceCreation)
            wanted = {d["metadata"]["name"] for d in deployments} | {s["metadata"]["name"] for s in services}
            self._delete_unwanted(namespace, name, uid, wanted)

    def _ensure_deployment(self, namespace: str, manifest: dict) -> bool:
        """Create or update it; True when it did either."""
        from kubernetes.client.exceptions import ApiException

        name = manifest["metadata"]["name"]
        try:
            current = self.apps.read_namespaced_deployment(name, namespace)
        except ApiException as error:
            if error.status != 404:
                raise
            self.apps.create_namespaced_deployment(namespace, manifest, field_manager="seldon-operator")
            return True
        current_dict = self.api.sanitize_for_serialization(current)
        if current_dict["spec"]["selector"] != manifest["spec"]["selector"]:
            # a selector cannot change: delete and create it again, as the operator does
            self.apps.delete_namespaced_deployment(name, namespace, propagation_policy="Foreground")
            return True
        if _same_deployment(current_dict, manifest):
            return False
        # a strategic-merge patch would merge lists (containers, env); replace the spec whole
        current_dict["spec"]["replicas"] = manifest["spec"]["replicas"]
        current_dict["spec"]["template"] = manifest["spec"]["template"]
        current_dict["metadata"]["labels"] = manifest["metadata"]["labels"]
        self.apps.replace_namespaced_deployment(name, namespace, current_dict, field_manager="seldon-operator")
        return True

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
        for kind, listing, delete, propagation in (
            ("Deployment", self.apps.list_namespaced_deployment, self.apps.delete_namespaced_deployment, "Foreground"),
            ("Service", self.core.list_namespaced_service, self.core.delete_namespaced_service, "Background"),
        ):
            for item in listing(namespace, label_selector=selector).items:
                owned = any(ref.uid == uid for ref in item.metadata.owner_references or [])
                if owned and item.metadata.name not in wanted and not item.metadata.deletion_timestamp:
                    LOG.info("deleting %s %s/%s: no longer in the spec", kind, namespace, item.metadata.name)
                    try:  # the operator deletes a Deployment in the foreground, a Service plainly
                        delete(item.metadata.name, namespace, propagation_policy=propagation)
                    except ApiException as error:
                        if error.status != 404:
                            raise

    def _read_deployments(self, namespace: str, deployments: list[dict]) -> list[Any]:
        from kubernetes.client.exceptions import ApiException

        found = []
        for manifest in deployments:
            try:
                found.append(self.apps.read_namespaced_deployment(manifest["metadata"]["name"], namespace))
            except ApiException as error:
                if error.status != 404:
                    raise
                found.append(None)
        return found

    def _deployments_ready(self, namespace: str, deployments: list[dict]) -> bool:
        return all(d is not None and _ready(d) for d in self._read_deployments(namespace, deployments))

    def _update_status(self, sdep: dict, deployments: list[dict], changed: bool) -> None:
        """The operator's Reconcile: Available when every Deployment has ready replicas and none
        unavailable (whatever its generation), Failed when one is neither progressing nor
        available (its progress deadline passed), else Creating. No observedGeneration."""
        namespace, name = sdep["metadata"]["namespace"], sdep["metadata"]["name"]
        found = self._read_deployments(namespace, deployments)
        statuses = {
            d.metadata.name: {"replicas": d.status.replicas or 0, "availableReplicas": d.status.available_replicas or 0}
            for d in found
            if d is not None
        }
        ready = not changed and all(d is not None and _ready(d) for d in found)
        stuck = [
            d.metadata.name
            for d in found
            if d is not None
            and not _ready(d)
            and _condition(d, "Progressing") == "False"
            and _condition(d, "Available") == "False"
        ]
        if ready:
            state, description = "Available", ""
        elif stuck and not changed:
            state, description = "Failed", "Deployment is no longer progressing and not available."
        else:
            state, description = "Creating", ""
        available = _available_condition(found, ready)
        conditions = [
            available,
            {"type": "HpasReady", "status": "True", "reason": "No HPAs defined"},
            {"type": "KedaReady", "status": "True", "reason": "No KEDA resources defined"},
            {"type": "PdbsReady", "status": "True", "reason": "No PDBs defined"},
            {"type": "ServicesReady", "status": "True", "reason": "All services created"},
            {"type": "Ready", "status": available["status"]},
        ]
        predictor = sdep["spec"]["predictors"][0]["name"]
        status = {
            "state": state,
            **({"description": description} if description else {}),
            "replicas": statuses.get(deployments[0]["metadata"]["name"], {}).get("replicas", 0) if deployments else 0,
            "deploymentStatus": statuses,
            "address": {
                "url": f"http://{operator_name(f'{name}-{predictor}')}.{namespace}.svc.cluster.local:8000/api/v1.0/predictions"
            },
            "conditions": conditions,
        }
        old = sdep.get("status") or {}
        if old == status:
            return
        # like the operator's Status().Update: conditional on the version it read, so a status
        # computed from an older spec is never written over a newer one (409: reconcile again)
        from kubernetes.client.exceptions import ApiException

        try:
            self.custom.replace_namespaced_custom_object_status(
                GROUP, VERSION, namespace, PLURAL, name, dict(sdep, status=status)
            )
        except ApiException as error:
            if error.status != 409:
                raise
            self._enqueue((namespace, name))  # changed since we read it: reconcile what it is now
            return
        if old.get("state") != state:
            LOG.info("%s/%s: %s %s", namespace, name, state, description)


def _ready(deployment: Any) -> bool:
    """createDeployments' test: some ready replicas and none unavailable (no generation check)."""
    status = deployment.status
    return bool(status.ready_replicas) and not status.unavailable_replicas


def _condition(deployment: Any, kind: str) -> str | None:
    for condition in deployment.status.conditions or []:
        if condition.type == kind:
            return condition.status
    return None


def _available_condition(found: list[Any], ready: bool) -> dict:
    """DeploymentsReady: a copy of a Deployment's Available condition (the first not ready one,
    else the last one's), as the operator copies it."""
    chosen = next((d for d in found if d is not None and not _ready(d)), None) if not ready else None
    candidates = [chosen] if chosen is not None else [d for d in found if d is not None][-1:]
    for deployment in candidates:
        for condition in deployment.status.conditions or []:
            if condition.type == "Available":
                copied = {"type": "DeploymentsReady", "status": "True" if ready else "False"}
                if condition.reason:
                    copied["reason"] = condition.reason
                if condition.message and not ready:
                    copied["message"] = condition.message
                return copied
    return {"type": "DeploymentsReady", "status": "True" if ready else "False"}


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
        all(_holds(have.get(key), value) for key, value in wanted.items() if key != "resources")
        for have, wanted in zip(have_containers, want_containers, strict=True)
    )


def _holds(have: Any, wanted: Any) -> bool:
    """``have`` says everything ``wanted`` says; fields the API server added as defaults (a probe's
    ``scheme``, ``successThreshold``; a port's ``protocol``) do not make them differ. With plain
    equality a container with a readiness probe was replaced on every pass and its
    SeldonDeployment never became Available: found on the real node."""
    if isinstance(wanted, dict):
        return isinstance(have, dict) and all(_holds(have.get(key), value) for key, value in wanted.items())
    if isinstance(wanted, list):
        return (
            isinstance(have, list)
            and len(have) == len(wanted)
            and all(_holds(h, w) for h, w in zip(have, wanted, strict=True))
        )
    return have == wanted


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--ready-file", type=Path)
    parser.add_argument("--webhook-port", type=int, required=True, help="the validating webhook's port (127.0.0.1)")
    parser.add_argument("--tls-cert-file", type=Path, required=True, help="the webhook's serving certificate")
    parser.add_argument("--tls-private-key-file", type=Path, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stdout)
    from kubernetes import config

    standin = StandIn(config.new_client_from_config(config_file=args.kubeconfig))
    signal.signal(signal.SIGTERM, lambda *_: standin.stopping.set())
    stop_webhook = seldon_webhook.serve(args.webhook_port, args.tls_cert_file, args.tls_private_key_file)
    try:
        standin.run(args.ready_file)
    finally:
        stop_webhook()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
