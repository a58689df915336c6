"""The I3D graph: DeepMind's Inflated 3D Inception-v1 blocks, names and head.

Layer names map one-to-one onto the variable scopes of DeepMind's
``kinetics-i3d`` checkpoints, with ``/`` written as ``_`` (Keras names may
contain neither ``/`` nor ``.``): the checkpoint scope
``Mixed_4f/Branch_1/Conv3d_0b_3x3/conv_3d`` is the Conv3D layer
``Mixed_4f_Branch_1_Conv3d_0b_3x3_conv_3d``. Every endpoint of DeepMind's
``InceptionI3d`` (``Conv3d_1a_7x7`` ... ``Mixed_5c``, ``Logits``,
``Predictions``) is the output of the layer of that exact name.

The public builder is `keras_i3d.I3D` (``i3d.py``); this module holds the graph
it and the weights converter share, including `weights_holder`, the model that
checkpoints and weights files are loaded into by name.

The same functions build, with ``rank=2``, the 2D Inception-v1 (GoogLeNet
with batch norm) that I3D is inflated from (`keras_i3d.InceptionV1`): every
kernel, stride and pool loses its leading time size and keeps its name, and
`i3d_time_geometry` holds the time sizes that inflation puts back.
"""

from __future__ import annotations

import functools

import keras

from keras_i3d.model.layers import ClipShapeCheck, LogitsPooling
from keras_i3d.model.names import (  # noqa: F401 - the names live there (no Keras), used and re-exported here
    DEFAULT_SIZE,
    FEATURES_ENDPOINT,
    FREEZE_UNTIL_ENDPOINT,
    VALID_ENDPOINTS,
)

#: Filters of each Inception block: Branch_0 1x1, Branch_1 1x1 -> 3x3,
# Branch_2 1x1 -> 3x3, Branch_3 pool -> 1x1 (upstream's numbers).
MIXED_FILTERS = {
    "Mixed_3b": (64, 96, 128, 16, 32, 32),
    "Mixed_3c": (128, 128, 192, 32, 96, 64),
    "Mixed_4b": (192, 96, 208, 16, 48, 64),
    "Mixed_4c": (160, 112, 224, 24, 64, 64),
    "Mixed_4d": (128, 128, 256, 24, 64, 64),
    "Mixed_4e": (112, 144, 288, 32, 64, 64),
    "Mixed_4f": (256, 160, 320, 32, 128, 128),
    "Mixed_5b": (256, 160, 320, 32, 128, 128),
    "Mixed_5c": (384, 192, 384, 48, 128, 128),
}

#: Upstream names Branch_2's 3x3x3 unit of Mixed_5b ``Conv3d_0a_3x3`` (every
#: other block says ``0b``); the checkpoints carry that name, so we do too.
BRANCH_2_3X3_NAMES = {"Mixed_5b": "Conv3d_0a_3x3"}

#: The stem: ``(endpoint, filters or None for a max pool, kernel, strides)``, in order.
STEM = (
    ("Conv3d_1a_7x7", 64, (7, 7, 7), (2, 2, 2)),
    ("MaxPool3d_2a_3x3", None, (1, 3, 3), (1, 2, 2)),
    ("Conv3d_2b_1x1", 64, (1, 1, 1), (1, 1, 1)),
    ("Conv3d_2c_3x3", 192, (3, 3, 3), (1, 1, 1)),
    ("MaxPool3d_3a_3x3", None, (1, 3, 3), (1, 2, 2)),
)
#: The max pools before stages 4 and 5: ``{endpoint: (kernel, strides)}``.
STAGE_POOLS = {"MaxPool3d_4a_3x3": ((3, 3, 3), (2, 2, 2)), "MaxPool3d_5a_2x2": ((2, 2, 2), (2, 2, 2))}
#: The Inception blocks of each stage, in order.
STAGES = (
    ("Mixed_3b", "Mixed_3c"),
    ("Mixed_4b", "Mixed_4c", "Mixed_4d", "Mixed_4e", "Mixed_4f"),
    ("Mixed_5b", "Mixed_5c"),
)
#: Kernel of the 3x3 units and of Branch_3's max pool inside an Inception block (stride 1).
BLOCK_KERNEL = (3, 3, 3)
#: The ``Logits`` block's average pool.
LOGITS_POOL = (2, 7, 7)

