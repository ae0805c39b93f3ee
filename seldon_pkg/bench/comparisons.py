"""The benchmark's paired comparisons (paired.py): the gateway against the model process it
fronts, the OIP path against an MLServer peer doing the same work on the same ONNX file, and
the gateway's hop against a plain nginx hop in front of the same OIP model process.

Every figure here comes from A and B measured in alternating short blocks in the same run.
"""

from __future__ import annotations

import json

import numpy as np
import psutil

from seldon_pkg.bench import paired
from seldon_pkg.bench.loadgen import grpc_load, rest_load
from seldon_pkg.bench.nginx import NginxHop
from seldon_pkg.local.protowire import encode_model_infer

ROUNDS = 7
BLOCK_C1 = (300, 3.0)
"""Requests and seconds per block at concurrency 1."""
BLOCK_C16 = (800, 2.5)
"""Requests and seconds per block at concurrency 16: a throughput ratio needs a steady second
or so per block, not more (longer blocks cost the 10-minute budget, not precision; rounds give that)."""
SELDON_MODEL_PREDICT = "/seldon.protos.Model/Predict"
SELDON_PREDICT = "/seldon.protos.Seldon/Predict"
OIP_INFER = "/inference.GRPCInferenceService/ModelInfer"


def _rest(label: str, url: str, body: bytes, concurrency: int):
    count, seconds = BLOCK_C1 if concurrency == 1 else BLOCK_C16
    return lambda: rest_load(label, url, body, concurrency=concurrency, requests=count, seconds=seconds)


def _grpc(label: str, target: str, method: str, message: bytes, concurrency: int, metadata: tuple = ()):
    count, seconds = BLOCK_C1 if concurrency == 1 else BLOCK_C16
    return lambda: grpc_load(
        label, target, method, message, metadata=metadata, concurrency=concurrency, requests=count, seconds=seconds
    )


class CpuMeter:
    """Wraps a block so the gateway's own CPU time (user + system) per request is recorded."""

    def __init__(self, pid: int | None) -> None:
        self.process = psutil.Process(pid) if pid else None
        self.per_request_ms: list[float] = []

    def wrap(self, run):
        process = self.process
        if process is None:
            return run

        def metered():
            before = process.cpu_times()
            stats = run()
            after = process.cpu_times()
            used = (after.user - before.user) + (after.system - before.system)
            if stats.requests:
                self.per_request_ms.append(1000 * used / stats.requests)
            return stats

        return metered


def _record(pairs: list[paired.Pair]) -> list[dict]:
    return [{"a": p.a.as_dict(), "b": p.b.as_dict()} for p in pairs]


def gateway_vs_model(
    row: dict, gateway_grpc_port: int, rest: bytes, proto: bytes, rounds: int = ROUNDS, gateway_pid: int | None = None
) -> dict:
    """The gateway's cost over the Seldon-protocol model process it fronts (TF-free, one digit),
    and the gateway's CPU time per request it routed (process CPU seconds / requests, per block)."""
    direct = f"http://127.0.0.1:{row['ports']['http']}/api/v1.0/predictions"
    metadata = (("seldon", row["name"]), ("namespace", row["namespace"]))
    rest_cpu, grpc_cpu = CpuMeter(gateway_pid), CpuMeter(gateway_pid)
    via_rest = {c: rest_cpu.wrap(_rest("gateway REST", row["url"], rest, c)) for c in (1, 16)}
    direct_rest = {c: _rest("model process REST", direct, rest, c) for c in (1, 16)}
    via_grpc = {
        c: grpc_cpu.wrap(_grpc("gateway gRPC", f"127.0.0.1:{gateway_grpc_port}", SELDON_PREDICT, proto, c, metadata))
        for c in (1, 16)
    }
    direct_grpc = {
        c: _grpc("model process gRPC", f"127.0.0.1:{row['ports']['grpc']}", SELDON_MODEL_PREDICT, proto, c)
        for c in (1, 16)
    }
    pairs = {
        "rest_c1": paired.interleave(via_rest[1], direct_rest[1], rounds),
        "rest_c16": paired.interleave(via_rest[16], direct_rest[16], rounds),
        "grpc_c1": paired.interleave(via_grpc[1], direct_grpc[1], rounds),
        "grpc_c16": paired.interleave(via_grpc[16], direct_grpc[16], rounds),
    }
    return {
        "figures": {
            "gateway_added_p50_ms": paired.difference(pairs["rest_c1"]),
            "gateway_throughput_ratio_c16": paired.ratio(pairs["rest_c16"]),
            "gateway_added_p50_ms_grpc": paired.difference(pairs["grpc_c1"]),
            "gateway_throughput_ratio_c16_grpc": paired.ratio(pairs["grpc_c16"]),
            **(
                {
                    "gateway_cpu_ms_per_request": paired.summary(rest_cpu.per_request_ms),
                    "gateway_cpu_ms_per_request_grpc": paired.summary(grpc_cpu.per_request_ms),
                }
                if gateway_pid
                else {}
            ),
        },
        "failures": sum(paired.failures(p) for p in pairs.values()),
        "pairs": {key: _record(value) for key, value in pairs.items()},
    }


