"""Inflation: a 2D image network becomes a 3D video network (Carreira & Zisserman 2017, section 2.4).

Every ``N x N`` kernel becomes ``T x N x N``: the 2D kernel repeated ``T``
times along time and divided by ``T``. On a "boring video" (one image
repeated) each frame of the 3D network then computes what the 2D network
computes on the image, wherever temporal padding does not reach (see
`keras_i3d.inflation.boring_video`), so ImageNet features carry over to video.

`inflate` rebuilds a functional (or Sequential) Keras model with the same
layers, names and connections in 3D (`keras_i3d.inflation.rules` says how
each layer class inflates) and fills it with inflated weights. The temporal
kernel and stride of each convolution and pool is chosen by layer name: a
dict or a function, with I3D's choices (`I3D_TIME_KERNELS`) for the 2D
Inception-v1 (`keras_i3d.InceptionV1`), whose inflation is exactly
`keras_i3d.I3D`. `keras_i3d.inflation.files` saves and loads inflated models.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping

import keras
import numpy as np

from keras_i3d.errors import InflationError
from keras_i3d.inflation.rules import (
    has_time_window,
    inflated_layer,
    inflated_operation,
    restore_initializers,
    spatial_kernel,
)
from keras_i3d.model.architecture import FIRST_CONV_LAYER, LOGITS_LAYER, i3d_time_geometry, weights_holder
from keras_i3d.utils.functional_graph import (
    is_functional_config,
    map_histories,
    node_histories,
    operations_by_name,
    replay,
)

#: I3D's time kernels, by the layer names of `keras_i3d.InceptionV1` (and of `keras_i3d.I3D`).
I3D_TIME_KERNELS: dict[str, int] = {name: kernel for name, (kernel, _) in i3d_time_geometry().items()}
#: I3D's time strides, likewise: 2 in ``Conv3d_1a_7x7``, ``MaxPool3d_4a_3x3`` and ``MaxPool3d_5a_2x2``.
I3D_TIME_STRIDES: dict[str, int] = {name: stride for name, (_, stride) in i3d_time_geometry().items()}

#: A per-layer choice: ``{layer name: size}`` (other layers get the default), or a
#: function of the 2D layer returning a size (``None`` for the default).
TimePolicy = Mapping[str, int] | Callable[[keras.layers.Layer], "int | None"] | None


def default_time_kernel(layer: keras.layers.Layer) -> int:
    """The time kernel a layer gets unless told otherwise.

    I3D's for the layer names of the 2D Inception-v1 (`I3D_TIME_KERNELS`);
    otherwise a convolution's smaller spatial side (``N x N`` becomes ``N x N x
    N``, and a factorised ``1 x 7`` stays ``1 x 1 x 7``), and 1 for pools, as
    I3D's first pools have (no pooling over time unless asked).
    """
    if layer.name in I3D_TIME_KERNELS:
        return I3D_TIME_KERNELS[layer.name]
    if isinstance(layer, (keras.layers.Conv2D, keras.layers.DepthwiseConv2D)):
        return int(min(spatial_kernel(layer)))
    return 1


def default_time_stride(layer: keras.layers.Layer) -> int:
    """The time stride a layer gets unless told otherwise: I3D's (`I3D_TIME_STRIDES`), else 1."""
    return I3D_TIME_STRIDES.get(layer.name, 1)


def inflate_kernel(kernel, time_size: int) -> np.ndarray:
    """Inflates a 2D kernel ``(h, w, in, out)`` to ``(time_size, h, w, in, out)``: repeated, divided by ``time_size``.

    The division makes the 3D kernel's response to ``time_size`` equal frames
    the 2D kernel's response to one of them.

    Args:
        kernel: the 2D kernel (any array).
        time_size: the time kernel, at least 1.

    Returns:
        The 3D kernel, in the 2D kernel's dtype.
    """
    _check_size(time_size, "time_size")
    kernel = np.asarray(kernel)
    inflated = np.repeat(kernel[None].astype(np.float64), time_size, axis=0) / time_size
    return inflated.astype(kernel.dtype)


