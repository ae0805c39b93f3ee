"""The benchmark's own tools: the load generator counts right, the report renders real results.

(Speed itself is measured by `make bench`, never asserted here.)
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from seldon_pkg.bench import paired, report
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
    assert "## Paired comparisons" in text and "MLServer" in text and results["date"] in text
    assert (tmp_path / "chart.png").read_bytes()[:4] == b"\x89PNG"
    rows = report.targets(results)
    assert rows and all(isinstance(met, bool) for _, _, met in rows)
    assert results["overhead"] == report.overhead(results)  # the committed breakdown is derived, not typed


def test_the_summary_has_every_paired_figure_with_its_interval():
    summary = json.loads((ROOT / "bench" / "results.json").read_text())["summary"]
    for key in (
        "gateway_added_p50_ms",
        "gateway_throughput_ratio_c16",
        "gateway_added_p50_ms_grpc",
        "gateway_throughput_ratio_c16_grpc",
        "oip_direct_over_mlserver_p50",
    ):
        figure = summary[key]
        assert figure["rounds"] >= 5 and len(figure["values"]) == figure["rounds"]
        low, high = figure["ci95"]
        assert low <= figure["median"] <= high


def test_benchmark_page_and_report_are_what_results_json_generates():
    """`make bench-report --check`: docs/benchmarks.md's summary and REPORT.md are generated, not typed."""
    assert report.main(["--bench", str(ROOT / "bench"), "--page", str(ROOT / "docs" / "benchmarks.md"), "--check"]) == 0


def test_paired_intervals_and_verdicts():
    figure = paired.summary([0.30, 0.31, 0.29, 0.35, 0.30, 0.28, 0.32])
    assert figure["median"] == 0.30 and figure["ci95"][0] <= 0.30 <= figure["ci95"][1]
    assert paired.met(figure, 0.4, higher_is_better=False)  # the bad end (high) is under 0.4
    assert not paired.met(figure, 0.31, higher_is_better=False)  # the median meets it, the bad end does not
    assert paired.met(paired.summary([0.95, 0.97, 0.96, 0.98, 0.94]), 0.9, higher_is_better=True)


def test_soak_slope_recovers_a_known_growth_and_brackets_a_flat_line():
    import numpy as np

    from seldon_pkg.bench.soak import slope_per_100k

    rng = np.random.default_rng(7)
    requests = list(range(0, 3_000_000, 20_000))
    growing = [50 + 0.5 * r / 100_000 + rng.normal(0, 0.05) for r in requests]
    flat = [50 + rng.normal(0, 0.05) for _ in requests]
    grew = slope_per_100k(requests, growing)
    assert abs(grew["median"] - 0.5) < 0.02 and grew["ci95"][0] > 0.4
    level = slope_per_100k(requests, flat)
    assert level["ci95"][0] <= 0 <= level["ci95"][1] and level["ci95"][1] < 0.1
    assert slope_per_100k([1, 2], [3.0, 4.0])["median"] is None  # too few samples to say


def _stats(p50: float, rps: float = 100.0, label: str = "x"):
    from seldon_pkg.bench.loadgen import Stats

    return Stats(label, 1, 10, 0, 1.0, p50, p50, rps)


def test_interleave_many_rotates_the_order_and_pairs_any_two_paths():
    order: list[str] = []

    def run(name: str):
        def block():
            order.append(name)
            return _stats(1.0, label=name)

        return block

    rounds = paired.interleave_many({"a": run("a"), "b": run("b"), "c": run("c")}, rounds=3)
    assert order == ["a", "b", "c", "b", "c", "a", "c", "a", "b"]  # each path once in each position
    assert all(list(r) == ["a", "b", "c"] for r in rounds)  # recorded by name, whatever the order
    pairs = paired.pairs_of(rounds, "c", "a")
    assert [(p.a.label, p.b.label) for p in pairs] == [("c", "a")] * 3


