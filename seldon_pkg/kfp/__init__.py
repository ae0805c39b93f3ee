"""Kubeflow Pipelines steps that put a model in service: ``deploy_model`` and ``undeploy_model``.

Install with the ``kfp`` extra (``pip install seldon-pkg[kfp]``; in this repository ``make
install`` builds ``.venv-kfp``: KFP's SDK needs protobuf 6, seldon-core's environment pins
protobuf 3, so they cannot share one). A pipeline adds the step in three lines::

    from seldon_pkg.kfp import deploy_model

    served = deploy_model(model=trained.outputs["model"], target="k8s", namespace="models")
    served.set_caching_options(False)  # a deploy changes the world: never reuse an old result

``served.outputs["url"]`` (and ``name``, ``grpc``, ``revision``, ``namespace``) feed the next
steps; ``undeploy_model(deployment=served.outputs["deployment"])`` undoes exactly what it
applied. The components are KFP lightweight Python components whose bodies call
``seldon_pkg.kfp.steps`` (the library, not the CLI); they are imported on first use, so
``seldon_pkg.kfp.steps`` works without KFP installed.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["STEP_IMAGE", "deploy_model", "undeploy_model"]


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module 'seldon_pkg.kfp' has no attribute {name!r}")
    value = getattr(importlib.import_module("seldon_pkg.kfp.components"), name)
    globals()[name] = value
    return value
