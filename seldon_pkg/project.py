"""Where the project's own files are: one answer for every layer (a leaf: imports nothing).

``ROOT`` is the repository, or the site-packages folder of an installed copy: the folder that
holds ``seldon_pkg`` and ``model_wrappers``. The spec's preflight looks for ready wrappers
there, the image builder and the local runtime copy ``model_wrappers`` from there.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
"""The repository (or installed site-packages) root: where ``model_wrappers`` is."""
WRAPPERS_PACKAGE = "model_wrappers"
"""The ready wrappers' package, beside ``seldon_pkg`` under ``ROOT``."""
