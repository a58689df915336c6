"""Transfer learning: a new classifier on a pre-trained I3D, and freezing up to an endpoint.

The paper's main result is transfer: Kinetics pre-training, then fine-tuning
on a small dataset. The plain Keras route works as for any
keras.applications model::

    base = keras_i3d.I3D(include_top=False, weights="kinetics400_rgb", pooling="avg")
    outputs = keras.layers.Dense(101)(base.output)

The helpers here keep DeepMind's head instead (pool, 1x1x1 convolution, mean
over time), so the new model takes clips of any length like the original:

    model = replace_head(keras_i3d.I3D(weights="kinetics400_rgb"), classes=101)
    freeze_until(model, "Mixed_4f")

Frozen layers are ``trainable = False``; for BatchNormalization that also
means inference mode (Keras 3 semantics): frozen parts use and keep the
pre-trained moving statistics.

The recipe (`fine_tuning_model`) also keeps the BatchNorm layers of the
trained blocks in inference mode (`freeze_batch_norm`), as Keras' transfer
learning guide advises: with small batches, batch statistics are noisy, and
DeepMind's moving averages (momentum 0.999) would take thousands of steps to
follow them, so a model trained on batch statistics is evaluated on
different ones (measured on ``examples/finetune.py``: validation loss rose
while training loss fell). It also makes training on several replicas equal
to training on one (see `keras_i3d.training.distribute`).
"""

from __future__ import annotations

import keras

from keras_i3d.applications.i3d import I3D
from keras_i3d.model.architecture import (
    DEFAULT_KERNEL_INITIALIZER,
    FEATURES_ENDPOINT,
    FREEZE_UNTIL_ENDPOINT,
    PREDICTIONS_LAYER,
    VALID_ENDPOINTS,
    i3d_head,
)
from keras_i3d.model.i3d_model import I3DModel
from keras_i3d.presets import STREAM_CHANNELS
from keras_i3d.training.defaults import DEFAULT_DROPOUT
from keras_i3d.utils.nested import leaf_layers

#: The last endpoint of the feature extractor: the new head goes on it.


def layer_endpoint(name: str) -> str | None:
    """The DeepMind endpoint a layer belongs to (``"Mixed_4f_Branch_1_..."`` -> ``"Mixed_4f"``), else ``None``."""
    for endpoint in VALID_ENDPOINTS:
        if name == endpoint or name.startswith(endpoint + "_"):
            return endpoint
    return None


def _check_endpoint(endpoint: str, argument: str) -> int:
    if endpoint not in VALID_ENDPOINTS[:-1]:
        raise ValueError(
            f"`{argument}` must be one of DeepMind's endpoints {', '.join(VALID_ENDPOINTS[:-1])}; got {endpoint!r}."
        )
    return VALID_ENDPOINTS.index(endpoint)


def replace_head(
    model: keras.Model,
    classes: int,
    dropout_rate: float = DEFAULT_DROPOUT,
    classifier_activation: str | None = "softmax",
    name: str | None = None,
) -> keras.Model:
    """A new model: ``model``'s layers up to ``Mixed_5c`` (weights shared) and a new ``Logits`` head.

    The head is DeepMind's (`keras_i3d.model.architecture.i3d_head`): average pool,
    dropout, a 1x1x1 convolution with bias to ``classes`` (freshly
    initialised), mean over time, then ``classifier_activation`` as
    ``"Predictions"``. Layer names stay DeepMind's, so the model still loads
    upstream-style weights by name.

    Args:
        model: an `keras_i3d.I3D` model (with or without a top).
        classes: the new number of classes.
        dropout_rate: dropout before the classifier (0 for none).
        classifier_activation: ``"softmax"``, another activation, or ``None`` for logits.
        name: the new model's name (default: the old one's).

    Returns:
        An `I3DModel` whose backbone layers are ``model``'s own (training one
        trains the other).

    Raises:
        ValueError: for a model without a ``Mixed_5c`` layer (e.g. a
            `TwoStreamI3D`: replace each stream's head), or bad arguments.
    """
    if isinstance(classes, bool) or not isinstance(classes, int) or classes < 1:
        raise ValueError(f"`classes` must be a positive int; got {classes!r}.")
    if isinstance(dropout_rate, bool) or not isinstance(dropout_rate, (int, float)) or not 0 <= dropout_rate < 1:
        raise ValueError(f"`dropout_rate` must be a number in [0, 1); got {dropout_rate!r}.")
    try:
        features = model.get_layer(FEATURES_ENDPOINT).output
    except ValueError:
        raise ValueError(
            f"{model.name!r} has no {FEATURES_ENDPOINT!r} layer; replace_head takes one I3D stream "
            "(for a TwoStreamI3D, replace the head of each stream)."
        ) from None
    x = i3d_head(features, classes, dropout_rate, DEFAULT_KERNEL_INITIALIZER)
    if classifier_activation is not None:
        x = keras.layers.Activation(classifier_activation, name=PREDICTIONS_LAYER)(x)
    return I3DModel(model.input, x, name=name or model.name)


