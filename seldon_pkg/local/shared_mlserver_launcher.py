"""Run ``mlserver start FOLDER`` as a shared multi-model server under the local gateway.

Executed by file path with the model environment's interpreter (MLServer and model_wrappers on
the path, no seldon_pkg). Before MLServer configures its logging, each model's output is given
a copy in that model's own log (model_wrappers.model_logs); the orphan watch stops the server
when its gateway goes.

Usage: python shared_mlserver_launcher.py FOLDER
"""

from __future__ import annotations

import sys

try:
    from memory_trace import trace_if_asked
    from orphan_watch import stop_group_when_orphaned
except ImportError:
    from seldon_pkg.local.memory_trace import trace_if_asked
    from seldon_pkg.local.orphan_watch import stop_group_when_orphaned


def main() -> None:
    trace_if_asked()
    stop_group_when_orphaned()
    from model_wrappers import model_logs

    model_logs.install()
    from mlserver.cli.main import main as mlserver_main

    sys.argv = ["mlserver", "start", sys.argv[1]]
    mlserver_main()


if __name__ == "__main__":
    main()
