"""schemathesis against a real gateway: the OIP REST routes (MLServer's own OpenAPI document)
and the Seldon REST routes (seldon-openapi.yaml beside this file).

    python -m tests.fuzz.rest [--seconds N]

Starts ``seldon-pkg serve`` with the echo test model (Seldon protocol, ``runtime: current``) and
the demo CNN over OIP (MLServer in its isolated environment, built once and kept in
test-artifacts/fuzz/rest-envs/), then runs schemathesis (from .venv-clients: it needs a
jsonschema newer than the one seldon-core pins) for ``N`` seconds (``FUZZ_SECONDS``, 60) per
document. Properties:

* no 5xx but a model's own error (rest_checks.py), every answer within 30 s;
* the gateway is alive at the end, every model still Available in the process it started in;
* the gateway's log has no traceback (an exception in a handler).

Cases run and failures are printed and merged into test-artifacts/fuzz/summary.json; exit 1
on any failure.
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
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "test-artifacts" / "fuzz"
HERE = Path(__file__).resolve().parent
CLIENTS = ROOT / ".venv-clients" / "bin"
ECHO = ROOT / "tests" / "fixtures" / "echo_model"
OIP_CNN = ROOT / "demo_mnist" / "mnist-cnn-oip.yaml"


def mlserver_openapi(env_python: Path, model: str, target: Path) -> Path:
    """MLServer's dataplane document, as the mlserver package of the OIP model's environment
    ships it, with ``model_name`` fixed to the deployment (the gateway's OIP root takes the
    deployment name as the model name; other names are a 404 that tells nothing)."""
    source = subprocess.run(
        [str(env_python), "-c", "import mlserver, pathlib; print(pathlib.Path(mlserver.__file__).parent)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    document = json.loads((Path(source) / "rest" / "openapi" / "dataplane.json").read_text())
    for item in document["paths"].values():
        holders = [item, *(op for op in item.values() if isinstance(op, dict))]
        for parameter in (p for holder in holders for p in holder.get("parameters", [])):
            if parameter.get("name") == "model_name":
                parameter["schema"] = {"type": "string", "enum": [model]}
    target.write_text(json.dumps(_no_bytes_type(document), indent=1))
    return target


def _no_bytes_type(node: Any) -> Any:
    """MLServer 1.7's document types raw tensor data ``"type": "bytes"``, which is not an
    OpenAPI type (schemathesis refuses the operations that use it): over JSON those are strings."""
    if isinstance(node, dict):
        if node.get("type") == "bytes":
            return {**node, "type": "string"}
        return {key: _no_bytes_type(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_no_bytes_type(value) for value in node]
    return node


def schemathesis(document: Path, url: str, seconds: int, name: str) -> dict:
    report = OUT / f"rest-{name}.ndjson"
    command = [
        str(CLIENTS / "schemathesis"),
        "run",
        str(document),
        "--url",
        url,
        "--checks",
        "no_gateway_5xx",
        "--max-time",
        str(seconds),
        "--max-examples",
        "100000",
        "--request-timeout",
        "30",
        "--workers",
        "1",
        # MLServer 1.7 answers a stream request to a model that does not stream by cutting its
        # chunked answer short: the model's failure, which the gateway reports as a 502
        "--exclude-path-regex",
        "_stream$",
        "--phases",
        "examples,coverage,fuzzing",  # stateful testing needs links between operations: neither document has any
        "--report",
        "ndjson",
        "--report-ndjson-path",
        str(report),
        "--no-color",
    ]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "rest_checks", "PYTHONPATH": str(HERE)}
    log = OUT / f"rest-{name}.log"
    started = time.monotonic()
    with open(log, "wb") as sink:
        try:
            code = subprocess.run(
                command, stdout=sink, stderr=subprocess.STDOUT, env=env, cwd=OUT, timeout=seconds * 3 + 300
            ).returncode
        except subprocess.TimeoutExpired:
            code = -1
    return {
        "target": f"rest-{name}",
        "seconds": round(time.monotonic() - started, 1),
        "cases": _cases(report),
        "exit_code": code,
        "failures": [] if code == 0 else [str(log.relative_to(ROOT))],
        "log": str(log.relative_to(ROOT)),
    }


def _cases(report: Path) -> int:
    """Requests schemathesis sent, from its event stream (one ``ScenarioFinished`` per
    test case, each with the case's recorded calls)."""
    if not report.exists():
        return 0
    count = 0
    for line in report.read_text().splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        finished = event.get("ScenarioFinished") if isinstance(event, dict) else None
        if isinstance(finished, dict):
            count += len((finished.get("recorder") or {}).get("interactions") or {})
    return count


def _tracebacks(text: str) -> list[str]:
    """The gateway log's tracebacks, less aiohttp's own for a request its HTTP parser refused
    (``BadHttpMessage`` & co., answered 400 before any handler of ours ran)."""
    blocks = re.split(r"\n(?=\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)", text)
    return [b for b in blocks if "Traceback" in b and "aiohttp.http_exceptions." not in b]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=int(os.environ.get("FUZZ_SECONDS", "60")))
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("SELDON_PKG_ENVS_DIR", str(OUT / "rest-envs"))
    from seldon_pkg.local.environments import ensure_environment
    from seldon_pkg.spec.model_spec import load_spec
    from tests.support.gateway import GatewayProcess

    state = OUT / "rest-state"
    subprocess.run(["rm", "-rf", str(state)], check=True)
    log = OUT / "rest-gateway.log"
    log.unlink(missing_ok=True)
    gateway = GatewayProcess(state, log).start()
    results: list[dict] = []
    problems: list[str] = []
    try:
        for spec in (ECHO, OIP_CNN):
            deployed = gateway.cli("deploy", str(spec))
            if deployed.returncode != 0:
                raise RuntimeError(f"deploy {spec} failed:\n{deployed.stdout}{deployed.stderr}")
        rows = {row["model"]: row for row in gateway.deployments()}
        echo = next(row for model, row in rows.items() if "echo" in model.lower())
        oip = rows["mnist-cnn-oip"]
        pids = {row["name"]: row.get("pid") for row in rows.values()}
        env_python = ensure_environment(load_spec(OIP_CNN), Path(os.environ["SELDON_PKG_ENVS_DIR"])).python
        oip_document = mlserver_openapi(env_python, oip["name"], OUT / "mlserver-dataplane.json")
        results.append(schemathesis(oip_document, gateway.url, args.seconds, "oip"))
        seldon_base = f"{gateway.url}/seldon/{echo['namespace']}/{echo['name']}"
        results.append(schemathesis(HERE / "seldon-openapi.yaml", seldon_base, args.seconds, "seldon"))
        alive = requests.get(f"{gateway.url}/health", timeout=10)
        if alive.status_code != 200:
            problems.append(f"gateway /health answered {alive.status_code}")
        for row in gateway.deployments():
            if row["state"] != "Available" or row.get("pid") != pids.get(row["name"]):
                problems.append(f"{row['model']}: {row['state']}, pid {pids.get(row['name'])} -> {row.get('pid')}")
    finally:
        if gateway.stop() not in (0, None):
            problems.append("the gateway did not stop cleanly")
    for block in _tracebacks(log.read_text(errors="replace")):
        problems.append(f"a traceback in {log.relative_to(ROOT)}: {block.splitlines()[-1][:200]}")
    for result in results:
        verdict = "ok" if result["exit_code"] == 0 else "FAILED"
        print(
            f"{result['target']:12} {result['cases']:>9} cases in {result['seconds']:>6} s  {verdict} {result['failures'] or ''}"
        )
    for problem in problems:
        print(f"FAILED: {problem}")
    summary = OUT / "summary.json"
    merged = json.loads(summary.read_text()) if summary.exists() else {}
    merged.update({r["target"]: r for r in results})
    merged["rest-gateway"] = {"problems": problems}
    summary.write_text(json.dumps(merged, indent=2) + "\n")
    return 0 if not problems and all(r["exit_code"] == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
