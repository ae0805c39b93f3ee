"""The soak's tables for REPORT.md and docs/benchmarks.md, from ``results["soak"]`` alone."""

from __future__ import annotations

RUN_LABELS = {
    "current": "with the fixes (REST workers recycled after 200-250k requests, 2 malloc arenas; in this run the OIP "
    "model had 2 arenas too: OIP models now keep glibc's default, as in the baseline run)",
    "baseline": "before the fixes (8 threads, no recycling, glibc's default arenas)",
}


def _interval(figure: dict) -> str:
    low, high = figure["ci95"]
    return "n/a" if low is None else f"[{low:+.3f}, {high:+.3f}]"


def _median(figure: dict) -> str:
    return "n/a" if figure["median"] is None else f"{figure['median']:+.3f}"


def soak_lines(results: dict, per_process: bool) -> list[str]:
    """Slope per 100,000 requests (MiB, 95% interval) per role total and, in the report, per process."""
    soak = results.get("soak")
    if not soak:
        return []
    lines = ["## Soak (sustained load, memory per 100,000 requests)", ""]
    for key, run in soak.items():
        failed = sum(run["failed"].values())
        lines += [
            f"**{RUN_LABELS.get(key, key)}** ({run['date']}): {run['minutes']:g} min, c={run['concurrency']} per leg, "
            f"warm-up {run['warmup_s']:.0f} s excluded; requests served: "
            + ", ".join(f"{name} {count:,}" for name, count in run["served"].items())
            + f"; failed: {failed}. Target: slope <= {run['target_mib_per_100k']} MiB per 100,000 requests "
            "(interval's upper end).",
            "",
            "| process | USS MiB after warm-up -> end | slope MiB/100k | 95% interval | fds first -> last (max) | met |",
            "| --- | --- | ---: | --- | --- | --- |",
        ]
        rows = dict(run["groups"])
        if per_process:
            rows.update(run["processes"])
        for name, figure in rows.items():
            lines.append(
                f"| {name} | {figure['uss_mib_first']} -> {figure['uss_mib_last']} | {_median(figure)} | "
                f"{_interval(figure)} | {figure['fds_first']} -> {figure['fds_last']} ({figure['fds_max']}) | "
                f"{'yes' if figure['met'] else '**no**'} |"
            )
        lines.append("")
    return lines
