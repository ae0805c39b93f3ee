"""KServe 0.21 peer for the benchmark: KServe's Python model server serving the same ONNX file.

The same work as the MLServer peer and our OIP path with centring off: decode the OIP input
tensor, reshape to 28x28, one ONNX Runtime call (one thread), return the probabilities.
KServe binds 0.0.0.0; this peer rebinds uvicorn to loopback before KServe builds its server,
and runs REST only (gRPC off). Usage: python kserve_peer.py MODEL.onnx HTTP_PORT
"""

import sys
import uuid

import numpy as np
import onnxruntime as ort
import uvicorn

_config_init = uvicorn.Config.__init__


def _loopback_config(self, *args, **kwargs):
    kwargs["host"] = "127.0.0.1"
    _config_init(self, *args, **kwargs)


uvicorn.Config.__init__ = _loopback_config

from kserve import InferOutput, InferRequest, InferResponse, Model, ModelServer  # noqa: E402


class OnnxMnist(Model):
    def __init__(self, name: str, path: str) -> None:
        super().__init__(name)
        self.path = path
        self.load()

    def load(self) -> bool:
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(self.path, sess_options=options, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name
        self.ready = True
        return True

    def predict(self, payload: InferRequest, headers=None, response_headers=None) -> InferResponse:
        batch = payload.inputs[0].as_numpy().astype(np.float32).reshape(-1, 28, 28)
        probabilities = self.session.run(None, {self.input_name: batch})[0]
        output = InferOutput("probabilities", list(probabilities.shape), "FP32", probabilities)
        return InferResponse(model_name=self.name, infer_outputs=[output], response_id=payload.id or str(uuid.uuid4()))


if __name__ == "__main__":
    ModelServer(http_port=int(sys.argv[2]), enable_grpc=False, workers=1).start([OnnxMnist("mnist", sys.argv[1])])
