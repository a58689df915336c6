"""`fuse_for_inference`: the same network, rebuilt for fast inference.

The Keras model stays the source of truth: this reads its config and weights
and builds a new functional model of the same class, inputs, outputs and
endpoint names, in which

- every ``Conv3D -> BatchNormalization [-> ReLU]`` chain (DeepMind's
  ``Unit3D``) is one `FusedConv3D`, the BatchNorm folded into its kernel and
  bias (``k' = k * g / sqrt(var + eps)``, ``b' = (b - mean) * g / sqrt(var + eps)
  + beta``), named after the last layer of the chain (the unit's scope, which
  is the endpoint name where there is one);
- the remaining ``Conv3D`` layers (the classifier) are `FusedConv3D` too;
- with the ``"frames"`` implementation, ``MaxPooling3D`` layers become
  `SeparableMaxPooling3D` (exactly the same values);
- optionally every layer computes in another dtype (``"bfloat16"``).

Nested models (the streams of `keras_i3d.TwoStreamI3D`) are rebuilt the same
way. The result is for inference: BatchNorm no longer exists, so training it
would train something else.

Which implementation is fastest depends on the backend's kernels, so
``implementation="auto"`` picks the one measured fastest on CPU for the
running backend (`AUTO_IMPLEMENTATION`; see ``BENCHMARKS.md``). Both compute
the same function.
"""

from __future__ import annotations

import copy

import keras
import numpy as np

from keras_i3d.model.fused_layers import IMPLEMENTATIONS, FusedConv3D, SeparableMaxPooling3D
from keras_i3d.utils.functional_graph import node_histories

#: The implementation ``"auto"`` picks per backend (measured on CPU, BENCHMARKS.md).
AUTO_IMPLEMENTATION = {"tensorflow": "conv3d", "jax": "frames", "torch": "frames"}

_FUNCTIONAL = ("Functional", "I3DModel")
_DTYPES = ("float32", "bfloat16", "float16", "mixed_bfloat16", "mixed_float16")


def _history_names(value) -> list[str]:
    """The layer names a node's arguments refer to (``keras_history``)."""
    return [history[0] for history in node_histories(value)]


def _consumers(layers: list[dict], outputs) -> dict[str, list[str]]:
    used: dict[str, list[str]] = {entry["name"]: [] for entry in layers}
    for entry in layers:
        for source in _history_names(entry["inbound_nodes"]):
            used[source].append(entry["name"])
    for source in _history_names(outputs):
        used[source].append("<output>")
    return used


def _foldable_conv(entry: dict) -> bool:
    c = entry["config"]
    return (
        entry["class_name"] == "Conv3D"
        and c["padding"] == "same"
        and tuple(c["dilation_rate"]) == (1, 1, 1)
        and c.get("groups", 1) == 1
        and c["data_format"] == "channels_last"
        and c["activation"] in ("linear", "relu", None)
        and len(entry["inbound_nodes"]) == 1
    )


def _dtype_of(entry: dict, dtype: str | None):
    return entry["config"]["dtype"] if dtype is None else dtype


def _rewrite(config: dict, implementation: str, dtype: str | None, plan: dict) -> dict:
    """Returns a rewritten functional config; fills ``plan`` (fused name -> (conv, batch norm))."""
    config = copy.deepcopy(config)
    layers = config["layers"]
    by_name = {entry["name"]: entry for entry in layers}
    used = _consumers(layers, config["output_layers"])
    removed: set[str] = set()
    new_layers = []
    for original in layers:
        entry, name = original, original["name"]
        if name in removed:
            continue
        if entry["class_name"] in _FUNCTIONAL:
            nested_plan: dict = {}
            entry["config"] = _rewrite(entry["config"], implementation, dtype, nested_plan)
            plan[name] = nested_plan
        elif _foldable_conv(entry):
            chain = [entry]
            conv_activation = entry["config"]["activation"]
            nxt = used[name]
            if (
                conv_activation in ("linear", None)
                and len(nxt) == 1
                and by_name.get(nxt[0], {}).get("class_name") == ("BatchNormalization")
            ):
                bn = by_name[nxt[0]]
                if bn["config"]["axis"] in (-1, 4, [-1], [4]):
                    chain.append(bn)
            activation = "relu" if conv_activation == "relu" else None
            last = chain[-1]["name"]
            if activation is None and len(used[last]) == 1:
                follower = by_name.get(used[last][0])
                if follower and follower["class_name"] in ("Activation", "ReLU") and _is_plain_relu(follower):
                    chain.append(follower)
                    activation = "relu"
            removed.update(e["name"] for e in chain[1:])
            fused_name = chain[-1]["name"]
            c = entry["config"]
            entry = {
                "module": "keras_i3d.model.fused_layers",
                "class_name": "FusedConv3D",
                "registered_name": "keras_i3d>FusedConv3D",
                "config": {
                    "name": fused_name,
                    "trainable": False,
                    "dtype": _dtype_of(entry, dtype),
                    "filters": c["filters"],
                    "kernel_size": c["kernel_size"],
                    "strides": c["strides"],
                    "activation": activation,
                    "implementation": implementation,
                    # Placeholder zeros: the folded weights overwrite them. (Random kernels cost
                    # JAX a compiled program per shape, ~50 s for I3D's 58 convolutions.)
                    "kernel_initializer": "zeros",
                },
                "build_config": entry.get("build_config"),
                "name": fused_name,
                "inbound_nodes": entry["inbound_nodes"],
            }
            bn_name = chain[1]["name"] if len(chain) > 1 and chain[1]["class_name"] == "BatchNormalization" else None
            plan[fused_name] = (name, bn_name)
        elif entry["class_name"] == "MaxPooling3D" and implementation == "frames":
            c = entry["config"]
            if c["data_format"] == "channels_last":
                entry = dict(
                    entry,
                    module="keras_i3d.model.fused_layers",
                    class_name="SeparableMaxPooling3D",
                    registered_name="keras_i3d>SeparableMaxPooling3D",
                    config={
                        "name": name,
                        "trainable": c.get("trainable", True),
                        "dtype": _dtype_of(entry, dtype),
                        "pool_size": c["pool_size"],
                        "strides": c["strides"],
                        "padding": c["padding"],
                    },
                )
        elif dtype is not None and entry["class_name"] != "InputLayer" and "dtype" in entry["config"]:
            entry["config"]["dtype"] = dtype
        new_layers.append(entry)
    config["layers"] = new_layers
    return config


