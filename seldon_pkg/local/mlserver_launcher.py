"""Run ``mlserver start FOLDER`` for one Open Inference Protocol model under the local gateway.

Executed by file path with the model environment's interpreter (MLServer, no seldon_pkg).
MLServer binds what ``FOLDER/settings.json`` says (the gateway writes ``host: 127.0.0.1``); this
launcher only adds the orphan watch, so the model stops when its gateway does.

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
    from mlserver.cli.main import main as mlserver_main

    sys.argv = ["mlserver", "start", sys.argv[1]]
    mlserver_main()


if __name__ == "__main__":
    main()
