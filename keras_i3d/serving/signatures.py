"""The TensorFlow side of the export: the SavedModel's graph and its two signatures.

`write_saved_model` runs on the TensorFlow backend (in the calling process,
or in the subprocess of `keras_i3d.serving.route`): ``serving_default`` takes
preprocessed float clips, ``classify`` raw frames of any size, checked in the
graph (rank, channels, frames, size, NaN) and run through
`keras_i3d.preprocess_frames` there, answering with label names;
``classify_encoded`` (RGB models) takes the frames as JPEG or PNG bytes and
decodes them in the graph first. `serving_network` is the network both
formats (SavedModel and ONNX) are traced from.
"""

from __future__ import annotations

import os
from pathlib import Path

import keras
import numpy as np

from keras_i3d.errors import ExportError
from keras_i3d.model import clip_checks
from keras_i3d.preprocessing import preprocess_frames
from keras_i3d.serving.options import (
    ENCODED_INPUT,
    ENCODED_SIGNATURE,
    STREAM_OF_CHANNELS,
    ServingOptions,
    logits_model,
    model_streams,
    raw_input_name,
    takes_encoded_frames,
)
from keras_i3d.utils.tf_loader import import_tensorflow


def _free_frames(config):
    """A copy of a model config that takes any number of frames.

    Frees the frame axis of every 5D shape the config records: the
    ``InputLayer`` batch shapes, and the input shapes layers were built with
    (``build_config``), which layers such as ``ClipShapeCheck`` take as the
    clip shape they accept.
    """
    if isinstance(config, dict):
        return {
            key: _free_shape(value) if key in ("batch_shape", "input_shape") else _free_frames(value)
            for key, value in config.items()
        }
    if isinstance(config, (list, tuple)):
        return [_free_frames(value) for value in config]
    return config


def _free_shape(shape):
    """``shape`` (or each of several shapes) with the frame axis of 5D shapes set to ``None``."""
    if isinstance(shape, dict):
        return {key: _free_shape(value) for key, value in shape.items()}
    if isinstance(shape, (list, tuple)) and shape and all(isinstance(s, (list, tuple, dict)) for s in shape):
        return [_free_shape(s) for s in shape]
    if isinstance(shape, (list, tuple)) and len(shape) == 5:
        return [shape[0], None, *shape[2:]]
    return shape


def serving_network(model: keras.Model) -> keras.Model:
    """A copy of ``model`` (same weights) that takes any number of frames."""
    try:
        network = model.__class__.from_config(_free_frames(model.get_config()))
        network.set_weights(model.get_weights())
    except Exception as e:
        raise ExportError(
            f"Cannot rebuild {model.__class__.__name__} {model.name!r} from its config for export: {e}. "
            "Export functional models (I3D, TwoStreamI3D, keras.Model(inputs, outputs)) of serializable layers."
        ) from e
    return network


def write_saved_model(
    model: keras.Model, target: str | os.PathLike, options: ServingOptions, clip: dict | None = None
) -> np.ndarray | None:
    """Traces and writes the SavedModel (TensorFlow backend only); runs the reloaded one on ``clip``.

    Args:
        model: the model, built on the TensorFlow backend.
        target: the SavedModel folder to create.
        options: see `ServingOptions`.
        clip: inputs by signature name for ``serving_default``, or ``None``.

    Returns:
        The reloaded SavedModel's logits for ``clip`` (``None`` without a clip).
    """
    if keras.backend.backend() != "tensorflow":
        raise RuntimeError("write_saved_model runs on the TensorFlow backend; use export_saved_model.")
    tf = import_tensorflow("Exporting a SavedModel")
    network = serving_network(model)
    logits_of = logits_model(network, options.logits_layer)
    streams = model_streams(network)
    labels = tf.constant(list(options.labels))
    size = options.size

    def outputs(logits) -> dict:
        return {"logits": logits, "probabilities": tf.nn.softmax(logits)}

    float_specs = [tf.TensorSpec([None, None, size, size, c], tf.float32, name=name) for name, c in streams.items()]

    @tf.function(input_signature=float_specs)
    def serving_default(*clips):
        inputs = dict(zip(streams, clips, strict=True))
        checked = _checked_inputs(tf, inputs, streams, "serving_default", raw=False)
        return outputs(logits_of(checked, training=False))

    raw_names = {name: raw_input_name(name, streams) for name in streams}
    raw_specs = [
        tf.TensorSpec([None, None, None, None, c], tf.uint8 if c == 3 else tf.float32, name=raw_names[name])
        for name, c in streams.items()
    ]

    def answer(inputs: dict) -> dict:
        if "rgb" in inputs and "flow" in inputs:
            inputs["flow"] = _pad_flow(tf, inputs["flow"], tf.shape(inputs["rgb"])[1])
        clips = {
            name: preprocess_frames(x, STREAM_OF_CHANNELS[streams[name]], size=size, short_side=options.short_side)
            for name, x in inputs.items()
        }
        logits = logits_of(clips, training=False)
        probabilities = tf.nn.softmax(logits)
        scores, class_ids = tf.math.top_k(probabilities, k=options.top_k)
        return {"labels": tf.gather(labels, class_ids), "scores": scores, "class_ids": class_ids, "logits": logits}

    @tf.function(input_signature=raw_specs)
    def classify(*frames):
        return answer(_checked_inputs(tf, dict(zip(streams, frames, strict=True)), streams, "classify", raw=True))

    signatures = {
        "serving_default": serving_default.get_concrete_function(),
        "classify": classify.get_concrete_function(),
    }
    if takes_encoded_frames(streams):
        (name,) = streams

        @tf.function(input_signature=[tf.TensorSpec([None, None], tf.string, name=ENCODED_INPUT)])
        def classify_encoded(encoded):
            frames = _decoded_frames(tf, encoded)
            return answer(_checked_inputs(tf, {name: frames}, streams, "classify_encoded", raw=True))

        signatures[ENCODED_SIGNATURE] = classify_encoded.get_concrete_function()

    module = tf.Module()
    module.network_variables = [variable.value for variable in network.variables]
    target = Path(target)
    tf.saved_model.save(module, str(target), signatures=signatures)
    if clip is None:
        return None
    reloaded = tf.saved_model.load(str(target)).signatures["serving_default"]
    return reloaded(**{name: tf.constant(value) for name, value in clip.items()})["logits"].numpy()