def _is_plain_relu(entry: dict) -> bool:
    c = entry["config"]
    if entry["class_name"] == "Activation":
        return c["activation"] == "relu"
    return not c.get("max_value") and not c.get("negative_slope") and not c.get("threshold")


def _fold(conv: keras.layers.Layer, bn: keras.layers.Layer | None) -> list[np.ndarray]:
    """The folded ``[kernel, bias]`` of a Conv3D and the BatchNorm after it (float64 arithmetic)."""
    kernel = keras.ops.convert_to_numpy(conv.kernel).astype(np.float64)
    filters = kernel.shape[-1]
    bias = keras.ops.convert_to_numpy(conv.bias).astype(np.float64) if conv.use_bias else np.zeros(filters)
    if bn is not None:
        weights = {v.path.rsplit("/", 1)[-1]: keras.ops.convert_to_numpy(v).astype(np.float64) for v in bn.weights}
        gamma = weights.get("gamma", np.ones(filters))
        beta = weights.get("beta", np.zeros(filters))
        factor = gamma / np.sqrt(weights["moving_variance"] + bn.epsilon)
        kernel = kernel * factor
        bias = (bias - weights["moving_mean"]) * factor + beta
    return [kernel.astype(np.float32), bias.astype(np.float32)]


def _copy_weights(old: keras.Model, new: keras.Model, plan: dict) -> None:
    for layer in new.layers:
        if layer.name in plan and isinstance(plan[layer.name], dict):
            _copy_weights(old.get_layer(layer.name), layer, plan[layer.name])
        elif layer.name in plan:
            conv_name, bn_name = plan[layer.name]
            bn = old.get_layer(bn_name) if bn_name else None
            layer.set_weights(_fold(old.get_layer(conv_name), bn))
        elif layer.weights:
            layer.set_weights(old.get_layer(layer.name).get_weights())


def resolve_implementation(implementation: str) -> str:
    """``implementation``, with ``"auto"`` replaced by the running backend's (`AUTO_IMPLEMENTATION`).

    Raises:
        ValueError: for an unknown implementation.
    """
    if implementation == "auto":
        implementation = AUTO_IMPLEMENTATION.get(keras.backend.backend(), "conv3d")
    if implementation not in IMPLEMENTATIONS:
        raise ValueError(f"`implementation` must be 'auto' or one of {IMPLEMENTATIONS}; got {implementation!r}.")
    return implementation


def fuse_for_inference(model: keras.Model, implementation: str = "auto", dtype: str | None = None) -> keras.Model:
    """Returns ``model`` rebuilt for fast inference: BatchNorm folded, faster layers, same outputs.

    The new model has the same class, inputs, outputs and endpoint names
    (``Conv3d_1a_7x7``, ``Mixed_4f``...), and its outputs match the original's
    to float32 round-off (within 1e-5 relative on I3D). It is not trainable.

    Args:
        model: a functional model, e.g. from `keras_i3d.I3D` or
            `keras_i3d.TwoStreamI3D` (fine-tuned or not).
        implementation: ``"conv3d"``, ``"frames"`` (see
            `keras_i3d.model.fused_layers`) or ``"auto"``: the fastest on CPU for the
            running backend, from `AUTO_IMPLEMENTATION`.
        dtype: dtype policy of every layer, e.g. ``"bfloat16"`` (weights and
            arithmetic) for CPUs with bf16 matrix units, or ``"mixed_bfloat16"``
            (float32 weights, bfloat16 arithmetic); ``None`` keeps the model's. Inputs
            stay float32 and are cast by the first layer.

    Returns:
        A new `keras.Model`; ``model`` is left unchanged.

    Raises:
        ValueError: for a model that is not functional, or a bad argument.
    """
    implementation = resolve_implementation(implementation)
    if dtype is not None and dtype not in _DTYPES:
        raise ValueError(f"`dtype` must be None or one of {_DTYPES}; got {dtype!r}.")
    config = model.get_config() if isinstance(model, keras.Model) else None
    if not config or "layers" not in config or "output_layers" not in config:
        raise ValueError(
            f"fuse_for_inference rebuilds functional models (keras_i3d.I3D, TwoStreamI3D); got {type(model).__name__}."
        )
    plan: dict = {}
    fused_config = _rewrite(config, implementation, dtype, plan)
    custom = {"FusedConv3D": FusedConv3D, "SeparableMaxPooling3D": SeparableMaxPooling3D}
    with keras.saving.custom_object_scope(custom):
        fused = model.__class__.from_config(fused_config)
    _copy_weights(model, fused, plan)
    for layer in _all_layers(fused):
        if isinstance(layer, FusedConv3D):
            layer.kernel_initializer = keras.initializers.get("glorot_uniform")  # what the config says, as built
    fused.trainable = False
    return fused


def _all_layers(model: keras.Model):
    for layer in model.layers:
        yield layer
        if isinstance(layer, keras.Model):
            yield from _all_layers(layer)
