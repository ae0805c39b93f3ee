"""The models the benchmark serves: their specs (written into a scratch folder) and one digit
to ask them about. Shared by the benchmark's steps (run, density, soak)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from seldon_pkg.project import ROOT
from seldon_pkg.values import Protocol

MODELS = ROOT / "demo_mnist" / "models"


def one_digit() -> tuple[bytes, bytes, np.ndarray]:
    from seldon_core.proto import prediction_pb2

    from demo_mnist.data import load_split

    digit = load_split().test_images[0]
    rest = json.dumps({"data": {"ndarray": digit.ravel().tolist()}}).encode()
    proto = prediction_pb2.SeldonMessage(
        data=prediction_pb2.DefaultData(tensor=prediction_pb2.Tensor(shape=[1, 784], values=digit.ravel().tolist()))
    ).SerializeToString()
    return rest, proto, digit


def write_spec(
    folder: Path,
    name: str,
    model_file: str,
    runtime: str,
    workers: int | None = None,
    protocol: str = "seldon",
    env: dict[str, str] | None = None,
    spec_file: str | None = None,
) -> Path:
    """A bench model's spec. OIP specs turn centring off: the MLServer peer does not centre, and
    compared paths must do equal work. Returns the folder, or with ``spec_file`` that file in
    it: several specs in one folder share its model file (density's many names for one model)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / Path(model_file).name
    if not target.exists():
        shutil.copy(MODELS / model_file, target)
    centre = ", centre: false" if protocol == Protocol.OIP else ""
    env = {**(env or {}), **({"GUNICORN_WORKERS": str(workers)} if workers else {})}
    (folder / (spec_file or "seldon-model.yaml")).write_text(
        f"name: {name}\nversion: v1\nwrapper: model_wrappers.mnist.MnistClassifier\nruntime: {runtime}\n"
        f"protocol: {protocol}\nparameters: {{model_uri: {Path(model_file).name}{centre}}}\n"
        + (f"env: {json.dumps(env)}\n" if env else "")
    )
    return folder / spec_file if spec_file else folder
