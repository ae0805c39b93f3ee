"""Environment defaults that keep a long-running model process's memory bounded.

Measured (issue "Memory stays flat under sustained load", bench/REPORT.md's soak): under
sustained load the REST workers of a Seldon-protocol model grew by 0.07-0.12 MiB per 100,000
requests (up to ~1.5 in short runs) while tracemalloc showed their Python heap flat: the growth was native heap that
glibc's per-thread malloc arenas (up to 8 per core) fragment and never give back, in workers
running 8 gunicorn threads. Limiting the arenas slows it; recycling each worker after a
bounded number of requests (gunicorn's ``max_requests`` plus jitter, so the workers never
restart together) bounds it whatever the allocator does.

Recycling is measured under the local launcher only (loopback.py; the soak showed zero
failed requests across recycles once the launcher stopped ending the shared metrics,
gRPC and metrics processes from an exiting worker). Images run plain
``seldon-core-microservice``, where recycling has not been measured: they get the allocator
setting only (a spec can still set ``GUNICORN_MAX_REQUESTS``). OIP models (MLServer) were flat
without any of this and get nothing. A spec's ``env`` overrides any of these.
"""

from __future__ import annotations

from collections.abc import Mapping

ALLOCATOR = {"MALLOC_ARENA_MAX": "2"}
"""Seldon protocol: at most two glibc malloc arenas per process. Not for OIP (MLServer): its
process was flat with glibc's default arenas (soak, 682,751 requests in 31 minutes, slope
+0.0004 MiB per 100k) and settled 54 MiB higher, then flat, with two."""

WORKER_RECYCLING = {"GUNICORN_MAX_REQUESTS": "200000", "GUNICORN_MAX_REQUESTS_JITTER": "50000"}
"""Seldon protocol (gunicorn): a REST worker is replaced after 200,000-250,000 requests; the
master starts its successor and the other worker keeps serving, so no request fails."""


def serving_defaults(protocol: str, launcher: bool = True) -> dict[str, str]:
    """The defaults for a model speaking ``protocol`` (``seldon`` or ``v2``); worker recycling
    only under our launcher (``launcher``), where it is measured."""
    if protocol != "seldon":
        return {}
    return {**ALLOCATOR, **(WORKER_RECYCLING if launcher else {})}


def with_serving_defaults(protocol: str, spec_env: Mapping[str, str]) -> dict[str, str]:
    """The local runtime's environment: the spec's over the defaults (the spec wins)."""
    return {**serving_defaults(protocol), **spec_env}
