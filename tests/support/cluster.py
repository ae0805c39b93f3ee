"""The Kubernetes cluster every cluster test runs against: the embedded control plane
(tools/cluster: real etcd, kube-apiserver, controller manager, scheduler, kwok, KServe
controller, the Seldon stand-in), one per test session, or any cluster named by
``SELDON_PKG_TEST_KUBECONFIG``. Each test gets a namespace of its own and a kubeconfig whose
context defaults to it, so tests never see each other's objects.

Where the control plane cannot be built (no ``go``), cluster tests skip with one line saying
how to get them, except under CI (``CI=true``), where that is a failure.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from seldon_pkg.k8s.connection import Cluster, connect

EXTERNAL = "SELDON_PKG_TEST_KUBECONFIG"
KWOK_ONLY = "needs the embedded control plane's kwok stages (images tagged :crashloop crash there)"

_CUSTOM = {
    "seldondeployments": ("machinelearning.seldon.io", "v1"),
    "inferenceservices": ("serving.kserve.io", "v1beta1"),
}
_APPS = {"deployments": "deployment", "replicasets": "replica_set"}
_CORE = {"pods": "pod", "services": "service", "events": "event", "configmaps": "config_map"}


@dataclass
class Session:
    """What the test session's cluster is: its kubeconfig and, when embedded, the control plane."""

    kubeconfig: Path
    embedded: Any  # tools.cluster.controlplane.ControlPlane | None
    host_before: dict = field(default_factory=dict)
    """The host's sysctls and KUBE-* iptables chains before the cluster started (real node tests)."""


HOST_SYSCTLS = (
    "vm/overcommit_memory",
    "kernel/panic",
    "kernel/panic_on_oops",
    "net/ipv4/ip_forward",
    "net/ipv4/conf/all/route_localnet",
    "net/ipv4/conf/all/forwarding",
)


def host_facts() -> dict:
    from tools.cluster.node_network import kube_chains

    sysctls = {
        name: Path("/proc/sys", name).read_text().strip() for name in HOST_SYSCTLS if Path("/proc/sys", name).exists()
    }
    return {"sysctls": sysctls, "chains": sorted(kube_chains())}


def start_session(tmp_root: Path) -> Iterator[Session]:
    external = os.environ.get(EXTERNAL)
    if external:
        yield Session(Path(external), None)
        return
    from tools.cluster import build
    from tools.cluster.controlplane import ControlPlane

    try:
        build.go_version()
    except build.GoMissing as error:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs the embedded control plane: {error}")
        pytest.skip(f"cluster tests skipped: {error}; or set {EXTERNAL} to a cluster's kubeconfig")
    plane = ControlPlane(tmp_root, log=lambda line: print(f"[cluster] {line}"))
    before = host_facts()
    try:
        plane.up()
    except Exception:
        if plane.started:
            print(plane.describe_failure())
        raise
    try:
        yield Session(plane.kubeconfig, plane, before)
    finally:
        plane.down()


