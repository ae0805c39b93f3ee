"""The ``seldon-pkg`` command line: each command is a few lines over library functions."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click

from seldon_pkg import __version__
from seldon_pkg.errors import SeldonPkgError


class _Group(click.Group):
    """Prints library errors as one line (exit 2) instead of a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except SeldonPkgError as error:
            click.echo(f"error: {error}", err=True)
            sys.exit(2)


@click.group(cls=_Group)
@click.version_option(__version__, prog_name="seldon-pkg")
def main() -> None:
    """Package, serve and deploy models with Seldon Core, many side by side."""


@main.command()
@click.argument("spec", type=click.Path(exists=True, path_type=Path))
@click.option("--canary", "canary_spec", type=click.Path(exists=True, path_type=Path),
              help="Spec of another version of the same model to run as a canary.")
@click.option("--traffic", type=click.IntRange(1, 99), default=90, show_default=True,
              help="With --canary: percent of traffic kept on SPEC; the canary gets the rest.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write to a file instead of stdout.")
def render(spec: Path, canary_spec: Path | None, traffic: int, out: Path | None) -> None:
    """Print the validated SeldonDeployment manifest for SPEC."""
    from seldon_pkg import manifests, schema
    from seldon_pkg.spec import load_spec

    stable = load_spec(spec)
    if canary_spec is None:
        manifest = manifests.seldon_deployment(stable)
    else:
        manifest = manifests.canary_deployment(stable, load_spec(canary_spec), 100 - traffic)
    schema.validate(manifest)
    text = manifests.to_yaml(manifest)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
        click.echo(f"wrote {out}", err=True)
    else:
        click.echo(text, nl=False)


@main.command()
@click.argument("spec", type=click.Path(exists=True, path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for the build context (replaced).")
@click.option("--image", help="Image tag (default: the spec's image).")
def build(spec: Path, out: Path, image: str | None) -> None:
    """Write a Docker build context for SPEC; build it when a Docker engine answers."""
    from seldon_pkg.packaging import docker_available, write_context
    from seldon_pkg.spec import load_spec

    context = write_context(load_spec(spec), out, image)
    click.echo(f"build context: {context.directory}")
    click.echo("requirements: " + ", ".join(context.requirements))
    command = " ".join(context.docker_command)
    if docker_available():
        click.echo(f"running: {command}")
        sys.exit(subprocess.call(context.docker_command))
    click.echo(f"no Docker engine answers here; build it with:\n  {command}")


@main.command()
@click.argument("name")
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path),
              help="Folder to create (default: ./NAME).")
def init(name: str, directory: Path | None) -> None:
    """Scaffold a new model: wrapper class, spec file and a passing test."""
    from seldon_pkg.scaffold import scaffold

    for path in scaffold(name, directory or Path(name)):
        click.echo(f"created {path}")


# ---- the local runtime ----------------------------------------------------------------------

state_dir_option = click.option(
    "--state-dir", type=click.Path(file_okay=False, path_type=Path), envvar="SELDON_PKG_STATE_DIR",
    help="Local runtime state folder (default $SELDON_PKG_STATE_DIR or ~/.seldon-pkg).",
)
target_option = click.option("--target", type=click.Choice(["local"]), default="local", show_default=True,
                             help="Where the command acts.")
namespace_option = click.option("--namespace", "-n", help="Namespace of the deployment (when a name is ambiguous).")


def _local_client(state_dir: Path | None):
    from seldon_pkg.local.client import LocalClient
    from seldon_pkg.local.state import StateDir

    return LocalClient(StateDir.open(state_dir))


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address for the REST and gRPC front ends.")
@click.option("--port", default=8003, show_default=True, help="REST port (/seldon/<namespace>/<name>/...).")
@click.option("--grpc-port", default=8004, show_default=True, help="gRPC port (routed by 'seldon'/'namespace' metadata).")
@state_dir_option
def serve(host: str, port: int, grpc_port: int, state_dir: Path | None) -> None:
    """Run the local gateway in the foreground; Ctrl-C stops it and every model process."""
    import asyncio

    from seldon_pkg.local.server import serve as run
    from seldon_pkg.local.state import StateDir

    asyncio.run(run(StateDir.open(state_dir), host, port, grpc_port))


@main.command()
@click.argument("spec", type=click.Path(exists=True, path_type=Path))
@target_option
@state_dir_option
def deploy(spec: Path, target: str, state_dir: Path | None) -> None:
    """Deploy SPEC and wait until it answers; print its name and prediction URL."""
    result = _local_client(state_dir).deploy(spec)
    click.echo(f"deployed {result['name']} ({result['model']} {result['version']}, {result['state']})")
    click.echo(f"REST  {result['url']}")
    click.echo(f"gRPC  {result['grpc']}  (metadata seldon={result['name']}, namespace={result['namespace']})")


@main.command(name="list")
@click.option("--output", "-o", type=click.Choice(["table", "json"]), default="table", show_default=True)
@target_option
@state_dir_option
def list_(output: str, target: str, state_dir: Path | None) -> None:
    """List deployments with their state and URL."""
    import json

    rows = _local_client(state_dir).list()
    if output == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    columns = ("name", "model", "version", "namespace", "state", "restarts", "url")
    table = [columns] + [tuple(str(row[c]) for c in columns) for row in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(columns))]
    for line in table:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip())


@main.command()
@click.argument("name")
@namespace_option
@target_option
@state_dir_option
def delete(name: str, namespace: str | None, target: str, state_dir: Path | None) -> None:
    """Delete deployment NAME and stop its process."""
    _local_client(state_dir).delete(name, namespace)
    click.echo(f"deleted {name}")


@main.command()
@click.argument("name")
@namespace_option
@click.option("--grpc", "show_grpc", is_flag=True, help="Print the gRPC endpoint instead of the REST URL.")
@target_option
@state_dir_option
def endpoint(name: str, namespace: str | None, show_grpc: bool, target: str, state_dir: Path | None) -> None:
    """Print the prediction URL of deployment NAME."""
    found = _local_client(state_dir).find(name, namespace)
    click.echo(found["grpc"] if show_grpc else found["url"])


@main.command()
@click.option("--endpoint", default="http://127.0.0.1:8003", show_default=True,
              help="Seldon endpoint: the local gateway or a cluster ingress (`seldon-pkg endpoint`).")
@click.option("--model", "models", multiple=True, required=True, help="Deployment name to show (repeat).")
@namespace_option
@click.option("--token", help="Bearer token for a cluster gateway.")
@click.option("--port", default=8880, show_default=True)
def demo(endpoint: str, models: tuple[str, ...], namespace: str | None, token: str | None, port: int) -> None:
    """Serve the MNIST drawing board, forwarding drawings to the given deployments."""
    from demo_mnist.board import main as board

    args = ["--endpoint", endpoint, "--port", str(port), "--namespace", namespace or "default"]
    args += [item for model in models for item in ("--model", model)]
    board(args + (["--token", token] if token else []))


if __name__ == "__main__":
    main()
