"""The MNIST wrapper under a real ``seldon-core-microservice``: REST, gRPC, SeldonClient, errors.

Every test talks to a real process over loopback; nothing is mocked.
"""

from __future__ import annotations

import base64
import json

import grpc
import numpy as np
import pytest
import requests
from google.protobuf.json_format import MessageToDict
from seldon_core.proto import prediction_pb2, prediction_pb2_grpc
from seldon_core.seldon_client import SeldonClient

from tests.support.digits import held_out, png_bytes

JSON = {"Content-Type": "application/json"}


def post(service, body, path="/api/v1.0/predictions", **kwargs):
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    headers = kwargs.pop("headers", JSON)
    return requests.post(service.url + path, data=data, headers=headers, timeout=30, **kwargs)


def probabilities(reply: dict) -> np.ndarray:
    data = reply["data"]
    if "tensor" in data:
        return np.array(data["tensor"]["values"]).reshape(data["tensor"]["shape"])
    return np.array(data["ndarray"])


def good_forms():
    images, labels = held_out()
    five = images[:5]
    return {
        "ndarray-784": ({"data": {"ndarray": five[0].ravel().tolist()}}, labels[:1]),
        "ndarray-28x28": ({"data": {"ndarray": five[0].tolist()}}, labels[:1]),
        "ndarray-Nx784": ({"data": {"ndarray": five.reshape(5, -1).tolist()}}, labels[:5]),
        "ndarray-Nx28x28": ({"data": {"ndarray": five.tolist()}}, labels[:5]),
        "ndarray-0-255": ({"data": {"ndarray": (five * 255).round().reshape(5, -1).tolist()}}, labels[:5]),
        "tensor-Nx784": ({"data": {"tensor": {"shape": [5, 784], "values": five.ravel().tolist()}}}, labels[:5]),
        "tensor-Nx28x28": ({"data": {"tensor": {"shape": [5, 28, 28], "values": five.ravel().tolist()}}}, labels[:5]),
        "binData-png": ({"binData": base64.b64encode(png_bytes(five[1])).decode()}, labels[1:2]),
        "binData-jpeg-paper": (
            {"binData": base64.b64encode(png_bytes(five[2], black_on_white=True, scale=8, fmt="JPEG")).decode()},
            labels[2:3],
        ),
        "strData-base64": ({"strData": base64.b64encode(png_bytes(five[3], scale=4)).decode()}, labels[3:4]),
        "strData-data-url": (
            {"strData": "data:image/png;base64," + base64.b64encode(png_bytes(five[4], black_on_white=True)).decode()},
            labels[4:5],
        ),
    }


GOOD = good_forms()


@pytest.mark.parametrize("form", sorted(GOOD))
@pytest.mark.parametrize("path", ["/api/v1.0/predictions", "/predict"])
def test_every_accepted_form_predicts_the_right_digit(mnist_onnx, form, path):
    body, labels = GOOD[form]
    reply = post(mnist_onnx, body, path)
    assert reply.status_code == 200, reply.text
    payload = reply.json()
    probs = probabilities(payload)
    assert probs.shape == (len(labels), 10)
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-4)
    assert payload["data"]["names"] == [str(d) for d in range(10)]
    assert probs.argmax(axis=1).tolist() == labels.tolist()
    assert payload["meta"]["tags"]["digits"] == [str(d) for d in labels]
    if "data" in body:  # the reply mirrors the request's form
        assert set(payload["data"]) & {"tensor", "ndarray"} == set(body["data"]) & {"tensor", "ndarray"}


def test_held_out_accuracy_through_rest(mnist_onnx):
    images, labels = held_out()
    reply = post(mnist_onnx, {"data": {"ndarray": images[:250].reshape(250, -1).tolist()}})
    assert reply.status_code == 200, reply.text
    accuracy = (probabilities(reply.json()).argmax(axis=1) == labels[:250]).mean()
    assert accuracy >= 0.96, accuracy


def test_keras_and_onnx_processes_agree(mnist_keras, mnist_onnx):
    images, _ = held_out()
    body = {"data": {"tensor": {"shape": [20, 28, 28], "values": images[100:120].ravel().tolist()}}}
    keras_probs = probabilities(post(mnist_keras, body).json())
    onnx_probs = probabilities(post(mnist_onnx, body).json())
    assert np.abs(keras_probs - onnx_probs).max() < 1e-4
    assert post(mnist_keras, body).json()["meta"]["tags"]["runtime"] == "keras"
    assert post(mnist_onnx, body).json()["meta"]["tags"]["runtime"] == "onnx"


