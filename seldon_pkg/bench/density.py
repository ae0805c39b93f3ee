"""Density: how many models one machine holds, with every model probed at each step.

Three ways of holding N copies of the demo CNN, each grown through the same steps, each row with
the same shape (models, probed, failures, total and per-model PSS, the marginal PSS of the
models this step added, their mean load time):

- ``density`` (the reference): one Seldon-protocol process per model, one gunicorn worker each
  (an idle model needs no second one), deployed through the gateway's control API;
- ``density_shared``: OIP models through our gateway. Models with the same runtime environment
  share one MLServer process once shared servers land (until then each is its own process, and
  the memory stop comes early); memory is the PSS summed over the distinct process groups;
- ``density_mlserver``: MLServer's own multi-model serving, one MLServer process (the peer's
  environment), models added through its repository API.

At each step every model is probed (c=1, a few requests), so a slow or failing model anywhere
shows in the spread of per-model p50s, not only model 1's. A run stops early when less than
``MIN_FREE_MIB`` of memory is left, or when the next step would not fit in its time budget
(estimated from the load and probe time per model so far), and says which step it stopped at.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import requests

from seldon_pkg.bench.bench_models import MODELS, write_spec
from seldon_pkg.bench.stack import Gateway, group_pss_mib, stop, wait_http
from seldon_pkg.local.ostools import free_ports
from seldon_pkg.local.upstream import UpstreamError, UpstreamPool
from seldon_pkg.project import ROOT
from seldon_pkg.servers.mlserver_settings import server_settings

STEPS = (1, 10, 50)
"""The reference's steps: 50 processes keep the "50 models at once" target (docs/benchmarks.md) measured."""
SHARED_STEPS = (1, 10, 50, 100, 200, 500, 1000)
QUICK_STEPS = (1, 4)
QUICK_SHARED_STEPS = (1, 4, 10)
MIN_FREE_MIB = 2048
PROBE_REQUESTS = 3
"""Timed requests per model per step, after one untimed: 1,000 models probe in seconds."""
PARALLEL_DEPLOYS = 4
"""Deploys in flight at once through the control API (model start-up waits on I/O as much as CPU)."""
PARALLEL_DELETES = 16
"""Deletes in flight at once: stopping a process is waiting, not work."""
PREFIX = "bench-density-"
SHARED_PREFIX = "bench-shared-"


@dataclass(frozen=True)
class Probe:
    ok: int
    failures: int
    p50_ms: float


@dataclass
class Fleet:
    """One way of holding N models, as the step loop drives it."""

    load: Callable[[list[int]], list[float]]
    """Load the models with these indices; each one's load seconds."""
    urls: Callable[[], list[str]]
    """Every loaded model's inference URL."""
    pids: Callable[[], set[int]]
    """The distinct process-group leaders serving them."""


def marginal_pss_mib(previous: dict | None, models: int, total_pss_mib: float) -> float | None:
    """PSS growth over model growth since the previous step: what one more model costs there
    (the per-model average hides a shared process's fixed cost; this does not). ``None`` at
    the first step (no previous step to grow from)."""
    if previous is None or models <= previous["models"]:
        return None
    return round((total_pss_mib - previous["total_pss_mib"]) / (models - previous["models"]), 2)


def step_row(
    models: int, probes: list[Probe], pss_mib: list[float], load_s: list[float], previous: dict | None
) -> dict:
    """One step's row from its probes, the PSS of each distinct serving process group and the
    load seconds of the models this step added."""
    p50s = np.array([p.p50_ms for p in probes] or [float("nan")])
    total = round(sum(pss_mib), 1)
    return {
        "models": models,
        "probed": len(probes),
        "failures": sum(p.failures for p in probes),
        "processes": len(pss_mib),
        "total_pss_mib": total,
        "per_model_pss_mib": round(total / models, 2),
        "marginal_pss_mib_per_model": marginal_pss_mib(previous, models, total),
        "load_ms_per_model": round(1000 * float(np.mean(load_s)), 1) if load_s else None,
        "p50_ms_min": round(float(np.nanmin(p50s)), 3),
        "p50_ms_median": round(float(np.nanmedian(p50s)), 3),
        "p50_ms_max": round(float(np.nanmax(p50s)), 3),
    }