#: Names of layers that code outside this module looks up (DeepMind's scopes, mapped by
#: `scope_to_layer_name`): the first convolution (its kernel's input channels say the stream),
#: the classifier's logits, the optional activation after them, and the default feature endpoint.
FIRST_CONV_LAYER = "Conv3d_1a_7x7_conv_3d"
#: DeepMind's scopes of the first convolution and of the classifier's 1x1x1 convolution (checkpoint names).
FIRST_CONV_SCOPE = "Conv3d_1a_7x7/conv_3d"
LOGITS_CONV_SCOPE = "Logits/Conv3d_0c_1x1"
LOGITS_LAYER = "Logits"
PREDICTIONS_LAYER = "Predictions"
#: DeepMind's stream scopes: the sub-model names of a two-stream network, by stream.
STREAM_SCOPES = {"rgb": "RGB", "flow": "Flow"}

#: Kernel initializer of randomly initialized models (Keras' default).
DEFAULT_KERNEL_INITIALIZER = "glorot_uniform"


def scope_to_layer_name(scope: str) -> str:
    """Maps a DeepMind variable scope to the Keras layer name used here.

    Args:
        scope: e.g. ``"Mixed_5b/Branch_2/Conv3d_0a_3x3/conv_3d"``.

    Returns:
        The layer name, e.g. ``"Mixed_5b_Branch_2_Conv3d_0a_3x3_conv_3d"``.
    """
    return scope.replace("/", "_")


def _spatial(size: tuple, rank: int) -> tuple:
    """A 3D ``(time, height, width)`` size in ``rank`` dimensions (``rank=2`` drops time)."""
    return tuple(size[3 - rank :])


def _check_rank(rank: int) -> None:
    if rank not in (2, 3):
        raise ValueError(f"`rank` must be 3 (I3D) or 2 (its 2D Inception-v1); got {rank!r}.")


def _max_pool(x, kernel: tuple, strides: tuple, name: str, rank: int):
    pool = keras.layers.MaxPooling3D if rank == 3 else keras.layers.MaxPooling2D
    return pool(_spatial(kernel, rank), strides=_spatial(strides, rank), padding="same", name=name)(x)


def unit3d(
    x,
    filters: int,
    kernel_size=(1, 1, 1),
    strides=(1, 1, 1),
    activation: str | None = "relu",
    use_batch_norm: bool = True,
    use_bias: bool = False,
    name: str = "unit_3d",
    kernel_initializer: str = DEFAULT_KERNEL_INITIALIZER,
    rank: int = 3,
):
    """DeepMind's ``Unit3D``: Conv3D (TF ``SAME``) -> BatchNorm -> ReLU.

    Args:
        x: input tensor, channels last.
        filters: output channels.
        kernel_size: 3D kernel size.
        strides: 3D strides.
        activation: activation after batch norm, or ``None``.
        use_batch_norm: whether to add the (scale-free) batch norm.
        use_bias: whether the convolution has a bias.
        name: the DeepMind scope of the unit, e.g. ``"Mixed_3b/Branch_0/Conv3d_0a_1x1"``.
        kernel_initializer: initializer of the convolution kernel.
        rank: 3, or 2 for the 2D unit it is inflated from (a Conv2D of the
            same name, ``kernel_size`` and ``strides`` without their time size).

    Returns:
        The output tensor. When ``activation`` is set, it comes from a layer
        named ``scope_to_layer_name(name)``.
    """
    _check_rank(rank)
    base = scope_to_layer_name(name)
    conv = keras.layers.Conv3D if rank == 3 else keras.layers.Conv2D
    x = conv(
        filters,
        _spatial(tuple(kernel_size), rank),
        strides=_spatial(tuple(strides), rank),
        padding="same",
        use_bias=use_bias,
        kernel_initializer=kernel_initializer,
        name=f"{base}_conv_3d",
    )(x)
    if use_batch_norm:
        # Sonnet 1's BatchNorm: offset only, decay 0.999, epsilon 1e-3.
        x = keras.layers.BatchNormalization(
            axis=-1,
            momentum=0.999,
            epsilon=1e-3,
            scale=False,
            name=f"{base}_batch_norm",
        )(x)
    if activation is not None:
        x = keras.layers.Activation(activation, name=base)(x)
    return x


def _block_units(name: str) -> tuple[str, str, str, str, str, str]:
    """The six unit scopes of an Inception block, in ``MIXED_FILTERS`` order."""
    b2_name = BRANCH_2_3X3_NAMES.get(name, "Conv3d_0b_3x3")
    return (
        f"{name}/Branch_0/Conv3d_0a_1x1",
        f"{name}/Branch_1/Conv3d_0a_1x1",
        f"{name}/Branch_1/Conv3d_0b_3x3",
        f"{name}/Branch_2/Conv3d_0a_1x1",
        f"{name}/Branch_2/{b2_name}",
        f"{name}/Branch_3/Conv3d_0b_1x1",
    )


