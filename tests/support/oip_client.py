"""An application developer's OIP client: NVIDIA's tritonclient, unmodified, building every
request from the model's metadata alone. Run by tests/test_oip.py with the interpreter of
.venv-clients (tritonclient needs protobuf 6; the project's venv has seldon-core's protobuf 3).

Usage: python oip_client.py HTTP_HOST:PORT GRPC_HOST:PORT MODEL DIGITS.npy [--no-binary] [--header "K: V"]...
Prints one JSON object: the predicted digits per way of calling, and the metadata seen.
``--no-binary``: skip tritonclient's binary tensor extension (plain MLServer, as in a pod,
answers it with 422; our gateway translates it).
"""

import json
import sys

import numpy as np
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient

NUMPY = {"FP32": np.float32, "FP64": np.float64, "UINT8": np.uint8, "INT64": np.int64}


def request_from_metadata(metadata: dict, digits: np.ndarray, module, binary: bool | None):
    spec = metadata["inputs"][0]
    shape = [len(digits)] + [int(d) for d in spec["shape"][1:]]
    data = digits.reshape(shape).astype(NUMPY[spec["datatype"]])
    tensor = module.InferInput(spec["name"], shape, spec["datatype"])
    if binary is None:
        tensor.set_data_from_numpy(data)
    else:
        tensor.set_data_from_numpy(data, binary_data=binary)
    return tensor


def main() -> None:
    http_url, grpc_url, model, digits_path = sys.argv[1:5]
    digits = np.load(digits_path)
    result: dict = {}

    options = sys.argv[5:]
    headers = dict(
        options[i + 1].split(": ", 1) for i in range(len(options) - 1) if options[i] == "--header"
    )  # the headers `seldon-pkg endpoint` says a request needs
    http = httpclient.InferenceServerClient(http_url)
    result["server_live"] = http.is_server_live()
    result["model_ready"] = http.is_model_ready(model)
    metadata = http.get_model_metadata(model)
    result["metadata"] = metadata
    output = metadata["outputs"][0]["name"]
    if "--no-binary" not in sys.argv[5:]:
        # tritonclient's defaults: binary tensor data extension both ways
        answer = http.infer(model, [request_from_metadata(metadata, digits, httpclient, None)])
        result["http_binary"] = answer.as_numpy(output).argmax(axis=1).tolist()
    # JSON tensors both ways
    answer = http.infer(
        model,
        [request_from_metadata(metadata, digits, httpclient, False)],
        outputs=[httpclient.InferRequestedOutput(output, binary_data=False)],
        headers=headers or None,
    )
    result["http_json"] = answer.as_numpy(output).argmax(axis=1).tolist()

    grpc = grpcclient.InferenceServerClient(grpc_url)
    result["grpc_live"] = grpc.is_server_live()
    grpc_metadata = grpc.get_model_metadata(model, as_json=True)
    result["grpc_metadata_inputs"] = grpc_metadata["inputs"]
    answer = grpc.infer(model, [request_from_metadata(metadata, digits, grpcclient, None)])  # raw_input_contents
    result["grpc"] = answer.as_numpy(output).argmax(axis=1).tolist()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
