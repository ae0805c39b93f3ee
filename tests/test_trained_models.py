"""The committed demo models: present, accurate on the held-out split, and honestly reported."""

from __future__ import annotations

import json

import pytest

from model_wrappers.backends import load_backend
from model_wrappers.mnist_preprocessing import normalise_batch
from tests.conftest import MODELS
from tests.support.digits import held_out


def test_metrics_report_both_models_and_meets_the_target():
    report = json.loads((MODELS / "metrics.json").read_text())
    assert report["train_samples"] == 4000 and report["held_out_samples"] == 1000
    assert set(report["models"]) == {"mnist-cnn", "mnist-mlp"}
    assert report["models"]["mnist-cnn"]["held_out_accuracy"]["keras"] >= 0.97
    assert report["models"]["mnist-mlp"]["parameters"] < report["models"]["mnist-cnn"]["parameters"]


@pytest.mark.parametrize("name", ["mnist-cnn", "mnist-mlp"])
@pytest.mark.parametrize("kind", ["onnx", "tflite"])
def test_reported_accuracy_is_reproduced_from_the_committed_files(name, kind):
    images, labels = held_out()
    probs = load_backend(MODELS / f"{name}.{kind}").predict(normalise_batch(images))
    accuracy = float((probs.argmax(axis=1) == labels).mean())
    reported = json.loads((MODELS / "metrics.json").read_text())["models"][name]["held_out_accuracy"][kind]
    assert accuracy == pytest.approx(reported, abs=1e-3)
