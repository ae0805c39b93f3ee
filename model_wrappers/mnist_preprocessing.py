"""MNIST-style normalisation of digit images, in one place.

The original MNIST digits were size-normalised into a 20x20 box and then placed in a 28x28
field so that their centre of mass sits in the centre. A digit drawn on a canvas or photographed
is nothing like that (off-centre, too big or too small, black on white), and a model trained on
MNIST scores poorly on it. Every path that feeds a digit model - training, the REST/gRPC
wrapper, the drawing board - goes through :func:`to_mnist_field`, so ``curl`` users and the web
page get the same answers the model was trained for.

Only NumPy and Pillow are used, so the TF-free serving image stays small.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

FIELD = 28
"""Side of the MNIST field in pixels."""
BOX = 20
"""Side of the box the digit's bounding box is scaled into."""
INK_THRESHOLD = 0.1
"""Fraction of full intensity above which a pixel counts as ink when finding the digit."""


def to_mnist_field(image: np.ndarray) -> np.ndarray:
    """Return ``image`` (2-D, white ink on black, values 0..1) normalised like MNIST.

    Crops to the ink's bounding box, scales the longer side to 20 px keeping the aspect ratio,
    and pastes it into a 28x28 field with the centre of mass at the centre. An image with no
    ink is returned as an all-zero field (the model then says what it says about a blank).
    """
    if image.ndim != 2:
        raise ValueError(f"expected a 2-D image, got shape {image.shape}")
    ink = image > INK_THRESHOLD
    if not ink.any():
        return np.zeros((FIELD, FIELD), dtype=np.float32)
    rows = np.flatnonzero(ink.any(axis=1))
    cols = np.flatnonzero(ink.any(axis=0))
    crop = image[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1].astype(np.float32)

    height, width = crop.shape
    scale = BOX / max(height, width)
    new_h = max(1, int(round(height * scale)))
    new_w = max(1, int(round(width * scale)))
    resized = Image.fromarray(crop, mode="F").resize((new_w, new_h), Image.Resampling.BILINEAR)
    digit = np.clip(np.asarray(resized, dtype=np.float32), 0.0, 1.0)

    field = np.zeros((FIELD, FIELD), dtype=np.float32)
    top = (FIELD - new_h) // 2
    left = (FIELD - new_w) // 2
    field[top : top + new_h, left : left + new_w] = digit
    return _centre_mass(field)


def _centre_mass(field: np.ndarray) -> np.ndarray:
    """Shift ``field`` by whole pixels so that its centre of mass is at the middle."""
    total = float(field.sum())
    if total <= 0.0:
        return field
    ys, xs = np.indices(field.shape)
    cy = float((ys * field).sum()) / total
    cx = float((xs * field).sum()) / total
    centre = (FIELD - 1) / 2.0
    dy = int(round(centre - cy))
    dx = int(round(centre - cx))
    shifted = np.zeros_like(field)
    src_y = slice(max(0, -dy), FIELD - max(0, dy))
    dst_y = slice(max(0, dy), FIELD - max(0, -dy))
    src_x = slice(max(0, -dx), FIELD - max(0, dx))
    dst_x = slice(max(0, dx), FIELD - max(0, -dx))
    shifted[dst_y, dst_x] = field[src_y, src_x]
    return shifted


def normalise_batch(images: np.ndarray, *, black_on_white: bool = False, centre: bool = True) -> np.ndarray:
    """Turn a batch ``(N, H, W)`` of 0..1 images into ``(N, 28, 28)`` float32 MNIST fields.

    ``black_on_white`` inverts first (paper-style scans and canvas exports). ``centre=False``
    skips the MNIST centring for data that is already MNIST-normalised and 28x28.
    """
    batch = images.astype(np.float32, copy=False)
    if black_on_white:
        batch = 1.0 - batch
    if not centre:
        if batch.shape[1:] != (FIELD, FIELD):
            raise ValueError("images must be 28x28 when centring is off")
        return np.ascontiguousarray(batch)
    return np.stack([to_mnist_field(image) for image in batch])
