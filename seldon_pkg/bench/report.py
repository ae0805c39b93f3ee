"""Turning bench results into the overhead breakdown, a Markdown report and a chart."""

from __future__ import annotations

import os
from pathlib import Path

from seldon_pkg.bench.soak_report import soak_lines


def _find(rows: list[dict], label: str, concurrency: int = 1) -> dict:
    for row in rows:
        if row["label"] == label and row["concurrency"] == concurrency:
            return row
    raise KeyError(f"no result row {label!r} at concurrency {concurrency}")


def overhead(results: dict) -> dict:
    """p50 added by each layer over the one below it, for one digit at concurrency 1 (ms)."""
    out = {}
    for kind, label in (("onnx", "TF-free (ONNX)"), ("keras", "TensorFlow (Keras)")):
        model = _find(results["in_process"], f"{kind} model call only")
        wrapper = _find(results["in_process"], f"{kind} wrapper predict (decode + centre + model)")
        raw = _find(results["in_process"], f"{kind} wrapper predict_raw (+ validate, Seldon encode)")
        rest = _find(results["latency"], f"{label} microservice REST")
        grpc = _find(results["latency"], f"{label} microservice gRPC")
        gateway_rest = _find(results["latency"], f"{label} gateway REST")
        gateway_grpc = _find(results["latency"], f"{label} gateway gRPC")
        out[kind] = {
            "model_ms": model["p50_ms"],
            "wrapper_decode_centre_ms": round(wrapper["p50_ms"] - model["p50_ms"], 3),
            "wrapper_validate_encode_ms": round(raw["p50_ms"] - wrapper["p50_ms"], 3),
            "microservice_rest_ms": round(rest["p50_ms"] - raw["p50_ms"], 3),
            "microservice_grpc_ms": round(grpc["p50_ms"] - raw["p50_ms"], 3),
            "gateway_rest_ms": round(gateway_rest["p50_ms"] - rest["p50_ms"], 3),
            "gateway_grpc_ms": round(gateway_grpc["p50_ms"] - grpc["p50_ms"], 3),
        }
    return out


def targets(results: dict) -> list[tuple[str, str, bool]]:
    """(target, measured, met) for the targets in the benchmark issue."""
    gateway_rest = _find(results["latency"], "TF-free (ONNX) gateway REST")
    cold = results["cold_start"]["tf_free"]
    densest = results["density"]["steps"][-1]
    during = results["isolation"]["during"]
    oip = results["cold_start"].get("oip")
    oip_targets = (
        [
            (
                "TF-free OIP model ready <= 1.5 s",
                f"{oip['deploy_to_first_answer_s']:.2f} s",
                oip["deploy_to_first_answer_s"] <= 1.5,
            ),
            (
                "TF-free OIP model process <= 150 MiB (PSS, whole group)",
                f"{oip['pss_mib']:.0f} MiB",
                oip["pss_mib"] <= 150,
            ),
        ]
        if oip
        else []
    )
    return [
        *oip_targets,
        (
            "gateway REST p50 <= 2 ms (TF-free, 1 digit, c=1)",
            f"{gateway_rest['p50_ms']:.2f} ms",
            gateway_rest["p50_ms"] <= 2.0,
        ),
        (
            "TF-free model ready <= 1.5 s",
            f"{cold['deploy_to_first_answer_s']:.2f} s",
            cold["deploy_to_first_answer_s"] <= 1.5,
        ),
        ("TF-free model process <= 150 MiB (PSS, whole group)", f"{cold['pss_mib']:.0f} MiB", cold["pss_mib"] <= 150),
        (
            "50 TF-free models served at once, every one answering its probe",
            f"{densest['models']} models, {densest['total_pss_mib']:.0f} MiB, {densest['failures']} failed probes",
            densest["models"] >= 50 and densest["failures"] == 0,
        ),
        (
            "zero failed requests in the isolation test",
            f"{during['failures']} failed of {during['requests'] + during['failures']}",
            during["failures"] == 0,
        ),
    ]


