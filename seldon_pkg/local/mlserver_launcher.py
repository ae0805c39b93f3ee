"""Run ``mlserver start FOLDER`` under the local gateway: one OIP model, or a shared server.

Executed by file path with the model environment's interpreter (MLServer and model_wrappers on
the path, no seldon_pkg). MLServer binds what ``FOLDER/settings.json`` says (the gateway writes
``host: 127.0.0.1``). This launcher adds the orphan watch, so the server stops when its gateway
does, and, before MLServer configures its logging, gives each model's output a copy in that
model's own log (model_wrappers.model_logs: only models whose settings name a log file, i.e.
models in a shared server, get one; for a single model it copies nothing).

Usage: python mlserver_launcher.py FOLDER
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
