"""Every label and annotation seldon_pkg writes or selects on is defined here.

Labels are what cleanup relies on: we only ever delete objects that carry our
``managed-by`` label or the operator's ``seldon-deployment-id``. SeldonDeployment
``metadata.labels`` are not copied to pods by the operator, so the manifest also puts them in
``predictors[].labels`` and ``componentSpecs[].metadata.labels``.
"""

from __future__ import annotations

from seldon_pkg.platforms.names import Identity, label_value

PREFIX = "seldon-pkg.io"
MANAGED_BY = "app.kubernetes.io/managed-by"
MANAGER = "seldon-pkg"
MODEL = f"{PREFIX}/model"
VERSION = f"{PREFIX}/version"
IDENTITY = f"{PREFIX}/identity"
REVISION = f"{PREFIX}/revision"

ANNOTATION_MODEL = f"{PREFIX}/model-name"
ANNOTATION_VERSION = f"{PREFIX}/model-version"
ANNOTATION_SPEC = f"{PREFIX}/spec-source"
ANNOTATION_DEPLOYED_AT = f"{PREFIX}/deployed-at"
ANNOTATION_PROTOCOL = f"{PREFIX}/protocol"

# What the platforms' controllers put on the children they create (valued with the owner's name).
SELDON_DEPLOYMENT_ID = "seldon-deployment-id"
SELDON_MANAGED_BY = "seldon-core"
KSERVE_INFERENCESERVICE = "serving.kserve.io/inferenceservice"
"""KServe v0.20.0 constants.InferenceServicePodLabelKey, on the predictor's Deployment, pods, Service."""


def model_labels(identity: Identity, revision: str) -> dict[str, str]:
    """Labels for everything we create for one model revision."""
    return {
        MANAGED_BY: MANAGER,
        MODEL: label_value(identity.model),
        VERSION: label_value(identity.version),
        IDENTITY: identity.digest(),
        REVISION: label_value(revision),
    }


def model_annotations(identity: Identity) -> dict[str, str]:
    """The unabridged identity, for humans and for the plan step's ownership check."""
    return {ANNOTATION_MODEL: identity.model, ANNOTATION_VERSION: identity.version}


def managed_selector() -> str:
    """Label selector for every object seldon_pkg manages."""
    return f"{MANAGED_BY}={MANAGER}"


def model_selector(identity: Identity) -> str:
    """Label selector for every revision (any version) of one model that seldon_pkg manages."""
    return f"{managed_selector()},{MODEL}={label_value(identity.model)}"
