"""Environment defaults that keep a long-running model process's memory bounded.

Why (the figures are in bench/REPORT.md's soak section, produced by ``make soak``): under
sustained load the REST workers of a Seldon-protocol model grew slowly while their Python heap
stayed flat: native heap that glibc's per-thread malloc arenas fragment and never give back,
in workers running 8 gunicorn threads. Limiting the arenas slows it; recycling each worker
after a bounded number of requests (gunicorn's ``max_requests`` plus jitter, so the workers
never restart together) bounds it whatever the allocator does.

Which server gets which is the server kind's choice (``ServerKind.serving_defaults``):
recycling only under the local launcher (loopback.py), where it is measured with no failed
request; images run plain ``seldon-core-microservice`` and get the allocator setting only (a
spec can still set ``GUNICORN_MAX_REQUESTS``); MLServer stayed flat without either and gets
nothing. A spec's ``env`` overrides any of these.
"""

from __future__ import annotations

ALLOCATOR = {"MALLOC_ARENA_MAX": "2"}
"""At most two glibc malloc arenas per process (Seldon protocol; MLServer settled higher with
two and was flat without: see the soak section of the report)."""

WORKER_RECYCLING = {"GUNICORN_MAX_REQUESTS": "200000", "GUNICORN_MAX_REQUESTS_JITTER": "50000"}
"""A gunicorn REST worker is replaced after 200,000-250,000 requests; the master starts its
successor and the other worker keeps serving, so no request fails."""
