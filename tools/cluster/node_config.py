"""The real node's configuration files: containerd's, the kubelet's and kube-proxy's.

Every path a flag or a setting allows lives under the node's folder (``<cluster>/node``):
containerd's root and state, the pods' network namespaces, the kubelet's root, certificates and
pod logs, the CNI configuration and its address leases. The settings that differ from the
defaults, and why, are commented where they are set.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import yaml

from tools.cluster import node_network

NODE_NAME = "seldon-node"
NODE_LABELS = {"type": "real", "seldon-pkg.io/node": "real"}
PAUSE_IMAGE = "seldon-pkg.local/pause:v1"
CGROUP_ROOT = "/seldon-pkg"
"""Every pod cgroup of the node lives under this one (in each hierarchy), so down removes one tree."""
SYSCTLS_KUBELET_WANTS = {
    # what the kubelet writes at start unless they already hold these values (DESIGN 8b); its
    # own mount namespace sees files with these values instead, the host keeps its own
    "vm/overcommit_memory": "1",
    "kernel/panic": "10",
    "kernel/panic_on_oops": "1",
}


@dataclass(frozen=True)
class NodePaths:
    folder: Path

    @property
    def containerd_root(self) -> Path:
        return self.folder / "containerd" / "root"

    @property
    def containerd_state(self) -> Path:
        return self.folder / "containerd" / "state"

    @property
    def containerd_socket(self) -> Path:
        return self.folder / "containerd" / "containerd.sock"

    @property
    def containerd_config(self) -> Path:
        return self.folder / "containerd" / "config.toml"

    @property
    def registry_hosts(self) -> Path:
        return self.folder / "containerd" / "certs.d"

    @property
    def runc_root(self) -> Path:
        return self.folder / "containerd" / "runc"

    @property
    def cni_conf_dir(self) -> Path:
        return self.folder / "cni" / "net.d"

    @property
    def cni_ipam_dir(self) -> Path:
        return self.folder / "cni" / "ipam"

    @property
    def kubelet_root(self) -> Path:
        return self.folder / "kubelet"

    @property
    def kubelet_certs(self) -> Path:
        return self.folder / "kubelet-pki"

    @property
    def kubelet_config(self) -> Path:
        return self.folder / "kubelet.yaml"

    @property
    def pod_logs(self) -> Path:
        return self.folder / "pod-logs"

    @property
    def sysctl_shadows(self) -> Path:
        return self.folder / "sysctl"

    @property
    def kube_proxy_config(self) -> Path:
        return self.folder / "kube-proxy.yaml"


def containerd_config(paths: NodePaths) -> str:
    """containerd 1.6's config (version 2). Only CRI's pieces and the overlay snapshotter are on;
    every other snapshotter and the /opt plugin are off (they write outside the node's folder)."""
    cri = 'plugins."io.containerd.grpc.v1.cri"'
    runc = f"{cri}.containerd.runtimes.runc"
    return f"""version = 2
root = {json.dumps(str(paths.containerd_root))}
state = {json.dumps(str(paths.containerd_state))}
disabled_plugins = [
  "io.containerd.internal.v1.opt",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.tracing.processor.v1.otlp",
]

[grpc]
  address = {json.dumps(str(paths.containerd_socket))}

[metrics]
  address = ""

[{cri}]
  sandbox_image = {json.dumps(PAUSE_IMAGE)}
  # this VM's capability bounding set lacks CAP_SYS_RESOURCE: runc cannot lower oom_score_adj
  # below the parent's (the pause container asks for -998), DESIGN 8b
  restrict_oom_score_adj = true
  # the pods' network namespaces under the node's state, not /var/run/netns
  netns_mounts_under_state_dir = true
  enable_selinux = false
  disable_apparmor = true
  max_container_log_line_size = 16384

[{cri}.containerd]
  snapshotter = "overlayfs"
  default_runtime_name = "runc"

[{runc}]
  runtime_type = "io.containerd.runc.v2"

[{runc}.options]
  BinaryName = "/usr/sbin/runc"
  Root = {json.dumps(str(paths.runc_root))}
  SystemdCgroup = false

[{cri}.cni]
  bin_dir = "{node_network.CNI_BIN}"
  conf_dir = {json.dumps(str(paths.cni_conf_dir))}
  max_conf_num = 1

[{cri}.registry]
  config_path = {json.dumps(str(paths.registry_hosts))}
"""


def registry_hosts_toml(registry: str) -> str:
    """containerd's hosts.toml for the local registry: plain HTTP on loopback."""
    return f'server = "http://{registry}"\n\n[host."http://{registry}"]\n  capabilities = ["pull", "resolve"]\n'


def kubelet_config(paths: NodePaths, ca: Path, certificate: Path, key: Path, port: int, healthz_port: int) -> str:
    config = {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        # the API server reaches the kubelet (logs, exec, port-forward) on the node's bridge address
        "address": node_network.NODE_IP,
        "port": port,
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": healthz_port,
        "tlsCertFile": str(certificate),
        "tlsPrivateKeyFile": str(key),
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True},
            "x509": {"clientCAFile": str(ca)},
        },
        "authorization": {"mode": "Webhook"},
        "cgroupDriver": "cgroupfs",
        "cgroupRoot": CGROUP_ROOT,
        "failSwapOn": False,
        # Kubernetes 1.34 still runs on cgroup v1 when told to (these VMs mount v1 hierarchies)
        "failCgroupV1": False,
        "containerRuntimeEndpoint": f"unix://{paths.containerd_socket}",
        "podLogsDir": str(paths.pod_logs),
        # no cluster DNS and no host resolv.conf: pods have no name server to ask
        "resolvConf": "",
        "clusterDomain": "cluster.local",
        "serializeImagePulls": False,
        "maxPods": 40,
        "protectKernelDefaults": False,
        # a test node on a shared machine: evict only when the machine itself runs short
        "evictionHard": {"memory.available": "200Mi", "nodefs.available": "2%", "imagefs.available": "2%"},
        "imageGCHighThresholdPercent": 98,
        "imageGCLowThresholdPercent": 95,
        "nodeStatusUpdateFrequency": "5s",
        "shutdownGracePeriod": "0s",
        "syncFrequency": "10s",
        "fileCheckFrequency": "10s",
    }
    return yaml.safe_dump(config, sort_keys=False)


def kube_proxy_config(kubeconfig: Path, healthz_port: int, metrics_port: int) -> str:
    config = {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "mode": "iptables",
        "hostnameOverride": NODE_NAME,
        "clientConnection": {"kubeconfig": str(kubeconfig)},
        "bindAddress": node_network.NODE_IP,
        "healthzBindAddress": f"127.0.0.1:{healthz_port}",
        "metricsBindAddress": f"127.0.0.1:{metrics_port}",
        "clusterCIDR": node_network.NODE_SUBNET,
        # NodePorts only on the node's bridge address: never on the host's outside interface, and
        # never on 127.0.0.1 (that would need net.ipv4.conf.all.route_localnet, a host sysctl)
        "nodePortAddresses": [f"{node_network.NODE_IP}/32"],
        "iptables": {"localhostNodePorts": False, "masqueradeAll": False},
        # 0 = leave the host's conntrack sysctls as they are
        "conntrack": {
            "maxPerCore": 0,
            "min": 0,
            "tcpEstablishedTimeout": "0s",
            "tcpCloseWaitTimeout": "0s",
        },
    }
    return yaml.safe_dump(config, sort_keys=False)
