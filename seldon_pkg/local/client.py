"""What ``--target local`` CLI commands use: find the running gateway and call its control API."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import requests

from seldon_pkg.errors import SeldonPkgError
from seldon_pkg.local.state import StateDir

DEPLOY_TIMEOUT = 900.0


class LocalClient:
    def __init__(self, state: StateDir) -> None:
        info = state.read_json(state.gateway_file, default=None)
        if not info:
            raise SeldonPkgError(
                f"no local gateway is running for {state.root}; start one with `seldon-pkg serve`"
            )
        self._base = f"http://127.0.0.1:{info['control_port']}/v1"
        self._headers = {"Authorization": f"Bearer {state.token()}"}
        self.info = info

    def _call(self, method: str, path: str, timeout: float = 30.0, **kwargs: Any) -> Any:
        try:
            reply = requests.request(method, self._base + path, headers=self._headers, timeout=timeout, **kwargs)
        except requests.ConnectionError:
            raise SeldonPkgError("the local gateway does not answer; is `seldon-pkg serve` still running?") from None
        body = reply.json()
        if reply.status_code >= 400:
            raise SeldonPkgError(body.get("error", reply.text))
        return body

    def deploy(self, spec: Path) -> dict:
        return self._call("POST", "/deployments", timeout=DEPLOY_TIMEOUT, json={"spec": str(spec.resolve())})

    def list(self) -> list[dict]:
        return self._call("GET", "/deployments")

    def find(self, name: str, namespace: str | None) -> dict:
        """A deployment by name (and namespace when several namespaces use the name)."""
        matches = [d for d in self.list() if d["name"] == name and namespace in (None, d["namespace"])]
        if not matches:
            raise SeldonPkgError(f"no local deployment named {name!r}")
        if len(matches) > 1:
            raise SeldonPkgError(f"{name!r} exists in several namespaces; pass --namespace")
        return matches[0]

    def delete(self, name: str, namespace: str | None) -> dict:
        found = self.find(name, namespace)
        return self._call("DELETE", f"/deployments/{found['namespace']}/{name}", timeout=120)
