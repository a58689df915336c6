"""How each 2D Keras layer becomes its 3D counterpart (configs only; weights are `keras_i3d.inflation.inflate`'s).

The time axis is inserted after the batch axis: ``(batch, height, width,
channels)`` becomes ``(batch, frames, height, width, channels)``. A layer
with a spatial window (convolutions and pools) gets a time kernel and a time
stride from the inflation's policy; ``SAME`` layers stay ``SAME`` in every
axis, and ``VALID`` ones stay ``VALID`` in space but are padded ``SAME`` in
time when their time kernel is larger than 1 (`keras_i3d.inflation.layers`),
so that parallel branches keep equal frame counts. Layers that act on each
position alone (activations, batch norm, ``Add``...) are kept as they are,
with channel axes renumbered. Anything else raises `InflationError` naming
the layer.
"""

from __future__ import annotations

import math

import keras

from keras_i3d.errors import InflationError
from keras_i3d.inflation.layers import TimeSameAveragePooling3D, TimeSameConv3D, TimeSameMaxPooling3D
from keras_i3d.model.layers import LogitsPooling

L = keras.layers

#: Layers that act on every position alone (or merge equal shapes): kept as they are.
PER_POSITION = (
    L.Activation,
    L.ReLU,
    L.LeakyReLU,
    L.ELU,
    L.Dropout,
    L.GaussianNoise,
    L.GaussianDropout,
    L.AlphaDropout,
    L.Rescaling,
    L.Identity,
    L.Add,
    L.Subtract,
    L.Multiply,
    L.Average,
    L.Maximum,
    L.Minimum,
    L.Dense,
)
#: ``keras.ops`` operations that act on every element alone (``x + 3.0``, ``ops.relu6(x)`` in a graph).
ELEMENTWISE_OPERATIONS = frozenset(
    "Add Subtract Multiply Divide TrueDivide Maximum Minimum Power Negative Absolute Exp Log Sqrt Square Tanh "
    "Sin Cos Floor Ceil Round Sign Reciprocal Clip Cast Relu Relu6 Sigmoid HardSigmoid Silu HardSilu Gelu "
    "Softplus Elu Selu LeakyRelu".split()
)
#: Layers whose ``axis`` (a channel axis, or a list) is renumbered for the inserted time axis.
WITH_AXIS = (L.BatchNormalization, L.LayerNormalization, L.Normalization, L.Softmax, L.Concatenate)
#: Layers with a spatial window, which get a time kernel and stride.
WINDOWED = (L.Conv2D, L.DepthwiseConv2D, L.MaxPooling2D, L.AveragePooling2D, LogitsPooling)


def is_elementwise_operation(operation) -> bool:
    """Whether ``operation`` is a ``keras.ops`` operation (not a layer) in `ELEMENTWISE_OPERATIONS`."""
    return (
        not isinstance(operation, keras.layers.Layer)
        and type(operation).__module__.startswith("keras.src.ops")
        and type(operation).__name__ in ELEMENTWISE_OPERATIONS
    )


def inflated_operation(operation):
    """A fresh copy of an elementwise ``keras.ops`` operation of a graph (it works on clips as it is).

    Raises:
        InflationError: for any other operation, naming it.
    """
    if not is_elementwise_operation(operation):
        raise InflationError(
            f"Cannot inflate operation {operation.name!r} ({type(operation).__name__}): only elementwise "
            f"keras.ops operations inflate as they are ({', '.join(sorted(ELEMENTWISE_OPERATIONS))})."
        )
    return type(operation).from_config(operation.get_config())


def supported_layers() -> list[str]:
    """The names of the 2D layer classes `keras_i3d.inflate` turns into 3D ones."""
    others = [
        L.InputLayer,
        L.GlobalAveragePooling2D,
        L.GlobalMaxPooling2D,
        L.ZeroPadding2D,
        L.Cropping2D,
        L.UpSampling2D,
        L.SpatialDropout2D,
        L.PReLU,
        L.Flatten,
        L.Reshape,
    ]
    return sorted({cls.__name__ for cls in (*PER_POSITION, *WITH_AXIS, *WINDOWED, *others)})


def has_time_window(layer: keras.layers.Layer) -> bool:
    """Whether ``layer`` gets a time kernel and a time stride when inflated."""
    return type(layer) in WINDOWED and not (isinstance(layer, LogitsPooling) and len(layer.pool_size) == 3)


