"""Loopback ports and process groups: the two OS facts the runtime, the bench and the tests share."""

from __future__ import annotations

import os
import socket

import psutil


def free_ports(count: int) -> list[int]:
    """``count`` distinct ports nothing listens on right now on 127.0.0.1.

    The sockets are held open together so the OS cannot hand out the same port twice; the
    ports can still be taken before the caller binds them (the gateway retries that case).
    """
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def free_port() -> int:
    return free_ports(1)[0]


def group_members(leader: int) -> list[psutil.Process]:
    """Every live (non-zombie) process of the process group led by ``leader``: one model's
    gunicorn master and workers, gRPC and metrics processes."""
    members = []
    for proc in psutil.process_iter():
        try:
            if os.getpgid(proc.pid) == leader and proc.status() != psutil.STATUS_ZOMBIE:
                members.append(proc)
        except (ProcessLookupError, psutil.Error):
            continue
    return members