def test_hop_ratio_is_per_round_and_caps_a_reference_that_added_nothing():
    direct, nginx, gateway = _stats(1.0), _stats(1.1), _stats(1.15)
    assert abs(paired.hop_over_reference(gateway, nginx, direct) - 1.5) < 1e-9
    assert paired.hop_over_reference(gateway, _stats(0.99), direct) == paired.HOP_RATIO_CAP  # noise: no ratio
    assert paired.hop_over_reference(_stats(1.0e3), nginx, direct) == paired.HOP_RATIO_CAP
    rounds = [
        {"direct": _stats(1.0), "nginx": _stats(1.0 + n), "gateway": _stats(1.0 + g)}
        for n, g in ((0.1, 0.1), (0.1, 0.12), (0.2, 0.2), (0.1, 0.08), (0.1, 0.11))
    ]
    figure = paired.hop_ratio(rounds, "gateway", "nginx", "direct")
    assert figure["rounds"] == 5 and figure["median"] == 1.0
    assert paired.met(figure, 1.3, higher_is_better=False)


def test_density_rows_say_what_one_more_model_costs_and_when_a_step_fits():
    from seldon_pkg.bench import density

    first = density.step_row(1, [density.Probe(3, 0, 1.2)], [150.0], [1.5], None)
    assert first["marginal_pss_mib_per_model"] is None and first["load_ms_per_model"] == 1500.0
    probes = [density.Probe(3, 0, 1.0 + i / 10) for i in range(10)]
    # ten models in one shared process of 240 MiB: 10 MiB per model added since the first step
    shared = density.step_row(10, probes, [240.0], [0.1] * 9, first)
    assert shared["marginal_pss_mib_per_model"] == 10.0 and shared["per_model_pss_mib"] == 24.0
    assert shared["processes"] == 1 and shared["probed"] == 10 and shared["p50_ms_max"] == 1.9
    assert density.marginal_pss_mib({"models": 10, "total_pss_mib": 240.0}, 10, 250.0) is None
    pace = density.Pace(load_s=0.5, probe_s=0.01)
    assert density.step_fits(0.0, 10.0, None, 0, 1000)  # the first step always runs
    assert density.step_fits(5.0, 60.0, pace, 10, 50)  # 5 + 20 + 0.5 <= 60
    assert not density.step_fits(5.0, 60.0, pace, 50, 200)  # 5 + 75 + 2 > 60
    # a load cost that rose since the step before is taken to grow with the count
    rising = density.next_pace(1.0, 0.01, density.Pace(0.5, 0.01))
    assert rising.growing and not density.next_pace(0.55, 0.01, density.Pace(0.5, 0.01)).growing
    assert density.step_fits(0.0, 60.0, density.Pace(1.0, 0.0), 10, 50)  # 40 s at a steady pace
    assert not density.step_fits(0.0, 60.0, rising, 10, 50)  # 40 s x 5 when it grows with the count


def test_a_path_s_absolute_row_is_its_median_block_of_the_rounds():
    from seldon_pkg.bench.comparisons import median_block

    rounds = [{"direct": {"p50_ms": v, "n": i}} for i, v in enumerate((3.0, 1.0, 2.0, 5.0, 4.0))]
    assert median_block(rounds, "direct") == {"p50_ms": 3.0, "n": 0}


def test_package_versions_reads_the_interpreter_s_own_environment():
    import sys
    from pathlib import Path

    from seldon_pkg.bench.run import package_versions

    found = package_versions(Path(sys.executable), ("pip", "surely-not-installed-here"))
    assert found["pip"] and found["surely-not-installed-here"] is None


class _Proxied(_Server):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


