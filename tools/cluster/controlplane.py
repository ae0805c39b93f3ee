"""Bring the embedded control plane up and down.

``up`` starts, in order and each only once the previous one answers: etcd; kube-apiserver (TLS,
a bearer token for the admin, service-account keys, RBAC); kube-controller-manager (garbage
collector, Deployment/ReplicaSet/endpoints and service-account controllers) and kube-scheduler;
kwok (three fake nodes, one with ``nvidia.com/gpu``); then it writes the CRDs and
configuration and starts the KServe controller, registers its webhooks by URL with the CA
bundle, and starts the Seldon stand-in with its validating webhook, registered the same way.
With ``node`` (the default) it also starts one real node (tools/cluster/node.py: containerd, a
kubelet, kube-proxy and a registry on 127.0.0.1), where pods really run; kwok's nodes are
tainted, so a pod lands on them only when it asks to. It returns when the API server, both
controllers, both webhooks (and the real node) answer. Everything listens on 127.0.0.1 only,
except KServe's webhook server, which controller-runtime binds on every interface (KServe's
manager has no flag for its host), and the kubelet, on the node's bridge address.

State lives in one folder (``.cluster/`` for ``make cluster-up``, a temporary one for a test
session): ``kubeconfig``, ``pki/``, ``logs/``, ``etcd/`` and ``state.json`` (the processes by pid
and start time, so ``down`` stops exactly those).
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from seldon_pkg.local.ostools import free_ports
from tools.cluster import build, manifests, node_network, pki, seldon_webhook
from tools.cluster.node import RealNode
from tools.cluster.processes import Started, StartFailed, Supervisor, http_ok, stop, tail, wait_until

REPO = manifests.REPO
CONTEXT = "seldon-pkg-embedded"
SERVICE_CIDR = "10.96.0.0/16"  # kube-proxy makes it answer on the real node (and from the host)
POD_CIDR = "10.244.0.0/16"  # kwok's fake pods; the real node's pods are in node_network.NODE_SUBNET
STARTUP_TIMEOUT = 120.0
PORTS = (
    "etcd",
    "etcd-peer",
    "apiserver",
    "controller-manager",
    "scheduler",
    "kwok",
    "kserve-webhook",
    "kserve-metrics",
    "kserve-probe",
    "kubelet",
    "kubelet-healthz",
    "kube-proxy-healthz",
    "kube-proxy-metrics",
    "seldon-webhook",
)
KUBELET_CLIENT = ("kube-apiserver-kubelet-client", "system:masters")
"""The API server's client certificate towards the real kubelet (logs, exec, port-forward)."""


class AlreadyRunning(RuntimeError):
    pass


def kubectl() -> str:
    """.tools/kubectl (v1.35, `make install`), else the PATH's."""
    bundled = REPO / ".tools" / "kubectl"
    found = str(bundled) if bundled.is_file() else shutil.which("kubectl")
    if not found:
        raise FileNotFoundError("kubectl not found: `make install` puts one in .tools/")
    return found


