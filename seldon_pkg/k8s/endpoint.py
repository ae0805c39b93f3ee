"""Where clients reach models: the ingress gateway's address, found through the API.

The job of the original setup's ``getMasterIP.sh`` and ``getSeldon.sh``: an Istio
``istio-ingressgateway`` or Ambassador/Emissary Service; a LoadBalancer's external address when
it has one, else a node's InternalIP with the NodePort. Seldon's URL scheme is then
``http://<address>/seldon/<namespace>/<name>/api/v1.0/predictions``; gRPC goes to the same
address with ``seldon``/``namespace`` metadata.

With no ingress installed, a deployment is reached at its own Service (:func:`service_route`):
the ClusterIP answers on every node of the cluster through kube-proxy, and on the embedded
cluster from the host too (its real node is the host), so no port-forward process has to stay
alive between ``endpoint`` and the client's call. Elsewhere it is an in-cluster address.
"""

from __future__ import annotations

from dataclasses import dataclass

from seldon_pkg.errors import SeldonPkgError
from seldon_pkg.k8s.connection import Cluster
from seldon_pkg.k8s.resources import as_dict, is_not_found

CANDIDATES = (  # (namespace, service name, kind): the usual installs of each ingress
    ("istio-system", "istio-ingressgateway", "istio"),
    ("ambassador", "ambassador", "ambassador"),
    ("emissary", "emissary-ingress", "ambassador"),
    ("seldon-system", "ambassador", "ambassador"),
    ("default", "ambassador", "ambassador"),
)
HTTP_PORT_NAMES = ("http2", "http", "http-80")


class NoIngress(SeldonPkgError):
    pass


@dataclass(frozen=True)
class Ingress:
    kind: str
    host: str
    port: int
    source: str  # how it was found, for humans

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def prediction_url(self, namespace: str, name: str) -> str:
        return f"{self.base_url}/seldon/{namespace}/{name}/api/v1.0/predictions"

    @property
    def grpc_endpoint(self) -> str:
        return f"{self.host}:{self.port}"


def find_ingress(cluster: Cluster) -> Ingress:
    from kubernetes.client.exceptions import ApiException

    for namespace, name, kind in CANDIDATES:
        try:
            service = as_dict(cluster, cluster.core.read_namespaced_service(name, namespace))
        except ApiException as error:
            if is_not_found(error):
                continue
            raise
        return _address(cluster, service, kind)
    tried = ", ".join(f"{ns}/{name}" for ns, name, _ in CANDIDATES)
    raise NoIngress(f"no Istio or Ambassador gateway Service found (looked for {tried})")


def _address(cluster: Cluster, service: dict, kind: str) -> Ingress:
    spec = service.get("spec", {})
    ports = spec.get("ports", [])
    port = next((p for p in ports if p.get("name") in HTTP_PORT_NAMES), ports[0] if ports else None)
    if port is None:
        raise NoIngress(f"gateway Service {service['metadata']['name']} exposes no port")
    where = f"{service['metadata']['namespace']}/{service['metadata']['name']}"
    for entry in (service.get("status", {}).get("loadBalancer", {}) or {}).get("ingress", []) or []:
        host = entry.get("ip") or entry.get("hostname")
        if host:
            return Ingress(kind, host, int(port["port"]), f"LoadBalancer {where}")
    if spec.get("type") in ("NodePort", "LoadBalancer") and port.get("nodePort"):
        return Ingress(kind, node_address(cluster), int(port["nodePort"]), f"NodePort {where}")
    raise NoIngress(f"gateway Service {where} is {spec.get('type')} without an external address or NodePort")


HTTP_SERVICE_PORTS = ("http", "http1")
GRPC_SERVICE_PORTS = ("grpc", "h2c", "grpc-port")


@dataclass(frozen=True)
class ServiceRoute:
    """A deployment's own Service: where clients inside the cluster (and kube-proxy's node) call it."""

    url: str
    grpc_endpoint: str | None
    source: str


def service_route(cluster: Cluster, namespace: str, name: str, platform) -> ServiceRoute | None:
    """The front Service of deployment ``name`` (its ClusterIP, HTTP and gRPC ports), or None
    before its controller made one."""
    services = [
        as_dict(cluster, s)
        for s in cluster.core.list_namespaced_service(namespace, label_selector=platform.children_selector(name)).items
    ]
    front = next((s for s in services if platform.is_front_service(s, name)), None)
    if front is None:
        return None
    spec = front.get("spec") or {}
    address, ports = spec.get("clusterIP"), spec.get("ports") or []
    if not address or address == "None" or not ports:
        return None
    http = next((p for p in ports if p.get("name") in HTTP_SERVICE_PORTS), ports[0])
    grpc = next((p for p in ports if p.get("name") in GRPC_SERVICE_PORTS), None)
    return ServiceRoute(
        f"http://{address}:{http['port']}{platform.service_path(name)}",
        f"{address}:{grpc['port']}" if grpc else None,
        f"Service {namespace}/{front['metadata']['name']}",
    )


def node_address(cluster: Cluster) -> str:
    """A node's InternalIP (ExternalIP when present): what getMasterIP.sh printed."""
    nodes = [as_dict(cluster, n) for n in cluster.core.list_node().items]
    for wanted in ("ExternalIP", "InternalIP"):
        for node in nodes:
            for address in node.get("status", {}).get("addresses", []):
                if address.get("type") == wanted:
                    return address["address"]
    raise NoIngress("no node reports an InternalIP or ExternalIP address")