def test_the_nginx_hop_proxies_with_its_own_files_only(tmp_path):
    """The reference hop's config: loopback, daemon off, everything in its own folder, and it
    forwards requests (keep-alive) to the model process it fronts."""
    from seldon_pkg.bench import nginx

    text = nginx.config(tmp_path, listen_http=1, upstream_http=2, listen_grpc=3, upstream_grpc=4)
    assert "daemon off;" in text and f"pid {tmp_path / 'nginx.pid'};" in text
    assert "listen 127.0.0.1:1;" in text and "listen 127.0.0.1:3 http2;" in text
    assert "keepalive 32;" in text and 'proxy_set_header Connection "";' in text
    assert all(str(tmp_path) in line for line in text.splitlines() if "_path " in line or "error_log" in line)
    binary = nginx.find_nginx()
    assert binary, "nginx is missing: `make install` installs Debian's nginx-light (apt-get) when run as root"
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Proxied)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    _Proxied.hits = 0  # counted on the class that served (type(self))
    try:
        with nginx.nginx_hop(binary, httpd.server_address[1], 9, tmp_path / "nginx.log") as hop:
            stats = rest_load(
                "t", f"http://127.0.0.1:{hop.http_port}/p", b"{}", concurrency=2, requests=40, seconds=30, warmup=0
            )
            assert hop.version.startswith("nginx/")
    finally:
        httpd.shutdown()
    assert stats.requests + stats.failures == 40 == _Proxied.hits and stats.failures == 4


def test_the_report_shows_the_density_rows_of_every_kind():
    results = {
        "density": {"steps": [{"models": 1, "total_pss_mib": 130.0, "per_model_pss_mib": 130.0, "failures": 0}]},
        "density_shared": {
            "steps": [
                {
                    "models": 1,
                    "processes": 1,
                    "total_pss_mib": 150.0,
                    "per_model_pss_mib": 150.0,
                    "failures": 0,
                    "marginal_pss_mib_per_model": None,
                    "load_ms_per_model": 1300.0,
                    "probed": 1,
                    "p50_ms_min": 1.0,
                    "p50_ms_median": 1.0,
                    "p50_ms_max": 1.0,
                },
            ],
            "stopped": "stopped before 10 models: 100 MiB of memory left (< 2048)",
        },
        "density_mlserver": {
            "default": {
                "steps": [
                    {
                        "models": 10,
                        "processes": 1,
                        "total_pss_mib": 200.0,
                        "per_model_pss_mib": 20.0,
                        "failures": 0,
                        "marginal_pss_mib_per_model": 8.5,
                        "load_ms_per_model": 30.0,
                        "probed": 10,
                        "p50_ms_min": 0.6,
                        "p50_ms_median": 0.7,
                        "p50_ms_max": 0.9,
                    },
                ]
            }
        },
    }
    text = "\n".join(report.density_growth_lines(results))
    assert "stopped before 10 models" in text and "| 8.5 | 30 |" in text
    assert "its default repository" in text and "through the gateway" in text
    assert report.density_growth_lines({"density": results["density"]}) == []  # older results: unchanged report
    assert report.repository_finding(results) is None  # one step, no direct repository: nothing to say
    step = results["density_mlserver"]["default"]["steps"][0]
    warming = {**step, "models": 1, "load_ms_per_model": 80.0}  # the first load warms up: not the trend
    results["density_mlserver"]["default"]["steps"] = [
        warming,
        step,
        {**step, "models": 200, "load_ms_per_model": 210.0},
    ]
    results["density_mlserver"]["direct"] = {"steps": [{**step, "models": 200, "load_ms_per_model": 9.0}]}
    finding = report.repository_finding(results)
    assert finding and "30 ms at 10 models and 210 ms at 200" in finding and "9 ms at 200 models" in finding


def test_without_nginx_the_bench_says_so_and_skips_the_row(monkeypatch, tmp_path, capsys):
    from seldon_pkg.bench.run import nginx_in_front

    monkeypatch.setenv("NGINX", str(tmp_path / "no-nginx-here"))
    results: dict = {}
    with nginx_in_front({"ports": {"http": 1, "grpc": 2}}, tmp_path, results) as hop:
        assert hop is None
    assert "nginx-light" in results["nginx"]["skipped"] and "skipped" in capsys.readouterr().out
    lines = report.paired_table({"summary": {}, "nginx": results["nginx"]})
    assert any(line.startswith("The nginx reference hop was not measured") for line in lines)
