"""Held-out MNIST digits (never seen in training) for correctness checks."""

from __future__ import annotations

import functools
import io

import numpy as np
from PIL import Image

from demo_mnist.data import load_split


@functools.lru_cache(maxsize=1)
def held_out() -> tuple[np.ndarray, np.ndarray]:
    """``(images (1000, 28, 28) float32 0..1, labels)``: the split training did not use."""
    split = load_split()
    return split.test_images, split.test_labels


def png_bytes(image: np.ndarray, *, black_on_white: bool = False, scale: int = 1, fmt: str = "PNG") -> bytes:
    """Encode a 0..1 digit as an image file, optionally inverted and enlarged."""
    pixels = (1.0 - image if black_on_white else image) * 255.0
    picture = Image.fromarray(pixels.astype(np.uint8), mode="L")
    if scale != 1:
        picture = picture.resize((28 * scale, 28 * scale), Image.NEAREST)
    buffer = io.BytesIO()
    picture.save(buffer, format=fmt)
    return buffer.getvalue()
