"""The HTTP face of the double: Kubernetes REST paths on 127.0.0.1, in a background thread."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from tests.k8s_double.store import RESOURCES, ApiError, Store

JSON_MEDIA_TYPES = {
    "application/json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
}
PATH = re.compile(
    r"^/(?:api/(?P<core_version>v1)|apis/(?P<group>[^/]+)/(?P<version>[^/]+))"
    r"(?:/namespaces/(?P<namespace>[^/]+))?/(?P<plural>[^/]+)(?:/(?P<name>[^/]+))?(?:/(?P<sub>status|log))?$"
)


def DISCOVERY_PATHS() -> set[str]:
    groups = {(r.group, r.version) for r in RESOURCES.values()}
    return {"/version", "/api", "/apis"} | {f"/apis/{g}/{v}" if g else f"/api/{v}" for g, v in groups}


def discovery(path: str) -> dict:
    """The discovery documents kubectl reads before any request (legacy, non-aggregated form)."""
    if path == "/version":
        return {"major": "1", "minor": "30", "gitVersion": "v1.30.0-test-double", "platform": "linux/amd64"}
    if path == "/api":
        return {
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}],
        }
    if path == "/apis":
        groups = sorted({(r.group, r.version) for r in RESOURCES.values() if r.group})
        return {
            "kind": "APIGroupList",
            "apiVersion": "v1",
            "groups": [
                {
                    "name": g,
                    "versions": [{"groupVersion": f"{g}/{v}", "version": v}],
                    "preferredVersion": {"groupVersion": f"{g}/{v}", "version": v},
                }
                for g, v in groups
            ],
        }
    group_version = path.removeprefix("/apis/").removeprefix("/api/")
    short = {
        "seldondeployments": ["sdep"],
        "inferenceservices": ["isvc"],
        "services": ["svc"],
        "pods": ["po"],
        "deployments": ["deploy"],
        "replicasets": ["rs"],
        "nodes": ["no"],
    }
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": [
            {
                "name": r.plural,
                "singularName": r.kind.lower(),
                "namespaced": r.namespaced,
                "kind": r.kind,
                "verbs": ["create", "delete", "get", "list", "patch", "update"],
                "shortNames": short.get(r.plural, []),
            }
            for r in RESOURCES.values()
            if r.api_version == group_version
        ],
    }


class KubernetesDouble:
    """Start with ``with KubernetesDouble() as api: api.url``; ``api.store`` holds the objects."""

    def __init__(self, store: Store | None = None) -> None:
        self.store = store or Store()
        self.requests: list[tuple[str, str]] = []
        double = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                pass

            def _reply(self, code: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _reply_text(self, text: str) -> None:
                data = text.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _body(self) -> dict:
                """A JSON object, as the API server requires (it answers 415 to other media types
                and 400 to a body that does not parse, e.g. a malformed PATCH)."""
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                media = (self.headers.get("Content-Type") or "application/json").split(";")[0].strip()
                if media not in JSON_MEDIA_TYPES:
                    raise ApiError(
                        415, "UnsupportedMediaType", f"the body of the request was in an unknown format: {media}"
                    )
                if not raw:
                    return {}
                try:
                    body = json.loads(raw)
                except ValueError as error:
                    raise ApiError(400, "BadRequest", f"error decoding request body: {error}") from None
                if not isinstance(body, dict):
                    raise ApiError(400, "BadRequest", "the request body must be a JSON object")
                return body

            def _handle(self, method: str) -> None:
                url = urlparse(self.path)
                query = {k: v[-1] for k, v in parse_qs(url.query).items()}
                double.requests.append((method, self.path))
                if method == "GET" and url.path in DISCOVERY_PATHS():
                    self._reply(200, discovery(url.path))
                    return
                match = PATH.match(url.path)
                try:
                    if not match or match["plural"] not in RESOURCES:
                        raise ApiError(
                            404, "NotFound", f"the server could not find the requested resource ({url.path})"
                        )
                    if match["sub"] == "log" and method == "GET":  # pods/<name>/log: text, like the kubelet's
                        self._reply_text(double.pod_log(match["namespace"], match["name"], query))
                        return
                    body = self._body() if method in ("POST", "PUT", "PATCH", "DELETE") else {}
                    self._reply(*double.dispatch(method, match, query, body))
                except ApiError as error:
                    self._reply(error.code, error.status())

            def do_GET(self) -> None:
                self._handle("GET")

            def do_POST(self) -> None:
                self._handle("POST")

            def do_PUT(self) -> None:
                self._handle("PUT")

            def do_PATCH(self) -> None:
                self._handle("PATCH")

            def do_DELETE(self) -> None:
                self._handle("DELETE")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="k8s-double", daemon=True)

    def pod_log(self, namespace: str, name: str, query: dict) -> str:
        self.store.get("pods", namespace, name)  # 404 for an unknown pod
        lines = self.store.logs.get((namespace, name), "").splitlines(keepends=True)
        tail = int(query["tailLines"]) if query.get("tailLines", "").isdigit() else None
        return "".join(lines[-tail:] if tail else lines)

    def dispatch(self, method: str, match: re.Match, query: dict, body: dict) -> tuple[int, dict]:
        plural, name, namespace = match["plural"], match["name"], match["namespace"]
        resource = RESOURCES[plural]
        store = self.store
        if resource.namespaced and namespace is None and (method != "GET" or name):
            raise ApiError(404, "NotFound", "namespaced resource needs a namespace")
        ns = namespace or ""
        if method == "GET" and name is None:
            items = store.list(plural, namespace if resource.namespaced else None, query.get("labelSelector"))
            return 200, {
                "apiVersion": resource.api_version,
                "kind": f"{resource.kind}List",
                "metadata": {"resourceVersion": "1"},
                "items": items,
            }
        if method == "GET":
            return 200, store.get(plural, ns, name)
        if method == "POST" and name is None:
            return 201, store.create(plural, ns, body, query.get("fieldManager"))
        if method == "PUT" and name:
            if match["sub"] == "status":
                return 200, store.patch(plural, ns, name, {"status": body.get("status", {})}, status_only=True)
            return 200, store.replace(plural, ns, name, body, query.get("fieldManager"))
        if method == "PATCH" and name:
            return 200, store.patch(plural, ns, name, body, status_only=match["sub"] == "status")
        if method == "DELETE" and name:
            propagation = body.get("propagationPolicy") or query.get("propagationPolicy") or "Background"
            return 200, store.delete(plural, ns, name, propagation)
        raise ApiError(405, "MethodNotAllowed", f"{method} is not supported here")

    def __enter__(self) -> KubernetesDouble:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def kubeconfig(self, path, context: str = "double", namespace: str = "default") -> None:
        """A kubeconfig file pointing at this double (what `--context` selects)."""
        import yaml

        path.write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "current-context": context,
                    "clusters": [{"name": context, "cluster": {"server": self.url}}],
                    "users": [{"name": context, "user": {"token": "test-double"}}],
                    "contexts": [
                        {"name": context, "context": {"cluster": context, "user": context, "namespace": namespace}}
                    ],
                }
            )
        )
