"""The demo pipeline: train the MNIST CNN, export it, deploy it with ``deploy_model``, score the
served model on held-out digits, and when its accuracy is under the threshold undo the deploy
with ``undeploy_model`` and fail.

``python -m demo_mnist.pipeline compile`` writes ``mnist-pipeline.yaml`` (KFP's pipeline spec,
committed; ``make pipeline``); ``python -m demo_mnist.pipeline run`` runs it with KFP's local
runner (``kfp.local.SubprocessRunner``): every step is a subprocess of the interpreter that runs
it, against the local gateway (``--target local``) or a cluster (``--target k8s``).
"""

from kfp import dsl

from demo_mnist.pipeline.components import evaluate_served, export_cnn, reject_model, train_cnn
from seldon_pkg.kfp import deploy_model, undeploy_model

PIPELINE_NAME = "mnist-train-deploy-gate"


@dsl.pipeline(
    name=PIPELINE_NAME,
    description="Train the MNIST CNN, serve it with seldon-pkg, keep it only if it is accurate enough.",
)
def mnist_pipeline(
    epochs: int = 2,
    train_samples: int = 4000,
    eval_samples: int = 1000,
    threshold: float = 0.9,
    model_name: str = "mnist-cnn-pipeline",
    version: str = "v1",
    image: str = "example.org/seldon-pkg/mnist-cnn-pipeline:0.1",
    target: str = "local",
    platform: str = "",
    namespace: str = "",
    policy: str = "keep",
    timeout: float = 300.0,
    state_dir: str = "",
    context: str = "",
) -> str:
    trained = train_cnn(epochs=epochs, train_samples=train_samples)
    exported = export_cnn(keras_model=trained.outputs["model"], name=model_name, version=version, image=image)
    # the step: deploy the exported folder; `keep` leaves the model's other versions serving, so
    # a failed check below takes back only this deploy
    served = deploy_model(
        model=exported.outputs["model"],
        target=target,
        platform=platform,
        namespace=namespace,
        policy=policy,
        timeout=timeout,
        state_dir=state_dir,
        context=context,
    )
    served.set_caching_options(False)  # a deploy changes the world: never reuse an earlier result
    scored = evaluate_served(url=served.outputs["url"], headers=served.outputs["headers"], samples=eval_samples)
    scored.set_caching_options(False)
    with dsl.If(scored.output < threshold, name="accuracy-under-threshold"):
        undone = undeploy_model(deployment=served.outputs["deployment"])
        undone.set_caching_options(False)
        rejected = reject_model(accuracy=scored.output, threshold=threshold, undone=undone.output)
        rejected.set_caching_options(False)
    return served.outputs["url"]
