"""``accelerator:`` in the spec: one field that takes a model from its spec to a GPU node.

```yaml
accelerator:
  type: nvidia.com/gpu        # the extended resource the device plugin advertises (default)
  count: 1                    # devices per replica (default 1)
  node_selector: {cloud.google.com/gke-accelerator: nvidia-l4}   # optional
  tolerations:                # optional; default: tolerate the taint GPU pools carry
    - {key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}
```

Every platform gets the resource limit (Kubernetes schedules extended resources by their
limit; the request defaults to it), and where the platform has a pod spec, the tolerations and
node selection. GKE, EKS and AKS GPU node pools taint their nodes ``nvidia.com/gpu`` with
``NoSchedule``; without a toleration a GPU pod never lands on them, so one is added unless the
spec lists its own. Seldon Core 2 places a Model on a Server and has no pod spec per model: a
GPU there is a Server capability (``requirements: [gpu]``), and node selection or tolerations
are refused naming the field (they belong on the Server's pod spec).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

DEFAULT_TYPE = "nvidia.com/gpu"
MAX_COUNT = 16
RESOURCE_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?/[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
"""An extended resource: a DNS-subdomain prefix, '/', a name (what device plugins advertise)."""
LABEL_KEY = re.compile(r"^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")
OPERATORS = ("Exists", "Equal")
EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
TOLERATION_KEYS = {"key", "operator", "value", "effect", "tolerationSeconds"}
KNOWN = {"type", "count", "node_selector", "tolerations"}


@dataclass(frozen=True)
class Accelerator:
    type: str = DEFAULT_TYPE
    count: int = 1
    node_selector: dict[str, str] = field(default_factory=dict)
    tolerations: tuple[dict[str, Any], ...] = ()
    explicit_tolerations: bool = False
    """Whether the spec listed its tolerations (then they are used as they are, even empty)."""

    def limits(self) -> dict[str, str]:
        return {self.type: str(self.count)}

    def pod_tolerations(self) -> list[dict[str, Any]]:
        if self.explicit_tolerations:
            return [dict(t) for t in self.tolerations]
        return [{"key": self.type, "operator": "Exists", "effect": "NoSchedule"}]

    def apply_to_container(self, container: dict[str, Any]) -> None:
        """Add the device limit to ``container``'s resources (whatever else they say)."""
        resources = container.setdefault("resources", {})
        resources["limits"] = {**resources.get("limits", {}), **self.limits()}
        requests = resources.get("requests")
        if requests and self.type in requests:  # an extended resource's request must equal its limit
            requests[self.type] = str(self.count)

    def apply_to_pod(self, pod_spec: dict[str, Any]) -> None:
        """Tolerations and node selection on a pod spec (or KServe's predictor, which inlines one)."""
        tolerations = self.pod_tolerations()
        if tolerations:
            pod_spec["tolerations"] = [*pod_spec.get("tolerations", []), *tolerations]
        if self.node_selector:
            pod_spec["nodeSelector"] = {**pod_spec.get("nodeSelector", {}), **self.node_selector}

    def document(self) -> dict[str, Any]:
        """The spec's ``accelerator`` mapping that ``parse_accelerator`` reads back to this object
        (tolerations only when the spec listed them: otherwise the default stays implied)."""
        document: dict[str, Any] = {"type": self.type, "count": self.count}
        if self.node_selector:
            document["node_selector"] = dict(self.node_selector)
        if self.explicit_tolerations:
            document["tolerations"] = [dict(t) for t in self.tolerations]
        return document

    def to_json(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "count": self.count,
            "node_selector": dict(self.node_selector),
            "tolerations": self.pod_tolerations(),
        }


def accelerator_env(accelerator: Accelerator | None) -> dict[str, str]:
    """The model process's environment for it: the wrappers warn when the device is missing."""
    from model_wrappers.backends import ACCELERATOR_ENV

    return {ACCELERATOR_ENV: accelerator.type} if accelerator is not None else {}


def parse_accelerator(value: Any, fail: Callable[[str, str], Exception]) -> Accelerator | None:
    """The spec's ``accelerator`` mapping, validated field by field (``fail(field, reason)``)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise fail("accelerator", "must be a mapping like {type: nvidia.com/gpu, count: 1}")
    unknown = sorted(set(map(str, value)) - KNOWN)
    if unknown:
        raise fail(f"accelerator.{unknown[0]}", f"unknown key; known keys are {', '.join(sorted(KNOWN))}")
    kind = value.get("type", DEFAULT_TYPE)
    if not isinstance(kind, str) or not RESOURCE_NAME.match(kind) or kind.startswith("kubernetes.io/"):
        raise fail("accelerator.type", f"must be an extended resource name like nvidia.com/gpu, got {kind!r}")
    count = value.get("count", 1)
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_COUNT:
        raise fail("accelerator.count", f"must be a whole number from 1 to {MAX_COUNT}, got {count!r}")
    return Accelerator(
        type=kind,
        count=count,
        node_selector=_node_selector(value.get("node_selector"), fail),
        tolerations=_tolerations(value.get("tolerations"), fail),
        explicit_tolerations="tolerations" in value,
    )


def _node_selector(value: Any, fail) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise fail("accelerator.node_selector", "must be a mapping of node label to value")
    result = {}
    for key, label in value.items():
        if not isinstance(key, str) or not LABEL_KEY.match(key):
            raise fail(f"accelerator.node_selector.{key}", "is not a valid label key")
        text = str(label).lower() if isinstance(label, bool) else label
        if not isinstance(text, str) or not LABEL_VALUE.match(text):
            raise fail(f"accelerator.node_selector.{key}", f"is not a valid label value: {label!r}")
        result[key] = text
    return result


def _tolerations(value: Any, fail) -> tuple[dict[str, Any], ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise fail("accelerator.tolerations", "must be a list of {key, operator, value, effect}")
    result = []
    for index, item in enumerate(value):
        where = f"accelerator.tolerations[{index}]"
        if not isinstance(item, dict):
            raise fail(where, "must be a mapping like {key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}")
        unknown = sorted(set(map(str, item)) - TOLERATION_KEYS)
        if unknown:
            raise fail(f"{where}.{unknown[0]}", f"unknown key; known keys are {', '.join(sorted(TOLERATION_KEYS))}")
        operator = item.get("operator", "Equal")
        if operator not in OPERATORS:
            raise fail(f"{where}.operator", f"must be one of {', '.join(OPERATORS)}, got {operator!r}")
        key = item.get("key")
        if key is not None and (not isinstance(key, str) or not LABEL_KEY.match(key)):
            raise fail(f"{where}.key", f"is not a valid taint key: {key!r}")
        if key is None and operator != "Exists":
            raise fail(f"{where}.key", "is required unless operator is Exists (which then tolerates every taint)")
        if "value" in item:
            if operator == "Exists":
                raise fail(f"{where}.value", "must not be set with operator Exists")
            if not isinstance(item["value"], str) or not LABEL_VALUE.match(item["value"]):
                raise fail(f"{where}.value", f"is not a valid taint value: {item['value']!r}")
        effect = item.get("effect")
        if effect is not None and effect not in EFFECTS:
            raise fail(f"{where}.effect", f"must be one of {', '.join(EFFECTS)}, got {effect!r}")
        seconds = item.get("tolerationSeconds")
        if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, int) or effect != "NoExecute"):
            raise fail(f"{where}.tolerationSeconds", "must be a whole number, and only with effect NoExecute")
        result.append(
            {k: item[k] for k in ("key", "operator", "value", "effect", "tolerationSeconds") if k in item}
            | {"operator": operator}
        )
    return tuple(result)