class LayerNames(list):
    """A list of layer names whose ``repr`` is one short line (a REPL does not echo 57 names)."""

    def __repr__(self) -> str:
        if len(self) <= 3:
            return f"LayerNames({list(self)!r})"
        return f"LayerNames({len(self)} layers: {self[0]!r} ... {self[-1]!r})"


def freeze_until(model: keras.Model, endpoint: str | None) -> LayerNames:
    """Freezes every layer up to and including ``endpoint``; makes all later layers trainable.

    Freezing the early blocks is the usual recipe on small datasets: their
    features are generic, and fewer weights to fit means less overfitting.
    Frozen BatchNormalization layers run in inference mode (moving
    statistics used, not updated). Layers outside DeepMind's scopes (a head
    of your own) stay trainable. Streams of a `TwoStreamI3D` are frozen alike.
    Recompile the model after freezing.

    Args:
        model: an I3D-based model.
        endpoint: e.g. ``"Mixed_4f"``; ``None`` unfreezes everything.

    Returns:
        The names of the frozen layers that hold weights (a list; its ``repr`` is one line).

    Raises:
        ValueError: for an unknown endpoint, or a model without that endpoint.
    """
    last = -1 if endpoint is None else _check_endpoint(endpoint, "endpoint")
    frozen, found = [], endpoint is None
    for layer in leaf_layers(model):
        owner = layer_endpoint(layer.name)
        if layer.name in ("inputs", "clip_shape_check"):
            freeze = last >= 0
        else:
            freeze = owner is not None and VALID_ENDPOINTS.index(owner) <= last
        found = found or owner == endpoint
        layer.trainable = not freeze
        if freeze and layer.weights:
            frozen.append(layer.name)
    if not found:
        raise ValueError(f"{model.name!r} has no layers of endpoint {endpoint!r}.")
    return LayerNames(frozen)


def freeze_batch_norm(model: keras.Model) -> LayerNames:
    """Puts every BatchNormalization layer in inference mode (``trainable = False``).

    Their moving statistics are used and kept, and their offsets (``beta``)
    are not trained; the convolutions around them still are. Recompile the
    model afterwards.

    Returns:
        The names of the BatchNormalization layers (a list; its ``repr`` is one line).
    """
    names = LayerNames()
    for layer in leaf_layers(model):
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False
            names.append(layer.name)
    return names


def fine_tuning_model(
    weights: str | None,
    classes: int,
    freeze_until_endpoint: str | None = FREEZE_UNTIL_ENDPOINT,
    stream: str = "rgb",
    frames: int | None = None,
    size: int = 224,
    dropout_rate: float = DEFAULT_DROPOUT,
    train_batch_norm: bool = False,
) -> keras.Model:
    """The fine-tuning recipe's model: pre-trained features, a new head, early blocks frozen.

    Args:
        weights: a preset (e.g. ``"kinetics400_rgb"``), a ``.weights.h5`` path, or ``None``.
        classes: classes of the new task.
        freeze_until_endpoint: freeze up to this endpoint (``None``: train everything).
        stream: ``"rgb"`` or ``"flow"`` (must match the weights).
        frames: clip length the model is built for (``None``: any).
        size: crop size.
        dropout_rate: dropout before the new classifier.
        train_batch_norm: let the BatchNorm layers of the trained blocks use
            and update batch statistics (default: inference mode everywhere,
            see `freeze_batch_norm`).

    Returns:
        An uncompiled `I3DModel` with a softmax ``Predictions`` output.
    """
    if stream not in STREAM_CHANNELS:
        raise ValueError(f"`stream` must be 'rgb' or 'flow'; got {stream!r}.")
    base = I3D(include_top=False, weights=weights, input_shape=(frames, size, size, STREAM_CHANNELS[stream]))
    model = replace_head(base, classes, dropout_rate, name="i3d_finetuned")
    freeze_until(model, freeze_until_endpoint)
    if not train_batch_norm:
        freeze_batch_norm(model)
    return model