@dataclasses.dataclass(frozen=True)
class Inflation:
    """How a 3D model was inflated (``model.inflation`` after `inflate` or `load_inflated`).

    Attributes:
        source: the 2D model's name.
        frames: the frame count the input was fixed to, or ``None``.
        time_kernels: the time kernel of every convolution and pool, by layer
            name (``outer/inner`` inside nested models).
        time_strides: their time strides, likewise.
    """

    source: str
    frames: int | None
    time_kernels: dict[str, int]
    time_strides: dict[str, int]

    def to_dict(self) -> dict:
        """A JSON-ready dict."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Inflation:
        """The inverse of `to_dict`."""
        return cls(data["source"], data["frames"], dict(data["time_kernels"]), dict(data["time_strides"]))


def _check_size(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise InflationError(f"`{what}` must be a positive int; got {value!r}.")
    return int(value)


def _windowed_names(model: keras.Model) -> set[str]:
    names = set()
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            names |= _windowed_names(layer)
        elif has_time_window(layer):
            names.add(layer.name)
    return names


def _policy(
    policy: TimePolicy, default: Callable, what: str, model: keras.Model
) -> Callable[[keras.layers.Layer], int]:
    """A function of the 2D layer giving its size, from a dict, a function or ``None``."""
    if policy is None:
        return default
    if isinstance(policy, Mapping):
        unknown = sorted(set(policy) - _windowed_names(model))
        if unknown:
            raise InflationError(
                f"`{what}` names layers that are not convolutions or pools of {model.name!r}: {unknown[:10]}"
                f"{' ...' if len(unknown) > 10 else ''}."
            )
        sizes = {name: _check_size(size, f"{what}[{name!r}]") for name, size in policy.items()}
        return lambda layer: sizes.get(layer.name, default(layer))
    if callable(policy):

        def choose(layer):
            size = policy(layer)
            return default(layer) if size is None else _check_size(size, f"{what}({layer.name!r})")

        return choose
    raise InflationError(f"`{what}` must be None, a dict of layer names or a function; got {type(policy).__name__}.")


@dataclasses.dataclass
class _Context:
    kernel_of: Callable[[keras.layers.Layer], int]
    stride_of: Callable[[keras.layers.Layer], int]
    kernels: dict[str, int] = dataclasses.field(default_factory=dict)
    strides: dict[str, int] = dataclasses.field(default_factory=dict)


def _check_model(model) -> dict | None:
    """Raises `InflationError` unless ``model`` inflates; returns its functional config (``None``: Sequential)."""
    if not isinstance(model, keras.Model):
        raise InflationError(f"`inflate` takes a Keras model; got {type(model).__name__}.")
    if isinstance(model, keras.Sequential):
        if not model.built or not model.inputs:
            raise InflationError(
                f"Sequential model {model.name!r} has no input yet: start it with keras.Input(shape=...) "
                "or build it, then inflate."
            )
        return None
    config = model.get_config()
    if not is_functional_config(config):
        raise InflationError(
            f"`inflate` takes functional or Sequential models; {model.name!r} is a subclassed "
            f"{type(model).__name__}, whose graph Keras cannot list."
        )
    return config


def _input_3d(batch_shape, dtype, name: str, frames: int | None):
    batch_shape = tuple(batch_shape)
    if len(batch_shape) == 4:
        batch_shape = (batch_shape[0], frames, *batch_shape[1:])
    return keras.Input(batch_shape=batch_shape, dtype=dtype, name=name)


def _describe(values) -> str:
    return ", ".join(str(tuple(v.shape)) for v in keras.tree.flatten(values) if hasattr(v, "shape"))


def _make_layer(layer, args, ctx: _Context, prefix: str):
    """The 3D counterpart of a 2D layer (a nested model inflated whole), recording its time geometry."""
    first = keras.tree.flatten(args)[0] if keras.tree.flatten(args) else None
    if isinstance(layer, keras.Model):
        frames = first.shape[1] if first is not None and len(first.shape) == 5 else None
        return _inflate_model(layer, ctx, frames, layer.name, f"{prefix}{layer.name}/")
    if not isinstance(layer, keras.layers.Layer):
        return inflated_operation(layer)
    kernel = stride = 1
    if has_time_window(layer):
        kernel, stride = ctx.kernel_of(layer), ctx.stride_of(layer)
        ctx.kernels[prefix + layer.name], ctx.strides[prefix + layer.name] = kernel, stride
    merge_inputs = args[0] if args and isinstance(args[0], (list, tuple)) else first
    return inflated_layer(layer, kernel, stride, merge_inputs)


def _call(layer_3d, name: str, args, kwargs):
    try:
        return layer_3d(*args, **kwargs)
    except InflationError:
        raise
    except Exception as e:
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise InflationError(
            f"The inflated layer {name!r} ({type(layer_3d).__name__}) cannot take its 3D inputs "
            f"{_describe((args, kwargs))}: {reason}"
        ) from e


def _inflate_sequential(model: keras.Sequential, ctx: _Context, frames, name: str, prefix: str) -> keras.Model:
    source = model.inputs[0]
    inputs = _input_3d(source.shape, source.dtype, f"{model.name}_input", frames)
    x = inputs
    for layer in model.layers:
        new = _make_layer(layer, [x], ctx, prefix)
        x = _call(new, layer.name, [x], {})
    return keras.Model(inputs, x, name=name)


def _inflate_model(
    model: keras.Model, ctx: _Context, frames, name: str, prefix: str = "", config: dict | None = None
) -> keras.Model:
    if isinstance(model, keras.Sequential):
        return _inflate_sequential(model, ctx, frames, name, prefix)
    config = config or _check_model(model)
    operations = operations_by_name(model)
    inputs: dict[str, object] = {}
    created: dict[str, keras.layers.Layer] = {}

    def on_input(entry):
        c = entry["config"]
        inputs[entry["name"]] = _input_3d(c["batch_shape"], c.get("dtype"), entry["name"], frames)
        return inputs[entry["name"]]

    def on_call(entry, args, kwargs):
        layer_name = entry["name"]
        if layer_name not in created:
            created[layer_name] = _make_layer(operations[layer_name], args, ctx, prefix)
        return _call(created[layer_name], layer_name, args, kwargs)

    outputs, _ = replay(config, on_input, on_call)
    model_inputs = map_histories(config["input_layers"], lambda history: inputs[history[0]])
    return keras.Model(model_inputs, outputs, name=name)


def _inflated_value(layer_2d, variable_2d, variable_3d) -> np.ndarray:
    value = np.asarray(keras.ops.convert_to_numpy(variable_2d.value))
    target = tuple(variable_3d.shape)
    is_kernel = variable_2d is getattr(layer_2d, "kernel", None)
    if is_kernel and isinstance(layer_2d, keras.layers.DepthwiseConv2D):
        kh, kw, channels, multiplier = value.shape
        value = value.reshape(kh, kw, 1, channels * multiplier)  # output channel c * m + j, as grouped Conv3D
    if is_kernel and value.ndim == 4 and len(target) == 5:
        value = inflate_kernel(value, target[0])
    elif is_kernel and isinstance(layer_2d, keras.layers.Dense) and value.shape != target:
        repeats, remainder = divmod(target[0], value.shape[0])
        if remainder or value.shape[1:] != target[1:]:
            raise InflationError(f"Dense layer {layer_2d.name!r}: kernel {value.shape} cannot fill {target}.")
        # After a Flatten of `repeats` frames: each frame's features see the 2D kernel, averaged.
        value = (np.tile(value.astype(np.float64), (repeats, 1)) / repeats).astype(value.dtype)
    elif value.shape != target:
        if value.size != int(np.prod(target)):
            raise InflationError(
                f"Layer {layer_2d.name!r}: weight {variable_2d.path} of shape {value.shape} cannot fill {target}."
            )
        value = value.reshape(target)  # per-channel statistics broadcast over one more axis
    return value


def _transfer_weights(model_2d: keras.Model, model_3d: keras.Model) -> None:
    for layer in model_2d.layers:
        target = model_3d.get_layer(layer.name)
        if isinstance(layer, keras.Model):
            _transfer_weights(layer, target)
            continue
        if len(layer.weights) != len(target.weights):
            raise InflationError(
                f"Layer {layer.name!r} has {len(layer.weights)} weights but its inflation has {len(target.weights)}."
            )
        for source, destination in zip(layer.weights, target.weights, strict=True):
            destination.assign(_inflated_value(layer, source, destination))
        restore_initializers(target, layer.get_config())


def inflate(
    model_2d: keras.Model,
    time_kernels: TimePolicy = None,
    time_strides: TimePolicy = None,
    frames: int | None = None,
    name: str | None = None,
) -> keras.Model:
    """Inflates a 2D Keras CNN into a 3D one with the same layers, names, connections and inflated weights.

    Inputs ``(batch, height, width, channels)`` become clips ``(batch, frames,
    height, width, channels)``; every convolution and pool gets a time kernel
    and a time stride (see `default_time_kernel`), kernels are repeated over
    time and divided by their time size (`inflate_kernel`), and every other
    weight is copied. ``inflate(keras_i3d.InceptionV1(...))`` is
    `keras_i3d.I3D`'s architecture; ``inflate(keras.applications.ResNet50(...))``
    is a 3D ResNet-50. The supported layers are listed by
    `keras_i3d.inflation.rules.supported_layers`; nested models inflate whole.

    Args:
        model_2d: a functional or Sequential, channels-last Keras model
            taking images (it is left unchanged).
        time_kernels: the time kernel of each convolution and pool: a dict by
            layer name (the others get the default), or a function of the 2D
            layer returning a size or ``None`` (the default). Names apply at
            any depth of nested models.
        time_strides: their time strides, likewise (default: `default_time_stride`).
        frames: a fixed frame count for the inputs, or ``None`` for any (a
            ``Flatten`` or flattening ``Reshape`` needs it fixed).
        name: the 3D model's name; default ``"<2D name>_inflated"``.

    Returns:
        A functional `keras.Model` (a Sequential's chain of layers becomes one),
        with ``model.inflation`` (an `Inflation`) recording what was chosen.

    Raises:
        InflationError: for a model or layer that cannot be inflated (naming
            the layer and why), or a bad argument.
    """
    config = _check_model(model_2d)
    if frames is not None:
        frames = _check_size(frames, "frames")
    ctx = _Context(
        _policy(time_kernels, default_time_kernel, "time_kernels", model_2d),
        _policy(time_strides, default_time_stride, "time_strides", model_2d),
    )
    model_3d = _inflate_model(model_2d, ctx, frames, name or f"{model_2d.name}_inflated", config=config)
    _transfer_weights(model_2d, model_3d)
    model_3d.inflation = Inflation(model_2d.name, frames, ctx.kernels, ctx.strides)
    return model_3d


# -- is it I3D? --------------------------------------------------------------

#: Config keys that make a layer's function (initializers and regularizers do not).
_STRUCTURE_KEYS = (
    "filters",
    "kernel_size",
    "strides",
    "padding",
    "dilation_rate",
    "groups",
    "use_bias",
    "activation",
    "pool_size",
    "axis",
    "epsilon",
    "momentum",
    "center",
    "scale",
    "target_shape",
    "data_format",
    "keepdims",
)


def _inbound(config: dict, skip: set[str]) -> dict[str, list[str]]:
    """``{layer: names of the layers it takes}``, looking through the ``skip`` layers."""
    entries = {entry["name"]: entry for entry in config["layers"]}

    def sources(entry) -> list[str]:
        found = []
        for source, _, _ in node_histories(entry["inbound_nodes"]):
            found.extend(sources(entries[source]) if source in skip else [source])
        return found

    return {name: sources(entry) for name, entry in entries.items()}


def input_channels(model: keras.Model) -> int | None:
    """The channels of a model's first input, or ``None`` when not fixed."""
    shape = keras.tree.flatten(model.inputs)[0].shape
    return None if shape[-1] is None else int(shape[-1])


def i3d_differences(model: keras.Model) -> list[str]:
    """How ``model`` differs from `keras_i3d.I3D`'s architecture (empty: it is I3D).

    Compared, for every layer of I3D's trunk and ``Logits`` head (the clip
    check layer aside): the layer class, its structural config (filters,
    kernel, strides, padding, pooling, batch norm settings...) and the layers
    it takes its inputs from. ``model`` may add weightless layers (a
    ``Predictions`` activation, dropout, a global pool) but no weighted ones.

    Args:
        model: a 3D functional model, e.g. an inflated `keras_i3d.InceptionV1`.

    Returns:
        One line per difference, at most 20.
    """
    names = {layer.name for layer in model.layers}
    config = model.get_config()
    if FIRST_CONV_LAYER not in names or not is_functional_config(config):
        return [f"{model.name!r} has no layer {FIRST_CONV_LAYER!r}."]
    classes = int(model.get_layer(LOGITS_LAYER).output.shape[-1]) if LOGITS_LAYER in names else None
    reference = weights_holder(input_channels(model) or 3, classes)
    ref_config = reference.get_config()
    skip_ref = {e["name"] for e in ref_config["layers"] if e["class_name"] in ("InputLayer", "ClipShapeCheck")}
    skip = {e["name"] for e in config["layers"] if e["class_name"] in ("InputLayer", "Dropout")}
    ref_inbound, inbound = _inbound(ref_config, skip_ref), _inbound(config, skip)
    entries = {entry["name"]: entry for entry in config["layers"]}
    problems = []
    for ref in ref_config["layers"]:
        layer_name = ref["name"]
        if layer_name in skip_ref:
            continue
        entry = entries.get(layer_name)
        if entry is None:
            problems.append(f"no layer {layer_name!r}")
            continue
        if entry["class_name"] != ref["class_name"]:
            problems.append(f"{layer_name}: {entry['class_name']}, not {ref['class_name']}")
            continue
        for key in _STRUCTURE_KEYS:
            a, b = ref["config"].get(key), entry["config"].get(key)
            if json.dumps(a) != json.dumps(b):
                problems.append(f"{layer_name}: {key} {b}, not {a}")
        if inbound[layer_name] != ref_inbound[layer_name]:
            problems.append(f"{layer_name}: takes {inbound[layer_name]}, not {ref_inbound[layer_name]}")
    ref_weighted = {layer.name for layer in reference.layers if layer.weights}
    problems += [
        f"extra weighted layer {layer.name!r}"
        for layer in model.layers
        if layer.weights and layer.name not in ref_weighted
    ]
    return problems[:20]
