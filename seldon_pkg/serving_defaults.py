"""Environment defaults that keep a long-running model process's memory bounded.

Measured (issue "Memory stays flat under sustained load", bench/REPORT.md's soak): under
sustained load the REST workers of a Seldon-protocol model grew by ~1.5 MiB per 100,000
requests while tracemalloc showed their Python heap flat: the growth was native heap that
glibc's per-thread malloc arenas (up to 8 per core) fragment and never give back, in workers
running 8 gunicorn threads. Limiting the arenas slows it; recycling each worker after a
bounded number of requests (gunicorn's ``max_requests`` plus jitter, so the workers never
restart together) bounds it whatever the allocator does. The same values go into the local
runtime's model processes and into the image's Dockerfile; a spec's ``env`` overrides any
of them.
"""

from __future__ import annotations

from collections.abc import Mapping

ALLOCATOR = {"MALLOC_ARENA_MAX": "2"}
"""Both protocols: at most two glibc malloc arenas per process."""

WORKER_RECYCLING = {"GUNICORN_MAX_REQUESTS": "200000", "GUNICORN_MAX_REQUESTS_JITTER": "50000"}
"""Seldon protocol (gunicorn): a REST worker is replaced after 200,000-250,000 requests; the
master starts its successor and the other worker keeps serving, so no request fails."""


def serving_defaults(protocol: str) -> dict[str, str]:
    """The defaults for a model speaking ``protocol`` (``seldon`` or ``v2``)."""
    return {**ALLOCATOR, **(WORKER_RECYCLING if protocol == "seldon" else {})}


def with_serving_defaults(protocol: str, spec_env: Mapping[str, str]) -> dict[str, str]:
    """The spec's environment over the defaults (the spec wins)."""
    return {**serving_defaults(protocol), **spec_env}
