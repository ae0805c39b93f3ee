"""``make cluster-demo``: the drawing board answering from pods on the embedded cluster's real node.

With the cluster up (``make cluster-up``), it builds and pushes both demo images (built once per
machine, pushed once per cluster), deploys the CNN over the Open Inference Protocol on KServe and
the MLP over Seldon's protocol on a SeldonDeployment with ``seldon-pkg deploy --target k8s``,
asks ``seldon-pkg endpoint`` where each answers, and serves the board on :8880 pointed at those
URLs. Ctrl-C (or SIGTERM) deletes the two deployments it made; the cluster stays up until
``make cluster-down``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import requests
import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEPLOYMENTS = (("cnn", "mnist-cnn-oip.yaml", "kserve", "v2"), ("mlp", "mnist-mlp.yaml", "seldon", "seldon"))


def seldon_pkg(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "seldon_pkg.cli", *args], capture_output=True, text=True, cwd=ROOT)


def deploy_all(log=print) -> list[tuple[str, str, str, str]]:
    """Build/push the images, deploy both models; (name, "platform namespace", protocol, url) of each."""
    from tools.cluster.images import ensure_pushed

    deployed = []
    for _, spec_name, platform, protocol in DEPLOYMENTS:
        spec = HERE / spec_name
        image = ensure_pushed(spec, log)["image"]
        log(f"deploying {spec_name} on {platform} ({image})...")
        done = seldon_pkg("deploy", str(spec), "--target", "k8s", "--platform", platform, "--image", image)
        if done.returncode != 0:
            raise SystemExit(f"deploy of {spec_name} failed:\n{done.stdout}{done.stderr}")
        log(done.stdout.strip())
        document = yaml.safe_load(spec.read_text())
        model, namespace = document["name"], document.get("namespace", "default")
        where = ("--target", "k8s", "--platform", platform, "-n", namespace)
        rows = json.loads(seldon_pkg("list", *where, "-o", "json").stdout)
        name = next(r["name"] for r in rows if r["model"] == model)
        url = seldon_pkg("endpoint", name, *where).stdout.split()[0]
        deployed.append((name, f"{platform} {namespace}", protocol, url))
    return deployed


def undeploy(deployed: list[tuple[str, str, str, str]], log=print) -> None:
    for name, where, _, _ in deployed:
        platform, namespace = where.split()
        done = seldon_pkg(
            "delete", name, "--target", "k8s", "--platform", platform, "-n", namespace, "--ignore-not-found"
        )
        log(done.stdout.strip() or done.stderr.strip())


PLAIN_SPECS = ("mnist-cnn.yaml", "mnist-mlp.yaml")
"""What `make deploy` applies to a cluster that is not the embedded one: the specs as they are
(their images must be in a registry that cluster reaches), on Seldon Core."""


def embedded_context(args: list[str]) -> bool:
    """True when the kubeconfig's context (``--context``, else the current one) is the embedded cluster's."""
    from kubernetes import config

    from tools.cluster.controlplane import CONTEXT

    wanted = args[args.index("--context") + 1] if "--context" in args[:-1] else None
    try:
        _, current = config.list_kube_config_contexts()
    except (config.ConfigException, FileNotFoundError):
        return False
    return (wanted or current["name"]) == CONTEXT


def make_deploy(args: list[str]) -> int:
    """`make deploy`: on the embedded cluster the images are built/pushed and the demo deployed
    as `make cluster-demo` does; elsewhere the specs are deployed as they are."""
    if embedded_context(args):
        deploy_all()
        return 0
    for spec in PLAIN_SPECS:
        done = subprocess.run(
            [sys.executable, "-m", "seldon_pkg.cli", "deploy", str(HERE / spec), "--target", "k8s", *args]
        )
        if done.returncode:
            return done.returncode
    return 0


def make_undeploy(args: list[str]) -> int:
    specs = (
        [(spec, platform) for _, spec, platform, _ in DEPLOYMENTS]
        if embedded_context(args)
        else [(s, "seldon") for s in PLAIN_SPECS]
    )
    for spec, platform in specs:
        done = subprocess.run(
            [sys.executable, "-m", "seldon_pkg.cli", "delete", "--spec", str(HERE / spec), "--target", "k8s",
             "--platform", platform, "--ignore-not-found", *args]
        )  # fmt: skip
        if done.returncode:
            return done.returncode
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["deploy"]:
        return make_deploy(argv[1:])
    if argv[:1] == ["undeploy"]:
        return make_undeploy(argv[1:])
    if not os.environ.get("KUBECONFIG"):
        os.environ["KUBECONFIG"] = str(ROOT / ".cluster" / "kubeconfig")
    board_port = int(os.environ.get("DEMO_BOARD_PORT", "8880"))
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    deployed: list[tuple[str, str, str, str]] = []
    board = None
    try:
        deployed = deploy_all()
        urls = [f"--model-url={protocol}:{name}={url}" for name, _, protocol, url in deployed]
        board = subprocess.Popen([sys.executable, "-m", "demo_mnist.board", "--port", str(board_port), *urls], cwd=ROOT)
        from seldon_pkg.local.waiting import wait_until_ready

        wait_until_ready(
            lambda: requests.get(f"http://127.0.0.1:{board_port}/api/models", timeout=1).ok, "the board", 30, board, 0.2
        )
        lines = "\n".join(f"  {name} ({platform}): {url}" for name, platform, _, url in deployed)
        print(
            f"\nDrawing board:  http://127.0.0.1:{board_port}  (answers from pods on the real node)\n"
            f"Models:\n{lines}\nCtrl-C deletes both deployments; `make cluster-down` stops the cluster.\n",
            flush=True,
        )
        board.wait()
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        if board is not None and board.poll() is None:
            board.terminate()
            board.wait(10)
        undeploy(deployed)


if __name__ == "__main__":
    sys.exit(main())
