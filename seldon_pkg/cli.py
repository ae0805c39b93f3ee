"""The ``seldon-pkg`` command line: each command is a few lines over library functions."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import click

from seldon_pkg import __version__
from seldon_pkg.errors import Invalid, NotFound, SeldonPkgError
from seldon_pkg.limits import CANARY_PERCENT_MAX, CANARY_PERCENT_MIN
from seldon_pkg.platforms.registry import DEFAULT_PLATFORM, PLATFORM_NAMES, PLATFORMS, platform_named

# the kubernetes client imports kubernetes-validate, which imports the deprecated pkg_resources
warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)


class _Group(click.Group):
    """Prints library errors as one line, exiting with the error's code (seldon_pkg.errors)."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except SeldonPkgError as error:  # the library wraps cluster API refusals into these too
            click.echo(f"error: {error}", err=True)
            sys.exit(error.exit_code)


def checked_spec(path: Path):
    """The spec, validated, with its wrapper class and parameters checked against the source."""
    from seldon_pkg.spec.model_spec import load_spec
    from seldon_pkg.spec.preflight import check

    spec = load_spec(path)
    check(spec)
    return spec


state_dir_option = click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="SELDON_PKG_STATE_DIR",
    help="Local runtime state folder (default $SELDON_PKG_STATE_DIR or ~/.seldon-pkg).",
)


platform_option = click.option(
    "--platform",
    type=click.Choice(PLATFORM_NAMES),
    default=None,
    help="Platform to render/deploy for ("
    + "; ".join(f"{platform.name}: {platform.description_text}" for platform in PLATFORMS.values())
    + f"). Default: the spec's `platform`, else {DEFAULT_PLATFORM.name}.",
)
canary_percent = click.IntRange(CANARY_PERCENT_MIN, CANARY_PERCENT_MAX)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="seldon-pkg")
def main() -> None:
    """Package, serve and deploy models with Seldon Core, many side by side."""


