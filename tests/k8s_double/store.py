"""Object storage with the API server's rules: names, resourceVersions, Status errors, GC."""

from __future__ import annotations

import copy
import datetime
import itertools
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.k8s_double import selectors

DNS_1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS_1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")


@dataclass(frozen=True)
class Resource:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool = True

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


RESOURCES = {
    r.plural: r
    for r in (
        Resource("", "v1", "pods", "Pod"),
        Resource("", "v1", "services", "Service"),
        Resource("", "v1", "nodes", "Node", namespaced=False),
        Resource("", "v1", "secrets", "Secret"),  # Helm keeps its releases in Secrets
        Resource("apps", "v1", "deployments", "Deployment"),
        Resource("apps", "v1", "replicasets", "ReplicaSet"),
        Resource("machinelearning.seldon.io", "v1", "seldondeployments", "SeldonDeployment"),
        Resource("serving.kserve.io", "v1beta1", "inferenceservices", "InferenceService"),
    )
}


LABEL_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")


def label_problems(labels: dict, where: str) -> list[str]:
    """The API server's label rules: ``[prefix/]name`` keys and <= 63-character values."""
    problems = []
    for key, value in labels.items():
        prefix, _, name = str(key).rpartition("/")
        if not LABEL_NAME.match(name) or (prefix and (len(prefix) > 253 or not DNS_1123_SUBDOMAIN.match(prefix))):
            problems.append(f"{where}: Invalid value: {key!r}: not a valid label key")
        if not isinstance(value, str) or not LABEL_VALUE.match(value):
            problems.append(f"{where}: Invalid value: {value!r}: not a valid label value")
    return problems


class ApiError(Exception):
    """Rendered as a Kubernetes ``Status`` object with this code and reason."""

    def __init__(self, code: int, reason: str, message: str, details: dict | None = None) -> None:
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details or {}

    def status(self) -> dict:
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "details": self.details,
            "code": self.code,
        }


def now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


