"""Where a model's files are when they come from storage: the one variable manifests and wrappers share.

Its own module, importing nothing, so that code rendering manifests (every CLI start) does not
import a wrapper's NumPy to learn a name.
"""

MODEL_DIR_ENV = "SELDON_PKG_MODEL_DIR"
"""Set where a spec's ``storage_uri`` was downloaded (``/mnt/models`` on the clusters, the
fetched folder locally): relative model files are looked up there (keras_model.resolve_model_path).
seldon_pkg sets it (platforms/storage_mounts.py, local/process.py) from this one name."""
