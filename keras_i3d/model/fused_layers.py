"""Inference layers of `keras_i3d.fuse_for_inference` (backend-agnostic, ``keras.ops`` only).

`FusedConv3D` is a ``Unit3D`` with its BatchNorm folded in: one convolution
with a bias, then the activation. It computes the same function two ways:

- ``"conv3d"``: one 3D convolution (``keras.ops.conv``), the fastest where the
  backend has a good 3D convolution (TensorFlow's oneDNN on CPU).
- ``"frames"``: the 3D convolution as one 2D convolution over frames. The
  ``kt`` frames each output frame sees (after TF ``SAME`` padding in time) are
  stacked on the channel axis and the kernel is reshaped to match, so a
  ``kt x kh x kw`` kernel on ``C`` channels becomes a ``kh x kw`` kernel on
  ``kt * C`` channels. The 2D convolution runs in the channels-first view of
  the stacked frames (a transpose that PyTorch keeps as a memory-format view
  and XLA folds into its layout), which is what the 2D kernels of PyTorch and
  XLA's CPU backend are fastest on. On XLA's CPU backend, whose 3D
  convolution is slow for few input channels, this makes ``Conv3d_1a_7x7``
  seven times faster. TensorFlow runs it channels-last (`FRAMES_CONV_LAYOUT`):
  its CPU ``Conv2D`` takes channels-first only through oneDNN, which is off
  on CPUs without AVX-512 VNNI/BF16 or AMX.

`SeparableMaxPooling3D` is `keras.layers.MaxPooling3D` (``SAME`` or ``VALID``)
computed one axis at a time with element-wise maxima of strided slices: the
maximum over a box is the maximum over each axis in turn, and ``-inf``
padding never wins, so the result is exactly the same.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from keras_i3d.model.names import IMPLEMENTATIONS  # how `FusedConv3D` computes its convolution

#: The layout of the ``"frames"`` implementation's 2D convolution: ``"auto"`` takes the backend's
#: entry of `FRAMES_CONV_LAYOUT` (a policy table between two equal formulations, as
#: `keras_i3d.model.fusion.AUTO_IMPLEMENTATION`).
FRAMES_LAYOUTS = ("auto", "channels_first", "channels_last")
#: Channels-first is the view PyTorch's and XLA's 2D kernels are fastest on. TensorFlow's CPU
#: ``Conv2D`` takes channels-first only through oneDNN, which TensorFlow turns on only on CPUs with
#: AVX-512 VNNI/BF16 or AMX ("The Conv2D op currently only supports the NHWC tensor format on the
#: CPU" elsewhere), so TensorFlow gets its native channels-last.
FRAMES_CONV_LAYOUT = {"tensorflow": "channels_last", "jax": "channels_first", "torch": "channels_first"}


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int, int]:
    """TF ``SAME`` padding along one axis: ``(before, after, output size)``."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2, out


def _static(shape) -> bool:
    return all(isinstance(size, int) for size in shape)


def _strided(x, axis: int, start: int, count: int, stride: int):
    """``count`` positions from ``start`` every ``stride`` along ``axis``."""
    index = [slice(None)] * len(x.shape)
    index[axis] = slice(start, start + (count - 1) * stride + 1, stride)
    return x[tuple(index)]


def _pad_axis(x, axis: int, before: int, after: int, value: float = 0.0):
    if not before and not after:
        return x
    pads = [[0, 0]] * len(x.shape)
    pads[axis] = [before, after]
    return ops.pad(x, pads, constant_values=value)


def _check_triple(value, what: str) -> tuple[int, int, int]:
    triple = tuple(int(v) for v in (value if isinstance(value, (list, tuple)) else (value,) * 3))
    if len(triple) != 3 or min(triple) < 1:
        raise ValueError(f"`{what}` must be 3 positive ints; got {value!r}.")
    return triple


