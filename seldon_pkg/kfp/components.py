"""The KFP components (lightweight Python components) over ``seldon_pkg.kfp.steps``.

KFP copies each function's source into the pipeline spec and runs it in ``STEP_IMAGE`` (on a
KFP cluster) or in the current interpreter (``kfp.local.SubprocessRunner``), so each body only
imports the library and calls one function; annotations use only names KFP's generated module
has (``kfp.dsl`` and ``typing``). No ``from __future__ import annotations`` here: KFP reads the
annotations as objects to build the component's interface.
"""

from typing import NamedTuple

from kfp import dsl
from kfp.dsl import Artifact, Input, Model, Output

STEP_IMAGE = "example.org/seldon-pkg/kfp-python:0.1"
"""The image a KFP cluster runs the steps in: Python 3.11 with ``seldon-pkg[kfp,k8s]`` installed
(docs/kfp.md shows how to build it). The local runner ignores it."""


@dsl.component(base_image=STEP_IMAGE, install_kfp_package=False)
def deploy_model(
    deployment: Output[Artifact],
    model: Input[Model] | None = None,
    model_path: str = "",
    target: str = "local",
    platform: str = "",
    namespace: str = "",
    policy: str = "replace",
    timeout: float = 300.0,
    state_dir: str = "",
    context: str = "",
) -> NamedTuple(
    "Deployed", [("name", str), ("url", str), ("grpc", str), ("revision", str), ("namespace", str), ("headers", dict)]
):
    """Deploy a model folder (seldon-model.yaml and its files) with seldon-pkg and wait until it answers.

    model: the folder as an artifact, or model_path: the folder (or spec file) as a path.
    target: local (the gateway of `seldon-pkg serve`, found through state_dir or
    $SELDON_PKG_STATE_DIR) or k8s (the cluster of context, in-cluster config inside a pod).
    platform, namespace: override the spec's when not empty. policy: replace (the model's other
    versions are deleted once this one is ready) or keep. timeout: seconds a cluster deployment
    may take to become ready. Outputs the deployment's name, prediction URL, gRPC address,
    revision, namespace and the headers a request must carry (KServe on a cluster: Host), and
    `deployment`, the record undeploy_model undoes. Fails with the
    library error's kind and text; what it applied but never became ready is undone first."""
    from seldon_pkg.kfp.steps import deploy

    folder = model.path if model is not None else model_path
    done = deploy(
        folder,
        target=target,
        platform=platform,
        namespace=namespace,
        policy=policy,
        timeout=timeout,
        state_dir=state_dir,
        context=context,
        record=deployment.path,
    )
    deployment.metadata.update({"name": done.name, "namespace": done.namespace, "url": done.url, "target": target})
    return (done.name, done.url, done.grpc, done.revision, done.namespace, done.headers)


@dsl.component(base_image=STEP_IMAGE, install_kfp_package=False)
def undeploy_model(
    deployment: Input[Artifact] | None = None,
    name: str = "",
    namespace: str = "",
    target: str = "local",
    platform: str = "",
    state_dir: str = "",
    context: str = "",
) -> str:
    """Undo what deploy_model applied (its `deployment` output): delete a deployment it created,
    put back the previous revision of one it updated; refused if it was deployed again since.
    Without that record, delete the deployment `name` on the target given. Returns what was done;
    fails with the library error's kind and text."""
    from seldon_pkg.kfp.steps import undeploy

    return undeploy(
        deployment.path if deployment is not None else None,
        name=name,
        namespace=namespace,
        target=target,
        platform=platform,
        state_dir=state_dir,
        context=context,
    )
