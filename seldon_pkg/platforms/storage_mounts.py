"""How a spec's ``storage_uri`` reaches the model container on each platform.

All three platforms put the model files at ``/mnt/models`` and our wrappers find relative model
files there through ``SELDON_PKG_MODEL_DIR`` (model_wrappers.model_dir.MODEL_DIR_ENV):

* Seldon Core 1.17.1 injects its storage initializer only for prepackaged servers
  (operator/controllers/seldondeployment_prepackaged_servers.go); a custom container gets
  ``modelUri`` ignored. So the SeldonDeployment carries the same pod pieces the operator would
  add (model_initializer_injector.go): an ``emptyDir`` at ``/mnt/models`` filled by an init
  container running Seldon's rclone storage initializer with ``[uri, /mnt/models]``; a
  ``pvc://claim/path`` is mounted read-only instead, no copy.
* KServe v0.20.0 injects its storage initializer for a custom container whose env has
  ``STORAGE_URI`` (apis/serving/v1beta1/predictor_custom.go, webhook storage_initializer_injector.go),
  into ``/mnt/models`` (constants.DefaultModelLocalMountPath).
* Seldon Core 2 downloads ``spec.storageUri`` itself (its agent, rclone) and points MLServer at it.

Credentials: the init container reads a Secret named ``seldon-pkg-storage`` when it exists
(``envFrom``, optional), e.g. rclone's ``RCLONE_CONFIG_S3_*`` or ``AWS_*`` variables.
"""

from __future__ import annotations

from typing import Any

from model_wrappers.model_dir import MODEL_DIR_ENV
from seldon_pkg.storage.uri import MODEL_MOUNT, parse_storage_uri

SELDON_INITIALIZER = "seldonio/rclone-storage-initializer:1.17.1"
STORAGE_SECRET = "seldon-pkg-storage"
VOLUME = "seldon-pkg-models"


def model_dir_env() -> dict[str, str]:
    return {"name": MODEL_DIR_ENV, "value": MODEL_MOUNT}


def seldon_pod_storage(storage_uri: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
    """(volumes, init containers, the model container's volume mount) for a SeldonDeployment."""
    uri = parse_storage_uri(storage_uri)
    if uri.scheme == "pvc":
        volume = {"name": VOLUME, "persistentVolumeClaim": {"claimName": uri.location, "readOnly": True}}
        mount: dict[str, Any] = {"name": VOLUME, "mountPath": MODEL_MOUNT, "readOnly": True}
        if uri.path:
            mount["subPath"] = uri.path
        return [volume], [], mount
    initializer = {
        "name": "model-initializer",
        "image": SELDON_INITIALIZER,
        "args": [uri.raw, MODEL_MOUNT],
        "envFrom": [{"secretRef": {"name": STORAGE_SECRET, "optional": True}}],
        "volumeMounts": [{"name": VOLUME, "mountPath": MODEL_MOUNT}],
        "terminationMessagePolicy": "FallbackToLogsOnError",
    }
    return (
        [{"name": VOLUME, "emptyDir": {}}],
        [initializer],
        {"name": VOLUME, "mountPath": MODEL_MOUNT, "readOnly": True},
    )