def namespace_for(node_name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", node_name.removeprefix("test_").lower()).strip("-")[:14].strip("-")
    return f"t-{slug}-{hashlib.sha256(node_name.encode()).hexdigest()[:6]}"


@dataclass
class TestCluster:
    """One test's view: its namespace, a kubeconfig defaulting to it, and plain-dict helpers."""

    session: Session
    namespace: str
    kubeconfig: Path
    cluster: Cluster

    @property
    def embedded(self) -> bool:
        return self.session.embedded is not None

    @property
    def node_ip(self) -> str:
        nodes = self.cluster.core.list_node().items
        for address in nodes[0].status.addresses or []:
            if address.type == "InternalIP":
                return address.address
        raise AssertionError("no node has an InternalIP")

    # ---- reading and writing objects as dicts --------------------------------------------------
    def _call(self, verb: str, plural: str, namespace: str | None, *args, **kwargs):
        namespace = namespace or self.namespace
        if plural in _CUSTOM:
            group, version = _CUSTOM[plural]
            method = getattr(self.cluster.custom, f"{verb}_namespaced_custom_object")
            return method(group, version, namespace, plural, *args, **kwargs)
        api, singular = (self.cluster.apps, _APPS[plural]) if plural in _APPS else (self.cluster.core, _CORE[plural])
        method = getattr(api, f"{verb}_namespaced_{singular}")
        if verb in ("read", "delete", "patch", "replace"):
            name, *rest = args
            return method(name, namespace, *rest, **kwargs)
        return method(namespace, *args, **kwargs)

    def _dict(self, obj) -> dict:
        return obj if isinstance(obj, dict) else self.cluster.api_client.sanitize_for_serialization(obj)

    def list(self, plural: str, selector: str | None = None, namespace: str | None = None) -> list[dict]:
        reply = self._call("list", plural, namespace, label_selector=selector)
        items = reply["items"] if isinstance(reply, dict) else reply.items
        return [self._dict(item) for item in items]

    def get(self, plural: str, name: str, namespace: str | None = None) -> dict | None:
        from kubernetes.client.exceptions import ApiException

        try:
            verb = "get" if plural in _CUSTOM else "read"
            return self._dict(self._call(verb, plural, namespace, name))
        except ApiException as error:
            if error.status == 404:
                return None
            raise

    def create(self, plural: str, body: dict, namespace: str | None = None) -> dict:
        return self._dict(self._call("create", plural, namespace, body))

    def delete(self, plural: str, name: str, namespace: str | None = None, propagation: str = "Background") -> None:
        self._call("delete", plural, namespace, name, propagation_policy=propagation)

    def patch(self, plural: str, name: str, body: dict, namespace: str | None = None) -> dict:
        return self._dict(self._call("patch", plural, namespace, name, body))

    def children(self, label: str, owner: str, namespace: str | None = None) -> list[tuple[str, str]]:
        """(plural, name) of every Deployment, ReplicaSet, Pod and Service labelled ``label=owner``."""
        return [
            (plural, obj["metadata"]["name"])
            for plural in ("deployments", "replicasets", "pods", "services")
            for obj in self.list(plural, f"{label}={owner}", namespace)
        ]

    # ---- specs in this namespace -----------------------------------------------------------------
    def spec_file(self, source: Path, folder: Path, **changes: Any) -> Path:
        """A copy of the spec ``source`` in ``folder`` with ``namespace`` set to the test's (and
        ``changes`` applied); the model files it names stay where they are (a link)."""
        data = yaml.safe_load(source.read_text())
        data.update({"namespace": self.namespace, **changes})
        folder.mkdir(parents=True, exist_ok=True)
        for entry in source.parent.iterdir():
            if entry.is_dir() and not (folder / entry.name).exists():
                (folder / entry.name).symlink_to(entry)
        target = folder / "seldon-model.yaml"
        target.write_text(yaml.safe_dump(data, allow_unicode=True))
        return target

    # ---- what only kwok can fake -----------------------------------------------------------------
    def serve_container_log(self, text: str, tmp_path: Path) -> None:
        """kwok serves ``text`` as the log of every container in this namespace (no container
        runs here: this is what the kubelet would return)."""
        if not self.embedded:
            pytest.skip(KWOK_ONLY)
        log = tmp_path / "container.log"
        # kwok reads the container runtime's log format: "<RFC 3339 time> <stream> <F|P> <line>"
        log.write_text("".join(f"2026-01-01T00:00:00.000000000Z stderr F {line}\n" for line in text.splitlines()))
        body = {
            "apiVersion": "kwok.x-k8s.io/v1alpha1",
            "kind": "ClusterLogs",
            "metadata": {"name": self.namespace},
            "spec": {
                "selector": {"matchNamespaces": [self.namespace]},
                "logs": [{"logsFile": str(log), "previousLogsFile": str(log)}],
            },
        }
        self.cluster.custom.create_cluster_custom_object("kwok.x-k8s.io", "v1alpha1", "clusterlogs", body)


KWOK_NAMESPACE_ANNOTATIONS = {
    # PodNodeSelector and PodTolerationRestriction (enabled on the embedded API server): every pod
    # of the namespace goes to kwok's nodes, whose taint it tolerates
    "scheduler.alpha.kubernetes.io/node-selector": "type=kwok",
    "scheduler.alpha.kubernetes.io/defaultTolerations": json.dumps(
        [{"key": "seldon-pkg.io/fake-node", "operator": "Exists", "effect": "NoSchedule"}]
    ),
}


def make_test_cluster(
    session: Session, node_name: str, tmp_path: Path, monkeypatch, real_node: bool = False
) -> Iterator[TestCluster]:
    """A namespace of the test's own. Its pods go to kwok's fake nodes (images that do not exist,
    GPUs, many pods fast) unless ``real_node``: then they run for real on the real node."""
    namespace = namespace_for(node_name)
    config = yaml.safe_load(session.kubeconfig.read_text())
    current = config.get("current-context")
    for context in config["contexts"]:
        if context["name"] == current:
            context["context"]["namespace"] = namespace
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(config))
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    cluster = connect(kubeconfig=str(kubeconfig))
    if session.embedded is not None:
        _set_fake_ingress(cluster, present=not real_node)
    metadata: dict[str, Any] = {"name": namespace, "labels": {"seldon-pkg.io/test": "true"}}
    if session.embedded is not None and not real_node:
        metadata["annotations"] = KWOK_NAMESPACE_ANNOTATIONS
    cluster.core.create_namespace({"metadata": metadata})
    try:
        yield TestCluster(session, namespace, kubeconfig, cluster)
    finally:
        _drop_namespace(cluster, namespace, session)


def _set_fake_ingress(cluster: Cluster, present: bool) -> None:
    """kwok tests find an Istio ingress Service (nothing answers on it: they check the URLs we
    derive from it); real-node tests find none and reach deployments at their own Services."""
    from kubernetes.client.exceptions import ApiException

    from tools.cluster.manifests import istio_ingress

    service = istio_ingress()
    name, namespace = service["metadata"]["name"], service["metadata"]["namespace"]
    try:
        cluster.core.read_namespaced_service(name, namespace)
        exists = True
    except ApiException as error:
        if error.status != 404:
            raise
        exists = False
    if exists == present:
        return  # (creating one that exists answers 422, not 409: its NodePort is "already allocated")
    deadline = time.monotonic() + 30
    while True:
        try:
            if present:
                cluster.core.create_namespaced_service(namespace, service)
            else:
                cluster.core.delete_namespaced_service(name, namespace)
            return
        except ApiException as error:
            if error.status in (404, 409):  # already as wanted
                return
            # a NodePort of a Service deleted a moment ago may not be free yet
            if error.status != 422 or "already allocated" not in str(error.body) or time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _drop_namespace(cluster: Cluster, namespace: str, session: Session) -> None:
    from kubernetes.client.exceptions import ApiException

    try:
        cluster.core.delete_namespace(namespace, propagation_policy="Background")
    except ApiException:
        pass
    if session.embedded is not None:
        try:
            cluster.custom.delete_cluster_custom_object("kwok.x-k8s.io", "v1alpha1", "clusterlogs", namespace)
        except ApiException:
            pass
