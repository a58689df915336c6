"""3D layers padded ``SAME`` in time and ``VALID`` in space, for networks inflated from 2D.

A 2D network often pads explicitly (``ZeroPadding2D`` then a ``VALID``
convolution, as keras.applications' ResNets do) or shrinks its maps with a
``VALID`` convolution or pool. Inflated, such a layer still has to keep the
frame count of a ``SAME`` layer beside it (a residual ``Add``, an Inception
``Concatenate``), so its time axis is padded as TensorFlow's ``SAME`` pads
(the extra frame at the end) while the spatial axes stay ``VALID``.
`keras.layers.Conv3D` and the 3D pools take one padding for all axes; these
subclasses take the 2D layer's (``"valid"``) for space and pad time first:

- `TimeSameConv3D`: zeros (what a ``SAME`` convolution pads with);
- `TimeSameMaxPooling3D`: ``-inf`` (padding never wins a max);
- `TimeSameAveragePooling3D`: padding left out of each window's mean (as a
  ``SAME`` average pool does).

The weights and the rest of the config are those of the parent class, so a
layer reads like a plain Conv3D or pool, and `keras_i3d.inflate` uses them
only where the plain class cannot do the same.
"""

from __future__ import annotations

import keras
from keras import ops


def time_same_padding(frames, kernel: int, stride: int, dilation: int = 1):
    """TensorFlow's ``SAME`` padding of an axis: ``(before, after)`` frames.

    Args:
        frames: the axis' size (an int, or a scalar tensor when unknown while tracing).
        kernel: the kernel (window) size along the axis.
        stride: the stride along the axis.
        dilation: the dilation along the axis.

    Returns:
        ``(before, after)``, ints for an int ``frames``; ``after`` gets the odd frame.
    """
    effective = (kernel - 1) * dilation + 1
    outputs = (frames + stride - 1) // stride
    total = (outputs - 1) * stride + effective - frames
    total = max(total, 0) if isinstance(total, int) else ops.maximum(total, 0)
    return total // 2, total - total // 2


def time_same_frames(frames: int | None, stride: int) -> int | None:
    """Output frames of a layer padded ``SAME`` in time: ``ceil(frames / stride)``."""
    return None if frames is None else -(-frames // stride)


def _pad_time(x, kernel: int, stride: int, dilation: int, value: float):
    frames = x.shape[1] if x.shape[1] is not None else ops.shape(x)[1]
    before, after = time_same_padding(frames, kernel, stride, dilation)
    widths = [[0, 0], [before, after]] + [[0, 0]] * (len(x.shape) - 2)
    return ops.pad(x, widths, constant_values=value)


def _check_valid(layer: keras.layers.Layer) -> None:
    if layer.padding != "valid":
        raise ValueError(
            f"{type(layer).__name__} pads time SAME and space VALID: `padding` must be 'valid' "
            f"(for SAME in every axis use the plain Keras layer); got {layer.padding!r}."
        )
    if layer.data_format != "channels_last":
        raise ValueError(f"{type(layer).__name__} takes channels_last inputs; got data_format={layer.data_format!r}.")


def _padded(input_shape, kernel: int, stride: int, dilation: int = 1) -> tuple:
    """``input_shape`` with the frames the time padding adds (the parent class then says VALID's output)."""
    frames = input_shape[1]
    if frames is None:
        return tuple(input_shape)
    before, after = time_same_padding(frames, kernel, stride, dilation)
    return (input_shape[0], frames + before + after, *input_shape[2:])


class _TimeSame:
    """What the three layers share: ``VALID`` padding checked, output shapes of the time-padded input."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _check_valid(self)

    def _time_window(self) -> tuple[int, int, int]:
        """``(kernel, stride, dilation)`` along time."""
        kernel = getattr(self, "kernel_size", None) or self.pool_size
        return kernel[0], self.strides[0], getattr(self, "dilation_rate", (1,))[0]

    def _pad(self, inputs, value: float):
        return _pad_time(inputs, *self._time_window(), value)

    def compute_output_shape(self, input_shape):
        """The parent's output shape, with ``ceil(frames / stride)`` frames."""
        return super().compute_output_shape(_padded(input_shape, *self._time_window()))


@keras.saving.register_keras_serializable(package="keras_i3d")
class TimeSameConv3D(_TimeSame, keras.layers.Conv3D):
    """`keras.layers.Conv3D` with TF ``SAME`` zero padding in time and ``VALID`` in space.

    Takes `keras.layers.Conv3D`'s arguments; ``padding`` must be ``"valid"``
    (it applies to height and width). Output frames: ``ceil(frames / stride)``.

    Input shape:
        ``(batch, frames, height, width, channels)``.
    """

    def call(self, inputs):
        """The convolution of ``inputs`` padded with zero frames (TF ``SAME``)."""
        return super().call(self._pad(inputs, 0.0))


@keras.saving.register_keras_serializable(package="keras_i3d")
class TimeSameMaxPooling3D(_TimeSame, keras.layers.MaxPooling3D):
    """`keras.layers.MaxPooling3D` padded ``SAME`` in time (never chosen) and ``VALID`` in space.

    Takes `keras.layers.MaxPooling3D`'s arguments; ``padding`` must be ``"valid"``.

    Input shape:
        ``(batch, frames, height, width, channels)``.
    """

    def call(self, inputs):
        """The max pool of ``inputs`` padded with ``-inf`` frames."""
        return super().call(self._pad(inputs, float("-inf")))


@keras.saving.register_keras_serializable(package="keras_i3d")
class TimeSameAveragePooling3D(_TimeSame, keras.layers.AveragePooling3D):
    """`keras.layers.AveragePooling3D` padded ``SAME`` in time and ``VALID`` in space.

    Padded frames are left out of each window's mean, as a ``SAME`` average
    pool leaves them out. Takes `keras.layers.AveragePooling3D`'s arguments;
    ``padding`` must be ``"valid"``.

    Input shape:
        ``(batch, frames, height, width, channels)``.
    """

    def call(self, inputs):
        """The mean over each window's real frames."""
        kernel, stride, _ = self._time_window()
        pooled = super().call(self._pad(inputs, 0.0))
        # The share of real frames in each window: the same pool over a padded mask of ones.
        mask = ops.ones_like(inputs[:1, :, :1, :1, :1])
        share = ops.average_pool(
            _pad_time(mask, kernel, stride, 1, 0.0), (kernel, 1, 1), (stride, 1, 1), "valid", "channels_last"
        )
        return pooled / share
