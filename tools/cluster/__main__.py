"""``python -m tools.cluster build|up|down|status`` (the make targets cluster-tools, cluster-up, cluster-down)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tools.cluster import build

DEFAULT_FOLDER = Path(__file__).resolve().parents[2] / ".cluster"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.cluster", description=__doc__)
    parser.add_argument("command", choices=("build", "up", "down", "status"))
    parser.add_argument("--folder", type=Path, default=DEFAULT_FOLDER, help="state folder (default .cluster/)")
    parser.add_argument("--no-node", action="store_true", help="no real node: the control plane and kwok's nodes only")
    args = parser.parse_args(argv)
    if args.command == "build":  # needs nothing but the standard library (make install runs it early)
        return build.main([])
    from tools.cluster.controlplane import AlreadyRunning, ControlPlane
    from tools.cluster.processes import StartFailed

    plane = ControlPlane(args.folder, node=not args.no_node)
    if args.command == "up":
        try:
            plane.up()
        except AlreadyRunning as error:
            print(error)
            print(f"export KUBECONFIG={plane.kubeconfig}")
            return 0
        except build.GoMissing as error:
            print(f"error: {error}", file=sys.stderr)
            return 3
        except StartFailed as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        memory = plane.memory_mib()
        print(
            f"control plane memory (PSS): {sum(memory.values()):.0f} MiB ({', '.join(f'{k} {v:.0f}' for k, v in memory.items())})"
        )
        if plane.node:
            node = plane.node_memory_mib()
            print(
                f"real node memory (PSS): {sum(node.values()):.0f} MiB ({', '.join(f'{k} {v:.0f}' for k, v in node.items())})"
            )
        print(f"export KUBECONFIG={plane.kubeconfig}")
        return 0
    if args.command == "down":
        stopped = plane.down()
        print(f"stopped {', '.join(stopped)}" if stopped else "no embedded control plane was running")
        return 0
    if plane.load():
        print(f"running: {plane.server}  (export KUBECONFIG={plane.kubeconfig})")
        return 0
    print("not running")
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
