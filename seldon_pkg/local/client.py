"""The HTTP client of the gateway's control API (what ``LocalTarget`` and ``make demo`` use).

Raises the library's error of the kind the control API names (control_wire.py), so a local
``NotFound`` is the same exception (and exit code) as a cluster one, and a local ``NotReady``
carries a ``DeployOutcome`` as a cluster's does.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from seldon_pkg.errors import NotFound, SeldonPkgError
from seldon_pkg.local.control_wire import error_from
from seldon_pkg.local.state import StateDir

DEPLOY_TIMEOUT = 900.0


class LocalClient:
    def __init__(self, state: StateDir) -> None:
        info = state.read_json(state.gateway_file, default=None)
        if not info:
            raise NotFound(f"no local gateway is running for {state.root}; start one with `seldon-pkg serve`")
        self._base = f"http://127.0.0.1:{info['control_port']}/v1"
        self._headers = {"Authorization": f"Bearer {state.token()}"}
        self.info = info

    def _call(self, method: str, path: str, timeout: float = 30.0, **kwargs: Any) -> Any:
        try:
            reply = requests.request(method, self._base + path, headers=self._headers, timeout=timeout, **kwargs)
        except requests.ConnectionError:
            raise SeldonPkgError("the local gateway does not answer; is `seldon-pkg serve` still running?") from None
        try:
            body = reply.json()
        except ValueError:
            body = {"error": reply.text[:500]}
        if reply.status_code >= 400:
            raise error_from(reply.status_code, body, reply.text[:500])
        return body

    def deploy(
        self,
        spec: Path | None = None,
        *,
        policy: str = "replace",
        record: dict[str, Any] | None = None,
        document: dict[str, Any] | None = None,
        source_dir: Path | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> dict:
        """Deploy a spec file, a spec as data (``document``, the keys of a spec file, with the
        model's ``source_dir``), or a registry record (to restore a previous revision).

        Returns ``{"deployment": {...}, "action": ..., "previous": record|None, "replaced": [...]}``."""
        body: dict[str, Any] = {"policy": policy}
        if record is not None:
            body["record"] = record
        elif document is not None:
            assert source_dir is not None, "a document needs the model's folder"
            body["document"] = document
            body["source_dir"] = str(Path(source_dir).resolve())
        else:
            assert spec is not None
            body["spec"] = str(Path(spec).resolve())
        if progress is None:
            return self._call("POST", "/deployments", timeout=DEPLOY_TIMEOUT, json=body)
        return self._streamed("/deployments", body, progress)

    def _streamed(self, path: str, body: dict[str, Any], progress: Callable[[str], None]) -> Any:
        """POST asking for progress lines (control.STREAM); the last line holds status and answer."""
        headers = {**self._headers, "Accept": "application/x-ndjson"}
        try:
            with requests.post(
                self._base + path, json=body, headers=headers, stream=True, timeout=DEPLOY_TIMEOUT
            ) as reply:
                if reply.status_code != 200:
                    raise error_from(reply.status_code, _json_or_none(reply), reply.text[:500])
                for raw in reply.iter_lines():
                    line = json.loads(raw)
                    if "progress" in line:
                        progress(line["progress"])
                    elif line["status"] >= 400:
                        raise error_from(line["status"], line["answer"])
                    else:
                        return line["answer"]
        except requests.ConnectionError:
            raise SeldonPkgError("the local gateway does not answer; is `seldon-pkg serve` still running?") from None
        raise SeldonPkgError("the local gateway closed the connection before answering")

    def list(self) -> list[dict]:
        return self._call("GET", "/deployments")

    def show(self, namespace: str, name: str) -> dict:
        return self._call("GET", f"/deployments/{namespace}/{name}")

    def delete(self, namespace: str, name: str) -> dict:
        return self._call("DELETE", f"/deployments/{namespace}/{name}", timeout=120)


def _json_or_none(reply: requests.Response) -> Any:
    try:
        return reply.json()
    except ValueError:
        return None