@dataclass(frozen=True)
class Pace:
    """Seconds per model of the last step: loading one new model, probing one model; ``growing``
    when loading got dearer per model than the step before (a cost that rises with the count)."""

    load_s: float
    probe_s: float
    growing: bool = False


GROWING = 1.25
"""Load seconds per model this many times the previous step's count as growing."""


def next_pace(load_s: float, probe_s: float, previous: Pace | None) -> Pace:
    """The pace a step measured, marked growing when its load time per model rose past ``GROWING``
    times the previous step's."""
    return Pace(load_s, probe_s, previous is not None and load_s > GROWING * previous.load_s)


def step_fits(elapsed_s: float, budget_s: float, pace: Pace | None, models_now: int, models_next: int) -> bool:
    """Whether growing to ``models_next`` (loading the new ones, then probing all) is expected to
    end within the budget at the last step's pace (the first step always runs). A growing load
    cost is taken to grow with the count (as a repository rescanning every model's file does)."""
    if pace is None:
        return True
    load_s = pace.load_s * (models_next / max(1, models_now) if pace.growing else 1.0)
    return elapsed_s + load_s * (models_next - models_now) + pace.probe_s * models_next <= budget_s


OVERRUN = 1.5
"""A step whose loads run past this multiple of the budget (a pace that grew) is abandoned."""


def grow(fleet: Fleet, body: bytes, steps: tuple[int, ...], budget_s: float) -> dict:
    """Grow ``fleet`` through ``steps``, probing every model and measuring memory at each."""
    rows: list[dict] = []
    stopped = None
    loaded = 0
    started = time.monotonic()
    pace: Pace | None = None
    for count in steps:
        elapsed = time.monotonic() - started
        if not step_fits(elapsed, budget_s, pace, loaded, count):
            stopped = (
                f"stopped before {count} models: the {budget_s:.0f} s time budget "
                f"({elapsed:.0f} s spent, the step estimated to need more)"
            )
            break
        load_began = time.monotonic()
        load_s: list[float] = []
        while loaded < count:
            free = psutil.virtual_memory().available / 2**20
            if free < MIN_FREE_MIB:
                stopped = f"stopped before {count} models: {free:.0f} MiB of memory left (< {MIN_FREE_MIB})"
                break
            if time.monotonic() - started > OVERRUN * budget_s:
                stopped = (
                    f"stopped during the step to {count} models ({loaded} loaded): the {budget_s:.0f} s time budget"
                )
                break
            batch = list(range(loaded, min(count, loaded + PARALLEL_DEPLOYS)))
            load_s += fleet.load(batch)
            loaded += len(batch)
        if stopped:
            break
        probe_began = time.monotonic()
        probes = probe_all(fleet.urls(), body)
        pss = [group_pss_mib(pid) for pid in fleet.pids()]
        rows.append(step_row(loaded, probes, pss, load_s, rows[-1] if rows else None))
        done = time.monotonic()
        pace = next_pace(
            (probe_began - load_began) / max(1, len(load_s)), (done - probe_began) / max(1, len(probes)), pace
        )
        print(
            f"  {loaded} models: {rows[-1]['total_pss_mib']:.0f} MiB over {rows[-1]['processes']} processes, "
            f"{rows[-1]['failures']} failed probes, load {rows[-1]['load_ms_per_model']} ms/model, "
            f"{done - load_began:.1f} s",
            flush=True,
        )
    return {"steps": rows, "stopped": stopped, "budget_s": budget_s, "seconds": round(time.monotonic() - started, 1)}