def test_health_metadata_and_metrics(mnist_onnx):
    assert requests.get(mnist_onnx.url + "/health/ping", timeout=5).text.strip().strip('"') == "pong"
    status = requests.get(mnist_onnx.url + "/health/status", timeout=5)
    assert status.status_code == 200
    assert status.json()["jsonData"]["ready"] is True
    metadata = requests.get(mnist_onnx.url + "/metadata", timeout=5).json()
    assert metadata["name"] == "mnist-classifier"
    assert metadata["outputs"][0]["schema"]["names"] == [str(d) for d in range(10)]
    assert {i["messagetype"] for i in metadata["inputs"]} >= {"tensor", "ndarray", "binData", "strData"}
    post(mnist_onnx, GOOD["ndarray-Nx784"][0])
    metrics = requests.get(f"http://127.0.0.1:{mnist_onnx.metrics_port}/metrics", timeout=5).text
    assert "mnist_digits_total" in metrics
    assert "mnist_top_confidence" in metrics
    assert "seldon_pkg_infer_ms" in metrics


def tensor_message(images: np.ndarray) -> prediction_pb2.SeldonMessage:
    return prediction_pb2.SeldonMessage(
        data=prediction_pb2.DefaultData(
            tensor=prediction_pb2.Tensor(shape=list(images.shape), values=images.ravel().tolist())
        )
    )


@pytest.mark.parametrize("service_name", ["Model", "Seldon"])
def test_grpc_predict(mnist_onnx, service_name):
    images, labels = held_out()
    stub_class = getattr(prediction_pb2_grpc, f"{service_name}Stub")
    with grpc.insecure_channel(f"127.0.0.1:{mnist_onnx.grpc_port}") as channel:
        reply = stub_class(channel).Predict(tensor_message(images[:8]), timeout=30)
    probs = np.array(reply.data.tensor.values).reshape(list(reply.data.tensor.shape))
    assert probs.argmax(axis=1).tolist() == labels[:8].tolist()
    assert list(reply.data.names) == [str(d) for d in range(10)]

    with grpc.insecure_channel(f"127.0.0.1:{mnist_onnx.grpc_port}") as channel:
        png = prediction_pb2.SeldonMessage(binData=png_bytes(images[9], scale=3))
        reply = stub_class(channel).Predict(png, timeout=30)
    assert int(np.argmax(reply.data.tensor.values)) == labels[9]


@pytest.mark.parametrize("transport", ["rest", "grpc"])
def test_official_seldon_client(mnist_onnx, transport):
    images, labels = held_out()
    port = mnist_onnx.http_port if transport == "rest" else mnist_onnx.grpc_port
    client = SeldonClient(microservice_endpoint=f"127.0.0.1:{port}")
    result = client.microservice(data=images[20:24].reshape(4, 784), method="predict", transport=transport)
    assert result.success, result.msg
    probs = probabilities(MessageToDict(result.response))
    assert probs.argmax(axis=1).tolist() == labels[20:24].tolist()


# ---- bad input: always a 4xx with a JSON reason, and the server keeps answering -------------


def corrupt_png() -> str:
    images, _ = held_out()
    return base64.b64encode(png_bytes(images[0])[:40]).decode()


