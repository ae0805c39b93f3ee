"""One way to start a gateway and wait for it (seldon_pkg/local/gateway_process.py), used by
``make demo``, the benchmark and the tests alike."""

from __future__ import annotations

import os
from pathlib import Path

from seldon_pkg.local.gateway_process import gateway_ready
from seldon_pkg.local.state import StateDir

ROOT = Path(__file__).resolve().parents[1]
STARTERS = ("demo_mnist/run_demo.py", "seldon_pkg/bench/stack.py", "tests/support/gateway.py")


def test_ready_means_this_process_says_its_models_are_restored(tmp_path):
    state = StateDir.open(tmp_path)
    assert not gateway_ready(state, os.getpid())  # no gateway.json yet
    state.write_json(state.gateway_file, {"pid": os.getpid(), "ready": False})
    assert not gateway_ready(state, os.getpid())  # serving, still restoring
    state.write_json(state.gateway_file, {"pid": os.getpid() + 1, "ready": True})
    assert not gateway_ready(state, os.getpid())  # a stale file from another gateway
    state.write_json(state.gateway_file, {"pid": os.getpid(), "ready": True})
    assert gateway_ready(state, os.getpid())


def test_the_demo_the_bench_and_the_tests_start_gateways_the_same_way():
    for relative in STARTERS:
        text = (ROOT / relative).read_text()
        assert "start_gateway" in text and '"serve"' not in text, relative
