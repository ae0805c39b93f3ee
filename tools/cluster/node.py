"""The embedded cluster's real node: containerd + runc, the pod bridge, a kubelet, kube-proxy and
a local image registry, beside kwok's fake nodes.

``up`` (called by the control plane once the API server and controllers answer) creates the
bridge, starts the registry on 127.0.0.1, containerd, imports our pause image, starts the kubelet
and kube-proxy, and returns when the node is Ready. ``down`` stops them and removes everything
the node made: containers and their shims, mounts, the bridge and any veth left on it, the pod
cgroups, the iptables chains kube-proxy and the kubelet added, and the CNI leases.

Where the host is protected (DESIGN 8b):
* containerd and the kubelet each run in a mount namespace of their own: a tmpfs over /var/lib
  and /run (containerd) or /var/lib and /var/log (kubelet) catches what they write to fixed
  host paths (/var/lib/cni, /run/containerd, /var/lib/kubelet/device-plugins,
  /var/log/containers); in the kubelet's, read-only files over three /proc/sys entries hold the
  values it would otherwise write to the host. The kubelet's root is an rshared bind mount
  made before either starts, so the volumes it mounts there reach containerd's namespace.
* kube-proxy is told to leave conntrack and route_localnet alone (node_config).
* pods have no default route and no NAT (node_network).

One real node per machine: the bridge name, the pod range and kube-proxy's chains are global
to the host's network namespace; a second ``up`` while one runs says so and changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shlex
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from tools.cluster import build, node_config, node_network, oci_image
from tools.cluster.node_config import NODE_NAME, NodePaths
from tools.cluster.processes import Started, StartFailed, Supervisor, http_ok, stop, tail, wait_until

REGISTRY_PORT = int(os.environ.get("SELDON_PKG_REGISTRY_PORT", "5000"))
REGISTRY = f"127.0.0.1:{REGISTRY_PORT}"
"""The local registry the node pulls from: images are pushed as ``127.0.0.1:5000/<name>:<tag>``."""
DEBIAN_TOOLS = {
    "containerd": "containerd",
    "ctr": "containerd",
    "runc": "runc",
    "docker-registry": "docker-registry",
    "iptables": "iptables",
    "conntrack": "conntrack",
    "unshare": "util-linux",
}
NODE_READY_TIMEOUT = 90.0


class NodeUnavailable(StartFailed):
    """The real node cannot start here (not root, a Debian package missing, another node runs)."""


def check_host() -> None:
    if os.geteuid() != 0:
        raise NodeUnavailable("the real node needs root (containerd, network and mount namespaces, cgroups)")
    missing = sorted({package for tool, package in DEBIAN_TOOLS.items() if shutil.which(tool) is None})
    if not (node_network.CNI_BIN / "bridge").is_file():
        missing.append("containernetworking-plugins")
    if missing:
        raise NodeUnavailable(
            f"the real node needs Debian packages: {' '.join(missing)} (`make install` installs them)"
        )
    if node_network.bridge_exists():
        raise NodeUnavailable(
            f"another real node runs on this machine (bridge {node_network.BRIDGE} exists): "
            "`make cluster-down` in its checkout first (one real node per machine)"
        )


def cgroup_hierarchies() -> list[Path]:
    """Every mounted cgroup hierarchy (v1 controllers, the named systemd one, the v2 ``unified``)."""
    found = []
    for line in Path("/proc/self/mounts").read_text().splitlines():
        _, where, kind, *_ = line.split()
        if kind in ("cgroup", "cgroup2"):
            found.append(Path(where))
    return found


def pause_archive(log: Callable[[str], None]) -> Path:
    """The pause image as an OCI archive, cached beside the binaries by the binary's digest."""
    binary = build.binary("pause", "pause")
    digest = hashlib.sha256(binary.read_bytes()).hexdigest()[:16]
    archive = build.cache_root() / f"pause-image-{digest}.tar"
    if archive.is_file():
        return archive
    log(f"packing the pause image {node_config.PAUSE_IMAGE} -> {archive}")
    with tempfile.NamedTemporaryFile(dir=archive.parent, suffix=".tar") as layer:
        layer.write(oci_image.layer_from_files({"pause": (binary.read_bytes(), 0o755)}))
        layer.flush()
        oci_image.write_archive(Path(layer.name), archive, node_config.PAUSE_IMAGE, entrypoint=["/pause"])
    return archive


