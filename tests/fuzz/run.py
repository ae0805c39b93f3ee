"""Coverage-guided fuzzing (atheris, i.e. libFuzzer) of one target, or all of them in turn.

    python -m tests.fuzz.run [TARGET ...] [--seconds N]

Each target runs in a process of its own for ``N`` seconds (``FUZZ_SECONDS``, default 60),
seeded with its fixed corpus (tests/fuzz/corpus/<target>/, never written to); the inputs it
finds go to test-artifacts/fuzz/corpus/<target>/ and a failing input to
test-artifacts/fuzz/<target>-crash-*. libFuzzer's own limits make the properties "no hang" and
"bounded memory": one input running longer than ``-timeout`` or the process passing
``-rss_limit_mb`` is a failure like an escaping exception. A summary (cases run, failures per
target) is printed and written to test-artifacts/fuzz/summary.json; the exit status is 1 when
any target failed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "test-artifacts" / "fuzz"
RSS_LIMIT_MB = 1536
INPUT_TIMEOUT_S = 10
MAX_LEN = 16384


def _fuzz_one(target: str) -> None:
    """In the child: instrument our code, then hand the property check to libFuzzer."""
    import atheris

    with atheris.instrument_imports(include=["seldon_pkg", "model_wrappers", "tests.fuzz"]):
        from tests.fuzz import targets

    check = targets.TARGETS[target]
    for seed in targets.corpus(target):  # imports done (TensorFlow, via seldon_core) before the clock runs
        check(seed.read_bytes())
    atheris.Setup(sys.argv, check)
    atheris.Fuzz()


def _run(target: str, seconds: int) -> dict:
    from tests.fuzz.targets import CORPUS

    found = OUT / "corpus" / target
    found.mkdir(parents=True, exist_ok=True)
    seeds = CORPUS / target
    command = [
        sys.executable,
        "-m",
        "tests.fuzz.run",
        "--child",
        target,
        str(found),
        str(seeds),
        f"-max_total_time={seconds}",
        f"-rss_limit_mb={RSS_LIMIT_MB}",
        f"-timeout={INPUT_TIMEOUT_S}",
        f"-max_len={MAX_LEN}",
        f"-artifact_prefix={OUT}/{target}-",
        "-print_final_stats=1",
    ]
    log = OUT / f"{target}.log"
    started = time.monotonic()
    with open(log, "wb") as sink:
        # a hard stop beyond libFuzzer's own: a hung child never holds `make fuzz` up
        try:
            code = subprocess.run(
                command, stdout=sink, stderr=subprocess.STDOUT, cwd=ROOT, timeout=seconds + 120
            ).returncode
        except subprocess.TimeoutExpired:
            code = -1
    text = log.read_text(errors="replace")
    runs = re.findall(r"stat::number_of_executed_units:\s*(\d+)", text) or re.findall(r"Done (\d+) runs", text)
    crashes = sorted(str(p.relative_to(ROOT)) for p in OUT.glob(f"{target}-*") if p.is_file())
    return {
        "target": target,
        "seconds": round(time.monotonic() - started, 1),
        "cases": int(runs[-1]) if runs else 0,
        "exit_code": code,
        "failures": crashes,
        "log": str(log.relative_to(ROOT)),
    }


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        target = sys.argv[2]
        sys.argv = [sys.argv[0], *sys.argv[3:]]
        _fuzz_one(target)
        return 0
    from tests.fuzz.targets import TARGETS

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("targets", nargs="*", help=f"any of {', '.join(TARGETS)} (default: all)")
    parser.add_argument("--seconds", type=int, default=int(os.environ.get("FUZZ_SECONDS", "60")))
    args = parser.parse_args()
    unknown = set(args.targets) - set(TARGETS)
    if unknown:
        parser.error(f"unknown target(s) {', '.join(sorted(unknown))}; known: {', '.join(TARGETS)}")
    OUT.mkdir(parents=True, exist_ok=True)
    for kind in ("crash", "timeout", "oom", "leak", "slow-unit"):  # libFuzzer's artifact kinds
        for stale in OUT.glob(f"*-{kind}-*"):
            stale.unlink()
    results = []
    for target in args.targets or list(TARGETS):
        result = _run(target, args.seconds)
        results.append(result)
        verdict = "ok" if result["exit_code"] == 0 and not result["failures"] else "FAILED"
        print(
            f"{target:12} {result['cases']:>9} cases in {result['seconds']:>6} s  {verdict} {result['failures'] or ''}"
        )
    summary = OUT / "summary.json"
    previous = json.loads(summary.read_text()) if summary.exists() else {}
    previous.update({r["target"]: r for r in results})
    summary.write_text(json.dumps(previous, indent=2) + "\n")
    return 0 if all(r["exit_code"] == 0 and not r["failures"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
