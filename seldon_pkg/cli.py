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


if __name__ == "__main__":
    main()
