"""Run ``seldon-core-microservice`` with every server bound to 127.0.0.1 (and no idle IPC).

seldon-core 1.17.1 hard-codes ``0.0.0.0`` for its REST (gunicorn), gRPC and metrics servers,
which would expose every local model to the network. This launcher is executed *by file path*
with the model environment's interpreter (that environment has seldon-core but not
seldon_pkg), rewrites the three bind addresses, then calls seldon-core's own ``main()`` with
the usual arguments. Each patch checks that the thing it patches exists, so a seldon-core
upgrade that moves them fails loudly at start instead of silently binding everywhere.

Usage: python loopback.py Module.Class --service-type MODEL --http-port N --grpc-port N ...
Environment: SELDON_PKG_BIND_HOST (default 127.0.0.1).
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys

try:  # run by file path in the model's environment: the sibling modules are importable as is
    from memory_trace import trace_if_asked
    from orphan_watch import stop_group_when_orphaned
except ImportError:  # imported as part of seldon_pkg (tests, tools)
    from seldon_pkg.local.memory_trace import trace_if_asked
    from seldon_pkg.local.orphan_watch import stop_group_when_orphaned

HOST = os.environ.get("SELDON_PKG_BIND_HOST", "127.0.0.1")


def _rebind(address: str) -> str:
    host, _, port = address.rpartition(":")
    if host not in ("0.0.0.0", "", "[::]"):
        return address
    return f"{HOST}:{port}"


def patch_seldon() -> None:
    from seldon_core import microservice, wrapper

    for name in ("UserModelApplication", "StandaloneApplication", "_reserve_grpc_port"):
        if not hasattr(microservice, name):
            raise RuntimeError(f"seldon_core.microservice.{name} is missing: unsupported seldon-core version")
    if not hasattr(wrapper, "get_grpc_server"):
        raise RuntimeError("seldon_core.wrapper.get_grpc_server is missing: unsupported seldon-core version")

    def loopback_application(base):
        class Loopback(base):  # type: ignore[valid-type, misc]  # gunicorn's class, chosen at run time
            def load_config(self):
                if self.options and "bind" in self.options:
                    self.options["bind"] = _rebind(self.options["bind"])
                super().load_config()

        Loopback.__name__ = f"Loopback{base.__name__}"
        return Loopback

    microservice.UserModelApplication = loopback_application(microservice.UserModelApplication)
    microservice.StandaloneApplication = loopback_application(microservice.StandaloneApplication)

    @contextlib.contextmanager
    def reserve_loopback_port(grpc_port: int):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((HOST, grpc_port))
        try:
            yield sock.getsockname()[1]
        finally:
            sock.close()

    microservice._reserve_grpc_port = reserve_loopback_port

    original_get_grpc_server = wrapper.get_grpc_server

    def get_loopback_grpc_server(*args, **kwargs):
        server = original_get_grpc_server(*args, **kwargs)
        add_insecure_port = server.add_insecure_port
        server.add_insecure_port = lambda address: add_insecure_port(_rebind(address))
        return server

    wrapper.get_grpc_server = get_loopback_grpc_server


def skip_empty_metric_updates() -> None:
    """Seldon writes custom metrics to a multiprocessing.Manager dict after every request, even
    when there are none: four IPC round trips (~0.5 ms) per request for nothing. Skip those.
    And a metrics store that cannot be reached costs the metrics, never the prediction: the
    error is logged (once per process) instead of turning the answer into a 500."""
    from seldon_core import metrics

    if not hasattr(metrics.SeldonMetrics, "update"):
        raise RuntimeError("seldon_core.metrics.SeldonMetrics.update is missing: unsupported seldon-core version")
    original = metrics.SeldonMetrics.update
    reported = False

    def update(self, custom_metrics, method):
        nonlocal reported
        if not custom_metrics:
            return
        try:
            original(self, custom_metrics, method)
        except (OSError, EOFError) as error:  # the Manager process is gone or its pipe broke
            if not reported:
                reported = True
                print(f"seldon-pkg: custom metrics not recorded: {error!r}", file=sys.stderr, flush=True)

    metrics.SeldonMetrics.update = update


def fewer_processes() -> None:
    """Run the metrics server and a single gRPC worker without their extra processes.

    seldon-core starts the metrics endpoint as a second gunicorn (master + worker) and, even for
    one gRPC worker, a manager process that forks the worker. Locally, a threaded werkzeug
    server for ``/metrics`` and the gRPC server in its own process are enough: two processes
    and about 30 MiB less per model, with the same ports and endpoints.
    """
    from seldon_core import microservice, wrapper

    for name in ("_make_rest_metrics_server", "_make_grpc_server", "_run_grpc_server"):
        if not hasattr(microservice, name):
            raise RuntimeError(f"seldon_core.microservice.{name} is missing: unsupported seldon-core version")
    original_grpc = microservice._make_grpc_server

    def make_metrics_server(seldon_metrics, args):
        def server() -> None:
            from werkzeug.serving import make_server

            app = wrapper.get_metrics_microservice(seldon_metrics)
            make_server(HOST, args.metrics_port, app, threaded=True).serve_forever()

        return server

    def make_grpc_server(user_object, seldon_metrics, args, annotations):
        if args.grpc_workers != 1:
            return original_grpc(user_object, seldon_metrics, args, annotations)

        def server() -> None:
            microservice._run_grpc_server(user_object, seldon_metrics, args, annotations, f"{HOST}:{args.grpc_port}")

        return server

    microservice._make_rest_metrics_server = make_metrics_server
    microservice._make_grpc_server = make_grpc_server


def main() -> None:
    trace_if_asked()
    stop_group_when_orphaned()
    patch_seldon()
    skip_empty_metric_updates()
    fewer_processes()
    from seldon_core import microservice

    sys.argv = ["seldon-core-microservice", *sys.argv[1:]]
    launcher = os.getpid()
    try:
        microservice.main()
    finally:
        # The REST server has stopped or failed to start (e.g. its port was taken). End the gRPC
        # and metrics processes too: multiprocessing would otherwise wait for them at exit, and
        # the gateway would see a process that neither serves nor exits. Only in the launcher:
        # a gunicorn worker leaving (recycled after max_requests) unwinds through here too, and
        # inherited the launcher's list of children; terminating them from the worker killed
        # the metrics Manager, gRPC and metrics processes every other worker relies on.
        if os.getpid() == launcher:
            import multiprocessing

            for child in multiprocessing.active_children():
                child.terminate()


if __name__ == "__main__":
    main()