def probe_all(urls: list[str], body: bytes, requests_per_model: int = PROBE_REQUESTS) -> list[Probe]:
    """Each URL in turn, c=1: one untimed request, then ``requests_per_model`` timed ones, over
    one event loop and one keep-alive pool (a new loop per model would cost more than the probe)."""
    headers = {"Content-Type": "application/json"}

    async def main() -> list[Probe]:
        pool = UpstreamPool(max_idle_per_port=2)
        out = []
        try:
            for url in urls:
                port, path = _port_and_path(url)
                latencies, failures = [], 0
                for index in range(requests_per_model + 1):
                    began = time.perf_counter()
                    try:
                        ok = (await pool.request(port, "POST", path, body, headers, timeout=60)).status == 200
                    except (TimeoutError, UpstreamError, OSError):
                        ok = False
                    if not ok:
                        failures += 1
                    elif index:
                        latencies.append(1000 * (time.perf_counter() - began))
                p50 = float(np.median(latencies)) if latencies else float("nan")
                out.append(Probe(len(latencies), failures, round(p50, 3)))
        finally:
            pool.close()
        return out

    return asyncio.run(main())


def _port_and_path(url: str) -> tuple[int, str]:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.hostname != "127.0.0.1" or parts.port is None:
        raise ValueError(f"probes target loopback ports only, not {url}")
    return parts.port, parts.path


# ---- through our gateway --------------------------------------------------------------------


def _gateway_fleet(gateway: Gateway, prefix: str, spec_of: Callable[[int], Path]) -> Fleet:
    client = gateway.client()

    def deploy(index: int) -> float:
        began = time.perf_counter()
        client.deploy(spec_of(index), policy="keep")
        return time.perf_counter() - began

    def load(batch: list[int]) -> list[float]:
        with concurrent.futures.ThreadPoolExecutor(len(batch)) as pool:
            return list(pool.map(deploy, batch))

    def mine() -> list[dict]:
        return [d for d in client.list() if d["model"].startswith(prefix)]

    return Fleet(load, lambda: [d["url"] for d in mine()], lambda: {d["pid"] for d in mine() if d.get("pid")})


def _delete_all(gateway: Gateway, prefix: str) -> None:
    client = gateway.client()
    rows = [d for d in client.list() if d["model"].startswith(prefix)]
    with concurrent.futures.ThreadPoolExecutor(PARALLEL_DELETES) as pool:
        list(pool.map(lambda d: client.delete(d["namespace"], d["name"]), rows))


def measure(gateway: Gateway, specs: Path, rest: bytes, steps: tuple[int, ...] = STEPS, budget_s: float = 240) -> dict:
    """The reference: one Seldon-protocol process (one gunicorn worker) per model."""

    def spec_of(index: int) -> Path:
        return write_spec(specs / f"density-{index}", f"{PREFIX}{index}", "mnist-cnn.onnx", "isolated", workers=1)

    try:
        out = grow(_gateway_fleet(gateway, PREFIX, spec_of), rest, steps, budget_s)
    finally:
        _delete_all(gateway, PREFIX)
    return {"workers_per_model": 1, **out}


def measure_shared(
    gateway: Gateway, specs: Path, body: bytes, steps: tuple[int, ...] = SHARED_STEPS, budget_s: float = 120
) -> dict:
    """OIP models through our gateway: N model folders (the ONNX file hard-linked, distinct
    names), deployed through the control API; memory over the distinct processes serving them.

    A folder each, as users have them: a deploy hashes its model folder (the revision), so N
    specs in one folder made each deploy read N files, and the load time per model grew with
    the count for that reason alone (21-42 ms per deploy at 1,000 spec files)."""
    source = MODELS / "mnist-cnn.onnx"

    def spec_of(index: int) -> Path:
        folder = specs / "shared" / f"m{index}"
        folder.mkdir(parents=True, exist_ok=True)
        if not (folder / source.name).exists():
            try:
                os.link(source, folder / source.name)
            except OSError:  # another file system: write_spec copies it
                pass
        return write_spec(folder, f"{SHARED_PREFIX}{index}", source.name, "isolated", protocol="v2")

    try:
        out = grow(_gateway_fleet(gateway, SHARED_PREFIX, spec_of), body, steps, budget_s)
    finally:
        _delete_all(gateway, SHARED_PREFIX)
    return {"protocol": "v2", **out}


