"""Waiting for one object to reach a state, by watching it instead of polling.

A watch answers the moment the object changes (no poll interval added to every deploy) and
costs the API server one long request instead of several reads a second. It starts from the
resourceVersion of a fresh read, so no change between that read and the watch is missed. The
API server ends a watch after ``timeoutSeconds``, or with 410 Gone when the version has been
compacted away; both start again from a fresh read.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from seldon_pkg.k8s.connection import Cluster
from seldon_pkg.platforms.base import Platform

Condition = Callable[[dict | None], bool]
"""Called with the object as it is now (``None`` once it is gone); true ends the wait."""


def wait_for(
    cluster: Cluster,
    platform: Platform,
    namespace: str,
    name: str,
    until: Condition,
    timeout: float,
    recheck: float | None = None,
) -> tuple[bool, dict | None]:
    """(whether ``until`` became true within ``timeout`` seconds, the object as last seen).

    ``recheck``: call ``until`` again at least this often (seconds) even when the object does
    not change, for a condition that also reads other objects (its Deployments)."""
    from kubernetes import watch
    from kubernetes.client.exceptions import ApiException

    deadline = time.monotonic() + timeout
    selector = f"metadata.name={name}"

    def listing() -> dict:
        return cluster.custom.list_namespaced_custom_object(
            platform.resource.group,
            platform.resource.version,
            namespace,
            platform.resource.plural,
            field_selector=selector,
        )

    while True:
        current = listing()
        obj = (current.get("items") or [None])[0]
        if until(obj):
            return True, obj
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False, obj
        stream = watch.Watch()
        try:
            for event in stream.stream(
                cluster.custom.list_namespaced_custom_object,
                platform.resource.group,
                platform.resource.version,
                namespace,
                platform.resource.plural,
                field_selector=selector,
                resource_version=current["metadata"]["resourceVersion"],
                timeout_seconds=max(1, math.ceil(min(remaining, recheck or remaining))),
                _request_timeout=remaining + 10,
            ):
                if event["type"] == "ERROR":  # e.g. 410 Gone as an event: read again
                    break
                obj = None if event["type"] == "DELETED" else event["object"]
                if until(obj):
                    return True, obj
                if time.monotonic() >= deadline:
                    return False, obj
        except ApiException as error:
            if error.status != 410:
                raise
        finally:
            stream.stop()
        if time.monotonic() >= deadline:
            return False, obj
