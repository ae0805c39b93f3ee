"""Where a model process's Python memory grew: compare tracemalloc snapshots per process.

Reads the ``<pid>-<unix time>.snap`` files written under ``SELDON_PKG_TRACEMALLOC``
(see ``seldon_pkg/local/memory_trace.py``) and, for every process, prints the traced total of
each snapshot and the allocation sites that grew most between the second snapshot (after
warm-up) and the last one.

Usage: python -m seldon_pkg.bench.memory_diff DIR [--top N] [--frames N]
"""

from __future__ import annotations

import argparse
import tracemalloc
from collections import defaultdict
from pathlib import Path


def snapshots_by_process(folder: Path) -> dict[int, list[Path]]:
    found: dict[int, list[Path]] = defaultdict(list)
    for path in folder.glob("*-*.snap"):
        pid, _, stamp = path.stem.partition("-")
        if pid.isdigit() and stamp.isdigit():
            found[int(pid)].append(path)
    return {pid: sorted(paths, key=lambda p: int(p.stem.partition("-")[2])) for pid, paths in found.items()}


def traced_mib(snapshot: tracemalloc.Snapshot) -> float:
    return sum(stat.size for stat in snapshot.statistics("filename")) / 2**20


def report(folder: Path, top: int, frames: int) -> str:
    lines = []
    for pid, paths in sorted(snapshots_by_process(folder).items()):
        snapshots = [tracemalloc.Snapshot.load(str(path)) for path in paths]
        totals = ", ".join(f"{traced_mib(s):.2f}" for s in snapshots)
        lines.append(f"process {pid}: traced MiB per snapshot: {totals}")
        if len(snapshots) < 3:
            continue
        growth = snapshots[-1].compare_to(snapshots[1], "traceback")
        for stat in growth[:top]:
            if stat.size_diff <= 0:
                break
            lines.append(f"  +{stat.size_diff / 1024:.1f} KiB in {stat.count_diff:+d} blocks")
            lines.extend(f"      {line}" for line in stat.traceback.format(limit=frames, most_recent_first=True))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--top", type=int, default=8)
    parser.add_argument("--frames", type=int, default=6)
    args = parser.parse_args(argv)
    print(report(args.folder, args.top, args.frames))


if __name__ == "__main__":
    main()