def spatial_kernel(layer: keras.layers.Layer) -> tuple[int, int]:
    """The 2D window of a `has_time_window` layer: its kernel or pool size."""
    return tuple(getattr(layer, "kernel_size", None) or layer.pool_size)


def _fail(layer: keras.layers.Layer, why: str) -> InflationError:
    return InflationError(f"Cannot inflate layer {layer.name!r} ({type(layer).__name__}): {why}")


def _remap_axis(axis):
    """An axis of a 2D tensor renumbered for the time axis inserted after the batch (negative ones stay)."""
    if isinstance(axis, (list, tuple)):
        return [_remap_axis(a) for a in axis]
    return axis + 1 if axis >= 1 else axis


def _first(structure):
    return keras.tree.flatten(structure)[0]


def gains_time(layer: keras.layers.Layer, inputs_3d) -> bool:
    """Whether ``layer``'s 3D input has a time axis its 2D input lacks (not so after a global pool)."""
    return len(_first(inputs_3d).shape) == len(_first(layer.input).shape) + 1


def _check_channels_last(layer, config: dict) -> None:
    if config.get("data_format", "channels_last") != "channels_last":
        raise _fail(layer, f"only channels_last models inflate; it has data_format={config['data_format']!r}.")


def _base(config: dict) -> dict:
    keep = ("name", "trainable", "dtype")
    return {key: config[key] for key in keep if key in config}


def _conv(layer, config: dict, kernel: int, stride: int):
    if tuple(config.get("dilation_rate", (1, 1))) != (1, 1) and stride != 1:
        raise _fail(layer, "a dilated convolution cannot also have a time stride (Keras supports neither combination).")
    cls = TimeSameConv3D if config["padding"] == "valid" and kernel > 1 else L.Conv3D
    new = dict(config)
    new.update(
        kernel_size=(kernel, *config["kernel_size"]),
        strides=(stride, *config["strides"]),
        dilation_rate=(1, *config["dilation_rate"]),
    )
    return cls, new


def _depthwise(layer, config: dict, kernel: int, stride: int):
    channels = int(layer.kernel.shape[2])
    new = _base(config)
    new.update(
        filters=channels * config["depth_multiplier"],
        groups=channels,
        kernel_size=config["kernel_size"],
        strides=config["strides"],
        padding=config["padding"],
        data_format="channels_last",
        dilation_rate=config["dilation_rate"],
        activation=config["activation"],
        use_bias=config["use_bias"],
        kernel_initializer=config["depthwise_initializer"],
        bias_initializer=config["bias_initializer"],
        kernel_regularizer=config["depthwise_regularizer"],
        bias_regularizer=config["bias_regularizer"],
        activity_regularizer=config["activity_regularizer"],
        kernel_constraint=config["depthwise_constraint"],
        bias_constraint=config["bias_constraint"],
    )
    return _conv(layer, new, kernel, stride)


def _pool(layer, config: dict, kernel: int, stride: int):
    same = config["padding"] == "same"
    if isinstance(layer, L.MaxPooling2D):
        cls = L.MaxPooling3D if same or kernel == 1 else TimeSameMaxPooling3D
    else:
        cls = L.AveragePooling3D if same or kernel == 1 else TimeSameAveragePooling3D
    new = dict(config)
    new.update(pool_size=(kernel, *config["pool_size"]), strides=(stride, *config["strides"]))
    return cls, new


def _reshape(layer, config: dict, inputs_3d) -> tuple:
    target = tuple(config["target_shape"])
    shape_2d = tuple(layer.input.shape[1:])
    shape_3d = tuple(inputs_3d.shape[1:])
    new = dict(config)
    if not gains_time(layer, inputs_3d):  # no time axis here (after a global pool): an image becomes one frame
        new["target_shape"] = (1, *target) if len(target) == 3 else target
        return L.Reshape, new
    if len(target) == 3 and -1 not in target:  # a per-image reshape, frame by frame
        new["target_shape"] = (-1, *target)
        return L.Reshape, new
    if len(target) == 1 and None not in shape_3d:  # flattens an image: the frames too, as Flatten does
        if math.prod(shape_3d) != math.prod(target):
            new["target_shape"] = (-1,)
        return L.Reshape, new
    raise _fail(
        layer,
        f"it reshapes {shape_2d} to {target}, which has no frame-by-frame meaning for inputs {shape_3d}"
        + (" (pass `frames=` to inflate so that the frame count is known)" if None in shape_3d else "")
        + ".",
    )


