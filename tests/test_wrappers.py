"""The wrapper classes in-process: parameters, decoding, preprocessing, Seldon's hooks."""

from __future__ import annotations

import numpy as np
import pytest
from seldon_core.proto import prediction_pb2

from model_wrappers.base import SeldonModel
from model_wrappers.errors import BadInput, ModelFailure, ModelNotReady, PayloadTooLarge
from model_wrappers.keras_model import KerasModel
from model_wrappers.mnist import MnistClassifier
from model_wrappers.mnist_preprocessing import to_mnist_field
from model_wrappers.parameters import ParameterError
from tests.support.digits import held_out, png_bytes

CNN_ONNX = "demo_mnist/models/mnist-cnn.onnx"


class Doubler(SeldonModel):
    """A whole new model: one typed parameter and one method."""

    factor: float = 2.0

    def infer(self, batch):
        return batch * self.factor


class Exploding(SeldonModel):
    calls = 0

    def infer(self, batch):
        type(self).calls += 1
        raise TypeError("a bug inside the model")


@pytest.fixture(scope="module")
def mnist():
    model = MnistClassifier(model_uri=CNN_ONNX)
    model.load()
    return model


def test_a_new_model_is_a_subclass_and_one_method():
    model = Doubler(factor="3")
    model.load()
    reply = model.predict(np.array([[1.0, 2.0]]), [])
    assert reply.data.tolist() == [[3.0, 6.0]]
    assert {m["key"] for m in reply.metrics} >= {"seldon_pkg_items_total", "seldon_pkg_infer_ms"}


