"""Custom layers of the I3D model (backend-agnostic, ``keras.ops`` only)."""

from __future__ import annotations

import keras
from keras import ops


def _window_weights(size, window: int, dtype):
    """Weight of each position in the mean of VALID sliding-window means.

    Averaging every stride-1 VALID window of length ``k = min(window, size)``
    and then averaging the ``size - k + 1`` results weights position ``i`` by
    the number of windows covering it, divided by ``k * (size - k + 1)``.
    """
    k = ops.minimum(window, size)
    last_start = size - k
    i = ops.arange(size)
    count = ops.minimum(i, last_start) - ops.maximum(0, i - k + 1) + 1
    return ops.cast(count, dtype) / ops.cast(k * (last_start + 1), dtype)


@keras.saving.register_keras_serializable(package="keras_i3d")
class LogitsPooling(keras.layers.Layer):
    """Average pooling (VALID, stride 1) followed by a mean over all positions.

    This is DeepMind's I3D head pooling, ``avg_pool3d(ksize=pool_size,
    padding=VALID)`` then the mean over the remaining positions, computed as
    one weighted average (the 1x1x1 logits convolution in between is linear,
    so the order does not change the function). Where the input is smaller
    than ``pool_size`` along an axis, the window shrinks to the input's size
    instead of failing, so any frame count and spatial size work.

    Args:
        pool_size: ``(frames, height, width)`` window; upstream uses (2, 7, 7).
        **kwargs: base layer arguments (``name``, ``dtype``...).

    Input shape:
        ``(batch, frames, height, width, channels)``.

    Output shape:
        ``(batch, 1, 1, 1, channels)``.
    """

    def __init__(self, pool_size=(2, 7, 7), **kwargs):
        super().__init__(**kwargs)
        self.pool_size = tuple(int(p) for p in pool_size)
        if len(self.pool_size) != 3 or min(self.pool_size) < 1:
            raise ValueError(f"`pool_size` must be 3 positive ints; got {pool_size}.")

    def call(self, inputs):
        """Returns the weighted mean of ``inputs`` as ``(batch, 1, 1, 1, channels)``."""
        x = inputs
        shape = ops.shape(x)
        for axis, window in zip((1, 2, 3), self.pool_size, strict=True):
            weights = _window_weights(shape[axis], window, x.dtype)
            weights = ops.reshape(weights, [-1] + [1] * (4 - axis))
            x = ops.sum(x * weights, axis=1, keepdims=False)
        # x is (batch, channels) now; restore the 5D layout for the 1x1x1 conv.
        return ops.expand_dims(ops.expand_dims(ops.expand_dims(x, 1), 1), 1)

    def compute_output_shape(self, input_shape):
        """Returns ``(batch, 1, 1, 1, channels)``."""
        return (input_shape[0], 1, 1, 1, input_shape[-1])

    def get_config(self):
        """Returns the layer config, with ``pool_size``."""
        config = super().get_config()
        config["pool_size"] = self.pool_size
        return config