def _decoded_frames(tf, encoded):
    """``(batch, frames)`` JPEG or PNG bytes -> uint8 frames ``(batch, frames, height, width, 3)``.

    Every frame must decode to the first one's size; an empty request, bytes
    that are no image and frames of different sizes fail with a message
    naming the problem.
    """
    shape = tf.shape(encoded)
    count = tf.size(encoded)
    nonempty = _assert(tf, count > 0, "classify_encoded: `encoded` holds no frames; send (batch, frames) images.")
    with tf.control_dependencies([nonempty]):
        flat = tf.reshape(encoded, [-1])
    first = tf.shape(tf.io.decode_image(flat[0], channels=3, expand_animations=False))[:2]

    def decode(data):
        image = tf.io.decode_image(data, channels=3, expand_animations=False)
        size = tf.shape(image)[:2]
        same = _assert(
            tf, tf.reduce_all(tf.equal(size, first)),
            "classify_encoded: every frame must have the same size; got ",
            tf.strings.reduce_join(tf.strings.as_string(size), separator="x"), " after ",
            tf.strings.reduce_join(tf.strings.as_string(first), separator="x"), ".",
        )  # fmt: skip
        with tf.control_dependencies([same]):
            return tf.identity(image)

    images = tf.map_fn(decode, flat, fn_output_signature=tf.TensorSpec([None, None, 3], tf.uint8))
    return tf.reshape(images, tf.concat([shape, first, [3]], axis=0))


def _checked_inputs(tf, inputs: dict, streams: dict, signature: str, raw: bool) -> dict:
    """``inputs`` behind graph assertions whose messages name what is wrong with them."""
    checked = {}
    batches = []
    for name, given in inputs.items():
        channels = streams[name]
        label = raw_input_name(name, streams) if raw else name
        # EnsureShape checks at run time (TF Serving feeds tensors without checking them).
        x = tf.ensure_shape(given, [None, None, None, None, channels] if raw else given.shape)
        shape = tf.shape(x)
        frames, height, width = shape[1], shape[2], shape[3]
        where = f"{signature}: `{label}`"
        shape_text = tf.strings.join(["(", tf.strings.reduce_join(tf.strings.as_string(shape), separator=", "), ")"])
        checks = [
            _assert(tf, shape[0] >= 1, where, " is an empty batch, shape ", shape_text, "; send at least one clip."),
            _assert(tf, frames >= clip_checks.MIN_FRAMES, where, " has no frames, shape ", shape_text,
                    f"; I3D needs at least {clip_checks.MIN_FRAMES}."),
        ]  # fmt: skip
        if raw:
            small = tf.logical_or(height < clip_checks.MIN_SIZE, width < clip_checks.MIN_SIZE)
            checks.append(
                _assert(
                    tf,
                    tf.logical_not(small),
                    where,
                    " frames are too small, shape ",
                    shape_text,
                    f"; they must be at least {clip_checks.MIN_SIZE}x{clip_checks.MIN_SIZE} pixels.",
                )  # fmt: skip
            )
        if x.dtype.is_floating:
            checks.append(_assert(tf, tf.reduce_all(tf.math.is_finite(x)), where, " has NaN or infinite values."))
        with tf.control_dependencies(checks):
            checked[name] = tf.identity(x)
        batches.append(shape[0])
    if len(batches) > 1:
        names = " and ".join(f"`{raw_input_name(n, streams) if raw else n}`" for n in inputs)
        same = tf.reduce_all(tf.equal(tf.stack(batches), batches[0]))
        got = tf.strings.reduce_join(tf.strings.as_string(tf.stack(batches)), separator=" and ")
        with tf.control_dependencies(
            [_assert(tf, same, f"{signature}: {names}", " must have the same batch size; got ", got, ".")]
        ):
            checked = {name: tf.identity(x) for name, x in checked.items()}
    return checked


def _assert(tf, condition, *message):
    """A graph assertion whose message is one sentence (pieces: str or string tensors)."""
    return tf.debugging.Assert(condition, [tf.strings.join(list(message))])


def _pad_flow(tf, flow, rgb_frames):
    """Flow of ``rgb_frames`` or ``rgb_frames - 1`` frames -> ``rgb_frames`` (the last one repeated)."""
    missing = rgb_frames - tf.shape(flow)[1]
    flow_frames = tf.strings.as_string(tf.shape(flow)[1])
    check = _assert(
        tf, tf.logical_or(tf.equal(missing, 0), tf.equal(missing, 1)),
        "classify: `flow` must have as many frames as `rgb`, or one less (flow between consecutive frames); got ",
        flow_frames, " flow and ", tf.strings.as_string(rgb_frames), " rgb frames.",
    )  # fmt: skip
    with tf.control_dependencies([check]):
        return tf.concat([flow, tf.repeat(flow[:, -1:], missing, axis=1)], axis=1)