def _rows(rows: list[dict]) -> list[str]:
    lines = [
        "| path | c | p50 ms | p99 ms | req/s | requests | failed |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {r['label']} | {r['concurrency']} | {r['p50_ms']:.3f} | {r['p99_ms']:.3f} | {r['rps']:.0f} | {r['requests']} | {r['failures']} |"
        )
    return lines


def write_markdown(results: dict, path: Path) -> None:
    m = results["machine"]
    lines = [
        "# seldon_pkg benchmark",
        "",
        f"Run {results['date']} on {m['cpu']} ({m['cores']} cores, {m['memory_gib']} GiB), Python {m['python']}; "
        f"took {results['seconds']} s. One MNIST digit per request, loopback only, one load generator for every server.",
        "",
        "## Paired comparisons",
        "",
        *paired_table(results),
        "",
        "## Absolute targets (single measurements)",
        "",
        "| target | measured | met |",
        "| --- | --- | --- |",
        *[f"| {t} | {v} | {'yes' if ok else '**no**'} |" for t, v, ok in targets(results)],
        "",
        "## Latency and throughput",
        "",
        *(
            [
                "Paths that a paired comparison measures (the TF-free model direct and through the gateway; "
                "ours and MLServer's OIP rows below) show their median-p50 block of those rounds.",
                "",
            ]
            if results.get("absolute_rows_from_rounds")
            else []
        ),
        *_rows(results["latency"]),
        "",
        "## Peers (same machine, same load generator, same run)",
        "",
        "Equal work on the OIP rows: the same ONNX file, decode the input tensor, one ONNX Runtime call, "
        "no MNIST centring (our OIP specs turn it off).",
        "",
        *_rows(results["peers"]),
        "",
        *_peer_facts(results.get("peer_facts") or {}),
    ]
    lines += [
        "",
        "## In-process",
        "",
        *_rows(results["in_process"]),
        "",
        "## Overhead per layer (p50, c=1, ms)",
        "",
        "Indicative only: differences of p50s measured at different moments of the run, not paired "
        "(the paired figures above are the ones that count).",
        "",
        "| layer | TF-free (ONNX) | TensorFlow (Keras) |",
        "| --- | ---: | ---: |",
    ]
    for key in results["overhead"]["onnx"]:
        lines.append(
            f"| {key.removesuffix('_ms').replace('_', ' ')} | {results['overhead']['onnx'][key]:.3f} | {results['overhead']['keras'][key]:.3f} |"
        )
    if "one_worker_pss_mib" in results:
        lines += [
            "",
            "Local models run two gunicorn workers by default on a machine with two or more cores; "
            f"with `GUNICORN_WORKERS: '1'` in the spec's env the model process group uses "
            f"{results['one_worker_pss_mib']:.0f} MiB (PSS) instead of "
            f"{results['cold_start']['tf_free']['pss_mib']:.0f} MiB.",
        ]
    cold = results["cold_start"]
    lines += [
        "",
        "## Cold start and memory",
        "",
        "| model process | deploy command to first answer | PSS (whole process group) |",
        "| --- | ---: | ---: |",
    ]
    for key, label in (
        ("tf_free", "ONNX, isolated env (no TensorFlow)"),
        ("onnx_in_tf_env", "ONNX, env with TensorFlow installed"),
        ("keras_tf", "Keras, TensorFlow"),
        ("oip", "ONNX over OIP (MLServer), isolated env"),
    ):
        if key not in cold:
            continue
        lines.append(f"| {label} | {cold[key]['deploy_to_first_answer_s']:.2f} s | {cold[key]['pss_mib']:.0f} MiB |")
    lines.append(
        f"\nFirst deploy of the TF-free spec in this run (includes building its environment if not cached): "
        f"{cold['first_deploy_with_env_build_s']:.1f} s."
    )
    if "env_absent" in cold:
        absent = cold["env_absent"]
        lines.append(
            f"\nCold start with the environment certainly absent (a new, empty environments folder; pip's "
            f"wheel cache warm): {absent['env_absent_deploy_to_first_answer_s']:.1f} s from deploy to first answer, "
            f"of which building the environment {absent['environment_build_s']:.1f} s; warm start of the same "
            f"spec afterwards {absent['warm_deploy_to_first_answer_s']:.2f} s."
        )
    lines += [
        "",
        "## Density (TF-free MNIST CNN processes, every model probed at each step)",
        "",
        *density_lines(results["density"]),
    ]
    if "density_shared" in results or "density_mlserver" in results:
        lines += [
            "",
            "## Many models: our gateway against MLServer's multi-model serving",
            "",
            *density_growth_lines(results),
            "",
        ]
        for what, found in density_kinds(results)[1:]:
            lines += density_step_lines(what, found)
    iso = results["isolation"]
    lines += [
        "",
        "## Isolation under change",
        "",
        *_rows([iso["baseline"], iso["during"]]),
        "",
        "Model B actions during the run: " + "; ".join(iso["churn"]),
        "",
        *soak_lines(results, per_process=True),
    ]
    if results.get("phase_seconds"):
        lines += [
            "",
            "## Run time per phase",
            "",
            "| phase | s |",
            "| --- | ---: |",
            *[f"| {name} | {seconds:.1f} |" for name, seconds in results["phase_seconds"].items()],
        ]
    path.write_text("\n".join(lines))