def inflated_layer(layer: keras.layers.Layer, kernel: int, stride: int, inputs_3d) -> keras.layers.Layer:
    """The 3D counterpart of a 2D layer, with fresh weights (`keras_i3d.inflation.inflate` fills them).

    Args:
        layer: the 2D layer.
        kernel: its time kernel (used by `has_time_window` layers only).
        stride: its time stride (likewise).
        inputs_3d: the 3D tensor (a Keras tensor) it will be called on, or a
            list of them for a merge layer.

    Returns:
        A new, unbuilt layer of the same name, initialized with zeros until
        `restore_initializers` (after its weights are filled).

    Raises:
        InflationError: for a layer with no 3D counterpart, naming it and why.
    """
    config = layer.get_config()
    _check_channels_last(layer, config)
    cls = type(layer)
    if cls is L.Conv2D:
        cls, config = _conv(layer, config, kernel, stride)
    elif cls is L.DepthwiseConv2D:
        cls, config = _depthwise(layer, config, kernel, stride)
    elif cls in (L.MaxPooling2D, L.AveragePooling2D):
        cls, config = _pool(layer, config, kernel, stride)
    elif cls is LogitsPooling:
        if len(layer.pool_size) == 2:
            config = dict(config, pool_size=(kernel, *layer.pool_size))
    elif cls in (L.GlobalAveragePooling2D, L.GlobalMaxPooling2D):
        cls = L.GlobalAveragePooling3D if cls is L.GlobalAveragePooling2D else L.GlobalMaxPooling3D
    elif cls is L.ZeroPadding2D:
        cls, config = L.ZeroPadding3D, dict(config, padding=((0, 0), *config["padding"]))
    elif cls is L.Cropping2D:
        cls, config = L.Cropping3D, dict(config, cropping=((0, 0), *config["cropping"]))
    elif cls is L.UpSampling2D:
        if config.get("interpolation", "nearest") != "nearest":
            raise _fail(layer, f"UpSampling3D has only nearest interpolation; it uses {config['interpolation']!r}.")
        config = _base(config) | {"size": (1, *config["size"]), "data_format": "channels_last"}
        cls = L.UpSampling3D
    elif cls is L.SpatialDropout2D:
        cls, config = L.SpatialDropout3D, dict(config)
    elif cls is L.PReLU:
        shared = sorted(config.get("shared_axes") or [])
        if shared != [1, 2]:
            raise _fail(
                layer, f"a PReLU inflates when it shares its slopes over height and width; shared_axes={shared}."
            )
        config = dict(config, shared_axes=[1, 2, 3])
    elif cls in WITH_AXIS:
        if gains_time(layer, inputs_3d):
            config = dict(config, axis=_remap_axis(config["axis"]))
    elif cls is L.Flatten:
        if None in tuple(inputs_3d.shape[1:]):
            raise _fail(
                layer,
                f"it flattens frames too, and their count is unknown (inputs {tuple(inputs_3d.shape[1:])}): "
                "pass `frames=` to inflate.",
            )
    elif cls is L.Reshape:
        cls, config = _reshape(layer, config, inputs_3d)
    elif cls not in PER_POSITION:
        raise _fail(
            layer,
            "it has no 3D counterpart here (subclassed and Lambda layers cannot be inflated). "
            f"Supported layers: {', '.join(supported_layers())}.",
        )
    return cls.from_config(_zero_initializers(config))


def _zero_initializers(config: dict) -> dict:
    """The config with every initializer zeros (`restore_initializers` undoes it).

    The weights are overwritten anyway, and random initialization costs time
    (on JAX, one compilation per weight shape).
    """
    return {
        key: "zeros" if key.endswith("_initializer") and value is not None else value for key, value in config.items()
    }


def restore_initializers(layer: keras.layers.Layer, config_2d: dict) -> None:
    """Gives an `inflated_layer` the initializers of its 2D layer's config back (as its config says)."""
    renamed = {"depthwise_initializer": "kernel_initializer"} if isinstance(layer, L.Conv3D) else {}
    for key, value in config_2d.items():
        attribute = renamed.get(key, key)
        if attribute.endswith("_initializer") and value is not None and hasattr(layer, attribute):
            setattr(layer, attribute, keras.initializers.get(value))
