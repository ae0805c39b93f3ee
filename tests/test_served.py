"""One face for a served model (local/served.py): a process group of its own and a model in a
shared server both show the gateway ``ServedModel``, the gateway never asks which it holds, and
the restart backoff and the per-run log header are written once (local/process.py)."""

from __future__ import annotations

import dataclasses
import re
import sys
from pathlib import Path

from seldon_pkg.local.environments import RuntimeEnvironment
from seldon_pkg.local.process import BACKOFF_FIRST, BACKOFF_MAX, Backoff, ModelProcess, begin_run, read_current_run
from seldon_pkg.local.served import ServedModel
from seldon_pkg.local.shared import SharedServers
from seldon_pkg.local.state import StateDir
from seldon_pkg.spec.model_spec import load_spec
from seldon_pkg.values import Isolation, Protocol

ROOT = Path(__file__).resolve().parents[1]
ECHO = ROOT / "tests" / "fixtures" / "echo_model"
ENVIRONMENT = RuntimeEnvironment(python=Path(sys.executable), requirements=(), isolated=False)


def test_a_model_process_and_a_shared_model_show_the_same_face(tmp_path):
    state = StateDir.open(tmp_path)
    spec = load_spec(ECHO)
    own = ModelProcess("echo-1234567890", spec, ENVIRONMENT, state.log_file("testing", "echo"), state.lib)
    oip = dataclasses.replace(spec, protocol=Protocol.OIP, isolation=Isolation.SHARED)
    servers = SharedServers(state.logs, state.lib, session=None, timeout=1.0)  # type: ignore[arg-type]
    shared = servers.model("echo-oip-1234567890", oip, ENVIRONMENT, state.log_file("testing", "oip"), None)
    for served in (own, shared):
        assert isinstance(served, ServedModel), type(served).__name__
        assert not served.crashed()
    assert (own.isolation, own.shared_server) == ("process", None)
    assert (shared.isolation, shared.shared_server) == ("shared", shared.shared.name)
    assert "shared server" in shared.start_message() and "waiting for the model" in own.start_message()


def test_the_gateway_never_asks_which_kind_serves_a_deployment():
    text = (ROOT / "seldon_pkg" / "local" / "gateway.py").read_text()
    assert not re.search(r"isinstance\([^)]*(process|ModelProcess|SharedModel)", text)
    assert "SharedModel" not in text


def test_backoff_doubles_up_to_its_cap_and_starts_over():
    backoff = Backoff()
    delays = [backoff.next() for _ in range(10)]
    assert delays[:3] == [BACKOFF_FIRST, BACKOFF_FIRST * 2, BACKOFF_FIRST * 4]
    assert max(delays) == BACKOFF_MAX and delays[-1] == BACKOFF_MAX
    backoff.reset()
    assert backoff.next() == BACKOFF_FIRST


def test_each_run_of_a_log_starts_at_its_header(tmp_path):
    log = tmp_path / "logs" / "m.log"
    begin_run(log, "starting m")
    with open(log, "a") as handle:
        handle.write("first run's traceback\n")
    begin_run(log, "loading m into shared server s")
    with open(log, "a") as handle:
        handle.write("second run\n")
    assert read_current_run(log).endswith("loading m into shared server s\nsecond run\n")
    assert "first run" not in read_current_run(log)
