"""Turning what Seldon hands to ``predict`` into clean NumPy arrays, or a clear 400.

Seldon gives ``predict`` a NumPy array for ``data`` payloads (of any dtype: strings and ragged
lists arrive as ``object``/``<U`` arrays), raw ``bytes`` for ``binData`` and ``str`` for
``strData``. Each helper here checks one thing and raises :class:`BadInput` saying what was wrong.
"""

from __future__ import annotations

import base64
import binascii
import io
from typing import Any

import numpy as np

from model_wrappers.errors import BadInput, PayloadTooLarge

MAX_IMAGE_PIXELS = 4096 * 4096
"""Refuse decompression bombs: a tiny PNG may claim gigapixels."""
IMAGE_FORMATS = frozenset({"PNG", "JPEG", "BMP", "GIF", "WEBP"})


def numeric_array(features: Any, *, max_values: int) -> np.ndarray:
    """Return ``features`` as a finite, non-empty float32 array."""
    if isinstance(features, (bytes, bytearray, str)):
        raise BadInput("expected numbers in 'data' (tensor or ndarray)")
    try:
        array = np.asarray(features)
    except (ValueError, TypeError) as error:  # ragged nesting in some NumPy versions
        raise BadInput(f"'data' is not a rectangular array of numbers: {error}") from None
    if array.dtype == object:
        raise BadInput("'data' is not a rectangular array of numbers (ragged or mixed types)")
    if array.dtype.kind not in "biuf":
        raise BadInput(f"'data' must hold numbers, got values of type {array.dtype.name}")
    if array.size == 0:
        raise BadInput("'data' is empty")
    if array.size > max_values:
        raise PayloadTooLarge(f"'data' has {array.size} values; the limit is {max_values}")
    array = array.astype(np.float32, copy=False)
    if not np.isfinite(array).all():
        raise BadInput("'data' contains NaN or infinity")
    return array


def base64_bytes(text: str) -> bytes:
    """Decode base64 text, also accepting a ``data:...;base64,`` URL as browsers make."""
    if not isinstance(text, str) or not text.strip():
        raise BadInput("'strData' must be non-empty base64 text")
    body = text.strip()
    if body.startswith("data:"):
        _, _, body = body.partition(",")
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise BadInput("'strData' is not valid base64") from None


def grayscale_image(raw: bytes) -> np.ndarray:
    """Decode image bytes into a 2-D float32 array in 0..1, ink bright on dark.

    Transparency means "no ink": a canvas export has a transparent background, so the alpha
    channel is the drawing whatever colour the strokes were. Opaque images are converted to
    grey, and one whose border is mostly bright (paper, a white canvas) is inverted.
    """
    from PIL import Image, UnidentifiedImageError

    if not raw:
        raise BadInput("the image is empty")
    try:
        # PIL's own bomb check (past twice its MAX_IMAGE_PIXELS) raises from open(), before ours
        image = Image.open(io.BytesIO(raw))
        if image.format not in IMAGE_FORMATS:
            raise BadInput(f"unsupported image format {image.format}")
        if image.width * image.height > MAX_IMAGE_PIXELS:
            raise PayloadTooLarge(f"the image has {image.width}x{image.height} pixels; too large")
        image.load()
    except Image.DecompressionBombError as error:
        raise PayloadTooLarge(f"the image is too large: {error}") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise BadInput(f"the bytes are not a readable image: {error}") from None
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        alpha = np.asarray(image.convert("RGBA"), dtype=np.float32)[..., 3] / 255.0
        if alpha.min() < 0.99:
            return alpha
    grey = np.asarray(image.convert("L"), dtype=np.float32) / 255.0
    return 1.0 - grey if _border_is_bright(grey) else grey


def _border_is_bright(grey: np.ndarray) -> bool:
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    return float(np.median(border)) > 0.5