# ---- MLServer's own multi-model serving -----------------------------------------------------

REPOSITORIES = {
    "default": None,
    "direct": "model_wrappers.shared_repository.DirectModelRepository",
}
"""MLServer's default model repository, and ours (what the gateway's shared servers use), which
finds ``<root>/<name>/model-settings.json`` directly instead of rescanning every model's file on
each load."""


@contextlib.contextmanager
def mlserver_multi_model(
    mlserver: Path, work: Path, log: Path, repository: str | None, peers: Path
) -> Iterator[tuple[subprocess.Popen, Path, int]]:
    """One MLServer process with an empty model repository; yields (process, root, HTTP port)."""
    import shutil

    root = work / f"mlserver-density-{'default' if repository is None else 'direct'}"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    http_port, grpc_port, metrics_port = free_ports(3)
    settings: dict[str, Any] = {
        **server_settings(host="127.0.0.1", http_port=http_port, grpc_port=grpc_port, metrics_port=metrics_port),
        "debug": False,
        "load_models_at_startup": False,
    }
    if repository is not None:
        settings["model_repository_implementation"] = repository
    (root / "settings.json").write_text(json.dumps(settings))

    process = subprocess.Popen(
        [str(mlserver), "start", str(root)],
        env={**os.environ, "PYTHONPATH": os.pathsep.join((str(peers), str(ROOT)))},
        stdout=open(log, "wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_http(f"http://127.0.0.1:{http_port}/v2/health/live", 120, process)
        yield process, root, http_port
    finally:
        stop(process, group=True)
        shutil.rmtree(root, ignore_errors=True)


def measure_mlserver(
    mlserver: Path,
    work: Path,
    log: Path,
    body: bytes,
    peers: Path,
    steps: tuple[int, ...] = SHARED_STEPS,
    budget_s: float = 60,
    repository: str | None = None,
) -> dict:
    """N copies of the CNN (the peer's runtime, each its own name and model-settings.json, one
    ONNX file) in ONE MLServer process, each loaded through POST /v2/repository/models/<name>/load
    one after the other."""
    onnx = work / "mlserver-density.onnx"
    if not onnx.exists():
        import shutil

        shutil.copy(MODELS / "mnist-cnn.onnx", onnx)
    with mlserver_multi_model(mlserver, work, log, repository, peers) as (process, root, port):
        session = requests.Session()

        def load(batch: list[int]) -> list[float]:
            seconds = []
            for index in batch:
                name = f"m{index}"
                (root / name).mkdir()
                (root / name / "model-settings.json").write_text(
                    json.dumps(
                        {"name": name, "implementation": "mlserver_runtime.OnnxMnist", "parameters": {"uri": str(onnx)}}
                    )
                )
                began = time.perf_counter()
                reply = session.post(f"http://127.0.0.1:{port}/v2/repository/models/{name}/load", timeout=120)
                seconds.append(time.perf_counter() - began)
                reply.raise_for_status()
            return seconds

        def urls() -> list[str]:
            names = sorted((p.name for p in root.iterdir() if p.is_dir()), key=lambda n: int(n[1:]))
            return [f"http://127.0.0.1:{port}/v2/models/{name}/infer" for name in names]

        out = grow(Fleet(load, urls, lambda: {process.pid}), body, steps, budget_s)
    return {"repository": repository or "mlserver's default (SchemalessModelRepository)", **out}
