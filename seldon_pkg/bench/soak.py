"""The soak: sustained load on the local runtime, memory and file descriptors sampled over time.

A gateway serves two TF-free MNIST models, one per protocol (Seldon, OIP). Load runs in legs
of a few seconds each, round robin: Seldon model through the gateway, Seldon model direct,
OIP model through the gateway, OIP model direct (c=8 each, one digit per request). After each
round every process of the stack is sampled: its USS (memory only it holds, what grows when a
process leaks) and its open file descriptors.

The figure is the memory slope per 100,000 requests that process served, fitted by least
squares after a warm-up, with a 95% interval from a moving-block bootstrap over the samples
(consecutive samples are correlated; resampling blocks keeps that). A process meets the
target when the interval's bad (upper) end is <= 0.1 MiB per 100,000 requests.

Processes are named by role, found from what they listen on (the gunicorn master is the
group leader, a REST worker listens on the HTTP port, the gRPC process on the gRPC port, ...),
so a recycled worker's successor continues its role's group total.
"""

from __future__ import annotations

import datetime
import os
import shutil
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import psutil

from seldon_pkg.bench import comparisons
from seldon_pkg.bench.bench_models import one_digit, write_spec
from seldon_pkg.bench.loadgen import rest_load
from seldon_pkg.bench.stack import Gateway
from seldon_pkg.local.ostools import group_members

TARGET_MIB_PER_100K = 0.1
LEG_SECONDS = 3.0
CONCURRENCY = 8
BOOTSTRAP_SAMPLES = 2000
SEED = 20261125


@dataclass
class Series:
    """One process (or a role's total) over the run: requests it had served, its memory, its fds."""

    requests: list[int] = field(default_factory=list)
    uss_mib: list[float] = field(default_factory=list)
    fds: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)


