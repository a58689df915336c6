"""`TwoStreamI3D`: DeepMind's two-stream I3D, RGB and optical flow, logits summed."""

from __future__ import annotations

import os

import keras

from keras_i3d.applications.i3d import I3D
from keras_i3d.model.architecture import DEFAULT_SIZE, LOGITS_LAYER, PREDICTIONS_LAYER, STREAM_SCOPES
from keras_i3d.model.i3d_model import I3DModel
from keras_i3d.presets import STREAM_CHANNELS
from keras_i3d.weights.spec import check_fits, describe

#: The streams, in DeepMind's order, with the names of their sub-models (DeepMind's scopes).
STREAMS = STREAM_SCOPES


def TwoStreamI3D(  # noqa: N802 - keras.applications naming
    rgb_weights: str | os.PathLike | None = "kinetics400_rgb",
    flow_weights: str | os.PathLike | None = "kinetics400_flow",
    classes: int | None = None,
    classifier_activation: str | None = "softmax",
    frames: int | None = None,
    size: int = DEFAULT_SIZE,
    name: str = "two_stream_i3d",
) -> keras.Model:
    """DeepMind's two-stream I3D: one model taking ``{"rgb": ..., "flow": ...}``.

    Each stream is a full `I3D` (sub-models ``RGB`` and ``Flow``, as
    DeepMind's variable scopes) returning logits; the model returns their sum
    (DeepMind's fusion, ``evaluate_sample.py --eval_type joint``), then the
    optional activation. The streams may see different numbers of frames
    (each averages its logits over time).

    Args:
        rgb_weights: weights of the RGB stream: a preset (e.g.
            ``"kinetics400_rgb"``), a ``.weights.h5`` path or ``None``.
        flow_weights: weights of the flow stream (e.g. ``"kinetics400_flow"``).
        classes: number of classes; default the weights' (400 without weights).
        classifier_activation: applied to the summed logits (``"softmax"``),
            or ``None`` to return the summed logits.
        frames: fixed number of frames, or ``None`` for any.
        size: height and width of the clips (DeepMind: 224).
        name: the model name.

    Returns:
        An `I3DModel` whose inputs are named ``rgb`` (3 channels) and ``flow``
        (2 channels), RGB and flow preprocessed as `keras_i3d.preprocess_frames` does.

    Raises:
        ValueError: if the presets disagree on the number of classes, or for
            arguments `I3D` refuses.
        WeightsError: if weights cannot be found or do not fit their stream.
    """
    specs = {"rgb": describe(rgb_weights), "flow": describe(flow_weights)}
    weights_classes = {spec.classes for spec in specs.values() if spec is not None and spec.classes is not None}
    if len(weights_classes) > 1:
        raise ValueError(
            f"The streams' weights have different numbers of classes ({sorted(weights_classes)}); their logits "
            "cannot be summed."
        )
    if classes is None:
        classes = weights_classes.pop() if weights_classes else 400
    for spec in specs.values():
        check_fits(spec, classes=classes)
    inputs = {
        stream: keras.Input((frames, size, size, channels), name=stream) for stream, channels in STREAM_CHANNELS.items()
    }
    logits = []
    for stream, spec in specs.items():
        network = I3D(
            weights=spec,
            input_shape=(frames, size, size, STREAM_CHANNELS[stream]),
            classes=classes,
            classifier_activation=None,
            name=STREAMS[stream],
        )
        logits.append(network(inputs[stream]))
    x = keras.layers.Add(name=LOGITS_LAYER)(logits)
    if classifier_activation is not None:
        x = keras.layers.Activation(classifier_activation, name=PREDICTIONS_LAYER)(x)
    return I3DModel(inputs, x, name=name)
