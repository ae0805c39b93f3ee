"""The readiness probe every model container gets on a cluster.

Without one a pod is Ready as soon as its process starts, long before the model has loaded, so
``deploy`` would return while the first requests still fail (the Seldon operator's default is
a TCP check that passes as soon as the port is bound, after a 20 s delay). The probe asks the
model server the question it answers only once the model can serve: seldon-core's microservice
``/health/status`` (which the local runtime also waits for), MLServer's ``/v2/health/ready``
(every model loaded).
"""

from __future__ import annotations

from typing import Any

from seldon_pkg.values import Protocol

READY_PATHS = {Protocol.SELDON: "/health/status", Protocol.OIP: "/v2/health/ready"}


def readiness_probe(protocol: Protocol, port: int) -> dict[str, Any]:
    return {
        "httpGet": {"path": READY_PATHS[protocol], "port": port},
        "periodSeconds": 2,
        "timeoutSeconds": 3,
        "failureThreshold": 3,
    }
