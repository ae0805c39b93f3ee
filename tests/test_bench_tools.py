"""The benchmark's own tools: the load generator counts right, the report renders real results.

(Speed itself is measured by `make bench`, never asserted here.)
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from seldon_pkg.bench import report
from seldon_pkg.bench.loadgen import rest_load
from tests.support.microservice import ROOT


class _Server(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    hits = 0

    def log_message(self, *args):
        pass

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        type(self).hits += 1
        status = 500 if type(self).hits % 10 == 0 else 200  # every tenth request fails
        body = b'{"ok": true}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Server)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    _Server.hits = 0
    yield f"http://127.0.0.1:{httpd.server_address[1]}/predict"
    httpd.shutdown()


def test_load_generator_is_bounded_and_counts_failures(server):
    stats = rest_load("t", server, b"{}", concurrency=4, requests=200, seconds=30, warmup=0)
    assert stats.requests + stats.failures == 200 == _Server.hits
    assert stats.failures == 20
    assert 0 < stats.p50_ms <= stats.p99_ms and stats.rps > 0


def test_load_generator_refuses_anything_but_loopback():
    with pytest.raises(ValueError, match="loopback"):
        rest_load("t", "http://192.0.2.1:80/", b"{}", concurrency=1, requests=1, seconds=1)


def test_report_renders_the_committed_results(tmp_path):
    results = json.loads((ROOT / "bench" / "results.json").read_text())
    report.write_markdown(results, tmp_path / "REPORT.md")
    report.write_chart(results, tmp_path / "chart.png")
    text = (tmp_path / "REPORT.md").read_text()
    assert "## Targets" in text and "MLServer" in text and results["date"] in text
    assert (tmp_path / "chart.png").read_bytes()[:4] == b"\x89PNG"
    rows = report.targets(results)
    assert len(rows) == 7 and all(isinstance(met, bool) for _, _, met in rows)
    assert results["overhead"] == report.overhead(results)  # the committed breakdown is derived, not typed