@main.command()
@click.argument("spec", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--canary",
    "canary_spec",
    type=click.Path(exists=True, path_type=Path),
    help="Spec of another version of the same model to run as a canary.",
)
@click.option(
    "--traffic",
    type=canary_percent,
    default=90,
    show_default=True,
    help="With --canary: percent of traffic kept on SPEC; the canary gets the rest.",
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write to a file instead of stdout.")
@platform_option
def render(spec: Path, canary_spec: Path | None, traffic: int, out: Path | None, platform: str | None) -> None:
    """Print the validated manifest for SPEC on its platform: a SeldonDeployment (seldon), an
    InferenceService (kserve) or a Seldon Core 2 Model (seldon-v2)."""
    from seldon_pkg.platforms.registry import platform_of
    from seldon_pkg.platforms.seldon import canary_deployment
    from seldon_pkg.platforms.yaml_documents import to_yaml
    from seldon_pkg.spec.model_spec import on_platform

    stable = on_platform(checked_spec(spec), platform)
    chosen = platform_of(stable)
    if canary_spec is None:
        manifest = chosen.render(stable)
    elif not chosen.has_canary:
        raise Invalid(f"--canary: platform {chosen.name} ({chosen.resource.kind}) has no canary here")
    else:
        manifest = canary_deployment(stable, checked_spec(canary_spec), 100 - traffic)
    chosen.validate(manifest)
    text = to_yaml(manifest)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
        click.echo(f"wrote {out}", err=True)
    else:
        click.echo(text, nl=False)


@main.command()
@click.argument("spec", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the build context (replaced).",
)
@click.option(
    "--artifact",
    type=click.Path(file_okay=False, path_type=Path),
    help="Instead: write the model folder Seldon Core 2 loads from storage (replaced); upload it and "
    "point the spec's storage_uri at it.",
)
@click.option("--image", help="Image tag (default: the spec's image).")
@click.option("--skip-audit", is_flag=True, help="Do not resolve the requirements against the advisory table.")
@click.option(
    "--base-image",
    help="Build on this image instead of the Dockerfile's default python:3.11-slim (a mirror of your own).",
)
@click.option("--push", is_flag=True, help="Push the image to its registry once built.")
@click.option(
    "--builder",
    type=click.Choice(["docker", "podman", "buildah"]),
    help="Build with this one (default: the first of docker, podman, buildah that answers).",
)
@click.option("--no-build", is_flag=True, help="Only write the context (and print the command to build it).")
def build(
    spec: Path,
    out: Path | None,
    artifact: Path | None,
    image: str | None,
    skip_audit: bool,
    base_image: str | None,
    push: bool,
    builder: str | None,
    no_build: bool,
) -> None:
    """Write an image build context for SPEC and build it with Docker, Podman or Buildah when one
    answers (--push pushes it), or with --artifact the model folder for storage."""
    from seldon_pkg.build.builders import find_builder
    from seldon_pkg.build.image_context import write_artifact, write_context
    from seldon_pkg.text_sinks import shell_command

    if (out is None) == (artifact is None):
        raise click.UsageError("give exactly one of --out (image build context) or --artifact (model folder)")
    model = checked_spec(spec)
    if artifact is not None:
        folder = write_artifact(model, artifact)
        click.echo(f"model folder: {folder}")
        click.echo("next steps:")
        click.echo(f"  - upload it, e.g.: aws s3 cp --recursive {shell_command([str(folder)])} s3://BUCKET/PATH")
        click.echo("  - set storage_uri: s3://BUCKET/PATH in the spec, then render --platform seldon-v2")
        return
    assert out is not None
    context = write_context(model, out, image)
    click.echo(f"build context: {context.directory}")
    click.echo("requirements: " + ", ".join(context.requirements))
    if not skip_audit:
        _print_audit(model)
    for option in context.pip_options:
        click.secho(f"pip option (allow_pip_options: true): {option}", err=True, fg="yellow")
    chosen = None if no_build else find_builder(builder)
    if chosen is None:
        build_line = shell_command(
            context.docker_command[:2]
            + (["--build-arg", f"BASE_IMAGE={base_image}"] if base_image else [])
            + context.docker_command[2:]
        )
        why = (
            "--no-build"
            if no_build
            else (f"{builder} does not answer here" if builder else "no Docker, Podman or Buildah answers here")
        )
        click.echo(f"{why}; build it with:\n  {build_line}")
        if push:
            raise click.ClickException("--push needs a build: nothing was built here")
    else:
        _run_step(chosen.build_command(str(context.directory), context.image, base_image), "build")
        click.echo(f"built {context.image} with {chosen.name}")
        if push:
            _run_step(chosen.push_command(context.image), "push")
            click.echo(f"pushed {context.image}")
    placeholder = "example.org" in context.image
    click.echo("next steps:")
    if placeholder:
        click.echo(f"  - {context.image} is a placeholder: set `image:` in the spec (or --image) to your registry")
    if not push:
        click.echo(
            f"  - push it: {shell_command(chosen.push_command(context.image) if chosen else context.push_command)}"
        )
    click.echo(f"  - deploy it: seldon-pkg deploy {shell_command([str(spec)])} --target k8s")


def _print_audit(model) -> None:
    from seldon_pkg.build.advisories import TABLE, audit

    try:
        resolved, found = audit(model)
    except RuntimeError as problem:  # offline, a private index...: the context is still written
        click.echo(f"advisories: not checked ({str(problem).splitlines()[0]}); --skip-audit skips this", err=True)
        return
    serious = [m for m in found if m.advisory.serious]
    click.echo(
        f"advisories: {len(resolved)} packages resolved; {len(found)} rows of {TABLE.name} match, "
        f"{len(serious)} high or critical"
    )
    for match in found:
        click.echo(f"  - {match}")


def _run_step(command: list[str], step: str) -> None:
    """Run a builder step with its output streaming to the user; its exit code ends ours."""
    from seldon_pkg.text_sinks import shell_command

    click.echo(f"running: {shell_command(command)}")
    code = subprocess.call(command)
    if code:
        raise click.ClickException(f"{step} failed (exit {code}): {shell_command(command)}")


@main.command()
@click.argument("name")
@click.option(
    "--dir", "directory", type=click.Path(file_okay=False, path_type=Path), help="Folder to create (default: ./NAME)."
)
def init(name: str, directory: Path | None) -> None:
    """Scaffold a new model: wrapper class, spec file and a passing test."""
    from seldon_pkg.authoring.scaffold import scaffold

    for path in scaffold(name, directory or Path(name)):
        click.echo(f"created {path}")


@main.command(name="test")
@click.argument("spec", type=click.Path(exists=True, path_type=Path))
@state_dir_option
def test_model(spec: Path, state_dir: Path | None) -> None:
    """Run a model's own tests in the environment it will be served in (not the development venv)."""
    from seldon_pkg.authoring.model_tests import run_tests
    from seldon_pkg.local.state import StateDir

    state = StateDir.open(state_dir)
    run = run_tests(checked_spec(spec), state.envs, state.lib, progress=lambda line: click.echo(f"  {line}", err=True))
    click.echo(run.output.rstrip())
    if run.hint:
        click.echo(f"hint: {run.hint}", err=True)
    sys.exit(run.returncode)


# ---- deployments, on any target -------------------------------------------------------------

target_option = click.option(
    "--target",
    type=click.Choice(["local", "k8s"]),
    default="local",
    show_default=True,
    help="local: the gateway of `seldon-pkg serve`; k8s: the cluster of --context.",
)
context_option = click.option("--context", help="kubeconfig context (--target k8s; default: the current one).")
namespace_option = click.option("--namespace", "-n", help="Namespace of the deployment (default: the target's).")
reference_options = [
    click.argument("reference", required=False),
    click.option(
        "--spec",
        "spec_path",
        type=click.Path(exists=True, path_type=Path),
        help="The deployment of this spec file (or folder with seldon-model.yaml).",
    ),
    click.option("--version", "model_version", help="With a model name: which version."),
    namespace_option,
    target_option,
    state_dir_option,
    context_option,
    platform_option,
]


def _with(options):
    def decorate(function):
        for option in reversed(options):
            function = option(function)
        return function

    return decorate


def _target(target: str, state_dir: Path | None, context: str | None, platform: str | None = None):
    import time

    from seldon_pkg.targets import open_target

    started = time.monotonic()

    def progress(line: str) -> None:  # step lines with elapsed time, on stderr (stdout stays parseable)
        click.echo(f"  [{time.monotonic() - started:5.1f} s] {line}", err=True)

    return open_target(target, state_dir=state_dir, context=context, progress=progress, platform=platform)


def _referenced(reference: dict[str, Any]):
    """(target, deployment name, namespace) from the reference options every such verb takes."""
    from seldon_pkg.targets.references import resolve

    chosen = _target(reference["target"], reference["state_dir"], reference["context"], reference["platform"])
    name, namespace = resolve(
        chosen,
        reference["reference"],
        namespace=reference["namespace"],
        version=reference["model_version"],
        spec=reference["spec_path"],
    )
    return chosen, name, namespace


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address for the REST and gRPC front ends.")
@click.option("--port", default=8003, show_default=True, help="REST port (/seldon/<namespace>/<name>/...).")
@click.option(
    "--grpc-port", default=8004, show_default=True, help="gRPC port (routed by 'seldon'/'namespace' metadata)."
)
@state_dir_option
def serve(host: str, port: int, grpc_port: int, state_dir: Path | None) -> None:
    """Run the local gateway in the foreground; Ctrl-C stops it and every model process."""
    import asyncio

    from seldon_pkg.local.server import serve as run
    from seldon_pkg.local.state import StateDir

    try:
        import uvloop
    except ImportError:
        asyncio.run(run(StateDir.open(state_dir), host, port, grpc_port))
    else:
        uvloop.run(run(StateDir.open(state_dir), host, port, grpc_port))


@main.command()
@click.argument("spec", type=click.Path(exists=True, path_type=Path))
@target_option
@state_dir_option
@context_option
@click.option(
    "--replace",
    "policy",
    flag_value="replace",
    default=True,
    help="Once the new version is ready, delete the model's other versions (default).",
)
@click.option("--keep", "policy", flag_value="keep", help="Keep the model's other versions running.")
@click.option("--canary", type=canary_percent, help="k8s: send N% of the current version's traffic to this one.")
@click.option("--force", is_flag=True, help="k8s: update a same-named SeldonDeployment that is not this model's.")
@click.option("--timeout", default=300.0, show_default=True, help="k8s: seconds to wait for Available.")
@click.option("--image", help="k8s: run this image instead of the spec's (e.g. the tag `build --push` printed).")
@platform_option
def deploy(
    spec: Path,
    target: str,
    state_dir: Path | None,
    context: str | None,
    policy: str,
    canary: int | None,
    force: bool,
    timeout: float,
    image: str | None,
    platform: str | None,
) -> None:
    """Deploy SPEC and wait until it answers; print its name and prediction URL.

    On the cluster the platform (spec's `platform`, or --platform) decides what is applied:
    a SeldonDeployment or a KServe InferenceService. The local runtime serves every spec the
    same way, whatever its platform."""
    from seldon_pkg.spec.model_spec import on_platform, with_image
    from seldon_pkg.targets import DeployPolicy
    from seldon_pkg.values import VersionPolicy

    model = with_image(on_platform(checked_spec(spec), platform), image)
    outcome = _target(target, state_dir, context, model.platform).deploy(
        model, DeployPolicy(mode=VersionPolicy(policy), canary=canary, force=force, timeout=timeout)
    )
    info = outcome.info
    click.echo(
        f"deployed {info.name} ({info.model} {info.version}, {outcome.action}, {info.state}) "
        f"in namespace {info.namespace}"
    )
    click.echo(f"REST  {info.url or '(no ingress gateway found; see `seldon-pkg endpoint`)'}")
    if info.grpc:
        click.echo(f"gRPC  {info.grpc}  (metadata seldon={info.name}, namespace={info.namespace})")
    for old in outcome.replaced:
        click.echo(f"replaced {old}")
    for warning in outcome.warnings:
        click.echo(f"warning: {warning}", err=True)


LIST_COLUMNS = ("name", "model", "version", "namespace", "platform", "state", "url")
WIDE_COLUMNS = (
    "name",
    "model",
    "version",
    "namespace",
    "target",
    "platform",
    "protocol",
    "state",
    "revision",
    "replicas",
    "restarts",
    "age_seconds",
    "url",
    "grpc",
)


@main.command(name="list")
@click.option(
    "--output", "-o", type=click.Choice(["table", "wide", "json", "yaml"]), default="table", show_default=True
)
@target_option
@state_dir_option
@context_option
@namespace_option
@platform_option
@click.option("--all-namespaces", "-A", is_flag=True, help="Every namespace (the local target always lists all).")
def list_(
    output: str,
    target: str,
    state_dir: Path | None,
    context: str | None,
    namespace: str | None,
    platform: str | None,
    all_namespaces: bool,
) -> None:
    """List deployments with their state and URL (the same fields on every target); on a
    cluster, those of one platform (--platform, default seldon)."""
    import json

    chosen = _target(target, state_dir, context, platform)
    rows = [info.to_dict() for info in chosen.list(None if all_namespaces else (namespace or chosen.default_namespace))]
    if output == "json":
        click.echo(json.dumps(rows, indent=2))
    elif output == "yaml":
        import yaml

        click.echo(yaml.safe_dump(rows, sort_keys=False), nl=False)
    else:
        from seldon_pkg.tables import render_table

        click.echo(render_table(rows, LIST_COLUMNS if output == "table" else WIDE_COLUMNS))


@main.command()
@_with(reference_options)
@click.option("--ignore-not-found", is_flag=True, help="Exit 0 when there is nothing to delete.")
def delete(ignore_not_found: bool, **reference: Any) -> None:
    """Delete a deployment: REFERENCE is its name, a model name, or a spec (see docs/getting-started.md).

    A deployment that does not exist is an error (exit 3) on every target, unless
    --ignore-not-found."""

    try:
        chosen, name, namespace = _referenced(reference)
        outcome = chosen.delete(name, namespace)
    except NotFound as error:
        if not ignore_not_found:
            raise
        click.echo(f"nothing to delete: {error}")
        return
    for message in outcome.messages:
        click.echo(message)
    for warning in outcome.warnings:
        click.echo(f"warning: {warning}", err=True)


@main.command()
@_with(reference_options)
@click.option("--grpc", "show_grpc", is_flag=True, help="Print the gRPC endpoint instead of the REST URL.")
def endpoint(show_grpc: bool, **reference: Any) -> None:
    """Print the prediction URL of a deployment (through the ingress on k8s), then any header a
    client must send, one `Name: value` a line (KServe routes on the Host header)."""
    chosen, name, namespace = _referenced(reference)
    found = chosen.endpoint(name, namespace)
    click.echo(found.grpc if show_grpc else found.rest)
    for header, value in found.headers.items():
        click.echo(f"{header}: {value}")


@main.command()
@_with(reference_options)
@click.option("--follow", "-f", is_flag=True, help="Keep printing new lines (Ctrl-C stops).")
@click.option("--tail", type=click.IntRange(1), help="Only the last N lines.")
def logs(follow: bool, tail: int | None, **reference: Any) -> None:
    """Print a deployment's model log (locally its process's; on a cluster its pods')."""
    chosen, name, namespace = _referenced(reference)
    try:
        for line in chosen.logs(name, namespace, tail=tail, follow=follow):
            click.echo(line)
    except KeyboardInterrupt:
        pass


@main.command()
@_with(reference_options)
@click.option("--output", "-o", type=click.Choice(["text", "json", "yaml"]), default="text", show_default=True)
def describe(output: str, **reference: Any) -> None:
    """Everything about one deployment: state, restarts, the model's own error, URLs, processes."""
    import json

    import yaml

    chosen, name, namespace = _referenced(reference)
    detail = json.loads(json.dumps(chosen.describe(name, namespace), default=str))
    if output == "json":
        click.echo(json.dumps(detail, indent=2))
        return
    if output == "yaml":
        click.echo(yaml.safe_dump(detail, sort_keys=False), nl=False)
        return
    from seldon_pkg.tables import printable

    if detail.get("model_error"):
        click.echo(f"model error: {printable(detail['model_error'])}")
    for key, value in detail.items():
        if key != "model_error" and not isinstance(value, (dict, list)):
            click.echo(f"{key}: {printable(value)}")
    for key, value in detail.items():
        if isinstance(value, (dict, list)) and value:
            click.echo(f"{key}:")
            click.echo("  " + yaml.safe_dump(value, sort_keys=False).rstrip().replace("\n", "\n  "))


@main.command()
@click.option(
    "--namespace", "-n", "namespaces", multiple=True, help="Namespace to clean (repeat; default: the context's)."
)
@click.option("--keep-last", type=click.IntRange(0), help="Also delete each model's revisions beyond the newest N.")
@click.option("--yes", is_flag=True, help="Delete; without it prune only prints what it would delete.")
@click.option("--target", type=click.Choice(["k8s"]), default="k8s", show_default=True)
@context_option
@platform_option
def prune(
    namespaces: tuple[str, ...],
    keep_last: int | None,
    yes: bool,
    target: str,
    context: str | None,
    platform: str | None,
) -> None:
    """Find zombie pods/services/workloads and old revisions of one platform's deployments
    (--platform, default: the default platform); delete them with --yes."""
    from seldon_pkg.k8s.api_errors import api_errors
    from seldon_pkg.k8s.cleanup import prune as prune_k8s
    from seldon_pkg.k8s.connection import connect

    chosen = platform_named(platform) if platform else DEFAULT_PLATFORM
    chosen.require_cluster_verb("prune")
    with api_errors():
        cluster = connect(context)
        report = prune_k8s(
            cluster, list(namespaces) or [cluster.default_namespace], keep_last=keep_last, yes=yes, platform=chosen
        )
    verb = "deleted" if yes else "would delete"
    for zombie in report.zombies:
        click.echo(f"{verb} {zombie}")
    for old in report.old_revisions:
        click.echo(
            f"{verb} {chosen.resource.kind} {old['metadata']['namespace']}/{old['metadata']['name']} (old revision)"
        )
    if not report.zombies and not report.old_revisions:
        click.echo("nothing to prune")
    elif not yes:
        click.echo("(dry run: pass --yes to delete)")


@main.command()
@click.option("--quick", is_flag=True, help="A third of the requests per measurement (for trying it out).")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("bench"),
    show_default=True,
    help="Folder for results.json, REPORT.md, chart.png (and work/ caches).",
)
@click.option(
    "--soak",
    "soak_minutes",
    type=click.FloatRange(min=1),
    default=None,
    metavar="MINUTES",
    help="Run only the soak (sustained load, memory and file descriptors over time) for MINUTES; "
    "its figures go into OUT/results.json beside the last full run's.",
)
@click.option(
    "--soak-baseline/--no-soak-baseline",
    default=True,
    show_default=True,
    help="Soak a stack without worker recycling alongside, as the before figure.",
)
def bench(quick: bool, out: Path, soak_minutes: float | None, soak_baseline: bool) -> None:
    """Run the benchmark; writes OUT/results.json, OUT/REPORT.md and OUT/chart.png."""
    if soak_minutes is not None:
        from seldon_pkg.bench.soak import record

        record(soak_minutes, out, baseline=soak_baseline)
        return
    from seldon_pkg.bench.run import main as run_bench

    run_bench(quick=quick, out=out)


@main.command()
@click.option(
    "--endpoint",
    default="http://127.0.0.1:8003",
    show_default=True,
    help="Seldon endpoint: the local gateway or a cluster ingress (`seldon-pkg endpoint`).",
)
@click.option(
    "--model", "models", multiple=True, help="Seldon-protocol deployment to show (repeat; default: the demo models)."
)
@click.option("--oip-model", "oip_models", multiple=True, help="Open Inference Protocol deployment to show (repeat).")
@namespace_option
@click.option("--token", help="Bearer token for a cluster gateway.")
@click.option("--port", default=8880, show_default=True)
def demo(
    endpoint: str,
    models: tuple[str, ...],
    oip_models: tuple[str, ...],
    namespace: str | None,
    token: str | None,
    port: int,
) -> None:
    """Serve the MNIST drawing board, forwarding drawings to the given deployments."""
    from demo_mnist.board import main as board

    args = ["--endpoint", endpoint, "--port", str(port), "--namespace", namespace or "default"]
    args += [item for model in models for item in ("--model", model)]
    args += [item for model in oip_models for item in ("--oip-model", model)]
    board(args + (["--token", token] if token else []))


if __name__ == "__main__":
    main()
