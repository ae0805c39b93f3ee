"""The naive way, as a benchmark peer: a plain Seldon wrapper calling ``model.predict`` per request."""

import numpy as np


class NaiveKeras:
    def __init__(self, model_uri: str) -> None:
        self.model_uri = model_uri

    def load(self) -> None:
        import keras

        self.model = keras.models.load_model(self.model_uri)

    def predict(self, X, feature_names, meta=None):
        return self.model.predict(np.asarray(X, dtype=np.float32).reshape(-1, 28, 28), verbose=0)
