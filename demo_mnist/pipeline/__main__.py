"""``python -m demo_mnist.pipeline compile|run``: write the pipeline spec, or run it locally.

``compile [--out FILE]`` writes KFP's pipeline spec YAML (default: the committed
``demo_mnist/pipeline/mnist-pipeline.yaml``). ``run`` runs that committed spec with KFP's local
runner (``kfp.local.SubprocessRunner``, steps in this interpreter) and prints the pipeline's
output, the prediction URL, as the last line; a failed run exits 1 naming the task that failed.
Pipeline parameters are ``--set name=value`` (``--set threshold=0.95 --set target=k8s``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SPEC = HERE / "mnist-pipeline.yaml"


def compile_spec(out: Path) -> None:
    from kfp import compiler

    from demo_mnist.pipeline.pipeline import mnist_pipeline

    compiler.Compiler().compile(mnist_pipeline, str(out))


def run(spec: Path, arguments: dict[str, str], pipeline_root: Path, caching: bool) -> str:
    from kfp import components, local

    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(pipeline_root), enable_caching=caching)
    pipeline = components.load_component_from_file(str(spec))
    types = {name: parameter.type for name, parameter in pipeline.component_spec.inputs.items()}
    unknown = sorted(set(arguments) - set(types))
    if unknown:
        raise SystemExit(f"unknown pipeline parameter(s) {', '.join(unknown)}; it has {', '.join(sorted(types))}")
    typed = {name: PARSERS.get(types[name], str)(value) for name, value in arguments.items()}
    return pipeline(**typed).output


PARSERS = {"Integer": int, "Float": float, "Boolean": lambda text: text.lower() in ("1", "true", "yes")}
"""``--set`` values are text; the spec's parameter types say what each becomes (KFP checks them)."""


def _argument(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"expected name=value, got {text!r}")
    return name, value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo_mnist.pipeline", description=__doc__.splitlines()[0])
    verbs = parser.add_subparsers(dest="verb", required=True)
    compiling = verbs.add_parser("compile", help="write the pipeline spec YAML")
    compiling.add_argument("--out", type=Path, default=SPEC)
    running = verbs.add_parser("run", help="run the pipeline spec with KFP's local runner")
    running.add_argument("--spec", type=Path, default=SPEC, help="pipeline spec YAML (default: the committed one)")
    running.add_argument("--set", dest="arguments", type=_argument, action="append", default=[], metavar="NAME=VALUE")
    running.add_argument("--pipeline-root", type=Path, default=Path("kfp-outputs"), help="where task outputs go")
    running.add_argument("--cache", action="store_true", help="reuse cached outputs of steps that allow it")
    args = parser.parse_args(argv)
    if args.verb == "compile":
        compile_spec(args.out)
        print(f"wrote {args.out}")
        return 0
    try:
        url = run(args.spec, dict(args.arguments), args.pipeline_root, args.cache)
    except RuntimeError as error:
        print(f"pipeline failed: {error}", file=sys.stderr)
        return 1
    print(url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
