"""`InceptionV1`: the 2D Inception-v1 (GoogLeNet with batch norm) that I3D is inflated from.

The network of Szegedy et al. 2015 ("Going deeper with convolutions") with
batch norm after every convolution (Ioffe & Szegedy 2015), as TF-slim's
``inception_v1`` and the I3D paper use it. Its layers carry I3D's names
(``Conv3d_1a_7x7_conv_3d``, ``Mixed_5b_Branch_2_Conv3d_0a_3x3_batch_norm``,
``Logits``...), which are DeepMind's variable scopes, so that
``keras_i3d.inflate(InceptionV1())`` is exactly `keras_i3d.I3D`'s
architecture, layer for layer, and its weights load by name.
"""

from __future__ import annotations

import os

import keras
import numpy as np

from keras_i3d.applications.i3d import validate_builder_arguments
from keras_i3d.model.architecture import (
    DEFAULT_KERNEL_INITIALIZER,
    DEFAULT_SIZE,
    builder_top,
    i3d_features,
    restore_default_initializer,
)
from keras_i3d.weights.files import WeightsFile, check_weights_path
from keras_i3d.weights.verify import check_sha256


def _image_shape(input_shape) -> tuple:
    try:
        shape = tuple(input_shape)
    except TypeError:
        raise ValueError(f"`input_shape` must be a tuple (height, width, channels); got {input_shape!r}.") from None
    if len(shape) != 3 or any(
        size is not None and (isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1)
        for size in shape
    ):
        raise ValueError(f"`input_shape` must be (height, width, channels) of positive ints or None; got {shape}.")
    if shape[2] is None:
        raise ValueError(f"The channel dimension of `input_shape` must be set; got {shape}.")
    return shape


def InceptionV1(  # noqa: N802 - keras.applications naming
    include_top: bool = True,
    weights: str | os.PathLike | None = None,
    input_tensor=None,
    input_shape: tuple | None = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: str | None = "softmax",
    dropout_rate: float = 0.0,
    name: str = "inception_v1",
) -> keras.Model:
    """Instantiates Inception-v1 (GoogLeNet with batch norm) for images, with I3D's layer names.

    The input is a channels-last image batch ``(batch, height, width,
    channels)``, for I3D's weights RGB scaled to ``[-1, 1]``. Inflate it with
    `keras_i3d.inflate` to get `keras_i3d.I3D`'s architecture; it is also a
    plain image classifier. There are no pretrained weights here to download
    (keras.applications has no Inception-v1): train it, or load weights of
    your own.

    Args:
        include_top: whether to include the ``Logits`` classifier (a 7x7
            average pool and a 1x1 convolution, as I3D's).
        weights: ``None`` (random initialization) or the path to a
            ``.weights.h5`` file saved from an `InceptionV1` of the same config.
        input_tensor: optional Keras tensor to use as the model input.
        input_shape: optional ``(height, width, channels)``; default ``(224, 224, 3)``.
        pooling: with ``include_top=False``: ``None`` returns the ``Mixed_5c``
            map, ``"avg"`` / ``"max"`` a global pooled ``(batch, 1024)``.
        classes: number of classes.
        classifier_activation: activation of the top layer (``"Predictions"``),
            or ``None`` to return logits.
        dropout_rate: dropout before the classifier.
        name: the model name.

    Returns:
        A functional `keras.Model`.

    Raises:
        ValueError: for bad arguments.
        WeightsError: if ``weights`` is not a readable ``.weights.h5`` file, or
            does not match its ``.sha256`` sidecar.
    """
    validate_builder_arguments(include_top, None, input_tensor, pooling, classes, dropout_rate)
    if input_tensor is not None:
        inputs = input_tensor
    else:
        inputs = keras.Input(shape=_image_shape(input_shape or (DEFAULT_SIZE, DEFAULT_SIZE, 3)), name="inputs")
    # As in I3D: weights about to be loaded need no random initialization (costly on JAX).
    init = "zeros" if weights is not None else DEFAULT_KERNEL_INITIALIZER
    x = i3d_features(inputs, init, rank=2)
    x = builder_top(x, include_top, pooling, classes, classifier_activation, dropout_rate, init, rank=2)
    if input_tensor is not None:
        sources = keras.utils.get_source_inputs(input_tensor)
        inputs = sources[0] if len(sources) == 1 else sources  # one input: a tensor, not a list of one
    model = keras.Model(inputs, x, name=name)
    if weights is not None:
        weights_file = WeightsFile(check_weights_path(weights))
        check_sha256(weights_file)
        weights_file.read_into(model, f"an InceptionV1 with {classes} classes")
        restore_default_initializer(model)
    return model
