"""Density: how many TF-free models one machine holds, with every model probed at each step.

Each model runs one gunicorn worker (an idle model needs no second one), deployed through the
real CLI. At each step every model is probed (c=1, a short block), so a slow or failing model
anywhere shows in the spread of per-model p50s, not only model 1's. The run stops early when
less than ``MIN_FREE_MIB`` of memory is left, and says so.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import psutil

from seldon_pkg.bench.bench_models import write_spec
from seldon_pkg.bench.loadgen import rest_load
from seldon_pkg.bench.stack import Gateway, group_pss_mib

STEPS = (1, 2, 4, 8, 16, 32, 50)
QUICK_STEPS = (1, 4, 16)
MIN_FREE_MIB = 2048
PROBE = (60, 1.0)
"""Requests and seconds per model per step."""
PREFIX = "bench-density-"


def measure(gateway: Gateway, specs: Path, rest: bytes, steps: tuple[int, ...] = STEPS) -> dict:

    rows: list[dict] = []
    stopped = None
    deployed = 0
    try:
        for count in steps:
            while deployed < count:
                free = psutil.virtual_memory().available / 2**20
                if free < MIN_FREE_MIB:
                    stopped = f"stopped before {count} models: {free:.0f} MiB of memory left (< {MIN_FREE_MIB})"
                    break
                spec = write_spec(
                    specs / f"density-{deployed}", f"{PREFIX}{deployed}", "mnist-cnn.onnx", "isolated", workers=1
                )
                gateway.cli("deploy", str(spec), "--keep")
                deployed += 1
            if stopped:
                break
            models = [d for d in gateway.deployments() if d["model"].startswith(PREFIX)]
            probes = [
                rest_load(d["model"], d["url"], rest, concurrency=1, requests=PROBE[0], seconds=PROBE[1], warmup=5)
                for d in models
            ]
            pss = [group_pss_mib(d["pid"]) for d in models]
            p50s = np.array([p.p50_ms for p in probes])
            rows.append(
                {
                    "models": len(models),
                    "total_pss_mib": round(sum(pss), 1),
                    "per_model_pss_mib": round(sum(pss) / len(pss), 1),
                    "p50_ms_min": round(float(p50s.min()), 3),
                    "p50_ms_median": round(float(np.median(p50s)), 3),
                    "p50_ms_max": round(float(p50s.max()), 3),
                    "probed": len(probes),
                    "failures": sum(p.failures for p in probes),
                }
            )
    finally:
        for row in gateway.deployments():
            if row["model"].startswith(PREFIX):
                gateway.cli("delete", row["name"])
    return {"workers_per_model": 1, "steps": rows, "stopped": stopped}
