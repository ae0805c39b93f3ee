"""The benchmark: latency and throughput per serving path, peers, overhead, cold start, density,
isolation. Writes bench/results.json, bench/REPORT.md and bench/chart.png.

Everything runs on this machine against loopback, with one load generator (loadgen.py). Model
runtime environments and the MLServer environment are cached under <out>/work/ so a rerun
measures serving, not pip.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from seldon_pkg.bench import comparisons, density, nginx, report
from seldon_pkg.bench.bench_models import MODELS, one_digit, write_spec
from seldon_pkg.bench.loadgen import Stats, grpc_load, in_process, rest_load
from seldon_pkg.bench.stack import BIN, Gateway, group_pss_mib, stop, wait_http
from seldon_pkg.local.environments import ensure_environment
from seldon_pkg.local.ostools import free_port, free_ports
from seldon_pkg.servers.mlserver_settings import server_settings
from seldon_pkg.spec.model_spec import load_spec

PEERS = Path(__file__).with_name("peers")
"""The peers' server code (MLServer runtime, naive Keras wrapper), shipped with the package."""
PREDICT = "/seldon.protos.Seldon/Predict"
MODEL_PREDICT = "/seldon.protos.Model/Predict"


class PhaseClock:
    """Wall seconds per phase of a run, kept in results.json (``phase_seconds``): the run must fit
    in 10 minutes on 2 shared cores, and only per-phase figures show where the time goes."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextlib.contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        """Time the block as ``name`` (added to an earlier block of the same name), announcing it."""
        print(f"{name}...", flush=True)
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = round(self.seconds.get(name, 0.0) + time.perf_counter() - started, 1)


class Budget:
    """Requests and seconds per single measurement, and seconds per density kind: small enough
    for the whole run to stay under 10 minutes on 2 shared cores (phase_seconds shows the spend).

    The single measurements are absolute rows only (no comparison rests on them), so 400
    requests at c=1 and 1,500 at c=16 are enough for a p50 and a rate; the naive wrapper answers
    at about 10 requests/s, so a few seconds of it say all there is to say."""

    def __init__(self, quick: bool) -> None:
        scale = 0.3 if quick else 1.0
        self.c1 = (int(400 * scale), 4 * scale)
        self.c16 = (int(1500 * scale), 4 * scale)
        self.slow = (int(60 * scale), 3 * scale)
        # seconds each density kind may grow for (it stops at the step that would not fit): one
        # process per model costs ~1 s of start-up per model, so its 50 take ~40 s; MLServer's
        # multi-model loads take milliseconds, until its repository's rescans make them not
        self.density_s = 25 if quick else 120
        self.shared_s = 25 if quick else 60
        self.mlserver_s = 15 if quick else 45


def machine() -> dict:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory = (
        int(
            next(
                line.split()[1]
                for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal")
            )
        )
        // 1024
        // 1024
    )
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memory_gib": memory,
        "python": platform.python_version(),
        "os": platform.platform(),
    }


def cold_and_warm(spec: Path, rest: bytes, work: Path, logs: Path) -> dict:
    """Deploy-to-first-answer of ``spec`` on a gateway whose environments folder is new and
    empty (so the environment is certainly built, from pip's local wheel cache), then again
    after deleting it (environment kept: a warm start)."""
    fresh = Path(tempfile.mkdtemp(prefix="envs-absent-", dir=work))
    state = work / "cold-state"
    shutil.rmtree(state, ignore_errors=True)
    saved = os.environ.get("SELDON_PKG_ENVS_DIR")
    os.environ["SELDON_PKG_ENVS_DIR"] = str(fresh)
    try:
        gateway = Gateway.start(state, logs / "cold-gateway.log")
    finally:
        if saved is None:
            os.environ.pop("SELDON_PKG_ENVS_DIR", None)
        else:
            os.environ["SELDON_PKG_ENVS_DIR"] = saved
    try:
        row, cold = gateway.timed_deploy(spec, rest)
        gateway.cli("delete", row["name"])
        _, warm = gateway.timed_deploy(spec, rest)
    finally:
        gateway.stop()
        shutil.rmtree(fresh, ignore_errors=True)
    return {
        "env_absent_deploy_to_first_answer_s": cold,
        "warm_deploy_to_first_answer_s": warm,
        "environment_build_s": round(cold - warm, 2),
    }


def latency_matrix(label: str, row: dict, gateway: Gateway, rest: bytes, proto: bytes, budget: Budget) -> list[Stats]:
    ports, name = row["ports"], row["name"]
    direct_url = f"http://127.0.0.1:{ports['http']}/api/v1.0/predictions"
    metadata = (("seldon", name), ("namespace", row["namespace"]))
    results = []
    for concurrency, (count, seconds) in ((1, budget.c1), (16, budget.c16)):
        results.append(
            rest_load(
                f"{label} microservice REST", direct_url, rest, concurrency=concurrency, requests=count, seconds=seconds
            )
        )
        results.append(
            grpc_load(
                f"{label} microservice gRPC",
                f"127.0.0.1:{ports['grpc']}",
                MODEL_PREDICT,
                proto,
                concurrency=concurrency,
                requests=count,
                seconds=seconds,
            )
        )
        results.append(
            rest_load(
                f"{label} gateway REST", row["url"], rest, concurrency=concurrency, requests=count, seconds=seconds
            )
        )
        results.append(
            grpc_load(
                f"{label} gateway gRPC",
                f"127.0.0.1:{gateway.grpc_port}",
                PREDICT,
                proto,
                metadata=metadata,
                concurrency=concurrency,
                requests=count,
                seconds=seconds,
            )
        )
    return results


def peer_env(work: Path, name: str, requirements: list[str]) -> Path:
    """A cached virtualenv for a peer server (built once per bench folder, and again when its
    requirements change: the marker holds them, so an edited list is not served by an old env)."""
    env = work / name
    wanted = "\n".join(requirements) + "\n"
    marker = env / ".ready"
    if not marker.exists() or marker.read_text() != wanted:
        shutil.rmtree(env, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(env)], check=True)
        subprocess.run(
            [str(env / "bin" / "pip"), "install", "-q", "--disable-pip-version-check", *requirements], check=True
        )
        marker.write_text(wanted)
    return env


@contextlib.contextmanager
def mlserver_peer(log: Path, work: Path, python: Path, facts: dict) -> Iterator[str]:
    """MLServer 1.7.1 (``python``'s environment) serving the same ONNX file with a minimal
    runtime; yields its infer URL. ``facts`` gets its start-up time and process group leader."""
    folder = work / "mlserver" / "mnist"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(MODELS / "mnist-cnn.onnx", folder / "mnist-cnn.onnx")
    http_port, grpc_port, metrics_port = free_ports(3)
    settings = server_settings(host="127.0.0.1", http_port=http_port, grpc_port=grpc_port, metrics_port=metrics_port)
    (folder.parent / "settings.json").write_text(json.dumps({**settings, "debug": False}))
    (folder / "model-settings.json").write_text(
        json.dumps(
            {
                "name": "mnist",
                "implementation": "mlserver_runtime.OnnxMnist",
                "parameters": {"uri": str(folder / "mnist-cnn.onnx")},
            }
        )
    )
    command = [str(python.parent / "mlserver"), "start", str(folder.parent)]
    with _peer_process(command, log, http_port, facts) as url:
        yield url


VERSIONS_OF = ("mlserver", "fastapi", "starlette")


def package_versions(python: Path, packages: tuple[str, ...] = VERSIONS_OF) -> dict[str, str | None]:
    """What ``python``'s environment has installed of ``packages`` (``None``: absent), recorded
    beside each server so a ratio between two of them can be read as the code, not the versions."""
    script = (
        "import importlib.metadata as m, json, sys\n"
        "def v(p):\n    try:\n        return m.version(p)\n    except m.PackageNotFoundError:\n        return None\n"
        "print(json.dumps({p: v(p) for p in sys.argv[1:]}))"
    )
    result = subprocess.run([str(python), "-c", script, *packages], capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


@contextlib.contextmanager
def nginx_in_front(row: dict, logs: Path, results: dict) -> Iterator[nginx.NginxHop | None]:
    """A plain nginx hop in front of ``row``'s model process (results["nginx"] says which nginx,
    or why the row was skipped); yields ``None`` without nginx, so its figures are left out."""
    binary = nginx.find_nginx()
    if binary is None:
        reason = f"nginx not found, so the nginx hop row is skipped: {nginx.INSTALL_HINT}"
        print(f"NOTE: {reason}", flush=True)
        results["nginx"] = {"skipped": reason}
        yield None
        return
    with nginx.nginx_hop(binary, row["ports"]["http"], row["ports"]["grpc"], logs / "nginx.log") as hop:
        results["nginx"] = {"version": hop.version, "worker_processes": 1, "upstream_keepalive": True}
        yield hop


TF_FREE_PATHS = (
    ("TF-free (ONNX) microservice REST", "rest", "b"),
    ("TF-free (ONNX) microservice gRPC", "grpc", "b"),
    ("TF-free (ONNX) gateway REST", "rest", "a"),
    ("TF-free (ONNX) gateway gRPC", "grpc", "a"),
)
"""The TF-free model's latency rows: (label, protocol, side of comparisons.gateway_vs_model's pairs)."""


def tf_free_rows(pairs: dict[str, list[dict]]) -> list[dict]:
    """The TF-free model's absolute rows (c=1, c=16), each its median-p50 block of the paired
    rounds that measure exactly these paths: measuring them once more apart cost a minute."""
    return [
        {**comparisons.median_block(pairs[f"{protocol}_c{c}"], side), "label": label}
        for c in (1, 16)
        for label, protocol, side in TF_FREE_PATHS
    ]


def rows_from_rounds(rounds: dict[str, list[dict]], path: str, label: str) -> list[dict]:
    """A path's absolute c=1 and c=16 rows: its median-p50 block of the paired rounds."""
    return [
        {**comparisons.median_block(rounds[key], path), "label": label}
        for key in ("c1", "c16")
        if rounds[key] and path in rounds[key][0]
    ]