@dataclass
class RealNode(Supervisor):
    folder: Path
    """``<cluster>/node``: every file the node writes where a flag allows."""
    kubeconfig: Path
    ca: Path
    kubelet_certificate: tuple[Path, Path]
    kubectl_json: Callable[..., dict]
    log: Callable[[str], None] = print
    started: list[Started] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def paths(self) -> NodePaths:
        return NodePaths(self.folder)

    @property
    def state_file(self) -> Path:
        return self.folder / "state.json"

    @property
    def logs(self) -> Path:
        return self.folder / "logs"

    # ---- state -------------------------------------------------------------------------------
    def _state(self) -> dict:
        return json.loads(self.state_file.read_text()) if self.state_file.is_file() else {}

    def _save(self, **changes) -> None:
        state = {**self._state(), **changes, "processes": [p.to_json() for p in self.started]}
        self.folder.mkdir(parents=True, exist_ok=True)
        self.state_file.write_text(json.dumps(state, indent=2))

    # ---- up ----------------------------------------------------------------------------------
    def up(self, ports: dict[str, int], service_cidr: str) -> None:
        check_host()
        began = time.monotonic()
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)
        # chains that were there before are not ours to remove on the way down
        self._save(chains_before=sorted(map(list, node_network.kube_chains())), cgroups=[], root_bind=False)
        try:
            node_network.create(service_cidr)
            self._save(bridge=True)
            self._write_configs(ports)
            self._make_cgroup_root()
            self._share_kubelet_root()
            self._start_registry()
            self._start_containerd()
            self._import_pause()
            self._start_kubelet(ports)
            self._start_kube_proxy(ports)
        except BaseException:
            self.log(self.describe_failure())
            self.down()
            raise
        self.timings["node"] = time.monotonic() - began
        self.log(f"  real node {NODE_NAME} Ready in {self.timings['node']:.1f} s (registry {REGISTRY})")

    def _write_configs(self, ports: dict[str, int]) -> None:
        paths = self.paths
        for folder in (
            paths.cni_conf_dir,
            paths.cni_ipam_dir,
            paths.pod_logs,
            paths.kubelet_root,
            paths.sysctl_shadows,
        ):
            folder.mkdir(parents=True, exist_ok=True)
        (paths.cni_conf_dir / "10-seldon-pkg.conflist").write_text(
            json.dumps(node_network.cni_config(paths.cni_ipam_dir), indent=2)
        )
        paths.containerd_config.parent.mkdir(parents=True, exist_ok=True)
        paths.containerd_config.write_text(node_config.containerd_config(paths))
        hosts = paths.registry_hosts / REGISTRY
        hosts.mkdir(parents=True)
        (hosts / "hosts.toml").write_text(node_config.registry_hosts_toml(REGISTRY))
        certificate, key = self.kubelet_certificate
        paths.kubelet_config.write_text(
            node_config.kubelet_config(paths, self.ca, certificate, key, ports["kubelet"], ports["kubelet-healthz"])
        )
        paths.kube_proxy_config.write_text(
            node_config.kube_proxy_config(self.kubeconfig, ports["kube-proxy-healthz"], ports["kube-proxy-metrics"])
        )
        for name, value in node_config.SYSCTLS_KUBELET_WANTS.items():
            (paths.sysctl_shadows / name.replace("/", ".")).write_text(value + "\n")
        registry = self.folder / "registry.yml"
        registry.write_text(
            json.dumps(
                {
                    "version": 0.1,
                    "log": {"level": "warn", "accesslog": {"disabled": True}},
                    "storage": {
                        "filesystem": {"rootdirectory": str(self.folder / "registry")},
                        "delete": {"enabled": True},
                    },
                    "http": {"addr": REGISTRY, "secret": secrets.token_hex(16)},
                }
            )
        )

    def _make_cgroup_root(self) -> None:
        """``/seldon-pkg`` in every hierarchy (the kubelet refuses a cgroupRoot that is missing);
        cpuset's needs its CPUs and memory nodes copied from the root, or nothing can join it."""
        made = []
        for hierarchy in cgroup_hierarchies():
            folder = hierarchy / node_config.CGROUP_ROOT.lstrip("/")
            if not folder.is_dir():
                folder.mkdir()
                made.append(str(folder))
            for name in ("cpuset.cpus", "cpuset.mems"):
                if (hierarchy / name).is_file() and not (folder / name).read_text().strip():
                    (folder / name).write_text((hierarchy / name).read_text())
        self._save(cgroups=made)

    def _share_kubelet_root(self) -> None:
        root = str(self.paths.kubelet_root)
        subprocess.run(["mount", "--bind", root, root], check=True)
        self._save(root_bind=True)
        subprocess.run(["mount", "--make-rshared", root], check=True)

    def _start_registry(self) -> None:
        began = time.monotonic()
        proc = self._run("registry", ["docker-registry", "serve", str(self.folder / "registry.yml")])
        wait_until(proc, lambda: http_ok(f"http://{REGISTRY}/v2/"), 30, f"registry answering on {REGISTRY}")
        self._timed("registry", began)

    def _in_mount_namespace(self, setup: list[str], command: list[str]) -> list[str]:
        """``command`` in a mount namespace of its own, after ``setup`` (shell lines) ran there.
        The mounts that hold what ``setup`` mounts over are made private first, so nothing it
        mounts reaches the host even where the host's mounts are shared (systemd)."""
        script = (
            "set -e\nmount --make-private / 2>/dev/null || true\n"
            + "\n".join(setup)
            + f"\nexec {shlex.join(command)}\n"
        )
        return ["unshare", "--mount", "--propagation", "unchanged", "sh", "-c", script]

    def _start_containerd(self) -> None:
        began = time.monotonic()
        paths = self.paths
        setup = [
            "mount -t tmpfs -o mode=0755 seldon-node-var-lib /var/lib",
            "mount -t tmpfs -o mode=0755 seldon-node-run /run",
        ]
        proc = self._run(
            "containerd",
            self._in_mount_namespace(
                setup, ["containerd", "--config", str(paths.containerd_config), "--log-level", "warn"]
            ),
        )
        wait_until(proc, lambda: self._ctr("version").returncode == 0, 30, "containerd answering")
        self._timed("containerd", began)

    def _ctr(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["ctr", "--address", str(self.paths.containerd_socket), "--namespace", "k8s.io", *args],
            capture_output=True,
            text=True,
        )

    def _import_pause(self) -> None:
        began = time.monotonic()
        done = self._ctr("images", "import", str(pause_archive(self.log)))
        if done.returncode != 0:
            raise StartFailed(f"containerd could not import the pause image: {done.stderr.strip()}")
        self._timed("pause image", began)

    def _start_kubelet(self, ports: dict[str, int]) -> None:
        began = time.monotonic()
        paths = self.paths
        setup = ["mount --make-private /proc 2>/dev/null || true"]
        for name in node_config.SYSCTLS_KUBELET_WANTS:
            shadow, target = paths.sysctl_shadows / name.replace("/", "."), f"/proc/sys/{name}"
            setup += [
                f"mount --bind {shlex.quote(str(shadow))} {target}",
                f"mount -o remount,bind,ro {target}",
            ]
        setup += [
            "mount -t tmpfs -o mode=0755 seldon-node-var-lib /var/lib",
            "mount -t tmpfs -o mode=0755 seldon-node-var-log /var/log",
            "mkdir -p /var/lib/kubelet/device-plugins /var/log/containers",
        ]
        labels = ",".join(f"{k}={v}" for k, v in node_config.NODE_LABELS.items())
        command = [
            str(build.binary("kubelet", "kubernetes")),
            f"--config={paths.kubelet_config}",
            f"--kubeconfig={self.kubeconfig}",
            f"--root-dir={paths.kubelet_root}",
            f"--cert-dir={paths.kubelet_certs}",
            f"--hostname-override={NODE_NAME}",
            f"--node-ip={node_network.NODE_IP}",
            f"--node-labels={labels}",
            "--v=1",
        ]
        proc = self._run("kubelet", self._in_mount_namespace(setup, command))
        wait_until(proc, self._node_ready, NODE_READY_TIMEOUT, f"node {NODE_NAME} Ready")
        self._timed("kubelet (node Ready)", began)

    def _node_ready(self) -> bool:
        node = self.kubectl_json("get", "node", NODE_NAME)
        conditions = node.get("status", {}).get("conditions", [])
        return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)

    def _start_kube_proxy(self, ports: dict[str, int]) -> None:
        began = time.monotonic()
        proc = self._run(
            "kube-proxy",
            [str(build.binary("kube-proxy", "kubernetes")), f"--config={self.paths.kube_proxy_config}", "--v=1"],
        )
        url = f"http://127.0.0.1:{ports['kube-proxy-healthz']}/healthz"
        wait_until(proc, lambda: http_ok(url), 30, "kube-proxy healthy")
        self._timed("kube-proxy", began)

    # ---- down --------------------------------------------------------------------------------
    def down(self) -> list[str]:
        """Stop the node's processes and remove all it made; returns the names stopped."""
        state = self._state()
        if not state:
            return []
        self.started = [Started(**p) for p in state.get("processes", [])]
        stopped: list[str] = []
        by_name = {p.name: p for p in self.started}
        for name in ("kube-proxy", "kubelet"):
            if name in by_name and by_name[name].process() is not None:
                stop(by_name[name])
                stopped.append(name)
        if "containerd" in by_name and by_name["containerd"].process() is not None:
            self._kill_containers()
            stop(by_name["containerd"])
            stopped.append("containerd")
        self._kill_shims()
        if "registry" in by_name and by_name["registry"].process() is not None:
            stop(by_name["registry"])
            stopped.append("registry")
        if "kube-proxy" in by_name:
            subprocess.run(
                [str(build.binary("kube-proxy", "kubernetes")), "--cleanup"], capture_output=True, check=False
            )
        before = {tuple(c) for c in state.get("chains_before", [])}
        node_network.drop_chains(node_network.kube_chains() - before)
        self._unmount_all()
        if state.get("bridge"):
            node_network.remove()
        self._remove_cgroups(state.get("cgroups", []))
        self.started = []
        self.state_file.unlink(missing_ok=True)
        return stopped

    def _kill_containers(self) -> None:
        """SIGKILL every task containerd runs for the node and wait for them to exit."""
        listing = self._ctr("tasks", "list", "--quiet")
        for task in listing.stdout.split():
            self._ctr("tasks", "kill", "--signal", "SIGKILL", task)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and self._ctr("tasks", "list", "--quiet").stdout.strip():
            for task in self._ctr("tasks", "list", "--quiet").stdout.split():
                self._ctr("tasks", "delete", "--force", task)
            time.sleep(0.3)

    def shims(self) -> list[psutil.Process]:
        """containerd's shim processes of this node (they outlive containerd by design)."""
        socket = str(self.paths.containerd_socket)
        found = []
        for proc in psutil.process_iter(["cmdline"]):
            cmdline = proc.info.get("cmdline") or []
            if cmdline and "containerd-shim" in cmdline[0] and socket in cmdline:
                found.append(proc)
        return found

    def _kill_shims(self) -> None:
        for proc in self.shims():
            for child in proc.children(recursive=True):
                child.kill()
            proc.kill()
        psutil.wait_procs(self.shims(), timeout=10)

    def mounts(self) -> list[str]:
        """Mount points in the host's namespace under the node's folder, deepest first."""
        prefix = str(self.folder.resolve()) + "/"
        found = []
        for line in Path("/proc/self/mountinfo").read_text().splitlines():
            where = line.split()[4].replace("\\040", " ")
            if where.startswith(prefix) or where == prefix.rstrip("/"):
                found.append(where)
        return sorted(set(found), key=len, reverse=True)

    def _unmount_all(self) -> None:
        for _ in range(3):
            left = self.mounts()
            if not left:
                return
            for where in left:
                if subprocess.run(["umount", where], capture_output=True).returncode != 0:
                    subprocess.run(["umount", "--lazy", where], capture_output=True)

    def _remove_cgroups(self, made: list[str]) -> None:
        """Remove the node's cgroup tree in every hierarchy, deepest first (a cgroup can only go
        once it has no process and no child). The roots made by ``up`` go last."""
        for hierarchy in cgroup_hierarchies():
            root = hierarchy / node_config.CGROUP_ROOT.lstrip("/")
            if not root.is_dir():
                continue
            children = sorted((p for p in root.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True)
            for folder in children:
                try:
                    folder.rmdir()
                except OSError:
                    pass
            if str(root) in made:
                try:
                    root.rmdir()
                except OSError:
                    pass

    # ---- what is left --------------------------------------------------------------------------
    def leftovers(self) -> dict[str, list[str]]:
        """What of the node still exists on the host (empty lists after a clean ``down``)."""
        processes = [p.name for p in self.started if p.process() is not None]
        cgroups = [
            str(hierarchy / node_config.CGROUP_ROOT.lstrip("/"))
            for hierarchy in cgroup_hierarchies()
            if (hierarchy / node_config.CGROUP_ROOT.lstrip("/")).exists()
        ]
        return {
            "processes": processes + [f"shim {p.pid}" for p in self.shims()],
            "links": ([node_network.BRIDGE] if node_network.bridge_exists() else []) + node_network.attached_links(),
            "mounts": self.mounts(),
            "cgroups": cgroups,
            "chains": sorted(f"{t} {c}" for t, c in node_network.kube_chains()),
        }

    def describe_failure(self) -> str:
        return "\n".join(f"--- {p.name}:\n{tail(p.log, 12)}" for p in self.started)
