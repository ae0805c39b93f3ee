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


def interleave_many(runs: dict[str, Callable[[], Stats]], rounds: int) -> list[dict[str, Stats]]:
    """``rounds`` rounds of every block in ``runs``, the order rotated by one each round, so each
    path runs in each position equally often. Several paths in the same rounds make every pair
    of them a paired comparison (``pairs_of``) for the cost of one block per path per round,
    where separate two-way comparisons would re-measure the shared side once per pair."""
    names = list(runs)
    out = []
    for index in range(rounds):
        shift = index % len(names)
        stats = {name: runs[name]() for name in names[shift:] + names[:shift]}
        out.append({name: stats[name] for name in names})
    return out


def pairs_of(rounds: list[dict[str, Stats]], a: str, b: str) -> list[Pair]:
    """Paths ``a`` and ``b`` of ``interleave_many``'s rounds as pairs (for ``difference``, ``ratio``)."""
    return [Pair(r[a], r[b]) for r in rounds]


HOP_RATIO_CAP = 99.0
"""A round where the reference hop added nothing measurable (<= 0 ms) has no finite ratio: it
counts as this cap, the bad end for a lower-is-better target, so noise cannot flatter the verdict."""


def hop_ratio(rounds: list[dict[str, Stats]], hop: str, reference: str, direct: str, metric: str = "p50_ms") -> dict:
    """Per round, what ``hop`` adds over ``direct`` divided by what ``reference`` adds over it
    (e.g. the gateway's hop over a plain nginx hop in front of the same model process)."""
    return summary([hop_over_reference(r[hop], r[reference], r[direct], metric) for r in rounds])


def hop_over_reference(hop: Stats, reference: Stats, direct: Stats, metric: str = "p50_ms") -> float:
    """(hop - direct) / (reference - direct) for one round; ``HOP_RATIO_CAP`` when the reference
    added nothing (a negative cost is noise, and no ratio over it means anything)."""
    base = getattr(direct, metric)
    added = getattr(reference, metric) - base
    if added <= 0:
        return HOP_RATIO_CAP
    return min((getattr(hop, metric) - base) / added, HOP_RATIO_CAP)


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
