"""The deploy step's overhead beside a plain ``seldon-pkg deploy``, in paired, repeated runs.

``python -m demo_mnist.pipeline.overhead --state-dir DIR --out FILE [--runs 5]`` (in ``.venv-kfp``, with a
gateway already serving ``DIR``): each run deploys the demo CNN once through ``deploy_model``
under KFP's local runner and once with the CLI, in alternating order, and takes the seconds
from the step's (or the command's) start to the first prediction the model answers; each
deployment is deleted before the next. A warm-up deploy first builds the model's environment,
so both sides measure a deploy whose environment exists. Writes one JSON document to ``--out``
(KFP's local runner prints each task's log on stdout).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import requests

from demo_mnist.data import load_split

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "demo_mnist" / "mnist-cnn.yaml"


def first_answer(url: str, body: dict, started: float, timeout: float = 120.0) -> float:
    """Seconds from ``started`` until ``url`` answers a prediction with 200."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.post(url, json=body, timeout=10).status_code == 200:
                return time.perf_counter() - started
        except requests.ConnectionError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"{url} never answered")


def by_step(state_dir: str, body: dict) -> tuple[float, str]:
    from seldon_pkg.kfp import deploy_model

    started = time.perf_counter()
    task = deploy_model(model_path=str(SPEC), state_dir=state_dir, policy="keep")
    url = task.outputs["url"]
    return first_answer(url, body, started), task.outputs["name"]


def by_cli(cli: str, state_dir: str, body: dict) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(
        [cli, "deploy", str(SPEC), "--keep", "--state-dir", state_dir], capture_output=True, text=True, check=True
    )
    url = next(line.split()[1] for line in done.stdout.splitlines() if line.startswith("REST"))
    name = done.stdout.split()[1]
    return first_answer(url, body, started), name


def summary(values: list[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(values), 2),
        "min": round(min(values), 2),
        "max": round(max(values), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--state-dir", required=True, help="state folder of a running `seldon-pkg serve`")
    parser.add_argument("--cli", default=str(ROOT / ".venv" / "bin" / "seldon-pkg"), help="the seldon-pkg command")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path, required=True, help="where the JSON result goes")
    args = parser.parse_args()

    from kfp import local

    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=tempfile.mkdtemp(prefix="kfp-overhead-"))
    digit = load_split().test_images[0]
    body = {"data": {"ndarray": digit.tolist()}}

    def delete(name: str) -> None:
        subprocess.run([args.cli, "delete", name, "--state-dir", args.state_dir], capture_output=True, check=True)

    _, name = by_cli(args.cli, args.state_dir, body)  # warm-up: builds the model's environment
    delete(name)
    step: list[float] = []
    cli: list[float] = []
    for run in range(args.runs):
        order = ("step", "cli") if run % 2 == 0 else ("cli", "step")
        for side in order:
            if side == "step":
                seconds, name = by_step(args.state_dir, body)
                step.append(seconds)
            else:
                seconds, name = by_cli(args.cli, args.state_dir, body)
                cli.append(seconds)
            delete(name)
    differences = [s - c for s, c in zip(step, cli, strict=True)]
    result = {
        "runs": args.runs,
        "what": "seconds from the start of the deploy (KFP task launched / CLI started) to the first 200 prediction",
        "deploy_model_step": {**summary(step), "values": [round(v, 2) for v in step]},
        "seldon_pkg_deploy": {**summary(cli), "values": [round(v, 2) for v in cli]},
        "step_minus_cli": {**summary(differences), "values": [round(v, 2) for v in differences]},
    }
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({key: result[key] for key in ("deploy_model_step", "seldon_pkg_deploy", "step_minus_cli")}))


if __name__ == "__main__":
    main()
