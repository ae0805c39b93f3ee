"""Connecting to a cluster: kubeconfig (optionally a named context), else in-cluster config."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from seldon_pkg.errors import SeldonPkgError


class NoClusterConfig(SeldonPkgError):
    pass


@dataclass
class Cluster:
    """Typed API handles over one ``ApiClient`` plus the context's default namespace."""

    # the kubernetes client's API classes (untyped library: Any, not object)
    api_client: Any
    custom: Any
    apps: Any
    core: Any
    autoscaling: Any
    networking: Any
    default_namespace: str = "default"

    @classmethod
    def from_api_client(cls, api_client, default_namespace: str = "default") -> Cluster:
        from kubernetes import client

        return cls(
            api_client,
            client.CustomObjectsApi(api_client),
            client.AppsV1Api(api_client),
            client.CoreV1Api(api_client),
            client.AutoscalingV2Api(api_client),
            client.NetworkingV1Api(api_client),
            default_namespace,
        )


def connect(context: str | None = None, kubeconfig: str | None = None) -> Cluster:
    """A cluster from kubeconfig (``$KUBECONFIG`` or ``~/.kube/config``) or the pod's service account."""
    import os

    from kubernetes import config
    from kubernetes.config.config_exception import ConfigException

    # read $KUBECONFIG now: the client library reads it once, when it is imported
    kubeconfig = kubeconfig or os.environ.get("KUBECONFIG") or None
    try:
        contexts, active = config.list_kube_config_contexts(config_file=kubeconfig)
        chosen = next((c for c in contexts if c["name"] == context), None) if context else active
        if context and chosen is None:
            names = ", ".join(c["name"] for c in contexts)
            raise NoClusterConfig(f"kubeconfig has no context {context!r}; available: {names}")
        api_client = config.new_client_from_config(config_file=kubeconfig, context=context)
        namespace = (chosen or {}).get("context", {}).get("namespace", "default")
        return Cluster.from_api_client(api_client, namespace)
    except (ConfigException, FileNotFoundError, TypeError):
        pass
    try:
        from kubernetes import client

        config.load_incluster_config()
        with open("/var/run/secrets/kubernetes.io/serviceaccount/namespace") as handle:
            namespace = handle.read().strip() or "default"
        return Cluster.from_api_client(client.ApiClient(), namespace)
    except (ConfigException, FileNotFoundError):
        raise NoClusterConfig(
            "no Kubernetes configuration found: no kubeconfig ($KUBECONFIG or ~/.kube/config) and not "
            "running in a pod; point KUBECONFIG at your cluster or pass --context"
        ) from None