@keras.saving.register_keras_serializable(package="keras_i3d")
class FusedConv3D(keras.layers.Layer):
    """A 3D convolution (TF ``SAME`` padding) with a bias and an optional activation.

    `keras_i3d.fuse_for_inference` builds these from DeepMind's
    ``Conv3D -> BatchNorm -> ReLU`` units, with the BatchNorm folded into the
    kernel and bias. The layer is named after the unit's scope, so endpoints
    keep their names.

    Args:
        filters: output channels.
        kernel_size: ``(frames, height, width)``.
        strides: ``(frames, height, width)``.
        activation: ``"relu"`` or ``None``.
        implementation: ``"conv3d"`` or ``"frames"`` (see the module's docstring);
            both compute the same function.
        frames_layout: the layout of the ``"frames"`` 2D convolution:
            ``"auto"`` (`FRAMES_CONV_LAYOUT` of the running backend, so a saved
            model runs on any backend), ``"channels_first"`` or ``"channels_last"``.
        **kwargs: base layer arguments (``name``, ``dtype``...).

    Input shape:
        ``(batch, frames, height, width, channels)``.

    Output shape:
        ``(batch, ceil(frames / st), ceil(height / sh), ceil(width / sw), filters)``.
    """

    def __init__(
        self,
        filters: int,
        kernel_size=(1, 1, 1),
        strides=(1, 1, 1),
        activation: str | None = "relu",
        implementation: str = "conv3d",
        frames_layout: str = "auto",
        kernel_initializer="glorot_uniform",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if isinstance(filters, bool) or not isinstance(filters, (int, np.integer)) or filters < 1:
            raise ValueError(f"`filters` must be a positive int; got {filters!r}.")
        if activation not in ("relu", None):
            raise ValueError(f"`activation` must be 'relu' or None; got {activation!r}.")
        if implementation not in IMPLEMENTATIONS:
            raise ValueError(f"`implementation` must be one of {IMPLEMENTATIONS}; got {implementation!r}.")
        self.filters = int(filters)
        self.kernel_size = _check_triple(kernel_size, "kernel_size")
        self.strides = _check_triple(strides, "strides")
        self.activation = activation
        self.implementation = implementation
        if frames_layout not in FRAMES_LAYOUTS:
            raise ValueError(f"`frames_layout` must be one of {FRAMES_LAYOUTS}; got {frames_layout!r}.")
        self.frames_layout = frames_layout
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    def build(self, input_shape):
        """Creates ``kernel`` ``(*kernel_size, channels, filters)`` and ``bias`` ``(filters,)``."""
        self.kernel = self.add_weight(
            name="kernel",
            shape=(*self.kernel_size, input_shape[-1], self.filters),
            initializer=self.kernel_initializer,
        )
        self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer="zeros")

    def call(self, inputs):
        """Returns ``activation(conv(inputs) + bias)``."""
        if self.implementation == "frames" and _static(inputs.shape[1:]):
            y = self._conv_over_frames(inputs)
        else:
            y = ops.conv(inputs, self.kernel, self.strides, padding="same")
        y = y + self.bias
        return ops.relu(y) if self.activation == "relu" else y

    def _conv_over_frames(self, x):
        _, frames, height, width, channels = x.shape
        kt, kh, kw = self.kernel_size
        st = self.strides[0]
        before, after, out_frames = same_padding(frames, kt, st)
        x = _pad_axis(x, 1, before, after)
        x = ops.concatenate([_strided(x, 1, i, out_frames, st) for i in range(kt)], axis=-1) if kt > 1 else x
        x = _strided(x, 1, 0, out_frames, st) if kt == 1 else x
        x = ops.reshape(x, (-1, height, width, kt * channels))
        kernel = ops.reshape(ops.transpose(self.kernel, (1, 2, 0, 3, 4)), (kh, kw, kt * channels, self.filters))
        layout = self.frames_layout
        if layout == "auto":
            layout = FRAMES_CONV_LAYOUT.get(keras.backend.backend(), "channels_first")
        if layout == "channels_first":
            y = ops.conv(ops.transpose(x, (0, 3, 1, 2)), kernel, self.strides[1:], "same", data_format=layout)
            y = ops.transpose(y, (0, 2, 3, 1))
        else:
            y = ops.conv(x, kernel, self.strides[1:], "same", data_format=layout)
        return ops.reshape(y, (-1, out_frames, y.shape[1], y.shape[2], self.filters))

    def compute_output_shape(self, input_shape):
        """Returns the ``SAME``-padded output shape."""
        sizes = [None if s is None else -(-s // st) for s, st in zip(input_shape[1:4], self.strides, strict=True)]
        return (input_shape[0], *sizes, self.filters)

    def get_config(self):
        """Returns the layer config."""
        config = super().get_config()
        config.update(
            filters=self.filters,
            kernel_size=self.kernel_size,
            strides=self.strides,
            activation=self.activation,
            implementation=self.implementation,
            frames_layout=self.frames_layout,
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
        )
        return config


@keras.saving.register_keras_serializable(package="keras_i3d")
class SeparableMaxPooling3D(keras.layers.Layer):
    """`keras.layers.MaxPooling3D`, computed one axis at a time (exactly the same values).

    Args:
        pool_size: ``(frames, height, width)`` window.
        strides: ``(frames, height, width)``; defaults to ``pool_size``.
        padding: ``"same"`` (TF ``SAME``) or ``"valid"``.
        **kwargs: base layer arguments (``name``, ``dtype``...).

    Input shape:
        ``(batch, frames, height, width, channels)``.
    """

    def __init__(self, pool_size=(2, 2, 2), strides=None, padding: str = "valid", **kwargs):
        super().__init__(**kwargs)
        self.pool_size = _check_triple(pool_size, "pool_size")
        self.strides = self.pool_size if strides is None else _check_triple(strides, "strides")
        if padding not in ("same", "valid"):
            raise ValueError(f"`padding` must be 'same' or 'valid'; got {padding!r}.")
        self.padding = padding

    def call(self, inputs):
        """Returns the max-pooled ``inputs``."""
        if not _static(inputs.shape[1:4]):
            return ops.max_pool(inputs, self.pool_size, self.strides, padding=self.padding)
        x = inputs
        for axis, (window, stride) in enumerate(zip(self.pool_size, self.strides, strict=True), start=1):
            if window == 1 and stride == 1:
                continue
            size = x.shape[axis]
            if self.padding == "same":
                before, after, out = same_padding(size, window, stride)
                x = _pad_axis(x, axis, before, after, float("-inf"))
            else:
                out = (size - window) // stride + 1
            y = _strided(x, axis, 0, out, stride)
            for i in range(1, window):
                y = ops.maximum(y, _strided(x, axis, i, out, stride))
            x = y
        return x

    def compute_output_shape(self, input_shape):
        """Returns the pooled shape."""
        sizes = []
        for size, window, stride in zip(input_shape[1:4], self.pool_size, self.strides, strict=True):
            if size is None:
                sizes.append(None)
            elif self.padding == "same":
                sizes.append(-(-size // stride))
            else:
                sizes.append((size - window) // stride + 1)
        return (input_shape[0], *sizes, input_shape[-1])

    def get_config(self):
        """Returns the layer config."""
        config = super().get_config()
        config.update(pool_size=self.pool_size, strides=self.strides, padding=self.padding)
        return config
