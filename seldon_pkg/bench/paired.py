"""Paired, repeated comparisons: the only kind of "A adds X over B" figure the report states.

On a shared 2-core machine one run of a path can swing by more than the difference being
measured (a single round once fell from ~1,200 to 622 req/s). So A and B are measured in short
blocks, interleaved (A B, then B A, alternating the order each round so neither always runs
second), for several rounds; the figure is the median of the per-round differences (or
ratios) with a 95% bootstrap interval over rounds. A target is met only when the interval's
bad end meets it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from seldon_pkg.bench.loadgen import Stats

BOOTSTRAP_SAMPLES = 4000
SEED = 20261125


@dataclass(frozen=True)
class Pair:
    a: Stats
    b: Stats


def interleave(run_a: Callable[[], Stats], run_b: Callable[[], Stats], rounds: int) -> list[Pair]:
    """``rounds`` pairs, A first in even rounds and B first in odd ones."""
    pairs = []
    for index in range(rounds):
        if index % 2 == 0:
            a = run_a()
            b = run_b()
        else:
            b = run_b()
            a = run_a()
        pairs.append(Pair(a, b))
    return pairs


def summary(values: list[float], digits: int = 3) -> dict:
    """``{"median", "ci95": [lo, hi], "rounds", "values"}``: bootstrap of the median over rounds."""
    data = np.asarray(values, dtype=float)
    rng = np.random.default_rng(SEED)
    medians = np.median(rng.choice(data, size=(BOOTSTRAP_SAMPLES, len(data)), replace=True), axis=1)
    low, high = np.percentile(medians, [2.5, 97.5])
    return {
        "median": round(float(np.median(data)), digits),
        "ci95": [round(float(low), digits), round(float(high), digits)],
        "rounds": len(values),
        "values": [round(float(v), digits) for v in values],
    }


def difference(pairs: list[Pair], metric: str = "p50_ms") -> dict:
    """A minus B per round (e.g. the p50 the gateway adds)."""
    return summary([getattr(p.a, metric) - getattr(p.b, metric) for p in pairs])


def ratio(pairs: list[Pair], metric: str = "rps") -> dict:
    """A over B per round (e.g. the throughput the gateway keeps)."""
    return summary([getattr(p.a, metric) / getattr(p.b, metric) for p in pairs])


def failures(pairs: list[Pair]) -> int:
    return sum(p.a.failures + p.b.failures for p in pairs)


def met(figure: dict, target: float, higher_is_better: bool) -> bool:
    """Met only when the interval's bad end meets the target."""
    low, high = figure["ci95"]
    return low >= target if higher_is_better else high <= target
