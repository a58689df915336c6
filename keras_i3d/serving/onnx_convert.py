"""The TensorFlow side of the ONNX export: the network's graph converted by tf2onnx.

`write_onnx` runs on the TensorFlow backend (in the calling process, or in
the subprocess of `keras_i3d.serving.route`, as the SavedModel does): it
traces the float-clip function ``clips -> logits, probabilities`` (``rgb`` and
``flow`` for a two-stream model) with dynamic batch and frame axes, converts
it with tf2onnx and names those axes ``batch`` and ``frames``. The only
module that imports tf2onnx and onnx.

Why through TensorFlow for every backend: PyTorch's exporter
(``torch.onnx.export``, TorchScript with dynamic axes, as ``model.export(
format="onnx")`` runs it) stops at Keras' channels-last convolution
("onnx memory_format support is not implemented"), and tf2onnx writes TF's
asymmetric ``SAME`` padding as a function of the frame count, so one file
is exact for every clip length (checked at 16, 40 and 79 frames).
"""

from __future__ import annotations

import os
from pathlib import Path

import keras

from keras_i3d.errors import ExportError, MissingExtraError
from keras_i3d.serving.onnx_runtime import ONNX_EXTRA
from keras_i3d.serving.options import ServingOptions, logits_model, model_streams
from keras_i3d.serving.signatures import serving_network
from keras_i3d.utils.quiet import quiet_framework_startup
from keras_i3d.utils.tf_loader import import_tensorflow

#: The ONNX opset written by default (onnxruntime 1.17+ and Triton 24.01+ run it).
DEFAULT_OPSET = 17

_CATCH_ERRORS = "TF2ONNX_CATCH_ERRORS"

#: Names of the dynamic axes of the inputs and outputs.
AXIS_NAMES = {0: "batch", 1: "frames"}


def write_onnx(
    model: keras.Model, target: str | os.PathLike, options: ServingOptions, opset: int | None = None
) -> None:
    """Converts ``model`` to ONNX at ``target`` (TensorFlow backend only).

    Args:
        model: the model, built on the TensorFlow backend.
        target: the ``.onnx`` file to write.
        options: see `ServingOptions` (the clip size and the logits layer).
        opset: ONNX opset; default `DEFAULT_OPSET`.

    Raises:
        MissingExtraError: if tf2onnx or onnx is not installed.
        ExportError: if the conversion fails.
    """
    if keras.backend.backend() != "tensorflow":
        raise RuntimeError("write_onnx runs on the TensorFlow backend; use keras_i3d.export_onnx.")
    tf = import_tensorflow("Exporting ONNX")
    try:
        with quiet_framework_startup():
            import onnx  # noqa: PLC0415 - optional
            import tf2onnx  # noqa: PLC0415 - optional
    except ImportError as e:
        raise MissingExtraError(f"Exporting ONNX needs tf2onnx and onnx, which are not installed: {ONNX_EXTRA}") from e
    network = serving_network(model)
    logits_of = logits_model(network, options.logits_layer)
    streams = model_streams(network)
    size = options.size
    specs = [tf.TensorSpec([None, None, size, size, c], tf.float32, name=name) for name, c in streams.items()]

    @tf.function(input_signature=specs)
    def clips_to_logits(*clips):
        logits = logits_of(dict(zip(streams, clips, strict=True)), training=False)
        return {"logits": logits, "probabilities": tf.nn.softmax(logits)}

    # tf2onnx deep-copies the whole graph, weights included, before each of its ~36 optimizer passes, to
    # skip a pass that fails; that is 16 of its 38 s on I3D. With TF2ONNX_CATCH_ERRORS in the environment
    # (tf2onnx 1.16-1.17 test for the variable's presence, whatever its value) it does not copy, and a
    # failing pass fails the export, which is then reported.
    saved = os.environ.get(_CATCH_ERRORS)
    os.environ[_CATCH_ERRORS] = "false"
    try:
        with quiet_framework_startup():
            proto, _ = tf2onnx.convert.from_function(
                clips_to_logits, input_signature=specs, opset=opset or DEFAULT_OPSET
            )
    except Exception as e:  # tf2onnx raises plain Exceptions for ops it cannot convert
        raise ExportError(f"tf2onnx could not convert the model: {type(e).__name__}: {e}") from e
    finally:
        if saved is None:
            del os.environ[_CATCH_ERRORS]
        else:
            os.environ[_CATCH_ERRORS] = saved
    _name_dynamic_axes(proto)
    proto.doc_string = f"I3D (keras_i3d): {', '.join(streams)} -> logits, probabilities"
    onnx.checker.check_model(proto)
    Path(target).write_bytes(proto.SerializeToString())


def _name_dynamic_axes(proto) -> None:
    """Names tf2onnx's ``unk__N`` axes of the graph's inputs and outputs ``batch`` and ``frames``."""
    for value in [*proto.graph.input, *proto.graph.output]:
        for axis, dim in enumerate(value.type.tensor_type.shape.dim):
            if axis in AXIS_NAMES and not dim.HasField("dim_value"):
                dim.dim_param = AXIS_NAMES[axis]