@contextlib.contextmanager
def kserve_peer(log: Path, work: Path, facts: dict) -> Iterator[str]:
    """KServe 0.21's Python model server serving the same ONNX file (peers/kserve_peer.py)."""
    env = peer_env(work, "kserve-env", ["kserve==0.21.*", "onnxruntime>=1.20,<2"])
    http_port = free_port()
    command = [
        str(env / "bin" / "python"),
        str(PEERS / "kserve_peer.py"),
        str(MODELS / "mnist-cnn.onnx"),
        str(http_port),
    ]
    with _peer_process(command, log, http_port, facts) as url:
        yield url


@contextlib.contextmanager
def _peer_process(command: list[str], log: Path, http_port: int, facts: dict) -> Iterator[str]:
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        env={**os.environ, "PYTHONPATH": str(PEERS)},
        stdout=open(log, "wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_http(f"http://127.0.0.1:{http_port}/v2/models/mnist/ready", 180, process)
        facts.update(startup_s=round(time.perf_counter() - started, 2), pid=process.pid)
        yield f"http://127.0.0.1:{http_port}/v2/models/mnist/infer"
        facts["pss_mib"] = group_pss_mib(process.pid)
    finally:
        stop(process, group=True)


def oip_peer_rows(label: str, url: str, digit: np.ndarray, budget: Budget) -> list[Stats]:
    body, _ = comparisons.oip_bodies(digit, "mnist", "image")
    return [
        rest_load(label, url, body, concurrency=c, requests=n, seconds=s)
        for c, (n, s) in ((1, budget.c1), (16, budget.c16))
    ]


def run_naive(rest: bytes, budget: Budget, log: Path) -> list[Stats]:
    port = free_port()
    environ = {
        **os.environ,
        "PYTHONPATH": str(PEERS),
        "GUNICORN_THREADS": "8",
        "GRPC_WORKERS": "0",
        "PREDICTIVE_UNIT_PARAMETERS": json.dumps(
            [{"name": "model_uri", "value": str(MODELS / "mnist-cnn.keras"), "type": "STRING"}]
        ),
    }
    process = subprocess.Popen(
        [
            str(BIN / "seldon-core-microservice"),
            "NaiveKeras.NaiveKeras",
            "--service-type",
            "MODEL",
            "--http-port",
            str(port),
            "--metrics-port",
            str(free_port()),
        ],
        env=environ,
        stdout=open(log, "wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/health/ping", 120, process)
        url = f"http://127.0.0.1:{port}/api/v1.0/predictions"
        return [
            rest_load(
                "naive wrapper (model.predict) REST",
                url,
                rest,
                concurrency=c,
                requests=budget.slow[0],
                seconds=budget.slow[1],
            )
            for c in (1, 16)
        ]
    finally:
        stop(process, group=True)


def in_process_rows() -> list[Stats]:
    from demo_mnist.data import load_split
    from model_wrappers.backends import load_backend
    from model_wrappers.mnist import MnistClassifier

    digit = load_split().test_images[0]
    rows = []
    for kind in ("onnx", "keras"):
        path = MODELS / f"mnist-cnn.{kind}"
        backend = load_backend(path)
        batch = digit[None].astype(np.float32)
        rows.append(in_process(f"{kind} model call only", lambda: backend.predict(batch), 2000))
        model = MnistClassifier(model_uri=str(path))
        model.load()
        flat = digit.ravel()
        rows.append(
            in_process(f"{kind} wrapper predict (decode + centre + model)", lambda: model.predict(flat, []), 2000)
        )
        message = {"data": {"ndarray": flat.tolist()}}
        rows.append(
            in_process(
                f"{kind} wrapper predict_raw (+ validate, Seldon encode)", lambda: model.predict_raw(message), 2000
            )
        )
        rows.append(
            in_process(
                f"{kind} wrapper predict_raw (+ validate, Seldon encode)",
                lambda: model.predict_raw(message),
                3000,
                concurrency=16,
            )
        )
    return rows


def isolation(gateway: Gateway, victim: dict, rest: bytes, churn_spec: Path) -> dict:
    """Model A's latency while model B is deployed, redeployed and deleted."""
    baseline = rest_load("A alone", victim["url"], rest, concurrency=2, requests=2000, seconds=6)
    log: list[str] = []

    def churn() -> None:
        time.sleep(1)
        for action in ("deploy", "deploy", "delete"):
            started = time.perf_counter()
            gateway.cli(action, str(churn_spec))
            log.append(f"{action} B: {time.perf_counter() - started:.2f} s")

    thread = threading.Thread(target=churn)
    thread.start()
    during = rest_load(
        "A while B deploys, redeploys, deletes", victim["url"], rest, concurrency=2, requests=1_000_000, seconds=20
    )
    thread.join()
    return {"baseline": baseline.as_dict(), "during": during.as_dict(), "churn": log}


def main(quick: bool = False, out: Path | None = None) -> dict:
    """Run every scenario; write results.json, REPORT.md and chart.png into ``out``
    (default ``./bench``, the working directory's, never the installed package's); caches
    (model environments, the MLServer environment) go under ``out/work``."""
    started = time.perf_counter()
    budget = Budget(quick)
    bench = (out or Path.cwd() / "bench").resolve()
    work = bench / "work"
    work.mkdir(parents=True, exist_ok=True)
    state = work / "state"
    shutil.rmtree(state, ignore_errors=True)
    os.environ["SELDON_PKG_ENVS_DIR"] = str(work / "envs")
    logs = work / "logs"
    logs.mkdir(exist_ok=True)
    rest, proto, digit = one_digit()
    specs = work / "specs"
    onnx_spec = write_spec(specs / "tf-free", "bench-cnn-onnx", "mnist-cnn.onnx", "isolated")
    onnx_tf_spec = write_spec(specs / "onnx-with-tf", "bench-cnn-onnx-tf-env", "mnist-cnn.onnx", "current")
    keras_spec = write_spec(specs / "keras", "bench-cnn-keras", "mnist-cnn.keras", "current")
    results: dict = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "quick": quick,
        "absolute_rows_from_rounds": True,
    }

    phase = PhaseClock()
    with phase("in-process calls"):
        results["in_process"] = [s.as_dict() for s in in_process_rows()]

    with phase("gateway start"):
        gateway = Gateway.start(state, logs / "gateway.log")
    try:
        with phase("cold starts"):
            # the first deploy of the TF-free spec may build its environment: measure that apart
            env_build = time.perf_counter()
            gateway.cli("deploy", str(onnx_spec))
            env_seconds = round(time.perf_counter() - env_build, 2)
            gateway.cli("delete", gateway.find("bench-cnn-onnx")["name"])
            cold: dict[str, Any] = {}
            rows = {}
            for key, spec in (("tf_free", onnx_spec), ("onnx_in_tf_env", onnx_tf_spec), ("keras_tf", keras_spec)):
                row, seconds = gateway.timed_deploy(spec, rest)
                rows[key] = row
                cold[key] = {"deploy_to_first_answer_s": seconds, "pss_mib": group_pss_mib(row["pid"])}
            cold["first_deploy_with_env_build_s"] = env_seconds
        with phase("cold start, environment absent"):
            cold["env_absent"] = cold_and_warm(onnx_spec, rest, work, logs)
        results["cold_start"] = cold

        with phase("latency matrix"):
            # the TF-free model's four paths come from the paired rounds below (the same blocks)
            matrix = latency_matrix("TensorFlow (Keras)", rows["keras_tf"], gateway, rest, proto, budget)
            one_worker, _ = gateway.timed_deploy(
                write_spec(specs / "one-worker", "bench-cnn-onnx-1w", "mnist-cnn.onnx", "isolated", workers=1), rest
            )
            for concurrency, (count, seconds) in ((1, budget.c1), (16, budget.c16)):
                matrix.append(
                    rest_load(
                        "TF-free (ONNX), 1 gunicorn worker, gateway REST",
                        one_worker["url"],
                        rest,
                        concurrency=concurrency,
                        requests=count,
                        seconds=seconds,
                    )
                )
            results["one_worker_pss_mib"] = group_pss_mib(one_worker["pid"])
            gateway.cli("delete", one_worker["name"])
            results["latency"] = [s.as_dict() for s in matrix]
            gateway.cli("delete", rows["onnx_in_tf_env"]["name"])
            gateway.cli("delete", rows["keras_tf"]["name"])

        with phase("paired: gateway vs model process"):
            results["paired"] = {
                "gateway": comparisons.gateway_vs_model(
                    rows["tf_free"], gateway.grpc_port, rest, proto, gateway_pid=gateway.process.pid
                )
            }
        results["latency"] = [*tf_free_rows(results["paired"]["gateway"]["pairs"]), *results["latency"]]

        with phase("OIP model: cold start, memory"):
            oip_spec = write_spec(specs / "oip", "bench-cnn-oip", "mnist-cnn.onnx", "isolated", protocol="v2")
            oip_rest, _ = comparisons.oip_bodies(digit, "unused")
            env_build = time.perf_counter()
            gateway.cli("deploy", str(oip_spec))
            oip_env_seconds = round(time.perf_counter() - env_build, 2)
            gateway.cli("delete", gateway.find("bench-cnn-oip")["name"])
            oip_row, oip_seconds = gateway.timed_deploy(oip_spec, oip_rest)
            cold["oip"] = {
                "deploy_to_first_answer_s": oip_seconds,
                "pss_mib": group_pss_mib(oip_row["pid"]),
                "first_deploy_with_env_build_s": oip_env_seconds,
            }

        peer_facts: dict[str, dict] = {"MLServer 1.7.1": {}, "KServe 0.21": {}}
        # the peer runs in our OIP model's own environment: the same requirement set (MLServer's,
        # with our FastAPI/Starlette, MLServer --no-deps, plus onnxruntime) hashes to that
        # environment, so the adapter ratios measure the adapter, not a version difference
        peer_python = ensure_environment(load_spec(oip_spec), work / "envs").python
        with phase("MLServer peer, nginx hop and paired OIP comparisons"):
            with mlserver_peer(logs / "mlserver.log", work, peer_python, peer_facts["MLServer 1.7.1"]) as peer_url:
                with nginx_in_front(oip_row, logs, results) as hop:
                    oip = comparisons.oip_paths(oip_row, gateway.http_port, gateway.grpc_port, peer_url, digit, hop)
            results["paired"]["oip"] = oip
        with phase("KServe peer"):
            with kserve_peer(logs / "kserve.log", work, peer_facts["KServe 0.21"]) as peer_url:
                kserve = oip_peer_rows("KServe 0.21 REST (same ONNX file)", peer_url, digit, budget)
        peer_facts["MLServer 1.7.1"]["versions"] = package_versions(peer_python)
        results["peer_facts"] = {
            **{label: {k: v for k, v in facts.items() if k != "pid"} for label, facts in peer_facts.items()},
            "ours (OIP model, MLServer + adapter)": {
                "startup_s": cold["oip"]["deploy_to_first_answer_s"],
                "pss_mib": cold["oip"]["pss_mib"],
                "versions": package_versions(Path(oip_row["runtime"])),
            },
        }
        gateway.cli("delete", oip_row["name"])
        with phase("naive wrapper"):
            naive = run_naive(rest, budget, logs / "naive.log")
        results["peers"] = [
            *rows_from_rounds(oip["rounds"], "peer", "MLServer REST (same ONNX file)"),
            *(s.as_dict() for s in kserve),
            *rows_from_rounds(oip["rounds"], "direct", "ours: OIP model process REST"),
            *rows_from_rounds(oip["rounds"], "gateway", "ours: OIP via gateway REST"),
            *(s.as_dict() for s in naive),
        ]
        results["summary"] = {
            key: figure for part in results["paired"].values() for key, figure in part["figures"].items()
        }

        with phase("density (one process per model)"):
            results["density"] = density.measure(
                gateway, specs, rest, density.QUICK_STEPS if quick else density.STEPS, budget.density_s
            )
        oip_body, _ = comparisons.oip_bodies(digit, "unused", "image")
        with phase("density_shared (OIP models through the gateway)"):
            results["density_shared"] = density.measure_shared(
                gateway, specs, oip_body, density.QUICK_SHARED_STEPS if quick else density.SHARED_STEPS, budget.shared_s
            )
        mlserver = peer_python.parent / "mlserver"
        results["density_mlserver"] = {}
        for kind, repository in density.REPOSITORIES.items():
            with phase(f"density_mlserver ({kind} repository)"):
                results["density_mlserver"][kind] = density.measure_mlserver(
                    mlserver,
                    work,
                    logs / f"mlserver-density-{kind}.log",
                    oip_body,
                    PEERS,
                    density.QUICK_SHARED_STEPS if quick else density.SHARED_STEPS,
                    budget.mlserver_s,
                    repository,
                )
        victim = rows["tf_free"]

        with phase("isolation"):
            churn_spec = write_spec(specs / "churn", "bench-churn", "mnist-mlp.onnx", "isolated")
            results["isolation"] = isolation(gateway, victim, rest, churn_spec)
    finally:
        gateway.stop()

    results["phase_seconds"] = phase.seconds
    results["overhead"] = report.overhead(results)
    results["seconds"] = round(time.perf_counter() - started, 1)
    bench.mkdir(exist_ok=True)
    previous = bench / "results.json"
    if previous.exists():  # the soak is its own scenario (`make soak`): keep its last figures
        soak = json.loads(previous.read_text()).get("soak")
        if soak:
            results["soak"] = soak
    (bench / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    report.publish(results, bench, None)  # `make bench-report` also regenerates docs/benchmarks.md
    print(f"done in {results['seconds']} s: {bench}/results.json, REPORT.md, chart.png", flush=True)
    print("seconds per phase: " + ", ".join(f"{k} {v}" for k, v in phase.seconds.items()), flush=True)
    return results


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
