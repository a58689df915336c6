"""Analytic multiply-accumulate counts of a built model (for the benchmark's TFLOP/s and MFU).

Counted: every convolution (``Conv1D/2D/3D``, `keras_i3d.model.fused_layers.FusedConv3D`)
and ``Dense`` layer, ``output positions x kernel volume x input channels /
groups x filters`` multiply-accumulates. Pooling, BatchNorm, activations and
additions are not counted (under 1% of I3D's arithmetic), which is the usual
convention for MFU. One MAC is two FLOPs; a training step (forward, then
gradients with respect to activations and weights) is counted as three
forward passes.
"""

from __future__ import annotations

import math

import keras

from keras_i3d.model.fused_layers import FusedConv3D
from keras_i3d.utils.nested import leaf_layers

#: Training FLOPs per forward FLOP (forward + two backward matrix products).
TRAIN_FLOPS_PER_FORWARD = 3


def _static_shape(tensor, layer) -> tuple[int, ...]:
    shape = tuple(tensor.shape[1:])
    if any(size is None for size in shape):
        raise ValueError(
            f"Layer {layer.name!r} has unknown sizes {shape}: build the model for a fixed clip shape "
            "(e.g. I3D(input_shape=(64, 224, 224, 3))) to count its operations."
        )
    return shape


def layer_macs(layer: keras.layers.Layer) -> int:
    """Multiply-accumulates of one call of ``layer`` on one example (0 for uncounted layers).

    Raises:
        ValueError: if the layer's shapes are not all known.
    """
    if isinstance(layer, (keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D, FusedConv3D)):
        out = _static_shape(layer.output, layer)
        kernel = layer.kernel.shape  # (*window, in_channels / groups, filters)
        return math.prod(out[:-1]) * math.prod(kernel)
    if isinstance(layer, keras.layers.Dense):
        out = _static_shape(layer.output, layer)
        return math.prod(out[:-1]) * math.prod(layer.kernel.shape)
    return 0


def model_macs(model: keras.Model) -> dict[str, int]:
    """Multiply-accumulates per example of every counted layer of ``model`` (nested models included).

    Args:
        model: a functional model built for a fixed input shape.

    Returns:
        ``{layer name: MACs}`` in network order, counted layers only.

    Raises:
        ValueError: if some counted layer's shapes are unknown.
    """
    counts = {}
    for layer in leaf_layers(model):
        macs = layer_macs(layer)
        if macs:
            counts[layer.name] = macs
    return counts


def forward_flops(model: keras.Model) -> int:
    """FLOPs of one forward pass on one example: twice the MACs."""
    return 2 * sum(model_macs(model).values())
