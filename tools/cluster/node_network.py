"""The real node's network: one Linux bridge with the node's address, the pods behind it.

Pods get addresses from ``NODE_SUBNET`` on ``BRIDGE`` (CNI's bridge plugin, host-local IPAM)
with ``isGateway: false`` and ``ipMasq: false``: the plugin gives pods no default route and adds
no NAT, and the host's ``ip_forward`` is never touched, so a pod cannot send a packet off the
machine. The service range is routed onto the same bridge, so a ClusterIP that kube-proxy has
not (yet) translated stays on the bridge instead of following the host's default route.

Everything here is undone by :func:`remove`: deleting the bridge deletes its address and routes;
the pods' veth pairs die with their network namespaces (and are deleted here if one is left).
"""

from __future__ import annotations

import json
import shlex
import subprocess
from pathlib import Path

BRIDGE = "seldonpkg0"
NODE_SUBNET = "10.245.0.0/24"
NODE_IP = "10.245.0.1"
PREFIX = 24
CNI_NETWORK = "seldon-pkg"
CNI_BIN = Path("/usr/lib/cni")
KUBE_CHAIN_PREFIXES = ("KUBE-",)
TABLES = ("filter", "nat", "mangle", "raw")


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


def bridge_exists() -> bool:
    return _ip("link", "show", BRIDGE, check=False).returncode == 0


def create(service_cidr: str) -> None:
    """The bridge with the node's address and the service range's route (fails when it exists:
    another real node runs on this machine)."""
    _ip("link", "add", BRIDGE, "type", "bridge")
    try:
        _ip("addr", "add", f"{NODE_IP}/{PREFIX}", "dev", BRIDGE)
        _ip("link", "set", BRIDGE, "up")
        _ip("route", "add", service_cidr, "dev", BRIDGE, "src", NODE_IP)
    except subprocess.CalledProcessError:
        remove()
        raise


def attached_links() -> list[str]:
    """The interfaces whose master is the bridge (the host ends of the pods' veth pairs)."""
    done = _ip("-j", "link", "show", "master", BRIDGE, check=False)
    if done.returncode != 0 or not done.stdout.strip():
        return []
    return [link["ifname"] for link in json.loads(done.stdout)]


def remove() -> None:
    for link in attached_links():
        _ip("link", "del", link, check=False)
    if bridge_exists():
        _ip("link", "del", BRIDGE, check=False)


def cni_config(ipam_dir: Path) -> dict:
    """The CNI network list containerd's CRI plugin loads (cniVersion 0.4.0: Debian's plugins)."""
    return {
        "cniVersion": "0.4.0",
        "name": CNI_NETWORK,
        "plugins": [
            {
                "type": "bridge",
                "bridge": BRIDGE,
                "isGateway": False,
                "ipMasq": False,
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": NODE_SUBNET, "rangeStart": "10.245.0.10"}]],
                    "dataDir": str(ipam_dir),
                },
            }
        ],
    }


def kube_chains() -> set[tuple[str, str]]:
    """(table, chain) of every ``KUBE-*`` chain in the host's IPv4 and IPv6 tables."""
    found: set[tuple[str, str]] = set()
    for save in ("iptables-save", "ip6tables-save"):
        for table in TABLES:
            done = subprocess.run([save, "-t", table], capture_output=True, text=True, check=False)
            for line in done.stdout.splitlines():
                if line.startswith(":") and line[1:].startswith(KUBE_CHAIN_PREFIXES):
                    found.add((f"{save.removesuffix('-save')}:{table}", line[1:].split()[0]))
    return found


def drop_chains(chains: set[tuple[str, str]]) -> None:
    """Delete ``chains``: first every rule that jumps to one of them, then their rules, then them."""
    by_table: dict[str, set[str]] = {}
    for where, chain in chains:
        by_table.setdefault(where, set()).add(chain)
    for where, names in by_table.items():
        tool, table = where.split(":")
        listing = subprocess.run([f"{tool}-save", "-t", table], capture_output=True, text=True, check=False).stdout
        for line in listing.splitlines():
            if line.startswith("-A "):
                parts = shlex.split(line)
                jump = parts[parts.index("-j") + 1] if "-j" in parts else None
                if jump in names and parts[1] not in names:
                    subprocess.run([tool, "-t", table, "-D", *parts[1:]], capture_output=True, check=False)
        for chain in names:
            subprocess.run([tool, "-t", table, "-F", chain], capture_output=True, check=False)
        for chain in names:
            subprocess.run([tool, "-t", table, "-X", chain], capture_output=True, check=False)
