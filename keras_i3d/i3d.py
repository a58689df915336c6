"""`I3D`: the keras.applications-style builder of DeepMind's I3D."""

from __future__ import annotations

import os

import keras

from keras_i3d import presets as presets_lib
from keras_i3d import pretrained
from keras_i3d.architecture import (
    DEFAULT_KERNEL_INITIALIZER,
    DEFAULT_SIZE,
    MIN_SIZE,
    i3d_features,
    i3d_head,
)
from keras_i3d.weights_files import describe_weights_file


def _validate_input_shape(input_shape, channels: int | None):
    """Checks a 4D ``(frames, height, width, channels)`` input shape."""
    if len(input_shape) != 4:
        raise ValueError(f"`input_shape` must be (frames, height, width, channels); got {tuple(input_shape)}.")
    frames, height, width, in_channels = input_shape
    if frames is not None and frames < 1:
        raise ValueError(f"I3D needs at least 1 frame; got input_shape={tuple(input_shape)}.")
    for label, size in (("height", height), ("width", width)):
        if size is not None and size < MIN_SIZE:
            raise ValueError(
                f"I3D needs frames of at least {MIN_SIZE}x{MIN_SIZE} pixels; got {label}={size} "
                f"in input_shape={tuple(input_shape)}."
            )
    if in_channels is None:
        raise ValueError("The channel dimension of `input_shape` must be known.")
    if channels is not None and in_channels != channels:
        raise ValueError(
            f"These weights expect {channels} input channels "
            f"({'RGB' if channels == 3 else 'optical flow (u, v)'}), but input_shape has "
            f"{in_channels}."
        )


def I3D(  # noqa: N802 - keras.applications naming
    include_top: bool = True,
    weights: str | None = "kinetics400_rgb",
    input_tensor=None,
    input_shape: tuple | None = None,
    pooling: str | None = None,
    classes: int = 400,
    classifier_activation: str | None = "softmax",
    dropout_rate: float = 0.0,
    name: str = "i3d",
) -> keras.Model:
    """Instantiates DeepMind's I3D (Inflated 3D Inception-v1).

    Reference: Carreira & Zisserman, "Quo Vadis, Action Recognition? A New
    Model and the Kinetics Dataset", CVPR 2017.

    The input is a channels-last video batch ``(batch, frames, height, width,
    channels)``: RGB frames scaled to ``[-1, 1]`` (3 channels) or TV-L1 optical
    flow clipped to ``[-20, 20]`` and scaled to ``[-1, 1]`` (2 channels); see
    `keras_i3d.preprocess_input`. Any number of frames (at least 1) and any
    spatial size of at least 32x32 works; DeepMind used 224x224 at 25 fps.

    Args:
        include_top: whether to include the ``Logits`` classifier.
        weights: ``None`` (random initialization), a preset name (see
            ``keras_i3d.presets.PRESETS``) or a path to a ``.weights.h5`` file.
        input_tensor: optional Keras tensor to use as the model input.
        input_shape: optional ``(frames, height, width, channels)``; defaults to
            ``(None, 224, 224, C)`` with ``C`` from the weights (3 for RGB).
        pooling: with ``include_top=False``: ``None`` returns the ``Mixed_5c``
            map, ``"avg"`` / ``"max"`` return a global pooled ``(batch, 1024)``.
        classes: number of classes; must match the preset when a preset is loaded
            with ``include_top=True``.
        classifier_activation: activation of the top layer (``"Predictions"``),
            or ``None`` to return logits.
        dropout_rate: dropout before the classifier.
        name: the model name.

    Returns:
        A `keras.Model`.

    Raises:
        ValueError: for an unknown preset, bad argument combinations, or an
            input shape the network cannot take.
    """
    preset = None
    channels = None
    if weights is not None and pretrained.is_weights_file(weights):
        if os.path.isfile(weights):  # a missing file is reported when loading
            channels = describe_weights_file(weights).channels
    elif weights is not None:
        preset = presets_lib.get_preset(weights)
        channels = preset.channels
        if include_top and classes != preset.classes:
            raise ValueError(
                f"Preset {preset.name!r} has {preset.classes} classes; got classes={classes}. "
                "Use include_top=False to put your own classifier on top."
            )
    if pooling not in (None, "avg", "max"):
        raise ValueError(f"`pooling` must be None, 'avg' or 'max'; got {pooling!r}.")
    if include_top and pooling is not None:
        raise ValueError("`pooling` only applies with include_top=False.")
    if not 0.0 <= dropout_rate < 1.0:
        raise ValueError(f"`dropout_rate` must be in [0, 1); got {dropout_rate}.")

    if input_tensor is not None:
        tensor_shape = tuple(input_tensor.shape)
        _validate_input_shape(tensor_shape[1:], channels)
        if input_shape is not None and tuple(input_shape) != tensor_shape[1:]:
            raise ValueError(
                f"`input_shape` {tuple(input_shape)} disagrees with `input_tensor`'s shape {tensor_shape}."
            )
        inputs = input_tensor
    else:
        if input_shape is None:
            input_shape = (None, DEFAULT_SIZE, DEFAULT_SIZE, channels or 3)
        input_shape = tuple(input_shape)
        _validate_input_shape(input_shape, channels)
        inputs = keras.Input(shape=input_shape, name="inputs")

    # Weights about to be loaded need no random initialization, which on JAX
    # compiles once per kernel shape (~15 s for the whole network).
    init = "zeros" if weights is not None else DEFAULT_KERNEL_INITIALIZER
    x = i3d_features(inputs, init)
    if include_top:
        x = i3d_head(x, classes, dropout_rate, init)
        if classifier_activation is not None:
            x = keras.layers.Activation(classifier_activation, name="Predictions")(x)
    elif pooling == "avg":
        x = keras.layers.GlobalAveragePooling3D(name="avg_pool")(x)
    elif pooling == "max":
        x = keras.layers.GlobalMaxPooling3D(name="max_pool")(x)

    if input_tensor is not None:
        inputs = keras.utils.get_source_inputs(input_tensor)
    model = keras.Model(inputs, x, name=name)

    if weights is not None:
        pretrained.load_weights(model, weights, include_top=include_top)
        _restore_default_initializer(model)
    return model


def _restore_default_initializer(model: keras.Model) -> None:
    """Makes the config of a model built with placeholder zeros say glorot again."""
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv3D):
            layer.kernel_initializer = keras.initializers.get(DEFAULT_KERNEL_INITIALIZER)