BAD = {
    "wrong-shape": ({"data": {"ndarray": [0.5] * 100}}, 400, "shape"),
    "non-numeric": ({"data": {"ndarray": [["a", "b"], ["c", "d"]]}}, 400, "numbers"),
    "ragged": ({"data": {"ndarray": [[0.1, 0.2], [0.3]]}}, 400, "rectangular"),
    "nan": ('{"data": {"ndarray": [' + ",".join(["NaN"] * 784) + "]}}", 400, "NaN"),
    "infinity": ('{"data": {"ndarray": [' + ",".join(["Infinity"] * 784) + "]}}", 400, "NaN or infinity"),
    "negative-pixels": ({"data": {"ndarray": [-1.0] * 784}}, 400, "0..1 or 0..255"),
    "empty-array": ({"data": {"ndarray": []}}, 400, "empty"),
    "empty-object": ({}, 400, "exactly one of"),
    "empty-data": ({"data": {}}, 400, "exactly one of"),
    "data-not-object": ({"data": [1, 2, 3]}, 400, "must be an object"),
    "tensor-values-mismatch": ({"data": {"tensor": {"shape": [2, 784], "values": [0.0] * 784}}}, 400, "needs 1568"),
    "tensor-bad-shape": ({"data": {"tensor": {"shape": ["x"], "values": [1]}}}, 400, "integers"),
    "binData-not-base64": ({"binData": "@@@ not base64 @@@"}, 400, "base64"),
    "binData-not-an-image": (
        {"binData": base64.b64encode(b"hello, not an image" * 10).decode()},
        400,
        "not a readable image",
    ),
    "binData-truncated-png": ({"binData": corrupt_png()}, 400, "not a readable image"),
    "strData-not-base64": ({"strData": "this is not base64!"}, 400, "base64"),
    "jsonData-not-accepted": ({"jsonData": {"x": 1}}, 400, "does not accept"),
    "too-many-digits": ({"data": {"tensor": {"shape": [300, 784], "values": [0.0] * 300 * 784}}}, 413, "limit"),
    "invalid-json": ('{"data": {"ndarray": [1, 2', 400, "JSON"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_gets_4xx_json_and_server_survives(mnist_onnx, case):
    body, status, needle = BAD[case]
    reply = post(mnist_onnx, body)
    assert reply.status_code == status, reply.text
    info = reply.json()["status"]
    assert info["status"] == 1 and needle in info["info"], info
    assert_still_serving(mnist_onnx)


def assert_still_serving(service):
    body, labels = GOOD["ndarray-Nx784"]
    reply = post(service, body)
    assert reply.status_code == 200
    assert probabilities(reply.json()).argmax(axis=1).tolist() == labels.tolist()


def test_twenty_megabyte_body_is_refused_before_parsing(mnist_onnx):
    body = b'{"data": {"ndarray": [' + b"0.5," * (5 * 1024 * 1024) + b"0.5]}}"
    assert len(body) > 20 * 1024 * 1024
    reply = post(mnist_onnx, body)
    assert reply.status_code == 413
    assert "exceeds the limit" in reply.json()["status"]["info"]
    assert_still_serving(mnist_onnx)


@pytest.mark.parametrize("content_type", ["text/plain", "application/octet-stream", None])
def test_wrong_content_type_is_415(mnist_onnx, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    reply = requests.post(
        mnist_onnx.url + "/api/v1.0/predictions",
        data=json.dumps(GOOD["ndarray-784"][0]).encode(),
        headers=headers,
        timeout=10,
    )
    assert reply.status_code == 415, reply.text
    assert "Content-Type" in reply.json()["status"]["info"]
    assert_still_serving(mnist_onnx)


def test_http_errors_are_json(mnist_onnx):
    reply = requests.get(mnist_onnx.url + "/no/such/path", timeout=5)
    assert reply.status_code == 404
    assert reply.json()["status"]["status"] == 1
    reply = requests.put(mnist_onnx.url + "/api/v1.0/predictions", timeout=5)
    assert reply.status_code == 405
    assert reply.json()["status"]["status"] == 1
    reply = requests.get(mnist_onnx.url + "/api/v1.0/predictions", timeout=5)
    assert reply.status_code == 405 and reply.headers["Allow"] == "POST"
    assert "GET is not allowed here" in reply.json()["status"]["info"]


def test_unreadable_bodies_say_what_is_wrong(mnist_onnx):
    url = mnist_onnx.url + "/api/v1.0/predictions"
    malformed = requests.post(url, data=b'{"data": {"ndarray": [[1, 2]}', headers=JSON, timeout=5)
    assert malformed.status_code == 400 and "not valid JSON" in malformed.json()["status"]["info"]
    form = requests.post(
        url,
        data=b'{"data":{"ndarray":[[0]]}}',
        timeout=5,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )  # what curl -d sends
    assert form.status_code == 400 and "Content-Type: application/json" in form.json()["status"]["info"]
    assert_still_serving(mnist_onnx)


def test_grpc_bad_input_is_an_error_and_server_survives(mnist_onnx):
    bad = prediction_pb2.SeldonMessage(
        data=prediction_pb2.DefaultData(tensor=prediction_pb2.Tensor(shape=[3, 784], values=[0.0] * 10))
    )
    with grpc.insecure_channel(f"127.0.0.1:{mnist_onnx.grpc_port}") as channel:
        stub = prediction_pb2_grpc.ModelStub(channel)
        with pytest.raises(grpc.RpcError) as caught:
            stub.Predict(bad, timeout=10)
        assert "needs 2352" in caught.value.details()
        images, labels = held_out()
        reply = stub.Predict(tensor_message(images[:3]), timeout=10)
        assert np.array(reply.data.tensor.values).reshape(3, 10).argmax(axis=1).tolist() == labels[:3].tolist()