def _peer_facts(facts: dict) -> list[str]:
    if not facts:
        return []
    versions = any("versions" in fact for fact in facts.values())
    lines = [
        "| server | start-up to ready s | PSS MiB (whole process group) |"
        + (" mlserver / fastapi / starlette |" if versions else ""),
        "| --- | ---: | ---: |" + (" --- |" if versions else ""),
    ]
    for label, fact in facts.items():
        row = f"| {label} | {fact.get('startup_s', float('nan')):.2f} | {fact.get('pss_mib', float('nan')):.0f} |"
        if versions:
            found = fact.get("versions") or {}
            row += (
                " "
                + (" / ".join(str(found.get(p) or "-") for p in ("mlserver", "fastapi", "starlette")) if found else "-")
                + " |"
            )
        lines.append(row)
    return [*lines, ""]


def density_lines(density: dict) -> list[str]:
    """The reference density table (one process per model), with each step's load time and
    marginal PSS when the run recorded them."""
    steps = density["steps"]
    growth = bool(steps) and "load_ms_per_model" in steps[0]
    lines = [
        f"One gunicorn worker per model; each step probes all models (c=1). {density.get('stopped') or 'Every step ran.'}",
        "",
        "| models | total PSS MiB | per model MiB | p50 ms min / median / max over models | failed probes |"
        + (" marginal MiB per model | load ms per model |" if growth else ""),
        "| ---: | ---: | ---: | --- | ---: |" + (" ---: | ---: |" if growth else ""),
    ]
    return lines + [
        f"| {d['models']} | {d['total_pss_mib']:.0f} | {d['per_model_pss_mib']:.1f} | "
        f"{d['p50_ms_min']:.2f} / {d['p50_ms_median']:.2f} / {d['p50_ms_max']:.2f} | {d['failures']} |"
        + (
            f" {_number(d.get('marginal_pss_mib_per_model'), 1)} | {_number(d.get('load_ms_per_model'), 0)} |"
            if growth
            else ""
        )
        for d in steps
    ]


