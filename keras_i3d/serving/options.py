"""What a served model needs besides its weights: `ServingOptions`, checked against the model, and its names.

The signature input names (``clips``, or ``rgb`` / ``flow`` for a two-stream
model), the test clip an export is verified on, and the one-line description
of each signature live here, shared by the TensorFlow side and the CLI.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import keras
import numpy as np

from keras_i3d.model.architecture import LOGITS_LAYER
from keras_i3d.preprocessing import CROP_SIZE, SHORT_SIDE, load_labels
from keras_i3d.presets import DATASET_CLASSES, STREAM_CHANNELS

#: Labels ``classify`` returns unless told otherwise.
DEFAULT_TOP_K = 5


#: Frames of the test clip the export is verified on.
VERIFY_FRAMES = 8


STREAM_OF_CHANNELS = {channels: stream for stream, channels in STREAM_CHANNELS.items()}

#: The SavedModel signature that takes encoded (JPEG or PNG) frames, and its input.
ENCODED_SIGNATURE = "classify_encoded"
ENCODED_INPUT = "encoded"


def takes_encoded_frames(streams: dict[str, int]) -> bool:
    """Whether a model of these streams gets the ``classify_encoded`` signature (one RGB stream)."""
    return list(streams.values()) == [3]


@dataclasses.dataclass(frozen=True)
class ServingOptions:
    """What the signatures need besides the model (JSON-serializable, for the TensorFlow subprocess).

    Attributes:
        labels: class names, in logit order.
        top_k: how many labels ``classify`` returns.
        size: height and width of the clips (the crop of ``classify``).
        short_side: ``classify`` resizes frames to this short side before cropping.
        logits_layer: the name of the layer whose output is the logits.
    """

    labels: tuple[str, ...]
    top_k: int
    size: int
    short_side: int
    logits_layer: str


def serving_options(
    model: keras.Model,
    top_k: int | None = None,
    labels: Sequence[str] | None = None,
    short_side: int | None = None,
    logits_layer: str = LOGITS_LAYER,
) -> ServingOptions:
    """Checks the export arguments against ``model``; returns the `ServingOptions`.

    Raises:
        ValueError: for a model without ``logits_layer``, a clip size that is
            not fixed and square, labels that do not match the classes, or a
            bad ``top_k`` or ``short_side``.
    """
    if not isinstance(model, keras.Model):
        raise ValueError(f"`model` must be a keras.Model; got {type(model).__name__}.")
    names = [layer.name for layer in model.layers]
    if logits_layer not in names:
        raise ValueError(
            f"The model has no layer named {logits_layer!r} to take logits from (built with include_top=False?). "
            "Export a model with a classifier, or name its logits layer with `logits_layer`."
        )
    classes = model.get_layer(logits_layer).output.shape[-1]
    if labels is None:
        by_classes = {n: dataset for dataset, n in DATASET_CLASSES.items()}
        if classes not in by_classes:
            raise ValueError(
                f"The model has {classes} classes, not Kinetics': pass `labels`, one name per class "
                "(keras-i3d export --labels FILE, one per line)."
            )
        labels = load_labels(by_classes[classes])
    if isinstance(labels, str) or not all(isinstance(label, str) for label in labels):
        raise ValueError("`labels` must be a sequence of str, one per class.")
    labels = tuple(labels)
    if len(labels) != classes:
        raise ValueError(f"`labels` has {len(labels)} names; the model has {classes} classes.")
    if top_k is None:
        top_k = min(DEFAULT_TOP_K, classes)
    if isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or not 1 <= top_k <= classes:
        raise ValueError(f"`top_k` must be an int from 1 to the {classes} classes; got {top_k!r}.")
    sizes = {tuple(tensor.shape[2:4]) for tensor in model.inputs}
    if len(sizes) != 1 or None in next(iter(sizes)):
        size = CROP_SIZE
    else:
        height, width = next(iter(sizes))
        if height != width:
            raise ValueError(f"Serving takes square clips (DeepMind's centre crop); the model takes {height}x{width}.")
        size = int(height)
    for tensor in model.inputs:
        if tensor.shape[-1] not in STREAM_OF_CHANNELS:
            raise ValueError(f"Model input {tensor.name!r} has {tensor.shape[-1]} channels; serving takes 3 or 2.")
    if short_side is None:
        short_side = SHORT_SIDE if size == CROP_SIZE else round(size * SHORT_SIDE / CROP_SIZE)
    if isinstance(short_side, bool) or not isinstance(short_side, (int, np.integer)) or short_side < size:
        raise ValueError(f"`short_side` must be an int of at least the clip size ({size}); got {short_side!r}.")
    return ServingOptions(labels, int(top_k), size, int(short_side), logits_layer)


def verification_clip(model: keras.Model, options: ServingOptions) -> dict[str, np.ndarray]:
    """A fixed random clip (per model input) to compare the SavedModel with the model on."""
    rng = np.random.default_rng(0)
    frames = model.inputs[0].shape[1] or VERIFY_FRAMES
    return {
        input_name(tensor, len(model.inputs)): rng.uniform(
            -1, 1, (1, frames, options.size, options.size, tensor.shape[-1])
        ).astype(np.float32)
        for tensor in model.inputs
    }


def input_name(tensor, count: int) -> str:
    """The signature input name of a model input: ``clips``, or the stream (``rgb``/``flow``) of several."""
    return "clips" if count == 1 else STREAM_OF_CHANNELS[tensor.shape[-1]]


def raw_input_name(name: str, streams: dict[str, int]) -> str:
    """The ``classify`` input name: ``frames`` (RGB) or ``flow`` for one stream, the stream's name for several."""
    if len(streams) > 1:
        return name
    return "frames" if streams[name] == 3 else "flow"


def logits_model(model: keras.Model, logits_layer: str):
    """Calls ``model``'s graph up to ``logits_layer``, taking the signature's input names."""
    sub = keras.Model(model.inputs, model.get_layer(logits_layer).output)  # called with a list, in this order

    def call(inputs: dict, training: bool = False):
        return sub([inputs[input_name(t, len(model.inputs))] for t in model.inputs], training=training)

    return call


def describe_signatures(options: ServingOptions, streams: dict[str, int]) -> list[str]:
    """One line per signature: inputs (dtype, shape with -1 for any) -> outputs."""
    size = options.size
    default_inputs = ", ".join(f"{name} float32 (-1, -1, {size}, {size}, {c})" for name, c in streams.items())
    raw_inputs = ", ".join(
        f"{raw_input_name(name, streams)} {'uint8' if c == 3 else 'float32'} (-1, -1, -1, -1, {c})"
        for name, c in streams.items()
    )
    answer = f"labels, scores, class_ids, logits (top {options.top_k})"
    lines = [f"serving_default: {default_inputs} -> logits, probabilities", f"classify: {raw_inputs} -> {answer}"]
    if takes_encoded_frames(streams):
        lines.append(f"{ENCODED_SIGNATURE}: {ENCODED_INPUT} string (-1, -1) JPEG or PNG frames -> {answer}")
    return lines


def model_streams(model: keras.Model) -> dict[str, int]:
    """Signature input names of ``model`` and their channels (RGB before flow, DeepMind's order)."""
    streams = {input_name(t, len(model.inputs)): int(t.shape[-1]) for t in model.inputs}
    return dict(sorted(streams.items(), key=lambda item: -item[1]))
