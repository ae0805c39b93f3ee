"""``MnistClassifier``: the demo's digit classifier, for arrays, PNG/JPEG, one or many digits.

Accepted input (the reply is always ``N x 10`` probabilities named ``"0"``..``"9"``):

* ``data`` (``ndarray`` or ``tensor``): 784 values, 28x28, Nx784 or Nx28x28; values in 0..1 or
  0..255; white ink on black as in MNIST, or black on white with ``black_on_white: true``;
* ``binData``: a PNG/JPEG/... image (any size, any colours; transparency is the background);
* ``strData``: the same image as base64 text or a ``data:image/png;base64,...`` URL;
* over OIP (model_wrappers/oip.py): an FP32/FP64/UINT8... tensor of the shapes above, or a BYTES
  tensor of images (raw, base64 with ``content_type: base64``, or data URLs).

Every digit is normalised the MNIST way (bounding box to 20x20, centre of mass in 28x28, see
mnist_preprocessing.py) unless ``centre: false``, so drawings score like MNIST test digits.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from model_wrappers.base import TensorSpec
from model_wrappers.decoding import base64_bytes, grayscale_image, numeric_array
from model_wrappers.errors import BadInput, PayloadTooLarge
from model_wrappers.keras_model import KerasModel
from model_wrappers.mnist_preprocessing import FIELD, normalise_batch

DIGITS = tuple(str(d) for d in range(10))


class MnistClassifier(KerasModel):
    """Ten-class digit classifier around a model file taking ``(N, 28, 28)`` in 0..1."""

    black_on_white: bool = False
    """Arrays are dark ink on a light background (images are detected automatically)."""
    centre: bool = True
    """Apply MNIST centring; turn off only for data that is already MNIST-normalised."""
    max_batch: int = 256
    """Most digits one request may carry."""

    accepted_payloads: ClassVar[frozenset[str]] = frozenset({"tensor", "ndarray", "tftensor", "binData", "strData"})
    output_names: ClassVar[tuple[str, ...]] = DIGITS
    oip_inputs: ClassVar[tuple[TensorSpec, ...]] = (TensorSpec("digits", "FP32", (-1, FIELD * FIELD)),)
    """N digits of 784 values (0..1 or 0..255); N x 28 x 28 and BYTES images (PNG/JPEG) work too."""
    oip_outputs: ClassVar[tuple[TensorSpec, ...]] = (TensorSpec("probabilities", "FP32", (-1, len(DIGITS))),)

    def decode(self, features: Any, feature_names: list[str]) -> np.ndarray:
        if isinstance(features, (bytes, bytearray)):
            images = grayscale_image(bytes(features))[None]
        elif isinstance(features, str):
            images = grayscale_image(base64_bytes(features))[None]
        else:
            images = self._digits_from_array(numeric_array(features, max_values=self.max_values))
            if self.black_on_white:
                images = 1.0 - images
        if len(images) > self.max_batch:
            raise PayloadTooLarge(f"{len(images)} digits in one request; the limit is {self.max_batch}")
        return normalise_batch(images, centre=self.centre)

    @staticmethod
    def _digits_from_array(array: np.ndarray) -> np.ndarray:
        """``(N, 28, 28)`` in 0..1 from any accepted array shape and value range."""
        pixels = FIELD * FIELD
        if array.shape in ((pixels,), (FIELD, FIELD)):
            digits = array.reshape(1, FIELD, FIELD)
        elif array.ndim == 2 and array.shape[1] == pixels:
            digits = array.reshape(-1, FIELD, FIELD)
        elif array.ndim == 3 and array.shape[1:] == (FIELD, FIELD):
            digits = array
        elif array.ndim == 4 and array.shape[1:] in ((FIELD, FIELD, 1), (1, FIELD, FIELD)):
            digits = array.reshape(-1, FIELD, FIELD)
        else:
            raise BadInput(f"expected 784 values, 28x28, Nx784 or Nx28x28 digits; got shape {list(array.shape)}")
        low, high = float(digits.min()), float(digits.max())
        if low < 0.0 or high > 255.0:
            raise BadInput(f"pixel values must be in 0..1 or 0..255, got {low:g}..{high:g}")
        return digits / 255.0 if high > 1.0 else digits

    def request_tags(self, batch: np.ndarray, outputs: np.ndarray) -> dict[str, Any]:
        """The predicted digit of each row (``tolist`` first: indexing with NumPy integers one by
        one costs twice as much on every request)."""
        return {"digits": [DIGITS[i] for i in outputs.argmax(axis=1).tolist()]}

    def request_metrics(self, batch: np.ndarray, outputs: np.ndarray) -> list[dict[str, Any]]:
        """``mnist_digits_total`` and the mean top-class confidence, for drift dashboards.

        The mean is a sum over the row count: ``ndarray.mean`` goes through NumPy's Python-level
        ``_mean`` and cost about 25 us per request right after the model call, a third of the
        adapter's own time at one digit (the sum costs 8)."""
        tops = outputs.max(axis=1)
        confidence = float(tops.sum()) / tops.size if tops.size else float("nan")  # as mean() of none
        return [
            {"type": "COUNTER", "key": "mnist_digits_total", "value": len(outputs)},
            {"type": "GAUGE", "key": "mnist_top_confidence", "value": confidence},
        ]

    def init_metadata(self) -> dict[str, Any]:
        return {
            "name": "mnist-classifier",
            "platform": self.platform,
            "versions": [],
            "inputs": [
                {"messagetype": "tensor", "schema": {"shape": [-1, FIELD, FIELD]}},
                {"messagetype": "ndarray", "schema": {"shape": [-1, FIELD * FIELD]}},
                {"messagetype": "binData"},
                {"messagetype": "strData"},
            ],
            "outputs": [{"messagetype": "tensor", "schema": {"names": list(DIGITS), "shape": [-1, 10]}}],
            "custom": {"model_uri": str(self.model_uri), "centre": str(self.centre).lower()},
        }