def _number(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


DENSITY_KINDS = (
    ("density", "ours, one Seldon-protocol process per model (the reference)"),
    ("density_shared", "ours, OIP models through the gateway (processes shared where the runtime allows)"),
    ("density_mlserver/default", "MLServer 1.7.1 multi-model, one process, its default repository"),
    ("density_mlserver/direct", "MLServer 1.7.1 multi-model, one process, a repository that finds one file per load"),
)


def density_kinds(results: dict) -> list[tuple[str, dict]]:
    """(what, density result) for every way of holding many models the run measured."""
    out = []
    for key, what in DENSITY_KINDS:
        top, _, sub = key.partition("/")
        found = results.get(top)
        if found and sub:
            found = found.get(sub)
        if found and found.get("steps"):
            out.append((what, found))
    return out


def density_growth_lines(results: dict) -> list[str]:
    """Per way of holding many models: the largest step reached, what one more model costs there
    (marginal PSS) and how long it takes to load, and why it stopped."""
    kinds = density_kinds(results)
    if not any(key for key, _ in DENSITY_KINDS[1:] if key.split("/")[0] in results):
        return []
    lines = [
        "Every step probes every model (c=1, a few requests each); marginal PSS is the memory growth "
        "over the model growth from the previous step; load time is the mean per model added in the step "
        "(MLServer's loads one at a time; deploys through the gateway a few at once, so each includes "
        "waiting for the others).",
        "",
        "| how | models (largest step) | processes | total PSS MiB | per model MiB | marginal MiB per model | "
        "load ms per model | failed probes | stopped |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for what, found in kinds:
        last = found["steps"][-1]
        lines.append(
            f"| {what} | {last['models']} | {last.get('processes', '-')} | {last['total_pss_mib']:.0f} | "
            f"{last['per_model_pss_mib']:.1f} | {_number(last.get('marginal_pss_mib_per_model'), 1)} | "
            f"{_number(last.get('load_ms_per_model'), 0)} | {last['failures']} | {found.get('stopped') or 'every step ran'} |"
        )
    rescan = repository_finding(results)
    return [*lines, *(["", rescan] if rescan else [])]


def repository_finding(results: dict) -> str | None:
    """What MLServer's per-model load time does as its model count grows, with each repository:
    the default one reads every model's settings file on each load, the direct one only its own."""
    runs = results.get("density_mlserver") or {}
    default, direct = (runs.get(k, {}).get("steps") or [] for k in ("default", "direct"))
    if len(default) < 2 or not direct:
        return None
    first, last = default[1], default[-1]  # the first step's one load includes warming up
    same = next((d for d in direct if d["models"] == last["models"]), direct[-1])
    return (
        f"MLServer's default repository: loading a model took {first['load_ms_per_model']:.0f} ms at "
        f"{first['models']} models and {last['load_ms_per_model']:.0f} ms at {last['models']} (each load rescans "
        f"every model-settings.json under its root); with a repository that reads only "
        f"`<root>/<name>/model-settings.json` it took {same['load_ms_per_model']:.0f} ms at {same['models']} models."
    )


def density_step_lines(what: str, found: dict) -> list[str]:
    """Every step of one way of holding many models."""
    lines = [
        f"**{what}**: {found.get('stopped') or 'every step ran'}.",
        "",
        "| models | processes | total PSS MiB | per model MiB | marginal MiB per model | load ms per model | "
        "p50 ms min / median / max | probed | failed |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |",
    ]
    for d in found["steps"]:
        lines.append(
            f"| {d['models']} | {d.get('processes', '-')} | {d['total_pss_mib']:.0f} | {d['per_model_pss_mib']:.1f} | "
            f"{_number(d.get('marginal_pss_mib_per_model'), 1)} | {_number(d.get('load_ms_per_model'), 0)} | "
            f"{d['p50_ms_min']:.2f} / {d['p50_ms_median']:.2f} / {d['p50_ms_max']:.2f} | {d['probed']} | {d['failures']} |"
        )
    return [*lines, ""]


def write_chart(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    prefixes = ("TF-free", "MLServer", "KServe", "ours:", "naive")
    rows = [r for r in results["latency"] + results["peers"] if r["label"].startswith(prefixes)]
    labels = sorted({r["label"] for r in rows}, key=lambda label: [r["label"] for r in rows].index(label))
    p50 = [next(r["p50_ms"] for r in rows if r["label"] == label and r["concurrency"] == 1) for label in labels]
    rps = [next(r["rps"] for r in rows if r["label"] == label and r["concurrency"] == 16) for label in labels]
    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    left.barh(labels, p50, color="#3b6fd8")
    left.set_xscale("log")
    from matplotlib.ticker import FixedLocator, NullFormatter, ScalarFormatter

    left.xaxis.set_major_locator(FixedLocator([1, 2, 5, 10, 20, 50, 100]))
    left.xaxis.set_major_formatter(ScalarFormatter())
    left.xaxis.set_minor_formatter(NullFormatter())
    left.set_xlabel("p50 latency, one digit, concurrency 1 (ms, log scale)")
    right.barh(labels, rps, color="#1f9d55")
    right.set_xlabel("throughput at concurrency 16 (requests/s)")
    right.set_yticklabels([])
    figure.suptitle(
        f"seldon_pkg bench {results['date'][:10]} - {results['machine']['cpu']} ({results['machine']['cores']} cores)"
    )
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def paired_table(results: dict) -> list[str]:
    """The paired figures with their intervals and verdicts (comparisons.TARGETS)."""
    from seldon_pkg.bench.comparisons import TARGETS

    summary = results.get("summary") or {}
    lines = [
        "A and B measured in alternating short blocks in the same run; median of the per-round "
        "differences or ratios, 95% bootstrap interval over rounds; met only when the interval's "
        "bad end meets the target.",
        "",
        "| figure | target | median | 95% interval | rounds | met |",
        "| --- | --- | ---: | --- | ---: | --- |",
    ]
    for key, (target, higher, what) in TARGETS.items():
        if key not in summary:
            continue
        figure = summary[key]
        low, high = figure["ci95"]
        met = (low >= target) if higher else (high <= target)
        bound = ">=" if higher else "<="
        lines.append(
            f"| {what} (`{key}`) | {bound} {target:g} | {figure['median']:.3f} | "
            f"[{low:.3f}, {high:.3f}] | {figure['rounds']} | {'yes' if met else '**no**'} |"
        )
    for key, what in MEASURED_ONLY.items():
        if key in summary:
            figure = summary[key]
            low, high = figure["ci95"]
            lines.append(
                f"| {what} (`{key}`) | (measured) | {figure['median']:.3f} | [{low:.3f}, {high:.3f}] | "
                f"{figure['rounds']} | |"
            )
    hop = results.get("nginx") or {}
    if hop.get("skipped"):
        lines += ["", f"The nginx reference hop was not measured: {hop['skipped']}."]
    elif hop.get("version"):
        lines += [
            "",
            f"nginx hop: {hop['version']}, {hop.get('worker_processes', 1)} worker, HTTP/1.1 keep-alive to the "
            "same OIP model process the gateway fronts (gRPC through grpc_pass), measured in the same rounds.",
        ]
    return lines


MEASURED_ONLY = {
    "gateway_cpu_ms_per_request": "gateway CPU ms per request routed (REST, blocks at c=1 and c=16)",
    "gateway_cpu_ms_per_request_grpc": "gateway CPU ms per request routed (gRPC, blocks at c=1 and c=16)",
    "oip_gateway_added_p50_ms": "gateway adds, ms p50 (OIP model, REST, c=1)",
    "nginx_added_p50_ms": "a plain nginx hop adds, ms p50 (same OIP model, REST, c=1)",
    "oip_gateway_added_p50_ms_grpc": "gateway adds, ms p50 (OIP model, gRPC, c=1)",
    "nginx_added_p50_ms_grpc": "nginx (grpc_pass) adds, ms p50 (same OIP model, gRPC, c=1)",
    "gateway_hop_over_nginx_hop_p50_grpc": "gateway's hop over nginx's, p50 (OIP model, gRPC, c=1, per round)",
    "oip_gateway_throughput_ratio_c16": "gateway keeps x of direct throughput (OIP model, REST, c=16)",
    "nginx_throughput_ratio_c16": "nginx keeps x of direct throughput (same OIP model, REST, c=16)",
}
"""Summary figures reported with their interval but without a target."""


PAGE_START = "<!-- bench:start (generated from bench/results.json by `make bench-report`; do not edit) -->"
PAGE_END = "<!-- bench:end -->"
PAGE = Path("docs") / "benchmarks.md"
"""The documentation page whose summary section ``make bench-report`` regenerates."""
MAIN_ROWS = (
    "TF-free (ONNX) microservice REST",
    "TF-free (ONNX) microservice gRPC",
    "TF-free (ONNX) gateway REST",
    "TF-free (ONNX) gateway gRPC",
    "TensorFlow (Keras) gateway REST",
    "MLServer REST (same ONNX file)",
    "KServe 0.21 REST (same ONNX file)",
    "ours: OIP model process REST",
    "ours: OIP via gateway REST",
    "naive wrapper (model.predict) REST",
)


def summary_section(results: dict, chart: str = "../bench/chart.png") -> str:
    """The summary between the markers of docs/benchmarks.md; ``chart`` is the chart's link from
    that page."""
    m = results["machine"]
    lines = [
        PAGE_START,
        "",
        f"Latest run: **{results['date']}, {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, "
        f"Python {m['python']}** ({results['seconds']} s).",
        "",
        *paired_table(results),
        "",
        "| target (single measurement) | measured | met |",
        "| --- | --- | --- |",
        *[f"| {t} | {v} | {'yes' if ok else '**no**'} |" for t, v, ok in targets(results)],
        "",
        "| path (one digit) | p50 ms, c=1 | p99 ms, c=1 | req/s, c=16 |",
        "| --- | ---: | ---: | ---: |",
    ]
    rows = results["latency"] + results["peers"]
    for label in MAIN_ROWS:
        one = next((r for r in rows if r["label"] == label and r["concurrency"] == 1), None)
        many = next((r for r in rows if r["label"] == label and r["concurrency"] == 16), None)
        if one and many:
            lines.append(f"| {label} | {one['p50_ms']:.2f} | {one['p99_ms']:.2f} | {many['rps']:.0f} |")
    growth = density_growth_lines(results)
    if growth:
        lines += ["", *growth]
    soak = soak_lines(results, per_process=False)
    soak = ["#" + line if line.startswith("## ") else line for line in soak]
    lines += ["", *soak, f"![benchmark chart]({chart})", "", PAGE_END]
    return "\n".join(lines)


def publish(results: dict, bench: Path, page: Path | None) -> None:
    """REPORT.md, chart.png and (when given) the summary section of ``page``, from ``results`` alone."""
    write_markdown(results, bench / "REPORT.md")
    write_chart(results, bench / "chart.png")
    if page is not None:
        page.write_text(updated_page(page.read_text(), summary_section(results, chart_link(bench, page))))


def chart_link(bench: Path, page: Path) -> str:
    """The chart's path as a link from ``page``."""
    return Path(os.path.relpath(bench / "chart.png", page.parent)).as_posix()


def updated_page(text: str, section: str) -> str:
    before, found, rest = text.partition(PAGE_START)
    if not found:
        raise ValueError(f"the page has no {PAGE_START!r} marker")
    _, _, after = rest.partition(PAGE_END)
    return before + section + after


def main(argv: list[str] | None = None) -> int:
    """``make bench-report``: regenerate (or, with --check, compare) the reports from results.json."""
    import argparse
    import json
    import sys
    import tempfile

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--bench", type=Path, default=Path("bench"))
    parser.add_argument("--page", type=Path, default=PAGE, help="the page holding the summary section")
    parser.add_argument("--check", action="store_true", help="exit 1 when REPORT.md or the page would change")
    args = parser.parse_args(argv)
    results = json.loads((args.bench / "results.json").read_text())
    if not args.check:
        publish(results, args.bench, args.page)
        return 0
    with tempfile.TemporaryDirectory() as folder:
        write_markdown(results, Path(folder) / "REPORT.md")
        report_same = (Path(folder) / "REPORT.md").read_text() == (args.bench / "REPORT.md").read_text()
    page = args.page.read_text()
    page_same = updated_page(page, summary_section(results, chart_link(args.bench, args.page))) == page
    if not (report_same and page_same):
        print(
            f"bench/REPORT.md or {args.page} differ from what bench/results.json generates; run make bench-report",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
