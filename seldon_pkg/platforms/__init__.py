"""One spec, three platforms: everything that differs between them, one module each.

``registry`` lists them (``seldon`` -> SeldonDeployment, ``kserve`` -> InferenceService,
``seldon-v2`` -> Seldon Core 2 Model) and is the only place a platform is looked up by name;
``base`` says what a platform provides. Shared by all: ``names`` (every Kubernetes name we
make), ``labels``, ``metadata`` (name, labels, revision of an object), ``schema`` (CRD schema
checks), ``storage_mounts``, ``yaml_documents``. Pure functions over dicts: no cluster needed.
This package imports nothing on its own, so importing one module never loads the others.
"""