def inception_block(x, filters, name: str, kernel_initializer: str = DEFAULT_KERNEL_INITIALIZER, rank: int = 3):
    """One Inception module (``Mixed_*``) of I3D.

    Args:
        x: input tensor.
        filters: six ints: Branch_0 1x1, Branch_1 1x1 and 3x3, Branch_2 1x1
            and 3x3, Branch_3 1x1 after the 3x3x3 max pool.
        name: the endpoint name, e.g. ``"Mixed_3b"``.
        kernel_initializer: initializer of the convolution kernels.
        rank: 3, or 2 for the 2D Inception-v1 block.

    Returns:
        The concatenation of the four branches, from a layer named ``name``.
    """
    b0, b1a, b1b, b2a, b2b, b3 = filters
    s0, s1a, s1b, s2a, s2b, s3 = _block_units(name)
    unit = functools.partial(unit3d, kernel_initializer=kernel_initializer, rank=rank)
    branch_0 = unit(x, b0, name=s0)
    branch_1 = unit(x, b1a, name=s1a)
    branch_1 = unit(branch_1, b1b, BLOCK_KERNEL, name=s1b)
    branch_2 = unit(x, b2a, name=s2a)
    branch_2 = unit(branch_2, b2b, BLOCK_KERNEL, name=s2b)
    branch_3 = _max_pool(x, BLOCK_KERNEL, (1, 1, 1), f"{name}_Branch_3_MaxPool3d_0a_3x3", rank)
    branch_3 = unit(branch_3, b3, name=s3)
    return keras.layers.Concatenate(axis=-1, name=name)([branch_0, branch_1, branch_2, branch_3])


def i3d_features(inputs, kernel_initializer: str = DEFAULT_KERNEL_INITIALIZER, rank: int = 3):
    """Builds the I3D trunk up to ``Mixed_5c``.

    Args:
        inputs: a 5D channels-last tensor ``(batch, frames, height, width, channels)``
            (with ``rank=2``, images ``(batch, height, width, channels)``).
        kernel_initializer: initializer of the convolution kernels.
        rank: 3 for I3D, 2 for the 2D Inception-v1 it is inflated from.

    Returns:
        The ``Mixed_5c`` tensor ``(batch, ceil(T/8), ceil(H/32), ceil(W/32), 1024)``.
        For I3D a ``clip_shape_check`` layer first rejects clips the network
        cannot take (see `keras_i3d.model.layers.ClipShapeCheck`).
    """
    _check_rank(rank)
    unit = functools.partial(unit3d, kernel_initializer=kernel_initializer, rank=rank)
    x = ClipShapeCheck(name="clip_shape_check")(inputs) if rank == 3 else inputs
    for name, filters, kernel, strides in STEM:
        x = (
            _max_pool(x, kernel, strides, name, rank)
            if filters is None
            else unit(x, filters, kernel, strides, name=name)
        )
    for pool, stage in zip((None, *STAGE_POOLS), STAGES, strict=True):
        if pool is not None:
            x = _max_pool(x, *STAGE_POOLS[pool], pool, rank)
        for block in stage:
            x = inception_block(x, MIXED_FILTERS[block], block, kernel_initializer, rank)
    return x


def i3d_time_geometry() -> dict[str, tuple[int, int]]:
    """DeepMind's time sizes: ``{layer name: (time kernel, time stride)}`` of every I3D layer that has them.

    These are what inflating the 2D Inception-v1 (``rank=2``) puts back to give
    I3D: cubic convolution kernels (7x7 -> 7x7x7, 3x3 -> 3x3x3) with a time
    stride of 2 in ``Conv3d_1a_7x7``, no time pooling in the first two max
    pools, and the ``Logits`` average pool over 2 frames.
    """
    geometry = {}
    for name, filters, kernel, strides in STEM:
        geometry[name if filters is None else f"{name}_conv_3d"] = (kernel[0], strides[0])
    for name, (kernel, strides) in STAGE_POOLS.items():
        geometry[name] = (kernel[0], strides[0])
    for stage in STAGES:
        for block in stage:
            for scope in _block_units(block):
                size = BLOCK_KERNEL[0] if scope.endswith("3x3") else 1
                geometry[f"{scope_to_layer_name(scope)}_conv_3d"] = (size, 1)
            geometry[f"{block}_Branch_3_MaxPool3d_0a_3x3"] = (BLOCK_KERNEL[0], 1)
    geometry["Logits_avg_pool"] = (LOGITS_POOL[0], 1)
    geometry["Logits_Conv3d_0c_1x1_conv_3d"] = (1, 1)
    return geometry


