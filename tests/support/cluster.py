"""A running Kubernetes API test double with a node and an Istio ingress gateway, for cluster tests."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from seldon_pkg.k8s.connection import connect
from tests.k8s_double.server import KubernetesDouble
from tests.k8s_double.store import Store

NODE_IP = "192.0.2.10"  # TEST-NET-1: data only, never connected to
INGRESS_NODE_PORT = 31380


@contextlib.contextmanager
def double_cluster(store: Store, tmp_path, monkeypatch) -> Iterator[KubernetesDouble]:
    """The double serving ``store``, KUBECONFIG pointing at it, ``double.cluster`` connected."""
    with KubernetesDouble(store) as double:
        kubeconfig = tmp_path / "kubeconfig"
        double.kubeconfig(kubeconfig, context="double")
        monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
        store.create(
            "nodes",
            "",
            {"metadata": {"name": "node-1"}, "status": {"addresses": [{"type": "InternalIP", "address": NODE_IP}]}},
        )
        store.create(
            "services",
            "istio-system",
            {
                "metadata": {"name": "istio-ingressgateway"},
                "spec": {
                    "type": "NodePort",
                    "ports": [{"name": "http2", "port": 80, "nodePort": INGRESS_NODE_PORT, "protocol": "TCP"}],
                },
            },
        )
        double.cluster = connect()
        yield double
