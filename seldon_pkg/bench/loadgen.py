"""A bounded, keep-alive load generator for REST and gRPC, loopback only.

Each virtual user owns one connection and sends requests back to back; a run stops at
``requests`` or ``seconds``, whichever comes first. Latency is measured per request with
``perf_counter``; throughput is completed requests over wall time. The same generator measures
every server in a run, so ratios between servers are fair even though the generator shares
the machine's two cores with them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from urllib.parse import urlsplit

import numpy as np

from seldon_pkg.local.upstream import UpstreamError, UpstreamPool

LOOPBACK = ("127.0.0.1", "localhost")


@dataclass
class Stats:
    label: str
    concurrency: int
    requests: int
    failures: int
    seconds: float
    p50_ms: float
    p99_ms: float
    rps: float

    def as_dict(self) -> dict:
        return asdict(self)


def summarise(label: str, concurrency: int, latencies: list[float], failures: int, seconds: float) -> Stats:
    values = np.array(latencies or [float("nan")]) * 1000
    return Stats(
        label,
        concurrency,
        len(latencies),
        failures,
        round(seconds, 2),
        round(float(np.percentile(values, 50)), 3),
        round(float(np.percentile(values, 99)), 3),
        round(len(latencies) / seconds, 1) if seconds else 0.0,
    )


async def _drive(
    call: Callable[[], Awaitable[bool]], concurrency: int, requests: int, seconds: float, warmup: int
) -> tuple[list[float], int, float]:
    for _ in range(warmup):
        await call()
    latencies: list[float] = []
    failures = 0
    budget = requests
    deadline = time.monotonic() + seconds

    async def user() -> None:
        nonlocal budget, failures
        while budget > 0 and time.monotonic() < deadline:
            budget -= 1
            started = time.perf_counter()
            ok = await call()
            if ok:
                latencies.append(time.perf_counter() - started)
            else:
                failures += 1

    started = time.perf_counter()
    await asyncio.gather(*(user() for _ in range(concurrency)))
    return latencies, failures, time.perf_counter() - started


def rest_load(
    label: str,
    url: str,
    body: bytes,
    *,
    concurrency: int,
    requests: int,
    seconds: float,
    warmup: int = 20,
    headers: dict[str, str] | None = None,
) -> Stats:
    parts = urlsplit(url)
    if parts.hostname not in LOOPBACK:
        raise ValueError("the load generator only targets loopback")
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    headers = {"Content-Type": "application/json", **(headers or {})}

    async def main() -> Stats:
        pool = UpstreamPool(max_idle_per_port=concurrency)

        async def call() -> bool:
            try:
                reply = await pool.request(parts.port or 80, "POST", path, body, headers, timeout=60)
                return reply.status == 200
            except (TimeoutError, UpstreamError, OSError):
                return False

        try:
            latencies, failures, wall = await _drive(call, concurrency, requests, seconds, warmup)
        finally:
            pool.close()
        return summarise(label, concurrency, latencies, failures, wall)

    return asyncio.run(main())


def grpc_load(
    label: str,
    target: str,
    method: str,
    message: bytes,
    *,
    metadata: tuple = (),
    concurrency: int,
    requests: int,
    seconds: float,
    warmup: int = 20,
) -> Stats:
    import grpc

    if target.rsplit(":", 1)[0] not in LOOPBACK:
        raise ValueError("the load generator only targets loopback")

    async def main() -> Stats:
        async with grpc.aio.insecure_channel(target) as channel:
            stub = channel.unary_unary(method)

            async def call() -> bool:
                try:
                    await stub(message, metadata=metadata, timeout=60)
                    return True
                except grpc.aio.AioRpcError:
                    return False

            latencies, failures, wall = await _drive(call, concurrency, requests, seconds, warmup)
        return summarise(label, concurrency, latencies, failures, wall)

    return asyncio.run(main())


def in_process(label: str, call: Callable[[], object], iterations: int, concurrency: int = 1) -> Stats:
    """Call ``call`` ``iterations`` times from ``concurrency`` threads (as gunicorn threads would)."""
    import threading

    for _ in range(20):
        call()
    latencies: list[float] = []
    remaining = [iterations]
    lock = threading.Lock()

    def worker() -> None:
        while True:
            with lock:
                if remaining[0] <= 0:
                    return
                remaining[0] -= 1
            begin = time.perf_counter()
            call()
            elapsed = time.perf_counter() - begin
            with lock:
                latencies.append(elapsed)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return summarise(label, concurrency, latencies, 0, time.perf_counter() - started)
