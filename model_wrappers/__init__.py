"""Model classes that ``seldon-core-microservice`` serves unchanged.

A new model is a subclass of :class:`model_wrappers.base.SeldonModel` with one method,
``infer(batch) -> outputs`` (and usually ``load()``). Ready-made wrappers:

* :class:`model_wrappers.keras_model.KerasModel` - a Keras/TensorFlow model file, or the
  same model exported to ONNX / TFLite for serving without TensorFlow;
* :class:`model_wrappers.mnist.MnistClassifier` - the MNIST digit classifier of the demo.

Nothing is imported here eagerly: ``seldon-core-microservice model_wrappers.mnist.MnistClassifier``
must not pay for modules it does not use.
"""