def i3d_head(
    x,
    classes: int,
    dropout_rate: float = 0.0,
    kernel_initializer: str = DEFAULT_KERNEL_INITIALIZER,
    rank: int = 3,
):
    """DeepMind's ``Logits`` block, returning time-averaged logits.

    Upstream computes avg-pool (2, 7, 7) VALID -> dropout -> 1x1x1 conv with
    bias -> mean over the remaining time steps. The pooled positions are
    averaged before the (linear) convolution here, which is the same function;
    the window shrinks to fit when the ``Mixed_5c`` map is smaller than it.

    Args:
        x: the ``Mixed_5c`` tensor.
        classes: number of classes.
        dropout_rate: dropout before the classifier (upstream trained with 0.5).
        kernel_initializer: initializer of the classifier kernel.
        rank: 3, or 2 for the 2D Inception-v1 head (a 7x7 average pool).

    Returns:
        Logits ``(batch, classes)`` from the layer named ``"Logits"``.
    """
    _check_rank(rank)
    x = LogitsPooling(pool_size=_spatial(LOGITS_POOL, rank), name="Logits_avg_pool")(x)
    if dropout_rate:
        x = keras.layers.Dropout(dropout_rate, name="Logits_dropout")(x)
    x = unit3d(
        x,
        classes,
        activation=None,
        use_batch_norm=False,
        use_bias=True,
        name=LOGITS_CONV_SCOPE,
        kernel_initializer=kernel_initializer,
        rank=rank,
    )
    return keras.layers.Reshape((classes,), name=LOGITS_LAYER)(x)


def builder_top(
    x,
    include_top: bool,
    pooling: str | None,
    classes: int,
    classifier_activation: str | None,
    dropout_rate: float,
    kernel_initializer: str,
    rank: int = 3,
):
    """The keras.applications end of `keras_i3d.I3D` and `keras_i3d.InceptionV1` after ``Mixed_5c``.

    Args:
        x: the ``Mixed_5c`` tensor.
        include_top: add the ``Logits`` head (`i3d_head`) and, with a
            ``classifier_activation``, a ``Predictions`` activation.
        pooling: without the head: ``"avg"`` / ``"max"`` for a global pool
            (``avg_pool`` / ``max_pool``), ``None`` for the map itself.
        classes: classes of the head.
        classifier_activation: activation of ``Predictions``, or ``None`` for logits.
        dropout_rate: dropout before the classifier.
        kernel_initializer: initializer of the classifier kernel.
        rank: 3, or 2 for images.

    Returns:
        The model's output tensor.
    """
    if include_top:
        x = i3d_head(x, classes, dropout_rate, kernel_initializer, rank)
        if classifier_activation is not None:
            x = keras.layers.Activation(classifier_activation, name=PREDICTIONS_LAYER)(x)
    elif pooling is not None:
        pools = {
            ("avg", 3): keras.layers.GlobalAveragePooling3D,
            ("max", 3): keras.layers.GlobalMaxPooling3D,
            ("avg", 2): keras.layers.GlobalAveragePooling2D,
            ("max", 2): keras.layers.GlobalMaxPooling2D,
        }
        x = pools[pooling, rank](name=f"{pooling}_pool")(x)
    return x


def restore_default_initializer(model: keras.Model) -> None:
    """Makes the config of a model built with placeholder zeros (weights about to be loaded) say glorot again."""
    for layer in model.layers:
        if isinstance(layer, (keras.layers.Conv2D, keras.layers.Conv3D)):
            layer.kernel_initializer = keras.initializers.get(DEFAULT_KERNEL_INITIALIZER)


def weights_holder(channels: int, classes: int | None) -> keras.Model:
    """An I3D to hold a weights file's variables: any input size, logits out.

    Its kernels start as zeros (cheap to build), to be overwritten by a
    checkpoint or a ``.weights.h5`` file.

    Args:
        channels: input channels (3 RGB, 2 flow).
        classes: number of classes, or ``None`` for no classifier.
    """
    inputs = keras.Input(shape=(None, None, None, channels), name="inputs")
    x = i3d_features(inputs, "zeros")
    if classes is not None:
        x = i3d_head(x, classes, kernel_initializer="zeros")
    return keras.Model(inputs, x, name="i3d")