@pytest.mark.parametrize(
    "given, message",
    [
        ({"factr": 2.0}, "unknown parameter(s) factr"),
        ({"factor": "fast"}, "parameter 'factor' must be float"),
        ({"factor": True}, "parameter 'factor' must be float"),
    ],
)
def test_parameters_are_checked_and_named(given, message):
    with pytest.raises(ParameterError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Doubler(**given)


def test_required_parameter_and_bool_strings():
    with pytest.raises(ParameterError, match="'model_uri' is required"):
        MnistClassifier()
    assert MnistClassifier(model_uri=CNN_ONNX, black_on_white="false").black_on_white is False
    assert MnistClassifier(model_uri=CNN_ONNX, black_on_white="True").black_on_white is True


def test_type_error_in_the_model_is_a_500_and_runs_once():
    model = Exploding()
    model.load()
    with pytest.raises(ModelFailure) as caught:
        model.predict(np.ones((1, 2)), [], meta={})
    assert caught.value.status_code == 500
    assert Exploding.calls == 1
    assert not isinstance(caught.value, TypeError)


def test_predict_before_load_is_503():
    with pytest.raises(ModelNotReady) as caught:
        MnistClassifier(model_uri=CNN_ONNX).predict(np.zeros(784), [])
    assert caught.value.status_code == 503


def test_load_failure_is_raised_not_swallowed(tmp_path):
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a model")
    model = MnistClassifier(model_uri=str(broken))
    with pytest.raises(RuntimeError, match=r"MnistClassifier\.load failed"):
        model.load()
    with pytest.raises(ModelNotReady, match=r"load failed|Fail|INVALID"):
        model.health_status()


def test_unknown_model_file_type_is_refused():
    with pytest.raises(ValueError, match="cannot tell the model type"):
        KerasModel(model_uri="model.pkl")


def test_runtime_requirements_follow_the_model_file():
    assert any(r.startswith("tensorflow") for r in MnistClassifier.runtime_requirements({"model_uri": "m.keras"}))
    onnx = MnistClassifier.runtime_requirements({"model_uri": "m.onnx"})
    assert onnx and not any("tensorflow" in r for r in onnx)
    tflite = MnistClassifier.runtime_requirements({"model_uri": "m.tflite"})
    assert any(r.startswith("ai-edge-litert") for r in tflite) and "pillow>=10" in tflite


@pytest.mark.parametrize("suffix", ["onnx", "tflite", "keras"])
def test_every_backend_gives_the_same_answers(suffix):
    images, labels = held_out()
    model = MnistClassifier(model_uri=f"demo_mnist/models/mnist-cnn.{suffix}")
    model.load()
    probs = model.predict(images[:100], []).data
    assert (probs.argmax(axis=1) == labels[:100]).mean() >= 0.95
    reference = MnistClassifier(model_uri=CNN_ONNX)
    reference.load()
    assert np.abs(reference.predict(images[:100], []).data - probs).max() < 1e-4


def test_a_saved_model_folder_is_served_by_tensorflow(tmp_path):
    import keras

    images, labels = held_out()
    folder = tmp_path / "cnn_saved_model"
    keras.models.load_model("demo_mnist/models/mnist-cnn.keras").export(str(folder), verbose=False)
    model = MnistClassifier(model_uri=str(folder))
    model.load()
    assert model.kind == "keras" and model.tags()["runtime"] == "keras"
    probs = model.predict(images[:50], []).data
    assert (probs.argmax(axis=1) == labels[:50]).mean() >= 0.95


def test_inverted_arrays_need_the_parameter(mnist):
    images, labels = held_out()
    paper = 1.0 - images[:50]
    inverted = MnistClassifier(model_uri=CNN_ONNX, black_on_white=True)
    inverted.load()
    right = (inverted.predict(paper, []).data.argmax(axis=1) == labels[:50]).mean()
    wrong = (mnist.predict(paper, []).data.argmax(axis=1) == labels[:50]).mean()
    assert right >= 0.95 and wrong < 0.5


def test_images_of_any_size_and_polarity(mnist):
    images, labels = held_out()
    for index in range(10):
        for kwargs in ({}, {"black_on_white": True, "scale": 10}, {"scale": 3, "fmt": "JPEG"}):
            probs = mnist.predict(png_bytes(images[index], **kwargs), []).data
            assert probs.argmax() == labels[index], (index, kwargs)


def test_centring_turns_an_off_centre_drawing_into_an_mnist_digit():
    images, _ = held_out()
    canvas = np.zeros((280, 280), dtype=np.float32)
    big = np.kron(images[0], np.ones((6, 6), dtype=np.float32))  # 168x168, far from centre
    canvas[5:173, 100:268] = big
    field = to_mnist_field(canvas)
    assert field.shape == (28, 28)
    rows = np.flatnonzero(field.max(axis=1) > 0.1)
    cols = np.flatnonzero(field.max(axis=0) > 0.1)
    assert max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 <= 21
    ys, xs = np.indices(field.shape)
    assert abs((ys * field).sum() / field.sum() - 13.5) <= 1.0
    assert abs((xs * field).sum() / field.sum() - 13.5) <= 1.0


def test_blank_input_is_not_an_error(mnist):
    assert mnist.predict(np.zeros((28, 28)), []).data.shape == (1, 10)


@pytest.mark.parametrize(
    "message, error",
    [
        ({"data": {"tensor": {"shape": [2, 2], "values": [1, 2, 3]}}}, BadInput),
        ({"data": {"tensor": {"shape": [5000, 784], "values": []}}}, PayloadTooLarge),
        ({"binData": 42}, BadInput),
        ({"data": {"ndarray": [1], "names": "x"}}, BadInput),
        ({"data": {"ndarray": [1]}, "strData": "x"}, BadInput),
    ],
)
def test_raw_message_checks(mnist, message, error):
    with pytest.raises(error):
        mnist.predict_raw(message)


def test_raw_path_mirrors_the_request_form(mnist):
    images, labels = held_out()
    reply = mnist.predict_raw({"data": {"ndarray": images[:2].reshape(2, -1).tolist()}})
    assert np.array(reply["data"]["ndarray"]).argmax(axis=1).tolist() == labels[:2].tolist()
    assert reply["data"]["names"] == [str(d) for d in range(10)]
    proto = prediction_pb2.SeldonMessage(
        data=prediction_pb2.DefaultData(tensor=prediction_pb2.Tensor(shape=[1, 784], values=images[2].ravel().tolist()))
    )
    answer = mnist.predict_raw(proto)
    assert list(answer.data.tensor.shape) == [1, 10]
    assert int(np.argmax(answer.data.tensor.values)) == labels[2]


def test_metrics_are_reported_in_batches():
    from model_wrappers.metrics_batch import MetricsBatch

    batch = MetricsBatch(interval=3600)
    first = batch.add([{"type": "COUNTER", "key": "n", "value": 2}])
    assert first == [{"type": "COUNTER", "key": "n", "value": 2}]  # the first request reports at once
    for value in (1, 4):
        assert (
            batch.add(
                [
                    {"type": "COUNTER", "key": "n", "value": value},
                    {"type": "TIMER", "key": "t", "value": 1.5},
                    {"type": "GAUGE", "key": "g", "value": value},
                ]
            )
            == []
        )
    batch.interval = 0
    flushed = batch.add([])
    assert {"type": "COUNTER", "key": "n", "value": 5} in flushed
    assert sum(1 for m in flushed if m["type"] == "TIMER") == 2  # every observation kept
    assert {"type": "GAUGE", "key": "g", "value": 4} in flushed


def test_proto_tensor_mismatch_is_refused(mnist):
    bad = prediction_pb2.SeldonMessage(
        data=prediction_pb2.DefaultData(tensor=prediction_pb2.Tensor(shape=[2, 784], values=[0.0] * 3))
    )
    with pytest.raises(BadInput, match="needs 1568"):
        mnist.predict_raw(bad)


def test_contract_hooks(mnist):
    assert mnist.class_names() == [str(d) for d in range(10)]
    assert mnist.health_status()["ready"] is True
    assert mnist.tags()["runtime"] == "onnx"
    assert mnist.metrics() == [{"type": "GAUGE", "key": "seldon_pkg_model_ready", "value": 1.0}]
    from seldon_core.metadata import validate_model_metadata

    assert validate_model_metadata(mnist.init_metadata())["name"] == "mnist-classifier"