def oip_bodies(digit: np.ndarray, model: str, input_name: str = "digits") -> tuple[bytes, bytes]:
    """The same digit as an OIP JSON request and as a gRPC ModelInferRequest (raw contents)."""
    values = digit.astype(np.float32).reshape(-1)
    rest = json.dumps(
        {"inputs": [{"name": input_name, "datatype": "FP32", "shape": [1, 784], "data": values.tolist()}]}
    ).encode()
    grpc = encode_model_infer(model, input_name, "FP32", [1, 784], values.tobytes())
    return rest, grpc


def oip_paths(
    row: dict,
    gateway_http_port: int,
    gateway_grpc_port: int,
    peer_url: str,
    digit: np.ndarray,
    hop: NginxHop | None = None,
    rounds: int = ROUNDS,
) -> dict:
    """Our OIP path (MLServer + adapter, no centring) against the MLServer peer on the same file,
    and the gateway's hop against a plain nginx hop (``hop``) in front of the same model process.

    Every c=1 path runs in the same rounds (``paired.interleave_many``): the model process
    directly, through the gateway, through nginx, and the peer, over REST, and the first three
    over gRPC too. Each figure pairs two (or three) of them round by round, so the peer's and the
    direct path's blocks are measured once per round rather than once per comparison."""
    name = row["name"]
    rest, grpc = oip_bodies(digit, name)
    direct = f"http://127.0.0.1:{row['ports']['http']}/v2/models/{name}/infer"
    via = f"http://127.0.0.1:{gateway_http_port}/v2/models/{name}/infer"
    model_grpc = f"127.0.0.1:{row['ports']['grpc']}"
    c1 = {
        "direct": _rest("OIP model process REST", direct, rest, 1),
        "gateway": _rest("OIP via gateway REST", via, rest, 1),
        "peer": _rest("MLServer peer REST", peer_url, rest, 1),
        "direct_grpc": _grpc("OIP model process gRPC", model_grpc, OIP_INFER, grpc, 1),
        "gateway_grpc": _grpc("OIP via gateway gRPC", f"127.0.0.1:{gateway_grpc_port}", OIP_INFER, grpc, 1),
    }
    if hop is not None:
        nginx_url = f"http://127.0.0.1:{hop.http_port}/v2/models/{name}/infer"
        c1["nginx"] = _rest("OIP via nginx REST", nginx_url, rest, 1)
        c1["nginx_grpc"] = _grpc("OIP via nginx gRPC", f"127.0.0.1:{hop.grpc_port}", OIP_INFER, grpc, 1)
    c16 = {
        "direct": _rest("OIP model process REST", direct, rest, 16),
        "gateway": _rest("OIP via gateway REST", via, rest, 16),
        "peer": _rest("MLServer peer REST", peer_url, rest, 16),
    }
    if hop is not None:
        c16["nginx"] = _rest("OIP via nginx REST", f"http://127.0.0.1:{hop.http_port}/v2/models/{name}/infer", rest, 16)
    at_c1 = paired.interleave_many(c1, rounds)
    at_c16 = paired.interleave_many(c16, rounds)
    figures = {
        "oip_direct_over_mlserver_p50": paired.ratio(paired.pairs_of(at_c1, "direct", "peer"), "p50_ms"),
        "oip_gateway_over_mlserver_p50": paired.ratio(paired.pairs_of(at_c1, "gateway", "peer"), "p50_ms"),
        "oip_gateway_over_mlserver_throughput_c16": paired.ratio(paired.pairs_of(at_c16, "gateway", "peer")),
        "oip_grpc_over_rest_p50": paired.ratio(paired.pairs_of(at_c1, "direct_grpc", "direct"), "p50_ms"),
        "oip_gateway_added_p50_ms": paired.difference(paired.pairs_of(at_c1, "gateway", "direct")),
        "oip_gateway_added_p50_ms_grpc": paired.difference(paired.pairs_of(at_c1, "gateway_grpc", "direct_grpc")),
        "oip_gateway_throughput_ratio_c16": paired.ratio(paired.pairs_of(at_c16, "gateway", "direct")),
    }
    if hop is not None:
        figures.update(
            nginx_added_p50_ms=paired.difference(paired.pairs_of(at_c1, "nginx", "direct")),
            nginx_added_p50_ms_grpc=paired.difference(paired.pairs_of(at_c1, "nginx_grpc", "direct_grpc")),
            gateway_hop_over_nginx_hop_p50=paired.hop_ratio(at_c1, "gateway", "nginx", "direct"),
            gateway_hop_over_nginx_hop_p50_grpc=paired.hop_ratio(at_c1, "gateway_grpc", "nginx_grpc", "direct_grpc"),
            nginx_throughput_ratio_c16=paired.ratio(paired.pairs_of(at_c16, "nginx", "direct")),
        )
    return {
        "figures": figures,
        "failures": sum(s.failures for r in at_c1 + at_c16 for s in r.values()),
        "rounds": {
            "c1": [{k: s.as_dict() for k, s in r.items()} for r in at_c1],
            "c16": [{k: s.as_dict() for k, s in r.items()} for r in at_c16],
        },
    }


