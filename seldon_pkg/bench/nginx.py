"""A plain nginx hop: the reference the gateway's own hop is measured against.

"The gateway adds X ms" means little alone: every proxy adds something. Debian's nginx (the
``nginx-light`` package, which ``make install`` installs when it can) in front of the SAME model
process the gateway fronts gives the figure to compare with, measured in the same paired rounds.

nginx runs with its own config in a temporary folder: loopback only, ``daemon off`` (so the
bench owns the process and stops it), its own pid file, error log and temp paths (nothing under
/var or /etc is read or written), one worker (the gateway is one process too), HTTP/1.1
keep-alive connections to the upstream (as the gateway keeps its pool), and no access log (the
gateway writes none per request either). gRPC goes through ``grpc_pass`` on an h2c listener.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from seldon_pkg.bench.stack import stop
from seldon_pkg.local.ostools import free_ports
from seldon_pkg.local.waiting import answers_200, wait_until_ready

DEBIAN_NGINX = Path("/usr/sbin/nginx")
INSTALL_HINT = "install Debian's nginx-light (`make install` does as root; else `sudo apt-get install nginx-light`)"


def find_nginx() -> Path | None:
    """``$NGINX``, else nginx on the PATH, else Debian's /usr/sbin/nginx (not on a user's PATH)."""
    named = os.environ.get("NGINX")
    if named:
        return Path(named) if os.access(named, os.X_OK) else None
    found = shutil.which("nginx")
    if found:
        return Path(found)
    return DEBIAN_NGINX if os.access(DEBIAN_NGINX, os.X_OK) else None


def config(folder: Path, *, listen_http: int, upstream_http: int, listen_grpc: int, upstream_grpc: int) -> str:
    """nginx.conf text for a loopback hop in front of one model process (REST and gRPC).

    Bodies up to 16 MiB stay in memory (``client_body_buffer_size``), so no request is written to
    a temp file: the hop measured is the proxying, not a disk write.
    """
    temp = {name: folder / name for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")}
    user = "user root root;\n" if os.geteuid() == 0 else ""  # as root, workers would be nobody: keep the folder ours
    return f"""{user}worker_processes 1;
daemon off;
pid {folder / "nginx.pid"};
error_log {folder / "error.log"} warn;
events {{
    worker_connections 1024;
}}
http {{
    access_log off;
    client_body_temp_path {temp["client_body"]};
    proxy_temp_path {temp["proxy"]};
    fastcgi_temp_path {temp["fastcgi"]};
    uwsgi_temp_path {temp["uwsgi"]};
    scgi_temp_path {temp["scgi"]};
    client_max_body_size 16m;
    client_body_buffer_size 16m;
    keepalive_requests 1000000;
    upstream model_http {{
        server 127.0.0.1:{upstream_http};
        keepalive 32;
    }}
    upstream model_grpc {{
        server 127.0.0.1:{upstream_grpc};
        keepalive 32;
    }}
    server {{
        listen 127.0.0.1:{listen_http};
        location / {{
            proxy_pass http://model_http;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
    }}
    server {{
        listen 127.0.0.1:{listen_grpc} http2;
        location / {{
            grpc_pass grpc://model_grpc;
        }}
    }}
}}
"""


@dataclass(frozen=True)
class NginxHop:
    """A running hop: where to send REST and gRPC calls instead of the model process."""

    http_port: int
    grpc_port: int
    version: str


@contextlib.contextmanager
def nginx_hop(
    binary: Path, upstream_http: int, upstream_grpc: int, log: Path, ready_path: str = "/v2/health/ready"
) -> Iterator[NginxHop]:
    """nginx in front of ``127.0.0.1:upstream_http`` / ``upstream_grpc`` until the block ends;
    ready once ``ready_path`` answers 200 through it (the hop proxies, not only listens)."""
    folder = Path(tempfile.mkdtemp(prefix="bench-nginx-"))
    listen_http, listen_grpc = free_ports(2)
    conf = folder / "nginx.conf"
    conf.write_text(
        config(
            folder,
            listen_http=listen_http,
            upstream_http=upstream_http,
            listen_grpc=listen_grpc,
            upstream_grpc=upstream_grpc,
        )
    )
    version = subprocess.run([str(binary), "-v"], capture_output=True, text=True).stderr.strip()
    # -p and -e: before reading the config nginx would open /var/log/nginx/error.log otherwise
    command = [str(binary), "-p", str(folder), "-e", str(folder / "error.log"), "-c", str(conf)]
    process = subprocess.Popen(command, stdout=open(log, "wb"), stderr=subprocess.STDOUT, start_new_session=True)
    try:
        proxied = answers_200(f"http://127.0.0.1:{listen_http}{ready_path}")
        wait_until_ready(lambda: _listening(listen_grpc) and proxied(), "the nginx hop", 15, process)
        yield NginxHop(listen_http, listen_grpc, version.removeprefix("nginx version: "))
    finally:
        stop(process)
        with contextlib.suppress(OSError):
            shutil.copy(folder / "error.log", log.with_suffix(".error.log"))
        shutil.rmtree(folder, ignore_errors=True)


def _listening(port: int) -> bool:
    import socket

    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0