def slope_per_100k(requests: list[int], mib: list[float], seed: int = SEED) -> dict:
    """Least-squares slope of memory over requests (MiB per 100,000) with a moving-block
    bootstrap 95% interval."""
    x = np.asarray(requests, dtype=float) / 100_000
    y = np.asarray(mib, dtype=float)
    if len(x) < 4 or np.ptp(x) == 0:
        return {"median": None, "ci95": [None, None], "samples": len(x)}
    slope = float(np.polyfit(x, y, 1)[0])
    block = max(2, int(round(len(x) ** 0.5)))
    starts = np.arange(len(x) - block + 1)
    rng = np.random.default_rng(seed)
    slopes = []
    for _ in range(BOOTSTRAP_SAMPLES):
        chosen = rng.choice(starts, size=-(-len(x) // block))
        index = np.concatenate([np.arange(s, s + block) for s in chosen])[: len(x)]
        if np.ptp(x[index]) > 0:
            slopes.append(np.polyfit(x[index], y[index], 1)[0])
    low, high = np.percentile(slopes, [2.5, 97.5])
    return {"median": round(slope, 4), "ci95": [round(float(low), 4), round(float(high), 4)], "samples": len(x)}


ROLE_BY_PORT = (("http", "http worker"), ("grpc", "grpc server"), ("metrics", "metrics server"))
"""The first of these ports a (non-leader) process listens on names its role."""


def roles(leader: int, ports: dict[str, int]) -> dict[int, str]:
    """pid -> role for every process of a model's group (decided by the ports it listens on)."""
    found: dict[int, str] = {}
    by_port = {port: kind for kind, port in ports.items()}
    for proc in group_members(leader):
        try:
            listening = {c.laddr.port for c in proc.net_connections("inet") if c.status == psutil.CONN_LISTEN}
        except psutil.Error:
            continue
        kinds = {by_port.get(port) for port in listening}
        # no port of ours: seldon-core's metrics Manager, MLServer's inference worker
        role = next((role for kind, role in ROLE_BY_PORT if kind in kinds), "helper")
        found[proc.pid] = "leader" if proc.pid == leader else role
    return found


def _sample(proc: psutil.Process) -> tuple[float, int] | None:
    try:
        return proc.memory_full_info().uss / 2**20, proc.num_fds()
    except psutil.Error:
        return None


@dataclass
class Soak:
    """The running soak: served request counts per server, and the series per process."""

    started: float = field(default_factory=time.monotonic)
    served: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    failed: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    processes: dict[str, Series] = field(default_factory=lambda: defaultdict(Series))
    totals: dict[str, Series] = field(default_factory=lambda: defaultdict(Series))

    def record(self, key: str, served_by: str, proc: psutil.Process, total_key: str, sums: dict) -> None:
        sample = _sample(proc)
        if sample is None:
            return
        series = self.processes[key]
        series.requests.append(self.served[served_by])
        series.uss_mib.append(sample[0])
        series.fds.append(sample[1])
        series.seconds.append(time.monotonic() - self.started)
        mib, fds = sums.get(total_key, (0.0, 0))
        sums[total_key] = (mib + sample[0], fds + sample[1])

    def close_totals(self, sums: dict, served_by: dict[str, str]) -> None:
        for key, (mib, fds) in sums.items():
            series = self.totals[key]
            series.requests.append(self.served[served_by[key]])
            series.uss_mib.append(mib)
            series.fds.append(fds)
            series.seconds.append(time.monotonic() - self.started)


def _figures(series: Series, warmup_seconds: float) -> dict:
    keep = [i for i, s in enumerate(series.seconds) if s >= warmup_seconds]
    requests = [series.requests[i] for i in keep]
    mib = [series.uss_mib[i] for i in keep]
    fds = [series.fds[i] for i in keep]
    figure = slope_per_100k(requests, mib)
    figure.update(
        {
            "requests": (requests[-1] - requests[0]) if requests else 0,
            "uss_mib_first": round(mib[0], 2) if mib else None,
            "uss_mib_last": round(mib[-1], 2) if mib else None,
            "fds_first": fds[0] if fds else None,
            "fds_last": fds[-1] if fds else None,
            "fds_max": max(fds) if fds else None,
            "met": figure["ci95"][1] is not None and figure["ci95"][1] <= TARGET_MIB_PER_100K,
        }
    )
    return figure


def run_soak(gateway: Gateway, seldon_row: dict, oip_row: dict, minutes: float, rest: bytes, oip_rest: bytes) -> dict:
    """Load both models for ``minutes``; return per-process and per-role figures."""
    legs = [
        ("seldon via gateway", "seldon", seldon_row["url"], rest, True),
        (
            "seldon direct",
            "seldon",
            f"http://127.0.0.1:{seldon_row['ports']['http']}/api/v1.0/predictions",
            rest,
            False,
        ),
        (
            "oip via gateway",
            "oip",
            f"http://127.0.0.1:{gateway.http_port}/v2/models/{oip_row['name']}/infer",
            oip_rest,
            True,
        ),
        (
            "oip direct",
            "oip",
            f"http://127.0.0.1:{oip_row['ports']['http']}/v2/models/{oip_row['name']}/infer",
            oip_rest,
            False,
        ),
    ]
    soak = Soak()
    deadline = soak.started + minutes * 60
    gateway_proc = psutil.Process(gateway.process.pid)
    groups = {"seldon": seldon_row, "oip": oip_row}
    rounds = 0
    while time.monotonic() < deadline:
        for label, model, url, body, through_gateway in legs:
            stats = rest_load(label, url, body, concurrency=CONCURRENCY, requests=10**9, seconds=LEG_SECONDS, warmup=0)
            soak.served[model] += stats.requests + stats.failures
            soak.failed[label] += stats.failures
            if through_gateway:
                soak.served["gateway"] += stats.requests + stats.failures
        rounds += 1
        sums: dict = {}
        soak.record("gateway", "gateway", gateway_proc, "gateway", sums)
        for model, row in groups.items():
            for pid, role in roles(row["pid"], row["ports"]).items():
                soak.record(f"{model} {role} {pid}", model, psutil.Process(pid), f"{model} model group", sums)
        soak.close_totals(sums, {"gateway": "gateway", "seldon model group": "seldon", "oip model group": "oip"})

    warmup = min(300.0, minutes * 60 * 0.25)
    lasting = {
        key: series
        for key, series in soak.processes.items()
        if len([s for s in series.seconds if s >= warmup]) >= 0.6 * max(1, rounds * (1 - warmup / (minutes * 60)))
    }
    return {
        "minutes": minutes,
        "warmup_s": round(warmup, 1),
        "rounds": rounds,
        "concurrency": CONCURRENCY,
        "served": dict(soak.served),
        "failed": dict(soak.failed),
        "target_mib_per_100k": TARGET_MIB_PER_100K,
        "processes": {key: _figures(series, warmup) for key, series in sorted(lasting.items())},
        "groups": {key: _figures(series, warmup) for key, series in sorted(soak.totals.items())},
        "ended_processes": sorted(set(soak.processes) - set(lasting)),
        "curve": {
            key: {"seconds": [round(s) for s in series.seconds], "uss_mib": [round(m, 2) for m in series.uss_mib]}
            for key, series in sorted(soak.totals.items())
        },
    }


def main(minutes: float, out: Path, env: dict[str, str] | None = None, label: str = "soak") -> dict:
    """Start a gateway with both models (from the bench's cached environments), soak, stop."""

    bench = out.resolve()
    work = bench / "work"
    state = work / f"{label}-state"
    shutil.rmtree(state, ignore_errors=True)
    os.environ.setdefault("SELDON_PKG_ENVS_DIR", str(work / "envs"))
    (work / "logs").mkdir(parents=True, exist_ok=True)
    rest, _, digit = one_digit()
    specs = work / "specs"
    seldon_spec = write_spec(specs / f"{label}-seldon", f"soak-{label}-seldon", "mnist-cnn.onnx", "isolated", env=env)
    oip_spec = write_spec(
        specs / f"{label}-oip", f"soak-{label}-oip", "mnist-cnn.onnx", "isolated", protocol="v2", env=env
    )
    gateway = Gateway.start(state, work / "logs" / f"{label}-gateway.log")
    try:
        gateway.cli("deploy", str(seldon_spec))
        gateway.cli("deploy", str(oip_spec))
        seldon_row = gateway.find(f"soak-{label}-seldon")
        oip_row = gateway.find(f"soak-{label}-oip")
        oip_rest, _ = comparisons.oip_bodies(digit, oip_row["name"])
        figures = run_soak(gateway, seldon_row, oip_row, minutes, rest, oip_rest)
    finally:
        gateway.stop()
    figures["date"] = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    figures["env"] = dict(env or {})
    return figures


BASELINE_ENV = {
    "GUNICORN_THREADS": "8",
    "GUNICORN_MAX_REQUESTS": "0",
    "MALLOC_ARENA_MAX": str(8 * (os.cpu_count() or 1)),  # glibc's own default on 64-bit
}
"""The model settings before the fix (8 gunicorn threads, no recycling, glibc's default arenas),
soaked alongside as the "before" figure."""


def record(minutes: float, out: Path, baseline: bool = True) -> dict:
    """Soak the current settings (and the baseline at the same time, on its own gateway, so both
    share the machine equally); merge the figures into ``out/results.json`` as ``soak``."""
    import json
    import threading

    from seldon_pkg.bench import report

    results_path = out / "results.json"
    runs: dict[str, dict] = {}
    errors: list[BaseException] = []

    def soak(label: str, env: dict[str, str] | None) -> None:
        try:
            runs[label] = main(minutes, out, env=env, label=label)
        except BaseException as error:  # reported after both threads end
            errors.append(error)

    threads = [threading.Thread(target=soak, args=("current", None))]
    if baseline:
        threads.append(threading.Thread(target=soak, args=("baseline", BASELINE_ENV)))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    results["soak"] = {**(results.get("soak") or {}), **runs}  # a run without the baseline keeps the last one
    results_path.write_text(json.dumps(results, indent=2) + "\n")
    report.publish(results, out, None)
    return runs