class Store:
    def __init__(self, validators: dict[str, Callable[[dict], list[str]]] | None = None, gc_delay: float = 0.1) -> None:
        """``gc_delay``: dependents of a deleted object go after this many seconds, from another
        thread, as the real garbage collector does (so callers must wait for them)."""
        self.gc_delay = gc_delay
        self.lock = threading.RLock()
        self.objects: dict[tuple[str, str, str], dict] = {}
        self._versions = itertools.count(1000)
        self.validators = validators or {}
        self.listeners: list[Callable[[str, str, dict], None]] = []
        self.before_delete: list[Callable[[str, dict], None]] = []  # called before GC runs
        self.deleted: list[tuple[str, str, str]] = []  # (plural, namespace, name), in order
        self.logs: dict[tuple[str, str], str] = {}  # (namespace, pod) -> what its container printed

    # ---- reads -----------------------------------------------------------------------------
    def get(self, plural: str, namespace: str, name: str) -> dict:
        with self.lock:
            found = self.objects.get((plural, namespace, name))
            if found is None:
                raise ApiError(404, "NotFound", f'{plural} "{name}" not found', {"name": name, "kind": plural})
            return copy.deepcopy(found)

    def list(self, plural: str, namespace: str | None, label_selector: str | None = None) -> list[dict]:
        with self.lock:
            return [
                copy.deepcopy(obj)
                for (kind, ns, _), obj in sorted(self.objects.items())
                if kind == plural
                and (namespace is None or ns == namespace)
                and selectors.matches(label_selector, obj["metadata"].get("labels"))
            ]

    def children_of(self, uid: str) -> list[tuple[str, dict]]:
        with self.lock:
            return [
                (plural, obj)
                for (plural, _, _), obj in self.objects.items()
                if any(ref.get("uid") == uid for ref in obj["metadata"].get("ownerReferences", []))
            ]

    # ---- writes ----------------------------------------------------------------------------
    def create(self, plural: str, namespace: str, body: dict, field_manager: str | None = None) -> dict:
        resource = RESOURCES[plural]
        name = body.get("metadata", {}).get("name", "")
        self._validate_name(resource, name)
        self._validate(plural, body)
        with self.lock:
            if (plural, namespace, name) in self.objects:
                raise ApiError(
                    409, "AlreadyExists", f'{plural} "{name}" already exists', {"name": name, "kind": plural}
                )
            obj = copy.deepcopy(body)
            obj["apiVersion"], obj["kind"] = resource.api_version, resource.kind
            meta = obj.setdefault("metadata", {})
            if resource.namespaced:
                meta["namespace"] = namespace
            meta.update(
                uid=str(uuid.uuid4()), resourceVersion=str(next(self._versions)), creationTimestamp=now(), generation=1
            )
            if field_manager:
                meta["managedFields"] = [{"manager": field_manager, "operation": "Update", "time": now()}]
            self.objects[(plural, namespace, name)] = obj
        self._notify("ADDED", plural, obj)
        return copy.deepcopy(obj)

    def replace(self, plural: str, namespace: str, name: str, body: dict, field_manager: str | None = None) -> dict:
        self._validate(plural, body)
        with self.lock:
            current = self.get(plural, namespace, name)
            offered = body.get("metadata", {}).get("resourceVersion")
            if not offered and RESOURCES[plural].group not in ("", "apps"):
                raise ApiError(
                    422,
                    "Invalid",
                    f'{RESOURCES[plural].kind} "{name}" is invalid: metadata.resourceVersion: '
                    "Invalid value: 0x0: must be specified for an update",
                    {"name": name, "kind": plural},
                )
            if offered and offered != current["metadata"]["resourceVersion"]:
                raise ApiError(
                    409,
                    "Conflict",
                    f'Operation cannot be fulfilled on {plural} "{name}": '
                    "the object has been modified; please apply your changes to the latest version",
                )
            obj = copy.deepcopy(body)
            obj["apiVersion"], obj["kind"] = current["apiVersion"], current["kind"]
            meta = obj.setdefault("metadata", {})
            for key in ("uid", "creationTimestamp", "namespace", "ownerReferences"):
                if key in current["metadata"] and key not in meta:
                    meta[key] = current["metadata"][key]
            meta["uid"] = current["metadata"]["uid"]
            meta["generation"] = current["metadata"]["generation"] + (obj.get("spec") != current.get("spec"))
            meta["resourceVersion"] = str(next(self._versions))
            if field_manager:
                meta["managedFields"] = [{"manager": field_manager, "operation": "Update", "time": now()}]
            if plural in ("seldondeployments", "inferenceservices"):  # status is a subresource: replace keeps it
                obj["status"] = current.get("status", {})
            self.objects[(plural, namespace, name)] = obj
        self._notify("MODIFIED", plural, obj)
        return copy.deepcopy(obj)

    def patch(self, plural: str, namespace: str, name: str, patch: dict, status_only: bool = False) -> dict:
        with self.lock:
            current = self.get(plural, namespace, name)
            if status_only:
                updated = dict(current, status=merge_patch(current.get("status", {}), patch.get("status", {})))
            else:
                updated = merge_patch(current, patch)
                if (updated.get("metadata") or {}).get("name") != name:
                    raise ApiError(
                        422,
                        "Invalid",
                        f'{RESOURCES[plural].kind} "{name}" is invalid: metadata.name: field is immutable',
                    )
                self._validate(plural, updated)
                if updated.get("spec") != current.get("spec"):
                    updated["metadata"]["generation"] = current["metadata"]["generation"] + 1
            updated["metadata"]["resourceVersion"] = str(next(self._versions))
            self.objects[(plural, namespace, name)] = updated
        self._notify("MODIFIED", plural, updated)
        return copy.deepcopy(updated)

    def delete(self, plural: str, namespace: str, name: str, propagation: str = "Background") -> dict:
        """Delete and garbage-collect dependents (Background/Foreground) or orphan them."""
        with self.lock:
            obj = self.get(plural, namespace, name)
            for hook in list(self.before_delete):
                hook(plural, obj)
            uid = obj["metadata"]["uid"]
            children = self.children_of(uid)
            if propagation == "Orphan":
                for child_plural, child in children:
                    key = (child_plural, child["metadata"].get("namespace", ""), child["metadata"]["name"])
                    refs = [r for r in child["metadata"].get("ownerReferences", []) if r.get("uid") != uid]
                    self.objects[key]["metadata"]["ownerReferences"] = refs
            if propagation == "Foreground":  # dependents first, then the owner
                self._collect(children)
            del self.objects[(plural, namespace, name)]
            self.deleted.append((plural, namespace, name))
        if propagation == "Background" and children:
            timer = threading.Timer(self.gc_delay, self._collect, args=(children,))
            timer.daemon = True
            timer.start()
        self._notify("DELETED", plural, obj)
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "status": "Success",
            "details": {"name": name, "kind": plural, "uid": uid},
        }

    def _collect(self, children: list[tuple[str, dict]]) -> None:
        """The garbage collector's pass over one owner's dependents (already gone is fine)."""
        for child_plural, child in children:
            meta = child["metadata"]
            try:
                current = self.get(child_plural, meta.get("namespace", ""), meta["name"])
            except ApiError:
                continue
            if current["metadata"]["uid"] == meta["uid"]:
                self.delete(child_plural, meta.get("namespace", ""), meta["name"], "Background")

    # ---- rules -----------------------------------------------------------------------------
    def _validate_name(self, resource: Resource, name: str) -> None:
        if resource.plural == "services":
            ok = len(name) <= 63 and DNS_1035_LABEL.match(name)
            rule = "a DNS-1035 label"
        else:
            ok = len(name) <= 253 and DNS_1123_SUBDOMAIN.match(name)
            rule = "a lowercase RFC 1123 subdomain"
        if not ok:
            raise ApiError(
                422,
                "Invalid",
                f'{resource.kind} "{name}" is invalid: metadata.name: must be {rule}',
                {"name": name, "kind": resource.plural},
            )

    def _validate(self, plural: str, body: dict) -> None:
        validator = self.validators.get(plural)
        problems = validator(body) if validator else []
        problems += label_problems((body.get("metadata") or {}).get("labels") or {}, "metadata.labels")
        if problems:
            name = body.get("metadata", {}).get("name", "")
            raise ApiError(
                422,
                "Invalid",
                f'{RESOURCES[plural].kind} "{name}" is invalid: ' + "; ".join(problems),
                {"name": name, "kind": plural},
            )

    def _notify(self, event: str, plural: str, obj: dict) -> None:
        for listener in list(self.listeners):
            listener(event, plural, obj)