@dataclass
class ControlPlane(Supervisor):
    folder: Path
    log: Callable[[str], None] = print
    started: list[Started] = field(default_factory=list)
    ports: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    node: bool = True
    """Start the real node too (``--no-node``: the control plane and kwok only)."""

    # ---- where things are --------------------------------------------------------------------
    @property
    def kubeconfig(self) -> Path:
        return self.folder / "kubeconfig"

    @property
    def state_file(self) -> Path:
        return self.folder / "state.json"

    @property
    def logs(self) -> Path:
        return self.folder / "logs"

    @property
    def pki(self) -> pki.Pki:
        return pki.Pki(self.folder / "pki")

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.ports['apiserver']}"

    # ---- state -------------------------------------------------------------------------------
    def load(self) -> bool:
        """Read state.json; True when every process it names is still running."""
        if not self.state_file.is_file():
            return False
        state = json.loads(self.state_file.read_text())
        self.started = [Started(**p) for p in state["processes"]]
        self.ports = state["ports"]
        return bool(self.started) and all(p.alive() for p in self.started)

    def _save(self) -> None:
        self.state_file.write_text(
            json.dumps({"processes": [p.to_json() for p in self.started], "ports": self.ports}, indent=2)
        )

    def running(self) -> bool:
        return ControlPlane(self.folder, log=lambda _: None).load()

    # ---- up ----------------------------------------------------------------------------------
    def up(self) -> None:
        if self.running():
            raise AlreadyRunning(f"the embedded control plane in {self.folder} is already running; changed nothing")
        if self.state_file.is_file():  # left by a crash: stop what is left of it first
            self.down()
        began = time.monotonic()
        binaries = build.ensure_all(self.log)
        self.timings["build_check"] = time.monotonic() - began
        for stale in ("etcd", "logs", "pki", "kserve-tmp"):
            shutil.rmtree(self.folder / stale, ignore_errors=True)
        self.folder.mkdir(parents=True, exist_ok=True)
        pki.create(
            self.pki.folder,
            ("apiserver", "kserve-webhook", "kwok", "seldon-webhook", "kubelet"),
            extra_ips=(node_network.NODE_IP,),
            clients=(KUBELET_CLIENT,),
        )
        self.ports = dict(zip(PORTS, free_ports(len(PORTS)), strict=True))
        try:
            self._start_etcd(binaries["etcd"])
            self._start_apiserver(binaries["kubernetes"])
            self._write_kubeconfig()
            self._start_controllers(binaries["kubernetes"])
            self._apply(manifests.namespaces())
            self._apply_files(manifests.seldon_crds() + manifests.kserve_crds() + [self._kwok_crd()])
            self._start_kwok(binaries["kwok"])
            self._apply(manifests.nodes())
            if self.node:
                self.real_node().up(self.ports, SERVICE_CIDR)
                self._save()
            # with no real node nothing could ever answer on a Service, so the endpoint code gets
            # an ingress to find (answering nothing); with one, deployments are reached at their
            # own Services (seldon_pkg/k8s/endpoint.py)
            self._apply(
                [manifests.kserve_config()] if self.node else [manifests.istio_ingress(), manifests.kserve_config()]
            )
            self._start_kserve(binaries["kserve"])
            self._apply(manifests.kserve_webhooks(self.ports["kserve-webhook"], self.pki.ca_bundle()))
            self._start_seldon_standin()
            self._apply([seldon_webhook.configuration(self.ports["seldon-webhook"], self.pki.ca_bundle())])
            self._wait_settled()
        except BaseException:
            self.down()
            raise
        self.timings["up"] = time.monotonic() - began
        self.log(f"embedded control plane up in {self.timings['up']:.1f} s: {self.server}")

    def real_node(self) -> RealNode:
        certificate = self.pki.serving("kubelet")
        return RealNode(self.folder / "node", self.kubeconfig, self.pki.ca, certificate, self._kubectl_json, self.log)

    def _start_etcd(self, entry: Path) -> None:
        began = time.monotonic()
        client, peer = self.ports["etcd"], self.ports["etcd-peer"]
        proc = self._run(
            "etcd",
            [
                str(entry / "bin" / "etcd"),
                "--name=embedded",
                f"--data-dir={self.folder / 'etcd'}",
                f"--listen-client-urls=http://127.0.0.1:{client}",
                f"--advertise-client-urls=http://127.0.0.1:{client}",
                f"--listen-peer-urls=http://127.0.0.1:{peer}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{peer}",
                f"--initial-cluster=embedded=http://127.0.0.1:{peer}",
                "--unsafe-no-fsync",  # a test cluster: durability is not the point, speed is
                "--log-level=warn",
            ],
        )
        wait_until(proc, lambda: http_ok(f"http://127.0.0.1:{client}/health"), 30, "healthy etcd")
        self._timed("etcd", began)

    def _start_apiserver(self, entry: Path) -> None:
        began = time.monotonic()
        keys = self.pki
        certificate, key = keys.serving("apiserver")
        proc = self._run(
            "kube-apiserver",
            [
                str(entry / "bin" / "kube-apiserver"),
                f"--etcd-servers=http://127.0.0.1:{self.ports['etcd']}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={self.ports['apiserver']}",
                f"--tls-cert-file={certificate}",
                f"--tls-private-key-file={key}",
                f"--client-ca-file={keys.ca}",
                f"--token-auth-file={keys.token_file}",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-account-key-file={keys.service_account_public}",
                f"--service-account-signing-key-file={keys.service_account_key}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--authorization-mode=Node,RBAC",
                "--allow-privileged=true",
                # the kubelet endpoint is kwok's server (logs), served with our CA's certificate
                f"--kubelet-certificate-authority={keys.ca}",
                f"--kubelet-client-certificate={keys.client(KUBELET_CLIENT[0])[0]}",
                f"--kubelet-client-key={keys.client(KUBELET_CLIENT[0])[1]}",
                "--kubelet-preferred-address-types=InternalIP",
                # a namespace can send its pods to kwok's tainted nodes (tests/support/cluster.py)
                "--enable-admission-plugins=PodNodeSelector,PodTolerationRestriction",
                # the kubernetes Service may not point at a loopback address; nothing uses it here
                "--endpoint-reconciler-type=none",
                "--profiling=false",
                f"--cert-dir={self.folder / 'pki' / 'apiserver-generated'}",
            ],
        )
        token = keys.admin_token()
        wait_until(
            proc,
            lambda: http_ok(f"{self.server}/readyz", ca=keys.ca, token=token),
            STARTUP_TIMEOUT,
            "ready API server (/readyz)",
        )
        self._timed("kube-apiserver", began)

    def _write_kubeconfig(self) -> None:
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {"name": CONTEXT, "cluster": {"server": self.server, "certificate-authority": str(self.pki.ca)}}
            ],
            "users": [{"name": "admin", "user": {"token": self.pki.admin_token()}}],
            "contexts": [{"name": CONTEXT, "context": {"cluster": CONTEXT, "user": "admin", "namespace": "default"}}],
            "current-context": CONTEXT,
        }
        self.kubeconfig.write_text(yaml.safe_dump(config))
        self.kubeconfig.chmod(0o600)

    def _start_controllers(self, entry: Path) -> None:
        began = time.monotonic()
        keys, kubeconfig = self.pki, str(self.kubeconfig)
        common = [
            f"--kubeconfig={kubeconfig}",
            f"--authentication-kubeconfig={kubeconfig}",
            f"--authorization-kubeconfig={kubeconfig}",
            "--leader-elect=false",
            "--bind-address=127.0.0.1",
            "--profiling=false",
        ]
        manager = self._run(
            "kube-controller-manager",
            [
                str(entry / "bin" / "kube-controller-manager"),
                *common,
                f"--secure-port={self.ports['controller-manager']}",
                f"--service-account-private-key-file={keys.service_account_key}",
                f"--root-ca-file={keys.ca}",
                f"--cluster-signing-cert-file={keys.ca}",
                f"--cluster-signing-key-file={keys.ca_key}",
                "--use-service-account-credentials=false",
                # no cloud, no kubelets, no persistent volumes here: leave out their controllers
                "--controllers=*,-nodeipam,-cloud-node-lifecycle,-service-lb-controller,-node-route-controller,"
                "-persistentvolume-binder,-attachdetach,-persistentvolume-expander,-ephemeral-volume-controller",
                "--concurrent-gc-syncs=5",
            ],
        )
        scheduler = self._run(
            "kube-scheduler",
            [str(entry / "bin" / "kube-scheduler"), *common, f"--secure-port={self.ports['scheduler']}"],
        )
        for proc, port in ((manager, "controller-manager"), (scheduler, "scheduler")):
            url = f"https://127.0.0.1:{self.ports[port]}/healthz"  # self-signed in memory: not verified
            wait_until(proc, functools.partial(http_ok, url, verify=False), STARTUP_TIMEOUT, "healthy /healthz")
        self._timed("controllers", began)

    def _kwok_crd(self) -> Path:
        return manifests.module_dir("kwok") / "kustomize" / "crd" / "bases" / "kwok.x-k8s.io_clusterlogs.yaml"

    def _start_kwok(self, entry: Path) -> None:
        began = time.monotonic()
        config = self.folder / "kwok.yaml"
        config.write_text(manifests.kwok_config())
        certificate, key = self.pki.serving("kwok")
        port = self.ports["kwok"]
        proc = self._run(
            "kwok",
            [
                str(entry / "bin" / "kwok"),
                f"--kubeconfig={self.kubeconfig}",
                f"--config={config}",
                "--manage-all-nodes=false",
                "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
                "--node-ip=127.0.0.1",
                f"--node-port={port}",
                f"--server-address=127.0.0.1:{port}",
                f"--tls-cert-file={certificate}",
                f"--tls-private-key-file={key}",
                f"--cidr={POD_CIDR}",
                "--enable-crds=ClusterLogs",
            ],
        )
        wait_until(proc, lambda: http_ok(f"https://127.0.0.1:{port}/healthz", ca=self.pki.ca), 30, "kwok's server")
        self._timed("kwok", began)

    def _start_kserve(self, entry: Path) -> None:
        began = time.monotonic()
        # controller-runtime reads the webhook certificate from $TMPDIR/k8s-webhook-server/serving-certs
        tmp = self.folder / "kserve-tmp"
        certs = tmp / "k8s-webhook-server" / "serving-certs"
        certs.mkdir(parents=True)
        certificate, key = self.pki.serving("kserve-webhook")
        shutil.copy(certificate, certs / "tls.crt")
        shutil.copy(key, certs / "tls.key")
        env = dict(os.environ, KUBECONFIG=str(self.kubeconfig), POD_NAMESPACE="kserve", TMPDIR=str(tmp))
        proc = self._run(
            "kserve-controller",
            [
                str(entry / "bin" / "kserve-manager"),
                f"--metrics-addr=127.0.0.1:{self.ports['kserve-metrics']}",
                f"--health-probe-addr=127.0.0.1:{self.ports['kserve-probe']}",
                f"--webhook-port={self.ports['kserve-webhook']}",
            ],
            env=env,
        )
        wait_until(
            proc,
            lambda: http_ok(f"http://127.0.0.1:{self.ports['kserve-probe']}/readyz"),
            STARTUP_TIMEOUT,
            "ready KServe controller (/readyz)",
        )
        self._timed("kserve-controller", began)

    def _start_seldon_standin(self) -> None:
        began = time.monotonic()
        ready = self.folder / "seldon-standin.ready"
        ready.unlink(missing_ok=True)
        certificate, key = self.pki.serving("seldon-webhook")
        env = dict(os.environ, PYTHONPATH=str(REPO))
        proc = self._run(
            "seldon-standin",
            [
                sys.executable,
                "-m",
                "tools.cluster.seldon_standin",
                f"--kubeconfig={self.kubeconfig}",
                f"--ready-file={ready}",
                f"--webhook-port={self.ports['seldon-webhook']}",
                f"--tls-cert-file={certificate}",
                f"--tls-private-key-file={key}",
            ],
            env=env,
        )
        wait_until(proc, ready.is_file, 60, "Seldon stand-in watching")
        self._timed("seldon-standin", began)

    def _wait_settled(self) -> None:
        """Nodes Ready (kwok), the default service account made (pods need it), KServe's
        webhooks answering through the API server (a dry-run create passes its defaulter)."""
        began = time.monotonic()
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            nodes = self._kubectl_json("get", "nodes")
            ready = [
                n
                for n in nodes["items"]
                if any(c["type"] == "Ready" and c["status"] == "True" for c in n["status"].get("conditions", []))
            ]
            accounts = self._kubectl_json("get", "serviceaccounts", "-n", "default")["items"]
            webhooks = self._kserve_webhook_answers() and self._seldon_webhook_answers()
            if len(ready) == len(manifests.nodes()) + (1 if self.node else 0) and accounts and webhooks:
                self._timed("settled", began)
                return
            time.sleep(0.5)
        raise StartFailed("nodes, service accounts or KServe's webhooks did not settle in time")

    def _kserve_webhook_answers(self) -> bool:
        probe = {
            "apiVersion": "serving.kserve.io/v1beta1",
            "kind": "InferenceService",
            "metadata": {"name": "webhook-probe", "namespace": "default"},
            "spec": {"predictor": {"containers": [{"name": "kserve-container", "image": "example.org/probe:1"}]}},
        }
        done = subprocess.run(
            [kubectl(), f"--kubeconfig={self.kubeconfig}", "create", "--dry-run=server", "-o", "json", "-f", "-"],
            input=json.dumps(probe),
            capture_output=True,
            text=True,
        )
        # the defaulter fills in the deployment mode annotation: proof it ran
        return done.returncode == 0 and "serving.kserve.io/deploymentMode" in done.stdout

    def _seldon_webhook_answers(self) -> bool:
        """The stand-in's webhook refuses, through the API server, what the operator's refuses."""
        probe = {
            "apiVersion": "machinelearning.seldon.io/v1",
            "kind": "SeldonDeployment",
            "metadata": {"name": "webhook-probe", "namespace": "default"},
            "spec": {"predictors": [{"name": "p", "graph": {"name": "no-such-container"}}]},
        }
        done = subprocess.run(
            [kubectl(), f"--kubeconfig={self.kubeconfig}", "create", "--dry-run=server", "-f", "-"],
            input=json.dumps(probe),
            capture_output=True,
            text=True,
        )
        return done.returncode != 0 and "Can't find container for Predictive Unit" in done.stderr

    # ---- writing to the API server -------------------------------------------------------------
    def _kubectl(self, *args: str, stdin: str | None = None) -> str:
        done = subprocess.run(
            [kubectl(), f"--kubeconfig={self.kubeconfig}", *args],
            input=stdin,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise StartFailed(f"kubectl {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout

    def _kubectl_json(self, *args: str) -> dict:
        return json.loads(self._kubectl(*args, "-o", "json"))

    def _apply(self, objects: list[dict]) -> None:
        self._apply_text("\n---\n".join(json.dumps(o) for o in objects))

    def _apply_text(self, text: str) -> None:
        self._kubectl("apply", "--server-side", "--field-manager=seldon-pkg-cluster-up", "-f", "-", stdin=text)

    def _apply_files(self, files: list[Path]) -> None:
        self._apply_text("\n---\n".join(f.read_text() for f in files))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # (kubectl wait fails on a CRD that has no conditions yet)
            crds = self._kubectl_json("get", "crd")["items"]
            if all(
                any(
                    c["type"] == "Established" and c["status"] == "True"
                    for c in (d.get("status") or {}).get("conditions") or []
                )
                for d in crds
            ):
                return
            time.sleep(0.2)
        raise StartFailed("the CRDs were not Established within 60 s")

    # ---- down --------------------------------------------------------------------------------
    def down(self) -> list[str]:
        """Stop every process ``up`` started (newest first); returns their names."""
        if not self.started:
            self.load()
        stopped = []
        if (self.folder / "node" / "state.json").is_file():  # while the API server still answers
            stopped += self.real_node().down()
        for proc in reversed(self.started):
            if proc.process() is not None:
                stop(proc)
                stopped.append(proc.name)
        self.started = []
        self.state_file.unlink(missing_ok=True)
        return stopped

    # ---- measuring ---------------------------------------------------------------------------
    def memory_mib(self) -> dict[str, float]:
        """PSS of each process's group (each runs in a session of its own), MiB."""
        from seldon_pkg.bench.stack import group_pss_mib

        return {proc.name: group_pss_mib(proc.pid) for proc in self.started if proc.process() is not None}

    def node_memory_mib(self) -> dict[str, float]:
        """PSS of the real node's processes (containerd, kubelet, kube-proxy, registry), MiB."""
        from seldon_pkg.bench.stack import group_pss_mib

        node = self.real_node()
        started = [Started(**p) for p in node._state().get("processes", [])]
        return {proc.name: group_pss_mib(proc.pid) for proc in started if proc.process() is not None}

    def describe_failure(self) -> str:
        return "\n".join(f"--- {p.name}:\n{tail(p.log, 8)}" for p in self.started)