def median_block(rounds: list[dict], path: str) -> dict:
    """The block of ``path`` with the median p50 over ``oip_paths``'s recorded rounds: a path's
    absolute row taken from the paired rounds instead of one more separate measurement."""
    blocks = sorted((r[path] for r in rounds), key=lambda b: b["p50_ms"])
    return blocks[(len(blocks) - 1) // 2]


TARGETS = {
    # figure: (target, higher is better, what it says); the gateway's four and the nginx ratio are
    # issue 24's targets
    "gateway_added_p50_ms": (0.15, False, "gateway adds <= 0.15 ms p50 over the model process (REST, c=1)"),
    "gateway_throughput_ratio_c16": (0.95, True, "gateway keeps >= 0.95x of direct throughput (REST, c=16)"),
    "gateway_added_p50_ms_grpc": (0.25, False, "gateway adds <= 0.25 ms p50 (gRPC, c=1)"),
    "gateway_throughput_ratio_c16_grpc": (0.95, True, "gateway keeps >= 0.95x of direct throughput (gRPC, c=16)"),
    "gateway_hop_over_nginx_hop_p50": (
        1.2,
        False,
        "gateway's hop <= 1.2x a plain nginx hop's p50 (OIP model, REST, c=1, per round)",
    ),
    "oip_direct_over_mlserver_p50": (
        1.05,
        False,
        "OIP model process p50 <= 1.05x the MLServer peer's (same MLServer, FastAPI, Starlette)",
    ),
    "oip_gateway_over_mlserver_p50": (1.3, False, "OIP through the gateway p50 <= 1.3x MLServer direct"),
    "oip_gateway_over_mlserver_throughput_c16": (
        0.85,
        True,
        "OIP through the gateway >= 0.85x MLServer's c=16 throughput",
    ),
    "oip_grpc_over_rest_p50": (1.0, False, "OIP gRPC p50 <= OIP REST p50 (model process)"),
}


def verdicts(summary: dict) -> list[tuple[str, dict, bool]]:
    """(what, figure, met on the interval's bad end) for every figure in ``summary`` with a target."""
    out = []
    for key, (target, higher, what) in TARGETS.items():
        if key in summary:
            out.append((what, summary[key], paired.met(summary[key], target, higher)))
    return out
